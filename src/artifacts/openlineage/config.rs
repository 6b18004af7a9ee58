//! Where OpenLineage events go, and how they name jobs. Events are always written to
//! `target/openlineage.jsonl`; they are also POSTed to an HTTP endpoint when a URL is set.
//!
//! Read from an `openlineage:` block in dbt_project.yml's `flags:` (or, failing that, its
//! `vars:`, which `--vars` can set), then the environment, as OpenLineage's clients read it
//! (the environment wins):
//!
//! | key | variable | default |
//! |---|---|---|
//! | `url` | `OPENLINEAGE_URL` | none: no HTTP |
//! | `endpoint` | `OPENLINEAGE_ENDPOINT` | `api/v1/lineage` |
//! | `api_key` | `OPENLINEAGE_API_KEY` | none (sent as `Authorization: Bearer <key>`) |
//! | `namespace` | `OPENLINEAGE_NAMESPACE` | `default` (the jobs' namespace) |
//! | `timeout` | `OPENLINEAGE_TIMEOUT` | 5 (seconds per request) |
//! | `retries` | `OPENLINEAGE_RETRIES` | 3 (after the first attempt) |
//! | `disabled` | `OPENLINEAGE_DISABLED` | false (true: no events at all) |

use serde_json::{Map, Value};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct OpenLineageConfig {
    /// The endpoint's base URL (`http://host:5000`); none: events go to the file only.
    pub url: Option<String>,
    pub endpoint: String,
    pub api_key: Option<String>,
    /// The namespace of the jobs.
    pub namespace: String,
    pub timeout: Duration,
    pub retries: u32,
    pub disabled: bool,
}

impl Default for OpenLineageConfig {
    fn default() -> Self {
        OpenLineageConfig {
            url: None,
            endpoint: "api/v1/lineage".into(),
            api_key: None,
            namespace: "default".into(),
            timeout: Duration::from_secs(5),
            retries: 3,
            disabled: false,
        }
    }
}

/// What is wrong with a setting: the key (or variable) and why, for the caller's diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub setting: String,
    pub problem: String,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl OpenLineageConfig {
    /// The configuration from dbt_project.yml's `flags` and `vars` and the environment (`env`
    /// looks a variable up).
    pub fn read(
        flags: &Map<String, Value>,
        vars: &Map<String, Value>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<OpenLineageConfig, ConfigError> {
        let (block, place) = match (flags.get("openlineage"), vars.get("openlineage")) {
            (Some(b), _) => (Some(b), "flags.openlineage"),
            (None, Some(b)) => (Some(b), "vars.openlineage"),
            (None, None) => (None, ""),
        };
        let mut settings: Vec<(String, String, String)> = vec![];
        match block {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let value = text(v).ok_or_else(|| ConfigError {
                        setting: format!("{place}.{k}"),
                        problem: "must be a single value (text, number or true/false)".into(),
                    })?;
                    settings.push((k.clone(), value, format!("{place}.{k}")));
                }
            }
            Some(_) => {
                return Err(ConfigError {
                    setting: place.into(),
                    problem: "must be a mapping (url, endpoint, api_key, namespace, timeout, retries, disabled)".into(),
                });
            }
        }
        for key in [
            "url",
            "endpoint",
            "api_key",
            "namespace",
            "timeout",
            "retries",
            "disabled",
        ] {
            let var = format!("OPENLINEAGE_{}", key.to_uppercase());
            if let Some(v) = env(&var).filter(|v| !v.is_empty()) {
                settings.push((key.into(), v, var));
            }
        }
        let mut c = OpenLineageConfig::default();
        for (key, value, setting) in settings {
            let bad = |problem: &str| ConfigError {
                setting: setting.clone(),
                problem: problem.into(),
            };
            match key.as_str() {
                "url" => {
                    let url = value.trim_end_matches('/').to_string();
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(bad(&format!("'{value}' is not an http:// or https:// URL")));
                    }
                    c.url = Some(url);
                }
                "endpoint" => c.endpoint = value.trim_start_matches('/').to_string(),
                "api_key" => c.api_key = Some(value),
                "namespace" => c.namespace = value,
                "timeout" => {
                    let secs: f64 = value
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && *s > 0.0)
                        .ok_or_else(|| bad(&format!("'{value}' is not a number of seconds")))?;
                    c.timeout = Duration::from_secs_f64(secs);
                }
                "retries" => {
                    c.retries = value
                        .parse()
                        .map_err(|_| bad(&format!("'{value}' is not a whole number")))?;
                }
                "disabled" => {
                    c.disabled = match value.to_lowercase().as_str() {
                        "true" | "1" | "yes" => true,
                        "false" | "0" | "no" => false,
                        _ => return Err(bad(&format!("'{value}' is not true or false"))),
                    }
                }
                other => {
                    return Err(ConfigError {
                        setting,
                        problem: format!(
                            "kiln does not know the setting '{other}' (url, endpoint, api_key, namespace, timeout, retries, disabled)"
                        ),
                    });
                }
            }
        }
        Ok(c)
    }

    /// Where events are POSTed: the URL and the endpoint joined.
    pub fn post_url(&self) -> Option<String> {
        let url = self.url.as_ref()?;
        Some(if self.endpoint.is_empty() {
            url.clone()
        } else {
            format!("{url}/{}", self.endpoint)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_project_block_then_the_environment() {
        let flags =
            map(json!({"openlineage": {"url": "http://h:5000/", "namespace": "ns", "retries": 1}}));
        let c = OpenLineageConfig::read(&flags, &Map::new(), |_| None).unwrap();
        assert_eq!(
            c.post_url().as_deref(),
            Some("http://h:5000/api/v1/lineage")
        );
        assert_eq!((c.namespace.as_str(), c.retries), ("ns", 1));
        let env = |k: &str| match k {
            "OPENLINEAGE_URL" => Some("https://other".to_string()),
            "OPENLINEAGE_ENDPOINT" => Some("/events".to_string()),
            _ => None,
        };
        let c = OpenLineageConfig::read(&flags, &Map::new(), env).unwrap();
        assert_eq!(c.post_url().as_deref(), Some("https://other/events"));
        assert_eq!(c.namespace, "ns");
        // vars when flags have no block
        let vars = map(json!({"openlineage": {"namespace": "from_vars"}}));
        let c = OpenLineageConfig::read(&Map::new(), &vars, |_| None).unwrap();
        assert_eq!((c.namespace.as_str(), c.url.is_none()), ("from_vars", true));
        assert_eq!(
            OpenLineageConfig::read(&Map::new(), &Map::new(), |_| None).unwrap(),
            OpenLineageConfig::default()
        );
    }

    #[test]
    fn a_bad_setting_names_itself() {
        let flags = map(json!({"openlineage": {"url": "ftp://h"}}));
        let e = OpenLineageConfig::read(&flags, &Map::new(), |_| None).unwrap_err();
        assert_eq!(e.setting, "flags.openlineage.url");
        assert!(
            e.problem.contains("not an http:// or https:// URL"),
            "{e:?}"
        );
        let flags = map(json!({"openlineage": {"urll": "http://h"}}));
        let e = OpenLineageConfig::read(&flags, &Map::new(), |_| None).unwrap_err();
        assert!(e.problem.contains("'urll'"), "{e:?}");
        let e = OpenLineageConfig::read(&Map::new(), &Map::new(), |k| {
            (k == "OPENLINEAGE_TIMEOUT").then(|| "soon".to_string())
        })
        .unwrap_err();
        assert_eq!(e.setting, "OPENLINEAGE_TIMEOUT");
    }
}

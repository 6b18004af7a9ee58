//! Where failure notices go, read from two places and merged key by key:
//!
//! 1. dbt_project.yml, `vars: {kiln: {notices: ...}}`: the project-wide settings (dbt-core
//!    rejects unknown top-level keys in dbt_project.yml, and a `vars` entry is ignored by dbt);
//! 2. the target's `notices:` block in profiles.yml (dbt's adapters ignore extra output keys):
//!    per-target settings and credentials, since `env_var('DBT_ENV_SECRET_...')` is allowed in
//!    profiles.yml only. The target's values win.
//!
//! ```yaml
//! notices:
//!   link: https://ci.example.com/job/42/artifact/target/kiln/run_results.json  # default: the file's path
//!   email:
//!     to: [data-oncall@example.com]      # or "a@x, b@y"
//!     from: kiln@example.com
//!     host: smtp.example.com
//!     port: 587                          # default: 587 (starttls), 465 (tls), 25 (none)
//!     security: starttls                 # starttls (default), tls, none
//!     username: kiln
//!     password: "{{ env_var('DBT_ENV_SECRET_SMTP_PASSWORD') }}"
//!     ca_file: certs/internal-ca.pem     # extra trust anchors (PEM), besides the public roots
//!     timeout: 10                        # seconds per step
//!   webhook:
//!     url: "{{ env_var('DBT_ENV_SECRET_SLACK_WEBHOOK') }}"
//!     timeout: 10
//! ```
//!
//! A value that renders to the empty string counts as not set, so a channel whose settings come
//! from `env_var('X', '')` is off until the variable is set. E-mail is on when it has a host
//! and a recipient, the webhook when it has a URL. Credentials (the password, the webhook URL,
//! which carries its own token) are registered with the output's redaction
//! ([`crate::events::secrets`]) the moment they are read.

use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (required: never sent in clear if the server
    /// does not offer it).
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// No encryption; credentials are then sent only to a loopback server.
    None,
}

#[derive(Clone, PartialEq)]
pub struct EmailConfig {
    pub to: Vec<String>,
    pub from: String,
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    /// PEM certificates trusted besides the public roots (a private CA), as given.
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
}

impl std::fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailConfig")
            .field("to", &self.to)
            .field("from", &self.from)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "*****"))
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Clone, PartialEq)]
pub struct WebhookConfig {
    pub url: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &"*****")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The notices of a project: none of either channel means no notice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoticeConfig {
    pub email: Option<EmailConfig>,
    pub webhook: Option<WebhookConfig>,
    /// Where run_results.json can be read (a CI artifact URL); the file's path when absent.
    pub link: Option<String>,
    /// Channels left off because a setting they need is empty while others are set: shown as
    /// warnings when a notice would have used them.
    pub incomplete: Vec<String>,
}

/// What is wrong with a setting: where it is (`vars.kiln.notices.email.port`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub setting: String,
    pub problem: String,
}

const TOP_KEYS: &str = "email, webhook, link";
const EMAIL_KEYS: &str = "to, from, host, port, security, username, password, ca_file, timeout";
const WEBHOOK_KEYS: &str = "url, timeout";

impl NoticeConfig {
    /// Whether a failed run sends anything.
    pub fn any(&self) -> bool {
        self.email.is_some() || self.webhook.is_some()
    }

    /// The settings from the project's vars (`kiln.notices`) and the target's fields
    /// (`notices`), the target's winning.
    pub fn read(
        vars: &Map<String, Value>,
        target: &Map<String, Value>,
    ) -> Result<NoticeConfig, ConfigError> {
        let project = match vars.get("kiln") {
            None | Some(Value::Null) => None,
            Some(Value::Object(k)) => k.get("notices"),
            Some(_) => None,
        };
        let mut merged = Map::new();
        let mut places: Map<String, Value> = Map::new();
        for (block, place) in [
            (project, "vars.kiln.notices"),
            (target.get("notices"), "the target's notices"),
        ] {
            match block {
                None | Some(Value::Null) => {}
                Some(Value::Object(m)) => merge(&mut merged, m, &mut places, place, ""),
                Some(_) => {
                    return Err(ConfigError {
                        setting: place.into(),
                        problem: format!("must be a mapping ({TOP_KEYS})"),
                    });
                }
            }
        }
        let at = |path: &str| -> String {
            match places.get(path).and_then(Value::as_str) {
                Some(p) => format!("{p}.{path}"),
                None => format!("notices.{path}"),
            }
        };
        let mut c = NoticeConfig::default();
        for (k, v) in &merged {
            match k.as_str() {
                "email" => c.email = read_email(v, &at, &mut c.incomplete)?,
                "webhook" => c.webhook = read_webhook(v, &at)?,
                "link" => c.link = text(v, &at("link"))?,
                other => return Err(unknown(&at(other), other, TOP_KEYS)),
            }
        }
        Ok(c)
    }
}

/// Merges `from` into `into`, nested mappings key by key; `places` records which block set
/// each dotted key (for messages).
fn merge(
    into: &mut Map<String, Value>,
    from: &Map<String, Value>,
    places: &mut Map<String, Value>,
    place: &str,
    prefix: &str,
) {
    for (k, v) in from {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match (into.get_mut(k), v) {
            (Some(Value::Object(existing)), Value::Object(new)) => {
                merge(existing, new, places, place, &path);
            }
            _ => {
                if let Value::Object(new) = v {
                    let mut fresh = Map::new();
                    merge(&mut fresh, new, places, place, &path);
                    into.insert(k.clone(), Value::Object(fresh));
                } else {
                    into.insert(k.clone(), v.clone());
                }
                places.insert(path, Value::from(place));
            }
        }
    }
}

fn unknown(setting: &str, key: &str, known: &str) -> ConfigError {
    ConfigError {
        setting: setting.into(),
        problem: format!("kiln does not know the setting '{key}' ({known})"),
    }
}

/// A single value as text; empty text (and null) is "not set".
fn text(v: &Value, setting: &str) -> Result<Option<String>, ConfigError> {
    let s = match v {
        Value::Null => return Ok(None),
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => {
            return Err(ConfigError {
                setting: setting.into(),
                problem: "must be a single value".into(),
            });
        }
    };
    Ok((!s.is_empty()).then_some(s))
}

fn seconds(v: &Value, setting: &str) -> Result<Option<Duration>, ConfigError> {
    let Some(t) = text(v, setting)? else {
        return Ok(None);
    };
    t.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Some(Duration::from_secs_f64(s)))
        .ok_or_else(|| ConfigError {
            setting: setting.into(),
            problem: format!("'{t}' is not a number of seconds"),
        })
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

fn read_email(
    v: &Value,
    at: &dyn Fn(&str) -> String,
    incomplete: &mut Vec<String>,
) -> Result<Option<EmailConfig>, ConfigError> {
    let m = match v {
        Value::Null => return Ok(None),
        Value::Object(m) => m,
        _ => {
            return Err(ConfigError {
                setting: at("email"),
                problem: format!("must be a mapping ({EMAIL_KEYS})"),
            });
        }
    };
    let (mut to, mut from, mut host, mut port, mut security) =
        (vec![], None, None, None, Security::StartTls);
    let (mut username, mut password, mut ca_file, mut timeout) = (None, None, None, None);
    for (k, v) in m {
        let setting = at(&format!("email.{k}"));
        match k.as_str() {
            "to" => {
                let items: Vec<String> = match v {
                    Value::Array(a) => a
                        .iter()
                        .map(|i| text(i, &setting))
                        .collect::<Result<Vec<_>, _>>()?
                        .into_iter()
                        .flatten()
                        .collect(),
                    other => text(other, &setting)?.into_iter().collect(),
                };
                for item in items {
                    for address in item.split([',', ';']) {
                        let address = address.trim();
                        if address.is_empty() {
                            continue;
                        }
                        check_address(address, &setting)?;
                        to.push(address.to_string());
                    }
                }
            }
            "from" => {
                from = text(v, &setting)?;
                if let Some(f) = &from {
                    check_address(f, &setting)?;
                }
            }
            "host" => host = text(v, &setting)?,
            "port" => {
                port = match text(v, &setting)? {
                    Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                        ConfigError {
                            setting: setting.clone(),
                            problem: format!("'{p}' is not a port number"),
                        }
                    })?),
                    None => None,
                }
            }
            "security" => {
                security = match text(v, &setting)?
                    .map(|s| s.to_ascii_lowercase())
                    .as_deref()
                {
                    None | Some("starttls") => Security::StartTls,
                    Some("tls" | "ssl" | "smtps") => Security::Tls,
                    Some("none" | "plain") => Security::None,
                    Some(other) => {
                        return Err(ConfigError {
                            setting,
                            problem: format!(
                                "'{other}' is not one of starttls (the default), tls or none"
                            ),
                        });
                    }
                }
            }
            "username" => username = text(v, &setting)?,
            "password" => {
                password = text(v, &setting)?;
                if let Some(p) = &password {
                    crate::events::secrets::register(p);
                }
            }
            "ca_file" => ca_file = text(v, &setting)?.map(PathBuf::from),
            "timeout" => timeout = seconds(v, &setting)?,
            other => return Err(unknown(&setting, other, EMAIL_KEYS)),
        }
    }
    match (host, to.is_empty()) {
        (None, true) => Ok(None),
        (None, false) => {
            incomplete.push(format!(
                "e-mail notices are off: {} is empty",
                at("email.host")
            ));
            Ok(None)
        }
        (Some(_), true) => {
            incomplete.push(format!(
                "e-mail notices are off: {} is empty",
                at("email.to")
            ));
            Ok(None)
        }
        (Some(host), false) => Ok(Some(EmailConfig {
            from: from.unwrap_or_else(|| format!("kiln@{host}")),
            port: port.unwrap_or(match security {
                Security::StartTls => 587,
                Security::Tls => 465,
                Security::None => 25,
            }),
            to,
            host,
            security,
            username,
            password,
            ca_file,
            timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
        })),
    }
}

/// An address as SMTP takes it: `local@domain`, without spaces, angle brackets or line breaks
/// (which could inject commands).
fn check_address(address: &str, setting: &str) -> Result<(), ConfigError> {
    let ok = address
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'))
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError {
            setting: setting.into(),
            problem: format!("'{address}' is not an e-mail address (name@domain)"),
        })
    }
}

fn read_webhook(
    v: &Value,
    at: &dyn Fn(&str) -> String,
) -> Result<Option<WebhookConfig>, ConfigError> {
    let m = match v {
        Value::Null => return Ok(None),
        Value::Object(m) => m,
        Value::String(_) => {
            return Err(ConfigError {
                setting: at("webhook"),
                problem: "must be a mapping: write `webhook: {url: ...}`".into(),
            });
        }
        _ => {
            return Err(ConfigError {
                setting: at("webhook"),
                problem: format!("must be a mapping ({WEBHOOK_KEYS})"),
            });
        }
    };
    let (mut url, mut timeout) = (None, None);
    for (k, v) in m {
        let setting = at(&format!("webhook.{k}"));
        match k.as_str() {
            "url" => {
                url = text(v, &setting)?;
                if let Some(u) = &url {
                    // The URL of an incoming webhook is its credential.
                    crate::events::secrets::register(u);
                    if !(u.starts_with("http://") || u.starts_with("https://")) {
                        return Err(ConfigError {
                            setting,
                            problem: "is not an http:// or https:// URL".into(),
                        });
                    }
                }
            }
            "timeout" => timeout = seconds(v, &setting)?,
            other => return Err(unknown(&setting, other, WEBHOOK_KEYS)),
        }
    }
    Ok(url.map(|url| WebhookConfig {
        url,
        timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_target_overrides_the_project_key_by_key() {
        let vars = map(json!({"kiln": {"notices": {
            "email": {"to": "a@x.org, b@x.org", "host": "smtp.x.org", "from": "kiln@x.org"},
            "webhook": {"url": ""},
        }}}));
        let target = map(
            json!({"notices": {"email": {"port": 2525, "username": "u", "password": "pw-secret-1"}}}),
        );
        let c = NoticeConfig::read(&vars, &target).unwrap();
        let e = c.email.clone().unwrap();
        assert_eq!(e.to, ["a@x.org", "b@x.org"]);
        assert_eq!((e.host.as_str(), e.port), ("smtp.x.org", 2525));
        assert_eq!(e.security, Security::StartTls);
        assert_eq!(e.password.as_deref(), Some("pw-secret-1"));
        // an empty URL is "not set"
        assert!(c.webhook.is_none());
        assert!(!format!("{c:?}").contains("pw-secret-1"));
        // nothing configured: nothing sent
        assert!(!NoticeConfig::read(&Map::new(), &Map::new()).unwrap().any());
    }

    #[test]
    fn defaults_follow_the_security() {
        let vars = map(
            json!({"kiln": {"notices": {"email": {"to": ["a@x.org"], "host": "h", "security": "tls"}}}}),
        );
        let e = NoticeConfig::read(&vars, &Map::new())
            .unwrap()
            .email
            .unwrap();
        assert_eq!((e.port, e.from.as_str()), (465, "kiln@h"));
        let vars = map(
            json!({"kiln": {"notices": {"email": {"to": ["a@x.org"], "host": "h", "security": "none"}}}}),
        );
        assert_eq!(
            NoticeConfig::read(&vars, &Map::new())
                .unwrap()
                .email
                .unwrap()
                .port,
            25
        );
    }

    #[test]
    fn half_a_channel_is_off_with_a_reason() {
        let vars = map(json!({"kiln": {"notices": {"email": {"to": "", "host": "smtp.x.org"}}}}));
        let c = NoticeConfig::read(&vars, &Map::new()).unwrap();
        assert!(c.email.is_none());
        assert_eq!(
            c.incomplete,
            ["e-mail notices are off: vars.kiln.notices.email.to is empty"]
        );
    }

    #[test]
    fn a_bad_setting_names_itself() {
        let err =
            |vars: Value, target: Value| NoticeConfig::read(&map(vars), &map(target)).unwrap_err();
        let e = err(
            json!({"kiln": {"notices": {"email": {"prot": 25}}}}),
            json!({}),
        );
        assert_eq!(e.setting, "vars.kiln.notices.email.prot");
        assert!(e.problem.contains("'prot'"), "{e:?}");
        let e = err(json!({}), json!({"notices": {"email": {"port": "smtp"}}}));
        assert_eq!(e.setting, "the target's notices.email.port");
        let e = err(
            json!({"kiln": {"notices": {"email": {"to": "a@x.org>\r\nRCPT TO:<b@y"}}}}),
            json!({}),
        );
        assert!(e.problem.contains("not an e-mail address"), "{e:?}");
        let e = err(
            json!({"kiln": {"notices": {"webhook": {"url": "ftp://x"}}}}),
            json!({}),
        );
        assert_eq!(e.setting, "vars.kiln.notices.webhook.url");
        let e = err(
            json!({"kiln": {"notices": {"email": {"security": "maybe"}}}}),
            json!({}),
        );
        assert!(e.problem.contains("starttls"), "{e:?}");
    }
}

//! Rendering outside a model: `{{ env_var() }}` and `{{ var() }}` in profiles.yml and
//! dbt_project.yml, and `{{ doc() }}` in descriptions. A small environment of its own, since
//! none of dbt's model context applies there.

use super::functions::env_var_value;
use minijinja::value::Rest;
use minijinja::{Environment, Error, ErrorKind, Value as JValue};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

fn config_env(cli_vars: &Map<String, Value>) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_function("env_var", |name: String, default: Option<String>| {
        env_var_value(&name, default.as_deref(), true)
    });
    let vars = cli_vars.clone();
    env.add_function(
        "var",
        move |name: String, default: Option<JValue>| match vars.get(&name) {
            Some(v) => Ok(crate::jinja::to_value(v)),
            None => default.ok_or_else(|| {
                Error::new(
                    ErrorKind::UndefinedError,
                    format!("required var '{name}' was not provided"),
                )
            }),
        },
    );
    env.add_filter("as_number", |v: String| -> Result<JValue, Error> {
        if let Ok(i) = v.trim().parse::<i64>() {
            return Ok(JValue::from(i));
        }
        v.trim().parse::<f64>().map(JValue::from).map_err(|_| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("'{v}' is not a number"),
            )
        })
    });
    env.add_filter("as_bool", |v: String| -> Result<bool, Error> {
        match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            other => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("'{other}' is not a boolean"),
            )),
        }
    });
    env.add_filter("as_text", |v: JValue| v.to_string());
    env.add_filter("as_native", |v: JValue| v);
    env
}

/// A YAML string whose Jinja failed to render: which template, why, and what to do.
#[derive(Debug, Clone)]
pub struct RenderFailure {
    /// The string as written in the YAML file, to find its line.
    pub template: String,
    pub message: String,
    /// Advice from the function that failed (e.g. which variable to set), if it gave any.
    pub hint: Option<String>,
}

impl std::fmt::Display for RenderFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<RenderFailure> for String {
    fn from(r: RenderFailure) -> String {
        r.message
    }
}

fn failure(e: &Error, source: &str) -> RenderFailure {
    let mut inner: &Error = e;
    while let Some(src) = std::error::Error::source(inner).and_then(|s| s.downcast_ref::<Error>()) {
        inner = src;
    }
    let hint = std::error::Error::source(inner)
        .and_then(|s| s.downcast_ref::<super::Hint>())
        .map(|h| h.0.clone());
    RenderFailure {
        template: source.to_string(),
        message: describe(inner, source),
        hint,
    }
}

fn render_value(env: &Environment<'_>, v: &Value, except: &[&str]) -> Result<Value, RenderFailure> {
    Ok(match v {
        Value::String(s) if s.contains("{{") || s.contains("{%") => {
            let out = env.render_str(s, ()).map_err(|e| failure(&e, s))?;
            // `as_number` / `as_bool` results come back as text: keep numbers and booleans typed.
            if s.contains("as_number") || s.contains("as_bool") || s.contains("as_native") {
                serde_json::from_str(&out).unwrap_or(Value::String(out))
            } else {
                Value::String(out)
            }
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| render_value(env, x, except))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                let r = if except.contains(&k.as_str()) {
                    x.clone()
                } else {
                    render_value(env, x, except)?
                };
                out.insert(k.clone(), r);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn describe(e: &Error, source: &str) -> String {
    let detail = e.detail().unwrap_or("").to_string();
    let msg = if detail.is_empty() {
        e.to_string()
    } else {
        detail
    };
    format!("cannot render `{}`: {msg}", source.trim())
}

/// Renders every Jinja string in a YAML value.
pub fn render_yaml_strings(
    v: &Value,
    cli_vars: &Map<String, Value>,
) -> Result<Value, RenderFailure> {
    render_value(&config_env(cli_vars), v, &[])
}

/// Renders every Jinja string except under the given keys (hooks render later, per node).
pub fn render_yaml_strings_except(
    v: &Value,
    cli_vars: &Map<String, Value>,
    except: &[&str],
) -> Result<Value, RenderFailure> {
    render_value(&config_env(cli_vars), v, except)
}

/// Renders Jinja strings with `var()` over `vars` and, when given, `target`; values under the
/// `except` keys are left as written.
pub fn render_yaml_strings_with(
    v: &Value,
    vars: &Map<String, Value>,
    target: Option<&Value>,
    except: &[&str],
) -> Result<Value, RenderFailure> {
    let mut env = config_env(vars);
    if let Some(t) = target {
        env.add_global("target", crate::jinja::to_value(t));
    }
    render_value(&env, v, except)
}

/// Renders `{{ doc('name') }}` in a description. An unknown name fails with the message
/// "docs block 'x' is not defined" and, as hint, the closest defined name.
pub fn render_descriptions(
    text: &str,
    docs: &BTreeMap<String, String>,
) -> Result<String, RenderFailure> {
    let mut env = Environment::new();
    let docs = docs.clone();
    env.add_function("doc", move |args: Rest<String>| -> Result<String, Error> {
        let name = args.last().cloned().unwrap_or_default();
        docs.get(&name).cloned().ok_or_else(|| {
            let closest = docs
                .keys()
                .map(|k| (crate::error::levenshtein(&name, k), k))
                .filter(|(d, _)| *d <= 2.max(name.len() / 3))
                .min();
            let hint = match closest {
                Some((_, k)) => format!(
                    "did you mean '{k}'? Otherwise define it with {{% docs {name} %}}...{{% enddocs %}} in a .md file"
                ),
                None => format!(
                    "define it with {{% docs {name} %}}...{{% enddocs %}} in a .md file under the docs paths"
                ),
            };
            super::hinted_error(
                ErrorKind::UndefinedError,
                format!("docs block '{name}' is not defined"),
                hint,
            )
        })
    });
    env.render_str(text, ()).map_err(|e| {
        let mut f = failure(&e, text);
        if f.hint.is_some() {
            // doc() failed: its own message says it all, without the template around it.
            f.message = e.detail().unwrap_or_default().to_string();
        }
        f
    })
}

//! Rendering outside a model: `{{ env_var() }}` and `{{ var() }}` in profiles.yml,
//! dbt_project.yml, properties YAML and selectors.yml, and `{{ doc() }}` in descriptions. A small
//! environment of its own, since none of dbt's model context applies there. It lives with the
//! loader, below the Jinja stage, because loading needs it before any model is rendered;
//! `env_var()` and the [`Hint`] a function attaches to its error are shared with the model
//! context (the Jinja stage re-exports them).

use super::yaml::{Step, YamlPath};
use minijinja::value::Rest;
use minijinja::{Environment, Error, ErrorKind, Value as JValue};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Advice attached to a Jinja error by the function that raised it (e.g. which variable to
/// set); the diagnostic shows it as its help line.
#[derive(Debug)]
pub struct Hint(pub String);

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Hint {}

/// A Jinja error with a message and the advice to show with it.
pub fn hinted_error(kind: ErrorKind, message: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::new(kind, message.into()).with_source(Hint(hint.into()))
}

/// `env_var(name, default)`. Secret variables (`DBT_ENV_SECRET_*`) are allowed only where
/// `allow_secret` (profiles.yml), and the value read is registered with the output
/// ([`crate::events::secrets`]), which keeps it out of everything printed or written.
pub fn env_var_value(
    name: &str,
    default: Option<&str>,
    allow_secret: bool,
) -> Result<String, Error> {
    let secret = name.starts_with(crate::events::secrets::PREFIX);
    if secret && !allow_secret {
        return Err(hinted_error(
            ErrorKind::InvalidOperation,
            format!(
                "secret environment variable '{name}' can only be used in profiles.yml or packages.yml"
            ),
            "DBT_ENV_SECRET_ variables hold credentials and are never written into SQL or artifacts: \
             use them in profiles.yml, and read a variable without the DBT_ENV_SECRET_ prefix here",
        ));
    }
    let value = std::env::var(name);
    record_env_read(name, value.as_ref().ok());
    match value {
        Ok(v) => {
            if secret {
                crate::events::secrets::register(&v);
            }
            Ok(v)
        }
        Err(_) => match default {
            Some(d) => Ok(d.to_string()),
            None => Err(hinted_error(
                ErrorKind::UndefinedError,
                format!(
                    "environment variable '{name}' is required but not set, and env_var() was given no default"
                ),
                format!(
                    "set {name} in the environment, or give a default: env_var('{name}', 'value')"
                ),
            )),
        },
    }
}

/// Every environment variable `env_var()` read in this process (in YAML or in a template), with
/// the value it had (`None`: unset). The parse cache ([`crate::session`]'s `parse_cache`) keeps
/// them: a later parse whose environment differs for any of them cannot reuse the earlier one.
static ENV_READS: std::sync::Mutex<BTreeMap<String, Option<String>>> =
    std::sync::Mutex::new(BTreeMap::new());

fn record_env_read(name: &str, value: Option<&String>) {
    if let Ok(mut reads) = ENV_READS.lock() {
        reads.insert(name.to_string(), value.cloned());
    }
}

/// The environment variables `env_var()` has read so far, and their values then.
pub fn env_reads() -> BTreeMap<String, Option<String>> {
    ENV_READS.lock().map(|r| r.clone()).unwrap_or_default()
}

/// Any serialisable value as a Jinja value.
fn to_value<T: serde::Serialize>(v: T) -> JValue {
    JValue::from(minijinja::value::Serde(v))
}

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
            Some(v) => Ok(to_value(v)),
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

/// A YAML string whose Jinja failed to render: which template, where, why, and what to do.
#[derive(Debug, Clone)]
pub struct RenderFailure {
    /// The string as written in the YAML file.
    pub template: String,
    /// Where it is in the document rendered (mapping keys and list indices from its root).
    pub path: YamlPath,
    pub message: String,
    /// Advice from the function that failed (e.g. which variable to set), if it gave any.
    pub hint: Option<String>,
}

impl RenderFailure {
    /// Where the string that failed is written in `text` (the file `file` that was rendered).
    pub fn location(&self, file: &std::path::Path, text: &str) -> Option<crate::error::Location> {
        super::yaml::location(file, text, &self.path, super::yaml::Part::Value)
    }
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

fn failure(e: &Error, source: &str, path: &[Step]) -> RenderFailure {
    let mut inner: &Error = e;
    while let Some(src) = std::error::Error::source(inner).and_then(|s| s.downcast_ref::<Error>()) {
        inner = src;
    }
    let hint = std::error::Error::source(inner)
        .and_then(|s| s.downcast_ref::<Hint>())
        .map(|h| h.0.clone());
    RenderFailure {
        template: source.to_string(),
        path: path.to_vec(),
        message: describe(inner, source),
        hint,
    }
}

fn render_value(
    env: &Environment<'_>,
    v: &Value,
    except: &[&str],
    path: &mut YamlPath,
) -> Result<Value, RenderFailure> {
    Ok(match v {
        Value::String(s) if s.contains("{{") || s.contains("{%") => {
            let out = env.render_str(s, ()).map_err(|e| failure(&e, s, path))?;
            // dbt renders YAML values natively: a value that is one `{{ expression }}` keeps
            // the expression's type (`{{ var('load', false) }}` is the boolean false).
            if let Some(v) = single_expression(s).and_then(|expr| native(env, expr)) {
                return Ok(v);
            }
            // `as_number` / `as_bool` results come back as text: keep numbers and booleans typed.
            if s.contains("as_number") || s.contains("as_bool") || s.contains("as_native") {
                serde_json::from_str(&out).unwrap_or(Value::String(out))
            } else {
                Value::String(out)
            }
        }
        Value::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            for (i, x) in a.iter().enumerate() {
                path.push(Step::Index(i));
                out.push(render_value(env, x, except, path)?);
                path.pop();
            }
            Value::Array(out)
        }
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                let r = if except.contains(&k.as_str()) {
                    x.clone()
                } else {
                    path.push(Step::name(k.clone()));
                    let r = render_value(env, x, except, path)?;
                    path.pop();
                    r
                };
                out.insert(k.clone(), r);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// The expression of a string that is one `{{ expression }}` and nothing else. A string with
/// text around its expressions, or several of them, stays a string (dbt reads such output as a
/// Python literal when it is one, `{{ 1 }}{{ 2 }}` giving 12; kiln keeps the text).
fn single_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    let single = !inner.contains("}}") && !inner.contains("{{") && !inner.contains("{%");
    single.then_some(inner)
}

/// The value of `expr` with its type: `none` as null, strings, numbers, booleans, lists and
/// mappings as themselves.
fn native(env: &Environment<'_>, expr: &str) -> Option<Value> {
    let v = env.compile_expression(expr).ok()?.eval(()).ok()?;
    if v.is_none() {
        return Some(Value::Null);
    }
    if v.is_undefined() {
        return None;
    }
    serde_json::to_value(&v).ok()
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
    render_value(&config_env(cli_vars), v, &[], &mut vec![])
}

/// Renders every Jinja string except under the given keys (hooks render later, per node).
pub fn render_yaml_strings_except(
    v: &Value,
    cli_vars: &Map<String, Value>,
    except: &[&str],
) -> Result<Value, RenderFailure> {
    render_value(&config_env(cli_vars), v, except, &mut vec![])
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
        env.add_global("target", to_value(t));
    }
    render_value(&env, v, except, &mut vec![])
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
        // `doc('name')`, or `doc('package', 'name')` (found under `package.name`).
        let name = match args.as_slice() {
            [package, name] => format!("{package}.{name}"),
            _ => args.last().cloned().unwrap_or_default(),
        };
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
            hinted_error(
                ErrorKind::UndefinedError,
                format!("docs block '{name}' is not defined"),
                hint,
            )
        })
    });
    env.render_str(text, ()).map_err(|e| {
        let mut f = failure(&e, text, &[]);
        if f.hint.is_some() {
            // doc() failed: its own message says it all, without the template around it.
            f.message = e.detail().unwrap_or_default().to_string();
        }
        f
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_that_is_one_expression_keeps_its_type() {
        let yaml = json!({
            "enabled": "{{ var('load_source_data', false) }}",
            "count": "{{ 2 + 3 }}",
            "list": "{{ [1, 'a'] }}",
            "nothing": "{{ none }}",
            "text": "{{ 'a' ~ 'b' }}",
            "mixed": "n{{ 5 }}",
            "two": "{{ 1 }}{{ 2 }}",
            "trimmed": "{{- var('load_source_data', false) -}}",
        });
        let out = render_yaml_strings(&yaml, &Map::new()).expect("renders");
        assert_eq!(
            out,
            json!({
                "enabled": false,
                "count": 5,
                "list": [1, "a"],
                "nothing": null,
                "text": "ab",
                "mixed": "n5",
                "two": "12",
                "trimmed": false,
            })
        );
        let mut vars = Map::new();
        vars.insert("load_source_data".into(), json!(true));
        let out = render_yaml_strings(
            &json!({"enabled": "{{ var('load_source_data', false) }}"}),
            &vars,
        )
        .expect("renders");
        assert_eq!(out, json!({"enabled": true}));
    }
}

//! dbt's stateless context functions: env_var, tojson/fromjson, toyaml/fromyaml, local_md5, zip,
//! set, log, print, exceptions. Registered once on the environment as globals.

use crate::events::{Event, kinds};
use minijinja::value::{Kwargs, Object, Rest, Value, ValueKind, from_args};
use minijinja::{Environment, Error, ErrorKind, State};
use std::sync::Arc;

/// `env_var(name, default)` (shared with the rendering of YAML values while loading).
pub use crate::project::render::env_var_value;

pub fn to_json_value(v: &Value) -> Result<serde_json::Value, Error> {
    serde_json::to_value(v).map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
}

fn tojson(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    let sort: Option<bool> = kwargs.get("sort_keys")?;
    let mut j = to_json_value(&value)?;
    if sort == Some(true) {
        j = sort_json(j);
    }
    kwargs.assert_all_used()?;
    let mut out = String::new();
    crate::events::pyjson::write(&j, &mut out);
    Ok(out)
}

/// `value` with every map's keys in sorted order, for Jinja2's `tojson` filter.
fn sorted_keys(value: &Value) -> Value {
    match value.kind() {
        ValueKind::Map => {
            let mut map = std::collections::BTreeMap::new();
            if let Ok(keys) = value.try_iter() {
                for k in keys {
                    let v = value.get_item(&k).unwrap_or_default();
                    map.insert(k, sorted_keys(&v));
                }
            }
            Value::from(map)
        }
        ValueKind::Seq => Value::from(
            value
                .try_iter()
                .map(|items| items.map(|v| sorted_keys(&v)).collect::<Vec<_>>())
                .unwrap_or_default(),
        ),
        _ => value.clone(),
    }
}

fn sort_json(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut entries: Vec<_> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_json(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(sort_json).collect())
        }
        other => other,
    }
}

fn fromjson(s: String, default: Option<Value>) -> Result<Value, Error> {
    match serde_json::from_str::<serde_json::Value>(&s) {
        Ok(v) => Ok(crate::jinja::to_value(v)),
        Err(e) => {
            default.ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("fromjson: {e}")))
        }
    }
}

fn toyaml(value: Value) -> Result<String, Error> {
    crate::project::yaml::to_string(&to_json_value(&value)?)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
}

fn fromyaml(s: String, default: Option<Value>) -> Result<Value, Error> {
    match crate::project::yaml::parse_value(&s) {
        Ok(v) => Ok(crate::jinja::to_value(v)),
        Err(e) => {
            default.ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("fromyaml: {e}")))
        }
    }
}

pub fn md5_hex(s: &str) -> String {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    h.update(s.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn zip(args: Rest<Value>) -> Result<Value, Error> {
    let lists: Vec<Vec<Value>> = args
        .iter()
        .map(|a| a.try_iter().map(Iterator::collect))
        .collect::<Result<_, _>>()?;
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(Value::from(
        (0..n)
            .map(|i| Value::from(lists.iter().map(|l| l[i].clone()).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
    ))
}

/// dbt's `set(value, default=None)`: a Python set (`mutable::PySet`) of `value`'s items, or
/// `default` when `value` is not iterable.
fn set_fn(v: Value, default: Option<Value>) -> Value {
    match v.try_iter() {
        Ok(items) => super::mutable::PySet::value(items),
        Err(_) => default.unwrap_or_default(),
    }
}

/// dbt's `set_strict(value)`: `set`, but a value that is not iterable is an error.
fn set_strict_fn(v: Value) -> Result<Value, Error> {
    Ok(super::mutable::PySet::value(v.try_iter()?))
}

/// `log(msg)` goes to the log file only (dbt's `JinjaLogDebug`); `log(msg, info=True)` is also
/// shown on the console with the time (`JinjaLogInfo`), as dbt does.
fn log(msg: Value, kwargs: Kwargs) -> Result<String, Error> {
    let info: Option<bool> = kwargs.get("info")?;
    kwargs.assert_all_used()?;
    let msg = msg.to_string();
    let kind = if info == Some(true) {
        kinds::JINJA_LOG_INFO
    } else {
        kinds::JINJA_LOG_DEBUG
    };
    Event::new(kind, msg.clone())
        .with("msg", msg)
        .stamped()
        .emit();
    Ok(String::new())
}

/// `print(msg)`: stdout without the time, shown even with --quiet (dbt's `PrintEvent`).
fn print_fn(msg: Value) -> String {
    let msg = msg.to_string();
    Event::new(kinds::PRINT_EVENT, msg.clone())
        .with("msg", msg)
        .emit();
    String::new()
}

/// `exceptions.raise_compiler_error(msg)`, `exceptions.warn(msg)`.
#[derive(Debug)]
pub struct Exceptions;

impl Object for Exceptions {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let (msg, _rest): (Option<Value>, Rest<Value>) = from_args(args)?;
        let msg = msg.map(|m| m.to_string()).unwrap_or_default();
        match method {
            "raise_compiler_error"
            | "raise_not_implemented"
            | "raise_database_error"
            | "raise_fail_fast_error"
            | "raise_contract_error" => Err(super::hinted_error(
                ErrorKind::InvalidOperation,
                format!("compilation error: {msg}"),
                "this error was raised on purpose by exceptions.raise_compiler_error: its message says what is wrong",
            )),
            // dbt's JinjaLogWarning: an error under --warn-error (or when the options name it).
            "warn" => {
                let flags = _state.lookup("flags");
                let flag = |k: &str| flags.as_ref().and_then(|f| f.get_attr(k).ok());
                let all = flag("WARN_ERROR").is_some_and(|v| v.is_true());
                let options = flag("WARN_ERROR_OPTIONS")
                    .and_then(|v| to_json_value(&v).ok())
                    .unwrap_or_default();
                let policy = crate::error::warn_error::WarnErrorOptions::from_flags(all, &options);
                match policy.treatment(Some("JinjaLogWarning")) {
                    crate::error::warn_error::Treatment::Silence => {}
                    crate::error::warn_error::Treatment::Warn => {
                        Event::new(kinds::JINJA_LOG_WARNING, format!("warning: {msg}"))
                            .with("msg", msg.clone())
                            .to_stderr()
                            .emit();
                    }
                    crate::error::warn_error::Treatment::Error => {
                        return Err(super::hinted_error(
                            ErrorKind::InvalidOperation,
                            format!("compilation error: {msg}"),
                            "exceptions.warn raised this warning, and --warn-error (or JinjaLogWarning in --warn-error-options) makes it an error",
                        ));
                    }
                }
                Ok(Value::from(""))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("exceptions has no '{method}'"),
            )),
        }
    }
}

pub fn register(env: &mut Environment<'static>) {
    env.add_function(super::mutable::MUTABLE_FN, super::mutable::mutable);
    env.add_function("tojson", tojson);
    // dbt's relations are mappings (`obj is mapping`, as dbt_utils' `_is_relation` asks).
    env.add_test("mapping", |v: Value| {
        v.kind() == ValueKind::Map
            || v.downcast_object_ref::<super::relation::Relation>()
                .is_some()
    });
    // Jinja2's `tojson` filter sorts keys (its `htmlsafe_json_dumps` passes sort_keys=True).
    env.add_filter(
        "tojson",
        |value: Value, indent: Option<Value>, kwargs: Kwargs| {
            minijinja::filters::tojson(&sorted_keys(&value), indent, kwargs)
        },
    );
    env.add_function("fromjson", fromjson);
    env.add_function("toyaml", toyaml);
    env.add_function("fromyaml", fromyaml);
    env.add_function("local_md5", |s: String| md5_hex(&s));
    env.add_function("zip", zip);
    env.add_function("set", set_fn);
    env.add_function("set_strict", set_strict_fn);
    env.add_function("log", log);
    env.add_function("print", print_fn);
    env.add_global("exceptions", Value::from_object(Exceptions));
    env.add_global("modules", super::modules::modules());
    env.add_global("dbt_version", Value::from(crate::DBT_COMPAT_VERSION));
    env.add_filter("as_bool", |v: Value| -> bool {
        match v.as_str() {
            Some(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"),
            None => v.is_true(),
        }
    });
    env.add_filter("as_number", |v: Value| -> Result<Value, Error> {
        if let Some(s) = v.as_str() {
            if let Ok(i) = s.trim().parse::<i64>() {
                return Ok(Value::from(i));
            }
            return s.trim().parse::<f64>().map(Value::from).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("'{s}' is not a number"),
                )
            });
        }
        Ok(v)
    });
    env.add_filter("as_text", |v: Value| v.to_string());
    env.add_filter("as_native", |v: Value| v);
}

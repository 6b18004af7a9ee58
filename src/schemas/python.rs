//! Python's spelling of values, where dbt's manifest holds text Python wrote: a generic test's
//! `config()` call in its `raw_code`, and the constraint dataclasses a contract checksum hashes.

use super::config::str_list;
use serde_json::Value;

/// A config value as dbt writes it into a generic test's `config()` call: a string in double
/// quotes, anything else as Python prints it.
pub(super) fn py_config_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{}\"", s.replace('"', "\\\"")),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(_) => py_repr(v),
    }
}

/// Python's `repr()` of a JSON value (strings in single quotes).
fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("'{k}': {}", py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => py_config_value(other),
    }
}

pub(super) fn py_scalar(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "None".into(),
        Some(Value::String(s)) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Some(other) => other.to_string(),
    }
}

pub(super) fn py_list(v: Option<&Value>) -> String {
    let items: Vec<String> = v
        .map(str_list)
        .unwrap_or_default()
        .iter()
        .map(|s| py_scalar(Some(&Value::from(s.as_str()))))
        .collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generic_test_configs_as_dbt_writes_them_in_raw_code() {
        assert_eq!(
            py_config_value(&json!("x > 'a' and \"b\"")),
            r#""x > 'a' and \"b\"""#
        );
        assert_eq!(py_config_value(&json!(true)), "True");
        assert_eq!(py_config_value(&json!(10)), "10");
        assert_eq!(py_config_value(&json!(["a", "b"])), "['a', 'b']");
        assert_eq!(
            py_config_value(&json!({"owner": "it's", "n": [1, null]})),
            r"{'owner': 'it\'s', 'n': [1, None]}"
        );
    }
}

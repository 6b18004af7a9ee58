//! Constraints as dbt writes them, and dbt's contract checksum.

use super::config::str_list;
use super::python::{py_list, py_scalar};
use crate::project::{ColumnInfo, Node};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A constraint with dbt's defaults (`warn_unenforced`, `warn_unsupported`, ...); model-level
/// ones also list their `columns`.
pub(super) fn constraint_json(c: &Value, model_level: bool) -> Value {
    let empty = Map::new();
    let o = c.as_object().unwrap_or(&empty);
    let get = |k: &str| o.get(k).cloned().unwrap_or(Value::Null);
    let list = |k: &str| Value::from(o.get(k).map(str_list).unwrap_or_default());
    let mut m = Map::new();
    m.insert(
        "type".into(),
        o.get("type")
            .cloned()
            .unwrap_or_else(|| c.as_str().map_or(Value::Null, Value::from)),
    );
    m.insert("name".into(), get("name"));
    m.insert("expression".into(), get("expression"));
    m.insert(
        "warn_unenforced".into(),
        Value::Bool(
            o.get("warn_unenforced")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        ),
    );
    m.insert(
        "warn_unsupported".into(),
        Value::Bool(
            o.get("warn_unsupported")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        ),
    );
    m.insert("to".into(), get("to"));
    m.insert("to_columns".into(), list("to_columns"));
    if model_level {
        m.insert("columns".into(), list("columns"));
    }
    Value::Object(m)
}

/// dbt's contract checksum: sha256 over each column (sorted by name) as `|name` plus Python's
/// `str()` of its data type and constraints, then, for materializations that enforce
/// constraints, the materialization and the model-level constraints.
pub(super) fn contract_checksum(n: &Node) -> String {
    let mut columns: Vec<&ColumnInfo> = n.columns.values().collect();
    columns.sort_by(|a, b| a.name.cmp(&b.name));
    let mut state = String::new();
    for c in columns {
        state.push('|');
        state.push_str(&c.name);
        state.push_str(c.data_type.as_deref().unwrap_or("None"));
        state.push_str(&py_constraints(&c.constraints, false));
    }
    let materialized = n.materialized();
    if matches!(materialized, "table" | "incremental") {
        state.push_str(materialized);
        state.push_str(&py_constraints(&n.constraints, true));
    }
    let mut h = Sha256::new();
    h.update(state.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Python's `str()` of a list of dbt constraint dataclasses.
fn py_constraints(list: &[Value], model_level: bool) -> String {
    let class = if model_level {
        "ModelLevelConstraint"
    } else {
        "ColumnLevelConstraint"
    };
    let items: Vec<String> = list
        .iter()
        .map(|c| {
            let c = constraint_json(c, model_level);
            let kind = c.get("type").and_then(Value::as_str).unwrap_or_default();
            let mut parts = vec![format!("type=<ConstraintType.{kind}: '{kind}'>")];
            for k in ["name", "expression"] {
                parts.push(format!("{k}={}", py_scalar(c.get(k))));
            }
            for k in ["warn_unenforced", "warn_unsupported"] {
                let b = c.get(k).and_then(Value::as_bool).unwrap_or(true);
                parts.push(format!("{k}={}", if b { "True" } else { "False" }));
            }
            parts.push(format!("to={}", py_scalar(c.get("to"))));
            parts.push(format!("to_columns={}", py_list(c.get("to_columns"))));
            if model_level {
                parts.push(format!("columns={}", py_list(c.get("columns"))));
            }
            format!("{class}({})", parts.join(", "))
        })
        .collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_repr_of_constraints() {
        assert_eq!(
            py_constraints(&[json!({"type": "not_null"})], false),
            "[ColumnLevelConstraint(type=<ConstraintType.not_null: 'not_null'>, name=None, \
             expression=None, warn_unenforced=True, warn_unsupported=True, to=None, to_columns=[])]"
        );
        assert_eq!(py_constraints(&[], true), "[]");
    }
}

//! A macro's dict as dbt's manifest writes it.

use super::CREATED_AT;
use super::config::default_docs;
use crate::project::MacroNode;
use serde_json::{Value, json};

/// A macro's dict, with the macros it calls (recorded when it was parsed).
pub fn macro_json(m: &MacroNode) -> Value {
    let arguments: Vec<Value> = m
        .arguments
        .iter()
        .map(|a| match a {
            Value::Object(o) => json!({
                "name": o.get("name").cloned().unwrap_or_else(|| Value::from("")),
                "type": o.get("type").cloned().unwrap_or(Value::Null),
                "description": o.get("description").cloned().unwrap_or_else(|| Value::from("")),
            }),
            Value::String(name) => json!({ "name": name, "type": null, "description": "" }),
            other => json!({ "name": other.to_string(), "type": null, "description": "" }),
        })
        .collect();
    let mut docs = default_docs();
    if let (Some(Value::Object(given)), Some(d)) = (&m.docs, docs.as_object_mut()) {
        for (k, v) in given {
            d.insert(k.clone(), v.clone());
        }
    }
    json!({
        "name": m.name,
        "resource_type": "macro",
        "package_name": m.package_name,
        "path": m.path,
        "original_file_path": m.original_file_path,
        "unique_id": m.unique_id,
        "macro_sql": m.macro_sql,
        "depends_on": { "macros": m.depends_on_macros },
        "description": m.description,
        "meta": m.meta,
        "docs": docs,
        // dbt 1.11 also keeps them as the macro's config.
        "config": { "meta": m.meta, "docs": docs },
        "patch_path": m.patch_path,
        "arguments": arguments,
        "created_at": CREATED_AT,
        "supported_languages": null,
    })
}

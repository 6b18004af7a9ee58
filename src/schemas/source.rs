//! A source table's dict as dbt's manifest writes it.

use super::CREATED_AT;
use super::node::{ColumnsDict, opt_str};
use crate::project::SourceNode;
use crate::project::config;
use serde_json::{Map, Value, json};

/// `{warn_after: {count, period}, error_after: {count, period}, filter}`, every part present.
fn freshness_json(v: Option<&Value>) -> Value {
    let v = match v {
        Some(Value::Object(o)) => Some(o),
        Some(Value::Null) => return Value::Null,
        _ => None,
    };
    let time = |k: &str| {
        let t = v.and_then(|o| o.get(k)).and_then(Value::as_object);
        json!({
            "count": t.and_then(|t| t.get("count")).cloned().unwrap_or(Value::Null),
            "period": t.and_then(|t| t.get("period")).cloned().unwrap_or(Value::Null),
        })
    };
    json!({
        "warn_after": time("warn_after"),
        "error_after": time("error_after"),
        "filter": v.and_then(|o| o.get("filter")).cloned().unwrap_or(Value::Null),
    })
}

/// A source table's dict.
pub fn source_json(s: &SourceNode) -> Value {
    let freshness = freshness_json(s.freshness.as_ref());
    let mut config = Map::new();
    config.insert("enabled".into(), Value::Bool(config::is_enabled(&s.config)));
    config.insert(
        "event_time".into(),
        s.config.get("event_time").cloned().unwrap_or(Value::Null),
    );
    config.insert("freshness".into(), freshness.clone());
    config.insert(
        "loaded_at_field".into(),
        opt_str(s.loaded_at_field.as_deref()),
    );
    config.insert(
        "loaded_at_query".into(),
        opt_str(s.loaded_at_query.as_deref()),
    );
    config.insert("meta".into(), Value::Object(s.meta.clone()));
    config.insert("tags".into(), Value::from(s.tags.clone()));
    config.insert("static_analysis".into(), Value::Null);
    for (k, v) in &s.config {
        if !config.contains_key(k) {
            config.insert(k.clone(), v.clone());
        }
    }
    let mut unrendered = s.unrendered_config.clone();
    if let Some(f @ Value::Object(_)) = unrendered.get("freshness") {
        let full = freshness_json(Some(f));
        unrendered.insert("freshness".into(), full);
    }
    let quoting = |k: &str| s.quoting.get(k).and_then(Value::as_bool);
    json!({
        "database": s.database,
        "schema": s.schema,
        "name": s.name,
        "resource_type": "source",
        "package_name": s.package_name,
        "path": s.path,
        "original_file_path": s.original_file_path,
        "unique_id": s.unique_id,
        "fqn": s.fqn,
        "source_name": s.source_name,
        "source_description": s.source_description,
        "loader": s.loader,
        "identifier": s.identifier,
        "quoting": {
            "database": quoting("database"),
            "schema": quoting("schema"),
            "identifier": quoting("identifier"),
            "column": quoting("column"),
        },
        "loaded_at_field": s.loaded_at_field,
        "loaded_at_query": s.loaded_at_query,
        "freshness": freshness,
        // kiln records dbt-duckdb's `external_location` here; dbt's `external` is an object.
        "external": s.external.as_ref().filter(|e| e.is_object()),
        "description": s.description,
        "columns": serde_json::to_value(ColumnsDict(&s.columns)).unwrap_or_default(),
        "meta": s.meta,
        "source_meta": s.source_meta,
        "tags": s.tags,
        "config": config,
        "patch_path": null,
        "unrendered_config": unrendered,
        "relation_name": s.relation_name,
        "created_at": CREATED_AT,
        "unrendered_database": s.unrendered_database,
        "unrendered_schema": s.unrendered_schema,
        "doc_blocks": s.doc_blocks,
    })
}

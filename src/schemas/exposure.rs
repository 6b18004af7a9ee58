//! An exposure's dict as dbt's manifest writes it.

use super::CREATED_AT;
use super::node::{ref_json, sources_list};
use crate::project::ExposureNode;
use crate::project::config;
use serde_json::{Map, Value, json};

/// An exposure's dict.
pub fn exposure_json(e: &ExposureNode, depends_on: &[String]) -> Value {
    let mut owner = Map::new();
    owner.insert(
        "email".into(),
        e.owner.get("email").cloned().unwrap_or(Value::Null),
    );
    owner.insert(
        "name".into(),
        e.owner.get("name").cloned().unwrap_or(Value::Null),
    );
    for (k, v) in &e.owner {
        if !owner.contains_key(k) {
            owner.insert(k.clone(), v.clone());
        }
    }
    let mut config = Map::new();
    config.insert("enabled".into(), Value::Bool(config::is_enabled(&e.config)));
    let mut tags = config::tags_of(&e.config);
    for t in &e.tags {
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    config.insert("tags".into(), Value::from(tags.clone()));
    let mut meta = e
        .config
        .get("meta")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in &e.meta {
        meta.insert(k.clone(), v.clone());
    }
    config.insert("meta".into(), Value::Object(meta.clone()));
    for (k, v) in &e.config {
        if !config.contains_key(k) {
            config.insert(k.clone(), v.clone());
        }
    }
    json!({
        "name": e.name,
        "resource_type": "exposure",
        "package_name": e.package_name,
        "path": e.path,
        "original_file_path": e.original_file_path,
        "unique_id": e.unique_id,
        "fqn": e.fqn,
        "type": e.kind,
        "owner": owner,
        "description": e.description,
        "label": e.label,
        "maturity": e.maturity,
        // Catalogs read the top-level fields: they hold what `config:` set too, as in dbt.
        "meta": meta,
        "tags": tags,
        "config": config,
        "unrendered_config": e.unrendered_config,
        "url": e.url,
        "depends_on": { "macros": [], "nodes": depends_on },
        "refs": e.refs.iter().map(ref_json).collect::<Vec<_>>(),
        "sources": sources_list(&e.sources),
        "metrics": [],
        "created_at": CREATED_AT,
    })
}

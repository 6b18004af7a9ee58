//! A unit test's dict, as manifest.json's `unit_tests` section holds it (dbt 1.8+).

use super::CREATED_AT;
use crate::project::unit_test::{Fixture, UnitTest};
use serde_json::{Value, json};

fn fixture_json(f: &Fixture) -> Value {
    json!({
        "rows": f.rows_json(),
        "format": f.format.as_str(),
        "fixture": f.fixture,
    })
}

/// A version as dbt writes it: a number when it is one.
fn version_json(v: &str) -> Value {
    v.parse::<i64>()
        .map(Value::from)
        .or_else(|_| v.parse::<f64>().map(Value::from))
        .unwrap_or_else(|_| Value::from(v))
}

/// `schema` is the target's (where dbt would build the test's scratch relations).
pub fn unit_test_json(t: &UnitTest, schema: &str) -> Value {
    let given: Vec<Value> = t
        .given
        .iter()
        .map(|g| {
            let mut v = fixture_json(&g.fixture);
            if let Value::Object(m) = &mut v {
                let mut out = serde_json::Map::new();
                out.insert("input".into(), Value::from(g.input.clone()));
                out.extend(std::mem::take(m));
                return Value::Object(out);
            }
            v
        })
        .collect();
    let mut config = serde_json::Map::new();
    config.insert("tags".into(), Value::from(t.tags()));
    config.insert("meta".into(), Value::Object(t.meta()));
    config.insert("enabled".into(), Value::Bool(true));
    for (k, v) in &t.config {
        if !["tags", "meta", "enabled"].contains(&k.as_str()) {
            config.insert(k.clone(), v.clone());
        }
    }
    config.entry("static_analysis").or_insert(Value::Null);
    json!({
        "model": t.model,
        "given": given,
        "expect": fixture_json(&t.expect),
        "name": t.name,
        "resource_type": "unit_test",
        "package_name": t.package_name,
        "path": t.path,
        "original_file_path": t.original_file_path,
        "unique_id": t.unique_id,
        "fqn": t.fqn,
        "description": t.description,
        "overrides": t.overrides.as_ref().map(|o| json!({
            "macros": o.macros, "vars": o.vars, "env_vars": o.env_vars,
        })),
        "depends_on": {"macros": [], "nodes": [t.model_id]},
        "config": config,
        "checksum": t.checksum,
        "schema": schema,
        "created_at": CREATED_AT,
        "versions": t.versions.as_ref().map(|v| json!({
            "include": v.get("include").cloned().unwrap_or(Value::Null),
            "exclude": v.get("exclude").cloned().unwrap_or(Value::Null),
        })),
        "version": t.version.as_deref().map(version_json),
    })
}

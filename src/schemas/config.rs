//! dbt's default config table, and a node's `config` and `unrendered_config` as dbt writes them.

use super::facts::ProjectFacts;
use crate::project::config::{self, Config};
use crate::project::{Node, ResourceType};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};

pub(super) fn default_docs() -> Value {
    json!({ "show": true, "node_color": null })
}

pub(super) fn default_contract() -> Value {
    json!({ "enforced": false, "alias_types": true })
}

/// dbt's default config of a resource type, in its order (as every `config` in the manifest
/// starts).
pub fn default_config_for(rt: ResourceType) -> Map<String, Value> {
    cached_config_defaults(rt)
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

/// dbt's default config keys, in its order, per resource type.
fn config_defaults(rt: ResourceType) -> Vec<(&'static str, Value)> {
    if rt == ResourceType::Test {
        return vec![
            ("enabled", json!(true)),
            ("alias", Value::Null),
            ("schema", json!("dbt_test__audit")),
            ("database", Value::Null),
            ("tags", json!([])),
            ("meta", json!({})),
            ("group", Value::Null),
            ("static_analysis", Value::Null),
            ("materialized", json!("test")),
            // dbt's default; a severity the project sets is written as set (`error`, `warn`).
            ("severity", json!("ERROR")),
            ("store_failures", Value::Null),
            ("store_failures_as", Value::Null),
            ("where", Value::Null),
            ("limit", Value::Null),
            ("fail_calc", json!("count(*)")),
            ("warn_if", json!("!= 0")),
            ("error_if", json!("!= 0")),
        ];
    }
    let materialized = match rt {
        ResourceType::Seed => "seed",
        ResourceType::Snapshot => "snapshot",
        _ => "view",
    };
    let mut out = vec![
        ("enabled", json!(true)),
        ("alias", Value::Null),
        ("schema", Value::Null),
        ("database", Value::Null),
        ("tags", json!([])),
        ("meta", json!({})),
        ("group", Value::Null),
        ("static_analysis", Value::Null),
        ("materialized", json!(materialized)),
        ("incremental_strategy", Value::Null),
        ("batch_size", Value::Null),
        ("lookback", json!(1)),
        ("begin", Value::Null),
        ("persist_docs", json!({})),
        ("post-hook", json!([])),
        ("pre-hook", json!([])),
        ("quoting", json!({})),
        ("column_types", json!({})),
        ("full_refresh", Value::Null),
        ("unique_key", Value::Null),
        ("on_schema_change", json!("ignore")),
        ("on_configuration_change", json!("apply")),
        ("grants", json!({})),
        ("packages", json!([])),
        ("docs", default_docs()),
        ("contract", default_contract()),
        ("event_time", Value::Null),
        ("concurrent_batches", Value::Null),
    ];
    match rt {
        ResourceType::Model => {
            out.push(("access", json!("protected")));
            out.push(("freshness", Value::Null));
        }
        ResourceType::Seed => {
            out.push(("delimiter", json!(",")));
            out.push(("quote_columns", Value::Null));
        }
        ResourceType::Snapshot => {
            out.push(("strategy", Value::Null));
            out.push(("target_schema", Value::Null));
            out.push(("target_database", Value::Null));
            out.push(("updated_at", Value::Null));
            out.push(("check_cols", Value::Null));
            out.push((
                "snapshot_meta_column_names",
                json!({
                    "dbt_valid_to": null,
                    "dbt_valid_from": null,
                    "dbt_scd_id": null,
                    "dbt_updated_at": null,
                    "dbt_is_deleted": null,
                }),
            ));
            out.push(("dbt_valid_to_current", Value::Null));
        }
        _ => {}
    }
    out
}

/// [`config_defaults`] built once per resource type (every node needs them).
fn cached_config_defaults(rt: ResourceType) -> &'static [(&'static str, Value)] {
    static CACHE: std::sync::OnceLock<Vec<(ResourceType, Vec<(&'static str, Value)>)>> =
        std::sync::OnceLock::new();
    let all = CACHE.get_or_init(|| {
        ResourceType::ALL
            .iter()
            .map(|rt| (*rt, config_defaults(*rt)))
            .collect()
    });
    all.iter()
        .find(|(r, _)| *r == rt)
        .map_or(&[], |(_, d)| d.as_slice())
}

/// A config value in the shape dbt writes it.
pub(super) fn config_value(key: &str, value: &Value, default: &Value) -> Value {
    match key {
        "tags" => Value::from(str_list(value)),
        "pre-hook" | "post-hook" => hooks_json(value),
        // A model's freshness as dbt-core 1.11 keeps it: only `build_after` (its warn_after and
        // error_after, which `kiln freshness` checks, are not part of dbt-core's model config).
        "freshness" => match value.get("build_after") {
            Some(b) if !b.is_null() => json!({ "build_after": b }),
            _ => Value::Null,
        },
        "docs" | "contract" | "snapshot_meta_column_names" => {
            let mut merged = default.as_object().cloned().unwrap_or_default();
            if let Value::Object(given) = value {
                for (k, v) in given {
                    merged.insert(k.clone(), v.clone());
                }
            }
            Value::Object(merged)
        }
        _ => value.clone(),
    }
}

/// A config key's value after dbt's defaults, as `config` shows it.
pub(super) fn merged_config_get(n: &Node, key: &str) -> Option<Value> {
    let default = cached_config_defaults(n.resource_type)
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, d)| d);
    match (n.config.get(key), default) {
        (Some(v), Some(d)) => Some(config_value(key, v, d)),
        (Some(v), None) => Some(v.clone()),
        (None, Some(d)) => Some(d.clone()),
        (None, None) => None,
    }
}

pub(super) fn str_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(ToString::to_string))
            .collect(),
        _ => vec![],
    }
}

/// Hooks as dbt's `{sql, transaction, index}` objects.
pub(super) fn hooks_json(v: &Value) -> Value {
    let items = match v {
        Value::Array(a) => a.clone(),
        Value::Null => vec![],
        other => vec![other.clone()],
    };
    let hooks = items
        .iter()
        .map(|h| match h {
            Value::Object(o) => json!({
                "sql": o.get("sql").cloned().unwrap_or_else(|| Value::from("")),
                "transaction": o.get("transaction").and_then(Value::as_bool).unwrap_or(true),
                "index": o.get("index").cloned().unwrap_or(Value::Null),
            }),
            Value::String(s) => json!({ "sql": s, "transaction": true, "index": null }),
            other => json!({ "sql": other.to_string(), "transaction": true, "index": null }),
        })
        .collect();
    Value::Array(hooks)
}

/// Config as written, before rendering: the project's dbt_project.yml settings for the node's
/// folder, then what its properties and `config()` call set; for a package's node, its package's
/// dbt_project.yml first, then the root project's settings for it, then its `config()` values
/// again (dbt's order).
/// Each layer replaces a key the one before set, tags and meta included: dbt merges them only in
/// the rendered config.
pub(super) fn unrendered_config(n: &Node, facts: &ProjectFacts<'_>) -> Map<String, Value> {
    let mut out = Config::new();
    let configured = matches!(
        n.resource_type,
        ResourceType::Model
            | ResourceType::Analysis
            | ResourceType::Seed
            | ResourceType::Snapshot
            | ResourceType::Test
    );
    let project = facts.project.filter(|_| configured);
    if let Some(p) = project {
        out = if n.package_name == p.name {
            match n.resource_type {
                ResourceType::Test => {
                    config::unrendered_project_config_for(&facts.test_tree, &n.fqn)
                }
                rt => config::unrendered_project_config_for(&p.config.config_tree(rt), &n.fqn),
            }
        } else {
            let own = p.config_of(&n.package_name).config_tree(n.resource_type);
            config::unrendered_project_config_for(&own, &n.fqn)
        };
    }
    for (k, v) in &n.unrendered_config {
        out.insert(config::normalize_key(k), v.clone());
    }
    if let Some(p) = project.filter(|p| n.package_name != p.name) {
        let root = p.config.config_tree(n.resource_type);
        out.extend(config::unrendered_project_config_for(&root, &n.fqn));
        // dbt writes the node's own `config()` values over them again (its rendered config
        // keeps the root project's).
        for k in &n.spans.sql_config {
            let k = config::normalize_key(k);
            if let Some(v) = n.unrendered_config.get(&k) {
                out.insert(k, v.clone());
            }
        }
    }
    out
}

/// A node's `config`: dbt's default keys first, in dbt's order, each with the project's value
/// when it set one, then the project's other keys in the order dbt sets them.
pub(super) struct FullConfig<'a>(pub &'a Node);

impl Serialize for FullConfig<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.0;
        let defaults = cached_config_defaults(n.resource_type);
        let mut map = s.serialize_map(None)?;
        for (key, default) in defaults {
            match n.config.get(*key) {
                Some(v) => map.serialize_entry(key, &config_value(key, v, default))?,
                None => map.serialize_entry(key, default)?,
            }
        }
        // The other keys in the order dbt adds them: those of the config it builds from
        // dbt_project.yml and the `config()` calls first, then those the properties YAML
        // adds (a key set in YAML and in `config()` keeps its first place).
        let extra = |k: &String| !defaults.iter().any(|(d, _)| d == k);
        let from_yaml = |k: &String| {
            n.unrendered_config
                .keys()
                .any(|u| config::normalize_key(u) == *k)
                && !n.spans.sql_config.iter().any(|s| s == k)
        };
        for pass in [false, true] {
            for (k, v) in &n.config {
                if extra(k) && from_yaml(k) == pass {
                    map.serialize_entry(k, v)?;
                }
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_take_dbt_shape() {
        assert_eq!(
            hooks_json(&json!(["grant select", {"sql": "vacuum", "transaction": false}])),
            json!([
                {"sql": "grant select", "transaction": true, "index": null},
                {"sql": "vacuum", "transaction": false, "index": null},
            ])
        );
    }

    #[test]
    fn every_resource_type_has_dbts_default_keys_in_order() {
        let model: Vec<String> = default_config_for(ResourceType::Model)
            .keys()
            .cloned()
            .collect();
        assert_eq!(model.first().map(String::as_str), Some("enabled"));
        assert_eq!(model.last().map(String::as_str), Some("freshness"));
        let test = default_config_for(ResourceType::Test);
        assert_eq!(test.get("severity"), Some(&json!("ERROR")));
        assert_eq!(test.get("schema"), Some(&json!("dbt_test__audit")));
        let seed = default_config_for(ResourceType::Seed);
        assert_eq!(seed.get("delimiter"), Some(&json!(",")));
        assert_eq!(seed.get("materialized"), Some(&json!("seed")));
    }
}

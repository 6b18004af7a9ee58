//! Config inheritance, with dbt's precedence (lowest first):
//! dbt_project.yml folder trees, shallow to deep → properties YAML `config:` → `{{ config() }}` in
//! the file. Most keys clobber; `tags` and hooks accumulate; `meta`, `quoting`, `column_types`,
//! `docs`, `grants`, `persist_docs` and `contract` merge key by key, as dbt's merge rules say.

use serde_json::{Map, Value};

/// A node's configuration: dbt config names to values (hooks as `pre-hook` / `post-hook`).
pub type Config = Map<String, Value>;

/// Configuration keys that, written without `+` in a dbt_project.yml tree, are configs rather
/// than folder names.
const KNOWN_KEYS: &[&str] = &[
    "enabled",
    "materialized",
    "tags",
    "meta",
    "schema",
    "database",
    "alias",
    "persist_docs",
    "pre-hook",
    "post-hook",
    "pre_hook",
    "post_hook",
    "full_refresh",
    "quoting",
    "column_types",
    "docs",
    "contract",
    "grants",
    "unique_key",
    "on_schema_change",
    "on_configuration_change",
    "incremental_strategy",
    "incremental_predicates",
    "sql_header",
    "access",
    "group",
    "event_time",
    "batch_size",
    "lookback",
    "begin",
    "concurrent_batches",
    "strategy",
    "updated_at",
    "check_cols",
    "target_schema",
    "target_database",
    "snapshot_meta_column_names",
    "hard_deletes",
    "invalidate_hard_deletes",
    "dbt_valid_to_current",
    "severity",
    "store_failures",
    "store_failures_as",
    "where",
    "limit",
    "fail_calc",
    "warn_if",
    "error_if",
    "quote_columns",
    "delimiter",
    "file_format",
    "partition_by",
    "partitioned_by",
    "cluster_by",
    "external_location",
    "format",
    "table_type",
    "location",
    "packages",
    "freshness",
    "loaded_at_field",
];

/// Keys whose values accumulate (lists).
fn is_append_key(k: &str) -> bool {
    matches!(k, "tags" | "pre-hook" | "post-hook")
}

/// Keys whose mapping values merge key by key.
fn is_update_key(k: &str) -> bool {
    matches!(
        k,
        "meta" | "quoting" | "column_types" | "docs" | "grants" | "persist_docs" | "contract"
    )
}

/// `+materialized` → `materialized`; `pre_hook` → `pre-hook`.
pub fn normalize_key(k: &str) -> String {
    let k = k.strip_prefix('+').unwrap_or(k);
    match k {
        "pre_hook" => "pre-hook".into(),
        "post_hook" => "post-hook".into(),
        _ => k.to_string(),
    }
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => vec![],
        other => vec![other.clone()],
    }
}

/// Applies `layer` over `base` with dbt's merge rules.
pub fn merge_into(base: &mut Config, layer: &Config) {
    for (k, v) in layer {
        let key = normalize_key(k);
        if is_append_key(&key) {
            let mut list = base.get(&key).map(as_list).unwrap_or_default();
            for item in as_list(v) {
                if key != "tags" || !list.contains(&item) {
                    list.push(item);
                }
            }
            base.insert(key, Value::Array(list));
        } else if is_update_key(&key) {
            match (base.get_mut(&key), v) {
                (Some(Value::Object(b)), Value::Object(l)) => {
                    for (lk, lv) in l {
                        b.insert(lk.clone(), lv.clone());
                    }
                }
                _ => {
                    base.insert(key, v.clone());
                }
            }
        } else {
            base.insert(key, v.clone());
        }
    }
}

/// Whether a key in a dbt_project.yml config tree is a config (as opposed to a folder or package).
pub fn is_config_key(k: &str) -> bool {
    k.starts_with('+') || KNOWN_KEYS.contains(&k)
}

/// The configs a dbt_project.yml tree (`models:`, `seeds:`, ...) gives the node at `fqn`
/// (`[package, folder, ..., name]`), merged shallow to deep.
pub fn project_config_for(tree: &Map<String, Value>, fqn: &[String]) -> Config {
    let mut out = Config::new();
    let mut level = Some(tree);
    let mut depth = 0;
    while let Some(map) = level {
        let own: Config = map
            .iter()
            .filter(|(k, _)| is_config_key(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        merge_into(&mut out, &own);
        let Some(part) = fqn.get(depth) else { break };
        level = map
            .get(part)
            .filter(|_| !is_config_key(part))
            .and_then(Value::as_object);
        depth += 1;
    }
    out
}

/// The configs a dbt_project.yml tree gives the node at `fqn` as written, for dbt's
/// `unrendered_config`: each deeper setting replaces the shallower one, tags and meta included
/// (dbt merges them only in the rendered config).
pub fn unrendered_project_config_for(tree: &Map<String, Value>, fqn: &[String]) -> Config {
    let mut out = Config::new();
    let mut level = Some(tree);
    let mut depth = 0;
    while let Some(map) = level {
        for (k, v) in map.iter().filter(|(k, _)| is_config_key(k)) {
            out.insert(normalize_key(k), v.clone());
        }
        let Some(part) = fqn.get(depth) else { break };
        level = map
            .get(part)
            .filter(|_| !is_config_key(part))
            .and_then(Value::as_object);
        depth += 1;
    }
    out
}

/// What the root project's dbt_project.yml gives a node of an installed package (nothing for the
/// root project's own nodes): its config tree for the node's resource type, at the node's fqn
/// (`models: {<package>: ...}`, and the tree's top-level `+` configs). dbt applies it last, over
/// the package's own tree, the node's properties and its `config()` calls.
pub fn root_overrides(root: &super::dbt_project::DbtProject, node: &super::node::Node) -> Config {
    if node.package_name == root.name {
        return Config::new();
    }
    project_config_for(&root.config_tree(node.resource_type), &node.fqn)
}

/// Flattens the common shapes for `tags`: a string or a list of strings.
pub fn tags_of(config: &Config) -> Vec<String> {
    config
        .get("tags")
        .map(as_list)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(ToString::to_string))
        .collect()
}

/// `true` unless `enabled: false`.
pub fn is_enabled(config: &Config) -> bool {
    !matches!(config.get("enabled"), Some(Value::Bool(false)))
}

/// A string-valued config, if set.
pub fn get_str<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    config.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Config {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn deeper_folder_wins_and_tags_accumulate() {
        let tree = obj(json!({
            "+materialized": "view",
            "shop": {
                "+tags": ["shop"],
                "+meta": {"owner": "a"},
                "marts": {"+materialized": "table", "+tags": "marts", "+meta": {"sla": "1d"},
                    "finance": {"materialized": "incremental"}}
            }
        }));
        let fqn: Vec<String> = ["shop", "marts", "finance", "revenue"]
            .map(String::from)
            .to_vec();
        let c = project_config_for(&tree, &fqn);
        assert_eq!(c["materialized"], json!("incremental"));
        assert_eq!(c["tags"], json!(["shop", "marts"]));
        assert_eq!(c["meta"], json!({"owner": "a", "sla": "1d"}));
        let other: Vec<String> = ["shop", "staging", "stg"].map(String::from).to_vec();
        assert_eq!(
            project_config_for(&tree, &other)["materialized"],
            json!("view")
        );
    }

    #[test]
    fn unrendered_configs_replace_instead_of_merging() {
        let tree = obj(json!({
            "+tags": ["all"],
            "shop": {"+tags": "shop", "+meta": {"owner": "a"}, "marts": {"+meta": {"sla": "1d"}}}
        }));
        let fqn: Vec<String> = ["shop", "marts", "orders"].map(String::from).to_vec();
        let c = unrendered_project_config_for(&tree, &fqn);
        assert_eq!(c["tags"], json!("shop"));
        assert_eq!(c["meta"], json!({"sla": "1d"}));
    }

    #[test]
    fn hooks_append_and_normalize() {
        let mut base = obj(json!({"pre_hook": "a"}));
        merge_into(&mut base, &obj(json!({"+pre-hook": ["b"]})));
        let mut out = Config::new();
        merge_into(&mut out, &base);
        assert_eq!(out["pre-hook"], json!(["a", "b"]));
    }
}

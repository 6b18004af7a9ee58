//! The part of a node's dict that the docs site reads ([`crate::docs::data`]), made straight
//! from the node: at 10,000 models (and 11,000 tests) the whole dict ([`super::node_json`], with
//! its full config, unrendered config, refs, macros and contract) is most of the bytes and most
//! of the time, and the site shows a dozen of its fields.
//!
//! Every field here is the value the whole dict holds under the same key (the same helpers make
//! it), so the site built from these equals the site built from manifest.json
//! (`tests/docs_site.rs`, `demo_docs_site_files`, compares them value for value). A field the
//! site reads must be added here too.

use super::config::merged_config_get;
use super::facts::ProjectFacts;
use crate::project::{ColumnInfo, Node, ResourceType};
use serde_json::{Map, Value, json};

/// The keys of a `config` the site reads.
const CONFIG_KEYS: &[&str] = &["meta", "materialized", "loaded_at_field"];

/// The fields of `n`'s dict that the docs site reads: for a test, what attaches it to its node
/// and names it; for a page (model, seed, snapshot, analysis), what its page shows.
pub fn node_site_json(n: &Node, facts: &ProjectFacts<'_>) -> Value {
    let rt = n.resource_type;
    let mut m = Map::new();
    m.insert("name".into(), Value::from(n.name.as_str()));
    m.insert("resource_type".into(), Value::from(rt.as_str()));
    m.insert("unique_id".into(), Value::from(n.unique_id.as_str()));
    m.insert("package_name".into(), Value::from(n.package_name.as_str()));
    m.insert(
        "original_file_path".into(),
        Value::from(n.original_file_path.as_str()),
    );
    if rt != ResourceType::Seed {
        m.insert(
            "depends_on".into(),
            json!({ "nodes": facts.depends_on_of(&n.unique_id) }),
        );
    }
    if rt == ResourceType::Test {
        if let Some(t) = &n.test {
            m.insert(
                "column_name".into(),
                t.column_name.as_deref().map_or(Value::Null, Value::from),
            );
            let attached = t
                .attached_node
                .as_deref()
                .filter(|id| !id.starts_with("source."));
            m.insert(
                "attached_node".into(),
                attached.map_or(Value::Null, Value::from),
            );
            m.insert(
                "test_metadata".into(),
                json!({ "name": t.name, "kwargs": t.kwargs, "namespace": t.namespace }),
            );
        }
        return Value::Object(m);
    }
    m.insert("tags".into(), Value::from(n.tags()));
    m.insert("description".into(), Value::from(n.description.as_str()));
    m.insert("columns".into(), columns(&n.columns));
    m.insert("meta".into(), Value::Object(n.meta()));
    let config: Map<String, Value> = CONFIG_KEYS
        .iter()
        .filter_map(|k| Some(((*k).to_string(), merged_config_get(n, k)?)))
        .collect();
    m.insert("config".into(), Value::Object(config));
    m.insert(
        "relation_name".into(),
        n.relation_name.as_deref().map_or(Value::Null, Value::from),
    );
    m.insert(
        "raw_code".into(),
        serde_json::to_value(super::node::raw_code(n)).unwrap_or(Value::Null),
    );
    if rt != ResourceType::Seed
        && let Some(c) = facts.compiled_of(&n.unique_id)
    {
        m.insert("compiled_code".into(), Value::from(c.code.as_str()));
    }
    if rt == ResourceType::Model {
        m.insert(
            "access".into(),
            merged_config_get(n, "access").unwrap_or_else(|| Value::from("protected")),
        );
    }
    Value::Object(m)
}

/// A node's columns with the fields the site reads of each.
fn columns(cols: &indexmap::IndexMap<String, ColumnInfo>) -> Value {
    Value::Object(
        cols.iter()
            .map(|(key, c)| {
                (
                    key.clone(),
                    json!({
                        "name": c.name,
                        "description": c.description,
                        "meta": c.meta,
                        "data_type": c.data_type,
                        "tags": c.tags,
                    }),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{Compiled, TestMetadata};
    use std::collections::BTreeMap;

    /// Every field the slim dict has is the whole dict's value under that key.
    fn assert_part_of(slim: &Value, whole: &Value, at: &str) {
        match slim {
            Value::Object(m) => {
                for (k, v) in m {
                    let w = whole
                        .get(k)
                        .unwrap_or_else(|| panic!("{at}.{k} is not in the whole dict"));
                    assert_part_of(v, w, &format!("{at}.{k}"));
                }
            }
            _ => assert_eq!(slim, whole, "{at}"),
        }
    }

    fn page(rt: ResourceType, name: &str) -> Node {
        let mut n = Node::sample(
            rt,
            name,
            json!({"materialized": "table", "tags": ["finance"], "meta": {"owner": "ops"},
                   "loaded_at_field": "updated_at"}),
        );
        n.raw_code = "\n  select 1 as id\n".into();
        n.description = "One row per order.".into();
        n.columns.insert(
            "id".into(),
            ColumnInfo {
                name: "id".into(),
                description: "The id.".into(),
                data_type: Some("integer".into()),
                tags: vec!["pii:email".into()],
                ..ColumnInfo::default()
            },
        );
        n.relation_name = Some("\"db\".\"main\".\"x\"".into());
        n
    }

    #[test]
    fn the_slim_dict_is_part_of_the_whole() {
        let mut test = Node::sample(ResourceType::Test, "not_null_orders_id", json!({}));
        test.test = Some(TestMetadata {
            name: "not_null".into(),
            namespace: Some("kiln".into()),
            kwargs: serde_json::from_value(json!({"column_name": "id", "model": "x"}))
                .unwrap_or_default(),
            column_name: Some("id".into()),
            attached_node: Some("model.demo.orders".into()),
            file_key_name: "models.orders".into(),
            inherited_tags: Vec::new(),
            macro_config: Vec::new(),
        });
        let nodes = [
            page(ResourceType::Model, "orders"),
            page(ResourceType::Seed, "countries"),
            page(ResourceType::Snapshot, "orders_snapshot"),
            page(ResourceType::Analysis, "adhoc"),
            test,
        ];
        let depends_on: BTreeMap<String, Vec<String>> = nodes
            .iter()
            .map(|n| (n.unique_id.clone(), vec!["model.demo.stg".to_string()]))
            .collect();
        let compiled: BTreeMap<String, Compiled> = nodes
            .iter()
            .map(|n| {
                let code = format!("select 1 as id -- {}", n.name);
                (
                    n.unique_id.clone(),
                    Compiled {
                        code,
                        ctes: vec![],
                        masked: vec![],
                    },
                )
            })
            .collect();
        let facts = ProjectFacts::default()
            .with_depends_on(&depends_on)
            .with_compiled(&compiled);
        for n in &nodes {
            let slim = node_site_json(n, &facts);
            assert_part_of(&slim, &super::super::node_json(n, &facts), &n.unique_id);
        }
        let model = node_site_json(&nodes[0], &facts);
        assert_eq!(model["raw_code"], "select 1 as id");
        assert_eq!(model["compiled_code"], "select 1 as id -- orders");
        assert_eq!(model["config"]["meta"]["owner"], "ops");
        assert_eq!(model["config"]["materialized"], "table");
        assert_eq!(model["access"], "protected");
        assert_eq!(model["depends_on"]["nodes"][0], "model.demo.stg");
        assert_eq!(model["columns"]["id"]["tags"][0], "pii:email");
        let snapshot = node_site_json(&nodes[2], &facts);
        assert_eq!(snapshot["raw_code"], "\n  select 1 as id\n");
        let test = node_site_json(&nodes[4], &facts);
        assert_eq!(test["attached_node"], "model.demo.orders");
        assert_eq!(test["test_metadata"]["namespace"], "kiln");
        assert!(test.get("raw_code").is_none() && test.get("columns").is_none());
    }
}

//! What the docs site ([`crate::docs::data`]) reads of a node that only this stage knows how
//! to make: a `config` value as the node's dict shows it (with dbt's defaults), and the
//! `raw_code` a page shows. The site reads every other field straight from the node; each value
//! here is the one the whole dict ([`super::node_json`]) holds under the same key, so the site
//! shows what a catalog reading manifest.json would (`tests/docs_site.rs`,
//! `demo_docs_site_files`, compares them value for value).

use super::config::merged_config_get;
use crate::project::{Node, ResourceType};
use serde_json::Value;

/// `config.<key>` of the node's dict: its value, or dbt's default for the node's kind.
pub fn site_config(n: &Node, key: &str) -> Option<Value> {
    merged_config_get(n, key)
}

/// The `raw_code` of a page's (model, seed, snapshot, analysis) dict: a snapshot's block as
/// written, the others' SQL trimmed.
pub fn page_raw_code(n: &Node) -> &str {
    if n.resource_type == ResourceType::Snapshot {
        &n.raw_code
    } else {
        n.raw_code.trim()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schemas::ProjectFacts;
    use serde_json::json;

    fn page(rt: ResourceType, name: &str) -> Node {
        let mut n = Node::sample(
            rt,
            name,
            json!({"materialized": "table", "tags": ["finance"], "meta": {"owner": "ops"},
                   "loaded_at_field": "updated_at"}),
        );
        n.raw_code = "\n  select 1 as id\n".into();
        n
    }

    #[test]
    fn the_site_reads_what_the_whole_dict_holds() {
        let facts = ProjectFacts::default();
        for rt in [
            ResourceType::Model,
            ResourceType::Seed,
            ResourceType::Snapshot,
            ResourceType::Analysis,
        ] {
            let n = page(rt, "orders");
            let whole = super::super::node_json(&n, &facts);
            for key in ["meta", "materialized", "loaded_at_field", "access"] {
                assert_eq!(
                    site_config(&n, key).as_ref(),
                    whole["config"].get(key),
                    "{rt:?} {key}"
                );
            }
            assert_eq!(whole["raw_code"], page_raw_code(&n), "{rt:?}");
        }
        let model = page(ResourceType::Model, "orders");
        assert_eq!(page_raw_code(&model), "select 1 as id");
        assert_eq!(site_config(&model, "meta"), Some(json!({"owner": "ops"})));
        assert_eq!(site_config(&model, "materialized"), Some(json!("table")));
        let snapshot = page(ResourceType::Snapshot, "orders_snapshot");
        assert_eq!(page_raw_code(&snapshot), "\n  select 1 as id\n");
    }
}

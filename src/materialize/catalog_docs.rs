//! What a successful build ends with on an engine whose tables are published through a
//! catalog ([`Adapter::supports_catalog_publish`]; Athena: Glue), where there is no
//! `comment on`: `persist_docs` as a catalog update of the relation's description and its
//! columns' comments ([`StorageCall::Describe`]), and `versions_to_keep` (dbt-athena's
//! setting: how many versions of the table's catalog definition Glue keeps,
//! [`StorageCall::ExpireVersions`]).

use crate::adapter::{Adapter, CatalogName, StorageCall};
use crate::project::Node;
use serde_json::Value as Json;

fn catalog_name(node: &Node) -> CatalogName {
    CatalogName {
        schema: node.schema.clone(),
        identifier: node.alias.clone(),
    }
}

/// `persist_docs` (`relation`, `columns`) as one catalog update, or `None` when there is
/// nothing to persist (or the engine writes comments with SQL instead).
pub fn describe(adapter: &dyn Adapter, node: &Node) -> Option<StorageCall> {
    if !adapter.supports_catalog_publish() {
        return None;
    }
    let persist = node.config.get("persist_docs")?;
    let flag = |k: &str| persist.get(k).and_then(Json::as_bool).unwrap_or(false);
    let description = (flag("relation") && !node.description.trim().is_empty())
        .then(|| node.description.trim().to_string());
    let columns: Vec<(String, String)> = if flag("columns") {
        node.columns
            .iter()
            .filter(|(_, c)| !c.description.trim().is_empty())
            .map(|(name, c)| (name.clone(), c.description.trim().to_string()))
            .collect()
    } else {
        vec![]
    };
    if description.is_none() && columns.is_empty() {
        return None;
    }
    Some(StorageCall::Describe {
        target: catalog_name(node),
        description,
        columns,
    })
}

/// `versions_to_keep`: the catalog keeps that many versions of the relation's definition
/// (each publish or description update makes one).
pub fn expire_versions(adapter: &dyn Adapter, node: &Node) -> Option<StorageCall> {
    if !adapter.supports_catalog_publish() {
        return None;
    }
    let keep = node.config.get("versions_to_keep")?.as_u64()?;
    Some(StorageCall::ExpireVersions {
        target: catalog_name(node),
        keep: u32::try_from(keep).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::{Athena, DuckDb};
    use crate::project::ResourceType;
    use serde_json::json;

    #[test]
    fn docs_and_versions_are_catalog_calls_where_tables_are_published() {
        let mut node = Node::sample(
            ResourceType::Model,
            "orders",
            json!({"persist_docs": {"relation": true, "columns": true}, "versions_to_keep": 3}),
        );
        node.description = "One row per order.".into();
        let athena = Athena::sample();
        let call = describe(&athena, &node).expect("a describe call");
        assert_eq!(
            call.to_string(),
            "kiln: describe main.orders (the relation)"
        );
        assert_eq!(
            expire_versions(&athena, &node).map(|c| c.to_string()),
            Some("kiln: expire catalog versions of main.orders (keep 3)".into())
        );
        // DuckDB writes `comment on` instead, and keeps no versions
        let duck = DuckDb::in_memory();
        assert_eq!(describe(&duck, &node), None);
        assert_eq!(expire_versions(&duck, &node), None);
        // nothing documented: nothing to write
        node.description = String::new();
        assert_eq!(describe(&athena, &node), None);
    }
}

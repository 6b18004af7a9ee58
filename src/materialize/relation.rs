//! Where a node's relation lives, and the relations a plan builds next to it.

use crate::adapter::{Adapter, RelationKind};
use crate::project::Node;

/// A relation a plan writes: database, schema and identifier, unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationTarget {
    pub database: String,
    pub schema: String,
    pub identifier: String,
}

impl RelationTarget {
    /// The node's own relation.
    pub fn of(node: &Node) -> Self {
        RelationTarget {
            database: node.database.clone(),
            schema: node.schema.clone(),
            identifier: node.alias.clone(),
        }
    }

    /// The fully quoted name.
    pub fn sql(&self, adapter: &dyn Adapter) -> String {
        let mut parts = vec![];
        if !self.database.is_empty() {
            parts.push(adapter.quote(&self.database));
        }
        parts.push(adapter.quote(&self.schema));
        parts.push(adapter.quote(&self.identifier));
        parts.join(".")
    }

    /// The same schema, another identifier.
    pub fn with_identifier(&self, identifier: String) -> Self {
        RelationTarget {
            identifier,
            ..self.clone()
        }
    }

    /// The same schema, the identifier with `suffix` appended.
    pub fn suffixed(&self, suffix: &str) -> Self {
        self.with_identifier(format!("{}{suffix}", self.identifier))
    }
}

/// A table holding rows a plan stages for a while (an incremental step's new rows, a snapshot's
/// query): connection-local and temporary where the engine has temporary tables, otherwise a
/// table next to the target.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// The rendered name.
    pub relation: String,
    temporary: bool,
}

impl Stage {
    /// The stage of `target` named with `suffix`.
    pub fn new(adapter: &dyn Adapter, target: &RelationTarget, suffix: &str) -> Self {
        let temporary = adapter.supports_temporary_tables();
        let relation = if temporary {
            adapter.quote(&format!("{}{suffix}", target.identifier))
        } else {
            target.suffixed(suffix).sql(adapter)
        };
        Stage {
            relation,
            temporary,
        }
    }

    /// Drops what a previous step may have left, then stages the rows of `sql`.
    pub fn create(&self, adapter: &dyn Adapter, sql: &str) -> Vec<String> {
        vec![
            self.drop(adapter),
            if self.temporary {
                adapter.create_temporary_table_as_sql(&self.relation, sql)
            } else {
                adapter.create_table_as_sql(&self.relation, sql)
            },
        ]
    }

    pub fn drop(&self, adapter: &dyn Adapter) -> String {
        adapter.drop_relation_sql(RelationKind::Table, &self.relation)
    }
}

//! Enforced model contracts when a model builds, as dbt does them.
//!
//! Before anything is built, the model's columns (described from its compiled SQL without
//! running it) are compared with the declared ones, by name and by the type the engine gives a
//! `cast(null as <data_type>)`, so `int` and `INTEGER` agree; any difference fails the model
//! with dbt's table of mismatches and leaves the old relation untouched ([`compare`]). A table or
//! incremental model is then created empty with the declared column types and constraints and
//! filled with an `insert ... select` in contract order ([`Contract::create_sql`],
//! [`Contract::insert_sql`]); a
//! view only has its columns checked. The SQL of each step comes from the adapter.

use super::RelationTarget;
use crate::adapter::{Adapter, Column, text_grid};
use crate::project::Node;
use crate::project::contract::{Constraint, ConstraintKind, ConstraintSupport};
use std::collections::BTreeMap;

/// A declared column.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractColumn {
    pub name: String,
    /// The declared type, through the adapter's aliases (`string` → `TEXT`) unless the contract
    /// sets `alias_types: false`.
    pub data_type: String,
    pub quote: bool,
    pub constraints: Vec<Constraint>,
}

/// A model's enforced contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    pub columns: Vec<ContractColumn>,
    /// Model-level constraints.
    pub constraints: Vec<Constraint>,
}

/// The foreign-key parents of a model, resolved: `ref('customers')` → `"main"."customers"`.
pub type ForeignKeyTargets = BTreeMap<String, String>;

/// What foreign keys mean for rebuilding a table: DuckDB neither drops nor renames a table that
/// another table's foreign key references, nor renames one that has foreign keys of its own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForeignKeys {
    /// The model's foreign keys' parents (see [`ForeignKeyTargets`]).
    pub parents: ForeignKeyTargets,
    /// Tables whose foreign keys reference the model's current table: set aside (rows kept,
    /// constraints dropped) while it is replaced, and put back after, as dbt-duckdb does; they
    /// get their constraints back when they are rebuilt, later in the same run when selected.
    pub children: Vec<RelationTarget>,
}

/// The statements that set `children` aside before their parent is replaced, and those that
/// put them back (their rows, without their constraints) after.
pub fn set_aside(adapter: &dyn Adapter, children: &[RelationTarget]) -> (Vec<String>, Vec<String>) {
    let mut before = vec![];
    let mut after = vec![];
    for child in children {
        let name = child.sql(adapter);
        let keep = adapter.quote(&format!("{}{KEEP_SUFFIX}", child.identifier));
        before.push(adapter.copy_to_temporary_sql(&keep, &name));
        before.push(adapter.drop_table_sql(&name));
        after.push(adapter.copy_table_sql(&name, &keep));
        after.push(adapter.drop_table_sql(&keep));
    }
    (before, after)
}

/// The suffix of the temporary copy of a foreign-key child set aside during a rebuild.
pub const KEEP_SUFFIX: &str = "__kiln_keep";

impl Contract {
    /// The node's contract, when it is enforced on a model that builds a relation.
    pub fn of(adapter: &dyn Adapter, node: &Node) -> Option<Contract> {
        if !node.settings.contract.enforced
            || !matches!(node.materialized(), "table" | "view" | "incremental")
        {
            return None;
        }
        let alias = node.settings.contract.alias_types;
        let columns = node
            .columns
            .values()
            .map(|c| {
                let declared = c.data_type.clone().unwrap_or_default();
                ContractColumn {
                    name: c.name.clone(),
                    data_type: if alias {
                        adapter.translate_type(&declared)
                    } else {
                        declared
                    },
                    quote: c.quote.unwrap_or(false),
                    constraints: c
                        .constraints
                        .iter()
                        .filter_map(Constraint::from_json)
                        .collect(),
                }
            })
            .collect();
        Some(Contract {
            columns,
            constraints: node
                .constraints
                .iter()
                .filter_map(Constraint::from_json)
                .collect(),
        })
    }

    fn column_sql(&self, adapter: &dyn Adapter, c: &ContractColumn) -> String {
        if c.quote {
            adapter.quote(&c.name)
        } else {
            c.name.clone()
        }
    }

    /// A query with no rows whose columns are the declared ones, for the engine to describe.
    pub fn declared_sql(&self, adapter: &dyn Adapter) -> String {
        let items: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                format!(
                    "{} as {}",
                    adapter.cast_sql("null", &c.data_type),
                    self.column_sql(adapter, c)
                )
            })
            .collect();
        format!("select {}", items.join(", "))
    }

    /// Whether the contract declares a foreign key (DuckDB will not rename such a table, so it
    /// is rebuilt in place).
    pub fn has_foreign_keys(&self) -> bool {
        self.columns
            .iter()
            .flat_map(|c| c.constraints.iter())
            .chain(self.constraints.iter())
            .any(|c| c.kind == ConstraintKind::ForeignKey)
    }

    /// The foreign-key parents written as `to:` in this contract.
    pub fn foreign_key_parents(&self) -> Vec<String> {
        self.columns
            .iter()
            .flat_map(|c| c.constraints.iter())
            .chain(self.constraints.iter())
            .filter(|c| c.kind == ConstraintKind::ForeignKey)
            .filter_map(|c| c.to.clone())
            .collect()
    }

    /// Whether the engine keeps constraint `c` in the DDL (custom ones always).
    fn keeps(adapter: &dyn Adapter, c: &Constraint) -> bool {
        c.kind == ConstraintKind::Custom
            || adapter.constraint_support(c.kind) != ConstraintSupport::NotSupported
    }

    /// dbt's warnings for constraints the engine will not enforce or cannot hold (unless the
    /// constraint sets `warn_unenforced` / `warn_unsupported` to false).
    pub fn constraint_warnings(&self, adapter: &dyn Adapter) -> Vec<String> {
        let engine = adapter.adapter_type();
        self.columns
            .iter()
            .flat_map(|c| c.constraints.iter())
            .chain(self.constraints.iter())
            .filter(|c| c.kind != ConstraintKind::Custom)
            .filter_map(|c| match adapter.constraint_support(c.kind) {
                ConstraintSupport::NotEnforced if c.warn_unenforced => Some(format!(
                    "The constraint type {} is not enforced by {engine}. The constraint will be included in this model's DDL statement, but it will not guarantee anything about the underlying data. Set 'warn_unenforced: false' on this constraint to ignore this warning.",
                    c.kind.as_str()
                )),
                ConstraintSupport::NotSupported if c.warn_unsupported => Some(format!(
                    "The constraint type {} is not supported by {engine}, and will be ignored. Set 'warn_unsupported: false' on this constraint to ignore this warning.",
                    c.kind.as_str()
                )),
                _ => None,
            })
            .collect()
    }

    /// Creates `relation` empty, with the declared column types and the constraints the engine
    /// can hold; `parents` resolves foreign keys' `to:`.
    pub fn create_sql(
        &self,
        adapter: &dyn Adapter,
        relation: &str,
        parents: &ForeignKeyTargets,
    ) -> String {
        let parent = |c: &Constraint| c.to.as_ref().and_then(|t| parents.get(t)).cloned();
        let mut definitions = vec![];
        for col in &self.columns {
            let mut def = format!("{} {}", self.column_sql(adapter, col), col.data_type);
            for c in col.constraints.iter().filter(|c| Self::keeps(adapter, c)) {
                if let Some(text) = adapter.column_constraint_sql(c, parent(c).as_deref()) {
                    def.push(' ');
                    def.push_str(&text);
                }
            }
            definitions.push(def);
        }
        for c in self.constraints.iter().filter(|c| Self::keeps(adapter, c)) {
            if let Some(text) = adapter.model_constraint_sql(c, parent(c).as_deref()) {
                definitions.push(text);
            }
        }
        adapter.create_table_sql(relation, &definitions)
    }

    /// Fills the table created by [`Contract::create_sql`] from the model's SQL, selecting the
    /// columns in contract order.
    pub fn insert_sql(&self, adapter: &dyn Adapter, relation: &str, sql: &str) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| self.column_sql(adapter, c))
            .collect();
        adapter.contract_insert_sql(relation, &columns, sql)
    }
}

/// dbt's comparison of the declared columns with the model's: the same names (in any order)
/// with the same types. The error is dbt's message with its table of mismatches.
pub fn compare(declared: &[Column], actual: &[Column]) -> Result<(), String> {
    let same = declared.len() == actual.len()
        && actual.iter().all(|a| {
            declared
                .iter()
                .find(|d| d.name == a.name)
                .is_some_and(|d| d.data_type == a.data_type)
        });
    if same {
        return Ok(());
    }
    // (column_name, definition_type, contract_type, mismatch_reason), as dbt lists them
    let mut rows: Vec<[String; 4]> = vec![];
    for a in actual {
        match declared.iter().find(|d| d.name == a.name) {
            Some(d) if d.data_type == a.data_type => {}
            Some(d) => rows.push([
                a.name.clone(),
                a.data_type.clone(),
                d.data_type.clone(),
                "data type mismatch".into(),
            ]),
            None => rows.push([
                a.name.clone(),
                a.data_type.clone(),
                String::new(),
                "missing in contract".into(),
            ]),
        }
    }
    for d in declared {
        if !actual.iter().any(|a| a.name == d.name) {
            rows.push([
                d.name.clone(),
                String::new(),
                d.data_type.clone(),
                "missing in definition".into(),
            ]);
        }
    }
    rows.sort_by(|a, b| a[0].cmp(&b[0]));
    let headers = [
        "column_name",
        "definition_type",
        "contract_type",
        "mismatch_reason",
    ]
    .map(String::from);
    // agate cuts values wider than 50 characters, as dbt prints this table
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.into_iter().map(|v| truncate(&v, 50)).collect())
        .collect();
    Err(format!(
        "This model has an enforced contract that failed.\nPlease ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.\n\n{}",
        text_grid(&headers, &cells, &[false; 4])
    ))
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let kept: String = s.chars().take(width - 3).collect();
    format!("{kept}...")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::DuckDb;
    use crate::project::{ColumnInfo, ResourceType};
    use serde_json::json;

    fn col(name: &str, t: &str) -> Column {
        Column {
            name: name.into(),
            data_type: t.into(),
            comment: None,
        }
    }

    #[test]
    fn mismatches_are_listed_as_dbt_lists_them() {
        let declared = vec![
            col("customer_id", "DATE"),
            col("name", "VARCHAR"),
            col("extra", "INTEGER"),
        ];
        let actual = vec![
            col("customer_id", "INTEGER"),
            col("name", "VARCHAR"),
            col("score", "DECIMAL(2,1)"),
        ];
        insta::assert_snapshot!(compare(&declared, &actual).unwrap_err(), @r"
        This model has an enforced contract that failed.
        Please ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.

        | column_name | definition_type | contract_type | mismatch_reason       |
        | ----------- | --------------- | ------------- | --------------------- |
        | customer_id | INTEGER         | DATE          | data type mismatch    |
        | extra       |                 | INTEGER       | missing in definition |
        | score       | DECIMAL(2,1)    |               | missing in contract   |
        ");
        // the same columns in another order match
        let reordered = vec![actual[1].clone(), col("customer_id", "DATE")];
        assert!(compare(&declared[..2], &reordered).is_ok());
    }

    #[test]
    fn a_contracted_table_is_created_then_filled_in_contract_order() {
        let duck = DuckDb::in_memory();
        let mut node = Node::sample(
            ResourceType::Model,
            "customers",
            json!({"materialized": "table", "contract": {"enforced": true}}),
        );
        let column = |name: &str, t: &str, constraints: serde_json::Value| ColumnInfo {
            name: name.into(),
            data_type: Some(t.into()),
            constraints: constraints.as_array().cloned().unwrap_or_default(),
            ..ColumnInfo::default()
        };
        for c in [
            column(
                "customer_id",
                "int",
                json!([{"type": "not_null"}, {"type": "primary_key"}]),
            ),
            column("name", "string", json!([{"type": "unique"}])),
            column(
                "score",
                "integer",
                json!([{"type": "check", "expression": "score < 100"}]),
            ),
            column(
                "region_id",
                "int",
                json!([{"type": "foreign_key", "to": "ref('regions')", "to_columns": ["id"]}]),
            ),
        ] {
            node.columns.insert(c.name.clone(), c);
        }
        node.constraints = vec![
            json!({"type": "check", "expression": "score >= 0", "name": "score_positive"}),
            json!({"type": "unique", "columns": ["name", "score"]}),
        ];
        let contract = Contract::of(&duck, &node).unwrap();
        assert_eq!(
            contract.declared_sql(&duck),
            "select cast(null as int) as customer_id, cast(null as TEXT) as name, cast(null as integer) as score, cast(null as int) as region_id"
        );
        assert_eq!(contract.foreign_key_parents(), vec!["ref('regions')"]);
        let parents = ForeignKeyTargets::from([(
            "ref('regions')".to_string(),
            "\"main\".\"regions\"".to_string(),
        )]);
        let relation = "\"warehouse\".\"main\".\"customers\"";
        let statements = [
            contract.create_sql(&duck, relation, &parents),
            contract.insert_sql(&duck, relation, "select 1 as customer_id"),
        ];
        // DuckDB enforces every constraint type: no warning
        assert!(contract.constraint_warnings(&duck).is_empty());
        insta::assert_snapshot!(statements.join(";\n"), @r#"
        create table "warehouse"."main"."customers" (
            customer_id int not null primary key,
            name TEXT unique,
            score integer check (score < 100),
            region_id int references "main"."regions" (id),
            constraint score_positive check (score >= 0),
            unique (name, score)
        );
        insert into "warehouse"."main"."customers" (customer_id, name, score, region_id) (
            select customer_id, name, score, region_id
            from (
        select 1 as customer_id
            ) as model_subq
        )
        "#);
        // an engine with dbt's default support leaves check constraints out and says so
        let athena = crate::adapter::Athena::default();
        let warnings = contract.constraint_warnings(&athena);
        assert_eq!(warnings.len(), 5, "{warnings:#?}");
        assert!(
            warnings[0].starts_with("The constraint type primary_key is not enforced by athena.")
        );
        assert!(warnings[2].starts_with(
            "The constraint type check is not supported by athena, and will be ignored."
        ));
        let ddl = contract.create_sql(&athena, "t", &parents);
        assert!(
            !ddl.contains("check") && ddl.contains("primary key"),
            "{ddl}"
        );
        // not enforced, or ephemeral: no contract at build time
        node.config
            .insert("materialized".into(), json!("ephemeral"));
        assert!(Contract::of(&duck, &node).is_none());
    }
}

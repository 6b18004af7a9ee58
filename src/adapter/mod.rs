//! One trait per warehouse. Everything that differs between engines is a method here (or a
//! dispatched macro), never an `if duckdb` elsewhere.
//!
//! [`Adapter`] is the engine as the compiler and the runner see it: quoting, dispatch order, the
//! SQL dialect, what DDL it can do (capabilities with defaults), and [`Adapter::connect`], which
//! opens a [`Connection`]. Each runner worker holds a connection of its own; connections execute
//! statements, return rows (or Arrow batches) and introspect the catalog.

mod athena;
mod cell;
mod duckdb;
mod duckdb_values;
pub mod pool;

pub use athena::Athena;
pub use cell::{Cell, Rows, blob_text, print_table, python_float, show_json, text_grid};
pub use duckdb::{DuckDb, duckdb_type_name, embedded_version as duckdb_version};
pub use pool::Pool;

use crate::jinja::relation::Policy;
use crate::project::SourceNode;
use crate::project::contract::{Constraint, ConstraintKind, ConstraintSupport};
use crate::project::profiles::{EngineTarget, Target};
use std::fmt::{self, Debug};
use std::path::Path;
use std::sync::Arc;

pub use ::duckdb::arrow::record_batch::RecordBatch;

pub trait Adapter: Send + Sync + Debug {
    /// dbt's adapter type name: `duckdb`, `athena`.
    fn adapter_type(&self) -> &'static str;

    /// The character that quotes identifiers.
    fn quote_char(&self) -> char {
        '"'
    }

    /// Quotes one identifier.
    fn quote(&self, identifier: &str) -> String {
        let q = self.quote_char();
        format!("{q}{}{q}", identifier.replace(q, &format!("{q}{q}")))
    }

    /// Which parts of a relation name are quoted unless the project's `quoting:` says otherwise.
    fn default_quote_policy(&self) -> Policy {
        Policy::ALL
    }

    /// Macro prefixes `adapter.dispatch` tries, most specific first (always ending in `default`).
    fn dispatch_prefixes(&self) -> &'static [&'static str];

    /// The sqlparser dialect the engine's SQL is parsed in ([`crate::sql`]: where ephemeral CTEs
    /// go, which statements open and close transactions, command tags). DuckDB has its own;
    /// an engine without one names the closest and says why.
    fn sql_dialect(&self) -> Box<dyn sqlparser::dialect::Dialect>;

    /// How a source whose data lives in files (`external_location`) is read, if the engine reads
    /// files directly; `None` means the source is a table like any other.
    fn external_source_sql(&self, _source: &SourceNode) -> Option<String> {
        None
    }

    // ---- capabilities: what the materializations may rely on ----

    /// DDL (create, drop, rename) can run inside a transaction and roll back with it.
    fn supports_transactional_ddl(&self) -> bool {
        false
    }

    /// Tables and views can be renamed in place.
    fn supports_rename(&self) -> bool {
        true
    }

    /// `grant select on ... to ...` exists.
    fn supports_grants(&self) -> bool {
        false
    }

    /// `comment on table/column` exists (for `persist_docs`).
    fn supports_comments(&self) -> bool {
        true
    }

    // ---- contracts ----

    /// What the engine does with each constraint type; an adapter that does not say gets dbt's
    /// defaults (not null and foreign keys enforced, unique and primary keys in the DDL only,
    /// check constraints left out).
    fn constraint_support(&self, kind: ConstraintKind) -> ConstraintSupport {
        match kind {
            ConstraintKind::Check => ConstraintSupport::NotSupported,
            ConstraintKind::Unique | ConstraintKind::PrimaryKey => ConstraintSupport::NotEnforced,
            ConstraintKind::NotNull | ConstraintKind::ForeignKey | ConstraintKind::Custom => {
                ConstraintSupport::Enforced
            }
        }
    }

    /// A contract's `data_type` through dbt's type aliases (`alias_types`): `string` is the
    /// engine's text type; anything else is used as written.
    fn translate_type(&self, data_type: &str) -> String {
        if data_type.trim().eq_ignore_ascii_case("string") {
            "TEXT".into()
        } else {
            data_type.to_string()
        }
    }

    /// `cast(<expr> as <type>)`.
    fn cast_sql(&self, expr: &str, data_type: &str) -> String {
        format!("cast({expr} as {data_type})")
    }

    /// A query with the columns of `sql` and no rows, cheap to describe.
    fn empty_subquery_sql(&self, sql: &str) -> String {
        format!(
            "select * from (\n{}\n) as __dbt_sbq\nwhere false\nlimit 0",
            sql.trim()
        )
    }

    /// A column-level constraint as DDL after the column's type; `parent` is a foreign key's
    /// resolved `to:` relation.
    fn column_constraint_sql(&self, c: &Constraint, parent: Option<&str>) -> Option<String> {
        let expr = c.expression.as_deref().unwrap_or("").trim();
        let text = match c.kind {
            ConstraintKind::Check if !expr.is_empty() => format!("check ({expr})"),
            ConstraintKind::Check => return None,
            ConstraintKind::NotNull => format!("not null {expr}"),
            ConstraintKind::Unique => format!("unique {expr}"),
            ConstraintKind::PrimaryKey => format!("primary key {expr}"),
            ConstraintKind::ForeignKey => match parent {
                Some(to) if !c.to_columns.is_empty() => {
                    format!("references {to} ({})", c.to_columns.join(", "))
                }
                _ if !expr.is_empty() => format!("references {expr}"),
                _ => return None,
            },
            ConstraintKind::Custom if !expr.is_empty() => expr.to_string(),
            ConstraintKind::Custom => return None,
        };
        Some(text.trim().to_string())
    }

    /// A model-level constraint as a table constraint of the DDL.
    fn model_constraint_sql(&self, c: &Constraint, parent: Option<&str>) -> Option<String> {
        let name = c
            .name
            .as_ref()
            .map_or_else(String::new, |n| format!("constraint {n} "));
        let columns = c.columns.join(", ");
        let expr = c
            .expression
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        let with_expr = expr.map_or_else(String::new, |e| format!(" {e}"));
        Some(match c.kind {
            ConstraintKind::Check => format!("{name}check ({})", expr?),
            ConstraintKind::Unique => format!("{name}unique{with_expr} ({columns})"),
            ConstraintKind::PrimaryKey => format!("{name}primary key{with_expr} ({columns})"),
            ConstraintKind::ForeignKey => match parent {
                Some(to) if !c.to_columns.is_empty() => format!(
                    "{name}foreign key ({columns}) references {to} ({})",
                    c.to_columns.join(", ")
                ),
                _ => format!("{name}foreign key ({columns}) references {}", expr?),
            },
            ConstraintKind::Custom => format!("{name}{}", expr?),
            ConstraintKind::NotNull => return None,
        })
    }

    /// An empty table with column `definitions` (name, type, constraints) and table
    /// constraints, as an enforced contract creates it.
    fn contract_create_sql(&self, relation: &str, definitions: &[String]) -> String {
        format!(
            "create table {relation} (\n    {}\n)",
            definitions.join(",\n    ")
        )
    }

    /// Fills a contracted table from `sql`, its `columns` selected in contract order.
    fn contract_insert_sql(&self, relation: &str, columns: &[String], sql: &str) -> String {
        let list = columns.join(", ");
        format!(
            "insert into {relation} ({list}) (\n    select {list}\n    from (\n{}\n    ) as model_subq\n)",
            sql.trim()
        )
    }

    /// `kiln clone`: the statements that make `target` (rendered) stand for the state's relation
    /// `source` (rendered, of kind `source_kind`) when `existing` is what `target` is now, and
    /// the kind of relation they create: a zero-copy clone of a table where the engine has one,
    /// otherwise a view. `None`: this engine cannot clone.
    fn clone_plan(
        &self,
        _target: &str,
        _source: &str,
        _source_kind: Option<RelationKind>,
        _existing: Option<RelationKind>,
    ) -> Option<(Vec<String>, RelationKind)> {
        None
    }

    // ---- execution ----

    /// Whether this version of kiln can run statements on the engine (Athena: compile only).
    fn can_execute(&self) -> bool {
        true
    }

    /// Opens a connection to the target. The first call opens the database; every later call
    /// gives another connection to it (one per runner worker).
    fn connect(&self) -> Result<Box<dyn Connection>, DbError>;

    /// Lets connections run statements again after [`Adapter::cancel_all`] (which also refuses
    /// every statement started after it, so a cancel that lands between two statements of a
    /// node is not lost).
    fn clear_cancel(&self) {}

    /// Closes the warehouse once every connection is dropped: DuckDB then checkpoints its WAL
    /// and deletes its spill files. Connections opened later reopen it.
    fn close(&self) {}

    /// Interrupts every statement running on any connection of this adapter (Ctrl-C,
    /// `--fail-fast`). Interrupted statements fail with [`DbErrorKind::Cancelled`].
    fn cancel_all(&self);
}

/// What went wrong in the database.
#[derive(Debug, Clone)]
pub struct DbError {
    pub kind: DbErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbErrorKind {
    /// The SQL failed (syntax, types, constraint...).
    Query,
    /// Interrupted by [`Adapter::cancel_all`].
    Cancelled,
    /// The database could not be opened (e.g. another process holds its lock).
    Open,
}

impl DbError {
    pub fn query(message: impl Into<String>) -> Self {
        DbError {
            kind: DbErrorKind::Query,
            message: message.into(),
        }
    }

    pub fn open(message: impl Into<String>) -> Self {
        DbError {
            kind: DbErrorKind::Open,
            message: message.into(),
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A column of a result or a relation.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// The engine's type name, upper case (`INTEGER`, `VARCHAR`, `DECIMAL(18,2)`).
    pub data_type: String,
    pub comment: Option<String>,
}

/// A relation found in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationInfo {
    pub database: String,
    pub schema: String,
    pub identifier: String,
    pub kind: RelationKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    Table,
    View,
}

impl RelationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::Table => "table",
            RelationKind::View => "view",
        }
    }
}

/// Runs one statement through `run`, logging it as dbt does (debug level, so the log file):
/// `SQLQuery` with the text before, `SQLQueryStatus` with the outcome and time after. Engines
/// call it around every statement they send.
pub fn logged<R>(sql: &str, run: impl FnOnce() -> Result<R, DbError>) -> Result<R, DbError> {
    use crate::events::{Event, Level, kinds};
    if !crate::events::enabled(Level::Debug) {
        return run();
    }
    let conn_name = crate::events::current_node().unwrap_or_else(|| "master".into());
    Event::new(kinds::SQL_QUERY, format!("On {conn_name}: {sql}"))
        .with("conn_name", conn_name)
        .with("sql", sql)
        .emit();
    let started = std::time::Instant::now();
    let out = run();
    let elapsed = started.elapsed().as_secs_f64();
    let status = match &out {
        Ok(_) => "OK".to_string(),
        // The error itself is reported with the node that ran the statement.
        Err(_) => "ERROR".to_string(),
    };
    Event::new(
        kinds::SQL_QUERY_STATUS,
        format!("SQL status: {status} in {elapsed:.3} seconds"),
    )
    .with("elapsed", elapsed)
    .with("query_id", "")
    .with("status", status)
    .emit();
    out
}

/// One connection to the warehouse. Catalog methods have defaults written against
/// `information_schema`; an engine overrides what it does differently.
pub trait Connection: Send {
    /// Runs one or more statements, discarding any result.
    fn execute(&mut self, sql: &str) -> Result<(), DbError>;

    /// Runs a query and returns its rows.
    fn query(&mut self, sql: &str) -> Result<Rows, DbError>;

    /// Runs a query and returns its result as Arrow record batches.
    fn query_arrow(&mut self, sql: &str) -> Result<Vec<RecordBatch>, DbError>;

    /// Tables whose foreign keys reference the table `database.schema.identifier`.
    fn foreign_key_children(
        &mut self,
        _database: &str,
        _schema: &str,
        _identifier: &str,
    ) -> Result<Vec<RelationInfo>, DbError> {
        Ok(vec![])
    }

    /// The columns (names and engine type names) a query would return, without running it.
    fn query_columns(&mut self, sql: &str) -> Result<Vec<Column>, DbError> {
        Ok(self.query(sql)?.columns)
    }

    /// The character quoting identifiers on this connection.
    fn quote(&self, identifier: &str) -> String {
        format!("\"{}\"", identifier.replace('"', "\"\""))
    }

    /// The full, quoted name of a relation.
    fn relation_sql(&self, database: &str, schema: &str, identifier: &str) -> String {
        if database.is_empty() {
            format!("{}.{}", self.quote(schema), self.quote(identifier))
        } else {
            format!(
                "{}.{}.{}",
                self.quote(database),
                self.quote(schema),
                self.quote(identifier)
            )
        }
    }

    /// Tables and views in a schema (case-insensitive schema match, as engines fold names).
    fn list_relations(
        &mut self,
        database: &str,
        schema: &str,
    ) -> Result<Vec<RelationInfo>, DbError> {
        let sql = format!(
            "select table_catalog, table_schema, table_name, table_type \
             from information_schema.tables \
             where lower(table_schema) = lower({}){} order by table_name",
            string_literal(schema),
            if database.is_empty() {
                String::new()
            } else {
                format!(
                    " and lower(table_catalog) = lower({})",
                    string_literal(database)
                )
            }
        );
        let rows = self.query(&sql)?;
        Ok(rows
            .rows
            .into_iter()
            .map(|r| {
                let text = |i: usize| r.get(i).map(Cell::to_string).unwrap_or_default();
                RelationInfo {
                    database: text(0),
                    schema: text(1),
                    identifier: text(2),
                    kind: if text(3).to_ascii_uppercase().contains("VIEW") {
                        RelationKind::View
                    } else {
                        RelationKind::Table
                    },
                }
            })
            .collect())
    }

    /// One relation, if it exists (case-insensitive, as the engine resolves names).
    fn get_relation(
        &mut self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<RelationInfo>, DbError> {
        Ok(self
            .list_relations(database, schema)?
            .into_iter()
            .find(|r| r.identifier.eq_ignore_ascii_case(identifier)))
    }

    /// The columns of a relation, in order; empty when it does not exist.
    fn columns(
        &mut self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Vec<Column>, DbError> {
        let sql = format!(
            "select column_name, data_type from information_schema.columns \
             where lower(table_schema) = lower({}) and lower(table_name) = lower({}){} \
             order by ordinal_position",
            string_literal(schema),
            string_literal(identifier),
            if database.is_empty() {
                String::new()
            } else {
                format!(
                    " and lower(table_catalog) = lower({})",
                    string_literal(database)
                )
            }
        );
        Ok(self
            .query(&sql)?
            .rows
            .into_iter()
            .map(|r| Column {
                name: r.first().map(Cell::to_string).unwrap_or_default(),
                data_type: r
                    .get(1)
                    .map(Cell::to_string)
                    .unwrap_or_default()
                    .to_ascii_uppercase(),
                comment: None,
            })
            .collect())
    }

    fn create_schema(&mut self, database: &str, schema: &str) -> Result<(), DbError> {
        let name = if database.is_empty() {
            self.quote(schema)
        } else {
            format!("{}.{}", self.quote(database), self.quote(schema))
        };
        self.execute(&format!("create schema if not exists {name}"))
    }

    fn drop_relation(&mut self, rel: &RelationInfo) -> Result<(), DbError> {
        let name = self.relation_sql(&rel.database, &rel.schema, &rel.identifier);
        self.execute(&format!("drop {} if exists {name}", rel.kind.as_str()))
    }

    fn rename_relation(&mut self, rel: &RelationInfo, new_identifier: &str) -> Result<(), DbError> {
        let name = self.relation_sql(&rel.database, &rel.schema, &rel.identifier);
        let kw = match rel.kind {
            RelationKind::Table => "table",
            RelationKind::View => "view",
        };
        self.execute(&format!(
            "alter {kw} {name} rename to {}",
            self.quote(new_identifier)
        ))
    }
}

/// A SQL string literal.
pub fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The adapter for a target. Nothing is opened until [`Adapter::connect`].
pub fn for_target(target: &Target, project_dir: &Path, target_dir: &Path) -> Arc<dyn Adapter> {
    match &target.engine {
        EngineTarget::DuckDb(t) => Arc::new(DuckDb::new(t.clone(), project_dir, target_dir)),
        EngineTarget::Athena(_) => Arc::new(Athena),
    }
}

/// The adapter for a loaded project's target.
pub fn for_project(project: &crate::project::Project) -> Arc<dyn Adapter> {
    for_target(&project.target, &project.dir, &project.target_dir())
}

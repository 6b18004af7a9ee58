//! One connection to a warehouse, as the runner and rendering use it: statements, queries and
//! the catalog. Catalog methods have defaults written against `information_schema` (ANSI); an
//! engine overrides what it does differently.

use super::{Cell, Rows, StorageCall, string_literal};
use std::fmt;

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
    /// Interrupted by [`super::Adapter::cancel_all`].
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

/// One column of one relation in the warehouse's catalog, as dbt's `get_catalog` returns it
/// (the rows catalog.json is made from).
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogColumn {
    pub database: String,
    pub schema: String,
    pub table: String,
    /// The engine's word for the relation's kind (DuckDB: `BASE TABLE`, `VIEW`).
    pub table_type: String,
    pub table_comment: Option<String>,
    pub table_owner: Option<String>,
    pub column: String,
    /// The column's position, 1-based.
    pub index: i64,
    pub data_type: String,
    pub comment: Option<String>,
    /// The relation's statistics where the catalog keeps them (Glue's table parameters, its
    /// partition keys), the same on each of its columns' rows; catalog.json's `stats`.
    pub table_stats: Vec<CatalogStat>,
}

/// One of a relation's statistics, as catalog.json's `stats` entries hold them.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogStat {
    /// The entry's key and `id` (`num_rows`, `partition_keys`...).
    pub id: String,
    pub label: String,
    pub value: serde_json::Value,
    pub description: String,
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

/// One check of `kiln debug`'s connection test ([`super::Adapter::connection_test`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionCheck {
    /// What was checked: `connection`, or on Athena `work group`, `output location`...
    pub name: String,
    pub ok: bool,
    /// Not tried, because an earlier check failed in a way that fails this one too.
    pub skipped: bool,
    /// What was found, or what failed and what to do.
    pub detail: String,
}

impl ConnectionCheck {
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        ConnectionCheck {
            name: name.into(),
            ok: true,
            skipped: false,
            detail: detail.into(),
        }
    }

    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Self {
        ConnectionCheck {
            name: name.into(),
            ok: false,
            skipped: false,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for ConnectionCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match (self.ok, self.skipped) {
            (true, _) => "OK",
            (false, true) => "SKIPPED",
            (false, false) => "ERROR",
        };
        write!(f, "{}: {status} {}", self.name, self.detail)
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

    /// The output columns of a query as the engine's binder names and types them, without
    /// running it (a STRUCT is one column). By default [`Connection::query_columns`].
    fn bound_columns(&mut self, sql: &str) -> Result<Vec<Column>, DbError> {
        self.query_columns(sql)
    }

    /// The character quoting identifiers on this connection.
    fn quote(&self, identifier: &str) -> String {
        format!("\"{}\"", identifier.replace('"', "\"\""))
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
            catalog_filter("table_catalog", database)
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
            catalog_filter("table_catalog", database)
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

    /// Whether a schema exists (`adapter.check_schema_exists`), case-insensitively.
    fn schema_exists(&mut self, database: &str, schema: &str) -> Result<bool, DbError> {
        let sql = format!(
            "select count(*) from information_schema.schemata \
             where lower(schema_name) = lower({}){}",
            string_literal(schema),
            catalog_filter("catalog_name", database)
        );
        let rows = self.query(&sql)?;
        let count = rows
            .rows
            .first()
            .and_then(|r| r.first())
            .and_then(Cell::as_i64)
            .unwrap_or(0);
        Ok(count > 0)
    }

    /// Every column of every table and view in a schema (`database` empty: any database), in
    /// table and column order: the rows `kiln docs generate` writes catalog.json from. ANSI:
    /// `information_schema`, no comments or owners.
    fn catalog(&mut self, database: &str, schema: &str) -> Result<Vec<CatalogColumn>, DbError> {
        let sql = format!(
            "select t.table_catalog, t.table_schema, t.table_name, t.table_type, \
             c.column_name, c.ordinal_position, c.data_type \
             from information_schema.tables t join information_schema.columns c \
             on c.table_catalog = t.table_catalog and c.table_schema = t.table_schema \
             and c.table_name = t.table_name \
             where lower(t.table_schema) = lower({}){} \
             order by t.table_schema, t.table_name, c.ordinal_position",
            string_literal(schema),
            catalog_filter("t.table_catalog", database)
        );
        Ok(self
            .query(&sql)?
            .rows
            .into_iter()
            .map(|r| {
                let text = |i: usize| r.get(i).map(Cell::to_string).unwrap_or_default();
                CatalogColumn {
                    database: text(0),
                    schema: text(1),
                    table: text(2),
                    table_type: text(3),
                    table_comment: None,
                    table_owner: None,
                    column: text(4),
                    index: r.get(5).and_then(Cell::as_i64).unwrap_or(0),
                    data_type: text(6),
                    comment: None,
                    table_stats: vec![],
                }
            })
            .collect())
    }

    /// Runs a catalog-and-storage operation of a plan (see
    /// [`super::Adapter::supports_catalog_publish`]); engines without them refuse.
    fn storage(&mut self, call: &StorageCall) -> Result<(), DbError> {
        Err(DbError::query(format!(
            "this engine cannot run the plan step '{call}'"
        )))
    }

    fn create_schema(&mut self, database: &str, schema: &str) -> Result<(), DbError> {
        let name = if database.is_empty() {
            self.quote(schema)
        } else {
            format!("{}.{}", self.quote(database), self.quote(schema))
        };
        self.execute(&format!("create schema if not exists {name}"))
    }
}

/// ` and lower(<column>) = lower('<database>')`, or nothing for an engine without databases.
fn catalog_filter(column: &str, database: &str) -> String {
    if database.is_empty() {
        String::new()
    } else {
        format!(" and lower({column}) = lower({})", string_literal(database))
    }
}

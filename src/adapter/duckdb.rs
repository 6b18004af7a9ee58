//! DuckDB (embedded). dbt-duckdb quotes every part of a relation name with double quotes and
//! reads sources configured with `external_location` straight from their files.
//!
//! The database is opened on the first [`Adapter::connect`]; every later connection is a clone of
//! that one (same database, its own transaction state), one per runner worker. DuckDB spills to a
//! temp directory when a query needs more memory than `memory_limit`, so a join bigger than memory
//! slows down instead of failing: kiln always gives it one (the profile's `temp_directory`, else
//! `<target-path>/duckdb_tmp`).

use super::{Adapter, Cell, Column, Connection, DbError, DbErrorKind, RecordBatch, Rows};
use crate::project::SourceNode;
use crate::project::profiles::DuckDbTarget;
use ::duckdb::arrow::array::{
    Array, AsArray, BooleanArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array,
    Int64Array, UInt8Array, UInt16Array, UInt32Array,
};
use ::duckdb::arrow::datatypes::DataType;
use ::duckdb::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
pub struct DuckDb {
    target: Option<DuckDbTarget>,
    temp_directory: Option<PathBuf>,
    state: Mutex<State>,
    /// Set by `cancel_all`: every statement is refused until `clear_cancel`.
    cancelled: Arc<std::sync::atomic::AtomicBool>,
}

#[derive(Default)]
struct State {
    root: Option<::duckdb::Connection>,
    interrupts: Vec<Arc<::duckdb::InterruptHandle>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("open", &self.root.is_some())
            .finish()
    }
}

impl DuckDb {
    pub fn new(target: DuckDbTarget, project_dir: &Path, target_dir: &Path) -> Self {
        let temp_directory = match &target.temp_directory {
            Some(t) => Some(project_dir.join(t)),
            None => Some(target_dir.join("duckdb_tmp")),
        };
        DuckDb {
            target: Some(target),
            temp_directory,
            state: Mutex::new(State::default()),
            cancelled: Arc::default(),
        }
    }

    /// An in-memory database with default settings (tests, `--inline` helpers).
    pub fn in_memory() -> Self {
        DuckDb::default()
    }

    fn open(&self) -> Result<::duckdb::Connection, DbError> {
        let path = self
            .target
            .as_ref()
            .map_or(":memory:", |t| t.path.as_str())
            .to_string();
        let conn = if path == ":memory:" {
            ::duckdb::Connection::open_in_memory()
        } else {
            if let Some(parent) = Path::new(&path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|e| {
                    DbError::open(format!(
                        "cannot create the folder of the DuckDB database {path}: {e}"
                    ))
                })?;
            }
            ::duckdb::Connection::open(&path)
        }
        .map_err(|e| open_error(&path, &e.to_string()))?;
        let mut setup = vec![];
        if let Some(dir) = &self.temp_directory {
            setup.push(format!(
                "set temp_directory = {}",
                super::string_literal(&dir.display().to_string())
            ));
        }
        if let Some(t) = &self.target
            && let Some(m) = &t.memory_limit
        {
            setup.push(format!("set memory_limit = {}", super::string_literal(m)));
        }
        for stmt in &setup {
            conn.execute_batch(stmt).map_err(|e| {
                DbError::open(format!(
                    "DuckDB rejected a setting from profiles.yml ({stmt}): {e}"
                ))
            })?;
        }
        self.apply_settings(&conn)?;
        if let Some(t) = &self.target {
            for ext in &t.extensions {
                let name = match ext {
                    Json::String(s) => s.clone(),
                    Json::Object(m) => m
                        .get("name")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    _ => continue,
                };
                if name.is_empty() {
                    continue;
                }
                let load = format!("load {name}");
                if conn.execute_batch(&load).is_err() {
                    conn.execute_batch(&format!("install {name}; {load}"))
                        .map_err(|e| {
                            DbError::open(format!(
                                "cannot load the DuckDB extension '{name}' listed in profiles.yml: {e}"
                            ))
                        })?;
                }
            }
        }
        Ok(conn)
    }
}

impl DuckDb {
    /// The profile's `settings`, run as `set <name> = <value>` on a connection, as dbt-duckdb
    /// does on each of its cursors: on every connection, because some of them hold per
    /// connection (a `variable <name>` entry sets a DuckDB variable, which a cloned connection
    /// does not inherit). The error names the setting, never its value: a value may be a secret
    /// (the demo's PII key).
    fn apply_settings(&self, conn: &::duckdb::Connection) -> Result<(), DbError> {
        let Some(t) = &self.target else {
            return Ok(());
        };
        for (k, v) in &t.settings {
            let value = match v {
                Json::String(s) => super::string_literal(s),
                other => other.to_string(),
            };
            conn.execute_batch(&format!("set {k} = {value}"))
                .map_err(|e| {
                    DbError::open(format!(
                        "DuckDB rejected the setting `{k}` from profiles.yml: {}",
                        crate::jinja::functions::scrub(&e.to_string())
                    ))
                })?;
        }
        Ok(())
    }
}

/// A clear message for a database that cannot be opened, naming the file and (when DuckDB says)
/// the process holding it.
fn open_error(path: &str, message: &str) -> DbError {
    if message.contains("lock") {
        let holder = message
            .split("Conflicting lock is held in ")
            .nth(1)
            .map(|rest| rest.split(". See also").next().unwrap_or(rest).trim());
        let who = holder.map_or_else(String::new, |h| format!(" (held by {h})"));
        return DbError::open(format!(
            "the DuckDB database {path} is in use by another process{who}; close that process (a DuckDB shell, a notebook, another kiln or dbt run) and try again"
        ));
    }
    DbError::open(format!("cannot open the DuckDB database {path}: {message}"))
}

impl Adapter for DuckDb {
    fn adapter_type(&self) -> &'static str {
        "duckdb"
    }

    fn dispatch_prefixes(&self) -> &'static [&'static str] {
        &["duckdb", "default"]
    }

    fn sql_dialect(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::DuckDbDialect {})
    }

    /// dbt-duckdb's `external_location`: a path or glob, formatted with the table's `name` and
    /// `identifier`; a plain path is quoted as a string literal (DuckDB reads files named that
    /// way), while a function call such as `read_parquet(...)` is used as written.
    fn external_source_sql(&self, source: &SourceNode) -> Option<String> {
        let loc = source.external.as_ref()?.as_str()?;
        let formatted = loc
            .replace("{name}", &source.name)
            .replace("{identifier}", &source.identifier)
            .replace("{source_name}", &source.source_name);
        if formatted.contains('(') {
            Some(formatted)
        } else {
            Some(format!("'{}'", formatted.replace('\'', "''")))
        }
    }

    fn supports_transactional_ddl(&self) -> bool {
        true
    }

    fn connect(&self) -> Result<Box<dyn Connection>, DbError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| DbError::open("the DuckDB connection state is poisoned"))?;
        if state.root.is_none() {
            state.root = Some(self.open()?);
        }
        let conn = state
            .root
            .as_ref()
            .ok_or_else(|| DbError::open("DuckDB is not open"))?
            .try_clone()
            .map_err(|e| DbError::open(format!("cannot open a DuckDB connection: {e}")))?;
        self.apply_settings(&conn)?;
        state.interrupts.retain(|h| Arc::strong_count(h) > 1);
        let handle = conn.interrupt_handle();
        state.interrupts.push(handle.clone());
        Ok(Box::new(DuckDbConnection {
            conn,
            _handle: handle,
            cancelled: self.cancelled.clone(),
        }))
    }

    fn close(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.root = None;
            state.interrupts.clear();
        }
    }

    fn clear_cancel(&self) {
        self.cancelled
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    fn cancel_all(&self) {
        self.cancelled
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(state) = self.state.lock() {
            for h in &state.interrupts {
                h.interrupt();
            }
        }
    }
}

/// One DuckDB connection. It keeps its interrupt handle alive so that [`DuckDb::cancel_all`]
/// knows which handles still belong to open connections.
struct DuckDbConnection {
    conn: ::duckdb::Connection,
    _handle: Arc<::duckdb::InterruptHandle>,
    cancelled: Arc<std::sync::atomic::AtomicBool>,
}

impl DuckDbConnection {
    fn check_cancelled(&self) -> Result<(), DbError> {
        if self.cancelled.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(DbError {
                kind: DbErrorKind::Cancelled,
                message: "cancelled".into(),
            });
        }
        Ok(())
    }
}

fn query_error(e: ::duckdb::Error) -> DbError {
    let message = e.to_string();
    if message.contains("INTERRUPT") || message.contains("Interrupted") {
        return DbError {
            kind: DbErrorKind::Cancelled,
            message: "cancelled".into(),
        };
    }
    DbError::query(message)
}

impl Connection for DuckDbConnection {
    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        // A rollback must still run after a cancel, to undo the cancelled work.
        if !sql.trim().eq_ignore_ascii_case("rollback") {
            self.check_cancelled()?;
        }
        self.conn.execute_batch(sql).map_err(query_error)
    }

    fn query(&mut self, sql: &str) -> Result<Rows, DbError> {
        self.check_cancelled()?;
        let batches = self.query_arrow_with_schema(sql)?;
        Ok(rows_from_arrow(&batches.0, &batches.1))
    }

    fn query_arrow(&mut self, sql: &str) -> Result<Vec<RecordBatch>, DbError> {
        Ok(self.query_arrow_with_schema(sql)?.1)
    }

    /// DuckDB's own catalog functions: several times faster than `information_schema`, which
    /// matters when a run asks thousands of times.
    fn list_relations(
        &mut self,
        database: &str,
        schema: &str,
    ) -> Result<Vec<super::RelationInfo>, DbError> {
        let db = if database.is_empty() {
            String::new()
        } else {
            format!(
                " and lower(database_name) = lower({})",
                super::string_literal(database)
            )
        };
        let schema = super::string_literal(schema);
        let sql = format!(
            "select database_name, schema_name, table_name, 'table' from duckdb_tables() \
             where lower(schema_name) = lower({schema}){db} \
             union all select database_name, schema_name, view_name, 'view' from duckdb_views() \
             where not internal and lower(schema_name) = lower({schema}){db} order by 3"
        );
        Ok(self
            .query(&sql)?
            .rows
            .into_iter()
            .map(|r| {
                let text = |i: usize| r.get(i).map(Cell::to_string).unwrap_or_default();
                super::RelationInfo {
                    database: text(0),
                    schema: text(1),
                    identifier: text(2),
                    kind: if text(3) == "view" {
                        super::RelationKind::View
                    } else {
                        super::RelationKind::Table
                    },
                }
            })
            .collect())
    }

    fn columns(
        &mut self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Vec<Column>, DbError> {
        let db = if database.is_empty() {
            String::new()
        } else {
            format!(
                " and lower(database_name) = lower({})",
                super::string_literal(database)
            )
        };
        let sql = format!(
            "select column_name, data_type, comment from duckdb_columns() \
             where lower(schema_name) = lower({}) and lower(table_name) = lower({}){db} \
             order by column_index",
            super::string_literal(schema),
            super::string_literal(identifier)
        );
        Ok(self
            .query(&sql)?
            .rows
            .into_iter()
            .map(|r| Column {
                name: r.first().map(Cell::to_string).unwrap_or_default(),
                data_type: r.get(1).map(Cell::to_string).unwrap_or_default(),
                comment: match r.get(2) {
                    Some(Cell::Null) | None => None,
                    Some(c) => Some(c.to_string()),
                },
            })
            .collect())
    }
}

impl DuckDbConnection {
    fn query_arrow_with_schema(
        &mut self,
        sql: &str,
    ) -> Result<(::duckdb::arrow::datatypes::SchemaRef, Vec<RecordBatch>), DbError> {
        let trimmed = sql.trim().trim_end_matches(';');
        let mut stmt = self.conn.prepare(trimmed).map_err(query_error)?;
        let arrow = stmt.query_arrow([]).map_err(query_error)?;
        let schema = arrow.get_schema();
        let batches: Vec<RecordBatch> = arrow.collect();
        Ok((schema, batches))
    }
}

/// The engine's name for an Arrow type, as DuckDB prints it.
pub fn duckdb_type_name(t: &DataType) -> String {
    match t {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 => "UTINYINT".into(),
        DataType::UInt16 => "USMALLINT".into(),
        DataType::UInt32 => "UINTEGER".into(),
        DataType::UInt64 => "UBIGINT".into(),
        DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("DECIMAL({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP WITH TIME ZONE".into(),
        DataType::Timestamp(..) => "TIMESTAMP".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Interval(_) | DataType::Duration(_) => "INTERVAL".into(),
        DataType::Binary | DataType::LargeBinary | DataType::FixedSizeBinary(_) => "BLOB".into(),
        DataType::List(f) | DataType::LargeList(f) => {
            format!("{}[]", duckdb_type_name(f.data_type()))
        }
        DataType::Struct(_) => "STRUCT".into(),
        DataType::Map(..) => "MAP".into(),
        DataType::Null => "NULL".into(),
        other => other.to_string().to_ascii_uppercase(),
    }
}

/// Arrow batches as rows of [`Cell`]s: numbers stay numbers; everything else is shown as text
/// the way Arrow formats it (dates, timestamps, decimals, lists).
pub fn rows_from_arrow(
    schema: &::duckdb::arrow::datatypes::SchemaRef,
    batches: &[RecordBatch],
) -> Rows {
    let columns: Vec<Column> = schema
        .fields()
        .iter()
        .map(|f| Column {
            name: f.name().clone(),
            data_type: duckdb_type_name(f.data_type()),
            comment: None,
        })
        .collect();
    let mut rows = vec![];
    let options = FormatOptions::default();
    for batch in batches {
        let n = batch.num_rows();
        let mut cols: Vec<Vec<Cell>> = Vec::with_capacity(batch.num_columns());
        for array in batch.columns() {
            cols.push(cells_of(array.as_ref(), &options, n));
        }
        for i in 0..n {
            rows.push(
                cols.iter_mut()
                    .map(|c| std::mem::replace(&mut c[i], Cell::Null))
                    .collect(),
            );
        }
    }
    Rows { columns, rows }
}

fn cells_of(array: &dyn Array, options: &FormatOptions, n: usize) -> Vec<Cell> {
    macro_rules! ints {
        ($t:ty) => {{
            let a = array.as_any().downcast_ref::<$t>();
            (0..n)
                .map(|i| match a {
                    Some(a) if !a.is_null(i) => Cell::Int(i64::from(a.value(i))),
                    _ => Cell::Null,
                })
                .collect()
        }};
    }
    match array.data_type() {
        DataType::Boolean => {
            let a = array.as_any().downcast_ref::<BooleanArray>();
            (0..n)
                .map(|i| match a {
                    Some(a) if !a.is_null(i) => Cell::Bool(a.value(i)),
                    _ => Cell::Null,
                })
                .collect()
        }
        DataType::Int8 => ints!(Int8Array),
        DataType::Int16 => ints!(Int16Array),
        DataType::Int32 => ints!(Int32Array),
        DataType::Int64 => ints!(Int64Array),
        DataType::UInt8 => ints!(UInt8Array),
        DataType::UInt16 => ints!(UInt16Array),
        DataType::UInt32 => ints!(UInt32Array),
        DataType::Float32 => {
            let a = array.as_any().downcast_ref::<Float32Array>();
            (0..n)
                .map(|i| match a {
                    Some(a) if !a.is_null(i) => Cell::Float(f64::from(a.value(i))),
                    _ => Cell::Null,
                })
                .collect()
        }
        DataType::Float64 => {
            let a = array.as_any().downcast_ref::<Float64Array>();
            (0..n)
                .map(|i| match a {
                    Some(a) if !a.is_null(i) => Cell::Float(a.value(i)),
                    _ => Cell::Null,
                })
                .collect()
        }
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        Cell::Null
                    } else {
                        Cell::Text(a.value(i).to_string())
                    }
                })
                .collect()
        }
        other => {
            let exact = matches!(
                other,
                DataType::Decimal128(..) | DataType::Decimal256(..) | DataType::UInt64
            );
            let Ok(f) = ArrayFormatter::try_new(array, options) else {
                return vec![Cell::Text("?".into()); n];
            };
            (0..n)
                .map(|i| {
                    if array.is_null(i) {
                        Cell::Null
                    } else if exact {
                        Cell::Decimal(f.value(i).to_string())
                    } else {
                        Cell::Text(f.value(i).to_string())
                    }
                })
                .collect()
        }
    }
}

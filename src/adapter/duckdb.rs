//! DuckDB (embedded). dbt-duckdb quotes every part of a relation name with double quotes and
//! reads sources configured with `external_location` straight from their files.
//!
//! The database is opened on the first [`Adapter::connect`]; every later connection is a clone of
//! that one (same database, its own transaction state), one per runner worker. DuckDB spills to a
//! temp directory when a query needs more memory than `memory_limit`, so a join bigger than memory
//! slows down instead of failing: kiln always gives it one (the profile's `temp_directory`, else
//! `<target-path>/duckdb_tmp`).

use super::csv::{CsvFile, CsvTable};
use super::duckdb_extensions::{Extension, Place, explain, read_extensions};
use super::duckdb_values::{DuckType, rows_from_arrow};
use super::registry::InitField;
use super::{
    Adapter, Cell, Column, Connection, DbError, DbErrorKind, RelationKind, Rows, TypeClass,
};
use crate::project::SourceNode;
use crate::project::profiles::{FieldError, TargetDefaults, TargetFields};
use ::duckdb::arrow::datatypes::DataType;
use ::duckdb::arrow::record_batch::RecordBatch;
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What `kiln init` writes for DuckDB (`{name}`: the project's name). Nothing to ask: every
/// field has its default.
pub const INIT_FIELDS: &[InitField] = &[
    InitField {
        key: "path",
        prompt: "database file",
        default: Some("{name}.duckdb"),
    },
    InitField {
        key: "schema",
        prompt: "schema",
        default: Some("main"),
    },
    InitField {
        key: "threads",
        prompt: "threads",
        default: Some("4"),
    },
];

/// A `type: duckdb` target of profiles.yml (dbt-duckdb's settings).
#[derive(Debug, Clone, Deserialize)]
pub struct DuckDbTarget {
    /// The database file, relative to the project directory (or `:memory:`).
    #[serde(default = "default_duckdb_path")]
    pub path: String,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub threads: Option<usize>,
    /// dbt-duckdb's `extensions:` as written: names or `{name, repo}`, read into `install`.
    #[serde(default)]
    pub extensions: Vec<Json>,
    /// `extensions:` read (`DuckDbTarget::read`): installed and loaded when the database opens.
    #[serde(skip)]
    install: Vec<Extension>,
    #[serde(default)]
    pub settings: Map<String, Json>,
    #[serde(default)]
    pub memory_limit: Option<String>,
    #[serde(default)]
    pub temp_directory: Option<String>,
    /// Other databases to attach to every connection (dbt-duckdb's `attach:`).
    #[serde(default)]
    pub attach: Vec<Attachment>,
}

/// One entry of `attach:`: `ATTACH '<path>' AS <alias> (TYPE .., READ_ONLY, SECRET .., ..)`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// A file (relative to the project directory) or a URL DuckDB reads (`s3://`, `md:`, ...).
    pub path: String,
    #[serde(default)]
    pub alias: Option<String>,
    /// The database type (`sqlite`, `postgres`, ...); DuckDB's own when absent.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub read_only: bool,
    /// Further `KEY value` options, written as given.
    #[serde(default)]
    pub options: Map<String, Json>,
}

impl Attachment {
    /// The `ATTACH` statement, as dbt-duckdb writes it.
    fn sql(&self) -> String {
        let mut out = format!("attach if not exists {}", super::string_literal(&self.path));
        if let Some(alias) = &self.alias {
            out.push_str(" as ");
            out.push_str(&quote_identifier(alias));
        }
        let mut options = vec![];
        if let Some(kind) = &self.kind {
            options.push(format!("type {kind}"));
        }
        if self.read_only {
            options.push("read_only".to_string());
        }
        if let Some(secret) = &self.secret {
            options.push(format!("secret {}", quote_identifier(secret)));
        }
        for (k, v) in &self.options {
            let value = match v {
                Json::String(s) => super::string_literal(s),
                other => other.to_string(),
            };
            options.push(format!("{} {value}", k.to_uppercase()));
        }
        if !options.is_empty() {
            out.push_str(&format!(" ({})", options.join(", ")));
        }
        out
    }
}

fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn default_duckdb_path() -> String {
    ":memory:".into()
}

impl DuckDbTarget {
    /// Reads a target's fields; a relative `path` is taken from the project directory.
    pub fn read(fields: &Map<String, Json>, project_dir: &Path) -> Result<Self, FieldError> {
        let mut t: DuckDbTarget =
            serde_json::from_value(Json::Object(fields.clone())).map_err(|e| FieldError {
                message: e.to_string(),
                required: "see the adapter's profile reference for its settings",
            })?;
        t.install = read_extensions(&t.extensions).map_err(|message| FieldError {
            message,
            required: "`extensions:` lists DuckDB extensions to install and load, each a name (`- icu`) or `{name: ..., repo: ...}`",
        })?;
        if t.path != ":memory:" && !t.path.starts_with("md:") {
            let p = Path::new(&t.path);
            if p.is_relative() {
                t.path = project_dir.join(p).display().to_string();
            }
        }
        for a in &mut t.attach {
            // A local file is read from the project directory, as `path` is; URLs as written.
            if !a.path.contains("://") && !a.path.starts_with("md:") && a.path != ":memory:" {
                let p = Path::new(&a.path);
                if p.is_relative() {
                    a.path = project_dir.join(p).display().to_string();
                }
            }
        }
        Ok(t)
    }

    fn defaults(&self) -> TargetDefaults {
        TargetDefaults {
            database: self
                .database
                .clone()
                .unwrap_or_else(|| database_name(&self.path)),
            schema: self.schema.clone().unwrap_or_else(|| "main".into()),
            threads: self.threads,
            details: vec![format!("duckdb path: {}", self.path)],
        }
    }
}

/// DuckDB names a database after its file: `warehouse/dev.duckdb` is `dev`; `:memory:` is `memory`.
fn database_name(path: &str) -> String {
    if path == ":memory:" {
        return "memory".into();
    }
    Path::new(path)
        .file_stem()
        .map_or_else(|| "memory".into(), |s| s.to_string_lossy().into_owned())
}

/// Removes DuckDB's spill files (`duckdb_temp_storage*`, `duckdb_temp_block*`) from `dir`, each
/// logged at debug level; nothing else in the folder is touched.
fn remove_stale_spill_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("duckdb_temp_")
            && entry.file_type().is_ok_and(|t| t.is_file())
            && std::fs::remove_file(entry.path()).is_ok()
        {
            crate::events::Event::note(format!(
                "removed {}, a spill file left by an interrupted run",
                entry.path().display()
            ))
            .at(crate::events::Level::Debug)
            .emit();
        }
    }
}

#[derive(Debug, Default)]
pub struct DuckDb {
    target: Option<DuckDbTarget>,
    temp_directory: Option<PathBuf>,
    /// The project directory, DuckDB's `file_search_path`: a model's relative file path
    /// (`read_csv('data/x.csv')`, a source's `external_location`) is read from the project
    /// directory, as the database `path` is, wherever kiln runs from (kiln's one rule;
    /// dbt-core + dbt-duckdb read both from the working directory, the same place when run from
    /// the project). Globs DuckDB expands from the search path; plain paths each statement
    /// anchors there (`duckdb_paths`), unless the profile sets `file_search_path` itself.
    file_search_path: Option<PathBuf>,
    state: Mutex<State>,
    /// Set by `cancel_all`: every statement is refused until `clear_cancel`.
    cancelled: Arc<std::sync::atomic::AtomicBool>,
}

#[derive(Default)]
struct State {
    root: Option<::duckdb::Connection>,
    /// Where the database looks for extensions, for the hint of an extension it cannot load.
    place: Option<Arc<Place>>,
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
            file_search_path: Some(
                std::path::absolute(project_dir).unwrap_or_else(|_| project_dir.to_path_buf()),
            ),
            state: Mutex::new(State::default()),
            cancelled: Arc::default(),
        }
    }

    /// The adapter of a `type: duckdb` target (the registry's constructor).
    pub fn from_profile(target: TargetFields<'_>) -> Result<Self, FieldError> {
        let t = DuckDbTarget::read(target.fields, target.project_dir)?;
        Ok(DuckDb::new(t, target.project_dir, target.target_dir))
    }

    /// An in-memory database with default settings (tests, `--inline` helpers).
    pub fn in_memory() -> Self {
        DuckDb::default()
    }

    fn open(&self) -> Result<(::duckdb::Connection, Option<Arc<Place>>), DbError> {
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
        if path != ":memory:"
            && let Some(dir) = &self.temp_directory
            && self
                .target
                .as_ref()
                .is_some_and(|t| t.temp_directory.is_none())
        {
            // The database is open, so no other process uses it: spill files in kiln's own
            // temporary folder are left from a process that was killed mid-query (DuckDB removes
            // its own when it closes). A folder the profile names is not kiln's to clear.
            remove_stale_spill_files(dir);
        }
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
        let place = Place::read(&conn).map(Arc::new);
        // DuckDB's Python package (dbt-duckdb's) and CLI link ICU; kiln's bundled DuckDB gets it
        // as an extension, which DuckDB autoloads on a first lookup but not on every path: a
        // nested `x at time zone 'UTC' at time zone 'America/Los_Angeles'` (dbt_date's
        // convert_timezone) fails to bind instead. So when ICU is installed, it is loaded now.
        if let Some(p) = place.as_deref()
            && p.has_installed("icu")
        {
            let _ = conn.execute_batch("load icu");
        }
        if let Some(t) = &self.target {
            for ext in &t.install {
                install_and_load(&conn, ext, place.as_deref())?;
            }
            // Attached databases belong to the database instance: every cloned connection
            // sees them.
            for a in &t.attach {
                conn.execute_batch(&a.sql()).map_err(|e| {
                    DbError::open(format!(
                        "cannot attach {} listed under attach: in profiles.yml: {}",
                        a.alias.as_deref().map_or_else(
                            || format!("'{}'", a.path),
                            |alias| format!("'{}' as {alias}", a.path)
                        ),
                        first_line(&e.to_string())
                    ))
                })?;
            }
        }
        Ok((conn, place))
    }
}

/// Loads a profile's extension, installing it first when it is not installed yet (`install`
/// downloads from DuckDB's repository, the entry's `repo`, or the `custom_extension_repository`
/// setting). The error names the extension and what to do.
fn install_and_load(
    conn: &::duckdb::Connection,
    ext: &Extension,
    place: Option<&Place>,
) -> Result<(), DbError> {
    let load = ext.load_sql();
    if ext.repo.is_none() && conn.execute_batch(&load).is_ok() {
        return Ok(());
    }
    conn.execute_batch(&format!("{}; {load}", ext.install_sql()))
        .map_err(|e| {
            DbError::open(format!(
                "cannot install the DuckDB extension '{}' listed under extensions: in profiles.yml: {}",
                ext.name(),
                explain(&e.to_string(), place)
            ))
        })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

impl DuckDb {
    /// The project directory as `file_search_path` (unless the profile sets it), then the
    /// profile's `settings`, run as `set <name> = <value>` on a connection, as dbt-duckdb
    /// does on each of its cursors: on every connection, because some of them hold per
    /// connection (a `variable <name>` entry sets a DuckDB variable, which a cloned connection
    /// does not inherit). The error names the setting, never its value: a value may be a secret
    /// (the demo's PII key).
    fn apply_settings(&self, conn: &::duckdb::Connection) -> Result<(), DbError> {
        let Some(t) = &self.target else {
            return Ok(());
        };
        if let Some(dir) = &self.file_search_path
            && !t.settings.contains_key("file_search_path")
        {
            let dir = super::string_literal(&dir.display().to_string());
            conn.execute_batch(&format!("set file_search_path = {dir}"))
                .map_err(|e| {
                    DbError::open(format!(
                        "cannot set DuckDB's file_search_path to the project directory {dir}: {e}"
                    ))
                })?;
        }
        for (k, v) in &t.settings {
            let value = match v {
                Json::String(s) => super::string_literal(s),
                other => other.to_string(),
            };
            conn.execute_batch(&format!("set {k} = {value}"))
                .map_err(|e| {
                    DbError::open(format!(
                        "DuckDB rejected the setting `{k}` from profiles.yml: {}",
                        crate::events::scrub(&e.to_string())
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

    fn target_defaults(&self) -> TargetDefaults {
        match &self.target {
            Some(t) => t.defaults(),
            // in memory
            None => TargetDefaults {
                database: database_name(":memory:"),
                schema: "main".into(),
                threads: None,
                details: vec![format!("duckdb path: {}", default_duckdb_path())],
            },
        }
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

    fn supports_transactions(&self) -> bool {
        true
    }

    /// DuckDB renames no table that has foreign keys, and drops no table others reference.
    fn supports_foreign_key_swaps(&self) -> bool {
        false
    }

    fn supports_comments(&self) -> bool {
        true
    }

    /// DuckDB's `create or replace table ... as` is one transaction: the old table is dropped
    /// and the new one created only when it commits, so a failure or a kill (the WAL holds no
    /// commit) leaves the old table.
    fn replace_table_as_sql(&self, relation: &str, sql: &str) -> Option<String> {
        Some(format!(
            "create or replace table {relation} as (\n{}\n)",
            sql.trim()
        ))
    }

    fn supports_clone(&self) -> bool {
        true
    }

    fn supports_build_state(&self) -> bool {
        true
    }

    /// The row count and the sum of every row's hash: a full scan, but one pass of DuckDB's
    /// vectorised hash over the source (milliseconds for millions of rows), and exact where a
    /// newest `loaded_at_field` or a row count would miss an update or a delete.
    fn source_probe_sql(&self, relation: &str) -> Option<String> {
        Some(format!(
            "select count(*)::varchar || ':' || coalesce(sum(hash(kiln_probe)::hugeint), 0)::varchar \
             from {relation} as kiln_probe"
        ))
    }

    fn begin_sql(&self) -> &'static str {
        "begin"
    }

    /// DuckDB has no `with no data`; a query's columns and no rows make the table.
    fn create_empty_table_sql(&self, relation: &str, sql: &str) -> Vec<String> {
        vec![format!(
            "create or replace table {relation} as select * from (\n{}\n) kiln_shape limit 0",
            sql.trim()
        )]
    }

    fn select_no_rows_sql(&self, relation: &str) -> String {
        format!("select * from {relation} limit 0")
    }

    /// DuckDB's `qualify` keeps the first row of each key without adding a column. Only the
    /// rows whose key repeats go through the window: a key seen once passes straight (a hash
    /// aggregate finds the repeated keys, an anti join keeps the rest). Over all rows, DuckDB
    /// turns `row_number() = 1` into an `arg_max` of the whole row, whose sort keys cost
    /// 417 M instructions on `bench/incremental.sh`'s 100,000 new rows, against 113 M this way
    /// (bench/README.md, the plain incremental's profile). DuckDB reads the model's
    /// query once (it materialises a CTE read more than once). Rows whose key is NULL match no key
    /// here: the caller leaves them out first.
    fn dedupe_rows_sql(&self, sql: &str, partition_by: &str, order_by: &str) -> Option<String> {
        Some(format!(
            "with kiln_src as (\n{}\n),\n\
             kiln_repeated as (select {partition_by} from kiln_src group by all having count(*) > 1)\n\
             select kiln_src.* from kiln_src anti join kiln_repeated using ({partition_by})\n\
             union all\n\
             select * from (select kiln_src.* from kiln_src semi join kiln_repeated using ({partition_by})) kiln_dup \
             qualify row_number() over (partition by {partition_by} order by {order_by}) = 1",
            sql.trim()
        ))
    }

    /// `now()` is a TIMESTAMPTZ; its cast is the session's wall-clock time.
    fn current_timestamp_sql(&self) -> String {
        "cast(now() as timestamp)".into()
    }

    fn epoch_seconds_sql(&self, expr: &str) -> String {
        format!("epoch({expr})")
    }

    fn update_from_sql(
        &self,
        target: &str,
        column: &str,
        value: &str,
        source: &str,
        condition: &str,
    ) -> String {
        format!("update {target} as t set {column} = {value} from {source} as s where {condition}")
    }

    fn needs_quotes(&self, identifier: &str) -> bool {
        super::duckdb_csv::needs_quotes(identifier)
    }

    fn load_csv(&self, conn: &mut dyn Connection, csv: &CsvFile<'_>) -> Result<CsvTable, String> {
        super::duckdb_csv::load_csv(conn, csv)
    }

    /// An insert, update, delete or merge returns one `Count` value.
    fn rows_affected(&self, rows: &Rows) -> Option<i64> {
        match (rows.columns.as_slice(), rows.rows.as_slice()) {
            ([c], [r]) if c.name.eq_ignore_ascii_case("count") => r.first().and_then(Cell::as_i64),
            _ => None,
        }
    }

    /// DuckDB's own integer types and aliases, besides the standard names.
    fn type_class(&self, data_type: &str) -> TypeClass {
        let base = super::ansi::base_type(data_type);
        match base.as_str() {
            "hugeint" | "utinyint" | "usmallint" | "uinteger" | "ubigint" | "uhugeint" | "int1"
            | "long" | "short" | "signed" => TypeClass::Integer,
            other => super::ansi::type_class(other),
        }
    }

    /// dbt-duckdb: DuckDB enforces every constraint type.
    fn constraint_support(
        &self,
        _kind: crate::project::contract::ConstraintKind,
    ) -> crate::project::contract::ConstraintSupport {
        crate::project::contract::ConstraintSupport::Enforced
    }

    /// DuckDB has no zero-copy clone: as dbt-duckdb does (`can_clone_table` is false), the
    /// clone is a view over the state's relation, replacing a table of the same name (in one
    /// transaction).
    fn clone_sql(
        &self,
        target: &str,
        source: &str,
        _source_kind: Option<RelationKind>,
        existing: Option<RelationKind>,
    ) -> Option<(Vec<String>, RelationKind)> {
        let view = format!("create or replace view {target} as select * from {source}");
        let statements = match existing {
            Some(RelationKind::Table) => {
                vec![self.drop_relation_sql(RelationKind::Table, target), view]
            }
            _ => vec![view],
        };
        Some((statements, RelationKind::View))
    }

    /// An in-memory DuckDB with the target's settings, extensions and file search path (so a
    /// source read from a file and the PII key variable bind as in the warehouse); each database
    /// a relation names is attached to it in memory ([`Adapter::binder_table_sql`]).
    ///
    /// The scratch database runs on one thread (`threads = 1`): its queries are `DESCRIBE`s and
    /// empty tables, which the session spreads over connections itself; DuckDB's worker pool
    /// would only hand each tiny query to another thread and back (futex waits that cost a
    /// scheduler slice each on a loaded machine).
    fn binder(&self) -> Option<Arc<dyn Adapter>> {
        let target = self.target.as_ref().map(|t| {
            let mut settings = t.settings.clone();
            settings.insert("threads".into(), Json::from(1));
            DuckDbTarget {
                path: ":memory:".into(),
                attach: vec![],
                settings,
                ..t.clone()
            }
        });
        Some(Arc::new(DuckDb {
            target,
            temp_directory: None,
            file_search_path: self.file_search_path.clone(),
            state: Mutex::new(State::default()),
            cancelled: Arc::default(),
        }))
    }

    /// The database file exists (an in-memory database never does before it is opened).
    fn warehouse_exists(&self) -> bool {
        match &self.target {
            Some(t) if t.path == ":memory:" => false,
            Some(t) if t.path.starts_with("md:") => true,
            Some(t) => Path::new(&t.path).exists(),
            None => false,
        }
    }

    /// The database is attached in memory under the relation's database name first.
    fn binder_table_sql(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
        columns: &[Column],
    ) -> Vec<String> {
        let mut out = vec![];
        if !database.is_empty() {
            out.push(format!(
                "attach if not exists ':memory:' as {}",
                self.quote(database)
            ));
        }
        let db = if database.is_empty() {
            String::new()
        } else {
            format!("{}.", self.quote(database))
        };
        let definitions: Vec<String> = columns
            .iter()
            .map(|c| format!("{} {}", self.quote(&c.name), c.data_type))
            .collect();
        out.push(format!(
            "create schema if not exists {db}{}",
            self.quote(schema)
        ));
        out.push(format!(
            "create or replace table {db}{}.{} ({})",
            self.quote(schema),
            self.quote(identifier),
            definitions.join(", ")
        ));
        out
    }

    fn connect(&self) -> Result<Box<dyn Connection>, DbError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| DbError::open("the DuckDB connection state is poisoned"))?;
        if state.root.is_none() {
            let (root, place) = self.open()?;
            state.root = Some(root);
            state.place = place;
        }
        let conn = state
            .root
            .as_ref()
            .ok_or_else(|| DbError::open("DuckDB is not open"))?
            .try_clone()
            .map_err(|e| DbError::open(format!("cannot open a DuckDB connection: {e}")))?;
        // Results as DuckDB holds them: a TIMETZ keeps its offset and a HUGEINT its 39th digit
        // (read back in `duckdb_values`).
        conn.execute_batch("set arrow_lossless_conversion = true")
            .map_err(|e| DbError::open(format!("cannot set up a DuckDB connection: {e}")))?;
        self.apply_settings(&conn)?;
        state.interrupts.retain(|h| Arc::strong_count(h) > 1);
        let handle = conn.interrupt_handle();
        state.interrupts.push(handle.clone());
        let relative_to = self.file_search_path.clone().filter(|_| {
            self.target
                .as_ref()
                .is_some_and(|t| !t.settings.contains_key("file_search_path"))
        });
        Ok(Box::new(DuckDbConnection {
            conn,
            _handle: handle,
            cancelled: self.cancelled.clone(),
            relative_to,
            place: state.place.clone(),
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
    /// The folder relative file paths in statements are read from (the project directory).
    relative_to: Option<PathBuf>,
    /// Where the database looks for extensions (the hint of an extension it cannot autoload).
    place: Option<Arc<Place>>,
}

impl DuckDbConnection {
    /// The statement DuckDB runs: its relative file paths anchored to the project directory.
    fn anchored<'a>(&self, sql: &'a str) -> std::borrow::Cow<'a, str> {
        match &self.relative_to {
            Some(dir) => super::duckdb_paths::anchor_relative_paths(sql, dir),
            None => std::borrow::Cow::Borrowed(sql),
        }
    }
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

/// A statement's error; one about an extension DuckDB could not autoload (`icu` for
/// `timezone()`) says which, what DuckDB tried and what to do.
fn query_error(e: ::duckdb::Error, place: Option<&Place>) -> DbError {
    let message = e.to_string();
    if message.contains("INTERRUPT") || message.contains("Interrupted") {
        return DbError {
            kind: DbErrorKind::Cancelled,
            message: "cancelled".into(),
        };
    }
    DbError::query(explain(&message, place))
}

impl Connection for DuckDbConnection {
    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        // A rollback must still run after a cancel, to undo the cancelled work.
        if !sql.trim().eq_ignore_ascii_case("rollback") {
            self.check_cancelled()?;
        }
        let run = self.anchored(sql);
        let place = self.place.as_deref();
        super::logged(sql, || {
            self.conn
                .execute_batch(&run)
                .map_err(|e| query_error(e, place))
        })
    }

    fn query(&mut self, sql: &str) -> Result<Rows, DbError> {
        self.check_cancelled()?;
        let (schema, batches, types) = self.query_arrow_with_schema(sql)?;
        Ok(rows_from_arrow(&schema, &batches, &types))
    }

    /// From `duckdb_constraints()`: foreign keys name the table they reference, in their own
    /// schema.
    fn foreign_key_children(
        &mut self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Vec<super::RelationInfo>, DbError> {
        let lit = super::string_literal;
        let sql = format!(
            "select distinct database_name, schema_name, table_name from duckdb_constraints() \
             where constraint_type = 'FOREIGN KEY' and lower(referenced_table) = lower({}) \
             and lower(schema_name) = lower({}){} order by 3",
            lit(identifier),
            lit(schema),
            if database.is_empty() {
                String::new()
            } else {
                format!(" and lower(database_name) = lower({})", lit(database))
            }
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
                    kind: super::RelationKind::Table,
                }
            })
            .filter(|c| !c.identifier.eq_ignore_ascii_case(identifier))
            .collect())
    }

    /// `describe (<query>)`: DuckDB plans the query and names its column types without running
    /// it. A STRUCT column counts as its fields (`s.x`, `s.y`), as dbt-duckdb compares them.
    fn query_columns(&mut self, sql: &str) -> Result<Vec<Column>, DbError> {
        let described = self.query(&format!("describe ({})", sql.trim().trim_end_matches(';')))?;
        let mut out = vec![];
        for r in described.rows {
            let name = r.first().map(Cell::to_string).unwrap_or_default();
            let data_type = r.get(1).map(Cell::to_string).unwrap_or_default();
            flatten_struct(&name, &data_type, &mut out);
        }
        Ok(out)
    }

    /// `describe (<query>)`, a STRUCT kept as one column.
    fn bound_columns(&mut self, sql: &str) -> Result<Vec<Column>, DbError> {
        let described = self.query(&format!("describe ({})", sql.trim().trim_end_matches(';')))?;
        Ok(described
            .rows
            .into_iter()
            .map(|r| Column {
                name: r.first().map(Cell::to_string).unwrap_or_default(),
                data_type: r.get(1).map(Cell::to_string).unwrap_or_default(),
                comment: None,
            })
            .collect())
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

    /// `pragma_table_info` of the one relation: DuckDB resolves the name (case-insensitively,
    /// through the search path) and reads that table's entry only. `duckdb_columns()` would
    /// materialise every column of the database to answer for one table, which made each call
    /// O(size of the catalog). No column comments: `catalog()` has them, for catalog.json.
    fn columns(
        &mut self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Vec<Column>, DbError> {
        let name = [database, schema, identifier]
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(quote_identifier)
            .collect::<Vec<_>>()
            .join(".");
        let sql = format!(
            "select name, type from pragma_table_info({}) order by cid",
            super::string_literal(&name)
        );
        let rows = match self.query(&sql) {
            Ok(rows) => rows,
            // No such relation (or schema, or database): no columns, as the catalog would say.
            Err(e)
                if e.message.contains("Catalog Error") && e.message.contains("does not exist") =>
            {
                return Ok(vec![]);
            }
            Err(e) => return Err(e),
        };
        Ok(rows
            .rows
            .into_iter()
            .map(|r| Column {
                name: r.first().map(Cell::to_string).unwrap_or_default(),
                data_type: r.get(1).map(Cell::to_string).unwrap_or_default(),
                comment: None,
            })
            .collect())
    }

    /// dbt-duckdb's catalog query: tables from `duckdb_tables()` (`BASE TABLE`) and views from
    /// `duckdb_views()` (`VIEW`) with their comments, joined to `duckdb_columns()`; no owner.
    fn catalog(
        &mut self,
        database: &str,
        schema: &str,
    ) -> Result<Vec<super::CatalogColumn>, DbError> {
        let lit = super::string_literal;
        let db = |column: &str| {
            if database.is_empty() {
                String::new()
            } else {
                format!(" and upper({column}) = upper({})", lit(database))
            }
        };
        let schema = lit(schema);
        let sql = format!(
            "with tables as (\
               select database_name as table_database, schema_name as table_schema, \
               table_name, 'BASE TABLE' as table_type, comment as table_comment \
               from duckdb_tables() where upper(schema_name) = upper({schema}){t} \
               union all \
               select database_name, schema_name, view_name, 'VIEW', comment \
               from duckdb_views() where upper(schema_name) = upper({schema}){v}), \
             columns as (\
               select database_name as table_database, schema_name as table_schema, table_name, \
               column_name, column_index, data_type as column_type, comment as column_comment \
               from duckdb_columns() where upper(schema_name) = upper({schema}){c}) \
             select table_database, table_schema, table_name, table_type, table_comment, \
             column_name, column_index, column_type, column_comment \
             from tables join columns using (table_database, table_schema, table_name) \
             order by table_schema, table_name, column_index",
            t = db("database_name"),
            v = db("database_name"),
            c = db("database_name"),
        );
        Ok(self
            .query(&sql)?
            .rows
            .into_iter()
            .map(|r| {
                let text = |i: usize| r.get(i).map(Cell::to_string).unwrap_or_default();
                let optional = |i: usize| match r.get(i) {
                    Some(Cell::Null) | None => None,
                    Some(c) => Some(c.to_string()),
                };
                super::CatalogColumn {
                    database: text(0),
                    schema: text(1),
                    table: text(2),
                    table_type: text(3),
                    table_comment: optional(4),
                    table_owner: None,
                    column: text(5),
                    index: r.get(6).and_then(Cell::as_i64).unwrap_or(0),
                    data_type: text(7),
                    comment: optional(8),
                    table_stats: vec![],
                }
            })
            .collect())
    }
}

impl DuckDbConnection {
    /// Runs a query: its Arrow schema and batches, and each column's DuckDB type (which Arrow
    /// blurs: a HUGEINT arrives as a 38-digit decimal).
    fn query_arrow_with_schema(
        &mut self,
        sql: &str,
    ) -> Result<
        (
            ::duckdb::arrow::datatypes::SchemaRef,
            Vec<RecordBatch>,
            Vec<Option<DuckType>>,
        ),
        DbError,
    > {
        let trimmed = sql.trim().trim_end_matches(';');
        let run = self.anchored(trimmed);
        super::logged(trimmed, || {
            let place = self.place.as_deref();
            let mut stmt = self.conn.prepare(&run).map_err(|e| query_error(e, place))?;
            let arrow = stmt.query_arrow([]).map_err(|e| query_error(e, place))?;
            let schema = arrow.get_schema();
            let batches: Vec<RecordBatch> = arrow.collect();
            let types = (0..schema.fields().len().min(stmt.column_count()))
                .map(|i| Some(DuckType::of(&stmt.column_logical_type(i))))
                .collect();
            Ok((schema, batches, types))
        })
    }
}

/// The version of the DuckDB library kiln embeds (`v1.5.5`), as DuckDB reports it.
pub fn embedded_version() -> Option<String> {
    let conn = ::duckdb::Connection::open_in_memory().ok()?;
    conn.query_row("select library_version from pragma_version()", [], |r| {
        r.get::<_, String>(0)
    })
    .ok()
}

/// The engine's name for an Arrow type, as DuckDB prints it.
pub(super) fn duckdb_type_name(t: &DataType) -> String {
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

/// A column, or for a STRUCT each of its fields as `column.field` (nested structs all the way
/// down), as dbt-duckdb flattens them before comparing a contract.
fn flatten_struct(name: &str, data_type: &str, out: &mut Vec<Column>) {
    let inner = data_type.strip_suffix(')').and_then(|t| {
        t.get(..7)
            .filter(|p| p.eq_ignore_ascii_case("STRUCT("))
            .map(|_| &t[7..])
    });
    let Some(inner) = inner else {
        out.push(Column {
            name: name.to_string(),
            data_type: data_type.to_string(),
            comment: None,
        });
        return;
    };
    for field in split_top_level(inner) {
        let field = field.trim();
        let (field_name, field_type) = if let Some(rest) = field.strip_prefix('"') {
            // a quoted name: up to the closing quote (doubled quotes inside)
            let mut name = String::new();
            let mut chars = rest.char_indices().peekable();
            let mut end = rest.len();
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if chars.peek().map(|(_, c)| *c) == Some('"') {
                        name.push('"');
                        chars.next();
                        continue;
                    }
                    end = i + 1;
                    break;
                }
                name.push(c);
            }
            (name, rest[end..].trim().to_string())
        } else {
            match field.split_once(' ') {
                Some((n, t)) => (n.to_string(), t.trim().to_string()),
                None => (field.to_string(), String::new()),
            }
        };
        flatten_struct(&format!("{name}.{field_name}"), &field_type, out);
    }
}

/// Splits a type's field list on the commas outside parentheses and quotes.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = vec![];
    let (mut depth, mut quoted, mut start) = (0usize, false, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structs_flatten_into_their_fields() {
        let mut out = vec![];
        flatten_struct(
            "s",
            "STRUCT(x INTEGER, \"my field\" DECIMAL(10,2), inner STRUCT(a VARCHAR[], b MAP(VARCHAR, INTEGER)))",
            &mut out,
        );
        let got: Vec<String> = out
            .iter()
            .map(|c| format!("{} {}", c.name, c.data_type))
            .collect();
        assert_eq!(
            got,
            vec![
                "s.x INTEGER",
                "s.my field DECIMAL(10,2)",
                "s.inner.a VARCHAR[]",
                "s.inner.b MAP(VARCHAR, INTEGER)"
            ]
        );
        let mut plain = vec![];
        flatten_struct("id", "INTEGER", &mut plain);
        assert_eq!(plain[0].data_type, "INTEGER");
    }
}

//! One trait per warehouse. Everything that differs between engines is a method here (or a
//! dispatched macro), never an `if duckdb` elsewhere.
//!
//! [`Adapter`] is the engine as the compiler, the materializations and the runner see it:
//! quoting, dispatch order, the SQL dialect, what it can do (`supports_*` capabilities with
//! defaults), the text of every statement whose spelling differs between engines, and
//! [`Adapter::connect`], which opens a [`Connection`]. As sqlparser's dialects do, a method's
//! default is the plain (ANSI, or dbt's `default__`) SQL and an engine overrides only what it
//! spells differently; `tests` lists, per capability, exactly which adapters claim it.
//!
//! Each runner worker holds a connection of its own; connections execute statements, return
//! rows and introspect the catalog. Adapters are made from a profile's target by the
//! registry (`registry.rs`: one constructor per engine, which also reads the target's fields).

mod ansi;
mod athena;
/// The AWS client under the Athena adapter (Athena, Glue, S3).
#[cfg(feature = "athena")]
pub mod aws;
mod cell;
mod connection;
pub mod csv;
mod duckdb;
mod duckdb_csv;
mod duckdb_extensions;
mod duckdb_paths;
mod duckdb_values;
pub mod openlineage;
pub mod pool;
mod registry;
pub mod storage;
#[cfg(test)]
mod tests;

pub use athena::{Athena, AthenaTarget};
pub use cell::{Cell, Rows, blob_text, print_table, python_float, show_json, text_grid};
pub use connection::{
    CatalogColumn, CatalogStat, Column, Connection, ConnectionCheck, DbError, DbErrorKind,
    RelationInfo, RelationKind, logged,
};
pub use duckdb::{DuckDb, DuckDbTarget, embedded_version as duckdb_version};
#[cfg(test)]
pub(crate) use duckdb_csv::{
    csv_source as duckdb_csv_source, fill_select as duckdb_csv_fill_select,
    inference_sample as duckdb_csv_inference_sample,
};
pub use pool::{LiveDb, Pool};
pub use registry::{ADAPTERS, ENGINES, INIT, InitField, for_project, for_target, init_fields};
pub use storage::{CatalogName, StorageCall, TableStorage};

use crate::project::SourceNode;
use crate::project::contract::{Constraint, ConstraintKind, ConstraintSupport};
use crate::project::profiles::TargetDefaults;
use std::fmt::Debug;

/// Which parts of a relation name are quoted (or included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub database: bool,
    pub schema: bool,
    pub identifier: bool,
}

impl Policy {
    pub const ALL: Policy = Policy {
        database: true,
        schema: true,
        identifier: true,
    };
}

/// What a column type holds, as dbt's `Column.is_string()`, `is_integer()`, `is_float()`,
/// `is_numeric()` tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeClass {
    Text,
    Integer,
    Float,
    /// Exact decimals (`numeric`, `decimal`).
    Decimal,
    Other,
}

pub trait Adapter: Send + Sync + Debug {
    // ---- the engine ----

    /// dbt's adapter type name: `duckdb`, `athena`.
    fn adapter_type(&self) -> &'static str;

    /// What the engine made of its target: where models go by default, the threads it asks for,
    /// and what `kiln debug` says about where it connects.
    fn target_defaults(&self) -> TargetDefaults;

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

    /// The key under which the engine finds a relation: two relations with the same key are one
    /// table. DuckDB and Athena (Glue) ignore the case of database, schema and table names,
    /// quoted or not, so the default folds it.
    fn relation_key(&self, database: &str, schema: &str, identifier: &str) -> String {
        format!("{database}\u{1f}{schema}\u{1f}{identifier}").to_lowercase()
    }

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

    /// Statements, DDL included, run inside a transaction and roll back with it: plans then
    /// build and swap a relation in one transaction, so a failed or killed build leaves the
    /// previous relation whole. Without it plans hold no `begin`/`commit` at all.
    fn supports_transactions(&self) -> bool {
        false
    }

    /// Tables can be renamed in place (`alter table ... rename to`): a table is built under a
    /// temporary name and renamed in. Without it the temporary table is copied in.
    fn supports_rename(&self) -> bool {
        true
    }

    /// A table can be renamed, or dropped, while foreign keys tie it to other tables. DuckDB
    /// refuses both, so there a table with foreign keys is rebuilt where it stands and the
    /// tables referencing it are set aside meanwhile.
    fn supports_foreign_key_swaps(&self) -> bool {
        true
    }

    /// Connection-local temporary tables (`create temporary table`) hold an incremental step's
    /// new rows. Without them the rows are staged in a table next to the target.
    fn supports_temporary_tables(&self) -> bool {
        true
    }

    /// `grant select on ... to ...` exists.
    fn supports_grants(&self) -> bool {
        false
    }

    /// `comment on table/view/column` exists (for `persist_docs`). It is not ANSI SQL.
    fn supports_comments(&self) -> bool {
        false
    }

    /// `kiln clone` can make a relation stand for another (see [`Adapter::clone_sql`]).
    fn supports_clone(&self) -> bool {
        false
    }

    /// Tables are files under a location, published through a catalog (Athena: S3 and Glue):
    /// a table is built aside under a fresh location of its own and published by one catalog
    /// update ([`StorageCall`]), its previous files deleted only after that, and only inside
    /// the folder kiln owns for it ([`Adapter::table_location`]).
    fn supports_catalog_publish(&self) -> bool {
        false
    }

    /// Whether this version of kiln can run statements on the engine (Athena without its
    /// `athena` cargo feature: compile only).
    fn can_execute(&self) -> bool {
        true
    }

    /// Whether [`Connection::catalog`] reads the warehouse's catalog (`kiln docs generate`'s
    /// catalog.json).
    fn supports_catalog(&self) -> bool {
        self.can_execute()
    }

    // ---- build state: skipping unchanged work (`runner::reuse`) ----

    /// Whether kiln keeps its build state in the warehouse and skips a node whose SQL, config
    /// and inputs are unchanged since its last build there. It needs an exact, cheap probe of a
    /// source table's rows ([`Adapter::source_probe_sql`]) and cheap small writes to the state
    /// table; Athena has neither (a probe is a billed scan of S3 and a state row a new file), so
    /// it rebuilds everything, as dbt does.
    fn supports_build_state(&self) -> bool {
        false
    }

    /// One row with one cell that changes whenever the rows of `relation` (a source: a table
    /// kiln does not build) change: an input's fingerprint. `None`: the engine cannot tell.
    fn source_probe_sql(&self, _relation: &str) -> Option<String> {
        None
    }

    /// Makes the build-state table `relation` if it is missing: one row per built node and
    /// target schema ([`BuildStateRow`]).
    fn build_state_create_sql(&self, relation: &str) -> String {
        format!(
            "create table if not exists {relation} (state_key varchar, unique_id varchar, \
             relation varchar, fingerprint varchar, build_id varchar, columns varchar, \
             status varchar, failures bigint, built_at varchar)"
        )
    }

    /// Reads every row of the build-state table, in [`BuildStateRow`]'s field order.
    fn build_state_read_sql(&self, relation: &str) -> String {
        format!(
            "select state_key, unique_id, relation, fingerprint, build_id, columns, status, \
             failures, built_at from {relation}"
        )
    }

    /// Forgets the rows of `keys` (before their node is rebuilt, and before new rows are
    /// written).
    fn build_state_delete_sql(&self, relation: &str, keys: &[&str]) -> String {
        let keys: Vec<String> = keys.iter().map(|k| string_literal(k)).collect();
        format!(
            "delete from {relation} where state_key in ({})",
            keys.join(", ")
        )
    }

    /// Writes `rows` (their keys deleted first).
    fn build_state_insert_sql(&self, relation: &str, rows: &[BuildStateRow]) -> String {
        let text = |s: &Option<String>| s.as_deref().map_or("null".into(), string_literal);
        let values: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "({}, {}, {}, {}, {}, {}, {}, {}, {})",
                    string_literal(&r.key),
                    string_literal(&r.unique_id),
                    text(&r.relation),
                    text(&r.fingerprint),
                    string_literal(&r.build_id),
                    text(&r.columns),
                    text(&r.status),
                    r.failures.map_or("null".into(), |n| n.to_string()),
                    string_literal(&r.built_at),
                )
            })
            .collect();
        format!("insert into {relation} values {}", values.join(", "))
    }

    // ---- transactions (used only when `supports_transactions`) ----

    fn begin_sql(&self) -> &'static str {
        "start transaction"
    }

    fn commit_sql(&self) -> &'static str {
        "commit"
    }

    fn rollback_sql(&self) -> &'static str {
        "rollback"
    }

    // ---- relations: `relation` is a rendered (quoted) name ----

    /// `create view ... as (<sql>)`.
    fn create_view_sql(&self, relation: &str, sql: &str) -> String {
        format!("create view {relation} as (\n{}\n)", sql.trim())
    }

    /// A view that replaces any view of the same name. Not ANSI, but every engine kiln targets
    /// has `create or replace view`, and it swaps a view atomically.
    fn replace_view_sql(&self, relation: &str, sql: &str) -> String {
        format!("create or replace view {relation} as (\n{}\n)", sql.trim())
    }

    /// `create table ... as (<sql>)`.
    fn create_table_as_sql(&self, relation: &str, sql: &str) -> String {
        format!("create table {relation} as (\n{}\n)", sql.trim())
    }

    /// One statement that replaces the table `relation` with the result of `sql` atomically:
    /// the old table stays whole until the new one is built and committed, so a failed or
    /// killed statement leaves it as it was. `None` (the default, and where the engine has no
    /// such statement) means the table is built under a temporary name and swapped in.
    fn replace_table_as_sql(&self, _relation: &str, _sql: &str) -> Option<String> {
        None
    }

    /// `create table ... as (<sql>)` stored as `storage` says (where the engine's tables say
    /// where and how they are stored; others ignore it).
    fn create_table_as_stored_sql(
        &self,
        relation: &str,
        sql: &str,
        _storage: &TableStorage,
    ) -> String {
        self.create_table_as_sql(relation, sql)
    }

    /// Where a build of the table `schema.identifier` writes its files (`build` names this
    /// build, so each build has a fresh location where the naming allows it), and the folder
    /// kiln owns for the table (everything a delete may touch): `None` for an engine whose
    /// tables are not files ([`Adapter::supports_catalog_publish`]).
    fn table_location(
        &self,
        _schema: &str,
        _identifier: &str,
        _build: &str,
    ) -> Option<TableLocation> {
        None
    }

    /// A connection-local table holding the rows of `sql` (see
    /// [`Adapter::supports_temporary_tables`]); `relation` is its quoted identifier alone.
    fn create_temporary_table_as_sql(&self, relation: &str, sql: &str) -> String {
        format!("create temporary table {relation} as (\n{}\n)", sql.trim())
    }

    /// An empty table with column `definitions` (name, type, constraints) and table
    /// constraints, as an enforced contract or a seed creates it.
    fn create_table_sql(&self, relation: &str, definitions: &[String]) -> String {
        format!(
            "create table {relation} (\n    {}\n)",
            definitions.join(",\n    ")
        )
    }

    /// An empty table with the columns of `sql`, replacing any table of that name (a microbatch
    /// model's first build, before its batches fill it).
    fn create_empty_table_sql(&self, relation: &str, sql: &str) -> Vec<String> {
        vec![
            self.drop_relation_sql(RelationKind::Table, relation),
            format!(
                "create table {relation} as select * from (\n{}\n) kiln_shape where 1 = 0",
                sql.trim()
            ),
        ]
    }

    /// A copy of table `from`'s rows in a new table.
    fn copy_table_sql(&self, relation: &str, from: &str) -> String {
        format!("create table {relation} as select * from {from}")
    }

    /// A copy of table `from`'s rows in a new temporary table.
    fn copy_to_temporary_sql(&self, relation: &str, from: &str) -> String {
        format!("create temporary table {relation} as select * from {from}")
    }

    /// Drops the relation if it exists.
    fn drop_relation_sql(&self, kind: RelationKind, relation: &str) -> String {
        format!("drop {} if exists {relation}", kind.as_str())
    }

    /// Drops a table that must exist.
    fn drop_table_sql(&self, relation: &str) -> String {
        format!("drop table {relation}")
    }

    /// Renames a relation within its schema (see [`Adapter::supports_rename`]).
    fn rename_relation_sql(&self, kind: RelationKind, relation: &str, identifier: &str) -> String {
        format!(
            "alter {} {relation} rename to {}",
            kind.as_str(),
            self.quote(identifier)
        )
    }

    /// A query with the columns of `relation` and no rows.
    fn select_no_rows_sql(&self, relation: &str) -> String {
        format!("select * from {relation} where 1 = 0")
    }

    // ---- columns (`column` unquoted) ----

    fn add_column_sql(&self, relation: &str, column: &str, data_type: &str) -> String {
        format!(
            "alter table {relation} add column {} {data_type}",
            self.quote(column)
        )
    }

    fn drop_column_sql(&self, relation: &str, column: &str) -> String {
        format!("alter table {relation} drop column {}", self.quote(column))
    }

    fn alter_column_type_sql(&self, relation: &str, column: &str, data_type: &str) -> String {
        format!(
            "alter table {relation} alter column {} set data type {data_type}",
            self.quote(column)
        )
    }

    // ---- incremental models (`target` and `source` rendered; keys and columns unquoted) ----

    /// The rows of `sql`, one per `partition_by` key (rendered columns): the first by
    /// `order_by`. `None`: the engine cannot drop duplicates in one query without adding a
    /// column (ANSI has no `qualify`, nor `select * exclude`). The caller leaves out rows whose
    /// key is NULL first (they would be inserted again on every run).
    fn dedupe_rows_sql(&self, _sql: &str, _partition_by: &str, _order_by: &str) -> Option<String> {
        None
    }

    /// delete+insert's delete: the target's rows whose `unique_key` the source holds, narrowed
    /// by `predicates` (written against `DBT_INTERNAL_DEST`).
    fn delete_matching_sql(
        &self,
        target: &str,
        source: &str,
        unique_key: &[String],
        predicates: &[String],
    ) -> String {
        ansi::delete_matching(self, target, source, unique_key, predicates)
    }

    /// `merge into` the target from the source on `unique_key`, updating `columns` of matched
    /// rows and inserting the rest.
    fn merge_sql(
        &self,
        target: &str,
        source: &str,
        unique_key: &[String],
        columns: &[String],
        predicates: &[String],
    ) -> String {
        ansi::merge(self, target, source, unique_key, columns, predicates)
    }

    /// `merge into` with dbt's merge options (conditions per clause, which matched columns are
    /// updated and how). An engine without them runs the plain [`Adapter::merge_sql`].
    #[allow(clippy::too_many_arguments)]
    fn merge_options_sql(
        &self,
        target: &str,
        source: &str,
        unique_key: &[String],
        columns: &[String],
        predicates: &[String],
        _options: &crate::project::settings::incremental::MergeOptions,
    ) -> String {
        self.merge_sql(target, source, unique_key, columns, predicates)
    }

    /// `on_schema_change: sync_all_columns`'s removal of the columns `drop` from `relation`,
    /// `keep` being its columns afterwards and `storage` how it is stored: one
    /// [`Adapter::drop_column_sql`] each by default.
    fn drop_columns_sql(
        &self,
        relation: &str,
        drop: &[String],
        _keep: &[Column],
        _storage: &TableStorage,
    ) -> Vec<String> {
        drop.iter()
            .map(|c| self.drop_column_sql(relation, c))
            .collect()
    }

    /// dbt's `snapshot_merge_sql`: one `merge` of a snapshot's staged change set (`source`,
    /// its rows tagged by `change_type`: `insert`, `update`, `delete`) into the snapshot table:
    /// a current version (`current`, a condition on `DBT_INTERNAL_DEST`) matched by `scd_id`
    /// and staged as an update or a delete gets the staged `valid_to`; a staged insert that
    /// matches nothing is inserted (`columns`, unquoted, as named in both).
    fn snapshot_merge_sql(
        &self,
        target: &str,
        source: &str,
        keys: &SnapshotMergeKeys<'_>,
        columns: &[String],
    ) -> String {
        ansi::snapshot_merge(self, target, source, keys, columns)
    }

    /// insert_overwrite's delete: every partition (`partition_by` values) the source holds.
    fn delete_partitions_sql(&self, target: &str, source: &str, partition_by: &[String]) -> String {
        let parts = ansi::quoted_list(self, partition_by);
        format!("delete from {target} where ({parts}) in (select distinct {parts} from {source})")
    }

    // ---- expressions ----

    /// The current time as a timestamp without time zone (a snapshot's "now", freshness).
    fn current_timestamp_sql(&self) -> String {
        "localtimestamp".into()
    }

    /// A snapshot's meta timestamp (`dbt_valid_from`, `dbt_valid_to`, `dbt_updated_at`) from
    /// the timestamp `expr`, in the type the engine's snapshot tables hold. Where the engine
    /// writes any timestamp, `expr` as it is.
    fn snapshot_time_sql(&self, expr: &str) -> String {
        expr.to_string()
    }

    /// A hash of the text `expr`, as dbt's `default__hash` (md5, hex).
    fn hash_sql(&self, expr: &str) -> String {
        format!("md5({expr})")
    }

    /// The seconds since 1970 of timestamp `expr`.
    fn epoch_seconds_sql(&self, expr: &str) -> String {
        format!("extract(epoch from {expr})")
    }

    /// `cast(<expr> as <type>)`.
    fn cast_sql(&self, expr: &str, data_type: &str) -> String {
        format!("cast({expr} as {data_type})")
    }

    /// Sets `column` of the target's rows (alias `t`) to `value` from the one source row (alias
    /// `s`) that meets `condition`, for the rows that have one. ANSI SQL has no `update ...
    /// from`: the value is a correlated subquery.
    fn update_from_sql(
        &self,
        target: &str,
        column: &str,
        value: &str,
        source: &str,
        condition: &str,
    ) -> String {
        format!(
            "update {target} as t set {column} = (select {value} from {source} as s where {condition}) where exists (select 1 from {source} as s where {condition})"
        )
    }

    // ---- docs and grants ----

    /// `persist_docs` on a relation (see [`Adapter::supports_comments`]).
    fn comment_sql(&self, kind: RelationKind, relation: &str, text: &str) -> String {
        format!(
            "comment on {} {relation} is {}",
            kind.as_str(),
            string_literal(text)
        )
    }

    /// `persist_docs` on a column (`column` unquoted).
    fn column_comment_sql(&self, relation: &str, column: &str, text: &str) -> String {
        format!(
            "comment on column {relation}.{} is {}",
            self.quote(column),
            string_literal(text)
        )
    }

    fn grant_sql(&self, privilege: &str, relation: &str, grantee: &str) -> String {
        format!("grant {privilege} on {relation} to {grantee}")
    }

    // ---- unit tests ----

    /// A unit test's fixture rows as a query: `columns` (quoted) with `types`, each row's
    /// `values` (SQL literals, `null` where the row gives none) cast to its column's type. By
    /// default one `select` per row, joined by `union all` (dbt's `default__` fixture).
    fn fixture_rows_sql(
        &self,
        columns: &[String],
        types: &[String],
        rows: &[Vec<String>],
    ) -> String {
        rows.iter()
            .map(|row| {
                let parts: Vec<String> = row
                    .iter()
                    .zip(columns.iter().zip(types))
                    .map(|(v, (c, t))| format!("{} as {c}", self.cast_sql(v, t)))
                    .collect();
                format!("select {}", parts.join(", "))
            })
            .collect::<Vec<_>>()
            .join("\nunion all\n")
    }

    // ---- seeds ----

    /// Whether a column name must be quoted to be used as written: anything but a plain
    /// identifier, and keywords. By default every keyword sqlparser knows counts (quoting one
    /// more name than needed is harmless).
    fn needs_quotes(&self, identifier: &str) -> bool {
        !ansi::is_plain_identifier(identifier) || ansi::is_keyword(identifier)
    }

    /// Reads a seed's CSV file on `conn`: the type of each column (inferred, or checked against
    /// `column_types`), the row count, and the query that reads the rows with those types.
    /// Errors are messages for the seed's error line. ANSI SQL has no CSV reader: an engine
    /// loads seeds only if it overrides this.
    fn load_csv(
        &self,
        _conn: &mut dyn Connection,
        _csv: &csv::CsvFile<'_>,
    ) -> Result<csv::CsvTable, String> {
        Err(format!(
            "kiln cannot load seeds into {} yet",
            self.adapter_type()
        ))
    }

    /// A table over CSV files already in storage (a seed's, uploaded under `location`): text
    /// columns named as the header names them, the header line skipped. `None`: the engine
    /// reads seeds another way ([`Adapter::load_csv`]'s query).
    fn csv_table_sql(
        &self,
        _relation: &str,
        _columns: &[String],
        _location: &str,
        _delimiter: char,
    ) -> Option<String> {
        None
    }

    // ---- results ----

    /// How many rows a statement changed, from what it returned (`rows_affected`); `None`
    /// when the engine does not say.
    fn rows_affected(&self, _rows: &Rows) -> Option<i64> {
        None
    }

    /// What a column of type `data_type` (as the catalog names it) holds.
    fn type_class(&self, data_type: &str) -> TypeClass {
        ansi::type_class(&ansi::base_type(data_type))
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
        ansi::column_constraint(c, parent)
    }

    /// A model-level constraint as a table constraint of the DDL.
    fn model_constraint_sql(&self, c: &Constraint, parent: Option<&str>) -> Option<String> {
        ansi::model_constraint(c, parent)
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
    /// otherwise a view. `None` unless [`Adapter::supports_clone`]. Several statements run in
    /// one transaction where the engine has them.
    fn clone_sql(
        &self,
        _target: &str,
        _source: &str,
        _source_kind: Option<RelationKind>,
        _existing: Option<RelationKind>,
    ) -> Option<(Vec<String>, RelationKind)> {
        None
    }

    // ---- the binder (compile-time lineage and checks) ----

    /// A scratch database of this engine, for its binder: the session creates the upstream
    /// relations in it as empty tables ([`Adapter::binder_table_sql`]) and asks the columns of
    /// each model's compiled query ([`Connection::bound_columns`]) without reading data or
    /// touching the warehouse. `None` when the engine has none (Athena: its catalog is Glue).
    fn binder(&self) -> Option<std::sync::Arc<dyn Adapter>> {
        None
    }

    /// Whether the column lineage reads built relations' columns from [`Connection::catalog`],
    /// one listing per schema kept for the compile (a remote catalog such as Glue, where a call
    /// per relation costs a round trip), rather than [`Connection::columns`] relation by
    /// relation. The first listing that fails (no network, no credentials) ends the asking for
    /// that compile: the lineage then uses what YAML declares.
    fn lineage_reads_catalog(&self) -> bool {
        false
    }

    /// Whether the warehouse exists already, so that asking it for columns creates nothing (an
    /// embedded engine's database file). Remote warehouses always exist.
    fn warehouse_exists(&self) -> bool {
        true
    }

    /// In the binder's database: the statements that create `database.schema.identifier` with
    /// `columns` (names and types) and no rows, its schema first. ANSI: `create schema if not
    /// exists`, then `create table`.
    fn binder_table_sql(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
        columns: &[Column],
    ) -> Vec<String> {
        let db = if database.is_empty() {
            String::new()
        } else {
            format!("{}.", self.quote(database))
        };
        let definitions: Vec<String> = columns
            .iter()
            .map(|c| format!("{} {}", self.quote(&c.name), c.data_type))
            .collect();
        vec![
            format!("create schema if not exists {db}{}", self.quote(schema)),
            format!(
                "create table {db}{}.{} ({})",
                self.quote(schema),
                self.quote(identifier),
                definitions.join(", ")
            ),
        ]
    }

    // ---- execution ----

    /// `kiln debug`'s connection test: each thing checked, with what was found or what failed
    /// (one failure does not hide the others). By default: open a connection and run
    /// `select 1`; an engine with more to check (Athena: the work group, the query result
    /// location, the Glue catalog, the staging bucket) says so here.
    fn connection_test(&self) -> Vec<ConnectionCheck> {
        match self.connect().and_then(|mut c| c.query("select 1 as ok")) {
            Ok(_) => vec![ConnectionCheck::pass("connection", "connection ok")],
            Err(e) => vec![ConnectionCheck::fail("connection", e.message)],
        }
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

/// The names [`Adapter::snapshot_merge_sql`] matches and sets by (unquoted), and the condition
/// that a row of the snapshot (`DBT_INTERNAL_DEST`) is its key's current version.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotMergeKeys<'a> {
    pub scd_id: &'a str,
    pub valid_to: &'a str,
    pub change_type: &'a str,
    pub current: &'a str,
}

/// Where one build of a table writes its files, and the folder kiln owns for the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLocation {
    /// `s3://bucket/.../` (with its trailing `/`).
    pub location: String,
    /// The folder holding every build of the table; `location` is inside it.
    pub owned: String,
    /// Whether each build gets a fresh location (the naming ends in `_unique`), so a new
    /// version can be built while the previous one is still read.
    pub unique: bool,
    /// Whether `owned` may also hold other relations' files (a naming without the schema puts
    /// the same table name of two schemas in one folder; `unique` naming owns only the build's
    /// own folder): then files no table reads are not swept from it.
    pub shared: bool,
}

/// One row of the build-state table: what a node's last successful build in this schema was
/// built from (`fingerprint`: its SQL, config and inputs; `None` when it is never reused, e.g.
/// a snapshot) and the id downstream nodes fingerprint it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildStateRow {
    pub key: String,
    pub unique_id: String,
    pub relation: Option<String>,
    pub fingerprint: Option<String>,
    pub build_id: String,
    /// The relation's columns and types as built (`name type, ...`).
    pub columns: Option<String>,
    /// A test's status (`pass`), reused with it.
    pub status: Option<String>,
    pub failures: Option<i64>,
    pub built_at: String,
}

/// A SQL string literal.
pub fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

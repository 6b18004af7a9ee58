//! Tables that are files under a location, published through a catalog (Athena: S3 and Glue).
//!
//! On such an engine a table is not replaced in a transaction: kiln builds the new version
//! aside, under a location of its own, then publishes it with one catalog update, and deletes
//! the previous version's files only after that ([`StorageCall`]). The `create table as`
//! statement says where and how the files are written ([`TableStorage`]).

use std::fmt;

/// How a `create table as` stores its table: what the model's config asks for (dbt-athena's
/// `table_type`, `format`, `partitioned_by`, `bucketed_by`, `bucket_count`,
/// `write_compression`, `field_delimiter`, `table_properties`) and the location the plan chose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableStorage {
    /// Where the files go (`s3://bucket/path/`), chosen by the plan.
    pub location: Option<String>,
    /// An Iceberg table (`table_type: iceberg`) rather than a Hive one.
    pub iceberg: bool,
    /// `format` (`parquet` unless the config says otherwise).
    pub format: Option<String>,
    /// Hive: partition columns; Iceberg: partition transforms (`day(ts)`, `bucket(id, 16)`).
    pub partitioned_by: Vec<String>,
    pub bucketed_by: Vec<String>,
    pub bucket_count: Option<u64>,
    pub write_compression: Option<String>,
    pub field_delimiter: Option<String>,
    /// Further `with (...)` properties, as written.
    pub table_properties: Vec<(String, String)>,
}

/// A relation by schema and identifier, unquoted (the catalog's names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogName {
    pub schema: String,
    pub identifier: String,
}

impl fmt::Display for CatalogName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.identifier)
    }
}

/// One catalog-and-storage operation of a plan, run by the connection
/// ([`super::Connection::storage`]) rather than sent as SQL. `owned` is always the folder kiln
/// owns for the relation (`s3://bucket/root/schema/table/`): nothing outside it is ever deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageCall {
    /// Completes or rolls back what an interrupted build of `target` left: its `__ha`,
    /// `__bkp` and `__dbt_tmp` tables (a staged table the target already points at was
    /// published: its catalog entry goes; any other was not: it goes with its files), and files
    /// under `owned` that no table points at. Refuses to touch a `target` whose data lies
    /// outside `owned` (a table kiln did not create).
    Recover {
        target: CatalogName,
        owned: String,
        /// Whether files no table reads are deleted from `owned` (only where it holds no other
        /// relation's files).
        sweep: bool,
    },
    /// Publishes `staged` as `target`: one catalog update points `target` at the staged
    /// table's data and definition (or creates it), then the staged entry is removed, then the
    /// previous version's files are deleted if they lie inside `owned`.
    Publish {
        staged: CatalogName,
        target: CatalogName,
        owned: String,
    },
    /// Drops `target` from the catalog, then deletes its files if they lie inside `owned`.
    Drop { target: CatalogName, owned: String },
    /// Replaces the partitions of the Hive table `target` that the rows of `stage` touch
    /// (`insert_overwrite`): for each, the folder its location and values name (and the one
    /// its catalog entry names, if another) is emptied, only inside `owned`, and its rows are
    /// inserted from `stage` (`columns`), at most 100 partitions per insert (Athena's write
    /// limit). `target_sql` and `stage_sql` are the relations as SQL names them; `window` a
    /// microbatch's `(event_time column, start, end)`, which narrows the rows; `storage` how
    /// the target's files are written (format, compression), for the partitions built aside.
    OverwritePartitions {
        target: CatalogName,
        stage: CatalogName,
        target_sql: String,
        stage_sql: String,
        owned: String,
        columns: Vec<String>,
        window: Option<(String, String, String)>,
        storage: Box<TableStorage>,
    },
    /// `kiln erase` on a partitioned Hive table: only the partitions holding a row that meets
    /// `condition` (a subject's) are rewritten. First, files under the table's location that
    /// no partition reads (what an interrupted erasure left, which may hold subjects' rows)
    /// are deleted; then, at most 100 partitions at a time, their rows that do not meet
    /// `condition` are written by a `create table as` of `stage` (stored as `storage` says,
    /// partitioned as the catalog says `target` is) into a new folder inside the table's
    /// location, each partition's catalog entry is pointed at its rewritten folder in one
    /// update (or removed when no row is left), the stage's entry goes, and last the
    /// partitions' previous folders, only inside `owned`. A crash leaves each partition at its
    /// previous version or its new one; the rerun deletes what no partition reads and
    /// rewrites the rest.
    ErasePartitions {
        target: CatalogName,
        stage: CatalogName,
        target_sql: String,
        stage_sql: String,
        owned: String,
        condition: String,
        storage: Box<TableStorage>,
    },
    /// `persist_docs`: writes `description` into the catalog entry of `target` (the table's
    /// `Description` and its `comment` parameter) and each `(column, description)` into that
    /// column's `Comment`, keeping the rest of its definition; nothing is written when the
    /// catalog holds these already.
    Describe {
        target: CatalogName,
        description: Option<String>,
        columns: Vec<(String, String)>,
    },
    /// Deletes all but the newest `keep` versions of the catalog's definition of `target`
    /// (dbt-athena's `versions_to_keep`); the data is not touched.
    ExpireVersions { target: CatalogName, keep: u32 },
    /// Uploads the local `file` as the object `key` (a full `s3://` address), which must lie
    /// inside `owned` (a seed's CSV file, under the seed's own folder).
    Upload {
        file: String,
        key: String,
        owned: String,
    },
}

impl fmt::Display for StorageCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageCall::Recover {
                target,
                owned,
                sweep,
            } => {
                let what = if *sweep { ", unread files swept" } else { "" };
                write!(f, "kiln: recover {target} (owned {owned}{what})")
            }
            StorageCall::Publish {
                staged,
                target,
                owned,
            } => write!(f, "kiln: publish {staged} as {target} (owned {owned})"),
            StorageCall::Drop { target, owned } => {
                write!(f, "kiln: drop {target} (owned {owned})")
            }
            StorageCall::OverwritePartitions {
                target,
                stage,
                owned,
                window,
                ..
            } => {
                let within = window
                    .as_ref()
                    .map_or(String::new(), |(c, s, e)| format!(", {c} in [{s}, {e})"));
                write!(
                    f,
                    "kiln: overwrite the partitions of {target} that {stage} holds{within} (owned {owned})"
                )
            }
            StorageCall::ErasePartitions { target, owned, .. } => write!(
                f,
                "kiln: erase the subjects' rows from the partitions of {target} that hold them (owned {owned})"
            ),
            StorageCall::Describe {
                target,
                description,
                columns,
            } => {
                let what = match (description.is_some(), columns.len()) {
                    (true, 0) => "the relation".to_string(),
                    (true, n) => format!("the relation and {n} columns"),
                    (false, n) => format!("{n} columns"),
                };
                write!(f, "kiln: describe {target} ({what})")
            }
            StorageCall::ExpireVersions { target, keep } => {
                write!(f, "kiln: expire catalog versions of {target} (keep {keep})")
            }
            StorageCall::Upload { file, key, owned } => {
                write!(f, "kiln: upload {file} to {key} (owned {owned})")
            }
        }
    }
}

/// The suffixes of the tables a build of `t` stages beside it (dbt-athena's names), which
/// [`StorageCall::Recover`] looks for.
pub const STAGED_SUFFIXES: [&str; 3] = ["__ha", "__bkp", "__dbt_tmp"];

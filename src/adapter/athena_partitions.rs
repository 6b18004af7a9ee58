//! What `insert_overwrite` (athena_overwrite.rs) and `kiln erase` (athena_erase.rs) share when
//! they replace a batch of a partitioned Hive table's partitions: a query's rows and Glue's
//! entries as partition values, the batch written into a fresh folder by a partitioned CTAS,
//! the previous folders to delete, and the publish ([`Publish`]): Glue's entries pointed at the
//! new folders, the stage's entry dropped, the previous folders deleted, in that order.

use super::{AthenaConnection, debug, delete_guard, failpoint};
use crate::adapter::athena::incremental::{NULL_PARTITION, partition_path};
use crate::adapter::aws::{GlueTable, S3Location};
use crate::adapter::{Adapter, Cell, DbError, Rows, TableStorage};
use aws_sdk_glue::types::Partition;
use std::collections::BTreeMap;

/// A query's rows as partition values (NULL as `None`), as `select distinct` gives them.
pub(super) fn partition_values(rows: &Rows) -> Vec<Vec<Option<String>>> {
    rows.rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Cell::Null => None,
                    c => Some(c.to_string()),
                })
                .collect()
        })
        .collect()
}

/// Partition values as Glue keeps them (NULL as Hive's default partition name).
pub(super) fn glue_values(values: &[Option<String>]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.clone().unwrap_or_else(|| NULL_PARTITION.into()))
        .collect()
}

/// A Glue partition's values (Hive's default partition name as `None`).
pub(super) fn values_of(p: &Partition) -> Vec<Option<String>> {
    p.values()
        .iter()
        .map(|v| (v != NULL_PARTITION).then(|| v.clone()))
        .collect()
}

/// Glue's partitions of a table, by their values.
pub(super) fn by_values(parts: Vec<Partition>) -> BTreeMap<Vec<String>, Partition> {
    parts
        .into_iter()
        .map(|p| (p.values().to_vec(), p))
        .collect()
}

/// A table's data folder as Glue names it.
pub(super) fn table_location(t: &GlueTable) -> Result<Option<S3Location>, DbError> {
    t.location()
        .map(S3Location::parse)
        .transpose()
        .map_err(DbError::from)
}

/// A partition's folder as Glue names it.
pub(super) fn partition_location(p: &Partition) -> Result<Option<S3Location>, DbError> {
    p.storage_descriptor()
        .and_then(|s| s.location())
        .map(S3Location::parse)
        .transpose()
        .map_err(DbError::from)
}

/// The previous folders of a batch's partitions, to delete once the batch is published: of
/// each partition the one the table's location and the values name, and the one its previous
/// catalog entry named; only those kiln may delete ([`delete_guard`]: inside the owned folder)
/// and that do not hold the partition's new folder, each once.
pub(super) struct OldFolders<'a> {
    location: &'a S3Location,
    keys: &'a [String],
    owned: &'a S3Location,
    pub folders: Vec<S3Location>,
}

impl<'a> OldFolders<'a> {
    pub(super) fn new(
        location: &'a S3Location,
        keys: &'a [String],
        owned: &'a S3Location,
    ) -> OldFolders<'a> {
        OldFolders {
            location,
            keys,
            owned,
            folders: vec![],
        }
    }

    /// The partition of `values` now reads `new` (`None`: it is removed); `previous` is its
    /// catalog entry before.
    pub(super) fn add(
        &mut self,
        values: &[Option<String>],
        previous: Option<&Partition>,
        new: Option<&S3Location>,
    ) -> Result<(), DbError> {
        let mut old = vec![self.location.join(&partition_path(self.keys, values))];
        if let Some(p) = previous {
            old.extend(partition_location(p)?);
        }
        for f in old {
            if new.is_some_and(|n| n.is_within(&f)) || self.folders.contains(&f) {
                continue;
            }
            match delete_guard(&f, self.owned) {
                Ok(()) => self.folders.push(f),
                Err(why) => debug(&format!("kiln keeps {f}: {why}")),
            }
        }
        Ok(())
    }
}

/// One batch of rewritten partitions to publish, and the failpoints after its steps.
pub(super) struct Publish<'a> {
    /// The table's Glue database and name (lower case).
    pub schema: &'a str,
    pub name: &'a str,
    /// Entries pointed at their new folders (`BatchUpdatePartition`).
    pub replaced: &'a [Partition],
    /// New entries (`BatchCreatePartition`).
    pub added: &'a [Partition],
    /// Entries of partitions left without rows (`BatchDeletePartition`).
    pub removed: &'a [Partition],
    /// The table the batch was built in (database, name): its entry is dropped, its files are
    /// the table's partitions now.
    pub stage: (&'a str, &'a str),
    /// The previous folders, deleted last, and the folder kiln owns for the table.
    pub old: &'a [S3Location],
    pub owned: &'a S3Location,
    /// The failpoints after the partitions are published, after the stage's entry is dropped
    /// and after the old folders are deleted.
    pub failpoints: [Option<&'static str>; 3],
}

impl AthenaConnection {
    /// `create table <table_sql> ... as <select>`: a Hive table partitioned by `keys` whose
    /// files go into `folder`, otherwise stored as `storage` says.
    pub(super) fn create_partitions_in(
        &mut self,
        table_sql: &str,
        select: &str,
        keys: &[String],
        folder: &S3Location,
        storage: &TableStorage,
    ) -> Result<(), DbError> {
        let storage = TableStorage {
            location: Some(folder.to_string()),
            iceberg: false,
            partitioned_by: keys.to_vec(),
            ..storage.clone()
        };
        self.execute_sql(
            &super::super::Athena::default()
                .create_table_as_stored_sql(table_sql, select, &storage),
        )
    }

    /// Publishes a batch ([`Publish`]): its partitions in Glue (replaced, added, removed),
    /// then the stage's entry dropped, then the old folders deleted.
    pub(super) fn publish_partitions(&mut self, p: &Publish<'_>) -> Result<(), DbError> {
        let [published, dropped, deleted] = p.failpoints;
        let after = |step: Option<&str>| {
            if let Some(step) = step {
                failpoint(step);
            }
        };
        self.client
            .update_partitions(p.schema, p.name, p.replaced)
            .map_err(DbError::from)?;
        self.client
            .create_partitions(p.schema, p.name, p.added)
            .map_err(DbError::from)?;
        self.client
            .delete_partitions(p.schema, p.name, p.removed)
            .map_err(DbError::from)?;
        after(published);
        self.client
            .delete_table(p.stage.0, p.stage.1)
            .map_err(DbError::from)?;
        after(dropped);
        self.client
            .delete_folders(p.old, p.owned)
            .map_err(DbError::from)?;
        after(deleted);
        Ok(())
    }
}

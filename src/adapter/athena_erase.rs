//! `kiln erase` on a partitioned Hive table: only the partitions that hold a subject's rows are
//! rewritten ([`super::super::storage::StorageCall::ErasePartitions`]).
//!
//! Nothing readers see is removed before its replacement is written: the kept rows of a batch
//! of partitions are written first, by a `create table as` of a stage into a new folder inside
//! the table's own location (`<location>/kiln-erase-<id>/<key>=<value>/`, so a later build's
//! sweep of the owned folder keeps them); then each partition's Glue entry is pointed at its
//! new folder by one `BatchUpdatePartition` entry (a partition left without rows is removed);
//! then the stage's entry goes and, last, the partitions' previous folders. A crash leaves
//! every partition at its previous version or its new one. The files of the previous version
//! (which hold the subjects' rows) or of an unpublished stage are then read by no partition:
//! the rerun deletes every file under the table's location that no partition reads before
//! anything else, and rewrites what still holds subjects.

use super::partitions::{
    OldFolders, Publish, by_values, glue_values, partition_location, partition_values,
};
use super::{AthenaConnection, debug, delete_guard, failpoint, owned_location};
use crate::adapter::athena::incremental::{
    PARTITION_WRITE_LIMIT, distinct_partitions_sql, partition_filter,
};
use crate::adapter::aws::S3Location;
use crate::adapter::storage::{CatalogName, TableStorage};
use crate::adapter::{Connection, DbError};

/// The arguments of one erasure ([`super::super::storage::StorageCall::ErasePartitions`]).
pub struct ErasePartitions<'a> {
    pub target: &'a CatalogName,
    pub stage: &'a CatalogName,
    pub target_sql: &'a str,
    pub stage_sql: &'a str,
    pub owned: &'a str,
    pub condition: &'a str,
    pub storage: &'a TableStorage,
}

impl AthenaConnection {
    pub(super) fn erase_partitions(&mut self, e: &ErasePartitions<'_>) -> Result<(), DbError> {
        let owned = owned_location(e.owned)?;
        let schema = e.target.schema.to_lowercase();
        let name = e.target.identifier.to_lowercase();
        let (keys, location) = self.partitioned_table(
            e.target,
            &owned,
            "so kiln erases its subjects by rebuilding the whole table",
        )?;
        let parts = self
            .client
            .get_partitions(&schema, &name)
            .map_err(DbError::from)?;
        // What no partition reads under the table's location: an interrupted erasure's stage,
        // or the previous folders of partitions it had already pointed elsewhere.
        let read: Vec<S3Location> = parts
            .iter()
            .filter_map(|p| p.storage_descriptor().and_then(|s| s.location()))
            .map(S3Location::parse)
            .collect::<Result<_, _>>()
            .map_err(DbError::from)?;
        match delete_guard(&location, &owned) {
            Ok(()) => {
                self.client
                    .delete_prefix_except(&location, &read)
                    .map_err(DbError::from)?;
            }
            Err(why) => debug(&format!("kiln keeps the unread files of {location}: {why}")),
        }
        // The partitions holding subjects.
        let holding = format!("{} where {}", e.target_sql, e.condition);
        let rows = self.query(&distinct_partitions_sql(&holding, &keys, None))?;
        let touched = partition_values(&rows);
        debug(&format!(
            "kiln: {} partition(s) of {} hold subjects",
            touched.len(),
            e.target
        ));
        let existing = by_values(parts);
        for batch in touched.chunks(PARTITION_WRITE_LIMIT) {
            let folder = location.join(&format!("kiln-erase-{}/", uuid::Uuid::new_v4()));
            let select = format!(
                "select *\nfrom {}\nwhere (\n    {}\n)\nand not coalesce({}, false)",
                e.target_sql,
                partition_filter(&keys, batch),
                e.condition
            );
            self.create_partitions_in(e.stage_sql, &select, &keys, &folder, e.storage)?;
            failpoint("erase-staged");
            let stage_schema = e.stage.schema.to_lowercase();
            let stage_name = e.stage.identifier.to_lowercase();
            let staged = by_values(
                self.client
                    .get_partitions(&stage_schema, &stage_name)
                    .map_err(DbError::from)?,
            );
            let (mut updates, mut removed) = (vec![], vec![]);
            let mut old = OldFolders::new(&location, &keys, &owned);
            for values in batch {
                let v = glue_values(values);
                let new = staged.get(&v);
                let previous = existing.get(&v);
                let new_loc = new.map(partition_location).transpose()?.flatten();
                old.add(values, previous, new_loc.as_ref())?;
                match (new, previous) {
                    (Some(p), _) => updates.push(p.clone()),
                    (None, Some(p)) => removed.push(p.clone()),
                    (None, None) => {}
                }
            }
            // (the stage's partitions are the target's now: only its catalog entry goes)
            self.publish_partitions(&Publish {
                schema: &schema,
                name: &name,
                replaced: &updates,
                added: &[],
                removed: &removed,
                stage: (&stage_schema, &stage_name),
                old: &old.folders,
                owned: &owned,
                failpoints: [Some("erase-repointed"), None, None],
            })?;
        }
        Ok(())
    }
}

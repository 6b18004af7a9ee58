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

use super::{AthenaConnection, debug, delete_guard, failpoint, owned_location};
use crate::adapter::athena::incremental::{
    NULL_PARTITION, PARTITION_WRITE_LIMIT, distinct_partitions_sql, partition_filter,
    partition_path,
};
use crate::adapter::aws::S3Location;
use crate::adapter::storage::{CatalogName, TableStorage};
use crate::adapter::{Adapter, Cell, Connection, DbError};
use std::collections::BTreeMap;

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
        let touched: Vec<Vec<Option<String>>> = rows
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Cell::Null => None,
                        c => Some(c.to_string()),
                    })
                    .collect()
            })
            .collect();
        debug(&format!(
            "kiln: {} partition(s) of {} hold subjects",
            touched.len(),
            e.target
        ));
        let existing: BTreeMap<Vec<String>, _> = parts
            .into_iter()
            .map(|p| (p.values().to_vec(), p))
            .collect();
        let glue_values = |values: &[Option<String>]| -> Vec<String> {
            values
                .iter()
                .map(|v| v.clone().unwrap_or_else(|| NULL_PARTITION.into()))
                .collect()
        };
        for batch in touched.chunks(PARTITION_WRITE_LIMIT) {
            let folder = location.join(&format!("kiln-erase-{}/", uuid::Uuid::new_v4()));
            let storage = TableStorage {
                location: Some(folder.to_string()),
                iceberg: false,
                partitioned_by: keys.clone(),
                ..e.storage.clone()
            };
            let select = format!(
                "select *\nfrom {}\nwhere (\n    {}\n)\nand not coalesce({}, false)",
                e.target_sql,
                partition_filter(&keys, batch),
                e.condition
            );
            self.execute_sql(&super::super::Athena::default().create_table_as_stored_sql(
                e.stage_sql,
                &select,
                &storage,
            ))?;
            failpoint("erase-staged");
            let stage_schema = e.stage.schema.to_lowercase();
            let stage_name = e.stage.identifier.to_lowercase();
            let staged: BTreeMap<Vec<String>, _> = self
                .client
                .get_partitions(&stage_schema, &stage_name)
                .map_err(DbError::from)?
                .into_iter()
                .map(|p| (p.values().to_vec(), p))
                .collect();
            let (mut updates, mut removed, mut folders) = (vec![], vec![], vec![]);
            for values in batch {
                let v = glue_values(values);
                let new = staged.get(&v);
                let new_loc = new
                    .and_then(|p| p.storage_descriptor())
                    .and_then(|s| s.location())
                    .map(S3Location::parse)
                    .transpose()
                    .map_err(DbError::from)?;
                // the previous folders: the one the location and the values name, and the
                // one the catalog entry names
                let mut old = vec![location.join(&partition_path(&keys, values))];
                if let Some(p) = existing.get(&v) {
                    if let Some(l) = p.storage_descriptor().and_then(|s| s.location()) {
                        old.push(S3Location::parse(l).map_err(DbError::from)?);
                    }
                    if new.is_none() {
                        removed.push(p.clone());
                    }
                }
                if let Some(p) = new {
                    updates.push(p.clone());
                }
                for f in old {
                    let holds_new = new_loc.as_ref().is_some_and(|n| n.is_within(&f) || *n == f);
                    match delete_guard(&f, &owned) {
                        Ok(()) if !holds_new && !folders.contains(&f) => folders.push(f),
                        Ok(()) => {}
                        Err(why) => debug(&format!("kiln keeps {f}: {why}")),
                    }
                }
            }
            self.client
                .update_partitions(&schema, &name, &updates)
                .map_err(DbError::from)?;
            self.client
                .delete_partitions(&schema, &name, &removed)
                .map_err(DbError::from)?;
            failpoint("erase-repointed");
            // (the stage's partitions are the target's now: only its catalog entry goes)
            self.client
                .delete_table(&stage_schema, &stage_name)
                .map_err(DbError::from)?;
            self.client
                .delete_folders(&folders, &owned)
                .map_err(DbError::from)?;
        }
        Ok(())
    }
}

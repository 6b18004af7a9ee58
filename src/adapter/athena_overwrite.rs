//! `insert_overwrite` on a Hive table, and the batched rewrite of a CTAS that wrote too many
//! partitions: the steps of the Athena connection that replace partitions.
//!
//! The new rows are already staged in a table of their own (`<t>__dbt_tmp`, under the folder
//! kiln owns for `t`) when [`AthenaConnection::overwrite_partitions`] starts, so nothing old
//! is deleted before the new data is safely written. Then, at most
//! [`PARTITION_WRITE_LIMIT`] partitions at a time: each partition's folder (from the table's
//! location and the partition's values, so files a dropped catalog entry left behind go too,
//! dbt-athena PR #1895; and the folder its catalog entry names, when another inside the owned
//! folder) is emptied, its catalog entry removed, and one `insert` writes the batch's rows,
//! which registers the partitions again. A failure between a batch's delete and its insert
//! leaves those partitions empty until the next run rebuilds them; never duplicated.

use super::{AthenaConnection, debug, delete_guard, failpoint, owned_location, refuse_foreign};
use crate::adapter::athena::incremental::{
    Ctas, NULL_PARTITION, PARTITION_WRITE_LIMIT, Window, distinct_partitions_sql,
    insert_partitions_sql, partition_filter, partition_path,
};
use crate::adapter::aws::S3Location;
use crate::adapter::storage::CatalogName;
use crate::adapter::{Cell, Connection, DbError};
use std::collections::BTreeMap;

/// What Athena says when one statement writes more partitions than it allows.
const TOO_MANY_PARTITIONS: &str = "TOO_MANY_OPEN_PARTITIONS";

/// The arguments of one overwrite ([`super::super::storage::StorageCall::OverwritePartitions`]).
pub struct Overwrite<'a> {
    pub target: &'a CatalogName,
    pub stage: &'a CatalogName,
    pub target_sql: &'a str,
    pub stage_sql: &'a str,
    pub owned: &'a str,
    pub columns: &'a [String],
    pub window: Option<&'a (String, String, String)>,
}

impl AthenaConnection {
    pub(super) fn overwrite_partitions(&mut self, o: &Overwrite<'_>) -> Result<(), DbError> {
        let owned = owned_location(o.owned)?;
        failpoint("built");
        let schema = o.target.schema.to_lowercase();
        let name = o.target.identifier.to_lowercase();
        let table = self
            .table(&o.target.schema, &o.target.identifier)?
            .ok_or_else(|| DbError::query(format!("Glue has no table {}", o.target)))?;
        refuse_foreign(o.target, &table, &owned)?;
        let keys: Vec<String> = table
            .partition_keys()
            .iter()
            .map(|k| k.to_string())
            .collect();
        if keys.is_empty() {
            return Err(DbError::query(format!(
                "{} has no partitions in Glue, so insert_overwrite has nothing to replace; rebuild it with --full-refresh so it is created with partitioned_by",
                o.target
            )));
        }
        let location = table
            .location()
            .map(S3Location::parse)
            .transpose()
            .map_err(DbError::from)?
            .ok_or_else(|| DbError::query(format!("Glue gives {} no location", o.target)))?;
        let window = o.window.map(|(column, start, end)| Window {
            column: column.clone(),
            start: start.clone(),
            end: end.clone(),
        });
        // The partitions the new rows touch.
        let rows = self.query(&distinct_partitions_sql(
            o.stage_sql,
            &keys,
            window.as_ref(),
        ))?;
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
            "kiln: {} partition(s) of {} to overwrite from {}",
            touched.len(),
            o.target,
            o.stage
        ));
        if touched.is_empty() {
            return Ok(());
        }
        // The catalog's entries, by values (NULL is Hive's default partition name).
        let existing: BTreeMap<Vec<String>, _> = self
            .client
            .get_partitions(&schema, &name)
            .map_err(DbError::from)?
            .into_iter()
            .map(|p| (p.values().to_vec(), p))
            .collect();
        for batch in touched.chunks(PARTITION_WRITE_LIMIT) {
            let mut entries = vec![];
            let mut folders: Vec<S3Location> = vec![];
            for values in batch {
                // the folder the location and the values name, whatever Glue lists
                let mut mine = vec![location.join(&partition_path(&keys, values))];
                let glue_values: Vec<String> = values
                    .iter()
                    .map(|v| v.clone().unwrap_or_else(|| NULL_PARTITION.into()))
                    .collect();
                if let Some(p) = existing.get(&glue_values) {
                    if let Some(l) = p.storage_descriptor().and_then(|s| s.location()) {
                        mine.push(S3Location::parse(l).map_err(DbError::from)?);
                    }
                    entries.push(p.clone());
                }
                for f in mine {
                    match delete_guard(&f, &owned) {
                        Ok(()) if !folders.contains(&f) => folders.push(f),
                        Ok(()) => {}
                        Err(why) => debug(&format!("kiln keeps {f}: {why}")),
                    }
                }
            }
            self.client
                .delete_folders(&folders, &owned)
                .map_err(DbError::from)?;
            self.client
                .delete_partitions(&schema, &name, &entries)
                .map_err(DbError::from)?;
            failpoint("overwrite-emptied");
            let filter = partition_filter(&keys, batch);
            self.execute_sql(&insert_partitions_sql(
                o.target_sql,
                o.stage_sql,
                o.columns,
                &filter,
                window.as_ref(),
            ))?;
            failpoint("overwrite-inserted");
        }
        Ok(())
    }

    /// Runs `sql`; a kiln CTAS of a partitioned Hive table that Athena refused for writing
    /// more than 100 partitions is run again in batches (dbt-athena's recipe): its rows into
    /// an unpartitioned table beside it, then the CTAS with the first 100 partitions and one
    /// insert per further 100, then that table dropped.
    pub(super) fn execute_batched(&mut self, sql: &str) -> Result<(), DbError> {
        let err = match self.execute_sql(sql) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let Some(ctas) = Ctas::parse(sql) else {
            return Err(err);
        };
        let keys = ctas.partitioned_by();
        let location = ctas.property("external_location");
        let (false, Some(location), true) = (
            keys.is_empty(),
            location,
            err.message.contains(TOO_MANY_PARTITIONS),
        ) else {
            return Err(err);
        };
        let relation = ctas.relation.clone();
        let Some((prefix, last)) = relation.rsplit_once('.') else {
            return Err(err);
        };
        let identifier = last.trim_matches('"').replace("\"\"", "\"");
        let schema = prefix
            .rsplit_once('.')
            .map_or(prefix, |(_, s)| s)
            .trim_matches('"')
            .replace("\"\"", "\"");
        let base = identifier
            .strip_suffix(crate::adapter::storage::STAGED_SUFFIXES[0])
            .unwrap_or(&identifier)
            .to_string();
        let tmp_name = format!("{base}__dbt_tmp");
        if ctas.select.contains(&tmp_name) {
            return Err(err);
        }
        debug(&format!(
            "kiln: {relation} writes more than {PARTITION_WRITE_LIMIT} partitions; writing them in batches"
        ));
        let out = S3Location::parse(&location).map_err(DbError::from)?;
        // What the refused statement may have written goes first (a CTAS is never re-run
        // into a folder that is not empty, dbt-adapters#1739). Athena refuses a CTAS into a
        // folder that is not empty, so all it holds is what the refused statement wrote (and
        // kiln's CTAS always writes into a fresh folder of this build).
        self.client
            .delete_prefix(&out, &out)
            .map_err(DbError::from)?;
        if let Some(t) = self.table(&schema, &identifier)?
            && t.location()
                .map(S3Location::parse)
                .transpose()
                .ok()
                .flatten()
                == Some(out.clone())
        {
            self.client
                .delete_table(&schema.to_lowercase(), &identifier.to_lowercase())
                .map_err(DbError::from)?;
        }
        let tmp_location = format!("{}-unpartitioned/", location.trim_end_matches('/'));
        let tmp_sql = format!(
            "{prefix}.{}",
            crate::adapter::athena::incremental::quote(&tmp_name)
        );
        let tmp = CatalogName {
            schema: schema.clone(),
            identifier: tmp_name.clone(),
        };
        let tmp_loc = S3Location::parse(&tmp_location).map_err(DbError::from)?;
        self.drop_table(&tmp, &tmp_location)?;
        self.execute_sql(&ctas.unpartitioned(&tmp_sql, &tmp_location))?;
        let result = self.write_batches(&ctas, &keys, &tmp_sql);
        // The unpartitioned copy goes, whatever happened.
        let dropped = self.drop_table(&tmp, &tmp_location);
        self.client
            .delete_prefix(&tmp_loc, &tmp_loc)
            .map_err(DbError::from)?;
        result?;
        dropped
    }

    fn write_batches(&mut self, ctas: &Ctas, keys: &[String], tmp: &str) -> Result<(), DbError> {
        let rows = self.query(&distinct_partitions_sql(tmp, keys, None))?;
        let values: Vec<Vec<Option<String>>> = rows
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
        for (i, batch) in values.chunks(PARTITION_WRITE_LIMIT).enumerate() {
            let filter = partition_filter(keys, batch);
            // (the unpartitioned copy has the select's columns, in its order)
            let select = format!("select * from {tmp}\nwhere {filter}");
            if i == 0 {
                self.execute_sql(&ctas.with(&ctas.properties, &select))?;
            } else {
                self.execute_sql(&format!("insert into {}\n{select}", ctas.relation))?;
            }
        }
        Ok(())
    }
}

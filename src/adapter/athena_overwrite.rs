//! `insert_overwrite` on a Hive table, and the batched rewrite of a CTAS that wrote too many
//! partitions: the steps of the Athena connection that replace partitions.
//!
//! The new rows are already staged in a table of their own (`<t>__dbt_tmp`, under the folder
//! kiln owns for `t`) when [`AthenaConnection::overwrite_partitions`] starts, so nothing old
//! is deleted before the new data is safely written. Then, at most
//! [`PARTITION_WRITE_LIMIT`] partitions at a time, each partition is built aside and published
//! as a table is:
//!
//! 1. built aside: one `create table <t>__kiln_parts` partitioned as `t`, its rows those of the
//!    batch's partitions, under a fresh folder inside `t`'s location
//!    (`kiln-<build>-<batch>/`), which readers of `t` never read (a partitioned table reads
//!    only its partitions' folders) (failpoint `overwrite-built`);
//! 2. published: each of `t`'s partitions is pointed at its new folder in Glue
//!    (`BatchUpdatePartition`, one partition atomically; `BatchCreatePartition` for a new one)
//!    (`overwrite-published`);
//! 3. the side table's Glue entry dropped, its files kept: they are `t`'s partitions now
//!    (`overwrite-staged-dropped`);
//! 4. last, the old partition folders deleted (the folder the partition's old Glue entry
//!    named, and the one `t`'s location and the values name, so files a dropped catalog entry
//!    left behind go too, dbt-athena PR #1895), only inside the owned folder
//!    (`overwrite-old-deleted`).
//!
//! A crash or failure at any step leaves each partition at its old folder or its new one,
//! never empty and never both; the next run's recover ([`AthenaConnection::recover_parts`])
//! deletes an unpublished side table's folders, or the old folders of a published one, and
//! the side table's entry. Partitions the new rows do not touch are kept (dbt-athena's
//! `insert_overwrite`).

use super::partitions::{
    OldFolders, Publish, by_values, partition_location, partition_values, table_location, values_of,
};
use super::{AthenaConnection, debug, delete_guard, failpoint, owned_location, refuse_foreign};
use crate::adapter::athena::incremental::{
    Ctas, PARTITION_WRITE_LIMIT, Window, distinct_partitions_sql, partition_filter, partition_path,
    partitions_select_sql, quote,
};
use crate::adapter::aws::S3Location;
use crate::adapter::storage::CatalogName;
use crate::adapter::{Connection, DbError, TableStorage};
use std::collections::BTreeMap;

/// What Athena says when one statement writes more partitions than it allows.
const TOO_MANY_PARTITIONS: &str = "TOO_MANY_OPEN_PARTITIONS";

/// The suffix of the table one batch of partitions is built aside in.
pub const PARTS_SUFFIX: &str = "__kiln_parts";

/// The arguments of one overwrite ([`super::super::storage::StorageCall::OverwritePartitions`]).
pub struct Overwrite<'a> {
    pub target: &'a CatalogName,
    pub stage: &'a CatalogName,
    pub target_sql: &'a str,
    pub stage_sql: &'a str,
    pub owned: &'a str,
    pub columns: &'a [String],
    pub window: Option<&'a (String, String, String)>,
    pub storage: &'a TableStorage,
}

impl AthenaConnection {
    /// Glue's entry of a partitioned Hive table kiln owns (inside `owned`): its partition keys
    /// and its location. A table without partitions is an error ending with `unpartitioned`
    /// (what to do instead).
    pub(super) fn partitioned_table(
        &mut self,
        target: &CatalogName,
        owned: &S3Location,
        unpartitioned: &str,
    ) -> Result<(Vec<String>, S3Location), DbError> {
        let table = self
            .table(&target.schema, &target.identifier)?
            .ok_or_else(|| DbError::query(format!("Glue has no table {target}")))?;
        refuse_foreign(target, &table, owned)?;
        let keys: Vec<String> = table
            .partition_keys()
            .iter()
            .map(|k| k.to_string())
            .collect();
        if keys.is_empty() {
            return Err(DbError::query(format!(
                "{target} has no partitions in Glue, {unpartitioned}"
            )));
        }
        let location = table_location(&table)?
            .ok_or_else(|| DbError::query(format!("Glue gives {target} no location")))?;
        Ok((keys, location))
    }

    pub(super) fn overwrite_partitions(&mut self, o: &Overwrite<'_>) -> Result<(), DbError> {
        let owned = owned_location(o.owned)?;
        failpoint("built");
        let schema = o.target.schema.to_lowercase();
        let name = o.target.identifier.to_lowercase();
        let (keys, location) = self.partitioned_table(
            o.target,
            &owned,
            "so insert_overwrite has nothing to replace; rebuild it with --full-refresh so it is created with partitioned_by",
        )?;
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
        let touched = partition_values(&rows);
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
        let existing = by_values(
            self.client
                .get_partitions(&schema, &name)
                .map_err(DbError::from)?,
        );
        let side = CatalogName {
            schema: o.target.schema.clone(),
            identifier: format!("{}{PARTS_SUFFIX}", o.target.identifier),
        };
        let side_name = side.identifier.to_lowercase();
        let side_sql = match o.target_sql.rsplit_once('.') {
            Some((prefix, _)) => format!("{prefix}.{}", quote(&side.identifier)),
            None => quote(&side.identifier),
        };
        // the table's columns, its partition columns last (as a partitioned CTAS wants them)
        let is_key = |c: &String| keys.iter().any(|k| k.eq_ignore_ascii_case(c));
        let cols: Vec<String> = o
            .columns
            .iter()
            .filter(|c| !is_key(c))
            .chain(&keys)
            .cloned()
            .collect();
        let build = uuid::Uuid::new_v4();
        for (i, batch) in touched.chunks(PARTITION_WRITE_LIMIT).enumerate() {
            // 1. built aside, under a fresh folder of the table's
            let aside = location.join(&format!("kiln-{build}-{i}/"));
            let select = partitions_select_sql(
                o.stage_sql,
                &cols,
                &partition_filter(&keys, batch),
                window.as_ref(),
            );
            self.create_partitions_in(&side_sql, &select, &keys, &aside, o.storage)?;
            failpoint("overwrite-built");
            let built = self
                .client
                .get_partitions(&schema, &side_name)
                .map_err(DbError::from)?;
            // 2. published: each partition repointed (or registered) in Glue; 3. the side
            // table's entry goes, its files are the table's partitions now; 4. the old
            // folders, last
            let (replaced, added): (Vec<_>, Vec<_>) = built
                .iter()
                .cloned()
                .partition(|p| existing.contains_key(p.values()));
            let mut old = OldFolders::new(&location, &keys, &owned);
            for p in &built {
                old.add(
                    &values_of(p),
                    existing.get(p.values()),
                    partition_location(p)?.as_ref(),
                )?;
            }
            self.publish_partitions(&Publish {
                schema: &schema,
                name: &name,
                replaced: &replaced,
                added: &added,
                removed: &[],
                stage: (&schema, &side_name),
                old: &old.folders,
                owned: &owned,
                failpoints: [
                    Some("overwrite-published"),
                    Some("overwrite-staged-dropped"),
                    Some("overwrite-old-deleted"),
                ],
            })?;
        }
        Ok(())
    }

    /// What an interrupted overwrite left of `target` (its `__kiln_parts` side table): the
    /// folders of partitions not yet published are deleted, and of published ones the folder
    /// `target`'s location and the values name (the old data's); then the side table's entry.
    pub(super) fn recover_parts(
        &mut self,
        target: &CatalogName,
        owned: &S3Location,
    ) -> Result<(), DbError> {
        let side = format!("{}{PARTS_SUFFIX}", target.identifier).to_lowercase();
        let schema = target.schema.to_lowercase();
        let Some(t) = self.table(&target.schema, &side)? else {
            return Ok(());
        };
        debug(&format!(
            "kiln: rolling back or completing {}.{side}, left by an interrupted insert_overwrite",
            target.schema
        ));
        let table = self.table(&target.schema, &target.identifier)?;
        let keys: Vec<String> = t.partition_keys().iter().map(|k| k.to_string()).collect();
        let location = table.as_ref().map(table_location).transpose()?.flatten();
        let live: BTreeMap<Vec<String>, Option<S3Location>> = match &table {
            Some(_) => self
                .client
                .get_partitions(&schema, &target.identifier.to_lowercase())
                .map_err(DbError::from)?
                .iter()
                .map(|p| Ok((p.values().to_vec(), partition_location(p)?)))
                .collect::<Result<_, DbError>>()?,
            None => BTreeMap::new(),
        };
        let mut folders = vec![];
        for p in self
            .client
            .get_partitions(&schema, &side)
            .map_err(DbError::from)?
        {
            let here = partition_location(&p)?;
            let published = here.is_some() && live.get(p.values()) == Some(&here);
            let gone = if published {
                // the old data's folder (an older one Glue named is swept with the rest)
                location
                    .as_ref()
                    .map(|l| l.join(&partition_path(&keys, &values_of(&p))))
            } else {
                here
            };
            if let Some(f) = gone
                && delete_guard(&f, owned).is_ok()
                && !folders.contains(&f)
            {
                folders.push(f);
            }
        }
        self.client
            .delete_folders(&folders, owned)
            .map_err(DbError::from)?;
        self.client
            .delete_table(&schema, &side)
            .map_err(DbError::from)?;
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
            && table_location(&t).ok().flatten() == Some(out.clone())
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
        let values = partition_values(&self.query(&distinct_partitions_sql(tmp, keys, None))?);
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

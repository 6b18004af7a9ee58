//! The Athena adapter's connection (cargo feature `athena`): statements through the AWS client
//! (`aws/`), the catalog through Glue, and the plan steps that publish tables
//! ([`StorageCall`]: recover, publish, drop), which are where data could be lost, so each is
//! ordered for the worst case "the previous version is still what readers see".

use super::super::aws::{
    AwsClient, AwsSettings, GlueTable, QueryContext, RequestToken, S3Location, TableKind,
};
use super::super::storage::{CatalogName, STAGED_SUFFIXES, StorageCall};
use super::super::{
    Column, Connection, ConnectionCheck, DbError, RelationInfo, RelationKind, Rows, logged,
};
use super::AthenaTarget;
use crate::events::{Event, kinds};
use crate::project::profiles::FieldError;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[path = "athena_erase.rs"]
mod erase;
#[path = "athena_overwrite.rs"]
mod overwrite;
#[path = "athena_partitions.rs"]
mod partitions;
use partitions::table_location;

/// What the adapter keeps to connect: the AWS settings (their `Debug` hides the credentials),
/// the one client every connection shares (made on first use), the cancel flag, and this
/// run's id (in every query's idempotency token).
#[derive(Debug)]
pub struct Live {
    settings: AwsSettings,
    client: Mutex<Option<AwsClient>>,
    stop: Arc<AtomicBool>,
    run_id: String,
}

impl Default for Live {
    fn default() -> Self {
        Live::with_settings(AwsSettings::new("us-east-1"))
    }
}

impl Live {
    pub fn new(fields: &Map<String, Value>) -> Result<Live, FieldError> {
        Ok(Live::with_settings(AwsSettings::from_fields(fields)?))
    }

    fn with_settings(settings: AwsSettings) -> Live {
        Live {
            settings,
            client: Mutex::new(None),
            stop: Arc::new(AtomicBool::new(false)),
            run_id: uuid::Uuid::new_v4().to_string(),
        }
    }

    fn client(&self) -> Result<AwsClient, DbError> {
        let mut slot = self
            .client
            .lock()
            .map_err(|_| DbError::open("the AWS client's lock is poisoned"))?;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = AwsClient::connect(&self.settings).map_err(DbError::from)?;
        *slot = Some(c.clone());
        Ok(c)
    }

    pub fn connection_test(&self) -> Vec<ConnectionCheck> {
        match self.client() {
            Ok(c) => c
                .check()
                .into_iter()
                .map(|r| ConnectionCheck {
                    name: r.name.to_string(),
                    ok: r.ok,
                    skipped: r.skipped,
                    detail: r.detail,
                })
                .collect(),
            Err(e) => vec![ConnectionCheck::fail("credentials", e.message)],
        }
    }

    pub fn connect(&self, target: &AthenaTarget) -> Result<Box<dyn Connection>, DbError> {
        Ok(Box::new(AthenaConnection {
            client: self.client()?,
            context: QueryContext {
                catalog: Some(target.database.clone()),
                database: Some(target.schema.clone()),
            },
            stop: self.stop.clone(),
            run_id: self.run_id.clone(),
            steps: HashMap::new(),
        }))
    }

    pub fn cancel_all(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn clear_cancel(&self) {
        self.stop.store(false, Ordering::SeqCst);
    }
}

/// One runner worker's connection. Every connection shares the adapter's client.
pub struct AthenaConnection {
    client: AwsClient,
    context: QueryContext,
    stop: Arc<AtomicBool>,
    run_id: String,
    /// How many statements each node sent on this connection (a statement's token is its
    /// run, node and place: the same statement sent twice by a node is two queries).
    steps: HashMap<String, u32>,
}

impl AthenaConnection {
    /// The token of the next statement of the current node.
    fn token(&mut self, sql: &str) -> RequestToken {
        let node = crate::events::current_node().unwrap_or_else(|| "master".into());
        let n = self.steps.entry(node.clone()).or_insert(0);
        *n += 1;
        RequestToken::for_step(&self.run_id, &node, &format!("{n}\u{0}{sql}"))
    }

    fn run(&mut self, sql: &str) -> Result<super::super::aws::QueryExecution, DbError> {
        if self.stop.load(Ordering::SeqCst) {
            return Err(DbError {
                kind: super::super::DbErrorKind::Cancelled,
                message: "interrupted before the statement was sent".into(),
            });
        }
        let token = self.token(sql);
        let (client, context, stop) = (&self.client, &self.context, &self.stop);
        // A `create table as` writes its files into a location before it commits: one that
        // failed (even on an Iceberg commit conflict) is never run again into the same
        // location. The model fails; the next run builds in a folder of its own and removes
        // what this one left (`recover`).
        let ctas = writes_a_new_location(sql);
        logged(sql, || {
            if ctas {
                client.execute_once(sql, context, &token, stop)
            } else {
                client.execute(sql, context, &token, stop)
            }
            .map_err(|e| {
                let conflict = ctas && e.is_iceberg_commit_conflict();
                let mut e = DbError::from(e);
                if conflict {
                    e.message.push_str(
                        "\nkiln does not run a failed `create table as` again into the location it may have written to; the next run builds the table in a new folder and removes this one",
                    );
                }
                e
            })
        })
    }

    fn table(&self, schema: &str, identifier: &str) -> Result<Option<GlueTable>, DbError> {
        // Glue keeps names in lower case, as Athena resolves them.
        self.client
            .get_table(&schema.to_lowercase(), &identifier.to_lowercase())
            .map_err(DbError::from)
    }

    /// Deletes `location` (a table's data) if it lies inside `owned`; data outside it is left
    /// in place, said at debug level.
    fn delete_data(&self, location: &str, owned: &S3Location) -> Result<(), DbError> {
        let loc = S3Location::parse(location).map_err(DbError::from)?;
        match delete_guard(&loc, owned) {
            Ok(()) => {
                self.client
                    .delete_prefix(&loc, owned)
                    .map_err(DbError::from)?;
            }
            Err(why) => debug(&format!("kiln keeps {loc}: {why}")),
        }
        Ok(())
    }

    fn recover(&mut self, target: &CatalogName, owned: &str, sweep: bool) -> Result<(), DbError> {
        let owned_loc = owned_location(owned)?;
        let current = self.table(&target.schema, &target.identifier)?;
        if let Some(t) = &current {
            refuse_foreign(target, t, &owned_loc)?;
        }
        let current_loc = current.as_ref().map(table_location).transpose()?.flatten();
        for suffix in STAGED_SUFFIXES {
            let name = format!("{}{suffix}", target.identifier);
            let Some(staged) = self.table(&target.schema, &name)? else {
                continue;
            };
            let staged_loc = table_location(&staged)?;
            // Published already (the target points at its data): only its entry remains.
            // Otherwise it was never published: it goes, its files with it (below).
            let published = staged_loc.is_some() && staged_loc == current_loc;
            debug(&format!(
                "kiln: {} {}.{name}, left by an interrupted build",
                if published {
                    "completing the publish of"
                } else {
                    "rolling back"
                },
                target.schema
            ));
            if published && !staged.partition_keys().is_empty() && staged.kind() == TableKind::Table
            {
                // killed between the publish and the partitions' move: finish the move
                let schema = target.schema.to_lowercase();
                let parts = self
                    .client
                    .get_partitions(&schema, &name.to_lowercase())
                    .map_err(DbError::from)?;
                let old = self
                    .client
                    .get_partitions(&schema, &target.identifier.to_lowercase())
                    .map_err(DbError::from)?;
                self.client
                    .delete_partitions(&schema, &target.identifier.to_lowercase(), &old)
                    .map_err(DbError::from)?;
                self.client
                    .create_partitions(&schema, &target.identifier.to_lowercase(), &parts)
                    .map_err(DbError::from)?;
            }
            self.client
                .delete_table(&target.schema.to_lowercase(), &name.to_lowercase())
                .map_err(DbError::from)?;
        }
        // (only a partitioned Hive table is overwritten by partition, through a side table)
        let partitioned = current
            .as_ref()
            .is_some_and(|t| t.kind() == TableKind::Table && !t.partition_keys().is_empty());
        if partitioned {
            self.recover_parts(target, &owned_loc)?;
        }
        // Files under the owned folder that the table does not read: an interrupted build's
        // (a partitioned Hive table reads only its partitions' folders).
        if sweep && delete_guard(&owned_loc, &owned_loc).is_ok() {
            let keep: Vec<S3Location> = match &current {
                Some(_) if partitioned => self
                    .client
                    .get_partitions(
                        &target.schema.to_lowercase(),
                        &target.identifier.to_lowercase(),
                    )
                    .map_err(DbError::from)?
                    .iter()
                    .filter_map(|p| p.storage_descriptor().and_then(|s| s.location()))
                    .map(S3Location::parse)
                    .collect::<Result<_, _>>()
                    .map_err(DbError::from)?,
                _ => current_loc.into_iter().collect(),
            };
            self.client
                .delete_prefix_except(&owned_loc, &keep)
                .map_err(DbError::from)?;
        }
        Ok(())
    }

    fn publish(
        &mut self,
        staged: &CatalogName,
        target: &CatalogName,
        owned: &str,
    ) -> Result<(), DbError> {
        let owned_loc = owned_location(owned)?;
        failpoint("built");
        let schema = target.schema.to_lowercase();
        let new = self
            .table(&staged.schema, &staged.identifier)?
            .ok_or_else(|| {
                DbError::query(format!(
                    "kiln cannot publish {staged} as {target}: Glue has no table {staged} (the statement that built it reported success)"
                ))
            })?;
        let old = self.table(&target.schema, &target.identifier)?;
        if let Some(t) = &old {
            refuse_foreign(target, t, &owned_loc)?;
        }
        let input = new
            .to_input(&target.identifier.to_lowercase())
            .map_err(DbError::from)?;
        // A Hive table's partitions are catalog entries of their own, each with its location
        // under the staged table's: read before the publish, moved over right after it.
        let partitioned = !new.partition_keys().is_empty() && new.kind() == TableKind::Table;
        let staged_schema = staged.schema.to_lowercase();
        let staged_name = staged.identifier.to_lowercase();
        let target_name = target.identifier.to_lowercase();
        let (new_parts, old_parts) = if partitioned {
            let new_parts = self
                .client
                .get_partitions(&staged_schema, &staged_name)
                .map_err(DbError::from)?;
            let old_parts = match &old {
                Some(t) if !t.partition_keys().is_empty() => self
                    .client
                    .get_partitions(&schema, &target_name)
                    .map_err(DbError::from)?,
                _ => vec![],
            };
            (new_parts, old_parts)
        } else {
            (vec![], vec![])
        };
        // The publish: one catalog call. Before it readers see the old version, after it the
        // new (a partitioned table's partitions follow in the next calls).
        match &old {
            Some(_) => self.client.update_table(&schema, &input),
            None => self.client.create_table(&schema, &input),
        }
        .map_err(DbError::from)?;
        failpoint("published");
        if partitioned {
            self.client
                .delete_partitions(&schema, &target_name, &old_parts)
                .map_err(DbError::from)?;
            failpoint("partitions-removed");
            self.client
                .create_partitions(&schema, &target_name, &new_parts)
                .map_err(DbError::from)?;
            failpoint("partitions-moved");
        }
        self.client
            .delete_table(
                &staged.schema.to_lowercase(),
                &staged.identifier.to_lowercase(),
            )
            .map_err(DbError::from)?;
        failpoint("staged-dropped");
        // Only now, the previous version's files; never a folder the new version lies in (a
        // table that read the whole owned folder, e.g. one kiln did not build at a model's
        // `external_location`, keeps its files).
        if let Some(old_loc) = old.as_ref().and_then(|t| t.location())
            && Some(old_loc) != new.location()
            && old.as_ref().map(GlueTable::kind) != Some(TableKind::View)
        {
            let old_folder = S3Location::parse(old_loc).map_err(DbError::from)?;
            let inside = table_location(&new)?.is_some_and(|n| n.is_within(&old_folder));
            if inside {
                debug(&format!(
                    "kiln keeps {old_folder}: the published version lies inside it"
                ));
            } else {
                self.delete_data(old_loc, &owned_loc)?;
            }
        }
        failpoint("old-deleted");
        Ok(())
    }

    fn upload(&mut self, file: &str, key: &str, owned: &str) -> Result<(), DbError> {
        let owned_loc = owned_location(owned)?;
        let folder = key.rsplit_once('/').map_or(key, |(f, _)| f);
        let folder_loc = S3Location::parse(folder).map_err(DbError::from)?;
        delete_guard(&folder_loc, &owned_loc)
            .map_err(|why| DbError::query(format!("kiln refuses to upload to {key}: {why}")))?;
        let body =
            std::fs::read(file).map_err(|e| DbError::query(format!("cannot read {file}: {e}")))?;
        let object = key
            .strip_prefix(&format!("s3://{}/", folder_loc.bucket))
            .unwrap_or(key);
        self.client
            .put_object(&folder_loc.bucket, object, body)
            .map_err(DbError::from)
    }

    fn drop_table(&mut self, target: &CatalogName, owned: &str) -> Result<(), DbError> {
        let owned_loc = owned_location(owned)?;
        let Some(t) = self.table(&target.schema, &target.identifier)? else {
            return Ok(());
        };
        refuse_foreign(target, &t, &owned_loc)?;
        self.client
            .delete_table(
                &target.schema.to_lowercase(),
                &target.identifier.to_lowercase(),
            )
            .map_err(DbError::from)?;
        if let (Some(loc), false) = (t.location(), t.kind() == TableKind::View) {
            self.delete_data(loc, &owned_loc)?;
        }
        Ok(())
    }
}

impl AthenaConnection {
    /// `persist_docs` through Glue: the table's definition read, the descriptions set, written
    /// back whole with `UpdateTable` (only when something changed: each update is a new table
    /// version).
    fn describe(
        &mut self,
        target: &CatalogName,
        description: Option<&str>,
        columns: &[(String, String)],
    ) -> Result<(), DbError> {
        let Some(t) = self.table(&target.schema, &target.identifier)? else {
            return Ok(());
        };
        let mut input = t
            .to_input(&target.identifier.to_lowercase())
            .map_err(DbError::from)?;
        let before = input.clone();
        if let Some(d) = description {
            input.description = Some(d.to_string());
            input
                .parameters
                .get_or_insert_with(Default::default)
                .insert("comment".into(), d.to_string());
        }
        let comment = |cols: &mut Vec<aws_sdk_glue::types::Column>| {
            for c in cols.iter_mut() {
                if let Some((_, d)) = columns
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&c.name))
                {
                    c.comment = Some(d.clone());
                }
            }
        };
        if let Some(sd) = input.storage_descriptor.as_mut()
            && let Some(cols) = sd.columns.as_mut()
        {
            comment(cols);
        }
        if let Some(keys) = input.partition_keys.as_mut() {
            comment(keys);
        }
        if input == before {
            return Ok(());
        }
        self.client
            .update_table(&target.schema.to_lowercase(), &input)
            .map_err(DbError::from)
    }

    /// Deletes all but the newest `keep` (at least 1: the current one) versions of a table's
    /// Glue definition.
    fn expire_versions(&mut self, target: &CatalogName, keep: u32) -> Result<(), DbError> {
        let (schema, name) = (
            target.schema.to_lowercase(),
            target.identifier.to_lowercase(),
        );
        if self.table(&target.schema, &target.identifier)?.is_none() {
            return Ok(());
        }
        let versions = self
            .client
            .get_table_versions(&schema, &name)
            .map_err(DbError::from)?;
        for v in versions.iter().skip(keep.max(1) as usize) {
            debug(&format!(
                "kiln: deleting Glue version {v} of {schema}.{name}"
            ));
            self.client
                .delete_table_version(&schema, &name, v)
                .map_err(DbError::from)?;
        }
        Ok(())
    }
}

/// Whether `sql` is a `create table ... as` (it writes files under a location of its own).
fn writes_a_new_location(sql: &str) -> bool {
    let mut words = sql.split_whitespace().map(str::to_ascii_lowercase);
    words.next().as_deref() == Some("create") && words.next().as_deref() == Some("table")
}

fn debug(message: &str) {
    Event::new(kinds::ADAPTER_EVENT_DEBUG, message.to_string()).emit();
}

/// The steps of a publish, in order, after which a crash can be injected (`built`: the new
/// data is built aside, nothing else done yet).
const FAILPOINTS: &[&str] = &[
    "built",
    "published",
    "partitions-removed",
    "partitions-moved",
    "staged-dropped",
    "old-deleted",
    // insert_overwrite (athena_overwrite.rs), per batch of partitions
    "overwrite-built",
    "overwrite-published",
    "overwrite-staged-dropped",
    "overwrite-old-deleted",
    // kiln erase's partition rewrite (athena_erase.rs), per batch of partitions
    "erase-staged",
    "erase-repointed",
];

/// Test-only crash injection (DEVELOPERS.md, "Crash tests"): with `KILN_FAILPOINT=<step>` in
/// the environment the process aborts at that step of a publish, as a `kill -9` would: no
/// unwinding, no cleanup, no artifacts. Read here and nowhere else.
fn failpoint(step: &str) {
    debug_assert!(FAILPOINTS.contains(&step), "unknown failpoint {step}");
    if std::env::var("KILN_FAILPOINT").is_ok_and(|v| v == step) {
        std::process::abort();
    }
}

fn owned_location(owned: &str) -> Result<S3Location, DbError> {
    S3Location::parse(owned).map_err(DbError::from)
}

/// Whether kiln may delete `location`, given the folder `owned` it owns for the relation: never
/// a bucket root, never outside the owned folder (a sibling `orders_v2/` of `orders/`, another
/// bucket). Both are folders (`S3Location` always ends them with `/`).
pub fn delete_guard(location: &S3Location, owned: &S3Location) -> Result<(), String> {
    if owned.prefix.is_empty() || location.prefix.is_empty() {
        return Err(format!(
            "{location} is a bucket root (kiln deletes only inside a relation's own folder)"
        ));
    }
    if !location.is_within(owned) {
        return Err(format!(
            "{location} is not inside {owned}, the folder kiln owns for this relation"
        ));
    }
    Ok(())
}

/// A table whose data lies outside the folder kiln owns for it was not created by kiln (or
/// not for this target): kiln neither replaces nor drops it, nor deletes its data.
fn refuse_foreign(name: &CatalogName, t: &GlueTable, owned: &S3Location) -> Result<(), DbError> {
    if t.kind() == TableKind::View {
        return Ok(());
    }
    let Some(loc) = t.location() else {
        return Ok(());
    };
    let loc = S3Location::parse(loc).map_err(DbError::from)?;
    if loc.is_within(owned) {
        return Ok(());
    }
    Err(DbError::query(format!(
        "kiln refuses to replace or drop the table {name}: its data is at {loc}, outside {owned}, \
         the folder kiln owns for it, so kiln did not create it; drop or move it yourself, or \
         give the model another alias or schema"
    )))
}

impl AthenaConnection {
    fn execute_sql(&mut self, sql: &str) -> Result<(), DbError> {
        self.run(sql).map(|_| ())
    }
}

impl Connection for AthenaConnection {
    /// A statement; a partitioned CTAS over Athena's partition limit is written in batches.
    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.execute_batched(sql)
    }

    fn query(&mut self, sql: &str) -> Result<Rows, DbError> {
        let execution = self.run(sql)?;
        self.client.results(&execution).map_err(DbError::from)
    }

    fn list_relations(
        &mut self,
        database: &str,
        schema: &str,
    ) -> Result<Vec<RelationInfo>, DbError> {
        if self
            .client
            .get_database(&schema.to_lowercase())
            .map_err(DbError::from)?
            .is_none()
        {
            return Ok(vec![]);
        }
        let tables = self
            .client
            .get_tables(&schema.to_lowercase())
            .map_err(DbError::from)?;
        Ok(tables
            .iter()
            .map(|t| relation_info(database, schema, t))
            .collect())
    }

    fn get_relation(
        &mut self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<RelationInfo>, DbError> {
        Ok(self
            .table(schema, identifier)?
            .map(|t| relation_info(database, schema, &t)))
    }

    fn columns(
        &mut self,
        _database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Vec<Column>, DbError> {
        Ok(self
            .table(schema, identifier)?
            .map(|t| t.columns())
            .unwrap_or_default())
    }

    /// Glue's tables of the schema (`GetTables`, every page): no query runs
    /// ([`super::catalog::catalog_rows`]). A schema Glue does not have has no rows.
    fn catalog(
        &mut self,
        database: &str,
        schema: &str,
    ) -> Result<Vec<super::super::CatalogColumn>, DbError> {
        let tables = match self.client.get_tables(&schema.to_lowercase()) {
            Ok(t) => t,
            Err(e) if e.kind == super::super::aws::AwsErrorKind::NotFound => vec![],
            Err(e) => return Err(DbError::from(e)),
        };
        Ok(super::catalog::catalog_rows(database, schema, &tables))
    }

    fn schema_exists(&mut self, _database: &str, schema: &str) -> Result<bool, DbError> {
        Ok(self
            .client
            .get_database(&schema.to_lowercase())
            .map_err(DbError::from)?
            .is_some())
    }

    /// Glue's `CreateDatabase` (what Athena's `create schema if not exists` does).
    fn create_schema(&mut self, _database: &str, schema: &str) -> Result<(), DbError> {
        self.client
            .create_database(&schema.to_lowercase(), None)
            .map(|_| ())
            .map_err(DbError::from)
    }

    fn storage(&mut self, call: &StorageCall) -> Result<(), DbError> {
        // After Ctrl-C nothing is published, dropped or deleted: the next run finishes or rolls
        // back what this one left (`recover`).
        if self.stop.load(Ordering::SeqCst) {
            return Err(DbError {
                kind: super::super::DbErrorKind::Cancelled,
                message: format!("interrupted before `{call}`"),
            });
        }
        debug(&call.to_string());
        match call {
            StorageCall::Recover {
                target,
                owned,
                sweep,
            } => self.recover(target, owned, *sweep),
            StorageCall::Publish {
                staged,
                target,
                owned,
            } => self.publish(staged, target, owned),
            StorageCall::Drop { target, owned } => self.drop_table(target, owned),
            StorageCall::Upload { file, key, owned } => self.upload(file, key, owned),
            StorageCall::OverwritePartitions {
                target,
                stage,
                target_sql,
                stage_sql,
                owned,
                columns,
                window,
                storage,
            } => self.overwrite_partitions(&overwrite::Overwrite {
                target,
                stage,
                target_sql,
                stage_sql,
                owned,
                columns,
                window: window.as_ref(),
                storage,
            }),
            StorageCall::ErasePartitions {
                target,
                stage,
                target_sql,
                stage_sql,
                owned,
                condition,
                storage,
            } => self.erase_partitions(&erase::ErasePartitions {
                target,
                stage,
                target_sql,
                stage_sql,
                owned,
                condition,
                storage,
            }),
            StorageCall::Describe {
                target,
                description,
                columns,
            } => self.describe(target, description.as_deref(), columns),
            StorageCall::ExpireVersions { target, keep } => self.expire_versions(target, *keep),
        }
    }
}

/// A Glue table of `database.schema` as the adapter lists relations.
fn relation_info(database: &str, schema: &str, t: &GlueTable) -> RelationInfo {
    RelationInfo {
        database: database.to_string(),
        schema: schema.to_string(),
        identifier: t.name().to_string(),
        kind: match t.kind() {
            TableKind::View => RelationKind::View,
            TableKind::Table | TableKind::Iceberg => RelationKind::Table,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(s: &str) -> S3Location {
        S3Location::parse(s).expect("an S3 location")
    }

    #[test]
    fn deletes_stay_inside_the_owned_folder() {
        let owned = loc("s3://data/warehouse/main/orders/");
        assert_eq!(
            delete_guard(&loc("s3://data/warehouse/main/orders/b1"), &owned),
            Ok(())
        );
        assert_eq!(delete_guard(&owned, &owned), Ok(()));
        // a sibling whose name starts the same
        assert_eq!(
            delete_guard(&loc("s3://data/warehouse/main/orders_v2/"), &owned),
            Err("s3://data/warehouse/main/orders_v2/ is not inside s3://data/warehouse/main/orders/, the folder kiln owns for this relation".into())
        );
        // the folder above
        assert!(delete_guard(&loc("s3://data/warehouse/main"), &owned).is_err());
        // another bucket
        assert!(delete_guard(&loc("s3://other/warehouse/main/orders/b1/"), &owned).is_err());
        // a bucket root, owned or not
        assert!(
            delete_guard(&loc("s3://data"), &loc("s3://data/"))
                .is_err_and(|e| e.contains("bucket root"))
        );
        assert!(delete_guard(&loc("s3://data/x/"), &loc("s3://data")).is_err());
    }
}

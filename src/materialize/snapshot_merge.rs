//! Snapshots where tables are files published through a catalog (Athena: S3 and Glue;
//! [`Adapter::supports_catalog_publish`]), as dbt-athena keeps them: an Iceberg table, with
//! dbt's meta columns (`dbt_scd_id`, `dbt_updated_at`, `dbt_valid_from`, `dbt_valid_to`, and
//! `dbt_is_deleted` with `hard_deletes: new_record`; renamed by `snapshot_meta_column_names`).
//!
//! - The first run creates the table with one `create table as` (Iceberg, a fresh location in
//!   the snapshot's own folder), every row of the query a current version.
//! - A later run reads the query's columns (a query that returns no rows) and the table's (from
//!   the catalog), adds the query's new columns to the table, stages the change set as dbt's
//!   `snapshot_staging_table` defines it (a table `<snapshot>__dbt_tmp` beside it, each row
//!   tagged `insert`, `update` or `delete` in `dbt_change_type`), applies it with one `merge`
//!   (dbt's `snapshot_merge_sql`: current versions matched by `dbt_scd_id` get their
//!   `dbt_valid_to`, new versions are inserted), and drops the stage with its files. Iceberg's
//!   `merge` is one commit: a failure before it leaves the snapshot as it was, and the next
//!   run's recover step removes a stage an interrupted run left.

use super::plan::{ColumnSource, Continuation, Plan, ReadColumns, Slot, Step};
use super::publish::{STAGE_SUFFIX, build_id, storage_of};
use super::snapshot::{HardDeletes, SnapshotConfig, Strategy, Update};
use super::{PlanError, RelationTarget};
use crate::adapter::{
    Adapter, CatalogName, Column, RelationKind, SnapshotMergeKeys, StorageCall, TableLocation,
};
use crate::project::Node;
use serde_json::Value as Json;

/// The change set's column that says what a row is: `insert`, `update` or `delete`.
pub const CHANGE_TYPE: &str = "dbt_change_type";

/// The rest of a run on an existing snapshot, once the query's and the table's columns are
/// read: new columns added, the change set staged and merged, the stage dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    target: RelationTarget,
    cfg: SnapshotConfig,
    /// The snapshot query (compiled).
    sql: String,
    /// Where the stage's files go, and the folder kiln owns for the snapshot.
    location: TableLocation,
}

fn catalog_name(t: &RelationTarget) -> CatalogName {
    CatalogName {
        schema: t.schema.clone(),
        identifier: t.identifier.clone(),
    }
}

/// The plan of a snapshot on such an engine (without its hooks).
pub fn plan(
    adapter: &dyn Adapter,
    node: &Node,
    cfg: &SnapshotConfig,
    sql: &str,
    existing: Option<RelationKind>,
) -> Result<Plan, PlanError> {
    let target = RelationTarget::of(node);
    if let Some(t) = node.config.get("table_type").and_then(Json::as_str)
        && !t.eq_ignore_ascii_case("iceberg")
    {
        return Err(PlanError(format!(
            "{}: a snapshot on {} is an Iceberg table (its new versions are merged in), not \
             table_type '{t}'; remove table_type or set it to iceberg",
            node.original_file_path,
            adapter.adapter_type()
        )));
    }
    let build = build_id();
    let Some(loc) = adapter.table_location(&target.schema, &target.identifier, &build) else {
        return Err(PlanError(format!(
            "{}: the {} target has no S3 location for tables (s3_data_dir or s3_staging_dir)",
            node.original_file_path,
            adapter.adapter_type()
        )));
    };
    let recover = Step::Storage(StorageCall::Recover {
        target: catalog_name(&target),
        owned: loc.owned.clone(),
        sweep: !loc.shared,
    });
    match existing {
        None => {
            let mut storage = storage_of(node);
            storage.iceberg = true;
            storage.location = Some(loc.location.clone());
            Ok(Plan::new(vec![
                recover,
                Step::Execute(adapter.create_table_as_stored_sql(
                    &target.sql(adapter),
                    &create_sql(adapter, cfg, sql),
                    &storage,
                )),
            ]))
        }
        Some(RelationKind::View) => Err(PlanError(format!(
            "{} is a view, not a snapshot table; drop it or choose another target for the snapshot",
            target.sql(adapter)
        ))),
        Some(RelationKind::Table) if loc.unique && loc.location == loc.owned => {
            Err(PlanError(format!(
                "{}: s3_data_naming 'unique' puts each build of {} in a folder of its own directly \
                 under s3_data_dir, so kiln cannot tell the snapshot's files from other tables' \
                 and will not stage its changes beside it; use schema_table_unique (the default) \
                 or table_unique",
                node.original_file_path, target.identifier
            )))
        }
        Some(RelationKind::Table) => Ok(Plan::new(vec![
            recover,
            Step::ReadColumns {
                source: ColumnSource::Query(adapter.empty_subquery_sql(sql)),
                slot: Slot::New,
            },
            Step::ReadColumns {
                source: ColumnSource::Relation(target.clone()),
                slot: Slot::Existing,
            },
            Step::Then(Box::new(Continuation::Snapshot(Update::merge(
                adapter,
                target.clone(),
                cfg.clone(),
                Merge {
                    target,
                    cfg: cfg.clone(),
                    sql: sql.to_string(),
                    location: loc,
                },
            )))),
        ])),
    }
}

impl Merge {
    pub(super) fn plan(
        &self,
        adapter: &dyn Adapter,
        read: &ReadColumns,
    ) -> Result<Vec<Step>, String> {
        let name = self.target.sql(adapter);
        if read.new.is_empty() {
            return Err(format!(
                "kiln could not read the columns of the snapshot query of {name} (the engine \
                 returned none), so it cannot stage its changes"
            ));
        }
        let stage = self.target.suffixed(STAGE_SUFFIX);
        let meta = meta_names(&self.cfg, with_deleted(&self.cfg, &read.existing));
        let mut steps = vec![];
        // The query's new columns join the table (dbt's `create_columns`).
        for c in &read.new {
            if !read
                .existing
                .iter()
                .any(|e| e.name.eq_ignore_ascii_case(&c.name))
                && !meta.iter().any(|m| m.eq_ignore_ascii_case(&c.name))
            {
                steps.push(Step::Execute(adapter.add_column_sql(
                    &name,
                    &c.name,
                    &c.data_type,
                )));
            }
        }
        let location = if self.location.location != self.location.owned {
            self.location.location.clone()
        } else {
            // a naming without a build folder: the stage still gets a folder of its own
            format!("{}{}/", self.location.owned, build_id())
        };
        let storage = crate::adapter::TableStorage {
            location: Some(location),
            ..Default::default()
        };
        steps.push(Step::Execute(adapter.create_table_as_stored_sql(
            &stage.sql(adapter),
            &change_set_sql(
                adapter,
                &self.cfg,
                &self.sql,
                &name,
                &read.new,
                &read.existing,
            ),
            &storage,
        )));
        let columns: Vec<String> = source_names(&read.new, &meta)
            .into_iter()
            .chain(meta.iter().cloned())
            .collect();
        let current = current(adapter, &self.cfg, "DBT_INTERNAL_DEST");
        steps.push(Step::Execute(adapter.snapshot_merge_sql(
            &name,
            &stage.sql(adapter),
            &SnapshotMergeKeys {
                scd_id: &self.cfg.names.scd_id,
                valid_to: &self.cfg.names.valid_to,
                change_type: CHANGE_TYPE,
                current: &current,
            },
            &columns,
        )));
        steps.push(Step::Storage(StorageCall::Drop {
            target: catalog_name(&stage),
            owned: self.location.owned.clone(),
        }));
        Ok(steps)
    }
}

/// Whether the snapshot keeps `dbt_is_deleted`: with `hard_deletes: new_record`, or when the
/// table has the column already.
fn with_deleted(cfg: &SnapshotConfig, existing: &[Column]) -> bool {
    cfg.hard_deletes == HardDeletes::NewRecord
        || existing
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(&cfg.names.is_deleted))
}

/// The meta columns, in dbt's order.
fn meta_names(cfg: &SnapshotConfig, deleted: bool) -> Vec<String> {
    let n = &cfg.names;
    let mut v = vec![
        n.scd_id.clone(),
        n.updated_at.clone(),
        n.valid_from.clone(),
        n.valid_to.clone(),
    ];
    if deleted {
        v.push(n.is_deleted.clone());
    }
    v
}

/// The query's columns that are not meta columns.
fn source_names(columns: &[Column], meta: &[String]) -> Vec<String> {
    columns
        .iter()
        .filter(|c| !meta.iter().any(|m| m.eq_ignore_ascii_case(&c.name)))
        .map(|c| c.name.clone())
        .collect()
}

/// `<alias>.valid_to` is its key's current version (NULL, or `dbt_valid_to_current`).
fn current(adapter: &dyn Adapter, cfg: &SnapshotConfig, alias: &str) -> String {
    let col = format!("{alias}.{}", adapter.quote(&cfg.names.valid_to));
    match &cfg.valid_to_current {
        Some(v) => format!(
            "({col} = {} or {col} is null)",
            adapter.snapshot_time_sql(v)
        ),
        None => format!("{col} is null"),
    }
}

/// A current version's `valid_to`: `dbt_valid_to_current`, or NULL of the meta columns' type.
fn current_value(adapter: &dyn Adapter, cfg: &SnapshotConfig) -> String {
    adapter.snapshot_time_sql(cfg.valid_to_current.as_deref().unwrap_or("null"))
}

/// dbt's `snapshot_hash_arguments` over the key columns (of `alias`) and `time`.
fn scd_id(adapter: &dyn Adapter, cfg: &SnapshotConfig, alias: &str, time: &str) -> String {
    let text = |e: &str| format!("coalesce({}, '')", adapter.cast_sql(e, "varchar"));
    let parts: Vec<String> = cfg
        .unique_key
        .iter()
        .map(|k| text(&format!("{alias}.{}", adapter.quote(k))))
        .chain([text(time)])
        .collect();
    adapter.hash_sql(&parts.join(" || '|' || "))
}

/// A source row's change time (of `alias`): its `updated_at`, or the run's now.
fn updated(adapter: &dyn Adapter, cfg: &SnapshotConfig, alias: &str) -> String {
    match &cfg.strategy {
        Strategy::Timestamp { updated_at } => format!("{alias}.{}", adapter.quote(updated_at)),
        Strategy::Check { .. } => adapter.current_timestamp_sql(),
    }
}

/// dbt's `dbt_is_deleted` value, `'True'` or `'False'`, as text of no set length (an Iceberg
/// column takes no `varchar(5)`).
fn flag(adapter: &dyn Adapter, deleted: bool) -> String {
    adapter.cast_sql(if deleted { "'True'" } else { "'False'" }, "varchar")
}

/// The first build: the query's rows, each a current version.
pub fn create_sql(adapter: &dyn Adapter, cfg: &SnapshotConfig, sql: &str) -> String {
    let n = &cfg.names;
    let q = |s: &str| adapter.quote(s);
    let upd = updated(adapter, cfg, "snapshot_query");
    let time = adapter.snapshot_time_sql(&upd);
    let mut cols = vec![
        format!(
            "{} as {}",
            scd_id(adapter, cfg, "snapshot_query", &upd),
            q(&n.scd_id)
        ),
        format!("{time} as {}", q(&n.updated_at)),
        format!("{time} as {}", q(&n.valid_from)),
        format!("{} as {}", current_value(adapter, cfg), q(&n.valid_to)),
    ];
    if cfg.hard_deletes == HardDeletes::NewRecord {
        cols.push(format!("{} as {}", flag(adapter, false), q(&n.is_deleted)));
    }
    format!(
        "select snapshot_query.*, {} from (\n{}\n) snapshot_query",
        cols.join(", "),
        sql.trim()
    )
}

/// dbt's `snapshot_staging_table`: the rows to insert (new keys, new versions of changed rows,
/// with `new_record` deletion markers) and the current versions to close (changed rows, and
/// with `invalidate`/`new_record` vanished keys), tagged in [`CHANGE_TYPE`]. `source` are the
/// query's columns, `existing` the table's.
pub fn change_set_sql(
    adapter: &dyn Adapter,
    cfg: &SnapshotConfig,
    sql: &str,
    target: &str,
    source: &[Column],
    existing: &[Column],
) -> String {
    let n = &cfg.names;
    let q = |s: &str| adapter.quote(s);
    let deleted = with_deleted(cfg, existing);
    let new_record = cfg.hard_deletes == HardDeletes::NewRecord;
    let meta = meta_names(cfg, deleted);
    let names = source_names(source, &meta);
    let src_cols: Vec<String> = names
        .iter()
        .map(|c| format!("source_data.{}", q(c)))
        .collect();
    // a vanished key's columns, from its current version (a column new in the query is NULL)
    let old_cols: Vec<String> = names
        .iter()
        .map(|c| {
            let known = existing.iter().any(|e| e.name.eq_ignore_ascii_case(c));
            if known {
                format!("snapshotted_data.{}", q(c))
            } else {
                let t = source
                    .iter()
                    .find(|s| s.name.eq_ignore_ascii_case(c))
                    .map_or("varchar", |s| s.data_type.as_str());
                format!("{} as {}", adapter.cast_sql("null", t), q(c))
            }
        })
        .collect();
    let keys = cfg
        .unique_key
        .iter()
        .map(|k| format!("snapshotted_data.{q} = source_data.{q}", q = q(k)))
        .collect::<Vec<_>>()
        .join(" and ");
    let first_key = q(cfg.unique_key.first().map_or("", String::as_str));
    let upd = updated(adapter, cfg, "source_data");
    let time = adapter.snapshot_time_sql(&upd);
    let now_raw = adapter.current_timestamp_sql();
    let now = adapter.snapshot_time_sql(&now_raw);
    let changed = match &cfg.strategy {
        Strategy::Timestamp { updated_at } => format!(
            "snapshotted_data.{} < source_data.{}",
            q(&n.valid_from),
            q(updated_at)
        ),
        Strategy::Check { cols } => {
            let cols: Vec<String> = match cols {
                Some(c) => c.clone(),
                None => names.clone(),
            };
            let diffs: Vec<String> = cols
                .iter()
                .map(|c| {
                    format!(
                        "snapshotted_data.{q} is distinct from source_data.{q}",
                        q = q(c)
                    )
                })
                .collect();
            if diffs.is_empty() {
                "false".into()
            } else {
                format!("({})", diffs.join(" or "))
            }
        }
    };
    let is_deleted = format!("snapshotted_data.{}", q(&n.is_deleted));
    let changed = if new_record {
        format!("({changed} or {is_deleted} = 'True')")
    } else {
        changed
    };
    let deleted_col = |v: &str| {
        if deleted {
            format!(", {v} as {}", q(&n.is_deleted))
        } else {
            String::new()
        }
    };
    let meta_as = |scd: &str, upd: &str, from: &str, to: &str| {
        format!(
            "{scd} as {}, {upd} as {}, {from} as {}, {to} as {}",
            q(&n.scd_id),
            q(&n.updated_at),
            q(&n.valid_from),
            q(&n.valid_to)
        )
    };
    let list = |cols: &[String]| {
        if cols.is_empty() {
            String::new()
        } else {
            format!("{}, ", cols.join(", "))
        }
    };
    let mut ctes = vec![
        format!("snapshot_query as (\n{}\n)", sql.trim()),
        format!(
            "snapshotted_data as (\n    select * from {target} as t where {}\n)",
            current(adapter, cfg, "t")
        ),
        format!(
            "insertions as (\n    select 'insert' as {ct}, {cols}{meta}{del}\n    from snapshot_query as source_data\n    left outer join snapshotted_data on {keys}\n    where snapshotted_data.{scd} is null or {changed}\n)",
            ct = q(CHANGE_TYPE),
            cols = list(&src_cols),
            meta = meta_as(
                &scd_id(adapter, cfg, "source_data", &upd),
                &time,
                &time,
                &current_value(adapter, cfg)
            ),
            del = deleted_col(&flag(adapter, false)),
            scd = q(&n.scd_id),
        ),
        format!(
            "updates as (\n    select 'update' as {ct}, {cols}{meta}{del}\n    from snapshot_query as source_data\n    join snapshotted_data on {keys}\n    where {changed}\n)",
            ct = q(CHANGE_TYPE),
            cols = list(&src_cols),
            meta = meta_as(
                &format!("snapshotted_data.{}", q(&n.scd_id)),
                &time,
                &time,
                &time
            ),
            del = deleted_col(&is_deleted),
        ),
    ];
    let vanished = format!(
        "from snapshotted_data\n    left join snapshot_query as source_data on {keys}\n    where source_data.{first_key} is null{}",
        if new_record {
            format!(" and not coalesce({is_deleted} = 'True', false)")
        } else {
            String::new()
        }
    );
    let mut arms = vec!["insertions", "updates"];
    if cfg.hard_deletes != HardDeletes::Ignore {
        ctes.push(format!(
            "deletes as (\n    select 'delete' as {ct}, {cols}{meta}{del}\n    {vanished}\n)",
            ct = q(CHANGE_TYPE),
            cols = list(&old_cols),
            meta = meta_as(
                &format!("snapshotted_data.{}", q(&n.scd_id)),
                &now,
                &now,
                &now
            ),
            del = deleted_col(&is_deleted),
        ));
        arms.push("deletes");
    }
    if new_record {
        ctes.push(format!(
            "deletion_records as (\n    select 'insert' as {ct}, {cols}{meta}{del}\n    {vanished}\n)",
            ct = q(CHANGE_TYPE),
            cols = list(&old_cols),
            meta = meta_as(
                &scd_id(adapter, cfg, "snapshotted_data", &now_raw),
                &now,
                &now,
                &current_value(adapter, cfg)
            ),
            del = deleted_col(&flag(adapter, true)),
        ));
        arms.push("deletion_records");
    }
    format!(
        "with {}\n{}",
        ctes.join(",\n"),
        arms.iter()
            .map(|a| format!("select * from {a}"))
            .collect::<Vec<_>>()
            .join("\nunion all\n")
    )
}

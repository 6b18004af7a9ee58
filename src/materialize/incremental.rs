//! Incremental models: the plan of one incremental step ([`step_plan`]), one transaction where
//! the engine has them: stage the new rows in a temporary table, check them (merge keys), read
//! the staged and the target's columns, then ([`Apply`]) reconcile the schema
//! (`on_schema_change`) and apply the strategy; any failure rolls everything back, so the target
//! is exactly as it was before the step. A first build or a full refresh is a table
//! ([`super::plan_model`]).
//!
//! Strategies: `append`, `merge`, `delete+insert`, `insert_overwrite` (by partition column) and
//! `microbatch` (each batch replaces exactly its own event-time window).

use super::plan::{Check, ColumnSource, Continuation, Hooks, Plan, ReadColumns, Slot, Step};
use super::{PlanError, RelationTarget, Stage};
use crate::adapter::{Adapter, Cell, Column, string_literal};
use crate::project::Node;
use serde_json::Value as Json;

pub use crate::project::settings::incremental::{
    DuplicateKeys, IncrementalConfig, OnSchemaChange, Strategy,
};

/// The suffix of the table holding one step's new rows.
pub const STAGE_SUFFIX: &str = "__kiln_new";

/// The table holding one step's new rows (on an engine that publishes through a catalog,
/// dbt-athena's `__dbt_tmp`, which an interrupted step's next run recovers).
pub fn stage(adapter: &dyn Adapter, node: &Node) -> Stage {
    Stage::new(adapter, &RelationTarget::of(node), stage_suffix(adapter))
}

fn stage_suffix(adapter: &dyn Adapter) -> &'static str {
    if adapter.supports_catalog_publish() {
        super::publish::STAGE_SUFFIX
    } else {
        STAGE_SUFFIX
    }
}

/// On an engine that publishes through a catalog: where the stage's files go, and the folder
/// kiln owns for the target.
fn stage_location(
    adapter: &dyn Adapter,
    node: &Node,
) -> Result<Option<crate::adapter::TableLocation>, PlanError> {
    if !adapter.supports_catalog_publish() {
        return Ok(None);
    }
    let t = RelationTarget::of(node);
    adapter
        .table_location(&t.schema, &t.identifier, &super::publish::build_id())
        .map(Some)
        .ok_or_else(|| {
            PlanError(format!(
                "{}: the {} target has no S3 location for tables",
                node.original_file_path,
                adapter.adapter_type()
            ))
        })
}

/// Where an incremental step's stage goes on an engine that publishes through a catalog:
/// `location`, a fresh folder never inside the table's location (Athena reads every file under
/// a table's location, so a stage there would be read as the table's rows, and its drop would
/// delete the table's data), and `owned`, the folder its drop may delete in. With a unique
/// naming (`schema_table_unique`, `table_unique`) a new build folder inside the table's own
/// folder, a sibling of the table's build; otherwise (`schema_table` and `table`, where the
/// table's folder is its location, and `unique`) a folder of the stage's own, as dbt-athena
/// names it (`<table>__dbt_tmp`), a new build folder inside it.
struct StagePlace {
    /// The target's folders: `owned` for its recover.
    target: crate::adapter::TableLocation,
    location: String,
    owned: String,
}

fn stage_place(adapter: &dyn Adapter, node: &Node) -> Result<Option<StagePlace>, PlanError> {
    let Some(mut target) = stage_location(adapter, node)? else {
        return Ok(None);
    };
    if target.unique && target.location != target.owned {
        return Ok(Some(StagePlace {
            location: target.location.clone(),
            owned: target.owned.clone(),
            target,
        }));
    }
    let t = RelationTarget::of(node);
    let build = super::publish::build_id();
    let own = format!("{}{}", t.identifier, stage_suffix(adapter));
    let Some(stage) = adapter.table_location(&t.schema, &own, &build) else {
        return Ok(None);
    };
    let location = if stage.unique {
        stage.location.clone()
    } else {
        format!("{}{build}/", stage.owned)
    };
    if target.unique {
        // (`unique`: every build is a folder of its own under the data root, the table's
        // too, so its recover may look at no narrower folder than that root, sweeping nothing)
        if let Some((root, _)) = target.owned.trim_end_matches('/').rsplit_once('/') {
            target.owned = format!("{root}/");
            target.shared = true;
        }
    }
    Ok(Some(StagePlace {
        target,
        location,
        owned: stage.owned,
    }))
}

/// One incremental step as a plan, applied to `window` only for a microbatch: the new rows
/// staged, their merge keys checked, both sides' columns read, then [`Apply`], all between the
/// node's hooks.
pub fn step_plan(
    adapter: &dyn Adapter,
    node: &Node,
    cfg: &IncrementalConfig,
    sql: &str,
    hooks: &Hooks,
    window: Option<(String, String)>,
) -> Result<Plan, PlanError> {
    Ok(hooks.splice(Plan::atomic(
        adapter,
        step_steps(adapter, node, cfg, sql, window)?,
    )))
}

/// The steps of [`step_plan`], without the hooks and the transaction.
pub(super) fn step_steps(
    adapter: &dyn Adapter,
    node: &Node,
    cfg: &IncrementalConfig,
    sql: &str,
    window: Option<(String, String)>,
) -> Result<Vec<Step>, PlanError> {
    let target = RelationTarget::of(node);
    let stage = stage(adapter, node);
    let mut steps: Vec<Step> = vec![];
    let place = stage_place(adapter, node)?;
    if let Some(loc) = place.as_ref().map(|p| p.target.clone()) {
        // Athena: only what Athena can do to the table in place (Hive tables take inserts;
        // Iceberg ones merges and deletes too); a stage left by an interrupted step is
        // recovered first.
        let storage = super::publish::storage_of(node);
        let iceberg = storage.iceberg;
        let refuse = |why: &str| {
            Err(PlanError(format!(
                "{}: incremental_strategy '{}' {why}",
                node.original_file_path,
                cfg.strategy.as_str()
            )))
        };
        match cfg.strategy {
            Strategy::Append => {}
            Strategy::Merge | Strategy::DeleteInsert if iceberg => {}
            Strategy::Merge | Strategy::DeleteInsert => {
                return refuse(
                    "needs an Iceberg table on Athena (Hive tables take no update or delete): set table_type: iceberg, or use append",
                );
            }
            // (an Iceberg microbatch replaces its window with a delete and an insert)
            Strategy::Microbatch if iceberg => {}
            Strategy::InsertOverwrite if iceberg => {
                return refuse(
                    "replaces Hive partitions, and this is an Iceberg table: use incremental_strategy: merge (with a unique_key) or microbatch",
                );
            }
            Strategy::InsertOverwrite | Strategy::Microbatch
                if storage.partitioned_by.is_empty() =>
            {
                return refuse(
                    "replaces whole partitions of a Hive table on Athena, and this table has none: set partitioned_by to the partition column(s), or use table_type: iceberg",
                );
            }
            Strategy::InsertOverwrite | Strategy::Microbatch => {}
        }
        steps.push(Step::Storage(crate::adapter::StorageCall::Recover {
            target: crate::adapter::CatalogName {
                schema: target.schema.clone(),
                identifier: target.identifier.clone(),
            },
            owned: loc.owned,
            sweep: !loc.shared,
        }));
    }
    steps.extend(
        stage_sql_at(
            adapter,
            node,
            sql,
            cfg,
            place.as_ref().map(|p| p.location.clone()),
        )?
        .into_iter()
        .map(Step::Execute),
    );
    if let Some(sql) = key_check_sql(adapter, node, cfg) {
        steps.push(Step::CheckEmpty {
            sql,
            check: Check::DuplicateKeys {
                unique_key: cfg.unique_key.clone(),
            },
        });
    }
    steps.push(Step::ReadColumns {
        // (a table's columns are in the catalog where it publishes through one)
        source: if adapter.supports_catalog_publish() {
            ColumnSource::Relation(target.suffixed(stage_suffix(adapter)))
        } else {
            ColumnSource::Query(adapter.select_no_rows_sql(&stage.relation))
        },
        slot: Slot::New,
    });
    steps.push(Step::ReadColumns {
        source: ColumnSource::Relation(target.clone()),
        slot: Slot::Existing,
    });
    steps.push(Step::Then(Box::new(Continuation::Incremental(Apply {
        target,
        stage,
        cfg: cfg.clone(),
        window,
        storage: Box::new(super::publish::storage_of(node)),
        stage_owned: place.map(|p| p.owned),
    }))));
    Ok(steps)
}

/// The rest of an incremental step, once the staged and the target's columns are read: the
/// schema reconciled, the strategy applied, the stage dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Apply {
    target: RelationTarget,
    stage: Stage,
    cfg: IncrementalConfig,
    window: Option<(String, String)>,
    /// How the target is stored (where tables are files: Hive or Iceberg, its partitions).
    storage: Box<crate::adapter::TableStorage>,
    /// Where tables are files: the folder the stage's drop may delete in ([`StagePlace`]).
    stage_owned: Option<String>,
}

impl Apply {
    pub(super) fn plan(
        &self,
        adapter: &dyn Adapter,
        read: &ReadColumns,
    ) -> Result<Vec<Step>, String> {
        let (alters, columns) = match reconcile_at(
            adapter,
            &self.target,
            &self.cfg,
            &read.new,
            &read.existing,
            &self.storage,
        ) {
            Ok(reconciled) => reconciled,
            // (`on_schema_change: fail`) where no transaction rolls the stage back, it goes
            // (its catalog entry and its files) before the step fails
            Err(why) if adapter.supports_catalog_publish() => {
                return Ok(vec![self.drop_stage(adapter), Step::Fail(why)]);
            }
            Err(why) => return Err(why),
        };
        let window = self.window.as_ref().map(|(s, e)| (s.as_str(), e.as_str()));
        let apply: Vec<Step> = match self.overwrite_partitions(adapter, &columns) {
            Some(call) => vec![Step::Storage(call)],
            None => apply_at(
                adapter,
                &self.target,
                &self.stage,
                &self.cfg,
                &columns,
                window,
            )
            .into_iter()
            .map(Step::Execute)
            .collect(),
        };
        Ok(alters
            .into_iter()
            .map(Step::Execute)
            .chain(apply)
            .chain([self.drop_stage(adapter)])
            .collect())
    }

    /// The stage dropped: with its files where tables are files (inside the target's folder).
    fn drop_stage(&self, adapter: &dyn Adapter) -> Step {
        match &self.stage_owned {
            Some(owned) if adapter.supports_catalog_publish() => {
                Step::Storage(crate::adapter::StorageCall::Drop {
                    target: crate::adapter::CatalogName {
                        schema: self.target.schema.clone(),
                        identifier: format!("{}{}", self.target.identifier, stage_suffix(adapter)),
                    },
                    owned: owned.clone(),
                })
            }
            _ => Step::Execute(self.stage.drop(adapter)),
        }
    }

    /// Where tables are files, a Hive table's `insert_overwrite` (and microbatch) replaces the
    /// partitions the staged rows touch, folder by folder ([`crate::adapter::StorageCall::OverwritePartitions`]).
    fn overwrite_partitions(
        &self,
        adapter: &dyn Adapter,
        columns: &[String],
    ) -> Option<crate::adapter::StorageCall> {
        let by_partition = match self.cfg.strategy {
            Strategy::InsertOverwrite => true,
            Strategy::Microbatch => !self.storage.iceberg,
            _ => false,
        };
        if !by_partition || !adapter.supports_catalog_publish() {
            return None;
        }
        let loc = adapter.table_location(&self.target.schema, &self.target.identifier, "")?;
        let name = |identifier: String| crate::adapter::CatalogName {
            schema: self.target.schema.clone(),
            identifier,
        };
        let window = match (&self.window, self.cfg.strategy) {
            (Some((start, end)), Strategy::Microbatch) => Some((
                self.cfg.event_time.clone().unwrap_or_default(),
                start.clone(),
                end.clone(),
            )),
            _ => None,
        };
        Some(crate::adapter::StorageCall::OverwritePartitions {
            target: name(self.target.identifier.clone()),
            stage: name(format!(
                "{}{}",
                self.target.identifier,
                stage_suffix(adapter)
            )),
            target_sql: self.target.sql(adapter),
            stage_sql: self.stage.relation.clone(),
            owned: loc.owned,
            columns: columns.to_vec(),
            window,
            storage: Box::new(crate::adapter::TableStorage {
                location: None,
                partitioned_by: vec![],
                ..(*self.storage).clone()
            }),
        })
    }
}

/// Creates the staging table from the model's SQL (connection-local, dropped at the end).
pub fn stage_sql(
    adapter: &dyn Adapter,
    node: &Node,
    sql: &str,
    cfg: &IncrementalConfig,
) -> Result<Vec<String>, PlanError> {
    let place = stage_place(adapter, node)?.map(|p| p.location);
    stage_sql_at(adapter, node, sql, cfg, place)
}

/// [`stage_sql`], the stage's files at `location` where tables are files ([`StagePlace`]).
fn stage_sql_at(
    adapter: &dyn Adapter,
    node: &Node,
    sql: &str,
    cfg: &IncrementalConfig,
    location: Option<String>,
) -> Result<Vec<String>, PlanError> {
    let body = match (cfg.duplicate_keys, cfg.unique_key.is_empty()) {
        (DuplicateKeys::Dedupe, false) => {
            let keys = quoted_list(adapter, &cfg.unique_key);
            let order = cfg
                .event_time
                .as_deref()
                .or_else(|| node.config.get("updated_at").and_then(Json::as_str))
                .map_or_else(|| "1".to_string(), |c| format!("{} desc", adapter.quote(c)));
            // A NULL key matches no row, so merging it would insert it again on every run:
            // dedupe leaves rows without a key out (`fail` refuses them, see key_check_sql).
            let not_null = cfg
                .unique_key
                .iter()
                .map(|k| format!("{} is not null", adapter.quote(k)))
                .collect::<Vec<_>>()
                .join(" and ");
            let keyed = format!(
                "select * from (\n{}\n) kiln_keyed where {not_null}",
                sql.trim()
            );
            adapter.dedupe_rows_sql(&keyed, &keys, &order).ok_or_else(|| {
                PlanError(format!(
                    "{}: unique_key_duplicates: dedupe needs an engine that keeps one row per key in a query; {} cannot, so set unique_key_duplicates: fail",
                    node.original_file_path,
                    adapter.adapter_type()
                ))
            })?
        }
        _ => sql.trim().to_string(),
    };
    if let Some(location) = location {
        // A table of its own in a fresh folder (the step's recover dropped any earlier stage).
        let storage = crate::adapter::TableStorage {
            location: Some(location),
            iceberg: super::publish::storage_of(node).iceberg,
            ..Default::default()
        };
        return Ok(vec![adapter.create_table_as_stored_sql(
            &stage(adapter, node).relation,
            &body,
            &storage,
        )]);
    }
    Ok(stage(adapter, node).create(adapter, &body))
}

/// A query returning one offending row when the staged rows hold a NULL or duplicate merge key:
/// the key values, and how many rows share them.
pub fn key_check_sql(
    adapter: &dyn Adapter,
    node: &Node,
    cfg: &IncrementalConfig,
) -> Option<String> {
    if cfg.unique_key.is_empty()
        || !matches!(cfg.strategy, Strategy::Merge | Strategy::DeleteInsert)
        || cfg.duplicate_keys == DuplicateKeys::Dedupe
    {
        // (deduplicated rows hold each key once, and none without a key)
        return None;
    }
    let keys = quoted_list(adapter, &cfg.unique_key);
    let any_null = cfg
        .unique_key
        .iter()
        .map(|k| format!("{} is null", adapter.quote(k)))
        .collect::<Vec<_>>()
        .join(" or ");
    Some(format!(
        "select {keys}, count(*) as n from {} group by {keys} having count(*) > 1 or {any_null} limit 1",
        stage(adapter, node).relation
    ))
}

/// "The new rows hold a duplicate key", naming the key columns and one offending value (a row
/// of [`key_check_sql`]'s result).
pub fn duplicate_key_message(unique_key: &[String], columns: &[Column], row: &[Cell]) -> String {
    let keys = unique_key.join(", ");
    let values: Vec<String> = columns
        .iter()
        .zip(row)
        .take(unique_key.len())
        .map(|(c, v)| format!("{} = {}", c.name, v))
        .collect();
    let count = row.last().map(ToString::to_string).unwrap_or_default();
    let has_null = row.iter().take(unique_key.len()).any(|v| *v == Cell::Null);
    let what = if has_null {
        format!("a NULL unique_key ({})", values.join(", "))
    } else {
        format!(
            "{} rows with the same unique_key ({})",
            count,
            values.join(", ")
        )
    };
    format!(
        "the new rows hold {what}; unique_key is ({keys}), and merging them would duplicate rows, so nothing was written. Fix the model so each key appears once, or set unique_key_duplicates: dedupe to keep one row per key"
    )
}

/// The schema differences between the staged rows and the target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaDiff {
    pub added: Vec<Column>,
    pub removed: Vec<Column>,
    /// (column in target, its new type)
    pub changed: Vec<(Column, String)>,
}

impl SchemaDiff {
    pub fn between(new: &[Column], existing: &[Column]) -> Self {
        let find = |list: &[Column], name: &str| {
            list.iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
                .cloned()
        };
        SchemaDiff {
            added: new
                .iter()
                .filter(|c| find(existing, &c.name).is_none())
                .cloned()
                .collect(),
            removed: existing
                .iter()
                .filter(|c| find(new, &c.name).is_none())
                .cloned()
                .collect(),
            changed: existing
                .iter()
                .filter_map(|c| {
                    let n = find(new, &c.name)?;
                    (!n.data_type.eq_ignore_ascii_case(&c.data_type))
                        .then(|| (c.clone(), n.data_type))
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    pub fn describe(&self) -> String {
        let mut parts = vec![];
        if !self.added.is_empty() {
            parts.push(format!(
                "new columns {}",
                self.added
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !self.removed.is_empty() {
            parts.push(format!(
                "missing columns {}",
                self.removed
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for (c, t) in &self.changed {
            parts.push(format!(
                "{} changed type from {} to {t}",
                c.name, c.data_type
            ));
        }
        parts.join("; ")
    }
}

/// `on_schema_change`: the ALTERs to run, or an error for `fail`. Returns the statements and the
/// columns the insert then writes (those both sides share after the change).
pub fn reconcile(
    adapter: &dyn Adapter,
    node: &Node,
    cfg: &IncrementalConfig,
    new: &[Column],
    existing: &[Column],
) -> Result<(Vec<String>, Vec<String>), String> {
    reconcile_at(
        adapter,
        &RelationTarget::of(node),
        cfg,
        new,
        existing,
        &super::publish::storage_of(node),
    )
}

fn reconcile_at(
    adapter: &dyn Adapter,
    target: &RelationTarget,
    cfg: &IncrementalConfig,
    new: &[Column],
    existing: &[Column],
    storage: &crate::adapter::TableStorage,
) -> Result<(Vec<String>, Vec<String>), String> {
    let diff = SchemaDiff::between(new, existing);
    let target = target.sql(adapter);
    let mut alters = vec![];
    let mut kept: Vec<String> = existing.iter().map(|c| c.name.clone()).collect();
    if !diff.is_empty() {
        match cfg.on_schema_change {
            OnSchemaChange::Ignore => {}
            OnSchemaChange::Fail => {
                return Err(format!(
                    "the model's columns no longer match {target} ({}), and on_schema_change is 'fail'; run with --full-refresh or set on_schema_change to append_new_columns or sync_all_columns",
                    diff.describe()
                ));
            }
            OnSchemaChange::AppendNewColumns => {
                for c in &diff.added {
                    alters.push(adapter.add_column_sql(&target, &c.name, &c.data_type));
                    kept.push(c.name.clone());
                }
            }
            OnSchemaChange::SyncAllColumns => {
                for c in &diff.added {
                    alters.push(adapter.add_column_sql(&target, &c.name, &c.data_type));
                    kept.push(c.name.clone());
                }
                for c in &diff.removed {
                    kept.retain(|k| !k.eq_ignore_ascii_case(&c.name));
                }
                if !diff.removed.is_empty() {
                    let drop: Vec<String> = diff.removed.iter().map(|c| c.name.clone()).collect();
                    // the columns afterwards, as the table holds them
                    let keep: Vec<Column> = existing
                        .iter()
                        .filter(|c| !drop.iter().any(|d| d.eq_ignore_ascii_case(&c.name)))
                        .chain(diff.added.iter())
                        .cloned()
                        .collect();
                    alters.extend(adapter.drop_columns_sql(&target, &drop, &keep, storage));
                }
                for (c, t) in &diff.changed {
                    alters.push(adapter.alter_column_type_sql(&target, &c.name, t));
                }
            }
        }
    }
    // Insert only columns present in the staged rows too (ignore drops new ones; a column
    // missing from the new rows is left NULL).
    let insert_cols: Vec<String> = kept
        .into_iter()
        .filter(|k| new.iter().any(|c| c.name.eq_ignore_ascii_case(k)))
        .collect();
    if insert_cols.is_empty() && !new.is_empty() {
        // `insert into t () select from ...` is no statement: the new rows and the table share
        // no column (a renamed table, or a catalog entry another tool rewrote).
        return Err(format!(
            "the model's columns ({}) share none with {target} ({}); nothing could be inserted. Run with --full-refresh to rebuild it, or check that {target} is this model's table",
            new.iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            existing
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok((alters, insert_cols))
}

fn quoted_list(adapter: &dyn Adapter, cols: &[String]) -> String {
    cols.iter()
        .map(|c| adapter.quote(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The statements applying the staged rows to the target with the strategy.
/// `window` is a microbatch's `[start, end)` event-time bounds (SQL literals).
pub fn apply_sql(
    adapter: &dyn Adapter,
    node: &Node,
    cfg: &IncrementalConfig,
    columns: &[String],
    window: Option<(&str, &str)>,
) -> Vec<String> {
    let stage = stage(adapter, node);
    apply_at(
        adapter,
        &RelationTarget::of(node),
        &stage,
        cfg,
        columns,
        window,
    )
}

fn apply_at(
    adapter: &dyn Adapter,
    target: &RelationTarget,
    stage: &Stage,
    cfg: &IncrementalConfig,
    columns: &[String],
    window: Option<(&str, &str)>,
) -> Vec<String> {
    let target = target.sql(adapter);
    let stage = &stage.relation;
    let cols = quoted_list(adapter, columns);
    let insert = format!("insert into {target} ({cols}) select {cols} from {stage}");
    match cfg.strategy {
        Strategy::Append => vec![insert],
        Strategy::DeleteInsert => vec![
            adapter.delete_matching_sql(&target, stage, &cfg.unique_key, &cfg.predicates),
            insert,
        ],
        Strategy::Merge => vec![adapter.merge_options_sql(
            &target,
            stage,
            &cfg.unique_key,
            columns,
            &cfg.predicates,
            &cfg.merge,
        )],
        Strategy::InsertOverwrite => vec![
            adapter.delete_partitions_sql(&target, stage, &cfg.partition_by),
            insert,
        ],
        Strategy::Microbatch => {
            let col = adapter.quote(cfg.event_time.as_deref().unwrap_or("event_time"));
            match window {
                Some((start, end)) => vec![
                    format!("delete from {target} where {col} >= {start} and {col} < {end}"),
                    format!(
                        "insert into {target} ({cols}) select {cols} from {stage} where {col} >= {start} and {col} < {end}"
                    ),
                ],
                None => vec![insert],
            }
        }
    }
}

/// A timestamp as a SQL literal.
pub fn timestamp_literal(t: &chrono::NaiveDateTime) -> String {
    format!(
        "timestamp {}",
        string_literal(&t.format("%Y-%m-%d %H:%M:%S").to_string())
    )
}

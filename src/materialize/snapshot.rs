//! Snapshots (SCD type 2), with dbt's semantics and column names so that snapshot tables built
//! by dbt keep working: every version of a row, with `dbt_scd_id`, `dbt_updated_at`,
//! `dbt_valid_from`, `dbt_valid_to` (and `dbt_is_deleted` with `hard_deletes: new_record`).
//!
//! Strategies: `timestamp` (a row changed when its `updated_at` moved past the current
//! version's `dbt_valid_from`) and `check` (when any of `check_cols`, or every column, differs).
//! A run on an existing snapshot is one transaction where the engine has them: stage the query,
//! read the staged and the table's columns, then ([`Update`]) close the versions that changed
//! (and, per `hard_deletes`, those whose key vanished) and insert the new versions. The first
//! run builds the table and swaps it in, as a table model.

use super::plan::{ColumnSource, Continuation, Hooks, Plan, ReadColumns, Slot, Step};
use super::{PlanError, RelationTarget, Stage, TMP_SUFFIX, swap_in};
use crate::adapter::{Adapter, Column, RelationKind, string_literal};
use crate::project::Node;

pub use crate::project::settings::snapshot::{HardDeletes, MetaNames, SnapshotConfig, Strategy};

/// The suffix of the table staging the snapshot query's rows.
pub const STAGE_SUFFIX: &str = "__kiln_snap";

/// The staged source rows.
pub fn stage(adapter: &dyn Adapter, node: &Node) -> Stage {
    Stage::new(adapter, &RelationTarget::of(node), STAGE_SUFFIX)
}

/// The plan of a snapshot run, between the node's hooks: the first build when nothing stands
/// at its name, an update of the snapshot table otherwise. A view in the way is an error.
pub fn plan(
    adapter: &dyn Adapter,
    node: &Node,
    cfg: &SnapshotConfig,
    sql: &str,
    existing: Option<RelationKind>,
    hooks: &Hooks,
) -> Result<Plan, PlanError> {
    if adapter.supports_catalog_publish() {
        // dbt-athena's recipe: an Iceberg table, its changes merged in (`snapshot_merge`)
        return Ok(hooks.splice(super::snapshot_merge::plan(
            adapter, node, cfg, sql, existing,
        )?));
    }
    let target = RelationTarget::of(node);
    let plan = match existing {
        Some(RelationKind::Table) => {
            let stage = stage(adapter, node);
            let mut steps: Vec<Step> = stage_sql(adapter, node, sql)
                .into_iter()
                .map(Step::Execute)
                .collect();
            steps.push(Step::ReadColumns {
                source: ColumnSource::Query(adapter.select_no_rows_sql(&stage.relation)),
                slot: Slot::New,
            });
            steps.push(Step::ReadColumns {
                source: ColumnSource::Relation(target.clone()),
                slot: Slot::Existing,
            });
            steps.push(Step::Then(Box::new(Continuation::Snapshot(Update {
                target,
                stage,
                cfg: cfg.clone(),
                merge: None,
            }))));
            Plan::atomic(adapter, steps)
        }
        Some(RelationKind::View) => {
            return Err(PlanError(format!(
                "{} is a view, not a snapshot table; drop it or choose another target for the snapshot",
                target.sql(adapter)
            )));
        }
        None => {
            let tmp = target.suffixed(TMP_SUFFIX).sql(adapter);
            let create = adapter.create_table_as_sql(&tmp, &create_sql(adapter, cfg, sql));
            swap_in(adapter, &target, create, None)
        }
    };
    Ok(hooks.splice(plan))
}

/// The rest of a run on an existing snapshot, once the staged query's and the table's columns
/// are read.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    target: RelationTarget,
    stage: Stage,
    cfg: SnapshotConfig,
    /// Where tables are files published through a catalog: the change set staged and merged
    /// instead ([`super::snapshot_merge`]).
    merge: Option<Box<super::snapshot_merge::Merge>>,
}

impl Update {
    /// The rest of a run that merges a staged change set.
    pub(super) fn merge(
        adapter: &dyn Adapter,
        target: RelationTarget,
        cfg: SnapshotConfig,
        merge: super::snapshot_merge::Merge,
    ) -> Update {
        Update {
            stage: Stage::new(adapter, &target, super::publish::STAGE_SUFFIX),
            target,
            cfg,
            merge: Some(Box::new(merge)),
        }
    }

    pub(super) fn plan(
        &self,
        adapter: &dyn Adapter,
        read: &ReadColumns,
    ) -> Result<Vec<Step>, String> {
        if let Some(m) = &self.merge {
            return m.plan(adapter, read);
        }
        Ok(update_at(
            adapter,
            &self.target,
            &self.stage,
            &self.cfg,
            &read.new,
            &read.existing,
        )
        .into_iter()
        .map(Step::Execute)
        .collect())
    }
}

struct Sql<'a> {
    adapter: &'a dyn Adapter,
    cfg: &'a SnapshotConfig,
    /// The snapshot's "now": when this run happened, as a timestamp.
    now: String,
}

impl Sql<'_> {
    fn new<'a>(adapter: &'a dyn Adapter, cfg: &'a SnapshotConfig) -> Sql<'a> {
        Sql {
            adapter,
            cfg,
            now: adapter.current_timestamp_sql(),
        }
    }

    fn q(&self, s: &str) -> String {
        self.adapter.quote(s)
    }

    /// `coalesce(cast(<expr> as varchar), '')`: a hash input that is never NULL.
    fn text(&self, expr: &str) -> String {
        format!("coalesce({}, '')", self.adapter.cast_sql(expr, "varchar"))
    }

    /// The adapter's hash of `k1 || '|' || ... || '|' || updated`: over the key and the change
    /// time.
    fn scd_id(&self, alias: &str, updated: &str) -> String {
        let parts: Vec<String> = self
            .cfg
            .unique_key
            .iter()
            .map(|k| self.text(&format!("{alias}.{}", self.q(k))))
            .chain([self.text(updated)])
            .collect();
        self.adapter.hash_sql(&parts.join(" || '|' || "))
    }

    /// The change time of a source row: its updated_at, or the run's now.
    fn updated(&self, alias: &str) -> String {
        match &self.cfg.strategy {
            Strategy::Timestamp { updated_at } => format!("{alias}.{}", self.q(updated_at)),
            Strategy::Check { .. } => self.now.clone(),
        }
    }

    fn current_value(&self) -> String {
        self.cfg
            .valid_to_current
            .clone()
            .unwrap_or_else(|| "null".into())
    }

    /// `t` is the current version.
    fn is_current(&self, alias: &str) -> String {
        let col = format!("{alias}.{}", self.q(&self.cfg.names.valid_to));
        match &self.cfg.valid_to_current {
            Some(v) => format!("({col} = {v} or {col} is null)"),
            None => format!("{col} is null"),
        }
    }

    fn key_match(&self, a: &str, b: &str) -> String {
        self.cfg
            .unique_key
            .iter()
            .map(|k| format!("{a}.{q} = {b}.{q}", q = self.q(k)))
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// The meta columns for a new version from source row `s`.
    fn meta_values(&self, alias: &str, deleted: Option<bool>) -> Vec<String> {
        let updated = self.updated(alias);
        // NULL typed like the change time, so valid_to gets the type valid_from has.
        let valid_to = match &self.cfg.valid_to_current {
            Some(v) => v.clone(),
            None => format!("nullif({updated}, {updated})"),
        };
        let mut v = vec![
            self.scd_id(alias, &updated),
            updated.clone(),
            updated,
            valid_to,
        ];
        if let Some(d) = deleted {
            v.push(format!("'{}'", if d { "True" } else { "False" }));
        }
        v
    }

    fn meta_names(&self, with_deleted: bool) -> Vec<String> {
        let n = &self.cfg.names;
        let mut v = vec![
            self.q(&n.scd_id),
            self.q(&n.updated_at),
            self.q(&n.valid_from),
            self.q(&n.valid_to),
        ];
        if with_deleted {
            v.push(self.q(&n.is_deleted));
        }
        v
    }
}

/// The first build: the query's rows, each a current version.
pub fn create_sql(adapter: &dyn Adapter, cfg: &SnapshotConfig, sql: &str) -> String {
    let s = Sql::new(adapter, cfg);
    let with_deleted = cfg.hard_deletes == HardDeletes::NewRecord;
    let cols: Vec<String> = s
        .meta_values("snapshot_query", with_deleted.then_some(false))
        .into_iter()
        .zip(s.meta_names(with_deleted))
        .map(|(v, n)| format!("{v} as {n}"))
        .collect();
    format!(
        "select snapshot_query.*, {} from (\n{}\n) snapshot_query",
        cols.join(", "),
        sql.trim()
    )
}

/// Stages the snapshot query in a temporary table (first statements of a run on an existing
/// snapshot).
pub fn stage_sql(adapter: &dyn Adapter, node: &Node, sql: &str) -> Vec<String> {
    stage(adapter, node).create(adapter, sql)
}

/// The statements of a run against an existing snapshot table, after [`stage_sql`].
/// `source_columns` are the staged query's columns; `existing` the table's (new source columns
/// are added to the table).
pub fn update_sql(
    adapter: &dyn Adapter,
    node: &Node,
    cfg: &SnapshotConfig,
    source_columns: &[Column],
    existing: &[Column],
) -> Vec<String> {
    let stage = stage(adapter, node);
    update_at(
        adapter,
        &RelationTarget::of(node),
        &stage,
        cfg,
        source_columns,
        existing,
    )
}

fn update_at(
    adapter: &dyn Adapter,
    target: &RelationTarget,
    stage: &Stage,
    cfg: &SnapshotConfig,
    source_columns: &[Column],
    existing: &[Column],
) -> Vec<String> {
    let s = Sql::new(adapter, cfg);
    let now = s.now.as_str();
    let target = target.sql(adapter);
    let stage = stage.relation.as_str();
    let n = &cfg.names;
    let mut out = vec![];
    // Columns new in the query are added to the table.
    for c in source_columns {
        if !existing
            .iter()
            .any(|e| e.name.eq_ignore_ascii_case(&c.name))
        {
            out.push(adapter.add_column_sql(&target, &c.name, &c.data_type));
        }
    }
    let with_deleted = cfg.hard_deletes == HardDeletes::NewRecord
        || existing
            .iter()
            .any(|e| e.name.eq_ignore_ascii_case(&n.is_deleted));
    let src_cols: Vec<String> = source_columns
        .iter()
        .map(|c| adapter.quote(&c.name))
        .collect();
    let changed = match &cfg.strategy {
        Strategy::Timestamp { updated_at } => {
            format!("t.{} < s.{}", s.q(&n.valid_from), s.q(updated_at))
        }
        Strategy::Check { cols } => {
            let cols: Vec<String> = match cols {
                Some(c) => c.clone(),
                None => source_columns.iter().map(|c| c.name.clone()).collect(),
            };
            let diffs: Vec<String> = cols
                .iter()
                .map(|c| format!("t.{q} is distinct from s.{q}", q = s.q(c)))
                .collect();
            format!(
                "({})",
                if diffs.is_empty() {
                    "false".into()
                } else {
                    diffs.join(" or ")
                }
            )
        }
    };
    let deleted_marker = if with_deleted {
        format!(" or coalesce(t.{}, 'False') = 'True'", s.q(&n.is_deleted))
    } else {
        String::new()
    };
    let valid_to_new = match &cfg.strategy {
        Strategy::Timestamp { updated_at } => format!("s.{}", s.q(updated_at)),
        Strategy::Check { .. } => now.to_string(),
    };
    // 1. Close the current versions of rows that changed (or came back after a delete marker).
    out.push(adapter.update_from_sql(
        &target,
        &s.q(&n.valid_to),
        &valid_to_new,
        stage,
        &format!(
            "{keys} and {cur} and ({changed}{deleted_marker})",
            keys = s.key_match("s", "t"),
            cur = s.is_current("t"),
        ),
    ));
    // 2. Keys that vanished from the query.
    let vanished = format!(
        "{} and not exists (select 1 from {stage} as s where {})",
        s.is_current("t"),
        s.key_match("s", "t")
    );
    match cfg.hard_deletes {
        HardDeletes::Ignore => {}
        HardDeletes::Invalidate => out.push(format!(
            "update {target} as t set {} = {now} where {vanished}",
            s.q(&n.valid_to)
        )),
        HardDeletes::NewRecord => {
            // A deletion marker per vanished key (a copy of its last version), then the old
            // version is closed. Markers already current are left alone.
            let not_marker = format!("coalesce(t.{}, 'False') <> 'True'", s.q(&n.is_deleted));
            let all_cols: Vec<String> = existing
                .iter()
                .filter(|c| {
                    ![
                        &n.scd_id,
                        &n.updated_at,
                        &n.valid_from,
                        &n.valid_to,
                        &n.is_deleted,
                    ]
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(&c.name))
                })
                .map(|c| adapter.quote(&c.name))
                .collect();
            let keys_hash: Vec<String> = cfg
                .unique_key
                .iter()
                .map(|k| s.text(&format!("t.{}", s.q(k))))
                .chain([s.text(now)])
                .collect();
            out.push(format!(
                "insert into {target} ({cols}, {meta}) select {tcols}, {hash}, {now}, {now}, {cur}, 'True' from {target} as t where {vanished} and {not_marker}",
                cols = all_cols.join(", "),
                meta = s.meta_names(true).join(", "),
                tcols = all_cols.iter().map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", "),
                hash = adapter.hash_sql(&keys_hash.join(" || '|' || ")),
                cur = s.current_value(),
            ));
            out.push(format!(
                "update {target} as t set {} = {now} where {vanished} and {not_marker}",
                s.q(&n.valid_to)
            ));
        }
    }
    // 3. A new current version for every staged row without one (new keys, changed rows).
    let meta_values = s.meta_values("s", with_deleted.then_some(false));
    out.push(format!(
        "insert into {target} ({cols}, {meta}) select {scols}, {values} from {stage} as s where not exists (select 1 from {target} as t where {keys} and {cur})",
        cols = src_cols.join(", "),
        meta = s.meta_names(with_deleted).join(", "),
        scols = src_cols.iter().map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", "),
        values = meta_values.join(", "),
        keys = s.key_match("s", "t"),
        cur = s.is_current("t"),
    ));
    out.push(adapter.drop_relation_sql(RelationKind::Table, stage));
    out
}

/// A literal for `dbt_valid_to_current` values given as dates.
pub fn literal(s: &str) -> String {
    string_literal(s)
}

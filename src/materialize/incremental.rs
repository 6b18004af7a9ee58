//! Incremental models: the SQL of one incremental step. The runner drives the step inside one
//! transaction: stage the new rows in a temporary table, check them (merge keys), reconcile the
//! schema (`on_schema_change`), then apply the strategy; any failure rolls everything back, so
//! the target is exactly as it was before the step.
//!
//! Strategies: `append`, `merge`, `delete+insert`, `insert_overwrite` (by partition column) and
//! `microbatch` (each batch replaces exactly its own event-time window).

use super::Target;
use crate::adapter::{Adapter, Column, string_literal};
use crate::project::Node;
use serde_json::Value as Json;

pub use crate::project::settings::incremental::{
    DuplicateKeys, IncrementalConfig, OnSchemaChange, Strategy,
};

/// The temporary table holding one step's new rows.
pub fn staging_name(node: &Node) -> String {
    format!("{}__kiln_new", node.alias)
}

/// Creates the staging table from the model's SQL (connection-local, dropped at the end).
pub fn stage_sql(
    adapter: &dyn Adapter,
    node: &Node,
    sql: &str,
    cfg: &IncrementalConfig,
) -> Vec<String> {
    let stage = adapter.quote(&staging_name(node));
    let body = match (cfg.duplicate_keys, cfg.unique_key.is_empty()) {
        (DuplicateKeys::Dedupe, false) => {
            let keys = quoted_list(adapter, &cfg.unique_key);
            let order = cfg
                .event_time
                .as_deref()
                .or_else(|| node.config.get("updated_at").and_then(Json::as_str))
                .map_or_else(|| "1".to_string(), |c| format!("{} desc", adapter.quote(c)));
            format!(
                "select * from (\n{}\n) kiln_src qualify row_number() over (partition by {keys} order by {order}) = 1",
                sql.trim()
            )
        }
        _ => sql.trim().to_string(),
    };
    vec![
        format!("drop table if exists {stage}"),
        format!("create temporary table {stage} as (\n{body}\n)"),
    ]
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
        // (deduplicated rows hold each key once; NULL keys are still merged as dbt would)
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
        adapter.quote(&staging_name(node))
    ))
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
    let diff = SchemaDiff::between(new, existing);
    let target = Target::of(node).sql(adapter);
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
                    alters.push(format!(
                        "alter table {target} add column {} {}",
                        adapter.quote(&c.name),
                        c.data_type
                    ));
                    kept.push(c.name.clone());
                }
            }
            OnSchemaChange::SyncAllColumns => {
                for c in &diff.added {
                    alters.push(format!(
                        "alter table {target} add column {} {}",
                        adapter.quote(&c.name),
                        c.data_type
                    ));
                    kept.push(c.name.clone());
                }
                for c in &diff.removed {
                    alters.push(format!(
                        "alter table {target} drop column {}",
                        adapter.quote(&c.name)
                    ));
                    kept.retain(|k| !k.eq_ignore_ascii_case(&c.name));
                }
                for (c, t) in &diff.changed {
                    alters.push(format!(
                        "alter table {target} alter column {} set data type {t}",
                        adapter.quote(&c.name)
                    ));
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
    let target = Target::of(node).sql(adapter);
    let stage = adapter.quote(&staging_name(node));
    let cols = quoted_list(adapter, columns);
    let insert = format!("insert into {target} ({cols}) select {cols} from {stage}");
    let extra_predicates = |alias: &str| -> String {
        cfg.predicates
            .iter()
            .map(|p| format!(" and ({})", p.replace("DBT_INTERNAL_DEST", alias)))
            .collect()
    };
    match cfg.strategy {
        Strategy::Append => vec![insert],
        Strategy::DeleteInsert => {
            let keys = quoted_list(adapter, &cfg.unique_key);
            let delete = if cfg.unique_key.len() == 1 {
                format!(
                    "delete from {target} as DBT_INTERNAL_DEST where ({keys}) in (select {keys} from {stage}){}",
                    extra_predicates("DBT_INTERNAL_DEST")
                )
            } else {
                let on = cfg
                    .unique_key
                    .iter()
                    .map(|k| {
                        let q = adapter.quote(k);
                        format!("DBT_INTERNAL_SOURCE.{q} = DBT_INTERNAL_DEST.{q}")
                    })
                    .collect::<Vec<_>>()
                    .join(" and ");
                format!(
                    "delete from {target} as DBT_INTERNAL_DEST where exists (select 1 from {stage} as DBT_INTERNAL_SOURCE where {on}){}",
                    extra_predicates("DBT_INTERNAL_DEST")
                )
            };
            vec![delete, insert]
        }
        Strategy::Merge => {
            let on = cfg
                .unique_key
                .iter()
                .map(|k| {
                    let q = adapter.quote(k);
                    format!("DBT_INTERNAL_SOURCE.{q} = DBT_INTERNAL_DEST.{q}")
                })
                .collect::<Vec<_>>()
                .join(" and ");
            let updates = columns
                .iter()
                .filter(|c| !cfg.unique_key.iter().any(|k| k.eq_ignore_ascii_case(c)))
                .map(|c| {
                    let q = adapter.quote(c);
                    format!("{q} = DBT_INTERNAL_SOURCE.{q}")
                })
                .collect::<Vec<_>>();
            let values = columns
                .iter()
                .map(|c| format!("DBT_INTERNAL_SOURCE.{}", adapter.quote(c)))
                .collect::<Vec<_>>()
                .join(", ");
            let matched = if updates.is_empty() {
                String::new()
            } else {
                format!("\nwhen matched then update set {}", updates.join(", "))
            };
            vec![format!(
                "merge into {target} as DBT_INTERNAL_DEST using {stage} as DBT_INTERNAL_SOURCE on {on}{}{matched}\nwhen not matched then insert ({cols}) values ({values})",
                extra_predicates("DBT_INTERNAL_DEST")
            )]
        }
        Strategy::InsertOverwrite => {
            let parts = quoted_list(adapter, &cfg.partition_by);
            vec![
                format!(
                    "delete from {target} where ({parts}) in (select distinct {parts} from {stage})"
                ),
                insert,
            ]
        }
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

/// Drops the staging table.
pub fn cleanup_sql(adapter: &dyn Adapter, node: &Node) -> String {
    format!(
        "drop table if exists {}",
        adapter.quote(&staging_name(node))
    )
}

/// A timestamp as a SQL literal.
pub fn timestamp_literal(t: &chrono::NaiveDateTime) -> String {
    format!(
        "timestamp {}",
        string_literal(&t.format("%Y-%m-%d %H:%M:%S").to_string())
    )
}

//! Microbatch incremental models: the model's rows are processed in event-time windows
//! (`batch_size`: hour, day, month or year). Each batch renders the model with its window (refs to
//! models and sources that declare an `event_time` see only that window), then replaces exactly
//! that window of the target, in one transaction, so re-running a batch never duplicates rows.
//!
//! The settings (`event_time`, `batch_size`, `begin`, `lookback`) are parsed and checked with the
//! rest of the node's config in the parse phase (`crate::project::settings::microbatch`); the
//! windows they describe are computed here, in `impl` blocks of those types.

use super::contract::{Contract, ForeignKeyTargets};
use super::incremental::{self, IncrementalConfig};
use super::plan::{Hooks, Plan, Step};
use super::{PlanError, RelationTarget};
use crate::adapter::{Adapter, RelationKind};
use crate::project::Node;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

pub use crate::project::settings::microbatch::{BatchSize, MicrobatchConfig, parse_time};

/// A microbatch model's first build (or full refresh): what stands at its name, and its
/// contract's resolved foreign-key parents.
#[derive(Debug, Clone, Copy)]
pub struct FirstBuild<'a> {
    pub existing: Option<RelationKind>,
    pub parents: &'a ForeignKeyTargets,
}

/// One batch as a plan, one transaction where the engine has them: on the first build, an empty
/// table shaped like the model (under a contract, with the declared columns and constraints),
/// then the incremental step for the batch's `window` (`[start, end)`, SQL literals).
pub fn batch_plan(
    adapter: &dyn Adapter,
    node: &Node,
    cfg: &IncrementalConfig,
    sql: &str,
    hooks: &Hooks,
    window: (String, String),
    first: Option<FirstBuild<'_>>,
) -> Result<Plan, PlanError> {
    let mut steps = vec![];
    if let Some(first) = first
        && adapter.supports_catalog_publish()
    {
        // Where tables are files: an empty table shaped like the model, built aside and
        // published as a table is (its partitions come with the batches).
        let empty = format!("select * from (\n{}\n) kiln_shape where 1 = 0", sql.trim());
        let table = super::publish::table(
            adapter,
            node,
            &empty,
            first.existing,
            &super::publish::build_id(),
        )?;
        let mut steps = table.steps;
        steps.extend(
            hooks
                .splice(Plan::new(incremental::step_steps(
                    adapter,
                    node,
                    cfg,
                    sql,
                    Some(window),
                )?))
                .steps,
        );
        return Ok(Plan::atomic(adapter, steps));
    }
    if let Some(first) = first {
        let target = RelationTarget::of(node).sql(adapter);
        if first.existing == Some(RelationKind::View) {
            steps.push(adapter.drop_relation_sql(RelationKind::View, &target));
        }
        match Contract::of(adapter, node) {
            Some(contract) => {
                steps.push(adapter.drop_relation_sql(RelationKind::Table, &target));
                steps.push(contract.create_sql(adapter, &target, first.parents));
            }
            None => steps.extend(adapter.create_empty_table_sql(&target, sql)),
        }
    }
    let mut steps: Vec<Step> = steps.into_iter().map(Step::Execute).collect();
    let step = Plan::new(incremental::step_steps(
        adapter,
        node,
        cfg,
        sql,
        Some(window),
    )?);
    steps.extend(hooks.splice(step).steps);
    Ok(Plan::atomic(adapter, steps))
}

impl BatchSize {
    /// The start of the window holding `t`.
    pub fn truncate(self, t: NaiveDateTime) -> NaiveDateTime {
        let d = t.date();
        let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
        match self {
            BatchSize::Hour => midnight(d) + Duration::hours(i64::from(t.hour())),
            BatchSize::Day => midnight(d),
            BatchSize::Month => midnight(d.with_day(1).unwrap_or(d)),
            BatchSize::Year => midnight(NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d)),
        }
    }

    /// `t` moved by `n` windows (negative: back).
    pub fn step(self, t: NaiveDateTime, n: i64) -> NaiveDateTime {
        match self {
            BatchSize::Hour => t + Duration::hours(n),
            BatchSize::Day => t + Duration::days(n),
            BatchSize::Month | BatchSize::Year => {
                let months = if self == BatchSize::Month { n } else { n * 12 };
                let total = i64::from(t.year()) * 12 + i64::from(t.month0()) + months;
                let (y, m) = (total.div_euclid(12), total.rem_euclid(12) + 1);
                NaiveDate::from_ymd_opt(y as i32, m as u32, 1).map_or(t, |d| d.and_time(t.time()))
            }
        }
    }
}

impl MicrobatchConfig {
    /// The windows to process: from the flags when given; else, on an incremental run, the
    /// current window and `lookback` before it; on a first build or full refresh, everything
    /// from `begin`.
    pub fn batches(
        &self,
        now: NaiveDateTime,
        incremental: bool,
        start: Option<NaiveDateTime>,
        end: Option<NaiveDateTime>,
    ) -> Result<Vec<(NaiveDateTime, NaiveDateTime)>, String> {
        let size = self.batch_size;
        let end = end.unwrap_or(now);
        let start = match start {
            Some(s) => s,
            None if incremental => size.step(size.truncate(now), -self.lookback),
            None => self.begin.ok_or_else(|| {
                "a microbatch model needs `begin` (the first event time to load) for its first build or a full refresh; or pass --event-time-start".to_string()
            })?,
        };
        let mut out = vec![];
        let mut t = size.truncate(start);
        while t < end {
            let next = size.step(t, 1);
            out.push((t, next));
            t = next;
            if out.len() > 1_000_000 {
                return Err("more than a million batches: check begin and batch_size".into());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        parse_time(s).unwrap()
    }

    #[test]
    fn windows_align_on_batch_boundaries() {
        let cfg = MicrobatchConfig {
            event_time: "at".into(),
            batch_size: BatchSize::Day,
            begin: Some(t("2024-01-01")),
            lookback: 1,
        };
        let now = t("2024-01-03 10:30:00");
        let all = cfg.batches(now, false, None, None).unwrap();
        assert_eq!(
            all,
            vec![
                (t("2024-01-01"), t("2024-01-02")),
                (t("2024-01-02"), t("2024-01-03")),
                (t("2024-01-03"), t("2024-01-04")),
            ]
        );
        // incremental: today and one day of lookback
        assert_eq!(
            cfg.batches(now, true, None, None).unwrap(),
            all[1..].to_vec()
        );
        // a backfill of one day
        assert_eq!(
            cfg.batches(now, true, Some(t("2024-01-02")), Some(t("2024-01-03")))
                .unwrap(),
            vec![(t("2024-01-02"), t("2024-01-03"))]
        );
    }

    #[test]
    fn months_and_years_step_by_calendar() {
        assert_eq!(BatchSize::Month.step(t("2024-11-01"), 3), t("2025-02-01"));
        assert_eq!(
            BatchSize::Month.truncate(t("2024-02-29 23:00:00")),
            t("2024-02-01")
        );
        assert_eq!(BatchSize::Year.step(t("2024-01-01"), -1), t("2023-01-01"));
        assert_eq!(
            BatchSize::Hour.truncate(t("2024-01-01 05:59:59")),
            t("2024-01-01 05:00:00")
        );
    }
}

//! Microbatch incremental models: the model's rows are processed in event-time windows
//! (`batch_size`: hour, day, month or year). Each batch renders the model with its window (refs to
//! models and sources that declare an `event_time` see only that window), then replaces exactly
//! that window of the target, in one transaction, so re-running a batch never duplicates rows.

use super::contract::{Contract, ForeignKeyTargets};
use super::incremental::{self, IncrementalConfig};
use super::plan::{Hooks, Plan, Step};
use super::{PlanError, RelationTarget};
use crate::adapter::{Adapter, RelationKind};
use crate::project::Node;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde_json::Value as Json;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    Hour,
    Day,
    Month,
    Year,
}

impl BatchSize {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "hour" => BatchSize::Hour,
            "day" => BatchSize::Day,
            "month" => BatchSize::Month,
            "year" => BatchSize::Year,
            _ => return None,
        })
    }

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

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` or with a `T`.
pub fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim().trim_end_matches('Z');
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN))
}

#[derive(Debug, Clone, PartialEq)]
pub struct MicrobatchConfig {
    pub event_time: String,
    pub batch_size: BatchSize,
    pub begin: Option<NaiveDateTime>,
    pub lookback: i64,
}

impl MicrobatchConfig {
    pub fn of(node: &Node) -> Result<Self, String> {
        let c = &node.config;
        let file = &node.original_file_path;
        let event_time = c
            .get("event_time")
            .and_then(Json::as_str)
            .ok_or_else(|| format!("{file}: a microbatch model needs event_time"))?
            .to_string();
        let batch_size = c
            .get("batch_size")
            .and_then(Json::as_str)
            .and_then(BatchSize::parse)
            .ok_or_else(|| {
                format!("{file}: a microbatch model needs batch_size: hour, day, month or year")
            })?;
        let begin = match c.get("begin") {
            Some(Json::String(s)) => Some(
                parse_time(s)
                    .ok_or_else(|| format!("{file}: begin '{s}' is not a date or time"))?,
            ),
            _ => None,
        };
        let lookback = c.get("lookback").and_then(Json::as_i64).unwrap_or(1).max(0);
        Ok(MicrobatchConfig {
            event_time,
            batch_size,
            begin,
            lookback,
        })
    }

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

//! A microbatch model's settings: the event-time column, the window size, where the first build
//! begins, how many windows an incremental run looks back. Computing the windows is
//! `materialize::microbatch`'s business.

use super::{ConfigProblem, Problems, shown, text};
use crate::project::config::Config;
use crate::project::node::Node;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    Hour,
    Day,
    Month,
    Year,
}

impl BatchSize {
    pub const NAMES: &[&str] = &["hour", "day", "month", "year"];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "hour" => BatchSize::Hour,
            "day" => BatchSize::Day,
            "month" => BatchSize::Month,
            "year" => BatchSize::Year,
            _ => return None,
        })
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
    /// The config the parse phase settled for `node`, which the materialization reads.
    pub fn of(node: &Node) -> Result<Self, String> {
        node.settings
            .microbatch
            .clone()
            .ok_or_else(|| super::unsettled(node, "microbatch"))
    }

    /// Reads and checks a microbatch model's config; every wrong value is reported.
    pub fn parse(c: &Config) -> Result<Self, Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        // A missing event_time is reported with the strategy (see IncrementalConfig::parse).
        let event_time = problems
            .take(text(c, "event_time"))
            .flatten()
            .map(String::from);
        let batch_size = match problems.take(text(c, "batch_size")).flatten() {
            Some(s) => BatchSize::parse(s).or_else(|| {
                problems.push(ConfigProblem::not_one_of("batch_size", s, BatchSize::NAMES));
                None
            }),
            None => {
                let key: &[&str] = if c.contains_key("incremental_strategy") {
                    &["incremental_strategy"]
                } else {
                    &[]
                };
                problems.push(ConfigProblem::new(
                    key,
                    "a microbatch model needs batch_size: hour, day, month or year",
                    "set batch_size to the size of the window each batch processes, e.g. batch_size: day",
                ));
                None
            }
        };
        let begin = match c.get("begin") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => parse_time(s).or_else(|| {
                problems.push(ConfigProblem::new(
                    &["begin"],
                    format!("begin '{s}' is not a date or time"),
                    "write begin as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS, e.g. begin: '2024-01-01'",
                ));
                None
            }),
            Some(other) => {
                problems.push(ConfigProblem::wrong_type(
                    &["begin"],
                    other,
                    "a date such as '2024-01-01'",
                ));
                None
            }
        };
        let lookback = match c.get("lookback") {
            None | Some(Value::Null) => 1,
            Some(Value::Number(n)) if n.as_i64().is_some_and(|n| n >= 0) => n.as_i64().unwrap_or(1),
            Some(other) => {
                problems.push(ConfigProblem::new(
                    &["lookback"],
                    format!(
                        "lookback must be a whole number of batches (0 or more), not {}",
                        shown(other)
                    ),
                    "set lookback to how many batches before the current one an incremental run reprocesses, e.g. lookback: 1",
                ));
                1
            }
        };
        problems.finish(|| MicrobatchConfig {
            event_time: event_time.unwrap_or_default(),
            batch_size: batch_size.unwrap_or(BatchSize::Day),
            begin,
            lookback,
        })
    }
}

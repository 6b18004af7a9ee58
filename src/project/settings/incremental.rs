//! An incremental model's settings: the strategy, its keys, what to do when the columns change.
//! How each step runs is `materialize::incremental`'s business.

use super::{ConfigProblem, Problems, columns, text};
use crate::project::config::Config;
use crate::project::node::Node;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Append,
    Merge,
    DeleteInsert,
    InsertOverwrite,
    Microbatch,
}

impl Strategy {
    /// The names written in `incremental_strategy` (`delete_insert` is accepted too).
    pub const NAMES: &[&str] = &[
        "append",
        "merge",
        "delete+insert",
        "insert_overwrite",
        "microbatch",
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "append" => Strategy::Append,
            "merge" => Strategy::Merge,
            "delete+insert" | "delete_insert" => Strategy::DeleteInsert,
            "insert_overwrite" => Strategy::InsertOverwrite,
            "microbatch" => Strategy::Microbatch,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Append => "append",
            Strategy::Merge => "merge",
            Strategy::DeleteInsert => "delete+insert",
            Strategy::InsertOverwrite => "insert_overwrite",
            Strategy::Microbatch => "microbatch",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSchemaChange {
    Ignore,
    Fail,
    AppendNewColumns,
    SyncAllColumns,
}

impl OnSchemaChange {
    pub const NAMES: &[&str] = &["ignore", "fail", "append_new_columns", "sync_all_columns"];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ignore" => OnSchemaChange::Ignore,
            "fail" => OnSchemaChange::Fail,
            "append_new_columns" => OnSchemaChange::AppendNewColumns,
            "sync_all_columns" => OnSchemaChange::SyncAllColumns,
            _ => return None,
        })
    }
}

/// What to do when the new rows hold duplicate or NULL merge keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateKeys {
    /// Stop before writing, naming the key and a value (kiln's default; dbt would duplicate).
    Fail,
    /// Keep one row per key (the last by `event_time` / `updated_at` when configured).
    Dedupe,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncrementalConfig {
    pub strategy: Strategy,
    pub unique_key: Vec<String>,
    pub on_schema_change: OnSchemaChange,
    pub predicates: Vec<String>,
    pub partition_by: Vec<String>,
    pub duplicate_keys: DuplicateKeys,
    pub event_time: Option<String>,
}

impl IncrementalConfig {
    /// The config the parse phase settled for `node`, which the materialization reads.
    pub fn of(node: &Node) -> Result<Self, String> {
        node.settings
            .incremental
            .clone()
            .ok_or_else(|| super::unsettled(node, "incremental"))
    }

    /// Reads and checks an incremental model's config; every wrong value is reported.
    pub fn parse(c: &Config) -> Result<Self, Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        let unique_key = problems.take(columns(c, "unique_key")).unwrap_or_default();
        let written = problems.take(text(c, "incremental_strategy")).flatten();
        let strategy = match written {
            None if unique_key.is_empty() => Some(Strategy::Append),
            // dbt-duckdb's default with a unique_key.
            None => Some(Strategy::DeleteInsert),
            Some(s) => Strategy::parse(s).or_else(|| {
                problems.push(ConfigProblem::not_one_of(
                    "incremental_strategy",
                    s,
                    Strategy::NAMES,
                ));
                None
            }),
        };
        // A requirement of the strategy is pointed at the strategy when it was written.
        let strategy_key: &[&str] = if written.is_some() {
            &["incremental_strategy"]
        } else {
            &[]
        };
        if let Some(s @ (Strategy::Merge | Strategy::DeleteInsert)) = strategy
            && unique_key.is_empty()
        {
            problems.push(ConfigProblem::new(
                strategy_key,
                format!(
                    "the {} strategy needs a unique_key (a column or a list of columns)",
                    s.as_str()
                ),
                "set unique_key to the column (or columns) that identify a row, or use incremental_strategy: append",
            ));
        }
        let on_schema_change = match problems.take(text(c, "on_schema_change")).flatten() {
            None => OnSchemaChange::Ignore,
            Some(s) => OnSchemaChange::parse(s).unwrap_or_else(|| {
                problems.push(ConfigProblem::not_one_of(
                    "on_schema_change",
                    s,
                    OnSchemaChange::NAMES,
                ));
                OnSchemaChange::Ignore
            }),
        };
        let partition_by = problems
            .take(columns(c, "partition_by"))
            .unwrap_or_default();
        if strategy == Some(Strategy::InsertOverwrite) && partition_by.is_empty() {
            problems.push(ConfigProblem::new(
                strategy_key,
                "the insert_overwrite strategy needs partition_by (the column whose partitions are replaced)",
                "set partition_by to the column (or columns) whose partitions each run replaces",
            ));
        }
        let event_time = problems
            .take(text(c, "event_time"))
            .flatten()
            .map(String::from);
        if strategy == Some(Strategy::Microbatch) && event_time.is_none() {
            problems.push(ConfigProblem::new(
                strategy_key,
                "the microbatch strategy needs event_time (the column that dates each row)",
                "set event_time to the model's timestamp column, e.g. event_time: ordered_at",
            ));
        }
        let duplicate_keys = match problems.take(text(c, "unique_key_duplicates")).flatten() {
            None | Some("fail") => DuplicateKeys::Fail,
            Some("dedupe") => DuplicateKeys::Dedupe,
            Some(other) => {
                problems.push(ConfigProblem::not_one_of(
                    "unique_key_duplicates",
                    other,
                    &["fail", "dedupe"],
                ));
                DuplicateKeys::Fail
            }
        };
        let predicates = match c.get("incremental_predicates") {
            None | Some(Value::Null) => vec![],
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            Some(other) => {
                problems.push(ConfigProblem::wrong_type(
                    &["incremental_predicates"],
                    other,
                    "a list of SQL conditions",
                ));
                vec![]
            }
        };
        problems.finish(|| IncrementalConfig {
            strategy: strategy.unwrap_or(Strategy::Append),
            unique_key,
            on_schema_change,
            predicates: predicates
                .into_iter()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            partition_by,
            duplicate_keys,
            event_time,
        })
    }
}

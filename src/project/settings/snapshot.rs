//! A snapshot's settings: how a changed row is recognised (strategy), its key, what happens to
//! rows that vanish, the names of its meta columns. The SQL is `materialize::snapshot`'s.

use super::{ConfigProblem, Problems, columns, shown, text};
use crate::project::config::Config;
use crate::project::node::Node;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    Timestamp {
        updated_at: String,
    },
    /// `None`: all columns.
    Check {
        cols: Option<Vec<String>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HardDeletes {
    Ignore,
    Invalidate,
    NewRecord,
}

impl HardDeletes {
    pub const NAMES: &[&str] = &["ignore", "invalidate", "new_record"];
}

/// The meta column names (`snapshot_meta_column_names`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetaNames {
    pub scd_id: String,
    pub updated_at: String,
    pub valid_from: String,
    pub valid_to: String,
    pub is_deleted: String,
}

impl MetaNames {
    /// The keys of `snapshot_meta_column_names`, which are also the default names.
    pub const KEYS: &[&str] = &[
        "dbt_scd_id",
        "dbt_updated_at",
        "dbt_valid_from",
        "dbt_valid_to",
        "dbt_is_deleted",
    ];
}

#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotConfig {
    pub strategy: Strategy,
    pub unique_key: Vec<String>,
    pub hard_deletes: HardDeletes,
    /// `dbt_valid_to_current`: the value current rows hold in valid_to instead of NULL.
    pub valid_to_current: Option<String>,
    pub names: MetaNames,
}

impl SnapshotConfig {
    /// The config the parse phase settled for `node`, which the materialization reads.
    pub fn of(node: &Node) -> Result<Self, String> {
        node.settings
            .snapshot
            .clone()
            .ok_or_else(|| super::unsettled(node, "snapshot"))
    }

    /// Reads and checks a snapshot's config; every wrong value is reported.
    pub fn parse(c: &Config) -> Result<Self, Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        let unique_key = problems.take(columns(c, "unique_key")).unwrap_or_default();
        if unique_key.is_empty() && !problems.0.iter().any(|p| p.key == ["unique_key"]) {
            problems.push(ConfigProblem::verb(
                &[],
                "needs a unique_key (a column or a list of columns)",
                "set unique_key in the snapshot's config to the column (or columns) that identify a row",
            ));
        }
        let strategy = match problems.take(text(c, "strategy")).flatten() {
            Some("timestamp") => match problems.take(text(c, "updated_at")).flatten() {
                Some(updated_at) => Some(Strategy::Timestamp {
                    updated_at: updated_at.to_string(),
                }),
                None => {
                    problems.push(ConfigProblem::new(
                        &["strategy"],
                        "the timestamp strategy needs updated_at (the column that says when a row last changed)",
                        "set updated_at to that column, or use strategy: check with check_cols",
                    ));
                    None
                }
            },
            Some("check") => match c.get("check_cols") {
                Some(Value::String(s)) if s == "all" => Some(Strategy::Check { cols: None }),
                None | Some(Value::Null) => {
                    problems.push(ConfigProblem::new(
                        &["strategy"],
                        "the check strategy needs check_cols ('all' or a list of columns)",
                        "set check_cols to the columns whose changes make a new version, or to 'all'",
                    ));
                    None
                }
                Some(v) => match columns(c, "check_cols") {
                    Ok(cols) if !cols.is_empty() => Some(Strategy::Check { cols: Some(cols) }),
                    _ => {
                        problems.push(ConfigProblem::new(
                            &["check_cols"],
                            format!(
                                "check_cols must be 'all' or a list of columns, not {}",
                                shown(v)
                            ),
                            "list the columns whose changes make a new version, e.g. check_cols: [status, amount], or write 'all'",
                        ));
                        None
                    }
                },
            },
            Some(other) => {
                problems.push(ConfigProblem::not_one_of(
                    "strategy",
                    other,
                    &["timestamp", "check"],
                ));
                None
            }
            None => {
                if !c.contains_key("strategy") {
                    problems.push(ConfigProblem::verb(
                        &[],
                        "needs a strategy: timestamp (with updated_at) or check (with check_cols)",
                        "set strategy in the snapshot's config",
                    ));
                }
                None
            }
        };
        let hard_deletes = match problems.take(text(c, "hard_deletes")).flatten() {
            Some("invalidate") => HardDeletes::Invalidate,
            Some("new_record") => HardDeletes::NewRecord,
            Some("ignore") => HardDeletes::Ignore,
            Some(other) => {
                problems.push(ConfigProblem::not_one_of(
                    "hard_deletes",
                    other,
                    HardDeletes::NAMES,
                ));
                HardDeletes::Ignore
            }
            None if c.get("invalidate_hard_deletes").and_then(Value::as_bool) == Some(true) => {
                HardDeletes::Invalidate
            }
            None => HardDeletes::Ignore,
        };
        let valid_to_current = problems
            .take(text(c, "dbt_valid_to_current"))
            .flatten()
            .map(String::from);
        let names = meta_names(c, &mut problems);
        problems.finish(|| SnapshotConfig {
            strategy: strategy.unwrap_or(Strategy::Check { cols: None }),
            unique_key,
            hard_deletes,
            valid_to_current,
            names,
        })
    }
}

fn meta_names(c: &Config, problems: &mut Problems) -> MetaNames {
    let key = "snapshot_meta_column_names";
    let written = match c.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(other) => {
            problems.push(ConfigProblem::wrong_type(
                &[key],
                other,
                "a mapping such as {dbt_valid_from: valid_from}",
            ));
            None
        }
    };
    if let Some(m) = written {
        for (k, v) in m {
            if !MetaNames::KEYS.contains(&k.as_str()) {
                let mut p = ConfigProblem::not_one_of(key, k, MetaNames::KEYS);
                p.key.push(k.clone());
                p.message = format!(
                    "{key} names '{k}', which is not one of {}",
                    MetaNames::KEYS.join(", ")
                );
                problems.push(p);
            } else if !matches!(v, Value::String(s) if !s.trim().is_empty()) {
                problems.push(ConfigProblem::wrong_type(&[key, k], v, "a column name"));
            }
        }
    }
    let name = |k: &str| {
        written
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .map_or_else(|| k.to_string(), String::from)
    };
    MetaNames {
        scd_id: name("dbt_scd_id"),
        updated_at: name("dbt_updated_at"),
        valid_from: name("dbt_valid_from"),
        valid_to: name("dbt_valid_to"),
        is_deleted: name("dbt_is_deleted"),
    }
}

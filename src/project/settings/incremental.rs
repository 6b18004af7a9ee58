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
    /// How `merge` treats matched and unmatched rows (dbt-athena's options).
    pub merge: Box<MergeOptions>,
}

/// How a matched column is updated by `merge` (dbt-athena's `merge_update_columns_rules`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeRule {
    /// The new value (the default).
    Replace,
    /// The new value, or the old one where the new is NULL.
    Coalesce,
    /// Old plus new.
    Sum,
    /// The new array followed by the old one (dbt-athena's `src || target`).
    Append,
    /// The new and the old arrays' elements, each once, the new ones first.
    AppendDistinct,
    /// An expression, `_new_` standing for the new value and `_old_` for the old one.
    Custom(String),
}

impl MergeRule {
    pub const NAMES: &[&str] = &["replace", "coalesce", "sum", "append", "append_distinct"];

    pub fn parse(s: &str) -> Self {
        match s.trim() {
            "replace" => MergeRule::Replace,
            "coalesce" => MergeRule::Coalesce,
            "sum" => MergeRule::Sum,
            "append" => MergeRule::Append,
            "append_distinct" => MergeRule::AppendDistinct,
            other => MergeRule::Custom(other.to_string()),
        }
    }
}

/// `merge`'s options: conditions on each clause (written against `target` and `src`, as
/// dbt-athena's merge names the two sides), which matched columns are updated, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeOptions {
    pub update_condition: Option<String>,
    pub delete_condition: Option<String>,
    pub insert_condition: Option<String>,
    /// `merge_update_columns`: only these are updated (all non-key columns when `None`).
    pub update_columns: Option<Vec<String>>,
    /// `merge_exclude_columns`: never updated.
    pub exclude_columns: Vec<String>,
    /// `merge_update_columns_rules`: a rule per column.
    pub rules: Vec<(String, MergeRule)>,
    /// `merge_update_columns_default_rule`: the rule of the other columns.
    pub default_rule: Option<MergeRule>,
}

impl MergeOptions {
    /// The rule of `column`.
    pub fn rule_of(&self, column: &str) -> MergeRule {
        self.rules
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(column))
            .map(|(_, r)| r.clone())
            .or_else(|| self.default_rule.clone())
            .unwrap_or(MergeRule::Replace)
    }

    /// Whether matched rows update `column` (never a key column).
    pub fn updates(&self, column: &str, unique_key: &[String]) -> bool {
        let is = |list: &[String]| list.iter().any(|c| c.eq_ignore_ascii_case(column));
        !is(unique_key)
            && !is(&self.exclude_columns)
            && self.update_columns.as_deref().is_none_or(is)
    }

    fn parse(c: &Config, problems: &mut Problems) -> MergeOptions {
        let mut condition = |key: &str| {
            problems
                .take(text(c, key))
                .flatten()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let update_condition = condition("update_condition");
        let delete_condition = condition("delete_condition");
        let insert_condition = condition("insert_condition");
        let update_columns = match c.get("merge_update_columns") {
            None | Some(Value::Null) => None,
            Some(_) => problems.take(columns(c, "merge_update_columns")),
        };
        let exclude_columns = problems
            .take(columns(c, "merge_exclude_columns"))
            .unwrap_or_default();
        if update_columns.is_some() && !exclude_columns.is_empty() {
            problems.push(ConfigProblem::new(
                &["merge_exclude_columns"],
                "merge_update_columns and merge_exclude_columns cannot both be set",
                "list the columns to update in merge_update_columns, or those to leave alone in merge_exclude_columns",
            ));
        }
        let rules = match c.get("merge_update_columns_rules") {
            None | Some(Value::Null) => vec![],
            Some(Value::Object(m)) => m
                .iter()
                .filter_map(|(k, v)| match v.as_str() {
                    Some(r) if !r.trim().is_empty() => Some((k.clone(), MergeRule::parse(r))),
                    _ => {
                        problems.push(ConfigProblem::wrong_type(
                            &["merge_update_columns_rules", k],
                            v,
                            "a rule: replace, coalesce, sum, append, append_distinct, or an expression of _new_ and _old_",
                        ));
                        None
                    }
                })
                .collect(),
            Some(other) => {
                problems.push(ConfigProblem::wrong_type(
                    &["merge_update_columns_rules"],
                    other,
                    "a mapping of column names to rules (replace, coalesce, sum, append, append_distinct, or an expression of _new_ and _old_)",
                ));
                vec![]
            }
        };
        let default_rule = problems
            .take(text(c, "merge_update_columns_default_rule"))
            .flatten()
            .map(MergeRule::parse);
        MergeOptions {
            update_condition,
            delete_condition,
            insert_condition,
            update_columns,
            exclude_columns,
            rules,
            default_rule,
        }
    }
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
        // dbt-athena names a Hive table's partition columns `partitioned_by`.
        let mut partition_by = problems
            .take(columns(c, "partition_by"))
            .unwrap_or_default();
        if partition_by.is_empty() {
            partition_by = problems
                .take(columns(c, "partitioned_by"))
                .unwrap_or_default();
        }
        if strategy == Some(Strategy::InsertOverwrite) && partition_by.is_empty() {
            // (dbt-athena turns this into append, its issue #2081: kiln refuses it)
            problems.push(ConfigProblem::new(
                strategy_key,
                "the insert_overwrite strategy needs partition columns (partition_by, or on Athena partitioned_by): without them it would replace nothing and only append",
                "set partitioned_by (Athena) or partition_by to the column (or columns) whose partitions each run replaces, or use incremental_strategy: append",
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
        let merge = Box::new(MergeOptions::parse(c, &mut problems));
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
            merge,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<IncrementalConfig, Vec<ConfigProblem>> {
        IncrementalConfig::parse(&v.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn insert_overwrite_takes_athenas_partitioned_by_and_refuses_none() {
        let c =
            parse(json!({"incremental_strategy": "insert_overwrite", "partitioned_by": ["dt"]}))
                .expect("partitioned_by names the partitions");
        assert_eq!(c.partition_by, ["dt"]);
        let c = parse(json!({"incremental_strategy": "insert_overwrite", "partition_by": "day", "partitioned_by": ["dt"]}))
            .expect("both");
        assert_eq!(c.partition_by, ["day"], "partition_by wins");
        let e =
            parse(json!({"incremental_strategy": "insert_overwrite"})).expect_err("no partitions");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].key, ["incremental_strategy"]);
        assert!(
            e[0].message
                .contains("would replace nothing and only append"),
            "{}",
            e[0].message
        );
    }

    #[test]
    fn merge_options_are_read_and_checked() {
        let c = parse(json!({
            "incremental_strategy": "merge", "unique_key": "id",
            "update_condition": " src.v > target.v ", "delete_condition": "", "insert_condition": "src.ok",
            "merge_exclude_columns": ["created_at"],
            "merge_update_columns_rules": {"visits": "sum", "best": "greatest(_new_, _old_)"},
            "merge_update_columns_default_rule": "coalesce",
        }))
        .expect("valid options");
        let m = &c.merge;
        assert_eq!(m.update_condition.as_deref(), Some("src.v > target.v"));
        assert_eq!(m.delete_condition, None, "an empty condition is none");
        assert_eq!(m.insert_condition.as_deref(), Some("src.ok"));
        assert_eq!(m.rule_of("VISITS"), MergeRule::Sum);
        assert_eq!(
            m.rule_of("best"),
            MergeRule::Custom("greatest(_new_, _old_)".into())
        );
        assert_eq!(m.rule_of("other"), MergeRule::Coalesce);
        let key = ["id".to_string()];
        assert!(
            !m.updates("id", &key) && !m.updates("created_at", &key) && m.updates("email", &key)
        );
        let only = parse(json!({"incremental_strategy": "merge", "unique_key": "id", "merge_update_columns": ["email"]}))
            .expect("valid");
        assert!(only.merge.updates("email", &key) && !only.merge.updates("visits", &key));

        let e = parse(json!({
            "incremental_strategy": "merge", "unique_key": "id",
            "merge_update_columns": ["a"], "merge_exclude_columns": ["b"],
            "merge_update_columns_rules": {"a": 1},
        }))
        .expect_err("two problems");
        let keys: Vec<String> = e.iter().map(|p| p.key.join(".")).collect();
        assert_eq!(
            keys,
            ["merge_exclude_columns", "merge_update_columns_rules.a"]
        );
    }
}

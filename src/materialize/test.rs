//! Data tests. A test's compiled SQL selects the failing rows; kiln wraps it, as dbt does, in a
//! query returning the failure count (`fail_calc`, default `count(*)`) and whether that count
//! crosses `warn_if` / `error_if`. `limit` caps the rows examined; `store_failures` saves the
//! failing rows to a table (or view) in the audit schema.

use super::RelationTarget;
use super::plan::{Plan, executes, in_transaction};
use crate::adapter::{Adapter, RelationKind};
use crate::project::Node;
use serde_json::Value as Json;

/// A test's configuration, with dbt's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TestConfig {
    /// `error` or `warn`.
    pub severity: TestSeverity,
    pub fail_calc: String,
    pub warn_if: String,
    pub error_if: String,
    pub limit: Option<i64>,
    /// `table` or `view` when failing rows are stored.
    pub store_failures_as: Option<RelationKind>,
}

/// A data test's `severity` (distinct from a diagnostic's `crate::error::Severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestSeverity {
    Error,
    Warn,
}

impl TestConfig {
    /// Reads the node's config; `store_failures_flag` is `--store-failures`.
    pub fn of(node: &Node, store_failures_flag: bool) -> Self {
        let c = &node.config;
        let text = |k: &str, d: &str| {
            c.get(k)
                .and_then(|v| match v {
                    Json::String(s) => Some(s.clone()),
                    Json::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .unwrap_or_else(|| d.to_string())
        };
        let severity = if text("severity", "error").eq_ignore_ascii_case("warn") {
            TestSeverity::Warn
        } else {
            TestSeverity::Error
        };
        let limit = c.get("limit").and_then(|v| match v {
            Json::Number(n) => n.as_i64(),
            Json::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        // store_failures_as wins over store_failures (ephemeral means no), which falls back to
        // the flag.
        let store_failures_as = match c.get("store_failures_as").and_then(Json::as_str) {
            Some(s) if s.eq_ignore_ascii_case("table") => Some(RelationKind::Table),
            Some(s) if s.eq_ignore_ascii_case("view") => Some(RelationKind::View),
            Some(_) => None,
            None => {
                let store = c
                    .get("store_failures")
                    .and_then(Json::as_bool)
                    .unwrap_or(store_failures_flag);
                store.then_some(RelationKind::Table)
            }
        };
        TestConfig {
            severity,
            fail_calc: text("fail_calc", "count(*)"),
            warn_if: text("warn_if", "!= 0"),
            error_if: text("error_if", "!= 0"),
            limit,
            store_failures_as,
        }
    }
}

/// The query that evaluates a test: one row with `failures`, `should_warn`, `should_error`.
pub fn test_query(compiled_sql: &str, cfg: &TestConfig) -> String {
    let limit = cfg
        .limit
        .map_or_else(String::new, |l| format!("\n    limit {l}"));
    format!(
        "select\n    {calc} as failures,\n    {calc} {warn} as should_warn,\n    {calc} {error} as should_error\nfrom (\n    {sql}{limit}\n) dbt_internal_test",
        calc = cfg.fail_calc,
        warn = cfg.warn_if,
        error = cfg.error_if,
        sql = compiled_sql.trim()
    )
}

/// When failing rows are stored, the test's query reads them from the stored relation instead of
/// running the test twice. Returns the plan that stores them and the SQL the test then runs.
pub fn store_failures_plan(
    adapter: &dyn Adapter,
    node: &Node,
    compiled_sql: &str,
    kind: RelationKind,
    existing: Option<RelationKind>,
) -> (Plan, String) {
    let name = RelationTarget::of(node).sql(adapter);
    let mut statements = vec![];
    if let Some(kind) = existing {
        statements.push(adapter.drop_relation_sql(kind, &name));
    }
    statements.push(match kind {
        RelationKind::Table => adapter.create_table_as_sql(&name, compiled_sql),
        RelationKind::View => adapter.create_view_sql(&name, compiled_sql),
    });
    (
        Plan::new(in_transaction(adapter, executes(statements))),
        format!("select * from {name}"),
    )
}

/// What one evaluated test came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

/// dbt's rule: an error-severity test fails when `error_if` holds, else warns when `warn_if`
/// holds; a warn-severity test only ever warns.
pub fn verdict(cfg: &TestConfig, should_warn: bool, should_error: bool) -> Verdict {
    match cfg.severity {
        TestSeverity::Error if should_error => Verdict::Fail,
        _ if should_warn => Verdict::Warn,
        _ => Verdict::Pass,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> TestConfig {
        TestConfig {
            severity: TestSeverity::Error,
            fail_calc: "count(*)".into(),
            warn_if: "!= 0".into(),
            error_if: "> 10".into(),
            limit: Some(5),
            store_failures_as: None,
        }
    }

    #[test]
    fn wraps_the_failing_rows_query() {
        assert_eq!(
            test_query("select * from t where x is null\n", &cfg()),
            "select\n    count(*) as failures,\n    count(*) != 0 as should_warn,\n    count(*) > 10 as should_error\nfrom (\n    select * from t where x is null\n    limit 5\n) dbt_internal_test"
        );
    }

    #[test]
    fn severity_rules() {
        let mut c = cfg();
        assert_eq!(verdict(&c, true, true), Verdict::Fail);
        assert_eq!(verdict(&c, true, false), Verdict::Warn);
        assert_eq!(verdict(&c, false, false), Verdict::Pass);
        c.severity = TestSeverity::Warn;
        assert_eq!(verdict(&c, true, true), Verdict::Warn);
        assert_eq!(verdict(&c, false, true), Verdict::Pass);
    }
}

//! run_results.json (schema v6): one entry per executed, failed or skipped node, with timings,
//! failures and compiled code, plus the command's arguments. `kiln retry` and `result:` selection
//! read it back.

use crate::runner::{NodeResult, RunSummary};
use serde_json::{Map, Value, json};

pub const RUN_RESULTS_SCHEMA: &str = "https://schemas.getdbt.com/dbt/run-results/v6.json";

fn timestamp(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn result_json(r: &NodeResult) -> Value {
    json!({
        "status": r.status.as_str(),
        "timing": r.timing.iter().map(|t| json!({
            "name": t.name,
            "started_at": timestamp(&t.started_at),
            "completed_at": timestamp(&t.completed_at),
        })).collect::<Vec<_>>(),
        "thread_id": r.thread_id,
        "execution_time": r.execution_time,
        "adapter_response": r.adapter_response,
        "message": r.message,
        "failures": r.failures,
        "unique_id": r.unique_id,
        "compiled": r.compiled_code.is_some(),
        "compiled_code": r.compiled_code,
        "relation_name": r.relation_name,
        "batch_results": match &r.batches {
            Some((ok, failed)) => json!({"successful": ok, "failed": failed}),
            None => Value::Null,
        },
    })
}

/// The whole document. `args` are the command's flags as dbt records them (`which`, `select`...);
/// `metadata.env` names the target and adapter type the run used, so that `retry` and `--state`
/// can tell whose results they read.
pub fn run_results_json(
    summary: &RunSummary,
    invocation_id: &str,
    started_at: &chrono::DateTime<chrono::Utc>,
    args: Map<String, Value>,
    target: &crate::project::profiles::ProfileTarget,
) -> Value {
    json!({
        "metadata": {
            "dbt_schema_version": RUN_RESULTS_SCHEMA,
            "dbt_version": crate::DBT_COMPAT_VERSION,
            "generated_at": timestamp(&chrono::Utc::now()),
            "invocation_id": invocation_id,
            "invocation_started_at": timestamp(started_at),
            "env": {
                super::TARGET_ENV_KEY: target.name,
                super::ADAPTER_ENV_KEY: target.adapter_type,
            },
        },
        "results": summary.results.iter().map(result_json).collect::<Vec<_>>(),
        "elapsed_time": summary.elapsed,
        "args": args,
    })
}

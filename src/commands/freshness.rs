//! `kiln source freshness`: for each selected source table with a `freshness` config and a
//! `loaded_at_field`, how long ago its newest row was loaded, judged against `warn_after` and
//! `error_after`; written to target/sources.json (dbt's sources v3 artifact).

use super::load_and_parse;
use crate::adapter::Cell;
use crate::cli::SelectArgs;
use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::Invocation;
use crate::runner::Progress;
use serde_json::{Value as Json, json};
use std::path::PathBuf;

/// A threshold in seconds, from `{count: 24, period: hour}`.
fn seconds(t: &Json) -> Option<f64> {
    let count = t.get("count")?.as_f64()?;
    let unit = match t.get("period")?.as_str()? {
        "minute" => 60.0,
        "hour" => 3600.0,
        "day" => 86400.0,
        _ => return None,
    };
    Some(count * unit)
}

pub fn run(
    inv: &Invocation,
    select: &SelectArgs,
    output: Option<&PathBuf>,
) -> Result<Outcome, Error> {
    let loaded = load_and_parse(inv, "source freshness")?;
    let mut args = select.clone();
    if args.select.is_empty() && args.selector.is_none() {
        args.select = vec!["source:*".into()];
    }
    let selected = loaded.select(&args)?;
    let sources: Vec<_> = loaded
        .project
        .sources
        .values()
        .filter(|s| selected.contains(&s.unique_id))
        .filter(|s| {
            s.loaded_at_field.is_some()
                && s.freshness.as_ref().is_some_and(|f| {
                    f.get("warn_after").and_then(seconds).is_some()
                        || f.get("error_after").and_then(seconds).is_some()
                })
        })
        .collect();
    inv.output.info(&loaded.summary());
    if sources.is_empty() {
        inv.output.info(
            "Nothing to do: no selected source has a freshness config (warn_after / error_after) and a loaded_at_field.",
        );
        return Ok(Outcome::Success);
    }
    let pool = crate::runner::connect(&loaded)?;
    let progress = Progress::new(sources.len(), inv.output.clone());
    let started = std::time::Instant::now();
    let mut results = vec![];
    let mut failed = false;
    for s in &sources {
        let index = progress.claim();
        let what = format!("freshness of {}.{}", s.source_name, s.name);
        progress.start(index, &what, &s.unique_id);
        let t0 = chrono::Utc::now();
        let clock = std::time::Instant::now();
        let fresh = s.freshness.clone().unwrap_or(Json::Null);
        let field = s.loaded_at_field.clone().unwrap_or_default();
        let filter = fresh.get("filter").and_then(Json::as_str);
        let sql = format!(
            "select cast(max({field}) as varchar), cast(cast(now() as timestamp) as varchar), \
             epoch(cast(now() as timestamp)) - epoch(cast(max({field}) as timestamp)) from {}{}",
            s.relation_name,
            filter.map_or_else(String::new, |f| format!(" where {f}"))
        );
        let row = pool
            .with(|c| c.query(&sql))
            .map(|r| r.rows.into_iter().next());
        let secs = clock.elapsed().as_secs_f64();
        let timing = json!([{"name": "execute", "started_at": t0.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(), "completed_at": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()}]);
        let (status, entry) = match row {
            Ok(Some(r)) if r.first().is_some_and(|c| *c != Cell::Null) => {
                let text = |i: usize| r.get(i).map(Cell::to_string).unwrap_or_default();
                let age = text(2).parse::<f64>().unwrap_or(0.0);
                let warn = fresh.get("warn_after").and_then(seconds);
                let error = fresh.get("error_after").and_then(seconds);
                let status = if error.is_some_and(|e| age > e) {
                    "error"
                } else if warn.is_some_and(|w| age > w) {
                    "warn"
                } else {
                    "pass"
                };
                (
                    status,
                    json!({
                        "unique_id": s.unique_id,
                        "max_loaded_at": text(0),
                        "snapshotted_at": text(1),
                        "max_loaded_at_time_ago_in_s": age,
                        "status": status,
                        "criteria": {
                            "warn_after": fresh.get("warn_after").cloned().unwrap_or(Json::Null),
                            "error_after": fresh.get("error_after").cloned().unwrap_or(Json::Null),
                            "filter": filter,
                        },
                        "adapter_response": {"_message": "OK"},
                        "timing": timing,
                        "thread_id": "Thread-1",
                        "execution_time": secs,
                    }),
                )
            }
            Ok(_) => (
                "runtime error",
                json!({"unique_id": s.unique_id, "error": format!("{} has no rows with a {field}", s.relation_name), "status": "runtime error"}),
            ),
            Err(e) => (
                "runtime error",
                json!({"unique_id": s.unique_id, "error": e.message, "status": "runtime error"}),
            ),
        };
        let shown = match status {
            "pass" => ("PASS", "PASS"),
            "warn" => ("WARN", "WARN"),
            "error" => ("ERROR STALE", "ERROR STALE"),
            _ => ("ERROR", "ERROR"),
        };
        if matches!(status, "error" | "runtime error") {
            failed = true;
        }
        progress.done(
            index,
            &format!("{} {what}", shown.0),
            &format!("{} in {secs:.2}s", shown.1),
            &s.unique_id,
            status,
            secs,
        );
        if status == "runtime error" {
            inv.output.warnings(&[Diagnostic::error(
                "freshness",
                format!(
                    "cannot check the freshness of source {}.{}: {}",
                    s.source_name,
                    s.name,
                    entry["error"].as_str().unwrap_or_default()
                ),
            )
            .in_file(std::path::Path::new(&s.original_file_path))]);
        }
        results.push(entry);
    }
    progress.finish();
    let doc = json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/sources/v3.json",
            "dbt_version": crate::DBT_COMPAT_VERSION,
            "generated_at": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "invocation_id": loaded.info.invocation_id,
        },
        "results": results,
        "elapsed_time": started.elapsed().as_secs_f64(),
    });
    let path = match output {
        Some(p) => loaded.project.dir.join(p),
        None => loaded.project.target_dir().join("sources.json"),
    };
    let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| {
        Error::one(Diagnostic::error(
            "artifacts",
            format!("cannot serialise sources.json: {e}"),
        ))
    })?;
    crate::artifacts::write_atomic(&path, &bytes)?;
    loaded.adapter.close();
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

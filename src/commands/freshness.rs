//! `kiln source freshness`: for each selected source table with a `freshness` config and a
//! `loaded_at_field`, how long ago its newest row was loaded, judged against `warn_after` and
//! `error_after`; written to target/sources.json (dbt's sources v3 artifact).
//!
//! `kiln freshness` (dbt's newer `dbt freshness`) checks models as well: a model whose config has
//! `freshness: {warn_after, error_after}` and a `loaded_at_field`, as dbt documents for model
//! freshness. (dbt-core 1.11 reads only `build_after` in a model's freshness and drops the rest,
//! so such a project still runs under it; `dbt source freshness` never checks models, and
//! neither does `kiln source freshness`.)

use crate::adapter::Cell;
use crate::cli::SelectArgs;
use crate::error::{Diagnostic, Error, Outcome};
use crate::events::{Event, Level, kinds, paint};
use crate::invocation::Invocation;
use crate::project::{Node, ResourceType, SourceNode};
use crate::runner::Progress;
use crate::runner::output::{finished_running, node_time};
use crate::session::load_and_parse;
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

/// A source table or a model whose freshness is checked.
struct Checked {
    unique_id: String,
    resource_type: &'static str,
    /// The source's name (`crm`), empty for a model.
    source_name: String,
    name: String,
    original_file_path: String,
    database: String,
    schema: String,
    relation_name: String,
    meta: Json,
    loaded_at_field: Option<String>,
    freshness: Option<Json>,
}

impl Checked {
    fn source(s: &SourceNode) -> Checked {
        Checked {
            unique_id: s.unique_id.clone(),
            resource_type: "source",
            source_name: s.source_name.clone(),
            name: s.name.clone(),
            original_file_path: s.original_file_path.clone(),
            database: s.database.clone(),
            schema: s.schema.clone(),
            relation_name: s.relation_name.clone(),
            meta: Json::Object(s.meta.clone()),
            loaded_at_field: s.loaded_at_field.clone(),
            freshness: s.freshness.clone(),
        }
    }

    /// A model with `freshness` and `loaded_at_field` in its config.
    fn model(n: &Node) -> Option<Checked> {
        if n.resource_type != ResourceType::Model {
            return None;
        }
        Some(Checked {
            unique_id: n.unique_id.clone(),
            resource_type: "model",
            source_name: String::new(),
            name: n.name.clone(),
            original_file_path: n.original_file_path.clone(),
            database: n.database.clone(),
            schema: n.schema.clone(),
            relation_name: n.relation_name.clone()?,
            meta: n.config.get("meta").cloned().unwrap_or(Json::Null),
            loaded_at_field: n
                .config
                .get("loaded_at_field")
                .and_then(Json::as_str)
                .map(str::to_string),
            freshness: n.config.get("freshness").cloned(),
        })
    }

    /// `crm.contacts` for a source table, the model's name for a model.
    fn label(&self) -> String {
        if self.source_name.is_empty() {
            self.name.clone()
        } else {
            format!("{}.{}", self.source_name, self.name)
        }
    }

    fn has_thresholds(&self) -> bool {
        self.loaded_at_field.is_some()
            && self.freshness.as_ref().is_some_and(|f| {
                f.get("warn_after").and_then(seconds).is_some()
                    || f.get("error_after").and_then(seconds).is_some()
            })
    }
}

pub fn run(
    inv: &Invocation,
    select: &SelectArgs,
    output: Option<&PathBuf>,
) -> Result<Outcome, Error> {
    check(inv, select, output, false)
}

/// `kiln freshness`: sources and models.
pub fn run_all(
    inv: &Invocation,
    select: &SelectArgs,
    output: Option<&PathBuf>,
) -> Result<Outcome, Error> {
    check(inv, select, output, true)
}

fn check(
    inv: &Invocation,
    select: &SelectArgs,
    output: Option<&PathBuf>,
    models: bool,
) -> Result<Outcome, Error> {
    let loaded = load_and_parse(
        inv,
        if models {
            "freshness"
        } else {
            "source freshness"
        },
    )?;
    let mut args = select.clone();
    if args.select.is_empty() && args.selector.is_none() {
        args.select = if models {
            vec!["source:*".into(), "resource_type:model".into()]
        } else {
            vec!["source:*".into()]
        };
    }
    let selected = loaded.select(&args)?;
    let notices = super::notices::config(&loaded)?;
    let mut sources: Vec<Checked> = loaded
        .project
        .sources
        .values()
        .filter(|s| selected.contains(&s.unique_id))
        .map(Checked::source)
        .filter(Checked::has_thresholds)
        .collect();
    if models {
        sources.extend(
            loaded
                .project
                .nodes
                .values()
                .filter(|n| selected.contains(&n.unique_id))
                .filter_map(|n| Checked::model(n))
                .filter(Checked::has_thresholds),
        );
    }
    loaded.found().emit();
    if sources.is_empty() {
        inv.output.info(if models {
            "Nothing to do: no selected source or model has a freshness config (warn_after / error_after) and a loaded_at_field."
        } else {
            "Nothing to do: no selected source has a freshness config (warn_after / error_after) and a loaded_at_field."
        });
        return Ok(Outcome::Success);
    }
    let pool = crate::runner::connect(&loaded)?;
    let progress = Progress::new(sources.len(), inv.output.clone());
    let started = std::time::Instant::now();
    let mut results = vec![];
    let mut failed = false;
    for s in &sources {
        let index = progress.claim();
        let what = format!("freshness of {}", s.label());
        let t0 = chrono::Utc::now();
        let _scope = crate::events::enter_node(
            "Thread-1 (worker)".into(),
            source_info(s, "executing", Some(t0), None),
        );
        progress.start(index, &what, &source_info(s, "started", Some(t0), None));
        let clock = std::time::Instant::now();
        let fresh = s.freshness.clone().unwrap_or(Json::Null);
        let field = s.loaded_at_field.clone().unwrap_or_default();
        let filter = fresh.get("filter").and_then(Json::as_str);
        let sql = freshness_sql(loaded.adapter.as_ref(), &field, &s.relation_name, filter);
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
        let (plain, styled) = crate::runner::output::result_line(
            index,
            progress.total(),
            &format!("{} {what}", shown.0),
            &format!("{} in {secs:.2}s", shown.1),
        );
        let level = match status {
            "pass" => Level::Info,
            "warn" => Level::Warn,
            _ => Level::Error,
        };
        let info = source_info(s, status, Some(t0), Some(chrono::Utc::now()));
        progress.done(
            index,
            Event::new(kinds::LOG_FRESHNESS_RESULT, plain)
                .at(level)
                .styled(styled)
                .stamped()
                .with("execution_time", secs)
                .with("index", index)
                .with("node_info", info)
                .with("source_name", s.source_name.clone())
                .with("resource_type", s.resource_type)
                .with("status", status)
                .with("table_name", s.name.clone())
                .with("total", progress.total()),
        );
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
    report(&sources, &results, started.elapsed().as_secs_f64());
    let failures = sources
        .iter()
        .zip(&results)
        .filter_map(|(s, r)| {
            let message = match r["status"].as_str()? {
                "error" => format!(
                    "its newest row was loaded {} ago (max_loaded_at {}); error_after is {}",
                    human_age(r["max_loaded_at_time_ago_in_s"].as_f64().unwrap_or(0.0)),
                    r["max_loaded_at"].as_str().unwrap_or("?"),
                    threshold(&r["criteria"]["error_after"]),
                ),
                "runtime error" => format!(
                    "cannot check its freshness: {}",
                    r["error"].as_str().unwrap_or_default()
                ),
                _ => return None,
            };
            let status = if r["status"] == "error" {
                "stale"
            } else {
                "error"
            };
            Some(crate::notices::Failure::of_node(
                &loaded.project,
                &loaded.graph,
                &s.unique_id,
                status,
                &message,
            ))
        })
        .collect();
    super::notices::after_freshness(
        &notices,
        &loaded,
        failures,
        started.elapsed().as_secs_f64(),
        &path,
        &inv.output,
    );
    loaded.adapter.close();
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// dbt's `node_info` of a source (or a model).
fn source_info(
    s: &Checked,
    status: &str,
    started: Option<chrono::DateTime<chrono::Utc>>,
    finished: Option<chrono::DateTime<chrono::Utc>>,
) -> Json {
    json!({
        "materialized": "",
        "meta": s.meta,
        "node_checksum": "",
        "node_finished_at": finished.map(node_time).unwrap_or_default(),
        "node_name": s.name,
        "node_path": s.original_file_path,
        "node_relation": {
            "alias": "",
            "database": s.database,
            "relation_name": s.relation_name,
            "schema": s.schema,
        },
        "node_started_at": started.map(node_time).unwrap_or_default(),
        "node_status": status,
        "resource_type": s.resource_type,
        "unique_id": s.unique_id,
    })
}

/// The end of `source freshness`, as dbt prints it: how long it took, each stale source
/// (`Failure in source x (path)`, `Status: error`, and here how stale it is against its
/// threshold) and each source that could not be checked, then `Done.`.
fn report(sources: &[Checked], results: &[Json], secs: f64) {
    Event::blank().emit();
    let n = results.len();
    let models = sources
        .iter()
        .filter(|s| s.resource_type == "model")
        .count();
    let what = match (n - models, models) {
        (s, 0) => format!("{s} source{}", if s == 1 { "" } else { "s" }),
        (0, m) => format!("{m} model{}", if m == 1 { "" } else { "s" }),
        (s, m) => format!(
            "{s} source{} and {m} model{}",
            if s == 1 { "" } else { "s" },
            if m == 1 { "" } else { "s" }
        ),
    };
    finished_running(&what, secs).emit();
    for (s, r) in sources.iter().zip(results) {
        let info = source_info(s, "None", None, None);
        match r["status"].as_str() {
            Some("error") => {
                Event::blank().emit();
                let head = format!(
                    "Failure in {} {} ({})",
                    s.resource_type, s.name, s.original_file_path
                );
                Event::new(kinds::RUN_RESULT_FAILURE, head.clone())
                    .styled(paint("31", &head))
                    .with("node_info", info.clone())
                    .with("node_name", s.name.clone())
                    .with("path", s.original_file_path.clone())
                    .with("resource_type", s.resource_type)
                    .emit();
                Event::new(kinds::RUN_RESULT_ERROR_NO_MESSAGE, "  Status: error")
                    .with("node_info", info)
                    .with("status", "error")
                    .emit();
                let age = r["max_loaded_at_time_ago_in_s"].as_f64().unwrap_or(0.0);
                let limit = threshold(&r["criteria"]["error_after"]);
                Event::note(format!(
                    "  its newest row was loaded {} ago (max_loaded_at {}); error_after is {limit}",
                    human_age(age),
                    r["max_loaded_at"].as_str().unwrap_or("?"),
                ))
                .at(Level::Error)
                .emit();
            }
            Some("runtime error") => {
                let msg = format!(
                    "cannot check the freshness of {} {}: {}",
                    s.resource_type,
                    s.label(),
                    r["error"].as_str().unwrap_or_default()
                );
                Event::blank().emit();
                Event::new(kinds::RUN_RESULT_ERROR, format!("  {msg}"))
                    .with("msg", msg)
                    .with("node_info", info)
                    .emit();
            }
            _ => {}
        }
    }
    Event::new(kinds::FRESHNESS_CHECK_COMPLETE, "Done.").emit();
}

/// `3 days 2 hours`, `5 hours 12 minutes`, `40 minutes`, `12 seconds`.
fn human_age(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    let (d, h, m) = (s / 86400, (s % 86400) / 3600, (s % 3600) / 60);
    let unit = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if d > 0 {
        format!("{} {}", unit(d, "day"), unit(h, "hour"))
    } else if h > 0 {
        format!("{} {}", unit(h, "hour"), unit(m, "minute"))
    } else if m > 0 {
        unit(m, "minute")
    } else {
        unit(s, "second")
    }
}

/// `{count: 2, period: day}` as `2 days`.
fn threshold(t: &Json) -> String {
    match (t["count"].as_i64(), t["period"].as_str()) {
        (Some(c), Some(p)) => format!("{c} {p}{}", if c == 1 { "" } else { "s" }),
        _ => "not set".into(),
    }
}

/// The newest `loaded_at_field` value, the time now, and the seconds between them, as text and a
/// number; `filter` narrows the rows.
fn freshness_sql(
    adapter: &dyn crate::adapter::Adapter,
    field: &str,
    relation: &str,
    filter: Option<&str>,
) -> String {
    let now = adapter.current_timestamp_sql();
    let newest = format!("max({field})");
    format!(
        "select {}, {}, {} - {} from {relation}{}",
        adapter.cast_sql(&newest, "varchar"),
        adapter.cast_sql(&now, "varchar"),
        adapter.epoch_seconds_sql(&now),
        adapter.epoch_seconds_sql(&adapter.cast_sql(&newest, "timestamp")),
        filter.map_or_else(String::new, |f| format!(" where {f}"))
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages_read_like_a_person_says_them() {
        assert_eq!(super::human_age(3.0 * 86400.0 + 7300.0), "3 days 2 hours");
        assert_eq!(super::human_age(3600.0 + 60.0), "1 hour 1 minute");
        assert_eq!(super::human_age(125.0), "2 minutes");
        assert_eq!(super::human_age(1.0), "1 second");
        assert_eq!(
            super::threshold(&serde_json::json!({"count": 2, "period": "day"})),
            "2 days"
        );
    }
}

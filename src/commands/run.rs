//! `kiln run`, `test`, `seed` and `build`: select, execute through the runner, write
//! run_results.json and the manifest, print dbt's summary.

use super::{Loaded, load_and_parse};
use crate::cli::{RunFlags, SelectArgs};
use crate::error::{Error, Outcome};
use crate::invocation::Invocation;
use crate::project::ResourceType;
use crate::runner::{self, NodeResult, RunKind, RunOptions, RunSummary};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

pub fn run(
    inv: &Invocation,
    kind: RunKind,
    select: &SelectArgs,
    flags: &RunFlags,
    resource_types: (&[String], &[String]),
) -> Result<Outcome, Error> {
    let loaded = load_and_parse(inv, kind.command())?;
    let mut selected = loaded.select(select)?;
    if !resource_types.0.is_empty() || !resource_types.1.is_empty() {
        let include = super::ls::parse_types(resource_types.0, "--resource-type")?;
        let exclude = super::ls::parse_types(resource_types.1, "--exclude-resource-type")?;
        selected.retain(|id| {
            let rt = match loaded.project.nodes.get(id) {
                Some(n) => n.resource_type,
                None if loaded.project.exposures.contains_key(id) => ResourceType::Exposure,
                None => return false,
            };
            (include.is_empty() || include.contains(&rt)) && !exclude.contains(&rt)
        });
    }
    let ids = runner::runnable(&loaded, &selected, kind);
    execute_and_report(inv, loaded, kind, ids, select, flags)
}

/// Runs `ids`, writes run_results.json and the manifest, prints the summary.
fn execute_and_report(
    inv: &Invocation,
    mut loaded: Loaded,
    kind: RunKind,
    ids: Vec<String>,
    select: &SelectArgs,
    flags: &RunFlags,
) -> Result<Outcome, Error> {
    inv.output.info(&loaded.summary());
    if ids.is_empty() {
        inv.output.info(
            "Nothing to do: the selection matches no nodes this command runs. Check --select and the nodes' `enabled` configs.",
        );
        return Ok(Outcome::Success);
    }
    let threads = loaded.project.target.threads.max(1);
    inv.output.info(&format!(
        "Concurrency: {threads} thread{} (target='{}')\n",
        if threads == 1 { "" } else { "s" },
        loaded.project.target.name
    ));
    let opts = RunOptions {
        kind,
        threads,
        fail_fast: flags.fail_fast,
        full_refresh: flags.full_refresh,
        store_failures: flags.store_failures,
        event_time_start: parse_time(flags.event_time_start.as_deref(), "--event-time-start")?,
        event_time_end: parse_time(flags.event_time_end.as_deref(), "--event-time-end")?,
        defer: if select.defer {
            loaded
                .selection_spec(select)?
                .state_manifest
                .map(|m| (m, select.favor_state))
        } else {
            None
        },
    };
    let counts = counts_text(&loaded, &ids);
    let timer = super::StageTimer::new();
    let summary = runner::execute(&mut loaded, ids, &opts, &inv.output)?;
    timer.mark("execute (all)");
    write_artifacts(inv, &loaded, &summary, kind, select, flags)?;
    timer.mark("artifacts");
    inv.output.warnings(&summary.errors);
    let text = runner::output::summary(&summary, &counts, inv.output.color, detail);
    inv.output.info(&text);
    let outcome = if summary.interrupted {
        Outcome::Interrupted
    } else if summary.failed() {
        Outcome::Failed
    } else {
        Outcome::Success
    };
    // The database is closed properly (checkpoint, spill files removed) before the rest of the
    // project is left to the process exit.
    loaded.adapter.close();
    timer.mark("close");
    super::exit_without_freeing(loaded);
    Ok(outcome)
}

/// `kiln retry`: the nodes that errored, failed or were skipped in the last run_results.json,
/// run again with that run's command and flags.
pub fn retry(inv: &Invocation) -> Result<Outcome, Error> {
    let opts = inv.load_options()?;
    // Where the last run wrote its results: read before the project is parsed, since parsing may
    // need the --vars that run had.
    let target_path = match &inv.load.target_path {
        Some(t) => t.clone(),
        None => {
            let file = opts.project_dir.join("dbt_project.yml");
            let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
            let cfg: crate::project::dbt_project::DbtProject =
                crate::project::yaml::from_str(std::path::Path::new("dbt_project.yml"), &text)?;
            std::path::PathBuf::from(cfg.target_path())
        }
    };
    let path = opts.project_dir.join(target_path).join("run_results.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::one(
            crate::error::Diagnostic::error(
                "retry",
                format!(
                    "kiln retry needs the results of a previous run: cannot read {}: {e}",
                    path.display()
                ),
            )
            .with_help("run kiln build, run, test, seed or snapshot first"),
        )
    })?;
    let previous: Json = serde_json::from_str(&text).map_err(|e| {
        Error::one(crate::error::Diagnostic::error(
            "retry",
            format!("{} is not valid JSON: {e}", path.display()),
        ))
    })?;
    let args = previous["args"].as_object().cloned().unwrap_or_default();
    let kind = match args.get("which").and_then(Json::as_str) {
        Some("run") => RunKind::Run,
        Some("test") => RunKind::Test,
        Some("seed") => RunKind::Seed,
        Some("snapshot") => RunKind::Snapshot,
        Some("build") => RunKind::Build,
        other => {
            return Err(crate::error::Diagnostic::error(
                "retry",
                format!(
                    "the last run ({}) is not one kiln retry can repeat",
                    other.unwrap_or("unknown command")
                ),
            )
            .into());
        }
    };
    let flag = |k: &str| args.get(k).and_then(Json::as_bool).unwrap_or(false);
    let flags = RunFlags {
        full_refresh: flag("full_refresh"),
        fail_fast: flag("fail_fast"),
        store_failures: flag("store_failures"),
        event_time_start: args
            .get("event_time_start")
            .and_then(Json::as_str)
            .map(String::from),
        event_time_end: args
            .get("event_time_end")
            .and_then(Json::as_str)
            .map(String::from),
    };
    // The previous run's --vars and --target, unless this invocation gives its own.
    let mut again = inv.clone();
    again.project_dir = Some(opts.project_dir.clone());
    if let Some(vars) = args.get("vars").and_then(Json::as_object)
        && inv.load.cli_vars.is_empty()
    {
        again.load.cli_vars = vars.clone();
    }
    if let Some(target) = args.get("target").and_then(Json::as_str)
        && inv.load.target.is_none()
    {
        again.load.target = Some(target.to_string());
    }
    let loaded = load_and_parse(&again, kind.command())?;
    let ids: Vec<String> = previous["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            matches!(
                r["status"].as_str(),
                Some("error" | "fail" | "skipped" | "runtime error")
            )
        })
        .filter_map(|r| r["unique_id"].as_str().map(String::from))
        .filter(|id| {
            loaded.project.nodes.contains_key(id) || loaded.project.exposures.contains_key(id)
        })
        .collect();
    if ids.is_empty() {
        inv.output.info(&format!(
            "Nothing to retry: the last {} had no errors, failures or skipped nodes.",
            kind.command()
        ));
        return Ok(Outcome::Success);
    }
    let select = SelectArgs {
        select: args
            .get("select")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        ..SelectArgs::default()
    };
    execute_and_report(inv, loaded, kind, ids, &select, &flags)
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS`.
fn parse_time(text: Option<&str>, flag: &str) -> Result<Option<chrono::NaiveDateTime>, Error> {
    let Some(t) = text else { return Ok(None) };
    crate::materialize::microbatch::parse_time(t)
        .map(Some)
        .ok_or_else(|| {
            crate::error::Diagnostic::error("flags", format!("{flag} '{t}' is not a date or time"))
                .with_help("write YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS'")
                .into()
        })
}

fn detail(r: &NodeResult) -> String {
    r.detail
        .clone()
        .or_else(|| r.message.clone())
        .unwrap_or_else(|| format!("{} {}", r.status.as_str(), r.unique_id))
}

/// "3 exposures, 1 seed, 2 table models, 5 data tests, 3 view models", as dbt counts them: by
/// resource type (models by materialization), in the order of dbt's keys (`test` for tests).
fn counts_text(loaded: &Loaded, ids: &[String]) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for id in ids {
        let key = match loaded.project.nodes.get(id) {
            Some(n) if n.resource_type == ResourceType::Model => {
                format!("{} model", n.materialized())
            }
            Some(n) => n.resource_type.to_string(),
            None if loaded.project.exposures.contains_key(id) => "exposure".into(),
            None => continue,
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(k, c)| {
            let k = if k == "test" { "data test".into() } else { k };
            format!("{c} {k}{}", if c == 1 { "" } else { "s" })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_artifacts(
    inv: &Invocation,
    loaded: &Loaded,
    summary: &RunSummary,
    kind: RunKind,
    select: &SelectArgs,
    flags: &RunFlags,
) -> Result<(), Error> {
    let mut args = Map::new();
    args.insert("which".into(), Json::from(kind.command()));
    args.insert("select".into(), Json::from(select.select.clone()));
    args.insert("exclude".into(), Json::from(select.exclude.clone()));
    if let Some(s) = &select.selector {
        args.insert("selector".into(), Json::from(s.clone()));
    }
    args.insert("full_refresh".into(), Json::from(flags.full_refresh));
    args.insert("fail_fast".into(), Json::from(flags.fail_fast));
    args.insert("store_failures".into(), Json::from(flags.store_failures));
    if let Some(t) = &flags.event_time_start {
        args.insert("event_time_start".into(), Json::from(t.clone()));
    }
    if let Some(t) = &flags.event_time_end {
        args.insert("event_time_end".into(), Json::from(t.clone()));
    }
    args.insert(
        "target".into(),
        Json::from(loaded.project.target.name.clone()),
    );
    args.insert("vars".into(), Json::Object(inv.load.cli_vars.clone()));
    let doc = crate::artifacts::run_results::run_results_json(
        summary,
        &loaded.info.invocation_id,
        &loaded.info.run_started_at,
        args,
    );
    let path = loaded.project.target_dir().join("run_results.json");
    let text = serde_json::to_vec_pretty(&doc).map_err(|e| {
        Error::one(crate::error::Diagnostic::error(
            "artifacts",
            format!("cannot serialise run_results.json: {e}"),
        ))
    })?;
    crate::artifacts::write_atomic(&path, &text)?;
    loaded.write_manifest()
}

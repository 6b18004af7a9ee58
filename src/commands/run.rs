//! `kiln run`, `test`, `seed` and `build`: select, execute through the runner, write
//! run_results.json and the manifest, print dbt's summary.

use crate::cli::SelectArgs;
use crate::error::warn_error::Treatment;
use crate::error::{Diagnostic, Error, Outcome};
use crate::events::{Event, kinds};
use crate::invocation::{Flags, Invocation};
use crate::jinja::context::InputLimits;
use crate::project::ResourceType;
use crate::runner::{self, RunKind, RunOptions, RunSummary};
use crate::session::{Loaded, load_and_parse};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// `kind`'s run of the selection; its flags (`--full-refresh`, `--empty`...) are `inv.flags`.
pub fn run(
    inv: &Invocation,
    kind: RunKind,
    select: &SelectArgs,
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
                None if loaded.project.unit_tests.contains_key(id) => ResourceType::UnitTest,
                None => match loaded.project.semantic.get(id) {
                    Some(s) => s.kind.resource_type(),
                    None => return false,
                },
            };
            (resource_types.0.is_empty() || include.contains(&rt)) && !exclude.contains(&rt)
        });
    }
    let ids = runner::runnable(&loaded, &selected, kind);
    let notices = super::notices::config(&loaded)?;
    let mut precompiled = BTreeMap::new();
    if matches!(kind, RunKind::Build | RunKind::Run) {
        match check_lineage(&loaded, kind, &ids) {
            Ok(compiled) => precompiled = compiled,
            Err(e) => {
                super::notices::stopped(&notices, &loaded, kind.command(), &e, &inv.output);
                return Err(e);
            }
        }
    }
    execute_with(
        inv,
        loaded,
        (kind, ids, select),
        false,
        &notices,
        precompiled,
    )
}

/// Before anything runs: the column lineage of the models and snapshots about to run, written
/// to target/lineage.json; `build` stops on a column a model names that its upstream lacks, as
/// `kiln compile` does (exit 2), while `run` leaves it to the database. SQL that needs the
/// warehouse to compile (`run_query`, `is_incremental()` read live) is compiled for lineage
/// without it: when that fails, the run goes on without lineage.
///
/// Gives back the SQL of the models and snapshots whose render asked nothing of the warehouse:
/// the run takes it rather than rendering them a second time.
fn check_lineage(
    loaded: &Loaded,
    kind: RunKind,
    ids: &[String],
) -> Result<BTreeMap<String, crate::project::Compiled>, Error> {
    let nodes: std::collections::BTreeSet<String> = ids
        .iter()
        .filter(|id| {
            loaded.project.nodes.get(*id).is_some_and(|n| {
                matches!(
                    n.resource_type,
                    ResourceType::Model | ResourceType::Snapshot
                )
            })
        })
        .cloned()
        .collect();
    if nodes.is_empty() {
        return Ok(BTreeMap::new());
    }
    let Ok((mut compiled, live)) = super::compile::compile_selected_noting_live(loaded, &nodes)
    else {
        return Ok(BTreeMap::new());
    };
    let lineage = crate::session::lineage::compile_lineage(loaded, &compiled)?;
    loaded.warn(&lineage.warnings)?;
    if kind == RunKind::Build && !lineage.errors.is_empty() {
        return Err(Error::Diagnostics(lineage.errors));
    }
    // PII where the policy forbids it stops run and build alike, before anything is built.
    if !lineage.pii_errors.is_empty() {
        return Err(Error::Diagnostics(lineage.pii_errors));
    }
    compiled.retain(|id, _| !live.contains(id));
    Ok(compiled)
}

/// Runs `ids` with `inv`'s flags, writes run_results.json and the manifest, prints the summary.
pub(super) fn execute_and_report(
    inv: &Invocation,
    loaded: Loaded,
    kind: RunKind,
    ids: Vec<String>,
    select: &SelectArgs,
    retry: bool,
    notices: &crate::notices::NoticeConfig,
) -> Result<Outcome, Error> {
    execute_with(
        inv,
        loaded,
        (kind, ids, select),
        retry,
        notices,
        BTreeMap::new(),
    )
}

/// [`execute_and_report`], with SQL already rendered for some nodes
/// ([`RunOptions::precompiled`]).
fn execute_with(
    inv: &Invocation,
    loaded: Loaded,
    (kind, ids, select): (RunKind, Vec<String>, &SelectArgs),
    retry: bool,
    notices: &crate::notices::NoticeConfig,
    precompiled: BTreeMap<String, crate::project::Compiled>,
) -> Result<Outcome, Error> {
    let flags = &inv.flags;
    loaded.found().emit();
    if ids.is_empty() {
        // dbt's NothingToDo warning (an error under --warn-error), shown as a plain line.
        let nothing = Diagnostic::warning(
            "nothing-to-do",
            "Nothing to do: the selection matches no nodes this command runs. Check --select and the nodes' `enabled` configs.",
        );
        match loaded.warn_error.treat(&nothing) {
            Treatment::Warn => inv.output.info(&nothing.message),
            Treatment::Silence => {}
            Treatment::Error => return Err(loaded.warn_error.promote(&nothing).into()),
        }
        return Ok(Outcome::Success);
    }
    let threads = loaded.project.target.threads.max(1);
    Event::new(
        kinds::CONCURRENCY_LINE,
        format!(
            "Concurrency: {threads} thread{} (target='{}')",
            if threads == 1 { "" } else { "s" },
            loaded.project.target.name
        ),
    )
    .with("node_count", ids.len())
    .with("num_threads", threads)
    .with("target_name", loaded.project.target.name.clone())
    .emit();
    Event::blank().emit();
    let opts = RunOptions {
        kind,
        threads,
        fail_fast: flags.fail_fast,
        full_refresh: flags.full_refresh,
        reuse: !flags.no_reuse,
        store_failures: flags.store_failures,
        event_time_start: parse_time(flags.event_time_start.as_deref(), "--event-time-start")?,
        event_time_end: parse_time(flags.event_time_end.as_deref(), "--event-time-end")?,
        defer: loaded.defer_manifest(select)?,
        inputs: InputLimits {
            empty: flags.empty,
            sample: match &flags.sample {
                Some(text) => Some(parse_sample(text, chrono::Utc::now())?),
                None => None,
            },
        },
        warn_error_tests: loaded.warn_error.treatment(Some("LogTestResult")) == Treatment::Error,
        retry,
        listeners: Default::default(),
        precompiled: Default::default(),
    };
    // What refs read under --empty, --sample and --defer differs from what the lineage
    // compiled: those runs render every node themselves.
    let opts = RunOptions {
        precompiled: std::sync::Arc::new(
            if opts.defer.is_some() || opts.inputs != InputLimits::default() {
                BTreeMap::new()
            } else {
                precompiled
            },
        ),
        ..opts
    };
    let counts = counts_text(&loaded, &ids);
    let timer = super::StageTimer::new();
    let write_results = results_writer(inv, &loaded, kind);
    let lineage_events = super::openlineage::start(&loaded, kind)?;
    let opts = RunOptions {
        listeners: super::openlineage::listeners(&lineage_events),
        ..opts
    };
    let summary = runner::execute(
        &loaded,
        ids,
        &opts,
        &inv.output,
        Some(write_results.clone()),
    );
    super::openlineage::finish(lineage_events, summary.as_ref().ok(), &inv.output);
    let summary = summary.inspect_err(|e| {
        super::notices::after_run(notices, &loaded, kind.command(), Err(e), &inv.output);
    })?;
    timer.mark("execute (all)");
    write_artifacts(&loaded, &summary, &write_results)?;
    runner::results_written();
    timer.mark("artifacts");
    inv.output.warnings(&summary.errors);
    runner::output::report(&summary, &counts, &loaded.project.nodes);
    super::notices::after_run(notices, &loaded, kind.command(), Ok(&summary), &inv.output);
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
    crate::session::exit_without_freeing(loaded);
    Ok(outcome)
}

/// `kiln retry`: the nodes that errored, failed or were skipped in the last run_results.json,
/// run again with that run's command and flags.
pub fn retry(inv: &Invocation) -> Result<Outcome, Error> {
    let opts = crate::session::load_options(inv)?;
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
    let rerun = "run kiln build, run, test, seed or snapshot first";
    let previous = crate::schemas::read::RunResults::read(&path, &path)
        .map_err(|e| {
            Error::one(e.diagnostic(
                "retry",
                "run the command again instead of retrying it (kiln retry repeats a run from the results kiln or dbt wrote)",
            ))
        })?
        .ok_or_else(|| {
            Error::one(
                crate::error::Diagnostic::error(
                    "retry",
                    format!(
                        "kiln retry needs the results of a previous run: there is no {}",
                        path.display()
                    ),
                )
                .with_help(rerun),
            )
        })?;
    let args = &previous.args;
    let kind = match args.which.as_deref() {
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
    // Retrying on another target than the run's would mix two targets' results (and, on another
    // adapter, two dialects): the nodes to retry are those that failed there.
    let written = previous.written_by();
    if let (Some(previous_target), Some(asked)) = (&written.target, &inv.load.target)
        && previous_target != asked
    {
        return Err(retry_elsewhere(&path, &written, asked, None));
    }
    // The previous run's flags, and its --vars and --target unless this invocation gives its own.
    let mut again = inv.clone();
    again.project_dir = Some(opts.project_dir.clone());
    again.flags = Flags {
        select: args.select.0.clone(),
        full_refresh: args.full_refresh,
        fail_fast: args.fail_fast,
        store_failures: args.store_failures,
        event_time_start: args.event_time_start.clone(),
        event_time_end: args.event_time_end.clone(),
        empty: args.empty,
        sample: args.sample.clone(),
        ..Flags::default()
    };
    if !args.vars.is_empty() && inv.load.cli_vars.is_empty() {
        again.load.cli_vars = args.vars.clone();
    }
    if let Some(target) = args.target.as_ref().filter(|t| !t.is_empty())
        && inv.load.target.is_none()
    {
        again.load.target = Some(target.clone());
    }
    let loaded = load_and_parse(&again, kind.command())?;
    let target = &loaded.project.target;
    if let Some(adapter) = &written.adapter_type
        && !adapter.eq_ignore_ascii_case(&target.adapter_type)
    {
        return Err(retry_elsewhere(
            &path,
            &written,
            &target.name,
            Some(&target.adapter_type),
        ));
    }
    let ids: Vec<String> = previous
        .results()
        .iter()
        .filter(|r| {
            matches!(
                r.status.as_str(),
                "error" | "fail" | "skipped" | "runtime error"
            )
        })
        .map(|r| r.unique_id.clone())
        .filter(|id| {
            loaded.project.nodes.contains_key(id)
                || loaded.project.exposures.contains_key(id)
                || loaded.project.unit_tests.contains_key(id)
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
        select: again.flags.select.clone(),
        ..SelectArgs::default()
    };
    let notices = super::notices::config(&loaded)?;
    execute_and_report(&again, loaded, kind, ids, &select, true, &notices)
}

/// `kiln retry` asked to run the last run's failures on another target than the one that ran
/// them (`adapter`: the other target's adapter, when that is what differs).
fn retry_elsewhere(
    path: &std::path::Path,
    written: &crate::schemas::read::WrittenBy,
    target: &str,
    adapter: Option<&str>,
) -> Error {
    let previous = written.target.as_deref().unwrap_or("its target");
    let this = match adapter {
        Some(a) => format!("target '{target}', which is now {a}"),
        None => format!("target '{target}'"),
    };
    crate::error::Diagnostic::error(
        "retry",
        format!(
            "kiln retry repeats the last run, which ran on {} ({}), but this retry would run on {this}: its results would mix with the other target's",
            written.describe(),
            path.display(),
        ),
    )
    .with_help(match adapter {
        None => format!(
            "run `kiln retry` without --target to retry on '{previous}', or run the command again with --target {target}"
        ),
        Some(_) => format!(
            "target '{target}' changed adapter since that run: run the command again instead of retrying it"
        ),
    })
    .into()
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
            None if loaded.project.unit_tests.contains_key(id) => "unit_test".into(),
            None => match loaded.project.semantic.get(id) {
                Some(s) => s.kind.as_str().into(),
                None => continue,
            },
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(k, c)| {
            if k == "saved_query" {
                return format!("{c} saved quer{}", if c == 1 { "y" } else { "ies" });
            }
            let k = match k.as_str() {
                "test" => "data test".into(),
                "unit_test" => "unit test".into(),
                _ => k,
            };
            format!("{c} {k}{}", if c == 1 { "" } else { "s" })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes run_results.json for a run of `kind`: owns what it needs, so that the second Ctrl-C
/// can write the results of what finished before the process quits.
fn results_writer(inv: &Invocation, loaded: &Loaded, kind: RunKind) -> runner::ResultsWriter {
    let args = inv.flags.run_results_args(
        kind.command(),
        &loaded.project.target.name,
        &inv.load.cli_vars,
    );
    let invocation_id = loaded.info.invocation_id.clone();
    let started_at = loaded.info.run_started_at;
    let target = loaded.project.target.clone();
    let path = loaded.project.target_dir().join("run_results.json");
    std::sync::Arc::new(move |summary: &RunSummary| {
        let doc = crate::artifacts::run_results::run_results_json(
            summary,
            &invocation_id,
            &started_at,
            args.clone(),
            &target,
        );
        let text = serde_json::to_vec_pretty(&doc).map_err(|e| {
            Error::one(crate::error::Diagnostic::error(
                "artifacts",
                format!("cannot serialise run_results.json: {e}"),
            ))
        })?;
        crate::artifacts::write_atomic(&path, &text)
    })
}

fn write_artifacts(
    loaded: &Loaded,
    summary: &RunSummary,
    write_results: &runner::ResultsWriter,
) -> Result<(), Error> {
    write_results(summary)?;
    // Nodes whose statements ran (and were written under target/run/) get a `build_path`.
    let mut meta = loaded.manifest_meta();
    meta.built = summary
        .results
        .iter()
        .filter(|r| !matches!(r.status, runner::Status::Skipped))
        .filter(|r| {
            r.compiled_code.is_some()
                || loaded
                    .project
                    .nodes
                    .get(&r.unique_id)
                    .is_some_and(|n| n.resource_type == ResourceType::Seed)
        })
        .map(|r| r.unique_id.clone())
        .collect();
    // The SQL each node ran with, from the run's results.
    meta.compiled = summary
        .results
        .iter()
        .filter_map(|r| {
            let code = r.compiled_code.clone()?;
            Some((
                r.unique_id.clone(),
                crate::project::Compiled {
                    code,
                    ..Default::default()
                },
            ))
        })
        .collect();
    loaded.write_manifest_with(&meta)
}

/// `--sample`: a window back from `now` (`3 days`, `12 hours`, `1 month`, `2 years`) or a mapping
/// with `start` and `end` (`{'start': '2024-07-01', 'end': '2024-07-08'}`), as dbt reads it.
/// The timestamps come back as dbt writes them into SQL: `2024-07-01 00:00:00+00:00` (UTC).
pub fn parse_sample(
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(String, String), Error> {
    use chrono::{Duration, Months};
    let bad = |what: String| -> Error {
        Diagnostic::error("flags", format!("--sample '{text}': {what}"))
            .with_help(
                "write a window back from now, e.g. --sample '3 days' (hours, days, months, years), \
                 or a mapping, e.g. --sample \"{'start': '2024-07-01', 'end': '2024-07-08'}\"",
            )
            .into()
    };
    let show = |t: chrono::NaiveDateTime| {
        if t.and_utc().timestamp_subsec_micros() == 0 {
            t.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
        } else {
            t.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string()
        }
    };
    if text.trim_start().starts_with('{') {
        let value = crate::project::yaml::parse_value(text)
            .map_err(|e| bad(format!("not a valid mapping: {e}")))?;
        let time = |key: &str| -> Result<chrono::NaiveDateTime, Error> {
            let v = value
                .get(key)
                .ok_or_else(|| bad(format!("`{key}` is missing")))?;
            let s = match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            crate::materialize::microbatch::parse_time(&s)
                .ok_or_else(|| bad(format!("`{key}` '{s}' is not a date or time")))
        };
        let (start, end) = (time("start")?, time("end")?);
        return Ok((show(start), show(end)));
    }
    let parts: Vec<&str> = text.split(' ').collect();
    let [count, grain] = parts.as_slice() else {
        return Err(bad("must be of the form 'N grain', e.g. '3 days'".into()));
    };
    let n: u32 = count
        .parse()
        .map_err(|_| bad(format!("'{count}' is not a whole number")))?;
    let end = now.naive_utc();
    let start = match grain.to_ascii_lowercase().trim_end_matches('s') {
        "hour" => end.checked_sub_signed(Duration::hours(i64::from(n))),
        "day" => end.checked_sub_signed(Duration::days(i64::from(n))),
        "month" => end.checked_sub_months(Months::new(n)),
        "year" => end.checked_sub_months(Months::new(n.saturating_mul(12))),
        _ => {
            return Err(bad(format!(
                "'{grain}' is not a grain: use hour, day, month or year (or their plurals)"
            )));
        }
    }
    .ok_or_else(|| bad("the window reaches before the first representable time".into()))?;
    Ok((show(start), show(end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> chrono::DateTime<chrono::Utc> {
        chrono::NaiveDate::from_ymd_opt(2024, 3, 31)
            .and_then(|d| d.and_hms_micro_opt(16, 6, 0, 250))
            .map(|t| t.and_utc())
            .unwrap_or_default()
    }

    fn ok(text: &str) -> (String, String) {
        match parse_sample(text, now()) {
            Ok(w) => w,
            Err(e) => panic!("{text}: {:?}", e.diagnostics()),
        }
    }

    #[test]
    fn relative_windows_end_now() {
        let end = "2024-03-31 16:06:00.000250+00:00".to_string();
        assert_eq!(
            ok("3 days"),
            ("2024-03-28 16:06:00.000250+00:00".into(), end.clone())
        );
        assert_eq!(ok("1 day").0, "2024-03-30 16:06:00.000250+00:00");
        assert_eq!(ok("12 HOURS").0, "2024-03-31 04:06:00.000250+00:00");
        // Months and years clamp to the end of a shorter month, as dbt's relativedelta does.
        assert_eq!(ok("1 month").0, "2024-02-29 16:06:00.000250+00:00");
        assert_eq!(ok("1 year").0, "2023-03-31 16:06:00.000250+00:00");
    }

    #[test]
    fn absolute_windows() {
        assert_eq!(
            ok("{'start': '2024-07-01', 'end': '2024-07-08'}"),
            (
                "2024-07-01 00:00:00+00:00".into(),
                "2024-07-08 00:00:00+00:00".into()
            )
        );
        assert_eq!(
            ok(r#"{"start": "2024-07-01 06:30:00", "end": "2024-07-02T00:00:00"}"#).0,
            "2024-07-01 06:30:00+00:00"
        );
    }

    #[test]
    fn bad_windows_say_what_to_write() {
        for (text, what) in [
            ("3", "of the form 'N grain'"),
            ("three days", "not a whole number"),
            ("3 weeks", "'weeks' is not a grain"),
            ("{'start': '2024-07-01'}", "`end` is missing"),
            (
                "{'start': 'soon', 'end': '2024-07-01'}",
                "'soon' is not a date",
            ),
        ] {
            let msg = parse_sample(text, now())
                .err()
                .map(|e| e.diagnostics()[0].message.clone())
                .unwrap_or_default();
            assert!(msg.contains(what), "{text}: {msg}");
        }
    }
}

//! Failure notices for the commands that run nodes (`run`, `test`, `seed`, `snapshot`,
//! `build`, `retry`) and `source freshness`: the settings read before anything runs (a bad one
//! is a configuration error, exit 2), the notice sent once the run is over when it failed. What
//! cannot be sent is a warning: the exit code is the run's.

use crate::error::{Diagnostic, Error};
use crate::invocation::Output;
use crate::notices::{Failure, Notice, NoticeConfig};
use crate::runner::RunSummary;
use crate::session::Loaded;
use std::path::Path;

/// This project's notice settings (dbt_project.yml's `vars: {kiln: {notices: ..}}`, then the
/// target's `notices:` in profiles.yml).
pub fn config(loaded: &Loaded) -> Result<NoticeConfig, Error> {
    let project = &loaded.project;
    let mut config = NoticeConfig::read(&project.vars, &project.target.fields).map_err(|e| {
        let file = if e.setting.starts_with("vars.") {
            project.dir.join("dbt_project.yml")
        } else {
            project.target.profiles_path.clone()
        };
        Diagnostic::error(
            "config",
            format!("failure notice setting {}: {}", e.setting, e.problem),
        )
        .in_file(&file)
        .with_help("see \"Failure notices\" in README.md")
    })?;
    if let Some(email) = config.email.as_mut()
        && let Some(ca) = email.ca_file.as_mut()
        && ca.is_relative()
    {
        *ca = project.dir.join(&*ca);
    }
    Ok(config)
}

/// The notice of a failed run of `command`, with these failures; `results_file` is taken from
/// the target folder unless absolute.
fn notice(
    loaded: &Loaded,
    command: &str,
    failures: Vec<Failure>,
    skipped: usize,
    elapsed: Option<f64>,
    results_file: &Path,
    config: &NoticeConfig,
) -> Notice {
    let project = &loaded.project;
    let results = config.link.clone().unwrap_or_else(|| {
        let path = project.target_dir().join(results_file);
        std::path::absolute(&path)
            .unwrap_or(path)
            .display()
            .to_string()
    });
    Notice {
        project: project.name.clone(),
        command: command.to_string(),
        target: project.target.name.clone(),
        invocation_id: loaded.info.invocation_id.clone(),
        started_at: loaded.info.run_started_at,
        elapsed,
        failures,
        skipped,
        results,
    }
}

/// Sends the notice and tells the user where it went, or why it did not.
fn deliver(config: &NoticeConfig, notice: &Notice, output: &Output) {
    let delivery = crate::notices::send(config, notice);
    for w in &delivery.warnings {
        output.warnings(&[Diagnostic::warning("notices", w.clone())]);
    }
    if !delivery.sent.is_empty() {
        output.info(&format!(
            "Sent the failure notice: {}.",
            delivery.sent.join("; ")
        ));
    }
}

/// After a run: a notice when it failed (an interrupted run is the user's doing, not a
/// failure); `summary` is the runner's error when the run could not happen.
pub fn after_run(
    config: &NoticeConfig,
    loaded: &Loaded,
    command: &str,
    summary: Result<&RunSummary, &Error>,
    output: &Output,
) {
    if !config.any() {
        return;
    }
    let (failures, skipped, elapsed) = match summary {
        Ok(s) if s.interrupted || !s.failed() => return,
        Ok(s) => {
            let (f, skipped) = crate::notices::run_failures(&loaded.project, &loaded.graph, s);
            (f, skipped, Some(s.elapsed))
        }
        Err(e) => (errors(e), 0, None),
    };
    let n = notice(
        loaded,
        command,
        failures,
        skipped,
        elapsed,
        Path::new("run_results.json"),
        config,
    );
    deliver(config, &n, output);
}

/// A command that stopped on errors before its run (e.g. `build`'s compile-time column
/// checks): a notice listing them.
pub fn stopped(
    config: &NoticeConfig,
    loaded: &Loaded,
    command: &str,
    error: &Error,
    output: &Output,
) {
    if !config.any() {
        return;
    }
    let n = notice(
        loaded,
        command,
        errors(error),
        0,
        None,
        Path::new("run_results.json"),
        config,
    );
    deliver(config, &n, output);
}

/// `source freshness`: a notice when a source is stale past `error_after` or could not be
/// checked.
pub fn after_freshness(
    config: &NoticeConfig,
    loaded: &Loaded,
    failures: Vec<Failure>,
    elapsed: f64,
    results_file: &Path,
    output: &Output,
) {
    if !config.any() || failures.is_empty() {
        return;
    }
    let n = notice(
        loaded,
        "source freshness",
        failures,
        0,
        Some(elapsed),
        results_file,
        config,
    );
    deliver(config, &n, output);
}

fn errors(error: &Error) -> Vec<Failure> {
    error
        .diagnostics()
        .iter()
        .filter(|d| d.severity == crate::error::Severity::Error)
        .map(|d| {
            let message = match &d.help {
                Some(h) => format!("{}\n{h}", d.message),
                None => d.message.clone(),
            };
            Failure::of_run(&message, crate::notices::diagnostic_file(d))
        })
        .collect()
}

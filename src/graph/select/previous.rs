//! `result:` and `source_status:` selection: what a previous run recorded in the `--state`
//! folder.
//!
//! - `result:<status>` selects the nodes whose entry in the state's `run_results.json` has that
//!   status (`error`, `fail`, `skipped`, `success`, `warn`, `pass`, `no-op`), as dbt does:
//!   `kiln build -s result:error+ --state target/` re-runs what failed and everything after it.
//! - `source_status:fresher` selects the sources whose newest row (`max_loaded_at`) in this
//!   project's current `target/sources.json` is newer than in the state's `sources.json`, or that
//!   the state did not check; a source whose check errored in either file is left out, as in dbt:
//!   `kiln source freshness && kiln build -s source_status:fresher+ --state prod/`.

use crate::error::Diagnostic;
use crate::schemas::read::{RunResults, SourceFreshness};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The statuses `result:` takes (run_results.json's words).
pub const RESULT_VALUES: [&str; 7] = [
    "success", "error", "fail", "skipped", "warn", "pass", "no-op",
];

/// The comparisons `source_status:` takes.
pub const SOURCE_STATUS_VALUES: [&str; 1] = ["fresher"];

/// The previous run's artifacts, each present only if its file was.
#[derive(Debug, Clone, Default)]
pub struct PreviousRun {
    /// The `--state` folder, for messages.
    pub dir: Option<std::path::PathBuf>,
    /// `<state>/run_results.json`.
    pub run_results: Option<RunResults>,
    /// `<state>/sources.json`.
    pub sources: Option<SourceFreshness>,
    /// Where this project's `<target-path>/sources.json` is (the latest `kiln source
    /// freshness`): read only when `source_status:` asks for it.
    pub sources_current: Option<std::path::PathBuf>,
}

fn missing(raw: &str, what: &str, dir: Option<&Path>, fix: &str) -> Diagnostic {
    let message = match dir {
        Some(d) => format!("'{raw}' needs {what}, and there is none in {}", d.display()),
        None => format!("'{raw}' compares with a previous run, but no --state was given"),
    };
    Diagnostic::error("selector", message).with_help(fix.to_string())
}

/// A timestamp from sources.json as seconds since the epoch, whatever way it is written
/// (`2024-06-01T08:00:00+00:00`, `2024-06-01 08:00:00.123`, ...); naive times are UTC.
fn timestamp(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros() as f64 / 1e6);
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(s, fmt) {
            return Some(t.timestamp_micros() as f64 / 1e6);
        }
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_micros() as f64 / 1e6);
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp() as f64)
}

/// Each source checked in a sources.json: its newest load time, or None when the check errored.
fn loaded_at(doc: &SourceFreshness) -> BTreeMap<String, Option<f64>> {
    doc.results()
        .iter()
        .filter(|r| !r.unique_id.is_empty())
        .map(|r| {
            let errored = r.status == "runtime error";
            let at = r.max_loaded_at.as_deref().and_then(timestamp);
            (r.unique_id.clone(), if errored { None } else { at })
        })
        .collect()
}

impl PreviousRun {
    /// The unique_ids `result:<status>` selects.
    pub fn with_result(&self, raw: &str, status: &str) -> Result<BTreeSet<String>, Diagnostic> {
        let Some(doc) = &self.run_results else {
            return Err(missing(
                raw,
                "the run_results.json of a previous run",
                self.dir.as_deref(),
                "pass --state <dir> pointing at the target folder of the run whose results to select from (it holds run_results.json)",
            ));
        };
        Ok(doc
            .results()
            .iter()
            .filter(|r| r.status == status && !r.unique_id.is_empty())
            .map(|r| r.unique_id.clone())
            .collect())
    }

    /// The source unique_ids `source_status:fresher` selects.
    pub fn fresher_sources(&self, raw: &str) -> Result<BTreeSet<String>, Diagnostic> {
        let Some(before) = &self.sources else {
            return Err(missing(
                raw,
                "the sources.json of a previous `source freshness`",
                self.dir.as_deref(),
                "pass --state <dir> pointing at the target folder of an earlier `kiln source freshness` (it holds sources.json)",
            ));
        };
        let rerun = "run `kiln source freshness` first: it writes target/sources.json";
        let now = match &self.sources_current {
            Some(path) => {
                SourceFreshness::read(path, path).map_err(|e| e.diagnostic("selector", rerun))?
            }
            None => None,
        };
        let Some(now) = now else {
            return Err(Diagnostic::error(
                "selector",
                format!("'{raw}' compares this project's target/sources.json with the state's, and there is none yet"),
            )
            .with_help(rerun));
        };
        let before = loaded_at(before);
        Ok(loaded_at(&now)
            .into_iter()
            .filter_map(|(id, at)| {
                let at = at?;
                let fresher = match before.get(&id) {
                    None => true,
                    Some(None) => false,
                    Some(Some(old)) => at > *old,
                };
                fresher.then_some(id)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fresher_compares_load_times_and_skips_errors() {
        let current = json!({"results": [
            {"unique_id": "source.p.a.same", "max_loaded_at": "2024-06-01 08:00:00", "status": "pass"},
            {"unique_id": "source.p.a.newer", "max_loaded_at": "2024-06-02T08:00:00Z", "status": "pass"},
            {"unique_id": "source.p.a.broken_before", "max_loaded_at": "2024-06-03", "status": "pass"},
            {"unique_id": "source.p.a.new", "max_loaded_at": "2024-06-03", "status": "pass"},
            {"unique_id": "source.p.a.broken_now", "status": "runtime error"},
        ]});
        let dir = std::env::temp_dir().join(format!("kiln-previous-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("sources.json");
        let _ = std::fs::write(&path, current.to_string());
        let before = json!({"results": [
            {"unique_id": "source.p.a.same", "max_loaded_at": "2024-06-01T08:00:00+00:00", "status": "pass"},
            {"unique_id": "source.p.a.newer", "max_loaded_at": "2024-06-01 08:00:00", "status": "warn"},
            {"unique_id": "source.p.a.broken_before", "status": "runtime error"},
        ]});
        let prev = PreviousRun {
            dir: None,
            run_results: None,
            sources: serde_json::from_value(before).ok(),
            sources_current: Some(path),
        };
        let got: Vec<String> = prev
            .fresher_sources("source_status:fresher")
            .unwrap_or_default()
            .into_iter()
            .collect();
        assert_eq!(got, ["source.p.a.new", "source.p.a.newer"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_files_say_what_to_run() {
        let prev = PreviousRun {
            dir: Some("prod".into()),
            ..PreviousRun::default()
        };
        let e = prev.with_result("result:error", "error").err();
        assert!(
            e.is_some_and(|d| d.message.contains("run_results.json") && d.message.contains("prod"))
        );
        let e = PreviousRun::default()
            .fresher_sources("source_status:fresher")
            .err();
        assert!(e.is_some_and(|d| d.message.contains("no --state was given")));
    }
}

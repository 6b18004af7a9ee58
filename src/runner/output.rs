//! What a run prints: dbt's familiar lines (`1 of 5 START sql view model main.orders ... [RUN]`,
//! then `OK`, `PASS`, `FAIL 3`, `ERROR`, `SKIP`, coloured as dbt colours them), a progress bar on
//! a terminal that names the nodes running and for how long, and the summary. Each line is one of
//! dbt's events ([`crate::events`]) with its `node_info`, so JSON logs carry what tools expect.

use super::{NodeResult, RunSummary, Status};
use crate::events::{Event, Level, kinds, paint};
use crate::invocation::Output;
use crate::project::{Node, ResourceType};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Width dbt pads its progress lines to.
const LINE_WIDTH: usize = 80;

/// How often the bar's "running" message is refreshed.
const TICK: Duration = Duration::from_millis(250);

const GREEN: &str = "32";
const YELLOW: &str = "33";
const RED: &str = "31";

/// The nodes running now: their "i of N" index → (name, when it started).
type Running = Arc<Mutex<BTreeMap<usize, (String, Instant)>>>;

pub struct Progress {
    total: usize,
    next: AtomicUsize,
    bar: Option<ProgressBar>,
    running: Running,
    ticker: Mutex<Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>>,
}

impl Progress {
    pub fn new(total: usize, output: Output) -> Self {
        let running: Running = Arc::default();
        let bar = (output.bar
            && total > 0
            && std::io::stderr().is_terminal()
            && std::io::stdout().is_terminal())
        .then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let template = if output.color {
                "{bar:30.cyan/blue} {pos}/{len} nodes  {elapsed}  {wide_msg}"
            } else {
                "{bar:30} {pos}/{len} nodes  {elapsed}  {wide_msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar
        });
        // The bar is redrawn on a steady tick with the running nodes' elapsed times, so a long
        // node (an Athena model can run for minutes) never looks frozen.
        let ticker = bar.as_ref().map(|bar| {
            let stop = Arc::new(AtomicBool::new(false));
            let (bar, running, halt) = (bar.clone(), running.clone(), stop.clone());
            let handle = std::thread::spawn(move || {
                while !halt.load(Ordering::SeqCst) {
                    bar.set_message(running_message(&snapshot(&running)));
                    std::thread::park_timeout(TICK);
                }
            });
            (stop, handle)
        });
        crate::events::set_progress_bar(bar.clone());
        Progress {
            total,
            next: AtomicUsize::new(1),
            bar,
            running,
            ticker: Mutex::new(ticker),
        }
    }

    /// The next "i of N" number.
    pub fn claim(&self) -> usize {
        self.next.fetch_add(1, Ordering::SeqCst)
    }

    pub fn total(&self) -> usize {
        self.total
    }

    /// `i of N START <description> ... [RUN]`, after dbt's `NodeStart`.
    pub fn start(&self, index: usize, description: &str, node_info: &Json) {
        let name = node_info["node_name"].as_str().unwrap_or_default();
        if let Ok(mut r) = self.running.lock() {
            r.insert(index, (name.to_string(), Instant::now()));
        }
        let unique_id = node_info["unique_id"].as_str().unwrap_or_default();
        Event::new(kinds::NODE_START, format!("Began running node {unique_id}"))
            .with("node_info", node_info.clone())
            .emit();
        let line = dotted(
            &format!("{index} of {} START {description}", self.total),
            "[RUN]",
        );
        Event::new(kinds::LOG_START_LINE, line)
            .with("description", description)
            .with("index", index)
            .with("node_info", node_info.clone())
            .with("total", self.total)
            .stamped()
            .emit();
    }

    /// A node's result line (see [`result_event`]).
    pub fn done(&self, index: usize, event: Event) {
        if let Ok(mut r) = self.running.lock() {
            r.remove(&index);
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        event.emit();
    }

    /// A warning about the node running, on its own line.
    pub fn note(&self, line: &str) {
        Event::note(line).at(Level::Warn).stamped().emit();
    }

    pub fn finish(&self) {
        if let Some((stop, handle)) = self.ticker.lock().ok().and_then(|mut t| t.take()) {
            stop.store(true, Ordering::SeqCst);
            handle.thread().unpark();
            let _ = handle.join();
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        crate::events::set_progress_bar(None);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

fn snapshot(running: &Running) -> Vec<(String, Duration)> {
    running
        .lock()
        .map(|r| {
            r.values()
                .map(|(name, started)| (name.clone(), started.elapsed()))
                .collect()
        })
        .unwrap_or_default()
}

/// The bar's message: the nodes running, longest first, with how long each has run:
/// `running: int_costs_monthly 1m05s, exec_weekly 12s`.
pub fn running_message(running: &[(String, Duration)]) -> String {
    if running.is_empty() {
        return String::new();
    }
    let mut sorted: Vec<&(String, Duration)> = running.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let parts: Vec<String> = sorted
        .iter()
        .map(|(name, d)| format!("{name} {}", short_duration(*d)))
        .collect();
    format!("running: {}", parts.join(", "))
}

/// `12s`, `1m05s`, `2h03m`.
fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// `left ..... right` as dbt writes it: `left` and a space, padded with dots to 80 characters,
/// then a space and `right`.
fn dotted(left: &str, right: &str) -> String {
    let prefix = format!("{left} ");
    let dots = LINE_WIDTH.saturating_sub(prefix.chars().count());
    format!("{prefix}{} {right}", ".".repeat(dots))
}

/// The colour dbt gives a status: green for OK and PASS (and a seed's `INSERT n`), yellow for
/// WARN, SKIP and NO-OP, red for ERROR and FAIL.
fn status_colour(status: &str) -> &'static str {
    let word = status.split_whitespace().next().unwrap_or("");
    match word {
        "WARN" | "SKIP" | "NO-OP" | "PARTIAL" => YELLOW,
        "ERROR" | "FAIL" => RED,
        _ => GREEN,
    }
}

/// A result line, plain and coloured: `3 of 8 OK created ... [OK in 0.12s]`, the status word(s)
/// before ` in ` in colour, as dbt prints them.
pub fn result_line(index: usize, total: usize, text: &str, status: &str) -> (String, String) {
    let left = format!("{index} of {total} {text}");
    let plain = dotted(&left, &format!("[{status}]"));
    let (word, rest) = match status.find(" in ") {
        Some(i) => status.split_at(i),
        None => (status, ""),
    };
    let styled = dotted(
        &left,
        &format!("[{}{rest}]", paint(status_colour(status), word)),
    );
    (plain, styled)
}

/// A time as dbt writes it in `node_info`: UTC, without a zone.
pub fn node_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// dbt's `node_info` of a node: what tools use to tell which node an event is about.
pub fn node_info(
    node: &Node,
    status: &str,
    started: Option<chrono::DateTime<chrono::Utc>>,
    finished: Option<chrono::DateTime<chrono::Utc>>,
) -> Json {
    let materialized = match node.resource_type {
        ResourceType::Model => node.materialized().to_string(),
        ResourceType::Test => "test".into(),
        ResourceType::Seed => "seed".into(),
        ResourceType::Snapshot => "snapshot".into(),
        _ => String::new(),
    };
    json!({
        "materialized": materialized,
        "meta": node.config.get("meta").cloned().unwrap_or_else(|| json!({})),
        "node_checksum": node.checksum,
        "node_finished_at": finished.map(node_time).unwrap_or_default(),
        "node_name": node.name,
        "node_path": node.path,
        "node_relation": {
            "alias": node.alias,
            "database": node.database,
            "relation_name": node.relation_name.clone().unwrap_or_default(),
            "schema": node.schema,
        },
        "node_started_at": started.map(node_time).unwrap_or_default(),
        "node_status": status,
        "resource_type": node.resource_type.to_string(),
        "unique_id": node.unique_id,
    })
}

/// `node_info` of a saved query (as of an exposure).
pub fn semantic_info(
    node: &crate::project::semantic::SemanticNode,
    status: &str,
    started: Option<chrono::DateTime<chrono::Utc>>,
    finished: Option<chrono::DateTime<chrono::Utc>>,
) -> Json {
    let meta = node
        .spec
        .get("config")
        .and_then(|c| c.get("meta"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    json!({
        "materialized": "",
        "meta": meta,
        "node_checksum": "",
        "node_finished_at": finished.map(node_time).unwrap_or_default(),
        "node_name": node.name,
        "node_path": node.path,
        "node_relation": {"alias": "", "database": "", "relation_name": "", "schema": ""},
        "node_started_at": started.map(node_time).unwrap_or_default(),
        "node_status": status,
        "resource_type": node.kind.as_str(),
        "unique_id": node.unique_id,
    })
}

/// `node_info` of an exposure (dbt's: no relation, no materialization).
pub fn exposure_info(
    exposure: &crate::project::ExposureNode,
    status: &str,
    started: Option<chrono::DateTime<chrono::Utc>>,
    finished: Option<chrono::DateTime<chrono::Utc>>,
) -> Json {
    json!({
        "materialized": "",
        "meta": exposure.meta,
        "node_checksum": "",
        "node_finished_at": finished.map(node_time).unwrap_or_default(),
        "node_name": exposure.name,
        "node_path": exposure.path,
        "node_relation": {"alias": "", "database": "", "relation_name": "", "schema": ""},
        "node_started_at": started.map(node_time).unwrap_or_default(),
        "node_status": status,
        "resource_type": "exposure",
        "unique_id": exposure.unique_id,
    })
}

/// The event of a finished node: dbt's `LogModelResult`, `LogSeedResult`, `LogSnapshotResult` or
/// `LogTestResult`, at error level when it failed (warn for a warning test), so `--quiet` still
/// shows it. `text` and `status` are the two halves of the line.
#[allow(clippy::too_many_arguments)]
pub fn result_event(
    node: &Node,
    r: &NodeResult,
    index: usize,
    total: usize,
    description: &str,
    text: &str,
    status: &str,
    info: Json,
) -> Event {
    let (plain, styled) = result_line(index, total, text, status);
    let level = match r.status {
        Status::Error | Status::Fail | Status::PartialSuccess => Level::Error,
        Status::Warn => Level::Warn,
        _ => Level::Info,
    };
    let status_word = r.status.as_str();
    let message = r.message.clone().unwrap_or_default();
    let event = match node.resource_type {
        ResourceType::Test => Event::new(kinds::LOG_TEST_RESULT, plain)
            .with(
                "attached_node",
                node.test
                    .as_ref()
                    .and_then(|t| t.attached_node.clone())
                    .unwrap_or_default(),
            )
            .with("name", node.name.clone())
            .with("num_failures", r.failures.unwrap_or(0))
            .with("num_models", total)
            .with("status", status_word),
        ResourceType::Seed => Event::new(kinds::LOG_SEED_RESULT, plain)
            .with("relation", node.alias.clone())
            .with(
                "result_message",
                if r.status == Status::Success {
                    message
                } else {
                    "ERROR".into()
                },
            )
            .with("schema", node.schema.clone())
            .with("status", status_word)
            .with("total", total),
        ResourceType::Snapshot => Event::new(kinds::LOG_SNAPSHOT_RESULT, plain)
            .with("cfg", Json::Object(node.config.clone()))
            .with("description", description)
            .with(
                "result_message",
                if r.status == Status::Success {
                    message
                } else {
                    "ERROR".into()
                },
            )
            .with("status", status_word)
            .with("total", total),
        _ => Event::new(kinds::LOG_MODEL_RESULT, plain)
            .with("description", description)
            .with(
                "status",
                if r.status == Status::Success {
                    "OK"
                } else {
                    status_word
                },
            )
            .with("total", total),
    };
    event
        .at(level)
        .with("execution_time", r.execution_time)
        .with("index", index)
        .with("node_info", info)
        .styled(styled)
        .stamped()
}

/// dbt's `NodeFinished`: the node's run result, for the log file.
pub fn node_finished(r: &NodeResult, info: Json) -> Event {
    let timing: Vec<Json> = r
        .timing
        .iter()
        .map(|t| {
            json!({
                "completed_at": t.completed_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                "name": t.name,
                "started_at": t.started_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            })
        })
        .collect();
    Event::new(
        kinds::NODE_FINISHED,
        format!("Finished running node {}", r.unique_id),
    )
    .with("node_info", info)
    .with(
        "run_result",
        json!({
            "adapter_response": r.adapter_response,
            "execution_time": r.execution_time,
            "message": r.message,
            "num_failures": r.failures.unwrap_or(0),
            "status": r.status.as_str(),
            "thread": r.thread_id,
            "timing_info": timing,
        }),
    )
}

/// The counts of dbt's `Done.` line, each result counted once as dbt counts it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub pass: usize,
    pub warn: usize,
    pub error: usize,
    pub skip: usize,
    pub noop: usize,
    /// Nodes skipped as unchanged (`REUSED`), counted apart from PASS.
    pub reused: usize,
    pub total: usize,
}

impl Stats {
    pub fn of(summary: &RunSummary) -> Stats {
        let mut s = Stats {
            // Problems outside any node (hooks) count as errors.
            error: summary.errors.len(),
            ..Stats::default()
        };
        for r in &summary.results {
            s.total += 1;
            if r.reused.is_some() {
                s.reused += 1;
                continue;
            }
            match r.status {
                Status::Success | Status::Pass => s.pass += 1,
                Status::Warn => s.warn += 1,
                Status::Error | Status::Fail | Status::PartialSuccess => s.error += 1,
                Status::Skipped => s.skip += 1,
                Status::NoOp => s.noop += 1,
            }
        }
        s
    }

    /// `Done. PASS=4 WARN=1 ERROR=1 SKIP=2 NO-OP=0 TOTAL=8`, with `REUSED=n` before `TOTAL`
    /// when nodes were reused.
    pub fn line(&self) -> String {
        let reused = if self.reused > 0 {
            format!(" REUSED={}", self.reused)
        } else {
            String::new()
        };
        format!(
            "Done. PASS={} WARN={} ERROR={} SKIP={} NO-OP={}{reused} TOTAL={}",
            self.pass, self.warn, self.error, self.skip, self.noop, self.total
        )
    }

    /// dbt's `StatsLine` event.
    pub fn event(&self) -> Event {
        let mut stats = json!({
            "error": self.error,
            "noop": self.noop,
            "pass": self.pass,
            "skip": self.skip,
            "total": self.total,
            "warn": self.warn,
        });
        if self.reused > 0 {
            stats["reused"] = json!(self.reused);
        }
        Event::new(kinds::STATS_LINE, self.line()).with("stats", stats)
    }
}

/// `0 hours 0 minutes and 1.46 seconds`
fn spelled(secs: f64) -> String {
    format!(
        "{} hours {} minutes and {:.2} seconds",
        (secs / 3600.0) as u64,
        ((secs % 3600.0) / 60.0) as u64,
        secs % 60.0
    )
}

/// dbt's `FinishedRunningStats`: `Finished running 3 view models in 0 hours 0 minutes and 0.63
/// seconds (0.63s).`
pub fn finished_running(counts: &str, secs: f64) -> Event {
    let execution = format!(" in {}", spelled(secs));
    Event::new(
        kinds::FINISHED_RUNNING_STATS,
        format!("Finished running {counts}{execution} ({secs:.2}s)."),
    )
    .with("execution", execution)
    .with("execution_time", secs)
    .with("stat_line", counts)
}

/// The end of a run, as dbt reports it: how long it took, each error and warning with its
/// message and compiled file, then the `Done.` counts. Errors are at error level, so `--quiet`
/// still shows them.
pub fn report(summary: &RunSummary, counts: &str, nodes: &BTreeMap<String, std::sync::Arc<Node>>) {
    Event::blank().emit();
    finished_running(counts, summary.elapsed).emit();
    let failed: Vec<&NodeResult> = summary
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Error | Status::Fail))
        .collect();
    let warned: Vec<&NodeResult> = summary
        .results
        .iter()
        .filter(|r| r.status == Status::Warn)
        .collect();
    let partial: Vec<&NodeResult> = summary
        .results
        .iter()
        .filter(|r| r.status == Status::PartialSuccess)
        .collect();
    let errors = failed.len() + summary.errors.len();
    Event::blank().emit();
    end_of_run(summary.interrupted, errors, partial.len(), warned.len()).emit();
    for r in failed.iter().chain(&partial) {
        result_problem(r, nodes, false);
    }
    for r in &warned {
        result_problem(r, nodes, true);
    }
    Event::blank().emit();
    Stats::of(summary).event().emit();
}

/// dbt's `EndOfRunSummary`: `Completed successfully`, or with how many errors and warnings.
fn end_of_run(interrupted: bool, errors: usize, partial: usize, warnings: usize) -> Event {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let (msg, colour) = if interrupted {
        (
            "Exited because of keyboard interrupt: run_results.json holds what finished"
                .to_string(),
            YELLOW,
        )
    } else if errors > 0 {
        (
            format!(
                "Completed with {}, {}, and {}:",
                plural(errors, "error", "errors"),
                plural(partial, "partial success", "partial successes"),
                plural(warnings, "warning", "warnings")
            ),
            RED,
        )
    } else if partial > 0 {
        (
            format!(
                "Completed with {} and {}",
                plural(partial, "partial success", "partial successes"),
                plural(warnings, "warning", "warnings")
            ),
            YELLOW,
        )
    } else if warnings > 0 {
        (
            format!(
                "Completed with {}:",
                plural(warnings, "warning", "warnings")
            ),
            YELLOW,
        )
    } else {
        ("Completed successfully".to_string(), GREEN)
    };
    Event::new(kinds::END_OF_RUN_SUMMARY, msg.clone())
        .styled(paint(colour, &msg))
        .with("keyboard_interrupt", interrupted)
        .with("num_errors", errors)
        .with("num_partial_success", partial)
        .with("num_warnings", warnings)
}

/// One failed (or warning) node in the summary: `Failure in model x (models/x.sql)`, its
/// message indented, and where its compiled SQL is.
fn result_problem(r: &NodeResult, nodes: &BTreeMap<String, std::sync::Arc<Node>>, warning: bool) {
    let (info, what, name, path, rt) = match (nodes.get(&r.unique_id), &r.problem) {
        (Some(node), _) => (
            node_info(node, "None", None, None),
            format!(
                "{} {} ({})",
                node.resource_type, node.name, node.original_file_path
            ),
            node.name.clone(),
            node.original_file_path.clone(),
            node.resource_type.to_string(),
        ),
        (None, Some((rt, name, path))) => (
            json!({"node_name": name, "node_path": path, "resource_type": rt, "unique_id": r.unique_id}),
            format!("{rt} {name} ({path})"),
            name.clone(),
            path.clone(),
            rt.clone(),
        ),
        (None, None) => return,
    };
    Event::blank().emit();
    let (kind, head, colour) = if warning {
        (
            kinds::RUN_RESULT_WARNING,
            format!("Warning in {what}"),
            YELLOW,
        )
    } else {
        (kinds::RUN_RESULT_FAILURE, format!("Failure in {what}"), RED)
    };
    Event::new(kind, head.clone())
        .styled(paint(colour, &head))
        .with("node_info", info.clone())
        .with("node_name", name)
        .with("path", path)
        .with("resource_type", rt)
        .emit();
    let message = r
        .detail
        .clone()
        .or_else(|| r.message.clone())
        .unwrap_or_default();
    if warning {
        Event::new(kinds::RUN_RESULT_WARNING_MESSAGE, message.clone())
            .with("msg", message)
            .with("node_info", info.clone())
            .emit();
    } else if message.is_empty() {
        let status = r.status.as_str();
        Event::new(
            kinds::RUN_RESULT_ERROR_NO_MESSAGE,
            format!("  Status: {status}"),
        )
        .with("node_info", info.clone())
        .with("status", status)
        .emit();
    } else {
        Event::new(kinds::RUN_RESULT_ERROR, format!("  {message}"))
            .with("msg", message)
            .with("node_info", info.clone())
            .emit();
    }
    if let Some(path) = &r.compiled_path {
        Event::blank().emit();
        Event::new(
            kinds::SQL_COMPILED_PATH,
            format!("  compiled code at {path}"),
        )
        .with("node_info", info.clone())
        .with("path", path.clone())
        .emit();
    }
    if let Some(relation) = &r.failures_relation {
        let select = format!("select * from {relation}");
        let border = "-".repeat(select.len());
        Event::blank().emit();
        Event::new(
            kinds::CHECK_NODE_TEST_FAILURE,
            format!("  See test failures:\n  {border}\n  {select}\n  {border}"),
        )
        .with("node_info", info)
        .with("relation_name", relation.clone())
        .emit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_padded_to_dbt_width() {
        let l = dotted("1 of 2 START sql view model main.x", "[RUN]");
        assert_eq!(l.len(), 80 + 1 + 5);
        assert!(l.starts_with("1 of 2 START sql view model main.x ...."));
        assert!(l.ends_with(" [RUN]"));
    }

    #[test]
    fn statuses_are_coloured_as_dbt_colours_them() {
        let (plain, styled) = result_line(1, 2, "OK created sql view model main.x", "OK in 0.12s");
        assert!(plain.ends_with(" [OK in 0.12s]"), "{plain}");
        assert!(
            styled.ends_with(" [\x1b[32mOK\x1b[0m in 0.12s]"),
            "{styled:?}"
        );
        let (_, err) = result_line(1, 2, "ERROR creating x", "ERROR in 0.01s");
        assert!(err.contains("[\x1b[31mERROR\x1b[0m in"), "{err:?}");
        let (_, warn) = result_line(1, 2, "WARN 3 t", "WARN 3 in 0.01s");
        assert!(warn.contains("[\x1b[33mWARN 3\x1b[0m in"), "{warn:?}");
        let (_, skip) = result_line(1, 2, "SKIP relation main.x", "SKIP");
        assert!(skip.ends_with("[\x1b[33mSKIP\x1b[0m]"), "{skip:?}");
        let (_, fail) = result_line(1, 2, "FAIL 2 t", "FAIL 2 in 0.01s");
        assert!(fail.contains("[\x1b[31mFAIL 2\x1b[0m in"), "{fail:?}");
        let (_, seed) = result_line(1, 2, "OK loaded seed file main.s", "INSERT 3 in 0.01s");
        assert!(seed.contains("[\x1b[32mINSERT 3\x1b[0m in"), "{seed:?}");
    }

    #[test]
    fn the_bar_names_the_running_nodes_longest_first_with_elapsed_time() {
        assert_eq!(running_message(&[]), "");
        let msg = running_message(&[
            ("stg_orders".into(), Duration::from_secs(3)),
            ("int_costs_monthly".into(), Duration::from_secs(65)),
            ("exec_weekly".into(), Duration::from_secs(7322)),
        ]);
        assert_eq!(
            msg,
            "running: exec_weekly 2h02m, int_costs_monthly 1m05s, stg_orders 3s"
        );
    }

    #[test]
    fn done_line_counts_partial_success_as_an_error_as_dbt_does() {
        let mut r = NodeResult::new("model.x.a", Status::PartialSuccess);
        r.execution_time = 1.0;
        let summary = RunSummary {
            results: vec![
                r,
                NodeResult::new("model.x.b", Status::Success),
                NodeResult::new("test.x.c", Status::Skipped),
            ],
            elapsed: 1.0,
            interrupted: false,
            errors: vec![],
        };
        let s = Stats::of(&summary);
        assert_eq!(
            s.line(),
            "Done. PASS=1 WARN=0 ERROR=1 SKIP=1 NO-OP=0 TOTAL=3"
        );
    }
}

//! What a run prints: dbt's familiar lines (`1 of 5 START sql view model main.orders ... [RUN]`,
//! then `OK`, `PASS`, `FAIL 3`, `ERROR`, `SKIP`), a progress bar on a terminal, and the summary.

use super::{NodeResult, RunSummary, Status};
use crate::invocation::Output;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Width dbt pads its progress lines to.
const LINE_WIDTH: usize = 80;

pub struct Progress {
    total: usize,
    next: AtomicUsize,
    output: Output,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(total: usize, output: Output) -> Self {
        let bar = (!output.quiet
            && !output.json
            && total > 0
            && std::io::stderr().is_terminal()
            && std::io::stdout().is_terminal())
        .then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} nodes  {elapsed}")
            {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            total,
            next: AtomicUsize::new(1),
            output,
            bar,
        }
    }

    /// The next "i of N" number.
    pub fn claim(&self) -> usize {
        self.next.fetch_add(1, Ordering::SeqCst)
    }

    fn print(&self, line: &str) {
        let stamped = format!("{}  {line}", chrono::Local::now().format("%H:%M:%S"));
        match &self.bar {
            Some(bar) => bar.suspend(|| self.output.info(&stamped)),
            None => self.output.info(&stamped),
        }
    }

    /// With `--log-format json`: one event object per line, with the node's id and status.
    fn event(&self, fields: serde_json::Value) {
        if self.output.quiet {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = std::io::Write::write_all(
            &mut out,
            format!("{}\n", crate::jinja::functions::scrub(&fields.to_string())).as_bytes(),
        );
    }

    pub fn start(&self, index: usize, what: &str, unique_id: &str) {
        let line = dotted(&format!("{index} of {} START {what}", self.total), "[RUN]");
        if self.output.json {
            self.event(serde_json::json!({
                "level": "info", "event": "node_start", "ts": chrono::Utc::now().to_rfc3339(),
                "unique_id": unique_id, "index": index, "total": self.total, "msg": line,
            }));
        } else {
            self.print(&line);
        }
    }

    /// A node finished: `text` and `status` as printed; `result` its run_results status.
    pub fn done(
        &self,
        index: usize,
        text: &str,
        status: &str,
        unique_id: &str,
        result: &str,
        seconds: f64,
    ) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        let line = dotted(
            &format!("{index} of {} {text}", self.total),
            &format!("[{status}]"),
        );
        if self.output.json {
            let level = match result {
                "error" | "fail" => "error",
                "warn" | "partial success" => "warn",
                _ => "info",
            };
            self.event(serde_json::json!({
                "level": level, "event": "node_finished", "ts": chrono::Utc::now().to_rfc3339(),
                "unique_id": unique_id, "index": index, "total": self.total, "status": result,
                "execution_time": seconds, "msg": line,
            }));
        } else {
            self.print(&line);
        }
    }

    pub fn note(&self, line: &str) {
        self.print(line);
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `left ..... right`, padded with dots to dbt's width.
fn dotted(left: &str, right: &str) -> String {
    let used = left.chars().count() + 1;
    let dots = LINE_WIDTH.saturating_sub(used + 1).max(3);
    format!("{left} {} {right}", ".".repeat(dots))
}

/// The end-of-run summary, as dbt prints it.
pub fn summary(
    summary: &RunSummary,
    counts: &str,
    color: bool,
    describe: impl Fn(&NodeResult) -> String,
) -> String {
    let mut out = String::new();
    let secs = summary.elapsed;
    out.push_str(&format!(
        "\nFinished running {counts} in {} hours {} minutes and {:.2} seconds ({secs:.2}s).\n",
        (secs / 3600.0) as u64,
        ((secs % 3600.0) / 60.0) as u64,
        secs % 60.0
    ));
    let count = |s: Status| summary.results.iter().filter(|r| r.status == s).count();
    let errors = count(Status::Error) + count(Status::Fail) + summary.errors.len();
    let warns = count(Status::Warn);
    let partial = count(Status::PartialSuccess);
    if summary.interrupted {
        out.push_str("\nThe run was interrupted (Ctrl-C): run_results.json holds what finished.\n");
    } else if errors == 0 && warns == 0 && partial == 0 {
        out.push_str(&format!(
            "\n{}\n",
            paint(color, "32", "Completed successfully")
        ));
    } else {
        let head = format!(
            "Completed with {errors} error{}, {partial} partial success{}, and {warns} warning{}:",
            if errors == 1 { "" } else { "s" },
            if partial == 1 { "" } else { "es" },
            if warns == 1 { "" } else { "s" }
        );
        out.push_str(&format!(
            "\n{}\n",
            paint(color, if errors > 0 { "31" } else { "33" }, &head)
        ));
        for r in summary.results.iter().filter(|r| {
            matches!(
                r.status,
                Status::Error | Status::Fail | Status::Warn | Status::PartialSuccess
            )
        }) {
            out.push('\n');
            out.push_str(&describe(r));
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "\nDone. PASS={} WARN={warns} ERROR={errors} SKIP={} NO-OP={} TOTAL={}",
        count(Status::Success) + count(Status::Pass),
        count(Status::Skipped),
        count(Status::NoOp),
        summary.results.len()
    ));
    out
}

fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_are_padded_to_dbt_width() {
        let l = super::dotted("1 of 2 START sql view model main.x", "[RUN]");
        assert_eq!(l.len(), 80 + 5);
        assert!(l.starts_with("1 of 2 START sql view model main.x ...."));
        assert!(l.ends_with(" [RUN]"));
    }
}

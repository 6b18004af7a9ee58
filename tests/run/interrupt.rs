//! Stopping a run: `--fail-fast` and Ctrl-C cancel running queries, write run_results.json for
//! what finished, and leave every previous table as it was.
//!
//! The tests stop kiln at a known point by watching what it says it does, never after a fixed
//! delay: run with `--debug`, kiln prints each SQL statement (dbt's `SQLQuery` event, `On <node>:
//! <sql>`) just before sending it to DuckDB.

use crate::db::{column, relations, run_results, statuses};
use crate::support::TestProject;
use std::io::BufRead;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// A table model that takes minutes when `big` is set (a cross join of two ranges).
fn slow_project() -> TestProject {
    TestProject::minimal()
        .file(
            "models/slow.sql",
            "{{ config(materialized='table') }}\n{% set n = 100000 if var('big', false) else 10 %}\nselect sum(a.range * b.range) as s, {{ 1 if var('big', false) else 0 }} as big from range({{ n }}) a, range({{ n }}) b",
        )
        .file("models/after_slow.sql", "select * from {{ ref('slow') }}")
        .file("models/fine.sql", "{{ config(materialized='table') }}\nselect 1 as x")
}

/// How long a test waits for kiln to reach a point before it fails: generous, since a loaded
/// machine is slow, and only ever spent when something is wrong.
const PATIENCE: Duration = Duration::from_secs(600);

/// kiln running in the background with `--debug`; its output is read as it comes.
struct Background {
    child: std::process::Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Background {
    fn spawn(p: &TestProject, args: &[&str]) -> Background {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
            .env_clear()
            .env("HOME", p.root().join("home"))
            .env("NO_COLOR", "1")
            .current_dir(p.dir())
            .args(args)
            .arg("--debug")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn kiln");
        // Both pipes are drained all along, so kiln never blocks on a full pipe.
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let readers: [Box<dyn std::io::Read + Send>; 2] = [Box::new(stdout), Box::new(stderr)];
        for pipe in readers {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Background {
            child,
            lines,
            seen: vec![],
        }
    }

    /// Waits until kiln says it sends `node` a statement that starts with `sql`.
    fn wait_for_statement(&mut self, node: &str, sql: &str) {
        let wanted = format!("On {node}: {sql}");
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                panic!(
                    "kiln never sent `{wanted}`; it printed:\n{}",
                    self.seen.join("\n")
                );
            };
            let found = line.contains(&wanted);
            self.seen.push(line);
            if found {
                return;
            }
        }
    }

    /// Waits until kiln prints a line that contains `text`.
    fn wait_for_line(&mut self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                panic!(
                    "kiln never printed `{text}`; it printed:\n{}",
                    self.seen.join("\n")
                );
            };
            let found = line.contains(text);
            self.seen.push(line);
            if found {
                return;
            }
        }
    }

    /// Waits until kiln has spent `cpu` of processor time from now on. After a statement was
    /// sent, that means DuckDB is executing it: an interrupt that lands before DuckDB starts a
    /// statement is forgotten when it starts.
    fn wait_for_cpu(&self, cpu: Duration) {
        let start = cpu_time(self.child.id());
        let deadline = Instant::now() + PATIENCE;
        while cpu_time(self.child.id()).saturating_sub(start) < cpu {
            assert!(Instant::now() < deadline, "kiln never got busy");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal (`INT`, `KILL`).
    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for kiln to exit: its exit code (None when a signal ended it) and its output.
    fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().expect("wait for kiln");
        self.seen.extend(self.lines.iter());
        (status.code(), self.seen.join("\n"))
    }
}

/// The processor time (user and system) a process has used so far, from /proc/<pid>/stat.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields 14 and 15 (utime, stime), in clock ticks of 1/100 s; the command name (field 2) is
    // in parentheses and may hold spaces, so fields are counted from its closing parenthesis.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

#[test]
fn ctrl_c_cancels_running_queries_keeps_the_previous_table_and_exits_130() {
    let p = slow_project();
    p.kiln(&["run"]).run().assert_success();
    assert_eq!(column(&p, "select big from main.slow"), vec!["0"]);
    let mut run = Background::spawn(&p, &["run", "--select", "slow", "--vars", "{big: true}"]);
    // The table is being built: its statement was sent and DuckDB is working on it.
    run.wait_for_statement("model.shop.slow", "create or replace table");
    run.wait_for_cpu(Duration::from_millis(300));
    run.signal("INT");
    let (code, output) = run.finish();
    assert_eq!(code, Some(130), "{output}");
    // the previous table is whole, and nothing was left behind
    assert_eq!(column(&p, "select big from main.slow"), vec!["0"]);
    assert!(relations(&p).iter().all(|r| !r.contains("__kiln")));
    assert_eq!(statuses(&p), vec!["model.shop.slow error"]);
    let rr = run_results(&p);
    assert!(
        rr["results"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cancelled")
    );
}

#[test]
fn fail_fast_stops_scheduling_and_cancels_what_runs() {
    let p = slow_project()
        .file("models/broken.sql", "{{ config(materialized='table') }}\nselect * from nowhere")
        .file(
            "profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      threads: 2\n",
        );
    let run = p
        .kiln(&[
            "run",
            "--fail-fast",
            "--vars",
            "{big: true}",
            "--exclude",
            "fine",
        ])
        .run();
    run.assert_code(1);
    let st = statuses(&p);
    assert!(
        st.contains(&"model.shop.broken error".to_string()),
        "{st:?}"
    );
    // slow was running (cancelled → error) or never started (skipped); after_slow never ran
    assert!(
        st.contains(&"model.shop.slow error".to_string())
            || st.contains(&"model.shop.slow skipped".to_string()),
        "{st:?}"
    );
    assert!(
        st.contains(&"model.shop.after_slow skipped".to_string()),
        "{st:?}"
    );
    assert!(!relations(&p).iter().any(|r| r.contains("slow")));
}

#[test]
fn a_killed_incremental_step_leaves_the_table_exactly_as_it_was() {
    let p = TestProject::minimal().file(
        "models/big.sql",
        "{{ config(materialized='incremental', unique_key='id') }}\nselect range as id, range % 7 + {{ var('shift', 0) }} as v from range({{ var('n', 1000) }})",
    );
    p.kiln(&["run"]).run().assert_success();
    let before = crate::db::query(&p, "select count(*), sum(v) from main.big");
    assert_eq!(before, vec![vec!["1000".to_string(), "2997".to_string()]]);
    // A step that stages and merges 3 million rows, killed (SIGKILL, no chance to clean up)
    // as it starts changing the table: the new rows are staged, the old ones being deleted, and
    // the insert and the commit still to come.
    let mut run = Background::spawn(&p, &["run", "--vars", "{n: 3000000, shift: 1}"]);
    run.wait_for_statement("model.shop.big", "delete from");
    run.signal("KILL");
    let (code, output) = run.finish();
    assert_eq!(code, None, "killed by a signal, not finished:\n{output}");
    assert_eq!(
        crate::db::query(&p, "select count(*), sum(v) from main.big"),
        before
    );
    assert!(
        relations(&p).iter().all(|r| !r.contains("__kiln")),
        "{:?}",
        relations(&p)
    );
    // and the next run works
    p.kiln(&["run", "--vars", "{n: 2000, shift: 1}"])
        .run()
        .assert_success();
    assert_eq!(column(&p, "select count(*) from main.big"), vec!["2000"]);
}

#[test]
fn sigkill_during_a_table_rebuild_keeps_the_old_table_and_the_next_run_completes() {
    let p = slow_project();
    p.kiln(&["run", "--select", "slow"]).run().assert_success();
    let mut run = Background::spawn(&p, &["run", "--select", "slow", "--vars", "{big: true}"]);
    run.wait_for_statement("model.shop.slow", "create or replace table");
    run.wait_for_cpu(Duration::from_millis(300));
    run.signal("KILL");
    assert_eq!(run.finish().0, None, "killed by SIGKILL");
    // the database opens, the old table is there with its old rows, nothing half-built
    assert_eq!(column(&p, "select big from main.slow"), vec!["0"]);
    assert!(
        relations(&p).iter().all(|r| !r.contains("__kiln")),
        "{:?}",
        relations(&p)
    );
    let run = p.kiln(&["run"]).run();
    run.assert_success();
    assert_eq!(column(&p, "select big from main.slow"), vec!["0"]);
}

/// A second Ctrl-C quits at once, but first writes run_results.json for what finished (the rest
/// skipped as interrupted): the file describes this run, so `retry` repeats this run and not
/// the one before. The slow model's pre-hook is slow to render (hooks render when the node
/// runs), which a cancel cannot stop, so the second signal lands while the run is still going.
#[test]
fn a_second_ctrl_c_still_writes_this_runs_results() {
    let p = TestProject::minimal()
        .file(
            "profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      threads: 2\n",
        )
        .file(
            "models/slow_render.sql",
            "{{ config(pre_hook=\"{% for i in range(var('loops', 1)) %}{% for j in range(var('loops', 1)) %}{% for k in range(var('loops', 1)) %}{% endfor %}{% endfor %}{% endfor %}select 1\") }}\nselect 1 as x",
        )
        .file("models/fine.sql", "{{ config(materialized='table') }}\nselect 1 as x");
    p.kiln(&["run", "--select", "fine"]).run().assert_success();
    assert_eq!(statuses(&p), vec!["model.shop.fine success"]);
    let mut run = Background::spawn(&p, &["run", "--no-reuse", "--vars", "{loops: 100000}"]);
    run.wait_for_line("OK created sql table model main.fine");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "kill -INT {0}; sleep 0.5; kill -INT {0}",
            run.child.id()
        ))
        .status()
        .expect("run kill");
    assert!(status.success());
    let (code, output) = run.finish();
    assert_eq!(code, Some(130), "{output}");
    assert_eq!(
        statuses(&p),
        vec!["model.shop.fine success", "model.shop.slow_render skipped"],
        "{output}"
    );
    let rr = run_results(&p);
    assert_eq!(
        rr["results"][1]["message"], "skipped: the run was interrupted",
        "{output}"
    );
}

/// Skipping unchanged work after a kill: a build killed after it rebuilt a table, before it
/// recorded the build, never lets a later run reuse that table for the SQL it held before. The
/// second model's pre-hook is slow to render, so the kill lands after the first model's rebuild.
#[test]
fn a_build_killed_after_a_rebuild_never_reuses_what_it_left() {
    let p = TestProject::minimal()
        .file(
            "models/first.sql",
            "{{ config(materialized='table') }}\nselect 1 as n",
        )
        .file(
            "models/second.sql",
            "{{ config(materialized='table', pre_hook=\"{% for i in range(var('loops', 1)) %}{% for j in range(var('loops', 1)) %}{% for k in range(var('loops', 1)) %}{% endfor %}{% endfor %}{% endfor %}select 1\") }}\nselect n from {{ ref('first') }}",
        );
    p.kiln(&["run"]).run().assert_success();
    p.write(
        "models/first.sql",
        "{{ config(materialized='table') }}\nselect 2 as n",
    );
    let mut run = Background::spawn(&p, &["run", "--vars", "{loops: 100000}"]);
    run.wait_for_line("OK created sql table model main.first");
    run.signal("KILL");
    assert_eq!(run.finish().0, None, "killed by SIGKILL");
    assert_eq!(column(&p, "select n from main.first"), vec!["2"]);
    // back to the SQL the recorded build had: the table holds the killed run's rows, so it is
    // rebuilt, not reused
    p.write(
        "models/first.sql",
        "{{ config(materialized='table') }}\nselect 1 as n",
    );
    let again = p.kiln(&["run", "--select", "first"]).run();
    again.assert_success();
    assert!(
        again
            .stdout
            .contains("OK created sql table model main.first"),
        "{}",
        again.stdout
    );
    assert_eq!(column(&p, "select n from main.first"), vec!["1"]);
}

//! Stopping a run: `--fail-fast` and Ctrl-C cancel running queries, write run_results.json for
//! what finished, and leave every previous table as it was.

use crate::db::{column, relations, run_results, statuses};
use crate::support::TestProject;
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

fn spawn_kiln(p: &TestProject, args: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .env_clear()
        .env("HOME", p.root().join("home"))
        .env("NO_COLOR", "1")
        .current_dir(p.dir())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn kiln")
}

/// Waits until the file exists and contains `needle` (the run has reached a point).
fn wait_for(path: &std::path::Path, needle: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never contained {needle}", path.display());
}

#[test]
fn ctrl_c_cancels_running_queries_keeps_the_previous_table_and_exits_130() {
    let p = slow_project();
    p.kiln(&["run"]).run().assert_success();
    assert_eq!(column(&p, "select big from main.slow"), vec!["0"]);
    std::fs::remove_file(p.dir().join("target/run/shop/models/slow.sql")).unwrap();
    let child = spawn_kiln(&p, &["run", "--select", "slow", "--vars", "{big: true}"]);
    // target/run/ is written just before the build statement runs.
    wait_for(
        &p.dir().join("target/run/shop/models/slow.sql"),
        "create table",
    );
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the cancelled query did not stop"
    );
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
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
    // A step that stages and merges 30 million rows, killed (SIGKILL, no chance to clean up)
    // while it runs.
    let mut child = spawn_kiln(&p, &["run", "--vars", "{n: 30000000, shift: 1}"]);
    std::thread::sleep(Duration::from_millis(2500));
    let still_running = child.try_wait().unwrap().is_none();
    assert!(
        still_running,
        "the step finished before it could be killed; make it bigger"
    );
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed by a signal");
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
    std::fs::remove_file(p.dir().join("target/run/shop/models/slow.sql")).unwrap();
    let mut child = spawn_kiln(&p, &["run", "--select", "slow", "--vars", "{big: true}"]);
    wait_for(
        &p.dir().join("target/run/shop/models/slow.sql"),
        "create table",
    );
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().code(), None, "killed by SIGKILL");
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

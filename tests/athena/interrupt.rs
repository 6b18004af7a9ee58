//! Ctrl-C end to end, and failed builds never re-run blindly into the location they wrote.
//!
//! Interrupt: a `kiln run` whose CTAS stays RUNNING (the proxy's `Rule::Hold`) gets SIGINT:
//! kiln stops that query (StopQueryExecution), publishes, drops and deletes nothing after the
//! signal, writes run_results.json and exits 130; readers still see the previous version, and
//! the next run removes what the interrupted one left.

use super::{SECRET, Warehouse};
use crate::proxy::Rule;
use serde_json::Value;
use std::process::{Command, Stdio};

const TABLE: &str = "{{ config(materialized='table') }}\nselect 1 as id";

/// Waits (without a time assertion: a generous bound only so that a broken kiln cannot hang
/// the suite) until `ready` holds.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if ready() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("gave up waiting: {what}");
}

#[test]
fn ctrl_c_stops_the_running_query_publishes_nothing_and_exits_130() {
    let w = Warehouse::new(&[("models/orders.sql", TABLE)]);
    w.put("data/analytics/orders_v2/part-0.parquet");
    w.kiln(&["run"]).assert_success();
    let first = w.location("orders");
    let keys_before = w.keys();

    w.proxy.rule(Rule::Hold {
        sql_prefix: "create table".into(),
    });
    w.proxy.clear();
    let dir = w.project.dir();
    let child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .env_clear()
        .env("HOME", w.project.root().join("home"))
        .env("NO_COLOR", "1")
        .env("KILN_TEST_KEY_ID", &w.key_id)
        .env("KILN_TEST_SECRET", SECRET)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(&dir)
        .args(["run", "--project-dir"])
        .arg(&dir)
        .arg("--profiles-dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kiln");
    // the CTAS started and kiln is polling it
    let ctas_id = std::cell::RefCell::new(String::new());
    wait_until("kiln polls its CTAS", || {
        let calls = w.proxy.calls();
        let Some(start) = calls.iter().position(|c| {
            c.op == "StartQueryExecution"
                && c.json()["QueryString"]
                    .as_str()
                    .is_some_and(|q| q.starts_with("create table"))
        }) else {
            return false;
        };
        match calls[start + 1..]
            .iter()
            .find(|c| c.op == "GetQueryExecution")
        {
            Some(poll) => {
                *ctas_id.borrow_mut() = poll.json()["QueryExecutionId"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                true
            }
            None => false,
        }
    });
    let ctas_id = ctas_id.into_inner();
    let signalled_at = w.proxy.calls().len();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(kill.success());
    let out = child.wait_with_output().expect("kiln ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");

    // the query was stopped, and nothing was published, dropped or deleted after the signal
    let calls = w.proxy.calls();
    let stops: Vec<String> = calls
        .iter()
        .filter(|c| c.op == "StopQueryExecution")
        .map(|c| {
            c.json()["QueryExecutionId"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(stops, [ctas_id]);
    let after: Vec<&str> = calls[signalled_at..]
        .iter()
        .map(|c| c.op.as_str())
        .collect();
    for op in after.iter() {
        assert!(
            [
                "GetQueryExecution",
                "StopQueryExecution",
                // OpenLineage's facets and the catalog read, never write
                "GetTable",
                "GetTables"
            ]
            .contains(op),
            "{op} after the signal: {after:?}"
        );
    }
    assert_eq!(
        w.location("orders"),
        first,
        "readers see the previous version"
    );

    // run_results.json says what happened
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).expect("run_results.json"),
    )
    .expect("run_results.json is JSON");
    let orders = results["results"]
        .as_array()
        .and_then(|r| {
            r.iter().find(|n| {
                n["unique_id"]
                    .as_str()
                    .is_some_and(|u| u.ends_with(".orders"))
            })
        })
        .unwrap_or_else(|| panic!("no result for orders: {results:#}"));
    assert_eq!(orders["status"], "error", "{orders:#}");
    assert!(
        orders["message"].as_str().is_some_and(
            |m| m.contains("cancelled") && m.contains("previous relation is unchanged")
        ),
        "{orders:#}"
    );

    // the next run removes what the interrupted build left (its `__ha` and files)
    assert!(w.tables().contains(&"orders__ha".to_string()));
    w.proxy.release();
    w.proxy.clear();
    w.kiln(&["run"]).assert_success();
    assert_eq!(w.tables(), ["orders"]);
    let now = w.location("orders");
    let prefix = format!("s3://{}/", w.bucket);
    let mut expected = vec![
        format!("{}part-00000.parquet", now.trim_start_matches(&prefix)),
        "data/analytics/orders_v2/part-0.parquet".to_string(),
    ];
    expected.sort();
    assert_eq!(w.keys(), expected, "before: {keys_before:?}");
}

/// dbt-adapters#1739: a `create table as` that failed (here on an Iceberg commit conflict,
/// which kiln re-runs for other statements) is not run again into the location it may have
/// written to. The model fails saying so; the next run builds under a new folder and removes
/// the failed attempt's files, only inside the table's own folder.
#[test]
fn a_failed_ctas_is_never_run_again_into_its_location() {
    let w = Warehouse::new(&[(
        "models/events.sql",
        "{{ config(materialized='table', table_type='iceberg') }}\nselect 1 as id",
    )]);
    w.put("data/analytics/events_v2/part-0.parquet");
    w.put("other-team/events/part-0.parquet");
    w.kiln(&["run"]).assert_success();
    let first = w.location("events");
    w.proxy.rule(Rule::FailQueries {
        times: 1,
        reason: "ICEBERG_COMMIT_ERROR: Failed to commit Iceberg update to table".into(),
    });
    w.proxy.clear();
    let run = w.kiln(&["run"]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("ICEBERG_COMMIT_ERROR")
            && run
                .stdout
                .contains("kiln does not run a failed `create table as` again"),
        "{}",
        run.stdout
    );
    let ctas_locations = |w: &Warehouse| -> Vec<String> {
        super::harness::queries(w)
            .into_iter()
            .filter(|q| q.starts_with("create table"))
            .filter_map(|q| {
                let at = q.find("location='")? + 10;
                Some(q[at..at + q[at..].find('\'')?].to_string())
            })
            .collect()
    };
    let failed = ctas_locations(&w);
    assert_eq!(failed.len(), 1, "the CTAS ran once: {failed:?}");
    assert_eq!(w.location("events"), first);

    w.proxy.clear();
    w.kiln(&["run"]).assert_success();
    let retry = ctas_locations(&w);
    assert_eq!(retry.len(), 1, "{retry:?}");
    assert_ne!(retry[0], failed[0], "the retry builds in a new folder");
    assert_eq!(w.location("events"), retry[0]);
    assert_eq!(w.tables(), ["events"]);
    let prefix = format!("s3://{}/", w.bucket);
    let failed_folder = failed[0].trim_start_matches(&prefix).to_string();
    let keys = w.keys();
    assert!(
        !keys.iter().any(|k| k.starts_with(&failed_folder)),
        "the failed attempt's files are gone: {keys:?}"
    );
    for k in [
        "data/analytics/events_v2/part-0.parquet",
        "other-team/events/part-0.parquet",
    ] {
        assert!(keys.contains(&k.to_string()), "{k} survives: {keys:?}");
    }
    for c in w.calls() {
        if let Some(keys) = c.strip_prefix("DeleteObjects ") {
            for k in keys.split(' ') {
                assert!(k.starts_with("data/analytics/events/"), "{c}");
            }
        }
    }
}

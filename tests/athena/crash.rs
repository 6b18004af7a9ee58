//! Crash tests: the process aborted (`KILN_FAILPOINT=<step>`, read in one place of the Athena
//! publish path, `src/adapter/athena_conn.rs`: `std::process::abort`, as a `kill -9` would end
//! it) after each step of a table's swap (built aside, published in Glue, partitions moved, the
//! staged entry dropped, the old files deleted), then the same run again. Whatever the step:
//! right after the crash Glue still has the table, at the previous or the new version, and that
//! version's files are all there; after the rerun there is exactly one version's files (none
//! lost, none twice), no `__ha`/`__bkp`/`__dbt_tmp` entry, and nothing outside the table's own
//! folder was touched.
//!
//! `insert_overwrite` (the new rows staged as `__dbt_tmp`, then per batch of partitions: built
//! aside in `__kiln_parts` under a fresh folder, repointed in Glue, the side entry dropped, the
//! old folders deleted) gets the same cases: after a crash each touched partition is the old
//! version or the new one, whole (never empty, never both), and the rerun leaves exactly one
//! file per partition, no stage, no side table and no old folder.

use super::Warehouse;
use super::harness::{keys_under, partitions, queue_rows};

/// The steps of a publish (`FAILPOINTS` in athena_conn.rs), in order.
const STEPS: &[&str] = &["built", "published", "staged-dropped", "old-deleted"];
const PARTITIONED_STEPS: &[&str] = &[
    "built",
    "published",
    "partitions-removed",
    "partitions-moved",
    "staged-dropped",
    "old-deleted",
];

const SIBLINGS: &[&str] = &[
    "data/analytics/orders_v2/part-0.parquet",
    "other-team/export.csv",
];

/// `kiln run` aborted right after `step` (`KILN_FAILPOINT`), as a `kill -9` would.
fn run_crashing_at(w: &Warehouse, step: &str) {
    let crashed = w.kiln_with(&["run"], &[("KILN_FAILPOINT", step)]);
    assert_eq!(
        crashed.code, None,
        "{step}: kiln should have aborted\n{}\n{}",
        crashed.stdout, crashed.stderr
    );
}

/// Every object kiln deleted (every `DeleteObjects` since the log was cleared) lay under
/// `prefix`.
fn assert_deletes_under(w: &Warehouse, prefix: &str, step: &str) {
    for c in w.calls() {
        if let Some(keys) = c.strip_prefix("DeleteObjects ") {
            for k in keys.split(' ') {
                assert!(k.starts_with(prefix), "{step}: {c}");
            }
        }
    }
}

/// The keys under `orders/`'s own folder.
fn own_keys(w: &Warehouse) -> Vec<String> {
    keys_under(w, "data/analytics/orders/")
}

/// The key of a version's one data file (the engine writes `part-00000.parquet`).
fn data_file(w: &Warehouse, location: &str, partitioned: bool) -> String {
    let folder = location.trim_start_matches(&format!("s3://{}/", w.bucket));
    if partitioned {
        format!("{folder}dt=2024-01-01/part-00000.parquet")
    } else {
        format!("{folder}part-00000.parquet")
    }
}

fn crash_and_rerun(model: &str, partitioned: bool, step: &str) {
    let w = Warehouse::new(&[("models/orders.sql", model)]);
    for key in SIBLINGS {
        w.put(key);
    }
    w.kiln(&["run"]).assert_success();
    let first = w.location("orders");

    // the crash
    w.proxy.clear();
    run_crashing_at(&w, step);
    let calls = w.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("StartQueryExecution create table")),
        "{step}: {calls:#?}"
    );
    // Glue still has the table: the previous version or the new one, with its files
    let seen = w
        .table("orders")
        .unwrap_or_else(|| panic!("{step}: no table `orders` after the crash"));
    let seen = seen["StorageDescriptor"]["Location"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let staged = calls
        .iter()
        .find_map(|c| c.strip_prefix("UpdateTable orders -> "))
        .map(str::to_string);
    match step {
        "built" => assert_eq!(seen, first, "{step}: published before the publish step"),
        _ => assert_ne!(seen, first, "{step}: the publish did not happen"),
    }
    if step != "built" {
        assert!(staged.is_some(), "{step}: {calls:#?}");
    }
    let keys = w.keys();
    let file = data_file(&w, &seen, partitioned);
    assert!(
        keys.contains(&file),
        "{step}: the files of the version Glue points at ({seen}) are gone: {keys:#?}"
    );

    // the rerun finishes or rolls back what the crash left, then builds again
    w.proxy.clear();
    let rerun = w.kiln(&["run"]);
    rerun.assert_success();
    assert_eq!(w.tables(), ["orders"], "{step}: leftovers after the rerun");
    let now = w.location("orders");
    assert_ne!(now, seen, "{step}");
    assert_eq!(
        own_keys(&w),
        [data_file(&w, &now, partitioned)],
        "{step}: exactly one version's files after the rerun"
    );
    let keys = w.keys();
    for sibling in SIBLINGS {
        assert!(
            keys.contains(&sibling.to_string()),
            "{step}: {sibling} was deleted"
        );
    }
    if partitioned {
        assert_eq!(
            partitions(&w, "orders"),
            [("2024-01-01".to_string(), format!("{now}dt=2024-01-01/"))],
            "{step}"
        );
    }
    // every delete of both runs stayed inside the table's own folder
    assert_deletes_under(&w, "data/analytics/orders/", step);
}

#[test]
fn a_crash_at_any_step_of_a_table_swap_loses_nothing_and_leaves_nothing() {
    for step in STEPS {
        crash_and_rerun(
            "{{ config(materialized='table') }}\nselect 1 as id",
            false,
            step,
        );
    }
}

#[test]
fn a_crash_at_any_step_of_a_partitioned_swap_loses_nothing_and_leaves_nothing() {
    for step in PARTITIONED_STEPS {
        crash_and_rerun(
            "{{ config(materialized='table', partitioned_by=['dt']) }}\nselect 1 as id, '2024-01-01' as dt",
            true,
            step,
        );
    }
}

#[test]
fn a_crash_at_any_step_of_an_iceberg_swap_loses_nothing_and_leaves_nothing() {
    for step in STEPS {
        crash_and_rerun(
            "{{ config(materialized='table', table_type='iceberg') }}\nselect 1 as id",
            false,
            step,
        );
    }
}

const OVERWRITE: &str = "{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partitioned_by=['dt']) }}\nselect 1 as id, '2024-01-01' as dt";

/// The steps of an `insert_overwrite` (`athena_overwrite.rs`): the new rows staged (`built`),
/// then per batch the partitions built aside, published in Glue, the side table's entry
/// dropped, the old folders deleted.
const OVERWRITE_STEPS: &[&str] = &[
    "built",
    "overwrite-built",
    "overwrite-published",
    "overwrite-staged-dropped",
    "overwrite-old-deleted",
];

#[test]
fn a_crash_at_any_step_of_an_insert_overwrite_loses_nothing_and_duplicates_nothing() {
    for step in OVERWRITE_STEPS {
        let w = Warehouse::new(&[("models/events.sql", OVERWRITE)]);
        w.put("data/analytics/events_v2/dt=2024-01-01/keep.parquet");
        w.kiln(&["run"]).assert_success();
        let location = w.location("events");
        let folder = location
            .trim_start_matches(&format!("s3://{}/", w.bucket))
            .to_string();
        let first = partitions(&w, "events");
        assert_eq!(
            first,
            [("2024-01-01".to_string(), partition_location(&location))]
        );
        // the files of the folder Glue names for the partition: what readers see
        let visible = |w: &Warehouse| -> (String, Vec<String>) {
            let parts = partitions(w, "events");
            assert_eq!(
                parts.len(),
                1,
                "{step}: the partition is registered once: {parts:?}"
            );
            let at = parts[0]
                .1
                .trim_start_matches(&format!("s3://{}/", w.bucket))
                .to_string();
            let files = w
                .keys()
                .into_iter()
                .filter(|k| k.starts_with(&at))
                .collect();
            (parts[0].1.clone(), files)
        };
        let (_, before) = visible(&w);
        assert_eq!(before.len(), 1, "{before:?}");

        queue_rows(&w, 1, "dt", &["2024-01-01"]);
        run_crashing_at(&w, step);
        assert_eq!(w.location("events"), location, "{step}");
        // the partition is the old version or the new one, whole, never empty, never both
        let (seen, files) = visible(&w);
        assert_eq!(files.len(), 1, "{step}: one version's file: {files:?}");
        match *step {
            "built" | "overwrite-built" => {
                assert_eq!(
                    seen, first[0].1,
                    "{step}: published before the publish step"
                );
                assert_eq!(files, before, "{step}");
            }
            _ => assert_ne!(seen, first[0].1, "{step}: the publish did not happen"),
        }

        // the rerun: what the crash left goes, the partition is written exactly once
        // (a crash before the `select distinct` left its queued answer unread)
        queue_rows(&w, usize::from(*step != "built"), "dt", &["2024-01-01"]);
        w.kiln(&["run"]).assert_success();
        assert_eq!(w.tables(), ["events"], "{step}: leftovers after the rerun");
        assert_eq!(w.location("events"), location, "{step}");
        let (now, files) = visible(&w);
        assert!(
            now.starts_with(&location) && now.contains("/kiln-"),
            "{step}: {now}"
        );
        assert_eq!(
            files.len(),
            1,
            "{step}: one file in the partition: {files:?}"
        );
        let own: Vec<String> = w
            .keys()
            .into_iter()
            .filter(|k| k.starts_with(&folder))
            .collect();
        assert_eq!(
            own, files,
            "{step}: the stage's, the side table's or the old version's files remain"
        );
        assert!(
            w.keys()
                .contains(&"data/analytics/events_v2/dt=2024-01-01/keep.parquet".to_string()),
            "{step}: a sibling folder was touched"
        );
        assert_deletes_under(&w, "data/analytics/events/", step);
    }
}

fn partition_location(location: &str) -> String {
    format!("{location}dt=2024-01-01/")
}

//! Snapshots on Athena (dbt-athena's recipe): an Iceberg table, created by one `create table as`
//! on the first run; on later runs the query's columns read (a query returning no rows, its
//! result queued in moto), new columns added, the change set staged as `<snapshot>__dbt_tmp`
//! under the snapshot's own folder, merged in one `merge`, and the stage dropped with its files.

use super::Warehouse;
use super::harness::queue_table;
use serde_json::json;

const SNAPSHOT: &str = "{% snapshot plans_snapshot %}\n{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='invalidate') }}\nselect id, plan, updated_at from {{ source('app', 'plans') }}\n{% endsnapshot %}\n";

const SOURCES: &str = "version: 2\nsources:\n  - name: app\n    schema: analytics\n    tables:\n      - name: plans\n";

/// Queues in moto the result Athena gives a query with these `(name, type)` columns and no rows
/// (what kiln reads the snapshot query's columns from).
pub fn queue_columns(w: &Warehouse, columns: &[(&str, &str)]) {
    queue_table(w, columns, &[]);
}

pub use super::harness::statements;

/// Gives the Glue table `name` these `(name, type)` columns (the engine the proxy plays
/// registers every table with `id` alone), keeping the rest of its definition.
pub fn set_columns(w: &Warehouse, name: &str, columns: &[(&str, &str)]) {
    let mut t = w.table(name).expect("the table");
    t["StorageDescriptor"]["Columns"] = columns
        .iter()
        .map(|(n, ty)| json!({"Name": n, "Type": ty}))
        .collect();
    let input = json!({
        "Name": name,
        "TableType": t["TableType"],
        "StorageDescriptor": t["StorageDescriptor"],
        "PartitionKeys": t["PartitionKeys"],
        "Parameters": t["Parameters"],
    });
    let r = w.glue(
        "UpdateTable",
        json!({"DatabaseName": "analytics", "TableInput": input}),
    );
    assert_eq!(r.status(), 200, "{}", r.text());
}

fn snapshot_warehouse(snapshot: &str) -> Warehouse {
    let w = Warehouse::new(&[]);
    w.project.write("snapshots/plans_snapshot.sql", snapshot);
    w.project.write("models/sources.yml", SOURCES);
    w
}

/// First run: one Iceberg `create table as` in the snapshot's own folder, each row a current
/// version with dbt's meta columns. Second run: the change set staged and merged, the
/// snapshot's location unchanged, the stage gone with its files, a new query column added.
#[test]
fn snapshots_are_iceberg_tables_merged_from_a_staged_change_set() {
    let w = snapshot_warehouse(SNAPSHOT);
    w.put("data/analytics/plans_snapshot_v2/part-0.parquet");
    w.kiln(&["snapshot"]).assert_success();
    assert_eq!(w.tables(), ["plans_snapshot"]);
    let table = w.table("plans_snapshot").expect("the snapshot");
    assert_eq!(table["Parameters"]["table_type"], "ICEBERG");
    let location = w.location("plans_snapshot");
    assert!(
        location.starts_with(&format!("s3://{}/data/analytics/plans_snapshot/", w.bucket)),
        "{location}"
    );
    let first = statements(&w);
    assert_eq!(first.len(), 1, "{first:#?}");
    insta::assert_snapshot!("snapshot_first_run", first[0]);

    set_columns(
        &w,
        "plans_snapshot",
        &[
            ("id", "int"),
            ("plan", "string"),
            ("updated_at", "timestamp"),
            ("dbt_scd_id", "string"),
            ("dbt_updated_at", "timestamp"),
            ("dbt_valid_from", "timestamp"),
            ("dbt_valid_to", "timestamp"),
        ],
    );
    // the query now has a column the table lacks
    queue_columns(
        &w,
        &[
            ("id", "integer"),
            ("plan", "varchar"),
            ("updated_at", "timestamp"),
            ("seats", "integer"),
        ],
    );
    w.proxy.clear();
    let run = w.kiln(&["snapshot"]);
    run.assert_success();
    assert_eq!(w.tables(), ["plans_snapshot"], "the stage is gone");
    assert_eq!(w.location("plans_snapshot"), location, "merged in place");
    let prefix = format!("s3://{}/", w.bucket);
    let keys = w.keys();
    assert!(
        keys.iter()
            .all(|k| k.starts_with(location.trim_start_matches(&prefix))
                || k == "data/analytics/plans_snapshot_v2/part-0.parquet"),
        "only the snapshot's files and the sibling's remain: {keys:?}"
    );
    assert!(keys.contains(&"data/analytics/plans_snapshot_v2/part-0.parquet".to_string()));
    let second = statements(&w);
    let alters: Vec<&String> = second
        .iter()
        .filter(|s| s.starts_with("alter table"))
        .collect();
    assert_eq!(
        alters,
        ["alter table `analytics`.`plans_snapshot` add columns (`seats` int)"]
    );
    insta::assert_snapshot!("snapshot_second_run", second.join(";\n\n"));
    // the order of calls: columns read, column added, stage built, merged, stage dropped
    let calls: Vec<String> = w
        .calls()
        .into_iter()
        .filter(|c| {
            c.starts_with("StartQueryExecution")
                || c.starts_with("DeleteTable")
                || c.starts_with("DeleteObjects")
                || c.starts_with("UpdateTable")
                || c.starts_with("CreateTable")
        })
        .collect();
    let at = |p: &str| {
        calls
            .iter()
            .position(|c| c.starts_with(p))
            .unwrap_or_else(|| panic!("no {p} in {calls:#?}"))
    };
    assert!(at("StartQueryExecution select * from") < at("StartQueryExecution alter table"));
    assert!(
        at("StartQueryExecution alter table")
            < at(
                r#"StartQueryExecution create table "awsdatacatalog"."analytics"."plans_snapshot__dbt_tmp""#
            )
    );
    assert!(
        at(
            r#"StartQueryExecution create table "awsdatacatalog"."analytics"."plans_snapshot__dbt_tmp""#
        ) < at("StartQueryExecution merge into")
    );
    assert!(at("StartQueryExecution merge into") < at("DeleteTable plans_snapshot__dbt_tmp"));
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("UpdateTable") || c.starts_with("CreateTable")),
        "a snapshot is never republished: {calls:#?}"
    );
    let deleted: Vec<&String> = calls
        .iter()
        .filter(|c| c.starts_with("DeleteObjects"))
        .collect();
    assert_eq!(deleted.len(), 1, "{calls:#?}");
    assert!(
        deleted[0].starts_with("DeleteObjects data/analytics/plans_snapshot/[BUILD]/"),
        "{calls:#?}"
    );
}

/// The check strategy with `hard_deletes: new_record`, `dbt_valid_to_current` and renamed
/// meta columns: dbt's change set (insertions, updates, deletes, deletion records) and its
/// merge, in the configured names.
#[test]
fn snapshot_check_strategy_with_new_record_and_valid_to_current() {
    let w = snapshot_warehouse(
        "{% snapshot plans_snapshot %}\n{{ config(unique_key=['id', 'plan'], strategy='check', check_cols=['seats'], hard_deletes='new_record', dbt_valid_to_current=\"timestamp '9999-12-31 00:00:00'\", snapshot_meta_column_names={'dbt_valid_from': 'valid_from', 'dbt_is_deleted': 'is_deleted'}) }}\nselect id, plan, seats from {{ source('app', 'plans') }}\n{% endsnapshot %}\n",
    );
    w.kiln(&["snapshot"]).assert_success();
    let first = statements(&w);
    insta::assert_snapshot!("snapshot_check_first_run", first.join(";\n\n"));
    set_columns(
        &w,
        "plans_snapshot",
        &[
            ("id", "int"),
            ("plan", "string"),
            ("seats", "int"),
            ("dbt_scd_id", "string"),
            ("dbt_updated_at", "timestamp"),
            ("valid_from", "timestamp"),
            ("dbt_valid_to", "timestamp"),
            ("is_deleted", "string"),
        ],
    );
    queue_columns(
        &w,
        &[("id", "integer"), ("plan", "varchar"), ("seats", "integer")],
    );
    w.proxy.clear();
    w.kiln(&["snapshot"]).assert_success();
    let second = statements(&w);
    // nothing to add: the table has every column of the query
    assert!(
        !second.iter().any(|s| s.starts_with("alter table")),
        "{second:#?}"
    );
    insta::assert_snapshot!("snapshot_check_second_run", second.join(";\n\n"));
    assert_eq!(w.tables(), ["plans_snapshot"]);
}

/// A snapshot configured as a Hive table is refused before anything runs (Athena updates only
/// Iceberg tables in place); so is one over a view.
#[test]
fn a_hive_snapshot_is_refused() {
    let w = snapshot_warehouse(&SNAPSHOT.replace(
        "hard_deletes='invalidate'",
        "hard_deletes='invalidate', table_type='hive'",
    ));
    let run = w.kiln(&["snapshot"]);
    run.assert_code(1);
    assert!(
        run.stdout.contains(
            "a snapshot on athena is an Iceberg table (its new versions are merged in), not table_type 'hive'"
        ),
        "{}",
        run.stdout
    );
    assert!(statements(&w).is_empty(), "{:#?}", statements(&w));
    assert!(w.tables().is_empty());
}

//! Incremental models on Athena against moto: `insert_overwrite` by partition folder (orphaned
//! files of a dropped partition included, never a sibling folder, never before the new rows
//! are staged), Athena's 100-partition write limit, microbatch, Iceberg `merge` with
//! dbt-athena's options, and `on_schema_change`. moto runs no SQL: the answer of the one query
//! whose rows kiln reads (the partitions the new rows touch) is queued in moto first, and the
//! proxy's engine writes a file into each partition an insert names.

use super::harness::{keys_under, partitions, queries, queue_rows};
use super::*;

/// `keys` (or locations) with the writes' timestamps (`write-<n>.parquet`) and the build ids of
/// the folders partitions are built aside in (`kiln-<uuid>-<batch>/`) made stable.
fn stable(keys: &[String]) -> Vec<String> {
    let n = regex::Regex::new(r"write-\d+\.parquet").expect("regex");
    let aside = regex::Regex::new(r"kiln-[0-9a-f-]{36}-").expect("regex");
    keys.iter()
        .map(|k| {
            let k = n.replace(k, "write-N.parquet");
            aside.replace_all(&k, "kiln-B-").into_owned()
        })
        .collect()
}

/// The table at `location` holds one file: its 2024-01-01 partition's, in the folder of the
/// first batch built aside.
fn assert_one_file_built_aside(w: &Warehouse, location: &str) {
    let folder = location.trim_start_matches(&format!("s3://{}/", w.bucket));
    assert_eq!(
        stable(&keys_under(w, location)),
        [format!("{folder}kiln-B-0/dt=2024-01-01/part-00000.parquet")]
    );
}

/// `n` days from 2024-01-01 on, as `YYYY-MM-DD`.
fn days_from_2024(n: i64) -> Vec<String> {
    (0..n)
        .map(|i| {
            let d = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date")
                + chrono::Duration::days(i);
            d.format("%Y-%m-%d").to_string()
        })
        .collect()
}

const OVERWRITE: &str = "{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partitioned_by=['dt']) }}\nselect 1 as id, '2024-01-01' as dt";

/// The second run replaces exactly the partitions the new rows touch: the new rows staged
/// first (a table of their own under the table's folder), then the touched partitions built
/// aside (one partitioned `__kiln_parts` table under a fresh folder of the table's), each
/// partition pointed at its new folder in Glue, and only then the old folders deleted: the one
/// Glue named and the one the table's location and the values name (a file an earlier
/// failure left under a partition Glue no longer lists goes too, dbt-athena PR #1895). An
/// untouched partition, and a registered partition whose name only starts like a touched one
/// (`dt=2024-01-011/`), keep their files; a third run leaves one file per partition, never
/// duplicates.
#[test]
fn insert_overwrite_replaces_the_partitions_the_new_rows_touch() {
    let w = Warehouse::new(&[("models/events.sql", OVERWRITE)]);
    w.kiln(&["run"]).assert_success();
    let location = w.location("events");
    let bucket = format!("s3://{}/", w.bucket);
    let folder = location.trim_start_matches(&bucket).to_string();
    // an orphan: files under a partition whose Glue entry is gone
    w.put(&format!("{folder}dt=2024-01-02/orphan.parquet"));
    // an untouched partition, registered, and a folder named like a touched one
    w.put(&format!("{folder}dt=2024-01-03/keep.parquet"));
    let r = w.glue(
        "CreatePartition",
        json!({"DatabaseName": "analytics", "TableName": "events", "PartitionInput": {
            "Values": ["2024-01-03"], "StorageDescriptor": {"Location": format!("{location}dt=2024-01-03/")}}}),
    );
    assert_eq!(r.status(), 200, "{}", r.text());
    w.put(&format!("{folder}dt=2024-01-011/keep.parquet"));
    let r = w.glue(
        "CreatePartition",
        json!({"DatabaseName": "analytics", "TableName": "events", "PartitionInput": {
            "Values": ["2024-01-011"], "StorageDescriptor": {"Location": format!("{location}dt=2024-01-011/")}}}),
    );
    assert_eq!(r.status(), 200, "{}", r.text());
    w.put("data/analytics/events_v2/dt=2024-01-01/keep.parquet");

    queue_rows(&w, 1, "dt", &["2024-01-01", "2024-01-02"]);
    w.proxy.clear();
    w.kiln(&["run"]).assert_success();
    assert_eq!(w.location("events"), location, "replaced in place");
    assert_eq!(w.tables(), ["events"], "the stage is gone");
    let want_keys = |keys: Vec<String>| {
        assert_eq!(
            stable(&keys),
            [
                format!("{folder}dt=2024-01-011/keep.parquet"),
                format!("{folder}dt=2024-01-03/keep.parquet"),
                format!("{folder}kiln-B-0/dt=2024-01-01/part-00000.parquet"),
                format!("{folder}kiln-B-0/dt=2024-01-02/part-00000.parquet"),
                "data/analytics/events_v2/dt=2024-01-01/keep.parquet".to_string(),
            ]
        );
    };
    want_keys(w.keys());
    let want_partitions = |parts: Vec<(String, String)>| {
        let (values, locations): (Vec<String>, Vec<String>) = parts.into_iter().unzip();
        assert_eq!(
            values,
            ["2024-01-01", "2024-01-011", "2024-01-02", "2024-01-03"]
        );
        assert_eq!(
            stable(&locations),
            [
                format!("{location}kiln-B-0/dt=2024-01-01/"),
                format!("{location}dt=2024-01-011/"),
                format!("{location}kiln-B-0/dt=2024-01-02/"),
                format!("{location}dt=2024-01-03/"),
            ]
        );
    };
    want_partitions(partitions(&w, "events"));
    let calls = w.calls();
    // no file a partition names is deleted before the new rows are staged (the orphan, which
    // no reader sees, goes with the recover's sweep of files the table does not read)
    let staged = calls
        .iter()
        .position(|c| c.starts_with("StartQueryExecution create table"))
        .expect("the stage");
    let first_delete = calls
        .iter()
        .position(|c| c.starts_with("DeleteObjects") && c.contains("part-00000"))
        .expect("a delete");
    assert!(staged < first_delete, "{calls:#?}");
    assert!(
        calls
            .iter()
            .take(staged)
            .any(|c| c.starts_with("DeleteObjects") && c.ends_with("dt=2024-01-02/orphan.parquet")),
        "{calls:#?}"
    );
    // nothing old is deleted before every touched partition points at its new folder
    let repointed = calls
        .iter()
        .rposition(|c| {
            c.starts_with("BatchUpdatePartition") || c.starts_with("BatchCreatePartition")
        })
        .expect("the partitions repointed");
    let old_deleted = calls
        .iter()
        .rposition(|c| c.starts_with("DeleteObjects") && c.contains("dt=2024-01-01/part-00000"))
        .expect("the old partition's file deleted");
    assert!(repointed < old_deleted, "{calls:#?}");
    assert!(
        !calls.iter().any(|c| c.starts_with("BatchDeletePartition")),
        "a partition is never unregistered: {calls:#?}"
    );
    insta::assert_snapshot!("insert_overwrite", stable(&calls).join("\n"));
    let q = queries(&w);
    let aside = q
        .iter()
        .find(|q| q.contains("__kiln_parts"))
        .expect("the partitions built aside");
    insta::assert_snapshot!(
        "insert_overwrite_aside",
        stable(&[aside.replace(&location, "<events' location>/")])[0]
    );

    // a rerun never duplicates
    queue_rows(&w, 1, "dt", &["2024-01-01", "2024-01-02"]);
    w.kiln(&["run"]).assert_success();
    want_keys(w.keys());
    want_partitions(partitions(&w, "events"));
}

/// A stage that fails to build deletes nothing: the partitions readers see stay as they were,
/// and the next run replaces them.
#[test]
fn insert_overwrite_deletes_nothing_when_the_new_rows_fail() {
    let w = Warehouse::new(&[("models/events.sql", OVERWRITE)]);
    w.kiln(&["run"]).assert_success();
    let location = w.location("events");
    let before = w.keys();
    w.proxy.rule(Rule::FailQueries {
        times: 1,
        reason: "HIVE_BAD_DATA: the model's query failed".into(),
    });
    w.proxy.clear();
    let run = w.kiln(&["run"]);
    run.assert_code(1);
    assert!(run.stdout.contains("HIVE_BAD_DATA"), "{}", run.stdout);
    let ops = w.proxy.ops();
    assert!(
        !ops.iter()
            .any(|o| o == "DeleteObjects" || o == "BatchDeletePartition"),
        "{ops:#?}"
    );
    assert_eq!(
        partitions(&w, "events"),
        [(
            "2024-01-01".to_string(),
            format!("{location}dt=2024-01-01/")
        )]
    );
    assert_eq!(keys_under(&w, &location), before);
    // the next run drops what the failed one left and replaces the partition
    queue_rows(&w, 1, "dt", &["2024-01-01"]);
    w.kiln(&["run"]).assert_success();
    assert_eq!(w.tables(), ["events"]);
    assert_one_file_built_aside(&w, &location);
}

/// More than 100 partitions: built aside and published in batches of 100 (one statement
/// each, naming its partitions, in a folder of its own).
#[test]
fn insert_overwrite_writes_at_most_100_partitions_per_insert() {
    let w = Warehouse::new(&[("models/events.sql", OVERWRITE)]);
    w.kiln(&["run"]).assert_success();
    let days = days_from_2024(150);
    queue_rows(&w, 1, "dt", &days);
    w.proxy.clear();
    w.kiln(&["run"]).assert_success();
    let inserts: Vec<String> = queries(&w)
        .into_iter()
        .filter(|q| {
            q.starts_with(r#"create table "awsdatacatalog"."analytics"."events__kiln_parts""#)
        })
        .collect();
    assert_eq!(inserts.len(), 2, "{inserts:#?}");
    assert!(inserts[0].contains("-0/'") && inserts[1].contains("-1/'"));
    let named = |q: &str| q.matches("cast(\"dt\" as varchar) = '").count();
    assert_eq!((named(&inserts[0]), named(&inserts[1])), (100, 50));
    assert!(inserts[0].contains("'2024-01-01'") && inserts[1].contains("'2024-05-29'"));
    let parts = partitions(&w, "events");
    assert_eq!(parts.len(), 150);
    assert_eq!(parts.iter().map(|p| p.0.clone()).collect::<Vec<_>>(), days);
}

/// A CTAS that Athena refuses for writing more than 100 partitions
/// (`TOO_MANY_OPEN_PARTITIONS`) is written again in batches, as dbt-athena does: its rows
/// into an unpartitioned table first, then the CTAS with the first 100 partitions and one
/// insert per further 100; the refused statement's files and the unpartitioned table go.
#[test]
fn a_ctas_over_the_partition_limit_is_written_in_batches() {
    let w = Warehouse::new(&[(
        "models/daily.sql",
        "{{ config(materialized='table', partitioned_by=['dt']) }}\nselect 1 as id, dt from wide",
    )]);
    let days = days_from_2024(120);
    // (the refused CTAS, the unpartitioned copy, then the partitions)
    queue_rows(&w, 2, "dt", &days);
    w.proxy.rule(Rule::FailQueries {
        times: 1,
        reason:
            "TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions/buckets"
                .into(),
    });
    w.kiln(&["run"]).assert_success();
    assert_eq!(w.tables(), ["daily"]);
    let location = w.location("daily");
    let q = queries(&w);
    assert_eq!(q.len(), 5, "{q:#?}");
    let heads: Vec<&str> = q.iter().map(|s| s.lines().next().unwrap_or("")).collect();
    assert_eq!(
        heads,
        [
            r#"create table "awsdatacatalog"."analytics"."daily""#,
            r#"create table "awsdatacatalog"."analytics"."daily__dbt_tmp""#,
            r#"select distinct cast("dt" as varchar) as "dt" from "awsdatacatalog"."analytics"."daily__dbt_tmp""#,
            r#"create table "awsdatacatalog"."analytics"."daily""#,
            r#"insert into "awsdatacatalog"."analytics"."daily""#,
        ]
    );
    assert!(!q[1].contains("partitioned_by"), "{}", q[1]);
    assert!(
        q[1].contains(&format!(
            "external_location='{}-unpartitioned/'",
            location.trim_end_matches('/')
        )),
        "{}",
        q[1]
    );
    assert!(
        q[3].contains("partitioned_by=ARRAY['dt']")
            && q[3].contains(&format!("external_location='{location}'")),
        "{}",
        q[3]
    );
    let named = |q: &str| q.matches("cast(\"dt\" as varchar) = '").count();
    assert_eq!((named(&q[3]), named(&q[4])), (100, 20));
    // the unpartitioned copy and its files are gone; the table's files are its partitions'
    let bucket = format!("s3://{}/", w.bucket);
    let folder = location.trim_start_matches(&bucket);
    let keys = w.keys();
    assert!(keys.iter().all(|k| k.starts_with(folder)), "{keys:#?}");
    assert_eq!(partitions(&w, "daily").len(), 120);
}

/// `insert_overwrite` without partition columns is refused at parse, exit 2, at the line that
/// asked for it; dbt-athena would silently append (its issue #2081). On an Iceberg table it is
/// refused before anything runs.
#[test]
fn insert_overwrite_without_partitions_is_refused_at_parse() {
    let w = Warehouse::new(&[(
        "models/events.sql",
        "{{ config(materialized='incremental',\n    incremental_strategy='insert_overwrite') }}\nselect 1 as id",
    )]);
    let run = w.kiln(&["run"]);
    run.assert_code(2);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(out.contains("models/events.sql:2"), "{out}");
    assert!(
        out.contains("the insert_overwrite strategy needs partition columns (partition_by, or on Athena partitioned_by)"),
        "{out}"
    );
    assert!(out.contains("or use incremental_strategy: append"), "{out}");
    assert!(
        w.proxy
            .calls()
            .iter()
            .all(|c| c.op != "StartQueryExecution"),
        "nothing ran"
    );
    w.project.write(
        "models/events.sql",
        "{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partitioned_by=['dt'], table_type='iceberg') }}\nselect 1 as id, '2024-01-01' as dt",
    );
    w.kiln(&["run"]).assert_success();
    let run = w.kiln(&["run"]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("incremental_strategy 'insert_overwrite' replaces Hive partitions, and this is an Iceberg table"),
        "{}",
        run.stdout
    );
}

/// Iceberg `merge` with dbt-athena's options: the statement Athena receives.
#[test]
fn iceberg_merge_takes_dbt_athenas_options() {
    let w = Warehouse::new(&[(
        "models/users.sql",
        "{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id', table_type='iceberg',\n    \
         incremental_predicates=[\"target.id > 0\"], update_condition='src.id is not null',\n    \
         delete_condition='src.id < 0', insert_condition='src.id > 0',\n    \
         merge_update_columns_rules={'id': 'sum'}) }}\nselect 1 as id",
    )]);
    w.kiln(&["run"]).assert_success();
    w.proxy.clear();
    w.kiln(&["run"]).assert_success();
    let merge: Vec<String> = queries(&w)
        .into_iter()
        .filter(|q| q.starts_with("merge into"))
        .collect();
    assert_eq!(merge.len(), 1, "{merge:#?}");
    // (the engine gives every table one column, the key: nothing is left to update)
    insta::assert_snapshot!(merge[0], @r#"
    merge into "awsdatacatalog"."analytics"."users" as target
    using "awsdatacatalog"."analytics"."users__dbt_tmp" as src
    on target."id" = src."id" and (target.id > 0)
    when matched and (src.id < 0) then delete
    when not matched and (src.id > 0) then insert ("id")
        values (src."id")
    "#);
    // a rule for a column that does not parse is exit 2
    w.project.write(
        "models/users.sql",
        "{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id', table_type='iceberg', merge_update_columns=['id'], merge_exclude_columns=['id']) }}\nselect 1 as id",
    );
    let run = w.kiln(&["run"]);
    run.assert_code(2);
    assert!(
        format!("{}{}", run.stdout, run.stderr)
            .contains("merge_update_columns and merge_exclude_columns cannot both be set"),
        "{}",
        run.stdout
    );
}

/// Sets the Glue columns of `analytics.<table>` (what an older version of the model wrote).
fn set_columns(w: &Warehouse, table: &str, columns: &[(&str, &str)]) {
    let mut t = w.table(table).expect("the table");
    t["StorageDescriptor"]["Columns"] = json!(
        columns
            .iter()
            .map(|(n, ty)| json!({"Name": n, "Type": ty}))
            .collect::<Vec<_>>()
    );
    let input = json!({
        "Name": table,
        "TableType": t["TableType"],
        "StorageDescriptor": t["StorageDescriptor"],
        "PartitionKeys": t.get("PartitionKeys").cloned().unwrap_or(json!([])),
        "Parameters": t.get("Parameters").cloned().unwrap_or(json!({})),
    });
    let r = w.glue(
        "UpdateTable",
        json!({"DatabaseName": "analytics", "TableInput": input}),
    );
    assert_eq!(r.status(), 200, "{}", r.text());
}

/// `on_schema_change` on Athena, Hive and Iceberg: the new rows have `id`, the table has
/// `legacy` (and, for `ignore` and `fail`, `id`). `append_new_columns` adds `id`;
/// `sync_all_columns` also drops `legacy` (Iceberg drops the column; a Hive table's data
/// columns are replaced); `fail` stops before writing; `ignore` writes the shared columns.
#[test]
fn on_schema_change_uses_athenas_ddl() {
    let model = |table_type: &str, change: &str| {
        format!(
            "{{{{ config(materialized='incremental', incremental_strategy='append', table_type='{table_type}', on_schema_change='{change}') }}}}\nselect 1 as id"
        )
    };
    let mut out = vec![];
    for (table_type, change) in [
        ("hive", "append_new_columns"),
        ("hive", "sync_all_columns"),
        ("iceberg", "sync_all_columns"),
        ("hive", "fail"),
        ("hive", "ignore"),
    ] {
        let w = Warehouse::new(&[("models/events.sql", &model(table_type, change))]);
        w.kiln(&["run"]).assert_success();
        // (`ignore` and `fail` keep a column both sides share)
        if matches!(change, "ignore" | "fail") {
            set_columns(&w, "events", &[("id", "bigint"), ("legacy", "string")]);
        } else {
            set_columns(&w, "events", &[("legacy", "string")]);
        }
        w.proxy.clear();
        let run = w.kiln(&["run"]);
        let ddl: Vec<String> = queries(&w)
            .into_iter()
            .filter(|q| q.starts_with("alter table") || q.starts_with("insert into"))
            .collect();
        out.push(format!(
            "==== {table_type} {change}, exit {}",
            run.code.unwrap_or(-1)
        ));
        out.extend(ddl);
        if change == "fail" {
            run.assert_code(1);
            assert!(
                run.stdout.contains("on_schema_change is 'fail'"),
                "{}",
                run.stdout
            );
            // nothing was written, and the stage went before the failure: its Glue entry
            // and its files; the table's own files are all there
            assert_eq!(w.tables(), ["events"]);
            let location = w.location("events");
            let own = keys_under(&w, "data/analytics/events/");
            assert_eq!(
                own,
                [format!(
                    "{}part-00000.parquet",
                    location.trim_start_matches(&format!("s3://{}/", w.bucket))
                )]
            );
            let calls = w.calls();
            let dropped = calls
                .iter()
                .position(|c| c == "DeleteTable events__dbt_tmp")
                .expect("the stage dropped");
            assert!(
                calls[dropped..]
                    .iter()
                    .any(|c| c.starts_with("DeleteObjects")),
                "{calls:#?}"
            );
        } else {
            run.assert_success();
        }
    }
    insta::assert_snapshot!("on_schema_change", out.join("\n"));
}

/// Microbatch on Athena: on a Hive table each batch replaces the partitions its rows touch
/// (only rows of its window); on an Iceberg table each batch deletes its window and inserts
/// it. The first build publishes an empty table shaped like the model.
#[test]
fn microbatch_replaces_each_batch() {
    let model = |extra: &str| {
        format!(
            "{{{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='at', batch_size='day', begin='2024-01-01', {extra}) }}}}\nselect 1 as id, timestamp '2024-01-01 10:00:00' as at, '2024-01-01' as dt"
        )
    };
    let w = Warehouse::new(&[
        ("models/hive_events.sql", &model("partitioned_by=['dt']")),
        ("models/ice_events.sql", &model("table_type='iceberg'")),
    ]);
    let window = [
        "--event-time-start",
        "2024-01-01",
        "--event-time-end",
        "2024-01-02",
    ];
    let mut args = vec!["run", "-s", "hive_events"];
    args.extend(window);
    // (the empty table, the stage, then the partitions)
    queue_rows(&w, 2, "dt", &["2024-01-01"]);
    w.kiln(&args).assert_success();
    insta::assert_snapshot!("microbatch_hive_first", w.calls().join("\n"));
    let location = w.location("hive_events");
    let (values, at): (Vec<String>, Vec<String>) =
        partitions(&w, "hive_events").into_iter().unzip();
    assert_eq!(values, ["2024-01-01"]);
    assert_eq!(stable(&at), [format!("{location}kiln-B-0/dt=2024-01-01/")]);
    // a rerun of the batch replaces it
    queue_rows(&w, 1, "dt", &["2024-01-01"]);
    w.proxy.clear();
    w.kiln(&args).assert_success();
    assert_one_file_built_aside(&w, &location);
    let q = queries(&w);
    // the batch's partitions are built aside from its window's rows only
    assert!(
        q.iter().any(|s| s.starts_with("create table \"awsdatacatalog\".\"analytics\".\"hive_events__kiln_parts\"")
            && s.contains("where (\"at\" >= timestamp '2024-01-01 00:00:00' and \"at\" < timestamp '2024-01-02 00:00:00') and (")),
        "{q:#?}"
    );
    assert!(
        q.iter().any(|s| s.starts_with("select distinct cast(\"dt\" as varchar) as \"dt\" from \"awsdatacatalog\".\"analytics\".\"hive_events__dbt_tmp\" where \"at\" >= timestamp '2024-01-01 00:00:00' and \"at\" < timestamp '2024-01-02 00:00:00'")),
        "{q:#?}"
    );

    let mut args = vec!["run", "-s", "ice_events"];
    args.extend(window);
    w.kiln(&args).assert_success();
    w.proxy.clear();
    w.kiln(&args).assert_success();
    let q: Vec<String> = queries(&w)
        .into_iter()
        .filter(|q| !q.starts_with("create table"))
        .collect();
    insta::assert_snapshot!(q.join(";\n"), @r#"
    delete from "awsdatacatalog"."analytics"."ice_events" where "at" >= timestamp '2024-01-01 00:00:00' and "at" < timestamp '2024-01-02 00:00:00';
    insert into "awsdatacatalog"."analytics"."ice_events" ("id") select "id" from "awsdatacatalog"."analytics"."ice_events__dbt_tmp" where "at" >= timestamp '2024-01-01 00:00:00' and "at" < timestamp '2024-01-02 00:00:00'
    "#);
}

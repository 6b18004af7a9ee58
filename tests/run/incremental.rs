//! Incremental models on DuckDB: every strategy with before/after contents, on_schema_change,
//! merge-key checks, full refresh, and the late/duplicate event pattern.

use crate::db::{column, query, relations, statuses};
use crate::support::TestProject;

/// A project whose source rows live in a table the test rewrites between runs.
fn project(model: &str) -> TestProject {
    TestProject::minimal()
        .file(
            "models/sources.yml",
            "sources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: events\n",
        )
        .file("models/events_model.sql", model)
}

fn set_source(p: &TestProject, rows: &str) {
    let conn = duckdb::Connection::open(p.dir().join("dev.duckdb")).expect("open dev.duckdb");
    conn.execute_batch(&format!(
        "create schema if not exists raw; create or replace table raw.events as select * from (values {rows}) t(id, day, amount)"
    ))
    .expect("write the source table");
}

fn rows(p: &TestProject) -> Vec<String> {
    query(p, "select * from main.events_model order by all")
        .into_iter()
        .map(|r| r.join(","))
        .collect()
}

const SELECT: &str = "select id, day, amount from {{ source('raw', 'events') }}{% if is_incremental() %} where day >= (select max(day) from {{ this }}){% endif %}";

#[test]
fn append_adds_only_the_new_rows() {
    let p = project(&format!(
        "{{{{ config(materialized='incremental') }}}}\n{SELECT}"
    ));
    set_source(&p, "(1, 1, 10), (2, 1, 20)");
    p.kiln(&["run"]).run().assert_success();
    set_source(&p, "(1, 1, 10), (2, 1, 20), (3, 2, 30)");
    p.kiln(&["run"]).run().assert_success();
    // day >= max(day)=1 re-reads day 1: append duplicates it, as dbt's append does
    assert_eq!(
        rows(&p),
        vec!["1,1,10", "1,1,10", "2,1,20", "2,1,20", "3,2,30"]
    );
    // a full refresh rebuilds from scratch
    p.kiln(&["run", "--full-refresh"]).run().assert_success();
    assert_eq!(rows(&p), vec!["1,1,10", "2,1,20", "3,2,30"]);
}

#[test]
fn merge_and_delete_insert_replace_rows_by_key() {
    for strategy in ["merge", "delete+insert"] {
        let p = project(&format!(
            "{{{{ config(materialized='incremental', unique_key='id', incremental_strategy='{strategy}') }}}}\n{SELECT}"
        ));
        set_source(&p, "(1, 1, 10), (2, 1, 20)");
        p.kiln(&["run"]).run().assert_success();
        set_source(&p, "(1, 1, 10), (2, 2, 25), (3, 2, 30)");
        p.kiln(&["run"]).run().assert_success();
        assert_eq!(rows(&p), vec!["1,1,10", "2,2,25", "3,2,30"], "{strategy}");
        assert!(relations(&p).iter().all(|r| !r.contains("__kiln")));
    }
}

#[test]
fn composite_keys_and_insert_overwrite() {
    let p = project(
        "{{ config(materialized='incremental', unique_key=['id', 'day'], incremental_strategy='merge') }}\nselect id, day, amount from {{ source('raw', 'events') }}",
    );
    set_source(&p, "(1, 1, 10), (1, 2, 20)");
    p.kiln(&["run"]).run().assert_success();
    set_source(&p, "(1, 2, 21), (1, 3, 30)");
    p.kiln(&["run"]).run().assert_success();
    assert_eq!(rows(&p), vec!["1,1,10", "1,2,21", "1,3,30"]);

    let p = project(
        "{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by='day') }}\nselect id, day, amount from {{ source('raw', 'events') }}{% if is_incremental() %} where day >= 2{% endif %}",
    );
    set_source(&p, "(1, 1, 10), (2, 2, 20), (3, 2, 30)");
    p.kiln(&["run"]).run().assert_success();
    set_source(&p, "(1, 1, 99), (4, 2, 40)");
    p.kiln(&["run"]).run().assert_success();
    // day 2 is replaced as a whole; day 1 is untouched
    assert_eq!(rows(&p), vec!["1,1,10", "4,2,40"]);
}

#[test]
fn duplicate_or_null_merge_keys_fail_before_writing_unless_deduped() {
    let p = project(
        "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}\nselect id, day, amount from {{ source('raw', 'events') }}",
    );
    set_source(&p, "(1, 1, 10)");
    p.kiln(&["run"]).run().assert_success();
    set_source(&p, "(1, 1, 10), (2, 2, 20), (2, 3, 21)");
    let run = p.kiln(&["run"]).run();
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("the new rows hold 2 rows with the same unique_key (id = 2)"),
        "{}",
        run.stdout
    );
    assert_eq!(rows(&p), vec!["1,1,10"], "nothing was written");
    set_source(&p, "(null, 1, 10)");
    let run = p.kiln(&["run"]).run();
    run.assert_code(1);
    assert!(
        run.stdout.contains("a NULL unique_key (id = NULL)"),
        "{}",
        run.stdout
    );

    p.write(
        "models/events_model.sql",
        "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge', unique_key_duplicates='dedupe', updated_at='day') }}\nselect id, day, amount from {{ source('raw', 'events') }}",
    );
    set_source(&p, "(2, 2, 20), (2, 3, 21)");
    p.kiln(&["run"]).run().assert_success();
    assert_eq!(rows(&p), vec!["1,1,10", "2,3,21"]);
    // A row without a key is never merged (it would be inserted again on every run): dedupe
    // leaves it out, and identical reruns add nothing.
    set_source(&p, "(2, 3, 21), (null, 4, 40), (5, 5, 50)");
    for _ in 0..3 {
        p.kiln(&["run"]).run().assert_success();
        assert_eq!(rows(&p), vec!["1,1,10", "2,3,21", "5,5,50"]);
    }
}

#[test]
fn on_schema_change_modes() {
    let model = |mode: &str, cols: &str| {
        format!(
            "{{{{ config(materialized='incremental', unique_key='id', on_schema_change='{mode}') }}}}\nselect {cols} from {{{{ source('raw', 'events') }}}}"
        )
    };
    let cols = |p: &TestProject| {
        column(
            p,
            "select column_name from information_schema.columns where table_name = 'events_model' order by ordinal_position",
        )
    };
    // ignore: the new column is not added
    let p = project(&model("ignore", "id, day"));
    set_source(&p, "(1, 1, 10)");
    p.kiln(&["run"]).run().assert_success();
    p.write(
        "models/events_model.sql",
        &model("ignore", "id, day, amount"),
    );
    set_source(&p, "(2, 2, 20)");
    p.kiln(&["run"]).run().assert_success();
    assert_eq!(cols(&p), vec!["id", "day"]);
    assert_eq!(rows(&p), vec!["1,1", "2,2"]);
    // fail: the run fails and the table is unchanged
    p.write("models/events_model.sql", &model("fail", "id, day, amount"));
    let run = p.kiln(&["run"]).run();
    run.assert_code(1);
    assert!(run.stdout.contains("new columns amount"), "{}", run.stdout);
    assert_eq!(cols(&p), vec!["id", "day"]);
    // append_new_columns: added, old rows NULL
    p.write(
        "models/events_model.sql",
        &model("append_new_columns", "id, day, amount"),
    );
    set_source(&p, "(3, 3, 30)");
    p.kiln(&["run"]).run().assert_success();
    assert_eq!(cols(&p), vec!["id", "day", "amount"]);
    assert_eq!(rows(&p), vec!["1,1,NULL", "2,2,NULL", "3,3,30"]);
    // sync_all_columns: removed columns are dropped too
    p.write(
        "models/events_model.sql",
        &model("sync_all_columns", "id, amount"),
    );
    set_source(&p, "(4, 4, 40)");
    p.kiln(&["run"]).run().assert_success();
    assert_eq!(cols(&p), vec!["id", "amount"]);
    assert_eq!(rows(&p), vec!["1,NULL", "2,NULL", "3,30", "4,40"]);
}

#[test]
fn a_failed_incremental_step_leaves_the_table_as_it_was() {
    let p = project(
        "{{ config(materialized='incremental', unique_key='id') }}\nselect id, day, {% if is_incremental() %}'x' || amount{% else %}amount{% endif %} as amount from {{ source('raw', 'events') }}",
    );
    set_source(&p, "(1, 1, 10)");
    p.kiln(&["run"]).run().assert_success();
    set_source(&p, "(1, 1, 11), (2, 2, 20)");
    // the delete of id 1 runs, then the insert fails on 'x11': all of it is rolled back
    let run = p.kiln(&["run"]).run();
    run.assert_code(1);
    assert!(run.stdout.contains("x11"), "{}", run.stdout);
    assert_eq!(rows(&p), vec!["1,1,10"]);
    assert_eq!(statuses(&p), vec!["model.shop.events_model error"]);
}

#[test]
fn microbatch_backfills_replace_exactly_their_window() {
    let p = TestProject::minimal()
        .file(
            "models/sources.yml",
            "sources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: clicks\n        config:\n          event_time: happened_at\n",
        )
        .file(
            "models/clicks_daily.sql",
            "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='happened_at', batch_size='day', begin='2024-01-01') }}\nselect id, happened_at from {{ source('raw', 'clicks') }}",
        );
    let set = |rows: &str| {
        let conn = duckdb::Connection::open(p.dir().join("dev.duckdb")).expect("open dev.duckdb");
        conn.execute_batch(&format!(
            "create schema if not exists raw; create or replace table raw.clicks as select id, cast(happened_at as timestamp) as happened_at from (values {rows}) t(id, happened_at)"
        ))
        .unwrap();
    };
    set("(1, '2024-01-01 10:00'), (2, '2024-01-02 11:00'), (3, '2024-01-03 12:00')");
    p.kiln(&["run", "--event-time-end", "2024-01-04"])
        .run()
        .assert_success();
    let rr = crate::db::run_results(&p);
    let batches = &rr["results"][0]["batch_results"]["successful"];
    assert_eq!(batches.as_array().unwrap().len(), 3, "{batches}");
    assert_eq!(batches[0][0], "2024-01-01T00:00:00+00:00");
    let ids = |p: &TestProject| column(p, "select id from main.clicks_daily order by id");
    assert_eq!(ids(&p), vec!["1", "2", "3"]);
    // a late event for day 2 arrives, and day 3 changes too; backfill day 2 only
    set(
        "(1, '2024-01-01 10:00'), (2, '2024-01-02 11:00'), (22, '2024-01-02 23:59'), (33, '2024-01-03 12:00')",
    );
    p.kiln(&[
        "run",
        "--event-time-start",
        "2024-01-02",
        "--event-time-end",
        "2024-01-03",
    ])
    .run()
    .assert_success();
    assert_eq!(ids(&p), vec!["1", "2", "3", "22"]);
    // running the same batch again changes nothing: no duplicates
    p.kiln(&[
        "run",
        "--event-time-start",
        "2024-01-02",
        "--event-time-end",
        "2024-01-03",
    ])
    .run()
    .assert_success();
    assert_eq!(ids(&p), vec!["1", "2", "3", "22"]);
    let sql = p.read("target/run/shop/models/clicks_daily.sql");
    assert!(sql.contains("\"happened_at\" >= timestamp '2024-01-02 00:00:00' and \"happened_at\" < timestamp '2024-01-03 00:00:00'"), "{sql}");
}

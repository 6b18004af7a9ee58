//! `kiln run`, `seed`, `show`, `run-operation`: materializations, hooks, introspection, errors.

use crate::db::{column, query, relations, run_results, statuses};
use crate::support::TestProject;

fn shop() -> TestProject {
    TestProject::minimal()
        .file(
            "models/stg_orders.sql",
            "select * from (values (1, 'placed', 10.5), (2, 'shipped', 20.0), (3, 'placed', 5.25)) as t(id, status, amount)",
        )
        .file(
            "models/orders.sql",
            "{{ config(materialized='table') }}\nselect id, status, amount * 2 as doubled from {{ ref('stg_orders') }}",
        )
        .file(
            "models/eph_placed.sql",
            "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('orders') }} where status = 'placed'",
        )
        .file(
            "models/placed_count.sql",
            "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('eph_placed') }}",
        )
}

#[test]
fn run_builds_views_tables_and_ephemerals_in_order() {
    let p = shop();
    let run = p.kiln(&["run"]).run();
    run.assert_success();
    assert!(
        run.stdout.contains("START sql view model main.stg_orders"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("OK created sql table model main.orders")
    );
    assert!(
        run.stdout
            .contains("Done. PASS=3 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=3")
    );
    assert_eq!(
        relations(&p),
        vec![
            "main.orders base table",
            "main.placed_count base table",
            "main.stg_orders view"
        ]
    );
    assert_eq!(
        query(
            &p,
            "select id, status, doubled::varchar from main.orders order by id"
        ),
        vec![
            vec!["1", "placed", "21.00"],
            vec!["2", "shipped", "40.00"],
            vec!["3", "placed", "10.50"],
        ]
    );
    assert_eq!(column(&p, "select n from main.placed_count"), vec!["2"]);
    assert_eq!(
        statuses(&p),
        vec![
            "model.shop.orders success",
            "model.shop.placed_count success",
            "model.shop.stg_orders success",
        ]
    );
    // the executed DDL is kept under target/run/: a first build creates the table directly
    let ddl = p.read("target/run/shop/models/orders.sql");
    assert!(
        ddl.starts_with("create table \"dev\".\"main\".\"orders\" as ("),
        "{ddl}"
    );
    // a rebuild replaces it with DuckDB's atomic `create or replace table` (no temporary table,
    // rename or transaction: a failed or killed statement leaves the old table, see
    // interrupt.rs), and the rebuilt table holds the new rows
    p.kiln(&["run", "--no-reuse", "--select", "orders"])
        .run()
        .assert_success();
    let ddl = p.read("target/run/shop/models/orders.sql");
    assert!(
        ddl.starts_with("create or replace table \"dev\".\"main\".\"orders\" as ("),
        "{ddl}"
    );
    assert!(!ddl.contains("__kiln_tmp"), "{ddl}");
    assert_eq!(column(&p, "select count(*) from main.orders"), vec!["3"]);
}

/// A model that refs an ephemeral model and starts with comments before its own `with` gets the
/// ephemeral CTE merged into that `with` (not a second `with`), and builds.
#[test]
fn a_model_with_comments_before_its_with_builds_on_an_ephemeral() {
    let p = shop().file(
        "models/placed_by_status.sql",
        "-- Placed orders by status.\n-- (two comment lines before the `with`)\n/* and a block\n   comment */\nwith placed as (\n    select * from {{ ref('eph_placed') }}\n)\nselect status, count(*) as n from placed group by status\n",
    );
    let run = p.kiln(&["run"]).run();
    run.assert_success();
    assert_eq!(
        query(&p, "select status, n from main.placed_by_status"),
        vec![vec!["placed", "2"]]
    );
    let compiled = p.read("target/compiled/shop/models/placed_by_status.sql");
    assert!(
        compiled.starts_with("-- Placed orders by status.\n-- (two comment lines before the `with`)\n/* and a block\n   comment */\nwith __dbt__cte__eph_placed as ("),
        "{compiled}"
    );
    assert_eq!(compiled.matches("with ").count(), 1, "{compiled}");
}

#[test]
fn a_rerun_replaces_tables_and_leaves_no_temporaries() {
    let p = shop();
    p.kiln(&["run"]).run().assert_success();
    p.write(
        "models/orders.sql",
        "{{ config(materialized='table') }}\nselect id, status from {{ ref('stg_orders') }} where id > 1",
    );
    p.kiln(&["run", "--select", "orders"])
        .run()
        .assert_success();
    assert_eq!(
        column(&p, "select id from main.orders order by id"),
        vec!["2", "3"]
    );
    assert!(
        relations(&p).iter().all(|r| !r.contains("__kiln")),
        "{:?}",
        relations(&p)
    );
    // a view replaced by a table and back
    p.write("models/orders.sql", "select 1 as id");
    p.kiln(&["run", "--select", "orders"])
        .run()
        .assert_success();
    assert!(relations(&p).contains(&"main.orders view".to_string()));
    p.write(
        "models/orders.sql",
        "{{ config(materialized='table') }}\nselect 2 as id",
    );
    p.kiln(&["run", "--select", "orders"])
        .run()
        .assert_success();
    assert!(relations(&p).contains(&"main.orders base table".to_string()));
    assert_eq!(column(&p, "select id from main.orders"), vec!["2"]);
}

#[test]
fn a_failing_model_keeps_the_previous_table_and_skips_its_descendants() {
    let p = shop();
    p.kiln(&["run"]).run().assert_success();
    p.write(
        "models/orders.sql",
        "{{ config(materialized='table') }}\nselect id, no_such_column from {{ ref('stg_orders') }}",
    );
    let run = p.kiln(&["run"]).run();
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("ERROR creating sql table model main.orders"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("SKIP relation main.placed_count"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Runtime Error in model orders (models/orders.sql)")
    );
    assert!(run.stdout.contains("no_such_column"));
    assert!(
        run.stdout
            .contains("Done. PASS=0 WARN=0 ERROR=1 SKIP=1 NO-OP=0 REUSED=1 TOTAL=3"),
        "{}",
        run.stdout
    );
    // the previous orders table is intact and complete
    assert_eq!(column(&p, "select count(*) from main.orders"), vec!["3"]);
    assert!(relations(&p).iter().all(|r| !r.contains("__kiln")));
    assert_eq!(
        statuses(&p),
        vec![
            "model.shop.orders error",
            "model.shop.placed_count skipped",
            "model.shop.stg_orders success",
        ]
    );
    let rr = run_results(&p);
    let orders = rr["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unique_id"] == "model.shop.orders")
        .unwrap();
    assert!(
        orders["message"]
            .as_str()
            .unwrap()
            .contains("no_such_column")
    );
    assert!(
        orders["compiled_code"]
            .as_str()
            .unwrap()
            .contains("no_such_column")
    );
}

#[test]
fn run_results_and_manifest_validate_against_dbt_schemas() {
    let p = shop();
    p.kiln(&["run"]).run().assert_success();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/schemas/run-results-v6.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let rr = run_results(&p);
    let errors: Vec<String> = validator.iter_errors(&rr).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(rr["args"]["which"], "run");
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    assert!(
        manifest["nodes"]["model.shop.orders"]["compiled_code"]
            .as_str()
            .unwrap()
            .contains("\"dev\".\"main\".\"stg_orders\"")
    );
}

#[test]
fn hooks_docs_grants_and_custom_schemas() {
    let p = TestProject::minimal()
        .file(
            "dbt_project.yml",
            r#"name: shop
version: '1.0.0'
config-version: 2
profile: shop
on-run-start:
  - "create table if not exists main.audit (event varchar)"
  - "insert into main.audit values ('start')"
on-run-end:
  - "insert into main.audit values ('end {{ results | length }} {{ schemas | join(',') }}')"
models:
  shop:
    marts:
      +schema: marts
      +persist_docs: {relation: true, columns: true}
"#,
        )
        .file(
            "models/marts/revenue.sql",
            "{{ config(materialized='table', pre_hook=\"insert into main.audit values ('pre {{ this.identifier }}')\", post_hook=[\"insert into main.audit values ('post')\"], grants={'select': ['analyst']}) }}\nselect 1 as id, 9.5 as amount",
        )
        .file(
            "models/marts/revenue.yml",
            "models:\n  - name: revenue\n    description: Revenue by id\n    columns:\n      - name: amount\n        description: In euros, it's VAT-free\n      - name: ghost\n        description: not a column\n",
        );
    let run = p.kiln(&["run"]).run();
    run.assert_success();
    assert_eq!(
        column(&p, "select event from main.audit"),
        vec!["start", "pre revenue", "post", "end 1 main_marts"]
    );
    // custom schema: <target schema>_<custom>
    assert_eq!(
        column(&p, "select count(*) from main_marts.revenue"),
        vec!["1"]
    );
    assert_eq!(
        column(
            &p,
            "select comment from duckdb_tables() where table_name = 'revenue'"
        ),
        vec!["Revenue by id"]
    );
    assert_eq!(
        column(
            &p,
            "select comment from duckdb_columns() where table_name = 'revenue' and column_name = 'amount'"
        ),
        vec!["In euros, it's VAT-free"]
    );
    assert!(
        run.stdout
            .contains("sets `grants`, but duckdb has no grants"),
        "{}",
        run.stdout
    );
}

#[test]
fn models_can_introspect_the_database_while_running() {
    let p = TestProject::minimal()
        .file("models/colours.sql", "{{ config(materialized='table') }}\nselect * from (values ('red'), ('green')) t(c)")
        .file(
            "models/pivot.sql",
            r#"{{ config(materialized='table') }}
{% set colours = run_query("select c from " ~ ref('colours') ~ " order by c").columns[0].values() %}
{% set rel = adapter.get_relation(database=this.database, schema='main', identifier='colours') %}
{% set cols = adapter.get_columns_in_relation(ref('colours')) %}
select {% for c in colours %}'{{ c }}' as {{ c }}, {% endfor %}'{{ rel.type }}' as kind, {{ cols | length }} as n_cols"#,
        );
    p.kiln(&["run"]).run().assert_success();
    assert_eq!(
        query(&p, "select green, red, kind, n_cols from main.pivot"),
        vec![vec!["green", "red", "table", "1"]]
    );
}

#[test]
fn profile_memory_settings_and_external_sources() {
    let p = TestProject::minimal()
        .file(
            "profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      memory_limit: 1GB\n      settings:\n        threads: 2\n",
        )
        .file("data/events.csv", "id,kind\n1,click\n2,view\n3,click\n")
        .file("data/more/a.json", "{\"id\": 7}\n{\"id\": 8}\n")
        .file(
            "models/sources.yml",
            "sources:\n  - name: raw\n    meta:\n      external_location: \"data/{name}.csv\"\n    tables:\n      - name: events\n      - name: ids\n        meta:\n          external_location: \"read_json_auto('data/more/*.json')\"\n",
        )
        .file(
            "models/settings.sql",
            "{{ config(materialized='table') }}\nselect current_setting('memory_limit') as mem, current_setting('threads') as threads, current_setting('temp_directory') like '%duckdb_tmp' as spills",
        )
        .file(
            "models/clicks.sql",
            "{{ config(materialized='table') }}\nselect count(*) as n from {{ source('raw', 'events') }} where kind = 'click'",
        )
        .file(
            "models/ids.sql",
            "{{ config(materialized='table') }}\nselect sum(id) as s from {{ source('raw', 'ids') }}",
        );
    let run = p.kiln(&["run"]).current_dir(p.dir()).run();
    run.assert_success();
    let settings = query(&p, "select mem, threads, spills from main.settings");
    assert_eq!(settings[0][1], "2");
    assert_eq!(settings[0][2], "true");
    assert!(
        settings[0][0].contains("953.6 MiB") || settings[0][0].contains("1.0 GB"),
        "{settings:?}"
    );
    assert_eq!(column(&p, "select n from main.clicks"), vec!["2"]);
    assert_eq!(column(&p, "select s from main.ids"), vec!["15"]);
}

#[test]
fn a_locked_database_is_a_clear_error_and_nothing_is_written() {
    let p = shop();
    p.kiln(&["run", "--select", "stg_orders"])
        .run()
        .assert_success();
    // Another process holds the database: this one runs kiln while a child holds the lock.
    let holder = duckdb::Connection::open(p.dir().join("dev.duckdb")).unwrap();
    let run = p.kiln(&["run"]).run();
    drop(holder);
    // DuckDB locks per process; within this test process the lock is ours, kiln's is another.
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("dev.duckdb is in use by another process"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("START"), "{}", run.stdout);
    assert_eq!(relations(&p), vec!["main.stg_orders view"]);
}

#[test]
fn show_previews_rows_and_run_operation_calls_macros() {
    let p = shop().file(
        "macros/ops.sql",
        "{% macro make_table(name, n=1) %}{% do run_query('create or replace table main.' ~ name ~ ' as select range as i from range(' ~ n ~ ')') %}{{ log('made ' ~ name, info=true) }}{% endmacro %}",
    );
    p.kiln(&["run"]).run().assert_success();
    let show = p
        .kiln(&["show", "--select", "orders", "--limit", "2"])
        .run();
    show.assert_success();
    assert!(
        show.stdout.contains("Previewing node 'orders':"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("| id | status  | doubled |"),
        "{}",
        show.stdout
    );
    assert_eq!(
        show.stdout.matches("placed").count() + show.stdout.matches("shipped").count(),
        2
    );
    let inline = p
        .kiln(&[
            "show",
            "--inline",
            "select count(*) as n from {{ ref('orders') }}",
            "--output",
            "json",
        ])
        .run();
    inline.assert_success();
    assert_eq!(
        inline.stdout,
        "{\n  \"show\": [\n    {\n      \"n\": 3\n    }\n  ]\n}\n"
    );

    let op = p
        .kiln(&[
            "run-operation",
            "make_table",
            "--args",
            "{name: nums, n: 4}",
        ])
        .run();
    op.assert_success();
    assert_eq!(column(&p, "select count(*) from main.nums"), vec!["4"]);
    let bad = p.kiln(&["run-operation", "make_tabel"]).run();
    bad.assert_code(2);
    assert!(
        bad.stderr.contains("did you mean 'make_table'?"),
        "{}",
        bad.stderr
    );
}

#[test]
fn json_logs_are_one_event_per_line_with_node_ids_and_statuses() {
    let p = shop().file("models/broken.sql", "select * from nowhere");
    let run = p.kiln(&["run", "--log-format", "json"]).run();
    run.assert_code(1);
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let finished: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["info"]["name"] == "LogModelResult")
        .map(|e| {
            let node = &e["data"]["node_info"];
            (
                node["unique_id"].as_str().unwrap().to_string(),
                node["node_status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        finished.contains(&("model.shop.broken".into(), "error".into())),
        "{finished:?}"
    );
    assert!(finished.contains(&("model.shop.orders".into(), "success".into())));
    let broken = events
        .iter()
        .find(|e| {
            e["info"]["name"] == "LogModelResult"
                && e["data"]["node_info"]["unique_id"] == "model.shop.broken"
        })
        .unwrap();
    assert_eq!(broken["info"]["level"], "error");
    assert!(events.iter().any(|e| {
        e["info"]["msg"]
            .as_str()
            .unwrap_or("")
            .contains("Done. PASS=")
    }));
}

#[test]
fn a_query_bigger_than_memory_spills_and_the_database_is_closed_cleanly() {
    let p = TestProject::minimal()
        .file(
            "profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      memory_limit: 100MB\n      settings:\n        preserve_insertion_order: false\n",
        )
        .file(
            "models/big.sql",
            "{{ config(materialized='table') }}\nselect a.range as x, md5(a.range::varchar) as h from range(8000000) a order by h",
        );
    let run = p.kiln(&["run"]).run();
    run.assert_success();
    assert_eq!(column(&p, "select count(*) from main.big"), vec!["8000000"]);
    // DuckDB was closed: its spill files are gone and its WAL checkpointed into the file
    let tmp = p.dir().join("target/duckdb_tmp");
    assert!(
        !tmp.exists() || std::fs::read_dir(&tmp).unwrap().next().is_none(),
        "spill files left in {}",
        tmp.display()
    );
    assert!(
        !p.dir().join("dev.duckdb.wal").exists(),
        "the WAL was not checkpointed"
    );
}

#[test]
fn source_freshness_judges_each_table_and_writes_sources_json() {
    let p = TestProject::minimal().file(
        "models/sources.yml",
        r#"
sources:
  - name: queue
    schema: queue
    loaded_at_field: received_at
    freshness:
      warn_after: {count: 1, period: hour}
      error_after: {count: 2, period: day}
    tables:
      - name: fresh
      - name: late
      - name: stale
      - name: empty
      - name: untracked
        freshness: null
"#,
    );
    {
        let conn = duckdb::Connection::open(p.dir().join("dev.duckdb")).unwrap();
        conn.execute_batch(
            "create schema queue;
             create table queue.fresh as select cast(now() as timestamp) - interval 5 minute as received_at;
             create table queue.late as select cast(now() as timestamp) - interval 3 hour as received_at;
             create table queue.stale as select cast(now() as timestamp) - interval 3 day as received_at;
             create table queue.empty as select cast(now() as timestamp) as received_at where false;
             create table queue.untracked as select timestamp '2000-01-01' as received_at;",
        )
        .unwrap();
    }
    let run = p.kiln(&["source", "freshness"]).run();
    run.assert_code(1);
    assert!(
        run.stdout.contains("PASS freshness of queue.fresh"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("WARN freshness of queue.late"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("ERROR STALE freshness of queue.stale"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("queue.untracked"), "{}", run.stdout);
    assert!(
        run.stdout.contains("has no rows with a received_at"),
        "{}",
        run.stdout
    );
    let doc: serde_json::Value = serde_json::from_str(&p.read("target/sources.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sources-v3.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let statuses: Vec<(String, String)> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["unique_id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (
                "source.shop.queue.empty".to_string(),
                "runtime error".to_string()
            ),
            ("source.shop.queue.fresh".to_string(), "pass".to_string()),
            ("source.shop.queue.late".to_string(), "warn".to_string()),
            ("source.shop.queue.stale".to_string(), "error".to_string()),
        ]
    );
}

/// A model's relative file path is read from the project directory, as the database `path` is,
/// when kiln runs from another directory (the demo's click events, built with `--project-dir`).
/// A glob is only looked for there; a plain path would be read from the working directory
/// first if the same file existed there too (DuckDB's `file_search_path`), so none does here.
#[test]
fn relative_file_paths_resolve_against_the_project_directory() {
    let p = TestProject::minimal()
        .file("data/x.csv", "id,kind\n1,click\n2,view\n3,click\n")
        .file("data/clicks/a.csv", "id\n10\n")
        .file("data/clicks/b.csv", "id\n20\n")
        .file(
            "models/sources.yml",
            "sources:\n  - name: raw\n    meta:\n      external_location: \"data/{name}.csv\"\n    tables:\n      - name: x\n",
        )
        .file(
            "models/clicks.sql",
            "{{ config(materialized='table') }}\nselect id, kind from read_csv('data/x.csv') where kind = 'click'",
        )
        .file(
            "models/views.sql",
            "{{ config(materialized='table') }}\nselect id from {{ source('raw', 'x') }} where kind = 'view'",
        )
        .file(
            "models/click_files.sql",
            "{{ config(materialized='table') }}\nselect id from read_csv('data/clicks/*.csv')",
        );
    // a folder beside the project, with click files of its own that must not be read
    let elsewhere = p.root().join("elsewhere");
    std::fs::create_dir_all(elsewhere.join("data/clicks")).unwrap();
    std::fs::write(elsewhere.join("data/clicks/z.csv"), "id\n99\n").unwrap();
    let run = p.kiln(&["build"]).current_dir(&elsewhere).run();
    run.assert_success();
    assert_eq!(
        query(&p, "select id, kind from main.clicks order by id"),
        vec![vec!["1", "click"], vec!["3", "click"]]
    );
    assert_eq!(column(&p, "select id from main.views"), vec!["2"]);
    assert_eq!(
        column(&p, "select id from main.click_files order by id"),
        vec!["10", "20"]
    );
    assert!(!elsewhere.join("dev.duckdb").exists());
}

/// A profile's own `file_search_path` wins over the project directory.
#[test]
fn a_profile_file_search_path_is_kept() {
    let p = TestProject::minimal()
        .file(
            "profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      settings:\n        file_search_path: inputs\n",
        )
        .file(
            "models/fsp.sql",
            "{{ config(materialized='table') }}\nselect current_setting('file_search_path') as fsp",
        );
    p.kiln(&["run"]).run().assert_success();
    assert_eq!(column(&p, "select fsp from main.fsp"), vec!["inputs"]);
}

/// Spill files left by a process killed mid-query are removed when the database is next opened
/// (DuckDB removes its own only when it closes); other files in the folder stay.
#[test]
fn stale_spill_files_are_removed_at_start() {
    let p = TestProject::minimal().file("models/a.sql", "select 1 as id\n");
    let tmp = p.dir().join("target/duckdb_tmp");
    std::fs::create_dir_all(&tmp).expect("mkdir");
    for stale in [
        "duckdb_temp_storage_S32K-0.tmp",
        "duckdb_temp_block-4611686018427388032.block",
    ] {
        std::fs::write(tmp.join(stale), vec![0u8; 4096]).expect("write");
    }
    std::fs::write(tmp.join("notes.txt"), "mine").expect("write");
    p.kiln(&["run"]).run().assert_success();
    let mut left: Vec<String> = std::fs::read_dir(&tmp)
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["notes.txt"]);
}

/// `attach:` in profiles.yml attaches each database to every connection, as dbt-duckdb does
/// (a relative path is read from the project directory); a database that cannot be attached is
/// an error naming it.
#[test]
fn attached_databases_are_readable_by_models() {
    let p = TestProject::minimal()
        .file(
            "profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      threads: 2\n      attach:\n        - path: other.duckdb\n          alias: other\n          read_only: true\n",
        )
        .file(
            "models/from_other.sql",
            "{{ config(materialized='table') }}\nselect id * 10 as id from other.main.t",
        )
        .file("models/also.sql", "select count(*) as n from other.main.t");
    {
        let other = duckdb::Connection::open(p.dir().join("other.duckdb")).expect("open");
        other
            .execute_batch("create table t as select * from range(3) r(id)")
            .expect("create");
    }
    p.kiln(&["run"]).run().assert_success();
    assert_eq!(
        column(&p, "select id from main.from_other order by id"),
        ["0", "10", "20"]
    );
    p.write(
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      attach:\n        - path: missing.duckdb\n          alias: gone\n          read_only: true\n",
    );
    let run = p.kiln(&["run"]).run();
    assert_ne!(run.code, Some(0));
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(
        out.contains("cannot attach '")
            && out.contains("missing.duckdb' as gone listed under attach: in profiles.yml"),
        "{out}"
    );
}

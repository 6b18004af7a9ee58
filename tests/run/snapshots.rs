//! Snapshots across runs: updates, deletes and re-inserts, both strategies, hard_deletes modes,
//! custom meta column names and dbt_valid_to_current.

use crate::db::query;
use crate::support::TestProject;

fn project(config: &str) -> TestProject {
    TestProject::minimal()
        .file(
            "models/sources.yml",
            "sources:\n  - name: crm\n    schema: crm\n    tables:\n      - name: accounts\n",
        )
        .file(
            "snapshots/accounts_snapshot.sql",
            &format!(
                "{{% snapshot accounts_snapshot %}}\n{{{{ config({config}) }}}}\nselect id, plan, updated_at from {{{{ source('crm', 'accounts') }}}}\n{{% endsnapshot %}}\n"
            ),
        )
}

fn set_accounts(p: &TestProject, rows: &str) {
    let conn = duckdb::Connection::open(p.dir().join("dev.duckdb")).expect("open dev.duckdb");
    let body = if rows.is_empty() {
        "select 1 as id, 'x' as plan, timestamp '2024-01-01' as updated_at where false".to_string()
    } else {
        format!("select * from (values {rows}) t(id, plan, updated_at)")
    };
    conn.execute_batch(&format!(
        "create schema if not exists crm; create or replace table crm.accounts as {body}"
    ))
    .expect("write the source table");
}

/// id, plan, valid_from, valid_to per version.
fn history(p: &TestProject, extra: &str) -> Vec<String> {
    query(
        p,
        &format!(
            "select id, plan, strftime(dbt_valid_from, '%m-%d'), coalesce(strftime(dbt_valid_to, '%m-%d'), '-'){extra} from main.accounts_snapshot order by id, dbt_valid_from"
        ),
    )
    .into_iter()
    .map(|r| r.join(" "))
    .collect()
}

#[test]
fn timestamp_strategy_across_three_runs_with_updates_deletes_and_reinserts() {
    let p = project(
        "unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='invalidate'",
    );
    set_accounts(
        &p,
        "(1, 'free', timestamp '2024-01-01'), (2, 'pro', timestamp '2024-01-01')",
    );
    p.kiln(&["snapshot"]).run().assert_success();
    assert_eq!(history(&p, ""), vec!["1 free 01-01 -", "2 pro 01-01 -"]);
    // 1 upgrades, 2 is deleted, 3 appears
    set_accounts(
        &p,
        "(1, 'pro', timestamp '2024-02-01'), (3, 'free', timestamp '2024-02-01')",
    );
    p.kiln(&["snapshot"]).run().assert_success();
    let h = history(&p, "");
    assert_eq!(h[0], "1 free 01-01 02-01");
    assert_eq!(h[1], "1 pro 02-01 -");
    assert!(
        h[2].starts_with("2 pro 01-01 ") && !h[2].ends_with(" -"),
        "{h:?}"
    );
    assert_eq!(h[3], "3 free 02-01 -");
    // 2 comes back; an unchanged row gets no new version
    set_accounts(
        &p,
        "(1, 'pro', timestamp '2024-02-01'), (2, 'team', timestamp '2024-03-01'), (3, 'free', timestamp '2024-02-01')",
    );
    p.kiln(&["snapshot"]).run().assert_success();
    let h = history(&p, "");
    assert_eq!(h.len(), 5, "{h:?}");
    assert_eq!(h[3], "2 team 03-01 -");
    // dbt's meta columns, with dbt's scd id (md5 of key and updated_at)
    let ids = query(
        &p,
        "select count(distinct dbt_scd_id), bool_and(dbt_scd_id = md5(cast(id as varchar) || '|' || cast(dbt_updated_at as varchar))) from main.accounts_snapshot",
    );
    assert_eq!(ids, vec![vec!["5".to_string(), "true".to_string()]]);
}

#[test]
fn check_strategy_and_new_record_hard_deletes() {
    let p = project(
        "unique_key='id', strategy='check', check_cols=['plan'], hard_deletes='new_record'",
    );
    set_accounts(
        &p,
        "(1, 'free', timestamp '2024-01-01'), (2, 'pro', timestamp '2024-01-01')",
    );
    p.kiln(&["snapshot"]).run().assert_success();
    // updated_at moves but plan does not: no new version; 2 is deleted: a deletion record
    set_accounts(&p, "(1, 'free', timestamp '2024-05-01')");
    p.kiln(&["snapshot"]).run().assert_success();
    let rows = query(
        &p,
        "select id, plan, dbt_is_deleted, dbt_valid_to is null from main.accounts_snapshot order by id, dbt_valid_from",
    );
    let rows: Vec<String> = rows.into_iter().map(|r| r.join(" ")).collect();
    assert_eq!(
        rows,
        vec!["1 free False true", "2 pro False false", "2 pro True true"]
    );
    // 2 comes back: the deletion record is closed and a live version opens
    set_accounts(
        &p,
        "(1, 'free', timestamp '2024-05-01'), (2, 'pro', timestamp '2024-06-01')",
    );
    p.kiln(&["snapshot"]).run().assert_success();
    let live = query(
        &p,
        "select id, dbt_is_deleted from main.accounts_snapshot where dbt_valid_to is null order by id",
    );
    assert_eq!(live, vec![vec!["1", "False"], vec!["2", "False"]]);
}

#[test]
fn custom_meta_names_and_valid_to_current() {
    let p = project(
        "unique_key='id', strategy='timestamp', updated_at='updated_at', dbt_valid_to_current=\"timestamp '9999-12-31'\", snapshot_meta_column_names={'dbt_valid_from': 'valid_from', 'dbt_valid_to': 'valid_to', 'dbt_scd_id': 'scd_id', 'dbt_updated_at': 'changed_at'}",
    );
    set_accounts(&p, "(1, 'free', timestamp '2024-01-01')");
    p.kiln(&["snapshot"]).run().assert_success();
    set_accounts(&p, "(1, 'pro', timestamp '2024-02-01')");
    p.kiln(&["snapshot"]).run().assert_success();
    let rows = query(
        &p,
        "select plan, strftime(valid_from, '%Y-%m-%d'), strftime(valid_to, '%Y-%m-%d'), scd_id is not null, changed_at = valid_from from main.accounts_snapshot order by valid_from",
    );
    assert_eq!(
        rows,
        vec![
            vec!["free", "2024-01-01", "2024-02-01", "true", "true"],
            vec!["pro", "2024-02-01", "9999-12-31", "true", "true"],
        ]
    );
}

#[test]
fn snapshots_build_in_dag_order_with_their_tests() {
    let p = project("unique_key='id', strategy='timestamp', updated_at='updated_at'")
        .file(
            "snapshots/schema.yml",
            "snapshots:\n  - name: accounts_snapshot\n    columns:\n      - name: dbt_scd_id\n        data_tests: [unique, not_null]\n",
        )
        .file(
            "models/current_plans.sql",
            "select id, plan from {{ ref('accounts_snapshot') }} where dbt_valid_to is null",
        );
    set_accounts(
        &p,
        "(1, 'free', timestamp '2024-01-01'), (2, 'pro', timestamp '2024-01-01')",
    );
    let run = p.kiln(&["build"]).run();
    run.assert_success();
    let out = &run.stdout;
    let pos = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s} not in\n{out}"));
    assert!(
        pos("OK snapshotted main.accounts_snapshot")
            < pos("PASS unique_accounts_snapshot_dbt_scd_id")
    );
    assert!(
        pos("PASS unique_accounts_snapshot_dbt_scd_id")
            < pos("START sql view model main.current_plans")
    );
    assert_eq!(
        query(&p, "select id, plan from main.current_plans order by id"),
        vec![vec!["1", "free"], vec!["2", "pro"]]
    );
}

#[test]
fn yaml_defined_snapshots_and_composite_keys() {
    let p = TestProject::minimal()
        .file(
            "models/sources.yml",
            "sources:\n  - name: crm\n    schema: crm\n    tables:\n      - name: accounts\n",
        )
        .file("models/stg_accounts.sql", "select * from {{ source('crm', 'accounts') }}")
        .file(
            "snapshots/snapshots.yml",
            "snapshots:\n  - name: accounts_history\n    relation: ref('stg_accounts')\n    config:\n      unique_key: [id, plan]\n      strategy: check\n      check_cols: all\n",
        );
    set_accounts(
        &p,
        "(1, 'free', timestamp '2024-01-01'), (1, 'pro', timestamp '2024-01-01')",
    );
    p.kiln(&["build"]).run().assert_success();
    set_accounts(
        &p,
        "(1, 'free', timestamp '2024-03-01'), (1, 'pro', timestamp '2024-01-01')",
    );
    p.kiln(&["build"]).run().assert_success();
    let rows = query(
        &p,
        "select id, plan, strftime(updated_at, '%m-%d'), dbt_valid_to is null from main.accounts_history order by plan, updated_at",
    );
    assert_eq!(
        rows,
        vec![
            vec!["1", "free", "01-01", "false"],
            vec!["1", "free", "03-01", "true"],
            vec!["1", "pro", "01-01", "true"],
        ]
    );
}

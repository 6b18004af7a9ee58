//! Skipping unchanged work: a second build reuses what is unchanged (`REUSED`), and each kind of
//! change rebuilds exactly what it reaches, leaving tables equal to a clean full build.

use crate::db::{column, execute, query, run_results};
use crate::support::{TestProject, schema_problems};

/// Models of every kind over every kind of input: a seed, a DuckDB source table (through an
/// ephemeral model), a file read as a source, a macro, a var; plus a model that reads the clock
/// and one with a post-hook, which are never reused.
fn project() -> TestProject {
    let p = TestProject::minimal()
        .file("seeds/plans.csv", "plan,price\nbasic,10\npro,20\n")
        .file("data/events.csv", "id,plan\n1,basic\n2,pro\n")
        .file(
            "models/sources.yml",
            "sources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: accounts\n  - name: files\n    tables:\n      - name: events\n        meta:\n          external_location: \"read_csv('data/events.csv', header = true)\"\n",
        )
        .file(
            "macros/money.sql",
            "{% macro money(x) %}({{ x }} * 1.0){% endmacro %}",
        )
        .file(
            "models/stg_events.sql",
            "{{ config(materialized='view') }}\nselect id, plan from {{ source('files', 'events') }}",
        )
        .file(
            "models/eph_accounts.sql",
            "{{ config(materialized='ephemeral') }}\nselect id, name from {{ source('raw', 'accounts') }}",
        )
        .file(
            "models/accounts.sql",
            "{{ config(materialized='table') }}\nselect * from {{ ref('eph_accounts') }}",
        )
        .file(
            "models/revenue.sql",
            "{{ config(materialized='table') }}\nselect e.id, {{ money('p.price') }} as price, {{ var('factor', 1) }} as factor\nfrom {{ ref('stg_events') }} e join {{ ref('plans') }} p using (plan)",
        )
        .file(
            "models/summary.sql",
            "{{ config(materialized='incremental', unique_key='id') }}\nselect id, price * factor as total from {{ ref('revenue') }}{% if is_incremental() %} where true{% endif %}",
        )
        .file(
            "models/standalone.sql",
            "{{ config(materialized='table') }}\nselect 1 as one",
        )
        .file(
            "models/clocked.sql",
            "{{ config(materialized='table') }}\nselect id, current_timestamp as at from {{ ref('accounts') }}",
        )
        .file(
            "models/hooked.sql",
            "{{ config(materialized='table', post_hook='select 1') }}\nselect id from {{ ref('accounts') }}",
        )
        .file(
            "models/schema.yml",
            "models:\n  - name: revenue\n    columns:\n      - name: id\n        data_tests: [not_null]\n  - name: accounts\n    columns:\n      - name: id\n        data_tests: [unique]\n",
        );
    execute(
        &p,
        "create schema raw; create table raw.accounts as select * from (values (1, 'a'), (2, 'b')) t(id, name)",
    );
    p
}

/// Never reused: they read the clock, or run a hook.
const ALWAYS: [&str; 2] = ["clocked", "hooked"];

/// The names of the nodes the last run built (not reused), sorted, without [`ALWAYS`].
fn rebuilt(p: &TestProject) -> Vec<String> {
    let rr = run_results(p);
    let mut out: Vec<String> = rr["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| matches!(r["status"].as_str(), Some("success" | "pass")))
        .filter(|r| {
            !r["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("REUSED"))
        })
        .map(|r| {
            let id = r["unique_id"].as_str().unwrap_or_default();
            id.split('.').nth(2).unwrap_or(id).to_string()
        })
        .filter(|n| !ALWAYS.contains(&n.as_str()))
        .collect();
    out.sort();
    out
}

/// What each model and seed holds.
fn contents(p: &TestProject) -> Vec<Vec<Vec<String>>> {
    // (not the view over data/, which reads the file from the working directory)
    ["plans", "accounts", "revenue", "summary", "standalone"]
        .iter()
        .map(|t| query(p, &format!("select * from main.{t} order by all")))
        .collect()
}

fn build(p: &TestProject, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["build"];
    args.extend_from_slice(extra);
    p.kiln(&args).run().assert_success();
    rebuilt(p)
}

/// The tables after a reusing build are what a clean full build makes.
fn assert_equal_to_a_clean_build(p: &TestProject) {
    let reused = contents(p);
    let clean = TestProject::minimal();
    crate::support::copy_dir(&p.dir(), &clean.dir());
    std::fs::remove_file(clean.dir().join("dev.duckdb")).expect("remove the copied database");
    std::fs::remove_dir_all(clean.dir().join("target")).expect("remove the copied target/");
    let rows = query(p, "select id, name from raw.accounts order by id");
    let values: Vec<String> = rows
        .iter()
        .map(|r| format!("({}, '{}')", r[0], r[1]))
        .collect();
    execute(
        &clean,
        &format!(
            "create schema raw; create table raw.accounts as select * from (values {}) t(id, name)",
            values.join(", ")
        ),
    );
    clean.kiln(&["build"]).run().assert_success();
    assert_eq!(reused, contents(&clean));
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_second_build_reuses_what_is_unchanged() {
    let p = project();
    let all = names(&[
        "accounts",
        "not_null_revenue_id",
        "plans",
        "revenue",
        "standalone",
        "stg_events",
        "summary",
        "unique_accounts_id",
    ]);
    assert_eq!(build(&p, &[]), all);
    let second = p.kiln(&["build"]).run();
    second.assert_success();
    assert_eq!(rebuilt(&p), Vec::<String>::new());
    assert!(
        second
            .stdout
            .contains("REUSED sql incremental model main.summary"),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains("REUSED not_null_revenue_id"),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains("NO-OP=0 REUSED=8 TOTAL=10"),
        "{}",
        second.stdout
    );
    assert!(
        second
            .stdout
            .contains("OK created sql table model main.clocked"),
        "{}",
        second.stdout
    );
    // run_results.json stays valid, with the reason
    let rr = run_results(&p);
    assert_eq!(
        schema_problems("run-results-v6.json", &rr),
        Vec::<String>::new()
    );
    let summary = rr["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["unique_id"] == "model.shop.summary")
        .expect("summary's result");
    assert_eq!(summary["status"], "success");
    assert_eq!(summary["adapter_response"]["code"], "REUSED");
    assert!(
        summary["message"]
            .as_str()
            .is_some_and(|m| m.contains("same SQL, config and inputs")),
        "{summary}"
    );
    // and `run` reuses the same way
    p.kiln(&["run"]).run().assert_success();
    assert_eq!(rebuilt(&p), Vec::<String>::new());
    // --no-reuse and --full-refresh build everything
    assert_eq!(build(&p, &["--no-reuse"]), all);
    assert_eq!(build(&p, &["--full-refresh"]), all);
    assert_eq!(build(&p, &[]), Vec::<String>::new());
    assert_equal_to_a_clean_build(&p);
}

#[test]
fn each_change_rebuilds_exactly_what_it_reaches() {
    let p = project();
    build(&p, &[]);
    let revenue_and_after = ["not_null_revenue_id", "revenue", "summary"];

    // a seed
    p.write("seeds/plans.csv", "plan,price\nbasic,10\npro,25\n");
    let expected = names(&["not_null_revenue_id", "plans", "revenue", "summary"]);
    assert_eq!(build(&p, &[]), expected, "a seed changed");
    assert_equal_to_a_clean_build(&p);

    // a model's SQL
    p.write(
        "models/standalone.sql",
        "{{ config(materialized='table') }}\nselect 2 as one",
    );
    assert_eq!(build(&p, &[]), names(&["standalone"]), "a model changed");
    assert_equal_to_a_clean_build(&p);

    // a macro a model calls
    p.write(
        "macros/money.sql",
        "{% macro money(x) %}({{ x }} * 2.0){% endmacro %}",
    );
    assert_eq!(build(&p, &[]), names(&revenue_and_after), "a macro changed");
    assert_equal_to_a_clean_build(&p);

    // a var, and back
    assert_eq!(
        build(&p, &["--vars", "{factor: 3}"]),
        names(&revenue_and_after),
        "a var changed"
    );
    assert_eq!(
        column(&p, "select total::varchar from main.summary order by id"),
        ["60.0", "150.0"]
    );
    assert_eq!(build(&p, &[]), names(&revenue_and_after), "the var is back");
    assert_equal_to_a_clean_build(&p);

    // a file read as a source
    p.write("data/events.csv", "id,plan\n1,basic\n2,pro\n3,pro\n");
    let expected = names(&["not_null_revenue_id", "revenue", "stg_events", "summary"]);
    assert_eq!(build(&p, &[]), expected, "a source file changed");
    assert_equal_to_a_clean_build(&p);

    // a source table's rows (the same count)
    execute(&p, "update raw.accounts set name = 'z' where id = 1");
    assert_eq!(
        build(&p, &[]),
        names(&["accounts", "unique_accounts_id"]),
        "a source table changed"
    );
    assert_equal_to_a_clean_build(&p);
    assert_eq!(build(&p, &[]), Vec::<String>::new());
}

#[test]
fn a_relation_dropped_or_altered_by_someone_else_is_rebuilt() {
    let p = project();
    build(&p, &[]);
    execute(&p, "drop table main.accounts");
    assert_eq!(
        build(&p, &[]),
        names(&["accounts", "unique_accounts_id"]),
        "dropped"
    );
    execute(&p, "alter table main.standalone add column extra integer");
    assert_eq!(build(&p, &[]), names(&["standalone"]), "altered");
    assert_eq!(
        column(
            &p,
            "select count(*) from information_schema.columns where table_name = 'standalone'"
        ),
        ["1"]
    );
    execute(&p, "drop view main.stg_events");
    let expected = names(&["not_null_revenue_id", "revenue", "stg_events", "summary"]);
    assert_eq!(build(&p, &[]), expected, "a view dropped");
    assert_equal_to_a_clean_build(&p);
}

#[test]
fn a_failed_build_is_rebuilt_by_the_next_run() {
    let p = project();
    build(&p, &[]);
    let good = p.read("models/revenue.sql");
    p.write(
        "models/revenue.sql",
        "{{ config(materialized='table') }}\nselect * from no_such_table",
    );
    p.kiln(&["build"]).run().assert_code(1);
    // back as it was: the old table stands, but nothing vouches for it any more
    p.write("models/revenue.sql", &good);
    assert_eq!(
        build(&p, &[]),
        names(&["not_null_revenue_id", "revenue", "summary"])
    );
    assert_equal_to_a_clean_build(&p);
}

#[test]
fn a_selection_reuses_against_what_its_inputs_hold() {
    let p = project();
    build(&p, &[]);
    p.write(
        "macros/money.sql",
        "{% macro money(x) %}({{ x }} * 3.0){% endmacro %}",
    );
    // revenue is not rebuilt: summary still matches the table revenue holds
    assert_eq!(build(&p, &["--select", "summary"]), Vec::<String>::new());
    // (build selects revenue's test with it)
    assert_eq!(
        build(&p, &["--select", "revenue"]),
        names(&["not_null_revenue_id", "revenue"])
    );
    // now revenue is another build: summary follows
    assert_eq!(build(&p, &["--select", "summary"]), names(&["summary"]));
    assert_equal_to_a_clean_build(&p);
}

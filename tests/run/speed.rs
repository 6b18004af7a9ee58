//! What `run` and `build` do once instead of twice (issue 17): a model's SQL rendered for the
//! column lineage before the run is the SQL the run executes (unless the render asked the
//! warehouse something), the lineage pass creates the binder's scratch tables only when a model
//! must be described, and a relation's columns are read from that relation alone.

use crate::db::{column, execute, query};
use crate::support::TestProject;

/// How many lines of `out` are exactly `line` after the log's timestamp.
fn lines_ending(out: &str, line: &str) -> usize {
    out.lines().filter(|l| l.trim_end().ends_with(line)).count()
}

/// A table model, a view model and an ephemeral model they share, each logging when it renders
/// with `execute` true (not at parse), so the output counts the compile-phase renders.
fn logging_project() -> TestProject {
    TestProject::minimal()
        .file(
            "models/base.sql",
            "{{ config(materialized='ephemeral') }}\n{% if execute %}{% do log('rendering base', info=True) %}{% endif %}\nselect 1 as id, 'a' as name",
        )
        .file(
            "models/names.sql",
            "{{ config(materialized='table') }}\n{% if execute %}{% do log('rendering names', info=True) %}{% endif %}\nselect id, name from {{ ref('base') }}",
        )
        .file(
            "models/ids.sql",
            "{{ config(materialized='view') }}\n{% if execute %}{% do log('rendering ids', info=True) %}{% endif %}\nselect id from {{ ref('names') }}",
        )
}

#[test]
fn run_and_build_render_each_model_once() {
    let p = logging_project();
    for cmd in ["build", "run"] {
        let out = p.kiln(&[cmd, "--no-reuse"]).run();
        out.assert_success();
        // Once for the lineage before the run; the run takes that SQL.
        assert_eq!(
            lines_ending(&out.stdout, "rendering names"),
            1,
            "{cmd}: {}",
            out.stdout
        );
        assert_eq!(
            lines_ending(&out.stdout, "rendering ids"),
            1,
            "{cmd}: {}",
            out.stdout
        );
        // The ephemeral model is rendered once too: its CTE came with the compiled SQL.
        assert_eq!(
            lines_ending(&out.stdout, "rendering base"),
            1,
            "{cmd}: {}",
            out.stdout
        );
    }
    assert_eq!(query(&p, "select * from main.names"), vec![vec!["1", "a"]]);
    assert_eq!(column(&p, "select id from main.ids"), vec!["1"]);
    // And what ran is the SQL in target/compiled and target/run.
    let compiled = std::fs::read_to_string(p.dir().join("target/compiled/shop/models/names.sql"))
        .expect("compiled names.sql");
    assert!(compiled.contains("__dbt__cte__base"), "{compiled}");
    let run = std::fs::read_to_string(p.dir().join("target/run/shop/models/names.sql"))
        .expect("run names.sql");
    assert!(run.contains(compiled.trim()), "{run}");
}

/// `is_incremental()` is answered by the run (the table exists), not by the render before it,
/// where no table is known: a model that asks is rendered again by the run.
#[test]
fn a_model_that_asks_is_incremental_is_rendered_by_the_run() {
    let p = TestProject::minimal().file(
        "models/events.sql",
        "{{ config(materialized='incremental') }}\n{% if execute %}{% do log('rendering events', info=True) %}{% endif %}\nselect {% if is_incremental() %}2{% else %}1{% endif %} as v",
    );
    p.kiln(&["build"]).run().assert_success();
    let second = p.kiln(&["build", "--no-reuse"]).run();
    second.assert_success();
    // The incremental run appended its own SQL's row (2), not the first build's (1).
    assert_eq!(
        column(&p, "select v from main.events order by v"),
        vec!["1", "2"]
    );
    assert!(
        lines_ending(&second.stdout, "rendering events") >= 2,
        "{}",
        second.stdout
    );
}

/// A model that asks the warehouse (here `adapter.get_columns_in_relation`) cannot be
/// compiled without it, so nothing is taken from the lineage's render: the run renders it with
/// the warehouse and builds it.
#[test]
fn a_model_that_reads_the_warehouse_is_rendered_by_the_run() {
    let p = TestProject::minimal()
        .file(
            "models/wide.sql",
            "{{ config(materialized='table') }}\nselect 1 as a, 2 as b",
        )
        .file(
            "models/cols.sql",
            "{{ config(materialized='table') }}\n-- depends_on: {{ ref('wide') }}\n{% set n = adapter.get_columns_in_relation(ref('wide')) | length if execute else 0 %}\nselect {{ n }} as n",
        );
    p.kiln(&["build"]).run().assert_success();
    assert_eq!(column(&p, "select n from main.cols"), vec!["2"]);
}

/// `--empty` narrows every ref() to zero rows: the run renders its own SQL rather than taking
/// the lineage's.
#[test]
fn empty_runs_render_their_own_sql() {
    let p = TestProject::minimal()
        .file(
            "models/src.sql",
            "{{ config(materialized='table') }}\nselect 1 as id",
        )
        .file(
            "models/copy.sql",
            "{{ config(materialized='table') }}\nselect id from {{ ref('src') }}",
        );
    p.kiln(&["build"]).run().assert_success();
    assert_eq!(column(&p, "select count(*) from main.copy"), vec!["1"]);
    p.kiln(&["run", "--empty", "--no-reuse"])
        .run()
        .assert_success();
    assert_eq!(column(&p, "select count(*) from main.copy"), vec!["0"]);
}

/// A chain a → b → c: after a build, c alone changes to name a column b lacks. The lineage pass
/// takes a and b from its cache (no scratch tables for them until c must be described), then
/// describes c against b's columns: the error names the column and suggests b's.
#[test]
fn a_changed_model_is_checked_against_its_cached_upstreams() {
    let p = TestProject::minimal()
        .file(
            "models/a.sql",
            "{{ config(materialized='table') }}\nselect 1 as id, 'x' as label",
        )
        .file(
            "models/b.sql",
            "{{ config(materialized='table') }}\nselect id, label from {{ ref('a') }}",
        )
        .file(
            "models/c.sql",
            "{{ config(materialized='table') }}\nselect id from {{ ref('b') }}",
        );
    p.kiln(&["build"]).run().assert_success();
    // Nothing changed: every model's lineage comes from the cache.
    let again = p.kiln(&["build", "--debug"]).run();
    again.assert_success();
    assert!(
        again
            .stdout
            .contains("Lineage: 0 of 3 models described by the binder"),
        "{}",
        again.stdout
    );
    // c changed: described against b's cached columns.
    let p = p.file(
        "models/c.sql",
        "{{ config(materialized='table') }}\nselect id, lable from {{ ref('b') }}",
    );
    let bad = p.kiln(&["build", "--debug"]).run();
    bad.assert_code(2);
    assert!(
        bad.stdout
            .contains("Lineage: 1 of 3 models described by the binder"),
        "{}",
        bad.stdout
    );
    let all = format!("{}{}", bad.stdout, bad.stderr);
    assert!(all.contains("lable"), "{all}");
    assert!(all.contains("label"), "{all}");
    // Fixed: built, its lineage typed from b's columns.
    let p = p.file(
        "models/c.sql",
        "{{ config(materialized='table') }}\nselect id, label from {{ ref('b') }}",
    );
    p.kiln(&["build"]).run().assert_success();
    let lineage: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.dir().join("target/lineage.json")).expect("lineage.json"),
    )
    .expect("lineage.json is JSON");
    let c = &lineage["nodes"]["model.shop.c"];
    assert_eq!(c["columns"][1]["name"], "label", "{c}");
    assert_eq!(c["columns"][1]["type"], "VARCHAR", "{c}");
    assert_eq!(c["columns"][1]["inputs"][0]["node"], "model.shop.b", "{c}");
}

/// A relation's columns (`adapter.get_columns_in_relation`) on DuckDB, read from that relation
/// alone: in order, with their types, for tables and views, names in any case, and none for a
/// relation that does not exist.
#[test]
fn columns_of_one_relation() {
    let p = TestProject::minimal().file(
        "macros/show_columns.sql",
        "{% macro show_columns(schema, name) %}\
         {% set rel = api.Relation.create(schema=schema, identifier=name) %}\
         {% for c in adapter.get_columns_in_relation(rel) %}{% do log('col ' ~ name ~ ' ' ~ c.name ~ ' ' ~ c.dtype, info=True) %}{% endfor %}\
         {% do log('done ' ~ name, info=True) %}\
         {% endmacro %}",
    );
    execute(
        &p,
        "create schema other; \
         create table other.\"Mixed Case\" (z integer, a decimal(18,3), s struct(x integer)); \
         create view other.v as select 'x' as label",
    );
    let show = |schema: &str, name: &str| -> Vec<String> {
        let args = format!("{{schema: '{schema}', name: '{name}'}}");
        let out = p
            .kiln(&["run-operation", "show_columns", "--args", &args])
            .run();
        out.assert_success();
        assert!(
            out.stdout.contains(&format!("done {name}")),
            "{}",
            out.stdout
        );
        out.stdout
            .lines()
            .filter_map(|l| l.split_once("col ").map(|(_, c)| c.trim().to_string()))
            .collect()
    };
    assert_eq!(
        show("other", "mixed case"),
        vec![
            "mixed case z INTEGER",
            "mixed case a DECIMAL(18,3)",
            "mixed case s STRUCT(x INTEGER)"
        ]
    );
    assert_eq!(show("OTHER", "V"), vec!["V label VARCHAR"]);
    assert_eq!(show("other", "missing"), Vec::<String>::new());
    assert_eq!(show("nowhere", "missing"), Vec::<String>::new());
}

/// The build state records each built relation's columns: asked relation by relation when a
/// few were built in a schema, from one listing of the schema when many were. Either way the
/// next build finds them standing as recorded and reuses them; a column changed behind kiln's
/// back is rebuilt.
#[test]
fn built_relations_columns_are_recorded_for_few_and_for_many() {
    for count in [3, 40] {
        let mut p = TestProject::minimal();
        for i in 0..count {
            p = p.file(
                &format!("models/m{i}.sql"),
                &format!("{{{{ config(materialized='table') }}}}\nselect {i} as id, 'x' as label"),
            );
        }
        p.kiln(&["build"]).run().assert_success();
        let again = p.kiln(&["build"]).run();
        again.assert_success();
        assert!(
            again
                .stdout
                .contains(&format!("REUSED={count} TOTAL={count}")),
            "{count}: {}",
            again.stdout
        );
        execute(&p, "alter table main.m1 add column extra integer");
        let third = p.kiln(&["build"]).run();
        third.assert_success();
        assert!(
            third.stdout.contains("OK created sql table model main.m1"),
            "{count}: {}",
            third.stdout
        );
        assert!(
            third
                .stdout
                .contains(&format!("REUSED={} TOTAL={count}", count - 1)),
            "{count}: {}",
            third.stdout
        );
    }
}

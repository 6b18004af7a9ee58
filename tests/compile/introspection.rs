//! `kiln compile` reaches the warehouse as dbt's compile does: a model that introspects under
//! `{% if execute %}` (`run_query`, `adapter.get_columns_in_relation`) compiles with what the
//! warehouse says; a project that introspects nothing compiles without opening it.

use super::*;

const INTROSPECT: &str = "-- depends_on: {{ ref('upstream') }}
{% if execute %}
{% set r = run_query(\"select 42 as answer\") %}
{% set cols = adapter.get_columns_in_relation(ref('upstream')) %}
select {{ r.columns[0].values()[0] }} as answer, '{{ cols | map(attribute=\"name\") | join(\",\") }}' as cols
{% else %}
select 0 as answer
{% endif %}
";

#[test]
fn compile_opens_the_warehouse_for_a_model_that_introspects() {
    let p = TestProject::minimal()
        .file(
            "models/upstream.sql",
            "{{ config(materialized='table') }}\nselect 1 as id, 'a' as who\n",
        )
        .file("models/introspect.sql", INTROSPECT);
    // Before upstream is built: run_query answers, the relation has no columns yet (as dbt).
    p.kiln(&["compile", "--select", "introspect"])
        .run()
        .assert_success();
    let compiled = p.read("target/compiled/shop/models/introspect.sql");
    assert!(
        compiled.contains("select 42 as answer, '' as cols"),
        "{compiled}"
    );
    p.kiln(&["run", "--select", "upstream"])
        .run()
        .assert_success();
    p.kiln(&["compile", "--select", "introspect"])
        .run()
        .assert_success();
    let compiled = p.read("target/compiled/shop/models/introspect.sql");
    assert!(
        compiled.contains("select 42 as answer, 'id,who' as cols"),
        "{compiled}"
    );
    // --inline too.
    let inline = p
        .kiln(&[
            "compile",
            "--inline",
            "{% if execute %}select {{ run_query('select 7').columns[0].values()[0] }} as n{% endif %}",
        ])
        .run();
    inline.assert_success();
    assert!(inline.stdout.contains("select 7 as n"), "{}", inline.stdout);
}

#[test]
fn compile_without_introspection_leaves_the_warehouse_unopened() {
    let p = TestProject::minimal().file("models/plain.sql", "select 1 as id\n");
    p.kiln(&["compile"]).run().assert_success();
    assert!(p.exists("target/compiled/shop/models/plain.sql"));
    assert!(
        !p.exists("dev.duckdb"),
        "compile created the database without needing it"
    );
}

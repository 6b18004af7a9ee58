//! `kiln retry`, `state:modified` after edits, `--defer` and `kiln diff`.

use crate::db::{column, statuses};
use crate::support::TestProject;

fn project() -> TestProject {
    TestProject::minimal()
        .file("models/a.sql", "{{ config(materialized='table') }}\nselect 1 as id")
        .file("models/b.sql", "{{ config(materialized='table') }}\nselect id, {{ twice('id') }} as twice from {{ ref('a') }}")
        .file("models/c.sql", "select * from {{ ref('b') }}")
        .file("models/d.sql", "select 4 as id")
        .file("macros/twice.sql", "{% macro twice(x) %}{{ x }} * 2{% endmacro %}")
        .file("models/schema.yml", "models:\n  - name: d\n    description: four\n")
}

#[test]
fn retry_reruns_exactly_what_failed_or_was_skipped() {
    let p = project().file("models/b.sql", "select * from missing_table");
    let run = p.kiln(&["run"]).run();
    run.assert_code(1);
    assert_eq!(
        statuses(&p),
        vec![
            "model.shop.a success",
            "model.shop.b error",
            "model.shop.c skipped",
            "model.shop.d success"
        ]
    );
    p.write("models/b.sql", "select id from {{ ref('a') }}");
    let retry = p.kiln(&["retry"]).run();
    retry.assert_success();
    assert_eq!(
        statuses(&p),
        vec!["model.shop.b success", "model.shop.c success"]
    );
    assert!(retry.stdout.contains("Done. PASS=2"), "{}", retry.stdout);
    let again = p.kiln(&["retry"]).run();
    again.assert_success();
    assert!(
        again.stdout.contains("Nothing to retry"),
        "{}",
        again.stdout
    );
}

#[test]
fn state_modified_after_editing_a_model_a_macro_a_config_and_a_description() {
    let p = project();
    p.kiln(&["run"]).run().assert_success();
    std::fs::create_dir_all(p.dir().join("prod")).unwrap();
    std::fs::copy(
        p.dir().join("target/manifest.json"),
        p.dir().join("prod/manifest.json"),
    )
    .unwrap();
    let modified = |p: &TestProject| {
        let out = p
            .kiln(&[
                "ls",
                "--select",
                "state:modified",
                "--state",
                "prod",
                "--output",
                "name",
            ])
            .run();
        out.assert_success();
        let mut v: Vec<String> = out.stdout.lines().map(String::from).collect();
        v.sort();
        v
    };
    assert!(modified(&p).is_empty());
    p.write("models/c.sql", "select id from {{ ref('b') }}");
    assert_eq!(modified(&p), vec!["c"]);
    p.write(
        "macros/twice.sql",
        "{% macro twice(x) %}{{ x }} + {{ x }}{% endmacro %}",
    );
    assert_eq!(modified(&p), vec!["b", "c"]);
    p.write(
        "models/schema.yml",
        "models:\n  - name: d\n    description: four\n    config:\n      materialized: table\n",
    );
    assert_eq!(modified(&p), vec!["b", "c", "d"]);
    p.write(
        "models/schema.yml",
        "models:\n  - name: d\n    description: the number four\n    config:\n      materialized: table\n",
    );
    let desc = p
        .kiln(&[
            "ls",
            "--select",
            "state:modified.persisted_descriptions",
            "--state",
            "prod",
            "--output",
            "name",
        ])
        .run();
    // descriptions count only where persist_docs writes them
    assert_eq!(desc.stdout.trim(), "");
    p.write(
        "dbt_project.yml",
        "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\nmodels:\n  +persist_docs: {relation: true}\n",
    );
    p.kiln(&["run"]).run().assert_success();
    std::fs::copy(
        p.dir().join("target/manifest.json"),
        p.dir().join("prod/manifest.json"),
    )
    .unwrap();
    p.write(
        "models/schema.yml",
        "models:\n  - name: d\n    description: four, persisted\n    config:\n      materialized: table\n",
    );
    let desc = p
        .kiln(&[
            "ls",
            "--select",
            "state:modified.persisted_descriptions",
            "--state",
            "prod",
            "--output",
            "name",
        ])
        .run();
    assert_eq!(desc.stdout.trim(), "d");
    assert_eq!(modified(&p), vec!["d"]);
    p.write(
        "macros/twice.sql",
        "{% macro twice(x) %}{{ x }} * 2{% endmacro %}",
    );
    // kiln diff shows what a change does to compiled SQL (the macro back to `* 2`)
    let diff = p.kiln(&["diff", "--state", "prod"]).run();
    diff.assert_success();
    assert!(
        diff.stdout.contains("--- state/models/b.sql"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("-select id, id + id as twice"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("+select id, id * 2 as twice"),
        "{}",
        diff.stdout
    );
}

#[test]
fn defer_resolves_unbuilt_parents_to_the_state_relations() {
    let p = project();
    p.kiln(&["run"]).run().assert_success();
    std::fs::create_dir_all(p.dir().join("prod")).unwrap();
    std::fs::copy(
        p.dir().join("target/manifest.json"),
        p.dir().join("prod/manifest.json"),
    )
    .unwrap();
    // a dev target in another schema that has built nothing
    p.write(
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: dev_me\n",
    );
    p.write(
        "models/c.sql",
        "{{ config(materialized='table') }}\nselect id + 100 as id from {{ ref('b') }}",
    );
    let run = p
        .kiln(&["run", "--select", "c", "--defer", "--state", "prod"])
        .run();
    run.assert_success();
    assert_eq!(column(&p, "select id from dev_me.c"), vec!["101"]);
    let compiled = p.read("target/run/shop/models/c.sql");
    assert!(compiled.contains("\"dev\".\"main\".\"b\""), "{compiled}");
}

#[test]
fn retry_reuses_the_previous_runs_vars() {
    let p = project()
        .file(
            "models/a.sql",
            "{{ config(materialized='table') }}\nselect {{ var('n') }} as id",
        )
        .file("models/b.sql", "select * from missing_table");
    p.kiln(&["run", "--vars", "{n: 7}"]).run().assert_code(1);
    p.write("models/b.sql", "select id from {{ ref('a') }}");
    p.kiln(&["retry"]).run().assert_success();
    assert_eq!(column(&p, "select id from main.b"), vec!["7"]);
}

/// A retry records the flags and vars it ran with (they are derived from the invocation that
/// ran), so a retry of a retry still has the first run's --vars.
#[test]
fn a_retry_of_a_retry_keeps_the_first_runs_vars() {
    let p = project()
        .file(
            "models/a.sql",
            "{{ config(materialized='table') }}\nselect {{ var('n') }} as id",
        )
        .file("models/b.sql", "select * from missing_table");
    p.kiln(&["run", "--vars", "{n: 7}", "--full-refresh"])
        .run()
        .assert_code(1);
    p.kiln(&["retry"]).run().assert_code(1);
    let results: serde_json::Value =
        serde_json::from_str(&p.read("target/run_results.json")).expect("run_results.json");
    assert_eq!(results["args"]["vars"], serde_json::json!({"n": 7}));
    assert_eq!(results["args"]["which"], "run");
    assert_eq!(results["args"]["full_refresh"], true);
    p.write("models/b.sql", "select id from {{ ref('a') }}");
    p.kiln(&["retry"]).run().assert_success();
    assert_eq!(column(&p, "select id from main.b"), vec!["7"]);
}

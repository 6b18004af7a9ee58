//! Warnings a dbt user scripts against, without a database: config paths in dbt_project.yml
//! that apply to nothing (dbt's UnusedResourceConfigPath), and how `--warn-error` and
//! `--warn-error-options` treat them.

use crate::assert_run_snapshot;
use crate::support::TestProject;

/// A project whose dbt_project.yml configures a folder that does not exist (`marts`), a path
/// under a missing folder (`nothere.deeper`), a model by name (`a`, used), seeds and
/// snapshots it has none of, and a data-test subfolder without tests.
fn unused_paths() -> TestProject {
    TestProject::minimal()
        .file(
            "dbt_project.yml",
            r#"name: shop
version: '1.0.0'
config-version: 2
profile: shop
models:
  shop:
    +materialized: view
    marts:
      +materialized: table
    a:
      +tags: [x]
    nothere:
      deeper:
        +tags: [y]
snapshots:
  shop:
    +tags: [s]
data_tests:
  shop:
    +severity: warn
    sub:
      +severity: error
"#,
        )
        .file("models/a.sql", "select 1 as id")
        .file(
            "models/schema.yml",
            "models:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [unique]\n",
        )
}

#[test]
fn unused_config_paths_warn_as_dbt_does() {
    // dbt 1.11 on the same project:
    //   [WARNING]: Configuration paths exist in your dbt_project.yml file which do not apply to any resources.
    //   There are 4 unused configuration paths:
    //   - models.shop.marts
    //   - models.shop.nothere.deeper
    //   - snapshots.shop
    //   - data_tests.shop.sub
    let p = unused_paths();
    let run = p.kiln(&["parse"]).run();
    run.assert_success();
    assert_run_snapshot!(run);
}

#[test]
fn unused_config_paths_under_warn_error_options() {
    let p = unused_paths();
    let strict = p.kiln(&["parse", "--warn-error"]).run();
    strict.assert_code(2);
    assert!(
        strict
            .stderr
            .starts_with("error[unused-config]: Configuration paths exist in your dbt_project.yml file which do not apply to any resources."),
        "{}",
        strict.stderr
    );
    assert!(!p.exists("target/manifest.json"));
    let silenced = p
        .kiln(&[
            "parse",
            "--warn-error-options",
            r#"{"error": "all", "silence": ["UnusedResourceConfigPath"]}"#,
        ])
        .run();
    silenced.assert_success();
    assert_eq!(silenced.stderr, "");
    // Used paths, disabled models included, give no warning.
    let p = TestProject::minimal()
        .file(
            "dbt_project.yml",
            "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\nmodels:\n  shop:\n    old:\n      +enabled: false\n    staging:\n      +materialized: view\n",
        )
        .file("models/staging/a.sql", "select 1 as id")
        .file("models/old/b.sql", "select 2 as id");
    let clean = p.kiln(&["parse", "--warn-error"]).run();
    clean.assert_success();
    assert_eq!(clean.stderr, "");
}

#[test]
fn compile_empty_wraps_refs_and_sources() {
    let p = TestProject::minimal()
        .file(
            "models/sources.yml",
            "sources:\n  - name: raw\n    schema: landing\n    tables:\n      - name: orders\n",
        )
        .file(
            "models/stg.sql",
            "select * from {{ source('raw', 'orders') }}",
        )
        .file(
            "models/final.sql",
            "select * from {{ ref('stg') }} join {{ source('raw', 'orders') }} using (id) -- {{ ref('stg').render() }}",
        );
    let run = p.kiln(&["compile", "--empty", "-s", "final"]).run();
    run.assert_success();
    assert_eq!(
        p.read("target/compiled/shop/models/final.sql").trim(),
        r#"select * from (select * from "dev"."main"."stg" where false limit 0) join (select * from "dev"."landing"."orders" where false limit 0) using (id) -- "dev"."main"."stg""#
    );
    // Without --empty, the bare relations.
    p.kiln(&["compile", "-s", "final"]).run().assert_success();
    assert!(
        p.read("target/compiled/shop/models/final.sql")
            .starts_with(r#"select * from "dev"."main"."stg" join "dev"."landing"."orders""#)
    );
}

#[test]
fn exceptions_warn_obeys_warn_error() {
    let p = TestProject::minimal().file(
        "models/a.sql",
        "{% do exceptions.warn('the upstream feed is late') %}\nselect 1 as id",
    );
    let run = p.kiln(&["parse"]).run();
    run.assert_success();
    assert!(
        run.stderr.contains("warning: the upstream feed is late"),
        "{}",
        run.stderr
    );
    // dbt's JinjaLogWarning: an error under --warn-error, silenced by name.
    let strict = p.kiln(&["parse", "--warn-error"]).run();
    strict.assert_code(2);
    assert!(
        strict.stderr.contains("the upstream feed is late"),
        "{}",
        strict.stderr
    );
    let silent = p
        .kiln(&[
            "parse",
            "--warn-error-options",
            "{error: all, silence: [JinjaLogWarning]}",
        ])
        .run();
    silent.assert_success();
    assert_eq!(silent.stderr, "");
}

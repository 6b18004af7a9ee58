//! The artifacts of an earlier run that kiln reads back: the `--state` folder's manifest.json,
//! run_results.json and sources.json, and `target/run_results.json` for `kiln retry`. A file kiln
//! cannot use stops the command before anything runs, with exit code 2 and a message that names
//! the file and says what is wrong with it, as dbt refuses such files.

use crate::assert_run_snapshot;
use crate::support::TestProject;

/// Two models; `b` calls a macro that calls another one.
fn project() -> TestProject {
    TestProject::minimal()
        .file("models/a.sql", "select 1 as id")
        .file(
            "models/b.sql",
            "select {{ cents('id') }} as amount from {{ ref('a') }}",
        )
        .file(
            "macros/money.sql",
            "{% macro cents(x) %}{{ scaled(x, 100) }}{% endmacro %}\n\
             {% macro scaled(x, n) %}{{ x }} / {{ n }}{% endmacro %}\n",
        )
}

/// `project()` parsed, its manifest.json kept in `prod/` as a team keeps production's state.
fn with_state() -> TestProject {
    let p = project();
    p.kiln(&["parse"]).run().assert_success();
    std::fs::create_dir_all(p.dir().join("prod")).expect("create state dir");
    std::fs::copy(
        p.dir().join("target/manifest.json"),
        p.dir().join("prod/manifest.json"),
    )
    .expect("keep the manifest");
    p
}

fn ls_modified(p: &TestProject) -> crate::support::Run {
    p.kiln(&[
        "ls",
        "-s",
        "state:modified",
        "--state",
        "prod",
        "--output",
        "name",
    ])
    .run()
}

#[test]
fn a_truncated_state_manifest_is_refused() {
    let p = with_state();
    let whole = p.read("prod/manifest.json");
    p.write("prod/manifest.json", &whole[..1000]);
    let run = ls_modified(&p);
    run.assert_code(2);
    assert_run_snapshot!(run);
}

#[test]
fn a_state_manifest_without_nodes_is_refused() {
    let p = with_state();
    p.write(
        "prod/manifest.json",
        r#"{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}, "sources": {}}"#,
    );
    let run = ls_modified(&p);
    run.assert_code(2);
    assert_run_snapshot!(run);
}

#[test]
fn a_state_resource_of_the_wrong_shape_is_named() {
    let p = with_state();
    let mut m: serde_json::Value =
        serde_json::from_str(&p.read("prod/manifest.json")).expect("manifest is JSON");
    m["nodes"]["model.shop.b"]["fqn"] = serde_json::json!("shop.b");
    p.write("prod/manifest.json", &m.to_string());
    let run = ls_modified(&p);
    run.assert_code(2);
    assert!(
        run.stderr.starts_with(
            "error[state]: prod/manifest.json is not a manifest.json kiln can read: `model.shop.b`: invalid type: string \"shop.b\", expected a sequence"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn state_run_results_of_another_schema_version_are_refused() {
    let p = with_state();
    p.write(
        "prod/run_results.json",
        r#"{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v3.json"}, "results": [], "elapsed_time": 1.0, "args": {}}"#,
    );
    let run = p
        .kiln(&["ls", "-s", "result:error", "--state", "prod"])
        .run();
    run.assert_code(2);
    assert_run_snapshot!(run);
    // dbt reads every file of the state folder up front, whatever the selector uses.
    let modified = ls_modified(&p);
    modified.assert_code(2);
    assert_eq!(modified.stderr, run.stderr);
}

#[test]
fn a_state_sources_json_that_is_not_json_is_refused() {
    let p = with_state();
    p.write("prod/sources.json", "{\"results\": [}");
    let run = p
        .kiln(&["ls", "-s", "source_status:fresher", "--state", "prod"])
        .run();
    run.assert_code(2);
    assert!(
        run.stderr
            .starts_with("error[state]: prod/sources.json is not valid JSON: "),
        "{}",
        run.stderr
    );
}

#[test]
fn retry_refuses_run_results_of_another_schema_version() {
    let p = project();
    p.write(
        "target/run_results.json",
        r#"{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v7.json"}, "results": [{"unique_id": "model.shop.b", "status": "error"}], "args": {"which": "run"}}"#,
    );
    let run = p.kiln(&["retry"]).run();
    run.assert_code(2);
    assert_run_snapshot!(run);
    assert!(!p.exists("dev.duckdb"), "nothing ran");
}

/// A macro's calls are recorded when it is parsed, so `state:modified.macros` follows a change
/// through the macros that call it.
#[test]
fn state_modified_macros_follows_a_change_through_other_macros() {
    let p = with_state();
    let unchanged = ls_modified(&p);
    unchanged.assert_success();
    assert_eq!(unchanged.stdout, "");
    p.write(
        "macros/money.sql",
        "{% macro cents(x) %}{{ scaled(x, 100) }}{% endmacro %}\n\
         {% macro scaled(x, n) %}({{ x }}) / {{ n }}.0{% endmacro %}\n",
    );
    let run = p
        .kiln(&[
            "ls",
            "-s",
            "state:modified.macros",
            "--state",
            "prod",
            "--output",
            "name",
        ])
        .run();
    run.assert_success();
    assert_eq!(run.stdout, "b\n");
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("prod/manifest.json")).expect("manifest is JSON");
    assert_eq!(
        manifest["macros"]["macro.shop.cents"]["depends_on"]["macros"],
        serde_json::json!(["macro.shop.scaled"])
    );
    assert_eq!(
        manifest["nodes"]["model.shop.b"]["depends_on"]["macros"],
        serde_json::json!(["macro.shop.cents"])
    );
}

//! One target's artifacts never silently mix with another's: manifest.json and run_results.json
//! record the target (and adapter) that wrote them, and `--state`, `--defer`, `kiln diff` and
//! `kiln retry` refuse artifacts of another adapter (and `retry` another target) with exit 2.

use crate::db::{column, statuses};
use crate::support::{Run, TestProject};
use serde_json::Value;

/// A DuckDB `dev` target, a DuckDB `prod` target in another schema, and an Athena target (which
/// `compile` needs no connection for).
const PROFILES: &str = "shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: dev.duckdb
      schema: main
    prod:
      type: duckdb
      path: dev.duckdb
      schema: prod
    athena:
      type: athena
      s3_staging_dir: s3://shop-athena/staging/
      region_name: eu-west-1
      database: awsdatacatalog
      schema: analytics
";

fn project() -> TestProject {
    TestProject::minimal()
        .file("profiles.yml", PROFILES)
        .file(
            "models/a.sql",
            "{{ config(materialized='table') }}\nselect 1 as id",
        )
        .file(
            "models/b.sql",
            "{{ config(materialized='table') }}\nselect id + 1 as id from {{ ref('a') }}",
        )
}

fn json(p: &TestProject, rel: &str) -> Value {
    serde_json::from_str(&p.read(rel)).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
}

/// The run's stderr, with the project folder's path as `[PROJECT]`.
fn stderr(run: &Run) -> String {
    run.clean(&run.stderr)
}

/// Copies `target/manifest.json` to `<dir>/manifest.json`, as a team keeps production's state.
fn keep_state(p: &TestProject, dir: &str) {
    std::fs::create_dir_all(p.dir().join(dir)).expect("create state dir");
    std::fs::copy(
        p.dir().join("target/manifest.json"),
        p.dir().join(dir).join("manifest.json"),
    )
    .expect("copy manifest");
}

#[test]
fn artifacts_record_the_target_and_adapter_that_wrote_them() {
    let p = project();
    p.kiln(&["run"]).run().assert_success();
    let manifest = json(&p, "target/manifest.json");
    assert_eq!(manifest["metadata"]["adapter_type"], "duckdb");
    assert_eq!(manifest["metadata"]["env"]["kiln_target"], "dev");
    let results = json(&p, "target/run_results.json");
    assert_eq!(
        results["metadata"]["env"],
        serde_json::json!({"kiln_target": "dev", "kiln_adapter_type": "duckdb"})
    );
    p.kiln(&["compile", "--target", "athena"])
        .run()
        .assert_success();
    let manifest = json(&p, "target/manifest.json");
    assert_eq!(manifest["metadata"]["adapter_type"], "athena");
    assert_eq!(manifest["metadata"]["env"]["kiln_target"], "athena");
}

/// `compile --target athena` writes into the same target/ as the DuckDB runs; a DuckDB run
/// comparing with it (`state:`), deferring to it or diffing against it is refused, naming the
/// target that wrote it, and nothing runs.
#[test]
fn state_written_for_another_adapter_is_refused() {
    let p = project();
    p.kiln(&["run"]).run().assert_success();
    p.kiln(&["compile", "--target", "athena"])
        .run()
        .assert_success();
    let expected = "\
error[state]: --state target/manifest.json was written by target 'athena' (athena), and this run uses target 'dev' (duckdb): comparing with it or deferring to it would mix two adapters' SQL and relations
  = help: point --state at artifacts written by a duckdb target (`kiln compile --target dev --target-path <dir>` writes them to <dir>), or run this command with --target athena
";
    let ls = p
        .kiln(&["ls", "-s", "state:modified", "--state", "target"])
        .run();
    ls.assert_code(2);
    // (--state is the target folder itself, so dbt's WarnStateTargetEqual comes first.)
    let same_folder = "\
warning[state-target-equal]: The state and target directories are the same: 'target'. This could lead to missing changes due to overwritten state including non-idempotent retries.
  = help: copy the earlier run's target folder elsewhere (e.g. prod-state/) and point --state there
";
    assert_eq!(stderr(&ls), format!("{same_folder}{expected}"));
    let diff = p.kiln(&["diff", "--state", "target"]).run();
    diff.assert_code(2);
    assert_eq!(stderr(&diff), format!("{same_folder}{expected}"));

    p.write(
        "models/b.sql",
        "{{ config(materialized='table') }}\nselect id + 100 as id from {{ ref('a') }}",
    );
    let deferred = p
        .kiln(&["run", "-s", "b", "--defer", "--state", "target"])
        .run();
    deferred.assert_code(2);
    assert_eq!(stderr(&deferred), format!("{same_folder}{expected}"));
    assert_eq!(
        column(&p, "select id from main.b"),
        vec!["2"],
        "b was not rebuilt"
    );
}

/// Production's state on the same adapter is what `--state` and `--defer` are for: no refusal.
#[test]
fn state_of_another_target_on_the_same_adapter_is_used() {
    let p = project();
    p.kiln(&["run", "--target", "prod"]).run().assert_success();
    keep_state(&p, "prod-state");
    let ls = p
        .kiln(&["ls", "-s", "state:modified", "--state", "prod-state"])
        .run();
    ls.assert_success();
    assert_eq!(ls.stdout.trim(), "", "nothing modified since prod's run");
    let run = p
        .kiln(&["run", "-s", "b", "--defer", "--state", "prod-state"])
        .run();
    run.assert_success();
    assert_eq!(column(&p, "select id from main.b"), vec!["2"]);
}

/// `retry` repeats the last run's failures on the target that ran them: asking for another
/// target, or finding that target on another adapter now, is refused before anything runs.
#[test]
fn retry_on_another_target_is_refused() {
    let p = project().file("models/b.sql", "select * from missing_table");
    p.kiln(&["run"]).run().assert_code(1);
    let before = statuses(&p);

    let elsewhere = p.kiln(&["retry", "--target", "prod"]).run();
    elsewhere.assert_code(2);
    assert_eq!(
        stderr(&elsewhere),
        "\
error[retry]: kiln retry repeats the last run, which ran on target 'dev' (duckdb) ([PROJECT]/target/run_results.json), but this retry would run on target 'prod': its results would mix with the other target's
  = help: run `kiln retry` without --target to retry on 'dev', or run the command again with --target prod
"
    );
    assert_eq!(statuses(&p), before, "run_results.json is untouched");

    // The same target by name is a plain retry.
    p.write("models/b.sql", "select id from {{ ref('a') }}");
    p.kiln(&["retry", "--target", "dev"]).run().assert_success();
    assert_eq!(statuses(&p), vec!["model.shop.b success"]);

    // A target whose adapter changed since the run.
    p.write("models/b.sql", "select * from missing_table");
    p.kiln(&["run"]).run().assert_code(1);
    p.write("profiles.yml", &PROFILES.replace("dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: main", "dev:\n      type: athena\n      s3_staging_dir: s3://shop-athena/dev/\n      region_name: eu-west-1\n      database: awsdatacatalog\n      schema: dev"));
    let changed = p.kiln(&["retry"]).run();
    changed.assert_code(2);
    assert_eq!(
        stderr(&changed),
        "\
error[retry]: kiln retry repeats the last run, which ran on target 'dev' (duckdb) ([PROJECT]/target/run_results.json), but this retry would run on target 'dev', which is now athena: its results would mix with the other target's
  = help: target 'dev' changed adapter since that run: run the command again instead of retrying it
"
    );
}

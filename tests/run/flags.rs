//! The flags dbt users script with, on real DuckDB files: `--empty`, `--sample`,
//! `--warn-error` / `--warn-error-options`, `result:` and `source_status:` selection,
//! `--defer-state` and `--favor-state`, `--resource-type` on `test`, and `kiln clone`.
//! What dbt-core 1.11 does for each was recorded on small projects like these (the SQL it
//! renders, the statuses and exit codes it gives); the tests hold kiln to the same.

use crate::db::{column, execute, relations, run_results, statuses};
use crate::support::TestProject;

/// Seeds with and without an `event_time`, an ephemeral model, a table, a view over it, a
/// warn-severity test and a test of the table.
fn project() -> TestProject {
    TestProject::minimal()
        .file(
            "dbt_project.yml",
            "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\nseeds:\n  shop:\n    events:\n      +event_time: occurred_at\n",
        )
        .file(
            "seeds/events.csv",
            "id,occurred_at\n1,2024-07-01 10:00:00\n2,2024-07-05 10:00:00\n3,2024-07-09 10:00:00\n",
        )
        .file("seeds/people.csv", "id,name\n1,a\n")
        .file(
            "models/eph.sql",
            "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('people') }}",
        )
        .file(
            "models/aggregate/m.sql",
            "{{ config(materialized='table') }}\nselect e.id, e.occurred_at, p.name from {{ ref('events') }} e left join {{ ref('eph') }} p on p.id = e.id",
        )
        .file("models/m2.sql", "select * from {{ ref('m') }} where id > 0")
        .file(
            "models/schema.yml",
            "models:\n  - name: m\n    columns:\n      - name: id\n        data_tests: [not_null]\n",
        )
        .file(
            "tests/warn_me.sql",
            "{{ config(severity='warn') }}\nselect * from {{ ref('events') }}",
        )
}

fn count(p: &TestProject, table: &str) -> String {
    column(p, &format!("select count(*) from {table}"))[0].clone()
}

#[test]
fn empty_builds_every_model_with_zero_rows_from_its_refs_and_loads_seeds_whole() {
    let p = project();
    let run = p.kiln(&["build", "--empty"]).run();
    run.assert_success();
    // Seeds load whole; every model reads its refs through zero-row subqueries.
    assert_eq!(count(&p, "main.events"), "3");
    assert_eq!(count(&p, "main.m"), "0");
    assert_eq!(count(&p, "main.m2"), "0");
    // The schema is built all the same.
    assert_eq!(
        column(
            &p,
            "select column_name || ' ' || data_type from information_schema.columns where table_name = 'm' order by ordinal_position"
        ),
        ["id INTEGER", "occurred_at TIMESTAMP", "name VARCHAR"]
    );
    // dbt-duckdb's rendering, recorded with `dbt compile --empty`: no alias on the subquery,
    // ephemeral CTEs limited where they are read and inside.
    let m = p.read("target/run/shop/models/aggregate/m.sql");
    for part in [
        r#"select * from (select * from "dev"."main"."people" where false limit 0)"#,
        r#"from (select * from "dev"."main"."events" where false limit 0) e left join (select * from __dbt__cte__eph where false limit 0) p on p.id = e.id"#,
    ] {
        assert!(m.contains(part), "{part}\nnot in\n{m}");
    }
    // Tests read their refs the same way, so they pass on zero rows (dbt does the same).
    let warn = p.read("target/compiled/shop/tests/warn_me.sql");
    assert!(
        warn.contains(r#"from (select * from "dev"."main"."events" where false limit 0)"#),
        "{warn}"
    );
    assert!(
        statuses(&p).contains(&"test.shop.warn_me pass".to_string()),
        "{:?}",
        statuses(&p)
    );
    assert_eq!(run_results(&p)["args"]["empty"], true);
    // compile --empty writes the same SQL, and `this` stays the bare relation.
    p.write(
        "models/m3.sql",
        "select * from {{ ref('m') }} -- {{ this }}",
    );
    p.kiln(&["compile", "--empty", "-s", "m3"])
        .run()
        .assert_success();
    assert_eq!(
        p.read("target/compiled/shop/models/m3.sql").trim(),
        r#"select * from (select * from "dev"."main"."m" where false limit 0) -- "dev"."main"."m3""#
    );
}

#[test]
fn sample_reads_only_the_window_of_refs_with_an_event_time() {
    let p = project();
    p.kiln(&[
        "build",
        "--sample",
        "{'start': '2024-07-01', 'end': '2024-07-08'}",
    ])
    .run()
    .assert_success();
    // events has an event_time: m reads only the window; m has none, so m2 reads m whole.
    assert_eq!(count(&p, "main.events"), "3");
    assert_eq!(column(&p, "select id from main.m order by id"), ["1", "2"]);
    assert_eq!(count(&p, "main.m2"), "2");
    let m = p.read("target/run/shop/models/aggregate/m.sql");
    assert!(
        m.contains(r#"from (select * from "dev"."main"."events" where occurred_at >= '2024-07-01 00:00:00+00:00' and occurred_at < '2024-07-08 00:00:00+00:00') e"#),
        "{m}"
    );
    assert!(m.contains(r#"select * from "dev"."main"."people""#), "{m}");
    // Tests are not sampled (dbt samples only what models and snapshots read).
    let warn = p.read("target/run/shop/tests/warn_me.sql");
    assert!(warn.contains(r#"from "dev"."main"."events""#), "{warn}");

    // A window back from now: the 2024 events are all older than three days.
    p.kiln(&["run", "-s", "m", "--sample", "3 days"])
        .run()
        .assert_success();
    assert_eq!(count(&p, "main.m"), "0");

    let bad = p.kiln(&["run", "--sample", "3 weeks"]).run();
    bad.assert_code(2);
    assert!(
        bad.stderr
            .contains("--sample '3 weeks': 'weeks' is not a grain"),
        "{}",
        bad.stderr
    );
}

#[test]
fn warn_error_fails_a_warn_severity_test() {
    let p = project();
    p.kiln(&["seed"]).run().assert_success();
    // Recorded with dbt 1.11: `dbt build --warn-error -s warn_me` → FAIL 3, exit 1.
    let run = p.kiln(&["build", "-s", "warn_me", "--warn-error"]).run();
    run.assert_code(1);
    assert_eq!(statuses(&p), ["test.shop.warn_me fail"]);
    assert!(
        run.stdout
            .contains("Failure in test warn_me (tests/warn_me.sql)")
            && run
                .stdout
                .contains("Got 3 results, configured to fail if != 0"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Done. PASS=0 WARN=0 ERROR=1 SKIP=0"),
        "{}",
        run.stdout
    );
    // The event by name; and excepted from "all".
    let named = p
        .kiln(&[
            "test",
            "--warn-error-options",
            r#"{"error": ["LogTestResult"]}"#,
        ])
        .run();
    named.assert_code(1);
    assert!(statuses(&p).contains(&"test.shop.warn_me fail".to_string()));
    let excepted = p
        .kiln(&[
            "test",
            "-s",
            "warn_me",
            "--warn-error-options",
            r#"{"error": "all", "warn": ["LogTestResult"]}"#,
        ])
        .run();
    excepted.assert_success();
    assert_eq!(statuses(&p), ["test.shop.warn_me warn"]);
    // DBT_WARN_ERROR, and dbt_project.yml's `flags:`.
    let env = p
        .kiln(&["test", "-s", "warn_me"])
        .env("DBT_WARN_ERROR", "true")
        .run();
    env.assert_code(1);
    p.write(
        "dbt_project.yml",
        "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\nflags:\n  warn_error_options:\n    error: [LogTestResult]\n",
    );
    p.kiln(&["test", "-s", "warn_me"]).run().assert_code(1);
}

#[test]
fn a_selection_that_matches_nothing_is_named_with_the_closest_name() {
    let p = project();
    // dbt: "The selection criterion 'agregate+' does not match any enabled nodes", then
    // "Nothing to do"; kiln adds what was probably meant.
    let run = p.kiln(&["run", "-s", "agregate+"]).run();
    run.assert_success();
    assert!(
        run.stderr.contains(
            "warning[selection]: The selection criterion 'agregate+' does not match any enabled nodes"
        ) && run.stderr.contains("help: did you mean 'aggregate'?"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("Nothing to do"), "{}", run.stdout);
    assert!(!p.exists("dev.duckdb") || relations(&p).is_empty());
    // A node name gets the same help; a name close to nothing gets none.
    let name = p.kiln(&["ls", "-s", "peple"]).run();
    assert!(
        name.stderr.contains("did you mean 'people'?"),
        "{}",
        name.stderr
    );
    let far = p.kiln(&["ls", "-s", "tag:nightly"]).run();
    assert!(!far.stderr.contains("did you mean"), "{}", far.stderr);
    // Under --warn-error it stops the command (exit 2), as in dbt, before anything runs.
    let strict = p
        .kiln(&["run", "-s", "agregate+", "m2", "--warn-error"])
        .run();
    strict.assert_code(2);
    assert!(
        strict.stderr.contains(
            "error[selection]: The selection criterion 'agregate+' does not match any enabled nodes"
        ) && strict
            .stderr
            .contains("--warn-error makes the warning NoNodesForSelectionCriteria an error"),
        "{}",
        strict.stderr
    );
    assert!(!p.exists("target/run_results.json"));
    // Silenced, it is not shown at all.
    let quiet = p
        .kiln(&[
            "run",
            "-s",
            "agregate+",
            "--warn-error-options",
            "{silence: [NoNodesForSelectionCriteria]}",
        ])
        .run();
    quiet.assert_success();
    assert!(
        !quiet.stderr.contains("selection criterion"),
        "{}",
        quiet.stderr
    );
    // NothingToDo: a selection this command runs nothing of.
    let nothing = p.kiln(&["seed", "-s", "m", "--warn-error"]).run();
    nothing.assert_code(2);
    assert!(
        nothing
            .stderr
            .contains("error[nothing-to-do]: Nothing to do"),
        "{}",
        nothing.stderr
    );
}

#[test]
fn warn_error_options_are_checked_like_dbt() {
    let p = project();
    for (options, message) in [
        (
            r#"{"error": ["NoNodesForSelection"]}"#,
            "NoNodesForSelection is not a valid dbt error name",
        ),
        (
            r#"{"warn": ["NoNodesSelected"]}"#,
            "`warn` can only be given when `error` is \"all\"",
        ),
    ] {
        let run = p.kiln(&["ls", "--warn-error-options", options]).run();
        run.assert_code(2);
        assert!(run.stderr.contains(message), "{options}: {}", run.stderr);
    }
    let both = p
        .kiln(&["ls", "--warn-error", "--warn-error-options", "{error: all}"])
        .run();
    both.assert_code(2);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
    // The old spellings work, with dbt's deprecation (itself an error under "all", as in dbt).
    let old = p
        .kiln(&[
            "ls",
            "--warn-error-options",
            "{include: [NoNodesSelected]}",
            "-s",
            "tag:none",
        ])
        .run();
    old.assert_code(2);
    assert!(
        old.stderr
            .contains("warning[weo-deprecation]: --warn-error-options: `include` is deprecated")
            && old
                .stderr
                .contains("error[no-nodes-selected]: No nodes selected!"),
        "{}",
        old.stderr
    );
}

#[test]
fn result_selectors_read_the_state_run_results() {
    let p = project().file("models/broken.sql", "select * from missing_table");
    p.write(
        "models/after_broken.sql",
        "select * from {{ ref('broken') }}",
    );
    p.kiln(&["build"]).run().assert_code(1);
    crate::support::copy_dir(&p.dir().join("target"), &p.dir().join("last"));
    let ls = |sel: &str| -> Vec<String> {
        let run = p
            .kiln(&["ls", "-s", sel, "--state", "last", "--output", "name"])
            .run();
        run.assert_success();
        run.stdout.lines().map(String::from).collect()
    };
    assert_eq!(ls("result:error"), ["broken"]);
    assert_eq!(ls("result:error+"), ["after_broken", "broken"]);
    assert_eq!(ls("result:skipped"), ["after_broken"]);
    assert_eq!(ls("result:warn"), ["warn_me"]);
    assert_eq!(ls("result:pass"), ["not_null_m_id"]);
    // Eager indirect selection brings the seeds' tests along, as in dbt.
    assert_eq!(
        ls("result:success,resource_type:seed"),
        ["events", "people", "warn_me"]
    );
    // The state folder should not be the target folder, which the next run overwrites: dbt's
    // WarnStateTargetEqual.
    let same = p
        .kiln(&["ls", "-s", "result:error", "--state", "target"])
        .run();
    same.assert_success();
    assert!(
        same.stderr.contains(
            "warning[state-target-equal]: The state and target directories are the same: 'target'."
        ),
        "{}",
        same.stderr
    );
    // Fixed, then re-run what failed and what it skipped.
    p.write("models/broken.sql", "select 1 as id");
    p.kiln(&["build", "-s", "result:error+", "--state", "last"])
        .run()
        .assert_success();
    assert_eq!(
        statuses(&p),
        [
            "model.shop.after_broken success",
            "model.shop.broken success"
        ]
    );
    // No run_results.json in the state folder: say so.
    std::fs::remove_file(p.dir().join("last/run_results.json")).unwrap();
    let run = p
        .kiln(&["ls", "-s", "result:fail", "--state", "last"])
        .run();
    run.assert_code(2);
    assert!(
        run.stderr.contains(
            "'result:fail' needs the run_results.json of a previous run, and there is none in last"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn source_status_fresher_compares_the_current_sources_json_with_the_states() {
    let p = TestProject::minimal()
        .file(
            "seeds/raw_orders.csv",
            "id,loaded_at\n1,2024-06-01 08:00:00\n",
        )
        .file(
            "seeds/raw_refunds.csv",
            "id,loaded_at\n1,2024-06-01 08:00:00\n",
        )
        .file(
            "models/sources.yml",
            r#"
sources:
  - name: raw
    schema: main
    config:
      loaded_at_field: loaded_at
      freshness:
        warn_after: {count: 1, period: day}
    tables:
      - name: raw_orders
      - name: raw_refunds
"#,
        )
        .file(
            "models/orders.sql",
            "select * from {{ source('raw', 'raw_orders') }}",
        )
        .file(
            "models/refunds.sql",
            "select * from {{ source('raw', 'raw_refunds') }}",
        );
    p.kiln(&["seed"]).run().assert_success();
    p.kiln(&["source", "freshness"]).run();
    std::fs::create_dir_all(p.dir().join("prev")).unwrap();
    std::fs::copy(
        p.dir().join("target/sources.json"),
        p.dir().join("prev/sources.json"),
    )
    .unwrap();
    // New orders arrive; refunds do not.
    execute(
        &p,
        "insert into main.raw_orders values (2, timestamp '2024-06-02 08:00:00')",
    );
    p.kiln(&["source", "freshness"]).run();
    let run = p
        .kiln(&[
            "ls",
            "-s",
            "source_status:fresher+",
            "--state",
            "prev",
            "--output",
            "name",
        ])
        .run();
    run.assert_success();
    assert_eq!(run.stdout, "orders\nraw.raw_orders\n");
    // No sources.json in the state: say what to run.
    std::fs::create_dir_all(p.dir().join("empty")).unwrap();
    let none = p
        .kiln(&["ls", "-s", "source_status:fresher", "--state", "empty"])
        .run();
    none.assert_code(2);
    assert!(
        none.stderr
            .contains("needs the sources.json of a previous `source freshness`"),
        "{}",
        none.stderr
    );
}

/// a → b (tables) → c; built in `main`, its manifest saved in `prod/`, then the profile moved
/// to the schema `dev_me`.
fn deferred() -> TestProject {
    let p = TestProject::minimal()
        .file(
            "models/a.sql",
            "{{ config(materialized='table') }}\nselect 1 as id",
        )
        .file(
            "models/b.sql",
            "{{ config(materialized='table') }}\nselect id from {{ ref('a') }}",
        )
        .file(
            "models/c.sql",
            "{{ config(materialized='table') }}\nselect id + 100 as id from {{ ref('b') }}",
        );
    p.kiln(&["run"]).run().assert_success();
    crate::support::copy_dir(&p.dir().join("target"), &p.dir().join("prod"));
    p.write(
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: dev_me\n",
    );
    p
}

#[test]
fn defer_state_and_favor_state() {
    let p = deferred();
    // compile and show defer too, as in dbt.
    p.kiln(&["compile", "-s", "c", "--defer", "--state", "prod"])
        .run()
        .assert_success();
    assert!(
        p.read("target/compiled/shop/models/c.sql")
            .contains(r#"from "dev"."main"."b""#)
    );
    let show = p
        .kiln(&["show", "-s", "c", "--defer", "--defer-state", "prod"])
        .run();
    show.assert_success();
    assert!(show.stdout.contains("101"), "{}", show.stdout);
    // --defer-state alone: refs to unbuilt parents read prod's relations.
    p.kiln(&["run", "-s", "c", "--defer", "--defer-state", "prod"])
        .run()
        .assert_success();
    assert_eq!(column(&p, "select id from dev_me.c"), ["101"]);
    assert!(
        p.read("target/run/shop/models/c.sql")
            .contains(r#""dev"."main"."b""#)
    );
    // Once dev has its own b, it is read instead, unless --favor-state.
    p.write(
        "models/b.sql",
        "{{ config(materialized='table') }}\nselect id + 1 as id from {{ ref('a') }}",
    );
    p.kiln(&["run", "-s", "b", "--defer", "--state", "prod"])
        .run()
        .assert_success();
    p.kiln(&["run", "-s", "c", "--defer", "--state", "prod"])
        .run()
        .assert_success();
    assert_eq!(column(&p, "select id from dev_me.c"), ["102"]);
    p.kiln(&[
        "run",
        "-s",
        "c",
        "--defer",
        "--state",
        "prod",
        "--favor-state",
    ])
    .run()
    .assert_success();
    assert_eq!(column(&p, "select id from dev_me.c"), ["101"]);
    // --defer-state wins over --state for deferral.
    std::fs::create_dir_all(p.dir().join("empty")).unwrap();
    let run = p
        .kiln(&[
            "run",
            "-s",
            "c",
            "--defer",
            "--state",
            "empty",
            "--defer-state",
            "prod",
            "--favor-state",
        ])
        .run();
    run.assert_success();
    assert_eq!(column(&p, "select id from dev_me.c"), ["101"]);
    // --defer needs one of them.
    let bad = p.kiln(&["run", "-s", "c", "--defer"]).run();
    bad.assert_code(2);
    assert!(
        bad.stderr
            .contains("--defer needs the manifest of a previous run, and neither --state nor --defer-state was given"),
        "{}",
        bad.stderr
    );
}

#[test]
fn test_takes_resource_type_filters() {
    let p = project();
    p.kiln(&["build"]).run().assert_success();
    let none = p.kiln(&["test", "--exclude-resource-type", "test"]).run();
    none.assert_success();
    assert!(none.stdout.contains("Nothing to do"), "{}", none.stdout);
    let tests = p.kiln(&["test", "--resource-type", "test"]).run();
    tests.assert_success();
    let st = statuses(&p);
    assert_eq!(st.len(), 2, "{st:?}");
    assert!(
        st[0].starts_with("test.shop.not_null_m_id") && st[0].ends_with(" pass"),
        "{st:?}"
    );
    assert_eq!(st[1], "test.shop.warn_me warn");
}

#[test]
fn clone_makes_views_of_the_state_relations() {
    let p = project().file(
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: main\n    mine:\n      type: duckdb\n      path: dev.duckdb\n      schema: dev_me\n",
    );
    p.kiln(&["build"]).run().assert_success();
    crate::support::copy_dir(&p.dir().join("target"), &p.dir().join("prod"));
    let run = p
        .kiln(&["clone", "--state", "prod", "--target", "mine"])
        .run();
    run.assert_success();
    // Models, seeds and snapshots become views of prod's relations (as dbt-duckdb makes
    // them); ephemeral models and tests have nothing to clone.
    let mine: Vec<String> = relations(&p)
        .into_iter()
        .filter(|r| r.starts_with("dev_me."))
        .collect();
    assert_eq!(
        mine,
        [
            "dev_me.events view",
            "dev_me.m view",
            "dev_me.m2 view",
            "dev_me.people view"
        ]
    );
    assert_eq!(
        column(&p, "select id from dev_me.m order by id"),
        ["1", "2", "3"]
    );
    assert_eq!(
        column(
            &p,
            "select sql from duckdb_views() where schema_name = 'dev_me' and view_name = 'm'"
        ),
        ["CREATE VIEW dev_me.m AS SELECT * FROM dev.main.m;"]
    );
    assert_eq!(
        statuses(&p),
        [
            "model.shop.m success",
            "model.shop.m2 success",
            "seed.shop.events success",
            "seed.shop.people success"
        ]
    );
    assert_eq!(run_results(&p)["args"]["which"], "clone");
    assert!(
        run.stdout.contains("Done. PASS=4 WARN=0 ERROR=0 SKIP=0"),
        "{}",
        run.stdout
    );
    // Again: what exists is kept (dbt: "No-op"), unless --full-refresh.
    let again = p
        .kiln(&["clone", "--state", "prod", "--target", "mine"])
        .run();
    again.assert_success();
    assert!(
        again
            .stdout
            .contains(r#"Relation "dev"."dev_me"."m" already exists"#),
        "{}",
        again.stdout
    );
    let messages: Vec<String> = run_results(&p)["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(messages, ["No-op"; 4]);
    // A table in the way is replaced under --full-refresh.
    execute(
        &p,
        "drop view dev_me.m2; create table dev_me.m2 as select 42 as id",
    );
    p.kiln(&[
        "clone",
        "--state",
        "prod",
        "--target",
        "mine",
        "--full-refresh",
        "-s",
        "m2",
    ])
    .run()
    .assert_success();
    assert_eq!(
        column(&p, "select id from dev_me.m2 order by id"),
        ["1", "2", "3"]
    );
    // --resource-type narrows it; without --state there is nothing to clone from.
    p.kiln(&[
        "clone",
        "--state",
        "prod",
        "--target",
        "mine",
        "--resource-type",
        "seed",
    ])
    .run()
    .assert_success();
    assert_eq!(
        statuses(&p),
        ["seed.shop.events success", "seed.shop.people success"]
    );
    let bad = p.kiln(&["clone", "--target", "mine"]).run();
    bad.assert_code(2);
    assert!(
        bad.stderr.contains("kiln clone needs --state"),
        "{}",
        bad.stderr
    );
}

#[test]
fn run_operation_with_an_unknown_macro_names_the_closest_one() {
    let p = project().file(
        "macros/grant_select.sql",
        "{% macro grant_select(role) %}{% do log('granting to ' ~ role, info=True) %}{% endmacro %}",
    );
    // dbt: "dbt could not find a macro with the name 'grant_selct' in any package", exit 2.
    for (asked, meant) in [
        ("grant_selct", "grant_select"),
        ("shop.grant_selct", "shop.grant_select"),
        ("shp.grant_select", "shop.grant_select"),
    ] {
        let run = p.kiln(&["run-operation", asked]).run();
        run.assert_code(2);
        assert!(
            run.stderr
                .contains(&format!("run-operation: no macro named '{asked}'"))
                && run.stderr.contains(&format!("did you mean '{meant}'?")),
            "{asked}: {}",
            run.stderr
        );
    }
}

/// Jinja's `flags` and run_results.json's `args` come from the same typed flags of the
/// invocation: what a model reads of `flags` is what the command line said, in every phase
/// (dbt's flags are global), and `args` records the same values.
#[test]
fn jinja_flags_and_run_results_args_say_what_the_command_line_said() {
    let p = project().file(
        "models/flagged.sql",
        "{{ config(materialized='table', tags=['full' if flags.FULL_REFRESH else 'incremental']) }}\n\
         select {{ flags.FULL_REFRESH }} as full_refresh, {{ flags.STORE_FAILURES }} as store_failures, \
         {{ flags.FAIL_FAST }} as fail_fast, {{ flags.EMPTY }} as empty, '{{ flags.WHICH }}' as which",
    );
    p.kiln(&[
        "run",
        "-s",
        "flagged",
        "--full-refresh",
        "--store-failures",
        "--fail-fast",
    ])
    .run()
    .assert_success();
    assert_eq!(
        crate::db::query(
            &p,
            "select full_refresh, store_failures, fail_fast, empty, which from main.flagged"
        ),
        [["true", "true", "true", "false", "run"]]
    );
    // The parse phase saw the same flags: the config written at parse time says so.
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).expect("manifest.json");
    assert_eq!(
        manifest["nodes"]["model.shop.flagged"]["tags"],
        serde_json::json!(["full"])
    );
    let args = &run_results(&p)["args"];
    for key in ["full_refresh", "store_failures", "fail_fast"] {
        assert_eq!(args[key], true, "{key}");
    }
    assert_eq!(args["empty"], false);
    assert_eq!(args["which"], "run");
    assert_eq!(args["select"], serde_json::json!(["flagged"]));

    p.kiln(&["compile", "-s", "flagged", "--empty"])
        .run()
        .assert_success();
    let compiled = p.read("target/compiled/shop/models/flagged.sql");
    assert!(
        compiled.contains("select False as full_refresh, False as store_failures, False as fail_fast, True as empty, 'compile' as which"),
        "{compiled}"
    );
}

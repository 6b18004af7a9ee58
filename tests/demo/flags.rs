//! The flags of issue 11 on the demo, against what dbt-core 1.11 + dbt-duckdb did on a copy of
//! it (`tests/dbt_recorded/flags/`, recorded by `tests/dbt_recorded/record.sh`): a selector with
//! a typo, `--warn-error-options` on the warn-severity runbook check, `--empty`, unused config
//! paths, `result:` and `source_status:` selection, and `clone`.

use super::{TestProject, demo, done_line, kiln_ok, statuses};
use std::collections::BTreeSet;
use std::path::Path;

/// A recording of dbt, as text.
fn recorded(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/dbt_recorded/flags")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A recorded run summary: its `Done.` line (up to SKIP) and `(unique_id, status)` pairs.
fn recorded_run(file: &str) -> (String, Vec<(String, String)>) {
    let text = recorded(file);
    let mut lines = text.lines();
    let done = lines.next().unwrap_or_default().to_string();
    let mut results: Vec<(String, String)> = lines
        .filter(|l| !l.starts_with("exit "))
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(status, id)| (id.to_string(), status.to_string()))
        .collect();
    results.sort();
    (done, results)
}

/// Lines of a recording, sorted.
fn recorded_lines(file: &str) -> Vec<String> {
    let mut v: Vec<String> = recorded(file).lines().map(String::from).collect();
    v.sort();
    v
}

/// `kiln ls` lines, sorted.
fn ls(p: &TestProject, args: &[&str]) -> Vec<String> {
    let mut all = vec!["ls"];
    all.extend_from_slice(args);
    let mut v: Vec<String> = kiln_ok(p, &all).stdout.lines().map(String::from).collect();
    v.sort();
    v
}

#[test]
fn a_typo_in_a_selector_warns_like_dbt_and_says_what_was_meant() {
    let p = demo();
    let run = kiln_ok(&p, &["run", "-s", "agregate+"]);
    let warning = recorded("selection_typo.txt");
    let dbt_line = warning.lines().next().unwrap_or_default();
    assert_eq!(
        dbt_line,
        "The selection criterion 'agregate+' does not match any enabled nodes"
    );
    assert!(
        run.stderr
            .contains(&format!("warning[selection]: {dbt_line}"))
            && run.stderr.contains("did you mean 'aggregate'?"),
        "{}",
        run.snapshot()
    );
    // As an error: dbt exits 2 with the same message.
    let strict = recorded("selection_typo_warn_error.txt");
    let run = p
        .kiln(&[
            "run",
            "-s",
            "agregate+",
            "--warn-error-options",
            r#"{"error": ["NoNodesForSelectionCriteria"]}"#,
        ])
        .run();
    assert_eq!(
        format!("exit {}", run.code.unwrap_or(-1)),
        strict.lines().next().unwrap_or_default()
    );
    assert!(strict.contains(dbt_line), "{strict}");
    assert!(
        run.stderr
            .contains(&format!("error[selection]: {dbt_line}")),
        "{}",
        run.stderr
    );
    // The demo's own dbt_project.yml configures nothing that is not there.
    assert_eq!(recorded("unused_config_demo.txt").trim(), "0");
    kiln_ok(&p, &["parse", "--warn-error"]);
}

#[test]
fn the_runbook_check_fails_under_warn_error_options_as_in_dbt() {
    let p = demo();
    let (done, expected) = recorded_run("warn_error_test.txt");
    let run = p
        .kiln(&[
            "build",
            "-s",
            "+assert_no_skipped_required_status_steps",
            "--indirect-selection",
            "cautious",
            "--warn-error-options",
            r#"{"error": ["LogTestResult"]}"#,
        ])
        .run();
    let code = recorded("warn_error_test.txt")
        .lines()
        .find_map(|l| l.strip_prefix("exit ").map(String::from))
        .unwrap_or_default();
    assert_eq!(run.code.map(|c| c.to_string()), Some(code));
    assert_eq!(statuses(&p), expected);
    assert_eq!(done_line(&run), done);
}

/// The relations a compiled file reads through `(select * from X where false limit 0)`.
fn empty_reads(sql: &str) -> Vec<String> {
    let mut out = vec![];
    let mut rest = sql;
    while let Some(i) = rest.find("(select * from ") {
        let after = &rest[i + "(select * from ".len()..];
        if let Some(j) = after.find(" where false limit 0)") {
            out.push(after[..j].to_string());
        }
        rest = after;
    }
    out
}

#[test]
fn compile_empty_reads_what_dbt_reads() {
    let p = demo();
    kiln_ok(
        &p,
        &[
            "compile",
            "--empty",
            "-s",
            "growth",
            "stg_crm__accounts",
            "stg_product__click_events",
        ],
    );
    for (file, path) in [
        ("empty_growth.sql", "aggregate/growth.sql"),
        (
            "empty_stg_crm__accounts.sql",
            "staging/crm/stg_crm__accounts.sql",
        ),
        (
            "empty_stg_product__click_events.sql",
            "staging/product/stg_product__click_events.sql",
        ),
    ] {
        let ours = p.read(&format!("target/kiln/compiled/kiln_demo/models/{path}"));
        let dbt = recorded(file);
        let expected = empty_reads(&dbt);
        assert!(!expected.is_empty(), "{file}");
        assert_eq!(empty_reads(&ours), expected, "{path}:\n{ours}");
    }
}

#[test]
fn unused_config_paths_are_the_ones_dbt_lists() {
    let p = demo();
    let project = p.read("dbt_project.yml");
    let edited = project
        .replace(
            "\n    reporting:\n",
            "\n    marts:\n      +tags: [\"x\"]\n    reporting:\n",
        )
        .replace(
            "\n    reference:\n",
            "\n    legacy:\n      +tags: [\"old\"]\n    reference:\n",
        )
        + "sources:\n  kiln_demo:\n    crm_v1:\n      +enabled: true\n";
    p.write("dbt_project.yml", &edited);
    let run = kiln_ok(&p, &["parse"]);
    let expected = recorded("unused_config_paths.txt");
    assert!(expected.contains("There are 3 unused configuration paths:"));
    assert!(
        run.stderr
            .contains(&format!("warning[unused-config]: {}", expected.trim_end())),
        "dbt said:\n{expected}\nkiln said:\n{}",
        run.stderr
    );
}

#[test]
fn result_selection_after_a_broken_build_matches_dbt() {
    let p = demo();
    p.write(
        "models/aggregate/experiment_daily.sql",
        "select * from table_that_does_not_exist\n",
    );
    p.kiln(&["build"]).run().assert_code(1);
    super::support::copy_dir(&p.dir().join("target/kiln"), &p.dir().join("last"));
    assert_eq!(
        ls(&p, &["-s", "result:error+", "--state", "last"]),
        recorded_lines("ls_result_error_plus.txt")
    );
    // `result:skipped` selects exactly what the state's run_results.json says was skipped.
    let skipped = ls(
        &p,
        &[
            "-s",
            "result:skipped",
            "--state",
            "last",
            "--output",
            "name",
        ],
    );
    let mut in_results: Vec<String> = statuses(&p)
        .into_iter()
        .filter(|(_, s)| s == "skipped")
        .map(|(id, _)| id.split('.').nth(2).unwrap_or_default().to_string())
        .collect();
    in_results.sort();
    assert_eq!(skipped, in_results);
    // The same as dbt's: build skipped exactly what dbt's did (exposures included).
    assert_eq!(
        ls(&p, &["-s", "result:skipped", "--state", "last"]),
        recorded_lines("ls_result_skipped.txt")
    );
}

#[test]
fn source_status_fresher_after_new_events_matches_dbt() {
    let p = demo();
    p.kiln(&["source", "freshness"]).run();
    std::fs::create_dir_all(p.dir().join("prev")).expect("mkdir");
    std::fs::copy(
        p.dir().join("target/kiln/sources.json"),
        p.dir().join("prev/sources.json"),
    )
    .expect("copy sources.json");
    p.write(
        "data/product/click_events/received_2024-W28.csv",
        "event_id,user_id,account_id,session_id,event_type,feature,occurred_at,received_at\nevt_999999,usr_0024,ACC-0010,ses_late,session_start,,2024-07-09 09:18:32,2024-07-09 09:19:06\n",
    );
    p.kiln(&["source", "freshness"]).run();
    let expected = recorded_lines("ls_source_status_fresher_plus.txt");
    assert!(expected.len() > 1, "{expected:?}");
    assert_eq!(
        ls(&p, &["-s", "source_status:fresher+", "--state", "prev"]),
        expected
    );
}

#[test]
fn clone_of_the_full_build_matches_dbt() {
    let p = demo();
    kiln_ok(&p, &["build"]);
    super::support::copy_dir(&p.dir().join("target/kiln"), &p.dir().join("prod"));
    let profiles = p.read("profiles.yml")
        + "    clone:\n      type: duckdb\n      path: demo.duckdb\n      schema: dev_clone\n      threads: 4\n";
    p.write("profiles.yml", &profiles);
    let run = kiln_ok(&p, &["clone", "--state", "prod", "--target", "clone"]);
    let (done, expected) = recorded_run("clone.txt");
    assert_eq!(statuses(&p), expected);
    assert_eq!(done_line(&run), done);
    // Every clone is a view in dev_clone that reads the same rows as the built relation.
    let views: BTreeSet<String> = super::query(
        &p,
        "select schema_name || '.' || view_name from duckdb_views() where schema_name like 'dev_clone%'",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    assert_eq!(views.len(), expected.len());
    assert_eq!(
        super::scalar(&p, "select count(*) from dev_clone.exec_weekly"),
        super::scalar(&p, "select count(*) from main.exec_weekly")
    );
}

//! Every kind of bad input the issue names, each through its own fixture under
//! `tests/fixtures/<case>_error/` (its README says what the case locks in). Every one must exit
//! with code 2 and say which file, which line, what is wrong and what to do.

use crate::assert_run_snapshot;
use crate::support::{Run, TestProject, fixtures_dir};

/// Runs `kiln <args>` on the fixture and checks the exit code is 2.
fn fails(fixture: &str, args: &[&str]) -> Run {
    let p = TestProject::fixture(fixture);
    let run = p.kiln(args).run();
    run.assert_code(2);
    run
}

#[test]
fn yaml_syntax_error() {
    assert_run_snapshot!(fails("yaml_syntax_error", &["parse"]));
}

#[test]
fn yaml_type_error() {
    assert_run_snapshot!(fails("yaml_type_error", &["parse"]));
}

#[test]
fn contract_yaml_error() {
    let run = fails("contract_yaml_error", &["parse"]);
    assert_run_snapshot!(run);
    // dbt-core's own words for each mistake (tests/dbt_recorded/contract_yaml_<model>.txt)
    for (model, words) in [
        (
            "untyped",
            "Contracted models require data_type to be defined for each column",
        ),
        ("bad_type", "Invalid constraint type on column id"),
        (
            "two_pks",
            "with primary key constraints defined. Primary keys for multiple columns must be defined as a model level constraint.",
        ),
        (
            "loose_incremental",
            "Invalid value for on_schema_change: ignore. Models materialized as incremental with contracts enabled must set on_schema_change to 'append_new_columns' or 'fail'",
        ),
        ("no_columns", "Contract enforcement failed for"),
        (
            "bad_fk",
            "Invalid 'ref' or 'source' syntax on foreign key constraint 'to' on model bad_fk: untyped.",
        ),
        (
            "checked_view",
            "Constraint types are not supported for view materializations",
        ),
        (
            "money",
            "Detected columns with numeric type and unspecified precision/scale, this can lead to unintended rounding: ['amount']",
        ),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/dbt_recorded/contract_yaml_{model}.txt"));
        let dbt = std::fs::read_to_string(&path).expect("recorded dbt output");
        assert!(dbt.contains(words), "dbt no longer says {words:?}:\n{dbt}");
        assert!(
            run.stderr.contains(words),
            "kiln does not say {words:?}:\n{}",
            run.stderr
        );
    }
}

#[test]
fn materialization_in_config_error() {
    assert_run_snapshot!(fails("materialization_in_config_error", &["parse"]));
}

#[test]
fn materialization_in_yaml_error() {
    assert_run_snapshot!(fails("materialization_in_yaml_error", &["parse"]));
}

#[test]
fn materialization_in_project_error() {
    assert_run_snapshot!(fails("materialization_in_project_error", &["parse"]));
}

#[test]
fn incremental_config_error() {
    assert_run_snapshot!(fails("incremental_config_error", &["parse"]));
}

#[test]
fn microbatch_config_error() {
    assert_run_snapshot!(fails("microbatch_config_error", &["parse"]));
}

#[test]
fn snapshot_config_error() {
    assert_run_snapshot!(fails("snapshot_config_error", &["parse"]));
}

#[test]
fn seed_config_error() {
    assert_run_snapshot!(fails("seed_config_error", &["parse"]));
}

#[test]
fn materialized_view_error() {
    assert_run_snapshot!(fails("materialized_view_error", &["parse"]));
}

#[test]
fn custom_materialization_error() {
    assert_run_snapshot!(fails("custom_materialization_error", &["parse"]));
}

#[test]
fn quoted_name_error() {
    assert_run_snapshot!(fails("quoted_name_error", &["parse"]));
}

#[test]
fn config_call_error() {
    assert_run_snapshot!(fails("config_call_error", &["parse"]));
}

/// A config mistake stops `build` before anything runs: the same errors as `parse`, and no
/// database file, no relation, no run artifacts (the upstream view of
/// incremental_config_error is not built either).
#[test]
fn config_mistakes_stop_before_anything_runs() {
    for fixture in [
        "incremental_config_error",
        "microbatch_config_error",
        "snapshot_config_error",
        "seed_config_error",
        "materialized_view_error",
        "custom_materialization_error",
        "quoted_name_error",
        "config_call_error",
    ] {
        let p = TestProject::fixture(fixture);
        let parse = p.kiln(&["parse"]).run();
        let build = p.kiln(&["build"]).run();
        build.assert_code(2);
        assert_eq!(
            build.stderr, parse.stderr,
            "{fixture}: build reports what parse does"
        );
        assert!(
            !p.exists("dev.duckdb"),
            "{fixture}: a database file was created"
        );
        assert!(!p.exists("target/run"), "{fixture}: something ran");
        assert!(
            !p.exists("target/run_results.json"),
            "{fixture}: run results were written"
        );
    }
}

#[test]
fn render_unclosed_if_error() {
    assert_run_snapshot!(fails("render_unclosed_if_error", &["parse"]));
}

#[test]
fn render_undefined_macro_error() {
    assert_run_snapshot!(fails("render_undefined_macro_error", &["parse"]));
}

#[test]
fn macro_raises_error() {
    assert_run_snapshot!(fails("macro_raises_error", &["parse"]));
}

#[test]
fn unknown_ref_error() {
    assert_run_snapshot!(fails("unknown_ref_error", &["parse"]));
}

#[test]
fn unknown_source_error() {
    assert_run_snapshot!(fails("unknown_source_error", &["parse"]));
}

#[test]
fn duplicate_model_error() {
    assert_run_snapshot!(fails("duplicate_model_error", &["parse"]));
}

#[test]
fn cycle_error() {
    assert_run_snapshot!(fails("cycle_error", &["parse"]));
}

#[test]
fn missing_project_error() {
    assert_run_snapshot!(fails("missing_project_error", &["parse"]));
}

/// Without --project-dir, kiln looks in the current folder and its parents.
#[test]
fn missing_project_in_cwd_error() {
    let p = TestProject::fixture("missing_project_error");
    let run = p.kiln_bare(&["compile"]).run();
    run.assert_code(2);
    assert_run_snapshot!(run);
}

#[test]
fn missing_profiles_error() {
    let p = TestProject::fixture("missing_profiles_error");
    // No --profiles-dir: kiln looks in the project folder and ~/.dbt (an empty temp home).
    let run = p.kiln_bare(&["parse"]).run();
    run.assert_code(2);
    assert_run_snapshot!(run);
}

/// --profiles-dir pointing at a folder without profiles.yml.
#[test]
fn missing_profiles_in_profiles_dir_error() {
    let p = TestProject::fixture("missing_profiles_error");
    let run = p.kiln_bare(&["parse", "--profiles-dir", "elsewhere"]).run();
    run.assert_code(2);
    assert_run_snapshot!(run);
}

#[test]
fn profile_not_found_error() {
    assert_run_snapshot!(fails("profile_not_found_error", &["parse"]));
}

#[test]
fn target_not_found_error() {
    assert_run_snapshot!(fails(
        "target_not_found_error",
        &["parse", "--target", "nope"]
    ));
}

#[test]
fn unsupported_adapter_error() {
    assert_run_snapshot!(fails("unsupported_adapter_error", &["parse"]));
}

#[test]
fn athena_missing_field_error() {
    assert_run_snapshot!(fails("athena_missing_field_error", &["parse"]));
}

#[test]
fn env_var_model_error() {
    assert_run_snapshot!(fails("env_var_model_error", &["parse"]));
}

#[test]
fn env_var_profile_error() {
    assert_run_snapshot!(fails("env_var_profile_error", &["parse"]));
}

#[test]
fn env_var_project_error() {
    assert_run_snapshot!(fails("env_var_project_error", &["parse"]));
}

#[test]
fn secret_in_model_error() {
    let p = TestProject::fixture("secret_in_model_error");
    let run = p
        .kiln(&["compile"])
        .env("DBT_ENV_SECRET_API_KEY", "sk-live-4242")
        .run();
    run.assert_code(2);
    assert!(!run.stdout.contains("sk-live-4242") && !run.stderr.contains("sk-live-4242"));
    assert_run_snapshot!(run);
}

#[test]
fn bad_vars_error() {
    for (name, vars) in [
        ("list", "[1, 2]"),
        ("scalar", "5"),
        ("not_yaml", "{min_id: [1"),
    ] {
        let run = fails("bad_vars_error", &["compile", "--vars", vars]);
        assert_run_snapshot!(format!("bad_vars_error_{name}"), run);
    }
}

#[test]
fn required_var_error() {
    assert_run_snapshot!(fails("required_var_error", &["parse"]));
}

#[test]
fn disabled_ref_error() {
    assert_run_snapshot!(fails("disabled_ref_error", &["parse"]));
}

#[test]
fn duplicate_docs_error() {
    assert_run_snapshot!(fails("duplicate_docs_error", &["parse"]));
}

#[test]
fn unknown_doc_error() {
    assert_run_snapshot!(fails("unknown_doc_error", &["parse"]));
}

#[test]
fn bad_test_definition_error() {
    assert_run_snapshot!(fails("bad_test_definition_error", &["parse"]));
}

#[test]
fn bad_calls_error() {
    assert_run_snapshot!(fails("bad_calls_error", &["parse"]));
}

/// `kiln parse` renders with execute false, so these pass it; `kiln compile` does not.
#[test]
fn execute_only_error() {
    let p = TestProject::fixture("execute_only_error");
    p.kiln(&["parse"]).run().assert_success();
    let run = p.kiln(&["compile"]).run();
    run.assert_code(2);
    assert_run_snapshot!(run);
    // Only the model is selected; the ephemeral model it needs fails, so it fails too.
    let run = p.kiln(&["compile", "-s", "uses_broken_ephemeral"]).run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("broken_ephemeral"),
        "{}",
        run.snapshot()
    );
    assert!(!p.exists("target/compiled/shop/models/uses_broken_ephemeral.sql"));
}

#[test]
fn unknown_test_error() {
    assert_run_snapshot!(fails("unknown_test_error", &["parse"]));
}

#[test]
fn many_errors_error() {
    assert_run_snapshot!(fails("many_errors_error", &["parse"]));
}

/// `--log-format json`: one JSON object per line on stderr, dbt's `MainEncounteredError` with
/// the message (`exc`) and kiln's code, file, line, column and help as data.
#[test]
fn many_errors_json_error() {
    let run = fails("many_errors_error", &["parse", "--log-format", "json"]);
    for line in run.stderr.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert_eq!(v["info"]["level"], "error", "{line}");
        if v["info"]["name"] == "MainEncounteredError" {
            assert!(v["data"]["file"].is_string(), "{line}");
            assert!(v["data"]["exc"].is_string(), "{line}");
        }
    }
    assert!(run.stderr.lines().count() >= 5, "{}", run.stderr);
    assert_run_snapshot!(run);
}

#[test]
fn clean_outside_error() {
    let p = TestProject::fixture("clean_outside_error");
    std::fs::create_dir_all(p.root().join("outside")).expect("mkdir outside");
    std::fs::write(p.root().join("outside/keep.txt"), "keep").expect("write");
    std::fs::create_dir_all(p.dir().join("target")).expect("mkdir target");
    let run = p.kiln(&["clean"]).run();
    run.assert_code(2);
    assert!(
        p.root().join("outside/keep.txt").exists(),
        "clean deleted a folder outside the project"
    );
    assert_run_snapshot!(run);
}

/// Every `*_error` fixture has a README saying what it locks in, and a test above that runs it.
#[test]
fn every_error_fixture_is_documented_and_used() {
    let tests = include_str!("errors.rs");
    let mut names = vec![];
    for entry in std::fs::read_dir(fixtures_dir()).expect("read fixtures") {
        let entry = entry.expect("fixture entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with("_error") {
            continue;
        }
        let readme = entry.path().join("README.md");
        assert!(readme.is_file(), "fixture {name} has no README.md");
        assert!(
            tests.contains(&format!("\"{name}\"")),
            "fixture {name} is not used by any test in tests/cli/errors.rs"
        );
        names.push(name);
    }
    assert!(
        names.len() >= 25,
        "expected the error fixtures, found {names:?}"
    );
}

#[test]
fn macro_syntax_error() {
    assert_run_snapshot!(fails("macro_syntax_error", &["parse"]));
}

/// Two nodes that would be one relation: the same name through an alias (dbt refuses it: "dbt
/// found two resources with the database representation"), or names that differ only in case,
/// which DuckDB treats as one table (the second build would overwrite the first, and `ref` to
/// one would read the other's rows). Both are parse errors naming both files.
#[test]
fn two_nodes_that_are_one_relation() {
    let p = TestProject::minimal()
        .file("models/a.sql", "select 1 as id\n")
        .file("models/b.sql", "{{ config(alias='a') }}\nselect 2 as id\n")
        .file("models/MyModel.sql", "select 3 as id\n")
        .file("models/mymodel.sql", "select 4 as id\n")
        .file(
            "models/other.sql",
            "{{ config(alias='A', schema='elsewhere') }}\nselect 5 as id\n",
        );
    let run = p.kiln(&["build"]).run();
    run.assert_code(2);
    assert_run_snapshot!(run);
    assert!(
        !p.exists("dev.duckdb") || !run.stdout.contains("START"),
        "nothing is built"
    );
}

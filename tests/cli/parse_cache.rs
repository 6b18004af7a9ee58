//! The parse cache (dbt's partial parsing, `src/session/parse_cache.rs`): a parse with nothing
//! changed writes nothing, an edited model is the only node rendered again, every input that can
//! change a render re-renders the project, and the manifest after a cached parse is always the
//! manifest of a full parse (`--no-partial-parse`). Which nodes were rendered is read from the
//! debug log line the cache writes.

use super::support::TestProject;
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// A project of three models: `a` is a source of `b` and `c`, `c` calls a macro in its
/// `config()`, and `b` reads a var and an environment variable.
fn project() -> TestProject {
    TestProject::minimal()
        .file(
            "dbt_project.yml",
            "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\nmodels:\n  shop:\n    +materialized: view\n",
        )
        .file(
            "profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: main\n    prod:\n      type: duckdb\n      path: prod.duckdb\n      schema: main\n",
        )
        .file("models/a.sql", "select 1 as id\n")
        .file(
            "models/b.sql",
            "{{ config(materialized=var('b_mat', 'table'), tags=[env_var('KILN_TEST_TAG', 'plain')]) }}\nselect * from {{ ref('a') }}\n",
        )
        .file(
            "models/c.sql",
            "{{ config(alias=alias_for('c')) }}\n{% if target.name == 'prod' %}select * from {{ ref('b') }}{% else %}select * from {{ ref('a') }}{% endif %}\n",
        )
        .file(
            "macros/alias.sql",
            "{% macro alias_for(name) %}{{ return(name ~ '_v1') }}{% endmacro %}\n",
        )
        .file(
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [unique]\n",
        )
}

/// Sets every file of the project a minute into the past: the cache trusts a file's size and
/// time only when it was not modified just before the parse that read it (a later change could
/// share its timestamp), and tests write their files within that window.
fn settle(p: &TestProject) {
    let past = SystemTime::now() - Duration::from_secs(60);
    for entry in walkdir::WalkDir::new(p.dir()).into_iter().flatten() {
        if entry.file_type().is_file() {
            let f = std::fs::File::options()
                .write(true)
                .open(entry.path())
                .expect("open a project file");
            f.set_modified(past).expect("set a file's time");
        }
    }
}

/// Edits a file and settles the project again (so only the content tells it changed).
fn edit(p: &TestProject, rel: &str, text: &str) {
    p.write(rel, text);
    settle(p);
}

/// The manifest without what differs between any two parses.
fn manifest(p: &TestProject) -> Value {
    let mut m: Value = serde_json::from_str(&p.read("target/manifest.json")).expect("manifest");
    let meta = m["metadata"].as_object_mut().expect("metadata");
    for key in [
        "generated_at",
        "invocation_id",
        "run_started_at",
        "invocation_started_at",
    ] {
        meta.remove(key);
    }
    m
}

/// The paths at which two JSON values differ (at most a few), for a readable failure.
fn differences(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    if out.len() >= 5 || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                differences(va, vb, &format!("{at}/{k}"), out);
            }
        }
        _ => out.push(format!("{at}: {a} ≠ {b}")),
    }
}

fn assert_same(cached: &Value, full: &Value) {
    let mut diffs = vec![];
    differences(cached, full, "", &mut diffs);
    assert!(diffs.is_empty(), "cached parse ≠ full parse: {diffs:#?}");
}

/// `kiln parse --debug` with `args` and `env`: its stdout, after checking it succeeded.
fn parse(p: &TestProject, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut k = p.kiln(&["parse", "--debug"]).args(args);
    for (key, value) in env {
        k = k.env(key, value);
    }
    let run = k.run();
    assert_eq!(run.code, Some(0), "{}", run.snapshot());
    run.stdout
}

/// The "Partial parse: ..." debug lines of a run.
fn cache_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once("Partial parse: ").map(|(_, m)| m.to_string()))
        .collect()
}

/// Parses with the cache (its lines returned), then checks the manifest equals a full parse's
/// with the same arguments.
fn cached_equals_full(p: &TestProject, args: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let out = parse(p, args, env);
    let cached = manifest(p);
    let mut full_args = vec!["--no-partial-parse"];
    full_args.extend_from_slice(args);
    let full_out = parse(p, &full_args, env);
    assert!(
        cache_lines(&full_out).is_empty(),
        "--no-partial-parse must not use the cache: {full_out}"
    );
    assert_same(&cached, &manifest(p));
    cache_lines(&out)
}

/// The project parsed once with the cache, files settled.
fn primed(args: &[&str], env: &[(&str, &str)]) -> TestProject {
    let p = project();
    settle(&p);
    let lines = cache_lines(&parse(&p, args, env));
    assert!(
        lines.iter().any(|l| l.contains("no earlier parse")),
        "{lines:?}"
    );
    p
}

fn rendered_all(lines: &[String]) -> bool {
    lines
        .iter()
        .any(|l| l.starts_with("every node is rendered"))
        && lines
            .iter()
            .any(|l| l.starts_with("3 node(s) rendered, 0 reused"))
}

#[test]
fn nothing_changed_writes_nothing() {
    let p = primed(&[], &[]);
    let written = std::fs::metadata(p.dir().join("target/manifest.json"))
        .and_then(|m| m.modified())
        .expect("manifest time");
    let before = manifest(&p);
    let run = p.kiln(&["parse"]).run();
    assert_eq!(run.code, Some(0), "{}", run.snapshot());
    assert!(
        run.stdout
            .contains("Nothing changed since the last parse: the manifest is up to date"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Found 3 models, 1 data test"),
        "{}",
        run.stdout
    );
    let after = std::fs::metadata(p.dir().join("target/manifest.json"))
        .and_then(|m| m.modified())
        .expect("manifest time");
    assert_eq!(written, after, "the manifest was rewritten");
    assert_eq!(before, manifest(&p));
}

#[test]
fn an_edited_model_is_the_only_node_rendered() {
    let p = primed(&[], &[]);
    // b now reads c instead of a: its refs and depends_on change, nothing else is rendered.
    edit(
        &p,
        "models/b.sql",
        "{{ config(materialized=var('b_mat', 'table'), tags=[env_var('KILN_TEST_TAG', 'plain')]) }}\nselect * from {{ ref('c') }}\n",
    );
    let lines = cached_equals_full(&p, &[], &[]);
    assert_eq!(lines, ["1 node(s) rendered, 2 reused: model.shop.b"]);
    // Unchanged since: a parse renders nothing, and the manifest is still a full parse's.
    let lines = cached_equals_full(&p, &[], &[]);
    assert_eq!(lines, ["0 node(s) rendered, 3 reused"]);
    let m = manifest(&p);
    assert_eq!(
        m["nodes"]["model.shop.b"]["config"]["materialized"],
        "table"
    );
    assert_eq!(
        m["nodes"]["model.shop.b"]["depends_on"]["nodes"],
        serde_json::json!(["model.shop.c"])
    );
}

#[test]
fn a_new_model_is_rendered_and_a_deleted_one_leaves() {
    let p = primed(&[], &[]);
    edit(&p, "models/d.sql", "select * from {{ ref('c') }}\n");
    let lines = cached_equals_full(&p, &[], &[]);
    assert_eq!(lines, ["1 node(s) rendered, 3 reused: model.shop.d"]);
    std::fs::remove_file(p.dir().join("models/d.sql")).expect("remove d");
    let lines = cached_equals_full(&p, &[], &[]);
    assert_eq!(lines, ["0 node(s) rendered, 3 reused"]);
    assert!(manifest(&p)["nodes"].get("model.shop.d").is_none());
}

#[test]
fn a_macro_edit_renders_every_node() {
    let p = primed(&[], &[]);
    edit(
        &p,
        "macros/alias.sql",
        "{% macro alias_for(name) %}{{ return(name ~ '_v2') }}{% endmacro %}\n",
    );
    let lines = cached_equals_full(&p, &[], &[]);
    assert!(rendered_all(&lines), "{lines:?}");
    assert_eq!(manifest(&p)["nodes"]["model.shop.c"]["alias"], "c_v2");
}

#[test]
fn a_schema_yaml_edit_renders_every_node() {
    let p = primed(&[], &[]);
    edit(
        &p,
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: a\n    config:\n      materialized: table\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n",
    );
    let lines = cached_equals_full(&p, &[], &[]);
    assert!(rendered_all(&lines), "{lines:?}");
    let m = manifest(&p);
    assert_eq!(
        m["nodes"]["model.shop.a"]["config"]["materialized"],
        "table"
    );
    assert!(
        m["nodes"]
            .as_object()
            .is_some_and(|n| n.keys().any(|k| k.starts_with("test.shop.not_null_a_id"))),
        "the new test is in the manifest"
    );
}

#[test]
fn a_dbt_project_edit_renders_every_node() {
    let p = primed(&[], &[]);
    edit(
        &p,
        "dbt_project.yml",
        "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\nmodels:\n  shop:\n    +materialized: table\n",
    );
    let lines = cached_equals_full(&p, &[], &[]);
    assert!(rendered_all(&lines), "{lines:?}");
    assert_eq!(
        manifest(&p)["nodes"]["model.shop.a"]["config"]["materialized"],
        "table"
    );
}

#[test]
fn other_vars_render_every_node() {
    let p = primed(&[], &[]);
    let lines = cached_equals_full(&p, &["--vars", "{b_mat: view}"], &[]);
    assert!(rendered_all(&lines), "{lines:?}");
    assert_eq!(
        manifest(&p)["nodes"]["model.shop.b"]["config"]["materialized"],
        "view"
    );
}

#[test]
fn an_env_var_read_by_env_var_renders_every_node() {
    let p = primed(&[], &[]);
    // A variable no file reads changes nothing.
    let lines = cached_equals_full(&p, &[], &[("KILN_TEST_UNREAD", "x")]);
    assert_eq!(
        lines,
        ["nothing changed since the last parse; the manifest is up to date"]
    );
    let lines = cached_equals_full(&p, &[], &[("KILN_TEST_TAG", "special")]);
    assert!(rendered_all(&lines), "{lines:?}");
    assert_eq!(
        manifest(&p)["nodes"]["model.shop.b"]["tags"],
        serde_json::json!(["special"])
    );
}

#[test]
fn another_target_or_profile_renders_every_node() {
    let p = primed(&[], &[]);
    let lines = cached_equals_full(&p, &["--target", "prod"], &[]);
    assert!(rendered_all(&lines), "{lines:?}");
    assert_eq!(
        manifest(&p)["nodes"]["model.shop.c"]["depends_on"]["nodes"],
        serde_json::json!(["model.shop.b"])
    );
    // profiles.yml itself: the dev target's schema changes.
    let lines = cached_equals_full(&p, &[], &[]);
    assert!(rendered_all(&lines), "{lines:?}");
    edit(
        &p,
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: other\n    prod:\n      type: duckdb\n      path: prod.duckdb\n      schema: main\n",
    );
    let lines = cached_equals_full(&p, &[], &[]);
    assert!(rendered_all(&lines), "{lines:?}");
    assert_eq!(manifest(&p)["nodes"]["model.shop.a"]["schema"], "other");
}

#[test]
fn a_truncated_or_corrupt_cache_is_a_full_parse() {
    let p = primed(&[], &[]);
    let full = manifest(&p);
    for file in ["kiln_parse_cache.json", "kiln_parse_renders.json"] {
        let path = p.dir().join("target").join(file);
        let bytes = std::fs::read(&path).expect("cache file");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    }
    let lines = cached_equals_full(&p, &[], &[]);
    assert!(rendered_all(&lines), "{lines:?}");
    assert_same(&full, &manifest(&p));
    // Valid JSON of another shape: the same.
    for file in ["kiln_parse_cache.json", "kiln_parse_renders.json"] {
        std::fs::write(p.dir().join("target").join(file), "[1, 2]").expect("overwrite");
    }
    let lines = cached_equals_full(&p, &[], &[]);
    assert!(rendered_all(&lines), "{lines:?}");
    assert_same(&full, &manifest(&p));
}

#[test]
fn no_partial_parse_and_dbt_partial_parse_turn_it_off() {
    let p = primed(&[], &[]);
    for (args, env) in [
        (vec!["--no-partial-parse"], vec![]),
        (vec![], vec![("DBT_PARTIAL_PARSE", "0")]),
    ] {
        let out = parse(&p, &args, &env);
        assert!(cache_lines(&out).is_empty(), "{out}");
        assert!(out.contains("Wrote target/manifest.json"), "{out}");
    }
    // dbt_project.yml's flags turn it off too; --partial-parse turns it back on.
    edit(
        &p,
        "dbt_project.yml",
        "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\nflags:\n  partial_parse: false\nmodels:\n  shop:\n    +materialized: view\n",
    );
    let out = parse(&p, &[], &[]);
    assert!(cache_lines(&out).is_empty(), "{out}");
    let out = parse(&p, &["--partial-parse"], &[]);
    assert!(!cache_lines(&out).is_empty(), "{out}");
}

#[test]
fn a_parse_with_a_warning_is_run_again_to_show_it() {
    let p = primed(&[], &[]);
    // A config path that matches no model: a warning on every parse.
    edit(
        &p,
        "dbt_project.yml",
        "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\nmodels:\n  shop:\n    +materialized: view\n    nowhere:\n      +materialized: table\n",
    );
    let first = p.kiln(&["parse"]).run();
    assert_eq!(first.code, Some(0), "{}", first.snapshot());
    let second = p.kiln(&["parse"]).run();
    assert_eq!(second.code, Some(0), "{}", second.snapshot());
    assert!(
        !second.stdout.contains("Nothing changed"),
        "{}",
        second.stdout
    );
    assert!(!first.stdout.is_empty() || !first.stderr.is_empty());
    assert!(
        format!("{}{}", first.stdout, first.stderr).contains("nowhere"),
        "{}",
        first.snapshot()
    );
    assert_eq!(first.stderr, second.stderr);
}

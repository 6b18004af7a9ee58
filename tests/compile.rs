//! Compiled-SQL snapshots: every `tests/fixtures/compile_*` project is compiled with `kiln compile`
//! and every file under `target/compiled/` is snapshotted (`tests/snapshots/compile__*`).
//!
//! A fixture may hold `compile.args`: one run per line, `label: extra args`, arguments split on
//! whitespace (so `--vars` is written as JSON without spaces). Without it, one run labelled
//! `default`.

#[path = "cli/support.rs"]
mod support;

use std::path::Path;
use support::TestProject;

/// `(label, extra args)` for each run of a fixture.
fn runs(fixture: &Path) -> Vec<(String, Vec<String>)> {
    let Ok(text) = std::fs::read_to_string(fixture.join("compile.args")) else {
        return vec![("default".into(), vec![])];
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (label, args) = l.split_once(':').expect("`label: args` lines");
            (
                label.trim().to_string(),
                args.split_whitespace().map(String::from).collect(),
            )
        })
        .collect()
}

/// Every file under `target/compiled/`, sorted, each under a header with its path.
fn compiled_files(p: &TestProject) -> String {
    let base = p.dir().join("target/compiled");
    let mut files = vec![];
    let mut stack = vec![base.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read target/compiled") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut out = String::new();
    for f in files {
        let rel = f.strip_prefix(&base).expect("under target/compiled");
        let sql = std::fs::read_to_string(&f).expect("compiled file");
        out.push_str(&format!(
            "==> {} <==\n{}\n\n",
            rel.display().to_string().replace('\\', "/"),
            sql.trim_end()
        ));
    }
    out
}

#[test]
fn compiled_sql() {
    // run_started_at changes every day
    let run_day = regex::Regex::new(r"'\d{4}-\d{2}-\d{2}' as run_day").expect("regex");
    insta::glob!("fixtures/compile_*", |fixture| {
        let name = fixture
            .file_name()
            .expect("fixture name")
            .to_string_lossy()
            .into_owned();
        for (label, args) in runs(fixture) {
            let p = TestProject::fixture(&name);
            let run = p
                .kiln(&["compile"])
                .args(&args)
                .env("KILN_TEST_ENV", "from-the-environment")
                .run();
            assert_eq!(
                run.code,
                Some(0),
                "kiln compile {args:?} failed on {name}:\n{}",
                run.snapshot()
            );
            let mut text = format!("kiln compile {}", args.join(" "))
                .trim_end()
                .to_string();
            text.push_str("\n\n");
            text.push_str(&compiled_files(&p));
            let text = run_day.replace_all(&text, "'[TODAY]' as run_day");
            insta::assert_snapshot!(label, run.clean(&text));
        }
    });
}

/// A re-compile leaves a compiled file that already holds the same SQL alone (creating and
/// rewriting thousands of files is what a compile costs on slow disks), and rewrites one whose
/// SQL changed.
#[test]
fn recompile_rewrites_only_changed_files() {
    let p = TestProject::minimal()
        .file("models/a.sql", "select 1 as n")
        .file("models/b.sql", "select n from {{ ref('a') }}");
    let mtime = |rel: &str| {
        std::fs::metadata(p.dir().join(rel))
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    let a = "target/compiled/shop/models/a.sql";
    let b = "target/compiled/shop/models/b.sql";
    p.kiln(&["compile"]).run().assert_success();
    let (a0, b0) = (mtime(a), mtime(b));
    std::thread::sleep(std::time::Duration::from_millis(20));
    p.write("models/b.sql", "select n + 1 as n from {{ ref('a') }}");
    p.kiln(&["compile"]).run().assert_success();
    assert_eq!(mtime(a), a0, "unchanged a.sql was rewritten");
    assert_ne!(mtime(b), b0, "changed b.sql was not rewritten");
    assert!(
        p.read(b).contains("select n + 1 as n from"),
        "{}",
        p.read(b)
    );
}

/// The demo at the repository root, copied (the files `tests/demo.rs` copies to build it).
fn demo_project() -> TestProject {
    TestProject::demo()
}

/// The sqlparser dialect of an adapter, as the adapter gives it.
fn dialect_of(adapter_type: &str) -> Box<dyn sqlparser::dialect::Dialect> {
    use kiln::adapter::Adapter;
    match adapter_type {
        "duckdb" => kiln::adapter::DuckDb::in_memory().sql_dialect(),
        "athena" => kiln::adapter::Athena::default().sql_dialect(),
        other => panic!("no dialect for adapter type {other}"),
    }
}

/// Compiled nodes whose SQL sqlparser 0.62 cannot parse in their adapter's dialect, though the
/// engine runs it: `(project run, unique_id, the construct and why)`. Each entry must still fail
/// (the test says when one parses now), and any other failure fails the test.
///
/// DuckDB SQL known to be outside sqlparser 0.62's DuckDB dialect, which goes here with its node
/// when a fixture uses it: `* RENAME (...)`, `ASOF JOIN ... ON` (sqlparser expects Snowflake's
/// `MATCH_CONDITION`), the statement forms `PIVOT t ON ... USING ...` and `UNPIVOT ... INTO NAME
/// ... VALUE ...`, list comprehensions `[x + 1 FOR x IN l]`, `USING SAMPLE 10%`. The demo and
/// every other fixture parse.
const UNPARSED: &[(&str, &str, &str)] = &[(
    "compile_ephemeral:default",
    "model.compile_ephemeral.duckdb_only_model",
    "a DuckDB list comprehension `[x * 2 for x in [...]]`, on purpose: the model whose ephemeral \
     CTEs the text rule places",
)];

/// Every compiled node (models, tests, snapshots, analyses) of every fixture project, in every
/// run its `compile.args` lists, of `tests/fixtures/jaffle_compat` and of the demo at the
/// repository root parses in its adapter's sqlparser dialect and prints back stably: parse →
/// print → parse gives the same tree (`kiln::sql::round_trip`).
#[test]
fn every_compiled_node_parses_in_its_adapters_dialect() {
    let mut projects: Vec<(String, TestProject, Vec<String>, &str)> = vec![];
    let mut fixtures: Vec<_> = std::fs::read_dir(support::fixtures_dir())
        .expect("read tests/fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("dbt_project.yml").is_file())
        .collect();
    fixtures.sort();
    for fixture in fixtures {
        let name = fixture
            .file_name()
            .expect("fixture name")
            .to_string_lossy()
            .into_owned();
        // Error fixtures do not compile, by design.
        if name.ends_with("_error") {
            continue;
        }
        for (label, args) in runs(&fixture) {
            projects.push((
                format!("{name}:{label}"),
                TestProject::fixture(&name),
                args,
                "target",
            ));
        }
    }
    projects.push(("demo".into(), demo_project(), vec![], "target/kiln"));

    let mut checked = 0;
    let mut failures = vec![];
    let mut still_listed: Vec<(&str, &str)> = UNPARSED.iter().map(|(p, u, _)| (*p, *u)).collect();
    for (label, p, args, target) in &projects {
        // A fixture using packages has them installed first, as its users would.
        if p.exists("packages.yml") && !p.exists("dbt_packages") {
            p.kiln(&["deps"]).run().assert_success();
        }
        let run = p
            .kiln(&["compile"])
            .args(args)
            .env("KILN_TEST_ENV", "from-the-environment")
            .run();
        assert_eq!(
            run.code,
            Some(0),
            "kiln compile failed on {label}:\n{}",
            run.snapshot()
        );
        let manifest: serde_json::Value =
            serde_json::from_str(&p.read(&format!("{target}/manifest.json"))).expect("manifest");
        let adapter = manifest["metadata"]["adapter_type"]
            .as_str()
            .expect("adapter_type");
        let dialect = dialect_of(adapter);
        for (uid, node) in manifest["nodes"].as_object().expect("nodes") {
            let Some(sql) = node["compiled_code"].as_str() else {
                continue;
            };
            checked += 1;
            let listed = still_listed
                .iter()
                .position(|(p, u)| p == label && u == uid);
            match (kiln::sql::round_trip(sql, dialect.as_ref()), listed) {
                (Ok(_), None) => {}
                (Err(_), Some(i)) => {
                    still_listed.remove(i);
                }
                (Ok(_), Some(_)) => {
                    failures.push(format!("{label} {uid} parses now: take it off UNPARSED"))
                }
                (Err(e), None) => failures.push(format!(
                    "{label} {uid} ({adapter}) {e}\n--- compiled SQL ---\n{sql}\n---"
                )),
            }
        }
    }
    for (p, u) in still_listed {
        failures.push(format!("{p} {u} is on UNPARSED but was not compiled"));
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} compiled nodes:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The loop really saw the projects (a broken glob must not pass silently).
    assert!(checked > 300, "only {checked} compiled nodes checked");
}

/// A model whose SQL sqlparser cannot parse (DuckDB syntax outside its grammar) still compiles:
/// the text rule merges its ephemeral CTEs into its `with` (the snapshot of `compile_ephemeral`
/// shows the SQL). That is no warning (`--warn-error` would fail the project over it); a debug
/// note says so with `KILN_DEBUG_SQL` set.
#[test]
fn sql_outside_the_parsers_grammar_still_compiles() {
    let p = TestProject::fixture("compile_ephemeral");
    let args = ["compile", "--select", "duckdb_only_model", "plain_model"];
    let quiet = p.kiln(&args).run();
    quiet.assert_success();
    assert!(
        !quiet.stderr.contains("sql-text-rule"),
        "{}",
        quiet.snapshot()
    );
    let noted = p.kiln(&args).env("KILN_DEBUG_SQL", "1").run();
    noted.assert_success();
    let notes: Vec<&str> = noted
        .stderr
        .lines()
        .filter(|l| l.contains("sql-text-rule"))
        .collect();
    assert_eq!(
        notes,
        [
            "debug[sql-text-rule]: models/duckdb_only_model.sql: the ephemeral CTEs of model \
          'duckdb_only_model' were placed by the text rule (after leading comments, merged into \
          a `with` or in front): the SQL does not parse in DuckDbDialect: sql parser error: \
          Expected: ], found: for at Line: 4, Column: 25"
        ],
        "{}",
        noted.snapshot()
    );
}

#[path = "compile/introspection.rs"]
mod introspection;

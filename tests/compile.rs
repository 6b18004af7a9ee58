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

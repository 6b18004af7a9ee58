//! Errors the database raises while nodes run: the run exits 1, and each error points at the line
//! of the file the analyst wrote (not at the line of the `create table ... as` statement kiln ran),
//! shows that line, and names the lines of the compiled and run files too.

use crate::support::{Run, TestProject};

/// A run's snapshot text, with the clock times of the progress lines and the run's duration
/// replaced.
fn without_clock(run: &Run) -> String {
    let clock = regex::Regex::new(r"(?m)^\d{2}:\d{2}:\d{2}  ").expect("regex");
    let seconds = regex::Regex::new(r"\b\d+\.\d+ seconds\b").expect("regex");
    let snapshot = run.snapshot();
    let text = clock.replace_all(&snapshot, "[HH:MM:SS]  ");
    seconds.replace_all(&text, "[TIME] seconds").into_owned()
}

/// Three models fail in the database, one on each kind of line:
/// - `orders`: a missing column on line 7, after a comment header (the compiled line is the
///   same text: an exact place, with a caret under the column);
/// - `by_status`: a missing column on line 5, which Jinja rendered (the source line and the
///   compiled line it became are both shown);
/// - `placed`: a missing column inside an ephemeral model it refs (the ephemeral model's own
///   file and line).
#[test]
fn a_database_error_points_at_the_line_of_the_model_file() {
    let p = TestProject::minimal()
        .file(
            "models/stg_orders.sql",
            "select * from (values (1, 'placed', 10.5), (2, 'shipped', 20.0)) as t(id, status, amount)\n",
        )
        .file(
            "models/orders.sql",
            "-- Orders, one row per order.\n-- Owner: finance analytics.\n-- Grain: id.\n{{ config(materialized='table') }}\nselect\n    id,\n    amount_usd,\n    status\nfrom {{ ref('stg_orders') }}\n",
        )
        .file(
            "models/by_status.sql",
            "{% set measure = 'amount_eur' %}\nselect\n    status,\n    count(*) as orders,\n    sum({{ measure }}) as total\nfrom {{ ref('stg_orders') }}\ngroup by status\n",
        )
        .file(
            "models/eph_placed.sql",
            "{{ config(materialized='ephemeral') }}\n-- Placed orders only.\nselect id, amount\nfrom {{ ref('stg_orders') }}\nwhere state = 'placed'\n",
        )
        .file(
            "models/placed.sql",
            "-- How many orders are placed.\nselect count(*) as n\nfrom {{ ref('eph_placed') }}\n",
        );
    let run = p.kiln(&["run"]).run();
    run.assert_code(1);
    let text = without_clock(&run);
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => true}, {
        insta::assert_snapshot!(text);
    });
    // The run file holds the statement; the line the message names is the model's line there.
    let ddl = p.read("target/run/shop/models/orders.sql");
    assert_eq!(ddl.lines().nth(7), Some("    amount_usd,"), "{ddl}");
}

/// The compiled and run files are for reading: one that cannot be written is a warning naming
/// it, once (the others counted), and the run goes on.
#[test]
fn a_run_file_that_cannot_be_written_is_a_warning() {
    let p = TestProject::minimal()
        .file("models/a.sql", "select 1 as id\n")
        .file("models/b.sql", "select 2 as id\n")
        // a file where the folder of the run files goes
        .file("target/run", "");
    let run = p.kiln(&["run"]).run();
    run.assert_success();
    let out = run.clean(&format!("{}{}", run.stdout, run.stderr));
    let warned: Vec<&str> = out.lines().filter(|l| l.contains("cannot write")).collect();
    assert_eq!(warned.len(), 1, "{out}");
    assert!(
        warned[0].contains("Warning: cannot write [PROJECT]/target/run/shop/models/"),
        "{out}"
    );
    assert!(
        out.contains("Warning: 1 more file of target/compiled and target/run could not be written"),
        "{out}"
    );
    // the compiled files were written
    assert!(p.exists("target/compiled/shop/models/a.sql"));
}

/// Output that cannot be written (stdout and stderr on a full device, or a reader that closed
/// its pipe, as `kiln ls | head -1`) never panics: kiln finishes and exits with the run's own
/// code, 0 for a good build and 1 for a failed model.
#[test]
fn unwritable_output_never_panics() {
    let p = TestProject::minimal()
        .file("models/a.sql", "select 1 as id\n")
        .file("models/b.sql", "select * from {{ ref('a') }}\n");
    let kiln = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kiln"));
        cmd.env_clear()
            .env("HOME", p.root().join("home"))
            // the timing lines go to stderr too
            .env("KILN_TIMINGS", "1")
            .current_dir(p.dir())
            .args(args)
            .arg("--project-dir")
            .arg(p.dir())
            .arg("--profiles-dir")
            .arg(p.dir());
        cmd
    };
    let full = || std::fs::File::create("/dev/full").expect("open /dev/full");
    for (args, code) in [
        (&["build"][..], 0),
        (&["ls"][..], 0),
        (&["compile"][..], 0),
        (&["run", "--select", "nothing_matches"][..], 0),
    ] {
        let status = kiln(args)
            .stdout(full())
            .stderr(full())
            .status()
            .expect("run kiln");
        assert_eq!(status.code(), Some(code), "kiln {args:?} to /dev/full");
    }
    // A reader that goes away at once.
    let mut child = kiln(&["ls"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run kiln");
    drop(child.stdout.take());
    drop(child.stderr.take());
    assert_eq!(
        child.wait().expect("wait").code(),
        Some(0),
        "kiln ls | head -0"
    );
    // A failed model keeps its exit code when nothing can be printed. (A value that fails at run
    // time: a column the upstream lacks stops `build` at compile time, exit 2.)
    p.write(
        "models/b.sql",
        "{{ config(materialized='table') }}\nselect cast('not a number' as integer) as n from {{ ref('a') }}\n",
    );
    let status = kiln(&["build"])
        .stdout(full())
        .stderr(full())
        .status()
        .expect("run kiln");
    assert_eq!(status.code(), Some(1), "a failed build to /dev/full");
}

/// A column with `quote: true` (or a source's `quoting: {column: true}`) is quoted in its tests,
/// as dbt quotes it: tests on columns named `select` and `my col` run and pass, and the tests'
/// ids and `column_name` are dbt's (recorded from dbt-core 1.11.16 + dbt-duckdb on this project).
#[test]
fn quoted_columns_are_quoted_in_tests() {
    let p = TestProject::minimal()
        .file(
            "models/t.sql",
            "select 1 as \"select\", 'x' as \"my col\", 2 as plain\n",
        )
        .file(
            "models/s.yml",
            "version: 2\nmodels:\n  - name: t\n    columns:\n      - name: select\n        quote: true\n        data_tests: [unique, not_null]\n      - name: my col\n        quote: true\n        data_tests:\n          - accepted_values:\n              arguments:\n                values: ['x']\n      - name: plain\n        data_tests: [not_null]\n",
        )
        .file(
            "models/src.yml",
            "version: 2\nsources:\n  - name: raw\n    schema: main\n    quoting:\n      column: true\n    tables:\n      - name: t\n        columns:\n          - name: select\n            data_tests: [not_null]\n          - name: plain\n            quote: false\n            data_tests: [not_null]\n",
        );
    // (the source is the model's own table: its tests are only parsed)
    let run = p.kiln(&["build", "--select", "t"]).run();
    run.assert_success();
    assert!(run.stdout.contains("PASS=5 "), "{}", run.stdout);
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).expect("manifest");
    let mut tests: Vec<(String, String)> = manifest["nodes"]
        .as_object()
        .expect("nodes")
        .iter()
        .filter(|(k, _)| k.starts_with("test."))
        .map(|(k, v)| {
            (
                k.clone(),
                v["column_name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    tests.sort();
    let dbt = [
        (
            "test.shop.accepted_values_t__my_col___x.d89572ef2e",
            "\"my col\"",
        ),
        ("test.shop.not_null_t__select_.eab633d806", "\"select\""),
        ("test.shop.not_null_t_plain.804a69791c", "plain"),
        (
            "test.shop.source_not_null_raw_t__select_.239a69d46a",
            "\"select\"",
        ),
        ("test.shop.source_not_null_raw_t_plain.24eda64c0a", "plain"),
        ("test.shop.unique_t__select_.4cde58cf64", "\"select\""),
    ];
    let dbt: Vec<(String, String)> = dbt
        .iter()
        .map(|(k, c)| ((*k).to_string(), (*c).to_string()))
        .collect();
    assert_eq!(tests, dbt);
}

//! Unit tests (`unit_tests:`) on Athena: the fixtures typed from Glue's columns (Hive's type
//! names spelled as Trino's: `int` is `integer`, `string` is `varchar`) as Trino's `values`
//! with typed casts, the model compiled against them, and the verdict read from Athena's
//! result, which moto serves from its queue (it runs no SQL). The same project on DuckDB prints
//! the same verdict and diff.

use super::Warehouse;
use super::harness::{create_analytics, create_hive_table, queue_table};
use super::snapshot::{queue_columns, statements};
use support::TestProject;

use super::support;

const MODEL: &str = "{{ config(materialized='table') }}\nselect id, amount * 2 as doubled, note from {{ source('app', 'raw_orders') }}\n";

const YAML: &str = "version: 2\nsources:\n  - name: app\n    schema: analytics\n    tables:\n      - name: raw_orders\n        columns:\n          - {name: id, data_type: integer}\n          - {name: amount, data_type: bigint}\n          - {name: note, data_type: varchar}\nunit_tests:\n  - name: doubles_amount\n    model: orders\n    given:\n      - input: source('app', 'raw_orders')\n        rows:\n          - {id: 1, amount: 5, note: a}\n          - {id: 2, amount: null, note: b}\n    expect:\n      rows:\n        - {id: 1, doubled: 10}\n        - {id: 2, doubled: EXPECTED}\n";

/// Queues the union query's result: `(id, doubled, actual_or_expected)` rows, `None` a NULL.
fn queue_rows(w: &Warehouse, rows: &[(&str, Option<&str>, &str)]) {
    let rows: Vec<Vec<Option<&str>>> = rows
        .iter()
        .map(|(id, doubled, which)| vec![Some(*id), *doubled, Some(*which)])
        .collect();
    queue_table(
        w,
        &[
            ("id", "integer"),
            ("doubled", "bigint"),
            ("actual_or_expected", "varchar"),
        ],
        &rows,
    );
}

fn athena_project(expected: &str) -> Warehouse {
    let w = Warehouse::new(&[("models/orders.sql", MODEL)]);
    w.project
        .write("models/schema.yml", &YAML.replace("EXPECTED", expected));
    create_analytics(&w);
    create_hive_table(
        &w,
        "raw_orders",
        &[("id", "int"), ("amount", "bigint"), ("note", "string")],
        &format!("s3://{}/raw/orders/", w.bucket),
    );
    w
}

/// [`athena_project`] with the unit test's answers queued: the output's columns, then the
/// comparison's rows (ids 1 and 2, actual then expected), the expected second `doubled`
/// being `second_expected` (`None`: NULL).
fn athena_unit_test(expected: &str, second_expected: Option<&str>) -> Warehouse {
    let w = athena_project(expected);
    queue_columns(
        &w,
        &[
            ("id", "integer"),
            ("doubled", "bigint"),
            ("note", "varchar"),
        ],
    );
    queue_rows(
        &w,
        &[
            ("1", Some("10"), "actual"),
            ("2", None, "actual"),
            ("1", Some("10"), "expected"),
            ("2", second_expected, "expected"),
        ],
    );
    w
}

/// The verdict and diff lines of a run's output (what both engines print alike).
fn verdict(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| {
            l.contains("doubles_amount") && !l.contains(" START ")
                || l.trim_start().starts_with('|')
                || l.contains("actual differs from expected")
        })
        .map(|l| {
            // the console's clock, counter and timing differ between runs
            let l = regex::Regex::new(r"^\d\d:\d\d:\d\d\s+")
                .expect("regex")
                .replace(l, "");
            regex::Regex::new(r"\s+\[[^\]]*in [0-9.]+s\]")
                .expect("regex")
                .replace(&l, "")
                .trim_end()
                .to_string()
        })
        .collect()
}

fn duckdb_verdict(expected: &str) -> (Option<i32>, Vec<String>) {
    let p = TestProject::minimal()
        .file(
            "models/orders.sql",
            &MODEL.replace("{{ config(materialized='table') }}\n", ""),
        )
        .file(
            "models/schema.yml",
            &YAML
                .replace("EXPECTED", expected)
                .replace("schema: analytics", "schema: main"),
        );
    let run = p.kiln(&["test", "-s", "test_type:unit"]).run();
    (run.code, verdict(&run.stdout))
}

#[test]
fn unit_tests_run_on_athena_as_on_duckdb() {
    // passing: the fixture's rows typed from Glue, the verdict from Athena's result
    let w = athena_unit_test("null", None);
    let run = w.kiln(&["test", "-s", "test_type:unit"]);
    run.assert_success();
    let sql = statements(&w);
    assert_eq!(
        sql.len(),
        2,
        "the columns of the output, then the comparison: {sql:#?}"
    );
    insta::assert_snapshot!("unit_test_query", sql[1]);
    let (code, duck) = duckdb_verdict("null");
    assert_eq!(code, Some(0));
    assert!(
        duck.iter()
            .any(|l| l.contains("PASS") && l.contains("doubles_amount")),
        "{duck:#?}"
    );
    assert_eq!(verdict(&run.stdout), duck);

    // failing: the same diff as DuckDB prints, exit 1
    let w = athena_unit_test("0", Some("0"));
    let run = w.kiln(&["test", "-s", "test_type:unit"]);
    run.assert_code(1);
    let (code, duck) = duckdb_verdict("0");
    assert_eq!(code, Some(1));
    let athena = verdict(&run.stdout);
    assert!(
        athena
            .iter()
            .any(|l| l.contains("actual differs from expected")),
        "{}",
        run.stdout
    );
    assert_eq!(athena, duck, "{}", run.stdout);
}

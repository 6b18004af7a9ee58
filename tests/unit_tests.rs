//! dbt's unit tests (`unit_tests:` in properties YAML) on tests/fixtures/unit_tests, a small shop
//! whose unit tests cover dict, csv and sql fixtures (inline and from `tests/fixtures/`),
//! overrides (vars, env vars, `is_incremental`, `this`), versioned models and one test that
//! fails on purpose. dbt-core's behaviour on the same project is recorded in
//! tests/dbt_recorded/unit_tests_*.txt (tests/dbt_recorded/record.sh).

#[path = "cli/support.rs"]
mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use support::TestProject;

fn project() -> TestProject {
    TestProject::fixture("unit_tests")
}

/// The fixture with its seeds loaded and `stg_orders` built (what most unit tests read).
fn seeded() -> TestProject {
    let p = project();
    p.kiln(&["seed"]).run().assert_success();
    p.kiln(&["run", "-s", "stg_orders"]).run().assert_success();
    p
}

/// `kiln test -s <selected>` without the unit test that fails on purpose: it succeeds, and
/// each of `passed` (`model::unit_test`) shows as PASS.
fn unit_tests_pass(p: &TestProject, selected: &[&str], passed: &[&str]) -> support::Run {
    let mut args = vec!["test", "-s"];
    args.extend_from_slice(selected);
    args.extend_from_slice(&["--exclude", "unit_test:totals_wrong_on_purpose"]);
    let run = p.kiln(&args).run();
    run.assert_success();
    for name in passed {
        assert!(
            run.stdout.contains(&format!("PASS {name}")),
            "{name}: {}",
            run.stdout
        );
    }
    run
}

fn query(p: &TestProject, sql: &str) -> Vec<String> {
    let conn = duckdb::Connection::open(p.dir().join("dev.duckdb")).expect("open dev.duckdb");
    let mut stmt = conn.prepare(sql).expect("prepare");
    let mut rows = stmt.query([]).expect("query");
    let mut out = vec![];
    while let Some(row) = rows.next().expect("row") {
        out.push(row.get::<_, String>(0).expect("text column"));
    }
    out
}

/// `status unique_id` of each unit test in target/run_results.json, sorted.
fn results(p: &TestProject) -> Vec<String> {
    let r: Value = serde_json::from_str(&p.read("target/run_results.json")).expect("json");
    let mut out: Vec<String> = r["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|x| {
            format!(
                "{} {}",
                x["status"].as_str().unwrap_or_default(),
                x["unique_id"].as_str().unwrap_or_default()
            )
        })
        .collect();
    out.sort();
    out
}

fn finished_line(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.starts_with("Finished running"))
        .map(|l| l.split(" in ").next().unwrap_or(l).to_string())
        .unwrap_or_default()
}

#[test]
fn build_runs_each_models_unit_tests_first_and_skips_a_model_whose_test_fails() {
    let p = project();
    p.kiln(&["seed"]).run().assert_success();
    let run = p.kiln(&["build"]).run();
    run.assert_code(1);
    // Every unit test ran; the failing one's model was skipped, the others were built.
    assert_eq!(
        results(&p),
        [
            "fail unit_test.unit_shop.customer_totals.totals_wrong_on_purpose",
            "pass test.unit_shop.not_null_stg_orders_id.8cf5724805",
            "pass unit_test.unit_shop.customer_totals.totals_per_customer",
            "pass unit_test.unit_shop.dim_customers.counts_per_customer_v2",
            "pass unit_test.unit_shop.dim_customers.one_row_per_customer_v1",
            "pass unit_test.unit_shop.orders_incremental.full_refresh_all_rows",
            "pass unit_test.unit_shop.orders_incremental.incremental_only_new_rows",
            "pass unit_test.unit_shop.stg_orders.dedupe_from_csv_fixture",
            "pass unit_test.unit_shop.stg_orders.keeps_latest_order_version",
            "skipped model.unit_shop.customer_totals",
            "success model.unit_shop.dim_customers.v1",
            "success model.unit_shop.dim_customers.v2",
            "success model.unit_shop.orders_incremental",
            "success model.unit_shop.stg_orders",
            "success seed.unit_shop.raw_orders",
            "success seed.unit_shop.raw_payments",
        ]
    );
    // Each unit test ran before its model: its line comes first.
    let pos = |needle: &str| {
        run.stdout
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in\n{}", run.stdout))
    };
    assert!(
        pos("START unit_test stg_orders::keeps_latest_order_version")
            < pos("START sql view model main.stg_orders")
    );
    assert!(
        pos("FAIL 1 customer_totals::totals_wrong_on_purpose")
            < pos("SKIP relation main.customer_totals")
    );
    assert!(
        run.stdout
            .contains("PASS dim_customers::one_row_per_customer_v1")
    );
    assert_eq!(
        finished_line(&run.stdout),
        "Finished running 1 incremental model, 2 seeds, 1 data test, 8 unit tests, 4 view models"
    );
    assert!(
        run.stdout
            .starts_with("Found 5 models, 2 seeds, 1 data test, 1 source, ")
    );
    assert!(
        run.stdout
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with(", 8 unit tests")
    );
    // The skipped model was never built; the others were.
    assert_eq!(
        query(
            &p,
            "select table_name from information_schema.tables where table_schema <> 'kiln_state' order by table_name"
        ),
        [
            "dim_customers_v1",
            "dim_customers_v2",
            "orders_incremental",
            "raw_orders",
            "raw_payments",
            "stg_orders"
        ]
    );
    // run_results.json: dbt's failures count (1 for a failed unit test) and the diff as message.
    let r: Value = serde_json::from_str(&p.read("target/run_results.json")).expect("json");
    let failed = r["results"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["status"] == "fail")
        .expect("a failed result");
    assert_eq!(failed["failures"], 1);
    assert!(
        failed["message"]
            .as_str()
            .unwrap_or_default()
            .contains("actual differs from expected:")
    );
}

#[test]
fn a_failing_unit_test_prints_expected_against_actual() {
    let p = seeded();
    let run = p
        .kiln(&["test", "-s", "unit_test:totals_wrong_on_purpose"])
        .run();
    run.assert_code(1);
    // dbt's (daff's) table: the changed row marked `→`, the cell as expected→actual, on the
    // expected columns only (total_paid is not expected, so not compared).
    let want = "\
Failure in unit_test totals_wrong_on_purpose (models/schema.yml)
  

actual differs from expected:

@@,customer_id,orders,total_amount
  ,10         ,1     ,5.0
→ ,11         ,2→1   ,7.0


  compiled code at target/compiled/unit_shop/models/schema.yml/customer_totals/totals_wrong_on_purpose.sql";
    assert!(run.stdout.contains(want), "{}", run.stdout);
    assert!(run.stdout.contains(
        "1 of 1 FAIL 1 customer_totals::totals_wrong_on_purpose ......................... [FAIL 1 in"
    ));
    // The compiled model reads the fixtures as CTEs, the missing columns typed NULLs.
    let compiled = p.read(
        "target/compiled/unit_shop/models/schema.yml/customer_totals/totals_wrong_on_purpose.sql",
    );
    assert!(
        compiled.contains("with __dbt__cte__stg_orders as ("),
        "{compiled}"
    );
    assert!(
        compiled.contains("cast(null as VARCHAR) as \"status\""),
        "{compiled}"
    );
    assert!(
        compiled.contains("__dbt__cte__shop__raw_payments as (\n\n-- Fixture for raw_payments\nselect * from (\nselect cast(null as INTEGER) as \"payment_id\""),
        "{compiled}"
    );
    assert!(compiled.contains("limit 0"), "{compiled}");
    assert!(
        compiled.contains("from __dbt__cte__stg_orders as o"),
        "{compiled}"
    );
}

#[test]
fn overrides_set_vars_env_vars_and_is_incremental() {
    // orders_incremental itself is never built: `this` is typed from its query.
    let p = seeded();
    unit_tests_pass(
        &p,
        &["customer_totals", "orders_incremental"],
        &[
            "customer_totals::totals_per_customer",
            "orders_incremental::incremental_only_new_rows",
            "orders_incremental::full_refresh_all_rows",
        ],
    );
    let dir = "target/compiled/unit_shop/models/schema.yml";
    // vars: {min_amount: 10}
    let totals = p.read(&format!("{dir}/customer_totals/totals_per_customer.sql"));
    assert!(totals.contains("where o.amount > 10"), "{totals}");
    // macros: {is_incremental: true}, env_vars: {SHOP_REGION: us}, and `this` as a fixture
    // (typed from the model's own query: orders_incremental was never built).
    let inc = p.read(&format!(
        "{dir}/orders_incremental/incremental_only_new_rows.sql"
    ));
    assert!(inc.contains("'us' as region"), "{inc}");
    assert!(
        inc.contains(
            "where updated_at > (select max(updated_at) from __dbt__cte__orders_incremental)"
        ),
        "{inc}"
    );
    assert!(
        inc.contains("-- Fixture for this (orders_incremental)"),
        "{inc}"
    );
    // The override wins over the environment.
    p.kiln(&["test", "-s", "unit_test:incremental_only_new_rows"])
        .env("SHOP_REGION", "ignored-by-the-override")
        .run()
        .assert_success();
    // is_incremental: false, no env override: the default region, no filter.
    let full = p.read(&format!(
        "{dir}/orders_incremental/full_refresh_all_rows.sql"
    ));
    assert!(full.contains("'eu' as region"), "{full}");
    assert!(!full.contains("where updated_at >"), "{full}");

    // Without the override the incremental test sees is_incremental() false and fails.
    let schema = p.read("models/schema.yml").replace(
        "      macros:\n        is_incremental: true\n",
        "      macros: {}\n",
    );
    p.write("models/schema.yml", &schema);
    let run = p
        .kiln(&["test", "-s", "unit_test:incremental_only_new_rows"])
        .run();
    run.assert_code(1);
    assert!(run.stdout.contains("+++,1"), "{}", run.stdout);
}

#[test]
fn csv_sql_and_fixture_file_formats() {
    let p = seeded();
    // csv from tests/fixtures/raw_orders_dupes.csv, expected rows from
    // tests/fixtures/stg_orders_latest.sql; csv and sql inline
    unit_tests_pass(
        &p,
        &["stg_orders", "customer_totals"],
        &[
            "stg_orders::dedupe_from_csv_fixture",
            "customer_totals::totals_per_customer",
        ],
    );
    let dir = "target/compiled/unit_shop/models/schema.yml";
    let csv = p.read(&format!("{dir}/stg_orders/dedupe_from_csv_fixture.sql"));
    assert!(
        csv.contains("select cast('7' as INTEGER) as \"id\", cast(null as INTEGER) as \"customer_id\", cast('1' as DOUBLE) as \"amount\""),
        "{csv}"
    );
    let sql = p.read(&format!("{dir}/customer_totals/totals_per_customer.sql"));
    assert!(
        sql.contains("-- Fixture for raw_payments\nselect 2 as order_id, 20.0 as paid"),
        "{sql}"
    );
    // A fixture file is not a singular test.
    let r: Value = serde_json::from_str(&p.read("target/manifest.json")).expect("manifest");
    assert!(
        r["nodes"]
            .as_object()
            .expect("nodes")
            .keys()
            .all(|k| !k.contains("stg_orders_latest"))
    );
}

#[test]
fn manifest_holds_unit_tests_in_dbts_shape() {
    let p = project();
    p.kiln(&["parse"]).run().assert_success();
    let m: Value = serde_json::from_str(&p.read("target/manifest.json")).expect("manifest");
    let ids: BTreeSet<&str> = m["unit_tests"]
        .as_object()
        .expect("unit_tests")
        .keys()
        .map(String::as_str)
        .collect();
    // One per tested version (`versions: {include: [1]}`, `{exclude: [1]}`); a disabled test
    // is left out, as in dbt.
    assert_eq!(
        ids,
        BTreeSet::from([
            "unit_test.unit_shop.customer_totals.totals_per_customer",
            "unit_test.unit_shop.customer_totals.totals_wrong_on_purpose",
            "unit_test.unit_shop.dim_customers.counts_per_customer_v2",
            "unit_test.unit_shop.dim_customers.one_row_per_customer_v1",
            "unit_test.unit_shop.orders_incremental.full_refresh_all_rows",
            "unit_test.unit_shop.orders_incremental.incremental_only_new_rows",
            "unit_test.unit_shop.stg_orders.dedupe_from_csv_fixture",
            "unit_test.unit_shop.stg_orders.keeps_latest_order_version",
        ])
    );
    let mut v1 =
        m["unit_tests"]["unit_test.unit_shop.dim_customers.one_row_per_customer_v1"].clone();
    v1["checksum"] = Value::from("[checksum]");
    insta::assert_json_snapshot!("manifest_versioned_unit_test", v1);
    let mut csv = m["unit_tests"]["unit_test.unit_shop.stg_orders.dedupe_from_csv_fixture"].clone();
    csv["checksum"] = Value::from("[checksum]");
    insta::assert_json_snapshot!("manifest_fixture_unit_test", csv);
    // The model's children include its unit tests; each unit test's parent is its model.
    let children = m["child_map"]["model.unit_shop.stg_orders"]
        .as_array()
        .expect("children");
    assert!(children.contains(&Value::from(
        "unit_test.unit_shop.stg_orders.keeps_latest_order_version"
    )));
    assert_eq!(
        m["parent_map"]["unit_test.unit_shop.stg_orders.keeps_latest_order_version"],
        serde_json::json!(["model.unit_shop.stg_orders"])
    );
    // dbt's v12 schema accepts it.
    let schema: Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/manifest-v12.json"),
        )
        .expect("schema"),
    )
    .expect("schema json");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let problems: Vec<String> = validator
        .iter_errors(&m)
        .map(|e| format!("{}: {}", e.instance_path(), e))
        .take(5)
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn selection_by_test_type_resource_type_tag_and_model() {
    let p = project();
    p.kiln(&["seed"]).run().assert_success();
    p.kiln(&["run"]).run().assert_success();
    let finished = |args: &[&str]| {
        let run = p.kiln(args).run();
        let line = finished_line(&run.stdout);
        assert!(!line.is_empty(), "{}", run.snapshot());
        line
    };
    assert_eq!(
        finished(&["test", "-s", "test_type:unit"]),
        "Finished running 8 unit tests"
    );
    assert_eq!(
        finished(&["test", "-s", "test_type:data"]),
        "Finished running 1 data test"
    );
    assert_eq!(
        finished(&["test", "--resource-type", "unit_test"]),
        "Finished running 8 unit tests"
    );
    assert_eq!(
        finished(&["test", "--exclude-resource-type", "unit_test"]),
        "Finished running 1 data test"
    );
    assert_eq!(
        finished(&["test", "-s", "tag:dedupe"]),
        "Finished running 1 unit test"
    );
    // A model selects its unit tests as it selects its data tests.
    assert_eq!(
        finished(&["test", "-s", "stg_orders"]),
        "Finished running 1 data test, 2 unit tests"
    );
    assert_eq!(
        finished(&["build", "-s", "stg_orders"]),
        "Finished running 1 data test, 2 unit tests, 1 view model"
    );
    // `ls` lists them as dbt does.
    let ls = p.kiln(&["ls", "-s", "stg_orders"]).run();
    ls.assert_success();
    assert_eq!(
        ls.stdout,
        "unit_shop.stg_orders\nunit_shop.not_null_stg_orders_id\nunit_test:unit_shop.dedupe_from_csv_fixture\nunit_test:unit_shop.keeps_latest_order_version\n"
    );
    // `run` never runs tests.
    assert_eq!(
        finished(&["run", "-s", "stg_orders"]),
        "Finished running 1 view model"
    );
}

#[test]
fn an_input_never_built_is_an_error_saying_what_to_do_unless_yaml_types_it() {
    let p = project();
    // raw_orders is not loaded: its columns are unknown.
    let run = p
        .kiln(&["test", "-s", "unit_test:keeps_latest_order_version"])
        .run();
    run.assert_code(1);
    assert!(
        run.stdout.contains("Not able to get columns for unit test 'keeps_latest_order_version' from relation \"dev\".\"main\".\"raw_orders\" because the relation doesn't exist\n  load it first (`kiln seed -s raw_orders`), or declare its columns with a data_type in YAML"),
        "{}",
        run.stdout
    );
    // Declared with data types in YAML, the seed need not be loaded.
    p.write(
        "seeds/schema.yml",
        "seeds:\n  - name: raw_orders\n    columns:\n      - {name: id, data_type: integer}\n      - {name: customer_id, data_type: integer}\n      - {name: amount, data_type: double}\n      - {name: status, data_type: varchar}\n      - {name: updated_at, data_type: timestamp}\n",
    );
    p.kiln(&["test", "-s", "unit_test:keeps_latest_order_version"])
        .run()
        .assert_success();
}

/// A project with one model and the unit test `yaml`, checked by `kiln parse`.
fn parse_error(yaml: &str, extra: &[(&str, &str)]) -> String {
    let mut p = TestProject::minimal()
        .file(
            "models/orders.sql",
            "select id, amount from {{ ref('raw') }}\n",
        )
        .file("models/raw.sql", "select 1 as id, 2.0 as amount\n")
        .file("models/unit.yml", yaml);
    for (path, text) in extra {
        p = p.file(path, text);
    }
    let run = p.kiln(&["parse"]).run();
    run.assert_code(2);
    run.snapshot()
}

#[test]
fn bad_unit_tests_are_errors_at_their_line() {
    insta::assert_snapshot!(
        "error_unknown_model",
        parse_error(
            "unit_tests:\n  - name: t\n    model: order\n    given: []\n    expect: {rows: []}\n",
            &[]
        )
    );
    insta::assert_snapshot!(
        "error_unknown_input",
        parse_error(
            "unit_tests:\n  - name: t\n    model: orders\n    given:\n      - input: ref('raw')\n        rows: []\n      - input: ref('nope')\n        rows: []\n    expect: {rows: []}\n",
            &[]
        )
    );
    insta::assert_snapshot!(
        "error_input_missing",
        parse_error(
            "unit_tests:\n  - name: t\n    model: orders\n    given: []\n    expect: {rows: []}\n",
            &[]
        )
    );
    insta::assert_snapshot!(
        "error_csv_field_count",
        parse_error(
            "unit_tests:\n  - name: t\n    model: orders\n    given:\n      - input: ref('raw')\n        format: csv\n        rows: |\n          id,amount\n          1,2\n          3\n    expect: {rows: []}\n",
            &[]
        )
    );
    insta::assert_snapshot!(
        "error_csv_fixture_field_count",
        parse_error(
            "unit_tests:\n  - name: t\n    model: orders\n    given:\n      - input: ref('raw')\n        format: csv\n        fixture: raw_rows\n    expect: {rows: []}\n",
            &[("tests/fixtures/raw_rows.csv", "id,amount\n1,2\n3,4,5\n")]
        )
    );
    insta::assert_snapshot!(
        "error_unknown_fixture",
        parse_error(
            "unit_tests:\n  - name: t\n    model: orders\n    given:\n      - input: ref('raw')\n        format: csv\n        fixture: raw_rowz\n    expect: {rows: []}\n",
            &[]
        )
    );
    insta::assert_snapshot!(
        "error_format_mismatch",
        parse_error(
            "unit_tests:\n  - name: t\n    model: orders\n    given:\n      - input: ref('raw')\n        format: csv\n        rows:\n          - {id: 1}\n    expect: {rows: []}\n",
            &[]
        )
    );
}

#[test]
fn an_expected_column_the_model_does_not_return_is_an_error() {
    let p = TestProject::minimal()
        .file("models/raw.sql", "select 1 as id, 2.0 as amount\n")
        .file("models/orders.sql", "select id, amount from {{ ref('raw') }}\n")
        .file(
            "models/unit.yml",
            "unit_tests:\n  - name: t\n    model: orders\n    given:\n      - input: ref('raw')\n        rows: [{id: 1}]\n    expect:\n      rows: [{idd: 1}]\n",
        );
    p.kiln(&["run", "-s", "raw"]).run().assert_success();
    let run = p.kiln(&["test"]).run();
    run.assert_code(1);
    assert!(
        run.stdout.contains("unit test 't' expects column 'idd' (did you mean 'id'?), which model 'orders' does not return; it returns: id, amount"),
        "{}",
        run.stdout
    );
    // A fixture column the input does not have: dbt's message, with a did-you-mean.
    p.write(
        "models/unit.yml",
        "unit_tests:\n  - name: t\n    model: orders\n    given:\n      - input: ref('raw')\n        rows: [{idd: 1}]\n    expect:\n      rows: [{id: 1}]\n",
    );
    let run = p.kiln(&["test"]).run();
    run.assert_code(1);
    assert!(
        run.stdout.contains("Invalid column name: 'idd' (did you mean 'id'?) in unit test fixture for 'raw' of unit test 't'. Accepted columns for 'raw' are: id, amount"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_input_the_model_does_not_read_is_a_warning() {
    // dbt runs such a test (its fixture is unused): a warning at the input's line, exit 0.
    let p = TestProject::minimal()
        .file("models/raw.sql", "select 1 as id, 2.0 as amount\n")
        .file("models/other.sql", "select 1 as id\n")
        .file("models/orders.sql", "select id, amount from {{ ref('raw') }}\n")
        .file(
            "models/unit.yml",
            "unit_tests:\n  - name: t\n    model: orders\n    given:\n      - input: ref('raw')\n        rows: []\n      - input: ref('other')\n        rows: []\n    expect: {rows: []}\n",
        );
    let run = p.kiln(&["parse"]).run();
    run.assert_success();
    insta::assert_snapshot!("warning_input_not_read", run.snapshot());
}

/// dbt_project.yml's `unit_tests:` tree configures unit tests by their fqn (package, folders,
/// model, test), under the test's own `config:` (tags add up, meta keys merge: what dbt-core
/// 1.11 writes in the manifest for the same project); `+enabled: false` leaves them out.
#[test]
fn dbt_project_unit_tests_configs_apply_under_the_tests_own() {
    let p = project();
    let base = p.read("dbt_project.yml");
    p.write(
        "dbt_project.yml",
        &format!(
            "{base}unit_tests:\n  unit_shop:\n    +tags: [nightly]\n    +meta: {{team: core}}\n    \
             customer_totals:\n      +enabled: false\n"
        ),
    );
    p.kiln(&["parse"]).run().assert_success();
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).expect("manifest.json");
    let t = &manifest["unit_tests"]["unit_test.unit_shop.stg_orders.keeps_latest_order_version"];
    assert_eq!(
        t["config"]["tags"],
        serde_json::json!(["nightly", "dedupe"])
    );
    assert_eq!(
        t["config"]["meta"],
        serde_json::json!({"team": "core", "owner": "data"})
    );
    let ls = p
        .kiln(&["ls", "-s", "tag:nightly", "--resource-type", "unit_test"])
        .run();
    ls.assert_success();
    assert!(!ls.stdout.contains("customer_totals"), "{}", ls.stdout);
    assert!(
        ls.stdout
            .contains("unit_test:unit_shop.keeps_latest_order_version"),
        "{}",
        ls.stdout
    );
    assert_eq!(ls.stdout.lines().count(), 6, "{}", ls.stdout);
}

/// `state:modified` and `state:new` select unit tests as dbt does: by their checksum (a `given`
/// row added), and a unit test the state manifest lacks is new.
#[test]
fn state_selects_modified_and_new_unit_tests() {
    let p = project();
    p.kiln(&["parse"]).run().assert_success();
    std::fs::create_dir_all(p.dir().join("prod")).expect("mkdir prod");
    std::fs::copy(
        p.dir().join("target/manifest.json"),
        p.dir().join("prod/manifest.json"),
    )
    .expect("copy manifest");
    let ls = |sel: &str| {
        let run = p
            .kiln(&[
                "ls",
                "-s",
                sel,
                "--state",
                "prod",
                "--resource-type",
                "unit_test",
            ])
            .run();
        run.assert_success();
        run.stdout.clone()
    };
    assert_eq!(ls("state:modified"), "");
    let schema = p.read("models/schema.yml");
    let changed = schema.replacen(
        "          - {id: 2, status: placed, updated_at: \"2024-01-03 09:00:00\"}",
        "          - {id: 2, status: placed, updated_at: \"2024-01-03 09:00:00\"}\n          - {id: 3, status: placed, updated_at: \"2024-01-04 09:00:00\"}",
        1,
    );
    assert_ne!(schema, changed);
    p.write("models/schema.yml", &changed);
    assert_eq!(
        ls("state:modified"),
        "unit_test:unit_shop.keeps_latest_order_version\n"
    );
    assert_eq!(ls("state:new"), "");
    let renamed = changed.replacen(
        "name: keeps_latest_order_version",
        "name: keeps_the_latest_version",
        1,
    );
    p.write("models/schema.yml", &renamed);
    assert_eq!(
        ls("state:new"),
        "unit_test:unit_shop.keeps_the_latest_version\n"
    );
}

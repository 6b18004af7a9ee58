//! Enforced model contracts (`tests/fixtures/contracts`): a contract that holds builds tables
//! with the declared column types and constraints, which DuckDB then enforces; a contract that
//! does not hold fails the model before anything is built, with dbt's table of mismatches, and
//! leaves the previous relation as it was. dbt-core's output on the same project is recorded in
//! `tests/dbt_recorded/contract_*.txt`.

use crate::db::{column, query, relations, statuses};
use crate::support::TestProject;

/// Runs `sql` on the project's database and returns DuckDB's error.
fn db_error(p: &TestProject, sql: &str) -> String {
    let conn = duckdb::Connection::open(p.dir().join("dev.duckdb")).expect("open dev.duckdb");
    match conn.execute_batch(sql) {
        Ok(()) => panic!("{sql} succeeded"),
        Err(e) => e.to_string(),
    }
}

/// `column type` of a relation, in order.
fn columns(p: &TestProject, table: &str) -> Vec<String> {
    column(
        p,
        &format!(
            "select column_name || ' ' || data_type from duckdb_columns() where table_name = '{table}' order by column_index"
        ),
    )
}

/// The recorded dbt output for `scenario` (tests/dbt_recorded/contract_<scenario>.txt).
fn recorded(scenario: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/dbt_recorded/contract_{scenario}.txt"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The table of mismatches in an output: its `| ... |` lines.
fn mismatch_table(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('|'))
        .map(String::from)
        .collect()
}

#[test]
fn a_contract_that_holds_builds_typed_tables_whose_constraints_duckdb_enforces() {
    let p = TestProject::fixture("contracts");
    let run = p.kiln(&["build"]).run();
    run.assert_success();
    // the declared types, in contract order (the SQL selects `name` first)
    assert_eq!(
        columns(&p, "customers"),
        vec![
            "customer_id INTEGER",
            "name VARCHAR",
            "balance DECIMAL(10,2)",
            "score INTEGER"
        ]
    );
    assert_eq!(
        columns(&p, "events"),
        vec!["event_id BIGINT", "kind VARCHAR"]
    );
    assert_eq!(
        columns(&p, "customer_names"),
        vec!["customer_id INTEGER", "name VARCHAR"]
    );
    assert_eq!(
        query(
            &p,
            "select customer_id, name, balance::varchar, score from main.customers order by 1"
        ),
        vec![
            vec!["1", "ada", "12.50", "7"],
            vec!["2", "grace", "0.25", "40"]
        ]
    );
    assert_eq!(
        column(
            &p,
            "select table_name || ' ' || constraint_type || ' ' || array_to_string(constraint_column_names, ',') from duckdb_constraints() where schema_name = 'main' order by 1"
        ),
        vec![
            "customers CHECK score",
            "customers CHECK score",
            "customers NOT NULL customer_id",
            "customers PRIMARY KEY customer_id",
            "customers UNIQUE name",
            "customers UNIQUE name,score",
            "events NOT NULL event_id",
            "events NOT NULL kind",
            "orders FOREIGN KEY customer_id",
            // (DuckDB adds NOT NULL to a primary key)
            "orders NOT NULL order_id",
            "orders PRIMARY KEY order_id",
        ]
    );
    // DuckDB enforces them
    assert!(
        db_error(&p, "insert into main.customers values (null, 'x', 1, 1)")
            .contains("NOT NULL constraint failed"),
    );
    assert!(
        db_error(&p, "insert into main.customers values (3, 'x', 1, 150)")
            .contains("CHECK constraint failed"),
    );
    assert!(
        db_error(&p, "insert into main.customers values (1, 'x', 1, 1)").contains("Duplicate key"),
    );
    assert!(
        db_error(&p, "insert into main.orders values (102, 99)").contains("foreign key constraint"),
    );
    // the DDL, as dbt-duckdb writes it: an empty table, then an insert in contract order
    insta::assert_snapshot!(
        p.read("target/run/contracts/models/customers.sql"),
        @r#"
    begin;

    create table "dev"."main"."customers" (
        customer_id int not null primary key,
        name TEXT unique,
        balance decimal(10,2),
        score integer check (score < 100),
        constraint score_positive check (score >= 0),
        unique (name, score)
    );

    insert into "dev"."main"."customers" (customer_id, name, balance, score) (
        select customer_id, name, balance, score
        from (
    select 'ada' as name, 1 as customer_id, cast(12.50 as decimal(10,2)) as balance, 7 as score
    union all
    select 'grace', 2, 0.25, 40
        ) as model_subq
    );

    commit;
    "#
    );
    assert!(
        p.read("target/run/contracts/models/orders.sql")
            .contains(r#"customer_id integer references "main"."customers" (customer_id)"#)
    );
    // a second build replaces every table, the foreign key's parent included
    let again = p.kiln(&["build", "--no-reuse"]).run();
    again.assert_success();
    assert!(
        again
            .stdout
            .contains("main.orders references main.customers through a foreign key"),
        "{}",
        again.stdout
    );
    assert_eq!(column(&p, "select count(*) from main.orders"), vec!["2"]);
    // orders, rebuilt after customers, has its foreign key again
    assert!(
        db_error(&p, "insert into main.orders values (102, 99)").contains("foreign key constraint"),
    );
    assert!(relations(&p).iter().all(|r| !r.contains("__kiln")));
}

#[test]
fn a_contract_that_does_not_hold_fails_before_building_and_keeps_the_old_table() {
    let p = TestProject::fixture("contracts");
    p.kiln(&["build"]).run().assert_success();
    // score becomes text, balance disappears, an undeclared column appears
    p.write(
        "models/customers.sql",
        "{{ config(materialized='table') }}\nselect 'ada' as name, 1 as customer_id, 'high' as score, 3 as extra",
    );
    let run = p.kiln(&["run", "-s", "customers"]).run();
    run.assert_code(1);
    // the error as kiln prints it, from its first line to the summary
    let error: String = run
        .stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("Compilation Error"))
        .take_while(|l| !l.starts_with("Done."))
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    insta::assert_snapshot!(error, @r"
    Compilation Error in model customers (models/customers.sql)
    This model has an enforced contract that failed.
    Please ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.

    | column_name | definition_type | contract_type | mismatch_reason       |
    | ----------- | --------------- | ------------- | --------------------- |
    | balance     |                 | DECIMAL(10,2) | missing in definition |
    | extra       | INTEGER         |               | missing in contract   |
    | score       | VARCHAR         | INTEGER       | data type mismatch    |

    compiled code at target/compiled/contracts/models/customers.sql
    ");
    // dbt's table of mismatches, line for line
    assert_eq!(
        mismatch_table(&run.stdout),
        mismatch_table(&recorded("mismatch"))
    );
    // nothing was built: the old table, its rows and its types are intact
    assert_eq!(
        columns(&p, "customers"),
        vec![
            "customer_id INTEGER",
            "name VARCHAR",
            "balance DECIMAL(10,2)",
            "score INTEGER"
        ]
    );
    assert_eq!(column(&p, "select count(*) from main.customers"), vec!["2"]);
    assert!(relations(&p).iter().all(|r| !r.contains("__kiln")));
    assert_eq!(statuses(&p), vec!["model.contracts.customers error"]);
}

#[test]
fn a_view_under_a_contract_has_its_columns_checked() {
    let p = TestProject::fixture("contracts");
    p.kiln(&["build"]).run().assert_success();
    p.write(
        "models/customer_names.sql",
        "select customer_id, length(name) as name from {{ ref('customers') }}",
    );
    let run = p.kiln(&["run", "-s", "customer_names"]).run();
    run.assert_code(1);
    assert_eq!(
        mismatch_table(&run.stdout),
        vec![
            "| column_name | definition_type | contract_type | mismatch_reason    |",
            "| ----------- | --------------- | ------------- | ------------------ |",
            "| name        | BIGINT          | VARCHAR       | data type mismatch |",
        ]
    );
    // the view still has its old definition
    assert_eq!(
        column(&p, "select name from main.customer_names order by 1"),
        vec!["ADA", "GRACE"]
    );
}

#[test]
fn an_incremental_model_checks_its_contract_on_every_run() {
    let p = TestProject::fixture("contracts");
    p.kiln(&["build"]).run().assert_success();
    p.kiln(&["run", "-s", "events", "--vars", "{event_id: 2}"])
        .run()
        .assert_success();
    assert_eq!(
        column(&p, "select event_id from main.events order by 1"),
        vec!["1", "2"]
    );
    // a NULL in a not_null column: the database refuses it, nothing is written
    let null = p
        .kiln(&[
            "run",
            "-s",
            "events",
            "--vars",
            "{event_id: 3, kind: 'null::varchar'}",
        ])
        .run();
    null.assert_code(1);
    assert!(
        null.stdout.contains("NOT NULL constraint failed"),
        "{}",
        null.stdout
    );
    // a column of another type: the contract fails before anything runs
    let typed = p
        .kiln(&["run", "-s", "events", "--vars", "{event_id: 3, kind: 1}"])
        .run();
    typed.assert_code(1);
    assert_eq!(
        mismatch_table(&typed.stdout),
        mismatch_table(&recorded("incremental"))
    );
    assert_eq!(
        column(&p, "select event_id from main.events order by 1"),
        vec!["1", "2"]
    );
}

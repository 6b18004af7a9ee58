//! Running plans on a real (in-memory) DuckDB: transactions opened by a plan's own steps, or by
//! hooks as their authors write them (recognised by the parser), roll back as a whole.

use super::plan::run_plan;
use crate::adapter::{Adapter, Connection, DuckDb};
use crate::materialize::{Plan, Step};

/// A plan: `begin` and `commit` are kiln's own transaction steps, other transaction control
/// a hook's, the rest statements kiln wrote.
fn plan(adapter: &dyn Adapter, statements: &[&str]) -> Plan {
    let dialect = adapter.sql_dialect();
    Plan::new(
        statements
            .iter()
            .map(|s| match *s {
                "begin" => Step::Begin,
                "commit" => Step::Commit,
                s if crate::sql::transaction_control(s, dialect.as_ref()).is_some() => {
                    Step::Hook(s.to_string())
                }
                s => Step::Execute(s.to_string()),
            })
            .collect(),
    )
}

/// The index of the statement a plan failed on.
fn failed_at(ran: Result<Vec<String>, super::PlanFailure>) -> Result<usize, usize> {
    ran.map(|r| r.len()).map_err(|f| f.ran.len() - 1)
}

fn tables_named(conn: &mut dyn Connection, name: &str) -> String {
    conn.query(&format!(
        "select count(*) from information_schema.tables where table_name = '{name}'"
    ))
    .expect("query the catalog")
    .rows[0][0]
        .to_string()
}

#[test]
fn a_failure_inside_a_transaction_rolls_it_back_however_it_was_opened() {
    let duck = DuckDb::in_memory();
    // `begin` as kiln writes it, and as a hook might: with a comment, upper case, `start
    // transaction`, a trailing `;`.
    for (i, begin) in [
        "begin",
        "-- opened by a pre-hook\nBEGIN TRANSACTION;",
        "start transaction",
    ]
    .into_iter()
    .enumerate()
    {
        let mut conn = duck.connect().expect("connect");
        let table = format!("built_{i}");
        let failed = run_plan(
            conn.as_mut(),
            &duck,
            &plan(
                &duck,
                &[
                    begin,
                    &format!("create table {table} as select 1 as a"),
                    "select * from no_such_table",
                    "commit",
                ],
            ),
        );
        assert_eq!(failed_at(failed), Err(2), "{begin}");
        // Rolled back: the table is gone and the connection is out of the transaction (a new
        // `begin` works).
        assert_eq!(tables_named(conn.as_mut(), &table), "0", "{begin}");
        conn.execute("begin").expect("no transaction left open");
        conn.execute("rollback").expect("rollback");
    }
}

#[test]
fn statements_after_a_commit_are_not_rolled_back() {
    let duck = DuckDb::in_memory();
    let mut conn = duck.connect().expect("connect");
    let failed = run_plan(
        conn.as_mut(),
        &duck,
        &plan(
            &duck,
            &[
                "begin",
                "create table kept as select 1 as a",
                "/* done */ COMMIT;",
                "select * from no_such_table",
            ],
        ),
    );
    assert_eq!(failed_at(failed), Err(3));
    assert_eq!(tables_named(conn.as_mut(), "kept"), "1");
}

/// The rows of `sql`, each as text cells joined by `|`.
fn rows(conn: &mut dyn Connection, sql: &str) -> Vec<String> {
    conn.query(sql)
        .expect("query")
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// An incremental step's plan, run by the interpreter: it reads the staged and the target's
/// columns, then runs what the continuation plans from them (a new column added, the rows
/// merged); a duplicate key fails the check and leaves the table as it was.
#[test]
fn an_incremental_step_reads_then_applies_and_rolls_back_on_a_failed_check() {
    use crate::materialize::Hooks;
    use crate::materialize::incremental::{IncrementalConfig, step_plan};
    use crate::project::{Node, ResourceType};
    let duck = DuckDb::in_memory();
    let mut conn = duck.connect().expect("connect");
    conn.execute("create table main.orders as select 1 as id, 10 as amount")
        .expect("the table as a previous run left it");
    let mut node = Node::sample(
        ResourceType::Model,
        "orders",
        serde_json::json!({"materialized": "incremental", "unique_key": "id", "on_schema_change": "append_new_columns"}),
    );
    node.database = "memory".into();
    let cfg = IncrementalConfig::of(&node).expect("config");

    let new_rows = "select 1 as id, 20 as amount, 'x' as note union all select 2, 30, 'y'";
    let plan = step_plan(&duck, &node, &cfg, new_rows, &Hooks::default(), None).expect("plan");
    let ran = run_plan(conn.as_mut(), &duck, &plan).expect("the step runs");
    assert!(
        ran.iter()
            .any(|s| s == "alter table \"memory\".\"main\".\"orders\" add column \"note\" VARCHAR"),
        "{ran:#?}"
    );
    assert_eq!(
        rows(
            conn.as_mut(),
            "select id, amount, note from main.orders order by id"
        ),
        ["1|20|x", "2|30|y"]
    );

    let duplicates = "select 3 as id, 1 as amount, 'z' as note union all select 3, 2, 'z'";
    let plan = step_plan(&duck, &node, &cfg, duplicates, &Hooks::default(), None).expect("plan");
    let failed = run_plan(conn.as_mut(), &duck, &plan).expect_err("duplicate keys");
    assert!(
        failed
            .error
            .message
            .starts_with("the new rows hold 2 rows with the same unique_key (id = 3)"),
        "{}",
        failed.error.message
    );
    assert_eq!(
        rows(
            conn.as_mut(),
            "select id, amount, note from main.orders order by id"
        ),
        ["1|20|x", "2|30|y"]
    );
    assert_eq!(tables_named(conn.as_mut(), "orders__kiln_new"), "0");
}

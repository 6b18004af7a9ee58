//! Running plans on a real (in-memory) DuckDB: transactions opened and closed by statements the
//! parser recognises, hooks included, roll back as a whole.

use super::exec::run_plan_at;
use crate::adapter::{Adapter, Connection, DuckDb};
use crate::materialize::Plan;

fn plan(statements: &[&str]) -> Plan {
    Plan {
        statements: statements.iter().map(|s| s.to_string()).collect(),
    }
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
    let dialect = duck.sql_dialect();
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
        let failed = run_plan_at(
            conn.as_mut(),
            &plan(&[
                begin,
                &format!("create table {table} as select 1 as a"),
                "select * from no_such_table",
                "commit",
            ]),
            dialect.as_ref(),
        );
        assert_eq!(failed.map_err(|(at, _)| at), Err(2), "{begin}");
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
    let dialect = duck.sql_dialect();
    let mut conn = duck.connect().expect("connect");
    let failed = run_plan_at(
        conn.as_mut(),
        &plan(&[
            "begin",
            "create table kept as select 1 as a",
            "/* done */ COMMIT;",
            "select * from no_such_table",
        ]),
        dialect.as_ref(),
    );
    assert_eq!(failed.map_err(|(at, _)| at), Err(3));
    assert_eq!(tables_named(conn.as_mut(), "kept"), "1");
}

//! Every statement every materialization plans, for every adapter, parses in that adapter's
//! sqlparser dialect and prints back stably ([`crate::sql::round_trip`]).
//!
//! The plans are built here without a database, as the snapshot tests in `mod.rs` build them:
//! each materialization with each of its configurations (strategies, what already exists,
//! hooks, schema changes, hard deletes...), over a model that has a `with` and a comment.
//! The queries plans check and read with (`select * from <stage> limit 0`...) and the steps
//! planned from what they read are checked too; the plans come from the catalogue the plan
//! snapshots show ([`super::tests_plans`]).

use super::plan::Hooks;
use super::tests_plans::{Inputs, catalogue, statements};
use crate::adapter::csv::CsvColumn;
use crate::adapter::{Adapter, Athena, DuckDb};

/// A model's compiled SQL, as the plans wrap it.
const MODEL_SQL: &str = "-- the model\nwith src as (\n    select 1 as id, 'a' as plan, 2.5 as amount, current_timestamp as updated_at\n)\nselect * from src\n";

/// Statements that do not survive the round trip in an adapter's dialect though the engine runs
/// them: `(adapter type, the start of the statements' labels, the construct and why)`. Every
/// statement an entry covers must still fail (the test says when one passes), each entry must
/// cover at least one, and any other failure fails the test.
const UNPARSED: &[(&str, &str, &str)] = &[
    (
        "duckdb",
        "persist_docs on a ",
        "`comment on table/view/column ... is '...'`: DuckDB runs it, sqlparser 0.62 reads \
         `COMMENT ON` only in its Generic, PostgreSQL, Snowflake and Oracle dialects",
    ),
    (
        "athena",
        "alter table `main`.`orders` add columns",
        "(a statement, not a label) Athena's Hive DDL `alter table `s`.`t` add columns (c t)`: \
         sqlparser 0.62 reads only `add column`",
    ),
    (
        "athena",
        "alter table `main`.`plans` add columns",
        "(a statement, not a label) the same Hive DDL for a snapshot whose query gained a column",
    ),
    (
        "athena",
        "alter table `main`.`orders` replace columns",
        "(a statement, not a label) Athena's Hive DDL `alter table `s`.`t` replace columns \
         (c t, ...)` (a Hive table's way to drop a column): sqlparser 0.62 has no `replace columns`",
    ),
];

/// Every plan of every materialization for `adapter`: `(label, statements)`, with DuckDB's
/// query over a seed's CSV file and its type-inference query.
fn plans(adapter: &dyn Adapter) -> Vec<(String, Vec<String>)> {
    let columns = [
        ("INTEGER", false, true),
        ("VARCHAR", false, false),
        ("decimal(12,2)", true, true),
        ("varchar(3)", true, false),
    ]
    .map(|(data_type, declared, trim)| CsvColumn {
        data_type: data_type.into(),
        declared,
        trim,
        unconvertible: None,
    });
    let source = crate::adapter::duckdb_csv_source("/data/seeds/it's here.csv", ';', 4);
    let inputs = Inputs {
        sql: MODEL_SQL,
        seed_select: &crate::adapter::duckdb_csv_fill_select(&source, &columns),
        hooks: Hooks {
            pre: vec!["set threads = 1".into()],
            post: vec!["-- done\nbegin transaction".into(), "commit".into()],
        },
    };
    let mut out: Vec<(String, Vec<String>)> = catalogue(adapter, &inputs)
        .iter()
        .map(|(label, entry)| (label.clone(), statements(adapter, entry)))
        .collect();
    out.push((
        "seed inference".into(),
        vec![crate::adapter::duckdb_csv_inference_sample(&source)],
    ));
    out
}

#[test]
fn every_plan_statement_parses_in_its_adapters_dialect() {
    let adapters: [&dyn Adapter; 2] = [&DuckDb::in_memory(), &Athena::sample()];
    let mut checked = 0;
    let mut failures = vec![];
    let mut matched = vec![false; UNPARSED.len()];
    for adapter in adapters {
        let dialect = adapter.sql_dialect();
        let name = adapter.adapter_type();
        for (label, statements) in plans(adapter) {
            let statements: Vec<String> = statements
                .into_iter()
                .filter(|s| !s.trim().is_empty())
                .collect();
            for (i, statement) in statements.iter().enumerate() {
                checked += 1;
                let label = format!("{label} #{}", i + 1);
                let listed = UNPARSED.iter().position(|(a, l, _)| {
                    *a == name && (label.starts_with(l) || statement.starts_with(l))
                });
                match (crate::sql::round_trip(statement, dialect.as_ref()), listed) {
                    (Ok(_), None) => {}
                    (Err(_), Some(i)) => matched[i] = true,
                    (Ok(_), Some(_)) => failures.push(format!(
                        "{name}: {label} parses now: narrow or remove its UNPARSED entry\n{statement}"
                    )),
                    (Err(e), None) => failures.push(format!(
                        "{name}: {label}: {e}\n--- statement ---\n{statement}\n---"
                    )),
                }
            }
        }
    }
    for ((a, l, _), seen) in UNPARSED.iter().zip(matched) {
        if !seen {
            failures.push(format!(
                "{a}: UNPARSED entry `{l}` covers no failing statement"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} statements:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(checked > 200, "only {checked} statements checked");
}

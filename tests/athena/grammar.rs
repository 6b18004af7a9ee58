//! Every Athena SQL statement kiln sends, for every materialization, snapshotted and checked
//! by the grammars Athena runs it with (`sql_check.py`, in the emulator's venv: Trino 422's
//! own grammar for Trino-engine statements, with a list of Trino's functions so a DuckDB-only
//! function fails too, and sqlglot's `athena` dialect for Hive DDL). Athena-invalid SQL (`::`
//! casts, DuckDB functions) fails the test with the statement shown.
//!
//! The statements are what kiln really sent (the recording proxy's StartQueryExecution calls),
//! not what a plan would render: each case runs kiln against moto. To cover a new
//! materialization or config, add a [`Case`] to [`CASES`].

use super::{Warehouse, moto};
use serde_json::{Value, json};

/// One thing kiln does on Athena: the project files, then the steps (kiln commands, and the
/// results the engine would give the next queries).
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    steps: &'static [Step],
}

enum Step {
    Kiln(&'static [&'static str]),
    /// Queues `n` passing data-test verdicts (`failures`, `should_warn`, `should_error`) for
    /// the next `n` queries: moto runs no SQL.
    PassingTests(usize),
    /// Queues, after `skip` empty answers, the `dt` partitions the new rows touch (the answer
    /// of `insert_overwrite`'s `select distinct`).
    Partitions {
        skip: usize,
    },
}

const TWICE: &[Step] = &[Step::Kiln(&["run"]), Step::Kiln(&["run"])];

const CASES: &[Case] = &[
    Case {
        name: "view",
        files: &[(
            "models/v_orders.sql",
            "{{ config(materialized='view') }}\nselect 1 as id, cast('2024-01-01' as date) as day",
        )],
        steps: TWICE,
    },
    Case {
        name: "hive_table",
        files: &[(
            "models/orders.sql",
            "{{ config(materialized='table') }}\nselect 1 as id, 'a' as name",
        )],
        steps: TWICE,
    },
    Case {
        name: "partitioned_hive_table",
        files: &[(
            "models/daily.sql",
            "{{ config(materialized='table', partitioned_by=['dt'], bucketed_by=['id'], bucket_count=4) }}\nselect 1 as id, '2024-01-01' as dt",
        )],
        steps: TWICE,
    },
    Case {
        name: "iceberg_table",
        files: &[(
            "models/events.sql",
            "{{ config(materialized='table', table_type='iceberg', partitioned_by=['day(ts)']) }}\nselect 1 as id, current_timestamp as ts",
        )],
        steps: TWICE,
    },
    Case {
        name: "seed",
        files: &[(
            "seeds/plans.csv",
            "id,name,price,starts,active\n1,basic,9.5,2024-01-01,true\n2,\"pro, yearly\",99,,false\n",
        )],
        steps: &[Step::Kiln(&["seed"]), Step::Kiln(&["seed"])],
    },
    Case {
        name: "incremental_append",
        files: &[(
            "models/events.sql",
            "{{ config(materialized='incremental', incremental_strategy='append') }}\nselect 1 as id\n{% if is_incremental() %}where 1 > (select count(*) from {{ this }}){% endif %}",
        )],
        steps: TWICE,
    },
    Case {
        name: "iceberg_merge",
        files: &[(
            "models/customers.sql",
            "{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id', table_type='iceberg') }}\nselect 1 as id, 'a' as name",
        )],
        steps: TWICE,
    },
    Case {
        name: "insert_overwrite",
        files: &[(
            "models/daily.sql",
            "{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partitioned_by=['dt']) }}\nselect 1 as id, '2024-01-01' as dt",
        )],
        steps: &[
            Step::Kiln(&["run"]),
            Step::Partitions { skip: 1 },
            Step::Kiln(&["run"]),
        ],
    },
    Case {
        name: "data_tests",
        files: &[
            (
                "models/orders.sql",
                "{{ config(materialized='table') }}\nselect 1 as id, 'placed' as status, 1 as customer_id",
            ),
            (
                "models/customers.sql",
                "{{ config(materialized='view') }}\nselect 1 as id",
            ),
            (
                "models/schema.yml",
                "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n        data_tests: [not_null, unique]\n      - name: status\n        data_tests:\n          - accepted_values:\n              values: ['placed', 'shipped']\n      - name: customer_id\n        data_tests:\n          - relationships:\n              to: ref('customers')\n              field: id\n",
            ),
        ],
        steps: &[
            Step::Kiln(&["run"]),
            Step::PassingTests(4),
            Step::Kiln(&["test"]),
        ],
    },
];

/// The statements kiln sent since the proxy's log was cleared, with the bucket and build ids
/// replaced.
fn statements(w: &Warehouse) -> Vec<String> {
    let ids = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .expect("regex");
    w.proxy
        .calls()
        .iter()
        .filter(|c| c.op == "StartQueryExecution")
        .filter_map(|c| c.json()["QueryString"].as_str().map(str::to_string))
        .map(|q| {
            ids.replace_all(&q.replace(&w.bucket, "BUCKET"), "[BUILD]")
                .into_owned()
        })
        .collect()
}

fn queue_passing_tests(w: &Warehouse, n: usize) {
    let cell = |v: &str| json!({"VarCharValue": v});
    let info = |n: &str, t: &str| {
        json!({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": n, "Label": n,
               "Type": t, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": false})
    };
    let result = json!({
        "rows": [
            {"Data": [cell("failures"), cell("should_warn"), cell("should_error")]},
            {"Data": [cell("0"), cell("false"), cell("false")]},
        ],
        "column_info": [info("failures", "bigint"), info("should_warn", "boolean"), info("should_error", "boolean")],
    });
    let body = json!({"account_id": w.account, "region": "us-east-1",
                      "results": vec![result; n]});
    let r = moto::post(
        moto::moto().addr,
        "/moto-api/static/athena/query-results",
        &body.to_string(),
    );
    assert_eq!(r.status(), 201, "queue results: {}", r.text());
}

fn queue_partitions(w: &Warehouse, skip: usize) {
    let cell = |v: &str| json!({"VarCharValue": v});
    let info = json!({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": "dt",
        "Label": "dt", "Type": "varchar", "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN",
        "CaseSensitive": false});
    let mut results = vec![json!({"rows": [], "column_info": []}); skip];
    results.push(
        json!({"rows": [{"Data": [cell("dt")]}, {"Data": [cell("2024-01-01")]}],
                        "column_info": [info]}),
    );
    let body = json!({"account_id": w.account, "region": "us-east-1", "results": results});
    let r = moto::post(
        moto::moto().addr,
        "/moto-api/static/athena/query-results",
        &body.to_string(),
    );
    assert_eq!(r.status(), 201, "queue results: {}", r.text());
}

/// What `sql_check.py` says of each statement: `None` when it parses, else the error.
pub(super) fn check(statements: &[String]) -> Vec<Option<String>> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/athena/sql_check.py");
    let mut child = std::process::Command::new(moto::python())
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run sql_check.py");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(json!(statements).to_string().as_bytes())
            .expect("write the statements");
    }
    let out = child.wait_with_output().expect("sql_check.py");
    assert!(
        out.status.success(),
        "sql_check.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<Value> = serde_json::from_slice(&out.stdout).expect("sql_check.py's JSON");
    assert_eq!(verdicts.len(), statements.len());
    verdicts
        .iter()
        .map(|v| {
            v["error"]
                .as_str()
                .map(|e| format!("{} grammar: {e}", v["grammar"].as_str().unwrap_or("?")))
        })
        .collect()
}

#[test]
fn every_athena_statement_parses_with_athenas_grammars() {
    let mut all: Vec<(&str, String)> = Vec::new();
    for case in CASES {
        let w = Warehouse::new(case.files);
        let mut text = String::new();
        for step in case.steps {
            match step {
                Step::Kiln(args) => {
                    w.proxy.clear();
                    w.kiln(args).assert_success();
                    let sent = statements(&w);
                    assert!(
                        !sent.is_empty(),
                        "{}: kiln {args:?} sent nothing",
                        case.name
                    );
                    text.push_str(&format!("-- kiln {}\n", args.join(" ")));
                    for s in sent {
                        text.push_str(&s);
                        text.push_str(";\n\n");
                        all.push((case.name, s));
                    }
                }
                Step::PassingTests(n) => queue_passing_tests(&w, *n),
                Step::Partitions { skip } => queue_partitions(&w, *skip),
            }
        }
        insta::assert_snapshot!(format!("statements_{}", case.name), text);
    }
    let verdicts = check(&all.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>());
    let failures: Vec<String> = all
        .iter()
        .zip(verdicts)
        .filter_map(|((case, sql), v)| v.map(|e| format!("[{case}] {e}\n{sql}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} Athena statement(s) Athena would reject:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The check fails on what Athena rejects (so the test above can fail), and accepts the
/// forms it must.
#[test]
fn the_grammar_check_rejects_what_athena_would() {
    let bad = [
        "select a::integer from t",
        "select * from t qualify row_number() over (order by a) = 1",
        "select * from t where a ilike 'x%'",
        "select [1, 2, 3]",
        "select epoch_ms(ts) from t",
        "select list_value(1, 2)",
        "select strftime(ts, '%Y') from t",
        "create table t using parquet as select 1",
        "create external table `s`.`t` (`a` string) row fomat serde 'x' location 's3://b/t/'",
    ];
    let good = [
        "select cast(a as integer), try(date_parse(b, '%Y-%m-%d')) from \"c\".\"s\".\"t\"",
        "create external table `s`.`t` (`a` string)\nrow format serde 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\nlocation 's3://b/t/'\ntblproperties ('skip.header.line.count'='1')",
        "merge into \"c\".\"s\".\"t\" as d using \"c\".\"s\".\"u\" as s on (d.id = s.id) when matched then update set id = s.id when not matched then insert (id) values (s.id)",
    ];
    let stmts: Vec<String> = bad
        .iter()
        .chain(good.iter())
        .map(|s| s.to_string())
        .collect();
    let verdicts = check(&stmts);
    for (sql, v) in bad.iter().zip(&verdicts) {
        assert!(v.is_some(), "accepted, but Athena rejects it: {sql}");
    }
    for (sql, v) in good.iter().zip(&verdicts[bad.len()..]) {
        assert!(v.is_none(), "rejected, but Athena runs it: {sql}\n{v:?}");
    }
}

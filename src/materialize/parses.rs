//! Every statement every materialization plans, for every adapter, parses in that adapter's
//! sqlparser dialect and prints back stably ([`crate::sql::round_trip`]).
//!
//! The plans are built here without a database, as the snapshot tests in `mod.rs` build them:
//! each materialization with each of its configurations (strategies, what already exists,
//! hooks, schema changes, hard deletes...), over a model that has a `with` and a comment.
//! Statements the runner adds itself (`select * from <stage> limit 0`, a microbatch's first
//! `create or replace table ... limit 0`) are written in `src/runner/stateful.rs` and are
//! checked there once they move into plans.

use super::incremental::{self, IncrementalConfig};
use super::seed::{self, Check, SeedColumn};
use super::snapshot::{self, SnapshotConfig};
use super::test::{self as test_plan, TestConfig};
use super::*;
use crate::adapter::{Athena, Column, DuckDb};
use crate::project::ResourceType;
use serde_json::json;

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
        "persist_docs on a ",
        "`comment on ... is 'it''s'`: sqlparser 0.62 prints a COMMENT ON text without doubling \
         its quotes (`is 'it's'`), which does not parse back. (Athena has no COMMENT ON at all, \
         though the adapter claims `supports_comments`: issue 12, section 1.)",
    ),
];

fn col(name: &str, t: &str) -> Column {
    Column {
        name: name.into(),
        data_type: t.into(),
        comment: None,
    }
}

fn model(config: serde_json::Value) -> Node {
    Node::sample(ResourceType::Model, "orders", config)
}

/// Every plan of every materialization for `adapter`: `(label, statements)`.
fn plans(adapter: &dyn Adapter) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = vec![];
    let existing_kinds = [
        ("new", None),
        ("over a view", Some(RelationKind::View)),
        ("over a table", Some(RelationKind::Table)),
    ];
    let hooks = Hooks {
        pre: vec!["set threads = 1".into()],
        post: vec!["-- done\nbegin transaction".into(), "commit".into()],
    };

    // view, table, ephemeral
    for materialized in ["view", "table", "ephemeral"] {
        let node = model(json!({ "materialized": materialized }));
        for (what, existing) in existing_kinds {
            if let Ok(plan) = plan_model(
                adapter,
                &node,
                MODEL_SQL,
                existing,
                &hooks,
                &Default::default(),
            ) {
                out.push((format!("{materialized} {what}"), plan.statements));
            }
        }
    }

    // persist_docs and grants
    let mut documented = model(json!({
        "persist_docs": {"relation": true, "columns": true},
        "grants": {"select": ["analyst", "reporter"]},
    }));
    documented.description = "Orders, one row per order; it's paid".into();
    for (name, description) in [("id", "The order's id"), ("absent", "Not in the relation")] {
        documented.columns.insert(
            name.into(),
            crate::project::ColumnInfo {
                name: name.into(),
                description: description.into(),
                ..Default::default()
            },
        );
    }
    for kind in [RelationKind::Table, RelationKind::View] {
        out.push((
            format!("persist_docs on a {}", kind.as_str()),
            comment_statements(adapter, &documented, kind, &["id".into()]),
        ));
    }
    out.push(("grants".into(), grant_statements(adapter, &documented)));

    // incremental: every strategy, with and without a microbatch window, every schema change
    let new_cols = [
        col("id", "INTEGER"),
        col("amount", "DOUBLE"),
        col("note", "VARCHAR"),
    ];
    let old_cols = [
        col("id", "INTEGER"),
        col("amount", "INTEGER"),
        col("gone", "DATE"),
    ];
    let window = (
        incremental::timestamp_literal(&chrono::NaiveDateTime::default()),
        "timestamp '1970-01-02 00:00:00'".to_string(),
    );
    for config in [
        json!({}),
        json!({"unique_key": "id"}),
        json!({"unique_key": ["id", "plan"], "incremental_predicates": ["DBT_INTERNAL_DEST.amount > 0"]}),
        json!({"unique_key": "id", "incremental_strategy": "merge", "incremental_predicates": ["DBT_INTERNAL_DEST.amount > 0"]}),
        json!({"unique_key": "id", "unique_key_duplicates": "dedupe", "updated_at": "updated_at"}),
        json!({"unique_key": "id", "unique_key_duplicates": "dedupe"}),
        json!({"incremental_strategy": "insert_overwrite", "partition_by": ["day", "region"]}),
        json!({"incremental_strategy": "microbatch", "event_time": "updated_at"}),
        json!({"unique_key": "id", "on_schema_change": "append_new_columns"}),
        json!({"unique_key": "id", "on_schema_change": "sync_all_columns"}),
    ] {
        let node = model(config.clone());
        let Ok(cfg) = IncrementalConfig::of(&node) else {
            panic!("bad incremental config {config}");
        };
        let Ok((alters, cols)) = incremental::reconcile(adapter, &node, &cfg, &new_cols, &old_cols)
        else {
            panic!("reconcile {config}");
        };
        for w in [None, Some((window.0.as_str(), window.1.as_str()))] {
            let mut s = incremental::stage_sql(adapter, &node, MODEL_SQL, &cfg);
            s.extend(incremental::key_check_sql(adapter, &node, &cfg));
            s.extend(alters.iter().cloned());
            s.extend(incremental::apply_sql(adapter, &node, &cfg, &cols, w));
            s.push(incremental::cleanup_sql(adapter, &node));
            let label = match w {
                Some(_) => format!("incremental {config} in a window"),
                None => format!("incremental {config}"),
            };
            out.push((label, s));
        }
    }

    // snapshots: both strategies, every hard_deletes, first build and later runs
    let source = [
        col("id", "INTEGER"),
        col("plan", "VARCHAR"),
        col("updated_at", "TIMESTAMP"),
    ];
    for config in [
        json!({"unique_key": "id", "strategy": "timestamp", "updated_at": "updated_at"}),
        json!({"unique_key": "id", "strategy": "timestamp", "updated_at": "updated_at", "hard_deletes": "invalidate"}),
        json!({"unique_key": ["id", "plan"], "strategy": "timestamp", "updated_at": "updated_at", "hard_deletes": "new_record", "dbt_valid_to_current": "cast('9999-12-31' as timestamp)"}),
        json!({"unique_key": "id", "strategy": "check", "check_cols": "all"}),
        json!({"unique_key": "id", "strategy": "check", "check_cols": ["plan"], "hard_deletes": "new_record", "snapshot_meta_column_names": {"dbt_valid_from": "valid_from", "dbt_is_deleted": "deleted"}}),
    ] {
        let node = Node::sample(ResourceType::Snapshot, "plans", config.clone());
        let Ok(cfg) = SnapshotConfig::of(&node) else {
            panic!("bad snapshot config {config}");
        };
        let target = Target::of(&node);
        let tmp = target.with_identifier(format!("{}{TMP_SUFFIX}", target.identifier));
        let create = format!(
            "create table {} as (\n{}\n)",
            tmp.sql(adapter),
            snapshot::create_sql(adapter, &cfg, MODEL_SQL)
        );
        out.push((
            format!("snapshot {config} first build"),
            swap_in(adapter, &target, create, None).statements,
        ));
        let mut existing = source[..2].to_vec();
        for m in [
            &cfg.names.scd_id,
            &cfg.names.updated_at,
            &cfg.names.valid_from,
        ] {
            existing.push(col(m, "VARCHAR"));
        }
        existing.push(col(&cfg.names.valid_to, "TIMESTAMP"));
        let mut s = snapshot::stage_sql(adapter, &node, MODEL_SQL);
        s.extend(snapshot::update_sql(
            adapter, &node, &cfg, &source, &existing,
        ));
        out.push((format!("snapshot {config} update"), s));
    }

    // seeds: the type inference query and the load plan
    let csv = seed::csv_source("/data/seeds/it's here.csv", ';', 4);
    out.push((
        "seed inference".into(),
        vec![seed::inference_query(
            &csv,
            &[
                Check::Infer,
                Check::Convert {
                    sql_type: "date".into(),
                },
                Check::Nothing,
                Check::Infer,
            ],
        )],
    ));
    let seed_node = Node::sample(ResourceType::Seed, "people", json!({}));
    let columns = [
        ("id", "INTEGER", false, true),
        ("Full Name", "VARCHAR", false, false),
        ("amount", "decimal(12,2)", true, true),
        ("select", "varchar(3)", true, false),
    ]
    .map(|(name, data_type, declared, trim)| SeedColumn {
        name: name.into(),
        data_type: data_type.into(),
        declared,
        quoted: seed::needs_quotes(name),
        trim,
    });
    for (what, existing) in existing_kinds {
        out.push((
            format!("seed {what}"),
            seed::seed_plan(adapter, &Target::of(&seed_node), &csv, &columns, existing).statements,
        ));
    }

    // data tests: the evaluating query, and storing failures
    let test_node = Node::sample(
        ResourceType::Test,
        "not_null_orders_id",
        json!({"limit": 10, "fail_calc": "sum(n)", "warn_if": ">= 5"}),
    );
    let cfg = TestConfig::of(&test_node, false);
    let failing = "-- failing rows\nselect id, 1 as n from orders where id is null";
    out.push((
        "test query".into(),
        vec![test_plan::test_query(failing, &cfg)],
    ));
    for kind in [RelationKind::Table, RelationKind::View] {
        for (what, existing) in existing_kinds {
            let (plan, query) =
                test_plan::store_failures_plan(adapter, &test_node, failing, kind, existing);
            let mut s = plan.statements;
            s.push(query);
            out.push((
                format!("test storing failures as a {} {what}", kind.as_str()),
                s,
            ));
        }
    }
    out
}

#[test]
fn every_plan_statement_parses_in_its_adapters_dialect() {
    let adapters: [&dyn Adapter; 2] = [&DuckDb::in_memory(), &Athena];
    let mut checked = 0;
    let mut failures = vec![];
    let mut matched = vec![false; UNPARSED.len()];
    for adapter in adapters {
        let dialect = adapter.sql_dialect();
        let name = adapter.adapter_type();
        for (label, statements) in plans(adapter) {
            for (i, statement) in statements.iter().enumerate() {
                checked += 1;
                let label = format!("{label} #{}", i + 1);
                let listed = UNPARSED
                    .iter()
                    .position(|(a, l, _)| *a == name && label.starts_with(l));
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

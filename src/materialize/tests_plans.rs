//! Every materialization's plan, for every adapter (and for an adapter that overrides nothing,
//! to show the default SQL a new engine starts from), snapshotted: a change to what kiln sends
//! to any warehouse shows up here in review. Plans that read the database between statements
//! are shown with the rest they plan from sample columns.

use super::contract::ForeignKeys;
use super::incremental::{self, IncrementalConfig};
use super::plan::{Check, ColumnSource, ReadColumns, Slot, Step};
use super::seed::{SeedColumn, seed_plan};
use super::snapshot::{self, SnapshotConfig};
use super::test::store_failures_plan;
use super::*;
use crate::adapter::{Athena, Column, Connection, DbError, DuckDb};
use crate::project::profiles::TargetDefaults;
use crate::project::{ColumnInfo, ResourceType};
use serde_json::json;

/// An adapter that overrides only what it must: every statement in its default spelling.
#[derive(Debug)]
struct Defaults;

impl Adapter for Defaults {
    fn adapter_type(&self) -> &'static str {
        "defaults"
    }

    fn target_defaults(&self) -> TargetDefaults {
        TargetDefaults {
            database: "warehouse".into(),
            schema: "main".into(),
            threads: None,
            details: vec![],
        }
    }

    fn dispatch_prefixes(&self) -> &'static [&'static str] {
        &["default"]
    }

    fn sql_dialect(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::AnsiDialect {})
    }

    fn connect(&self) -> Result<Box<dyn Connection>, DbError> {
        Err(DbError::open("no database"))
    }

    fn cancel_all(&self) {}
}

fn adapters() -> Vec<Box<dyn Adapter>> {
    vec![
        Box::new(DuckDb::in_memory()),
        Box::new(Athena::default()),
        Box::new(Defaults),
    ]
}

fn col(name: &str, t: &str) -> Column {
    Column {
        name: name.into(),
        data_type: t.into(),
        comment: None,
    }
}

fn cols(list: &[(&str, &str)]) -> Vec<Column> {
    list.iter().map(|(n, t)| col(n, t)).collect()
}

fn model(config: serde_json::Value) -> Node {
    Node::sample(ResourceType::Model, "orders", config)
}

/// A plan as text: each statement ended by `;`, other steps as `--` lines, the rest of a
/// plan that reads columns planned from `read`.
fn render(adapter: &dyn Adapter, plan: &Plan, read: &ReadColumns) -> String {
    let mut out = vec![];
    if plan.atomic {
        out.push("-- one transaction around every step".to_string());
    }
    render_steps(adapter, &plan.steps, read, &mut out);
    if out.is_empty() {
        return "(nothing runs)".into();
    }
    out.join("\n")
}

/// Appends the steps to `out`; false once a step fails (nothing after it runs).
fn render_steps(
    adapter: &dyn Adapter,
    steps: &[Step],
    read: &ReadColumns,
    out: &mut Vec<String>,
) -> bool {
    for step in steps {
        match step {
            Step::Execute(sql) => out.push(format!("{};", sql.trim_end())),
            Step::Hook(sql) => out.push(format!("-- hook\n{};", sql.trim_end())),
            Step::Begin => out.push(format!("{};", adapter.begin_sql())),
            Step::Commit => out.push(format!("{};", adapter.commit_sql())),
            Step::CheckEmpty { sql, check } => {
                let Check::DuplicateKeys { .. } = check;
                out.push(format!(
                    "-- fails when it returns a row (a duplicate or NULL unique_key):\n{sql};"
                ));
            }
            Step::ReadColumns { source, slot } => {
                let whose = match slot {
                    Slot::New => "the new rows",
                    Slot::Existing => "the target",
                };
                let from = match source {
                    ColumnSource::Query(sql) => format!("the result of: {sql}"),
                    ColumnSource::Relation(t) => format!("the catalog: {}", t.sql(adapter)),
                };
                out.push(format!("-- read the columns of {whose}, from {from}"));
            }
            Step::Then(rest) => match rest.plan(adapter, read) {
                Ok(more) => {
                    out.push("-- then, from the columns read:".into());
                    if !render_steps(adapter, &more, read, out) {
                        return false;
                    }
                }
                Err(e) => {
                    out.push(format!("-- then fails: {e}"));
                    return false;
                }
            },
        }
    }
    true
}

/// `(label, plan as text)` of every materialization for `adapter`.
fn plans(adapter: &dyn Adapter) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![];
    let none = ReadColumns::default();
    let sql = "select 1 as id, 2.5 as amount";
    let existing_kinds = [
        ("new", None),
        ("over a view", Some(RelationKind::View)),
        ("over a table", Some(RelationKind::Table)),
    ];
    let hooks = Hooks {
        pre: vec!["insert into audit values ('pre')".into()],
        post: vec!["insert into audit values ('post')".into()],
    };
    let no_keys = ForeignKeys::default();

    // view, table, ephemeral; the hooks on the view and the table
    for materialized in ["view", "table", "ephemeral"] {
        let node = model(json!({ "materialized": materialized }));
        for (what, existing) in existing_kinds {
            let plan = plan_model(adapter, &node, sql, existing, &hooks, &no_keys);
            let text = match plan {
                Ok(p) => render(adapter, &p, &none),
                Err(e) => format!("error: {}", e.0),
            };
            out.push((format!("{materialized} {what}"), text));
        }
    }

    // a table under an enforced contract with a foreign key, referenced by another table
    let mut contracted = model(json!({"materialized": "table", "contract": {"enforced": true}}));
    contracted.columns.insert(
        "id".into(),
        ColumnInfo {
            name: "id".into(),
            data_type: Some("integer".into()),
            constraints: vec![json!({"type": "not_null"})],
            ..Default::default()
        },
    );
    contracted.columns.insert(
        "customer_id".into(),
        ColumnInfo {
            name: "customer_id".into(),
            data_type: Some("integer".into()),
            constraints: vec![
                json!({"type": "foreign_key", "to": "ref('customers')", "to_columns": ["id"]}),
            ],
            ..Default::default()
        },
    );
    let keys = ForeignKeys {
        parents: [(
            "ref('customers')".to_string(),
            "\"main\".\"customers\"".to_string(),
        )]
        .into_iter()
        .collect(),
        children: vec![RelationTarget {
            database: "warehouse".into(),
            schema: "main".into(),
            identifier: "order_items".into(),
        }],
    };
    for (what, existing) in existing_kinds {
        let plan = plan_model(
            adapter,
            &contracted,
            sql,
            existing,
            &Hooks::default(),
            &keys,
        );
        let text = plan.map_or_else(|e| e.0, |p| render(adapter, &p, &none));
        out.push((format!("contracted table with foreign keys {what}"), text));
    }

    // incremental: every strategy, with and without a schema change
    let unchanged = cols(&[("id", "INTEGER"), ("amount", "DOUBLE")]);
    let changed = ReadColumns {
        new: cols(&[("id", "INTEGER"), ("amount", "DOUBLE"), ("note", "VARCHAR")]),
        existing: cols(&[("id", "INTEGER"), ("amount", "INTEGER"), ("gone", "DATE")]),
    };
    let same = ReadColumns {
        new: unchanged.clone(),
        existing: unchanged,
    };
    for config in [
        json!({}),
        json!({"unique_key": "id"}),
        json!({"unique_key": ["id", "amount"], "incremental_predicates": ["DBT_INTERNAL_DEST.amount > 0"]}),
        json!({"unique_key": "id", "incremental_strategy": "merge"}),
        json!({"unique_key": "id", "unique_key_duplicates": "dedupe", "event_time": "at"}),
        json!({"incremental_strategy": "insert_overwrite", "partition_by": "day"}),
    ] {
        let node = model(
            json!({"materialized": "incremental"})
                .as_object()
                .map(|m| {
                    let mut m = m.clone();
                    m.extend(config.as_object().cloned().unwrap_or_default());
                    serde_json::Value::Object(m)
                })
                .unwrap_or_default(),
        );
        let Ok(cfg) = IncrementalConfig::of(&node) else {
            continue;
        };
        for (change, read) in [
            ("ignore", &same),
            ("sync_all_columns", &changed),
            ("fail", &changed),
        ] {
            let mut cfg = cfg.clone();
            cfg.on_schema_change = match change {
                "sync_all_columns" => incremental::OnSchemaChange::SyncAllColumns,
                "fail" => incremental::OnSchemaChange::Fail,
                _ => incremental::OnSchemaChange::Ignore,
            };
            let text = match incremental::step_plan(adapter, &node, &cfg, sql, &hooks, None) {
                Ok(p) => render(adapter, &p, read),
                Err(e) => format!("error: {}", e.0),
            };
            out.push((
                format!("incremental {config}, on_schema_change {change}"),
                text,
            ));
        }
    }

    // microbatch: the first batch builds the table, later ones replace their window
    let node = model(
        json!({"materialized": "incremental", "incremental_strategy": "microbatch", "event_time": "at", "batch_size": "day"}),
    );
    let cfg = IncrementalConfig::of(&node).unwrap_or_else(|e| panic!("{e}"));
    let window = (
        "timestamp '2024-01-01 00:00:00'".to_string(),
        "timestamp '2024-01-02 00:00:00'".to_string(),
    );
    let parents = Default::default();
    for (what, first) in [
        (
            "first batch over a view",
            Some(microbatch::FirstBuild {
                existing: Some(RelationKind::View),
                parents: &parents,
            }),
        ),
        ("later batch", None),
    ] {
        let text = match microbatch::batch_plan(
            adapter,
            &node,
            &cfg,
            sql,
            &hooks,
            window.clone(),
            first,
        ) {
            Ok(p) => render(adapter, &p, &same),
            Err(e) => format!("error: {}", e.0),
        };
        out.push((format!("microbatch, {what}"), text));
    }

    // seed: a table of the CSV's columns, filled by the engine's query over the file
    let seed = Node::sample(ResourceType::Seed, "people", json!({}));
    let seed_cols = [
        SeedColumn {
            name: "id".into(),
            data_type: "INTEGER".into(),
            declared: false,
            quoted: false,
            trim: true,
        },
        SeedColumn {
            name: "Full Name".into(),
            data_type: "VARCHAR".into(),
            declared: false,
            quoted: true,
            trim: false,
        },
    ];
    for (what, existing) in existing_kinds {
        let plan = hooks.splice(seed_plan(
            adapter,
            &RelationTarget::of(&seed),
            &seed_cols,
            "<the engine's query over the CSV file>",
            existing,
        ));
        out.push((format!("seed {what}"), render(adapter, &plan, &none)));
    }

    // snapshots: both strategies, first build and update, every hard_deletes
    let snap_read = ReadColumns {
        new: cols(&[
            ("id", "INTEGER"),
            ("plan", "VARCHAR"),
            ("updated_at", "TIMESTAMP"),
            ("seats", "INTEGER"),
        ]),
        existing: cols(&[
            ("id", "INTEGER"),
            ("plan", "VARCHAR"),
            ("updated_at", "TIMESTAMP"),
            ("dbt_scd_id", "VARCHAR"),
            ("dbt_updated_at", "TIMESTAMP"),
            ("dbt_valid_from", "TIMESTAMP"),
            ("dbt_valid_to", "TIMESTAMP"),
        ]),
    };
    for config in [
        json!({"unique_key": "id", "strategy": "timestamp", "updated_at": "updated_at"}),
        json!({"unique_key": ["id", "plan"], "strategy": "check", "check_cols": ["plan"], "hard_deletes": "invalidate"}),
        json!({"unique_key": "id", "strategy": "check", "check_cols": "all", "hard_deletes": "new_record"}),
    ] {
        let node = Node::sample(ResourceType::Snapshot, "plans", config.clone());
        let cfg = SnapshotConfig::of(&node).unwrap_or_else(|e| panic!("{e}"));
        for (what, existing) in existing_kinds {
            let text = match snapshot::plan(adapter, &node, &cfg, sql, existing, &hooks) {
                Ok(p) => render(adapter, &p, &snap_read),
                Err(e) => format!("error: {}", e.0),
            };
            out.push((format!("snapshot {config} {what}"), text));
        }
    }

    // tests: the count query, and failing rows stored as a table or a view
    let test = Node::sample(ResourceType::Test, "not_null_orders_id", json!({}));
    let cfg = super::test::TestConfig::of(&test, false);
    out.push((
        "test query".into(),
        super::test::test_query("select * from orders where id is null", &cfg),
    ));
    for kind in [RelationKind::Table, RelationKind::View] {
        for (what, existing) in existing_kinds {
            let (plan, read) = store_failures_plan(
                adapter,
                &test,
                "select * from orders where id is null",
                kind,
                existing,
            );
            out.push((
                format!("test storing failures as a {} {what}", kind.as_str()),
                format!("{}\n-- then counts: {read}", render(adapter, &plan, &none)),
            ));
        }
    }

    // persist_docs, grants, clone
    let mut documented = model(json!({
        "materialized": "table",
        "persist_docs": {"relation": true, "columns": true},
        "grants": {"select": ["analyst"]},
    }));
    documented.description = "Orders; it's paid".into();
    documented.columns.insert(
        "id".into(),
        ColumnInfo {
            name: "id".into(),
            description: "The order's id".into(),
            ..Default::default()
        },
    );
    let listed = |statements: Vec<String>| {
        if statements.is_empty() {
            "(none: the engine has no such statements)".to_string()
        } else {
            statements.join(";\n")
        }
    };
    out.push((
        "persist_docs".into(),
        listed(comment_statements(
            adapter,
            &documented,
            RelationKind::Table,
            &["id".into()],
        )),
    ));
    out.push((
        "grants".into(),
        listed(grant_statements(adapter, &documented)),
    ));
    for (what, existing) in existing_kinds {
        let text = match clone::plan(
            adapter,
            "\"dev\".\"main\".\"orders\"",
            "\"prod\".\"main\".\"orders\"",
            Some(RelationKind::Table),
            existing,
        ) {
            Some((p, kind)) => format!(
                "{}\n-- makes a {}",
                render(adapter, &p, &none),
                kind.as_str()
            ),
            None => "(cannot clone)".into(),
        };
        out.push((format!("clone {what}"), text));
    }
    out
}

#[test]
fn every_plan_for_every_adapter() {
    for adapter in adapters() {
        let text = plans(adapter.as_ref())
            .into_iter()
            .map(|(label, plan)| format!("==== {label}\n{plan}"))
            .collect::<Vec<_>>()
            .join("\n\n");
        insta::assert_snapshot!(format!("plans_{}", adapter.adapter_type()), text);
    }
}

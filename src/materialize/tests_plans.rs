//! Every materialization's plan, for every adapter (and for an adapter that overrides nothing,
//! to show the default SQL a new engine starts from), snapshotted: a change to what kiln sends
//! to any warehouse shows up here in review. Plans that read the database between statements
//! are shown with the rest they plan from sample columns. The same catalogue feeds the
//! round-trip test of every statement ([`super::parses`]).

use super::contract::ForeignKeys;
use super::incremental::{self, IncrementalConfig, OnSchemaChange};
use super::plan::{Check, ColumnSource, ReadColumns, Slot, Step};
use super::seed::{SeedColumn, seed_plan};
use super::snapshot::{self, SnapshotConfig};
use super::test::{TestConfig, store_failures_plan, test_query};
use super::*;
use crate::adapter::{Athena, Column, Connection, DbError, DuckDb};
use crate::project::profiles::TargetDefaults;
use crate::project::{ColumnInfo, ResourceType};
use serde_json::json;

/// An adapter that overrides only what it must: every statement in its default spelling.
#[derive(Debug)]
pub(super) struct Defaults;

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
        Box::new(sqlparser::dialect::GenericDialect {})
    }

    fn connect(&self) -> Result<Box<dyn Connection>, DbError> {
        Err(DbError::open("no database"))
    }

    fn cancel_all(&self) {}
}

/// The adapters whose plans are shown: kiln's, then the defaults.
pub(super) fn adapters() -> Vec<Box<dyn Adapter>> {
    vec![
        Box::new(DuckDb::in_memory()),
        Box::new(Athena::sample()),
        Box::new(Defaults),
    ]
}

/// One entry of the catalogue.
pub(super) enum Entry {
    /// A plan, and the columns its reads return.
    Plan(Plan, ReadColumns),
    /// Statements run as they are (a test's query, comments, grants).
    Statements(Vec<String>),
    /// What planning said instead.
    Refused(String),
}

/// What the plans are made of: the model's compiled SQL and the engine's query over a seed's
/// CSV file.
pub(super) struct Inputs<'a> {
    pub sql: &'a str,
    pub seed_select: &'a str,
    pub hooks: Hooks,
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

/// `config` over `base` (both objects).
fn merged(base: serde_json::Value, config: &serde_json::Value) -> serde_json::Value {
    let mut m = base.as_object().cloned().unwrap_or_default();
    m.extend(config.as_object().cloned().unwrap_or_default());
    serde_json::Value::Object(m)
}

/// Every materialization for `adapter`, labelled.
pub(super) fn catalogue(adapter: &dyn Adapter, inputs: &Inputs<'_>) -> Vec<(String, Entry)> {
    let mut out: Vec<(String, Entry)> = vec![];
    let none = ReadColumns::default;
    let sql = inputs.sql;
    let hooks = &inputs.hooks;
    let planned = |p: Result<Plan, PlanError>, read: ReadColumns| match p {
        Ok(p) => Entry::Plan(p, read),
        Err(e) => Entry::Refused(e.0),
    };
    let existing_kinds = [
        ("new", None),
        ("over a view", Some(RelationKind::View)),
        ("over a table", Some(RelationKind::Table)),
    ];
    let no_keys = ForeignKeys::default();

    // view, table, ephemeral, with hooks
    for materialized in ["view", "table", "ephemeral"] {
        let node = model(json!({ "materialized": materialized }));
        for (what, existing) in existing_kinds {
            let plan = plan_model(adapter, &node, sql, existing, hooks, &no_keys);
            out.push((format!("{materialized} {what}"), planned(plan, none())));
        }
    }

    // a table under an enforced contract with a foreign key, referenced by another table
    let mut contracted = model(json!({"materialized": "table", "contract": {"enforced": true}}));
    for (name, constraint) in [
        ("id", json!({"type": "not_null"})),
        (
            "customer_id",
            json!({"type": "foreign_key", "to": "ref('customers')", "to_columns": ["id"]}),
        ),
    ] {
        contracted.columns.insert(
            name.into(),
            ColumnInfo {
                name: name.into(),
                data_type: Some("integer".into()),
                constraints: vec![constraint],
                ..Default::default()
            },
        );
    }
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
        out.push((
            format!("contracted table with foreign keys {what}"),
            planned(plan, none()),
        ));
    }

    // incremental: every strategy, with every schema change
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
        json!({"unique_key": "id", "incremental_strategy": "merge", "incremental_predicates": ["DBT_INTERNAL_DEST.amount > 0"]}),
        json!({"unique_key": "id", "unique_key_duplicates": "dedupe", "event_time": "at"}),
        json!({"unique_key": "id", "unique_key_duplicates": "dedupe"}),
        json!({"incremental_strategy": "insert_overwrite", "partition_by": ["day", "region"]}),
    ] {
        let node = model(merged(json!({"materialized": "incremental"}), &config));
        let cfg = IncrementalConfig::of(&node).unwrap_or_else(|e| panic!("{config}: {e}"));
        for (mode, change, read) in [
            ("ignore", OnSchemaChange::Ignore, &same),
            (
                "append_new_columns",
                OnSchemaChange::AppendNewColumns,
                &changed,
            ),
            ("sync_all_columns", OnSchemaChange::SyncAllColumns, &changed),
            ("fail", OnSchemaChange::Fail, &changed),
        ] {
            let cfg = IncrementalConfig {
                on_schema_change: change,
                ..cfg.clone()
            };
            let plan = incremental::step_plan(adapter, &node, &cfg, sql, hooks, None);
            out.push((
                format!("incremental {config}, on_schema_change {mode}"),
                planned(plan, read.clone()),
            ));
        }
    }

    // microbatch: the first batch builds the table, later ones replace their window
    let node = model(
        json!({"materialized": "incremental", "incremental_strategy": "microbatch", "event_time": "at", "batch_size": "day"}),
    );
    let cfg = IncrementalConfig::of(&node).unwrap_or_else(|e| panic!("{e}"));
    let window = (
        incremental::timestamp_literal(&chrono::NaiveDateTime::default()),
        "timestamp '1970-01-02 00:00:00'".to_string(),
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
        let plan = microbatch::batch_plan(adapter, &node, &cfg, sql, hooks, window.clone(), first);
        out.push((format!("microbatch, {what}"), planned(plan, same.clone())));
    }

    // seed: a table of the CSV's columns, filled by the engine's query over the file
    let seed = Node::sample(ResourceType::Seed, "people", json!({}));
    let seed_cols = [
        ("id", "INTEGER", false, true),
        ("Full Name", "VARCHAR", false, false),
        ("amount", "decimal(12,2)", true, true),
        ("select", "varchar(3)", true, false),
    ]
    .map(|(name, data_type, declared, trim)| SeedColumn {
        name: name.into(),
        data_type: data_type.into(),
        declared,
        quoted: adapter.needs_quotes(name),
        trim,
    });
    for (what, existing) in existing_kinds {
        let plan = hooks.splice(seed_plan(
            adapter,
            &RelationTarget::of(&seed),
            &seed_cols,
            inputs.seed_select,
            existing,
        ));
        out.push((format!("seed {what}"), Entry::Plan(plan, none())));
    }

    // snapshots: both strategies, every hard_deletes, first build and update
    let source = cols(&[
        ("id", "INTEGER"),
        ("plan", "VARCHAR"),
        ("updated_at", "TIMESTAMP"),
        ("seats", "INTEGER"),
    ]);
    for config in [
        json!({"unique_key": "id", "strategy": "timestamp", "updated_at": "updated_at"}),
        json!({"unique_key": "id", "strategy": "timestamp", "updated_at": "updated_at", "hard_deletes": "invalidate"}),
        json!({"unique_key": ["id", "plan"], "strategy": "timestamp", "updated_at": "updated_at", "hard_deletes": "new_record", "dbt_valid_to_current": "cast('9999-12-31' as timestamp)"}),
        json!({"unique_key": ["id", "plan"], "strategy": "check", "check_cols": ["plan"], "hard_deletes": "invalidate"}),
        json!({"unique_key": "id", "strategy": "check", "check_cols": "all", "hard_deletes": "new_record", "snapshot_meta_column_names": {"dbt_valid_from": "valid_from", "dbt_is_deleted": "deleted"}}),
    ] {
        let node = Node::sample(ResourceType::Snapshot, "plans", config.clone());
        let cfg = SnapshotConfig::of(&node).unwrap_or_else(|e| panic!("{e}"));
        let n = &cfg.names;
        let mut existing_cols = source[..3].to_vec();
        for meta in [&n.scd_id, &n.updated_at, &n.valid_from, &n.valid_to] {
            existing_cols.push(col(meta, "TIMESTAMP"));
        }
        let read = ReadColumns {
            new: source.clone(),
            existing: existing_cols,
        };
        for (what, existing) in existing_kinds {
            let plan = snapshot::plan(adapter, &node, &cfg, sql, existing, hooks);
            out.push((
                format!("snapshot {config} {what}"),
                planned(plan, read.clone()),
            ));
        }
    }

    // tests: the evaluating query, and failing rows stored as a table or a view
    let test = Node::sample(
        ResourceType::Test,
        "not_null_orders_id",
        json!({"limit": 10, "fail_calc": "sum(n)", "warn_if": ">= 5"}),
    );
    let cfg = TestConfig::of(&test, false);
    let failing = "-- failing rows\nselect id, 1 as n from orders where id is null";
    out.push((
        "test query".into(),
        Entry::Statements(vec![test_query(failing, &cfg)]),
    ));
    for kind in [RelationKind::Table, RelationKind::View] {
        for (what, existing) in existing_kinds {
            let (mut plan, read) = store_failures_plan(adapter, &test, failing, kind, existing);
            // (the test then counts the stored rows)
            plan.steps.push(Step::Execute(read));
            out.push((
                format!("test storing failures as a {} {what}", kind.as_str()),
                Entry::Plan(plan, none()),
            ));
        }
    }

    // persist_docs, grants, clone
    let mut documented = model(json!({
        "materialized": "table",
        "persist_docs": {"relation": true, "columns": true},
        "grants": {"select": ["analyst", "reporter"]},
    }));
    documented.description = "Orders, one row per order; it's paid".into();
    for (name, description) in [("id", "The order's id"), ("absent", "Not in the relation")] {
        documented.columns.insert(
            name.into(),
            ColumnInfo {
                name: name.into(),
                description: description.into(),
                ..Default::default()
            },
        );
    }
    for kind in [RelationKind::Table, RelationKind::View] {
        out.push((
            format!("persist_docs on a {}", kind.as_str()),
            Entry::Statements(comment_statements(
                adapter,
                &documented,
                kind,
                &["id".into()],
            )),
        ));
    }
    out.push((
        "grants".into(),
        Entry::Statements(grant_statements(adapter, &documented)),
    ));
    for (what, existing) in existing_kinds {
        let cloned = clone::plan(
            adapter,
            "\"dev\".\"main\".\"orders\"",
            "\"prod\".\"main\".\"orders\"",
            Some(RelationKind::Table),
            existing,
        );
        let entry = match cloned {
            Some((plan, _)) => Entry::Plan(plan, none()),
            None => Entry::Refused("this engine cannot clone".into()),
        };
        out.push((format!("clone {what}"), entry));
    }
    out
}

/// Every statement an entry sends, as the engine receives it: executed statements, hooks,
/// `begin` and `commit`, the queries that check and read, and those planned from what was read.
pub(super) fn statements(adapter: &dyn Adapter, entry: &Entry) -> Vec<String> {
    fn walk(adapter: &dyn Adapter, steps: &[Step], read: &ReadColumns, out: &mut Vec<String>) {
        for step in steps {
            match step {
                Step::CheckEmpty { sql, .. }
                | Step::ReadColumns {
                    source: ColumnSource::Query(sql),
                    ..
                } => out.push(sql.clone()),
                Step::ReadColumns { .. } => {}
                Step::Then(rest) => {
                    if let Ok(more) = rest.plan(adapter, read) {
                        walk(adapter, &more, read, out);
                    }
                }
                other => out.extend(plan::statement(adapter, other).map(str::to_string)),
            }
        }
    }
    match entry {
        Entry::Plan(plan, read) => {
            let mut out = vec![];
            walk(adapter, &plan.steps, read, &mut out);
            out
        }
        Entry::Statements(s) => s.clone(),
        Entry::Refused(_) => vec![],
    }
}

/// An entry as text: each statement ended by `;`, other steps as `--` lines, the rest of a plan
/// that reads columns planned from the entry's sample columns.
fn render(adapter: &dyn Adapter, entry: &Entry) -> String {
    let mut out = vec![];
    match entry {
        Entry::Plan(plan, read) => {
            if plan.atomic {
                out.push("-- one transaction around every step".to_string());
            }
            render_steps(adapter, &plan.steps, read, &mut out);
        }
        Entry::Statements(s) if s.is_empty() => {
            out.push("(none: the engine has no such statements)".into());
        }
        Entry::Statements(s) => out.extend(s.iter().map(|s| format!("{};", s.trim_end()))),
        Entry::Refused(why) => out.push(format!("refused: {why}")),
    }
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
            Step::Storage(call) => out.push(format!("-- {call}")),
            Step::Fail(message) => {
                out.push(format!("-- fails: {message}"));
                return false;
            }
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

#[test]
fn every_plan_for_every_adapter() {
    let inputs = Inputs {
        sql: "select 1 as id, 2.5 as amount",
        seed_select: "<the engine's query over the CSV file>",
        hooks: Hooks {
            pre: vec!["insert into audit values ('pre')".into()],
            post: vec!["insert into audit values ('post')".into()],
        },
    };
    for adapter in adapters() {
        let text = catalogue(adapter.as_ref(), &inputs)
            .iter()
            .map(|(label, entry)| format!("==== {label}\n{}", render(adapter.as_ref(), entry)))
            .collect::<Vec<_>>()
            .join("\n\n");
        // each table build has a location of its own, a fresh uuid
        insta::with_settings!({filters => vec![(
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[BUILD]",
        )]}, {
            insta::assert_snapshot!(format!("plans_{}", adapter.adapter_type()), text);
        });
    }
}

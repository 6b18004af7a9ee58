//! Materializations: what each kind of node asks of the database, as a [`Plan`] of typed steps
//! the runner interprets through the adapter. A plan is built from what already exists (passed
//! in) and the adapter's SQL, without a connection, so every plan is snapshot-testable without a
//! database; the few plans that must see the database between statements (incremental steps,
//! snapshot updates) say what to read and plan their rest from it ([`plan::Continuation`]).
//!
//! - view: the adapter's `create or replace view`.
//! - table: built under a temporary name and swapped in ([`swap`]); with transactions the build
//!   and the swap are one transaction, so a failed or killed build leaves the previous table
//!   whole. Under an enforced contract ([`contract`]) it is created empty with the declared
//!   column types and constraints, then filled.
//! - ephemeral: nothing runs; the compiler injects it as a CTE.
//! - incremental ([`incremental`], [`microbatch`]), snapshot ([`snapshot`]).
//! - seed ([`seed`]): the CSV read by the engine's own reader into a table, swapped in the same way.
//! - test ([`test`](mod@test)): a query counting failing rows, optionally storing them.
//! - `kiln clone` ([`clone`]).

pub mod catalog_docs;
pub mod clone;
pub mod contract;
pub mod incremental;
pub mod microbatch;
#[cfg(test)]
mod parses;
pub mod plan;
pub mod publish;
mod relation;
pub mod seed;
pub mod snapshot;
pub mod snapshot_merge;
pub mod swap;
pub mod test;
#[cfg(test)]
mod tests_plans;

pub use plan::{Hooks, Plan, Step};
pub use relation::{RelationTarget, Stage};
pub use swap::{swap_in, swap_in_steps};

use crate::adapter::{Adapter, RelationKind};
use crate::project::Node;
use plan::{executes, in_transaction};
use serde_json::Value as Json;

/// The suffix of the relation a table is built under before it is swapped in.
pub const TMP_SUFFIX: &str = "__kiln_tmp";
/// The suffix the previous table takes while a swap without transactions is in flight.
pub const BACKUP_SUFFIX: &str = "__kiln_backup";

/// Why a node cannot be planned.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanError(pub String);

/// The plan for a model: its pre-hooks, the build, its post-hooks. `keys` says how foreign keys
/// of an enforced contract resolve and which tables reference the current one.
pub fn plan_model(
    adapter: &dyn Adapter,
    node: &Node,
    compiled_sql: &str,
    existing: Option<RelationKind>,
    hooks: &Hooks,
    keys: &contract::ForeignKeys,
) -> Result<Plan, PlanError> {
    let target = RelationTarget::of(node);
    let contract = contract::Contract::of(adapter, node);
    if adapter.supports_catalog_publish() {
        let plan = match node.materialized() {
            "view" => publish::view(adapter, node, compiled_sql, existing),
            "table" | "incremental" => {
                publish::table(adapter, node, compiled_sql, existing, &publish::build_id())?
            }
            "ephemeral" => Plan::default(),
            other => {
                return Err(PlanError(format!(
                    "materialization '{other}' is not supported by kiln yet for {}",
                    node.original_file_path
                )));
            }
        };
        return Ok(hooks.splice(plan));
    }
    let plan = match node.materialized() {
        "view" => view(adapter, &target, compiled_sql, existing),
        // (an incremental model's first build, or a full refresh, is a table)
        "table" | "incremental" => table(
            adapter,
            &target,
            compiled_sql,
            existing,
            contract.as_ref(),
            keys,
        ),
        "ephemeral" => Plan::default(),
        other => {
            return Err(PlanError(format!(
                "materialization '{other}' is not supported by kiln yet for {}",
                node.original_file_path
            )));
        }
    };
    Ok(hooks.splice(plan))
}

/// The raw SQL of a node's `pre-hook` or `post-hook` config (strings or `{sql: ...}` maps).
pub fn hook_sources(node: &Node, key: &str) -> Vec<String> {
    let mut out = vec![];
    let mut push = |v: &Json| match v {
        Json::String(s) => out.push(s.clone()),
        Json::Object(m) => {
            if let Some(s) = m.get("sql").and_then(Json::as_str) {
                out.push(s.to_string());
            }
        }
        _ => {}
    };
    match node.config.get(key) {
        Some(Json::Array(items)) => items.iter().for_each(&mut push),
        Some(v) => push(v),
        None => {}
    }
    out
}

fn view(
    adapter: &dyn Adapter,
    target: &RelationTarget,
    sql: &str,
    existing: Option<RelationKind>,
) -> Plan {
    let name = target.sql(adapter);
    let create = adapter.replace_view_sql(&name, sql);
    match existing {
        // A table cannot be replaced by a view: drop it (in the same transaction).
        Some(RelationKind::Table) => Plan::new(in_transaction(
            adapter,
            executes([
                adapter.drop_relation_sql(RelationKind::Table, &name),
                create,
            ]),
        )),
        _ => Plan::executes(vec![create]),
    }
}

fn table(
    adapter: &dyn Adapter,
    target: &RelationTarget,
    sql: &str,
    existing: Option<RelationKind>,
    contract: Option<&contract::Contract>,
    keys: &contract::ForeignKeys,
) -> Plan {
    // The statements that build `t`: one `create table as`, or under a contract an empty
    // table with the declared columns and constraints, filled in contract order.
    let build = |t: &RelationTarget| -> Vec<String> {
        let name = t.sql(adapter);
        match contract {
            Some(c) => vec![
                c.create_sql(adapter, &name, &keys.parents),
                c.insert_sql(adapter, &name, sql),
            ],
            None => vec![adapter.create_table_as_sql(&name, sql)],
        }
    };
    let children = match existing {
        Some(RelationKind::Table) => keys.children.as_slice(),
        _ => &[],
    };
    let in_place = contract.is_some_and(contract::Contract::has_foreign_keys);
    if !adapter.supports_foreign_key_swaps() && (!children.is_empty() || in_place) {
        // Foreign keys pin tables (DuckDB): the referencing tables are set aside, and a table
        // with foreign keys is replaced where it stands; all in one transaction.
        let (before, after) = contract::set_aside(adapter, children);
        let mut statements = before;
        if in_place {
            if let Some(kind) = existing {
                statements.push(adapter.drop_relation_sql(kind, &target.sql(adapter)));
            }
            statements.extend(build(target));
        } else {
            statements.extend(swap::swap_statements(
                adapter,
                target,
                build(&target.suffixed(TMP_SUFFIX)),
                existing,
            ));
        }
        statements.extend(after);
        return Plan::new(in_transaction(adapter, executes(statements)));
    }
    if contract.is_none()
        && let Some(replace) = adapter.replace_table_as_sql(&target.sql(adapter), sql)
    {
        // The engine replaces a table atomically in one statement (DuckDB): a failed or killed
        // build leaves the previous table whole, with no temporary name, rename or transaction.
        match existing {
            Some(RelationKind::Table) => return Plan::executes(vec![replace]),
            // A view is not a table: dropped in the same transaction as the table's creation.
            Some(RelationKind::View) if adapter.supports_transactions() => {
                let name = target.sql(adapter);
                return Plan::new(in_transaction(
                    adapter,
                    executes([
                        adapter.drop_relation_sql(RelationKind::View, &name),
                        adapter.create_table_as_sql(&name, sql),
                    ]),
                ));
            }
            _ => {}
        }
    }
    if existing.is_none() && adapter.supports_transactions() {
        // Nothing to keep intact: built in place, atomic on its own (a failed or killed create
        // leaves no table), instead of a temporary table renamed in a transaction.
        let statements = build(target);
        return if statements.len() > 1 {
            Plan::new(in_transaction(adapter, executes(statements)))
        } else {
            Plan::executes(statements)
        };
    }
    swap_in_steps(
        adapter,
        target,
        build(&target.suffixed(TMP_SUFFIX)),
        existing,
    )
}

/// `persist_docs`: comments on the relation and its documented columns that exist.
pub fn comment_statements(
    adapter: &dyn Adapter,
    node: &Node,
    kind: RelationKind,
    existing_columns: &[String],
) -> Vec<String> {
    if !adapter.supports_comments() {
        return vec![];
    }
    let persist = node.config.get("persist_docs");
    let flag = |k: &str| {
        persist
            .and_then(|p| p.get(k))
            .and_then(Json::as_bool)
            .unwrap_or(false)
    };
    let name = RelationTarget::of(node).sql(adapter);
    let mut out = vec![];
    if flag("relation") && !node.description.trim().is_empty() {
        out.push(adapter.comment_sql(kind, &name, node.description.trim()));
    }
    if flag("columns") {
        for (col, info) in &node.columns {
            if info.description.trim().is_empty() {
                continue;
            }
            if !existing_columns.iter().any(|c| c.eq_ignore_ascii_case(col)) {
                continue;
            }
            out.push(adapter.column_comment_sql(&name, col, info.description.trim()));
        }
    }
    out
}

/// `grants`: `grant <privilege> on <relation> to <grantee>`, or nothing where the engine has no
/// grants (the runner warns).
pub fn grant_statements(adapter: &dyn Adapter, node: &Node) -> Vec<String> {
    let Some(Json::Object(grants)) = node.config.get("grants") else {
        return vec![];
    };
    if !adapter.supports_grants() {
        return vec![];
    }
    let name = RelationTarget::of(node).sql(adapter);
    let mut out = vec![];
    for (privilege, grantees) in grants {
        let list: Vec<String> = match grantees {
            Json::String(s) => vec![s.clone()],
            Json::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => vec![],
        };
        for g in list {
            out.push(adapter.grant_sql(privilege, &name, &g));
        }
    }
    out
}

/// Whether the node asks for grants the engine cannot give.
pub fn grants_unsupported(adapter: &dyn Adapter, node: &Node) -> bool {
    !adapter.supports_grants()
        && matches!(node.config.get("grants"), Some(Json::Object(g)) if !g.is_empty())
}

#[cfg(test)]
mod tests {
    //! The SQL each materialization runs, snapshotted: a change to what kiln sends to the
    //! warehouse shows up here in review.
    use super::incremental::{IncrementalConfig, apply_sql, key_check_sql, reconcile, stage_sql};
    use super::snapshot::{SnapshotConfig, create_sql, update_sql};
    use super::*;
    use crate::adapter::{Athena, Column, DuckDb};
    use crate::project::ResourceType;
    use serde_json::json;

    fn model(config: Json) -> Node {
        Node::sample(ResourceType::Model, "orders", config)
    }

    fn col(name: &str, t: &str) -> Column {
        Column {
            name: name.into(),
            data_type: t.into(),
            comment: None,
        }
    }

    #[test]
    fn view_and_table_plans() {
        let duck = DuckDb::in_memory();
        let view = model(json!({"materialized": "view"}));
        let hooks = Hooks {
            pre: vec!["set threads = 1".into()],
            post: vec![],
        };
        let sql = "select 1 as id";
        insta::assert_snapshot!(
            plan_model(&duck, &view, sql, None, &hooks, &Default::default()).unwrap().script(&duck),
            @r#"
        set threads = 1;

        create or replace view "warehouse"."main"."orders" as (
        select 1 as id
        );
        "#
        );
        // a table replaces a view within one transaction
        let table = model(json!({"materialized": "table"}));
        insta::assert_snapshot!(
            plan_model(&duck, &table, sql, Some(RelationKind::View), &Hooks::default(), &Default::default()).unwrap().script(&duck),
            @r#"
        begin;

        drop view if exists "warehouse"."main"."orders";

        create table "warehouse"."main"."orders" as (
        select 1 as id
        );

        commit;
        "#
        );
        // and a table by DuckDB's atomic `create or replace table`: no temporary name, rename or
        // explicit transaction
        insta::assert_snapshot!(
            plan_model(&duck, &table, sql, Some(RelationKind::Table), &Hooks::default(), &Default::default()).unwrap().script(&duck),
            @r#"
        create or replace table "warehouse"."main"."orders" as (
        select 1 as id
        );
        "#
        );
        // Athena: recover what an interrupted build left, build aside under a fresh location
        // in the table's own folder, publish through Glue (the old files go after that)
        let athena = Athena::sample();
        let plan = plan_model(
            &athena,
            &table,
            sql,
            Some(RelationKind::Table),
            &Hooks::default(),
            &Default::default(),
        )
        .unwrap();
        let script =
            regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
                .unwrap()
                .replace_all(&plan.script(&athena), "[BUILD]")
                .into_owned();
        insta::assert_snapshot!(script, @r#"
        -- kiln: recover main.orders (owned s3://data/warehouse/main/orders/, unread files swept)

        create table "warehouse"."main"."orders__ha"
        with (
            table_type='hive',
            external_location='s3://data/warehouse/main/orders/[BUILD]/',
            format='parquet'
        )
        as
        select 1 as id;

        -- kiln: publish main.orders__ha as main.orders (owned s3://data/warehouse/main/orders/)
        "#);
    }

    #[test]
    fn incremental_strategies() {
        let duck = DuckDb::in_memory();
        let cols = vec!["id".to_string(), "amount".to_string()];
        let sql_of = |config: Json| {
            let node = model(config);
            let cfg = IncrementalConfig::parse(&node.config).unwrap();
            let mut out = stage_sql(&duck, &node, "select * from src", &cfg).unwrap();
            out.extend(key_check_sql(&duck, &node, &cfg));
            out.extend(apply_sql(&duck, &node, &cfg, &cols, None));
            out.join(";\n")
        };
        insta::assert_snapshot!(sql_of(json!({"unique_key": ["id"], "incremental_strategy": "merge", "incremental_predicates": ["DBT_INTERNAL_DEST.amount > 0"]})), @r#"
        drop table if exists "orders__kiln_new";
        create temporary table "orders__kiln_new" as (
        select * from src
        );
        select "id", count(*) as n from "orders__kiln_new" group by "id" having count(*) > 1 or "id" is null limit 1;
        merge into "warehouse"."main"."orders" as DBT_INTERNAL_DEST using "orders__kiln_new" as DBT_INTERNAL_SOURCE on DBT_INTERNAL_SOURCE."id" = DBT_INTERNAL_DEST."id" and (DBT_INTERNAL_DEST.amount > 0)
        when matched then update set "amount" = DBT_INTERNAL_SOURCE."amount"
        when not matched then insert ("id", "amount") values (DBT_INTERNAL_SOURCE."id", DBT_INTERNAL_SOURCE."amount")
        "#);
        insta::assert_snapshot!(sql_of(json!({"unique_key": "id"})), @r#"
        drop table if exists "orders__kiln_new";
        create temporary table "orders__kiln_new" as (
        select * from src
        );
        select "id", count(*) as n from "orders__kiln_new" group by "id" having count(*) > 1 or "id" is null limit 1;
        delete from "warehouse"."main"."orders" as DBT_INTERNAL_DEST where ("id") in (select "id" from "orders__kiln_new");
        insert into "warehouse"."main"."orders" ("id", "amount") select "id", "amount" from "orders__kiln_new"
        "#);
        insta::assert_snapshot!(sql_of(json!({"incremental_strategy": "insert_overwrite", "partition_by": "day"})), @r#"
        drop table if exists "orders__kiln_new";
        create temporary table "orders__kiln_new" as (
        select * from src
        );
        delete from "warehouse"."main"."orders" where ("day") in (select distinct "day" from "orders__kiln_new");
        insert into "warehouse"."main"."orders" ("id", "amount") select "id", "amount" from "orders__kiln_new"
        "#);
        // configuration mistakes name the key at fault (the parse phase adds the place)
        let err = IncrementalConfig::parse(&model(json!({"incremental_strategy": "merge"})).config)
            .unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].key, ["incremental_strategy"]);
        assert_eq!(
            err[0].message,
            "the merge strategy needs a unique_key (a column or a list of columns)"
        );
    }

    #[test]
    fn schema_changes() {
        let duck = DuckDb::in_memory();
        let new = vec![
            col("id", "INTEGER"),
            col("amount", "DOUBLE"),
            col("note", "VARCHAR"),
        ];
        let old = vec![
            col("id", "INTEGER"),
            col("amount", "INTEGER"),
            col("gone", "DATE"),
        ];
        let run = |mode: &str| {
            let node = model(json!({"unique_key": "id", "on_schema_change": mode}));
            let cfg = IncrementalConfig::parse(&node.config).unwrap();
            reconcile(&duck, &node, &cfg, &new, &old)
        };
        assert_eq!(
            run("ignore").unwrap(),
            (vec![], vec!["id".to_string(), "amount".to_string()])
        );
        assert_eq!(
            run("fail").unwrap_err(),
            "the model's columns no longer match \"warehouse\".\"main\".\"orders\" (new columns note; missing columns gone; amount changed type from INTEGER to DOUBLE), and on_schema_change is 'fail'; run with --full-refresh or set on_schema_change to append_new_columns or sync_all_columns"
        );
        let (alters, cols) = run("sync_all_columns").unwrap();
        insta::assert_snapshot!(alters.join(";\n"), @r#"
        alter table "warehouse"."main"."orders" add column "note" VARCHAR;
        alter table "warehouse"."main"."orders" drop column "gone";
        alter table "warehouse"."main"."orders" alter column "amount" set data type DOUBLE
        "#);
        assert_eq!(cols, vec!["id", "amount", "note"]);
        // no column in common: a clear error, never `insert into t () select from ...`
        let node = model(json!({"unique_key": "id"}));
        let cfg = IncrementalConfig::parse(&node.config).unwrap();
        let err = reconcile(&duck, &node, &cfg, &new, &[col("other", "INTEGER")]).unwrap_err();
        assert_eq!(
            err,
            "the model's columns (id, amount, note) share none with \"warehouse\".\"main\".\"orders\" (other); nothing could be inserted. Run with --full-refresh to rebuild it, or check that \"warehouse\".\"main\".\"orders\" is this model's table"
        );
    }

    #[test]
    fn snapshot_sql() {
        let duck = DuckDb::in_memory();
        let node = Node::sample(
            ResourceType::Snapshot,
            "plans",
            json!({"unique_key": "id", "strategy": "timestamp", "updated_at": "updated_at", "hard_deletes": "invalidate"}),
        );
        let cfg = SnapshotConfig::of(&node).unwrap();
        insta::assert_snapshot!(create_sql(&duck, &cfg, "select * from src"), @r#"
        select snapshot_query.*, md5(coalesce(cast(snapshot_query."id" as varchar), '') || '|' || coalesce(cast(snapshot_query."updated_at" as varchar), '')) as "dbt_scd_id", snapshot_query."updated_at" as "dbt_updated_at", snapshot_query."updated_at" as "dbt_valid_from", nullif(snapshot_query."updated_at", snapshot_query."updated_at") as "dbt_valid_to" from (
        select * from src
        ) snapshot_query
        "#);
        let src = vec![
            col("id", "INTEGER"),
            col("plan", "VARCHAR"),
            col("updated_at", "TIMESTAMP"),
        ];
        let mut existing = src.clone();
        for m in [
            "dbt_scd_id",
            "dbt_updated_at",
            "dbt_valid_from",
            "dbt_valid_to",
        ] {
            existing.push(col(m, "VARCHAR"));
        }
        insta::assert_snapshot!(update_sql(&duck, &node, &cfg, &src, &existing).join(";\n"), @r#"
        update "warehouse"."main"."plans" as t set "dbt_valid_to" = s."updated_at" from "plans__kiln_snap" as s where s."id" = t."id" and t."dbt_valid_to" is null and (t."dbt_valid_from" < s."updated_at");
        update "warehouse"."main"."plans" as t set "dbt_valid_to" = cast(now() as timestamp) where t."dbt_valid_to" is null and not exists (select 1 from "plans__kiln_snap" as s where s."id" = t."id");
        insert into "warehouse"."main"."plans" ("id", "plan", "updated_at", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to") select s."id", s."plan", s."updated_at", md5(coalesce(cast(s."id" as varchar), '') || '|' || coalesce(cast(s."updated_at" as varchar), '')), s."updated_at", s."updated_at", nullif(s."updated_at", s."updated_at") from "plans__kiln_snap" as s where not exists (select 1 from "warehouse"."main"."plans" as t where s."id" = t."id" and t."dbt_valid_to" is null);
        drop table if exists "plans__kiln_snap"
        "#);
        let bad = Node::sample(
            ResourceType::Snapshot,
            "plans",
            json!({"unique_key": "id", "strategy": "check"}),
        );
        let err = SnapshotConfig::parse(&bad.config).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].key, ["strategy"]);
        assert_eq!(
            err[0].message,
            "the check strategy needs check_cols ('all' or a list of columns)"
        );
    }
}

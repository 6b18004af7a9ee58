//! The materializations that keep state between runs: incremental models (including
//! microbatch) and snapshots. Each step runs inside one transaction on the worker's connection,
//! so a failed or killed step leaves the target exactly as it was.

use super::exec::{Exec, Failure, now, response, run_plan};
use super::{NodeResult, Status, Timing};
use crate::adapter::{Connection, DbError, DbErrorKind, RelationKind};
use crate::materialize::{self, Hooks, Plan, Target};
use crate::project::Node;
use serde_json::Value as Json;
use std::collections::BTreeMap;

impl Exec<'_> {
    pub(super) fn run_incremental(
        &self,
        node: &Node,
        worker: usize,
        r: &mut NodeResult,
    ) -> Result<(), Failure> {
        use crate::materialize::incremental as inc;
        let cfg = inc::IncrementalConfig::of(node).map_err(Failure::Other)?;
        let existing = self.existing(node, worker)?;
        let incremental = existing == Some(RelationKind::Table) && !self.full_refresh(node);
        self.shared.set_incremental(&node.unique_id, incremental);
        if cfg.strategy == inc::Strategy::Microbatch {
            return self.run_microbatch(node, worker, r, &cfg, existing, incremental);
        }
        let (code, ctes) = self.compile_parts(node, r)?;
        let hooks = self.hooks(node)?;
        let adapter = self.loaded.adapter.as_ref();
        let t0 = now();
        // An enforced contract is checked on every run, incremental ones included.
        let parents = self.check_contract(node, &code, worker)?;
        if !incremental {
            // First build or full refresh: a table, swapped in atomically.
            let mut table = node.clone();
            table
                .config
                .insert("materialized".into(), Json::String("table".into()));
            let keys = self.foreign_keys(node, parents, existing, worker)?;
            let plan = materialize::plan_model(adapter, &table, &code, existing, &hooks, &keys)
                .map_err(|e| Failure::Other(e.0))?;
            let script = plan.script();
            self.write_artifact(node, "run", &script);
            self.run_node_plan(worker, node, (&code, &ctes), &plan, &script)?;
        } else {
            let mut script = vec![];
            let done = self.in_transaction(worker, |c| {
                self.incremental_step(c, node, &cfg, &code, &hooks, None, &mut script)
            });
            let plan = Plan { statements: script };
            let text = plan.script();
            self.write_artifact(node, "run", &text);
            // A failed statement is the last one the step ran.
            let last = plan.statements.last().map_or("", String::as_str);
            done.map_err(|e| Failure::Database(self.placed(node, (&code, &ctes), last, &text, e)))?;
        }
        self.succeed(node, worker, r, t0, RelationKind::Table, "OK", None)
    }

    /// One incremental step on `c`, inside the caller's transaction: the node's pre-hooks, the
    /// new rows staged, their merge keys checked, the schema reconciled, the strategy applied
    /// (to `window` only, for a microbatch), the stage dropped, the post-hooks. Every statement
    /// run is appended to `script` (for target/run/).
    #[allow(clippy::too_many_arguments)]
    fn incremental_step(
        &self,
        c: &mut dyn Connection,
        node: &Node,
        cfg: &crate::materialize::incremental::IncrementalConfig,
        code: &str,
        hooks: &Hooks,
        window: Option<(&str, &str)>,
        script: &mut Vec<String>,
    ) -> Result<(), DbError> {
        use crate::materialize::incremental as inc;
        let adapter = self.loaded.adapter.as_ref();
        let target = Target::of(node);
        let mut exec = |c: &mut dyn Connection, sql: &str| {
            script.push(sql.to_string());
            super::exec::timed_execute(c, sql)
        };
        for h in &hooks.pre {
            exec(c, h)?;
        }
        for s in inc::stage_sql(adapter, node, code, cfg) {
            exec(c, &s)?;
        }
        if let Some(q) = inc::key_check_sql(adapter, node, cfg) {
            let bad = c.query(&q)?;
            if let Some(row) = bad.rows.first() {
                return Err(DbError::query(duplicate_key_message(
                    cfg,
                    &bad.columns,
                    row,
                )));
            }
        }
        let stage = adapter.quote(&inc::staging_name(node));
        let new_cols = c.query(&format!("select * from {stage} limit 0"))?.columns;
        let old_cols = c.columns(&target.database, &target.schema, &target.identifier)?;
        let (alters, cols) =
            inc::reconcile(adapter, node, cfg, &new_cols, &old_cols).map_err(DbError::query)?;
        for s in alters
            .iter()
            .chain(inc::apply_sql(adapter, node, cfg, &cols, window).iter())
        {
            exec(c, s)?;
        }
        exec(c, &inc::cleanup_sql(adapter, node))?;
        for h in &hooks.post {
            exec(c, h)?;
        }
        Ok(())
    }

    /// A microbatch model: each batch compiled with its window and applied in its own
    /// transaction; batches run in order and are reported one by one.
    fn run_microbatch(
        &self,
        node: &Node,
        worker: usize,
        r: &mut NodeResult,
        cfg: &crate::materialize::incremental::IncrementalConfig,
        existing: Option<RelationKind>,
        incremental: bool,
    ) -> Result<(), Failure> {
        use crate::materialize::incremental as inc;
        use crate::materialize::microbatch::MicrobatchConfig;
        let mb = MicrobatchConfig::of(node).map_err(Failure::Other)?;
        let clock = chrono::Utc::now().naive_utc();
        let batches = mb
            .batches(
                clock,
                incremental,
                self.opts.event_time_start,
                self.opts.event_time_end,
            )
            .map_err(|e| Failure::Other(format!("{}: {e}", node.original_file_path)))?;
        let adapter = self.loaded.adapter.as_ref();
        let target = Target::of(node);
        let hooks = self.hooks(node)?;
        let t0 = now();
        let lit = |t: &chrono::NaiveDateTime| inc::timestamp_literal(t);
        let iso = |t: &chrono::NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
        let (mut ok, mut failed) = (vec![], vec![]);
        let mut first_error: Option<Failure> = None;
        let mut script: Vec<String> = vec![];
        let mut table_ready = incremental;
        for (start, end) in &batches {
            let mut extra = BTreeMap::new();
            extra.insert(
                crate::jinja::context::BATCH_VAR.to_string(),
                minijinja::Value::from(vec![lit(start), lit(end)]),
            );
            let compiled = crate::jinja::compile::compile_one_with(
                self.nodes,
                &self.loaded.jenv,
                self.shared,
                &node.unique_id,
                &self.cache,
                extra,
            );
            let code = match compiled {
                Ok((code, _)) => code,
                Err(d) => {
                    failed.push((iso(start), iso(end)));
                    first_error.get_or_insert(Failure::Compile(d));
                    continue;
                }
            };
            r.compiled_code = Some(code.clone());
            // An enforced contract is checked on each batch's SQL, before it writes.
            let parents = match self.check_contract(node, &code, worker) {
                Ok(p) => p,
                Err(e) => {
                    failed.push((iso(start), iso(end)));
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            let contract = crate::materialize::contract::Contract::of(adapter, node);
            let step = self.in_transaction(worker, |c| {
                let mut exec = |c: &mut dyn Connection, sql: &str| {
                    script.push(sql.to_string());
                    c.execute(sql)
                };
                if !table_ready {
                    // First build or full refresh: an empty table shaped like the model.
                    if existing == Some(RelationKind::View) {
                        exec(c, &format!("drop view if exists {}", target.sql(adapter)))?;
                    }
                    let create = match &contract {
                        // under a contract: the declared columns and constraints
                        Some(contract) => {
                            exec(c, &format!("drop table if exists {}", target.sql(adapter)))?;
                            contract.create_sql(adapter, &target.sql(adapter), &parents)
                        }
                        None => format!(
                            "create or replace table {} as select * from (\n{}\n) kiln_shape limit 0",
                            target.sql(adapter),
                            code.trim()
                        ),
                    };
                    exec(c, &create)?;
                }
                let window = (lit(start), lit(end));
                self.incremental_step(
                    c,
                    node,
                    cfg,
                    &code,
                    &hooks,
                    Some((&window.0, &window.1)),
                    &mut script,
                )
            });
            match step {
                Ok(()) => {
                    table_ready = true;
                    ok.push((iso(start), iso(end)));
                }
                Err(e) => {
                    failed.push((iso(start), iso(end)));
                    let cancelled = e.kind == DbErrorKind::Cancelled;
                    first_error.get_or_insert(Failure::Database(e));
                    if cancelled {
                        break;
                    }
                }
            }
        }
        self.write_artifact(node, "run", &Plan { statements: script }.script());
        r.timing.push(Timing {
            name: "execute",
            started_at: t0,
            completed_at: now(),
        });
        let n_ok = ok.len();
        let n_failed = failed.len();
        r.batches = Some((ok, failed));
        match first_error {
            Some(e) if n_ok == 0 => Err(e),
            Some(e) => {
                r.status = Status::PartialSuccess;
                let why = e.message();
                r.message = Some(format!(
                    "{n_ok} of {} batches succeeded; the first failure: {why}",
                    n_ok + n_failed
                ));
                r.detail = Some(format!(
                    "Partial success in model {} ({}): {}",
                    node.name,
                    node.original_file_path,
                    r.message.clone().unwrap_or_default()
                ));
                Ok(())
            }
            None => {
                self.record(&Target::of(node), Some(RelationKind::Table));
                self.grants(node, worker)?;
                r.status = Status::Success;
                r.message = Some(format!("OK ({n_ok} batches)"));
                r.adapter_response = response("OK", None);
                Ok(())
            }
        }
    }

    pub(super) fn run_snapshot(
        &self,
        node: &Node,
        worker: usize,
        r: &mut NodeResult,
    ) -> Result<(), Failure> {
        use crate::materialize::snapshot as snap;
        let cfg = snap::SnapshotConfig::of(node).map_err(Failure::Other)?;
        let existing = self.existing(node, worker)?;
        let code = self.compile(node, r)?;
        let hooks = self.hooks(node)?;
        let adapter = self.loaded.adapter.as_ref();
        let target = Target::of(node);
        let t0 = now();
        match existing {
            Some(RelationKind::Table) => {
                let mut script = vec![];
                self.in_transaction(worker, |c| {
                    let mut exec = |c: &mut dyn Connection, sql: &str| {
                        script.push(sql.to_string());
                        c.execute(sql)
                    };
                    for h in &hooks.pre {
                        exec(c, h)?;
                    }
                    for s in snap::stage_sql(adapter, node, &code) {
                        exec(c, &s)?;
                    }
                    let stage = adapter.quote(&snap::stage_name(node));
                    let src = c.query(&format!("select * from {stage} limit 0"))?.columns;
                    let old = c.columns(&target.database, &target.schema, &target.identifier)?;
                    for s in snap::update_sql(adapter, node, &cfg, &src, &old) {
                        exec(c, &s)?;
                    }
                    for h in &hooks.post {
                        exec(c, h)?;
                    }
                    Ok(())
                })
                .map_err(Failure::Database)?;
                self.write_artifact(node, "run", &Plan { statements: script }.script());
            }
            Some(RelationKind::View) => {
                return Err(Failure::Other(format!(
                    "{} is a view, not a snapshot table; drop it or choose another target for the snapshot",
                    target.sql(adapter)
                )));
            }
            None => {
                let tmp = target.with_identifier(format!(
                    "{}{}",
                    target.identifier,
                    materialize::TMP_SUFFIX
                ));
                let create = format!(
                    "create table {} as (\n{}\n)",
                    tmp.sql(adapter),
                    snap::create_sql(adapter, &cfg, &code)
                );
                let mut plan = materialize::swap_in(adapter, &target, create, None);
                let mut statements = hooks.pre.clone();
                statements.append(&mut plan.statements);
                statements.extend(hooks.post.iter().cloned());
                plan.statements = statements;
                self.write_artifact(node, "run", &plan.script());
                self.with_conn(worker, |c| {
                    run_plan(c, &plan, adapter.sql_dialect().as_ref())
                })
                .map_err(Failure::Database)?;
            }
        }
        self.succeed(node, worker, r, t0, RelationKind::Table, "OK", None)
    }
}

/// "The new rows hold a duplicate key", naming the key columns and one offending value.
fn duplicate_key_message(
    cfg: &crate::materialize::incremental::IncrementalConfig,
    columns: &[crate::adapter::Column],
    row: &[crate::adapter::Cell],
) -> String {
    let keys = cfg.unique_key.join(", ");
    let values: Vec<String> = columns
        .iter()
        .zip(row)
        .take(cfg.unique_key.len())
        .map(|(c, v)| format!("{} = {}", c.name, v))
        .collect();
    let count = row.last().map(ToString::to_string).unwrap_or_default();
    let has_null = row
        .iter()
        .take(cfg.unique_key.len())
        .any(|v| *v == crate::adapter::Cell::Null);
    let what = if has_null {
        format!("a NULL unique_key ({})", values.join(", "))
    } else {
        format!(
            "{} rows with the same unique_key ({})",
            count,
            values.join(", ")
        )
    };
    format!(
        "the new rows hold {what}; unique_key is ({keys}), and merging them would duplicate rows, so nothing was written. Fix the model so each key appears once, or set unique_key_duplicates: dedupe to keep one row per key"
    )
}

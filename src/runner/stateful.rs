//! The materializations that keep state between runs: incremental models (including
//! microbatch) and snapshots. Their plans come from [`crate::materialize`]; each step runs inside
//! one transaction on the worker's connection where the engine has them, so a failed or killed
//! step leaves the target exactly as it was. Their target/run/ file holds the statements as they
//! ran (the plans read the database between statements).

use super::exec::{Exec, Failure, now, response};
use super::{NodeResult, Status, Timing};
use crate::adapter::{DbErrorKind, RelationKind};
use crate::materialize::plan::script_of;
use crate::materialize::{self, RelationTarget};
use crate::project::Node;
use std::collections::BTreeMap;

impl Exec<'_> {
    pub(super) fn run_incremental(
        &self,
        node: &Node,
        worker: usize,
        r: &mut NodeResult,
    ) -> Result<(), Failure> {
        use crate::materialize::incremental as inc;
        let cfg = inc::IncrementalConfig::of(node).map_err(Failure::Runtime)?;
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
            let keys = self.foreign_keys(node, parents, existing, worker)?;
            let plan = materialize::plan_model(adapter, node, &code, existing, &hooks, &keys)
                .map_err(|e| Failure::Runtime(e.0))?;
            let script = plan.script(adapter);
            self.write_artifact(node, "run", &script);
            self.run_node_plan(worker, node, (&code, &ctes), &plan, &script)?;
        } else {
            let plan = inc::step_plan(adapter, node, &cfg, &code, &hooks, None)
                .map_err(|e| Failure::Runtime(e.0))?;
            match self.run_plan(worker, &plan) {
                Ok(ran) => self.write_artifact(node, "run", &script_of(&ran)),
                Err(failed) => {
                    let text = script_of(&failed.ran);
                    self.write_artifact(node, "run", &text);
                    // (a failed statement is the last one the step ran)
                    let at = failed.statement().to_string();
                    return Err(Failure::Database(self.placed(
                        node,
                        (&code, &ctes),
                        &at,
                        &text,
                        failed.error,
                    )));
                }
            }
        }
        self.succeed(node, worker, r, t0, RelationKind::Table, "OK", None)
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
        use crate::materialize::microbatch::{FirstBuild, MicrobatchConfig, batch_plan};
        let mb = MicrobatchConfig::of(node).map_err(Failure::Runtime)?;
        let clock = chrono::Utc::now().naive_utc();
        let batches = mb
            .batches(
                clock,
                incremental,
                self.opts.event_time_start,
                self.opts.event_time_end,
            )
            .map_err(|e| Failure::Runtime(format!("{}: {e}", node.original_file_path)))?;
        let adapter = self.loaded.adapter.as_ref();
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
            // First build or full refresh: the batch first makes the table.
            let first = (!table_ready).then_some(FirstBuild {
                existing,
                parents: &parents,
            });
            let window = (lit(start), lit(end));
            let plan = match batch_plan(adapter, node, cfg, &code, &hooks, window, first) {
                Ok(plan) => plan,
                Err(e) => {
                    failed.push((iso(start), iso(end)));
                    first_error.get_or_insert(Failure::Runtime(e.0));
                    continue;
                }
            };
            match self.run_plan(worker, &plan) {
                Ok(ran) => {
                    script.extend(ran);
                    table_ready = true;
                    ok.push((iso(start), iso(end)));
                }
                Err(f) => {
                    script.extend(f.ran);
                    failed.push((iso(start), iso(end)));
                    let cancelled = f.error.kind == DbErrorKind::Cancelled;
                    first_error.get_or_insert(Failure::Database(f.error));
                    if cancelled {
                        break;
                    }
                }
            }
        }
        self.write_artifact(node, "run", &script_of(&script));
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
                self.record(&RelationTarget::of(node), Some(RelationKind::Table));
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
        let cfg = snap::SnapshotConfig::of(node).map_err(Failure::Runtime)?;
        let existing = self.existing(node, worker)?;
        let code = self.compile(node, r)?;
        let hooks = self.hooks(node)?;
        let adapter = self.loaded.adapter.as_ref();
        let t0 = now();
        let plan = snap::plan(adapter, node, &cfg, &code, existing, &hooks)
            .map_err(|e| Failure::Runtime(e.0))?;
        if plan.is_fixed() {
            // The first build: its script is known, and written before it runs.
            self.write_artifact(node, "run", &plan.script(adapter));
            self.run_plan(worker, &plan)
                .map_err(|f| Failure::Database(f.error))?;
        } else {
            let ran = self
                .run_plan(worker, &plan)
                .map_err(|f| Failure::Database(f.error))?;
            self.write_artifact(node, "run", &script_of(&ran));
        }
        self.succeed(node, worker, r, t0, RelationKind::Table, "OK", None)
    }
}

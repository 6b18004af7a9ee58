//! Executing one node: compile it (live), plan its materialization, run the plan on the worker's
//! connection, and describe the outcome.

use super::{NodeResult, Progress, RunOptions, Status, Timing};
use crate::adapter::{Connection, DbError, DbErrorKind, Pool, RelationKind};
use crate::commands::Loaded;
use crate::error::Diagnostic;
use crate::jinja::compile::{EphemeralCache, compile_one, render_snippet};
use crate::jinja::context::Shared;
use crate::materialize::{self, Hooks, Plan, Target, seed, test};
use crate::project::{Node, ResourceType};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub struct Exec<'a> {
    pub loaded: &'a Loaded,
    pub nodes: &'a BTreeMap<String, Arc<Node>>,
    pub shared: &'a Arc<Shared>,
    pub cache: EphemeralCache,
    pub opts: &'a RunOptions,
    pub progress: &'a Progress,
    /// One connection per worker, opened on first use.
    pub conns: Vec<Mutex<Option<Box<dyn Connection>>>>,
    /// What stands in each schema the run touches: (database, schema) → identifier → kind,
    /// all lower-cased.
    pub catalog: Mutex<HashMap<(String, String), HashMap<String, RelationKind>>>,
}

/// How a node failed, before it becomes a [`NodeResult`].
enum Failure {
    Compile(Diagnostic),
    Database(DbError),
    Other(String),
}

/// dbt's words for a node in progress lines: `sql view model main.orders`.
pub fn describe(node: &Node) -> String {
    match node.resource_type {
        ResourceType::Model => format!(
            "sql {} model {}.{}",
            node.materialized(),
            node.schema,
            node.alias
        ),
        ResourceType::Seed => format!("seed file {}.{}", node.schema, node.alias),
        ResourceType::Snapshot => format!("snapshot {}.{}", node.schema, node.alias),
        ResourceType::Test => format!("test {}", node.name),
        other => format!("{other} {}", node.name),
    }
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn now_utc() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

impl Exec<'_> {
    fn with_conn<R>(
        &self,
        worker: usize,
        f: impl FnOnce(&mut dyn Connection) -> Result<R, DbError>,
    ) -> Result<R, DbError> {
        let slot = self
            .conns
            .get(worker)
            .ok_or_else(|| DbError::open("no connection slot for this worker"))?;
        let mut guard = slot
            .lock()
            .map_err(|_| DbError::open("a worker's connection is poisoned"))?;
        if guard.is_none() {
            *guard = Some(self.loaded.adapter.connect()?);
        }
        match guard.as_mut() {
            Some(c) => f(c.as_mut()),
            None => Err(DbError::open("no connection")),
        }
    }

    /// A node not run because `cause` (upstream) failed.
    pub fn skipped(&self, uid: &str, cause: &str) -> NodeResult {
        let mut r = NodeResult::new(uid, Status::Skipped);
        let cause_name = self.nodes.get(cause).map_or(cause, |n| n.name.as_str());
        r.message = Some(format!("skipped because '{cause_name}' failed"));
        if let Some(n) = self.nodes.get(uid) {
            r.relation_name = n.relation_name.clone();
            let index = self.progress.claim();
            let what = match n.resource_type {
                ResourceType::Test => format!("SKIP test {}", n.name),
                _ => format!("SKIP relation {}.{}", n.schema, n.alias),
            };
            self.progress
                .done(index, &what, "SKIP", uid, "skipped", 0.0);
        }
        r
    }

    pub fn run_node(&self, uid: &str, worker: usize) -> NodeResult {
        let mut r = NodeResult::new(uid, Status::Error);
        r.thread_id = format!("Thread-{}", worker + 1);
        let Some(node) = self.nodes.get(uid) else {
            r.message = Some(format!("unknown node {uid}"));
            return r;
        };
        r.relation_name = node.relation_name.clone();
        let index = self.progress.claim();
        let what = describe(node);
        self.progress.start(index, &what, uid);
        let started = Instant::now();
        let outcome = match node.resource_type {
            ResourceType::Model if node.materialized() == "incremental" => {
                self.run_incremental(node, worker, &mut r)
            }
            ResourceType::Model => self.run_model(node, worker, &mut r),
            ResourceType::Seed => self.run_seed(node, worker, &mut r),
            ResourceType::Test => self.run_test(node, worker, &mut r),
            ResourceType::Snapshot => self.run_snapshot(node, worker, &mut r),
            other => Err(Failure::Other(format!("{other} nodes are not executed"))),
        };
        r.execution_time = started.elapsed().as_secs_f64();
        let secs = r.execution_time;
        match outcome {
            Ok(()) => {}
            Err(f) => {
                r.status = Status::Error;
                let (kind, message, detail) = match f {
                    Failure::Compile(d) => (
                        "Compilation Error",
                        d.message.clone(),
                        crate::error::render_diagnostics(&[d], false),
                    ),
                    Failure::Database(e) if e.kind == DbErrorKind::Cancelled => (
                        "Cancelled",
                        "cancelled before it finished; the previous relation is unchanged".into(),
                        String::new(),
                    ),
                    Failure::Database(e) => ("Database Error", e.message.clone(), e.message),
                    Failure::Other(m) => ("Runtime Error", m.clone(), m),
                };
                let mut text = format!(
                    "{kind} in {} {} ({})",
                    node.resource_type, node.name, node.original_file_path
                );
                for line in detail.trim_end().lines() {
                    text.push_str("\n  ");
                    text.push_str(line);
                }
                if r.compiled_code.is_some() {
                    text.push_str(&format!(
                        "\n  compiled code at {}",
                        self.artifact_path(node, "run").display()
                    ));
                }
                r.message = Some(message);
                r.detail = Some(text);
            }
        }
        let (line, status) = match (node.resource_type, r.status) {
            (ResourceType::Test, Status::Pass) => {
                (format!("PASS {}", node.name), format!("PASS in {secs:.2}s"))
            }
            (ResourceType::Test, Status::Fail) => {
                let n = r.failures.unwrap_or(0);
                (
                    format!("FAIL {n} {}", node.name),
                    format!("FAIL {n} in {secs:.2}s"),
                )
            }
            (ResourceType::Test, Status::Warn) => {
                let n = r.failures.unwrap_or(0);
                (
                    format!("WARN {n} {}", node.name),
                    format!("WARN {n} in {secs:.2}s"),
                )
            }
            (ResourceType::Test, _) => (
                format!("ERROR {}", node.name),
                format!("ERROR in {secs:.2}s"),
            ),
            (ResourceType::Seed, Status::Success) => (
                format!("OK loaded {what}"),
                format!(
                    "{} in {secs:.2}s",
                    r.message.clone().unwrap_or_else(|| "OK".into())
                ),
            ),
            (_, Status::Success) => (format!("OK created {what}"), format!("OK in {secs:.2}s")),
            (_, Status::PartialSuccess) => (
                format!("PARTIAL SUCCESS {what}"),
                format!("PARTIAL SUCCESS in {secs:.2}s"),
            ),
            (ResourceType::Seed, _) => (
                format!("ERROR loading {what}"),
                format!("ERROR in {secs:.2}s"),
            ),
            _ => (
                format!("ERROR creating {what}"),
                format!("ERROR in {secs:.2}s"),
            ),
        };
        self.progress
            .done(index, &line, &status, uid, r.status.as_str(), secs);
        r
    }

    /// Compiles a node with the live context, writing target/compiled/.
    fn compile(&self, node: &Node, r: &mut NodeResult) -> Result<String, Failure> {
        let t0 = now();
        let compiled = compile_one(
            self.nodes,
            &self.loaded.jenv,
            self.shared,
            &node.unique_id,
            &self.cache,
        )
        .map_err(Failure::Compile)?;
        r.timing.push(Timing {
            name: "compile",
            started_at: t0,
            completed_at: now(),
        });
        let code = compiled.0;
        r.compiled_code = Some(code.clone());
        self.write_artifact(node, "compiled", &code);
        Ok(code)
    }

    fn hooks(&self, node: &Node) -> Result<Hooks, Failure> {
        let arc = self.nodes.get(&node.unique_id);
        let render = |key: &str| -> Result<Vec<String>, Failure> {
            materialize::hook_sources(node, key)
                .iter()
                .enumerate()
                .map(|(i, sql)| {
                    render_snippet(
                        &self.loaded.jenv,
                        self.shared,
                        arc,
                        &format!("{key} {} of {}", i + 1, node.name),
                        sql,
                        BTreeMap::new(),
                    )
                    .map_err(Failure::Compile)
                })
                .collect()
        };
        Ok(Hooks {
            pre: render("pre-hook")?,
            post: render("post-hook")?,
        })
    }

    fn run_model(&self, node: &Node, worker: usize, r: &mut NodeResult) -> Result<(), Failure> {
        let code = self.compile(node, r)?;
        let hooks = self.hooks(node)?;
        let t0 = now();
        let existing = self.existing(node, worker)?;
        let adapter = self.loaded.adapter.as_ref();
        let plan = materialize::plan_model(adapter, node, &code, existing, &hooks)
            .map_err(|e| Failure::Other(e.0))?;
        self.write_artifact(node, "run", &plan.script());
        self.with_conn(worker, |c| run_plan(c, &plan))
            .map_err(Failure::Database)?;
        let kind = if node.materialized() == "view" {
            RelationKind::View
        } else {
            RelationKind::Table
        };
        self.succeed(node, worker, r, t0, kind, "OK", None)
    }

    /// The current relation at the node's target. Each schema is listed once per run (a catalog
    /// query costs milliseconds, which add up over thousands of nodes); the runner then keeps
    /// the list current as it builds.
    fn existing(&self, node: &Node, worker: usize) -> Result<Option<RelationKind>, Failure> {
        self.existing_at(&Target::of(node), worker)
    }

    fn existing_at(&self, t: &Target, worker: usize) -> Result<Option<RelationKind>, Failure> {
        let key = (t.database.to_lowercase(), t.schema.to_lowercase());
        let mut catalog = self
            .catalog
            .lock()
            .map_err(|_| Failure::Other("the relation cache is poisoned".into()))?;
        if !catalog.contains_key(&key) {
            let listed = self
                .with_conn(worker, |c| c.list_relations(&t.database, &t.schema))
                .map_err(Failure::Database)?;
            catalog.insert(
                key.clone(),
                listed
                    .into_iter()
                    .map(|r| (r.identifier.to_lowercase(), r.kind))
                    .collect(),
            );
        }
        Ok(catalog
            .get(&key)
            .and_then(|m| m.get(&t.identifier.to_lowercase()).copied()))
    }

    /// Notes what now stands at `t` after a build.
    fn record(&self, t: &Target, kind: Option<RelationKind>) {
        let key = (t.database.to_lowercase(), t.schema.to_lowercase());
        if let Ok(mut catalog) = self.catalog.lock()
            && let Some(m) = catalog.get_mut(&key)
        {
            match kind {
                Some(k) => m.insert(t.identifier.to_lowercase(), k),
                None => m.remove(&t.identifier.to_lowercase()),
            };
        }
    }

    /// `full_refresh` config wins over the --full-refresh flag, as in dbt.
    fn full_refresh(&self, node: &Node) -> bool {
        node.config
            .get("full_refresh")
            .and_then(Json::as_bool)
            .unwrap_or(self.opts.full_refresh)
    }

    /// Runs statements inside one transaction on the worker's connection: `body` gets the
    /// connection; any error rolls everything back.
    fn in_transaction(
        &self,
        worker: usize,
        body: impl FnOnce(&mut dyn Connection) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        self.with_conn(worker, |c| {
            c.execute("begin")?;
            match body(c) {
                Ok(()) => c.execute("commit").inspect_err(|_| {
                    let _ = c.execute("rollback");
                }),
                Err(e) => {
                    let _ = c.execute("rollback");
                    Err(e)
                }
            }
        })
    }

    fn run_incremental(
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
        let code = self.compile(node, r)?;
        let hooks = self.hooks(node)?;
        let adapter = self.loaded.adapter.as_ref();
        let t0 = now();
        if !incremental {
            // First build or full refresh: a table, swapped in atomically.
            let mut table = node.clone();
            table
                .config
                .insert("materialized".into(), Json::String("table".into()));
            let plan = materialize::plan_model(adapter, &table, &code, existing, &hooks)
                .map_err(|e| Failure::Other(e.0))?;
            self.write_artifact(node, "run", &plan.script());
            self.with_conn(worker, |c| run_plan(c, &plan))
                .map_err(Failure::Database)?;
        } else {
            let mut script = vec![];
            self.in_transaction(worker, |c| {
                self.incremental_step(c, node, &cfg, &code, &hooks, None, &mut script)
            })
            .map_err(Failure::Database)?;
            let plan = Plan {
                statements: script,
                main: String::new(),
            };
            self.write_artifact(node, "run", &plan.script());
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
            c.execute(sql)
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
        let now = chrono::Utc::now().naive_utc();
        let batches = mb
            .batches(
                now,
                incremental,
                self.opts.event_time_start,
                self.opts.event_time_end,
            )
            .map_err(|e| Failure::Other(format!("{}: {e}", node.original_file_path)))?;
        let adapter = self.loaded.adapter.as_ref();
        let target = Target::of(node);
        let hooks = self.hooks(node)?;
        let t0 = now_utc();
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
                    exec(
                        c,
                        &format!(
                            "create or replace table {} as select * from (\n{}\n) kiln_shape limit 0",
                            target.sql(adapter),
                            code.trim()
                        ),
                    )?;
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
        self.write_artifact(
            node,
            "run",
            &Plan {
                statements: script,
                main: String::new(),
            }
            .script(),
        );
        r.timing.push(Timing {
            name: "execute",
            started_at: t0,
            completed_at: now_utc(),
        });
        let n_ok = ok.len();
        let n_failed = failed.len();
        r.batches = Some((ok, failed));
        match first_error {
            Some(e) if n_ok == 0 => Err(e),
            Some(e) => {
                r.status = Status::PartialSuccess;
                let why = match e {
                    Failure::Compile(d) => d.message,
                    Failure::Database(e) => e.message,
                    Failure::Other(m) => m,
                };
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

    fn run_snapshot(&self, node: &Node, worker: usize, r: &mut NodeResult) -> Result<(), Failure> {
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
                self.write_artifact(
                    node,
                    "run",
                    &Plan {
                        statements: script,
                        main: String::new(),
                    }
                    .script(),
                );
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
                self.with_conn(worker, |c| run_plan(c, &plan))
                    .map_err(Failure::Database)?;
            }
        }
        self.succeed(node, worker, r, t0, RelationKind::Table, "OK", None)
    }

    /// What every successful build ends with: note the relation, persist docs, apply grants,
    /// and record the timing and status.
    #[allow(clippy::too_many_arguments)]
    fn succeed(
        &self,
        node: &Node,
        worker: usize,
        r: &mut NodeResult,
        started: chrono::DateTime<chrono::Utc>,
        kind: RelationKind,
        message: &str,
        rows: Option<i64>,
    ) -> Result<(), Failure> {
        let target = Target::of(node);
        self.record(&target, Some(kind));
        if node.config.contains_key("persist_docs") {
            let adapter = self.loaded.adapter.as_ref();
            let columns: Vec<String> = self
                .with_conn(worker, |c| {
                    c.columns(&target.database, &target.schema, &target.identifier)
                })
                .map_err(Failure::Database)?
                .into_iter()
                .map(|c| c.name)
                .collect();
            let comments = materialize::comment_statements(adapter, node, kind, &columns);
            self.with_conn(worker, |c| comments.iter().try_for_each(|s| c.execute(s)))
                .map_err(Failure::Database)?;
        }
        self.grants(node, worker)?;
        r.timing.push(Timing {
            name: "execute",
            started_at: started,
            completed_at: now(),
        });
        r.status = Status::Success;
        r.message = Some(message.to_string());
        r.adapter_response = response(message, rows);
        Ok(())
    }

    fn grants(&self, node: &Node, worker: usize) -> Result<(), Failure> {
        let adapter = self.loaded.adapter.as_ref();
        if materialize::grants_unsupported(adapter, node) {
            self.progress.note(&format!(
                "Warning: {} sets `grants`, but {} has no grants; they were not applied",
                node.original_file_path,
                adapter.adapter_type()
            ));
            return Ok(());
        }
        let grants = materialize::grant_statements(adapter, node);
        self.with_conn(worker, |c| grants.iter().try_for_each(|s| c.execute(s)))
            .map_err(Failure::Database)
    }

    fn run_seed(&self, node: &Node, worker: usize, r: &mut NodeResult) -> Result<(), Failure> {
        let t0 = now();
        let adapter = self.loaded.adapter.as_ref();
        let hooks = self.hooks(node)?;
        let existing = self.existing(node, worker)?;
        let rows = self
            .with_conn(worker, |c| {
                // The CSV is read by its path in the project (node.file is project-relative).
                let mut located = node.clone();
                located.file = self.loaded.project.dir.join(&node.original_file_path);
                let load = seed::load(c, adapter, &located, existing)?;
                let mut plan = load.plan;
                let pre: Vec<String> = hooks.pre.clone();
                let mut statements = pre;
                statements.append(&mut plan.statements);
                statements.extend(hooks.post.iter().cloned());
                let plan = Plan {
                    statements,
                    main: plan.main,
                };
                self.write_artifact(node, "run", &plan.script());
                run_plan(c, &plan)?;
                for w in &load.warnings {
                    self.progress.note(&format!("Warning: {w}"));
                }
                Ok(i64::try_from(load.rows).unwrap_or(i64::MAX))
            })
            .map_err(Failure::Database)?;
        self.succeed(
            node,
            worker,
            r,
            t0,
            RelationKind::Table,
            &format!("INSERT {rows}"),
            Some(rows),
        )
    }

    fn run_test(&self, node: &Node, worker: usize, r: &mut NodeResult) -> Result<(), Failure> {
        let code = self.compile(node, r)?;
        let cfg = test::TestConfig::of(node, self.opts.store_failures);
        let adapter = self.loaded.adapter.as_ref();
        let t0 = now();
        let target = Target::of(node);
        let to_count = match cfg.store_failures_as {
            Some(kind) => {
                let existing = self.existing(node, worker)?;
                let (plan, read) = test::store_failures_plan(adapter, node, &code, kind, existing);
                self.with_conn(worker, |c| run_plan(c, &plan))
                    .map_err(Failure::Database)?;
                self.record(&target, Some(kind));
                r.relation_name = Some(target.sql(adapter));
                read
            }
            None => code.clone(),
        };
        let query = test::test_query(&to_count, &cfg);
        self.write_artifact(node, "run", &query);
        let rows = self
            .with_conn(worker, |c| c.query(&query))
            .map_err(Failure::Database)?;
        let row = rows.rows.first().cloned().unwrap_or_default();
        let cell_bool = |i: usize| match row.get(i) {
            Some(crate::adapter::Cell::Bool(b)) => *b,
            Some(crate::adapter::Cell::Int(n)) => *n != 0,
            _ => false,
        };
        let failures = match row.first() {
            Some(crate::adapter::Cell::Int(n)) => *n,
            Some(crate::adapter::Cell::Float(f)) => *f as i64,
            Some(c @ crate::adapter::Cell::Decimal(_)) => {
                c.to_string().parse::<f64>().map_or(0, |f| f as i64)
            }
            _ => 0,
        };
        let verdict = test::verdict(&cfg, cell_bool(1), cell_bool(2));
        r.timing.push(Timing {
            name: "execute",
            started_at: t0,
            completed_at: now(),
        });
        r.failures = Some(failures);
        r.adapter_response = response("OK", None);
        let (status, message) = match verdict {
            test::Verdict::Pass => (Status::Pass, None),
            test::Verdict::Warn => (
                Status::Warn,
                Some(format!(
                    "Got {failures} result{}, configured to warn if {}",
                    if failures == 1 { "" } else { "s" },
                    cfg.warn_if
                )),
            ),
            test::Verdict::Fail => (
                Status::Fail,
                Some(format!(
                    "Got {failures} result{}, configured to fail if {}",
                    if failures == 1 { "" } else { "s" },
                    cfg.error_if
                )),
            ),
        };
        r.status = status;
        r.message = message.clone();
        if let Some(m) = message {
            let kind = if status == Status::Fail {
                "Failure"
            } else {
                "Warning"
            };
            let mut text = format!(
                "{kind} in test {} ({})\n  {m}\n\n  compiled code at {}",
                node.name,
                node.original_file_path,
                self.artifact_path(node, "compiled").display()
            );
            if cfg.store_failures_as.is_some() {
                text.push_str(&format!(
                    "\n  failing rows stored in {}",
                    target.sql(adapter)
                ));
            }
            r.detail = Some(text);
        }
        Ok(())
    }

    /// target/<kind>/<package>/<file> (generic tests under their YAML file's path).
    fn artifact_path(&self, node: &Node, kind: &str) -> PathBuf {
        let mut p = PathBuf::from(self.loaded.project.config.target_path())
            .join(kind)
            .join(&node.package_name);
        p.push(&node.original_file_path);
        if node.test.is_some() {
            p.push(&node.path);
        }
        p
    }

    fn write_artifact(&self, node: &Node, kind: &str, text: &str) {
        let path = self.loaded.project.dir.join(self.artifact_path(node, kind));
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(&path, text);
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

/// Runs a plan's statements in order; a failure inside `begin`…`commit` rolls the transaction
/// back, so the relation is as it was before.
pub fn run_plan(conn: &mut dyn Connection, plan: &Plan) -> Result<(), DbError> {
    let mut in_tx = false;
    for s in &plan.statements {
        let word = s.trim().trim_end_matches(';').to_ascii_lowercase();
        if let Err(e) = conn.execute(s) {
            if in_tx {
                let _ = conn.execute("rollback");
            }
            return Err(e);
        }
        match word.as_str() {
            "begin" | "begin transaction" => in_tx = true,
            "commit" | "rollback" => in_tx = false,
            _ => {}
        }
    }
    Ok(())
}

fn response(message: &str, rows: Option<i64>) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("_message".into(), Json::String(message.into()));
    m.insert(
        "code".into(),
        Json::String(message.split(' ').next().unwrap_or("OK").into()),
    );
    m.insert("rows_affected".into(), Json::from(rows.unwrap_or(-1)));
    m
}

/// Creates every schema the run writes to (custom schemas included), before any node runs.
pub fn create_schemas(
    pool: &Pool,
    nodes: &BTreeMap<String, Arc<Node>>,
    ids: &[String],
    opts: &RunOptions,
) -> Result<(), Diagnostic> {
    let mut schemas = BTreeSet::new();
    for n in ids.iter().filter_map(|id| nodes.get(id)) {
        let writes = match n.resource_type {
            ResourceType::Model => !n.is_ephemeral(),
            ResourceType::Seed | ResourceType::Snapshot => true,
            ResourceType::Test => test::TestConfig::of(n, opts.store_failures)
                .store_failures_as
                .is_some(),
            _ => false,
        };
        if writes {
            schemas.insert((n.database.clone(), n.schema.clone()));
        }
    }
    for (db, schema) in schemas {
        pool.with(|c| c.create_schema(&db, &schema)).map_err(|e| {
            Diagnostic::error(
                "database",
                format!("cannot create schema {db}.{schema}: {e}"),
            )
        })?;
    }
    Ok(())
}

//! Executing one node: compile it (live), plan its materialization, run the plan on the worker's
//! connection, and describe the outcome.

use super::plan::{PlanFailure, run_plan};
use super::{NodeResult, Progress, RunOptions, Status, Timing, output};
use crate::adapter::{Connection, DbError, DbErrorKind, Pool, RelationKind};
use crate::error::Diagnostic;
use crate::events::{Event, kinds};
use crate::jinja::compile::{EphemeralCache, compile_one, render_snippet};
use crate::jinja::context::Shared;
use crate::materialize::contract::{Contract, ForeignKeyTargets, ForeignKeys};
use crate::materialize::{self, Hooks, Plan, RelationTarget, seed, test};
use crate::project::{Node, ResourceType};
use crate::session::Loaded;
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A no-op node's `node_info` from its status and start/end times.
type NodeInfo<'a> = dyn Fn(
        &str,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ) -> serde_json::Value
    + 'a;

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
    /// target/compiled and target/run files, written by [`spawn_file_writer`]'s thread.
    pub files: std::sync::mpsc::Sender<(PathBuf, String)>,
    /// Whether any model declares a foreign key (computed on first use).
    pub foreign_keys_declared: std::sync::OnceLock<bool>,
    /// What was built from what: skipping unchanged work ([`super::reuse`]).
    pub state: &'a super::reuse::BuildState,
}

/// A thread that writes the files it is sent, in order, until every sender is dropped. A file
/// that cannot be written is a warning naming it (the run goes on: these files are for reading,
/// not for the build); after the first, the others are counted in one warning at the end.
pub fn spawn_file_writer() -> (
    std::sync::mpsc::Sender<(PathBuf, String)>,
    std::thread::JoinHandle<()>,
) {
    let (tx, rx) = std::sync::mpsc::channel::<(PathBuf, String)>();
    let handle = std::thread::spawn(move || {
        let mut made = BTreeSet::new();
        let mut failed = 0usize;
        for (path, text) in rx {
            let mut written = Ok(());
            if let Some(dir) = path.parent()
                && !made.contains(dir)
            {
                written = std::fs::create_dir_all(dir);
                if written.is_ok() {
                    made.insert(dir.to_path_buf());
                }
            }
            let written =
                written.and_then(|()| crate::session::write_if_changed(&path, text.as_bytes()));
            if let Err(e) = written {
                failed += 1;
                if failed == 1 {
                    Event::note(format!("Warning: cannot write {}: {e}", path.display()))
                        .at(crate::events::Level::Warn)
                        .stamped()
                        .emit();
                }
            }
        }
        if failed > 1 {
            let more = failed - 1;
            Event::note(format!(
                "Warning: {more} more file{} of target/compiled and target/run could not be written",
                if more == 1 { "" } else { "s" }
            ))
            .at(crate::events::Level::Warn)
            .stamped()
            .emit();
        }
    });
    (tx, handle)
}

/// How a node failed, before it becomes a [`NodeResult`].
pub(super) enum Failure {
    Compile(Diagnostic),
    Database(DbError),
    /// The model's columns break its enforced contract (dbt's message and table).
    Contract(String),
    /// Anything else that stops a node as it runs (a config that cannot apply, a plan that
    /// cannot be made): dbt's `Runtime Error`.
    Runtime(String),
}

impl Failure {
    /// The failure in one message.
    pub(super) fn message(self) -> String {
        match self {
            Failure::Compile(d) => d.message,
            Failure::Database(e) => e.message,
            Failure::Contract(m) | Failure::Runtime(m) => m,
        }
    }
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

pub(super) fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

impl Exec<'_> {
    pub(super) fn with_conn<R>(
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
        if let Some(t) = self.loaded.project.unit_tests.get(uid) {
            self.skipped_unit(t, &mut r);
        } else if let Some(e) = self.loaded.project.exposures.get(uid) {
            let index = self.progress.claim();
            let total = self.progress.total();
            let (plain, styled) =
                output::result_line(index, total, &format!("SKIP exposure {}", e.name), "SKIP");
            let event = Event::new(kinds::SKIPPING_DETAILS, plain)
                .styled(styled)
                .stamped()
                .with("index", index)
                .with(
                    "node_info",
                    output::exposure_info(e, "skipped", Some(now()), None),
                )
                .with("node_name", e.name.clone())
                .with("resource_type", "exposure")
                .with("schema", "")
                .with("total", total);
            self.progress.done(index, event);
        } else if let Some(n) = self.nodes.get(uid) {
            r.relation_name = n.relation_name.clone();
            let index = self.progress.claim();
            let what = match n.resource_type {
                ResourceType::Test => format!("SKIP test {}", n.name),
                _ => format!("SKIP relation {}.{}", n.schema, n.alias),
            };
            let (plain, styled) = output::result_line(index, self.progress.total(), &what, "SKIP");
            let event = Event::new(kinds::SKIPPING_DETAILS, plain)
                .styled(styled)
                .stamped()
                .with("index", index)
                .with(
                    "node_info",
                    output::node_info(n, "skipped", Some(now()), None),
                )
                .with("node_name", n.name.clone())
                .with("resource_type", n.resource_type.to_string())
                .with("schema", n.schema.clone())
                .with("total", self.progress.total());
            self.progress.done(index, event);
        }
        r
    }

    pub fn run_node(&self, uid: &str, worker: usize) -> NodeResult {
        let mut r = NodeResult::new(uid, Status::Error);
        r.thread_id = format!("Thread-{}", worker + 1);
        if let Some(e) = self.loaded.project.exposures.get(uid) {
            let label = format!("exposure {}", e.name);
            return self.visit_noop(&label, r, &|status, t0, t1| {
                output::exposure_info(e, status, t0, t1)
            });
        }
        if let Some(s) = self.loaded.project.semantic.get(uid) {
            let label = format!("saved query {}", s.name);
            return self.visit_noop(&label, r, &|status, t0, t1| {
                output::semantic_info(s, status, t0, t1)
            });
        }
        if let Some(t) = self.loaded.project.unit_tests.get(uid) {
            return self.run_unit_test(t, worker, r);
        }
        let Some(node) = self.nodes.get(uid) else {
            r.message = Some(format!("unknown node {uid}"));
            return r;
        };
        r.relation_name = node.relation_name.clone();
        let index = self.progress.claim();
        let what = describe(node);
        let started_at = now();
        // Events fired while the node runs (each statement, a macro's log()) carry its node_info.
        let _scope = crate::events::enter_node(
            format!("Thread-{} (worker)", worker + 1),
            output::node_info(node, "executing", Some(started_at), None),
        );
        self.progress.start(
            index,
            &what,
            &output::node_info(node, "started", Some(started_at), None),
        );
        let started = Instant::now();
        // Skipping unchanged work: reuse the node, or build it (runner/reuse.rs).
        let fingerprint = match self.reuse_decision(node, worker, &mut r) {
            Ok(super::reuse::Decision::Reused(row)) => {
                self.reused(node, &mut r, &row);
                if let Some(q) = &self.shared.quality {
                    q.mark_reused(&node.unique_id);
                }
                r.execution_time = started.elapsed().as_secs_f64();
                let secs = r.execution_time;
                let line = match node.resource_type {
                    ResourceType::Test => format!("REUSED {}", node.name),
                    _ => format!("REUSED {what}"),
                };
                let info =
                    output::node_info(node, r.status.as_str(), Some(started_at), Some(now()));
                let status = format!("REUSED in {secs:.2}s");
                let total = self.progress.total();
                let event = output::result_event(
                    node,
                    &r,
                    index,
                    total,
                    &what,
                    &line,
                    &status,
                    info.clone(),
                );
                self.progress.done(index, event);
                output::node_finished(&r, info).emit();
                return r;
            }
            Ok(super::reuse::Decision::Build(fingerprint)) => Ok(fingerprint),
            Err(f) => Err(f),
        };
        for l in &self.opts.listeners.0 {
            l.started(node);
        }
        let outcome = fingerprint.and_then(|fingerprint| {
            let built = match node.resource_type {
                ResourceType::Model if node.materialized() == "incremental" => {
                    self.run_incremental(node, worker, &mut r)
                }
                ResourceType::Model => self.run_model(node, worker, &mut r),
                ResourceType::Seed => self.run_seed(node, worker, &mut r),
                ResourceType::Test => self.run_test(node, worker, &mut r),
                ResourceType::Snapshot => self.run_snapshot(node, worker, &mut r),
                other => Err(Failure::Runtime(format!("{other} nodes are not executed"))),
            };
            built.map(|()| fingerprint)
        });
        match &outcome {
            Ok(fingerprint) if !r.blocks() => self.state.built(node, fingerprint.clone(), &r),
            _ => self.state.failed(node),
        }
        let outcome = outcome.map(|_| ());
        r.execution_time = started.elapsed().as_secs_f64();
        let secs = r.execution_time;
        match outcome {
            Ok(()) => {}
            Err(f) => {
                r.status = Status::Error;
                // a contract fails before the build: nothing ran, so point at the compiled SQL
                let ran = if matches!(f, Failure::Contract(_)) {
                    "compiled"
                } else {
                    "run"
                };
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
                    // dbt-duckdb reports a database error as dbt's `Runtime Error`.
                    Failure::Database(e) => ("Runtime Error", e.message.clone(), e.message),
                    Failure::Contract(m) => ("Compilation Error", m.clone(), m),
                    Failure::Runtime(m) => ("Runtime Error", m.clone(), m),
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
                    r.compiled_path = Some(self.artifact_path(node, ran).display().to_string());
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
            (ResourceType::Snapshot, Status::Success) => (
                format!("OK snapshotted {}.{}", node.schema, node.alias),
                format!("OK in {secs:.2}s"),
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
        let info = output::node_info(node, r.status.as_str(), Some(started_at), Some(now()));
        let total = self.progress.total();
        let event =
            output::result_event(node, &r, index, total, &what, &line, &status, info.clone());
        self.progress.done(index, event);
        output::node_finished(&r, info).emit();
        for l in &self.opts.listeners.0 {
            l.finished(node, &r);
        }
        r
    }

    /// An exposure or saved query in `build`: nothing to run (dbt 1.11 reports it as `NO-OP`,
    /// without a START line); it is reached only when everything it depends on succeeded.
    /// `label` is `exposure <name>` or `saved query <name>`; `info` its `node_info`.
    fn visit_noop(&self, label: &str, mut r: NodeResult, info: &NodeInfo<'_>) -> NodeResult {
        let index = self.progress.claim();
        let started = Instant::now();
        let t0 = now();
        for name in ["compile", "execute"] {
            r.timing.push(Timing {
                name,
                started_at: t0,
                completed_at: now(),
            });
        }
        r.status = Status::NoOp;
        r.message = Some("NO-OP".into());
        r.failures = Some(0);
        r.execution_time = started.elapsed().as_secs_f64();
        let secs = r.execution_time;
        let total = self.progress.total();
        let (plain, styled) = output::result_line(
            index,
            total,
            &format!("NO-OP {label}"),
            &format!("NO-OP in {secs:.2}s"),
        );
        let info = info(r.status.as_str(), Some(t0), Some(now()));
        let event = Event::new(kinds::LOG_NODE_NO_OP_RESULT, plain)
            .styled(styled)
            .stamped()
            .with("description", label.to_string())
            .with("execution_time", secs)
            .with("index", index)
            .with("node_info", info.clone())
            .with("status", "NO-OP")
            .with("total", total);
        self.progress.done(index, event);
        output::node_finished(&r, info).emit();
        r
    }

    /// Compiles a node with the live context, writing target/compiled/.
    pub(super) fn compile(&self, node: &Node, r: &mut NodeResult) -> Result<String, Failure> {
        self.compile_parts(node, r).map(|(code, _)| code)
    }

    /// [`Exec::compile`], also giving the ephemeral CTEs injected into the code.
    pub(super) fn compile_parts(
        &self,
        node: &Node,
        r: &mut NodeResult,
    ) -> Result<(String, Vec<(String, String)>), Failure> {
        // (compiled already to decide whether it is reused: its timing and file are done)
        if let Some(kept) = self.state.take_compiled(&node.unique_id) {
            return Ok(kept);
        }
        let t0 = now();
        let compiled = match self.opts.precompiled.get(&node.unique_id) {
            // Rendered once already, before the run, and its render asked nothing of the
            // warehouse: the same SQL.
            Some(c) => (c.code.clone(), c.ctes.clone()),
            None => compile_one(
                self.nodes,
                &self.loaded.jenv,
                self.shared,
                &node.unique_id,
                &self.cache,
            )
            .map_err(Failure::Compile)?,
        };
        r.timing.push(Timing {
            name: "compile",
            started_at: t0,
            completed_at: now(),
        });
        let (code, ctes) = compiled;
        r.compiled_code = Some(code.clone());
        self.write_artifact(node, "compiled", &code);
        Ok((code, ctes))
    }

    /// Runs a plan on the worker's connection: the statements it sent, or where it failed
    /// (a connection that cannot open fails before any statement).
    pub(super) fn run_plan(&self, worker: usize, plan: &Plan) -> Result<Vec<String>, PlanFailure> {
        let adapter = self.loaded.adapter.as_ref();
        self.with_conn(worker, |c| Ok(run_plan(c, adapter, plan)))
            .unwrap_or_else(|error| Err(PlanFailure { ran: vec![], error }))
    }

    /// Runs a node's plan whose statements are all known before it runs (its `script`); a
    /// database error names the line of the node's file it is on (and of its compiled and run
    /// files), instead of the line of the statement kiln ran.
    pub(super) fn run_node_plan(
        &self,
        worker: usize,
        node: &Node,
        compiled: (&str, &[(String, String)]),
        plan: &Plan,
        script: &str,
    ) -> Result<(), Failure> {
        let Err(failed) = self.run_plan(worker, plan) else {
            return Ok(());
        };
        let statement = failed.statement().to_string();
        Err(Failure::Database(self.placed(
            node,
            compiled,
            &statement,
            script,
            failed.error,
        )))
    }

    /// `e` with DuckDB's `LINE n` (of `statement`) replaced by the places in the node's files.
    pub(super) fn placed(
        &self,
        node: &Node,
        (code, ctes): (&str, &[(String, String)]),
        statement: &str,
        script: &str,
        mut e: DbError,
    ) -> DbError {
        if e.kind != DbErrorKind::Query {
            return e;
        }
        // The SQL is the file's own for models and singular tests; generic tests' is a macro's.
        let written = match node.resource_type {
            ResourceType::Model => true,
            ResourceType::Test => node.test.is_none(),
            _ => false,
        };
        let ephemeral = |name: &str| {
            self.nodes
                .values()
                .find(|n| n.resource_type == ResourceType::Model && n.name == name)
                .map(|n| (n.file.display().to_string(), n.raw_code.clone()))
        };
        // (the file as the user finds it from the root project: a package's is under its folder)
        let source_path = node.file.display().to_string();
        let cx = super::db_error::Context {
            source_path: &source_path,
            raw: written.then_some(node.raw_code.as_str()),
            compiled: code,
            ctes,
            compiled_path: self.artifact_path(node, "compiled").display().to_string(),
            run_path: self.artifact_path(node, "run").display().to_string(),
            script,
            ephemeral: &ephemeral,
        };
        if let Some(message) = super::db_error::place(&e.message, statement, &cx) {
            e.message = message;
        }
        e
    }

    pub(super) fn hooks(&self, node: &Node) -> Result<Hooks, Failure> {
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
        let (code, ctes) = self.compile_parts(node, r)?;
        let hooks = self.hooks(node)?;
        let t0 = now();
        let parents = self.check_contract(node, &code, worker)?;
        let existing = self.existing(node, worker)?;
        let keys = self.foreign_keys(node, parents, existing, worker)?;
        let adapter = self.loaded.adapter.as_ref();
        let plan = materialize::plan_model(adapter, node, &code, existing, &hooks, &keys)
            .map_err(|e| Failure::Runtime(e.0))?;
        let script = plan.script(adapter);
        self.write_artifact(node, "run", &script);
        self.run_node_plan(worker, node, (&code, &ctes), &plan, &script)?;
        let kind = if node.materialized() == "view" {
            RelationKind::View
        } else {
            RelationKind::Table
        };
        self.succeed(node, worker, r, t0, kind, "OK", None)
    }

    /// An enforced contract's checks, before anything is built: the model's columns against
    /// the declared ones (the engine describes both without running them), then dbt's
    /// warnings for constraints the engine will not hold. Hands back the foreign keys'
    /// parents, resolved, for the DDL.
    pub(super) fn check_contract(
        &self,
        node: &Node,
        code: &str,
        worker: usize,
    ) -> Result<ForeignKeyTargets, Failure> {
        let adapter = self.loaded.adapter.as_ref();
        let Some(contract) = Contract::of(adapter, node) else {
            return Ok(ForeignKeyTargets::new());
        };
        let (declared, actual) = self
            .with_conn(worker, |c| {
                let declared = c
                    .query_columns(&contract.declared_sql(adapter))
                    .map_err(|e| {
                        DbError::query(format!(
                            "the contract declares a data_type {} does not know: {}",
                            adapter.adapter_type(),
                            e.message
                        ))
                    })?;
                let actual = c.query_columns(&adapter.empty_subquery_sql(code))?;
                Ok((declared, actual))
            })
            .map_err(Failure::Database)?;
        materialize::contract::compare(&declared, &actual).map_err(Failure::Contract)?;
        if crate::project::contract::materialization_enforces_constraints(node.materialized()) {
            for w in contract.constraint_warnings(adapter) {
                self.progress.note(&format!("Warning: {w}"));
            }
        }
        Ok(self.foreign_key_parents(&contract))
    }

    /// [`ForeignKeys`] for rebuilding `node`'s table: its parents, and the tables whose foreign
    /// keys reference it now (asked of the database only when some model declares a foreign
    /// key, so a project without any pays nothing).
    pub(super) fn foreign_keys(
        &self,
        node: &Node,
        parents: ForeignKeyTargets,
        existing: Option<RelationKind>,
        worker: usize,
    ) -> Result<ForeignKeys, Failure> {
        let mut keys = ForeignKeys {
            parents,
            children: vec![],
        };
        if existing != Some(RelationKind::Table) || !self.any_foreign_keys() {
            return Ok(keys);
        }
        let t = RelationTarget::of(node);
        let children = self
            .with_conn(worker, |c| {
                c.foreign_key_children(&t.database, &t.schema, &t.identifier)
            })
            .map_err(Failure::Database)?;
        for child in children {
            self.progress.note(&format!(
                "{}.{} references {}.{} through a foreign key: its rows are kept while {} is rebuilt, and its constraints come back when it is rebuilt",
                child.schema, child.identifier, t.schema, t.identifier, node.name
            ));
            keys.children.push(RelationTarget {
                database: child.database,
                schema: child.schema,
                identifier: child.identifier,
            });
        }
        Ok(keys)
    }

    /// Whether any model of the project declares a foreign key constraint.
    fn any_foreign_keys(&self) -> bool {
        *self.foreign_keys_declared.get_or_init(|| {
            self.nodes.values().any(|n| {
                n.constraints
                    .iter()
                    .chain(n.columns.values().flat_map(|c| c.constraints.iter()))
                    .any(|c| c.get("type").and_then(Json::as_str) == Some("foreign_key"))
            })
        })
    }

    /// The relations foreign keys point at (`to: ref('customers')` → `"main"."customers"`),
    /// named without their database as dbt-duckdb names them.
    fn foreign_key_parents(&self, contract: &Contract) -> ForeignKeyTargets {
        use crate::project::RefOrSource;
        let adapter = self.loaded.adapter.as_ref();
        let name = |schema: &str, identifier: &str| {
            format!("{}.{}", adapter.quote(schema), adapter.quote(identifier))
        };
        let mut out = ForeignKeyTargets::new();
        for to in contract.foreign_key_parents() {
            let found = match crate::project::parse_ref_or_source(&to) {
                Some(RefOrSource::Ref(r)) => self
                    .nodes
                    .values()
                    .find(|n| {
                        n.name == r.name
                            && r.package.as_ref().is_none_or(|p| *p == n.package_name)
                            && (r.version.is_none() || n.version == r.version)
                    })
                    .map(|n| name(&n.schema, &n.alias)),
                Some(RefOrSource::Source(s, t)) => self
                    .loaded
                    .project
                    .sources
                    .values()
                    .find(|x| x.source_name == s && x.name == t)
                    .map(|x| name(&x.schema, &x.identifier)),
                None => None,
            };
            if let Some(relation) = found {
                out.insert(to, relation);
            }
        }
        out
    }

    /// The current relation at the node's target. Each schema is listed once per run (a catalog
    /// query costs milliseconds, which add up over thousands of nodes); the runner then keeps
    /// the list current as it builds.
    pub(super) fn existing(
        &self,
        node: &Node,
        worker: usize,
    ) -> Result<Option<RelationKind>, Failure> {
        self.existing_at(&RelationTarget::of(node), worker)
    }

    pub(super) fn existing_at(
        &self,
        t: &RelationTarget,
        worker: usize,
    ) -> Result<Option<RelationKind>, Failure> {
        let key = (t.database.to_lowercase(), t.schema.to_lowercase());
        let mut catalog = self
            .catalog
            .lock()
            .map_err(|_| Failure::Runtime("the relation cache is poisoned".into()))?;
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
    pub(super) fn record(&self, t: &RelationTarget, kind: Option<RelationKind>) {
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
    pub(super) fn full_refresh(&self, node: &Node) -> bool {
        node.config
            .get("full_refresh")
            .and_then(Json::as_bool)
            .unwrap_or(self.opts.full_refresh)
    }

    /// What every successful build ends with: note the relation, persist docs, apply grants,
    /// and record the timing and status.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn succeed(
        &self,
        node: &Node,
        worker: usize,
        r: &mut NodeResult,
        started: chrono::DateTime<chrono::Utc>,
        kind: RelationKind,
        message: &str,
        rows: Option<i64>,
    ) -> Result<(), Failure> {
        let target = RelationTarget::of(node);
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
        // (where the catalog holds descriptions and versions: Glue on Athena)
        let adapter = self.loaded.adapter.as_ref();
        for call in [
            materialize::catalog_docs::describe(adapter, node),
            materialize::catalog_docs::expire_versions(adapter, node),
        ]
        .into_iter()
        .flatten()
        {
            self.with_conn(worker, |c| c.storage(&call))
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

    pub(super) fn grants(&self, node: &Node, worker: usize) -> Result<(), Failure> {
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
                // The CSV is read by its path from the root project (node.file; a package's seed
                // is under its install folder).
                let mut located = node.clone();
                located.file = self.loaded.project.dir.join(&node.file);
                let load = seed::load(c, adapter, &located, existing)?;
                let plan = hooks.splice(load.plan);
                self.write_artifact(node, "run", &plan.script(adapter));
                run_plan(c, adapter, &plan).map_err(|f| f.error)?;
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
        let (code, ctes) = self.compile_parts(node, r)?;
        let cfg = test::TestConfig::of(node, self.opts.store_failures);
        let adapter = self.loaded.adapter.as_ref();
        let t0 = now();
        let target = RelationTarget::of(node);
        let to_count = match cfg.store_failures_as {
            Some(kind) => {
                let existing = self.existing(node, worker)?;
                let (plan, read) = test::store_failures_plan(adapter, node, &code, kind, existing);
                // (not the run file, which gets the count query below)
                self.run_node_plan(worker, node, (&code, &ctes), &plan, "")?;
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
            .map_err(|e| Failure::Database(self.placed(node, (&code, &ctes), &query, &query, e)))?;
        let row = rows.rows.first().cloned().unwrap_or_default();
        let cell_bool = |i: usize| match row.get(i) {
            Some(crate::adapter::Cell::Bool(b)) => *b,
            Some(crate::adapter::Cell::Int(n)) => *n != 0,
            _ => false,
        };
        let failures = match row.first() {
            Some(crate::adapter::Cell::Float(f)) => *f as i64,
            Some(c) => c.as_i64().unwrap_or(0),
            None => 0,
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
            // Under --warn-error a warning test fails, as in dbt (measured by its warn_if).
            test::Verdict::Warn if self.opts.warn_error_tests => (
                Status::Fail,
                Some(format!(
                    "Got {failures} result{}, configured to fail if {}",
                    if failures == 1 { "" } else { "s" },
                    cfg.warn_if
                )),
            ),
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
        r.message = message;
        if r.message.is_some() {
            r.compiled_path = Some(self.artifact_path(node, "compiled").display().to_string());
            if cfg.store_failures_as.is_some() {
                r.failures_relation = Some(target.sql(adapter));
            }
        }
        Ok(())
    }

    /// target/<kind>/<package>/<file> (generic tests under their YAML file's path).
    pub(super) fn artifact_path(&self, node: &Node, kind: &str) -> PathBuf {
        let mut p = PathBuf::from(self.loaded.project.config.target_path())
            .join(kind)
            .join(&node.package_name);
        p.push(&node.original_file_path);
        if node.test.is_some() {
            p.push(&node.path);
        }
        p
    }

    /// Hands the file to the writer thread: creating thousands of small files is slow on some
    /// disks, and the workers need not wait for it.
    pub(super) fn write_artifact(&self, node: &Node, kind: &str, text: &str) {
        let path = self.loaded.project.dir.join(self.artifact_path(node, kind));
        let _ = self.files.send((path, text.to_string()));
    }
}

/// Runs one statement; with `KILN_TIMINGS` set, prints how long it took (for benchmarks).
pub(super) fn timed_execute(conn: &mut dyn Connection, sql: &str) -> Result<(), DbError> {
    if std::env::var_os("KILN_TIMINGS").is_none() {
        return conn.execute(sql);
    }
    let started = std::time::Instant::now();
    let out = conn.execute(sql);
    // A failed write to stderr (a full disk, a closed pipe) never stops a build.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "timing: sql {:>8.1} ms  {}",
        started.elapsed().as_secs_f64() * 1000.0,
        sql.split_whitespace().take(6).collect::<Vec<_>>().join(" ")
    );
    out
}

pub(super) fn response(message: &str, rows: Option<i64>) -> Map<String, Json> {
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

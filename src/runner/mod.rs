//! The runner: executes the selected nodes against the warehouse in DAG order on `--threads`
//! workers, each with its own connection.
//!
//! - `run`, `seed`, `test`, `build` choose which resource types take part ([`RunKind`]).
//! - In `build`, a node also waits for the tests all of whose parents are upstream of it (dbt's
//!   rule, [`crate::graph::test_gates`]), so a failing error-severity test skips what dbt skips.
//! - A model error skips its descendants; warn-severity tests block nothing.
//! - `build` visits the selected exposures as no-ops (dbt 1.11), or skips them below a failure.
//! - `--fail-fast` stops scheduling at the first failure and cancels running queries; Ctrl-C
//!   does the same and the command exits 130. Either way run_results.json is written.
//! - Each node is compiled just before it runs, so `run_query` sees the tables built upstream.

mod db_error;
mod exec;
#[cfg(test)]
mod exec_tests;
pub mod output;
mod plan;
pub mod reuse;
pub mod schedule;
mod stateful;
mod unit;

pub use output::Progress;
pub use plan::{PlanFailure, run_plan};

use crate::adapter::{Adapter, Pool};
use crate::error::{Diagnostic, Error};
use crate::invocation::Output;
use crate::jinja::compile::{EphemeralCache, compile_shared, render_snippet};
use crate::jinja::context::Shared;
use crate::project::{Node, ResourceType};
use crate::session::Loaded;
use schedule::{Dag, Done, Fate};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// Which command is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Run,
    Test,
    Seed,
    Snapshot,
    Build,
}

impl RunKind {
    pub fn command(self) -> &'static str {
        match self {
            RunKind::Run => "run",
            RunKind::Test => "test",
            RunKind::Seed => "seed",
            RunKind::Snapshot => "snapshot",
            RunKind::Build => "build",
        }
    }

    /// Whether nodes of this type take part.
    fn includes(self, rt: ResourceType) -> bool {
        match self {
            RunKind::Run => rt == ResourceType::Model,
            RunKind::Test => matches!(rt, ResourceType::Test | ResourceType::UnitTest),
            RunKind::Seed => rt == ResourceType::Seed,
            RunKind::Snapshot => rt == ResourceType::Snapshot,
            // dbt 1.11's build visits exposures too, as no-ops.
            RunKind::Build => matches!(
                rt,
                ResourceType::Model
                    | ResourceType::Seed
                    | ResourceType::Snapshot
                    | ResourceType::Test
                    | ResourceType::UnitTest
                    | ResourceType::Exposure
                    | ResourceType::SavedQuery
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub kind: RunKind,
    pub threads: usize,
    pub fail_fast: bool,
    pub full_refresh: bool,
    /// Skip unchanged work (off with `--no-reuse`; `--full-refresh` turns it off too).
    pub reuse: bool,
    pub store_failures: bool,
    /// `--defer`: the state manifest, and `--favor-state`.
    pub defer: Option<(Arc<crate::schemas::read::StateManifest>, bool)>,
    /// `--event-time-start` / `--event-time-end`, for microbatch backfills.
    pub event_time_start: Option<chrono::NaiveDateTime>,
    pub event_time_end: Option<chrono::NaiveDateTime>,
    /// `--empty` / `--sample`: what refs and sources read.
    pub inputs: crate::jinja::context::InputLimits,
    /// `--warn-error` (or LogTestResult in `--warn-error-options`): a warn-severity test that
    /// finds rows fails.
    pub warn_error_tests: bool,
    /// `kiln retry`: as in dbt's retry, a unit test waits for its model (the manifest's edge)
    /// instead of running before it.
    pub retry: bool,
    /// Told when each node starts and finishes (the OpenLineage emitter, which the commands
    /// attach).
    pub listeners: Listeners,
    /// Models' SQL rendered before the run (for the column lineage) that renders the same in
    /// the run: taken instead of rendering it again. Only what asked nothing of the warehouse
    /// (`compile_nodes_noting_live`), and only when `--empty`, `--sample` and `--defer` do not
    /// change what refs read.
    pub precompiled: Arc<BTreeMap<String, crate::project::Compiled>>,
}

/// Something told, on the worker running it, when a node starts and when it has finished (its
/// result complete: status, message, compiled code). It must not fail the node or block for
/// long; skipped nodes and exposures are not reported.
pub trait NodeListener: Send + Sync {
    fn started(&self, node: &Node);
    fn finished(&self, node: &Node, result: &NodeResult);
}

/// The listeners of a run.
#[derive(Clone, Default)]
pub struct Listeners(pub Vec<Arc<dyn NodeListener>>);

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Listeners({})", self.0.len())
    }
}

/// How a node ended, in run_results.json's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Error,
    Skipped,
    Pass,
    Fail,
    Warn,
    /// A microbatch model some of whose batches failed.
    PartialSuccess,
    /// A node `build` visits without running anything: an exposure.
    NoOp,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::PartialSuccess => "partial success",
            Status::NoOp => "no-op",
        }
    }
}

/// When one phase of a node (compile, execute) started and ended.
#[derive(Debug, Clone)]
pub struct Timing {
    pub name: &'static str,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub completed_at: chrono::DateTime<chrono::Utc>,
}

/// The result of one node.
#[derive(Debug, Clone)]
pub struct NodeResult {
    pub unique_id: String,
    pub status: Status,
    pub message: Option<String>,
    pub failures: Option<i64>,
    pub timing: Vec<Timing>,
    pub thread_id: String,
    pub execution_time: f64,
    pub adapter_response: Map<String, Json>,
    pub compiled_code: Option<String>,
    pub relation_name: Option<String>,
    /// What to show under "Completed with errors": the full problem (`Runtime Error in model
    /// x (models/x.sql)` and the database's message); `message` when absent.
    pub detail: Option<String>,
    /// Where its compiled SQL is, shown under its problem (`compiled code at ...`).
    pub compiled_path: Option<String>,
    /// A test's stored failing rows (`--store-failures`), shown under its problem.
    pub failures_relation: Option<String>,
    /// Microbatch models: the `[start, end)` windows that succeeded and failed.
    pub batches: Option<(Vec<(String, String)>, Vec<(String, String)>)>,
    /// For a result that is not a node's (a unit test): its resource type, name and file, for
    /// the problem shown under "Completed with errors".
    pub problem: Option<(String, String, String)>,
    /// Why the node was reused instead of built (`REUSED`); its status stays `success` or a
    /// test's `pass`, so what counts builds (e.g. volume history) must look here.
    pub reused: Option<String>,
}

impl NodeResult {
    pub(crate) fn new(unique_id: &str, status: Status) -> Self {
        NodeResult {
            unique_id: unique_id.to_string(),
            status,
            message: None,
            failures: None,
            timing: vec![],
            thread_id: "Thread-1".into(),
            execution_time: 0.0,
            adapter_response: Map::new(),
            compiled_code: None,
            relation_name: None,
            detail: None,
            compiled_path: None,
            failures_relation: None,
            batches: None,
            problem: None,
            reused: None,
        }
    }

    /// Whether nodes downstream must be skipped.
    pub fn blocks(&self) -> bool {
        matches!(
            self.status,
            Status::Error | Status::Fail | Status::PartialSuccess
        )
    }
}

/// Everything a run produced.
#[derive(Debug)]
pub struct RunSummary {
    pub results: Vec<NodeResult>,
    pub elapsed: f64,
    pub interrupted: bool,
    /// Problems outside any node (on-run-start/end hooks, connecting).
    pub errors: Vec<Diagnostic>,
}

impl RunSummary {
    pub fn failed(&self) -> bool {
        !self.errors.is_empty() || self.results.iter().any(|r| r.blocks())
    }
}

/// Set by the Ctrl-C handler; the adapter to cancel with it.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static CANCEL_TARGET: OnceLock<Mutex<Option<Arc<dyn Adapter>>>> = OnceLock::new();

/// Writes a run's results (run_results.json): given by the command, called by the second Ctrl-C
/// with what finished, so that the file (and `retry`) describes this run and not the one before.
pub type ResultsWriter = Arc<dyn Fn(&RunSummary) -> Result<(), Error> + Send + Sync>;

/// The run in progress, for the second Ctrl-C: its nodes, what finished, and its writer.
struct InProgress {
    ids: Vec<String>,
    finished: Vec<NodeResult>,
    started: Instant,
    write: Option<ResultsWriter>,
}

static IN_PROGRESS: Mutex<Option<InProgress>> = Mutex::new(None);

/// The command has written the run's results: a second Ctrl-C from now on has nothing to add.
pub fn results_written() {
    if let Ok(mut g) = IN_PROGRESS.lock() {
        *g = None;
    }
}

fn record_finished(r: &NodeResult) {
    if let Ok(mut g) = IN_PROGRESS.lock()
        && let Some(p) = g.as_mut()
    {
        p.finished.push(r.clone());
    }
}

/// The second Ctrl-C: the results of what finished, the rest skipped as interrupted, written
/// by the command's writer before the process quits.
fn write_what_finished() {
    let Ok(mut g) = IN_PROGRESS.lock() else {
        return;
    };
    let Some(p) = g.take() else {
        return;
    };
    let Some(write) = p.write else {
        return;
    };
    let done: BTreeSet<&str> = p.finished.iter().map(|r| r.unique_id.as_str()).collect();
    let mut results = p.finished.clone();
    for id in p.ids.iter().filter(|id| !done.contains(id.as_str())) {
        let mut r = NodeResult::new(id, Status::Skipped);
        r.message = Some("skipped: the run was interrupted".into());
        results.push(r);
    }
    // (the process is quitting: nothing more can be done about a file that cannot be written)
    let _ = write(&RunSummary {
        results,
        elapsed: p.started.elapsed().as_secs_f64(),
        interrupted: true,
        errors: vec![],
    });
}

/// Installs the Ctrl-C / SIGTERM handler (once per process): the first signal cancels running
/// queries and stops scheduling; a second one exits at once.
fn install_interrupt_handler(adapter: Arc<dyn Adapter>) {
    let slot = CANCEL_TARGET.get_or_init(|| {
        let _ = ctrlc::set_handler(|| {
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                write_what_finished();
                std::process::exit(130);
            }
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "\nInterrupted: cancelling running queries (press Ctrl-C again to quit now)"
            );
            if let Some(Ok(guard)) = CANCEL_TARGET.get().map(|m| m.lock())
                && let Some(a) = guard.as_ref()
            {
                a.cancel_all();
            }
        });
        Mutex::new(None)
    });
    if let Ok(mut g) = slot.lock() {
        *g = Some(adapter);
    }
}

/// The nodes a command executes, from the selection.
pub fn runnable(loaded: &Loaded, selected: &BTreeSet<String>, kind: RunKind) -> Vec<String> {
    selected
        .iter()
        .filter(|id| match loaded.project.nodes.get(*id) {
            Some(n) => kind.includes(n.resource_type) && !n.is_ephemeral(),
            None if loaded.project.unit_tests.contains_key(*id) => {
                kind.includes(ResourceType::UnitTest)
            }
            None if loaded.project.exposures.contains_key(*id) => {
                kind.includes(ResourceType::Exposure)
            }
            None => loaded
                .project
                .semantic
                .get(*id)
                .is_some_and(|s| kind.includes(s.kind.resource_type())),
        })
        .cloned()
        .collect()
}

/// The edges between the nodes to run: a node waits for its nearest selected ancestors (through
/// unselected nodes, so order holds across gaps in the selection). In `build`, a node also waits
/// for the tests that gate it by dbt's rule ([`crate::graph::test_gates`]: every parent of the
/// test is upstream of the node), so a failing test skips exactly what dbt skips.
pub fn edges(loaded: &Loaded, ids: &[String], build: bool, retry: bool) -> Vec<(usize, usize)> {
    let index: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    // Only tests that run can hold anything back: an unselected test's parents are upstream of
    // what it would gate anyway.
    let gates = if build {
        let tests = ids
            .iter()
            .filter_map(|id| loaded.project.nodes.get(id))
            .filter(|n| n.resource_type == ResourceType::Test)
            .map(|n| (n.unique_id.as_str(), loaded.graph.depends_on(&n.unique_id)));
        crate::graph::test_gates(&loaded.graph, tests, |id| {
            loaded
                .project
                .nodes
                .get(id)
                .is_some_and(|n| n.resource_type != ResourceType::Test)
        })
    } else {
        BTreeMap::new()
    };
    // A unit test runs before its model (it reads the upstreams' columns, not the model), and
    // in `build` the model waits for its unit tests: a failing one skips the model (dbt's order).
    let unit_tests_of: BTreeMap<&str, Vec<&String>> = if build && !retry {
        let mut m: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
        for id in ids {
            if let Some(u) = loaded.project.unit_tests.get(id) {
                m.entry(u.model_id.as_str()).or_default().push(id);
            }
        }
        m
    } else {
        BTreeMap::new()
    };
    let parents_of = |id: &str| -> Vec<String> {
        if let Some(u) = loaded.project.unit_tests.get(id).filter(|_| !retry) {
            return loaded
                .graph
                .parents
                .get(&u.model_id)
                .into_iter()
                .flatten()
                .cloned()
                .collect();
        }
        let graph_parents = loaded.graph.parents.get(id).into_iter().flatten();
        let gating_tests = gates.get(id).into_iter().flatten();
        let unit_tests = unit_tests_of.get(id).into_iter().flatten().copied();
        graph_parents
            .chain(gating_tests)
            .chain(unit_tests)
            .cloned()
            .collect()
    };
    let mut out = vec![];
    for (ci, id) in ids.iter().enumerate() {
        let mut seen = BTreeSet::new();
        let mut stack = parents_of(id);
        while let Some(p) = stack.pop() {
            if !seen.insert(p.clone()) {
                continue;
            }
            match index.get(p.as_str()) {
                Some(&pi) => out.push((pi, ci)),
                None => stack.extend(parents_of(&p)),
            }
        }
    }
    out
}

/// Opens the warehouse; a database that cannot be opened (e.g. locked by another process) is a
/// configuration problem: exit 2, nothing written.
pub fn connect(loaded: &Loaded) -> Result<Arc<Pool>, Error> {
    let pool = Arc::new(Pool::new(loaded.adapter.clone()));
    pool.with(|_| Ok(())).map_err(|e| {
        Error::one(
            Diagnostic::error("database", e.message.clone())
                .in_file(&loaded.project.target.profiles_path)
                .with_help(format!(
                    "target '{}' of profile '{}'",
                    loaded.project.target.name, loaded.project.target.profile_name
                )),
        )
    })?;
    Ok(pool)
}

/// The compile-phase context with the database connected: `run_query`, `statement` and the
/// adapter's catalog methods reach the warehouse through `pool`.
pub fn live_shared(loaded: &Loaded, pool: &Arc<Pool>) -> Shared {
    let mut shared = compile_shared(
        &loaded.project,
        &loaded.jenv,
        loaded.adapter.clone(),
        &loaded.info,
        loaded.graph.clone(),
        crate::session::graph_fn(loaded),
    );
    shared.db = Some(pool.clone());
    shared.quality = Some(Arc::new(crate::jinja::quality::QualityState::for_project(
        &loaded.project,
    )));
    shared
}

/// Executes `ids` and returns the results (also when interrupted).
pub fn execute(
    loaded: &Loaded,
    ids: Vec<String>,
    opts: &RunOptions,
    output: &Output,
    write_results: Option<ResultsWriter>,
) -> Result<RunSummary, Error> {
    let started = Instant::now();
    let timer = crate::timing::StageTimer::new();
    INTERRUPTED.store(false, Ordering::SeqCst);
    if let Ok(mut g) = IN_PROGRESS.lock() {
        *g = Some(InProgress {
            ids: ids.clone(),
            finished: vec![],
            started,
            write: write_results,
        });
    }
    let pool = connect(loaded)?;
    timer.mark("connect");
    install_interrupt_handler(loaded.adapter.clone());
    let progress = Progress::new(ids.len(), output.clone());
    let mut errors = vec![];

    // The compile context, live: run_query and friends reach the database.
    let mut shared: Shared = live_shared(loaded, &pool);
    // What refs and sources read in this run: `--empty`, and `--sample`'s window from now.
    shared.inputs = opts.inputs.clone();
    if let Some((state, favor_state)) = &opts.defer {
        defer(&mut shared, loaded, &ids, state, *favor_state, &pool);
    }
    let shared = Arc::new(shared);
    // The parsed nodes themselves (shared as Arc), never a copy.
    let nodes: &BTreeMap<String, Arc<Node>> = &loaded.project.nodes;

    // Schemas first, then on-run-start, then the DAG, then on-run-end.
    if let Err(d) = exec::create_schemas(&pool, nodes, &ids, opts) {
        errors.push(d);
    }
    if errors.is_empty() {
        errors.extend(run_hooks(
            loaded,
            &shared,
            &pool,
            "on-run-start",
            &loaded.project.run_hooks(true),
            &[],
        ));
    }
    timer.mark("schemas, hooks");
    let mut results: Vec<NodeResult> = vec![];
    if errors.is_empty() && !ids.is_empty() {
        let dag = Dag::new(
            ids.len(),
            edges(loaded, &ids, opts.kind == RunKind::Build, opts.retry),
        );
        // Tests go first among ready nodes (a model's tests run right after it); the rest in
        // the project's topological order.
        let topo: HashMap<String, usize> = loaded
            .graph
            .topo_order()
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, i))
            .collect();
        let priority: Vec<usize> = ids
            .iter()
            .map(|id| {
                let is_test = nodes
                    .get(id)
                    .is_some_and(|n| n.resource_type == ResourceType::Test)
                    || loaded.project.unit_tests.contains_key(id);
                if is_test {
                    0
                } else {
                    1 + topo.get(id).copied().unwrap_or(0)
                }
            })
            .collect();
        let stop = AtomicBool::new(false);
        let slots: Vec<Mutex<Option<NodeResult>>> = ids.iter().map(|_| Mutex::new(None)).collect();
        let (files, writer) = exec::spawn_file_writer();
        let state = reuse::BuildState::load(loaded, &pool, opts, &shared.invocation_id);
        let runner = exec::Exec {
            loaded,
            nodes,
            shared: &shared,
            cache: EphemeralCache::default(),
            opts,
            progress: &progress,
            conns: (0..opts.threads.max(1)).map(|_| Mutex::new(None)).collect(),
            catalog: Mutex::new(HashMap::new()),
            files,
            foreign_keys_declared: std::sync::OnceLock::new(),
            state: &state,
        };
        let fates = schedule::run(
            &dag,
            opts.threads,
            &priority,
            &stop,
            |i, worker| {
                if INTERRUPTED.load(Ordering::SeqCst) {
                    stop.store(true, Ordering::SeqCst);
                }
                let r = runner.run_node(&ids[i], worker);
                let blocks = r.blocks();
                if INTERRUPTED.load(Ordering::SeqCst) {
                    stop.store(true, Ordering::SeqCst);
                }
                if blocks && opts.fail_fast && !stop.swap(true, Ordering::SeqCst) {
                    runner.loaded.adapter.cancel_all();
                }
                record_finished(&r);
                if let Ok(mut s) = slots[i].lock() {
                    *s = Some(r);
                }
                if blocks { Done::Blocking } else { Done::Ok }
            },
            |i, cause| {
                let r = runner.skipped(&ids[i], &ids[cause]);
                record_finished(&r);
                if let Ok(mut s) = slots[i].lock() {
                    *s = Some(r);
                }
            },
        );
        drop(runner);
        loaded.adapter.clear_cancel();
        if let Some(w) = state.persist(&pool, loaded.adapter.as_ref()) {
            progress.note(&format!("Warning: {w}"));
        }
        // Every target/compiled and target/run file is on disk before the command returns.
        let _ = writer.join();
        for (i, (slot, fate)) in slots.into_iter().zip(fates).enumerate() {
            let r = slot.into_inner().ok().flatten();
            match (r, fate) {
                (Some(r), _) => results.push(r),
                (None, Fate::NotRun) => {
                    let mut r = NodeResult::new(&ids[i], Status::Skipped);
                    r.message = Some(if INTERRUPTED.load(Ordering::SeqCst) {
                        "skipped: the run was interrupted".into()
                    } else {
                        "skipped: --fail-fast stopped the run".into()
                    });
                    results.push(r);
                }
                (None, _) => {}
            }
        }
    }
    let interrupted = INTERRUPTED.load(Ordering::SeqCst);
    if !interrupted && errors.is_empty() {
        let results_value = results_jinja(&results);
        // `schemas` / `database_schemas`: where this run built something (for grant macros).
        let database_schemas: BTreeSet<(String, String)> = results
            .iter()
            .filter(|r| r.status == Status::Success)
            .filter_map(|r| nodes.get(&r.unique_id))
            .map(|n| (n.database.clone(), n.schema.clone()))
            .collect();
        let schemas: Vec<String> = database_schemas
            .iter()
            .map(|(_, s)| s.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        errors.extend(run_hooks(
            loaded,
            &shared,
            &pool,
            "on-run-end",
            &loaded.project.run_hooks(false),
            &[
                ("results", results_value),
                ("schemas", minijinja::Value::from(schemas.clone())),
                (
                    "database_schemas",
                    minijinja::Value::from(
                        database_schemas
                            .iter()
                            .map(|(d, s)| minijinja::Value::from(vec![d.clone(), s.clone()]))
                            .collect::<Vec<_>>(),
                    ),
                ),
            ],
        ));
    }
    progress.finish();
    Ok(RunSummary {
        results,
        elapsed: started.elapsed().as_secs_f64(),
        interrupted,
        errors,
    })
}

/// `--defer`: a ref to a model, seed or snapshot that is not part of this run points at the state
/// manifest's relation, unless this target has built it (and `--favor-state` is off).
pub fn defer(
    shared: &mut Shared,
    loaded: &Loaded,
    ids: &[String],
    state: &crate::schemas::read::StateManifest,
    favor_state: bool,
    pool: &Pool,
) {
    let running: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let mut listed: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for n in loaded.project.nodes.values() {
        if running.contains(n.unique_id.as_str())
            || !matches!(
                n.resource_type,
                ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
            )
            || n.is_ephemeral()
        {
            continue;
        }
        let Some((db, schema, alias)) = state
            .nodes()
            .get(&n.unique_id)
            .and_then(|old| old.relation())
        else {
            continue;
        };
        if !favor_state {
            let here = listed
                .entry((n.database.clone(), n.schema.clone()))
                .or_insert_with(|| {
                    pool.with(|c| c.list_relations(&n.database, &n.schema))
                        .map(|rels| {
                            rels.into_iter()
                                .map(|r| r.identifier.to_lowercase())
                                .collect()
                        })
                        .unwrap_or_default()
                });
            if here.contains(&n.alias.to_lowercase()) {
                continue;
            }
        }
        if let Some(r) = shared.relations.get_mut(&n.unique_id) {
            r.relation.database = Some(db.to_string());
            r.relation.schema = Some(schema.to_string());
            r.relation.identifier = Some(alias.to_string());
        }
    }
}

/// `results` for on-run-end: one object per node result.
fn results_jinja(results: &[NodeResult]) -> minijinja::Value {
    let list: Vec<Json> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "status": r.status.as_str(),
                "message": r.message,
                "failures": r.failures,
                "execution_time": r.execution_time,
                "node": {"unique_id": r.unique_id, "relation_name": r.relation_name},
                "unique_id": r.unique_id,
            })
        })
        .collect();
    crate::jinja::to_value(list)
}

/// Runs `on-run-start` / `on-run-end` hooks; each problem becomes a diagnostic.
fn run_hooks(
    loaded: &Loaded,
    shared: &Arc<Shared>,
    pool: &Arc<Pool>,
    which: &str,
    hooks: &[crate::project::RunHook],
    extra: &[(&str, minijinja::Value)],
) -> Vec<Diagnostic> {
    let mut out = vec![];
    for hook in hooks {
        let extra: BTreeMap<String, minijinja::Value> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let name = if hook.package == loaded.project.name {
            format!("{which} hook {}", hook.index + 1)
        } else {
            format!(
                "{which} hook {} of package {}",
                hook.index + 1,
                hook.package
            )
        };
        let sql = match render_snippet(&loaded.jenv, shared, None, &name, &hook.sql, extra) {
            Ok(s) => s,
            Err(d) => {
                out.push(d);
                continue;
            }
        };
        if sql.trim().is_empty() {
            continue;
        }
        if let Err(e) = pool.with(|c| c.execute(&sql)) {
            out.push(
                Diagnostic::error("hook", format!("{name} failed: {e}"))
                    .in_file(&hook.file)
                    .with_help(format!("the hook ran:\n{}", sql.trim())),
            );
        }
    }
    out
}

//! dbt's Jinja context for one render: `ref`, `source`, `config`, `this`, `model`, `var`,
//! `target`, `adapter`, `execute`, macros by name... What the context holds and how names are
//! looked up is here; what differs by phase is one object per phase ([`PhaseRules`]), each in its
//! own file: [`super::parse_ctx`] (refs, sources and configs recorded, placeholders returned),
//! [`super::compile_ctx`] (refs and sources resolved to relations) and [`super::run_ctx`] (the
//! warehouse reached: `adapter`, `run_query`, statement blocks, `is_incremental`).
//!
//! Macros are looked up by name through the context object itself: a name that is not a context
//! variable resolves to a [`MacroCaller`], which evaluates the macro's file with the *same*
//! context, so a macro sees the `this`, `config` and `ref` of the node that called it, as in dbt.

use super::compile_ctx::{self, CompilePhase};
use super::parse_ctx::ParsePhase;
use super::relation::{Policy, Relation};
use super::run_ctx::{self, AdapterObj, RunPhase};
use super::table::Table;
use crate::adapter::Adapter;
use crate::project::config::Config;
use crate::project::{Node, RefCall, ResourceType};
use minijinja::value::{DynObject, Kwargs, Object, Rest, Value, from_args};
use minijinja::{Error, ErrorKind, State};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

pub use super::compile_ctx::{BATCH_VAR, InputLimits, Resolved};

/// The marker error `return()` raises to end a macro early.
pub const RETURN_MARKER: &str = "__kiln_macro_return__";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Learn refs, sources and configs; `execute` is false.
    Parse,
    /// Produce SQL; `execute` is true.
    Compile,
}

pub use crate::adapter::LiveDb;

/// What differs between the render phases, asked of the phase's object ([`Shared::rules`])
/// instead of testing the phase in every function.
pub(crate) trait PhaseRules: Send + Sync + std::fmt::Debug {
    /// Jinja's `execute`: whether SQL is being produced (false while parsing).
    fn executes(&self) -> bool;
    /// `ref(...)`.
    fn ref_relation(&self, ctx: &Arc<RenderCtx>, call: RefCall) -> Result<Value, Error>;
    /// `source(source_name, table_name)`.
    fn source_relation(
        &self,
        ctx: &Arc<RenderCtx>,
        source: String,
        table: String,
    ) -> Result<Value, Error>;
    /// `config(...)` called with `args`.
    fn config_call(&self, ctx: &RenderCtx, args: &[Value]) -> Result<Value, Error>;
    /// The node's config, as `config.get()` reads it.
    fn node_config(&self, ctx: &RenderCtx) -> Config;
    /// The warehouse for `what` (`run_query`, a statement block...): `None` where nothing runs.
    fn database(&self, ctx: &RenderCtx, what: &str) -> Result<Option<Arc<dyn LiveDb>>, Error>;
    /// What `load_result()` gives for a statement that stored nothing.
    fn unstored_result(&self) -> Value;
    /// `is_incremental()`.
    fn is_incremental(&self, ctx: &RenderCtx) -> bool;
}

/// What every render of one invocation shares.
pub struct Shared {
    pub phase: Phase,
    pub project_name: String,
    pub adapter: Arc<dyn Adapter>,
    pub target: Value,
    pub target_database: String,
    pub target_schema: String,
    pub vars: serde_json::Map<String, Json>,
    /// The vars the nodes of each installed package see, by package.
    pub package_vars: BTreeMap<String, serde_json::Map<String, Json>>,
    /// The installed packages' names: `<package>.macro(...)` reaches their macros.
    pub packages: BTreeSet<String>,
    /// (package, macro name) → template name.
    pub macros: BTreeMap<(String, String), String>,
    /// `dispatch:` search orders by macro namespace.
    pub dispatch: BTreeMap<String, Vec<String>>,
    pub quote_policy: Policy,
    /// Compile phase: the graph, whose ref table says what each node's ref() calls name.
    pub dag: Option<Arc<crate::graph::Graph>>,
    /// Compile phase: unique_id → where it points.
    pub relations: BTreeMap<String, Resolved>,
    pub flags: Value,
    pub run_started_at: Value,
    pub invocation_id: String,
    /// `graph`: built on first use.
    pub graph: OnceLock<Value>,
    pub graph_json: Option<Arc<dyn Fn() -> Json + Send + Sync>>,
    pub db: Option<Arc<dyn LiveDb>>,
    /// Nodes for which `is_incremental()` is true in this run (set by the runner just before it
    /// compiles an incremental model whose table exists).
    pub incremental: Mutex<BTreeSet<String>>,
    /// `--empty` / `--sample`.
    pub inputs: InputLimits,
    /// A unit test's `overrides:` (macros by name, env vars) while its model renders.
    pub overrides: Option<Arc<crate::project::unit_test::Overrides>>,
    /// The history of the `kiln` package's checks (`kiln_quality_state`): set only when the
    /// warehouse is connected.
    pub quality: Option<Arc<super::quality::QualityState>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("phase", &self.phase)
            .field("project", &self.project_name)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// What this render phase does: the one place that tells the phases apart.
    pub(crate) fn rules(&self) -> &'static dyn PhaseRules {
        match (self.phase, &self.db) {
            (Phase::Parse, _) => &ParsePhase,
            (Phase::Compile, None) => &CompilePhase,
            (Phase::Compile, Some(_)) => &RunPhase,
        }
    }

    /// Records whether `is_incremental()` holds for a node.
    pub fn set_incremental(&self, unique_id: &str, on: bool) {
        if let Ok(mut set) = self.incremental.lock() {
            if on {
                set.insert(unique_id.to_string());
            } else {
                set.remove(unique_id);
            }
        }
    }

    pub fn macro_template(&self, package: &str, name: &str) -> Option<&String> {
        self.macros.get(&(package.to_string(), name.to_string()))
    }

    /// An unqualified macro name in the root project's context: its macros first, then the
    /// built-ins.
    pub fn find_macro(&self, name: &str) -> Option<(String, &String)> {
        self.find_macro_from(name, &self.project_name)
    }

    /// An unqualified macro name called while rendering a node of project `local` (the root
    /// project or a package), as dbt's macro namespace finds it: `local`'s macros, then the root
    /// project's, then the built-ins (so the root project's macros override `dbt`'s).
    pub fn find_macro_from(&self, name: &str, local: &str) -> Option<(String, &String)> {
        let local = (local != self.project_name).then_some(local);
        local
            .into_iter()
            .chain([self.project_name.as_str(), "dbt"])
            .find_map(|pkg| self.macro_template(pkg, name).map(|t| (pkg.to_string(), t)))
    }

    /// Whether `name` is a project a macro namespace can name: the root project, `dbt` or an
    /// installed package.
    pub fn is_project(&self, name: &str) -> bool {
        name == "dbt" || name == self.project_name || self.packages.contains(name)
    }

    /// The vars a node of project `package` sees.
    pub fn vars_for(&self, package: &str) -> &serde_json::Map<String, Json> {
        self.package_vars.get(package).unwrap_or(&self.vars)
    }

    pub(super) fn placeholder(&self, schema: &str, identifier: &str) -> Relation {
        Relation::new(
            &self.target_database,
            schema,
            identifier,
            self.quote_policy,
            self.adapter.quote_char(),
        )
    }
}

/// What a render learned.
#[derive(Debug, Default)]
pub struct Recorder {
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    pub config: Config,
    pub config_calls: Vec<Config>,
    /// The macros the node's own code calls, in the order of their first call (dbt's
    /// `depends_on.macros`).
    pub macros: indexmap::IndexSet<String>,
    pub ephemerals: Vec<String>,
    /// What each call of a masking macro (`vars: kiln: pii: masking_macros`) rendered, in call
    /// order: the column lineage counts a value inside one as masked.
    pub masked: Vec<String>,
    /// The render asked something whose answer depends on the phase (`is_incremental()`, the
    /// database, the quality history): rendered without the warehouse, its SQL may differ from
    /// the run's, so a run renders it again ([`crate::jinja::compile::compile_nodes_noting_live`]).
    pub live: bool,
    return_stack: Vec<Option<Value>>,
    /// The package of each macro being rendered, innermost last.
    macro_packages: Vec<String>,
    depth: usize,
}

/// The context of one render.
#[derive(Debug)]
pub struct RenderCtx {
    pub shared: Arc<Shared>,
    pub node: Option<Arc<Node>>,
    /// Extra variables (e.g. `_dbt_generic_test_kwargs`).
    pub extra: BTreeMap<String, Value>,
    pub rec: Mutex<Recorder>,
    model: OnceLock<Value>,
    this: Option<Relation>,
    /// Results stored by `statement`, `store_result`... by name; `None` once `load_result` took
    /// it (dbt lets each result be loaded once, except `main`).
    pub(super) results: Mutex<BTreeMap<String, Option<Value>>>,
    /// The SQL of each named `statement`/`noop_statement` block, the last one per name.
    statement_sql: Mutex<BTreeMap<String, String>>,
}

impl RenderCtx {
    pub fn new(shared: Arc<Shared>, node: Option<Arc<Node>>, this: Option<Relation>) -> Arc<Self> {
        Arc::new(RenderCtx {
            shared,
            node,
            extra: BTreeMap::new(),
            rec: Mutex::new(Recorder::default()),
            model: OnceLock::new(),
            this,
            results: Mutex::default(),
            statement_sql: Mutex::default(),
        })
    }

    pub fn with_extra(
        shared: Arc<Shared>,
        node: Option<Arc<Node>>,
        this: Option<Relation>,
        extra: BTreeMap<String, Value>,
    ) -> Arc<Self> {
        Arc::new(RenderCtx {
            shared,
            node,
            extra,
            rec: Mutex::new(Recorder::default()),
            model: OnceLock::new(),
            this,
            results: Mutex::default(),
            statement_sql: Mutex::default(),
        })
    }

    pub fn value(self: &Arc<Self>) -> Value {
        Value::from_dyn_object(DynObject::new(self.clone()))
    }

    /// The result stored under `name` (`{response, data, table}`), without consuming it as
    /// `load_result` does; `None` if nothing was stored or it was already loaded.
    pub fn stored_result(&self, name: &str) -> Option<Value> {
        self.results.lock().ok()?.get(name).cloned().flatten()
    }

    /// The SQL the last `statement(name)` or `noop_statement(name)` block of this render ran
    /// (e.g. `main`, which the runner writes to target/run).
    pub fn statement_sql(&self, name: &str) -> Option<String> {
        self.statement_sql.lock().ok()?.get(name).cloned()
    }

    /// Stores a result as dbt's `store_result` does: the response, the table (empty when none)
    /// and its rows as lists (`data`).
    pub(super) fn store_result(
        &self,
        name: String,
        response: Value,
        table: Value,
    ) -> Result<(), Error> {
        let (table, data) = match table.downcast_object_ref::<Table>() {
            Some(t) => (table.clone(), t.matrix()),
            None if table.is_none() || table.is_undefined() => (
                Table::empty().into_value(),
                Value::from(Vec::<Value>::new()),
            ),
            None => (table, Value::from(Vec::<Value>::new())),
        };
        let result = Value::from_pairs([("response", response), ("data", data), ("table", table)]);
        self.results
            .lock()
            .map(|mut r| {
                r.insert(name, Some(result));
            })
            .map_err(|_| Error::new(ErrorKind::InvalidOperation, "render state poisoned"))
    }

    pub(super) fn record_statement(&self, name: &str, sql: &str) {
        if let Ok(mut m) = self.statement_sql.lock() {
            m.insert(name.to_string(), sql.to_string());
        }
    }

    pub fn take_recorder(&self) -> Recorder {
        self.rec
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }

    pub(super) fn with_rec<R>(&self, f: impl FnOnce(&mut Recorder) -> R) -> Result<R, Error> {
        self.rec
            .lock()
            .map(|mut r| f(&mut r))
            .map_err(|_| Error::new(ErrorKind::InvalidOperation, "render state poisoned"))
    }

    /// The project whose macros an unqualified name finds first: the node's package (the root
    /// project's without a node).
    pub(super) fn local_package(&self) -> &str {
        self.node
            .as_ref()
            .map_or(&self.shared.project_name, |n| &n.package_name)
    }

    /// An unqualified macro name, as dbt finds it from this render's node
    /// ([`Shared::find_macro_from`]); failing that, in the package of the macro being rendered,
    /// so that a package's macros can call each other without their package's name (which dbt
    /// requires of them when a node of another project calls them).
    pub(super) fn find_macro(&self, name: &str) -> Option<(String, String)> {
        if let Some((pkg, t)) = self.shared.find_macro_from(name, self.local_package()) {
            return Some((pkg, t.clone()));
        }
        let current = self.rec.lock().ok()?.macro_packages.last().cloned()?;
        let t = self.shared.macro_template(&current, name)?.clone();
        Some((current, t))
    }

    pub(super) fn node_config(&self) -> Config {
        self.shared.rules().node_config(self)
    }

    fn model_value(&self) -> Value {
        self.model
            .get_or_init(|| match &self.node {
                Some(n) => crate::jinja::to_value(crate::schemas::node_context_json(
                    n,
                    self.shared.dag.as_ref().map(|g| &g.depends_on),
                )),
                None => Value::from(()),
            })
            .clone()
    }

    pub(super) fn macro_caller(
        self: &Arc<Self>,
        package: String,
        name: &str,
        template: &str,
    ) -> Value {
        Value::from_object(MacroCaller {
            ctx: self.clone(),
            package,
            name: name.to_string(),
            template: template.to_string(),
        })
    }
}

pub(super) fn not_callable(what: &str) -> Error {
    Error::new(ErrorKind::InvalidOperation, what.to_string())
}

impl Object for RenderCtx {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        let shared = &self.shared;
        let f = |o: CtxFn| {
            Value::from_object(CtxCall {
                ctx: self.clone(),
                f: o,
            })
        };
        if let Some(v) = shared.overrides.as_ref().and_then(|o| o.macros.get(name)) {
            return Some(Value::from_object(Overridden(crate::jinja::to_value(
                v.clone(),
            ))));
        }
        Some(match name {
            "ref" => f(CtxFn::Ref),
            "source" => f(CtxFn::Source),
            "config" => Value::from_object(ConfigObj(self.clone())),
            "var" => f(CtxFn::Var),
            "env_var" => f(CtxFn::EnvVar),
            "return" => f(CtxFn::Return),
            "is_incremental" => f(CtxFn::IsIncremental),
            "run_query" => f(CtxFn::RunQuery),
            "load_relation" => f(CtxFn::LoadRelation),
            "statement" => f(CtxFn::Statement),
            "load_result" => f(CtxFn::LoadResult),
            "store_result" => f(CtxFn::StoreResult),
            "store_raw_result" => f(CtxFn::StoreRawResult),
            "noop_statement" => f(CtxFn::NoopStatement),
            "this" => self.this.clone().map_or(Value::from(()), Relation::into_value),
            "model" => self.model_value(),
            "target" => shared.target.clone(),
            "adapter" => Value::from_object(AdapterObj(self.clone())),
            "execute" => Value::from(shared.rules().executes()),
            "flags" => shared.flags.clone(),
            "run_started_at" => shared.run_started_at.clone(),
            "invocation_id" => Value::from(shared.invocation_id.clone()),
            "project_name" => Value::from(shared.project_name.clone()),
            "kiln_quality_state" => {
                let _ = self.with_rec(|r| r.live = true);
                Value::from_object(super::quality::QualityObj {
                    ctx: self.clone(),
                    state: shared.quality.clone()?,
                })
            }
            "graph" => shared
                .graph
                .get_or_init(|| match (&shared.graph_json, shared.rules().executes()) {
                    (Some(g), true) => crate::jinja::to_value(g()),
                    _ => crate::jinja::to_value(serde_json::json!({"nodes": {}, "sources": {}, "exposures": {}, "metrics": {}, "groups": {}, "semantic_models": {}, "saved_queries": {}})),
                })
                .clone(),
            "api" => Value::from_pairs([("Relation", Value::from_object(RelationFactory(self.clone())))]),
            "builtins" => Value::from_pairs([
                ("ref", f(CtxFn::Ref)),
                ("source", f(CtxFn::Source)),
                ("config", Value::from_object(ConfigObj(self.clone()))),
            ]),
            "selected_resources" => Value::from(Vec::<Value>::new()),
            "database" => Value::from(shared.target_database.clone()),
            "schema" => Value::from(shared.target_schema.clone()),
            "dbt" => Value::from_object(Namespace { ctx: self.clone(), package: "dbt".into() }),
            n if shared.is_project(n) => Value::from_object(Namespace { ctx: self.clone(), package: n.to_string() }),
            n => {
                if let Some(v) = self.extra.get(n) {
                    return Some(v.clone());
                }
                let (pkg, template) = self.find_macro(n)?;
                self.macro_caller(pkg, n, &template)
            }
        })
    }
}

/// A unit test's override of a macro or context value: calling it returns the value, and it
/// renders as the value (`overrides: {macros: {is_incremental: true, invocation_id: 123}}`).
#[derive(Debug)]
struct Overridden(Value);

impl Object for Overridden {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, _args: &[Value]) -> Result<Value, Error> {
        Ok(self.0.clone())
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

/// A package's macros: `dbt.dateadd`, `my_project.cents_to_dollars`.
#[derive(Debug)]
struct Namespace {
    ctx: Arc<RenderCtx>,
    package: String,
}

impl Object for Namespace {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        let template = self.ctx.shared.macro_template(&self.package, name)?.clone();
        Some(self.ctx.macro_caller(self.package.clone(), name, &template))
    }
}

/// Calls a macro in its own file, with the caller's context; catches `return()`.
#[derive(Debug)]
pub struct MacroCaller {
    ctx: Arc<RenderCtx>,
    package: String,
    name: String,
    template: String,
}

impl Object for MacroCaller {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let tmpl = state.env().get_template(&self.template)?;
        let uid = format!("macro.{}.{}", self.package, self.name);
        self.ctx.with_rec(|r| {
            if r.depth == 0 {
                r.macros.insert(uid);
            }
            r.depth += 1;
            r.return_stack.push(None);
            r.macro_packages.push(self.package.clone());
        })?;
        let result = tmpl
            .render_captured(self.ctx.value())
            .and_then(|mut captured| {
                captured.with_state_mut(|st| {
                    let m = st.lookup(&self.name).ok_or_else(|| {
                        Error::new(
                            ErrorKind::UnknownFunction,
                            format!("macro '{}' not found in {}", self.name, self.template),
                        )
                    })?;
                    let packed = pack_undeclared_kwargs(&m, args);
                    m.call(st, packed.as_deref().unwrap_or(args))
                })
            });
        let returned = self.ctx.with_rec(|r| {
            r.depth = r.depth.saturating_sub(1);
            r.macro_packages.pop();
            r.return_stack.pop().flatten()
        })?;
        let out = match (returned, result) {
            (Some(v), _) => Ok(v),
            (None, Ok(v)) => Ok(v),
            // Wrapped, so that the template calling this macro adds its own line: the
            // diagnostic then shows both where the error arose and where the macro was called.
            (None, Err(e)) => {
                let outer = match e.detail() {
                    Some(d) => Error::new(e.kind(), d.to_string()),
                    None => Error::from(e.kind()),
                };
                Err(outer.with_source(e))
            }
        };
        if let Ok(v) = &out
            && is_masking_macro(&self.ctx.shared.vars, &self.name)
        {
            let text = v.to_string();
            if !text.trim().is_empty() {
                self.ctx
                    .with_rec(|r| r.masked.push(text.trim().to_string()))?;
            }
        }
        out
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "name" => Some(Value::from(self.name.clone())),
            "package_name" => Some(Value::from(self.package.clone())),
            _ => None,
        }
    }
}

/// Whether `vars: kiln: pii: masking_macros` lists `name` (a name or a list of names).
fn is_masking_macro(vars: &serde_json::Map<String, Json>, name: &str) -> bool {
    match vars
        .get("kiln")
        .and_then(|k| k.get("pii"))
        .and_then(|p| p.get("masking_macros"))
    {
        Some(Json::String(s)) => s == name,
        Some(Json::Array(items)) => items.iter().any(|i| i.as_str() == Some(name)),
        _ => false,
    }
}

/// For a macro that declares `kwargs` (the loader declares it for macros whose body reads it,
/// `project::load::macros`), the keyword arguments it does not declare, gathered into that
/// `kwargs` dict as Jinja2 does. `None`: the arguments go as they are.
fn pack_undeclared_kwargs(m: &Value, args: &[Value]) -> Option<Vec<Value>> {
    let declared: Vec<String> = m
        .get_attr("arguments")
        .ok()?
        .try_iter()
        .ok()?
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    if !declared.iter().any(|a| a == "kwargs") {
        return None;
    }
    let (positional, given) = match args.split_last() {
        Some((last, rest)) if last.is_kwargs() => (rest, Kwargs::try_from(last.clone()).ok()?),
        _ => (
            args,
            Kwargs::from_iter(std::iter::empty::<(String, Value)>()),
        ),
    };
    if given.has("kwargs") {
        return None;
    }
    let mut keep: Vec<(String, Value)> = vec![];
    let mut extra: indexmap::IndexMap<Value, Value> = indexmap::IndexMap::new();
    for k in given.args() {
        let v: Value = given.peek(k).ok()?;
        if declared.iter().any(|a| a == k) {
            keep.push((k.to_string(), v));
        } else {
            extra.insert(Value::from(k), v);
        }
    }
    keep.push((
        "kwargs".to_string(),
        super::mutable::MutableDict::value(extra),
    ));
    let mut out = positional.to_vec();
    out.push(Value::from(Kwargs::from_iter(keep)));
    Some(out)
}

#[derive(Debug, Clone, Copy)]
enum CtxFn {
    Ref,
    Source,
    Var,
    EnvVar,
    Return,
    IsIncremental,
    RunQuery,
    Statement,
    LoadResult,
    StoreResult,
    StoreRawResult,
    NoopStatement,
    /// `load_relation(relation)`: `adapter.load_relation`.
    LoadRelation,
}

#[derive(Debug)]
struct CtxCall {
    ctx: Arc<RenderCtx>,
    f: CtxFn,
}

impl Object for CtxCall {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let ctx = &self.ctx;
        let rules = ctx.shared.rules();
        match self.f {
            CtxFn::Ref => rules.ref_relation(ctx, parse_ref_args(args)?),
            CtxFn::Source => {
                let (source, table) = compile_ctx::source_args(args)?;
                rules.source_relation(ctx, source, table)
            }
            CtxFn::Var => compile_ctx::var(ctx, args),
            CtxFn::EnvVar => {
                let env = ctx.shared.overrides.as_ref().map(|o| &o.env_vars);
                let name = args.first().and_then(Value::as_str);
                match (env, name) {
                    (Some(env), Some(n)) if env.contains_key(n) => {
                        let v = &env[n];
                        Ok(Value::from(match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        }))
                    }
                    _ => compile_ctx::env_var(args),
                }
            }
            CtxFn::Return => {
                let (v,): (Option<Value>,) = from_args(args)?;
                ctx.with_rec(|r| {
                    if let Some(slot) = r.return_stack.last_mut() {
                        *slot = Some(v.unwrap_or(Value::from(())));
                        true
                    } else {
                        false
                    }
                })?
                .then_some(())
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        "return() can only be used inside a macro",
                    )
                })?;
                Err(Error::new(ErrorKind::InvalidOperation, RETURN_MARKER))
            }
            CtxFn::IsIncremental => {
                ctx.with_rec(|r| r.live = true)?;
                Ok(Value::from(rules.is_incremental(ctx)))
            }
            CtxFn::RunQuery => run_ctx::run_query(ctx, args),
            CtxFn::Statement => run_ctx::statement(ctx, state, args),
            CtxFn::LoadResult => run_ctx::load_result(ctx, args),
            CtxFn::StoreResult => run_ctx::store_result(ctx, args),
            CtxFn::StoreRawResult => run_ctx::store_raw_result(ctx, args),
            CtxFn::NoopStatement => run_ctx::noop_statement(ctx, state, args),
            CtxFn::LoadRelation => {
                Arc::new(AdapterObj(ctx.clone())).call_method(state, "load_relation", args)
            }
        }
    }
}

/// An argument given by position or by keyword; `none` counts as absent.
pub(super) fn param(
    pos: &[Value],
    kwargs: &Kwargs,
    i: usize,
    name: &str,
) -> Result<Option<Value>, Error> {
    let v = match kwargs.get::<Option<Value>>(name)? {
        Some(v) => Some(v),
        None => pos.get(i).cloned(),
    };
    Ok(v.filter(|v| !v.is_none() && !v.is_undefined()))
}

/// Arguments given by position or by keyword, `names[i]` being the i-th positional one; more
/// positional arguments than names, or an unknown keyword, is a usage error showing `how`.
pub(super) fn named_args<const N: usize>(
    args: &[Value],
    how: &str,
    names: [&str; N],
) -> Result<[Option<Value>; N], Error> {
    let (pos, kwargs): (&[Value], Kwargs) = from_args(args).map_err(|e| usage(e, how))?;
    let mut out: [Option<Value>; N] = std::array::from_fn(|_| None);
    for (i, name) in names.iter().enumerate() {
        out[i] = param(pos, &kwargs, i, name)?;
    }
    if pos.len() > N {
        return Err(usage(Error::from(ErrorKind::TooManyArguments), how));
    }
    kwargs.assert_all_used().map_err(|e| usage(e, how))?;
    Ok(out)
}

pub(super) fn param_str(
    pos: &[Value],
    kwargs: &Kwargs,
    i: usize,
    name: &str,
) -> Result<Option<String>, Error> {
    Ok(param(pos, kwargs, i, name)?.map(|v| v.to_string()))
}

/// A wrong call of a context function: minijinja's message, and how the call is written.
pub(super) fn usage(e: Error, how: &str) -> Error {
    let what = e
        .detail()
        .map_or_else(|| e.kind().to_string(), ToString::to_string);
    super::hinted_error(e.kind(), what, how)
}

fn parse_ref_args(args: &[Value]) -> Result<RefCall, Error> {
    let (a, b, kwargs): (String, Option<String>, Kwargs) = from_args(args).map_err(|e| {
        usage(
            e,
            "ref() takes a model, seed or snapshot name: ref('orders'), ref('package', 'orders') or ref('orders', v=2)",
        )
    })?;
    let version = kwargs
        .get::<Option<Value>>("version")?
        .or(kwargs.get::<Option<Value>>("v")?)
        .map(|v| v.to_string());
    kwargs.assert_all_used()?;
    Ok(match b {
        Some(name) => RefCall {
            name,
            package: Some(a),
            version,
        },
        None => RefCall {
            name: a,
            package: None,
            version,
        },
    })
}

/// `config(...)`, `config.get(...)`, `config.require(...)`.
#[derive(Debug)]
struct ConfigObj(Arc<RenderCtx>);

impl Object for ConfigObj {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        self.0.shared.rules().config_call(&self.0, args)
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let config = self.0.node_config();
        let lookup = |key: &str| -> Option<Value> {
            let key = crate::project::config::normalize_key(key);
            config.get(&key).map(crate::jinja::to_value)
        };
        match method {
            "get" => {
                let (key, default, _rest): (String, Option<Value>, Rest<Value>) = from_args(args)?;
                Ok(lookup(&key)
                    .filter(|v| !v.is_none())
                    .or(default)
                    .unwrap_or(Value::from(())))
            }
            "require" => {
                let (key,): (String,) = from_args(args)?;
                lookup(&key).filter(|v| !v.is_none()).ok_or_else(|| {
                    let node = self
                        .0
                        .node
                        .as_ref()
                        .map_or(String::new(), |n| format!(" for {}", n.original_file_path));
                    Error::new(
                        ErrorKind::UndefinedError,
                        format!("required config '{key}' is not set{node}"),
                    )
                })
            }
            "meta_get" | "meta_require" => {
                let (key, default): (String, Option<Value>) = from_args(args)?;
                let v = config
                    .get("meta")
                    .and_then(|m| m.get(&key))
                    .map(crate::jinja::to_value);
                match (v, method) {
                    (Some(v), _) => Ok(v),
                    (None, "meta_get") => Ok(default.unwrap_or(Value::from(()))),
                    _ => Err(Error::new(
                        ErrorKind::UndefinedError,
                        format!("required meta config '{key}' is not set"),
                    )),
                }
            }
            "persist_relation_docs" => Ok(Value::from(
                config
                    .get("persist_docs")
                    .and_then(|p| p.get("relation"))
                    .and_then(Json::as_bool)
                    .unwrap_or(false),
            )),
            "persist_column_docs" => Ok(Value::from(
                config
                    .get("persist_docs")
                    .and_then(|p| p.get("columns"))
                    .and_then(Json::as_bool)
                    .unwrap_or(false),
            )),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("config has no method '{method}'"),
            )),
        }
    }
}

/// `api.Relation.create(database=, schema=, identifier=, type=)`.
#[derive(Debug)]
struct RelationFactory(Arc<RenderCtx>);

impl Object for RelationFactory {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        if method != "create" {
            return Err(not_callable(&format!(
                "api.Relation has no method '{method}'"
            )));
        }
        let (kwargs,): (Kwargs,) = from_args(args)?;
        let s = |k: &str| -> Result<Option<String>, Error> { kwargs.get::<Option<String>>(k) };
        let shared = &self.0.shared;
        let mut r = Relation::new("", "", "", shared.quote_policy, shared.adapter.quote_char());
        r.database = s("database")?;
        r.schema = s("schema")?;
        r.identifier = s("identifier")?;
        r.kind = s("type")?;
        Ok(r.into_value())
    }
}

/// The Jinja name a resource type's relation-kind takes (`table`, `view`...).
pub fn relation_kind(node: &Node) -> Option<String> {
    match (node.resource_type, node.materialized()) {
        (ResourceType::Seed | ResourceType::Snapshot, _) => Some("table".into()),
        (_, "view") => Some("view".into()),
        (_, "ephemeral") => Some("cte".into()),
        (_, "table" | "incremental") => Some("table".into()),
        (_, "materialized_view") => Some("materialized_view".into()),
        _ => None,
    }
}

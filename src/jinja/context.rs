//! dbt's Jinja context for one render: `ref`, `source`, `config`, `this`, `model`, `var`,
//! `target`, `adapter`, `execute`, macros by name... The same objects serve the parse phase, where
//! `ref()`/`source()`/`config()` record what a node needs and return placeholders, and the compile
//! phase, where they return the real relations.
//!
//! Macros are looked up by name through the context object itself: a name that is not a context
//! variable resolves to a [`MacroCaller`], which evaluates the macro's file with the *same*
//! context, so a macro sees the `this`, `config` and `ref` of the node that called it, as in dbt.

use super::relation::{EventTimeFilter, Policy, Relation};
use super::table::{AdapterResponse, ParsePlaceholder, RelationColumn, Table, is_blank_sql};
use crate::adapter::{Adapter, Column, DbError, RelationInfo, Rows};
use crate::project::config::Config;
use crate::project::{Node, RefCall, ResourceType};
use minijinja::value::{DynObject, Kwargs, Object, Rest, Value, from_args};
use minijinja::{Error, ErrorKind, State};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

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

/// Where a ref or source points, at compile time.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub relation: Relation,
    /// unique_id of an ephemeral model whose CTE must be injected.
    pub ephemeral: Option<String>,
    /// The node's `event_time` column: a microbatch model reading it sees only its batch.
    pub event_time: Option<String>,
    /// The `event_time` column as `--sample` writes it in SQL (quoted when the column's
    /// `quote: true` says so).
    pub event_time_field: Option<String>,
}

/// The context variable holding a microbatch's `[start, end)` (SQL literals) while one batch of
/// a model renders.
pub const BATCH_VAR: &str = "__kiln_batch";

/// `--empty` and `--sample`: limits on what every ref() and source() of a run reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputLimits {
    /// `--empty`: zero rows.
    pub empty: bool,
    /// `--sample`: the `[start, end)` window, as dbt writes the timestamps
    /// (`2024-07-01 00:00:00+00:00`), for inputs with an `event_time`.
    pub sample: Option<(String, String)>,
}

/// The relation a ref() or source() gives in the compile phase: narrowed to the current
/// microbatch when the render has one and the relation has an `event_time`; limited to zero rows
/// under `--empty`; narrowed to the `--sample` window when it has an `event_time` and the node
/// rendering is a model or snapshot (as in dbt: tests and operations see whole inputs).
fn input_relation(ctx: &RenderCtx, resolved: &Resolved) -> Value {
    let mut r = resolved.relation.clone();
    let batch = ctx.extra.get(BATCH_VAR);
    if let (Some(b), Some(col)) = (batch, &resolved.event_time) {
        let start = b
            .get_item(&Value::from(0))
            .map(|v| v.to_string())
            .unwrap_or_default();
        let end = b
            .get_item(&Value::from(1))
            .map(|v| v.to_string())
            .unwrap_or_default();
        let q = ctx.shared.adapter.quote(col);
        r.rendered_override = Some(format!(
            "(select * from {} where {q} >= {start} and {q} < {end})",
            resolved.relation.render()
        ));
    }
    let limits = &ctx.shared.inputs;
    if limits.empty {
        r.limit = Some(0);
    }
    let samples = ctx.node.as_ref().is_some_and(|n| {
        matches!(
            n.resource_type,
            ResourceType::Model | ResourceType::Snapshot
        )
    });
    if let (Some((start, end)), Some(field), true) =
        (&limits.sample, &resolved.event_time_field, samples)
    {
        r.event_time_filter = Some(EventTimeFilter {
            field: field.clone(),
            start: Some(start.clone()),
            end: Some(end.clone()),
        });
    }
    r.into_value()
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
    /// (package, macro name) → template name.
    pub macros: BTreeMap<(String, String), String>,
    /// `dispatch:` search orders by macro namespace.
    pub dispatch: BTreeMap<String, Vec<String>>,
    pub quote_policy: Policy,
    /// Compile phase: ref name → candidates (unique_id, package, version).
    pub refs: BTreeMap<String, Vec<(String, String, Option<String>)>>,
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

    /// An unqualified macro name: the root project's first, then the built-ins.
    pub fn find_macro(&self, name: &str) -> Option<(String, &String)> {
        if let Some(t) = self.macro_template(&self.project_name, name) {
            return Some((self.project_name.clone(), t));
        }
        self.macro_template("dbt", name)
            .map(|t| ("dbt".to_string(), t))
    }

    fn placeholder(&self, schema: &str, identifier: &str) -> Relation {
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
    return_stack: Vec<Option<Value>>,
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
    results: Mutex<BTreeMap<String, Option<Value>>>,
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
    fn store_result(&self, name: String, response: Value, table: Value) -> Result<(), Error> {
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

    fn record_statement(&self, name: &str, sql: &str) {
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

    fn with_rec<R>(&self, f: impl FnOnce(&mut Recorder) -> R) -> Result<R, Error> {
        self.rec
            .lock()
            .map(|mut r| f(&mut r))
            .map_err(|_| Error::new(ErrorKind::InvalidOperation, "render state poisoned"))
    }

    fn node_config(&self) -> Config {
        let mut c = self
            .node
            .as_ref()
            .map(|n| n.config.clone())
            .unwrap_or_default();
        if self.shared.phase == Phase::Parse
            && let Ok(r) = self.rec.lock()
        {
            crate::project::config::merge_into(&mut c, &r.config);
        }
        c
    }

    fn model_value(&self) -> Value {
        self.model
            .get_or_init(|| match &self.node {
                Some(n) => crate::jinja::to_value(crate::artifacts::node_context_json(n)),
                None => Value::from(()),
            })
            .clone()
    }

    fn macro_caller(self: &Arc<Self>, package: String, name: &str, template: &str) -> Value {
        Value::from_object(MacroCaller {
            ctx: self.clone(),
            package,
            name: name.to_string(),
            template: template.to_string(),
        })
    }
}

fn not_callable(what: &str) -> Error {
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
        Some(match name {
            "ref" => f(CtxFn::Ref),
            "source" => f(CtxFn::Source),
            "config" => Value::from_object(ConfigObj(self.clone())),
            "var" => f(CtxFn::Var),
            "env_var" => f(CtxFn::EnvVar),
            "return" => f(CtxFn::Return),
            "is_incremental" => f(CtxFn::IsIncremental),
            "run_query" => f(CtxFn::RunQuery),
            "statement" => f(CtxFn::Statement),
            "load_result" => f(CtxFn::LoadResult),
            "store_result" => f(CtxFn::StoreResult),
            "store_raw_result" => f(CtxFn::StoreRawResult),
            "noop_statement" => f(CtxFn::NoopStatement),
            "this" => self.this.clone().map_or(Value::from(()), Relation::into_value),
            "model" => self.model_value(),
            "target" => shared.target.clone(),
            "adapter" => Value::from_object(AdapterObj(self.clone())),
            "execute" => Value::from(shared.phase == Phase::Compile),
            "flags" => shared.flags.clone(),
            "run_started_at" => shared.run_started_at.clone(),
            "invocation_id" => Value::from(shared.invocation_id.clone()),
            "project_name" => Value::from(shared.project_name.clone()),
            "graph" => shared
                .graph
                .get_or_init(|| match (&shared.graph_json, shared.phase) {
                    (Some(g), Phase::Compile) => crate::jinja::to_value(g()),
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
            n if n == shared.project_name => Value::from_object(Namespace { ctx: self.clone(), package: n.to_string() }),
            n => {
                if let Some(v) = self.extra.get(n) {
                    return Some(v.clone());
                }
                let (pkg, template) = shared.find_macro(n)?;
                let template = template.clone();
                self.macro_caller(pkg, n, &template)
            }
        })
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
                    m.call(st, args)
                })
            });
        let returned = self.ctx.with_rec(|r| {
            r.depth = r.depth.saturating_sub(1);
            r.return_stack.pop().flatten()
        })?;
        match (returned, result) {
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
        }
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "name" => Some(Value::from(self.name.clone())),
            "package_name" => Some(Value::from(self.package.clone())),
            _ => None,
        }
    }
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
}

#[derive(Debug)]
struct CtxCall {
    ctx: Arc<RenderCtx>,
    f: CtxFn,
}

impl Object for CtxCall {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let ctx = &self.ctx;
        match self.f {
            CtxFn::Ref => call_ref(ctx, args),
            CtxFn::Source => call_source(ctx, args),
            CtxFn::Var => {
                let (name, default): (String, Option<Value>) = from_args(args)?;
                match ctx.shared.vars.get(&name) {
                    Some(v) => Ok(crate::jinja::to_value(v)),
                    None => default.ok_or_else(|| {
                        super::hinted_error(
                            ErrorKind::UndefinedError,
                            format!("required var '{name}' is not set"),
                            format!("set it under `vars:` in dbt_project.yml, pass --vars '{{{name}: ...}}', or give a default: var('{name}', ...)"),
                        )
                    }),
                }
            }
            CtxFn::EnvVar => {
                let (name, default): (String, Option<Value>) = from_args(args)?;
                let default = default.map(|d| d.to_string());
                super::functions::env_var_value(&name, default.as_deref(), false).map(Value::from)
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
            CtxFn::IsIncremental => Ok(Value::from(
                ctx.shared.phase == Phase::Compile
                    && ctx.node.as_ref().is_some_and(|n| {
                        ctx.shared
                            .incremental
                            .lock()
                            .is_ok_and(|set| set.contains(&n.unique_id))
                    }),
            )),
            CtxFn::RunQuery => {
                let (sql,): (Value,) = from_args(args).map_err(|e| {
                    usage(e, "run_query() takes the SQL to run: run_query('select 1')")
                })?;
                match live(ctx, "run_query")? {
                    Some(db) => {
                        Ok(Table::new(&run_sql(db.as_ref(), &sql.to_string())?).into_value())
                    }
                    None => Ok(ParsePlaceholder::value()),
                }
            }
            CtxFn::Statement => {
                let how = "statement() is a call block: {% call statement('name', fetch_result=True) %}select ...{% endcall %}";
                let (pos, kwargs): (&[Value], Kwargs) =
                    from_args(args).map_err(|e| usage(e, how))?;
                let name = param_str(pos, &kwargs, 0, "name")?;
                let fetch = param(pos, &kwargs, 1, "fetch_result")?.is_some_and(|v| v.is_true());
                let _auto_begin = param(pos, &kwargs, 2, "auto_begin")?;
                let language = param(pos, &kwargs, 3, "language")?;
                let caller: Option<Value> = kwargs.get("caller")?;
                if pos.len() > 4 {
                    return Err(usage(Error::from(ErrorKind::TooManyArguments), how));
                }
                kwargs.assert_all_used().map_err(|e| usage(e, how))?;
                // As dbt: the block's SQL is rendered and run only when executing.
                let Some(db) = live(ctx, "statement blocks")? else {
                    return Ok(Value::from(""));
                };
                if let Some(l) = language.filter(|l| l.as_str() != Some("sql")) {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("statement(language='{l}') is not supported: kiln runs SQL only"),
                    ));
                }
                let sql = match caller {
                    Some(c) => c.call(state, &[])?.to_string(),
                    None => String::new(),
                };
                if let Some(n) = &name {
                    ctx.record_statement(n, &sql);
                }
                let (response, table) = execute_sql(ctx, db.as_ref(), &sql, fetch)?;
                if let Some(n) = name {
                    ctx.store_result(n, response.into_value(), table.into_value())?;
                }
                Ok(Value::from(""))
            }
            CtxFn::LoadResult => {
                let (name,): (String,) = from_args(args).map_err(|e| {
                    usage(
                        e,
                        "load_result() takes a statement name: load_result('main')",
                    )
                })?;
                let mut results = ctx.results.lock().map_err(|_| {
                    Error::new(ErrorKind::InvalidOperation, "render state poisoned")
                })?;
                match results.get_mut(&name) {
                    // Parsing runs no statement: what it would have stored is a placeholder.
                    None if ctx.shared.phase == Phase::Parse => Ok(ParsePlaceholder::value()),
                    None => Ok(Value::from(())),
                    Some(Some(v)) if name == "main" => Ok(v.clone()),
                    Some(slot @ Some(_)) => Ok(slot.take().unwrap_or_default()),
                    Some(None) => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!(
                            "the statement result named '{name}' has already been loaded into a variable; load it once and reuse the variable"
                        ),
                    )),
                }
            }
            CtxFn::StoreResult => {
                let how = "store_result(name, response, agate_table=none)";
                let [name, response, table] =
                    named_args(args, how, ["name", "response", "agate_table"])?;
                let name = name.map(|v| v.to_string());
                let name =
                    name.ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?;
                ctx.store_result(
                    name,
                    response.unwrap_or_default(),
                    table.unwrap_or_default(),
                )?;
                Ok(Value::from(""))
            }
            CtxFn::StoreRawResult => {
                let how = "store_raw_result(name, message=none, code=none, rows_affected=none, agate_table=none)";
                let (pos, kwargs): (&[Value], Kwargs) =
                    from_args(args).map_err(|e| usage(e, how))?;
                let name = param_str(pos, &kwargs, 0, "name")?;
                let response = raw_response(pos.get(1..).unwrap_or_default(), &kwargs)?;
                let table = param(pos, &kwargs, 4, "agate_table")?;
                if pos.len() > 5 {
                    return Err(usage(Error::from(ErrorKind::TooManyArguments), how));
                }
                kwargs.assert_all_used().map_err(|e| usage(e, how))?;
                let name =
                    name.ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?;
                ctx.store_result(name, response, table.unwrap_or_default())?;
                Ok(Value::from(""))
            }
            CtxFn::NoopStatement => {
                let how = "noop_statement is a call block: {% call noop_statement('main', 'OK', 'INSERT', 3) %}sql{% endcall %}";
                let (pos, kwargs): (&[Value], Kwargs) =
                    from_args(args).map_err(|e| usage(e, how))?;
                let name = param_str(pos, &kwargs, 0, "name")?;
                let response = raw_response(pos.get(1..).unwrap_or_default(), &kwargs)?;
                let table = param(pos, &kwargs, 4, "res")?;
                let caller: Option<Value> = kwargs.get("caller")?;
                if pos.len() > 5 {
                    return Err(usage(Error::from(ErrorKind::TooManyArguments), how));
                }
                kwargs.assert_all_used().map_err(|e| usage(e, how))?;
                let sql = match caller {
                    Some(c) => c.call(state, &[])?.to_string(),
                    None => String::new(),
                };
                if let Some(n) = name {
                    ctx.record_statement(&n, &sql);
                    ctx.store_result(n, response, table.unwrap_or_default())?;
                }
                Ok(Value::from(""))
            }
        }
    }
}

/// The live database at compile time; parse time has none and behaves as dbt (nothing runs).
fn live(ctx: &RenderCtx, what: &str) -> Result<Option<Arc<dyn LiveDb>>, Error> {
    match (&ctx.shared.db, ctx.shared.phase) {
        (Some(db), Phase::Compile) => Ok(Some(db.clone())),
        (None, Phase::Compile) => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "{what} needs a database connection, which this command does not open; guard it with {{% if execute %}} or run `kiln run`"
            ),
        )),
        _ => Ok(None),
    }
}

/// A database error as a template error: the database's own message.
fn db_error(e: DbError) -> Error {
    Error::new(ErrorKind::InvalidOperation, e.message)
}

/// Runs SQL (one or more statements; the last one's rows come back). SQL with nothing but
/// comments is not sent.
fn run_sql(db: &dyn LiveDb, sql: &str) -> Result<Rows, Error> {
    if is_blank_sql(sql) {
        return Ok(Rows::default());
    }
    db.query(sql).map_err(db_error)
}

/// `adapter.execute`: runs SQL, returns the response and the rows (an empty table unless
/// `fetch`).
fn execute_sql(
    ctx: &RenderCtx,
    db: &dyn LiveDb,
    sql: &str,
    fetch: bool,
) -> Result<(AdapterResponse, Table), Error> {
    let rows = run_sql(db, sql)?;
    let dialect = ctx.shared.adapter.sql_dialect();
    let response = AdapterResponse::for_statement(sql, dialect.as_ref(), db.rows_affected(&rows));
    let table = if fetch {
        Table::new(&rows)
    } else {
        Table::empty()
    };
    Ok((response, table))
}

/// An argument given by position or by keyword; `none` counts as absent.
fn param(pos: &[Value], kwargs: &Kwargs, i: usize, name: &str) -> Result<Option<Value>, Error> {
    let v = match kwargs.get::<Option<Value>>(name)? {
        Some(v) => Some(v),
        None => pos.get(i).cloned(),
    };
    Ok(v.filter(|v| !v.is_none() && !v.is_undefined()))
}

/// Arguments given by position or by keyword, `names[i]` being the i-th positional one; more
/// positional arguments than names, or an unknown keyword, is a usage error showing `how`.
fn named_args<const N: usize>(
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

fn param_str(
    pos: &[Value],
    kwargs: &Kwargs,
    i: usize,
    name: &str,
) -> Result<Option<String>, Error> {
    Ok(param(pos, kwargs, i, name)?.map(|v| v.to_string()))
}

/// `message`, `code` and `rows_affected` (by position from `pos[0]`, or by keyword) as a response.
fn raw_response(pos: &[Value], kwargs: &Kwargs) -> Result<Value, Error> {
    let message = param_str(pos, kwargs, 0, "message")?;
    let code = param_str(pos, kwargs, 1, "code")?;
    let rows_affected = param(pos, kwargs, 2, "rows_affected")?.and_then(|v| v.as_i64());
    Ok(AdapterResponse {
        message: message.unwrap_or_default(),
        code,
        rows_affected,
    }
    .into_value())
}

/// A wrong call of a context function: minijinja's message, and how the call is written.
fn usage(e: Error, how: &str) -> Error {
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

fn call_ref(ctx: &Arc<RenderCtx>, args: &[Value]) -> Result<Value, Error> {
    let r = parse_ref_args(args)?;
    if ctx.shared.phase == Phase::Parse {
        let rel = ctx.shared.placeholder(&ctx.shared.target_schema, &r.name);
        // Every call is kept, repeats included, as dbt lists a node's `refs`.
        ctx.with_rec(|rec| rec.refs.push(r))?;
        return Ok(rel.into_value());
    }
    let candidates = ctx.shared.refs.get(&r.name).cloned().unwrap_or_default();
    let found = candidates.iter().find(|(_, pkg, ver)| {
        r.package.as_ref().is_none_or(|p| p == pkg) && (r.version.is_none() || ver == &r.version)
    });
    let Some((uid, _, _)) = found else {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            format!("ref('{}') does not name a model, seed or snapshot", r.name),
        ));
    };
    let resolved = ctx.shared.relations.get(uid).cloned().ok_or_else(|| {
        Error::new(
            ErrorKind::UndefinedError,
            format!("ref('{}') points at a disabled node", r.name),
        )
    })?;
    if let Some(e) = &resolved.ephemeral {
        let e = e.clone();
        ctx.with_rec(|rec| {
            if !rec.ephemerals.contains(&e) {
                rec.ephemerals.push(e);
            }
        })?;
    }
    Ok(input_relation(ctx, &resolved))
}

fn call_source(ctx: &Arc<RenderCtx>, args: &[Value]) -> Result<Value, Error> {
    let (s, t): (String, String) = from_args(args).map_err(|e| {
        usage(
            e,
            "source() takes a source name and a table name: source('raw', 'orders')",
        )
    })?;
    if ctx.shared.phase == Phase::Parse {
        let rel = ctx.shared.placeholder(&s, &t);
        // Every call is kept, repeats included, as dbt lists a node's `sources`.
        ctx.with_rec(|rec| rec.sources.push((s, t)))?;
        return Ok(rel.into_value());
    }
    let uid = format!("source.{}.{s}.{t}", ctx.shared.project_name);
    ctx.shared
        .relations
        .get(&uid)
        .map(|r| input_relation(ctx, r))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::UndefinedError,
                format!("source('{s}', '{t}') is not declared"),
            )
        })
}

/// `config(...)`, `config.get(...)`, `config.require(...)`.
#[derive(Debug)]
struct ConfigObj(Arc<RenderCtx>);

impl Object for ConfigObj {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        if self.0.shared.phase != Phase::Parse {
            return Ok(Value::from(""));
        }
        let mut layer = Config::new();
        for a in args {
            let j = super::functions::to_json_value(a)?;
            if let Json::Object(m) = j {
                for (k, v) in m {
                    layer.insert(k, v);
                }
            } else if !a.is_none() {
                return Err(super::hinted_error(
                    ErrorKind::InvalidOperation,
                    "config() takes keyword arguments",
                    "write each setting as name=value, e.g. config(materialized='table')",
                ));
            }
        }
        self.0.with_rec(|r| {
            crate::project::config::merge_into(&mut r.config, &layer);
            r.config_calls.push(layer);
        })?;
        Ok(Value::from(""))
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

/// `adapter.dispatch`, `adapter.quote` and friends.
#[derive(Debug)]
struct AdapterObj(Arc<RenderCtx>);

impl Object for AdapterObj {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let ctx = &self.0;
        let shared = &ctx.shared;
        match method {
            "dispatch" => {
                let (name, namespace, kwargs): (String, Option<String>, Kwargs) = from_args(args)?;
                let namespace = match namespace {
                    Some(n) => Some(n),
                    None => kwargs.get::<Option<String>>("macro_namespace")?,
                };
                let packages: Vec<String> = match &namespace {
                    None => vec![shared.project_name.clone(), "dbt".into()],
                    Some(ns) => match shared.dispatch.get(ns) {
                        Some(order) => order.clone(),
                        None if ns == "dbt" => vec![shared.project_name.clone(), "dbt".into()],
                        None => vec![ns.clone()],
                    },
                };
                let mut tried = vec![];
                for pkg in &packages {
                    for prefix in shared.adapter.dispatch_prefixes() {
                        let candidate = format!("{prefix}__{name}");
                        if let Some(t) = shared.macro_template(pkg, &candidate) {
                            let t = t.clone();
                            return Ok(ctx.macro_caller(pkg.clone(), &candidate, &t));
                        }
                        tried.push(format!("{pkg}.{candidate}"));
                    }
                }
                Err(Error::new(
                    ErrorKind::UnknownFunction,
                    format!(
                        "adapter.dispatch('{name}') found no implementation; looked for {}",
                        tried.join(", ")
                    ),
                ))
            }
            "quote" => {
                let (s,): (String,) = from_args(args)?;
                Ok(Value::from(shared.adapter.quote(&s)))
            }
            "quote_as_configured" | "quote_seed_column" => {
                let (s, _rest): (String, Rest<Value>) = from_args(args)?;
                Ok(Value::from(shared.adapter.quote(&s)))
            }
            "type" => Ok(Value::from(shared.adapter.adapter_type())),
            "execute" => {
                let how = "adapter.execute(sql, auto_begin=False, fetch=False)";
                let (pos, kwargs): (&[Value], Kwargs) =
                    from_args(args).map_err(|e| usage(e, how))?;
                let sql = param_str(pos, &kwargs, 0, "sql")?;
                let _auto_begin = param(pos, &kwargs, 1, "auto_begin")?;
                let fetch = param(pos, &kwargs, 2, "fetch")?.is_some_and(|v| v.is_true());
                let _limit = param(pos, &kwargs, 3, "limit")?;
                if pos.len() > 4 {
                    return Err(usage(Error::from(ErrorKind::TooManyArguments), how));
                }
                kwargs.assert_all_used().map_err(|e| usage(e, how))?;
                let sql = sql.ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?;
                let (response, table) = match live(ctx, "adapter.execute")? {
                    Some(db) => {
                        let (response, table) = execute_sql(ctx, db.as_ref(), &sql, fetch)?;
                        (response.into_value(), table.into_value())
                    }
                    None => (
                        AdapterResponse::default().into_value(),
                        ParsePlaceholder::value(),
                    ),
                };
                Ok(Value::from(vec![response, table]))
            }
            "get_relation" => {
                let how = "adapter.get_relation(database, schema, identifier)";
                let [database, schema, identifier, _needs_information] = named_args(
                    args,
                    how,
                    ["database", "schema", "identifier", "needs_information"],
                )?;
                let database = database.map(|v| v.to_string());
                let schema = schema.map(|v| v.to_string());
                let identifier = identifier.map(|v| v.to_string());
                let identifier = identifier
                    .ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?;
                let Some(db) = live(ctx, "adapter.get_relation")? else {
                    return Ok(Value::from(()));
                };
                let database = database.unwrap_or_else(|| shared.target_database.clone());
                let schema = schema.unwrap_or_else(|| shared.target_schema.clone());
                find_relation(ctx, db.as_ref(), &database, &schema, &identifier)
            }
            "load_relation" | "load_cached_relation" => {
                let (relation,): (Value,) = from_args(args).map_err(|e| {
                    usage(
                        e,
                        &format!("adapter.{method}(relation), e.g. adapter.{method}(this)"),
                    )
                })?;
                let Some(db) = live(ctx, &format!("adapter.{method}"))? else {
                    return Ok(Value::from(()));
                };
                let (database, schema, identifier) = relation_parts(ctx, &relation, method)?;
                find_relation(ctx, db.as_ref(), &database, &schema, &identifier)
            }
            "get_columns_in_relation" => {
                let (relation,): (Value,) = from_args(args).map_err(|e| {
                    usage(e, "adapter.get_columns_in_relation(relation), e.g. adapter.get_columns_in_relation(ref('orders'))")
                })?;
                let Some(db) = live(ctx, "adapter.get_columns_in_relation")? else {
                    return Ok(Value::from(Vec::<Value>::new()));
                };
                Ok(Value::from(
                    columns_of(ctx, db.as_ref(), &relation, method)?
                        .into_iter()
                        .map(RelationColumn::into_value)
                        .collect::<Vec<_>>(),
                ))
            }
            "get_missing_columns" => {
                let (from, to): (Value, Value) = from_args(args).map_err(|e| {
                    usage(e, "adapter.get_missing_columns(from_relation, to_relation)")
                })?;
                let Some(db) = live(ctx, "adapter.get_missing_columns")? else {
                    return Ok(Value::from(Vec::<Value>::new()));
                };
                let present = columns_of(ctx, db.as_ref(), &to, method)?;
                Ok(Value::from(
                    columns_of(ctx, db.as_ref(), &from, method)?
                        .into_iter()
                        .filter(|c| !present.iter().any(|p| p.name.eq_ignore_ascii_case(&c.name)))
                        .map(RelationColumn::into_value)
                        .collect::<Vec<_>>(),
                ))
            }
            "list_relations_without_caching" | "list_relations" => {
                let (database, schema) = if method == "list_relations" {
                    let how = "adapter.list_relations(database, schema)";
                    let [database, schema] = named_args(args, how, ["database", "schema"])?;
                    let database = database.map(|v| v.to_string());
                    let schema = schema.map(|v| v.to_string());
                    (
                        database.unwrap_or_else(|| shared.target_database.clone()),
                        schema
                            .ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?,
                    )
                } else {
                    let (relation,): (Value,) = from_args(args).map_err(|e| {
                        usage(e, "adapter.list_relations_without_caching(schema_relation)")
                    })?;
                    let part = |k: &str| attr_str(&relation, k);
                    let schema = part("schema").ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            "adapter.list_relations_without_caching() takes a relation with a schema, e.g. api.Relation.create(database=target.database, schema=target.schema)",
                        )
                    })?;
                    (
                        part("database").unwrap_or_else(|| shared.target_database.clone()),
                        schema,
                    )
                };
                let Some(db) = live(ctx, &format!("adapter.{method}"))? else {
                    return Ok(Value::from(Vec::<Value>::new()));
                };
                Ok(Value::from(
                    db.list_relations(&database, &schema)
                        .map_err(db_error)?
                        .iter()
                        .map(|info| relation_value(ctx, info))
                        .collect::<Vec<_>>(),
                ))
            }
            "check_schema_exists" => {
                let how = "adapter.check_schema_exists(database, schema)";
                let [database, schema] = named_args(args, how, ["database", "schema"])?;
                let database = database.map(|v| v.to_string());
                let schema = schema.map(|v| v.to_string());
                let schema =
                    schema.ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?;
                let Some(db) = live(ctx, "adapter.check_schema_exists")? else {
                    return Ok(Value::from(false));
                };
                let database = database.unwrap_or_else(|| shared.target_database.clone());
                let exists = db.schema_exists(&database, &schema).map_err(db_error)?;
                Ok(Value::from(exists))
            }
            "already_exists" => {
                let how = "adapter.already_exists(schema, name)";
                let [schema, name] = named_args(args, how, ["schema", "name"])?;
                let schema = schema.map(|v| v.to_string());
                let name = name.map(|v| v.to_string());
                let name =
                    name.ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?;
                let Some(db) = live(ctx, "adapter.already_exists")? else {
                    return Ok(Value::from(false));
                };
                let schema = schema.unwrap_or_else(|| shared.target_schema.clone());
                let found = db
                    .get_relation(&shared.target_database, &schema, &name)
                    .map_err(db_error)?;
                Ok(Value::from(found.is_some()))
            }
            "standardize_grants_dict" => Ok(args.first().cloned().unwrap_or(Value::from(()))),
            _ => Err(not_callable(&format!("adapter has no method '{method}'"))),
        }
    }
}

/// A relation found in the catalog as a Jinja relation, quoted as the project says.
fn relation_value(ctx: &RenderCtx, info: &RelationInfo) -> Value {
    let shared = &ctx.shared;
    let mut r = Relation::new(
        &info.database,
        &info.schema,
        &info.identifier,
        shared.quote_policy,
        shared.adapter.quote_char(),
    );
    r.kind = Some(info.kind.as_str().to_string());
    r.into_value()
}

fn find_relation(
    ctx: &RenderCtx,
    db: &dyn LiveDb,
    database: &str,
    schema: &str,
    identifier: &str,
) -> Result<Value, Error> {
    Ok(db
        .get_relation(database, schema, identifier)
        .map_err(db_error)?
        .map_or(Value::from(()), |info| relation_value(ctx, &info)))
}

/// An attribute of a value as text, if it is set.
fn attr_str(v: &Value, key: &str) -> Option<String> {
    v.get_attr(key)
        .ok()
        .filter(|a| !a.is_none() && !a.is_undefined())
        .map(|a| a.to_string())
}

/// The database, schema and identifier of a relation argument (database and schema default to
/// the target's).
fn relation_parts(
    ctx: &RenderCtx,
    relation: &Value,
    method: &str,
) -> Result<(String, String, String), Error> {
    let identifier = attr_str(relation, "identifier").ok_or_else(|| {
        super::hinted_error(
            ErrorKind::InvalidOperation,
            format!("adapter.{method}() takes a relation, not {}", relation.kind()),
            "pass ref('...'), source('...', '...'), this, or api.Relation.create(schema=..., identifier=...)",
        )
    })?;
    Ok((
        attr_str(relation, "database").unwrap_or_else(|| ctx.shared.target_database.clone()),
        attr_str(relation, "schema").unwrap_or_else(|| ctx.shared.target_schema.clone()),
        identifier,
    ))
}

/// The columns of a relation argument; none when it does not exist.
fn columns_of(
    ctx: &RenderCtx,
    db: &dyn LiveDb,
    relation: &Value,
    method: &str,
) -> Result<Vec<RelationColumn>, Error> {
    let (database, schema, identifier) = relation_parts(ctx, relation, method)?;
    let adapter = ctx.shared.adapter.as_ref();
    Ok(db
        .columns(&database, &schema, &identifier)
        .map_err(db_error)?
        .iter()
        .map(|c: &Column| RelationColumn::new(c, adapter))
        .collect())
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

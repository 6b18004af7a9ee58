//! The compile phase of dbt's context: `ref()` and `source()` give the relations they name
//! (narrowed by `--empty`, `--sample` and a microbatch's window), `config()` changes nothing
//! (the parse phase settled the config), `execute` is true; `var` and `env_var` read the
//! project's variables and the environment. Statements need the warehouse: without a
//! connection they fail with a hint ([`super::run_ctx`] has the connected phase).

use super::context::{LiveDb, PhaseRules, RenderCtx, usage};
use super::relation::{EventTimeFilter, Relation};
use crate::project::config::Config;
use crate::project::{RefCall, ResourceType};
use minijinja::value::{Value, from_args};
use minijinja::{Error, ErrorKind};
use std::sync::Arc;

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

/// The unique_id a ref() names, read from the graph's ref table: the call as the parse phase
/// recorded it for the node rendering. A call the parse did not see (a ref inside `{% if execute
/// %}`) is resolved by the graph's one rule and must name one of the node's dependencies, as in
/// dbt: otherwise the node would run before what it reads.
fn resolve_ref(ctx: &RenderCtx, r: &RefCall) -> Result<String, Error> {
    let Some(dag) = &ctx.shared.dag else {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "ref('{}') cannot be resolved before the graph is built",
                r.name
            ),
        ));
    };
    let node = ctx.node.as_ref();
    if let Some(uid) = node.and_then(|n| dag.resolve_ref(&n.unique_id, r)) {
        return Ok(uid.to_string());
    }
    let uid = dag
        .names
        .resolve(r, ctx.local_package())
        .map_err(|disabled_in| {
            Error::new(
                ErrorKind::UndefinedError,
                if disabled_in.is_empty() {
                    format!("ref('{}') does not name a model, seed or snapshot", r.name)
                } else {
                    format!("ref('{}') points at a disabled node", r.name)
                },
            )
        })?;
    if let Some(n) = node
        && dag.depends_on.contains_key(&n.unique_id)
        && !dag.depends_on(&n.unique_id).contains(&uid)
    {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "kiln could not infer all dependencies of {} '{}': ref('{}') was not called while the project was parsed (a ref inside a conditional block such as {{% if execute %}} is not seen then). Add this line at the top of the file so that '{}' builds after it: -- depends_on: {{{{ ref('{}') }}}}",
                n.resource_type, n.name, r.name, n.name, r.name
            ),
        ));
    }
    Ok(uid)
}

/// Rendering to SQL without a connection (`kiln compile`).
#[derive(Debug)]
pub(super) struct CompilePhase;

impl PhaseRules for CompilePhase {
    fn executes(&self) -> bool {
        true
    }

    fn ref_relation(&self, ctx: &Arc<RenderCtx>, r: RefCall) -> Result<Value, Error> {
        let uid = resolve_ref(ctx, &r)?;
        let uid = uid.as_str();
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

    fn source_relation(&self, ctx: &Arc<RenderCtx>, s: String, t: String) -> Result<Value, Error> {
        let shared = &ctx.shared;
        let uid = crate::project::resolve_source_in(
            shared.relations.keys(),
            &shared.project_name,
            &s,
            &t,
            ctx.local_package(),
        );
        uid.and_then(|uid| shared.relations.get(uid))
            .map(|r| input_relation(ctx, r))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::UndefinedError,
                    format!("source('{s}', '{t}') is not declared"),
                )
            })
    }

    fn config_call(&self, _ctx: &RenderCtx, _args: &[Value]) -> Result<Value, Error> {
        Ok(Value::from(""))
    }

    fn node_config(&self, ctx: &RenderCtx) -> Config {
        ctx.node
            .as_ref()
            .map(|n| n.config.clone())
            .unwrap_or_default()
    }

    fn database(&self, _ctx: &RenderCtx, what: &str) -> Result<Option<Arc<dyn LiveDb>>, Error> {
        Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "{what} needs a database connection, which this command does not open; guard it with {{% if execute %}} or run `kiln run`"
            ),
        ))
    }

    fn unstored_result(&self) -> Value {
        Value::from(())
    }

    fn is_incremental(&self, _ctx: &RenderCtx) -> bool {
        // Only a run, which has the warehouse, knows whether a model's table exists.
        false
    }
}

/// `var(name, default)`: the project's and `--vars`' variables.
pub(super) fn var(ctx: &RenderCtx, args: &[Value]) -> Result<Value, Error> {
    let (name, default): (String, Option<Value>) = from_args(args)?;
    match ctx.shared.vars_for(ctx.local_package()).get(&name) {
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

/// `env_var(name, default)`; a secret variable is an error here (it belongs in profiles.yml).
pub(super) fn env_var(args: &[Value]) -> Result<Value, Error> {
    let (name, default): (String, Option<Value>) = from_args(args)?;
    let default = default.map(|d| d.to_string());
    super::functions::env_var_value(&name, default.as_deref(), false).map(Value::from)
}

/// The arguments of `source(source_name, table_name)`.
pub(super) fn source_args(args: &[Value]) -> Result<(String, String), Error> {
    from_args(args).map_err(|e| {
        usage(
            e,
            "source() takes a source name and a table name: source('raw', 'orders')",
        )
    })
}

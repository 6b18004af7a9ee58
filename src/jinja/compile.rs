//! The compile phase: render selected nodes with real relations, inject ephemeral models as CTEs
//! (recursively, each once, in dependency order), and write target/compiled/.

use super::context::{Phase, RenderCtx, Resolved, Shared};
use super::parse::{InvocationInfo, shared_for};
use super::relation::Relation;
use super::{JinjaEnv, jinja_error};
use crate::adapter::Adapter;
use crate::error::{Diagnostic, Diagnostics, Error};
use crate::graph::Graph;
use crate::project::{Compiled, Node, Project, ResourceType};
use minijinja::Value;
use rayon::prelude::*;
use sqlparser::dialect::Dialect;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The compile-phase context shared by every render: refs resolve through the graph's ref table
/// (resolved once, when the graph was built) to the relations the parse phase settled.
pub fn compile_shared(
    project: &Project,
    jenv: &JinjaEnv,
    adapter: Arc<dyn Adapter>,
    inv: &InvocationInfo,
    dag: Arc<Graph>,
    graph: Option<Arc<dyn Fn() -> serde_json::Value + Send + Sync>>,
) -> Shared {
    let mut shared = shared_for(project, jenv, adapter, Phase::Compile, inv);
    shared.dag = Some(dag);
    let qc = shared.adapter.quote_char();
    for n in project.nodes.values() {
        if !matches!(
            n.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        ) {
            continue;
        }
        let mut relation = Relation::new(&n.database, &n.schema, &n.alias, shared.quote_policy, qc);
        relation.kind = super::context::relation_kind(n);
        let ephemeral = n.is_ephemeral().then(|| n.unique_id.clone());
        if ephemeral.is_some() {
            relation.rendered_override = Some(format!("__dbt__cte__{}", n.name));
        }
        shared.relations.insert(
            n.unique_id.clone(),
            Resolved {
                relation,
                ephemeral,
                event_time: event_time(&n.config),
                event_time_field: event_time_field(&n.config, &n.columns, shared.adapter.as_ref()),
            },
        );
    }
    for s in project.sources.values() {
        let mut relation = Relation::new(
            &s.database,
            &s.schema,
            &s.identifier,
            shared.quote_policy,
            qc,
        );
        relation.rendered_override = Some(s.relation_name.clone());
        relation.kind = Some("table".into());
        shared.relations.insert(
            s.unique_id.clone(),
            Resolved {
                relation,
                ephemeral: None,
                event_time: event_time(&s.config),
                event_time_field: event_time_field(&s.config, &s.columns, shared.adapter.as_ref()),
            },
        );
    }
    shared.graph_json = graph;
    shared
}

fn event_time(config: &crate::project::config::Config) -> Option<String> {
    config
        .get("event_time")
        .and_then(serde_json::Value::as_str)
        .map(String::from)
}

/// The `event_time` column as `--sample` writes it: quoted when its column says `quote: true`.
fn event_time_field(
    config: &crate::project::config::Config,
    columns: &indexmap::IndexMap<String, crate::project::ColumnInfo>,
    adapter: &dyn Adapter,
) -> Option<String> {
    let name = event_time(config)?;
    let quoted = columns
        .values()
        .find(|c| c.name == name)
        .and_then(|c| c.quote)
        .unwrap_or(false);
    Some(if quoted { adapter.quote(&name) } else { name })
}

/// A generic test's arguments as its macro receives them (`_dbt_generic_test_kwargs`): `model`
/// and any ref()/source() arguments evaluated in `base` (the test's render context), YAML lists
/// and dicts mutable. Used by the parse render too.
pub(super) fn generic_test_kwargs(
    jenv: &JinjaEnv,
    base: &Arc<RenderCtx>,
    args: &serde_json::Map<String, serde_json::Value>,
) -> Result<BTreeMap<String, Value>, minijinja::Error> {
    let mut kwargs = BTreeMap::new();
    for (k, v) in args {
        let value = match v.as_str() {
            Some(s) if s.contains("{{") => {
                let expr = s
                    .trim()
                    .trim_start_matches("{{")
                    .trim_end_matches("}}")
                    .trim();
                jenv.env
                    .compile_expression(expr)
                    .and_then(|e| e.eval(base.value()))?
            }
            Some(s) if crate::project::looks_like_ref_or_source(s) => jenv
                .env
                .compile_expression(s)
                .and_then(|e| e.eval(base.value()))?,
            // YAML lists and dicts are Python's, mutable (dbt_utils' at_least_one appends
            // to its `group_by_columns`).
            _ => crate::jinja::mutable::deep(crate::jinja::to_value(v)),
        };
        kwargs.insert(k.clone(), value);
    }
    Ok(kwargs)
}

/// What rendering one node produced.
#[derive(Debug, Clone)]
struct Rendered {
    sql: String,
    ephemerals: Vec<String>,
    masked: Vec<String>,
    /// It asked something the phase answers ([`super::context::Recorder::live`]).
    live: bool,
}

fn render_node(
    node: &Arc<Node>,
    shared: &Arc<Shared>,
    jenv: &JinjaEnv,
) -> Result<Rendered, Diagnostic> {
    render_node_with(node, shared, jenv, BTreeMap::new())
}

fn render_node_with(
    node: &Arc<Node>,
    shared: &Arc<Shared>,
    jenv: &JinjaEnv,
    extra_vars: BTreeMap<String, Value>,
) -> Result<Rendered, Diagnostic> {
    let n: &Node = node;
    let node = node.clone();
    let this = shared
        .relations
        .get(&n.unique_id)
        .map(|r| r.relation.clone());
    let what = format!("cannot compile {} '{}'", n.resource_type, n.name);
    let err = |e: minijinja::Error| {
        let mut d = jinja_error(
            &e,
            &n.file,
            &n.raw_code,
            n.line_offset,
            &what,
            &jenv.sources,
        );
        // A generic test's code is generated: point at its entry in the YAML instead.
        if n.test.is_some()
            && let Some(loc) = d.location.as_mut().filter(|l| l.path == n.file)
        {
            let mut files = crate::project::origin::Files::new(&jenv.project_dir);
            *loc = crate::project::origin::node_location(&mut files, n);
        }
        d
    };
    let ctx = if let Some(t) = &n.test {
        // Generic tests: `{{ test_x(**_dbt_generic_test_kwargs) }}`, with `model` and any
        // ref()/source() arguments evaluated against this node's context.
        let base = RenderCtx::new(shared.clone(), Some(node.clone()), this.clone());
        let kwargs = generic_test_kwargs(jenv, &base, &t.kwargs).map_err(err)?;
        let eph = base.take_recorder().ephemerals;
        let mut extra = BTreeMap::new();
        extra.insert("_dbt_generic_test_kwargs".to_string(), Value::from(kwargs));
        let ctx = RenderCtx::with_extra(shared.clone(), Some(node), this, extra);
        if let Ok(mut r) = ctx.rec.lock() {
            r.ephemerals = eph;
        }
        ctx
    } else if extra_vars.is_empty() {
        RenderCtx::new(shared.clone(), Some(node), this)
    } else {
        RenderCtx::with_extra(shared.clone(), Some(node), this, extra_vars)
    };
    let sql = jenv
        .render_named_str(&n.unique_id, &n.raw_code, ctx.value())
        .map_err(err)?;
    let rec = ctx.take_recorder();
    Ok(Rendered {
        sql,
        ephemerals: rec.ephemerals,
        masked: rec.masked,
        live: rec.live,
    })
}

/// Compiles `selected` (and the ephemeral models they need): each node's SQL with the CTEs of
/// the ephemeral models it refs injected. The project is read, never written: the compiled code
/// is this stage's output.
pub fn compile_nodes(
    project: &Project,
    jenv: &JinjaEnv,
    shared: Arc<Shared>,
    selected: &BTreeSet<String>,
) -> Result<BTreeMap<String, Compiled>, Error> {
    compile_nodes_noting_live(project, jenv, shared, selected).map(|(compiled, _)| compiled)
}

/// [`compile_nodes`], also giving the nodes whose render (their own or an ephemeral model's
/// they inline) asked something only a run answers: `is_incremental()`, the database, the
/// quality history. The rest render the same SQL in a run (the phases differ in nothing else),
/// so a run can take their code from here instead of rendering them again.
pub fn compile_nodes_noting_live(
    project: &Project,
    jenv: &JinjaEnv,
    shared: Arc<Shared>,
    selected: &BTreeSet<String>,
) -> Result<(BTreeMap<String, Compiled>, BTreeSet<String>), Error> {
    // Every ephemeral model is rendered once, so any selected node can pull its CTE.
    let mut wanted: BTreeSet<String> = selected.clone();
    wanted.extend(
        project
            .nodes
            .values()
            .filter(|n| n.is_ephemeral())
            .map(|n| n.unique_id.clone()),
    );
    let rendered: Vec<(String, Result<Rendered, Diagnostic>)> = wanted
        .par_iter()
        .filter_map(|uid| project.nodes.get(uid))
        .filter(|n| n.resource_type != ResourceType::Seed)
        .map(|n| (n.unique_id.clone(), render_node(n, &shared, jenv)))
        .collect();
    let adapter = shared.adapter.clone();
    drop(shared);
    let mut diags = Diagnostics::default();
    let mut ok: BTreeMap<String, Rendered> = BTreeMap::new();
    // Ephemeral models that failed: an error only if a selected node needs their CTE.
    let mut failed_ephemerals: BTreeMap<String, Diagnostic> = BTreeMap::new();
    for (uid, r) in rendered {
        match r {
            Ok(r) => {
                ok.insert(uid, r);
            }
            Err(d) if selected.contains(&uid) => diags.push(d),
            Err(d) => {
                failed_ephemerals.insert(uid, d);
            }
        }
    }
    if !failed_ephemerals.is_empty() {
        let mut needed = BTreeSet::new();
        for r in selected.iter().filter_map(|uid| ok.get(uid)) {
            let mut order = vec![];
            for e in &r.ephemerals {
                collect_ephemerals(e, &ok, &mut needed, &mut order);
            }
        }
        diags.extend(
            failed_ephemerals
                .into_iter()
                .filter(|(uid, _)| needed.contains(uid))
                .map(|(_, d)| d),
        );
    }
    diags.checkpoint()?;
    // Injecting CTEs parses the SQL of the nodes that receive them: on every core.
    let nodes = &project.nodes;
    let compiled: Vec<(String, Compiled, bool)> = selected
        .par_iter()
        .filter_map(|uid| {
            let r = ok.get(uid)?;
            let node = nodes.get(uid)?;
            let mut order = vec![];
            let mut seen = BTreeSet::new();
            for e in &r.ephemerals {
                collect_ephemerals(e, &ok, &mut seen, &mut order);
            }
            let ctes: Vec<(String, String)> = order
                .iter()
                .filter_map(|e| {
                    let n = nodes.get(e)?;
                    let body = ok.get(e)?.sql.trim().to_string();
                    Some((format!("__dbt__cte__{}", n.name), body))
                })
                .collect();
            let code = inject_ctes(Some(node), &r.sql, &ctes, adapter.sql_dialect().as_ref());
            let mut masked = r.masked.clone();
            let mut live = r.live;
            for e in order.iter().filter_map(|e| ok.get(e)) {
                masked.extend(e.masked.iter().cloned());
                live |= e.live;
            }
            Some((uid.clone(), Compiled { code, ctes, masked }, live))
        })
        .collect();
    let live = compiled
        .iter()
        .filter(|(_, _, live)| *live)
        .map(|(uid, _, _)| uid.clone())
        .collect();
    Ok((
        compiled.into_iter().map(|(uid, c, _)| (uid, c)).collect(),
        live,
    ))
}

/// Ephemeral models rendered during a run, each once, shared by every node that needs its CTE.
#[derive(Debug, Default)]
pub struct EphemeralCache(std::sync::Mutex<BTreeMap<String, Result<Rendered, Diagnostic>>>);

/// Compiles one node at execution time (with the live database in `shared`), with the CTEs of
/// the ephemeral models it needs injected. Returns the compiled code and the CTEs.
pub fn compile_one(
    nodes: &BTreeMap<String, Arc<Node>>,
    jenv: &JinjaEnv,
    shared: &Arc<Shared>,
    uid: &str,
    cache: &EphemeralCache,
) -> Result<(String, Vec<(String, String)>), Diagnostic> {
    compile_one_with(nodes, jenv, shared, uid, cache, BTreeMap::new())
}

/// [`compile_one`] with extra context variables for the node's own render (a microbatch's
/// window).
pub fn compile_one_with(
    nodes: &BTreeMap<String, Arc<Node>>,
    jenv: &JinjaEnv,
    shared: &Arc<Shared>,
    uid: &str,
    cache: &EphemeralCache,
    extra: BTreeMap<String, Value>,
) -> Result<(String, Vec<(String, String)>), Diagnostic> {
    let node = nodes
        .get(uid)
        .ok_or_else(|| Diagnostic::error("compile", format!("unknown node {uid}")))?;
    let rendered = render_node_with(node, shared, jenv, extra)?;
    with_ephemerals(nodes, jenv, shared, Some(node), rendered, cache)
}

/// Compiles SQL given on the command line (`compile --inline`, `show --inline`) in the
/// project's context, as dbt compiles its inline node: with the CTEs of the ephemeral models it
/// refs injected.
pub fn compile_inline(
    nodes: &BTreeMap<String, Arc<Node>>,
    jenv: &JinjaEnv,
    shared: &Arc<Shared>,
    sql: &str,
    cache: &EphemeralCache,
) -> Result<String, Diagnostic> {
    let ctx = RenderCtx::new(shared.clone(), None, None);
    let rendered = jenv
        .env
        .render_named_str("inline", sql, ctx.value())
        .map_err(|e| {
            jinja_error(
                &e,
                std::path::Path::new("--inline"),
                sql,
                0,
                "cannot compile the inline SQL",
                &jenv.sources,
            )
        })?;
    let rec = ctx.take_recorder();
    let rendered = Rendered {
        sql: rendered,
        ephemerals: rec.ephemerals,
        masked: rec.masked,
        live: rec.live,
    };
    Ok(with_ephemerals(nodes, jenv, shared, None, rendered, cache)?.0)
}

/// `rendered` with the CTEs of the ephemeral models it needs injected, and those CTEs.
fn with_ephemerals(
    nodes: &BTreeMap<String, Arc<Node>>,
    jenv: &JinjaEnv,
    shared: &Arc<Shared>,
    node: Option<&Node>,
    rendered: Rendered,
    cache: &EphemeralCache,
) -> Result<(String, Vec<(String, String)>), Diagnostic> {
    // Render every ephemeral model this node needs (recursively), each at most once per run.
    let mut ok: BTreeMap<String, Rendered> = BTreeMap::new();
    let mut pending: Vec<String> = rendered.ephemerals.clone();
    while let Some(e) = pending.pop() {
        if ok.contains_key(&e) {
            continue;
        }
        let cached = cache.0.lock().ok().and_then(|c| c.get(&e).cloned());
        let r = match cached {
            Some(r) => r,
            None => {
                let r = match nodes.get(&e) {
                    Some(n) => render_node(n, shared, jenv),
                    None => Err(Diagnostic::error("compile", format!("unknown node {e}"))),
                };
                if let Ok(mut c) = cache.0.lock() {
                    c.insert(e.clone(), r.clone());
                }
                r
            }
        };
        let r = r?;
        pending.extend(r.ephemerals.iter().cloned());
        ok.insert(e, r);
    }
    let mut order = vec![];
    let mut seen = BTreeSet::new();
    for e in &rendered.ephemerals {
        collect_ephemerals(e, &ok, &mut seen, &mut order);
    }
    let ctes: Vec<(String, String)> = order
        .iter()
        .filter_map(|e| {
            let n = nodes.get(e)?;
            Some((
                format!("__dbt__cte__{}", n.name),
                ok.get(e)?.sql.trim().to_string(),
            ))
        })
        .collect();
    let dialect = shared.adapter.sql_dialect();
    let code = inject_ctes(node, &rendered.sql, &ctes, dialect.as_ref());
    Ok((code, ctes))
}

/// Renders a hook or other SQL snippet in a node's context (or the project's, for
/// `on-run-start` / `on-run-end`), with `extra` variables such as `results`.
pub fn render_snippet(
    jenv: &JinjaEnv,
    shared: &Arc<Shared>,
    node: Option<&Arc<Node>>,
    name: &str,
    sql: &str,
    extra: BTreeMap<String, Value>,
) -> Result<String, Diagnostic> {
    let this = node.and_then(|n| {
        shared
            .relations
            .get(&n.unique_id)
            .map(|r| r.relation.clone())
    });
    let ctx = RenderCtx::with_extra(shared.clone(), node.cloned(), this, extra);
    jenv.render_named_str(name, sql, ctx.value()).map_err(|e| {
        let (file, line_offset) = node.map_or_else(
            || (std::path::PathBuf::from("dbt_project.yml"), 0),
            |n| (n.file.clone(), 0),
        );
        jinja_error(
            &e,
            &file,
            sql,
            line_offset,
            &format!("cannot render {name}"),
            &jenv.sources,
        )
    })
}

fn collect_ephemerals(
    uid: &str,
    ok: &BTreeMap<String, Rendered>,
    seen: &mut BTreeSet<String>,
    order: &mut Vec<String>,
) {
    if !seen.insert(uid.to_string()) {
        return;
    }
    if let Some(r) = ok.get(uid) {
        for child in &r.ephemerals {
            collect_ephemerals(child, ok, seen, order);
        }
    }
    order.push(uid.to_string());
}

/// `sql` with `ctes` injected into its `with` ([`crate::sql::inject_ctes`]: placed by the parsed
/// tree, or by the text rule when the SQL does not parse in the adapter's dialect).
fn inject_ctes(
    node: Option<&Node>,
    sql: &str,
    ctes: &[(String, String)],
    dialect: &dyn Dialect,
) -> String {
    let injected = crate::sql::inject_ctes(sql, ctes, dialect);
    if let (Some(node), Some(why)) = (node, &injected.text_rule) {
        note_text_rule(node, why);
    }
    injected.sql
}

/// The CTEs of `node` were placed by the text rule because its SQL could not be read as a tree.
/// That is not a problem of the project (DuckDB runs SQL outside sqlparser's grammar, and the
/// text rule is what kiln used before it parsed SQL), so it is not a warning, which
/// `--warn-error` would turn into a failure: it is a debug note, printed when `KILN_DEBUG_SQL`
/// is set.
fn note_text_rule(node: &Node, why: &str) {
    if std::env::var_os("KILN_DEBUG_SQL").is_none() {
        return;
    }
    let note = Diagnostic::warning(
        "sql-text-rule",
        format!(
            "the ephemeral CTEs of {} '{}' were placed by the text rule (after leading comments, merged into a `with` or in front): {why}",
            node.resource_type, node.name
        ),
    )
    .in_file(&node.original_file_path);
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "debug[{}]: {note}", note.code);
}

//! The parse phase: render every model, analysis, snapshot and singular test once with recording
//! `ref()`/`source()`/`config()`, then settle each node's final config, drop disabled nodes, check
//! materializations and resolve database, schema and alias through dbt's `generate_*_name`
//! macros (natively when the project does not override them).

use super::context::{Phase, RenderCtx, Shared, relation_kind};
use super::relation::{Policy, Relation};
use super::{JinjaEnv, jinja_error};
use crate::adapter::Adapter;
use crate::error::warn_error::WarnErrorOptions;
use crate::error::{Diagnostic, Diagnostics, Error};
use crate::invocation::Flags;
use crate::project::config::{self, merge_into};
use crate::project::{Node, Project, ResourceType};
use minijinja::Value;
use rayon::prelude::*;
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// Facts about this invocation that Jinja sees (`flags`, `run_started_at`, `invocation_id`).
#[derive(Debug, Clone)]
pub struct InvocationInfo {
    pub command: String,
    pub invocation_id: String,
    pub run_started_at: chrono::DateTime<chrono::Utc>,
    /// The command's flags: Jinja's `flags` is derived from them ([`Flags::jinja`]).
    pub flags: Flags,
    /// Which warnings are errors: `flags.WARN_ERROR` and `flags.WARN_ERROR_OPTIONS`, which
    /// `exceptions.warn` obeys.
    pub warn_error: WarnErrorOptions,
    /// How ref() and source() read their inputs: `--empty` (a run adds `--sample`'s window when
    /// it starts).
    pub inputs: super::context::InputLimits,
}

impl InvocationInfo {
    pub fn new(command: &str) -> Self {
        InvocationInfo {
            command: command.to_string(),
            invocation_id: crate::events::invocation_id(),
            run_started_at: chrono::Utc::now(),
            flags: Flags::default(),
            warn_error: WarnErrorOptions::default(),
            inputs: Default::default(),
        }
    }

    /// With the command's flags (and `--empty`, which they carry).
    #[must_use]
    pub fn with_flags(mut self, flags: Flags) -> Self {
        self.inputs.empty = flags.empty;
        self.flags = flags;
        self
    }

    /// With the warnings that are errors.
    #[must_use]
    pub fn with_warn_error(mut self, warn_error: WarnErrorOptions) -> Self {
        self.warn_error = warn_error;
        self
    }
}

/// The quote policy: the adapter's default, overridden by dbt_project.yml `quoting:`.
pub fn quote_policy(project: &Project, adapter: &dyn Adapter) -> Policy {
    let mut p = adapter.default_quote_policy();
    let q = &project.config.quoting;
    if let Some(b) = q.get("database").and_then(Json::as_bool) {
        p.database = b;
    }
    if let Some(b) = q.get("schema").and_then(Json::as_bool) {
        p.schema = b;
    }
    if let Some(b) = q.get("identifier").and_then(Json::as_bool) {
        p.identifier = b;
    }
    p
}

/// `target` as Jinja sees it.
pub fn target_value(project: &Project) -> Value {
    let t = &project.target;
    let mut m: Map<String, Json> = t.public_fields();
    m.insert("name".into(), Json::from(t.name.clone()));
    m.insert("target_name".into(), Json::from(t.name.clone()));
    m.insert("profile_name".into(), Json::from(t.profile_name.clone()));
    m.insert("schema".into(), Json::from(t.schema.clone()));
    m.insert("database".into(), Json::from(t.database.clone()));
    m.insert("type".into(), Json::from(t.adapter_type.clone()));
    m.insert("threads".into(), Json::from(t.threads));
    crate::jinja::to_value(Json::Object(m))
}

pub fn shared_for(
    project: &Project,
    jenv: &JinjaEnv,
    adapter: Arc<dyn Adapter>,
    phase: Phase,
    inv: &InvocationInfo,
) -> Shared {
    let dispatch = project.config.dispatch_orders();
    let flags = crate::jinja::to_value(inv.flags.jinja(&inv.command, &inv.warn_error));
    Shared {
        phase,
        project_name: project.name.clone(),
        quote_policy: quote_policy(project, adapter.as_ref()),
        adapter,
        target: target_value(project),
        target_database: project.target.database.clone(),
        target_schema: project.target.schema.clone(),
        vars: project.vars.clone(),
        package_vars: project
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.vars.clone()))
            .collect(),
        packages: project.packages.iter().map(|p| p.name.clone()).collect(),
        macros: jenv.macros.clone(),
        dispatch,
        dag: None,
        relations: BTreeMap::new(),
        flags,
        run_started_at: super::modules::DateTimeObj::value(inv.run_started_at),
        invocation_id: inv.invocation_id.clone(),
        graph: OnceLock::new(),
        graph_json: None,
        incremental: Default::default(),
        db: None,
        inputs: inv.inputs.clone(),
        overrides: None,
        quality: None,
    }
}

/// Whether a node's SQL is rendered at parse time (generic tests are built from YAML instead).
fn renders_at_parse(n: &Node) -> bool {
    !(n.resource_type == ResourceType::Seed || n.test.is_some())
}

/// What a node's parse render recorded, as the parse cache keeps it: the parts of the
/// [`Recorder`](super::context::Recorder) that make the parsed node.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Recorded {
    /// `ref()` calls: name, package, version.
    pub refs: Vec<(String, Option<String>, Option<String>)>,
    pub sources: Vec<(String, String)>,
    /// What `config()` set, merged in call order.
    pub config: Map<String, Json>,
    /// The macros the node's own code calls, in the order of their first call.
    pub macros: Vec<String>,
}

impl Recorded {
    fn of(rec: &super::context::Recorder) -> Recorded {
        Recorded {
            refs: rec
                .refs
                .iter()
                .map(|r| (r.name.clone(), r.package.clone(), r.version.clone()))
                .collect(),
            sources: rec.sources.clone(),
            config: rec.config.clone(),
            macros: rec.macros.iter().cloned().collect(),
        }
    }

    fn apply(self, node: &mut Node) {
        node.refs = self
            .refs
            .into_iter()
            .map(|(name, package, version)| crate::project::node::RefCall {
                name,
                package,
                version,
            })
            .collect();
        node.sources = self.sources;
        node.spans.sql_config = self.config.keys().cloned().collect();
        merge_into(&mut node.config, &self.config);
        for (k, v) in &self.config {
            node.unrendered_config
                .insert(config::normalize_key(k), v.clone());
        }
        node.depends_on_macros = self.macros;
    }
}

/// Runs the parse phase over the whole project.
pub fn parse_project(
    project: &mut Project,
    jenv: &JinjaEnv,
    adapter: Arc<dyn Adapter>,
    inv: &InvocationInfo,
) -> Result<(), Error> {
    parse_project_reusing(project, jenv, adapter, inv, &mut BTreeMap::new()).map(|_| ())
}

/// [`parse_project`], with what earlier renders recorded: a node in `reuse` is not rendered
/// again, its record is applied instead (the parse cache decides which records still hold; see
/// `session::parse_cache`). Returns every node's record of this parse, rendered or reused, and
/// leaves in `reuse` nothing.
pub fn parse_project_reusing(
    project: &mut Project,
    jenv: &JinjaEnv,
    adapter: Arc<dyn Adapter>,
    inv: &InvocationInfo,
    reuse: &mut BTreeMap<String, Recorded>,
) -> Result<BTreeMap<String, Recorded>, Error> {
    let shared = Arc::new(shared_for(
        project,
        jenv,
        adapter.clone(),
        Phase::Parse,
        inv,
    ));
    let timer = crate::timing::StageTimer::nested();
    let mut diags = Diagnostics::default();
    // The macros each macro calls, read when the environment parsed it.
    for (uid, m) in &mut project.macros {
        if let Some(deps) = jenv.macro_depends_on.get(uid) {
            m.depends_on_macros.clone_from(deps);
        }
    }
    // The render contexts share each loaded node (an Arc); what the renders recorded then makes
    // the parsed node, which replaces it (the loaded one is unshared again by then: no copy).
    let shared_nodes: Vec<(String, Arc<Node>)> =
        std::mem::take(&mut project.nodes).into_iter().collect();
    let reused: Vec<Option<Recorded>> = shared_nodes
        .iter()
        .map(|(uid, _)| reuse.remove(uid))
        .collect();
    let results: Vec<Option<Result<Recorded, Diagnostic>>> = shared_nodes
        .par_iter()
        .zip(reused)
        .map(|((_, n), reused)| {
            if n.test.is_some() {
                return generic_test_config_calls(n, &shared, jenv).map(|r| Ok(Recorded::of(&r)));
            }
            if !renders_at_parse(n) {
                return None;
            }
            if let Some(r) = reused {
                return Some(Ok(r));
            }
            let node = n.clone();
            let this = shared.placeholder_for(&node);
            let ctx = RenderCtx::new(shared.clone(), Some(node.clone()), Some(this));
            let r = jenv
                .render_named_str(&n.unique_id, &n.raw_code, ctx.value())
                .map(|_| Recorded::of(&ctx.take_recorder()))
                .map_err(|e| {
                    jinja_error(
                        &e,
                        &n.file,
                        &n.raw_code,
                        n.line_offset,
                        &format!("cannot render {} '{}'", n.resource_type, n.name),
                        &jenv.sources,
                    )
                });
            Some(r)
        })
        .collect();
    timer.mark("render");
    // What each render recorded goes back onto its node, on every core too.
    let root_config = &project.config;
    type Applied = ((String, Arc<Node>), Option<Diagnostic>, Option<Recorded>);
    let recorded: Vec<Applied> = shared_nodes
        .into_par_iter()
        .zip(results)
        .map(|((uid, n), r)| {
            let mut node = Arc::unwrap_or_clone(n);
            let mut problem = None;
            let mut kept = None;
            match r {
                // A generic test keeps what its YAML made it; its macro's config() calls fill
                // in what the YAML's `config:` does not set.
                Some(Ok(rec)) if node.test.is_some() => {
                    for (k, v) in &rec.config {
                        let key = config::normalize_key(k);
                        if !node.unrendered_config.contains_key(&key) {
                            node.config.insert(key.clone(), v.clone());
                            node.unrendered_config.insert(key.clone(), v.clone());
                            if let Some(t) = node.test.as_mut() {
                                t.macro_config.push(key);
                            }
                        }
                    }
                }
                Some(Ok(rec)) => {
                    kept = Some(rec.clone());
                    rec.apply(&mut node);
                }
                Some(Err(d)) => problem = Some(d),
                None => {}
            }
            if node.test.is_some() {
                node.depends_on_macros = test_macro_ids(&node, &shared);
            }
            // A package's node: the root project's configs for it come last, as in dbt.
            let overrides = config::root_overrides(root_config, &node);
            merge_into(&mut node.config, &overrides);
            ((uid, Arc::new(node)), problem, kept)
        })
        .collect();
    let mut nodes = Vec::with_capacity(recorded.len());
    let mut records = BTreeMap::new();
    // Nodes whose render failed: their config is incomplete, so it is not checked.
    let mut unrendered = std::collections::BTreeSet::new();
    for (entry, problem, kept) in recorded {
        if let Some(r) = kept {
            records.insert(entry.0.clone(), r);
        }
        if let Some(d) = problem {
            unrendered.insert(entry.0.clone());
            diags.push(d);
        }
        nodes.push(entry);
    }
    // (already in key order: the map is rebuilt in bulk)
    project.nodes = nodes.into_iter().collect();
    timer.mark("record");
    check_generic_tests(project, &shared, &mut diags);
    timer.mark("check tests");
    // Disabled nodes leave the graph, as in dbt.
    let disabled: Vec<String> = project
        .nodes
        .iter()
        .filter(|(_, n)| !config::is_enabled(&n.config))
        .map(|(k, _)| k.clone())
        .collect();
    for uid in disabled {
        if let Some(n) = project.nodes.remove(&uid) {
            project.disabled.insert(uid, Arc::unwrap_or_clone(n));
        }
    }
    let disabled_sources: Vec<String> = project
        .sources
        .iter()
        .filter(|(_, s)| !config::is_enabled(&s.config))
        .map(|(k, _)| k.clone())
        .collect();
    for uid in disabled_sources {
        if let Some(s) = project.sources.remove(&uid) {
            project.disabled_sources.insert(uid, s);
        }
    }
    timer.mark("disabled");
    // Every model's materialization and every node's typed config, checked here so that a
    // mistake stops the command before anything runs.
    diags.extend(crate::project::settle::settle(project, &unrendered));
    // Contracts: errors stop here; warnings are printed with the project's.
    let mut contract_diags = vec![];
    crate::project::contract::check(project, &mut contract_diags);
    for d in contract_diags {
        if d.is_error() {
            diags.push(d);
        } else {
            project.warnings.push(d);
        }
    }
    diags.checkpoint()?;
    timer.mark("materializations");
    resolve_relations(project, jenv, &shared, &mut diags);
    check_unique_relations(project, shared.adapter.as_ref(), &mut diags);
    diags.checkpoint()?;
    timer.mark("relations");
    Ok(records)
}

/// Generic tests whose `{% test %}` definition exists nowhere, reported at their YAML line (as
/// dbt does at parse time) with the closest test name.
fn check_generic_tests(project: &Project, shared: &Shared, diags: &mut Diagnostics) {
    for n in project.nodes.values() {
        let Some(t) = &n.test else { continue };
        let macro_name = format!("test_{}", t.name);
        let found = match &t.namespace {
            Some(ns) => shared.macro_template(ns, &macro_name).is_some(),
            None => shared
                .find_macro_from(&macro_name, &n.package_name)
                .is_some(),
        };
        if found {
            continue;
        }
        let full_name = match &t.namespace {
            Some(ns) => format!("{ns}.{}", t.name),
            None => t.name.clone(),
        };
        let at = crate::project::settle::node_location(project, n);
        if let Some(ns) = &t.namespace
            && !shared.is_project(ns)
        {
            diags.push(
                Diagnostic::error(
                    "unknown-test",
                    format!("unknown generic test '{full_name}': there is no package '{ns}'"),
                )
                .at(at)
                .with_help(format!(
                    "add the package that defines it to packages.yml and run `kiln deps`, or define the test in macros/ and drop the '{ns}.' prefix"
                )),
            );
            continue;
        }
        // The closest test the name could mean: in the package it names, else anywhere it can
        // be called from (the node's project, the root project, the built-ins).
        let candidates: Vec<String> = shared
            .macros
            .keys()
            .filter(|(pkg, _)| match &t.namespace {
                Some(ns) => pkg == ns,
                None => {
                    [n.package_name.as_str(), &shared.project_name, "dbt"].contains(&pkg.as_str())
                }
            })
            .filter_map(|(_, name)| name.strip_prefix("test_"))
            .map(|k| match &t.namespace {
                Some(ns) => format!("{ns}.{k}"),
                None => k.to_string(),
            })
            .collect();
        let closest = candidates
            .iter()
            .map(|k| (crate::graph::levenshtein(&full_name, k), k))
            .filter(|(d, _)| *d <= 2.max(t.name.len() / 3))
            .min();
        let define = match &t.namespace {
            Some(ns) => format!("the package '{ns}' defines no test '{}'", t.name),
            None => format!(
                "define it with {{% test {}(model, column_name) %}} in macros/ or tests/generic/",
                t.name
            ),
        };
        diags.push(
            Diagnostic::error(
                "unknown-test",
                format!("unknown generic test '{full_name}'"),
            )
            .at(at)
            .with_help(match closest {
                Some((_, k)) => format!("did you mean '{k}'? Otherwise {define}"),
                None => define,
            }),
        );
    }
}

/// A generic test rendered as dbt's parse renders it (`execute` false), for the `config()` calls
/// its macro makes (dbt_utils' `equal_rowcount` sets its `fail_calc` so). Only tests defined in
/// the project or a package: kiln's built-in tests call no `config()`. A render that fails is
/// not reported here: the test's compile reports it.
fn generic_test_config_calls(
    n: &Arc<Node>,
    shared: &Arc<Shared>,
    jenv: &JinjaEnv,
) -> Option<super::context::Recorder> {
    let t = n.test.as_ref()?;
    if test_macro_ids(n, shared)
        .first()
        .is_none_or(|m| m.starts_with("macro.dbt."))
    {
        return None;
    }
    let this = shared.placeholder_for(n);
    let base = RenderCtx::new(shared.clone(), Some(n.clone()), Some(this.clone()));
    let kwargs = super::compile::generic_test_kwargs(jenv, &base, &t.kwargs).ok()?;
    let mut extra = BTreeMap::new();
    extra.insert("_dbt_generic_test_kwargs".to_string(), Value::from(kwargs));
    let ctx = RenderCtx::with_extra(shared.clone(), Some(n.clone()), Some(this), extra);
    jenv.render_named_str(&n.unique_id, &n.raw_code, ctx.value())
        .ok()?;
    Some(ctx.take_recorder())
}

fn test_macro_ids(n: &Node, shared: &Shared) -> Vec<String> {
    let Some(t) = &n.test else { return vec![] };
    let name = format!("test_{}", t.name);
    let local = &n.package_name;
    let pkg = match &t.namespace {
        Some(ns) => ns.clone(),
        None => shared
            .find_macro_from(&name, local)
            .map_or_else(|| "dbt".to_string(), |(p, _)| p),
    };
    let mut out = vec![format!("macro.{pkg}.{name}")];
    if let Some((p, _)) = shared.find_macro_from("get_where_subquery", local) {
        out.push(format!("macro.{p}.get_where_subquery"));
    }
    out
}

impl Shared {
    /// `this` at parse time: the node's name in the target schema.
    fn placeholder_for(&self, n: &Node) -> Relation {
        let mut r = Relation::new(
            &self.target_database,
            &self.target_schema,
            &n.name,
            self.quote_policy,
            self.adapter.quote_char(),
        );
        r.kind = relation_kind(n);
        r
    }
}

/// Two nodes that are one relation in the warehouse would overwrite each other, and a `ref` to
/// one would read the other's rows. dbt refuses identical relation names; kiln also refuses
/// names that differ only where the engine does not tell them apart (DuckDB and Athena ignore
/// case: `MyModel` and `mymodel` are one table).
fn check_unique_relations(project: &Project, adapter: &dyn Adapter, diags: &mut Diagnostics) {
    let mut seen: BTreeMap<String, &Node> = BTreeMap::new();
    for n in project.nodes.values() {
        let Some(relation) = &n.relation_name else {
            continue;
        };
        let key = adapter.relation_key(&n.database, &n.schema, &n.alias);
        let Some(first) = seen.get(&key).copied() else {
            seen.insert(key, n);
            continue;
        };
        let other = first.relation_name.as_deref().unwrap_or_default();
        let how = if other == relation {
            format!("the database representation {relation}")
        } else {
            format!(
                "the relation names {other} and {relation}, which {} treats as one (it ignores case)",
                adapter.adapter_type()
            )
        };
        diags.push(
            Diagnostic::error(
                "duplicate-relation",
                format!(
                    "two resources have {how}: {} ({}) and {} ({})",
                    first.unique_id, first.original_file_path, n.unique_id, n.original_file_path
                ),
            )
            .in_file(&n.file)
            .with_help(
                "give one of them another name, or set its `alias` (or `schema`) config so that \
                 each builds its own relation",
            ),
        );
    }
}

/// Fills database, schema, alias and relation_name of every node and source.
fn resolve_relations(
    project: &mut Project,
    jenv: &JinjaEnv,
    shared: &Arc<Shared>,
    diags: &mut Diagnostics,
) {
    // Whether a node of `package` has its own `generate_<x>_name`: the package's own (dbt uses a
    // package's for its nodes) or the root project's, which the render finds first.
    let overridden = |name: &str, package: &str| {
        [name.to_string(), format!("default__{name}")]
            .iter()
            .any(|n| {
                [project.name.as_str(), package]
                    .iter()
                    .any(|p| jenv.macros.contains_key(&(p.to_string(), n.clone())))
            })
    };
    let target_schema = project.target.schema.clone();
    let target_db = project.target.database.clone();
    let policy = shared.quote_policy;
    let qc = shared.adapter.quote_char();

    let results: Vec<(String, Result<(String, String, String), Diagnostic>)> = project
        .nodes
        .par_iter()
        .map(|(uid, n)| {
            let call = |macro_name: &str, arg: Option<&str>| -> Result<String, Diagnostic> {
                let ctx = RenderCtx::new(shared.clone(), Some(n.clone()), None);
                let mut extra_src = String::from("{{ ");
                extra_src.push_str(macro_name);
                extra_src.push_str("(__kiln_arg, model) }}");
                let ctx_val = ctx.value();
                let arg_v = arg.map_or(Value::from(()), Value::from);
                let tmpl_ctx = minijinja::context! { __kiln_arg => arg_v, ..ctx_val };
                jenv.render_named_str(&format!("<{macro_name}>"), &extra_src, tmpl_ctx)
                    .map(|s| s.trim().to_string())
                    .map_err(|e| {
                        jinja_error(
                            &e,
                            &n.file,
                            &n.raw_code,
                            n.line_offset,
                            &format!("{macro_name} failed for '{}'", n.name),
                            &jenv.sources,
                        )
                    })
            };
            let cfg_str = |k: &str| config::get_str(&n.config, k).map(|s| s.trim().to_string());
            let custom_schema = overridden("generate_schema_name", &n.package_name);
            let custom_alias = overridden("generate_alias_name", &n.package_name);
            let custom_db = overridden("generate_database_name", &n.package_name);
            let is_snapshot = n.resource_type == ResourceType::Snapshot;
            let mut custom = cfg_str("schema");
            if n.resource_type == ResourceType::Test && custom.is_none() {
                custom = Some("dbt_test__audit".into());
            }
            let schema = if is_snapshot && cfg_str("target_schema").is_some() {
                Ok(cfg_str("target_schema").unwrap_or_default())
            } else if custom_schema {
                call("generate_schema_name", custom.as_deref())
            } else {
                Ok(match custom {
                    Some(c) => format!("{target_schema}_{c}"),
                    None => target_schema.clone(),
                })
            };
            let db = if is_snapshot && cfg_str("target_database").is_some() {
                Ok(cfg_str("target_database").unwrap_or_default())
            } else if custom_db {
                call("generate_database_name", cfg_str("database").as_deref())
            } else {
                Ok(cfg_str("database").unwrap_or_else(|| target_db.clone()))
            };
            let alias = if n.resource_type == ResourceType::Test {
                Ok(cfg_str("alias").unwrap_or_else(|| n.alias.clone()))
            } else if custom_alias {
                call("generate_alias_name", cfg_str("alias").as_deref())
            } else {
                Ok(cfg_str("alias").unwrap_or_else(|| match &n.version {
                    Some(v) => format!("{}_v{}", n.name, v.replace('.', "_")),
                    None => n.name.clone(),
                }))
            };
            let r = match (db, schema, alias) {
                (Ok(d), Ok(s), Ok(a)) => Ok((d, s, a)),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(e),
            };
            (uid.clone(), r)
        })
        .collect();
    for (uid, r) in results {
        let Some(n) = project.nodes.get_mut(&uid) else {
            continue;
        };
        match r {
            Ok((d, s, a)) => {
                // (the render contexts above are gone: the node is unshared, so this is no copy)
                let n = Arc::make_mut(n);
                n.database = d;
                n.schema = s;
                n.alias = a;
                let has_relation = matches!(
                    n.resource_type,
                    ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
                ) && !n.is_ephemeral();
                n.relation_name = has_relation
                    .then(|| Relation::new(&n.database, &n.schema, &n.alias, policy, qc).render());
            }
            Err(d) => diags.push(d),
        }
    }
    for s in project.sources.values_mut() {
        let mut p = policy;
        for (k, slot) in [
            ("database", &mut p.database),
            ("schema", &mut p.schema),
            ("identifier", &mut p.identifier),
        ] {
            if let Some(b) = s.quoting.get(k).and_then(Json::as_bool) {
                *slot = b;
            }
        }
        s.relation_name = shared.adapter.external_source_sql(s).unwrap_or_else(|| {
            Relation::new(&s.database, &s.schema, &s.identifier, p, qc).render()
        });
    }
}

//! manifest.json in dbt's v12 shape (`https://schemas.getdbt.com/dbt/manifest/v12.json`).
//!
//! The wire format is dbt's: seventeen top-level keys (`metadata`, `nodes`, `sources`, `macros`,
//! `docs`, `exposures`, `metrics`, `groups`, `selectors`, `disabled`, `parent_map`, `child_map`,
//! `group_map`, `saved_queries`, `semantic_models`, `unit_tests`, `functions`), resources keyed
//! by unique_id, and for each resource the fields dbt-core 1.11 writes, in the order it writes
//! them (its dataclass field order, which is also the property order of the published schema).
//! `tests/manifest_dbt.rs` holds the demo's manifest to dbt-core's, field by field. Decisions:
//!
//! - **Deterministic bytes.** Maps keyed by unique_id are sorted, lists keep the project's order,
//!   and `created_at` is a constant (0.0) instead of the wall clock, so identical projects give
//!   identical files apart from `generated_at`, `invocation_id`, `invocation_started_at` and
//!   `run_started_at`.
//! - **Full configs.** Every `config` lists dbt's default keys for its resource type (a model's
//!   `incremental_strategy`, a test's `fail_calc`, ...) with the project's values over them, then
//!   any other key the project set, so readers never have to know dbt's defaults. Values are
//!   written as the project set them (`severity: warn` stays `warn`; dbt's default is `ERROR`).
//! - **As dbt reads files.** dbt strips every file it reads: `raw_code` and checksums are of the
//!   stripped text, so a checksum matches dbt's and `state:modified` agrees with a dbt manifest.
//!   One exception: dbt checksums a seed over 1 MiB by its path (`{name: path}`), so it never
//!   sees such a seed change; kiln hashes its contents like any other file.
//! - **One node dict.** [`node_context_json`] (Jinja's `model`) and `graph.nodes` entries are the
//!   same dict as the manifest's node, as in dbt; without the whole project at hand the fields
//!   that need it (`root_path`, `primary_key` from tests) take their empty values.
//! - **Compiled fields only once compiled.** `compiled`, `compiled_code`, `extra_ctes_injected`
//!   and `extra_ctes` appear, and `compiled_path` is set, only for nodes `kiln compile` rendered,
//!   as dbt drops them for nodes that were only parsed; `build_path` only for nodes this
//!   invocation ran.
//! - **Streamed.** [`write_manifest_file`] serialises one resource at a time (the same bytes as
//!   [`manifest_json`]), so a 10,000-model project never holds the whole tree in memory.
//! - `metadata.env` holds the `DBT_ENV_CUSTOM_ENV_*` environment variables, prefix removed, as
//!   dbt documents, and `kiln_target`: the target that wrote the file (the schema allows no other
//!   key in `metadata`), so that a later `--state` can tell whose artifacts it reads.
//! - Resource types kiln does not model yet (metrics, groups, semantic models, saved queries, unit
//!   tests, functions) are written as empty maps.

use crate::error::Error;
use crate::graph::Graph;
use crate::project::config::{self, Config};
use crate::project::{
    ColumnInfo, DocBlock, ExposureNode, MacroNode, Node, Project, RefCall, ResourceType, SourceNode,
};
use md5::{Digest, Md5};
use regex::Regex;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::LazyLock;

/// The schema the manifest follows, as `metadata.dbt_schema_version`.
pub const DBT_SCHEMA_VERSION: &str = "https://schemas.getdbt.com/dbt/manifest/v12.json";

/// `created_at` of every resource. dbt writes the parse time; a constant keeps output
/// reproducible, and no reader we know of orders or filters on it.
const CREATED_AT: f64 = 0.0;

/// dbt copies environment variables with this prefix (prefix removed) into `metadata.env`.
const METADATA_ENV_PREFIX: &str = "DBT_ENV_CUSTOM_ENV_";

/// Invocation facts the manifest's metadata records.
#[derive(Debug, Clone, Default)]
pub struct ManifestMeta {
    pub invocation_id: String,
    pub generated_at: String,
    pub invocation_started_at: String,
    /// dbt's `run_started_at`: the same instant as `invocation_started_at`, written as Jinja's
    /// `run_started_at` prints it.
    pub run_started_at: String,
    /// The nodes this invocation ran (their SQL was written under `target/run/`): they get a
    /// `build_path`, as in dbt.
    pub built: BTreeSet<String>,
}

/// The whole manifest as one value. For writing the file, [`write_manifest_file`] gives the same
/// bytes without holding the whole tree in memory.
pub fn manifest_json(
    project: &Project,
    graph: &Graph,
    builtin_macros: &[MacroNode],
    meta: &ManifestMeta,
) -> Value {
    let facts = Facts::of(project).with_built(&meta.built);
    let mut m = Map::new();
    for (key, section) in sections(project, graph, builtin_macros, meta, &facts) {
        let value = match section {
            Section::Whole(v) => v,
            Section::Edges(e) => serde_json::to_value(&e).unwrap_or_default(),
            Section::Entries(entries) => Value::Object(entries.collect()),
            Section::Nodes(nodes, facts) => {
                let mut all: Map<String, Value> = nodes
                    .into_iter()
                    .map(|(id, n)| (id.clone(), node_json(n, facts)))
                    .collect();
                all.extend(facts.project.map(hook_nodes).unwrap_or_default());
                Value::Object(all)
            }
        };
        m.insert(key.to_string(), value);
    }
    Value::Object(m)
}

/// Writes the manifest to `out` as compact JSON, one resource at a time, so memory stays flat
/// however large the project. The bytes are those of `serde_json::to_vec(&manifest_json(..))`.
pub fn write_manifest<W: Write + Send>(
    out: &mut W,
    project: &Project,
    graph: &Graph,
    builtin_macros: &[MacroNode],
    meta: &ManifestMeta,
) -> std::io::Result<()> {
    let timer = crate::timing::StageTimer::nested();
    let facts = Facts::of(project).with_built(&meta.built);
    out.write_all(b"{")?;
    let sections = sections(project, graph, builtin_macros, meta, &facts);
    timer.mark("facts, sections");
    let mut previous = None;
    for (i, (key, section)) in sections.into_iter().enumerate() {
        if let Some(p) = previous.replace(key) {
            timer.mark(p);
        }
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(b":")?;
        match section {
            Section::Whole(v) => serde_json::to_writer(&mut *out, &v)?,
            Section::Edges(e) => serde_json::to_writer(&mut *out, &e)?,
            Section::Entries(entries) => {
                out.write_all(b"{")?;
                for (j, (id, value)) in entries.enumerate() {
                    if j > 0 {
                        out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut *out, &id)?;
                    out.write_all(b":")?;
                    serde_json::to_writer(&mut *out, &value)?;
                }
                out.write_all(b"}")?;
            }
            Section::Nodes(nodes, facts) => {
                use rayon::prelude::*;
                out.write_all(b"{")?;
                // Chunks of nodes are serialised on every core while the previous chunk is
                // written out.
                let render = |chunk: &[(&String, &Node)]| -> std::io::Result<Vec<Vec<u8>>> {
                    chunk
                        .par_iter()
                        .map(|(id, n)| -> std::io::Result<Vec<u8>> {
                            let mut buf = Vec::with_capacity(8192);
                            serde_json::to_writer(&mut buf, id)?;
                            buf.push(b':');
                            serde_json::to_writer(&mut buf, &NodeOut::new(n, facts))?;
                            Ok(buf)
                        })
                        .collect()
                };
                let mut chunks = nodes.chunks(1024);
                let mut ready = chunks.next().map(render).transpose()?;
                let mut first = true;
                while let Some(parts) = ready.take() {
                    let next = chunks.next();
                    let (written, rendered) = rayon::join(
                        || -> std::io::Result<()> {
                            for part in &parts {
                                if !first {
                                    out.write_all(b",")?;
                                }
                                first = false;
                                out.write_all(part)?;
                            }
                            Ok(())
                        },
                        || next.map(render).transpose(),
                    );
                    written?;
                    ready = rendered?;
                }
                let hooks = facts.project.map(hook_nodes).unwrap_or_default();
                for (j, (id, hook)) in hooks.iter().enumerate() {
                    if !nodes.is_empty() || j > 0 {
                        out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut *out, id)?;
                    out.write_all(b":")?;
                    serde_json::to_writer(&mut *out, hook)?;
                }
                out.write_all(b"}")?;
            }
        }
    }
    timer.mark(previous.unwrap_or_default());
    out.write_all(b"}")
}

/// Writes the manifest to `path` through a temporary file in the same folder, so a reader never
/// sees half a file.
pub fn write_manifest_file(
    path: &Path,
    project: &Project,
    graph: &Graph,
    builtin_macros: &[MacroNode],
    meta: &ManifestMeta,
) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension("json.tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let file = crate::events::secrets::Redacting::new(file);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    write_manifest(&mut out, project, graph, builtin_macros, meta)
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(&tmp, e))?;
    drop(out);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// One top-level key's value: built whole, or (for the large maps) produced entry by entry.
enum Section<'a> {
    Whole(Value),
    /// `parent_map` or `child_map`, serialised straight from the graph.
    Edges(EdgeMap<'a>),
    Entries(Box<dyn Iterator<Item = (String, Value)> + 'a>),
    /// The nodes: by far the largest section, so it is rendered on every core, in id order.
    Nodes(Vec<(&'a String, &'a Node)>, &'a Facts<'a>),
}

/// The seventeen top-level keys, in dbt's order.
fn sections<'a>(
    project: &'a Project,
    graph: &'a Graph,
    builtin_macros: &'a [MacroNode],
    meta: &ManifestMeta,
    facts: &'a Facts<'a>,
) -> Vec<(&'static str, Section<'a>)> {
    let ids: BTreeSet<&str> = project
        .nodes
        .keys()
        .chain(project.sources.keys())
        .chain(project.exposures.keys())
        .map(String::as_str)
        .collect();
    let ids = std::sync::Arc::new(ids);
    vec![
        ("metadata", Section::Whole(metadata_json(project, meta))),
        (
            "nodes",
            Section::Nodes(project.nodes.iter().collect(), facts),
        ),
        (
            "sources",
            Section::Entries(Box::new(
                project
                    .sources
                    .iter()
                    .map(move |(id, s)| (id.clone(), source_json(s))),
            )),
        ),
        (
            "macros",
            Section::Entries(macro_entries(project, builtin_macros)),
        ),
        ("docs", Section::Whole(docs_json(&project.docs))),
        (
            "exposures",
            Section::Entries(Box::new(
                project
                    .exposures
                    .iter()
                    .map(|(id, e)| (id.clone(), exposure_json(e))),
            )),
        ),
        ("metrics", Section::Whole(json!({}))),
        ("groups", Section::Whole(json!({}))),
        ("selectors", Section::Whole(selectors_json(project))),
        ("disabled", Section::Whole(disabled_json(project, facts))),
        (
            "parent_map",
            Section::Edges(EdgeMap {
                ids: ids.clone(),
                edges: &graph.parents,
            }),
        ),
        (
            "child_map",
            Section::Edges(EdgeMap {
                ids,
                edges: &graph.children,
            }),
        ),
        ("group_map", Section::Whole(json!({}))),
        ("saved_queries", Section::Whole(json!({}))),
        ("semantic_models", Section::Whole(json!({}))),
        ("unit_tests", Section::Whole(json!({}))),
        // dbt 1.11's user-defined functions; kiln has none yet.
        ("functions", Section::Whole(json!({}))),
    ]
}

/// The node as Jinja's `model` variable sees it: the manifest's node dict, minus what only the
/// whole project can tell (see the module docs).
pub fn node_context_json(n: &Node) -> Value {
    node_json(n, &Facts::default())
}

/// Jinja's `graph` variable: nodes, sources and exposures keyed by unique_id, each the same dict
/// as in the manifest.
pub fn graph_context_json(project: &Project) -> Value {
    let facts = Facts::of(project);
    let nodes: Map<String, Value> = project
        .nodes
        .iter()
        .map(|(id, n)| (id.clone(), node_json(n, &facts)))
        .collect();
    let sources: Map<String, Value> = project
        .sources
        .iter()
        .map(|(id, s)| (id.clone(), source_json(s)))
        .collect();
    let exposures: Map<String, Value> = project
        .exposures
        .iter()
        .map(|(id, e)| (id.clone(), exposure_json(e)))
        .collect();
    json!({
        "nodes": nodes,
        "sources": sources,
        "exposures": exposures,
        "metrics": {},
        "groups": {},
        "semantic_models": {},
        "saved_queries": {},
    })
}

/// What a node's dict needs from the rest of the project. Empty while only the node is known.
#[derive(Default)]
struct Facts<'a> {
    project: Option<&'a Project>,
    /// unique_id of a model (or seed, snapshot) → the generic tests attached to it, enabled or
    /// not, for `primary_key`.
    tests_of: BTreeMap<&'a str, Vec<&'a Node>>,
    /// `__dbt__cte__<name>` → the ephemeral model's unique_id, for `extra_ctes[].id`.
    cte_ids: BTreeMap<String, String>,
    /// dbt_project.yml's `data_tests:` and `tests:` trees, merged once.
    test_tree: Map<String, Value>,
    /// The nodes this invocation ran ([`ManifestMeta::built`]).
    built: BTreeSet<&'a str>,
}

impl<'a> Facts<'a> {
    fn of(project: &'a Project) -> Self {
        let mut tests_of: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
        for n in project.nodes.values().chain(project.disabled.values()) {
            if let Some(attached) = n.test.as_ref().and_then(|t| t.attached_node.as_deref()) {
                tests_of.entry(attached).or_default().push(n);
            }
        }
        let cte_ids = project
            .nodes
            .values()
            .filter(|n| n.is_ephemeral())
            .map(|n| (format!("__dbt__cte__{}", n.name), n.unique_id.clone()))
            .collect();
        Facts {
            project: Some(project),
            tests_of,
            cte_ids,
            test_tree: project.config.data_test_configs(),
            built: BTreeSet::new(),
        }
    }

    fn with_built(mut self, built: &'a BTreeSet<String>) -> Self {
        self.built = built.iter().map(String::as_str).collect();
        self
    }

    fn target_path(&self) -> String {
        self.project
            .map_or_else(|| "target".into(), |p| p.config.target_path())
    }
}

fn metadata_json(project: &Project, meta: &ManifestMeta) -> Value {
    let adapter = crate::adapter::for_project(project);
    let policy = crate::jinja::parse::quote_policy(project, adapter.as_ref());
    let column_quoting = project
        .config
        .quoting
        .get("column")
        .and_then(Value::as_bool);
    let mut env_vars: Vec<(String, String)> = std::env::vars()
        .filter_map(|(k, v)| {
            k.strip_prefix(METADATA_ENV_PREFIX)
                .filter(|rest| !rest.is_empty())
                .map(|rest| (rest.to_string(), v))
        })
        .collect();
    env_vars.sort();
    let mut env: Map<String, Value> = env_vars
        .into_iter()
        .map(|(k, v)| (k, Value::from(v)))
        .collect();
    // The target that wrote the file, so that a later `--state` or `retry` can tell whose
    // artifacts it reads. dbt's schema allows no other key in `metadata`; `env` takes any string.
    env.insert(
        super::TARGET_ENV_KEY.into(),
        Value::from(project.target.name.clone()),
    );
    json!({
        "dbt_schema_version": DBT_SCHEMA_VERSION,
        "dbt_version": crate::DBT_COMPAT_VERSION,
        "generated_at": meta.generated_at,
        "invocation_id": meta.invocation_id,
        "invocation_started_at": meta.invocation_started_at,
        "env": env,
        "project_name": project.name,
        "project_id": md5_hex(&project.name),
        "user_id": null,
        "send_anonymous_usage_stats": false,
        "adapter_type": project.target.adapter_type,
        "quoting": {
            "database": policy.database,
            "schema": policy.schema,
            "identifier": policy.identifier,
            "column": column_quoting,
        },
        "run_started_at": meta.run_started_at,
    })
}

// ---------------------------------------------------------------------------------------------
// Nodes: models, seeds, snapshots, analyses, singular and generic tests.
// ---------------------------------------------------------------------------------------------

fn node_json(n: &Node, facts: &Facts<'_>) -> Value {
    serde_json::to_value(NodeOut::new(n, facts)).unwrap_or(Value::Null)
}

/// One field's value, borrowed from the node where it can be: a 10,000-model manifest is written
/// straight from the nodes, without building a `Value` tree per node first.
enum Field<'a> {
    Str(&'a str),
    Strs(&'a [String]),
    Val(Value),
    Config(&'a Node),
    Columns(&'a indexmap::IndexMap<String, ColumnInfo>),
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Str(v) => s.serialize_str(v),
            Field::Strs(v) => v.serialize(s),
            Field::Val(v) => v.serialize(s),
            Field::Config(n) => {
                let mut map = s.serialize_map(None)?;
                for (key, default) in cached_config_defaults(n.resource_type) {
                    match n.config.get(*key) {
                        Some(v) => map.serialize_entry(key, &config_value(key, v, default))?,
                        None => map.serialize_entry(key, default)?,
                    }
                }
                let defaults = cached_config_defaults(n.resource_type);
                for (k, v) in &n.config {
                    if !defaults.iter().any(|(d, _)| d == k) {
                        map.serialize_entry(k, v)?;
                    }
                }
                map.end()
            }
            Field::Columns(columns) => {
                let mut map = s.serialize_map(Some(columns.len()))?;
                for (name, c) in columns.iter() {
                    map.serialize_entry(name, &ColumnOut(c))?;
                }
                map.end()
            }
        }
    }
}

/// A column as dbt writes it in a node's `columns`.
struct ColumnOut<'a>(&'a ColumnInfo);

impl Serialize for ColumnOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut map = s.serialize_map(Some(11))?;
        map.serialize_entry("name", &c.name)?;
        map.serialize_entry("description", &c.description)?;
        map.serialize_entry("meta", &c.meta)?;
        map.serialize_entry("data_type", &c.data_type)?;
        if c.constraints.is_empty() {
            map.serialize_entry("constraints", &[] as &[Value])?;
        } else {
            let list: Vec<Value> = c
                .constraints
                .iter()
                .map(|k| constraint_json(k, false))
                .collect();
            map.serialize_entry("constraints", &list)?;
        }
        map.serialize_entry("quote", &c.quote)?;
        map.serialize_entry("config", &json!({ "meta": c.meta, "tags": c.tags }))?;
        map.serialize_entry("tags", &c.tags)?;
        map.serialize_entry("granularity", &c.granularity)?;
        map.serialize_entry("doc_blocks", &c.doc_blocks)?;
        map.end()
    }
}

/// A node's fields in dbt's order.
struct NodeOut<'a> {
    fields: Vec<(&'static str, Field<'a>)>,
}

impl Serialize for NodeOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len()))?;
        for (k, v) in &self.fields {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A config key's value after dbt's defaults, as `config` shows it.
fn merged_config_get(n: &Node, key: &str) -> Option<Value> {
    let default = cached_config_defaults(n.resource_type)
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, d)| d);
    match (n.config.get(key), default) {
        (Some(v), Some(d)) => Some(config_value(key, v, d)),
        (Some(v), None) => Some(v.clone()),
        (None, Some(d)) => Some(d.clone()),
        (None, None) => None,
    }
}

impl<'a> NodeOut<'a> {
    fn new(n: &'a Node, facts: &Facts<'_>) -> Self {
        use Field::{Columns, Config, Str, Strs, Val};
        let rt = n.resource_type;
        let config_get = |k: &str| merged_config_get(n, k);
        let opt = |s: &'a Option<String>| s.as_deref().map_or(Val(Value::Null), Str);
        let mut f: Vec<(&'static str, Field<'a>)> = Vec::with_capacity(48);
        f.push(("database", Str(&n.database)));
        f.push(("schema", Str(&n.schema)));
        f.push(("name", Str(&n.name)));
        f.push(("resource_type", Str(rt.as_str())));
        f.push(("package_name", Str(&n.package_name)));
        f.push(("path", Str(&n.path)));
        f.push(("original_file_path", Str(&n.original_file_path)));
        f.push(("unique_id", Str(&n.unique_id)));
        f.push(("fqn", Strs(&n.fqn)));
        f.push(("alias", Str(&n.alias)));
        f.push(("checksum", Val(checksum_json(&n.checksum))));
        f.push(("config", Config(n)));
        f.push(("tags", Val(Value::from(n.tags()))));
        f.push(("description", Str(&n.description)));
        f.push(("columns", Columns(&n.columns)));
        f.push(("meta", Val(Value::Object(n.meta()))));
        f.push(("group", Val(config_get("group").unwrap_or(Value::Null))));
        f.push(("docs", Val(config_get("docs").unwrap_or_else(default_docs))));
        f.push(("patch_path", opt(&n.patch_path)));
        f.push((
            "build_path",
            Val(facts
                .built
                .contains(n.unique_id.as_str())
                .then(|| build_path(n, &facts.target_path()))
                .map_or(Value::Null, Value::from)),
        ));
        f.push((
            "unrendered_config",
            Val(Value::Object(unrendered_config(n, facts))),
        ));
        f.push(("created_at", Val(json!(CREATED_AT))));
        f.push(("relation_name", opt(&n.relation_name)));
        f.push(("raw_code", raw_code(n)));
        f.push(("doc_blocks", Strs(&n.doc_blocks)));

        // Seeds are not compiled: they end with where their data lives and the macros they use.
        if rt == ResourceType::Seed {
            // dbt writes the project's absolute path.
            let root = facts.project.map(|p| {
                std::fs::canonicalize(&p.dir)
                    .unwrap_or_else(|_| p.dir.clone())
                    .display()
                    .to_string()
            });
            f.push(("root_path", Val(opt_str(root.as_deref()))));
            f.push(("depends_on", Val(json!({ "macros": n.depends_on_macros }))));
            return NodeOut { fields: f };
        }

        f.push(("language", Str("sql")));
        f.push((
            "refs",
            Val(Value::Array(n.refs.iter().map(ref_json).collect())),
        ));
        f.push(("sources", Val(sources_list(&n.sources))));
        f.push(("metrics", Val(json!([]))));
        f.push(("functions", Val(json!([]))));
        f.push((
            "depends_on",
            Val(json!({ "macros": depends_on_macros(n), "nodes": n.depends_on_nodes })),
        ));
        match &n.compiled_code {
            Some(code) => {
                // dbt writes no compiled file for a snapshot (its SQL goes straight into the
                // snapshot statements).
                let path = (rt != ResourceType::Snapshot)
                    .then(|| Value::from(compiled_path(n, &facts.target_path())));
                f.push(("compiled_path", Val(path.unwrap_or(Value::Null))));
                f.push(("compiled", Val(Value::Bool(true))));
                f.push(("compiled_code", Str(code)));
                f.push(("extra_ctes_injected", Val(Value::Bool(true))));
                let ctes: Vec<Value> = n
                    .extra_ctes
                    .iter()
                    .map(|(name, sql)| {
                        let id = facts.cte_ids.get(name).cloned().unwrap_or_else(|| {
                            let bare = name.trim_start_matches("__dbt__cte__");
                            format!("model.{}.{bare}", n.package_name)
                        });
                        json!({ "id": id, "sql": format!(" {name} as (\n{sql}\n)") })
                    })
                    .collect();
                f.push(("extra_ctes", Val(Value::Array(ctes))));
            }
            None => f.push(("compiled_path", Val(Value::Null))),
        }
        let contract = config_get("contract").unwrap_or_else(default_contract);
        let enforced = contract
            .get("enforced")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        f.push((
            "contract",
            Val(json!({
                "enforced": enforced,
                "alias_types": contract.get("alias_types").and_then(Value::as_bool).unwrap_or(true),
                "checksum": enforced.then(|| contract_checksum(n)),
            })),
        ));

        if rt == ResourceType::Model {
            f.push((
                "access",
                Val(config_get("access").unwrap_or_else(|| Value::from("protected"))),
            ));
            f.push((
                "constraints",
                Val(Value::Array(
                    n.constraints
                        .iter()
                        .map(|c| constraint_json(c, true))
                        .collect(),
                )),
            ));
            f.push(("version", Val(version_json(n.version.as_deref()))));
            f.push((
                "latest_version",
                Val(version_json(n.latest_version.as_deref())),
            ));
            f.push(("deprecation_date", opt(&n.deprecation_date)));
            f.push(("primary_key", Val(Value::from(primary_key(n, facts)))));
            f.push(("time_spine", Val(Value::Null)));
        }
        if let Some(t) = &n.test {
            f.push(("column_name", opt(&t.column_name)));
            f.push(("file_key_name", Str(&t.file_key_name)));
            // dbt attaches a generic test to the model, seed or snapshot it tests; a source's
            // tests have none.
            let attached = t
                .attached_node
                .as_deref()
                .filter(|id| !id.starts_with("source."));
            f.push(("attached_node", attached.map_or(Val(Value::Null), Str)));
            f.push((
                "test_metadata",
                Val(json!({
                    "name": t.name,
                    "kwargs": t.kwargs,
                    "namespace": t.namespace,
                })),
            ));
        }
        NodeOut { fields: f }
    }
}

/// `depends_on.macros`. dbt's parser does not render the arguments of its own `unique` and
/// `not_null` tests (a shortcut for the two most common tests), so until such a test is compiled
/// it lists only its test macro, not `get_where_subquery`.
fn depends_on_macros(n: &Node) -> &[String] {
    let shortcut = n
        .test
        .as_ref()
        .is_some_and(|t| t.namespace.is_none() && matches!(t.name.as_str(), "unique" | "not_null"))
        && n.depends_on_macros
            .first()
            .is_some_and(|m| m.starts_with("macro.dbt.test_"));
    match n.compiled_code {
        None if shortcut => &n.depends_on_macros[..1],
        _ => &n.depends_on_macros,
    }
}

/// `raw_code` as dbt writes it: a file's text stripped of surrounding whitespace (dbt strips
/// every file it reads); a snapshot's block as it stands; a generic test's macro call followed
/// by a `config()` call with the test's own configs.
fn raw_code(n: &Node) -> Field<'_> {
    if n.resource_type == ResourceType::Snapshot {
        return Field::Str(&n.raw_code);
    }
    if n.test.is_none() || n.unrendered_config.is_empty() {
        return Field::Str(n.raw_code.trim());
    }
    // dbt's order: the config keys a test may set at its top level, in dbt's list's order, then
    // the others; a hashed `alias` (the only config kiln adds itself) last.
    let generated_alias = n.name != n.alias
        && n.unrendered_config.get("alias").and_then(Value::as_str) == Some(n.alias.as_str());
    let args = crate::project::generic_tests::CONFIG_ARGS;
    let mut keys: Vec<&String> = n
        .unrendered_config
        .keys()
        .filter(|k| !(generated_alias && k.as_str() == "alias"))
        .collect();
    keys.sort_by_key(|k| args.iter().position(|a| a == k).unwrap_or(args.len()));
    if generated_alias {
        keys.extend(n.unrendered_config.get_key_value("alias").map(|(k, _)| k));
    }
    let configs: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            let v = n.unrendered_config.get(*k)?;
            (!v.is_null()).then(|| format!("{k}={}", py_config_value(v)))
        })
        .collect();
    Field::Val(Value::from(format!(
        "{}{{{{ config({}) }}}}",
        n.raw_code.trim(),
        configs.join(",")
    )))
}

/// A config value as dbt writes it into a generic test's `config()` call: a string in double
/// quotes, anything else as Python prints it.
fn py_config_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{}\"", s.replace('"', "\\\"")),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(_) => py_repr(v),
    }
}

/// Python's `repr()` of a JSON value (strings in single quotes).
fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("'{k}': {}", py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => py_config_value(other),
    }
}

/// `target/compiled/<package>/<file>`; a generic test is written under its YAML file's path.
fn compiled_path(n: &Node, target_path: &str) -> String {
    artifact_path(n, target_path, "compiled")
}

/// `target/run/<package>/<file>`, where a run writes the statements it executed for the node.
fn build_path(n: &Node, target_path: &str) -> String {
    artifact_path(n, target_path, "run")
}

fn artifact_path(n: &Node, target_path: &str, kind: &str) -> String {
    let base = format!(
        "{}/{kind}/{}/{}",
        target_path.trim_end_matches('/'),
        n.package_name,
        n.original_file_path
    );
    if n.test.is_some() {
        format!("{base}/{}", n.path)
    } else {
        base
    }
}

fn checksum_json(sha256: &str) -> Value {
    if sha256.is_empty() {
        json!({ "name": "none", "checksum": "" })
    } else {
        json!({ "name": "sha256", "checksum": sha256 })
    }
}

/// `on-run-start` / `on-run-end` hooks from dbt_project.yml, as dbt's `operation` nodes
/// (`operation.<project>.<project>-on-run-start-0`).
fn hook_nodes(project: &Project) -> Vec<(String, Value)> {
    let mut out = vec![];
    for (kind, hooks) in [
        ("on-run-start", project.config.on_run_start.to_vec()),
        ("on-run-end", project.config.on_run_end.to_vec()),
    ] {
        for (i, sql) in hooks.iter().enumerate() {
            let name = format!("{}-{kind}-{i}", project.name);
            let id = format!("operation.{}.{name}", project.name);
            let config: Map<String, Value> = config_defaults(ResourceType::Model)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            let hook = json!({
                "database": project.target.database,
                "schema": project.target.schema,
                "name": name,
                "resource_type": "operation",
                "package_name": project.name,
                "path": format!("hooks/{name}.sql"),
                "original_file_path": "./dbt_project.yml",
                "unique_id": id,
                "fqn": [project.name.clone(), "hooks".to_string(), name.clone()],
                "alias": name,
                "checksum": checksum_json(&crate::project::sha256_hex(sql.as_bytes())),
                "config": config,
                "tags": [kind],
                "description": "",
                "columns": {},
                "meta": {},
                "group": null,
                "docs": default_docs(),
                "patch_path": null,
                "build_path": null,
                "unrendered_config": {},
                "created_at": CREATED_AT,
                "relation_name": null,
                "raw_code": sql,
                "doc_blocks": [],
                "language": "sql",
                "refs": [],
                "sources": [],
                "metrics": [],
                "depends_on": {"macros": [], "nodes": []},
                "compiled_path": null,
                "contract": {"enforced": false, "alias_types": true, "checksum": null},
                "index": i,
            });
            out.push((id, hook));
        }
    }
    out
}

fn default_docs() -> Value {
    json!({ "show": true, "node_color": null })
}

fn default_contract() -> Value {
    json!({ "enforced": false, "alias_types": true })
}

fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::from)
}

/// dbt's node versions are numbers when written as numbers (`v: 2`), strings otherwise.
fn version_json(v: Option<&str>) -> Value {
    let Some(v) = v else { return Value::Null };
    if let Ok(i) = v.parse::<i64>() {
        return Value::from(i);
    }
    match v.parse::<f64>() {
        Ok(f) if f.is_finite() => Value::from(f),
        _ => Value::from(v),
    }
}

fn ref_json(r: &RefCall) -> Value {
    json!({
        "name": r.name,
        "package": r.package,
        "version": version_json(r.version.as_deref()),
    })
}

fn sources_list(sources: &[(String, String)]) -> Value {
    Value::Array(
        sources
            .iter()
            .map(|(s, t)| json!([s, t]))
            .collect::<Vec<_>>(),
    )
}

/// dbt's default config keys, in its order, per resource type.
fn config_defaults(rt: ResourceType) -> Vec<(&'static str, Value)> {
    if rt == ResourceType::Test {
        return vec![
            ("enabled", json!(true)),
            ("alias", Value::Null),
            ("schema", json!("dbt_test__audit")),
            ("database", Value::Null),
            ("tags", json!([])),
            ("meta", json!({})),
            ("group", Value::Null),
            ("static_analysis", Value::Null),
            ("materialized", json!("test")),
            // dbt's default; a severity the project sets is written as set (`error`, `warn`).
            ("severity", json!("ERROR")),
            ("store_failures", Value::Null),
            ("store_failures_as", Value::Null),
            ("where", Value::Null),
            ("limit", Value::Null),
            ("fail_calc", json!("count(*)")),
            ("warn_if", json!("!= 0")),
            ("error_if", json!("!= 0")),
        ];
    }
    let materialized = match rt {
        ResourceType::Seed => "seed",
        ResourceType::Snapshot => "snapshot",
        _ => "view",
    };
    let mut out = vec![
        ("enabled", json!(true)),
        ("alias", Value::Null),
        ("schema", Value::Null),
        ("database", Value::Null),
        ("tags", json!([])),
        ("meta", json!({})),
        ("group", Value::Null),
        ("static_analysis", Value::Null),
        ("materialized", json!(materialized)),
        ("incremental_strategy", Value::Null),
        ("batch_size", Value::Null),
        ("lookback", json!(1)),
        ("begin", Value::Null),
        ("persist_docs", json!({})),
        ("post-hook", json!([])),
        ("pre-hook", json!([])),
        ("quoting", json!({})),
        ("column_types", json!({})),
        ("full_refresh", Value::Null),
        ("unique_key", Value::Null),
        ("on_schema_change", json!("ignore")),
        ("on_configuration_change", json!("apply")),
        ("grants", json!({})),
        ("packages", json!([])),
        ("docs", default_docs()),
        ("contract", default_contract()),
        ("event_time", Value::Null),
        ("concurrent_batches", Value::Null),
    ];
    match rt {
        ResourceType::Model => {
            out.push(("access", json!("protected")));
            out.push(("freshness", Value::Null));
        }
        ResourceType::Seed => {
            out.push(("delimiter", json!(",")));
            out.push(("quote_columns", Value::Null));
        }
        ResourceType::Snapshot => {
            out.push(("strategy", Value::Null));
            out.push(("target_schema", Value::Null));
            out.push(("target_database", Value::Null));
            out.push(("updated_at", Value::Null));
            out.push(("check_cols", Value::Null));
            out.push((
                "snapshot_meta_column_names",
                json!({
                    "dbt_valid_to": null,
                    "dbt_valid_from": null,
                    "dbt_scd_id": null,
                    "dbt_updated_at": null,
                    "dbt_is_deleted": null,
                }),
            ));
            out.push(("dbt_valid_to_current", Value::Null));
        }
        _ => {}
    }
    out
}

/// The node's config with dbt's defaults filled in: default keys first, in dbt's order, then the
/// project's other keys in the order they were set.
/// [`config_defaults`] built once per resource type (every node needs them).
fn cached_config_defaults(rt: ResourceType) -> &'static [(&'static str, Value)] {
    static CACHE: std::sync::OnceLock<Vec<(ResourceType, Vec<(&'static str, Value)>)>> =
        std::sync::OnceLock::new();
    let all = CACHE.get_or_init(|| {
        ResourceType::ALL
            .iter()
            .map(|rt| (*rt, config_defaults(*rt)))
            .collect()
    });
    all.iter()
        .find(|(r, _)| *r == rt)
        .map_or(&[], |(_, d)| d.as_slice())
}

/// A config value in the shape dbt writes it.
fn config_value(key: &str, value: &Value, default: &Value) -> Value {
    match key {
        "tags" => Value::from(str_list(value)),
        "pre-hook" | "post-hook" => hooks_json(value),
        "docs" | "contract" | "snapshot_meta_column_names" => {
            let mut merged = default.as_object().cloned().unwrap_or_default();
            if let Value::Object(given) = value {
                for (k, v) in given {
                    merged.insert(k.clone(), v.clone());
                }
            }
            Value::Object(merged)
        }
        _ => value.clone(),
    }
}

fn str_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(ToString::to_string))
            .collect(),
        _ => vec![],
    }
}

/// Hooks as dbt's `{sql, transaction, index}` objects.
fn hooks_json(v: &Value) -> Value {
    let items = match v {
        Value::Array(a) => a.clone(),
        Value::Null => vec![],
        other => vec![other.clone()],
    };
    let hooks = items
        .iter()
        .map(|h| match h {
            Value::Object(o) => json!({
                "sql": o.get("sql").cloned().unwrap_or_else(|| Value::from("")),
                "transaction": o.get("transaction").and_then(Value::as_bool).unwrap_or(true),
                "index": o.get("index").cloned().unwrap_or(Value::Null),
            }),
            Value::String(s) => json!({ "sql": s, "transaction": true, "index": null }),
            other => json!({ "sql": other.to_string(), "transaction": true, "index": null }),
        })
        .collect();
    Value::Array(hooks)
}

/// Config as written, before rendering: the project's dbt_project.yml settings for the node's
/// folder, then what its properties and `config()` call set.
/// Each layer replaces a key the one before set, tags and meta included: dbt merges them only in
/// the rendered config.
fn unrendered_config(n: &Node, facts: &Facts<'_>) -> Map<String, Value> {
    let mut out = Config::new();
    if let Some(p) = facts.project {
        let tree = match n.resource_type {
            // dbt configures analyses from the `models:` tree (their fqn starts `analysis`).
            ResourceType::Model | ResourceType::Analysis => Some(&p.config.models),
            ResourceType::Seed => Some(&p.config.seeds),
            ResourceType::Snapshot => Some(&p.config.snapshots),
            ResourceType::Test => Some(&facts.test_tree),
            _ => None,
        };
        if let Some(tree) = tree {
            out = config::unrendered_project_config_for(tree, &n.fqn);
        }
    }
    for (k, v) in &n.unrendered_config {
        out.insert(config::normalize_key(k), v.clone());
    }
    out
}

fn columns_json(columns: &indexmap::IndexMap<String, ColumnInfo>) -> Value {
    Value::Object(
        columns
            .iter()
            .map(|(name, c)| (name.clone(), column_json(c)))
            .collect(),
    )
}

fn column_json(c: &ColumnInfo) -> Value {
    json!({
        "name": c.name,
        "description": c.description,
        "meta": c.meta,
        "data_type": c.data_type,
        "constraints": c.constraints.iter().map(|k| constraint_json(k, false)).collect::<Vec<_>>(),
        "quote": c.quote,
        "config": { "meta": c.meta, "tags": c.tags },
        "tags": c.tags,
        "granularity": c.granularity,
        "doc_blocks": c.doc_blocks,
    })
}

/// A constraint with dbt's defaults (`warn_unenforced`, `warn_unsupported`, ...); model-level
/// ones also list their `columns`.
fn constraint_json(c: &Value, model_level: bool) -> Value {
    let empty = Map::new();
    let o = c.as_object().unwrap_or(&empty);
    let get = |k: &str| o.get(k).cloned().unwrap_or(Value::Null);
    let list = |k: &str| Value::from(o.get(k).map(str_list).unwrap_or_default());
    let mut m = Map::new();
    m.insert(
        "type".into(),
        o.get("type")
            .cloned()
            .unwrap_or_else(|| c.as_str().map_or(Value::Null, Value::from)),
    );
    m.insert("name".into(), get("name"));
    m.insert("expression".into(), get("expression"));
    m.insert(
        "warn_unenforced".into(),
        Value::Bool(
            o.get("warn_unenforced")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        ),
    );
    m.insert(
        "warn_unsupported".into(),
        Value::Bool(
            o.get("warn_unsupported")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        ),
    );
    m.insert("to".into(), get("to"));
    m.insert("to_columns".into(), list("to_columns"));
    if model_level {
        m.insert("columns".into(), list("columns"));
    }
    Value::Object(m)
}

/// dbt's inferred primary key: a `primary_key` constraint (model, then column level); else the
/// columns with both `unique` and `not_null` tests; else the columns with `unique` tests
/// (enabled before disabled). `unique_combination_of_columns` counts as `unique`.
fn primary_key(n: &Node, facts: &Facts<'_>) -> Vec<String> {
    let is_pk = |c: &Value| c.get("type").and_then(Value::as_str) == Some("primary_key");
    if let Some(c) = n.constraints.iter().find(|c| is_pk(c)) {
        return c.get("columns").map(str_list).unwrap_or_default();
    }
    if let Some((name, _)) = n
        .columns
        .iter()
        .find(|(_, c)| c.constraints.iter().any(is_pk))
    {
        return vec![name.clone()];
    }
    let mut unique_enabled = BTreeSet::new();
    let mut unique_disabled = BTreeSet::new();
    let mut not_null = BTreeSet::new();
    for test in facts
        .tests_of
        .get(n.unique_id.as_str())
        .into_iter()
        .flatten()
    {
        let Some(t) = &test.test else { continue };
        let columns = match (
            t.kwargs.get("column_name"),
            t.kwargs.get("combination_of_columns"),
        ) {
            (Some(Value::String(c)), _) => vec![c.clone()],
            (_, Some(cols @ Value::Array(_))) => str_list(cols),
            _ => continue,
        };
        for column in columns {
            match t.name.as_str() {
                "unique" | "unique_combination_of_columns" => {
                    if config::is_enabled(&test.config) {
                        unique_enabled.insert(column);
                    } else {
                        unique_disabled.insert(column);
                    }
                }
                "not_null" => {
                    not_null.insert(column);
                }
                _ => {}
            }
        }
    }
    let both: Vec<String> = not_null
        .into_iter()
        .filter(|c| unique_enabled.contains(c) || unique_disabled.contains(c))
        .collect();
    if !both.is_empty() {
        return both;
    }
    if !unique_enabled.is_empty() {
        return unique_enabled.into_iter().collect();
    }
    unique_disabled.into_iter().collect()
}

/// dbt's contract checksum: sha256 over each column (sorted by name) as `|name` plus Python's
/// `str()` of its data type and constraints, then, for materializations that enforce
/// constraints, the materialization and the model-level constraints.
fn contract_checksum(n: &Node) -> String {
    let mut columns: Vec<&ColumnInfo> = n.columns.values().collect();
    columns.sort_by(|a, b| a.name.cmp(&b.name));
    let mut state = String::new();
    for c in columns {
        state.push('|');
        state.push_str(&c.name);
        state.push_str(c.data_type.as_deref().unwrap_or("None"));
        state.push_str(&py_constraints(&c.constraints, false));
    }
    let materialized = n.materialized();
    if matches!(materialized, "table" | "incremental") {
        state.push_str(materialized);
        state.push_str(&py_constraints(&n.constraints, true));
    }
    let mut h = Sha256::new();
    h.update(state.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Python's `str()` of a list of dbt constraint dataclasses.
fn py_constraints(list: &[Value], model_level: bool) -> String {
    let class = if model_level {
        "ModelLevelConstraint"
    } else {
        "ColumnLevelConstraint"
    };
    let items: Vec<String> = list
        .iter()
        .map(|c| {
            let c = constraint_json(c, model_level);
            let kind = c.get("type").and_then(Value::as_str).unwrap_or_default();
            let mut parts = vec![format!("type=<ConstraintType.{kind}: '{kind}'>")];
            for k in ["name", "expression"] {
                parts.push(format!("{k}={}", py_scalar(c.get(k))));
            }
            for k in ["warn_unenforced", "warn_unsupported"] {
                let b = c.get(k).and_then(Value::as_bool).unwrap_or(true);
                parts.push(format!("{k}={}", if b { "True" } else { "False" }));
            }
            parts.push(format!("to={}", py_scalar(c.get("to"))));
            parts.push(format!("to_columns={}", py_list(c.get("to_columns"))));
            if model_level {
                parts.push(format!("columns={}", py_list(c.get("columns"))));
            }
            format!("{class}({})", parts.join(", "))
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn py_scalar(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "None".into(),
        Some(Value::String(s)) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Some(other) => other.to_string(),
    }
}

fn py_list(v: Option<&Value>) -> String {
    let items: Vec<String> = v
        .map(str_list)
        .unwrap_or_default()
        .iter()
        .map(|s| py_scalar(Some(&Value::from(s.as_str()))))
        .collect();
    format!("[{}]", items.join(", "))
}

// ---------------------------------------------------------------------------------------------
// Sources, exposures, macros, docs.
// ---------------------------------------------------------------------------------------------

/// `{warn_after: {count, period}, error_after: {count, period}, filter}`, every part present.
fn freshness_json(v: Option<&Value>) -> Value {
    let v = match v {
        Some(Value::Object(o)) => Some(o),
        Some(Value::Null) => return Value::Null,
        _ => None,
    };
    let time = |k: &str| {
        let t = v.and_then(|o| o.get(k)).and_then(Value::as_object);
        json!({
            "count": t.and_then(|t| t.get("count")).cloned().unwrap_or(Value::Null),
            "period": t.and_then(|t| t.get("period")).cloned().unwrap_or(Value::Null),
        })
    };
    json!({
        "warn_after": time("warn_after"),
        "error_after": time("error_after"),
        "filter": v.and_then(|o| o.get("filter")).cloned().unwrap_or(Value::Null),
    })
}

fn source_json(s: &SourceNode) -> Value {
    let freshness = freshness_json(s.freshness.as_ref());
    let mut config = Map::new();
    config.insert("enabled".into(), Value::Bool(config::is_enabled(&s.config)));
    config.insert(
        "event_time".into(),
        s.config.get("event_time").cloned().unwrap_or(Value::Null),
    );
    config.insert("freshness".into(), freshness.clone());
    config.insert(
        "loaded_at_field".into(),
        opt_str(s.loaded_at_field.as_deref()),
    );
    config.insert(
        "loaded_at_query".into(),
        opt_str(s.loaded_at_query.as_deref()),
    );
    config.insert("meta".into(), Value::Object(s.meta.clone()));
    config.insert("tags".into(), Value::from(s.tags.clone()));
    config.insert("static_analysis".into(), Value::Null);
    for (k, v) in &s.config {
        if !config.contains_key(k) {
            config.insert(k.clone(), v.clone());
        }
    }
    let mut unrendered = s.unrendered_config.clone();
    if let Some(f @ Value::Object(_)) = unrendered.get("freshness") {
        let full = freshness_json(Some(f));
        unrendered.insert("freshness".into(), full);
    }
    let quoting = |k: &str| s.quoting.get(k).and_then(Value::as_bool);
    json!({
        "database": s.database,
        "schema": s.schema,
        "name": s.name,
        "resource_type": "source",
        "package_name": s.package_name,
        "path": s.path,
        "original_file_path": s.original_file_path,
        "unique_id": s.unique_id,
        "fqn": s.fqn,
        "source_name": s.source_name,
        "source_description": s.source_description,
        "loader": s.loader,
        "identifier": s.identifier,
        "quoting": {
            "database": quoting("database"),
            "schema": quoting("schema"),
            "identifier": quoting("identifier"),
            "column": quoting("column"),
        },
        "loaded_at_field": s.loaded_at_field,
        "loaded_at_query": s.loaded_at_query,
        "freshness": freshness,
        // kiln records dbt-duckdb's `external_location` here; dbt's `external` is an object.
        "external": s.external.as_ref().filter(|e| e.is_object()),
        "description": s.description,
        "columns": columns_json(&s.columns),
        "meta": s.meta,
        "source_meta": s.source_meta,
        "tags": s.tags,
        "config": config,
        "patch_path": null,
        "unrendered_config": unrendered,
        "relation_name": s.relation_name,
        "created_at": CREATED_AT,
        "unrendered_database": s.unrendered_database,
        "unrendered_schema": s.unrendered_schema,
        "doc_blocks": s.doc_blocks,
    })
}

fn exposure_json(e: &ExposureNode) -> Value {
    let mut owner = Map::new();
    owner.insert(
        "email".into(),
        e.owner.get("email").cloned().unwrap_or(Value::Null),
    );
    owner.insert(
        "name".into(),
        e.owner.get("name").cloned().unwrap_or(Value::Null),
    );
    for (k, v) in &e.owner {
        if !owner.contains_key(k) {
            owner.insert(k.clone(), v.clone());
        }
    }
    let mut config = Map::new();
    config.insert("enabled".into(), Value::Bool(config::is_enabled(&e.config)));
    let mut tags = config::tags_of(&e.config);
    for t in &e.tags {
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    config.insert("tags".into(), Value::from(tags.clone()));
    let mut meta = e
        .config
        .get("meta")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in &e.meta {
        meta.insert(k.clone(), v.clone());
    }
    config.insert("meta".into(), Value::Object(meta.clone()));
    for (k, v) in &e.config {
        if !config.contains_key(k) {
            config.insert(k.clone(), v.clone());
        }
    }
    json!({
        "name": e.name,
        "resource_type": "exposure",
        "package_name": e.package_name,
        "path": e.path,
        "original_file_path": e.original_file_path,
        "unique_id": e.unique_id,
        "fqn": e.fqn,
        "type": e.kind,
        "owner": owner,
        "description": e.description,
        "label": e.label,
        "maturity": e.maturity,
        // Catalogs read the top-level fields: they hold what `config:` set too, as in dbt.
        "meta": meta,
        "tags": tags,
        "config": config,
        "unrendered_config": e.unrendered_config,
        "url": e.url,
        "depends_on": { "macros": [], "nodes": e.depends_on_nodes },
        "refs": e.refs.iter().map(ref_json).collect::<Vec<_>>(),
        "sources": sources_list(&e.sources),
        "metrics": [],
        "created_at": CREATED_AT,
    })
}

/// The project's macros and kiln's built-ins (package `dbt`), sorted by unique_id, each with
/// the macros it calls.
fn macro_entries<'a>(
    project: &'a Project,
    builtin: &'a [MacroNode],
) -> Box<dyn Iterator<Item = (String, Value)> + 'a> {
    // Name → unique_id, the project's own macros shadowing the built-ins as in Jinja.
    let mut by_name: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut unqualified: BTreeMap<String, String> = BTreeMap::new();
    let mut all: BTreeMap<&str, &MacroNode> = BTreeMap::new();
    for m in builtin.iter().chain(project.macros.values()) {
        by_name.insert(
            (m.package_name.clone(), m.name.clone()),
            m.unique_id.clone(),
        );
        unqualified.insert(m.name.clone(), m.unique_id.clone());
        all.insert(m.unique_id.as_str(), m);
    }
    let lookup = MacroLookup {
        by_name,
        unqualified,
        project: project.name.clone(),
        prefixes: crate::adapter::for_project(project).dispatch_prefixes(),
    };
    Box::new(all.into_iter().map(move |(id, m)| {
        let deps = macro_calls(m, &lookup);
        (id.to_string(), macro_json(m, &deps))
    }))
}

/// How a macro's calls resolve to unique_ids.
struct MacroLookup {
    /// (package, name) → unique_id.
    by_name: BTreeMap<(String, String), String>,
    /// name → unique_id, the project's macros shadowing kiln's built-ins.
    unqualified: BTreeMap<String, String>,
    project: String,
    /// The target adapter's dispatch prefixes (`duckdb`, `default`).
    prefixes: &'static [&'static str],
}

impl MacroLookup {
    /// The implementation `adapter.dispatch(name, namespace)` picks for the target's adapter:
    /// `<adapter>__name`, then `default__name`, in the namespace (or the project, then dbt).
    fn dispatched(&self, name: &str, namespace: Option<&str>) -> Option<&String> {
        let packages: Vec<&str> = match namespace {
            Some(ns) => vec![ns],
            None => vec![self.project.as_str(), "dbt"],
        };
        packages.iter().find_map(|pkg| {
            self.prefixes.iter().find_map(|prefix| {
                self.by_name
                    .get(&(pkg.to_string(), format!("{prefix}__{name}")))
            })
        })
    }
}

static JINJA_SEGMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)\{\{.*?\}\}|\{%.*?%\}").expect("static regex"));
/// A quoted string inside Jinja, whose text is not code.
static JINJA_STRING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*""#).expect("static regex"));
/// A call: optional `|` (a filter, not a macro), optional `namespace.`, the name, `(`.
static CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\|\s*)?(?:\b([A-Za-z_][A-Za-z0-9_]*)\.)?\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
        .expect("static regex")
});

/// `adapter.dispatch('name')`, `adapter.dispatch('name', 'namespace')` or with keywords.
static DISPATCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"\badapter\s*\.\s*dispatch\s*\(\s*(?:macro_name\s*=\s*)?['"]([A-Za-z_][A-Za-z0-9_]*)['"](?:\s*,\s*(?:macro_namespace\s*=\s*)?['"]([A-Za-z_][A-Za-z0-9_]*)['"])?"#,
    )
    .expect("static regex")
});

/// The macros `m` calls in its Jinja (`{{ }}` and `{% %}`), in order of first call: dbt's
/// `depends_on.macros` for a macro. `package.name(...)` calls resolve in that package, bare
/// names to the project's macro of that name, else kiln's built-in.
fn macro_calls(m: &MacroNode, lookup: &MacroLookup) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    let mut add = |id: Option<&String>| {
        if let Some(id) = id
            && *id != m.unique_id
            && !out.contains(id)
        {
            out.push(id.clone());
        }
    };
    for seg in JINJA_SEGMENT.find_iter(&m.macro_sql) {
        // The `adapter.dispatch(...)` calls of the segment, in order, with their arguments
        // (which the code below no longer sees: its strings are blanked).
        let mut dispatches = DISPATCH.captures_iter(seg.as_str());
        let code = JINJA_STRING.replace_all(seg.as_str(), "''");
        for c in CALL.captures_iter(&code) {
            let (None, Some(name)) = (c.get(1), c.get(3).map(|x| x.as_str())) else {
                continue;
            };
            let namespace = c.get(2).map(|x| x.as_str());
            if (namespace, name) == (Some("adapter"), "dispatch") {
                // dbt counts the dispatched name and the implementation the adapter picks.
                let Some(d) = dispatches.next() else { continue };
                let Some(target) = d.get(1).map(|x| x.as_str()) else {
                    continue;
                };
                let ns = d.get(2).map(|x| x.as_str());
                add(lookup.unqualified.get(target));
                add(lookup.dispatched(target, ns));
                continue;
            }
            add(match namespace {
                Some(pkg) => lookup.by_name.get(&(pkg.to_string(), name.to_string())),
                None => lookup.unqualified.get(name),
            });
        }
    }
    out
}

fn macro_json(m: &MacroNode, deps: &[String]) -> Value {
    let arguments: Vec<Value> = m
        .arguments
        .iter()
        .map(|a| match a {
            Value::Object(o) => json!({
                "name": o.get("name").cloned().unwrap_or_else(|| Value::from("")),
                "type": o.get("type").cloned().unwrap_or(Value::Null),
                "description": o.get("description").cloned().unwrap_or_else(|| Value::from("")),
            }),
            Value::String(name) => json!({ "name": name, "type": null, "description": "" }),
            other => json!({ "name": other.to_string(), "type": null, "description": "" }),
        })
        .collect();
    let mut docs = default_docs();
    if let (Some(Value::Object(given)), Some(d)) = (&m.docs, docs.as_object_mut()) {
        for (k, v) in given {
            d.insert(k.clone(), v.clone());
        }
    }
    json!({
        "name": m.name,
        "resource_type": "macro",
        "package_name": m.package_name,
        "path": m.path,
        "original_file_path": m.original_file_path,
        "unique_id": m.unique_id,
        "macro_sql": m.macro_sql,
        "depends_on": { "macros": deps },
        "description": m.description,
        "meta": m.meta,
        "docs": docs,
        // dbt 1.11 also keeps them as the macro's config.
        "config": { "meta": m.meta, "docs": docs },
        "patch_path": m.patch_path,
        "arguments": arguments,
        "created_at": CREATED_AT,
        "supported_languages": null,
    })
}

/// The docs site's default front page, `doc.dbt.__overview__`: dbt ships one in its own package
/// and every manifest lists it (a project's own `__overview__` block takes precedence on the
/// site). The text is kiln's.
const DEFAULT_OVERVIEW: &str = "### Welcome!

This is the documentation of this dbt project, generated from its manifest and catalog.

### Finding your way

The **Project** tab lists models, seeds, snapshots, tests and sources in the folders of the
project. The **Database** tab lists the same relations by database and schema, as the warehouse
holds them; ephemeral models are not there, as they are never built.

### Lineage

The graph button opens the lineage of the page you are on: what it is built from and what is
built from it. `--select` and `--exclude` narrow the graph with the same selection syntax as the
command line.

### Writing this page

Write a `{% docs __overview__ %}` block in a `.md` file of the project to replace this page.";

fn docs_json(docs: &BTreeMap<String, DocBlock>) -> Value {
    let entry = |d: &DocBlock| {
        json!({
            "name": d.name,
            "resource_type": "doc",
            "package_name": d.package_name,
            "path": d.path,
            "original_file_path": d.original_file_path,
            "unique_id": d.unique_id,
            "block_contents": d.block_contents,
        })
    };
    let mut out: Map<String, Value> = docs.iter().map(|(id, d)| (id.clone(), entry(d))).collect();
    let overview = DocBlock {
        unique_id: "doc.dbt.__overview__".into(),
        name: "__overview__".into(),
        package_name: "dbt".into(),
        path: "overview.md".into(),
        original_file_path: "docs/overview.md".into(),
        block_contents: DEFAULT_OVERVIEW.into(),
    };
    out.entry(overview.unique_id.clone())
        .or_insert_with(|| entry(&overview));
    Value::Object(out)
}

/// Disabled nodes and sources: unique_id → the list of disabled definitions (dbt allows several
/// per id, one per file; kiln keeps one).
fn disabled_json(project: &Project, facts: &Facts<'_>) -> Value {
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for (id, n) in &project.disabled {
        out.insert(id.clone(), json!([node_json(n, facts)]));
    }
    for (id, s) in &project.disabled_sources {
        out.insert(id.clone(), json!([source_json(s)]));
    }
    Value::Object(out.into_iter().collect())
}

/// parent_map and child_map over every node, source and exposure; lists sorted.
/// `parent_map` or `child_map`: every node, source and exposure id → the ids on the other end of
/// its edges (only those that are themselves in the manifest).
struct EdgeMap<'a> {
    ids: std::sync::Arc<BTreeSet<&'a str>>,
    edges: &'a BTreeMap<String, BTreeSet<String>>,
}

impl Serialize for EdgeMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct List<'b>(&'b BTreeSet<&'b str>, Option<&'b BTreeSet<String>>);
        impl Serialize for List<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(
                    self.1
                        .into_iter()
                        .flatten()
                        .filter(|other| self.0.contains(other.as_str())),
                )
            }
        }
        let mut map = s.serialize_map(Some(self.ids.len()))?;
        for id in self.ids.iter() {
            map.serialize_entry(id, &List(&self.ids, self.edges.get(*id)))?;
        }
        map.end()
    }
}

// ---------------------------------------------------------------------------------------------
// selectors.yml, normalised as dbt stores it.
// ---------------------------------------------------------------------------------------------

/// `selectors.yml` as dbt keeps it in the manifest: selector name → the selector as written, its
/// `definition` normalised (string specs such as `tag:nightly+` become `{method, value,
/// children}` mappings, one-key mappings become `{method, value}`, a `method: selector`
/// reference is replaced by the definition it names).
fn selectors_json(project: &Project) -> Value {
    let Some((_, _, raw)) = &project.selectors else {
        return json!({});
    };
    let list = raw
        .get("selectors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Map::new();
    for sel in list {
        let Value::Object(mut sel) = sel else {
            continue;
        };
        let Some(name) = sel.get("name").and_then(Value::as_str).map(String::from) else {
            continue;
        };
        let definition = sel.get("definition").cloned().unwrap_or(Value::Null);
        let normalised = selector_definition(&definition, &out);
        sel.insert("definition".into(), normalised);
        out.insert(name, Value::Object(sel));
    }
    Value::Object(out)
}

fn selector_definition(def: &Value, earlier: &Map<String, Value>) -> Value {
    match def {
        Value::String(s) => selector_spec(s),
        Value::Object(o) if o.contains_key("union") || o.contains_key("intersection") => {
            let key = if o.contains_key("union") {
                "union"
            } else {
                "intersection"
            };
            let items = o
                .get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|item| match item {
                    Value::String(s) => selector_spec(s),
                    Value::Object(_) => selector_definition(item, earlier),
                    other => other.clone(),
                })
                .collect::<Vec<_>>();
            json!({ key: items })
        }
        Value::Object(o) => {
            let Some((key, value)) = o.iter().next() else {
                return def.clone();
            };
            let value = match value {
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|i| selector_definition(i, earlier))
                        .collect(),
                ),
                other => other.clone(),
            };
            if key == "exclude" {
                return json!({ "exclude": value });
            }
            if o.len() == 1 {
                return json!({ "method": key, "value": value });
            }
            if key == "method"
                && value == "selector"
                && let Some(d) = o
                    .get("value")
                    .and_then(Value::as_str)
                    .and_then(|name| earlier.get(name))
                    .and_then(|s| s.get("definition"))
            {
                return d.clone();
            }
            def.clone()
        }
        other => other.clone(),
    }
}

static SELECTOR_SPEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<childrens_parents>@)?(?P<parents>(?P<parents_depth>\d*)\+)?(?:(?P<method>[\w.]+):)?(?P<value>.*?)(?P<children>\+(?P<children_depth>\d*))?$",
    )
    .expect("static regex")
});

/// One selector string as dbt's mapping: the parts present, in dbt's order.
fn selector_spec(raw: &str) -> Value {
    let Some(c) = SELECTOR_SPEC.captures(raw) else {
        return json!({ "error": "Invalid selector spec" });
    };
    let part = |k: &str| c.name(k).map(|m| m.as_str()).filter(|s| !s.is_empty());
    let value = part("value").unwrap_or_default();
    let method = part("method").map_or_else(
        || {
            if value.contains('/') || value.contains('\\') {
                "path"
            } else if [".sql", ".py", ".csv"]
                .iter()
                .any(|e| value.to_ascii_lowercase().ends_with(e))
            {
                "file"
            } else {
                "fqn"
            }
            .to_string()
        },
        ToString::to_string,
    );
    let mut m = Map::new();
    if part("childrens_parents").is_some() {
        m.insert("childrens_parents".into(), Value::Bool(true));
    }
    if part("parents").is_some() {
        m.insert("parents".into(), Value::Bool(true));
    }
    if let Some(d) = part("parents_depth") {
        m.insert("parents_depth".into(), Value::from(d));
    }
    m.insert("method".into(), Value::from(method));
    if !value.is_empty() {
        m.insert("value".into(), Value::from(value));
    }
    if part("children").is_some() {
        m.insert("children".into(), Value::Bool(true));
    }
    if let Some(d) = part("children_depth") {
        m.insert("children_depth".into(), Value::from(d));
    }
    Value::Object(m)
}

fn md5_hex(s: &str) -> String {
    let mut h = Md5::new();
    h.update(s.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_strings_become_dbt_mappings() {
        assert_eq!(
            selector_spec("tag:nightly+"),
            json!({"method": "tag", "value": "nightly", "children": true})
        );
        assert_eq!(
            selector_spec("2+models/staging"),
            json!({"parents": true, "parents_depth": "2", "method": "path", "value": "models/staging"})
        );
        assert_eq!(
            selector_spec("@orders"),
            json!({"childrens_parents": true, "method": "fqn", "value": "orders"})
        );
        assert_eq!(
            selector_spec("config.materialized:table"),
            json!({"method": "config.materialized", "value": "table"})
        );
    }

    #[test]
    fn versions_are_numbers_when_numeric() {
        assert_eq!(version_json(Some("2")), json!(2));
        assert_eq!(version_json(Some("1.5")), json!(1.5));
        assert_eq!(version_json(Some("beta")), json!("beta"));
        assert_eq!(version_json(None), Value::Null);
    }

    #[test]
    fn hooks_take_dbt_shape() {
        assert_eq!(
            hooks_json(&json!(["grant select", {"sql": "vacuum", "transaction": false}])),
            json!([
                {"sql": "grant select", "transaction": true, "index": null},
                {"sql": "vacuum", "transaction": false, "index": null},
            ])
        );
    }

    #[test]
    fn generic_test_configs_as_dbt_writes_them_in_raw_code() {
        assert_eq!(
            py_config_value(&json!("x > 'a' and \"b\"")),
            r#""x > 'a' and \"b\"""#
        );
        assert_eq!(py_config_value(&json!(true)), "True");
        assert_eq!(py_config_value(&json!(10)), "10");
        assert_eq!(py_config_value(&json!(["a", "b"])), "['a', 'b']");
        assert_eq!(
            py_config_value(&json!({"owner": "it's", "n": [1, null]})),
            r"{'owner': 'it\'s', 'n': [1, None]}"
        );
    }

    #[test]
    fn python_repr_of_constraints() {
        assert_eq!(
            py_constraints(&[json!({"type": "not_null"})], false),
            "[ColumnLevelConstraint(type=<ConstraintType.not_null: 'not_null'>, name=None, \
             expression=None, warn_unenforced=True, warn_unsupported=True, to=None, to_columns=[])]"
        );
        assert_eq!(py_constraints(&[], true), "[]");
    }
}

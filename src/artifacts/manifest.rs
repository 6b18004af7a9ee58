//! manifest.json in dbt's v12 shape (`https://schemas.getdbt.com/dbt/manifest/v12.json`).
//!
//! The wire format is dbt's: seventeen top-level keys (`metadata`, `nodes`, `sources`, `macros`,
//! `docs`, `exposures`, `metrics`, `groups`, `selectors`, `disabled`, `parent_map`, `child_map`,
//! `group_map`, `saved_queries`, `semantic_models`, `unit_tests`, `functions`), resources keyed
//! by unique_id, each resource the dict [`crate::schemas`] makes of it (the same dict Jinja's
//! `model` and `graph` show). `tests/manifest_dbt.rs` holds the demo's manifest to dbt-core's,
//! field by field. Decisions:
//!
//! - **Deterministic bytes.** Maps keyed by unique_id are sorted, lists keep the project's order,
//!   and `created_at` is a constant, so identical projects give identical files apart from
//!   `generated_at`, `invocation_id`, `invocation_started_at` and `run_started_at`.
//! - **Streamed.** [`write_manifest_file`] serialises one resource at a time (the same bytes as
//!   [`manifest_json`]), the nodes on every core, so a 10,000-model project never holds the whole
//!   tree in memory.
//! - `metadata.env` holds the `DBT_ENV_CUSTOM_ENV_*` environment variables, prefix removed, as
//!   dbt documents, and `kiln_target`: the target that wrote the file (the schema allows no other
//!   key in `metadata`), so that a later `--state` can tell whose artifacts it reads.
//! - `selectors` is selectors.yml as dbt stores it, normalised by the selector parser
//!   ([`crate::graph::select::selectors::manifest_selectors`]).
//! - Resource types kiln does not model yet (metrics, groups, semantic models, saved queries, unit
//!   tests, functions) are written as empty maps.

use crate::error::Error;
use crate::graph::Graph;
use crate::project::semantic::SemanticKind;
use crate::project::{Compiled, MacroNode, Node, Project};
use crate::schemas::{self, NodeDict, ProjectFacts};
use md5::{Digest, Md5};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

/// The schema the manifest follows, as `metadata.dbt_schema_version`.
pub const DBT_SCHEMA_VERSION: &str = "https://schemas.getdbt.com/dbt/manifest/v12.json";

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
    /// The SQL this invocation compiled, by unique_id: those nodes get their `compiled_code`.
    pub compiled: BTreeMap<String, Compiled>,
}

/// The whole manifest as one value. For writing the file, [`write_manifest_file`] gives the same
/// bytes without holding the whole tree in memory.
pub fn manifest_json(
    project: &Project,
    graph: &Graph,
    builtin_macros: &[MacroNode],
    meta: &ManifestMeta,
) -> Value {
    let facts = ProjectFacts::of(project)
        .with_built(&meta.built)
        .with_compiled(&meta.compiled)
        .with_depends_on(&graph.depends_on);
    let mut m = Map::new();
    for (key, section) in sections(project, graph, builtin_macros, meta, &facts) {
        let value = match section {
            Section::Whole(v) => v,
            Section::Edges(e) => serde_json::to_value(&e).unwrap_or_default(),
            Section::Entries(entries) => Value::Object(entries.collect()),
            Section::Nodes(nodes, facts) => {
                let mut all: Map<String, Value> = nodes
                    .into_iter()
                    .map(|(id, n)| (id.clone(), schemas::node_json(n, facts)))
                    .collect();
                all.extend(facts.project().map(schemas::hook_nodes).unwrap_or_default());
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
    let facts = ProjectFacts::of(project)
        .with_built(&meta.built)
        .with_compiled(&meta.compiled)
        .with_depends_on(&graph.depends_on);
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
                            serde_json::to_writer(&mut buf, &NodeDict::new(n, facts))?;
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
                let hooks = facts.project().map(schemas::hook_nodes).unwrap_or_default();
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
    stage_manifest_file(path, project, graph, builtin_macros, meta)?.commit()
}

/// A manifest written to its temporary file, not yet renamed over `manifest.json`
/// ([`stage_manifest_file`]): [`StagedManifest::commit`] puts it in place; dropped without a
/// commit, the temporary file is removed and the previous manifest.json stays as it was.
#[derive(Debug)]
pub struct StagedManifest {
    tmp: std::path::PathBuf,
    path: std::path::PathBuf,
    committed: bool,
}

impl StagedManifest {
    /// Renames the temporary file over `manifest.json`.
    pub fn commit(mut self) -> Result<(), Error> {
        self.committed = true;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| {
            let _ = std::fs::remove_file(&self.tmp);
            Error::io(&self.path, e)
        })
    }
}

impl Drop for StagedManifest {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// [`write_manifest_file`]'s first half: the manifest serialised into `manifest.json.tmp` beside
/// `path`, so that it can be written while something else that may still fail the command runs
/// (the column lineage), and put in place only if that succeeds.
pub fn stage_manifest_file(
    path: &Path,
    project: &Project,
    graph: &Graph,
    builtin_macros: &[MacroNode],
    meta: &ManifestMeta,
) -> Result<StagedManifest, Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension("json.tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let staged = StagedManifest {
        tmp,
        path: path.to_path_buf(),
        committed: false,
    };
    let file = crate::events::secrets::Redacting::new(file);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    write_manifest(&mut out, project, graph, builtin_macros, meta)
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(&staged.tmp, e))?;
    drop(out);
    Ok(staged)
}

/// One top-level key's value: built whole, or (for the large maps) produced entry by entry.
enum Section<'a> {
    Whole(Value),
    /// `parent_map` or `child_map`, serialised straight from the graph.
    Edges(EdgeMap<'a>),
    Entries(Box<dyn Iterator<Item = (String, Value)> + 'a>),
    /// The nodes: by far the largest section, so it is rendered on every core, in id order.
    Nodes(Vec<(&'a String, &'a Node)>, &'a ProjectFacts<'a>),
}

/// The seventeen top-level keys, in dbt's order.
fn sections<'a>(
    project: &'a Project,
    graph: &'a Graph,
    builtin_macros: &'a [MacroNode],
    meta: &ManifestMeta,
    facts: &'a ProjectFacts<'a>,
) -> Vec<(&'static str, Section<'a>)> {
    let ids: BTreeSet<&str> = project
        .nodes
        .keys()
        .chain(project.sources.keys())
        .chain(project.exposures.keys())
        .chain(
            project
                .unit_tests
                .keys()
                .filter(|id| graph.parents.contains_key(*id)),
        )
        .chain(project.semantic.keys())
        .map(String::as_str)
        .collect();
    let ids = std::sync::Arc::new(ids);
    vec![
        ("metadata", Section::Whole(metadata_json(project, meta))),
        (
            "nodes",
            Section::Nodes(
                project.nodes.iter().map(|(k, n)| (k, n.as_ref())).collect(),
                facts,
            ),
        ),
        (
            "sources",
            Section::Entries(Box::new(
                project
                    .sources
                    .iter()
                    .map(move |(id, s)| (id.clone(), schemas::source_json(s))),
            )),
        ),
        (
            "macros",
            Section::Entries(macro_entries(project, builtin_macros)),
        ),
        ("docs", Section::Whole(schemas::docs_json(&project.docs))),
        (
            "exposures",
            Section::Entries(Box::new(project.exposures.iter().map(|(id, e)| {
                (id.clone(), schemas::exposure_json(e, graph.depends_on(id)))
            }))),
        ),
        (
            "metrics",
            semantic_section(project, graph, SemanticKind::Metric),
        ),
        ("groups", Section::Whole(json!({}))),
        (
            "selectors",
            Section::Whole(crate::graph::select::selectors::manifest_selectors(
                project.selectors.as_ref(),
            )),
        ),
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
        (
            "saved_queries",
            semantic_section(project, graph, SemanticKind::SavedQuery),
        ),
        (
            "semantic_models",
            semantic_section(project, graph, SemanticKind::SemanticModel),
        ),
        (
            "unit_tests",
            Section::Entries(Box::new(
                project
                    .unit_tests
                    .iter()
                    .filter(|(id, _)| graph.parents.contains_key(*id))
                    .map(|(id, t)| {
                        (
                            id.clone(),
                            schemas::unit_test_json(t, &project.target.schema),
                        )
                    }),
            )),
        ),
        // dbt 1.11's user-defined functions; kiln has none yet.
        ("functions", Section::Whole(json!({}))),
    ]
}

/// The `semantic_models`, `metrics` or `saved_queries` section.
fn semantic_section<'a>(
    project: &'a Project,
    graph: &'a crate::graph::Graph,
    kind: SemanticKind,
) -> Section<'a> {
    Section::Entries(Box::new(semantic_dicts(project, graph, kind)))
}

/// The dicts of the semantic layer's resources of one kind, by unique_id.
pub(crate) fn semantic_dicts<'a>(
    project: &'a Project,
    graph: &'a crate::graph::Graph,
    kind: SemanticKind,
) -> impl Iterator<Item = (String, Value)> + 'a {
    project
        .semantic
        .iter()
        .filter(move |(_, n)| n.kind == kind)
        .map(move |(id, n)| {
            let deps = graph.depends_on(id);
            let model = n
                .model
                .as_ref()
                .and_then(|_| deps.first())
                .and_then(|m| project.nodes.get(m))
                .map(|m| m.as_ref());
            let facts = schemas::SemanticFacts {
                depends_on: deps,
                model,
                input_measures: input_measures(project, n),
                database: &project.target.database,
                schema: &project.target.schema,
            };
            (id.clone(), schemas::semantic_json(n, &facts))
        })
}

/// A metric's measure inputs, as written, those of the metrics it reads included, in order.
fn input_measures(project: &Project, n: &crate::project::semantic::SemanticNode) -> Vec<Value> {
    fn walk(
        project: &Project,
        n: &crate::project::semantic::SemanticNode,
        out: &mut Vec<Value>,
        depth: usize,
    ) {
        out.extend(crate::project::semantic::measure_inputs(&n.spec));
        if depth > 20 {
            return;
        }
        for m in &n.metrics {
            let id = format!("metric.{}.{}", n.package_name, m.name);
            if let Some(inner) = project.semantic.get(&id) {
                walk(project, inner, out, depth + 1);
            }
        }
    }
    let mut out = vec![];
    if n.kind == SemanticKind::Metric {
        walk(project, n, &mut out, 0);
    }
    out
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
        schemas::TARGET_ENV_KEY.into(),
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

/// The project's macros and kiln's built-ins (package `dbt`), sorted by unique_id, each with
/// the macros it calls (recorded when it was parsed).
fn macro_entries<'a>(
    project: &'a Project,
    builtin: &'a [MacroNode],
) -> Box<dyn Iterator<Item = (String, Value)> + 'a> {
    let all: BTreeMap<&str, &MacroNode> = builtin
        .iter()
        .chain(project.macros.values())
        .map(|m| (m.unique_id.as_str(), m))
        .collect();
    Box::new(
        all.into_iter()
            .map(|(id, m)| (id.to_string(), schemas::macro_json(m))),
    )
}

/// Disabled nodes and sources: unique_id → the list of disabled definitions (dbt allows several
/// per id, one per file; kiln keeps one).
fn disabled_json(project: &Project, facts: &ProjectFacts<'_>) -> Value {
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for (id, n) in &project.disabled {
        out.insert(id.clone(), json!([schemas::node_json(n, facts)]));
    }
    for (id, s) in &project.disabled_sources {
        out.insert(id.clone(), json!([schemas::source_json(s)]));
    }
    // A disabled semantic resource is not in the graph: no edges (dbt writes none either).
    for (id, n) in &project.disabled_semantic {
        let facts = schemas::SemanticFacts {
            depends_on: &[],
            model: None,
            input_measures: crate::project::semantic::measure_inputs(&n.spec),
            database: &project.target.database,
            schema: &project.target.schema,
        };
        out.insert(id.clone(), json!([schemas::semantic_json(n, &facts)]));
    }
    Value::Object(out.into_iter().collect())
}

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

fn md5_hex(s: &str) -> String {
    let mut h = Md5::new();
    h.update(s.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

//! What the site shows: a slim graph for the first view, a search index, and each node's
//! details, split into shards loaded on demand; each serialized here to the JSON its file
//! holds.
//!
//! Built straight from what is in memory: the loaded project's nodes, sources and exposures and
//! the graph's edges, the SQL and column lineage this invocation compiled (or, with
//! `--no-compile`, what the last compile left in `target/`, [`super::load`]), and the typed
//! artifacts beside them ([`super::artifacts`]). Every value is the one manifest.json and the
//! other artifacts hold under the same key, so the site shows exactly what a catalog reading
//! the same files would (`tests/docs_site.rs` builds the site from those files and compares).
//! Nothing goes through a JSON tree of the project: the pages borrow the nodes' strings and are
//! serialized from typed structs, shard by shard on every core.

use super::artifacts::{Artifacts, CatalogEntry, ResultRow};
use crate::error::Error;
use crate::graph::Graph;
use crate::project::{ColumnInfo, Compiled, Node, Project, ResourceType};
use crate::schemas::lineage::{LineageInput, NodeLineage, Transformation};
use crate::schemas::pii::{NodePii, PathStep, PiiStatus};
use rayon::prelude::*;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// Nodes per detail shard (one JS file each).
pub const SHARD_SIZE: usize = 64;

/// The site's data, serialized: the slim graph, the search index and the detail shards, each
/// the JSON its file calls `kilnDocs.*` with.
pub struct SiteData {
    pub graph: String,
    pub search: String,
    /// How many detail shards were handed to the [`ShardSink`].
    pub shards: usize,
    /// Nodes the site shows.
    pub nodes: usize,
}

/// Where each detail shard's script goes as soon as it is made, from any thread (the shards
/// are most of the site's bytes: each is written and dropped rather than all held at once).
pub trait ShardSink: Sync {
    fn shard(&self, i: usize, script: &[u8]) -> Result<(), Error>;
}

/// What the site is built from.
pub struct Inputs<'a> {
    pub project: &'a Project,
    pub graph: &'a Graph,
    /// The SQL of the nodes compiled (by this invocation, or the last compile's files).
    pub compiled: &'a BTreeMap<String, Compiled>,
    /// The column lineage (lineage.json's nodes), when known.
    pub lineage: Option<&'a BTreeMap<String, NodeLineage>>,
    /// The PII classification (pii.json's nodes), when known.
    pub pii: Option<&'a BTreeMap<String, NodePii>>,
    /// run_results.json, catalog.json and sources.json.
    pub artifacts: &'a Artifacts,
    /// When the site was made (graph.js's `generated_at`).
    pub generated_at: &'a str,
}

/// The kinds of node the graph shows, in the order their codes are numbered.
const KINDS: &[&str] = &[
    "model", "seed", "snapshot", "source", "exposure", "analysis",
];

/// What the site reads of one node, source or exposure.
struct Page<'a> {
    id: &'a str,
    resource_type: &'a str,
    kind: usize,
    /// The graph's name (a source's `source_name.name`).
    name: Cow<'a, str>,
    package: &'a str,
    file: &'a str,
    parents: &'a [String],
    tags: Cow<'a, [String]>,
    description: &'a str,
    columns: Option<&'a indexmap::IndexMap<String, ColumnInfo>>,
    /// The dict's `meta`, or its `config.meta` when that is empty.
    meta: Value,
    source_meta: Option<&'a Map<String, Value>>,
    /// An exposure's `owner`.
    owner: Option<&'a Value>,
    relation: Option<&'a str>,
    materialized: Option<Value>,
    access: Option<Value>,
    raw_code: Option<&'a str>,
    compiled_code: Option<&'a str>,
    /// A model's `config.loaded_at_field`, a source's `loaded_at_field`.
    loaded_at_field: Value,
    /// A source's `freshness`.
    criteria: Value,
    exposure: Option<Value>,
    source: Option<Value>,
}

fn kind_of(resource_type: &str) -> Option<usize> {
    KINDS.iter().position(|k| *k == resource_type)
}

fn page_of_node<'a>(n: &'a Node, inputs: &Inputs<'a>) -> Option<Page<'a>> {
    let resource_type = n.resource_type.as_str();
    let kind = kind_of(resource_type)?;
    let seed = n.resource_type == ResourceType::Seed;
    let own_meta = n.meta();
    let meta = if own_meta.is_empty() {
        crate::schemas::site_config(n, "meta").unwrap_or_else(|| json!({}))
    } else {
        Value::Object(own_meta)
    };
    Some(Page {
        id: &n.unique_id,
        resource_type,
        kind,
        name: Cow::Borrowed(&n.name),
        package: &n.package_name,
        file: &n.original_file_path,
        parents: if seed {
            &[]
        } else {
            inputs.graph.depends_on(&n.unique_id)
        },
        tags: Cow::Owned(n.tags()),
        description: &n.description,
        columns: Some(&n.columns),
        meta,
        source_meta: None,
        owner: None,
        relation: n.relation_name.as_deref(),
        materialized: crate::schemas::site_config(n, "materialized"),
        access: (n.resource_type == ResourceType::Model).then(|| {
            crate::schemas::site_config(n, "access").unwrap_or_else(|| Value::from("protected"))
        }),
        raw_code: Some(crate::schemas::page_raw_code(n)),
        compiled_code: if seed {
            None
        } else {
            inputs.compiled.get(&n.unique_id).map(|c| c.code.as_str())
        },
        loaded_at_field: crate::schemas::site_config(n, "loaded_at_field").unwrap_or(Value::Null),
        criteria: Value::Null,
        exposure: None,
        source: None,
    })
}

fn page_of_source<'a>(s: &'a crate::project::SourceNode, dict: &'a Value) -> Page<'a> {
    Page {
        id: &s.unique_id,
        resource_type: "source",
        kind: 3,
        name: Cow::Owned(format!("{}.{}", s.source_name, s.name)),
        package: &s.package_name,
        file: &s.original_file_path,
        parents: &[],
        tags: Cow::Borrowed(&s.tags),
        description: &s.description,
        columns: Some(&s.columns),
        meta: Value::Object(s.meta.clone()),
        source_meta: Some(&s.source_meta),
        owner: None,
        relation: Some(&s.relation_name),
        materialized: dict.pointer("/config/materialized").cloned(),
        access: None,
        raw_code: None,
        compiled_code: None,
        loaded_at_field: dict.get("loaded_at_field").cloned().unwrap_or(Value::Null),
        criteria: dict.get("freshness").cloned().unwrap_or(Value::Null),
        exposure: None,
        source: Some(json!({
            "source_name": s.source_name,
            "source_description": s.source_description,
            "loader": s.loader,
        })),
    }
}

fn page_of_exposure<'a>(
    e: &'a crate::project::ExposureNode,
    dict: &'a Value,
    parents: &'a [String],
) -> Page<'a> {
    let tags: Vec<String> = dict
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    let meta = dict
        .get("meta")
        .filter(|m| m.as_object().is_some_and(|o| !o.is_empty()))
        .or_else(|| dict.pointer("/config/meta"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    let field = |k: &str| dict.get(k).cloned().unwrap_or(Value::Null);
    Page {
        id: &e.unique_id,
        resource_type: "exposure",
        kind: 4,
        name: Cow::Borrowed(&e.name),
        package: &e.package_name,
        file: &e.original_file_path,
        parents,
        tags: Cow::Owned(tags),
        description: &e.description,
        columns: None,
        meta,
        source_meta: None,
        owner: dict.get("owner").filter(|o| !o.is_null()),
        relation: None,
        materialized: dict.pointer("/config/materialized").cloned(),
        access: None,
        raw_code: None,
        compiled_code: None,
        loaded_at_field: Value::Null,
        criteria: Value::Null,
        exposure: Some(json!({
            "type": field("type"),
            "maturity": field("maturity"),
            "url": field("url"),
            "label": field("label"),
        })),
        source: None,
    }
}

fn folder_of(file: &str) -> &str {
    file.rfind('/').map_or("", |i| &file[..i])
}

/// A data test as a page lists it.
#[derive(Serialize)]
struct TestInfo<'a> {
    id: &'a str,
    name: String,
    column: Option<&'a str>,
    kwargs: Map<String, Value>,
    status: &'a Value,
    message: &'a Value,
}

/// A test in a column's list.
#[derive(Serialize)]
struct ColumnTest<'a> {
    name: &'a str,
    status: &'a Value,
    kwargs: &'a Map<String, Value>,
}

/// A column downstream that reads a column.
#[derive(Serialize)]
struct Output<'a> {
    node: &'a str,
    column: &'a str,
    transformations: &'a [Transformation],
}

/// One value of a column's entry.
enum Field<'a> {
    Str(&'a str),
    Val(&'a Value),
    Bool(bool),
    Strs(&'a [String]),
    Meta(&'a Map<String, Value>),
    Inputs(&'a [LineageInput]),
    Path(&'a [PathStep]),
    Tests(Vec<ColumnTest<'a>>),
    Outputs(&'a [Output<'a>]),
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Str(x) => s.serialize_str(x),
            Field::Val(v) => v.serialize(s),
            Field::Bool(b) => s.serialize_bool(*b),
            Field::Strs(x) => x.serialize(s),
            Field::Meta(m) => m.serialize(s),
            Field::Inputs(x) => x.serialize(s),
            Field::Path(x) => x.serialize(s),
            Field::Tests(x) => x.serialize(s),
            Field::Outputs(x) => x.serialize(s),
        }
    }
}

/// A column's entry: its fields in the order they were first set (a field set again keeps
/// its place, as a JSON object's key does).
struct Column<'a> {
    name: &'a str,
    fields: Vec<(&'static str, Field<'a>)>,
}

impl<'a> Column<'a> {
    fn set(&mut self, key: &'static str, value: Field<'a>) {
        match self.fields.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((key, value)),
        }
    }

    fn has(&self, key: &str) -> bool {
        self.fields.iter().any(|(k, _)| *k == key)
    }
}

impl Serialize for Column<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.fields.len() + 1))?;
        m.serialize_entry("name", self.name)?;
        for (k, v) in &self.fields {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The columns of a page, by lowercased name.
#[derive(Default)]
struct Columns<'a> {
    list: Vec<Column<'a>>,
    index: HashMap<String, usize>,
}

impl<'a> Columns<'a> {
    /// The column named `name` (any case), added when new.
    fn entry(&mut self, name: &'a str) -> &mut Column<'a> {
        let key = name.to_lowercase();
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.list.push(Column {
                    name,
                    fields: Vec::new(),
                });
                self.index.insert(key, self.list.len() - 1);
                self.list.len() - 1
            }
        };
        &mut self.list[i]
    }
}

/// A column is personal data when a tag says `pii` (or `pii:<kind>`) or its meta sets
/// `pii` (to a kind, a list of kinds or true), `contains_pii` or `sensitive` to a true value.
/// (pii.json, when present, says so for derived columns too.)
fn is_pii(tags: &[String], meta: &Map<String, Value>) -> bool {
    let tagged = tags.iter().any(|t| {
        let t = t.to_ascii_lowercase();
        t == "pii" || t.starts_with("pii:")
    });
    let meta_says = ["pii", "contains_pii", "sensitive"].iter().any(|k| {
        meta.get(*k).is_some_and(|v| match v {
            Value::Bool(b) => *b,
            Value::String(s) => !s.is_empty() && !s.eq_ignore_ascii_case("false"),
            Value::Array(a) => !a.is_empty() && *k == "pii",
            _ => false,
        })
    });
    tagged || meta_says
}

/// The last run of a node, as its page shows it.
#[derive(Serialize)]
struct LastRun<'a> {
    status: &'a Value,
    execution_time: &'a Value,
    completed_at: Value,
    message: &'a Value,
    rows: Value,
}

/// A freshness check's result.
#[derive(Serialize)]
struct FreshResult<'a> {
    status: &'a Value,
    max_loaded_at: &'a Value,
    snapshotted_at: &'a Value,
    age_s: &'a Value,
}

impl<'a> FreshResult<'a> {
    fn of(f: &'a ResultRow) -> Self {
        FreshResult {
            status: &f.status,
            max_loaded_at: &f.max_loaded_at,
            snapshotted_at: &f.snapshotted_at,
            age_s: &f.max_loaded_at_time_ago_in_s,
        }
    }
}

#[derive(Serialize)]
struct Freshness<'a> {
    loaded_at_field: &'a Value,
    criteria: &'a Value,
    result: Option<FreshResult<'a>>,
}

/// One node's page.
#[derive(Serialize)]
struct Detail<'a> {
    description: &'a str,
    path: &'a str,
    relation: Option<&'a str>,
    materialized: &'a Option<Value>,
    access: &'a Option<Value>,
    meta: &'a Value,
    owners: Vec<Value>,
    sla: Value,
    columns: Vec<Column<'a>>,
    tests: Vec<&'a TestInfo<'a>>,
    raw_code: Option<&'a str>,
    compiled_code: Option<&'a str>,
    last_run: Option<LastRun<'a>>,
    freshness: Option<Freshness<'a>>,
    lineage_complete: Option<bool>,
    lineage_reason: Option<String>,
    dataset: &'a [LineageInput],
    exposure: &'a Option<Value>,
    source: &'a Option<Value>,
    stats: &'a Value,
}

/// What the pages share: the lookups every page reads.
struct Shared<'a> {
    run: HashMap<&'a str, &'a ResultRow>,
    fresh: HashMap<&'a str, &'a ResultRow>,
    node_tests: HashMap<&'a str, Vec<TestInfo<'a>>>,
    downstream: HashMap<(&'a str, String), Vec<Output<'a>>>,
    lineage: Option<&'a BTreeMap<String, NodeLineage>>,
    pii: Option<&'a BTreeMap<String, NodePii>>,
    catalog: Option<&'a super::artifacts::Catalog>,
}

const NULL: Value = Value::Null;

/// Builds the site's data, each detail shard handed to `sink`.
pub fn build(inputs: &Inputs<'_>, sink: &dyn ShardSink) -> Result<SiteData, Error> {
    let project = inputs.project;
    // Sources' and exposures' dicts (few), for the fields only their dicts spell.
    let source_dicts: Vec<Value> = project
        .sources
        .values()
        .map(crate::schemas::source_json)
        .collect();
    let exposure_dicts: Vec<Value> = project
        .exposures
        .iter()
        .map(|(id, e)| crate::schemas::exposure_json(e, inputs.graph.depends_on(id)))
        .collect();
    build_pages(inputs, &source_dicts, &exposure_dicts, sink)
}

fn build_pages(
    inputs: &Inputs<'_>,
    source_dicts: &[Value],
    exposure_dicts: &[Value],
    sink: &dyn ShardSink,
) -> Result<SiteData, Error> {
    let project = inputs.project;
    // The graph's nodes, sorted by unique_id; tests are attached to their nodes instead.
    let mut pages: Vec<Page<'_>> = project
        .nodes
        .values()
        .filter_map(|n| page_of_node(n, inputs))
        .collect();
    pages.extend(
        project
            .sources
            .values()
            .zip(source_dicts)
            .map(|(s, d)| page_of_source(s, d)),
    );
    pages.extend(
        project
            .exposures
            .iter()
            .zip(exposure_dicts)
            .map(|((id, e), d)| page_of_exposure(e, d, inputs.graph.depends_on(id))),
    );
    pages.sort_by(|x, y| x.id.cmp(y.id));
    let index: HashMap<&str, usize> = pages.iter().enumerate().map(|(i, p)| (p.id, i)).collect();

    // Groups: folders and packages numbered, tags as lists of numbers.
    let mut folders = Interned::default();
    let mut packages = Interned::default();
    let mut tags = Interned::default();
    let mut parents: Vec<Vec<usize>> = Vec::with_capacity(pages.len());
    let mut folder_of_node = Vec::with_capacity(pages.len());
    let mut package_of_node = Vec::with_capacity(pages.len());
    let mut tags_of_node: Vec<Vec<u32>> = Vec::with_capacity(pages.len());
    for p in &pages {
        let mut ps: Vec<usize> = p
            .parents
            .iter()
            .filter_map(|id| index.get(id.as_str()).copied())
            .collect();
        ps.sort_unstable();
        ps.dedup();
        parents.push(ps);
        folder_of_node.push(folders.of(folder_of(p.file)));
        package_of_node.push(packages.of(p.package));
        tags_of_node.push(p.tags.iter().map(|t| tags.of(t)).collect());
    }
    let (layer, order) = super::layout::layers_and_order(&parents, &folder_of_node);

    let a = inputs.artifacts;
    let run = a
        .run_results
        .as_ref()
        .map(|r| r.by_id())
        .unwrap_or_default();
    let fresh = a.sources.as_ref().map(|r| r.by_id()).unwrap_or_default();
    let node_tests = tests_by_node(inputs, &run);
    let downstream = downstream_of(inputs.lineage);
    let shared = Shared {
        run,
        fresh,
        node_tests,
        downstream,
        lineage: inputs.lineage,
        pii: inputs.pii,
        catalog: a.catalog.as_ref(),
    };

    // The PII view: every node with a classified column, by graph index, with its columns
    // (name, kinds, status).
    let pii_view: Vec<(usize, Vec<(&str, &[String], PiiStatus)>)> = inputs
        .pii
        .into_iter()
        .flatten()
        .filter_map(|(id, node)| {
            let i = *index.get(id.as_str())?;
            let cols = node
                .columns
                .iter()
                .map(|(name, c)| (name.as_str(), c.kinds.as_slice(), c.status))
                .collect();
            Some((i, cols))
        })
        .collect();

    let status: Vec<&Value> = pages
        .iter()
        .map(|p| {
            shared
                .run
                .get(p.id)
                .or_else(|| shared.fresh.get(p.id))
                .map_or(&NULL, |r| &r.status)
        })
        .collect();
    let graph = GraphData {
        project: &project.name,
        generated_at: inputs.generated_at,
        kinds: KINDS,
        folders: &folders.list,
        packages: &packages.list,
        tags: &tags.list,
        shard_size: SHARD_SIZE,
        has_lineage: inputs.lineage.is_some(),
        has_catalog: a.catalog.is_some(),
        has_run_results: a.run_results.is_some(),
        has_pii: inputs.pii.is_some(),
        pii: pii_view,
        id: pages.iter().map(|p| p.id).collect(),
        name: pages.iter().map(|p| p.name.as_ref()).collect(),
        kind: pages.iter().map(|p| p.kind).collect(),
        folder: &folder_of_node,
        package: &package_of_node,
        tag: &tags_of_node,
        parents: &parents,
        layer: &layer,
        order: &order,
        status,
    };

    // Each shard of details, with its nodes' search text (description) and column names, on
    // every core.
    let parts: Vec<(Vec<String>, Vec<String>)> = pages
        .par_chunks(SHARD_SIZE)
        .enumerate()
        .map(|(i, chunk)| shard_of(i, chunk, &shared, sink))
        .collect::<Result<_, _>>()?;
    let shards = parts.len();
    let mut desc = Vec::with_capacity(pages.len());
    let mut cols = Vec::with_capacity(pages.len());
    for (d, c) in parts {
        desc.extend(d);
        cols.extend(c);
    }
    Ok(SiteData {
        graph: script("graph", None, &graph),
        search: script("search", None, &json!({"desc": desc, "cols": cols})),
        shards,
        nodes: pages.len(),
    })
}

thread_local! {
    /// Each thread's buffer for the shard it serializes: reused, so the site's bytes are not
    /// fresh memory shard after shard.
    static SHARD_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The start of a data script, `kilnDocs.<what>(` and `<n>,` when numbered.
fn script_start(what: &str, n: Option<usize>) -> String {
    match n {
        Some(n) => format!("kilnDocs.{what}({n},"),
        None => format!("kilnDocs.{what}("),
    }
}

/// The end of a data script.
const SCRIPT_END: &str = ");\n";

/// `kilnDocs.<what>([n, ]<json of v>);` (the site's types always serialize: their map keys
/// are strings).
fn script<T: Serialize>(what: &str, n: Option<usize>, v: &T) -> String {
    let json = serde_json::to_string(v).unwrap_or_else(|_| "null".to_string());
    let mut out = script_start(what, n);
    out.reserve(json.len() + SCRIPT_END.len());
    out.push_str(&json);
    out.push_str(SCRIPT_END);
    out
}

/// Names numbered in the order first seen.
#[derive(Default)]
struct Interned<'a> {
    list: Vec<&'a str>,
    ix: HashMap<&'a str, u32>,
}

impl<'a> Interned<'a> {
    fn of(&mut self, key: &'a str) -> u32 {
        if let Some(&i) = self.ix.get(key) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(key);
        self.ix.insert(key, i);
        i
    }
}

/// graph.js.
#[derive(Serialize)]
struct GraphData<'a> {
    project: &'a str,
    generated_at: &'a str,
    kinds: &'a [&'a str],
    folders: &'a [&'a str],
    packages: &'a [&'a str],
    tags: &'a [&'a str],
    shard_size: usize,
    has_lineage: bool,
    has_catalog: bool,
    has_run_results: bool,
    has_pii: bool,
    pii: Vec<(usize, Vec<(&'a str, &'a [String], PiiStatus)>)>,
    id: Vec<&'a str>,
    name: Vec<&'a str>,
    kind: Vec<usize>,
    folder: &'a [u32],
    package: &'a [u32],
    tag: &'a [Vec<u32>],
    parents: &'a [Vec<usize>],
    layer: &'a [u32],
    order: &'a [u32],
    status: Vec<&'a Value>,
}

/// Each node's data tests (by the node they are attached to), with their last status.
fn tests_by_node<'a>(
    inputs: &Inputs<'a>,
    run: &HashMap<&'a str, &'a ResultRow>,
) -> HashMap<&'a str, Vec<TestInfo<'a>>> {
    let mut node_tests: HashMap<&str, Vec<TestInfo<'_>>> = HashMap::new();
    for n in inputs.project.nodes.values() {
        if n.resource_type != ResourceType::Test {
            continue;
        }
        let id = n.unique_id.as_str();
        let meta = n.test.as_ref();
        let attached = meta
            .and_then(|t| t.attached_node.as_deref())
            .filter(|a| !a.starts_with("source."))
            .or_else(|| inputs.graph.depends_on(id).first().map(String::as_str));
        let Some(attached) = attached else { continue };
        // A package's test by its qualified name (`kiln.volume_anomaly`), as the YAML writes it.
        let name = match meta {
            Some(t) => match &t.namespace {
                Some(ns) => format!("{ns}.{}", t.name),
                None => t.name.clone(),
            },
            None => n.name.clone(),
        };
        let mut kwargs = meta.map(|t| t.kwargs.clone()).unwrap_or_default();
        kwargs.remove("column_name");
        kwargs.remove("model");
        let result = run.get(id);
        node_tests.entry(attached).or_default().push(TestInfo {
            id,
            name,
            column: meta.and_then(|t| t.column_name.as_deref()),
            kwargs,
            status: result.map_or(&NULL, |r| &r.status),
            message: result.map_or(&NULL, |r| &r.message),
        });
    }
    node_tests
}

/// Each column's outputs (the columns downstream that read it), the lineage inverted once.
fn downstream_of(
    lineage: Option<&BTreeMap<String, NodeLineage>>,
) -> HashMap<(&str, String), Vec<Output<'_>>> {
    let mut downstream: HashMap<(&str, String), Vec<Output<'_>>> = HashMap::new();
    for (id, node) in lineage.into_iter().flatten() {
        for col in &node.columns {
            for input in &col.inputs {
                downstream
                    .entry((input.node.as_str(), input.column.to_lowercase()))
                    .or_default()
                    .push(Output {
                        node: id,
                        column: &col.name,
                        transformations: &input.transformations,
                    });
            }
        }
    }
    downstream
}

/// Shard `i`'s script (its nodes' details by unique_id), handed to `sink`; and its nodes'
/// search texts and column names.
fn shard_of(
    i: usize,
    chunk: &[Page<'_>],
    shared: &Shared<'_>,
    sink: &dyn ShardSink,
) -> Result<(Vec<String>, Vec<String>), Error> {
    let mut desc = Vec::with_capacity(chunk.len());
    let mut cols = Vec::with_capacity(chunk.len());
    let mut out = SHARD_BUFFER.with(std::cell::RefCell::take);
    out.clear();
    let start = script_start("shard", Some(i));
    out.extend_from_slice(start.as_bytes());
    let mut ser = serde_json::Serializer::new(&mut out);
    let written = (|| {
        let mut map = (&mut ser).serialize_map(Some(chunk.len()))?;
        for p in chunk {
            let catalog = shared.catalog.and_then(|c| c.entry(p.id));
            let lineage = shared.lineage.and_then(|l| l.get(p.id));
            let tests = shared.node_tests.get(p.id).map_or(&[][..], Vec::as_slice);
            let columns = columns_of(p, catalog, lineage, tests, shared);
            desc.push(
                p.description
                    .chars()
                    .take(400)
                    .collect::<String>()
                    .to_lowercase(),
            );
            cols.push(columns.iter().map(|c| c.name).collect::<Vec<_>>().join(" "));
            map.serialize_entry(
                p.id,
                &detail_of(p, columns, tests, catalog, lineage, shared),
            )?;
        }
        map.end()
    })();
    // The site's types always serialize (their map keys are strings).
    if written.is_err() {
        out.truncate(start.len());
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(SCRIPT_END.as_bytes());
    let sent = sink.shard(i, &out);
    SHARD_BUFFER.with(|b| b.replace(out));
    sent?;
    Ok((desc, cols))
}

/// A node's columns: the catalog's (the table's real columns and types) in their order when it
/// has the node, else lineage.json's, else the YAML's; each merged with the YAML's description,
/// tags and meta, its tests, its lineage inputs and the columns downstream that read it.
fn columns_of<'a>(
    p: &Page<'a>,
    catalog: Option<&'a CatalogEntry>,
    lineage: Option<&'a NodeLineage>,
    tests: &'a [TestInfo<'a>],
    shared: &'a Shared<'a>,
) -> Vec<Column<'a>> {
    let mut cols = Columns::default();
    if let Some(c) = catalog {
        let mut list: Vec<_> = c.columns.values().collect();
        list.sort_by_key(|c| c.index.as_u64().unwrap_or(u64::MAX));
        for c in list {
            let col = cols.entry(c.name.as_str().unwrap_or(""));
            col.set("type", Field::Val(&c.data_type));
            if !c.comment.is_null() {
                col.set("comment", Field::Val(&c.comment));
            }
        }
    }
    if let Some(l) = lineage {
        for c in &l.columns {
            let col = cols.entry(&c.name);
            if let Some(t) = &c.data_type
                && !col.has("type")
            {
                col.set("type", Field::Str(t));
            }
            col.set("inputs", Field::Inputs(&c.inputs));
        }
    }
    // The YAML's columns, as the dict's `columns` shows them (a source's and a node's alike).
    for c in p.columns.into_iter().flat_map(indexmap::IndexMap::values) {
        let col = cols.entry(&c.name);
        if !c.description.is_empty() {
            col.set("description", Field::Str(&c.description));
        }
        if let Some(t) = &c.data_type
            && !col.has("type")
        {
            col.set("type", Field::Str(t));
        }
        col.set("pii", Field::Bool(is_pii(&c.tags, &c.meta)));
        col.set("tags", Field::Strs(&c.tags));
        if !c.meta.is_empty() {
            col.set("meta", Field::Meta(&c.meta));
        }
    }
    // pii.json: the kinds, whether masked, and the lineage path of each classified column.
    let id = p.id;
    let pii = shared
        .pii
        .and_then(|nodes| nodes.get(id))
        .map(|n| &n.columns);
    for (name, c) in pii.into_iter().flatten() {
        let col = cols.entry(name);
        col.set("pii", Field::Bool(c.status == PiiStatus::Pii));
        if c.status == PiiStatus::Pseudonymised {
            col.set("pseudonymised", Field::Bool(true));
        }
        col.set("pii_kinds", Field::Strs(&c.kinds));
        col.set("pii_path", Field::Path(&c.path));
    }
    for t in tests {
        if let Some(name) = t.column {
            let col = cols.entry(name);
            let entry = ColumnTest {
                name: &t.name,
                status: t.status,
                kwargs: &t.kwargs,
            };
            match col.fields.iter_mut().find(|(k, _)| *k == "tests") {
                Some((_, Field::Tests(list))) => list.push(entry),
                _ => col.set("tests", Field::Tests(vec![entry])),
            }
        }
    }
    let mut list = cols.list;
    for col in &mut list {
        if let Some(d) = shared.downstream.get(&(p.id, col.name.to_lowercase())) {
            col.set("outputs", Field::Outputs(d));
        }
        let masked = col.fields.iter().any(|(k, v)| {
            *k == "inputs"
                && matches!(v, Field::Inputs(inputs)
                    if inputs.iter().any(|i| i.transformations.iter().any(|t| t.masking)))
        });
        if masked {
            col.set("masked", Field::Bool(true));
        }
    }
    list
}

/// Why a node's lineage is incomplete, as one sentence per reason (with the line and column in
/// its source file when lineage.json has them).
fn incomplete_reasons(l: &NodeLineage) -> Option<String> {
    let reasons: Vec<String> = l
        .incomplete
        .iter()
        .map(|r| {
            let at = match (r.line, r.column) {
                (Some(line), Some(col)) => format!(" (line {line}, column {col})"),
                (Some(line), None) => format!(" (line {line})"),
                _ => String::new(),
            };
            format!("{}{at}", r.reason)
        })
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// One node's page: what the manifest says of it, with its last run, freshness and owners.
fn detail_of<'a>(
    p: &'a Page<'a>,
    columns: Vec<Column<'a>>,
    tests: &'a [TestInfo<'a>],
    catalog: Option<&'a CatalogEntry>,
    lineage: Option<&'a NodeLineage>,
    shared: &'a Shared<'a>,
) -> Detail<'a> {
    let pick = |key: &str| -> Value {
        p.meta
            .get(key)
            .or_else(|| p.source_meta.and_then(|m| m.get(key)))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let mut owners: Vec<Value> = Vec::new();
    for key in ["owner", "owners", "owner_team", "secondary_owner", "team"] {
        match pick(key) {
            Value::Null => {}
            Value::Array(a) => owners.extend(a),
            v => owners.push(v),
        }
    }
    if let Some(o) = p.owner {
        // An exposure's owner: {name, email}.
        let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("");
        let who = [s("name"), s("email")]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !who.is_empty() {
            owners.push(Value::from(who));
        }
    }
    if let Some(o) = catalog.map(|c| &c.metadata.owner).filter(|o| !o.is_null()) {
        owners.push(Value::from(format!(
            "{} (warehouse)",
            o.as_str().unwrap_or_default()
        )));
    }
    let run = shared.run.get(p.id).copied();
    let fresh = shared.fresh.get(p.id).copied();
    let last_run = run.map(|r| LastRun {
        status: &r.status,
        execution_time: &r.execution_time,
        completed_at: r.completed_at(),
        message: &r.message,
        rows: r.rows(),
    });
    // A model's freshness (`kiln freshness`) is in its config, a source's at its top level.
    // (The manifest shows a model's config as dbt-core does, without warn_after/error_after:
    // a model's criteria are those its last `kiln freshness` check recorded.)
    let freshness = match (p.resource_type, fresh) {
        ("model", Some(f)) => Some(Freshness {
            loaded_at_field: &p.loaded_at_field,
            criteria: &f.criteria,
            result: Some(FreshResult::of(f)),
        }),
        ("source", f) => Some(Freshness {
            loaded_at_field: &p.loaded_at_field,
            criteria: &p.criteria,
            result: f.map(FreshResult::of),
        }),
        _ => None,
    };
    Detail {
        description: p.description,
        path: p.file,
        relation: p.relation,
        materialized: &p.materialized,
        access: &p.access,
        meta: &p.meta,
        owners,
        sla: pick("sla"),
        columns,
        tests: tests.iter().filter(|t| t.column.is_none()).collect(),
        raw_code: p.raw_code,
        compiled_code: p.compiled_code,
        last_run,
        freshness,
        lineage_complete: lineage.map(|l| l.complete),
        lineage_reason: lineage.and_then(incomplete_reasons),
        dataset: lineage.map_or(&[][..], |l| l.dataset.as_slice()),
        exposure: &p.exposure,
        source: &p.source,
        stats: catalog.map_or(&NULL, |c| &c.stats),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_file_is_a_script_call() {
        let v = json!({"a": [1, "x\"y"], "b": null});
        assert_eq!(
            script("shard", Some(3), &v),
            "kilnDocs.shard(3,{\"a\":[1,\"x\\\"y\"],\"b\":null});\n"
        );
        assert_eq!(
            script("graph", None, &Value::Null),
            "kilnDocs.graph(null);\n"
        );
    }
}

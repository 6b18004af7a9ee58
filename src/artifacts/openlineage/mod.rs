//! OpenLineage events of a run (`kiln run`, `build`, `seed`, `snapshot`, `test`): one run of a
//! job per node (a `START` event when it starts, then `COMPLETE` or `FAIL`), each a child of
//! the invocation's own run (its `parent` facet), which starts first and ends last.
//!
//! - The job: namespace from the config (`default`), name the node's unique_id; facets
//!   `jobType` (`BATCH`, `DBT`, `MODEL`/`SEED`/`SNAPSHOT`/`TEST`) and, once compiled, `sql`.
//! - Inputs: the relations the node reads (its parents; an ephemeral parent's own parents);
//!   outputs: the relation it builds (none for a test). Named by OpenLineage's conventions for
//!   the engine ([`crate::adapter::openlineage`]); a source read from files is a `file` dataset.
//! - On the terminal event the output carries the `schema` facet (the warehouse's columns and
//!   types, YAML's descriptions) and the `columnLineage` facet (1-2-0) from the project's column
//!   lineage (`target/lineage.json`'s [`NodeLineage`]): each output column's input fields with
//!   their transformations, and the inputs that affect every row under `dataset`.
//! - A failed node's run has the `errorMessage` facet.
//!
//! Events go to `target/openlineage.jsonl` (one JSON object per line, this invocation's) and,
//! when configured, to an HTTP endpoint ([`transport`]); nothing here can fail the run.

pub mod config;
pub mod transport;

pub use config::OpenLineageConfig;

use crate::adapter::openlineage::{dataset_name, dataset_namespace};
use crate::adapter::{Adapter, Column, Connection};
use crate::project::{Node, Project, ResourceType};
use crate::runner::{NodeListener, NodeResult, Status};
use crate::schemas::lineage::{LineageInput, NodeLineage};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use transport::Transport;

/// Who wrote the events (`producer`, each facet's `_producer`).
pub const PRODUCER: &str = concat!("urn:kiln:", env!("CARGO_PKG_VERSION"));
const EVENT_SCHEMA: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const PARENT_FACET: &str =
    "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet";
const JOB_TYPE_FACET: &str =
    "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet";
const SQL_FACET: &str =
    "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet";
const SCHEMA_FACET: &str =
    "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet";
const COLUMN_LINEAGE_FACET: &str = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet";
const ERROR_FACET: &str = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet";

/// A dataset as OpenLineage names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dataset {
    pub namespace: String,
    pub name: String,
}

/// The invocation: the parent run of every node's run.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The invocation id (a UUID): the parent run's runId.
    pub run_id: String,
    /// `kiln-<command>-<project>`.
    pub job_name: String,
}

/// Emits a run's events; the runner tells it when nodes start and finish.
pub struct Emitter {
    project: Arc<Project>,
    graph: Arc<crate::graph::Graph>,
    adapter: Arc<dyn Adapter>,
    dialect: String,
    job_namespace: String,
    dataset_namespace: String,
    invocation: Invocation,
    /// The project's column lineage, by unique_id (models and snapshots).
    lineage: BTreeMap<String, NodeLineage>,
    /// Each running node's runId.
    runs: Mutex<HashMap<String, String>>,
    /// A connection to read built relations' columns with (one at a time).
    conn: Mutex<Option<Box<dyn Connection>>>,
    transport: Transport,
}

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

fn facet(schema_url: &str, mut body: Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert("_producer".into(), json!(PRODUCER));
    out.insert("_schemaURL".into(), json!(schema_url));
    out.append(&mut body);
    Value::Object(out)
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl Emitter {
    /// An emitter for `command` on the loaded project, sending through `transport`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        project: Arc<Project>,
        graph: Arc<crate::graph::Graph>,
        adapter: Arc<dyn Adapter>,
        config: &OpenLineageConfig,
        invocation_id: &str,
        command: &str,
        lineage: BTreeMap<String, NodeLineage>,
        transport: Transport,
    ) -> Emitter {
        let dataset_namespace = dataset_namespace(&project.target, &project.dir);
        let job_name = format!("kiln-{command}-{}", project.name);
        Emitter {
            dialect: adapter.adapter_type().to_string(),
            job_namespace: config.namespace.clone(),
            dataset_namespace,
            invocation: Invocation {
                run_id: invocation_id.to_string(),
                job_name,
            },
            project,
            graph,
            adapter,
            lineage,
            runs: Mutex::new(HashMap::new()),
            conn: Mutex::new(None),
            transport,
        }
    }

    /// The invocation's START event (before any node's).
    pub fn start_invocation(&self) {
        let event = self.event(
            "START",
            &self.invocation.run_id,
            &self.invocation.job_name,
            Map::new(),
            self.job_facets("JOB", None),
            vec![],
            vec![],
        );
        self.transport.send(event);
    }

    /// The invocation's COMPLETE (or FAIL) event, after every node's; then waits for the HTTP
    /// transport to deliver (or give up on) the queued events. Returns the warnings to show.
    pub fn finish_invocation(&self, failed: bool) -> Vec<String> {
        let event = self.event(
            if failed { "FAIL" } else { "COMPLETE" },
            &self.invocation.run_id,
            &self.invocation.job_name,
            Map::new(),
            self.job_facets("JOB", None),
            vec![],
            vec![],
        );
        self.transport.send(event);
        if let Ok(mut c) = self.conn.lock() {
            c.take();
        }
        self.transport.finish()
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        event_type: &str,
        run_id: &str,
        job_name: &str,
        run_facets: Map<String, Value>,
        job_facets: Map<String, Value>,
        inputs: Vec<Value>,
        outputs: Vec<Value>,
    ) -> Value {
        json!({
            "eventTime": now(),
            "producer": PRODUCER,
            "schemaURL": EVENT_SCHEMA,
            "eventType": event_type,
            "run": {"runId": run_id, "facets": run_facets},
            "job": {"namespace": self.job_namespace, "name": job_name, "facets": job_facets},
            "inputs": inputs,
            "outputs": outputs,
        })
    }

    fn job_facets(&self, job_type: &str, sql: Option<&str>) -> Map<String, Value> {
        let mut f = Map::new();
        f.insert(
            "jobType".into(),
            facet(
                JOB_TYPE_FACET,
                object(
                    json!({"processingType": "BATCH", "integration": "DBT", "jobType": job_type}),
                ),
            ),
        );
        if let Some(sql) = sql {
            f.insert(
                "sql".into(),
                facet(
                    SQL_FACET,
                    object(json!({"query": sql, "dialect": self.dialect})),
                ),
            );
        }
        f
    }

    fn parent_facet(&self) -> Map<String, Value> {
        let mut f = Map::new();
        f.insert(
            "parent".into(),
            facet(
                PARENT_FACET,
                object(json!({
                    "run": {"runId": self.invocation.run_id},
                    "job": {"namespace": self.job_namespace, "name": self.invocation.job_name},
                })),
            ),
        );
        f
    }

    /// The dataset of a node's or source's relation; `None` for what has no relation
    /// (ephemeral models, tests, exposures).
    pub fn dataset(&self, unique_id: &str) -> Option<Dataset> {
        if let Some(n) = self.project.nodes.get(unique_id) {
            let relational = matches!(
                n.resource_type,
                ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
            ) && !n.is_ephemeral();
            return relational.then(|| Dataset {
                namespace: self.dataset_namespace.clone(),
                name: dataset_name(&n.database, &n.schema, &n.alias),
            });
        }
        let s = self.project.sources.get(unique_id)?;
        if self.adapter.external_source_sql(s).is_some() {
            // Read from files (`external_location`): OpenLineage's local file naming, the path
            // from the project directory (or the reading function's call, as written).
            let location = s
                .external
                .as_ref()
                .and_then(Value::as_str)
                .unwrap_or(&s.identifier)
                .replace("{name}", &s.name)
                .replace("{identifier}", &s.identifier)
                .replace("{source_name}", &s.source_name);
            let name = if location.contains('(') {
                location
            } else {
                let path = self.project.dir.join(&location);
                std::path::absolute(&path)
                    .unwrap_or(path)
                    .display()
                    .to_string()
            };
            return Some(Dataset {
                namespace: "file".into(),
                name,
            });
        }
        Some(Dataset {
            namespace: self.dataset_namespace.clone(),
            name: dataset_name(&s.database, &s.schema, &s.identifier),
        })
    }

    /// The relations a node reads: its parents, through ephemeral models.
    fn inputs(&self, node: &Node) -> Vec<Dataset> {
        let mut out = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = self
            .graph
            .depends_on(&node.unique_id)
            .iter()
            .map(String::as_str)
            .collect();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            match self.project.nodes.get(id) {
                Some(p) if p.is_ephemeral() => {
                    stack.extend(self.graph.depends_on(id).iter().map(String::as_str));
                }
                _ => out.extend(self.dataset(id)),
            }
        }
        out.into_iter().collect()
    }

    fn dataset_json(d: &Dataset, facets: Map<String, Value>) -> Value {
        json!({"namespace": d.namespace, "name": d.name, "facets": facets})
    }

    /// The columns the warehouse has for a node's relation now (empty when unknown).
    ///
    /// A table or view model is made by `create ... as` its compiled query, so its columns are
    /// the ones the binder gave that query before the run (target/lineage.json): taken from
    /// there, no catalog query per node (on DuckDB `duckdb_columns()` reads every column of
    /// the database, which made OpenLineage cost O(N²) over a build of N models). Incremental
    /// models and snapshots keep columns from earlier builds: those are asked of the warehouse.
    fn built_columns(&self, node: &Node) -> Vec<Column> {
        if node.resource_type == ResourceType::Model
            && matches!(node.materialized(), "table" | "view")
            && let Some(l) = self.lineage.get(&node.unique_id)
            && !l.columns.is_empty()
            && l.columns.iter().all(|c| c.data_type.is_some())
        {
            return l
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    data_type: c.data_type.clone().unwrap_or_default(),
                    comment: None,
                })
                .collect();
        }
        let Ok(mut guard) = self.conn.lock() else {
            return vec![];
        };
        if guard.is_none() {
            *guard = self.adapter.connect().ok();
        }
        guard
            .as_mut()
            .and_then(|c| c.columns(&node.database, &node.schema, &node.alias).ok())
            .unwrap_or_default()
    }

    /// The output's facets: its schema as built, and its column lineage.
    fn output_facets(&self, node: &Node) -> Map<String, Value> {
        let mut facets = Map::new();
        let columns = self.built_columns(node);
        if !columns.is_empty() {
            let fields: Vec<Value> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let mut f = object(json!({"name": c.name, "type": c.data_type}));
                    let described = node
                        .columns
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(&c.name))
                        .map(|(_, info)| info.description.as_str())
                        .filter(|d| !d.is_empty());
                    if let Some(d) = described {
                        f.insert("description".into(), json!(d));
                    }
                    f.insert("ordinal_position".into(), json!(i + 1));
                    Value::Object(f)
                })
                .collect();
            facets.insert(
                "schema".into(),
                facet(SCHEMA_FACET, object(json!({"fields": fields}))),
            );
        }
        if let Some(lineage) = self.lineage.get(&node.unique_id) {
            let built: BTreeSet<String> = columns.iter().map(|c| c.name.to_lowercase()).collect();
            if let Some(f) = self.column_lineage(lineage, &built) {
                facets.insert("columnLineage".into(), f);
            }
        }
        facets
    }

    fn input_field(&self, input: &LineageInput) -> Option<Value> {
        let d = self.dataset(&input.node)?;
        let transformations: Vec<Value> = input
            .transformations
            .iter()
            .map(|t| serde_json::to_value(t).unwrap_or(Value::Null))
            .filter(|t| !t.is_null())
            .collect();
        Some(json!({
            "namespace": d.namespace,
            "name": d.name,
            "field": input.column,
            "transformations": transformations,
        }))
    }

    /// The `columnLineage` facet of a node's lineage. Columns the built relation does not have
    /// (lineage computed for other SQL) are left out; no facet when nothing is known.
    pub fn column_lineage(&self, lineage: &NodeLineage, built: &BTreeSet<String>) -> Option<Value> {
        let mut fields = Map::new();
        for c in &lineage.columns {
            if !built.is_empty() && !built.contains(&c.name.to_lowercase()) {
                continue;
            }
            let inputs: Vec<Value> = c
                .inputs
                .iter()
                .filter_map(|i| self.input_field(i))
                .collect();
            if !inputs.is_empty() {
                fields.insert(c.name.clone(), json!({"inputFields": inputs}));
            }
        }
        let dataset: Vec<Value> = lineage
            .dataset
            .iter()
            .filter_map(|i| self.input_field(i))
            .collect();
        if fields.is_empty() && dataset.is_empty() {
            return None;
        }
        let mut body = Map::new();
        body.insert("fields".into(), Value::Object(fields));
        if !dataset.is_empty() {
            body.insert("dataset".into(), Value::Array(dataset));
        }
        Some(facet(COLUMN_LINEAGE_FACET, body))
    }

    fn job_type(node: &Node) -> &'static str {
        match node.resource_type {
            ResourceType::Seed => "SEED",
            ResourceType::Snapshot => "SNAPSHOT",
            ResourceType::Test => "TEST",
            _ => "MODEL",
        }
    }
}

impl NodeListener for Emitter {
    fn started(&self, node: &Node) {
        let run_id = uuid::Uuid::new_v4().to_string();
        if let Ok(mut runs) = self.runs.lock() {
            runs.insert(node.unique_id.clone(), run_id.clone());
        }
        let inputs = self
            .inputs(node)
            .iter()
            .map(|d| Self::dataset_json(d, Map::new()))
            .collect();
        let outputs = self
            .dataset(&node.unique_id)
            .map(|d| Self::dataset_json(&d, Map::new()))
            .into_iter()
            .collect();
        let event = self.event(
            "START",
            &run_id,
            &node.unique_id,
            self.parent_facet(),
            self.job_facets(Self::job_type(node), None),
            inputs,
            outputs,
        );
        self.transport.send(event);
    }

    fn finished(&self, node: &Node, result: &NodeResult) {
        let Some(run_id) = self
            .runs
            .lock()
            .ok()
            .and_then(|mut r| r.remove(&node.unique_id))
        else {
            return;
        };
        let failed = matches!(
            result.status,
            Status::Error | Status::Fail | Status::PartialSuccess
        );
        let mut run_facets = self.parent_facet();
        if failed {
            let message = result
                .detail
                .clone()
                .or_else(|| result.message.clone())
                .unwrap_or_else(|| result.status.as_str().to_string());
            run_facets.insert(
                "errorMessage".into(),
                facet(
                    ERROR_FACET,
                    object(json!({"message": message, "programmingLanguage": "SQL"})),
                ),
            );
        }
        let inputs = self
            .inputs(node)
            .iter()
            .map(|d| Self::dataset_json(d, Map::new()))
            .collect();
        let outputs = match self.dataset(&node.unique_id) {
            Some(d) if !failed => vec![Self::dataset_json(&d, self.output_facets(node))],
            Some(d) => vec![Self::dataset_json(&d, Map::new())],
            None => vec![],
        };
        let event = self.event(
            if failed { "FAIL" } else { "COMPLETE" },
            &run_id,
            &node.unique_id,
            run_facets,
            self.job_facets(Self::job_type(node), result.compiled_code.as_deref()),
            inputs,
            outputs,
        );
        self.transport.send(event);
    }
}

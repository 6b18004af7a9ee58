//! The loaded project's nodes: what every later stage (graph, compile, run, artifacts) reads.

use super::config::Config;
use super::settings::Settings;
use super::yaml::YamlSpan;
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// dbt's resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    Model,
    Seed,
    Snapshot,
    Analysis,
    Test,
    Source,
    Exposure,
    /// A unit test (`unit_tests:` in properties YAML): never a [`Node`], listed in
    /// `Project::unit_tests`; the type exists for selection and results.
    UnitTest,
    SemanticModel,
    Metric,
    SavedQuery,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Model => "model",
            ResourceType::Seed => "seed",
            ResourceType::Snapshot => "snapshot",
            ResourceType::Analysis => "analysis",
            ResourceType::Test => "test",
            ResourceType::Source => "source",
            ResourceType::Exposure => "exposure",
            ResourceType::UnitTest => "unit_test",
            ResourceType::SemanticModel => "semantic_model",
            ResourceType::Metric => "metric",
            ResourceType::SavedQuery => "saved_query",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "model" => ResourceType::Model,
            "seed" => ResourceType::Seed,
            "snapshot" => ResourceType::Snapshot,
            "analysis" => ResourceType::Analysis,
            "test" | "data_test" => ResourceType::Test,
            "source" => ResourceType::Source,
            "exposure" => ResourceType::Exposure,
            "unit_test" => ResourceType::UnitTest,
            "semantic_model" => ResourceType::SemanticModel,
            "metric" => ResourceType::Metric,
            "saved_query" => ResourceType::SavedQuery,
            _ => return None,
        })
    }

    pub const ALL: [ResourceType; 10] = [
        ResourceType::Model,
        ResourceType::Seed,
        ResourceType::Snapshot,
        ResourceType::Analysis,
        ResourceType::Test,
        ResourceType::Source,
        ResourceType::Exposure,
        ResourceType::SemanticModel,
        ResourceType::Metric,
        ResourceType::SavedQuery,
    ];
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `ref()` call: `ref('pkg', 'name', version=2)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RefCall {
    pub name: String,
    pub package: Option<String>,
    pub version: Option<String>,
}

/// A column as documented in properties YAML.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    pub description: String,
    pub meta: Map<String, Value>,
    pub data_type: Option<String>,
    pub constraints: Vec<Value>,
    pub quote: Option<bool>,
    pub tags: Vec<String>,
    pub granularity: Option<String>,
    /// unique_ids of the docs blocks its description uses through `doc()`.
    pub doc_blocks: Vec<String>,
}

/// What makes a generic test: `unique` on `orders.id`.
#[derive(Debug, Clone, PartialEq)]
pub struct TestMetadata {
    /// The test's name without namespace, e.g. `accepted_values`.
    pub name: String,
    pub namespace: Option<String>,
    /// Arguments as written (plus `column_name` and `model`).
    pub kwargs: Map<String, Value>,
    pub column_name: Option<String>,
    /// unique_id of the model, seed, snapshot or source the test is attached to.
    pub attached_node: Option<String>,
    /// Key in the properties file, e.g. `models.orders` or `sources.raw`.
    pub file_key_name: String,
    /// Tags the test takes from what it is defined on, beside its own config's: a source's and
    /// its table's `tags:` and the column's, as dbt gives them (its `tags`, not `config.tags`).
    pub inherited_tags: Vec<String>,
    /// Config keys its test macro's own `config()` call set (dbt keeps them in
    /// `unrendered_config` but not in the `raw_code` it writes).
    pub macro_config: Vec<String>,
}

/// A model, seed, snapshot, analysis or test.
#[derive(Debug, Clone)]
pub struct Node {
    pub unique_id: String,
    pub resource_type: ResourceType,
    pub name: String,
    pub package_name: String,
    /// Path relative to its resource folder (e.g. `staging/stg_orders.sql`).
    pub path: String,
    /// Path relative to the project (e.g. `models/staging/stg_orders.sql`).
    pub original_file_path: String,
    /// The file on disk, for error messages.
    pub file: PathBuf,
    /// 0-based line in `file` where `raw_code` starts (snapshot blocks start mid-file).
    pub line_offset: usize,
    pub fqn: Vec<String>,
    pub raw_code: String,
    /// sha256 of the file contents, hex; empty for generated nodes.
    pub checksum: String,
    /// The merged config.
    pub config: Config,
    /// Config as written, before inheritance (dbt's `unrendered_config`).
    pub unrendered_config: Config,
    pub description: String,
    pub columns: IndexMap<String, ColumnInfo>,
    /// The properties file that described this node, as `project://models/schema.yml`.
    pub patch_path: Option<String>,
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    pub depends_on_macros: Vec<String>,
    pub database: String,
    pub schema: String,
    pub alias: String,
    pub relation_name: Option<String>,
    pub test: Option<TestMetadata>,
    pub version: Option<String>,
    pub latest_version: Option<String>,
    pub deprecation_date: Option<String>,
    pub constraints: Vec<Value>,
    /// unique_ids of the docs blocks its description uses through `doc()`.
    pub doc_blocks: Vec<String>,
    /// The typed config the materializations read, settled in the parse phase from `config`
    /// (see [`super::settle`]); empty until then.
    pub settings: Settings,
    /// Where the node and its config were written, for diagnostics.
    pub spans: NodeSpans,
}

/// Where a node's definition and config were written: addresses kept while loading and parsing
/// (see [`super::yaml`]'s module docs), turned into lines only when something is reported. Not
/// serialised and never compared, so moving code changes no checksum or `state:` result.
#[derive(Debug, Clone, Default)]
pub struct NodeSpans {
    /// The properties entry that describes the node (`models[3]` of `models/schema.yml`); for a
    /// generic test, the test's own entry (`models[3].columns[0].data_tests[1]`).
    pub entry: Option<YamlSpan>,
    /// For a version of a versioned model, its index under the entry's `versions:`.
    pub version: Option<usize>,
    /// The config keys set by `config()` calls in the node's own SQL (normalised, e.g.
    /// `pre-hook`).
    pub sql_config: Vec<String>,
}

/// A node's SQL as the compile phase made it: the output of compiling, kept beside the node (the
/// node itself is never written after parse).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compiled {
    /// The rendered SQL with the CTEs of the ephemeral models it refs injected.
    pub code: String,
    /// Those CTEs (`__dbt__cte__<name>`, body), in order.
    pub ctes: Vec<(String, String)>,
    /// What the masking macros it and those CTEs call rendered (`vars: kiln: pii:
    /// masking_macros`): the column lineage counts a value inside one of these texts as masked.
    pub masked: Vec<String>,
}

impl Node {
    /// A node for unit tests: `<type>.demo.<name>` in `warehouse.main`, aliased by its name.
    #[cfg(test)]
    pub(crate) fn sample(resource_type: ResourceType, name: &str, config: Value) -> Node {
        let config = match config {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let folder = match resource_type {
            ResourceType::Seed => "seeds",
            ResourceType::Snapshot => "snapshots",
            _ => "models",
        };
        let ext = if resource_type == ResourceType::Seed {
            "csv"
        } else {
            "sql"
        };
        let settings = Settings::lenient(resource_type, &config);
        Node {
            unique_id: format!("{resource_type}.demo.{name}"),
            resource_type,
            name: name.into(),
            package_name: "demo".into(),
            path: format!("{name}.{ext}"),
            original_file_path: format!("{folder}/{name}.{ext}"),
            file: PathBuf::from(format!("/nonexistent/{folder}/{name}.{ext}")),
            line_offset: 0,
            fqn: vec!["demo".into(), name.into()],
            raw_code: String::new(),
            checksum: String::new(),
            config,
            unrendered_config: Map::new(),
            description: String::new(),
            columns: IndexMap::new(),
            patch_path: None,
            refs: vec![],
            sources: vec![],
            depends_on_macros: vec![],
            database: "warehouse".into(),
            schema: "main".into(),
            alias: name.into(),
            relation_name: None,
            test: None,
            version: None,
            latest_version: None,
            deprecation_date: None,
            constraints: vec![],
            doc_blocks: vec![],
            settings,
            spans: NodeSpans::default(),
        }
    }

    pub fn materialized(&self) -> &str {
        self.config
            .get("materialized")
            .and_then(Value::as_str)
            .unwrap_or(match self.resource_type {
                ResourceType::Seed => "seed",
                ResourceType::Snapshot => "snapshot",
                ResourceType::Test => "test",
                _ => "view",
            })
    }

    pub fn tags(&self) -> Vec<String> {
        let own = super::config::tags_of(&self.config);
        match &self.test {
            // dbt writes a test's tags with those it inherits as one sorted set.
            Some(t) if !t.inherited_tags.is_empty() => {
                let mut all: Vec<String> =
                    own.into_iter().chain(t.inherited_tags.clone()).collect();
                all.sort();
                all.dedup();
                all
            }
            _ => own,
        }
    }

    pub fn meta(&self) -> Map<String, Value> {
        self.config
            .get("meta")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    pub fn is_ephemeral(&self) -> bool {
        self.resource_type == ResourceType::Model && self.materialized() == "ephemeral"
    }
}

/// A table declared under `sources:`.
#[derive(Debug, Clone)]
pub struct SourceNode {
    pub unique_id: String,
    pub source_name: String,
    pub name: String,
    pub identifier: String,
    pub database: String,
    pub schema: String,
    pub package_name: String,
    pub path: String,
    pub original_file_path: String,
    pub fqn: Vec<String>,
    pub description: String,
    pub source_description: String,
    pub loader: String,
    pub loaded_at_field: Option<String>,
    pub loaded_at_query: Option<String>,
    pub freshness: Option<Value>,
    pub quoting: Map<String, Value>,
    pub meta: Map<String, Value>,
    pub source_meta: Map<String, Value>,
    pub tags: Vec<String>,
    pub config: Config,
    /// The config as written: dbt_project.yml's `sources:` settings for it, then what its
    /// source and table set (dbt's `unrendered_config`).
    pub unrendered_config: Config,
    /// The source's `database:` and `schema:` as written, if it sets them.
    pub unrendered_database: Option<String>,
    pub unrendered_schema: Option<String>,
    pub columns: IndexMap<String, ColumnInfo>,
    pub relation_name: String,
    pub external: Option<Value>,
    /// unique_ids of the docs blocks its description uses through `doc()`.
    pub doc_blocks: Vec<String>,
}

/// A downstream use of the project: a dashboard, a notebook, an application.
#[derive(Debug, Clone)]
pub struct ExposureNode {
    pub unique_id: String,
    pub name: String,
    pub label: Option<String>,
    pub kind: String,
    pub maturity: Option<String>,
    pub url: Option<String>,
    pub description: String,
    pub owner: Map<String, Value>,
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    pub meta: Map<String, Value>,
    pub tags: Vec<String>,
    pub config: Config,
    /// The config as written: dbt_project.yml's `exposures:` settings for it, then its own.
    pub unrendered_config: Config,
    pub package_name: String,
    pub path: String,
    pub original_file_path: String,
    pub fqn: Vec<String>,
}

/// A `{% macro %}` (or `{% test %}`) definition.
#[derive(Debug, Clone)]
pub struct MacroNode {
    pub unique_id: String,
    pub name: String,
    pub package_name: String,
    pub path: String,
    pub original_file_path: String,
    pub macro_sql: String,
    pub depends_on_macros: Vec<String>,
    pub description: String,
    pub meta: Map<String, Value>,
    pub arguments: Vec<Value>,
    /// The properties file that documents it, as `project://macros/schema.yml`.
    pub patch_path: Option<String>,
    /// `docs:` from its properties (`show`, `node_color`).
    pub docs: Option<Value>,
    /// The template (file) that defines it, as registered in the Jinja environment.
    pub template: String,
}

/// A `{% docs name %}` block.
#[derive(Debug, Clone)]
pub struct DocBlock {
    pub unique_id: String,
    pub name: String,
    pub package_name: String,
    pub path: String,
    pub original_file_path: String,
    pub block_contents: String,
}

/// Nodes keyed by unique_id, in a stable order.
pub type NodeMap = BTreeMap<String, Node>;

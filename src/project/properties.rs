//! Properties YAML (`models/**/*.yml`): descriptions, columns, tests and configs of models, seeds,
//! snapshots and analyses; sources; exposures; macro docs. Typed, so a wrong type is an error at its
//! line; unknown keys are kept (dbt accepts them, e.g. semantic models).

use super::dbt_project::OneOrMany;
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Deserialize, Default)]
pub struct PropertiesFile {
    #[serde(default)]
    pub version: Option<Value>,
    #[serde(default)]
    pub models: Vec<NodeProps>,
    #[serde(default)]
    pub seeds: Vec<NodeProps>,
    #[serde(default)]
    pub snapshots: Vec<NodeProps>,
    #[serde(default)]
    pub analyses: Vec<NodeProps>,
    /// Properties of singular tests (`tests/<name>.sql`): description, config, meta.
    #[serde(default)]
    pub data_tests: Vec<NodeProps>,
    #[serde(default)]
    pub sources: Vec<SourceProps>,
    #[serde(default)]
    pub exposures: Vec<ExposureProps>,
    #[serde(default)]
    pub macros: Vec<MacroProps>,
    /// Kept, not used yet. (Named fields rather than `#[serde(flatten)]`, which would make serde
    /// buffer the whole file before reading it: twice the parse time on large projects.)
    #[serde(default)]
    pub semantic_models: Option<Value>,
    #[serde(default)]
    pub metrics: Option<Value>,
    #[serde(default)]
    pub groups: Option<Value>,
    #[serde(default)]
    pub unit_tests: Vec<UnitTestProps>,
    #[serde(default)]
    pub saved_queries: Option<Value>,
}

/// Properties of a model, seed, snapshot or analysis.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct NodeProps {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub config: Map<String, Value>,
    #[serde(default)]
    pub columns: Vec<ColumnProps>,
    #[serde(default)]
    pub tests: Vec<Value>,
    #[serde(default)]
    pub data_tests: Vec<Value>,
    #[serde(default)]
    pub meta: Map<String, Value>,
    #[serde(default)]
    pub tags: OneOrMany,
    #[serde(default)]
    pub docs: Option<Value>,
    #[serde(default)]
    pub versions: Vec<Value>,
    #[serde(default)]
    pub latest_version: Option<Value>,
    #[serde(default)]
    pub access: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub constraints: Vec<Value>,
    /// YAML-defined snapshots (dbt 1.9): `relation: ref('orders')`.
    #[serde(default)]
    pub relation: Option<String>,
    #[serde(default)]
    pub deprecation_date: Option<Value>,
    /// A model's `time_spine:` (dbt 1.9's semantic layer): `standard_granularity_column` and
    /// `custom_granularities`.
    #[serde(default)]
    pub time_spine: Option<Value>,
}

impl NodeProps {
    /// `data_tests:` and the older `tests:` together.
    pub fn all_tests(&self) -> impl Iterator<Item = &Value> {
        self.data_tests.iter().chain(self.tests.iter())
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct ColumnProps {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub data_type: Option<String>,
    #[serde(default)]
    pub meta: Map<String, Value>,
    #[serde(default)]
    pub tags: OneOrMany,
    #[serde(default)]
    pub constraints: Vec<Value>,
    #[serde(default)]
    pub tests: Vec<Value>,
    #[serde(default)]
    pub data_tests: Vec<Value>,
    #[serde(default)]
    pub quote: Option<bool>,
    #[serde(default)]
    pub config: Map<String, Value>,
    #[serde(default)]
    pub granularity: Option<String>,
}

impl ColumnProps {
    pub fn all_tests(&self) -> impl Iterator<Item = &Value> {
        self.data_tests.iter().chain(self.tests.iter())
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct SourceProps {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub loader: Option<String>,
    #[serde(default)]
    pub loaded_at_field: Option<String>,
    #[serde(default)]
    pub loaded_at_query: Option<String>,
    /// `Some(Null)` when written as `freshness: null` (switched off), `None` when absent.
    #[serde(default, deserialize_with = "present")]
    pub freshness: Option<Value>,
    #[serde(default)]
    pub quoting: Map<String, Value>,
    #[serde(default)]
    pub meta: Map<String, Value>,
    #[serde(default)]
    pub tags: OneOrMany,
    #[serde(default)]
    pub config: Map<String, Value>,
    #[serde(default)]
    pub tables: Vec<SourceTableProps>,
    #[serde(default)]
    pub overrides: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct SourceTableProps {
    pub name: String,
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub loaded_at_field: Option<String>,
    #[serde(default)]
    pub loaded_at_query: Option<String>,
    /// `Some(Null)` when written as `freshness: null` (switched off), `None` when absent.
    #[serde(default, deserialize_with = "present")]
    pub freshness: Option<Value>,
    #[serde(default)]
    pub quoting: Map<String, Value>,
    #[serde(default)]
    pub meta: Map<String, Value>,
    #[serde(default)]
    pub tags: OneOrMany,
    #[serde(default)]
    pub config: Map<String, Value>,
    #[serde(default)]
    pub columns: Vec<ColumnProps>,
    #[serde(default)]
    pub tests: Vec<Value>,
    #[serde(default)]
    pub data_tests: Vec<Value>,
    #[serde(default)]
    pub external: Option<Value>,
}

impl SourceTableProps {
    pub fn all_tests(&self) -> impl Iterator<Item = &Value> {
        self.data_tests.iter().chain(self.tests.iter())
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct ExposureProps {
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub maturity: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub owner: Map<String, Value>,
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub meta: Map<String, Value>,
    #[serde(default)]
    pub tags: OneOrMany,
    #[serde(default)]
    pub config: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct MacroProps {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub arguments: Vec<Value>,
    #[serde(default)]
    pub docs: Option<Value>,
    #[serde(default)]
    pub meta: Map<String, Value>,
}

/// A key that is present, even with a null value, as `Some` (so `freshness: null` can switch off
/// an inherited freshness, while an absent key inherits it).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    <Value as serde::Deserialize>::deserialize(d).map(Some)
}

/// A `unit_tests:` entry (dbt 1.8+), read by `load/unit_tests.rs`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct UnitTestProps {
    pub name: String,
    pub model: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub given: Vec<UnitFixtureProps>,
    pub expect: UnitFixtureProps,
    #[serde(default)]
    pub overrides: Option<Map<String, Value>>,
    #[serde(default)]
    pub config: Map<String, Value>,
    #[serde(default)]
    pub versions: Option<Value>,
}

/// A unit test's `given` entry or its `expect`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct UnitFixtureProps {
    /// `ref('x')`, `source('s', 't')` or `this` (empty for `expect`).
    #[serde(default)]
    pub input: String,
    #[serde(default)]
    pub rows: Option<Value>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub fixture: Option<Value>,
}

//! dbt's unit tests (dbt 1.8+): `unit_tests:` in properties YAML. A unit test names a model, gives
//! fixture rows for the `ref()`s, `source()`s (and `this`) the model reads, and the rows the model
//! must return from them. Loaded here (`load/unit_tests.rs`), checked against the model's refs
//! when the graph is built, run by the runner (`runner/unit.rs`).

use super::RefCall;
use super::yaml::YamlSpan;
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// How a fixture's rows are written (`format:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Dict,
    Csv,
    Sql,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Dict => "dict",
            Format::Csv => "csv",
            Format::Sql => "sql",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "dict" => Format::Dict,
            "csv" => Format::Csv,
            "sql" => Format::Sql,
            _ => return None,
        })
    }
}

/// A fixture's rows, read: a table (dict or csv; a csv value is its text) or a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    Table(Vec<IndexMap<String, Value>>),
    Sql(String),
}

/// `rows:` (inline or from a `fixture:` file) with its format.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub format: Format,
    pub rows: Rows,
    /// `fixture:` as written (the file's name without extension).
    pub fixture: Option<String>,
    /// Where it is written (the `given` entry or `expect`).
    pub span: YamlSpan,
}

impl Fixture {
    /// The rows as manifest.json shows them (csv values as text, sql as its text).
    pub fn rows_json(&self) -> Value {
        match &self.rows {
            Rows::Table(rows) => Value::Array(
                rows.iter()
                    .map(|r| Value::Object(r.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
                    .collect(),
            ),
            Rows::Sql(s) => Value::String(s.clone()),
        }
    }

    /// The columns the rows name, in first-seen order (none for sql).
    pub fn columns(&self) -> Vec<String> {
        let mut out: Vec<String> = vec![];
        if let Rows::Table(rows) = &self.rows {
            for r in rows {
                for k in r.keys() {
                    if !out.iter().any(|c| c == k) {
                        out.push(k.clone());
                    }
                }
            }
        }
        out
    }
}

/// What a `given` input stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum InputTarget {
    Ref(RefCall),
    Source(String, String),
    /// `this`: the model's own relation (an incremental model's previous state).
    This,
}

/// One `given` entry.
#[derive(Debug, Clone)]
pub struct Input {
    /// `input:` as written: `ref('stg_orders')`, `source('shop', 'payments')`, `this`.
    pub input: String,
    pub target: InputTarget,
    pub fixture: Fixture,
}

/// `overrides:`: what `macros` (by name), `var()` and `env_var()` return in the model's SQL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub macros: Map<String, Value>,
    pub vars: Map<String, Value>,
    pub env_vars: Map<String, Value>,
}

/// A unit test of one model (of one version of a versioned model).
#[derive(Debug, Clone)]
pub struct UnitTest {
    /// `unit_test.<package>.<model>.<name>` (`<name>_v<version>` for each tested version).
    pub unique_id: String,
    pub name: String,
    /// The tested model's name as written (`model:`).
    pub model: String,
    /// The tested model's unique_id.
    pub model_id: String,
    pub version: Option<String>,
    /// `versions:` as written.
    pub versions: Option<Value>,
    pub package_name: String,
    /// Path of the properties file relative to its resource folder.
    pub path: String,
    pub original_file_path: String,
    /// The properties file as shown to the user.
    pub file: PathBuf,
    pub fqn: Vec<String>,
    pub description: String,
    pub given: Vec<Input>,
    pub expect: Fixture,
    /// `overrides:` as written (`None` when absent, as dbt writes it).
    pub overrides: Option<Overrides>,
    /// `tags`, `meta`, `enabled`.
    pub config: Map<String, Value>,
    /// sha256 of the definition, hex.
    pub checksum: String,
    /// The `unit_tests[i]` entry.
    pub span: YamlSpan,
}

impl UnitTest {
    pub fn tags(&self) -> Vec<String> {
        super::config::tags_of(&self.config)
    }

    pub fn meta(&self) -> Map<String, Value> {
        self.config
            .get("meta")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    pub fn overrides_or_default(&self) -> Overrides {
        self.overrides.clone().unwrap_or_default()
    }
}

/// A CTE name for an input, as dbt names its fixtures: `__dbt__cte__<model>` for a ref (and
/// `this`), `__dbt__cte__<source>__<table>` for a source.
pub fn cte_name(target: &InputTarget, model: &str) -> String {
    match target {
        InputTarget::Ref(r) => format!("__dbt__cte__{}", r.name),
        InputTarget::Source(s, t) => format!("__dbt__cte__{s}__{t}"),
        InputTarget::This => format!("__dbt__cte__{model}"),
    }
}

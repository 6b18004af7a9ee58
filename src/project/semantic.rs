//! The semantic layer's YAML: `semantic_models`, `metrics` and `saved_queries` in properties
//! files. Their filters (a metric's `filter`, a saved query's `where`) are MetricFlow's
//! templates (`{{ Dimension('order_id__is_food_order') }} = true`), never dbt's Jinja: the
//! properties loader renders these sections apart, leaving those keys as written.

use serde_json::{Map, Value};

/// The top-level keys of a properties file that hold the semantic layer.
pub const SECTIONS: &[&str] = &["semantic_models", "metrics", "saved_queries"];

/// Moves the semantic layer's sections out of a properties file's JSON, into an object of
/// their own (the same keys, so locations found in it are the file's).
pub fn take_sections(file: &mut Value) -> Value {
    let mut out = Map::new();
    if let Value::Object(m) = file {
        for key in SECTIONS {
            if let Some(v) = m.remove(*key) {
                out.insert((*key).to_string(), v);
            }
        }
    }
    Value::Object(out)
}

/// Puts back what [`take_sections`] took (rendered).
pub fn put_sections(file: &mut Value, sections: Value) {
    if let (Value::Object(m), Value::Object(s)) = (file, sections) {
        m.extend(s);
    }
}

use crate::error::Location;
use crate::project::node::RefCall;

/// The three kinds of the semantic layer's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SemanticKind {
    SemanticModel,
    Metric,
    SavedQuery,
}

impl SemanticKind {
    /// dbt's `resource_type` (and the unique_id's first part).
    pub fn as_str(self) -> &'static str {
        match self {
            SemanticKind::SemanticModel => "semantic_model",
            SemanticKind::Metric => "metric",
            SemanticKind::SavedQuery => "saved_query",
        }
    }

    pub fn resource_type(self) -> crate::project::node::ResourceType {
        use crate::project::node::ResourceType;
        match self {
            SemanticKind::SemanticModel => ResourceType::SemanticModel,
            SemanticKind::Metric => ResourceType::Metric,
            SemanticKind::SavedQuery => ResourceType::SavedQuery,
        }
    }

    /// The properties file's key that lists them.
    pub fn section(self) -> &'static str {
        match self {
            SemanticKind::SemanticModel => "semantic_models",
            SemanticKind::Metric => "metrics",
            SemanticKind::SavedQuery => "saved_queries",
        }
    }
}

/// A name one resource points at, and where it is written.
#[derive(Debug, Clone)]
pub struct NameAt {
    pub name: String,
    pub at: Location,
}

/// A semantic model, metric or saved query as its properties file declares it.
#[derive(Debug, Clone)]
pub struct SemanticNode {
    pub kind: SemanticKind,
    pub unique_id: String,
    pub name: String,
    pub package_name: String,
    pub path: String,
    pub original_file_path: String,
    pub fqn: Vec<String>,
    /// The entry as written (Jinja rendered, filters kept as text).
    pub spec: Map<String, Value>,
    /// Where its name is, for messages.
    pub at: Location,
    /// A semantic model's `model: ref('x')`.
    pub model: Option<(RefCall, Location)>,
    /// The measures a metric reads directly (simple, cumulative, conversion), in order.
    pub measures: Vec<NameAt>,
    /// The metrics a ratio or derived metric, or a saved query, reads, in order.
    pub metrics: Vec<NameAt>,
}

/// The measure names of a semantic model's entry.
pub fn measure_names(spec: &Map<String, Value>) -> Vec<&str> {
    names_in(spec, "measures")
}

/// The `name`s of the items of the list under `key`.
pub fn names_in<'a>(spec: &'a Map<String, Value>, key: &str) -> Vec<&'a str> {
    spec.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// The measure inputs a metric names directly, as written (`revenue` or `{name: revenue,
/// fill_nulls_with: 0}`): a simple or cumulative metric's measure, a conversion metric's base
/// and conversion measures.
pub fn measure_inputs(spec: &Map<String, Value>) -> Vec<Value> {
    let Some(tp) = spec.get("type_params") else {
        return vec![];
    };
    let mut out: Vec<Value> = tp.get("measure").into_iter().cloned().collect();
    if let Some(c) = tp.get("conversion_type_params") {
        for key in ["base_measure", "conversion_measure"] {
            out.extend(c.get(key).cloned());
        }
    }
    out
}

/// A metric input (`measure: name` or `measure: {name: ..}`): its name.
pub fn input_name(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(m) => m.get("name").and_then(Value::as_str),
        _ => None,
    }
}

/// A resource's `tags` (its own and its config's).
pub fn tags(spec: &Map<String, Value>) -> Vec<String> {
    let mut out = vec![];
    for v in [
        spec.get("tags"),
        spec.get("config").and_then(|c| c.get("tags")),
    ]
    .into_iter()
    .flatten()
    {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => out.extend(a.iter().filter_map(Value::as_str).map(String::from)),
            _ => {}
        }
    }
    out
}

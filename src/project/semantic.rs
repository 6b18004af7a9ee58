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
    /// Its config as dbt settles it ([`settle_config`]): `enabled`, `group`, `meta`, `tags`...
    pub config: Map<String, Value>,
    /// dbt's `unrendered_config` for it.
    pub unrendered_config: Map<String, Value>,
}

impl SemanticNode {
    /// Whether its settled config leaves it enabled.
    pub fn enabled(&self) -> bool {
        self.config.get("enabled").and_then(Value::as_bool) != Some(false)
    }
}

/// A semantic resource's config as dbt-core 1.11 settles it, and its `unrendered_config`:
/// `enabled: true`, then what dbt_project.yml's tree for its kind (`semantic-models:`,
/// `metrics:`, `saved-queries:`) gives its fqn, then its own `config:` (a `group` or `meta`
/// written beside `config:` counts as one), each key replacing the project's (`tags` too)
/// except `meta`, merged key by key. dbt writes a metric's `unrendered_config` as the project's
/// settings under its own; a semantic model's and a saved query's as its own `config:` only.
pub fn settle_config(
    kind: SemanticKind,
    tree: &Map<String, Value>,
    fqn: &[String],
    spec: &Map<String, Value>,
) -> (Map<String, Value>, Map<String, Value>) {
    use crate::project::config::{
        normalize_key, project_config_for, unrendered_project_config_for,
    };
    let written: Map<String, Value> = spec
        .get("config")
        .and_then(Value::as_object)
        .map(|c| {
            c.iter()
                .map(|(k, v)| (normalize_key(k), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut own = written.clone();
    for key in ["group", "meta"] {
        if let (false, Some(v)) = (own.contains_key(key), spec.get(key)) {
            own.insert(key.to_string(), v.clone());
        }
    }
    let mut config = Map::new();
    config.insert("enabled".into(), Value::Bool(true));
    for (k, v) in project_config_for(tree, fqn) {
        config.insert(k, v);
    }
    for (k, v) in own {
        match (config.get_mut(&k), v) {
            (Some(Value::Object(base)), Value::Object(layer)) if k == "meta" => base.extend(layer),
            (_, v) => {
                config.insert(k, v);
            }
        }
    }
    let unrendered = match kind {
        SemanticKind::Metric => {
            let mut u = unrendered_project_config_for(tree, fqn);
            u.extend(written);
            u
        }
        SemanticKind::SemanticModel | SemanticKind::SavedQuery => written,
    };
    (config, unrendered)
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

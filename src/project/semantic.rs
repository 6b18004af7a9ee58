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

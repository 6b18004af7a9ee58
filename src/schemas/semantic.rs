//! The semantic layer's dicts, as dbt's manifest writes them: `semantic_models`, `metrics` and
//! `saved_queries` entries, every field dbt writes present (its default when the YAML leaves
//! it out). Filters stay the text written (`where_sql_template`), never rendered.

use crate::project::Node;
use crate::project::semantic::{SemanticKind, SemanticNode};
use serde_json::{Map, Value, json};

/// What a semantic resource's dict needs from the rest of the project.
pub struct SemanticFacts<'a> {
    pub depends_on: &'a [String],
    /// A semantic model's model.
    pub model: Option<&'a Node>,
    /// A metric's measure inputs as written, its metrics' included (dbt's `input_measures`).
    pub input_measures: Vec<Value>,
    /// The target's database and schema (a saved query's exports default to them).
    pub database: &'a str,
    pub schema: &'a str,
}

/// The dict of a semantic model, metric or saved query.
pub fn semantic_json(n: &SemanticNode, facts: &SemanticFacts<'_>) -> Value {
    let (depends_on, model) = (facts.depends_on, facts.model);
    let mut d = Map::new();
    d.insert("name".into(), json!(n.name));
    d.insert("resource_type".into(), json!(n.kind.as_str()));
    d.insert("package_name".into(), json!(n.package_name));
    d.insert("path".into(), json!(n.path));
    d.insert("original_file_path".into(), json!(n.original_file_path));
    d.insert("unique_id".into(), json!(n.unique_id));
    d.insert("fqn".into(), json!(n.fqn));
    let s = &n.spec;
    let get = |k: &str| s.get(k).cloned().unwrap_or(Value::Null);
    let config = config_json(n);
    let refs: Vec<Value> = n
        .model
        .iter()
        .map(|(r, _)| json!({"name": r.name, "package": r.package, "version": r.version}))
        .collect();
    let depends = json!({"macros": [], "nodes": depends_on});
    match n.kind {
        SemanticKind::SemanticModel => {
            d.insert("model".into(), get("model"));
            d.insert(
                "node_relation".into(),
                model.map_or(Value::Null, |m| {
                    json!({
                        "alias": m.alias,
                        "schema_name": m.schema,
                        "database": m.database,
                        "relation_name": m.relation_name,
                    })
                }),
            );
            d.insert("description".into(), get("description"));
            d.insert("label".into(), get("label"));
            d.insert("defaults".into(), get("defaults"));
            d.insert("entities".into(), items(s, "entities", entity));
            d.insert("measures".into(), items(s, "measures", measure));
            d.insert("dimensions".into(), items(s, "dimensions", dimension));
            d.insert("metadata".into(), Value::Null);
            d.insert("depends_on".into(), depends);
            d.insert("refs".into(), json!(refs));
            d.insert("created_at".into(), json!(created_at()));
            d.insert("config".into(), config);
            d.insert("unrendered_config".into(), unrendered(n));
            d.insert("primary_entity".into(), get("primary_entity"));
            d.insert("group".into(), group(n));
        }
        SemanticKind::Metric => {
            d.insert(
                "description".into(),
                json!(s.get("description").and_then(Value::as_str).unwrap_or("")),
            );
            d.insert("label".into(), get("label"));
            d.insert("type".into(), get("type"));
            d.insert("type_params".into(), type_params(n, &facts.input_measures));
            d.insert("filter".into(), filter(s.get("filter")));
            d.insert("metadata".into(), Value::Null);
            d.insert("time_granularity".into(), get("time_granularity"));
            d.insert(
                "meta".into(),
                n.config.get("meta").cloned().unwrap_or_else(|| json!({})),
            );
            // dbt-core 1.11 writes a metric's own `tags:` here; its config's stay in `config`.
            d.insert("tags".into(), json!(string_list(s.get("tags"))));
            d.insert("config".into(), config);
            d.insert("unrendered_config".into(), unrendered(n));
            d.insert("sources".into(), json!([]));
            d.insert("depends_on".into(), depends);
            d.insert("refs".into(), json!([]));
            d.insert("metrics".into(), json!([]));
            d.insert("created_at".into(), json!(created_at()));
            d.insert("group".into(), group(n));
        }
        SemanticKind::SavedQuery => {
            let q = s
                .get("query_params")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let list = |k: &str| q.get(k).cloned().unwrap_or_else(|| json!([]));
            d.insert(
                "query_params".into(),
                json!({
                    "metrics": list("metrics"),
                    "group_by": list("group_by"),
                    "where": filter(q.get("where")),
                    "order_by": list("order_by"),
                    "limit": q.get("limit").cloned().unwrap_or(Value::Null),
                }),
            );
            d.insert(
                "exports".into(),
                items(s, "exports", |e| export(e, n, facts)),
            );
            d.insert("description".into(), get("description"));
            d.insert("label".into(), get("label"));
            d.insert("metadata".into(), Value::Null);
            let mut config = config;
            if let Value::Object(c) = &mut config {
                for (k, default) in [
                    ("export_as", Value::Null),
                    ("schema", Value::Null),
                    ("cache", json!({"enabled": false})),
                ] {
                    if !c.contains_key(k) {
                        c.insert(k.into(), default);
                    }
                }
            }
            d.insert("config".into(), config);
            d.insert("unrendered_config".into(), unrendered(n));
            d.insert("group".into(), group(n));
            d.insert("depends_on".into(), depends);
            d.insert("created_at".into(), json!(created_at()));
            d.insert("refs".into(), json!([]));
            // Its own `tags:` and its settled config's, each once.
            let mut tags = string_list(s.get("tags"));
            for t in string_list(n.config.get("tags")) {
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            d.insert("tags".into(), json!(tags));
        }
    }
    Value::Object(d)
}

fn created_at() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `config`: the settled config (`project::semantic::settle_config`), with dbt's `enabled`,
/// `group` and `meta` always present and any other key set (`tags`...) as written.
fn config_json(n: &SemanticNode) -> Value {
    let mut c = n.config.clone();
    c.entry("enabled").or_insert(Value::Bool(true));
    c.entry("group").or_insert(Value::Null);
    c.entry("meta").or_insert_with(|| json!({}));
    Value::Object(c)
}

fn group(n: &SemanticNode) -> Value {
    n.config.get("group").cloned().unwrap_or(Value::Null)
}

fn unrendered(n: &SemanticNode) -> Value {
    Value::Object(n.unrendered_config.clone())
}

/// `tags` as written: a string or a list of strings.
fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => vec![],
    }
}

fn items(s: &Map<String, Value>, key: &str, f: impl Fn(&Value) -> Value) -> Value {
    Value::Array(
        s.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().map(f).collect())
            .unwrap_or_default(),
    )
}

fn field(v: &Value, k: &str) -> Value {
    v.get(k).cloned().unwrap_or(Value::Null)
}

/// An expression field: dbt keeps it as text (`expr: 1` is `"1"`).
fn expr(v: &Value) -> Value {
    match v.get("expr") {
        Some(Value::String(s)) => json!(s),
        Some(Value::Null) | None => Value::Null,
        Some(Value::Bool(b)) => json!(if *b { "True" } else { "False" }),
        Some(other) => json!(other.to_string()),
    }
}

fn item_config(v: &Value) -> Value {
    json!({"meta": v.get("config").and_then(|c| c.get("meta")).or_else(|| v.get("meta")).cloned().unwrap_or_else(|| json!({}))})
}

fn entity(v: &Value) -> Value {
    json!({
        "name": field(v, "name"),
        "type": field(v, "type"),
        "description": field(v, "description"),
        "label": field(v, "label"),
        "role": field(v, "role"),
        "expr": expr(v),
        "config": item_config(v),
    })
}

fn measure(v: &Value) -> Value {
    json!({
        "name": field(v, "name"),
        "agg": field(v, "agg"),
        "description": field(v, "description"),
        "label": field(v, "label"),
        "create_metric": v.get("create_metric").cloned().unwrap_or(Value::Bool(false)),
        "expr": expr(v),
        "agg_params": field(v, "agg_params"),
        "non_additive_dimension": field(v, "non_additive_dimension"),
        "agg_time_dimension": field(v, "agg_time_dimension"),
        "config": item_config(v),
    })
}

fn dimension(v: &Value) -> Value {
    let type_params = v.get("type_params").map(|tp| {
        json!({
            "time_granularity": field(tp, "time_granularity"),
            "validity_params": field(tp, "validity_params"),
        })
    });
    json!({
        "name": field(v, "name"),
        "type": field(v, "type"),
        "description": field(v, "description"),
        "label": field(v, "label"),
        "is_partition": v.get("is_partition").cloned().unwrap_or(Value::Bool(false)),
        "type_params": type_params.unwrap_or(Value::Null),
        "expr": expr(v),
        "metadata": Value::Null,
        "config": item_config(v),
    })
}

fn export(v: &Value, n: &SemanticNode, facts: &SemanticFacts<'_>) -> Value {
    let name = field(v, "name");
    let own = v.get("config").cloned().unwrap_or_else(|| json!({}));
    let pick = |k: &str| own.get(k).cloned();
    json!({
        "name": name,
        "config": {
            "export_as": pick("export_as").unwrap_or_else(|| json!("table")),
            "schema_name": pick("schema").or_else(|| n.config.get("schema").cloned()).unwrap_or_else(|| json!(facts.schema)),
            "alias": pick("alias").unwrap_or_else(|| name.clone()),
            "database": pick("database").unwrap_or_else(|| json!(facts.database)),
        },
        "unrendered_config": own,
    })
}

/// A filter (`filter:` or `where:`, a string or a list of them) as dbt's `WhereFilterIntersection`.
fn filter(v: Option<&Value>) -> Value {
    let templates: Vec<Value> = match v {
        Some(Value::String(s)) => vec![json!({"where_sql_template": s})],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|s| json!({"where_sql_template": s}))
            .collect(),
        _ => return Value::Null,
    };
    json!({"where_filters": templates})
}

/// A measure input (`measure: name` or a mapping) as dbt's `MetricInputMeasure`.
fn input_measure(v: &Value) -> Value {
    let (name, m) = match v {
        Value::String(s) => (json!(s), Map::new()),
        Value::Object(m) => (field(v, "name"), m.clone()),
        _ => return Value::Null,
    };
    json!({
        "name": name,
        "filter": filter(m.get("filter")),
        "alias": m.get("alias").cloned().unwrap_or(Value::Null),
        "join_to_timespine": m.get("join_to_timespine").cloned().unwrap_or(Value::Bool(false)),
        "fill_nulls_with": m.get("fill_nulls_with").cloned().unwrap_or(Value::Null),
    })
}

/// A metric input (ratio's numerator, derived's metrics) as dbt's `MetricInput`.
fn input_metric(v: &Value) -> Value {
    let (name, m) = match v {
        Value::String(s) => (json!(s), Map::new()),
        Value::Object(m) => (field(v, "name"), m.clone()),
        _ => return Value::Null,
    };
    json!({
        "name": name,
        "filter": filter(m.get("filter")),
        "alias": m.get("alias").cloned().unwrap_or(Value::Null),
        "offset_window": duration(m.get("offset_window")),
        "offset_to_grain": m.get("offset_to_grain").cloned().unwrap_or(Value::Null),
    })
}

/// A window or offset (`1 month`, `7 days`) as dbt's `{count, granularity}`.
fn duration(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => {
            let mut parts = s.split_whitespace();
            match (
                parts.next().and_then(|c| c.parse::<i64>().ok()),
                parts.next(),
                parts.next(),
            ) {
                (Some(count), Some(unit), None) => {
                    let unit = unit.to_ascii_lowercase();
                    let unit = unit.strip_suffix('s').unwrap_or(&unit);
                    json!({"count": count, "granularity": unit})
                }
                _ => json!(s),
            }
        }
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

fn type_params(n: &SemanticNode, input: &[Value]) -> Value {
    let tp = n
        .spec
        .get("type_params")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let kind = n.spec.get("type").and_then(Value::as_str).unwrap_or("");
    let measure = tp.get("measure").map_or(Value::Null, input_measure);
    // The measures the metric reads directly; ratio and derived metrics list their metrics'
    // measures, which dbt fills in once every metric is known (kiln: its direct ones).
    // Each distinct input once, in order.
    let mut input_measures: Vec<Value> = vec![];
    for m in input.iter().map(input_measure) {
        if !input_measures.contains(&m) {
            input_measures.push(m);
        }
    }
    let cumulative = (kind == "cumulative").then(|| {
        let c = tp.get("cumulative_type_params").cloned().unwrap_or_else(|| json!({}));
        json!({
            "window": duration(c.get("window").or_else(|| tp.get("window"))),
            "grain_to_date": c.get("grain_to_date").or_else(|| tp.get("grain_to_date")).cloned().unwrap_or(Value::Null),
            "period_agg": c.get("period_agg").cloned().unwrap_or_else(|| json!("first")),
            "metric": c.get("metric").cloned().unwrap_or(Value::Null),
        })
    });
    let conversion = tp.get("conversion_type_params").map(|c| {
        json!({
            "base_measure": c.get("base_measure").map_or(Value::Null, input_measure),
            "conversion_measure": c.get("conversion_measure").map_or(Value::Null, input_measure),
            "entity": field(c, "entity"),
            "calculation": c.get("calculation").cloned().unwrap_or_else(|| json!("conversion_rate")),
            "window": duration(c.get("window")),
            "constant_properties": field(c, "constant_properties"),
        })
    });
    json!({
        "measure": measure,
        "input_measures": input_measures,
        "numerator": tp.get("numerator").map_or(Value::Null, input_metric),
        "denominator": tp.get("denominator").map_or(Value::Null, input_metric),
        "expr": tp.get("expr").map_or(Value::Null, |e| match e {
            Value::String(s) => json!(s),
            other => json!(other.to_string()),
        }),
        "window": duration(tp.get("window")),
        "grain_to_date": field(&tp, "grain_to_date"),
        "metrics": tp.get("metrics").and_then(Value::as_array).map_or_else(Vec::new, |a| a.iter().map(input_metric).collect()),
        "conversion_type_params": conversion.unwrap_or(Value::Null),
        "cumulative_type_params": cumulative.unwrap_or(Value::Null),
        "metric_aggregation_params": field(&tp, "metric_aggregation_params"),
    })
}

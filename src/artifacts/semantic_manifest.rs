//! `target/semantic_manifest.json`: the semantic layer as MetricFlow reads it (dbt writes it
//! beside manifest.json): the semantic models, metrics and saved queries with the fields
//! MetricFlow's schema has, in its order, and the project's configuration (the time spines).
//! Built from the same dicts as manifest.json's sections.

use super::manifest::semantic_dicts;
use crate::error::Error;
use crate::graph::Graph;
use crate::project::Project;
use crate::project::semantic::SemanticKind;
use serde_json::{Map, Value, json};
use std::path::Path;

/// `keys` of `v`, in that order (a key `v` lacks is null).
fn pick(v: &Value, keys: &[&str]) -> Value {
    let mut out = Map::new();
    for k in keys {
        out.insert((*k).to_string(), v.get(*k).cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

fn pick_all(v: Option<&Value>, keys: &[&str]) -> Value {
    Value::Array(
        v.and_then(Value::as_array)
            .map(|a| a.iter().map(|x| pick(x, keys)).collect())
            .unwrap_or_default(),
    )
}

fn semantic_model(d: &Value) -> Value {
    let mut out = pick(
        d,
        &[
            "name",
            "defaults",
            "description",
            "node_relation",
            "primary_entity",
        ],
    );
    if let Value::Object(o) = &mut out {
        o.insert(
            "entities".into(),
            pick_all(
                d.get("entities"),
                &[
                    "name",
                    "description",
                    "type",
                    "role",
                    "expr",
                    "metadata",
                    "label",
                    "config",
                ],
            ),
        );
        o.insert(
            "measures".into(),
            pick_all(
                d.get("measures"),
                &[
                    "name",
                    "agg",
                    "description",
                    "create_metric",
                    "expr",
                    "agg_params",
                    "metadata",
                    "non_additive_dimension",
                    "agg_time_dimension",
                    "label",
                    "config",
                ],
            ),
        );
        o.insert(
            "dimensions".into(),
            pick_all(
                d.get("dimensions"),
                &[
                    "name",
                    "description",
                    "type",
                    "is_partition",
                    "type_params",
                    "expr",
                    "metadata",
                    "label",
                    "config",
                ],
            ),
        );
        o.insert(
            "label".into(),
            d.get("label").cloned().unwrap_or(Value::Null),
        );
        o.insert("metadata".into(), Value::Null);
        o.insert(
            "config".into(),
            json!({"meta": d.get("config").and_then(|c| c.get("meta")).cloned().unwrap_or_else(|| json!({}))}),
        );
    }
    out
}

fn metric(d: &Value) -> Value {
    let mut out = pick(d, &["name", "description", "type"]);
    let tp = d.get("type_params").cloned().unwrap_or_else(|| json!({}));
    let mut params = pick(
        &tp,
        &[
            "measure",
            "numerator",
            "denominator",
            "expr",
            "window",
            "grain_to_date",
            "metrics",
            "conversion_type_params",
            "cumulative_type_params",
            "input_measures",
        ],
    );
    if let Some(c) = tp.get("cumulative_type_params").filter(|c| !c.is_null())
        && let Value::Object(p) = &mut params
    {
        p.insert(
            "cumulative_type_params".into(),
            pick(c, &["window", "grain_to_date", "period_agg"]),
        );
    }
    if let Value::Object(o) = &mut out {
        o.insert("type_params".into(), params);
        for k in ["filter", "metadata", "label"] {
            o.insert(k.into(), d.get(k).cloned().unwrap_or(Value::Null));
        }
        o.insert(
            "config".into(),
            json!({"meta": d.get("config").and_then(|c| c.get("meta")).cloned().unwrap_or_else(|| json!({}))}),
        );
        o.insert(
            "time_granularity".into(),
            d.get("time_granularity").cloned().unwrap_or(Value::Null),
        );
    }
    out
}

fn saved_query(d: &Value) -> Value {
    let mut out = pick(d, &["name"]);
    let q = d.get("query_params").cloned().unwrap_or_else(|| json!({}));
    if let Value::Object(o) = &mut out {
        o.insert(
            "query_params".into(),
            pick(&q, &["metrics", "group_by", "order_by", "limit", "where"]),
        );
        for k in ["description", "metadata", "label"] {
            o.insert(k.into(), d.get(k).cloned().unwrap_or(Value::Null));
        }
        let exports: Vec<Value> = d
            .get("exports")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|e| {
                        json!({
                            "name": e.get("name").cloned().unwrap_or(Value::Null),
                            "config": pick(
                                e.get("config").unwrap_or(&Value::Null),
                                &["export_as", "schema_name", "alias"],
                            ),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        o.insert("exports".into(), Value::Array(exports));
        o.insert(
            "tags".into(),
            d.get("tags").cloned().unwrap_or_else(|| json!([])),
        );
    }
    out
}

/// The time spines: the legacy `metricflow_time_spine` model (its `date_day` at day grain), and
/// the models with a `time_spine:` property.
fn project_configuration(project: &Project) -> Value {
    let legacy: Vec<Value> = project
        .nodes
        .values()
        .filter(|n| n.name == "metricflow_time_spine" && n.package_name == project.name)
        .filter_map(|n| n.relation_name.as_ref())
        .map(|r| json!({"location": r, "column_name": "date_day", "grain": "day"}))
        .collect();
    // Models with a `time_spine:` property (dbt 1.9), their primary column at its granularity.
    let spines: Vec<Value> = project
        .time_spines
        .iter()
        .filter_map(|(uid, ts)| {
            let n = project.nodes.get(uid)?;
            let primary = ts.get("standard_granularity_column")?.as_str()?;
            let grain = n.columns.get(primary).and_then(|c| c.granularity.clone());
            Some(json!({
                "node_relation": {
                    "alias": n.alias,
                    "schema_name": n.schema,
                    "database": n.database,
                    "relation_name": n.relation_name,
                },
                "primary_column": {"name": primary, "time_granularity": grain},
                "custom_granularities": ts.get("custom_granularities").cloned().unwrap_or_else(|| json!([])),
            }))
        })
        .collect();
    json!({
        "time_spine_table_configurations": legacy,
        "metadata": null,
        "dsi_package_version": {"major_version": "0", "minor_version": "9", "patch_version": "0"},
        "time_spines": spines,
    })
}

/// The whole file.
pub fn semantic_manifest_json(project: &Project, graph: &Graph) -> Value {
    let list = |kind: SemanticKind, f: fn(&Value) -> Value| -> Value {
        Value::Array(
            semantic_dicts(project, graph, kind)
                .map(|(_, d)| f(&d))
                .collect(),
        )
    };
    json!({
        "semantic_models": list(SemanticKind::SemanticModel, semantic_model),
        "metrics": list(SemanticKind::Metric, metric),
        "project_configuration": project_configuration(project),
        "saved_queries": list(SemanticKind::SavedQuery, saved_query),
    })
}

/// Writes `target/semantic_manifest.json` when the project has a semantic layer.
pub fn write_semantic_manifest(dir: &Path, project: &Project, graph: &Graph) -> Result<(), Error> {
    if project.semantic.is_empty() {
        return Ok(());
    }
    let text = semantic_manifest_json(project, graph).to_string();
    super::write_atomic(&dir.join("semantic_manifest.json"), text.as_bytes())
}

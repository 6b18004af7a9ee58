//! `semantic_models:`, `metrics:` and `saved_queries:` in properties YAML: each entry becomes a
//! [`SemanticNode`], checked where one file says enough (required keys, known metric types,
//! entity, dimension and measure names unique in their semantic model). What needs the whole
//! project (the model exists, a metric's measures and metrics exist, measure names unique across
//! semantic models) is checked with the graph (`graph::semantic`).

use super::Loader;
use super::patch::FileCtx;
use crate::error::Diagnostic;
use crate::project::refs::{RefOrSource, parse_ref_or_source};
use crate::project::semantic::{NameAt, SemanticKind, SemanticNode, input_name};
use crate::project::yaml::{Part, Step};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

const METRIC_TYPES: &[&str] = &["simple", "ratio", "cumulative", "derived", "conversion"];

impl Loader {
    /// Adds the semantic layer's entries of one properties file.
    pub(super) fn add_semantic(
        &mut self,
        sections: [(SemanticKind, &Option<Value>); 3],
        ctx: &FileCtx<'_>,
    ) {
        for (kind, list) in sections {
            let Some(list) = list else { continue };
            let section = kind.section();
            let Some(items) = list.as_array() else {
                self.diags.push(
                    Diagnostic::error("yaml", format!("`{section}` must be a list"))
                        .at(ctx.at(&[Step::key(section)], Part::Value)),
                );
                continue;
            };
            for (i, item) in items.iter().enumerate() {
                let base = [Step::key(section), Step::Index(i)];
                let at = |steps: &[Step], part: Part| {
                    let mut p = base.to_vec();
                    p.extend_from_slice(steps);
                    ctx.at(&p, part)
                };
                let Some(spec) = item.as_object() else {
                    self.diags.push(
                        Diagnostic::error(
                            "yaml",
                            format!("each entry of `{section}` must be a mapping"),
                        )
                        .at(at(&[], Part::Value)),
                    );
                    continue;
                };
                let Some(name) = spec.get("name").and_then(Value::as_str) else {
                    self.diags.push(
                        Diagnostic::error(
                            "semantic",
                            format!("an entry of `{section}` has no `name`"),
                        )
                        .at(at(&[], Part::Value))
                        .with_help("give it a name: `- name: orders`"),
                    );
                    continue;
                };
                let name_at = at(&[Step::key("name")], Part::Value);
                let mut node = SemanticNode {
                    kind,
                    unique_id: format!("{}.{}.{name}", kind.as_str(), self.name),
                    name: name.to_string(),
                    package_name: self.name.clone(),
                    path: ctx.f.path.clone(),
                    original_file_path: ctx.f.original_file_path.clone(),
                    fqn: {
                        let mut fqn = vec![self.name.clone()];
                        fqn.extend(ctx.f.folders());
                        fqn.push(name.to_string());
                        fqn
                    },
                    spec: spec.clone(),
                    at: name_at.clone(),
                    model: None,
                    measures: vec![],
                    metrics: vec![],
                    config: Map::new(),
                    unrendered_config: Map::new(),
                };
                (node.config, node.unrendered_config) = crate::project::semantic::settle_config(
                    kind,
                    &self.cfg.config_tree(kind.resource_type()),
                    &node.fqn,
                    &node.spec,
                );
                let problem = match kind {
                    SemanticKind::SemanticModel => semantic_model(&mut node, &at),
                    SemanticKind::Metric => metric(&mut node, &at),
                    SemanticKind::SavedQuery => saved_query(&mut node, &at),
                };
                if let Err(d) = problem {
                    self.diags.push(d);
                    continue;
                }
                if let Some(first) = self
                    .semantic
                    .get(&node.unique_id)
                    .or_else(|| self.disabled_semantic.get(&node.unique_id))
                {
                    self.diags.push(
                        Diagnostic::error(
                            "semantic",
                            format!(
                                "two {}s are named '{name}' (the other is in {})",
                                kind.as_str().replace('_', " "),
                                first.original_file_path
                            ),
                        )
                        .at(name_at)
                        .with_help("rename one of them"),
                    );
                    continue;
                }
                if node.enabled() {
                    self.semantic.insert(node.unique_id.clone(), node);
                } else {
                    self.disabled_semantic.insert(node.unique_id.clone(), node);
                }
            }
        }
    }
}

type At<'a> = dyn Fn(&[Step], Part) -> crate::error::Location + 'a;

fn semantic_model(node: &mut SemanticNode, at: &At<'_>) -> Result<(), Diagnostic> {
    let Some(model) = node.spec.get("model").and_then(Value::as_str) else {
        return Err(Diagnostic::error(
            "semantic",
            format!("semantic model '{}' has no `model`", node.name),
        )
        .at(node.at.clone())
        .with_help("name the model it reads: `model: ref('orders')`"));
    };
    let model_at = at(&[Step::key("model")], Part::Value);
    match parse_ref_or_source(model) {
        Some(RefOrSource::Ref(r)) => node.model = Some((r, model_at)),
        _ => {
            return Err(Diagnostic::error(
                "semantic",
                format!(
                    "semantic model '{}' has model '{model}', which is not a ref()",
                    node.name
                ),
            )
            .at(model_at)
            .with_help("write it as `model: ref('orders')`"));
        }
    }
    // Entity, dimension and measure names are unique within the semantic model.
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for key in ["entities", "dimensions", "measures"] {
        let Some(items) = node.spec.get(key).and_then(Value::as_array) else {
            continue;
        };
        for (j, item) in items.iter().enumerate() {
            let Some(name) = item.get("name").and_then(Value::as_str) else {
                return Err(Diagnostic::error(
                    "semantic",
                    format!(
                        "an entry of `{key}` in semantic model '{}' has no `name`",
                        node.name
                    ),
                )
                .at(at(&[Step::key(key), Step::Index(j)], Part::Value)));
            };
            if !seen.insert(name.to_string()) {
                return Err(Diagnostic::error(
                    "semantic",
                    format!(
                        "semantic model '{}' has two entities, dimensions or measures named '{name}'",
                        node.name
                    ),
                )
                .at(at(&[Step::key(key), Step::Index(j), Step::key("name")], Part::Value))
                .with_help("entity, dimension and measure names must be unique in a semantic model"));
            }
        }
    }
    Ok(())
}

fn metric(node: &mut SemanticNode, at: &At<'_>) -> Result<(), Diagnostic> {
    let kind = node
        .spec
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    let Some(kind) = kind.filter(|k| METRIC_TYPES.contains(&k.as_str())) else {
        return Err(Diagnostic::error(
            "semantic",
            format!("metric '{}' has no known `type`", node.name),
        )
        .at(at(&[Step::key("type")], Part::Value))
        .with_help("type is one of simple, ratio, cumulative, derived, conversion"));
    };
    let params = node
        .spec
        .get("type_params")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let tp = |steps: &[Step]| {
        let mut p = vec![Step::key("type_params")];
        p.extend_from_slice(steps);
        at(&p, Part::Value)
    };
    let missing = |what: &str| {
        Diagnostic::error(
            "semantic",
            format!("{kind} metric '{}' has no `type_params.{what}`", node.name),
        )
        .at(at(&[Step::key("type_params")], Part::Key))
    };
    match kind.as_str() {
        "simple" | "cumulative" => {
            // A cumulative metric may name its measure under type_params.measure.
            let m = params
                .get("measure")
                .and_then(input_name)
                .ok_or_else(|| missing("measure"))?;
            node.measures.push(NameAt {
                name: m.to_string(),
                at: tp(&[Step::key("measure")]),
            });
        }
        "conversion" => {
            let c = params
                .get("conversion_type_params")
                .and_then(Value::as_object)
                .ok_or_else(|| missing("conversion_type_params"))?;
            for key in ["base_measure", "conversion_measure"] {
                let m = c
                    .get(key)
                    .and_then(input_name)
                    .ok_or_else(|| missing(&format!("conversion_type_params.{key}")))?;
                node.measures.push(NameAt {
                    name: m.to_string(),
                    at: tp(&[Step::key("conversion_type_params"), Step::key(key)]),
                });
            }
        }
        "ratio" => {
            for key in ["numerator", "denominator"] {
                let m = params
                    .get(key)
                    .and_then(input_name)
                    .ok_or_else(|| missing(key))?;
                node.metrics.push(NameAt {
                    name: m.to_string(),
                    at: tp(&[Step::key(key)]),
                });
            }
        }
        _ => {
            let list = params
                .get("metrics")
                .and_then(Value::as_array)
                .ok_or_else(|| missing("metrics"))?;
            for (j, m) in list.iter().enumerate() {
                let name = input_name(m).ok_or_else(|| missing("metrics"))?;
                node.metrics.push(NameAt {
                    name: name.to_string(),
                    at: tp(&[Step::key("metrics"), Step::Index(j)]),
                });
            }
        }
    }
    node.spec.insert("type".into(), Value::String(kind));
    Ok(())
}

fn saved_query(node: &mut SemanticNode, at: &At<'_>) -> Result<(), Diagnostic> {
    let params: Map<String, Value> = node
        .spec
        .get("query_params")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let metrics = params
        .get("metrics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (j, m) in metrics.iter().enumerate() {
        if let Some(name) = m.as_str() {
            node.metrics.push(NameAt {
                name: name.to_string(),
                at: at(
                    &[
                        Step::key("query_params"),
                        Step::key("metrics"),
                        Step::Index(j),
                    ],
                    Part::Value,
                ),
            });
        }
    }
    Ok(())
}

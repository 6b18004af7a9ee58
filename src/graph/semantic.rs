//! The semantic layer in the graph, as dbt links it: a semantic model depends on its model, a
//! metric on the semantic models that define its measures (or, ratio and derived, on the
//! metrics it reads), a saved query on its metrics. What needs the whole project is checked
//! here: the model exists, the measures and metrics named exist, and measure names are unique
//! across semantic models (MetricFlow looks measures up by name).

use super::dag::Graph;
use super::dag::did_you_mean;
use crate::error::{Diagnostic, Diagnostics};
use crate::project::semantic::{SemanticKind, measure_names};
use crate::project::{Project, RefCall};
use std::collections::BTreeMap;

/// Adds the semantic layer's resources and their edges to `g`, each with its `depends_on`.
pub(super) fn add(
    project: &Project,
    g: &mut Graph,
    resolve_ref: &dyn Fn(&RefCall, &str) -> Result<String, String>,
    diags: &mut Diagnostics,
) {
    // measure name → the semantic model that defines it.
    let mut measures: BTreeMap<&str, &str> = BTreeMap::new();
    let mut metrics: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for (id, n) in &project.semantic {
        match n.kind {
            SemanticKind::SemanticModel => {
                for m in measure_names(&n.spec) {
                    if let Some(first) = measures.insert(m, id) {
                        diags.push(
                            Diagnostic::error(
                                "semantic",
                                format!(
                                    "measure '{m}' is defined by semantic models '{}' and '{}'",
                                    first.rsplit('.').next().unwrap_or(first),
                                    n.name
                                ),
                            )
                            .at(n.at.clone())
                            .with_help("measure names must be unique across semantic models"),
                        );
                    }
                }
            }
            SemanticKind::Metric => {
                metrics.insert((n.package_name.as_str(), n.name.as_str()), id);
            }
            SemanticKind::SavedQuery => {}
        }
    }
    for (id, n) in &project.semantic {
        g.add_node(id);
        let mut deps: Vec<String> = vec![];
        if let Some((r, at)) = &n.model {
            match resolve_ref(r, &n.package_name) {
                Ok(uid) => deps.push(uid),
                Err(_) => diags.push(
                    Diagnostic::error(
                        "semantic",
                        format!(
                            "semantic model '{}' reads model '{}', which does not exist",
                            n.name, r.name
                        ),
                    )
                    .at(at.clone())
                    .with_help(
                        did_you_mean(&r.name, project.nodes.values().map(|m| m.name.as_str()))
                            .map_or("check the name in model: ref('...')".into(), |s| {
                                format!("did you mean '{s}'?")
                            }),
                    ),
                ),
            }
        }
        for m in &n.measures {
            match measures.get(m.name.as_str()) {
                Some(sm) => deps.push((*sm).to_string()),
                None => diags.push(
                    Diagnostic::error(
                        "semantic",
                        format!(
                            "metric '{}' reads measure '{}', which no semantic model defines",
                            n.name, m.name
                        ),
                    )
                    .at(m.at.clone())
                    .with_help(
                        did_you_mean(&m.name, measures.keys().copied()).map_or(
                            "define the measure in a semantic model's measures".into(),
                            |s| format!("did you mean '{s}'?"),
                        ),
                    ),
                ),
            }
        }
        for m in &n.metrics {
            match metrics.get(&(n.package_name.as_str(), m.name.as_str())) {
                Some(uid) => deps.push((*uid).to_string()),
                None => diags.push(
                    Diagnostic::error(
                        "semantic",
                        format!(
                            "{} '{}' reads metric '{}', which does not exist",
                            n.kind.as_str().replace('_', " "),
                            n.name,
                            m.name
                        ),
                    )
                    .at(m.at.clone())
                    .with_help(
                        did_you_mean(&m.name, metrics.keys().map(|(_, name)| *name))
                            .map_or("check the metric's name".into(), |s| {
                                format!("did you mean '{s}'?")
                            }),
                    ),
                ),
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        deps.retain(|d| seen.insert(d.clone()));
        for d in &deps {
            g.add_edge(d, id);
        }
        g.depends_on.insert(id.clone(), deps);
    }
}

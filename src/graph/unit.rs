//! Unit tests in the graph: each is a child of the model it tests (dbt's `depends_on.nodes`), so
//! selecting a model selects its unit tests as it selects its data tests. Each `given` input is
//! checked here against what the model reads (its refs and sources, resolved by the graph): an
//! input that names nothing in the project, or a ref or source the model reads that the test
//! does not give, is an error at the input's line; an input the model does not read is a warning
//! (dbt runs such a test, its fixture unused).

use super::Graph;
use super::dag::RefNames;
use crate::error::{Diagnostic, Diagnostics};
use crate::project::origin::Files;
use crate::project::unit_test::{InputTarget, UnitTest};
use crate::project::yaml::{Part, Step, YamlSpan};
use crate::project::{Project, ResourceType};
use std::collections::BTreeMap;

/// Adds the unit tests whose model is enabled (one whose model was disabled at parse leaves with
/// it, as in dbt), checking their inputs.
pub(super) fn add(
    project: &Project,
    g: &mut Graph,
    names: &RefNames,
    diags: &mut Diagnostics,
) -> Vec<Diagnostic> {
    let mut warnings = vec![];
    let mut files = Files::new(&project.dir);
    for (uid, t) in &project.unit_tests {
        let Some(model) = project.nodes.get(&t.model_id) else {
            continue;
        };
        if model.resource_type != ResourceType::Model {
            continue;
        }
        let reads = reads_of(project, g, &t.model_id);
        let mut given_ids = vec![];
        for (i, input) in t.given.iter().enumerate() {
            let span = t
                .span
                .join([Step::key("given"), Step::Index(i), Step::key("input")]);
            let resolved = match &input.target {
                InputTarget::This => continue,
                InputTarget::Ref(r) => names.resolve(r, &t.package_name).ok(),
                InputTarget::Source(s, tb) => project
                    .resolve_source(s, tb, &t.package_name)
                    .map(String::from),
            };
            match resolved {
                Some(id) if reads.contains_key(&id) => given_ids.push(id),
                None => {
                    let listed: Vec<&str> = reads.values().map(String::as_str).collect();
                    diags.push(located(
                        &mut files,
                        &span,
                        t,
                        Diagnostic::error(
                            "unit-test",
                            format!(
                                "unit test '{}' gives input {}, which names nothing in the project",
                                t.name, input.input
                            ),
                        )
                        .with_help(if listed.is_empty() {
                            format!("model '{}' reads no ref() or source()", t.model)
                        } else {
                            format!("model '{}' reads {}", t.model, listed.join(", "))
                        }),
                    ));
                }
                Some(_) => {
                    let listed: Vec<&str> = reads.values().map(String::as_str).collect();
                    warnings.push(located(
                        &mut files,
                        &span,
                        t,
                        Diagnostic::warning(
                            "unit-test",
                            format!(
                                "unit test '{}' gives input {}, which model '{}' does not read",
                                t.name, input.input, t.model
                            ),
                        )
                        .with_help(if listed.is_empty() {
                            format!(
                                "model '{}' reads no ref() or source(): remove the input",
                                t.model
                            )
                        } else {
                            format!(
                                "its rows are never read: remove the input (model '{}' reads {})",
                                t.model,
                                listed.join(", ")
                            )
                        }),
                    ));
                }
            }
        }
        for (id, shown) in &reads {
            if !given_ids.contains(id) {
                diags.push(located(
                    &mut files,
                    &t.span.child(Step::key("given")),
                    t,
                    Diagnostic::error(
                        "unit-test",
                        format!(
                            "unit test '{}' gives no input for {shown}, which model '{}' reads",
                            t.name, t.model
                        ),
                    )
                    .with_help(format!(
                        "add `- input: {shown}` under given, with `rows: []` if the test needs it empty"
                    )),
                ));
            }
        }
        g.add_edge(&t.model_id, uid);
        g.depends_on.insert(uid.clone(), vec![t.model_id.clone()]);
    }
    warnings
}

/// What a model reads: the unique_id of each ref and source, with how a `given` input names it.
fn reads_of(project: &Project, g: &Graph, model: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (call, id) in g.refs.get(model).into_iter().flatten() {
        let shown = match (&call.package, &call.version) {
            (Some(p), _) => format!("ref('{p}', '{}')", call.name),
            (None, Some(v)) => format!("ref('{}', v={v})", call.name),
            (None, None) => format!("ref('{}')", call.name),
        };
        out.entry(id.clone()).or_insert(shown);
    }
    for id in g.depends_on(model) {
        if let Some(s) = project.sources.get(id) {
            out.entry(id.clone())
                .or_insert_with(|| format!("source('{}', '{}')", s.source_name, s.name));
        }
    }
    out
}

fn located(files: &mut Files<'_>, span: &YamlSpan, t: &UnitTest, d: Diagnostic) -> Diagnostic {
    match files.locate(span, Part::Value) {
        Some(loc) => d.at(loc),
        None => d.in_file(&t.file),
    }
}

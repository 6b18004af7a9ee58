//! dbt's warning for `dbt_project.yml` config paths that apply to no resource, e.g. a folder
//! renamed on disk but not in `models:` (dbt's UnusedResourceConfigPath event).
//!
//! As in dbt, a config path is the chain of non-`+` mapping keys down to a mapping that holds a
//! setting (`models: {shop: {marts: {+materialized: table}}}` gives `models.shop.marts`); it is
//! used when the fqn of some resource of that type, enabled or disabled, starts with it. The
//! paths are listed in the order dbt_project.yml gives them.

use super::Project;
use crate::error::{Diagnostic, Location};
use crate::project::ResourceType;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Collects the config paths of one resource type's tree, in file order.
fn config_paths(tree: &Map<String, Value>, path: &[String], out: &mut Vec<Vec<String>>) {
    for (key, value) in tree {
        match value {
            Value::Object(sub) if !key.starts_with('+') => {
                let mut deeper = path.to_vec();
                deeper.push(key.clone());
                config_paths(sub, &deeper, out);
            }
            _ => {
                if !out.iter().any(|p| p == path) {
                    out.push(path.to_vec());
                }
            }
        }
    }
}

/// Where `path` (under the top-level key `section`) is written in dbt_project.yml: each key
/// searched for after the previous one.
fn locate(text: &str, section: &str, path: &[String]) -> Option<usize> {
    let mut at = 0;
    for key in std::iter::once(section).chain(path.iter().map(String::as_str)) {
        let rest = text.get(at..)?;
        let found = [
            format!("{key}:"),
            format!("\"{key}\":"),
            format!("'{key}':"),
        ]
        .iter()
        .filter_map(|needle| {
            rest.match_indices(needle.as_str())
                .find(|(i, _)| {
                    let before = &rest[..*i];
                    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
                    before[line_start..].trim().is_empty()
                })
                .map(|(i, _)| i)
        })
        .min()?;
        at += found;
    }
    Some(at)
}

/// The warning for the project's unused config paths, if it has any.
pub fn unused_config_paths(project: &Project) -> Vec<Diagnostic> {
    let fqns = |types: &[ResourceType]| -> BTreeSet<&[String]> {
        let mut out: BTreeSet<&[String]> = project
            .nodes
            .values()
            .filter(|n| types.contains(&n.resource_type))
            .map(|n| n.fqn.as_slice())
            .collect();
        if types.contains(&ResourceType::Source) {
            out.extend(project.sources.values().map(|s| s.fqn.as_slice()));
        }
        if types.contains(&ResourceType::Exposure) {
            out.extend(project.exposures.values().map(|e| e.fqn.as_slice()));
        }
        out.extend(
            project
                .semantic
                .values()
                .filter(|s| types.contains(&s.kind.resource_type()))
                .map(|s| s.fqn.as_slice()),
        );
        // A disabled resource of any type keeps a path in use, as in dbt.
        out.extend(project.disabled.values().map(|n| n.fqn.as_slice()));
        out.extend(project.disabled_sources.values().map(|s| s.fqn.as_slice()));
        out.extend(project.disabled_semantic.values().map(|s| s.fqn.as_slice()));
        out
    };
    let c = &project.config;
    // dbt-core 1.11's order (recorded): the semantic layer's trees come after the tests', and
    // are named with underscores whichever spelling dbt_project.yml used.
    let sections: [(&str, &Map<String, Value>, ResourceType); 10] = [
        ("models", &c.models, ResourceType::Model),
        ("seeds", &c.seeds, ResourceType::Seed),
        ("snapshots", &c.snapshots, ResourceType::Snapshot),
        ("sources", &c.sources, ResourceType::Source),
        ("data_tests", &c.data_tests, ResourceType::Test),
        ("tests", &c.tests, ResourceType::Test),
        ("metrics", &c.metrics, ResourceType::Metric),
        (
            "semantic_models",
            &c.semantic_models,
            ResourceType::SemanticModel,
        ),
        ("saved_queries", &c.saved_queries, ResourceType::SavedQuery),
        ("exposures", &c.exposures, ResourceType::Exposure),
    ];
    let mut unused: Vec<(&str, Vec<String>)> = vec![];
    for (section, tree, rt) in sections {
        let used = fqns(&[rt]);
        let mut paths = vec![];
        config_paths(tree, &[], &mut paths);
        for path in paths {
            let in_use = used
                .iter()
                .any(|fqn| fqn.len() >= path.len() && fqn[..path.len()] == path[..]);
            if !in_use {
                unused.push((section, path));
            }
        }
    }
    if unused.is_empty() {
        return vec![];
    }
    // dbt names data-test paths under `data_tests` whichever key they were written under.
    let listed: Vec<String> = unused
        .iter()
        .map(|(section, path)| {
            let shown = if *section == "tests" {
                "data_tests"
            } else {
                section
            };
            std::iter::once(shown.to_string())
                .chain(path.iter().cloned())
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    let message = format!(
        "Configuration paths exist in your dbt_project.yml file which do not apply to any resources.\nThere are {} unused configuration paths:\n{}",
        listed.len(),
        listed
            .iter()
            .map(|p| format!("- {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let file = std::path::Path::new("dbt_project.yml");
    let mut d = Diagnostic::warning("unused-config", message).with_help(
        "each path under models:, seeds:, snapshots:, ... must lead to a folder or file of that \
         resource type (models.<project>.<folder>...); fix the name or remove the block",
    );
    let text = std::fs::read_to_string(project.dir.join(file)).unwrap_or_default();
    let (section, path) = &unused[0];
    let located =
        locate(&text, section, path).or_else(|| locate(&text, &section.replace('_', "-"), path));
    d = match located {
        Some(offset) => d.at(Location::from_offset(file, &text, offset)),
        None => d.in_file(file),
    };
    vec![d]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(v: Value) -> Vec<String> {
        let mut out = vec![];
        if let Value::Object(m) = v {
            config_paths(&m, &[], &mut out);
        }
        out.into_iter().map(|p| p.join(".")).collect()
    }

    #[test]
    fn paths_lead_to_settings() {
        let tree = json!({
            "shop": {
                "+materialized": "view",
                "marts": {"+materialized": "table"},
                "nothere": {"deeper": {"+tags": ["y"]}},
                "staging": {"+meta": {"owner": "a"}, "crm": {"materialized": "view"}}
            }
        });
        assert_eq!(
            paths(tree),
            vec![
                "shop",
                "shop.marts",
                "shop.nothere.deeper",
                "shop.staging",
                "shop.staging.crm"
            ]
        );
    }

    #[test]
    fn locates_nested_keys_in_order() {
        let text = "name: x\nmodels:\n  shop:\n    marts:\n      +tags: [a]\nseeds:\n  shop:\n    marts:\n      +tags: [b]\n";
        let at = locate(text, "seeds", &["shop".into(), "marts".into()]).unwrap_or(0);
        assert_eq!(Location::from_offset("f", text, at).line, 8);
        assert!(locate(text, "snapshots", &["shop".into()]).is_none());
    }
}

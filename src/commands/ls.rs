//! `kiln ls`: the selected nodes, as names, paths, selectors or JSON, like `dbt ls`.

use super::load_and_parse;
use crate::cli::{LsOutput, SelectArgs};
use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::Invocation;
use crate::project::ResourceType;
use serde_json::{Map, Value, json};

pub fn run(
    inv: &Invocation,
    select: &SelectArgs,
    resource_types: &[String],
    exclude_types: &[String],
    output: LsOutput,
    output_keys: &[String],
) -> Result<Outcome, Error> {
    let parse_types = |names: &[String]| -> Result<Vec<ResourceType>, Error> {
        names
            .iter()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.is_empty() && *s != "all" && *s != "default")
            .map(|s| {
                ResourceType::parse(s).ok_or_else(|| {
                    Error::one(Diagnostic::error("flags", format!("unknown resource type '{s}'")).with_help(
                        "use one of model, seed, snapshot, analysis, test, source, exposure",
                    ))
                })
            })
            .collect()
    };
    let include = parse_types(resource_types)?;
    let exclude = parse_types(exclude_types)?;
    let loaded = load_and_parse(inv, "list")?;
    let selected = loaded.select(select)?;
    let p = &loaded.project;
    let mut lines: Vec<(String, String)> = vec![];
    for id in &selected {
        let (rt, name, path, fqn, value) = if let Some(n) = p.nodes.get(id) {
            let mut v = json!({
                "name": n.name,
                "resource_type": n.resource_type.as_str(),
                "package_name": n.package_name,
                "original_file_path": n.original_file_path,
                "unique_id": n.unique_id,
                "alias": n.alias,
                "config": n.config,
                "tags": n.tags(),
                "depends_on": {"nodes": n.depends_on_nodes, "macros": n.depends_on_macros},
            });
            if n.resource_type == ResourceType::Test {
                v["alias"] = Value::from(n.alias.clone());
            }
            (
                n.resource_type,
                n.name.clone(),
                n.original_file_path.clone(),
                n.fqn.join("."),
                v,
            )
        } else if let Some(s) = p.sources.get(id) {
            let v = json!({
                "name": s.name, "source_name": s.source_name, "resource_type": "source",
                "package_name": s.package_name, "original_file_path": s.original_file_path,
                "unique_id": s.unique_id, "config": s.config, "tags": s.tags,
            });
            (
                ResourceType::Source,
                format!("{}.{}", s.source_name, s.name),
                s.original_file_path.clone(),
                format!("source:{}", s.fqn.join(".")),
                v,
            )
        } else if let Some(e) = p.exposures.get(id) {
            let v = json!({
                "name": e.name, "resource_type": "exposure", "package_name": e.package_name,
                "original_file_path": e.original_file_path, "unique_id": e.unique_id,
                "tags": e.tags, "depends_on": {"nodes": e.depends_on_nodes},
            });
            (
                ResourceType::Exposure,
                e.name.clone(),
                e.original_file_path.clone(),
                format!("exposure:{}", e.fqn.join(".")),
                v,
            )
        } else {
            continue;
        };
        if (!include.is_empty() && !include.contains(&rt)) || exclude.contains(&rt) {
            continue;
        }
        let line = match output {
            LsOutput::Name => name,
            LsOutput::Path => path,
            LsOutput::Selector => fqn,
            LsOutput::Json => {
                let v = if output_keys.is_empty() {
                    value
                } else {
                    let keys: Vec<&str> = output_keys.iter().flat_map(|k| k.split(',')).collect();
                    let m: Map<String, Value> = value
                        .as_object()
                        .map(|o| {
                            o.iter()
                                .filter(|(k, _)| keys.contains(&k.as_str()))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect()
                        })
                        .unwrap_or_default();
                    Value::Object(m)
                };
                v.to_string()
            }
        };
        lines.push((id.clone(), line));
    }
    lines.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    for (_, l) in &lines {
        inv.output.data(l);
    }
    Ok(Outcome::Success)
}

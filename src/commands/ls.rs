//! `kiln ls`: the selected nodes, as names, paths, selectors or JSON, like `dbt ls`.
//!
//! Lines come in unique_id order, as dbt prints them. `--resource-type` filters after selection
//! and defaults to every type but analyses (`all` adds them). `--output json` writes one object
//! per line the way Python's `json.dumps` does (`", "` and `": "` separators, non-ASCII escaped):
//! the node's manifest.json entry (dbt prints its `to_dict()`), cut down to dbt's default keys or
//! the `--output-keys` asked for.

use crate::cli::{LsOutput, SelectArgs};
use crate::error::{Diagnostic, Error, Outcome};
use crate::graph::select;
use crate::invocation::Invocation;
use crate::project::{ExposureNode, Node, Project, ResourceType, SourceNode};
use crate::schemas::graph_context_json;
use crate::session::load_and_parse;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt::Write;

/// The keys `--output json` prints unless `--output-keys` says otherwise (dbt's list).
const DEFAULT_KEYS: [&str; 10] = [
    "alias",
    "name",
    "package_name",
    "depends_on",
    "tags",
    "config",
    "resource_type",
    "source_name",
    "original_file_path",
    "unique_id",
];

/// kiln's own key for `--output json --output-keys column_lineage`: the node's entry of
/// target/lineage.json (null when it has none). dbt has no such key, so it is printed only when
/// asked for by name, and dbt's default shape stays as it is.
const LINEAGE_KEY: &str = "column_lineage";

/// The nodes of target/lineage.json as the last compile wrote them; none when there is no file.
fn read_lineage(loaded: &crate::session::Loaded) -> Map<String, Value> {
    let path = loaded
        .project
        .target_dir()
        .join(crate::schemas::lineage::LINEAGE_FILE);
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|mut v| match v.get_mut("nodes").map(Value::take) {
            Some(Value::Object(m)) => Some(m),
            _ => None,
        })
        .unwrap_or_default()
}

/// Resource types `--resource-type` accepts that kiln has no nodes of (yet).
const OTHER_TYPES: [&str; 5] = [
    "metric",
    "semantic_model",
    "saved_query",
    "unit_test",
    "function",
];

fn default_types() -> BTreeSet<ResourceType> {
    ResourceType::ALL
        .into_iter()
        .filter(|t| *t != ResourceType::Analysis)
        .collect()
}

/// `--resource-type` / `--exclude-resource-type` values (space- or comma-separated).
pub(super) fn parse_types(names: &[String], flag: &str) -> Result<BTreeSet<ResourceType>, Error> {
    let mut out = BTreeSet::new();
    for name in names.iter().flat_map(|s| s.split([',', ' '])) {
        match name {
            "" => {}
            "default" => out.extend(default_types()),
            "all" => out.extend(ResourceType::ALL),
            n if OTHER_TYPES.contains(&n) => {}
            n => match ResourceType::parse(n) {
                Some(t) => {
                    out.insert(t);
                }
                None => {
                    return Err(Diagnostic::error(
                        "flags",
                        format!("{flag}: unknown resource type '{n}'"),
                    )
                    .with_help(
                        "use model, seed, snapshot, analysis, test, source, exposure, default or all",
                    )
                    .into());
                }
            },
        }
    }
    Ok(out)
}

pub fn run(
    inv: &Invocation,
    select: &SelectArgs,
    resource_types: &[String],
    exclude_types: &[String],
    output: LsOutput,
    output_keys: &[String],
) -> Result<Outcome, Error> {
    let include = if resource_types.is_empty() {
        default_types()
    } else {
        parse_types(resource_types, "--resource-type")?
    };
    let exclude = parse_types(exclude_types, "--exclude-resource-type")?;
    let keys: Vec<&str> = output_keys
        .iter()
        .flat_map(|k| k.split([',', ' ']))
        .filter(|k| !k.is_empty())
        .collect();
    let loaded = load_and_parse(inv, "list")?;
    let spec = loaded.selection_spec(select)?;
    let selection = select::selection(&loaded.project, &loaded.graph, &spec)?;
    loaded.warn(&selection.warnings)?;
    let p = &loaded.project;
    let mut lines = vec![];
    // The manifest's dicts, made once and only for --output json.
    let mut dicts: Option<Value> = None;
    let mut lineage: Option<Map<String, Value>> = None;
    for id in &selection.ids {
        let Some(item) = Item::find(p, id) else {
            continue;
        };
        let rt = item.resource_type();
        if !include.contains(&rt) || exclude.contains(&rt) {
            continue;
        }
        lines.push(match output {
            LsOutput::Name => item.search_name(),
            LsOutput::Path => item.original_file_path().to_string(),
            LsOutput::Selector => item.selector(),
            LsOutput::Json => {
                let wanted: &[&str] = if keys.is_empty() {
                    &DEFAULT_KEYS
                } else {
                    &keys
                };
                let dicts =
                    dicts.get_or_insert_with(|| graph_context_json(p, &loaded.graph.depends_on));
                let mut dict: Map<String, Value> = item
                    .to_dict(dicts)
                    .into_iter()
                    .filter(|(k, _)| wanted.contains(&k.as_str()))
                    .collect();
                if keys.contains(&LINEAGE_KEY) {
                    let lineage = lineage.get_or_insert_with(|| read_lineage(&loaded));
                    dict.insert(
                        LINEAGE_KEY.into(),
                        lineage.get(id).cloned().unwrap_or(Value::Null),
                    );
                }
                python_json(&Value::Object(dict))
            }
        });
    }
    if lines.is_empty() {
        loaded.warn(&[Diagnostic::warning(
            "no-nodes-selected",
            "No nodes selected!",
        )])?;
    }
    for line in &lines {
        inv.output.data(line);
    }
    Ok(Outcome::Success)
}

/// One listed resource.
enum Item<'a> {
    Node(&'a Node),
    Source(&'a SourceNode),
    Exposure(&'a ExposureNode),
}

impl<'a> Item<'a> {
    fn find(p: &'a Project, id: &str) -> Option<Item<'a>> {
        if let Some(n) = p.nodes.get(id) {
            return Some(Item::Node(n));
        }
        if let Some(s) = p.sources.get(id) {
            return Some(Item::Source(s));
        }
        p.exposures.get(id).map(Item::Exposure)
    }

    fn resource_type(&self) -> ResourceType {
        match self {
            Item::Node(n) => n.resource_type,
            Item::Source(_) => ResourceType::Source,
            Item::Exposure(_) => ResourceType::Exposure,
        }
    }

    fn original_file_path(&self) -> &str {
        match self {
            Item::Node(n) => &n.original_file_path,
            Item::Source(s) => &s.original_file_path,
            Item::Exposure(e) => &e.original_file_path,
        }
    }

    /// dbt's `search_name`: `source.table` for sources, `name.v2` for versioned models.
    fn search_name(&self) -> String {
        match self {
            Item::Node(n) => match &n.version {
                Some(v) => format!("{}.v{v}", n.name),
                None => n.name.clone(),
            },
            Item::Source(s) => format!("{}.{}", s.source_name, s.name),
            Item::Exposure(e) => e.name.clone(),
        }
    }

    /// What to pass to `--select` to get this node back.
    fn selector(&self) -> String {
        match self {
            Item::Node(n) => n.fqn.join("."),
            Item::Source(s) => format!("source:{}.{}.{}", s.package_name, s.source_name, s.name),
            Item::Exposure(e) => format!("exposure:{}.{}", e.package_name, e.name),
        }
    }

    /// The resource as dbt's `to_dict()` gives it: its manifest.json entry, keys in dbt's order.
    fn to_dict(&self, dicts: &Value) -> Map<String, Value> {
        let (section, id) = match self {
            Item::Node(n) => ("nodes", &n.unique_id),
            Item::Source(s) => ("sources", &s.unique_id),
            Item::Exposure(e) => ("exposures", &e.unique_id),
        };
        dicts
            .get(section)
            .and_then(|s| s.get(id.as_str()))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }
}

/// JSON as Python's `json.dumps` writes it by default, which is what `dbt ls` prints.
fn python_json(v: &Value) -> String {
    let mut out = String::new();
    write_python_json(&mut out, v);
    out
}

fn write_python_json(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_python_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_json(out, item);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_str(out, k);
                out.push_str(": ");
                write_python_json(out, item);
            }
            out.push('}');
        }
    }
}

/// A string with Python's `ensure_ascii` escaping.
fn write_python_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_like_python() {
        let v = json!({"a": [1, true, null], "b": {"c": "é\"\n"}, "d": "😀"});
        assert_eq!(
            python_json(&v),
            r#"{"a": [1, true, null], "b": {"c": "\u00e9\"\n"}, "d": "\ud83d\ude00"}"#
        );
    }
}

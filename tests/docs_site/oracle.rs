//! The docs site's data as it was built before it was made from the loaded project in memory:
//! from manifest.json and the artifacts beside it, read as JSON values. The tests compare the
//! site kiln writes with this reading of the manifest kiln wrote in the same command, so the
//! site shows exactly what a catalog reading the same files would.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Nodes per detail shard (one JS file each).
pub const SHARD_SIZE: usize = 64;

/// The artifacts the site is built from.
pub struct Artifacts {
    pub manifest: Value,
    pub run_results: Option<Value>,
    pub catalog: Option<Value>,
    pub sources: Option<Value>,
    pub lineage: Option<Value>,
    pub pii: Option<Value>,
}

impl Artifacts {
    /// Reads target/manifest.json and the optional artifacts beside it.
    pub fn read(target: &Path) -> Self {
        Artifacts {
            manifest: read_json(&target.join("manifest.json")).expect("a manifest"),
            run_results: read_json(&target.join("run_results.json")),
            catalog: read_json(&target.join("catalog.json")),
            sources: read_json(&target.join("sources.json")),
            lineage: read_json(&target.join("lineage.json")),
            pii: read_json(&target.join("pii.json")),
        }
    }
}

fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The site's data: the slim graph (one JSON value), the search index, and the detail shards.
pub struct SiteData {
    pub graph: Value,
    pub search: Value,
    pub shards: Vec<Value>,
}

/// The kinds of node the graph shows, in the order their codes are numbered.
const KINDS: &[&str] = &[
    "model", "seed", "snapshot", "source", "exposure", "analysis",
];

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn folder_of(node: &Value) -> String {
    let file = s(node, "original_file_path");
    match file.rfind('/') {
        Some(i) => file[..i].to_string(),
        None => String::new(),
    }
}

/// Builds the site's data from the artifacts.
pub fn build<'a>(a: &'a Artifacts) -> SiteData {
    let obj = |v: &'a Value, key: &str| -> Vec<(&'a str, &'a Value)> {
        v.get(key)
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default()
    };
    // The graph's nodes, sorted by unique_id; tests are attached to their nodes instead.
    let mut entries: Vec<(&str, &Value)> = Vec::new();
    let mut tests: Vec<&Value> = Vec::new();
    for (id, n) in obj(&a.manifest, "nodes") {
        match s(n, "resource_type") {
            "test" => tests.push(n),
            k if KINDS.contains(&k) => entries.push((id, n)),
            _ => {}
        }
    }
    entries.extend(obj(&a.manifest, "sources"));
    entries.extend(obj(&a.manifest, "exposures"));
    entries.sort_by(|x, y| x.0.cmp(y.0));
    let index: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();

    // Groups: folders and packages numbered, tags as lists of numbers.
    let mut folders: Vec<String> = Vec::new();
    let mut folder_ix: HashMap<String, u32> = HashMap::new();
    let mut packages: Vec<String> = Vec::new();
    let mut package_ix: HashMap<String, u32> = HashMap::new();
    let mut tags: Vec<String> = Vec::new();
    let mut tag_ix: HashMap<String, u32> = HashMap::new();
    let intern = |list: &mut Vec<String>, ix: &mut HashMap<String, u32>, key: String| -> u32 {
        if let Some(&i) = ix.get(&key) {
            return i;
        }
        let i = list.len() as u32;
        list.push(key.clone());
        ix.insert(key, i);
        i
    };

    let mut parents: Vec<Vec<usize>> = Vec::with_capacity(entries.len());
    let mut folder_of_node = Vec::with_capacity(entries.len());
    let mut package_of_node = Vec::with_capacity(entries.len());
    let mut tags_of_node: Vec<Vec<u32>> = Vec::with_capacity(entries.len());
    for (_, n) in &entries {
        let ps: Vec<usize> = n
            .pointer("/depends_on/nodes")
            .and_then(Value::as_array)
            .map(|a| {
                let mut v: Vec<usize> = a
                    .iter()
                    .filter_map(|p| p.as_str().and_then(|p| index.get(p).copied()))
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            })
            .unwrap_or_default();
        parents.push(ps);
        folder_of_node.push(intern(&mut folders, &mut folder_ix, folder_of(n)));
        package_of_node.push(intern(
            &mut packages,
            &mut package_ix,
            s(n, "package_name").to_string(),
        ));
        let t: Vec<u32> = n
            .get("tags")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|t| intern(&mut tags, &mut tag_ix, t.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        tags_of_node.push(t);
    }
    let (layer, order) = kiln::docs::layout::layers_and_order(&parents, &folder_of_node);

    // Last run status per node (run_results.json) and source freshness (sources.json).
    let run: HashMap<String, Value> = results_by_id(a.run_results.as_ref());
    let fresh: HashMap<String, Value> = results_by_id(a.sources.as_ref());

    // Tests per node and per column, with their last status.
    let mut node_tests: HashMap<String, Vec<Value>> = HashMap::new();
    for t in &tests {
        let attached = t
            .get("attached_node")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                t.pointer("/depends_on/nodes/0")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        let Some(attached) = attached else { continue };
        let id = s(t, "unique_id");
        let name = t
            .pointer("/test_metadata/name")
            .and_then(Value::as_str)
            .unwrap_or(s(t, "name"));
        // A package's test by its qualified name (`kiln.volume_anomaly`), as the YAML writes it.
        let name = match t
            .pointer("/test_metadata/namespace")
            .and_then(Value::as_str)
        {
            Some(ns) => format!("{ns}.{name}"),
            None => name.to_string(),
        };
        let mut kwargs = t
            .pointer("/test_metadata/kwargs")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        kwargs.remove("column_name");
        kwargs.remove("model");
        let status = run
            .get(id)
            .map(|r| r["status"].clone())
            .unwrap_or(Value::Null);
        let message = run
            .get(id)
            .map(|r| r["message"].clone())
            .unwrap_or(Value::Null);
        node_tests.entry(attached).or_default().push(json!({
            "id": id,
            "name": name,
            "column": t.get("column_name").cloned().unwrap_or(Value::Null),
            "kwargs": kwargs,
            "status": status,
            "message": message,
        }));
    }

    // Column lineage: each column's inputs as lineage.json has them, and its outputs (the
    // columns downstream that read it), inverted here once.
    let lineage_nodes = a
        .lineage
        .as_ref()
        .and_then(|l| l.get("nodes"))
        .and_then(Value::as_object);
    let mut downstream: HashMap<(String, String), Vec<Value>> = HashMap::new();
    if let Some(ln) = lineage_nodes {
        for (id, node) in ln {
            for col in node
                .get("columns")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for input in col
                    .get("inputs")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let key = (
                        s(input, "node").to_string(),
                        s(input, "column").to_lowercase(),
                    );
                    downstream.entry(key).or_default().push(json!({
                        "node": id,
                        "column": s(col, "name"),
                        "transformations": input.get("transformations").cloned().unwrap_or(json!([])),
                    }));
                }
            }
        }
    }
    let pii_nodes = a
        .pii
        .as_ref()
        .and_then(|p| p.get("nodes"))
        .and_then(Value::as_object);
    // The PII view: every node with a classified column, by graph index, with its columns
    // (name, kinds, status).
    let mut pii_view: Vec<Value> = Vec::new();
    for (id, node) in pii_nodes.into_iter().flatten() {
        let Some(&i) = index.get(id.as_str()) else {
            continue;
        };
        let cols: Vec<Value> = node
            .get("columns")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, c)| json!([name, c["kinds"], c["status"]]))
            .collect();
        pii_view.push(json!([i, cols]));
    }
    let catalog_entry = |id: &str| -> Option<&Value> {
        let c = a.catalog.as_ref()?;
        c.get("nodes")
            .and_then(|n| n.get(id))
            .or_else(|| c.get("sources").and_then(|n| n.get(id)))
    };

    // The slim graph.
    let mut ids = Vec::with_capacity(entries.len());
    let mut names = Vec::with_capacity(entries.len());
    let mut kinds = Vec::with_capacity(entries.len());
    let mut status = Vec::with_capacity(entries.len());
    for &(id, n) in &entries {
        ids.push(Value::from(id));
        let name = match s(n, "resource_type") {
            "source" => format!("{}.{}", s(n, "source_name"), s(n, "name")),
            _ => s(n, "name").to_string(),
        };
        names.push(Value::from(name));
        let kind = KINDS
            .iter()
            .position(|k| *k == s(n, "resource_type"))
            .unwrap_or(0);
        kinds.push(Value::from(kind));
        status.push(
            run.get(id)
                .or_else(|| fresh.get(id))
                .and_then(|r| r.get("status"))
                .cloned()
                .unwrap_or(Value::Null),
        );
    }
    let project = a
        .manifest
        .pointer("/metadata/project_name")
        .cloned()
        .unwrap_or(Value::Null);
    let graph = json!({
        "project": project,
        "generated_at": a.manifest.pointer("/metadata/generated_at").cloned().unwrap_or(Value::Null),
        "kinds": KINDS,
        "folders": folders,
        "packages": packages,
        "tags": tags,
        "shard_size": SHARD_SIZE,
        "has_lineage": lineage_nodes.is_some(),
        "has_catalog": a.catalog.is_some(),
        "has_run_results": a.run_results.is_some(),
        "has_pii": a.pii.is_some(),
        "pii": pii_view,
        "id": ids,
        "name": names,
        "kind": kinds,
        "folder": folder_of_node,
        "package": package_of_node,
        "tag": tags_of_node,
        "parents": parents,
        "layer": layer,
        "order": order,
        "status": status,
    });

    // Each node's details, its search text (description) and column names, on every core.
    use rayon::prelude::*;
    let details: Vec<(Value, Value, Value)> = entries
        .par_iter()
        .map(|&(id, n)| {
            let columns = columns_of(
                id,
                n,
                catalog_entry(id),
                lineage_nodes.and_then(|l| l.get(id)),
                node_tests.get(id).map(Vec::as_slice).unwrap_or(&[]),
                &downstream,
                pii_nodes
                    .and_then(|p| p.get(id))
                    .and_then(|n| n.get("columns")),
            );
            let desc = s(n, "description");
            let desc = Value::from(desc.chars().take(400).collect::<String>().to_lowercase());
            let cols = Value::from(
                columns
                    .iter()
                    .map(|c| s(c, "name"))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            let detail = detail_of(
                n,
                columns,
                node_tests.get(id),
                run.get(id),
                fresh.get(id),
                catalog_entry(id),
                lineage_nodes.and_then(|l| l.get(id)),
            );
            (desc, cols, detail)
        })
        .collect();

    // Search: descriptions and column names, beside the names the graph has; details, shard by
    // shard.
    let mut search_desc = Vec::with_capacity(entries.len());
    let mut search_cols = Vec::with_capacity(entries.len());
    let mut shards: Vec<Value> = Vec::new();
    let mut shard = Map::new();
    for (i, ((id, _), (desc, cols, detail))) in entries.iter().zip(details).enumerate() {
        search_desc.push(desc);
        search_cols.push(cols);
        shard.insert((*id).to_string(), detail);
        if (i + 1) % SHARD_SIZE == 0 {
            shards.push(Value::Object(std::mem::take(&mut shard)));
        }
    }
    if !shard.is_empty() {
        shards.push(Value::Object(shard));
    }
    let search = json!({"desc": search_desc, "cols": search_cols});
    SiteData {
        graph,
        search,
        shards,
    }
}

fn results_by_id(artifact: Option<&Value>) -> HashMap<String, Value> {
    artifact
        .and_then(|r| r.get("results"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r.get("unique_id")?.as_str()?.to_string(), r.clone())))
        .collect()
}

/// A node's columns: the catalog's (the table's real columns and types) in their order when it
/// has the node, else lineage.json's, else the YAML's; each merged with the YAML's description,
/// tags and meta, its tests, its lineage inputs and the columns downstream that read it.
fn columns_of(
    id: &str,
    n: &Value,
    catalog: Option<&Value>,
    lineage: Option<&Value>,
    tests: &[Value],
    downstream: &HashMap<(String, String), Vec<Value>>,
    pii: Option<&Value>,
) -> Vec<Value> {
    let mut cols: BTreeMap<String, (usize, Map<String, Value>)> = BTreeMap::new();
    let mut next = 0usize;
    let mut entry = |cols: &mut BTreeMap<String, (usize, Map<String, Value>)>, name: &str| {
        let key = name.to_lowercase();
        if !cols.contains_key(&key) {
            let mut m = Map::new();
            m.insert("name".into(), Value::from(name));
            cols.insert(key.clone(), (next, m));
            next += 1;
        }
        key
    };
    if let Some(cc) = catalog
        .and_then(|c| c.get("columns"))
        .and_then(Value::as_object)
    {
        let mut list: Vec<&Value> = cc.values().collect();
        list.sort_by_key(|c| c.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX));
        for c in list {
            let key = entry(&mut cols, s(c, "name"));
            if let Some((_, m)) = cols.get_mut(&key) {
                m.insert("type".into(), c.get("type").cloned().unwrap_or(Value::Null));
                if let Some(comment) = c.get("comment").filter(|v| !v.is_null()) {
                    m.insert("comment".into(), comment.clone());
                }
            }
        }
    }
    if let Some(lc) = lineage
        .and_then(|l| l.get("columns"))
        .and_then(Value::as_array)
    {
        for c in lc {
            let key = entry(&mut cols, s(c, "name"));
            if let Some((_, m)) = cols.get_mut(&key) {
                if let Some(t) = c
                    .get("type")
                    .filter(|v| !v.is_null() && !m.contains_key("type"))
                {
                    m.insert("type".into(), t.clone());
                }
                m.insert(
                    "inputs".into(),
                    c.get("inputs").cloned().unwrap_or(json!([])),
                );
            }
        }
    }
    if let Some(yc) = n.get("columns").and_then(Value::as_object) {
        for c in yc.values() {
            let key = entry(&mut cols, s(c, "name"));
            if let Some((_, m)) = cols.get_mut(&key) {
                let desc = s(c, "description");
                if !desc.is_empty() {
                    m.insert("description".into(), Value::from(desc));
                }
                if let Some(t) = c
                    .get("data_type")
                    .filter(|v| !v.is_null() && !m.contains_key("type"))
                {
                    m.insert("type".into(), t.clone());
                }
                let col_tags = c.get("tags").cloned().unwrap_or(json!([]));
                let meta = c.get("meta").cloned().unwrap_or(json!({}));
                m.insert("pii".into(), Value::from(is_pii(&col_tags, &meta)));
                m.insert("tags".into(), col_tags);
                if meta.as_object().is_some_and(|o| !o.is_empty()) {
                    m.insert("meta".into(), meta);
                }
            }
        }
    }
    // pii.json: the kinds, whether masked, and the lineage path of each classified column.
    for (name, c) in pii.and_then(Value::as_object).into_iter().flatten() {
        let key = entry(&mut cols, name);
        if let Some((_, m)) = cols.get_mut(&key) {
            let status = s(c, "status");
            m.insert("pii".into(), Value::from(status == "pii"));
            if status == "pseudonymised" {
                m.insert("pseudonymised".into(), Value::Bool(true));
            }
            m.insert("pii_kinds".into(), c["kinds"].clone());
            m.insert("pii_path".into(), c["path"].clone());
        }
    }
    for t in tests {
        if let Some(col) = t.get("column").and_then(Value::as_str) {
            let key = entry(&mut cols, col);
            if let Some((_, m)) = cols.get_mut(&key) {
                let list = m.entry("tests").or_insert_with(|| json!([]));
                if let Some(a) = list.as_array_mut() {
                    a.push(
                        json!({"name": t["name"], "status": t["status"], "kwargs": t["kwargs"]}),
                    );
                }
            }
        }
    }
    let mut out: Vec<(usize, Map<String, Value>)> = cols.into_values().collect();
    out.sort_by_key(|(i, _)| *i);
    out.into_iter()
        .map(|(_, mut m)| {
            let key = (
                id.to_string(),
                m.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_lowercase(),
            );
            if let Some(d) = downstream.get(&key) {
                m.insert("outputs".into(), Value::from(d.clone()));
            }
            if m.get("inputs").and_then(Value::as_array).is_some_and(|a| {
                a.iter().any(|i| {
                    i.get("transformations")
                        .and_then(Value::as_array)
                        .is_some_and(|ts| {
                            ts.iter()
                                .any(|t| t.get("masking") == Some(&Value::Bool(true)))
                        })
                })
            }) {
                m.insert("masked".into(), Value::Bool(true));
            }
            Value::Object(m)
        })
        .collect()
}

/// A column is personal data when a tag says `pii` (or `pii:<kind>`) or its meta sets
/// `pii` (to a kind, a list of kinds or true), `contains_pii` or `sensitive` to a true value.
/// (pii.json, when present, says so for derived columns too.)
fn is_pii(tags: &Value, meta: &Value) -> bool {
    let tagged = tags.as_array().is_some_and(|a| {
        a.iter().any(|t| {
            t.as_str().is_some_and(|t| {
                let t = t.to_ascii_lowercase();
                t == "pii" || t.starts_with("pii:")
            })
        })
    });
    let meta_says = ["pii", "contains_pii", "sensitive"].iter().any(|k| {
        meta.get(*k).is_some_and(|v| match v {
            Value::Bool(b) => *b,
            Value::String(s) => !s.is_empty() && !s.eq_ignore_ascii_case("false"),
            Value::Array(a) => !a.is_empty() && *k == "pii",
            _ => false,
        })
    });
    tagged || meta_says
}

/// Why a node's lineage is incomplete, as one sentence per reason (with the line and column in
/// its source file when lineage.json has them).
fn incomplete_reasons(l: &Value) -> Value {
    let reasons: Vec<String> = l
        .get("incomplete")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| {
            let at = match (
                r.get("line").and_then(Value::as_u64),
                r.get("column").and_then(Value::as_u64),
            ) {
                (Some(line), Some(col)) => format!(" (line {line}, column {col})"),
                (Some(line), None) => format!(" (line {line})"),
                _ => String::new(),
            };
            format!("{}{at}", s(r, "reason"))
        })
        .collect();
    if reasons.is_empty() {
        Value::Null
    } else {
        Value::from(reasons.join("; "))
    }
}

/// One node's page: what the manifest says of it, with its last run, freshness and owners.
fn detail_of(
    n: &Value,
    columns: Vec<Value>,
    tests: Option<&Vec<Value>>,
    run: Option<&Value>,
    fresh: Option<&Value>,
    catalog: Option<&Value>,
    lineage: Option<&Value>,
) -> Value {
    let meta = n
        .get("meta")
        .filter(|m| m.as_object().is_some_and(|o| !o.is_empty()))
        .or_else(|| n.pointer("/config/meta"))
        .cloned()
        .unwrap_or(json!({}));
    let source_meta = n.get("source_meta").cloned().unwrap_or(json!({}));
    let pick = |key: &str| -> Value {
        meta.get(key)
            .or_else(|| source_meta.get(key))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let mut owners: Vec<Value> = Vec::new();
    for key in ["owner", "owners", "owner_team", "secondary_owner", "team"] {
        match pick(key) {
            Value::Null => {}
            Value::Array(a) => owners.extend(a),
            v => owners.push(v),
        }
    }
    if let Some(o) = n.get("owner").filter(|o| !o.is_null()) {
        // An exposure's owner: {name, email}.
        let who = [s(o, "name"), s(o, "email")]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !who.is_empty() {
            owners.push(Value::from(who));
        }
    }
    if let Some(o) = catalog
        .and_then(|c| c.pointer("/metadata/owner"))
        .filter(|o| !o.is_null())
    {
        owners.push(json!(format!(
            "{} (warehouse)",
            o.as_str().unwrap_or_default()
        )));
    }
    let last_run = run.map(|r| {
        json!({
            "status": r["status"],
            "execution_time": r["execution_time"],
            "completed_at": r.pointer("/timing/1/completed_at").or_else(|| r.pointer("/timing/0/completed_at")).cloned().unwrap_or(Value::Null),
            "message": r["message"],
            "rows": r.pointer("/adapter_response/rows_affected").cloned().unwrap_or(Value::Null),
        })
    });
    // A model's freshness (`kiln freshness`) is in its config, a source's at its top level.
    // (The manifest shows a model's config as dbt-core does, without warn_after/error_after:
    // a model's criteria are those its last `kiln freshness` check recorded.)
    let model_freshness = s(n, "resource_type") == "model" && fresh.is_some();
    let freshness = if model_freshness {
        json!({
            "loaded_at_field": n.pointer("/config/loaded_at_field").cloned().unwrap_or(Value::Null),
            "criteria": fresh.map(|f| f["criteria"].clone()).unwrap_or(Value::Null),
            "result": fresh.map(|f| json!({
                "status": f["status"],
                "max_loaded_at": f["max_loaded_at"],
                "snapshotted_at": f["snapshotted_at"],
                "age_s": f["max_loaded_at_time_ago_in_s"],
            })),
        })
    } else if s(n, "resource_type") == "source" {
        json!({
            "loaded_at_field": n.get("loaded_at_field").cloned().unwrap_or(Value::Null),
            "criteria": n.get("freshness").cloned().unwrap_or(Value::Null),
            "result": fresh.map(|f| json!({
                "status": f["status"],
                "max_loaded_at": f["max_loaded_at"],
                "snapshotted_at": f["snapshotted_at"],
                "age_s": f["max_loaded_at_time_ago_in_s"],
            })),
        })
    } else {
        Value::Null
    };
    let model_tests: Vec<&Value> = tests
        .into_iter()
        .flatten()
        .filter(|t| t.get("column").is_none_or(Value::is_null))
        .collect();
    json!({
        "description": n.get("description").cloned().unwrap_or(Value::Null),
        "path": n.get("original_file_path").cloned().unwrap_or(Value::Null),
        "relation": n.get("relation_name").cloned().unwrap_or(Value::Null),
        "materialized": n.pointer("/config/materialized").cloned().unwrap_or(Value::Null),
        "access": n.get("access").cloned().unwrap_or(Value::Null),
        "meta": meta,
        "owners": owners,
        "sla": pick("sla"),
        "columns": columns,
        "tests": model_tests,
        "raw_code": n.get("raw_code").cloned().unwrap_or(Value::Null),
        "compiled_code": n.get("compiled_code").cloned().unwrap_or(Value::Null),
        "last_run": last_run,
        "freshness": freshness,
        "lineage_complete": lineage.map(|l| l.get("complete").cloned().unwrap_or(Value::Null)),
        "lineage_reason": lineage.map(incomplete_reasons).unwrap_or(Value::Null),
        "dataset": lineage.and_then(|l| l.get("dataset")).cloned().unwrap_or(json!([])),
        "exposure": if s(n, "resource_type") == "exposure" {
            json!({"type": n["type"], "maturity": n["maturity"], "url": n["url"], "label": n["label"]})
        } else { Value::Null },
        "source": if s(n, "resource_type") == "source" {
            json!({"source_name": n["source_name"], "source_description": n["source_description"], "loader": n["loader"]})
        } else { Value::Null },
        "stats": catalog.and_then(|c| c.get("stats")).cloned().unwrap_or(Value::Null),
    })
}

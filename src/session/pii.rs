//! PII tracked through the column lineage, and the policy of where it may not go.
//!
//! What the project declares ([`crate::schemas::pii`]: column `meta: {pii: <kind>}`, `pii` /
//! `pii:<kind>` tags, node-level `meta: {pii: {column: kind}}` inherited from dbt_project.yml)
//! is propagated over the lineage of this compile ([`super::lineage`]), node by node in DAG
//! order: an output column is PII of the kinds of every PII column among its inputs that reach
//! it through a DIRECT or a CONDITIONAL transformation without a masking step; through masking
//! only, it is pseudonymised (of those kinds). A column declared `pii: false` stops it. The
//! result is `target/pii.json` ([`PiiArtifact`]), which the docs site, `pii:` selection and
//! erasure read. A model or snapshot this invocation did not compile (`--select`) keeps the
//! classification the last compile that did wrote, so a selection never hides PII upstream.
//!
//! The policy (`vars: kiln: pii: forbid:`) names where PII may not go: models with `access:
//! public`, the models, seeds and snapshots an exposure depends on, folders, groups. A node there
//! with a PII column is an error (exit 2) with the column's lineage path. A node there whose own
//! lineage is incomplete while it reads PII (or reads a node in that state) is an error too:
//! kiln cannot prove it publishes none, and never passes it silently. Declaring each of its YAML
//! columns `pii: false` is the way to vouch for it.

use super::Loaded;
use super::lineage::ProjectLineage;
use crate::error::Diagnostic;
use crate::project::{Node, ResourceType};
use crate::schemas::lineage::{NodeLineage, TransformationType};
use crate::schemas::pii::{
    ColumnPii, Declared, NodePii, PathStep, PiiArtifact, PiiMetadata, PiiSettings, PiiStatus,
    SETTINGS_KEY,
};
use crate::sql::lineage::Subtype;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The classification of this compile and the policy's errors.
#[derive(Debug, Default)]
pub struct PiiOutcome {
    pub artifact: PiiArtifact,
    pub errors: Vec<Diagnostic>,
}

/// Propagates the project's PII classification over `lineage` and checks the policy.
pub fn classify(loaded: &Loaded, lineage: &ProjectLineage, invocation_id: &str) -> PiiOutcome {
    let project = &loaded.project;
    let settings = match PiiSettings::from_vars(&project.vars) {
        Ok(s) => s,
        Err(problem) => {
            return PiiOutcome {
                errors: vec![
                    Diagnostic::error("pii-config", problem)
                        .in_file(project.dir.join("dbt_project.yml"))
                        .with_help("see `kiln` PII settings in README.md (vars: kiln: pii:)"),
                ],
                ..PiiOutcome::default()
            };
        }
    };
    let declared = crate::schemas::pii::declared(project);
    // Models and snapshots this invocation did not compile (a `--select`) keep what the last
    // compile that did found, so that a selection never hides PII upstream of it.
    let previous = PiiArtifact::read(&project.target_dir().join(crate::schemas::pii::PII_FILE));
    // unique_id → lower-case column name → classification.
    let mut cls: BTreeMap<String, BTreeMap<String, ColumnPii>> = BTreeMap::new();
    let mut names: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();

    // Sources and seeds: what is declared, on the columns YAML lists when it lists any.
    let leaf = |id: &str,
                columns: &indexmap::IndexMap<String, crate::project::ColumnInfo>,
                cls: &mut BTreeMap<String, BTreeMap<String, ColumnPii>>,
                names: &mut BTreeMap<String, BTreeMap<String, String>>| {
        let Some(decl) = declared.get(id) else {
            return;
        };
        let listed: BTreeMap<String, &str> = columns
            .values()
            .map(|c| (c.name.to_lowercase(), c.name.as_str()))
            .collect();
        for (key, d) in decl {
            let Declared::Kinds(kinds) = d else { continue };
            if !listed.is_empty() && !listed.contains_key(key) {
                continue;
            }
            let name = listed.get(key).map_or(key.clone(), |n| n.to_string());
            cls.entry(id.to_string()).or_default().insert(
                key.clone(),
                ColumnPii {
                    kinds: kinds.clone(),
                    status: PiiStatus::Pii,
                    declared: true,
                    path: vec![PathStep {
                        node: id.to_string(),
                        column: name.clone(),
                    }],
                },
            );
            names
                .entry(id.to_string())
                .or_default()
                .insert(key.clone(), name);
        }
    };
    for s in project.sources.values() {
        leaf(&s.unique_id, &s.columns, &mut cls, &mut names);
    }
    // Models, seeds and snapshots in DAG order.
    let mut uncertain: HashSet<String> = HashSet::new();
    for id in loaded.graph.topo_order() {
        let Some(node) = project.nodes.get(&id) else {
            continue;
        };
        match node.resource_type {
            ResourceType::Seed => leaf(&id, &node.columns, &mut cls, &mut names),
            ResourceType::Model | ResourceType::Snapshot => {
                let lin = lineage.nodes.get(&id);
                let decl = declared.get(&id);
                let (mut cols, unsure) = derive(&id, node, lin, decl, &cls, &uncertain, loaded);
                if lin.is_none()
                    && let Some(prev) = previous.as_ref().and_then(|p| p.nodes.get(&id))
                {
                    for (name, c) in &prev.columns {
                        cols.entry(name.to_lowercase())
                            .or_insert_with(|| (name.clone(), c.clone()));
                    }
                }
                if unsure {
                    uncertain.insert(id.clone());
                }
                if !cols.is_empty() {
                    names.insert(
                        id.clone(),
                        cols.iter()
                            .map(|(k, (n, _))| (k.clone(), n.clone()))
                            .collect(),
                    );
                    cls.insert(
                        id.clone(),
                        cols.into_iter().map(|(k, (_, c))| (k, c)).collect(),
                    );
                }
            }
            _ => {}
        }
    }

    let errors = policy(loaded, &settings, &cls, &names, &uncertain, lineage);
    let nodes = cls
        .into_iter()
        .map(|(id, cols)| {
            let shown = names.get(&id);
            let columns = cols
                .into_iter()
                .map(|(k, c)| (shown.and_then(|s| s.get(&k)).cloned().unwrap_or(k), c))
                .collect();
            (id, NodePii { columns })
        })
        .collect();
    PiiOutcome {
        artifact: PiiArtifact {
            metadata: PiiMetadata {
                kiln_version: env!("CARGO_PKG_VERSION").to_string(),
                generated_at: chrono::Utc::now()
                    .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                    .to_string(),
                invocation_id: invocation_id.to_string(),
            },
            nodes,
        },
        errors,
    }
}

/// Writes `<target-path>/pii.json`.
pub fn write_pii(loaded: &Loaded, artifact: &PiiArtifact) -> Result<(), crate::error::Error> {
    let dir = loaded.project.target_dir();
    std::fs::create_dir_all(&dir).map_err(|e| crate::error::Error::io(&dir, e))?;
    let path = dir.join(crate::schemas::pii::PII_FILE);
    super::write_if_changed(&path, artifact.to_json().as_bytes())
        .map_err(|e| crate::error::Error::io(&path, e))
}

type Derived = BTreeMap<String, (String, ColumnPii)>;

/// One model's or snapshot's columns (lower-case name → (name, classification)), and whether
/// its lineage is incomplete while it reads PII (or an uncertain node).
fn derive(
    id: &str,
    node: &Node,
    lin: Option<&NodeLineage>,
    decl: Option<&BTreeMap<String, Declared>>,
    cls: &BTreeMap<String, BTreeMap<String, ColumnPii>>,
    uncertain: &HashSet<String>,
    loaded: &Loaded,
) -> (Derived, bool) {
    let mut out: Derived = BTreeMap::new();
    let own = |key: &str| decl.and_then(|d| d.get(key));
    let mut unsure = false;
    let mut outputs: Vec<String> = Vec::new();
    if let Some(lin) = lin {
        for column in &lin.columns {
            let key = column.name.to_lowercase();
            outputs.push(key.clone());
            if unsure_input(column.inputs.iter().map(|i| i.node.as_str()), uncertain) {
                unsure = true;
            }
            if own(&key) == Some(&Declared::NotPii) {
                continue;
            }
            let mut pii: Option<ColumnPii> = None;
            let mut masked_kinds: BTreeSet<String> = BTreeSet::new();
            let mut masked_path: Option<Vec<PathStep>> = None;
            for input in &column.inputs {
                let Some(up) = cls
                    .get(&input.node)
                    .and_then(|c| c.get(&input.column.to_lowercase()))
                else {
                    continue;
                };
                let carrying: Vec<_> = input
                    .transformations
                    .iter()
                    .filter(|t| {
                        t.kind == TransformationType::Direct || t.subtype == Subtype::Conditional
                    })
                    .collect();
                if carrying.is_empty() {
                    continue;
                }
                let masked = carrying.iter().all(|t| t.masking);
                let mut path = up.path.clone();
                path.push(PathStep {
                    node: id.to_string(),
                    column: column.name.clone(),
                });
                if up.status == PiiStatus::Pii && !masked {
                    match &mut pii {
                        Some(p) => p.kinds.extend(up.kinds.iter().cloned()),
                        None => {
                            pii = Some(ColumnPii {
                                kinds: up.kinds.clone(),
                                status: PiiStatus::Pii,
                                declared: false,
                                path,
                            });
                        }
                    }
                } else {
                    masked_kinds.extend(up.kinds.iter().cloned());
                    masked_path.get_or_insert(path);
                }
            }
            let declared = match own(&key) {
                Some(Declared::Kinds(k)) => Some(k),
                _ => None,
            };
            let result = match (pii, declared) {
                (Some(mut p), d) => {
                    if let Some(k) = d {
                        p.kinds.extend(k.iter().cloned());
                        p.declared = true;
                    }
                    Some(p)
                }
                (None, Some(k)) => Some(declared_here(id, &column.name, k)),
                (None, None) => masked_path.map(|path| ColumnPii {
                    kinds: masked_kinds.into_iter().collect(),
                    status: PiiStatus::Pseudonymised,
                    declared: false,
                    path,
                }),
            };
            if let Some(mut c) = result {
                c.kinds.sort();
                c.kinds.dedup();
                out.insert(key, (column.name.clone(), c));
            }
        }
    }
    // Declared columns the lineage does not list (no lineage, or an incomplete one): as
    // declared, on the columns YAML lists or node-level meta names.
    if let Some(decl) = decl {
        for (key, d) in decl {
            let Declared::Kinds(k) = d else { continue };
            if out.contains_key(key) || outputs.contains(key) && lin.is_some_and(|l| l.complete) {
                continue;
            }
            let listed = node
                .columns
                .values()
                .find(|c| c.name.to_lowercase() == *key);
            let from_node_meta = listed.is_none();
            if from_node_meta && lin.is_some_and(|l| l.complete) {
                continue;
            }
            let name = listed.map_or(key.clone(), |c| c.name.clone());
            out.insert(key.clone(), (name.clone(), declared_here(id, &name, k)));
        }
    }
    if let Some(lin) = lin
        && !lin.complete
    {
        let reads_pii = loaded.graph.depends_on(id).iter().any(|p| {
            uncertain.contains(p)
                || cls
                    .get(p)
                    .is_some_and(|c| c.values().any(|c| c.status == PiiStatus::Pii))
        });
        if reads_pii {
            unsure = true;
        }
    }
    (out, unsure)
}

fn unsure_input<'a>(
    mut inputs: impl Iterator<Item = &'a str>,
    uncertain: &HashSet<String>,
) -> bool {
    inputs.any(|n| uncertain.contains(n))
}

fn declared_here(id: &str, column: &str, kinds: &[String]) -> ColumnPii {
    ColumnPii {
        kinds: kinds.to_vec(),
        status: PiiStatus::Pii,
        declared: true,
        path: vec![PathStep {
            node: id.to_string(),
            column: column.to_string(),
        }],
    }
}

/// Why `node` may hold no PII, if the policy says so.
fn zone(loaded: &Loaded, settings: &PiiSettings, node: &Node) -> Option<String> {
    if node.is_ephemeral() {
        return None;
    }
    if settings.forbid_public
        && node.resource_type == ResourceType::Model
        && node.config.get("access").and_then(|a| a.as_str()) == Some("public")
    {
        return Some("it has access: public".to_string());
    }
    if settings.forbid_exposures {
        let exposures: Vec<&str> = loaded
            .graph
            .children
            .get(&node.unique_id)
            .into_iter()
            .flatten()
            .filter_map(|c| loaded.project.exposures.get(c))
            .map(|e| e.name.as_str())
            .collect();
        if let Some(first) = exposures.first() {
            return Some(format!("the exposure {first} depends on it"));
        }
    }
    let file = node.original_file_path.replace('\\', "/");
    if let Some(p) = settings
        .forbid_paths
        .iter()
        .find(|p| file.starts_with(&format!("{p}/")))
    {
        return Some(format!("it is under {p} ({SETTINGS_KEY}.forbid.paths)"));
    }
    if let Some(g) = node
        .config
        .get("group")
        .and_then(|g| g.as_str())
        .filter(|g| settings.forbid_groups.iter().any(|f| f == g))
    {
        return Some(format!(
            "it is in the group {g} ({SETTINGS_KEY}.forbid.groups)"
        ));
    }
    None
}

/// A node as a lineage path shows it: `source crm.contacts`, `seed raw_leads`, a model bare.
fn shown(loaded: &Loaded, id: &str) -> String {
    if let Some(s) = loaded.project.sources.get(id) {
        return format!("source {}.{}", s.source_name, s.name);
    }
    match loaded.project.nodes.get(id) {
        Some(n) if n.resource_type == ResourceType::Seed => format!("seed {}", n.name),
        Some(n) if n.resource_type == ResourceType::Snapshot => format!("snapshot {}", n.name),
        Some(n) => n.name.clone(),
        None => id.to_string(),
    }
}

/// `source crm.contacts.email → stg_crm__contacts.email → rpt_x.contact_email`.
pub fn path_text(loaded: &Loaded, path: &[PathStep]) -> String {
    path.iter()
        .map(|s| format!("{}.{}", shown(loaded, &s.node), s.column))
        .collect::<Vec<_>>()
        .join(" → ")
}

fn policy(
    loaded: &Loaded,
    settings: &PiiSettings,
    cls: &BTreeMap<String, BTreeMap<String, ColumnPii>>,
    names: &BTreeMap<String, BTreeMap<String, String>>,
    uncertain: &HashSet<String>,
    lineage: &ProjectLineage,
) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for node in loaded.project.nodes.values() {
        if !matches!(
            node.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        ) {
            continue;
        }
        let Some(why) = zone(loaded, settings, node) else {
            continue;
        };
        let kind = node.resource_type.to_string();
        for (key, c) in cls.get(&node.unique_id).into_iter().flatten() {
            if c.status != PiiStatus::Pii {
                continue;
            }
            let column = names
                .get(&node.unique_id)
                .and_then(|n| n.get(key))
                .cloned()
                .unwrap_or_else(|| key.clone());
            errors.push(
                Diagnostic::error(
                    "pii",
                    format!(
                        "{kind} {} outputs PII in column {column} ({}): {}. PII may not go there: {why}",
                        node.name,
                        c.kinds.join(", "),
                        path_text(loaded, &c.path)
                    ),
                )
                .in_file(node.file.clone())
                .with_help(format!(
                    "mask it with {} or drop the column; if it holds no personal data, declare it in YAML with meta: {{pii: false}}",
                    settings.masking_macros.first().map_or(
                        format!("a masking macro ({SETTINGS_KEY}.masking_macros)"),
                        |m| format!("{m}()")
                    )
                )),
            );
        }
        if uncertain.contains(&node.unique_id) && !vouched(node) {
            let reason = lineage
                .nodes
                .get(&node.unique_id)
                .and_then(|l| l.incomplete.first())
                .map_or("an upstream's lineage is incomplete".to_string(), |r| {
                    r.reason.clone()
                });
            errors.push(
                Diagnostic::error(
                    "pii",
                    format!(
                        "{kind} {} may output PII: it reads PII and its column lineage is incomplete ({reason}), so kiln cannot tell which columns carry it. PII may not go there: {why}",
                        node.name
                    ),
                )
                .in_file(node.file.clone())
                .with_help(
                    "write the SQL so kiln's lineage reads it (target/lineage.json says why it cannot), or list every column it outputs in YAML with meta: {pii: false} once checked",
                ),
            );
        }
    }
    errors
}

/// Every column the node's YAML lists is declared `pii: false` (and it lists some).
fn vouched(node: &Node) -> bool {
    !node.columns.is_empty()
        && node
            .columns
            .values()
            .all(|c| crate::schemas::pii::column_declared(c) == Some(Declared::NotPii))
}

//! PII classification: what the project declares (YAML and dbt_project.yml), kiln's settings for
//! it (`vars: kiln: pii:`), and `target/pii.json`, the classification propagated over the column
//! lineage by `session::pii` that the docs site, `pii:` selection and erasure read.
//!
//! Declaring a column PII (a kind is a free word: `email`, `name`, `phone`, `ip`, `free_text`):
//! - on a source, seed, model or snapshot column, `meta: {pii: email}` (or `config: {meta:
//!   ...}`), a list of kinds (`pii: [email, name]`), or `pii: true` (kind `pii`);
//! - or a column tag: `pii` (kind `pii`) or `pii:<kind>` (`pii:email`);
//! - or for every node of a folder, through the node-level `meta` that dbt inherits from
//!   dbt_project.yml: `+meta: {pii: {email: email, phone: phone}}` classifies the column of that
//!   name in each node under the folder that has it (also a source's or a model's own
//!   `meta: {pii: {column: kind}}`). Column-level meta is not inherited, in dbt or in kiln.
//! - `pii: false` on a column says it holds no PII: a model column derived from PII that the
//!   owner has checked (an e-mail's company domain) stops the propagation there.
//!
//! A column's kinds are the union of what declares it; `pii: false` on the column itself wins.
//!
//! Settings, all optional (dbt rejects unknown top-level keys in dbt_project.yml, so they are
//! a var):
//! ```yaml
//! vars:
//!   kiln:
//!     pii:
//!       masking_macros: [hash_pii]      # macros whose output pseudonymises its input
//!       masking_functions: [sha256]     # SQL functions that do (none by default)
//!       forbid:
//!         public: true                  # models with access: public (default true)
//!         exposures: true               # models and sources exposures depend on (default true)
//!         paths: [models/reporting]     # models under these folders
//!         groups: [finance]             # models in these groups
//! ```

use crate::project::{ColumnInfo, Project};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The file name under the target path.
pub const PII_FILE: &str = "pii.json";

/// The kind a bare `pii` tag or `pii: true` gives.
pub const GENERIC_KIND: &str = "pii";

/// `vars: kiln: pii:`, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiSettings {
    /// Macro names (without package) whose rendered output masks its input.
    pub masking_macros: Vec<String>,
    /// SQL function names that mask (lower case).
    pub masking_functions: Vec<String>,
    pub forbid_public: bool,
    pub forbid_exposures: bool,
    /// Folders, project-relative (`models/reporting`), without a trailing slash.
    pub forbid_paths: Vec<String>,
    pub forbid_groups: Vec<String>,
}

impl Default for PiiSettings {
    fn default() -> Self {
        PiiSettings {
            masking_macros: Vec::new(),
            masking_functions: Vec::new(),
            forbid_public: true,
            forbid_exposures: true,
            forbid_paths: Vec::new(),
            forbid_groups: Vec::new(),
        }
    }
}

/// Where the settings are written, for messages.
pub const SETTINGS_KEY: &str = "vars.kiln.pii";

impl PiiSettings {
    /// Reads `vars.kiln.pii` from the project's vars; the error names the key and what is wrong.
    pub fn from_vars(vars: &Map<String, Value>) -> Result<PiiSettings, String> {
        let mut out = PiiSettings::default();
        let Some(section) = vars.get("kiln").and_then(|k| k.get("pii")) else {
            return Ok(out);
        };
        let Value::Object(section) = section else {
            return Err(format!("`{SETTINGS_KEY}` must be a mapping"));
        };
        for (key, value) in section {
            match key.as_str() {
                "masking_macros" => out.masking_macros = names(key, value)?,
                "masking_functions" => {
                    out.masking_functions = names(key, value)?
                        .into_iter()
                        .map(|n| n.to_lowercase())
                        .collect();
                }
                "forbid" => {
                    let Value::Object(forbid) = value else {
                        return Err(format!("`{SETTINGS_KEY}.forbid` must be a mapping"));
                    };
                    for (k, v) in forbid {
                        let flag = |v: &Value| {
                            v.as_bool().ok_or_else(|| {
                                format!("`{SETTINGS_KEY}.forbid.{k}` must be true or false")
                            })
                        };
                        match k.as_str() {
                            "public" => out.forbid_public = flag(v)?,
                            "exposures" => out.forbid_exposures = flag(v)?,
                            "paths" => {
                                out.forbid_paths = names(&format!("forbid.{k}"), v)?
                                    .into_iter()
                                    .map(|p| p.trim_end_matches('/').to_string())
                                    .collect();
                            }
                            "groups" => out.forbid_groups = names(&format!("forbid.{k}"), v)?,
                            other => {
                                return Err(format!(
                                    "`{SETTINGS_KEY}.forbid` has an unknown key `{other}` (known: public, exposures, paths, groups)"
                                ));
                            }
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "`{SETTINGS_KEY}` has an unknown key `{other}` (known: masking_macros, masking_functions, forbid)"
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// A string or a list of strings.
fn names(key: &str, value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str().map(String::from).ok_or_else(|| {
                    format!("`{SETTINGS_KEY}.{key}` must be a list of names, not {v}")
                })
            })
            .collect(),
        other => Err(format!(
            "`{SETTINGS_KEY}.{key}` must be a list of names, not {other}"
        )),
    }
}

/// What a declaration says of a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declared {
    /// PII of these kinds (lower case, sorted, unique).
    Kinds(Vec<String>),
    /// `pii: false`: not PII, whatever it is derived from.
    NotPii,
}

/// Reads a `pii` value: a kind, a list of kinds, true or false. None for anything else.
fn pii_value(value: &Value) -> Option<Declared> {
    let mut kinds: Vec<String> = match value {
        Value::Bool(false) => return Some(Declared::NotPii),
        Value::Bool(true) => vec![GENERIC_KIND.to_string()],
        Value::String(s) if !s.trim().is_empty() => vec![s.trim().to_lowercase()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => return None,
    };
    kinds.sort();
    kinds.dedup();
    (!kinds.is_empty()).then_some(Declared::Kinds(kinds))
}

/// What a column's own `meta` and `tags` declare.
pub fn column_declared(column: &ColumnInfo) -> Option<Declared> {
    let from_meta = column.meta.get("pii").and_then(pii_value);
    if from_meta == Some(Declared::NotPii) {
        return from_meta;
    }
    let mut kinds: Vec<String> = match from_meta {
        Some(Declared::Kinds(k)) => k,
        _ => Vec::new(),
    };
    for tag in &column.tags {
        let tag = tag.trim().to_lowercase();
        if tag == "pii" {
            kinds.push(GENERIC_KIND.to_string());
        } else if let Some(kind) = tag.strip_prefix("pii:").filter(|k| !k.is_empty()) {
            kinds.push(kind.to_string());
        }
    }
    kinds.sort();
    kinds.dedup();
    (!kinds.is_empty()).then_some(Declared::Kinds(kinds))
}

/// A node-level `meta.pii` mapping (inherited from dbt_project.yml's `+meta`): column name (lower
/// case) → what it declares.
fn node_declared(meta: Option<&Value>) -> BTreeMap<String, Declared> {
    let Some(Value::Object(map)) = meta.and_then(|m| m.get("pii")) else {
        return BTreeMap::new();
    };
    map.iter()
        .filter_map(|(col, v)| Some((col.to_lowercase(), pii_value(v)?)))
        .collect()
}

/// Combines a node-level and a column-level declaration: the column's `pii: false` wins, kinds
/// add up.
fn combine(node: Option<&Declared>, column: Option<Declared>) -> Option<Declared> {
    match (node, column) {
        (_, Some(Declared::NotPii)) => Some(Declared::NotPii),
        (None, c) => c,
        (Some(n), None) => Some(n.clone()),
        (Some(Declared::NotPii), Some(c)) => Some(c),
        (Some(Declared::Kinds(a)), Some(Declared::Kinds(b))) => {
            let mut k: Vec<String> = a.iter().chain(b.iter()).cloned().collect();
            k.sort();
            k.dedup();
            Some(Declared::Kinds(k))
        }
    }
}

/// Every declaration in the project: unique_id → column name (lower case) → what it declares.
/// Node-level declarations name columns the node may not list in YAML; they apply to whatever
/// columns the node turns out to have.
pub fn declared(project: &Project) -> BTreeMap<String, BTreeMap<String, Declared>> {
    let mut out: BTreeMap<String, BTreeMap<String, Declared>> = BTreeMap::new();
    let mut add = |id: &str,
                   node_meta: BTreeMap<String, Declared>,
                   columns: &indexmap::IndexMap<String, ColumnInfo>| {
        let mut cols: BTreeMap<String, Declared> = BTreeMap::new();
        for c in columns.values() {
            let key = c.name.to_lowercase();
            if let Some(d) = combine(node_meta.get(&key), column_declared(c)) {
                cols.insert(key, d);
            }
        }
        for (k, d) in node_meta {
            cols.entry(k).or_insert(d);
        }
        if !cols.is_empty() {
            out.insert(id.to_string(), cols);
        }
    };
    for n in project.nodes.values() {
        use crate::project::ResourceType as R;
        if !matches!(n.resource_type, R::Model | R::Seed | R::Snapshot) {
            continue;
        }
        add(
            &n.unique_id,
            node_declared(n.config.get("meta")),
            &n.columns,
        );
    }
    for s in project.sources.values() {
        let mut meta = node_declared(s.config.get("meta"));
        for (k, v) in node_declared(Some(&Value::Object(s.meta.clone()))) {
            meta.insert(k, v);
        }
        add(&s.unique_id, meta, &s.columns);
    }
    out
}

/// `target/pii.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiArtifact {
    pub metadata: PiiMetadata,
    /// Sources, seeds, models and snapshots with at least one PII or pseudonymised column, by
    /// unique_id.
    pub nodes: BTreeMap<String, NodePii>,
}

/// Who wrote the file, and when (as lineage.json's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiMetadata {
    pub kiln_version: String,
    pub generated_at: String,
    pub invocation_id: String,
}

/// One node's classified columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePii {
    /// By column name as the node spells it.
    pub columns: BTreeMap<String, ColumnPii>,
}

/// A classified column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnPii {
    /// The kinds of personal data it holds (or held before masking), sorted.
    pub kinds: Vec<String>,
    pub status: PiiStatus,
    /// True when YAML or dbt_project.yml classifies the column itself; false when the lineage
    /// found it derived from a classified column.
    pub declared: bool,
    /// Where it comes from: the declared column first, this column last (one path when several
    /// lead here; just this column when it is declared).
    pub path: Vec<PathStep>,
}

/// Whether a column holds the personal data or a masked form of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PiiStatus {
    /// The value, or something computed from it without a masking step.
    Pii,
    /// Only through a declared masking step (a keyed hash): pseudonymised, not PII for the policy.
    Pseudonymised,
}

/// One column on a lineage path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStep {
    pub node: String,
    pub column: String,
}

impl PiiArtifact {
    /// Compact JSON, as lineage.json.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads `<target>/pii.json`; None when absent or unreadable (a previous kiln's file).
    pub fn read(path: &std::path::Path) -> Option<PiiArtifact> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The kinds of PII (not pseudonymised) each column of `unique_id` holds.
    pub fn pii_kinds<'a>(&'a self, unique_id: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.nodes
            .get(unique_id)
            .into_iter()
            .flat_map(|n| n.columns.values())
            .filter(|c| c.status == PiiStatus::Pii)
            .flat_map(|c| c.kinds.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn column(meta: Value, tags: &[&str]) -> ColumnInfo {
        ColumnInfo {
            name: "email".into(),
            description: String::new(),
            meta: match meta {
                Value::Object(m) => m,
                _ => Map::new(),
            },
            data_type: None,
            constraints: vec![],
            quote: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            granularity: None,
            doc_blocks: vec![],
        }
    }

    #[test]
    fn a_column_is_declared_by_meta_or_tags() {
        let kinds = |v: &[&str]| Some(Declared::Kinds(v.iter().map(|s| s.to_string()).collect()));
        assert_eq!(
            column_declared(&column(json!({"pii": "Email"}), &[])),
            kinds(&["email"])
        );
        assert_eq!(
            column_declared(&column(json!({"pii": ["name", "email"]}), &["pii:phone"])),
            kinds(&["email", "name", "phone"])
        );
        assert_eq!(
            column_declared(&column(json!({}), &["pii"])),
            kinds(&["pii"])
        );
        assert_eq!(
            column_declared(&column(json!({"pii": false}), &["pii"])),
            Some(Declared::NotPii)
        );
        assert_eq!(
            column_declared(&column(json!({"owner": "x"}), &["daily"])),
            None
        );
    }

    #[test]
    fn settings_default_to_public_and_exposures_and_reject_unknown_keys() {
        let s = PiiSettings::from_vars(&Map::new()).unwrap();
        assert!(s.forbid_public && s.forbid_exposures && s.masking_macros.is_empty());
        let vars = json!({"kiln": {"pii": {"masking_macros": "hash_pii",
            "masking_functions": ["SHA256"], "forbid": {"paths": ["models/reporting/"], "exposures": false}}}});
        let s = PiiSettings::from_vars(vars.as_object().unwrap()).unwrap();
        assert_eq!(s.masking_macros, ["hash_pii"]);
        assert_eq!(s.masking_functions, ["sha256"]);
        assert_eq!(s.forbid_paths, ["models/reporting"]);
        assert!(!s.forbid_exposures && s.forbid_public);
        let bad = json!({"kiln": {"pii": {"mask": []}}});
        assert_eq!(
            PiiSettings::from_vars(bad.as_object().unwrap()).unwrap_err(),
            "`vars.kiln.pii` has an unknown key `mask` (known: masking_macros, masking_functions, forbid)"
        );
    }
}

//! `target/lineage.json`: the project's column lineage, computed once per compile (`kiln
//! compile`, `build`, `run`, `docs generate`) so that the docs site, OpenLineage events and
//! `kiln lineage` never parse SQL again.
//!
//! ```json
//! {"metadata": {"kiln_version": "0.1.0", "generated_at": "2026-12-07T03:40:00.000000Z",
//!               "invocation_id": "…"},
//!  "nodes": {"model.demo.orders": {
//!     "relation": "\"demo\".\"main\".\"orders\"",
//!     "complete": true,
//!     "incomplete": [],
//!     "columns": [{"name": "amount", "type": "DOUBLE",
//!                  "inputs": [{"node": "seed.demo.raw_orders", "column": "amount",
//!                              "transformations": [{"type": "DIRECT", "subtype": "IDENTITY",
//!                                                   "masking": false}]}]}],
//!     "dataset": [{"node": "seed.demo.raw_orders", "column": "status",
//!                  "transformations": [{"type": "INDIRECT", "subtype": "FILTER",
//!                                       "masking": false}]}]}}}
//! ```
//!
//! - `nodes` has one entry per model (ephemeral ones too, `relation` null) and snapshot, keyed
//!   by unique_id, in unique_id order.
//! - An input's `node` is the unique_id of the model, seed, snapshot or source whose column it
//!   is. Ephemeral models are read through the CTEs they compile into, so inputs name the
//!   relations underneath them, never an ephemeral model.
//! - `columns` are the node's output columns in order, with the types the database's binder
//!   gives them (DuckDB: `DESCRIBE`; for a simple model over engine-typed upstreams, kiln's own
//!   typing, verified to equal it); `type` is null where neither could answer (an upstream's
//!   columns are YAML's and the type is neither declared nor passed through from a relation
//!   the engine typed).
//!   A snapshot's columns include the `dbt_*` columns it adds (without inputs).
//! - `transformations` are OpenLineage's (`columnLineage` facet 1-2-0): DIRECT (IDENTITY,
//!   TRANSFORMATION, AGGREGATION) in a column's inputs; INDIRECT (JOIN, FILTER, GROUP_BY, SORT,
//!   WINDOW, CONDITIONAL) in `dataset` when they affect every row, and in a column's inputs when
//!   they affect that column only (a CASE condition, a window's partition).
//! - `binder_checked: false` (written only then) says that no binder cross-checked the
//!   output columns: on an engine without one (Athena), they are kiln's own reading of the SQL
//!   against its upstreams' columns (YAML's, a seed's CSV, Glue's), not a guess, and not
//!   "incomplete"; `type` is YAML's, or the upstream's for a column passed through unchanged.
//! - `complete` is false when the lineage could not be read in full (SQL sqlparser cannot parse,
//!   a name two relations have, output columns that differ from the binder's...): `incomplete`
//!   says why, with the line and column in the node's source file when one place is to blame.
//!   An incomplete node keeps what is known (often nothing); readers fall back to table-level
//!   lineage (`depends_on`) for it. Nothing is guessed.

use super::read;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::sql::lineage::{Subtype, Transformation, TransformationType};

/// The file name under the target path.
pub const LINEAGE_FILE: &str = "lineage.json";

/// The whole artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageArtifact {
    pub metadata: LineageMetadata,
    /// Models and snapshots by unique_id.
    pub nodes: BTreeMap<String, NodeLineage>,
}

/// Who wrote the file, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageMetadata {
    pub kiln_version: String,
    /// RFC 3339, UTC, as manifest.json's `generated_at`.
    pub generated_at: String,
    /// The same id as the manifest and run_results of the same invocation.
    pub invocation_id: String,
}

/// One model's or snapshot's column lineage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeLineage {
    /// The relation as compiled SQL names it (the manifest's `relation_name`); null for an
    /// ephemeral model.
    pub relation: Option<String>,
    /// True when every output column's inputs are known (`incomplete` is empty).
    pub complete: bool,
    /// Why the lineage is incomplete.
    #[serde(default)]
    pub incomplete: Vec<IncompleteReason>,
    /// The output columns, in order.
    #[serde(default)]
    pub columns: Vec<ColumnLineage>,
    /// Inputs that affect every row (filters, join keys, grouping, sorting).
    #[serde(default)]
    pub dataset: Vec<LineageInput>,
    /// False when no binder checked the output columns: on an engine without one (Athena)
    /// they are kiln's own reading of the SQL against the upstreams' columns, and their types
    /// are YAML's or an upstream's for a column passed through unchanged. Written only when
    /// false (absent means checked, or lineage incomplete).
    #[serde(default = "checked", skip_serializing_if = "is_checked")]
    pub binder_checked: bool,
}

fn checked() -> bool {
    true
}

fn is_checked(b: &bool) -> bool {
    *b
}

/// Why a node's lineage is incomplete, and where (1-based, in the node's source file) when one
/// place is to blame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncompleteReason {
    pub reason: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
}

/// One output column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnLineage {
    pub name: String,
    /// The type the database's binder gives the column.
    #[serde(rename = "type")]
    pub data_type: Option<String>,
    #[serde(default)]
    pub inputs: Vec<LineageInput>,
}

/// An upstream column and how it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageInput {
    /// The unique_id of the model, seed, snapshot or source.
    pub node: String,
    /// The column as the upstream spells it.
    pub column: String,
    /// DIRECT before INDIRECT, each in OpenLineage's subtype order.
    pub transformations: Vec<Transformation>,
}

impl LineageArtifact {
    /// The file's JSON text, compact as manifest.json is (a 10,000-model project's lineage is
    /// tens of MB; `jq .` shows it indented).
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: every map key is a string.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Writes the file's JSON text (the same bytes as [`LineageArtifact::to_json`]) from
    /// borrowed parts, so a writer streams tens of MB without first copying every node.
    pub fn write_json<W: std::io::Write>(
        out: W,
        metadata: &LineageMetadata,
        nodes: &BTreeMap<String, NodeLineage>,
    ) -> std::io::Result<()> {
        #[derive(Serialize)]
        struct Borrowed<'a> {
            metadata: &'a LineageMetadata,
            nodes: &'a BTreeMap<String, NodeLineage>,
        }
        serde_json::to_writer(out, &Borrowed { metadata, nodes }).map_err(std::io::Error::other)
    }

    /// Reads the file's JSON text; the error says what is wrong (a sentence).
    pub fn from_json(text: &str) -> Result<LineageArtifact, String> {
        serde_json::from_str(text).map_err(|e| format!("is not a kiln lineage file: {e}"))
    }

    /// Reads `<target>/lineage.json`.
    pub fn read(path: &std::path::Path) -> Result<LineageArtifact, read::ArtifactError> {
        let text = std::fs::read_to_string(path).map_err(|e| read::ArtifactError {
            path: path.to_path_buf(),
            problem: format!("cannot be read: {e}"),
        })?;
        LineageArtifact::from_json(&text).map_err(|problem| read::ArtifactError {
            path: path.to_path_buf(),
            problem,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_artifact_reads_back_what_it_writes_in_openlineage_spelling() {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            "model.demo.orders".to_string(),
            NodeLineage {
                relation: Some("\"demo\".\"main\".\"orders\"".into()),
                complete: true,
                incomplete: vec![],
                columns: vec![ColumnLineage {
                    name: "amount".into(),
                    data_type: Some("DOUBLE".into()),
                    inputs: vec![LineageInput {
                        node: "seed.demo.raw_orders".into(),
                        column: "amount".into(),
                        transformations: vec![Transformation::new(Subtype::Identity, false)],
                    }],
                }],
                dataset: vec![LineageInput {
                    node: "source.demo.raw.events".into(),
                    column: "kind".into(),
                    transformations: vec![Transformation::new(Subtype::Filter, false)],
                }],
                binder_checked: true,
            },
        );
        nodes.insert(
            "model.demo.odd".to_string(),
            NodeLineage {
                relation: None,
                complete: false,
                incomplete: vec![IncompleteReason {
                    reason: "sqlparser cannot parse the SQL".into(),
                    line: Some(3),
                    column: Some(7),
                }],
                columns: vec![],
                dataset: vec![],
                binder_checked: false,
            },
        );
        let artifact = LineageArtifact {
            metadata: LineageMetadata {
                kiln_version: "0.1.0".into(),
                generated_at: "2026-12-07T00:00:00.000000Z".into(),
                invocation_id: "id".into(),
            },
            nodes,
        };
        let text = artifact.to_json();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["nodes"]["model.demo.orders"]["columns"][0]["inputs"][0]["transformations"][0],
            serde_json::json!({"type": "DIRECT", "subtype": "IDENTITY", "masking": false})
        );
        assert_eq!(
            value["nodes"]["model.demo.orders"]["columns"][0]["type"],
            "DOUBLE"
        );
        assert_eq!(
            value["nodes"]["model.demo.orders"]["dataset"][0]["transformations"][0]["subtype"],
            "FILTER"
        );
        assert_eq!(
            value["nodes"]["model.demo.odd"]["relation"],
            serde_json::Value::Null
        );
        // Written only when false: a binder checked orders' columns.
        assert_eq!(
            value["nodes"]["model.demo.orders"].get("binder_checked"),
            None
        );
        assert_eq!(
            value["nodes"]["model.demo.odd"]["binder_checked"],
            serde_json::Value::Bool(false)
        );
        assert_eq!(LineageArtifact::from_json(&text).unwrap(), artifact);
        // Streamed from borrowed parts: the same bytes.
        let mut streamed = Vec::new();
        LineageArtifact::write_json(&mut streamed, &artifact.metadata, &artifact.nodes).unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), text);
        let err = LineageArtifact::from_json("{\"nodes\": {}}").unwrap_err();
        assert!(err.contains("metadata"), "{err}");
    }
}

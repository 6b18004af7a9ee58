//! The artifacts in `target/` the site reads beside the loaded project (run_results.json,
//! catalog.json, sources.json, and with `--no-compile` lineage.json and pii.json), as typed
//! structs holding only the fields the site shows: a value passed to the page as it is stays
//! a JSON value (a number keeps its spelling), the rest is skipped while reading.

use crate::error::{Diagnostic, Error};
use crate::schemas::lineage::NodeLineage;
use crate::schemas::pii::NodePii;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The artifacts the site reads from `target/`; each `None` when its file is absent.
#[derive(Default)]
pub struct Artifacts {
    pub run_results: Option<Results>,
    pub catalog: Option<Catalog>,
    /// sources.json: the last freshness check.
    pub sources: Option<Results>,
    /// lineage.json, read only when this invocation did not compute the lineage.
    pub lineage: Option<LineageFile>,
    /// pii.json, read only when this invocation did not classify the columns.
    pub pii: Option<PiiFile>,
}

impl Artifacts {
    /// Reads the artifacts beside the manifest in `target`, lineage.json and pii.json only when
    /// `with_lineage` (the command did not compute them). An artifact that is present but
    /// unreadable is an error naming it: a site silently missing its run results would
    /// mislead.
    pub fn read(target: &Path, with_lineage: bool) -> Result<Self, Error> {
        let file = |name: &str| target.join(name);
        let ((run_results, catalog), (sources, (lineage, pii))) = rayon::join(
            || {
                rayon::join(
                    || read_typed(&file("run_results.json")),
                    || read_typed(&file("catalog.json")),
                )
            },
            || {
                rayon::join(
                    || read_typed(&file("sources.json")),
                    || {
                        if with_lineage {
                            (
                                read_typed(&file("lineage.json")),
                                read_typed(&file("pii.json")),
                            )
                        } else {
                            (Ok(None), Ok(None))
                        }
                    },
                )
            },
        );
        Ok(Artifacts {
            run_results: run_results?,
            catalog: catalog?,
            sources: sources?,
            lineage: lineage?,
            pii: pii?,
        })
    }
}

/// The file at `path` read as `T`; `None` when there is no file.
fn read_typed<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, Error> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::one(
            Diagnostic::error("docs", format!("{} cannot be read: {e}", path.display()))
                .in_file(path)
                .with_help("re-run the command that writes it, or delete it"),
        )
    })
}

/// A field that is there, `null` included (`Some(Value::Null)`); `None` only when absent.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// run_results.json or sources.json: the results, by node.
#[derive(Deserialize, Default)]
pub struct Results {
    #[serde(default)]
    pub results: Vec<ResultRow>,
}

impl Results {
    /// The results by unique_id (the last one when a node has several).
    pub fn by_id(&self) -> HashMap<&str, &ResultRow> {
        self.results
            .iter()
            .filter_map(|r| Some((r.unique_id.as_deref()?, r)))
            .collect()
    }
}

/// One result: a node's run (run_results.json) or a source's freshness (sources.json).
#[derive(Deserialize)]
pub struct ResultRow {
    #[serde(default)]
    pub unique_id: Option<String>,
    #[serde(default)]
    pub status: Value,
    #[serde(default)]
    pub message: Value,
    #[serde(default)]
    pub execution_time: Value,
    #[serde(default)]
    pub timing: Vec<TimingRow>,
    #[serde(default)]
    pub adapter_response: Option<AdapterResponse>,
    #[serde(default)]
    pub criteria: Value,
    #[serde(default)]
    pub max_loaded_at: Value,
    #[serde(default)]
    pub snapshotted_at: Value,
    #[serde(default)]
    pub max_loaded_at_time_ago_in_s: Value,
}

impl ResultRow {
    /// When the run finished: the execute step's end, else the compile step's.
    pub fn completed_at(&self) -> Value {
        let at = |i: usize| self.timing.get(i).and_then(|t| t.completed_at.as_ref());
        at(1).or_else(|| at(0)).cloned().unwrap_or(Value::Null)
    }

    /// The rows the statement affected, as the adapter reported them.
    pub fn rows(&self) -> Value {
        self.adapter_response
            .as_ref()
            .map_or(Value::Null, |a| a.rows_affected.clone())
    }
}

#[derive(Deserialize)]
pub struct TimingRow {
    #[serde(default, deserialize_with = "present")]
    pub completed_at: Option<Value>,
}

#[derive(Deserialize)]
pub struct AdapterResponse {
    #[serde(default)]
    pub rows_affected: Value,
}

/// catalog.json: the warehouse's view of each relation.
#[derive(Deserialize, Default)]
pub struct Catalog {
    #[serde(default)]
    pub nodes: HashMap<String, CatalogEntry>,
    #[serde(default)]
    pub sources: HashMap<String, CatalogEntry>,
}

impl Catalog {
    /// A node's or a source's entry.
    pub fn entry(&self, id: &str) -> Option<&CatalogEntry> {
        self.nodes.get(id).or_else(|| self.sources.get(id))
    }
}

#[derive(Deserialize)]
pub struct CatalogEntry {
    #[serde(default)]
    pub metadata: CatalogMetadata,
    /// In the file's order.
    #[serde(default)]
    pub columns: indexmap::IndexMap<String, CatalogColumn>,
    #[serde(default)]
    pub stats: Value,
}

#[derive(Deserialize, Default)]
pub struct CatalogMetadata {
    #[serde(default)]
    pub owner: Value,
}

#[derive(Deserialize)]
pub struct CatalogColumn {
    #[serde(default)]
    pub name: Value,
    #[serde(rename = "type", default)]
    pub data_type: Value,
    #[serde(default)]
    pub index: Value,
    #[serde(default)]
    pub comment: Value,
}

/// lineage.json's nodes (`None` when the file has none).
#[derive(Deserialize)]
pub struct LineageFile {
    #[serde(default)]
    pub nodes: Option<BTreeMap<String, NodeLineage>>,
}

/// pii.json's nodes.
#[derive(Deserialize)]
pub struct PiiFile {
    #[serde(default)]
    pub nodes: BTreeMap<String, NodePii>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_at_is_the_execute_steps_even_when_null() {
        let row: ResultRow = serde_json::from_value(serde_json::json!({
            "unique_id": "model.p.m", "status": "success",
            "timing": [{"name": "compile", "completed_at": "a"},
                       {"name": "execute", "completed_at": null}],
        }))
        .expect("a row");
        assert_eq!(row.completed_at(), Value::Null);
        let row: ResultRow = serde_json::from_value(serde_json::json!({
            "unique_id": "model.p.m",
            "timing": [{"name": "compile", "completed_at": "a"}, {"name": "execute"}],
        }))
        .expect("a row");
        assert_eq!(row.completed_at(), Value::from("a"));
        assert_eq!(row.rows(), Value::Null);
    }

    #[test]
    fn a_number_keeps_its_spelling() {
        let row: ResultRow = serde_json::from_str(
            r#"{"unique_id": "m", "execution_time": 1.50, "adapter_response": {"rows_affected": 3}}"#,
        )
        .expect("a row");
        assert_eq!(
            serde_json::to_string(&row.execution_time).expect("json"),
            "1.5"
        );
        assert_eq!(serde_json::to_string(&row.rows()).expect("json"), "3");
    }
}

//! dbt-compatible artifacts: manifest.json (v12), run_results.json (v6), later catalog.json.
//! Written atomically (temp file + rename) so a reader never sees half a file.

pub mod manifest;
pub mod run_results;

pub use manifest::{ManifestMeta, manifest_json, node_context_json};

use crate::error::Error;
use serde_json::Value;
use std::path::Path;

/// The `metadata.env` key naming the target that wrote an artifact (kiln's addition: dbt's
/// schemas allow no other key in `metadata`, and `env` takes any string).
pub const TARGET_ENV_KEY: &str = "kiln_target";

/// The `metadata.env` key of run_results.json naming the adapter type of that target (the
/// manifest has dbt's own `metadata.adapter_type`).
pub const ADAPTER_ENV_KEY: &str = "kiln_adapter_type";

/// Which target, on which adapter, wrote a manifest.json or run_results.json, as far as the
/// file says (dbt's own files name the adapter in the manifest, and the target in run_results'
/// `args` when `--target` was given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WrittenBy {
    pub target: Option<String>,
    pub adapter_type: Option<String>,
}

impl WrittenBy {
    /// From a manifest.json.
    pub fn of_manifest(manifest: &Value) -> Self {
        let meta = &manifest["metadata"];
        WrittenBy {
            target: text(&meta["env"][TARGET_ENV_KEY]),
            adapter_type: text(&meta["adapter_type"]),
        }
    }

    /// From a run_results.json.
    pub fn of_run_results(run_results: &Value) -> Self {
        let env = &run_results["metadata"]["env"];
        WrittenBy {
            target: text(&env[TARGET_ENV_KEY]).or_else(|| text(&run_results["args"]["target"])),
            adapter_type: text(&env[ADAPTER_ENV_KEY]),
        }
    }

    /// `target 'prod' (athena)`, with what the file does not say left out.
    pub fn describe(&self) -> String {
        match (&self.target, &self.adapter_type) {
            (Some(t), Some(a)) => format!("target '{t}' ({a})"),
            (Some(t), None) => format!("target '{t}'"),
            (None, Some(a)) => format!("a {a} target"),
            (None, None) => "an unknown target".into(),
        }
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(String::from)
}

/// Writes `bytes` to `path` through a temporary file in the same folder, secrets scrubbed
/// ([`crate::events::secrets`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, crate::events::secrets::scrub_bytes(bytes))
        .map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

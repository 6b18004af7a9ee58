//! dbt-compatible artifacts: manifest.json (v12), run_results.json (v6), catalog.json (v1), and
//! OpenLineage events (`openlineage/`).
//! Written atomically (temp file + rename) so a reader never sees half a file. The resources in
//! them are [`crate::schemas`]' dicts; reading an earlier run's artifacts back is
//! [`crate::schemas::read`].

pub mod catalog;
pub mod manifest;
pub mod openlineage;
pub mod run_results;

pub use manifest::{ManifestMeta, manifest_json};

use crate::error::Error;
use std::path::Path;

pub use crate::schemas::{ADAPTER_ENV_KEY, TARGET_ENV_KEY};

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

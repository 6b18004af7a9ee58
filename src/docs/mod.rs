//! The docs site: a static site written to `target/` from the artifacts there, and a small file
//! server for it (`kiln docs serve`).
//!
//! The site is `index.html` and the folder `kiln-docs/`: the app (`app.js`, `app.css`, embedded
//! in the binary), the slim graph every view starts from (`graph.js`: ids, names, kinds,
//! folders, tags, edges, and each node's precomputed layer and order, `layout.rs`), the search
//! index (`search.js`, loaded after the first view) and each node's details in shards of
//! [`data::SHARD_SIZE`] nodes (`d/<n>.js`), loaded when a page needs them. Data files are
//! scripts that call `kilnDocs.*` rather than JSON, because Chromium refuses `fetch()` of
//! `file://` URLs: the site works opened from disk as well as served. `--static` writes one
//! self-contained `static_index.html` with everything inlined.

pub mod artifacts;
pub mod data;
pub mod layout;
pub mod load;
pub mod serve;
pub mod write;

use crate::error::Error;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// The folder under `target/` that holds the site's assets and data.
pub const ASSETS_DIR: &str = "kiln-docs";
/// The self-contained page `--static` writes (dbt's name for it).
pub const STATIC_FILE: &str = "static_index.html";

/// What was written.
#[derive(Debug, Clone)]
pub struct SiteSummary {
    /// The page to open: `index.html`, or `static_index.html` with `--static`.
    pub index: PathBuf,
    /// Nodes the site shows (models, seeds, snapshots, sources, exposures, analyses).
    pub nodes: usize,
    /// Files the site has.
    pub files: usize,
    /// How many were written, left unchanged, and removed.
    pub counts: write::WriteCounts,
}

/// The detail shards' writer: each shard's file written as it is made (only when its bytes
/// changed, [`write::write_if_changed`]), and kept in memory only for `--static`.
pub struct ShardWriter {
    dir: PathBuf,
    written: AtomicUsize,
    unchanged: AtomicUsize,
    kept: Option<Mutex<Vec<(usize, String)>>>,
}

impl ShardWriter {
    /// Writes into `target`'s `kiln-docs/d/` (made here); `keep`: also hold each shard for
    /// [`write_static`].
    pub fn new(target: &Path, keep: bool) -> Result<Self, Error> {
        let dir = target.join(ASSETS_DIR).join("d");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(ShardWriter {
            dir,
            written: AtomicUsize::new(0),
            unchanged: AtomicUsize::new(0),
            kept: keep.then(|| Mutex::new(Vec::new())),
        })
    }

    /// The shards' scripts in order (none unless made with `keep`).
    pub fn kept(&self) -> Vec<String> {
        let Some(kept) = &self.kept else {
            return Vec::new();
        };
        let mut list = std::mem::take(&mut *kept.lock().unwrap_or_else(PoisonError::into_inner));
        list.sort_by_key(|(i, _)| *i);
        list.into_iter().map(|(_, s)| s).collect()
    }
}

impl data::ShardSink for ShardWriter {
    fn shard(&self, i: usize, script: &[u8]) -> Result<(), Error> {
        let wrote = write::write_if_changed(&self.dir.join(shard_file(i)), script)?;
        let count = if wrote {
            &self.written
        } else {
            &self.unchanged
        };
        count.fetch_add(1, Ordering::Relaxed);
        if let Some(kept) = &self.kept {
            let text = String::from_utf8_lossy(script).into_owned();
            kept.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((i, text));
        }
        Ok(())
    }
}

/// Writes the site into `target` from `site` ([`load::site_data`], whose shards `shards` has
/// written): the app, graph.js and search.js, and removes the shards it no longer has.
pub fn write_site(
    target: &Path,
    site: &data::SiteData,
    shards: &ShardWriter,
) -> Result<SiteSummary, Error> {
    let timer = crate::timing::StageTimer::nested();
    let assets = target.join(ASSETS_DIR);
    let files: [(PathBuf, &[u8]); 5] = [
        (target.join("index.html"), INDEX_HTML.as_bytes()),
        (assets.join("app.js"), APP_JS.as_bytes()),
        (assets.join("app.css"), APP_CSS.as_bytes()),
        (assets.join("graph.js"), site.graph.as_bytes()),
        (assets.join("search.js"), site.search.as_bytes()),
    ];
    let mut counts = write::write_files(&files)?;
    counts.written += shards.written.load(Ordering::Relaxed);
    counts.unchanged += shards.unchanged.load(Ordering::Relaxed);
    // The shards of nodes since deleted (or of an earlier, larger project) must not linger.
    let keep: std::collections::HashSet<std::ffi::OsString> =
        (0..site.shards).map(|i| shard_file(i).into()).collect();
    counts.removed = write::remove_stale(&shards.dir, &keep)?;
    timer.mark("write files");
    Ok(SiteSummary {
        index: target.join("index.html"),
        nodes: site.nodes,
        files: files.len() + site.shards,
        counts,
    })
}

/// The file name of detail shard `i` under `kiln-docs/d/`.
pub fn shard_file(i: usize) -> String {
    format!("{i}.js")
}

/// Writes `static_index.html`: the app, the data and every shard (`shards`, in order: those a
/// [`ShardWriter`] made with `keep` held) in one file that needs nothing beside it.
pub fn write_static(
    target: &Path,
    site: &data::SiteData,
    shards: &[String],
) -> Result<SiteSummary, Error> {
    let nodes = site.nodes;
    let mut scripts = String::new();
    scripts.push_str("<script>\n");
    scripts.push_str(&escape_script(APP_JS));
    scripts.push_str("\n</script>\n<script>\n");
    scripts.push_str("kilnDocs.static(null);\n");
    for shard in shards {
        scripts.push_str(&script_safe(shard));
    }
    scripts.push_str(&script_safe(&site.search));
    scripts.push_str(&script_safe(&site.graph));
    scripts.push_str("</script>\n");
    let page = INDEX_HTML
        .replace(
            "<link rel=\"stylesheet\" href=\"kiln-docs/app.css\">",
            &format!("<style>\n{}\n</style>", APP_CSS.replace("</", "<\\/")),
        )
        .replace(
            "<script src=\"kiln-docs/app.js\"></script>\n<script src=\"kiln-docs/graph.js\"></script>",
            &scripts,
        );
    let path = target.join(STATIC_FILE);
    let wrote = write::write_if_changed(&path, page.as_bytes())?;
    Ok(SiteSummary {
        index: path,
        nodes,
        files: 1,
        counts: write::WriteCounts {
            written: usize::from(wrote),
            unchanged: usize::from(!wrote),
            removed: 0,
        },
    })
}

/// JSON inside an inline `<script>`: `<` only occurs in JSON inside strings, where `\u003c`
/// means the same and cannot close the script element.
fn script_safe(js: &str) -> String {
    js.replace('<', "\\u003c")
}

/// The app's own code inline: it has no `</script` of its own, but make sure.
fn escape_script(js: &str) -> String {
    js.replace("</script", "<\\/script")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_data_cannot_close_its_script() {
        let v = serde_json::json!({"d": "</script><script>alert(1)</script>"});
        let js = script_safe(&format!("kilnDocs.graph({v});\n"));
        assert!(!js.contains("</script"), "{js}");
        assert!(js.contains("\\u003c/script>"), "{js}");
    }

    #[test]
    fn the_static_page_replaces_the_asset_links() {
        // write_static relies on these exact tags in index.html.
        assert!(INDEX_HTML.contains("<link rel=\"stylesheet\" href=\"kiln-docs/app.css\">"));
        assert!(INDEX_HTML.contains(
            "<script src=\"kiln-docs/app.js\"></script>\n<script src=\"kiln-docs/graph.js\"></script>"
        ));
        assert!(!APP_JS.contains("</script"));
    }
}

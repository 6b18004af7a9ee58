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

/// Writes the site into `target` from `site` ([`load::site_data`]).
pub fn write_site(target: &Path, site: &data::SiteData) -> Result<SiteSummary, Error> {
    let timer = crate::timing::StageTimer::nested();
    let nodes = site.nodes;
    let assets = target.join(ASSETS_DIR);
    let shards = assets.join("d");
    std::fs::create_dir_all(&shards).map_err(|e| Error::io(&shards, e))?;
    use rayon::prelude::*;
    // Serialized and written on every core: the shards are most of the bytes.
    let mut files: Vec<(PathBuf, Vec<u8>)> = site
        .shards
        .par_iter()
        .enumerate()
        .map(|(i, shard)| {
            (
                shards.join(shard_file(i)),
                call_bytes("shard", Some(i), shard),
            )
        })
        .collect();
    files.extend([
        (target.join("index.html"), INDEX_HTML.as_bytes().to_vec()),
        (assets.join("app.js"), APP_JS.as_bytes().to_vec()),
        (assets.join("app.css"), APP_CSS.as_bytes().to_vec()),
        (
            assets.join("graph.js"),
            call_bytes("graph", None, &site.graph),
        ),
        (
            assets.join("search.js"),
            call_bytes("search", None, &site.search),
        ),
    ]);
    timer.mark("serialize");
    // Only what changed is written; the shards of nodes since deleted (or of an earlier,
    // larger project) must not linger.
    let mut counts = write::write_files(&files)?;
    let keep: std::collections::HashSet<std::ffi::OsString> = (0..site.shards.len())
        .map(|i| shard_file(i).into())
        .collect();
    counts.removed = write::remove_stale(&shards, &keep)?;
    timer.mark("write files");
    Ok(SiteSummary {
        index: target.join("index.html"),
        nodes,
        files: files.len(),
        counts,
    })
}

/// The file name of detail shard `i` under `kiln-docs/d/`.
pub fn shard_file(i: usize) -> String {
    format!("{i}.js")
}

/// Writes `static_index.html`: the app, the data and every shard in one file that needs nothing
/// beside it.
pub fn write_static(target: &Path, site: &data::SiteData) -> Result<SiteSummary, Error> {
    let nodes = site.nodes;
    let mut scripts = String::new();
    scripts.push_str("<script>\n");
    scripts.push_str(&escape_script(APP_JS));
    scripts.push_str("\n</script>\n<script>\n");
    scripts.push_str(&script_safe(&call("static", None, "null")));
    for (i, shard) in site.shards.iter().enumerate() {
        scripts.push_str(&script_safe(&call("shard", Some(i), shard)));
    }
    scripts.push_str(&script_safe(&call("search", None, &site.search)));
    scripts.push_str(&script_safe(&call("graph", None, &site.graph)));
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

/// [`call`] as bytes.
fn call_bytes(what: &str, n: Option<usize>, json: &str) -> Vec<u8> {
    call(what, n, json).into_bytes()
}

/// `kilnDocs.<what>([n, ]<json>);` JSON is a JavaScript expression, so the file is a script.
fn call(what: &str, n: Option<usize>, json: &str) -> String {
    let mut out = String::with_capacity(json.len() + what.len() + 24);
    out.push_str("kilnDocs.");
    out.push_str(what);
    out.push('(');
    if let Some(n) = n {
        out.push_str(&n.to_string());
        out.push(',');
    }
    out.push_str(json);
    out.push_str(");\n");
    out
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
        let js = script_safe(&call("graph", None, &v.to_string()));
        assert!(!js.contains("</script"), "{js}");
        assert!(js.contains("\\u003c/script>"), "{js}");
    }

    #[test]
    fn call_bytes_are_the_script_call() {
        let json = serde_json::json!({"a": [1, "x\"y"], "b": null}).to_string();
        assert_eq!(
            call_bytes("shard", Some(3), &json),
            b"kilnDocs.shard(3,{\"a\":[1,\"x\\\"y\"],\"b\":null});\n".to_vec()
        );
        assert_eq!(call("graph", None, "null"), "kilnDocs.graph(null);\n");
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

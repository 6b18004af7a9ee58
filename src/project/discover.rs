//! Finds the project's files: walkdir over each resource path, sorted, hidden files and folders
//! skipped. Paths are kept relative to the project directory with forward slashes, as dbt writes
//! them in the manifest.

use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// A file found under one of the project's resource paths.
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// Absolute (or project-dir-joined) path on disk.
    pub abs: PathBuf,
    /// Relative to the project directory, e.g. `models/staging/stg_orders.sql`.
    pub original_file_path: String,
    /// Relative to the resource path, e.g. `staging/stg_orders.sql`.
    pub path: String,
    /// The resource path it was found under, e.g. `models`.
    pub root: String,
}

impl FoundFile {
    pub fn stem(&self) -> String {
        Path::new(&self.path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn extension(&self) -> String {
        Path::new(&self.path)
            .extension()
            .map(|s| s.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// Folders between the resource path and the file, e.g. `["staging"]`.
    pub fn folders(&self) -> Vec<String> {
        let mut parts: Vec<String> = self.path.split('/').map(ToString::to_string).collect();
        parts.pop();
        parts
    }
}

fn to_slash(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every file with one of `extensions` under the given resource paths, sorted by path.
/// `skip` lists project-relative folders not to enter (e.g. the target path).
pub fn find_files(
    project_dir: &Path,
    roots: &[String],
    extensions: &[&str],
    skip: &[String],
) -> Vec<FoundFile> {
    let mut out = vec![];
    for root in roots {
        let base = project_dir.join(root);
        if !base.is_dir() {
            continue;
        }
        let walker = WalkDir::new(&base)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                if e.depth() > 0 && name.starts_with('.') {
                    return false;
                }
                let rel = e
                    .path()
                    .strip_prefix(project_dir)
                    .map(to_slash)
                    .unwrap_or_default();
                !skip.contains(&rel)
            });
        for entry in walker.flatten() {
            if !entry.file_type().is_file() {
                continue;
            }
            let p = entry.path();
            let ext = p
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            if !extensions.contains(&ext.as_str()) {
                continue;
            }
            let rel_root = p.strip_prefix(&base).map(to_slash).unwrap_or_default();
            let rel_project = p
                .strip_prefix(project_dir)
                .map(to_slash)
                .unwrap_or_default();
            out.push(FoundFile {
                abs: p.to_path_buf(),
                original_file_path: rel_project,
                path: rel_root,
                root: root.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.original_file_path.cmp(&b.original_file_path));
    out.dedup_by(|a, b| a.original_file_path == b.original_file_path);
    out
}

//! Finds the project's files: walkdir over each resource path, sorted, hidden files and folders
//! skipped. Paths are kept relative to the project directory with forward slashes, as dbt writes
//! them in the manifest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use walkdir::WalkDir;

/// A file found under one of the project's resource paths.
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// Absolute (or project-dir-joined) path on disk.
    pub abs: PathBuf,
    /// Relative to the project directory, e.g. `models/staging/stg_orders.sql` (for an installed
    /// package, relative to the package's folder, as dbt writes it).
    pub original_file_path: String,
    /// Relative to the root project's directory, as messages show it and as later stages read
    /// it: the same as `original_file_path` for the root project's files,
    /// `dbt_packages/<package>/models/x.sql` for a package's.
    pub shown: String,
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

/// The files under a project's resource paths, each path walked once however many kinds of file
/// are looked for in it (models, properties and docs share `models/`, say).
pub struct FileIndex {
    project_dir: PathBuf,
    skip: Vec<String>,
    /// The project's folder relative to the root project's (empty for the root project).
    shown_prefix: String,
    walked: Mutex<HashMap<String, Arc<Vec<FoundFile>>>>,
}

impl FileIndex {
    pub fn new(project_dir: &Path, skip: &[String]) -> Self {
        FileIndex {
            project_dir: project_dir.to_path_buf(),
            skip: skip.to_vec(),
            shown_prefix: String::new(),
            walked: Mutex::new(HashMap::new()),
        }
    }

    /// The files of an installed package in `package_dir`, shown under `prefix` (its folder
    /// relative to the root project, e.g. `dbt_packages/dbt_utils`).
    pub fn for_package(package_dir: &Path, skip: &[String], prefix: &str) -> Self {
        FileIndex {
            shown_prefix: prefix.trim_end_matches('/').to_string(),
            ..FileIndex::new(package_dir, skip)
        }
    }

    /// Every file with one of `extensions` (lower-case, without the dot) under `roots`, sorted
    /// by path, each file once.
    pub fn find(&self, roots: &[String], extensions: &[&str]) -> Vec<FoundFile> {
        let mut out = vec![];
        for root in roots {
            let all = self.walk(root);
            out.extend(
                all.iter()
                    .filter(|f| extensions.contains(&f.extension().as_str()))
                    .cloned(),
            );
        }
        out.sort_by(|a, b| a.original_file_path.cmp(&b.original_file_path));
        out.dedup_by(|a, b| a.original_file_path == b.original_file_path);
        out
    }

    fn walk(&self, root: &str) -> Arc<Vec<FoundFile>> {
        let mut walked = self.walked.lock().unwrap_or_else(|e| e.into_inner());
        walked
            .entry(root.to_string())
            .or_insert_with(|| {
                Arc::new(walk_root(
                    &self.project_dir,
                    root,
                    &self.skip,
                    &self.shown_prefix,
                ))
            })
            .clone()
    }
}

/// Every file under one resource path, in walk order.
fn walk_root(project_dir: &Path, root: &str, skip: &[String], prefix: &str) -> Vec<FoundFile> {
    let mut out = vec![];
    let base = project_dir.join(root);
    if !base.is_dir() {
        return out;
    }
    let walker = WalkDir::new(&base)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() > 0 && e.file_name().as_encoded_bytes().starts_with(b".") {
                return false;
            }
            // Only folders can be skipped: files need no project-relative path here.
            if !e.file_type().is_dir() {
                return true;
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
        let rel_root = p.strip_prefix(&base).map(to_slash).unwrap_or_default();
        let rel_project = p
            .strip_prefix(project_dir)
            .map(to_slash)
            .unwrap_or_default();
        let shown = if prefix.is_empty() {
            rel_project.clone()
        } else {
            format!("{prefix}/{rel_project}")
        };
        out.push(FoundFile {
            abs: p.to_path_buf(),
            original_file_path: rel_project,
            shown,
            path: rel_root,
            root: root.to_string(),
        });
    }
    out
}

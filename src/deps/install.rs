//! Installing pinned packages into the install folder (`dbt_packages/` by default), all or
//! nothing: every package is first fetched into the staging folder beside it, and only when all
//! of them are there does the install folder change, package by package, each by a rename. A
//! failed download or checkout leaves the previous install folder as it was.
//!
//! As in dbt, the install folder then holds exactly the packages of the lock (a local package as
//! a symbolic link to its folder, or a copy where links are not possible). Unlike dbt, a package
//! already installed at the locked version is kept rather than fetched again: kiln records what
//! it installed in `<install folder>/.kiln-deps.json`, so a second `kiln deps` with an unchanged
//! lock needs no network.

use super::fetch::{Fetcher, io_error};
use super::resolve::{Pinned, PinnedKind};
use crate::error::{Diagnostic, Error};
use crate::events::{Event, kinds};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// What kiln installed, by package name (the lock entry of each).
pub const STATE_FILE: &str = ".kiln-deps.json";

fn read_state(install_dir: &Path) -> Map<String, Value> {
    std::fs::read_to_string(install_dir.join(STATE_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v.get("packages").cloned())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default()
}

/// Where a package comes from once staged.
enum Staged {
    /// Already installed at this version: left in place.
    Kept,
    /// A folder in the staging area, to be renamed into place.
    Dir(PathBuf),
}

/// Fetches every package, then replaces the install folder's contents with them.
/// `before_commit` runs once everything is fetched, before anything changes (it writes the lock).
pub fn install(
    pins: &mut [Pinned],
    fetcher: &mut Fetcher,
    install_dir: &Path,
    dbt_version: Option<&str>,
    before_commit: &mut dyn FnMut() -> Result<(), Error>,
) -> Result<(), Error> {
    let state = read_state(install_dir);
    let mut staged = vec![];
    let mut upgradable = vec![];
    for p in pins.iter_mut() {
        let label = p.label();
        Event::new(
            kinds::DEPS_START_PACKAGE_INSTALL,
            format!("Installing {label}"),
        )
        .with("package_name", label.clone())
        .emit();
        // A name is one folder of the install path, never a path out of it.
        if !super::fetch::valid_name(&p.name) || p.name.chars().all(|c| c == '.') {
            return Err(Diagnostic::error(
                "deps",
                format!("cannot install {label} under the name '{}': it is not a folder name", p.name),
            )
            .with_help("check the package's `name:` in package-lock.yml or its dbt_project.yml, or delete package-lock.yml and run `kiln deps` again")
            .into());
        }
        let target = install_dir.join(&p.name);
        let kept = !matches!(p.kind, PinnedKind::Local { .. })
            && state.get(&p.name) == Some(&p.lock_entry())
            && target.join("dbt_project.yml").is_file();
        let s = if kept {
            Staged::Kept
        } else {
            Staged::Dir(stage(p, fetcher)?)
        };
        let version_name = p.version_name();
        let note = if kept { " (already installed)" } else { "" };
        Event::new(
            kinds::DEPS_INSTALL_INFO,
            format!("Installed from {version_name}{note}"),
        )
        .with("version_name", version_name)
        .emit();
        if let PinnedKind::Hub { version, package } = &p.kind {
            if p.latest.is_none() && !kept {
                // Installing from the lock: the hub was read for the download anyway.
                p.latest = fetcher
                    .hub
                    .installable(package, dbt_version, false)
                    .ok()
                    .and_then(|v| v.last().cloned());
            }
            match &p.latest {
                Some(latest) if latest != version => {
                    upgradable.push(package.clone());
                    Event::new(
                        kinds::DEPS_UPDATE_AVAILABLE,
                        format!("Updated version available: {latest}"),
                    )
                    .with("version_latest", latest.clone())
                    .emit();
                }
                Some(_) => Event::new(kinds::DEPS_UP_TO_DATE, "Up to date!").emit(),
                None => {}
            }
        }
        if let PinnedKind::Git {
            subdirectory: Some(sub),
            ..
        } = &p.kind
        {
            Event::new(
                kinds::DEPS_LIST_SUBDIRECTORY,
                format!("and subdirectory {sub}"),
            )
            .with("subdirectory", sub.clone())
            .emit();
        }
        staged.push((p.name.clone(), p.lock_entry(), s));
    }
    before_commit()?;
    commit(install_dir, &fetcher.staging.root, staged)?;
    if !upgradable.is_empty() {
        Event::blank().emit();
        Event::new(
            kinds::DEPS_NOTIFY_UPDATES_AVAILABLE,
            format!(
                "Updates available for packages: [{}]\nUpdate your versions in packages.yml, then run kiln deps",
                upgradable
                    .iter()
                    .map(|p| format!("'{p}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with("packages", json!(upgradable))
        .emit();
    }
    Ok(())
}

/// Puts one package's folder in the staging area and returns it.
fn stage(p: &Pinned, fetcher: &mut Fetcher) -> Result<PathBuf, Error> {
    let dest = fetcher.staging.fresh("package");
    match &p.kind {
        PinnedKind::Local { local, path } => {
            let abs = std::fs::canonicalize(path).map_err(|_| {
                Diagnostic::error(
                    "deps",
                    format!(
                        "the local package {local} does not exist ({})",
                        path.display()
                    ),
                )
                .with_help(
                    "`local:` is a folder holding a dbt project, relative to this project's folder",
                )
            })?;
            if !abs.join("dbt_project.yml").is_file() {
                return Err(Diagnostic::error(
                    "deps",
                    format!("no dbt_project.yml in {local}: every package must be a dbt project"),
                )
                .with_help("point `local:` at the folder that holds the package's dbt_project.yml")
                .into());
            }
            link_or_copy(&abs, &dest)?;
        }
        PinnedKind::Git {
            git,
            revision,
            subdirectory,
            ..
        } => {
            let dir = match &p.fetched {
                Some(d) => d.clone(),
                None => {
                    fetcher
                        .git(git, &p.label(), Some(revision), subdirectory.as_deref())?
                        .package_dir
                }
            };
            rename(&dir, &dest)?;
        }
        PinnedKind::Hub { package, version } => {
            let url = {
                let versions = fetcher.hub.versions(package)?;
                let Some(v) = versions.get(version) else {
                    return Err(Diagnostic::error(
                        "deps",
                        format!("the package hub has no version {version} of {package} (from package-lock.yml)"),
                    )
                    .with_help("run `kiln deps --upgrade` to resolve the versions again")
                    .into());
                };
                v.tarball.clone()
            };
            let dir = fetcher.tarball(&url, package)?;
            rename(&dir, &dest)?;
        }
        PinnedKind::Tarball { tarball, .. } => {
            let dir = match &p.fetched {
                Some(d) => d.clone(),
                None => fetcher.tarball(tarball, &p.name)?,
            };
            rename(&dir, &dest)?;
        }
    }
    Ok(dest)
}

fn rename(from: &Path, to: &Path) -> Result<(), Error> {
    std::fs::rename(from, to).map_err(|e| io_error(to, &e).into())
}

#[cfg(unix)]
fn symlink(src: &Path, dest: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(src, dest)
}

#[cfg(windows)]
fn symlink(src: &Path, dest: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_dir(src, dest)
}

/// A local package: a symbolic link to its folder, as dbt makes; a copy where links fail.
fn link_or_copy(src: &Path, dest: &Path) -> Result<(), Error> {
    if symlink(src, dest).is_ok() {
        return Ok(());
    }
    copy_dir(src, dest).map_err(|e| io_error(dest, &e).into())
}

fn copy_dir(src: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let to = dest.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

/// Removes a file, a link or a folder (a link is removed, never followed).
fn remove(path: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

/// Makes the install folder hold exactly the staged packages.
fn commit(
    install_dir: &Path,
    staging_root: &Path,
    staged: Vec<(String, Value, Staged)>,
) -> Result<(), Error> {
    std::fs::create_dir_all(install_dir).map_err(|e| io_error(install_dir, &e))?;
    // What is replaced goes to the staging folder first, and is deleted with it.
    let trash = staging_root.join("replaced");
    std::fs::create_dir_all(&trash).map_err(|e| io_error(&trash, &e))?;
    let mut state = Map::new();
    let keep: Vec<&str> = staged.iter().map(|(n, _, _)| n.as_str()).collect();
    if let Ok(entries) = std::fs::read_dir(install_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name == STATE_FILE || keep.contains(&name.as_str()) {
                continue;
            }
            std::fs::rename(e.path(), trash.join(&name))
                .map_err(|err| io_error(&e.path(), &err))?;
        }
    }
    for (i, (name, entry, s)) in staged.into_iter().enumerate() {
        let target = install_dir.join(&name);
        if let Staged::Dir(dir) = s {
            if std::fs::symlink_metadata(&target).is_ok() {
                let old = trash.join(format!("{name}-{i}"));
                if std::fs::rename(&target, &old).is_err() {
                    remove(&target).map_err(|e| io_error(&target, &e))?;
                }
            }
            rename(&dir, &target)?;
        }
        state.insert(name, entry);
    }
    let text = serde_json::to_string_pretty(&json!({ "packages": Value::Object(state) }))
        .unwrap_or_default();
    let path = install_dir.join(STATE_FILE);
    std::fs::write(&path, text + "\n").map_err(|e| io_error(&path, &e))?;
    Ok(())
}

/// Empties the install folder (a project without packages), as dbt does.
pub fn clear(install_dir: &Path, staging_root: &Path) -> Result<(), Error> {
    commit(install_dir, staging_root, vec![])
}

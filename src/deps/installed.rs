//! Whether the packages a project asks for are installed, checked before its packages are used
//! (every command that loads the project). dbt stops with "dbt found N package(s) specified in
//! packages.yml, but only M package(s) installed"; kiln names each missing package, at the line
//! that asks for it, and says to run `kiln deps`.
//!
//! A package is known by the name it is installed under: the lock file's `name:` for its entry
//! when `kiln deps` (or dbt) wrote one, else what the entry says (a tarball's `name:`, the hub
//! package's name, a local folder's dbt_project.yml), else, for a git package never locked, the
//! repository's name.

use super::spec::{self, Entry, RenderContext, Source};
use crate::error::{Diagnostic, Diagnostics, Error};
use std::collections::BTreeSet;
use std::path::Path;

/// Checks that every package the project in `dir` asks for (and, when the lock file matches its
/// requirements, every locked package) is installed: `installed` holds the names of the packages
/// found in the install path.
pub fn check_installed(
    dir: &Path,
    installed: &BTreeSet<String>,
    render: &RenderContext,
) -> Result<(), Error> {
    let spec = spec::read_project(dir, render)?;
    if spec.entries.is_empty() {
        return Ok(());
    }
    // A lock file that cannot be read names nothing: the entries speak for themselves.
    let lock = spec::read_lock(dir, render).ok().flatten();
    let locked: &[Entry] = lock.as_ref().map_or(&[], |(_, e)| e.as_slice());
    let mut diags = Diagnostics::default();
    let mut matched = BTreeSet::new();
    for e in &spec.entries {
        let from_lock = locked
            .iter()
            .position(|l| same_source(&l.source, &e.source));
        if let Some(i) = from_lock {
            matched.insert(i);
        }
        let name = from_lock
            .and_then(|i| locked[i].name.clone())
            .or_else(|| e.name.clone())
            .or_else(|| name_from_entry(dir, &e.source));
        let missing = match &name {
            Some(n) => !installed.contains(n),
            // A git package never locked: its name is unknown, so the count decides, as in dbt.
            None => installed.len() < spec.entries.len(),
        };
        if missing {
            diags.push(not_installed(e, name.as_deref(), &spec.file));
        }
    }
    // The packages the packages need, when the lock was written for these requirements.
    let current = lock
        .as_ref()
        .and_then(|(h, _)| h.as_deref())
        .is_some_and(|h| h == spec::sha1_hash(&spec.entries));
    if current {
        for (i, l) in locked.iter().enumerate() {
            if matched.contains(&i) {
                continue;
            }
            if let Some(n) = &l.name
                && !installed.contains(n)
            {
                diags.push(not_installed(l, Some(n), spec::LOCK_FILE));
            }
        }
    }
    diags.checkpoint()?;
    Ok(())
}

fn not_installed(e: &Entry, name: Option<&str>, file: &str) -> Diagnostic {
    let what = match (name, &e.source) {
        (Some(n), _) => format!("package '{n}'"),
        (None, Source::Git { git_unrendered, .. }) => {
            format!("the package from git {git_unrendered}")
        }
        (None, _) => "a package".to_string(),
    };
    let d = Diagnostic::error(
        "package-not-installed",
        format!("{what}, listed in {file}, is not installed"),
    )
    .with_help("run `kiln deps` to install the packages the project asks for");
    match &e.origin.location {
        Some(l) => d.at(l.clone()),
        None => d.in_file(file),
    }
}

/// Whether a lock entry pins the package a requirement asks for.
fn same_source(locked: &Source, wanted: &Source) -> bool {
    match (locked, wanted) {
        (Source::Local { local: a }, Source::Local { local: b }) => {
            a.trim_end_matches('/') == b.trim_end_matches('/')
        }
        (
            Source::Git {
                git: a,
                subdirectory: sa,
                ..
            },
            Source::Git {
                git: b,
                subdirectory: sb,
                ..
            },
        ) => a == b && sa == sb,
        (Source::Hub { package: a, .. }, Source::Hub { package: b, .. }) => a == b,
        (Source::Tarball { tarball: a, .. }, Source::Tarball { tarball: b, .. }) => a == b,
        _ => false,
    }
}

/// The name a requirement installs under, as far as the entry tells without fetching anything.
fn name_from_entry(dir: &Path, source: &Source) -> Option<String> {
    match source {
        Source::Local { local } => super::fetch::project_name(&dir.join(local), local).ok(),
        Source::Hub { package, .. } => package.rsplit('/').next().map(String::from),
        Source::Tarball { name, .. } => Some(name.clone()),
        Source::Git { .. } => None,
    }
}

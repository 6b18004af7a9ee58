//! `kiln deps`: installs the packages a project asks for, as `dbt deps` does.
//!
//! 1. Read what the project asks for ([`spec`]: packages.yml or dependencies.yml), after
//!    `--add-package` has added to it ([`add`]).
//! 2. When package-lock.yml exists and was written for exactly these requirements (its
//!    `sha1_hash`, computed as dbt computes it), install exactly the lock; otherwise, or with
//!    `--upgrade`, resolve the versions again ([`resolve`]: the hub's index, git, local folders,
//!    tarballs, and each package's own requirements).
//! 3. Fetch every package into a staging folder, write the lock, and only then replace the
//!    install folder's contents ([`install`]), so a failure leaves it as it was.
//!
//! This module loads nothing into the project: it only fills `packages-install-path` (and says,
//! for every command that loads the project, which packages asked for are not installed:
//! [`check_installed`]). It sits beside [`crate::project`] and uses only the error, event and
//! YAML layers.

pub mod add;
mod fetch;
mod git;
pub mod http;
pub mod hub;
mod install;
mod installed;
mod resolve;
pub mod semver;
pub mod spec;
mod yaml_out;

pub use add::AddSource;
pub use install::STATE_FILE;
pub use installed::check_installed;
pub use spec::{DEPENDENCIES_FILE, LOCK_FILE, PACKAGES_FILE};

use crate::error::{Diagnostic, Error};
use crate::events::{Event, kinds};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

/// What `kiln deps` was asked to do.
pub struct Options<'a> {
    pub project_dir: PathBuf,
    /// The root project's name (a package may not take it).
    pub project_name: String,
    /// `packages-install-path` as configured (relative to the project, or absolute).
    pub install_path: String,
    /// `--upgrade`: resolve again even when the lock matches.
    pub upgrade: bool,
    /// `--lock`: resolve and write the lock, install nothing.
    pub lock_only: bool,
    /// `--add-package name@version` and `--source`.
    pub add_package: Option<(String, AddSource)>,
    /// The dbt version kiln follows (`dbt_version` in packages.yml).
    pub dbt_version: String,
    /// Leave out hub versions whose `require_dbt_version` excludes it (dbt's `--version-check`).
    pub version_check: bool,
    /// `--vars`, for `{{ var() }}` in packages.yml.
    pub cli_vars: Map<String, Value>,
    /// Draw progress bars for downloads.
    pub progress: bool,
    /// Shows a warning, or fails when `--warn-error` makes it an error.
    pub warn: &'a dyn Fn(Diagnostic) -> Result<(), Error>,
}

/// Runs `kiln deps`.
pub fn run(opts: &Options) -> Result<(), Error> {
    let dir = &opts.project_dir;
    let render = spec::RenderContext {
        cli_vars: opts.cli_vars.clone(),
        dbt_version: opts.dbt_version.clone(),
    };
    if let Some((arg, source)) = &opts.add_package {
        // The file that holds `packages:` (dependencies.yml when it does), else packages.yml.
        let file = spec::read_project(dir, &render)
            .map(|s| s.file)
            .unwrap_or_else(|_| PACKAGES_FILE.to_string());
        add::add(dir, &file, arg, *source)?;
    }
    let spec = spec::read_project(dir, &render)?;
    let install_dir = dir.join(&opts.install_path);
    let client = http::Client::new(opts.progress);
    let staging = fetch::Staging::new(&install_dir)?;
    let mut fetcher = fetch::Fetcher::new(staging, &client);
    if spec.entries.is_empty() {
        Event::new(
            kinds::DEPS_NO_PACKAGES_FOUND,
            format!("Warning: No packages were found in {}", spec.file),
        )
        .emit();
        if !opts.lock_only {
            install::clear(&install_dir, &fetcher.staging.root)?;
        }
        return Ok(());
    }
    let hash = spec::sha1_hash(&spec.entries);
    let lock = spec::read_lock(dir, &render)?;
    // A lock written by dbt before 1.7 names no package; only a hub package's name can be
    // looked up without fetching it, so a lock naming no local, git or tarball package is
    // resolved again (naming each from its dbt_project.yml) rather than trusted.
    let names_all = |entries: &[spec::Entry]| {
        entries
            .iter()
            .all(|e| e.name.is_some() || matches!(e.source, spec::Source::Hub { .. }))
    };
    let reuse = match &lock {
        Some((Some(h), entries))
            if *h == hash && !opts.upgrade && !entries.is_empty() && names_all(entries) =>
        {
            Some(entries.clone())
        }
        _ => None,
    };
    let lock_path = dir.join(LOCK_FILE);
    let (mut pins, write_lock) = match reuse {
        Some(entries) => (resolve::from_lock(&entries, dir)?, false),
        None => {
            let ctx = resolve::Context {
                root_dir: dir,
                root_name: &opts.project_name,
                render: &render,
                dbt_version: opts.version_check.then_some(opts.dbt_version.as_str()),
                warn: opts.warn,
            };
            let mut resolver = resolve::Resolver::new(ctx, fetcher);
            let pins = resolver.resolve(&spec.entries)?;
            fetcher = resolver.fetcher;
            (pins, true)
        }
    };
    // A lock written before dbt named its packages: name its hub packages from the hub.
    for p in pins.iter_mut().filter(|p| p.name.is_empty()) {
        p.name = match &p.kind {
            resolve::PinnedKind::Hub { package, version } => fetcher
                .hub
                .versions(package)?
                .get(version)
                .map(|v| v.name.clone())
                .unwrap_or_else(|| package.rsplit('/').next().unwrap_or(package).to_string()),
            _ => p.label(),
        };
    }
    let write = |pins: &[resolve::Pinned]| -> Result<(), Error> {
        let doc = json!({
            "packages": pins.iter().map(resolve::Pinned::lock_entry).collect::<Vec<_>>(),
            "sha1_hash": hash,
        });
        std::fs::write(&lock_path, yaml_out::dump(&doc)).map_err(|e| Error::io(&lock_path, e))?;
        Event::new(
            kinds::DEPS_LOCK_UPDATING,
            format!("Updating lock file in file path: {}", lock_path.display()),
        )
        .with("lock_filepath", lock_path.display().to_string())
        .emit();
        Ok(())
    };
    if opts.lock_only {
        return write(&pins);
    }
    let locked = pins.clone();
    let mut before_commit = || if write_lock { write(&locked) } else { Ok(()) };
    install::install(
        &mut pins,
        &mut fetcher,
        &install_dir,
        opts.version_check.then_some(opts.dbt_version.as_str()),
        &mut before_commit,
    )
}

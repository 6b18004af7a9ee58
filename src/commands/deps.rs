//! `kiln deps`: the project's dbt_project.yml read for its name, `packages-install-path` and
//! `flags:`, then [`crate::deps`] installs the packages.

use crate::cli::{DepsArgs, DepsSource};
use crate::deps::{self, AddSource};
use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::Invocation;
use crate::project::dbt_project::DbtProject;
use std::io::IsTerminal;
use std::path::Path;

pub fn run(inv: &Invocation, args: &DepsArgs) -> Result<Outcome, Error> {
    let opts = crate::session::load_options(inv)?;
    // Absolute, as dbt resolves it: the lock file's path is printed in full.
    let dir = std::fs::canonicalize(&opts.project_dir).unwrap_or(opts.project_dir);
    let path = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let cfg: DbtProject = crate::project::yaml::from_str(Path::new("dbt_project.yml"), &text)?;
    crate::events::attach_log_dir(&dir.join(cfg.log_path.as_deref().unwrap_or("logs")));
    let warn_error = inv.warn_error.clone().or_project(&cfg.flags)?;
    let warn = |d: Diagnostic| -> Result<(), Error> {
        let (shown, promoted) = warn_error.split(&[d]);
        inv.output.warnings(&shown);
        if promoted.is_empty() {
            Ok(())
        } else {
            Err(Error::Diagnostics(promoted))
        }
    };
    // dbt's DBT_VERSION_CHECK, overridden by the flags.
    let env_check = std::env::var("DBT_VERSION_CHECK")
        .map(|v| {
            !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "0" | "false" | "f" | "no" | "n" | "off"
            )
        })
        .unwrap_or(true);
    let version_check = if args.no_version_check {
        false
    } else {
        args.version_check || env_check
    };
    let source = match args.source {
        DepsSource::Hub => AddSource::Hub,
        DepsSource::Git => AddSource::Git,
        DepsSource::Local => AddSource::Local,
    };
    deps::run(&deps::Options {
        project_dir: dir,
        project_name: cfg.name.clone(),
        install_path: cfg.packages_install_path(),
        upgrade: args.upgrade,
        lock_only: args.lock,
        add_package: args.add_package.clone().map(|a| (a, source)),
        dbt_version: crate::DBT_COMPAT_VERSION.to_string(),
        version_check,
        cli_vars: inv.load.cli_vars.clone(),
        progress: inv.output.bar
            && std::io::stderr().is_terminal()
            && std::io::stdout().is_terminal(),
        warn: &warn,
    })?;
    Ok(Outcome::Success)
}

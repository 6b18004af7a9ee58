//! Installed packages: every folder of packages-install-path (`dbt_packages/` by default) is a
//! dbt project, loaded as dbt loads it, by a [`Loader`] of its own.
//!
//! dbt's rules, kept here:
//! - every folder of the install path is a package (names starting with `.` or `__` aside: kiln's
//!   and dbt's own bookkeeping), whether or not packages.yml still asks for it; a folder without
//!   dbt_project.yml is an error naming it;
//! - a package's nodes, macros and docs blocks take its name as `package_name` (`model.<package>.
//!   <name>`, fqn starting with it), with its own paths and config trees;
//! - the root project's config trees apply over the package's own (`models: {<package>: ...}`
//!   and top-level `+` configs), after its properties and `config()` calls (applied in the parse
//!   phase, once every layer below is known: [`crate::project::config::root_overrides`]);
//! - the vars its nodes see: the package's global vars, its vars scoped to itself, the root
//!   project's global vars, the root's `vars: {<package>: ...}`, then `--vars` (dbt's
//!   `vars_for`, package then root).

use super::{FileIndex, Loader, add_vars_for, read_project_file};
use crate::error::{Diagnostic, Diagnostics, Error};
use crate::project::Package;
use crate::project::dbt_project::DbtProject;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `kiln` package (`packages/kiln` in kiln's repository: its quality checks), embedded at
/// build time: `(path inside the package, text)`.
pub const KILN_PACKAGE: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/kiln_package.rs"));

/// How the embedded `kiln` package's folder is shown (it has none on disk).
pub const KILN_PACKAGE_SHOWN: &str = "<kiln built-in>/kiln";

/// The embedded `kiln` package, unless a package of that name is installed (then that copy is
/// used, as dbt would) or the root project is itself named `kiln`.
pub(super) fn builtin_kiln(root: &DbtProject, installed: &[Package]) -> Option<Package> {
    if root.name == "kiln" || installed.iter().any(|p| p.name == "kiln") {
        return None;
    }
    let (_, text) = KILN_PACKAGE
        .iter()
        .find(|(path, _)| *path == "dbt_project.yml")?;
    let config: DbtProject =
        crate::project::yaml::from_str(Path::new(KILN_PACKAGE_SHOWN), text).ok()?;
    let mut vars = Map::new();
    add_vars_for(&mut vars, &config, &config.name);
    add_vars_for(&mut vars, root, &config.name);
    Some(Package {
        name: config.name.clone(),
        dir: PathBuf::from(KILN_PACKAGE_SHOWN),
        shown_dir: KILN_PACKAGE_SHOWN.to_string(),
        config,
        vars,
    })
}

/// The packages installed for the project in `root_dir`, by folder name; their dbt_project.yml
/// files read and rendered (with `--vars`). A folder that is not a package, or a package whose
/// dbt_project.yml is broken, stops loading (everything depends on them).
pub(super) fn discover(
    root_dir: &Path,
    root: &DbtProject,
    cli_vars: &Map<String, Value>,
) -> Result<Vec<Package>, Error> {
    let install = root.packages_install_path();
    let install = install.trim_end_matches('/');
    let install_dir = root_dir.join(install);
    let Ok(entries) = std::fs::read_dir(&install_dir) else {
        return Ok(vec![]);
    };
    let mut folders: Vec<(String, PathBuf)> = entries
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, _)| !name.starts_with('.') && !name.starts_with("__"))
        .collect();
    folders.sort();
    let mut diags = Diagnostics::default();
    let mut out: Vec<Package> = vec![];
    for (folder, path) in folders {
        let shown_dir = if Path::new(install).is_absolute() {
            path.display().to_string()
        } else {
            format!("{install}/{folder}")
        };
        let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        if !path.is_dir() {
            if is_link {
                let to = std::fs::read_link(&path).unwrap_or_default();
                diags.push(
                    Diagnostic::error(
                        "package",
                        format!(
                            "installed package {shown_dir} links to {}, which does not exist",
                            to.display()
                        ),
                    )
                    .in_file(&shown_dir)
                    .with_help("run `kiln deps` to install the packages again"),
                );
            }
            // (a stray file in the install folder is not a package, as in dbt)
            continue;
        }
        let project_file = path.join("dbt_project.yml");
        let shown_file = PathBuf::from(format!("{shown_dir}/dbt_project.yml"));
        if !project_file.is_file() {
            diags.push(
                Diagnostic::error(
                    "package",
                    format!("the folder {shown_dir} is not a dbt package: it has no dbt_project.yml"),
                )
                .in_file(&shown_dir)
                .with_help(format!(
                    "every folder of {install}/ is loaded as an installed package: run `kiln deps` to install the packages again, or remove the folder"
                )),
            );
            continue;
        }
        let cfg = match read_project_file(&project_file, &shown_file, cli_vars) {
            Ok((cfg, _)) => cfg,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        if cfg.name == root.name {
            diags.push(
                Diagnostic::error(
                    "package",
                    format!(
                        "the installed package {shown_dir} is named '{}', like the root project",
                        cfg.name
                    ),
                )
                .in_file(&shown_file)
                .with_help("a package cannot take the root project's name: rename the project or remove the package from packages.yml"),
            );
            continue;
        }
        if let Some(prev) = out.iter().find(|p| p.name == cfg.name) {
            diags.push(
                Diagnostic::error(
                    "package",
                    format!(
                        "two installed packages are named '{}': {} and {shown_dir}",
                        cfg.name, prev.shown_dir
                    ),
                )
                .in_file(&shown_file)
                .with_help(
                    "install each package once: remove one of the folders and run `kiln deps`",
                ),
            );
            continue;
        }
        let mut vars = Map::new();
        add_vars_for(&mut vars, &cfg, &cfg.name);
        add_vars_for(&mut vars, root, &cfg.name);
        for (k, v) in cli_vars {
            vars.insert(k.clone(), v.clone());
        }
        out.push(Package {
            name: cfg.name.clone(),
            dir: path,
            shown_dir,
            config: cfg,
            vars,
        });
    }
    diags.checkpoint()?;
    Ok(out)
}

impl Loader {
    /// A loader for the installed package `p`, sharing this (the root project's) target.
    pub(super) fn for_package(&self, p: &Package) -> Loader {
        let skip = [
            p.config.target_path(),
            p.config.packages_install_path(),
            "logs".into(),
        ];
        Loader {
            dir: self.dir.clone(),
            files: FileIndex::for_package(&p.dir, &skip, &p.shown_dir),
            shown_prefix: p.shown_dir.clone(),
            name: p.name.clone(),
            root: Some(Box::new(self.cfg.clone())),
            cfg: p.config.clone(),
            target_db: self.target_db.clone(),
            quote_char: self.quote_char,
            target_schema: self.target_schema.clone(),
            diags: Diagnostics::default(),
            nodes: BTreeMap::new(),
            sources: BTreeMap::new(),
            exposures: BTreeMap::new(),
            unit_tests: vec![],
            expanded_unit_tests: BTreeMap::new(),
            semantic: BTreeMap::new(),
            disabled_semantic: BTreeMap::new(),
            time_spines: BTreeMap::new(),
            macros: BTreeMap::new(),
            macro_files: vec![],
            docs: BTreeMap::new(),
            all_docs: BTreeMap::new(),
            names_seen: BTreeMap::new(),
            test_tree: p.config.data_test_configs(),
            vars: p.vars.clone(),
            target_fields: self.target_fields.clone(),
        }
    }

    /// Takes in what a package's loader built.
    pub(super) fn absorb(&mut self, p: Loader) {
        self.diags.extend(p.diags.into_vec());
        self.nodes.extend(p.nodes);
        self.sources.extend(p.sources);
        self.exposures.extend(p.exposures);
        self.expanded_unit_tests.extend(p.expanded_unit_tests);
        self.semantic.extend(p.semantic);
        self.disabled_semantic.extend(p.disabled_semantic);
        self.time_spines.extend(p.time_spines);
        self.macros.extend(p.macros);
        self.macro_files.extend(p.macro_files);
        self.docs.extend(p.docs);
        self.names_seen.extend(p.names_seen);
    }
}

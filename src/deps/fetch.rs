//! Fetching packages into a staging folder: git checkouts, downloaded and unpacked tarballs (the
//! hub's and `tarball:` ones), and the dbt_project.yml of each (its name, its own packages).
//!
//! The staging folder sits beside the install folder (`.dbt_packages.kiln-<pid>` next to
//! `dbt_packages`), so a fetched package is moved into place by a rename on the same file
//! system. It is removed when the command ends, whatever happened.

use super::git;
use super::http::Client;
use super::hub::Hub;
use crate::error::Diagnostic;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The staging folder; removed on drop.
pub struct Staging {
    pub root: PathBuf,
    counter: usize,
}

impl Staging {
    /// A new staging folder beside `install_dir`.
    pub fn new(install_dir: &Path) -> Result<Staging, Diagnostic> {
        let parent = install_dir.parent().unwrap_or(Path::new("."));
        let base = install_dir.file_name().map_or_else(
            || "dbt_packages".into(),
            |n| n.to_string_lossy().to_string(),
        );
        std::fs::create_dir_all(parent).map_err(|e| io_error(parent, &e))?;
        let root = parent.join(format!(".{base}.kiln-{}", std::process::id()));
        if root.exists() {
            let _ = std::fs::remove_dir_all(&root);
        }
        std::fs::create_dir_all(&root).map_err(|e| io_error(&root, &e))?;
        Ok(Staging { root, counter: 0 })
    }

    /// A fresh path inside the staging folder (not created).
    pub fn fresh(&mut self, prefix: &str) -> PathBuf {
        self.counter += 1;
        self.root.join(format!("{prefix}-{}", self.counter))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

pub fn io_error(path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error("deps", format!("cannot write {}: {e}", path.display()))
        .with_help("check that the project folder is writable")
}

/// What fetched packages and hub answers are kept for the command.
pub struct Fetcher<'a> {
    pub staging: Staging,
    pub client: &'a Client,
    pub hub: Hub<'a>,
    checkouts: BTreeMap<(String, Option<String>, Option<String>), git::Checkout>,
    tarballs: BTreeMap<String, PathBuf>,
}

impl<'a> Fetcher<'a> {
    pub fn new(staging: Staging, client: &'a Client) -> Fetcher<'a> {
        Fetcher {
            staging,
            client,
            hub: Hub::new(client),
            checkouts: BTreeMap::new(),
            tarballs: BTreeMap::new(),
        }
    }

    /// Checks out a git package (once per URL, revision and subdirectory).
    pub fn git(
        &mut self,
        url: &str,
        label: &str,
        revision: Option<&str>,
        subdirectory: Option<&str>,
    ) -> Result<git::Checkout, Diagnostic> {
        let key = (
            url.to_string(),
            revision.map(String::from),
            subdirectory.map(String::from),
        );
        if let Some(c) = self.checkouts.get(&key) {
            return Ok(c.clone());
        }
        let dest = self.staging.fresh("git");
        let checkout = git::checkout(url, revision, subdirectory, &dest).map_err(|e| {
            let rev = revision.unwrap_or("HEAD");
            let (message, help) = if e.not_installed {
                (
                    format!("cannot install the git package {label}: {}", e.message),
                    "install git and make sure it is on PATH".to_string(),
                )
            } else {
                (
                    format!(
                        "cannot check out revision '{rev}' of the git package {}: {}",
                        crate::events::scrub(label),
                        crate::events::scrub(&e.message)
                    ),
                    "check the URL and the revision (a tag, a branch or a full 40-character commit sha), and that this machine can reach the repository; nothing was installed".to_string(),
                )
            };
            Diagnostic::error("deps", message).with_help(help)
        })?;
        if subdirectory.is_some() && !checkout.package_dir.is_dir() {
            return Err(Diagnostic::error(
                "deps",
                format!(
                    "the git package {label} has no subdirectory '{}' at revision {}",
                    subdirectory.unwrap_or_default(),
                    &checkout.sha
                ),
            )
            .with_help("check `subdirectory:` (a folder of the repository, holding the package's dbt_project.yml)"));
        }
        self.checkouts.insert(key, checkout.clone());
        Ok(checkout)
    }

    /// Downloads and unpacks a tarball (once per URL); returns the package folder inside it.
    pub fn tarball(&mut self, url: &str, package: &str) -> Result<PathBuf, Diagnostic> {
        if let Some(p) = self.tarballs.get(url) {
            return Ok(p.clone());
        }
        let file = self.staging.fresh("download");
        self.client.download(url, &file, package).map_err(|e| {
            let help = match e {
                super::http::FetchError::Unreachable(_) => {
                    "check the network connection (and any proxy) and the URL; nothing was installed and the installed packages are unchanged"
                }
                super::http::FetchError::Status(_) => {
                    "check the URL (a .tar.gz archive of the package); nothing was installed"
                }
                super::http::FetchError::Bad(_) => "try again; nothing was installed",
            };
            Diagnostic::error(
                "deps",
                format!(
                    "cannot download {package}: GET {}: {e}",
                    crate::events::scrub(url)
                ),
            )
            .with_help(help)
        })?;
        let dir = self.staging.fresh("unpacked");
        let unpack = || -> std::io::Result<()> {
            let f = std::fs::File::open(&file)?;
            let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(f));
            archive.set_preserve_permissions(false);
            // `unpack` refuses entries that would land outside `dir`.
            archive.unpack(&dir)
        };
        unpack().map_err(|e| {
            Diagnostic::error(
                "deps",
                format!(
                    "the download of {package} ({}) is not a .tar.gz archive: {e}",
                    crate::events::scrub(url)
                ),
            )
            .with_help("check the URL: it must serve a gzipped tar of the package folder")
        })?;
        let entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| io_error(&dir, &e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        let [only] = entries.as_slice() else {
            return Err(Diagnostic::error(
                "deps",
                format!(
                    "the archive of {package} ({}) must hold one folder (the package); it holds {} entries",
                    crate::events::scrub(url),
                    entries.len()
                ),
            )
            .with_help("package the project as <folder>/dbt_project.yml, <folder>/macros/..."));
        };
        if !only.is_dir() {
            return Err(Diagnostic::error(
                "deps",
                format!(
                    "the archive of {package} ({}) must hold the package's folder",
                    crate::events::scrub(url)
                ),
            ));
        }
        self.tarballs.insert(url.to_string(), only.clone());
        Ok(only.clone())
    }
}

/// The `name:` of the dbt project in `dir` (`shown` names the folder in messages).
pub fn project_name(dir: &Path, shown: &str) -> Result<String, Diagnostic> {
    let path = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&path).map_err(|_| {
        Diagnostic::error(
            "deps",
            format!("no dbt_project.yml in {shown}: every package must be a dbt project"),
        )
        .with_help("check the package's path, revision or subdirectory: its folder must hold a dbt_project.yml")
    })?;
    let shown_file = format!("{shown}/dbt_project.yml");
    let v = crate::project::yaml::to_json(Path::new(&shown_file), &text)?;
    match v.get("name").and_then(serde_json::Value::as_str) {
        Some(n) if valid_name(n) => Ok(n.to_string()),
        Some(n) => Err(Diagnostic::error(
            "deps",
            format!("the package in {shown} has the name '{n}', which cannot be a folder of the packages install path"),
        )
        .with_help("a dbt project's name is letters, digits and underscores")),
        None => Err(Diagnostic::error(
            "deps",
            format!("{shown_file} has no `name:`"),
        )
        .with_help("every dbt project names itself with `name:` in dbt_project.yml")),
    }
}

/// A package name that is safe as a folder name.
pub fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n != "."
        && n != ".."
        && n.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
}

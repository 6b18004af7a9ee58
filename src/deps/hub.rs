//! The package hub's API, as dbt reads it: `<hub>/api/v1/index.json` lists every package
//! (`["dbt-labs/dbt_utils", ...]`) and `<hub>/api/v1/<org>/<name>.json` describes one, with a
//! `versions` mapping whose entries give the project's `name`, its own `packages`, its
//! `require_dbt_version` and `downloads.tarball`. The hub is `DBT_PACKAGE_HUB_URL` when set (as
//! in dbt), else <https://hub.getdbt.com/>.

use super::http::{Client, FetchError};
use super::semver;
use crate::error::Diagnostic;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const HUB_URL_VAR: &str = "DBT_PACKAGE_HUB_URL";
const DEFAULT_HUB: &str = "https://hub.getdbt.com/";

/// The hub's base URL, ending with `/`.
pub fn base_url() -> String {
    let mut url = std::env::var(HUB_URL_VAR)
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_HUB.into());
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}

/// One published version of a package.
#[derive(Debug, Clone)]
pub struct Version {
    /// The project name (its dbt_project.yml `name`).
    pub name: String,
    pub packages: Vec<Value>,
    pub tarball: String,
    pub require_dbt_version: Vec<String>,
}

/// The hub, with what it said cached for the command.
pub struct Hub<'a> {
    client: &'a Client,
    base: String,
    index: Option<Vec<String>>,
    packages: BTreeMap<String, BTreeMap<String, Version>>,
}

impl<'a> Hub<'a> {
    pub fn new(client: &'a Client) -> Hub<'a> {
        Hub {
            client,
            base: base_url(),
            index: None,
            packages: BTreeMap::new(),
        }
    }

    fn url(&self, name: &str) -> String {
        format!("{}api/v1/{name}.json", self.base)
    }

    /// One clear error for a hub request that failed, naming the package and the URL.
    pub fn fetch_error(package: &str, url: &str, e: &FetchError) -> Diagnostic {
        let (message, help) = match e {
            FetchError::Unreachable(_) => (
                format!("cannot reach the package hub for {package}: GET {url}: {e}"),
                format!(
                    "check the network connection (and any proxy), or point {HUB_URL_VAR} at a reachable hub; nothing was installed and the installed packages are unchanged"
                ),
            ),
            FetchError::Status(404) => (
                format!("the package hub has no page for {package}: GET {url}: {e}"),
                format!(
                    "check the package name (org/name) on the hub, or the hub URL ({HUB_URL_VAR}); nothing was installed"
                ),
            ),
            _ => (
                format!("the package hub's answer for {package} is unusable: GET {url}: {e}"),
                format!(
                    "try again later, or check the hub URL ({HUB_URL_VAR}); nothing was installed"
                ),
            ),
        };
        Diagnostic::error("deps", message).with_help(help)
    }

    /// Whether the hub lists `package`.
    pub fn has(&mut self, package: &str) -> Result<bool, Diagnostic> {
        if self.index.is_none() {
            let url = self.url("index");
            let v = self
                .client
                .get_json(&url)
                .map_err(|e| Self::fetch_error(package, &url, &e))?;
            let Value::Array(items) = v else {
                return Err(Self::fetch_error(
                    package,
                    &url,
                    &FetchError::Bad("the index is not a list of package names".into()),
                ));
            };
            self.index = Some(
                items
                    .into_iter()
                    .filter_map(|i| i.as_str().map(String::from))
                    .collect(),
            );
        }
        Ok(self
            .index
            .as_ref()
            .is_some_and(|i| i.iter().any(|p| p == package)))
    }

    /// Every published version of `package`.
    pub fn versions(&mut self, package: &str) -> Result<&BTreeMap<String, Version>, Diagnostic> {
        if !self.packages.contains_key(package) {
            let url = self.url(package);
            let v = self
                .client
                .get_json(&url)
                .map_err(|e| Self::fetch_error(package, &url, &e))?;
            let parsed = parse_versions(&v)
                .map_err(|why| Self::fetch_error(package, &url, &FetchError::Bad(why)))?;
            self.packages.insert(package.to_string(), parsed);
        }
        self.packages
            .get(package)
            .ok_or_else(|| Diagnostic::error("deps", format!("no hub data for {package}")))
    }

    /// The versions of `package` that may be installed with dbt `dbt_version` (all of them
    /// without the version check), oldest first; pre-releases only with `prerelease`.
    pub fn installable(
        &mut self,
        package: &str,
        dbt_version: Option<&str>,
        prerelease: bool,
    ) -> Result<Vec<String>, Diagnostic> {
        let versions = self.versions(package)?;
        let compatible = versions
            .iter()
            .filter(|(_, v)| dbt_version.is_none_or(|d| compatible(&v.require_dbt_version, d)))
            .map(|(k, _)| k.as_str());
        Ok(semver::installable(compatible, prerelease))
    }
}

/// Whether `dbt_version` satisfies a `require_dbt_version` list (empty: any).
pub fn compatible(require: &[String], dbt_version: &str) -> bool {
    if require.is_empty() {
        return true;
    }
    let mut specs = vec![];
    for r in require {
        for part in r.split(',') {
            match semver::Spec::parse(part.trim()) {
                Some(s) => specs.push(s),
                // A requirement kiln cannot read does not hide the version.
                None => return true,
            }
        }
    }
    match (semver::reduce(&specs), semver::Spec::parse(dbt_version)) {
        (Ok(range), Some(v)) => range.contains(&v),
        _ => false,
    }
}

fn parse_versions(v: &Value) -> Result<BTreeMap<String, Version>, String> {
    let Some(Value::Object(versions)) = v.get("versions") else {
        return Err("it has no `versions` mapping".into());
    };
    let mut out = BTreeMap::new();
    for (k, x) in versions {
        let Value::Object(m) = x else {
            return Err(format!("version {k} is not a mapping"));
        };
        let get = |m: &Map<String, Value>, key: &str| {
            m.get(key).and_then(Value::as_str).map(String::from)
        };
        let name = get(m, "name").ok_or_else(|| format!("version {k} has no `name`"))?;
        let tarball = m
            .get("downloads")
            .and_then(|d| d.get("tarball"))
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| format!("version {k} has no `downloads.tarball`"))?;
        let packages = match m.get("packages") {
            Some(Value::Array(a)) => a.clone(),
            _ => vec![],
        };
        let require_dbt_version = match m.get("require_dbt_version") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => vec![],
        };
        out.insert(
            k.clone(),
            Version {
                name,
                packages,
                tarball,
                require_dbt_version,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_dbt_version_is_checked_against_kilns_dbt_version() {
        let r = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(compatible(&r(&[">=1.3.0", "<2.0.0"]), "1.11.0"));
        assert!(!compatible(&r(&[">=1.12.0"]), "1.11.0"));
        assert!(compatible(&r(&[">=1.0.0,<2.0.0"]), "1.11.0"));
        assert!(compatible(&[], "1.11.0"));
    }
}

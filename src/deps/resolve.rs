//! Resolution: from what packages.yml asks for to one exact version of every package, the
//! transitive ones included, as dbt resolves them.
//!
//! dbt's algorithm, kept: the packages asked for are merged by identity (the hub's `org/name`,
//! a git URL with or without `.git` and its subdirectory, a local path, a tarball URL); each is
//! pinned (a hub package to the latest version inside every range that asks for it, a git one
//! to its single revision's commit) and its own packages.yml read, round after round, until no
//! new requirement appears. Where dbt stops at the first unsatisfiable range, kiln gathers every
//! requirement first, so a conflict names both requirers and every problem is reported at once.

use super::fetch::{Fetcher, project_name};
use super::semver::{self, Spec};
use super::spec::{self, Entry, Origin, RenderContext, Source};
use crate::error::{Diagnostic, Error, Location};
use indexmap::IndexMap;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A package pinned to one exact source.
#[derive(Debug, Clone)]
pub struct Pinned {
    /// Its project name: the folder it is installed as.
    pub name: String,
    pub kind: PinnedKind,
    /// The package folder, when already fetched.
    pub fetched: Option<PathBuf>,
    /// Hub packages: the latest version that could be installed.
    pub latest: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PinnedKind {
    Local {
        local: String,
        path: PathBuf,
    },
    Git {
        git: String,
        git_unrendered: String,
        revision: String,
        subdirectory: Option<String>,
    },
    Hub {
        package: String,
        version: String,
    },
    Tarball {
        tarball: String,
        tarball_unrendered: String,
    },
}

impl Pinned {
    /// How dbt names it in `Installing <label>`.
    pub fn label(&self) -> String {
        match &self.kind {
            PinnedKind::Local { local, .. } => local.clone(),
            PinnedKind::Git {
                git, subdirectory, ..
            } => match subdirectory {
                Some(s) => format!("{git}/{s}"),
                None => git.clone(),
            },
            PinnedKind::Hub { package, .. } => package.clone(),
            PinnedKind::Tarball { .. } => self.name.clone(),
        }
    }

    /// dbt's `nice_version_name`: `version 1.2.0`, `revision <sha>`, ...
    pub fn version_name(&self) -> String {
        match &self.kind {
            PinnedKind::Local { local, .. } => format!("<local @ {local}>"),
            PinnedKind::Git { revision, .. } if revision == "HEAD" => {
                "HEAD (default revision)".into()
            }
            PinnedKind::Git { revision, .. } => format!("revision {revision}"),
            PinnedKind::Hub { version, .. } => format!("version {version}"),
            PinnedKind::Tarball { tarball, .. } => format!("tarball (url: {tarball})"),
        }
    }

    /// Its entry in package-lock.yml, as dbt writes it.
    pub fn lock_entry(&self) -> Value {
        let mut v = match &self.kind {
            PinnedKind::Local { local, .. } => json!({ "local": local }),
            PinnedKind::Git {
                git_unrendered,
                revision,
                subdirectory,
                ..
            } => {
                let mut v = json!({
                    "git": crate::events::scrub(git_unrendered),
                    "revision": revision,
                });
                if let Some(s) = subdirectory {
                    v["subdirectory"] = json!(s);
                }
                v
            }
            PinnedKind::Hub { package, version } => {
                json!({ "package": package, "version": version })
            }
            PinnedKind::Tarball {
                tarball_unrendered, ..
            } => json!({ "tarball": crate::events::scrub(tarball_unrendered) }),
        };
        v["name"] = json!(self.name);
        v
    }
}

/// A package's requirements merged across everyone who asks for it.
#[derive(Debug, Clone)]
enum Unpinned {
    Local {
        local: String,
        origin: Origin,
    },
    Git {
        git: String,
        git_unrendered: String,
        subdirectory: Option<String>,
        revisions: Vec<(String, Origin)>,
        warn_unpinned: bool,
        origin: Origin,
    },
    Hub {
        package: String,
        reqs: Vec<Requirement>,
        install_prerelease: bool,
    },
    Tarball {
        tarball: String,
        tarball_unrendered: String,
        name: String,
        origin: Origin,
    },
}

#[derive(Debug, Clone)]
struct Requirement {
    versions: Vec<String>,
    origin: Origin,
    location: Option<Location>,
}

impl Requirement {
    fn describe(&self) -> String {
        self.versions.join(", ")
    }
}

impl Unpinned {
    fn from_entry(e: &Entry) -> Unpinned {
        match &e.source {
            Source::Local { local } => Unpinned::Local {
                local: local.clone(),
                origin: e.origin.clone(),
            },
            Source::Git {
                git,
                git_unrendered,
                revision,
                subdirectory,
                warn_unpinned,
            } => Unpinned::Git {
                git: git.clone(),
                git_unrendered: git_unrendered.clone(),
                subdirectory: subdirectory.clone(),
                revisions: revision
                    .iter()
                    .map(|r| (r.clone(), e.origin.clone()))
                    .collect(),
                warn_unpinned: *warn_unpinned,
                origin: e.origin.clone(),
            },
            Source::Hub {
                package,
                versions,
                install_prerelease,
            } => Unpinned::Hub {
                package: package.clone(),
                reqs: vec![Requirement {
                    versions: versions.clone(),
                    origin: e.origin.clone(),
                    location: e.version_location.clone().or(e.origin.location.clone()),
                }],
                install_prerelease: *install_prerelease,
            },
            Source::Tarball {
                tarball,
                tarball_unrendered,
                name,
            } => Unpinned::Tarball {
                tarball: tarball.clone(),
                tarball_unrendered: tarball_unrendered.clone(),
                name: name.clone(),
                origin: e.origin.clone(),
            },
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Unpinned::Local { .. } => "local",
            Unpinned::Git { .. } => "git",
            Unpinned::Hub { .. } => "hub",
            Unpinned::Tarball { .. } => "tarball",
        }
    }

    fn first_origin(&self) -> Origin {
        match self {
            Unpinned::Local { origin, .. }
            | Unpinned::Git { origin, .. }
            | Unpinned::Tarball { origin, .. } => origin.clone(),
            Unpinned::Hub { reqs, .. } => {
                reqs.first().map(|r| r.origin.clone()).unwrap_or(Origin {
                    requirer: "your project".into(),
                    location: None,
                })
            }
        }
    }

    /// Merges another requirement of the same package.
    fn incorporate(&mut self, other: Unpinned) {
        match (self, other) {
            (
                Unpinned::Git {
                    revisions,
                    warn_unpinned,
                    ..
                },
                Unpinned::Git {
                    revisions: more,
                    warn_unpinned: w,
                    ..
                },
            ) => {
                revisions.extend(more);
                *warn_unpinned = *warn_unpinned && w;
            }
            (Unpinned::Hub { reqs, .. }, Unpinned::Hub { reqs: more, .. }) => reqs.extend(more),
            _ => {}
        }
    }
}

/// The names a package is known by, for merging (dbt's `all_names`).
fn keys(e: &Source) -> Vec<String> {
    match e {
        Source::Local { local } => vec![local.clone()],
        Source::Hub { package, .. } => vec![package.clone()],
        Source::Tarball { tarball, .. } => vec![tarball.clone()],
        Source::Git {
            git, subdirectory, ..
        } => {
            let other = match git.strip_suffix(".git") {
                Some(s) => s.to_string(),
                None => format!("{git}.git"),
            };
            match subdirectory {
                Some(s) => vec![format!("{git}/{s}"), format!("{other}/{s}")],
                None => vec![git.clone(), other],
            }
        }
    }
}

/// What the resolver needs to know besides the packages.
pub struct Context<'c> {
    pub root_dir: &'c Path,
    pub root_name: &'c str,
    pub render: &'c RenderContext,
    /// kiln's dbt version, when versions are checked against `require_dbt_version`.
    pub dbt_version: Option<&'c str>,
    /// Warnings (an unpinned git package); an error when --warn-error makes it one.
    pub warn: &'c dyn Fn(Diagnostic) -> Result<(), Error>,
}

/// The resolver's memory of what each pinned package asks for.
pub struct Resolver<'c, 'a> {
    pub ctx: Context<'c>,
    pub fetcher: Fetcher<'a>,
    /// Pinned package identity → (project name, its requirements).
    metadata: BTreeMap<String, (String, Vec<Entry>)>,
    warned: BTreeSet<String>,
}

impl<'c, 'a> Resolver<'c, 'a> {
    pub fn new(ctx: Context<'c>, fetcher: Fetcher<'a>) -> Self {
        Resolver {
            ctx,
            fetcher,
            metadata: BTreeMap::new(),
            warned: BTreeSet::new(),
        }
    }

    /// Resolves the root entries and everything they bring in.
    pub fn resolve(&mut self, root: &[Entry]) -> Result<Vec<Pinned>, Error> {
        let mut all: IndexMap<String, Unpinned> = IndexMap::new();
        let mut pending: Vec<Entry> = root.to_vec();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        while !pending.is_empty() {
            let mut next = vec![];
            for e in pending {
                let mut sig = e.origin.requirer.clone();
                crate::events::pyjson::write_sorted(&spec::hash_dict(&e), &mut sig);
                // The same requirement from the same requirer adds nothing (and a cycle of
                // packages requiring each other would otherwise never end).
                if !seen.insert(sig) {
                    continue;
                }
                let names = keys(&e.source);
                let key = names
                    .iter()
                    .find(|k| all.contains_key(*k))
                    .cloned()
                    .unwrap_or_else(|| names[0].clone());
                let new = Unpinned::from_entry(&e);
                match all.get_mut(&key) {
                    Some(existing) if existing.kind() != new.kind() => {
                        return Err(mismatched(existing, &new, &key).into());
                    }
                    Some(existing) => existing.incorporate(new),
                    None => {
                        all.insert(key.clone(), new);
                    }
                }
                let Some(u) = all.get(&key).cloned() else {
                    continue;
                };
                // A hub package no version fits yet is reported at the end, with every
                // requirement known.
                let Some(pin) = self
                    .pin(&u, false)
                    .map_err(|e| locate(e, &u.first_origin()))?
                else {
                    continue;
                };
                let (_, deps) = self
                    .metadata(&pin)
                    .map_err(|e| locate(e, &u.first_origin()))?;
                next.extend(deps);
            }
            pending = next;
        }
        let mut problems = vec![];
        let mut out = vec![];
        for u in all.values() {
            match self.pin(u, true) {
                Ok(Some(mut p)) => {
                    let (name, _) = self.metadata(&p)?;
                    // A tarball's `name:` wins over its project's name (dbt's rule).
                    if p.name.is_empty() {
                        p.name = name;
                    }
                    out.push(p);
                }
                Ok(None) => {}
                Err(e) => problems.extend(e.diagnostics()),
            }
        }
        if !problems.is_empty() {
            return Err(Error::Diagnostics(problems));
        }
        check_names(&out, self.ctx.root_name)?;
        Ok(out)
    }

    /// Pins one package; `None` for a hub package whose requirements fit no version (with
    /// `report`, that is an error instead).
    fn pin(&mut self, u: &Unpinned, report: bool) -> Result<Option<Pinned>, Error> {
        let pinned = |kind| Pinned {
            name: String::new(),
            kind,
            fetched: None,
            latest: None,
        };
        match u {
            Unpinned::Local { local, .. } => Ok(Some(pinned(PinnedKind::Local {
                local: local.clone(),
                path: self.ctx.root_dir.join(local),
            }))),
            Unpinned::Tarball {
                tarball,
                tarball_unrendered,
                name,
                ..
            } => {
                let dir = self.fetcher.tarball(tarball, name)?;
                let mut p = pinned(PinnedKind::Tarball {
                    tarball: tarball.clone(),
                    tarball_unrendered: tarball_unrendered.clone(),
                });
                p.name = name.clone();
                p.fetched = Some(dir);
                Ok(Some(p))
            }
            Unpinned::Git {
                git,
                git_unrendered,
                subdirectory,
                revisions,
                warn_unpinned,
                ..
            } => {
                let distinct: BTreeSet<&str> = revisions.iter().map(|(r, _)| r.as_str()).collect();
                if distinct.len() > 1 {
                    let asks = revisions
                        .iter()
                        .map(|(r, o)| format!("'{r}' ({})", o.describe()))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let first = &revisions[0].1;
                    let d = Diagnostic::error(
                        "deps",
                        format!(
                            "the git package {git} is asked for at more than one revision: {asks}"
                        ),
                    )
                    .with_help(
                        "git packages take exactly one revision: make the requirements agree",
                    );
                    return Err(match &first.location {
                        Some(l) => d.at(l.clone()),
                        None => d,
                    }
                    .into());
                }
                let revision = distinct.into_iter().next();
                let label = match subdirectory {
                    Some(s) => format!("{git}/{s}"),
                    None => git.clone(),
                };
                let unpinned_rev = match revision {
                    None | Some("HEAD") => {
                        Some("not pinned, using HEAD (default branch)".to_string())
                    }
                    Some(r @ ("main" | "master")) => Some(format!("pinned to the \"{r}\" branch")),
                    _ => None,
                };
                if let Some(what) = unpinned_rev
                    && *warn_unpinned
                    && self.warned.insert(label.clone())
                {
                    let origin = &revisions
                        .first()
                        .map_or_else(|| u.first_origin(), |r| r.1.clone());
                    let d = Diagnostic::warning(
                        "deps-unpinned",
                        format!(
                            "The git package \"{}\" is {what}: this can introduce breaking changes into your project without warning",
                            crate::events::scrub(git)
                        ),
                    )
                    .with_help("pin it with `revision:` (a tag or a commit sha), or set `warn-unpinned: false`");
                    (self.ctx.warn)(match &origin.location {
                        Some(l) => d.at(l.clone()),
                        None => d,
                    })?;
                }
                let checkout = self
                    .fetcher
                    .git(git, &label, revision, subdirectory.as_deref())?;
                let mut p = pinned(PinnedKind::Git {
                    git: git.clone(),
                    git_unrendered: git_unrendered.clone(),
                    revision: checkout.sha.clone(),
                    subdirectory: subdirectory.clone(),
                });
                p.fetched = Some(checkout.package_dir.clone());
                Ok(Some(p))
            }
            Unpinned::Hub {
                package,
                reqs,
                install_prerelease,
            } => self.pin_hub(package, reqs, *install_prerelease, report),
        }
    }

    fn pin_hub(
        &mut self,
        package: &str,
        reqs: &[Requirement],
        install_prerelease: bool,
        report: bool,
    ) -> Result<Option<Pinned>, Error> {
        let at = |d: Diagnostic, r: &Requirement| match &r.location {
            Some(l) => d.at(l.clone()),
            None => d,
        };
        let first = &reqs[0];
        if !self.fetcher.hub.has(package)? {
            let d = Diagnostic::error(
                    "deps",
                    format!(
                        "package {package} was not found in the package index (asked by {})",
                        first.origin.describe()
                    ),
                )
                .with_help(format!(
                    "check the name (org/package) on the hub ({}); a package that is not published there can be installed with `git:` or `local:`",
                    super::hub::base_url()
                ));
            // At the line that names the package.
            return Err(match &first.origin.location {
                Some(l) => d.at(l.clone()),
                None => d,
            }
            .into());
        }
        let mut parsed: Vec<Vec<Spec>> = vec![];
        for r in reqs {
            let mut specs = vec![];
            for v in &r.versions {
                let Some(s) = Spec::parse(v) else {
                    return Err(at(
                        Diagnostic::error(
                            "deps",
                            format!("\"{v}\" is not a valid semantic version (package {package})"),
                        )
                        .with_help("write three numbers, e.g. 1.2.0, optionally after >=, >, <, <= (a range is a list: [\">=1.0.0\", \"<2.0.0\"])"),
                        r,
                    )
                    .into());
                };
                specs.push(s);
            }
            parsed.push(specs);
        }
        let flat: Vec<Spec> = parsed.iter().flatten().cloned().collect();
        let prerelease = install_prerelease || flat.iter().any(|s| s.prerelease.is_some());
        let installable =
            self.fetcher
                .hub
                .installable(package, self.ctx.dbt_version, prerelease)?;
        let range = match semver::reduce(&flat) {
            Ok(r) => r,
            Err(_) if !report => return Ok(None),
            Err(_) => return Err(conflict(package, reqs, &parsed).into()),
        };
        let Some(version) = semver::latest_in(&range, &installable) else {
            if !report {
                return Ok(None);
            }
            let asked = if reqs.len() == 1 {
                format!("asked by {}", first.origin.describe())
            } else {
                format!(
                    "asked by {}",
                    reqs.iter()
                        .map(|r| format!("{} ({})", r.origin.describe(), r.describe()))
                        .collect::<Vec<_>>()
                        .join(" and ")
                )
            };
            let available = if installable.is_empty() {
                "no installable version".to_string()
            } else {
                installable.join(", ")
            };
            let checked = match self.ctx.dbt_version {
                Some(d) => format!(" (versions that declare support for dbt {d})"),
                None => String::new(),
            };
            let root_req = reqs
                .iter()
                .find(|r| r.origin.requirer == "your project")
                .unwrap_or(first);
            return Err(at(
                Diagnostic::error(
                    "deps",
                    format!("no version of {package} matches {range} ({asked})"),
                )
                .with_help(format!(
                    "the hub has {available}{checked}: change the range to include one of them (or run `kiln deps --no-version-check` to also consider versions for other dbt versions)"
                )),
                root_req,
            )
            .into());
        };
        Ok(Some(Pinned {
            name: String::new(),
            kind: PinnedKind::Hub {
                package: package.to_string(),
                version,
            },
            fetched: None,
            latest: installable.last().cloned(),
        }))
    }

    /// The project name and requirements of a pinned package (fetched once).
    pub fn metadata(&mut self, p: &Pinned) -> Result<(String, Vec<Entry>), Error> {
        let id = serde_json::to_string(&p.lock_entry_without_name()).unwrap_or_default();
        if let Some(m) = self.metadata.get(&id) {
            return Ok(m.clone());
        }
        let (name, deps) = match &p.kind {
            PinnedKind::Hub { package, version } => {
                let versions = self.fetcher.hub.versions(package)?;
                let Some(v) = versions.get(version) else {
                    return Err(Diagnostic::error(
                        "deps",
                        format!("the package hub has no version {version} of {package}"),
                    )
                    .with_help("run `kiln deps --upgrade` to resolve the versions again")
                    .into());
                };
                let (name, packages) = (v.name.clone(), v.packages.clone());
                let requirer = format!("{package} {version}");
                let deps = spec::entries_from_json(&packages, &requirer, &requirer)?;
                (name, deps)
            }
            PinnedKind::Local { local, path } => self.read_dir(path, local)?,
            PinnedKind::Git { .. } | PinnedKind::Tarball { .. } => {
                let dir = p.fetched.clone().unwrap_or_default();
                self.read_dir(&dir, &p.label())?
            }
        };
        if !super::fetch::valid_name(&name) {
            return Err(Diagnostic::error(
                "deps",
                format!(
                    "the package {} has the name '{name}', which cannot be a folder",
                    p.label()
                ),
            )
            .into());
        }
        self.metadata.insert(id, (name.clone(), deps.clone()));
        Ok((name, deps))
    }

    fn read_dir(&self, dir: &Path, shown: &str) -> Result<(String, Vec<Entry>), Error> {
        let name = project_name(dir, shown)?;
        let requirer = format!("package {name}");
        let deps = spec::read_package(dir, Path::new(shown), &requirer, self.ctx.render)?;
        Ok((name, deps))
    }
}

impl Pinned {
    fn lock_entry_without_name(&self) -> Value {
        let mut v = self.lock_entry();
        if let Value::Object(m) = &mut v {
            m.remove("name");
            if let PinnedKind::Local { path, .. } = &self.kind {
                m.insert("path".into(), json!(path.to_string_lossy()));
            }
        }
        v
    }
}

/// An error about a package, placed at the entry that asked for it when it has no place yet.
fn locate(e: Error, origin: &Origin) -> Error {
    let Error::Diagnostics(ds) = e else {
        return e;
    };
    Error::Diagnostics(
        ds.into_iter()
            .map(|d| match (&d.location, &origin.location) {
                (None, Some(l)) => d.at(l.clone()),
                _ => d,
            })
            .collect(),
    )
}

fn mismatched(old: &Unpinned, new: &Unpinned, key: &str) -> Diagnostic {
    let o = old.first_origin();
    let n = new.first_origin();
    let d = Diagnostic::error(
        "deps",
        format!(
            "{key} is asked for as a {} package by {} and as a {} package by {}",
            old.kind(),
            o.describe(),
            new.kind(),
            n.describe()
        ),
    )
    .with_help("install each package from one source: make the entries agree");
    match o.location.or(n.location) {
        Some(l) => d.at(l),
        None => d,
    }
}

/// The error for requirements no version can satisfy together: the first two that conflict.
fn conflict(package: &str, reqs: &[Requirement], parsed: &[Vec<Spec>]) -> Diagnostic {
    let mut pair = None;
    'outer: for i in 0..reqs.len() {
        for j in i + 1..reqs.len() {
            let both: Vec<Spec> = parsed[i].iter().chain(&parsed[j]).cloned().collect();
            if semver::reduce(&both).is_err() {
                pair = Some((i, j));
                break 'outer;
            }
        }
    }
    let (message, location) = match pair {
        Some((i, j)) => {
            let (a, b) = (&reqs[i], &reqs[j]);
            // Point at the line the user can change: the root project's requirement.
            let loc = if b.origin.requirer == "your project" {
                b.location.clone()
            } else {
                a.location.clone().or(b.location.clone())
            };
            (
                format!(
                    "version conflict for {package}: {} asks for {}, and {} asks for {}",
                    a.origin.describe(),
                    a.describe(),
                    b.origin.describe(),
                    b.describe()
                ),
                loc,
            )
        }
        None => (
            format!(
                "version conflict for {package}: no version satisfies {}",
                reqs.iter()
                    .map(|r| format!("{} ({})", r.describe(), r.origin.describe()))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            reqs[0].location.clone(),
        ),
    };
    let d = Diagnostic::error("deps", message).with_help(format!(
        "change the range for {package} so the requirements overlap, or pick a version of the other package whose requirement fits yours"
    ));
    match location {
        Some(l) => d.at(l),
        None => d,
    }
}

/// Two packages with one project name, or a package named as the root project, cannot both be
/// installed.
fn check_names(pins: &[Pinned], root: &str) -> Result<(), Error> {
    let mut seen: BTreeMap<&str, &Pinned> = BTreeMap::new();
    for p in pins {
        if p.name == root {
            return Err(Diagnostic::error(
                "deps",
                format!(
                    "found a dependency with the same name as the root project \"{root}\" ({}): package names must be unique in a project",
                    p.label()
                ),
            )
            .with_help("rename one of these projects (`name:` in its dbt_project.yml)")
            .into());
        }
        if let Some(other) = seen.insert(&p.name, p) {
            return Err(Diagnostic::error(
                "deps",
                format!(
                    "found duplicate project \"{}\": {} and {} are both named so",
                    p.name,
                    other.label(),
                    p.label()
                ),
            )
            .with_help("two packages cannot share a project name: install only one of them")
            .into());
        }
    }
    Ok(())
}

/// The packages of a lock file, pinned as written (nothing is resolved again).
pub fn from_lock(entries: &[Entry], root_dir: &Path) -> Result<Vec<Pinned>, Error> {
    let mut out = vec![];
    for e in entries {
        let name = e.name.clone().unwrap_or_default();
        let kind = match &e.source {
            Source::Local { local } => PinnedKind::Local {
                local: local.clone(),
                path: root_dir.join(local),
            },
            Source::Git {
                git,
                git_unrendered,
                revision,
                subdirectory,
                ..
            } => PinnedKind::Git {
                git: git.clone(),
                git_unrendered: git_unrendered.clone(),
                revision: revision.clone().unwrap_or_else(|| "HEAD".into()),
                subdirectory: subdirectory.clone(),
            },
            Source::Hub {
                package, versions, ..
            } => PinnedKind::Hub {
                package: package.clone(),
                version: versions.first().cloned().unwrap_or_default(),
            },
            Source::Tarball {
                tarball,
                tarball_unrendered,
                ..
            } => PinnedKind::Tarball {
                tarball: tarball.clone(),
                tarball_unrendered: tarball_unrendered.clone(),
            },
        };
        out.push(Pinned {
            name,
            kind,
            fetched: None,
            latest: None,
        });
    }
    Ok(out)
}

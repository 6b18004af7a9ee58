//! What a project asks for: `packages.yml` or `dependencies.yml`, read as dbt reads them.
//!
//! dbt's rules: `dependencies.yml`'s `packages:` is used when it has one (and both files having
//! one is an error); otherwise `packages.yml`. Values in `packages.yml` may use Jinja
//! (`{{ env_var('GIT_TOKEN') }}`, `{{ var('x') }}` from `--vars`, `dbt_version`); those in
//! `dependencies.yml` are taken as written. Each entry is one of `local:`, `git:` (with
//! `revision`, `subdirectory`, `warn-unpinned`), `package:` (the hub, with `version` and
//! `install-prerelease`) or `tarball:` (with `name`); any other key is an error, as in dbt.
//!
//! Every entry keeps what was written (`unrendered`) and where (its line), so errors point at
//! the entry and the lock file's `sha1_hash` is computed exactly as dbt computes it.

use crate::error::{Diagnostic, Location};
use serde_json::{Map, Value};
use std::path::Path;

pub const PACKAGES_FILE: &str = "packages.yml";
pub const DEPENDENCIES_FILE: &str = "dependencies.yml";

/// What to fetch, once rendered.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A folder on this machine (relative paths: to the root project, as in dbt).
    Local { local: String },
    Git {
        git: String,
        /// The URL as written (with `{{ env_var(...) }}` unrendered): what the lock records.
        git_unrendered: String,
        revision: Option<String>,
        subdirectory: Option<String>,
        warn_unpinned: bool,
    },
    /// A package of the hub, `org/name`, with the versions asked for.
    Hub {
        package: String,
        versions: Vec<String>,
        install_prerelease: bool,
    },
    Tarball {
        tarball: String,
        tarball_unrendered: String,
        name: String,
    },
}

/// Where a requirement was written, for messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// `your project` or `package dbt_utils (kiln-test/dbt_utils 1.2.0)`.
    pub requirer: String,
    pub location: Option<Location>,
}

impl Origin {
    /// `your project (packages.yml:3)`.
    pub fn describe(&self) -> String {
        match &self.location {
            Some(l) => format!("{} ({}:{})", self.requirer, l.path.display(), l.line),
            None => self.requirer.clone(),
        }
    }
}

/// One entry of the packages list.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub source: Source,
    /// `name:` when given.
    pub name: Option<String>,
    /// The entry as rendered, keys as written.
    pub rendered: Map<String, Value>,
    /// The entry as written.
    pub unrendered: Map<String, Value>,
    pub origin: Origin,
    /// The location of its `version:` (hub packages), for version errors.
    pub version_location: Option<Location>,
}

/// The packages a project asks for.
#[derive(Debug, Clone, Default)]
pub struct PackageSpec {
    /// `packages.yml` or `dependencies.yml` (the file the entries came from, or the one
    /// `--add-package` writes to when neither has packages).
    pub file: String,
    pub entries: Vec<Entry>,
}

/// What `packages.yml` may read: `--vars` and the dbt version.
#[derive(Debug, Clone, Default)]
pub struct RenderContext {
    pub cli_vars: Map<String, Value>,
    pub dbt_version: String,
}

fn read_optional(path: &Path) -> Result<Option<String>, Diagnostic> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(
            Diagnostic::error("deps", format!("cannot read {}: {e}", path.display())).in_file(path),
        ),
    }
}

/// Where the top-level `key:` of a YAML file is written (line 1 when it is not there).
fn top_level_key(shown: &str, text: &str, key: &'static str) -> Location {
    let path = [crate::project::yaml::Step::key(key)];
    crate::project::yaml::location(
        Path::new(shown),
        text,
        &path,
        crate::project::yaml::Part::Key,
    )
    .unwrap_or_else(|| Location::from_line_col(shown, text, 1, 1))
}

fn yaml_mapping(shown: &str, text: &str) -> Result<Map<String, Value>, Diagnostic> {
    match crate::project::yaml::to_json(Path::new(shown), text)? {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(Diagnostic::error(
            "deps",
            format!("{shown} must be a mapping with a `packages:` list"),
        )
        .in_file(shown)
        .with_help("write `packages:` followed by one `- package: ...` entry per line")),
    }
}

/// Reads the root project's package spec from `dir`.
pub fn read_project(dir: &Path, ctx: &RenderContext) -> Result<PackageSpec, Diagnostic> {
    let packages_text = read_optional(&dir.join(PACKAGES_FILE))?;
    let deps_text = read_optional(&dir.join(DEPENDENCIES_FILE))?;
    let packages = match &packages_text {
        Some(t) => Some(yaml_mapping(PACKAGES_FILE, t)?),
        None => None,
    };
    let deps = match &deps_text {
        Some(t) => Some(yaml_mapping(DEPENDENCIES_FILE, t)?),
        None => None,
    };
    let in_packages = packages
        .as_ref()
        .is_some_and(|m| m.contains_key("packages"));
    let in_deps = deps.as_ref().is_some_and(|m| m.contains_key("packages"));
    if in_packages && in_deps {
        let text = deps_text.as_deref().unwrap_or_default();
        return Err(Diagnostic::error(
            "deps",
            "the 'packages' key cannot be specified in both packages.yml and dependencies.yml",
        )
        .at(top_level_key(DEPENDENCIES_FILE, text, "packages"))
        .with_help("keep one list: move the entries of one file into the other and delete its `packages:` key"));
    }
    if let (Some(m), Some(t)) = (&packages, &packages_text)
        && m.contains_key("projects")
    {
        return Err(Diagnostic::error(
            "deps",
            "the 'projects' key cannot be specified in packages.yml",
        )
        .at(top_level_key(PACKAGES_FILE, t, "projects"))
        .with_help("cross-project dependencies (`projects:`) belong in dependencies.yml"));
    }
    let origin = "your project";
    if in_deps {
        let (Some(m), Some(t)) = (&deps, &deps_text) else {
            return Ok(PackageSpec::default());
        };
        // dependencies.yml is not rendered (dbt's rule: no Jinja there).
        let entries = entries_of(DEPENDENCIES_FILE, t, m, origin, None)?;
        return Ok(PackageSpec {
            file: DEPENDENCIES_FILE.into(),
            entries,
        });
    }
    let entries = match (&packages, &packages_text) {
        (Some(m), Some(t)) if !m.is_empty() => {
            if !m.contains_key("packages") {
                return Err(
                    Diagnostic::error("deps", "packages.yml has no `packages:` list")
                        .at(Location::from_line_col(PACKAGES_FILE, t, 1, 1))
                        .with_help(
                            "write `packages:` followed by one `- package: ...` entry per line",
                        ),
                );
            }
            entries_of(PACKAGES_FILE, t, m, origin, Some(ctx))?
        }
        _ => vec![],
    };
    Ok(PackageSpec {
        file: PACKAGES_FILE.into(),
        entries,
    })
}

/// Reads the packages an installed package asks for (its own packages.yml or
/// dependencies.yml), with `requirer` naming it in messages.
pub fn read_package(
    dir: &Path,
    shown_dir: &Path,
    requirer: &str,
    ctx: &RenderContext,
) -> Result<Vec<Entry>, Diagnostic> {
    for (file, render) in [(DEPENDENCIES_FILE, false), (PACKAGES_FILE, true)] {
        let Some(text) = read_optional(&dir.join(file))? else {
            continue;
        };
        let shown = shown_dir.join(file);
        let shown = shown.to_string_lossy();
        let m = yaml_mapping(&shown, &text)?;
        if !m.contains_key("packages") {
            continue;
        }
        return entries_of(&shown, &text, &m, requirer, render.then_some(ctx));
    }
    Ok(vec![])
}

pub const LOCK_FILE: &str = "package-lock.yml";

/// The lock file: its `sha1_hash` and its packages (rendered as packages.yml is), or `None`
/// when there is none.
pub fn read_lock(
    dir: &Path,
    ctx: &RenderContext,
) -> Result<Option<(Option<String>, Vec<Entry>)>, Diagnostic> {
    let Some(text) = read_optional(&dir.join(LOCK_FILE))? else {
        return Ok(None);
    };
    let m = yaml_mapping(LOCK_FILE, &text)?;
    let hash = m.get("sha1_hash").and_then(Value::as_str).map(String::from);
    let entries = entries_of(LOCK_FILE, &text, &m, "package-lock.yml", Some(ctx))?;
    Ok(Some((hash, entries)))
}

/// Entries given as JSON (the hub's metadata of a version), from `requirer`.
pub fn entries_from_json(
    list: &[Value],
    requirer: &str,
    what: &str,
) -> Result<Vec<Entry>, Diagnostic> {
    let mut out = vec![];
    for v in list {
        let Value::Object(m) = v else {
            return Err(Diagnostic::error(
                "deps",
                format!("{what}: a package entry is not a mapping: {v}"),
            ));
        };
        let origin = Origin {
            requirer: requirer.to_string(),
            location: None,
        };
        out.push(entry(m.clone(), m.clone(), origin, None, what, None)?);
    }
    Ok(out)
}

fn entries_of(
    shown: &str,
    text: &str,
    m: &Map<String, Value>,
    requirer: &str,
    ctx: Option<&RenderContext>,
) -> Result<Vec<Entry>, Diagnostic> {
    let list = match m.get("packages") {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(Diagnostic::error("deps", "`packages:` must be a list")
                .at(top_level_key(shown, text, "packages"))
                .with_help("write one `- package: ...` (or `- git:`, `- local:`, `- tarball:`) entry per line under `packages:`"));
        }
    };
    let mut out = vec![];
    let mut from = text.find("packages").unwrap_or(0);
    for item in list {
        let Value::Object(raw) = item else {
            return Err(Diagnostic::error(
                "deps",
                format!("a package entry must be a mapping, found {item}"),
            )
            .at(Location::from_offset(shown, text, from))
            .with_help("write each entry as `- package: org/name` with `version: ...` below it (or `- git:`, `- local:`, `- tarball:`)"));
        };
        // The entry's line: where its identifying value is written, after the previous entry.
        let key_value = ["package", "git", "local", "tarball", "private"]
            .iter()
            .find_map(|k| raw.get(*k).and_then(Value::as_str));
        let offset = key_value
            .and_then(|v| text.get(from..)?.find(v).map(|i| from + i))
            .unwrap_or(from);
        let location = Location::from_offset(shown, text, offset);
        let version_location = raw
            .get("version")
            .and_then(|v| match v {
                Value::Array(a) => a.first().cloned(),
                other => Some(other.clone()),
            })
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .and_then(|v| text.get(offset..)?.find(&v).map(|i| offset + i))
            .map(|o| Location::from_offset(shown, text, o));
        from = offset + key_value.map_or(0, str::len);
        let rendered = match ctx {
            Some(ctx) => render_entry(raw, ctx, &location)?,
            None => raw.clone(),
        };
        let origin = Origin {
            requirer: requirer.to_string(),
            location: Some(location.clone()),
        };
        out.push(entry(
            rendered,
            raw.clone(),
            origin,
            version_location,
            shown,
            Some(location),
        )?);
    }
    Ok(out)
}

/// A YAML scalar as dbt's `str()` gives it (`1.0` stays `1.0`).
pub fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e16 => format!("{f:.1}"),
            _ => n.to_string(),
        }),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.into()),
        _ => None,
    }
}

fn entry(
    rendered: Map<String, Value>,
    unrendered: Map<String, Value>,
    origin: Origin,
    version_location: Option<Location>,
    shown: &str,
    location: Option<Location>,
) -> Result<Entry, Diagnostic> {
    let fail = |msg: String, help: &str| {
        let d = Diagnostic::error("deps", msg).with_help(help.to_string());
        match &location {
            Some(l) => d.at(l.clone()),
            None => d.in_file(shown),
        }
    };
    let text_of = |key: &str| -> Result<Option<String>, Diagnostic> {
        match rendered.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => scalar_string(v).map(Some).ok_or_else(|| {
                fail(
                    format!("`{key}` must be text, found {v}"),
                    "write a single value (quoted if it contains special characters)",
                )
            }),
        }
    };
    let check_keys = |allowed: &[&str], what: &str| -> Result<(), Diagnostic> {
        if let Some(k) = rendered.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(fail(
                format!("unknown key `{k}` in a {what} package entry"),
                &format!(
                    "a {what} package takes {}",
                    allowed
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        Ok(())
    };
    let required = |key: &str, what: &str| -> Result<String, Diagnostic> {
        match text_of(key)? {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(fail(
                format!("a {what} package is missing the value of `{key}`"),
                &format!("give `{key}:` a value (a variable it reads may be empty)"),
            )),
        }
    };
    let name = text_of("name")?;
    let source = if rendered.contains_key("local") {
        check_keys(&["local", "name"], "local")?;
        Source::Local {
            local: required("local", "local")?,
        }
    } else if rendered.contains_key("git") {
        check_keys(
            &["git", "revision", "subdirectory", "warn-unpinned", "name"],
            "git",
        )?;
        let git = required("git", "git")?;
        let warn_unpinned = match rendered.get("warn-unpinned") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                return Err(fail(
                    format!("`warn-unpinned` must be true or false, found {v}"),
                    "write warn-unpinned: false to silence the warning about an unpinned revision",
                ));
            }
        };
        Source::Git {
            git_unrendered: unrendered
                .get("git")
                .and_then(scalar_string)
                .unwrap_or_else(|| git.clone()),
            git,
            revision: text_of("revision")?,
            subdirectory: text_of("subdirectory")?,
            warn_unpinned,
        }
    } else if rendered.contains_key("tarball") {
        check_keys(&["tarball", "name"], "tarball")?;
        let tarball = required("tarball", "tarball")?;
        let Some(name) = name.clone().filter(|n| !n.is_empty()) else {
            return Err(fail(
                "a tarball package needs a `name:` (the folder it is installed as)".into(),
                "add `name: <package name>` under the `tarball:` line",
            ));
        };
        Source::Tarball {
            tarball_unrendered: unrendered
                .get("tarball")
                .and_then(scalar_string)
                .unwrap_or_else(|| tarball.clone()),
            tarball,
            name,
        }
    } else if rendered.contains_key("package") {
        check_keys(
            &[
                "package",
                "version",
                "install-prerelease",
                "install_prerelease",
                "name",
            ],
            "hub",
        )?;
        let package = required("package", "hub")?;
        if !package.contains('/') {
            return Err(fail(
                format!(
                    "{package} was not found in the package index: packages on the index require a namespace"
                ),
                &format!("write the hub's full name, e.g. `dbt-labs/{package}`"),
            ));
        }
        let versions = match rendered.get("version") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a.iter().filter_map(scalar_string).collect(),
            Some(v) => match scalar_string(v) {
                // dbt's --add-package writes ranges as lists; a "a,b" string means the same.
                Some(s) => s.split(',').map(|p| p.trim().to_string()).collect(),
                None => vec![],
            },
        };
        if versions.iter().all(String::is_empty) {
            return Err(fail(
                format!(
                    "{package} is missing the version: when installing from the hub, `version` is required"
                ),
                "add e.g. `version: [\">=1.0.0\", \"<2.0.0\"]` (a range) or `version: 1.2.0` under it",
            ));
        }
        let install_prerelease = matches!(
            rendered
                .get("install-prerelease")
                .or(rendered.get("install_prerelease")),
            Some(Value::Bool(true))
        );
        Source::Hub {
            package,
            versions,
            install_prerelease,
        }
    } else if let Some(p) = text_of("private")? {
        return Err(fail(
            format!("cannot resolve the private package {p}: kiln has no git provider integration"),
            "write it as a `git:` package with its repository URL (a token can come from `{{ env_var('...') }}` in packages.yml)",
        ));
    } else {
        return Err(fail(
            "a package entry needs one of `package:`, `git:`, `local:` or `tarball:`".into(),
            "e.g. `- package: dbt-labs/dbt_utils` with `version: [\">=1.0.0\", \"<2.0.0\"]`",
        ));
    };
    Ok(Entry {
        source,
        name,
        rendered,
        unrendered,
        origin,
        version_location,
    })
}

/// The entry as dbt serialises it for the hash (`PackageSpec.to_dict()`): the fields of its
/// kind (unset optional ones as null, `name` only when given), plus the entry as written.
pub fn hash_dict(e: &Entry) -> Value {
    let mut m = Map::new();
    let get = |k: &str| e.rendered.get(k).cloned().unwrap_or(Value::Null);
    match &e.source {
        Source::Local { .. } => {
            m.insert("local".into(), get("local"));
        }
        Source::Tarball { .. } => {
            m.insert("tarball".into(), get("tarball"));
        }
        Source::Git { .. } => {
            m.insert("git".into(), get("git"));
            m.insert("revision".into(), get("revision"));
            m.insert("warn-unpinned".into(), get("warn-unpinned"));
            m.insert("subdirectory".into(), get("subdirectory"));
        }
        Source::Hub {
            install_prerelease, ..
        } => {
            m.insert("package".into(), get("package"));
            m.insert("version".into(), get("version"));
            m.insert(
                "install_prerelease".into(),
                Value::Bool(*install_prerelease),
            );
        }
    }
    if let Some(n) = e.rendered.get("name").filter(|n| !n.is_null()) {
        m.insert("name".into(), n.clone());
    }
    m.insert("unrendered".into(), Value::Object(e.unrendered.clone()));
    Value::Object(m)
}

/// dbt's `sha1_hash` of a package list: each entry's dict as sorted-key JSON (Python's
/// `json.dumps`), the lines sorted, joined with newlines, SHA-1 in hex.
pub fn sha1_hash(entries: &[Entry]) -> String {
    use sha1::Digest;
    let mut lines: Vec<String> = entries
        .iter()
        .map(|e| {
            let mut s = String::new();
            crate::events::pyjson::write_sorted(&hash_dict(e), &mut s);
            s
        })
        .collect();
    lines.sort();
    let digest = sha1::Sha1::digest(lines.join("\n").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Renders the Jinja in an entry's values (`{{ env_var('X') }}`, `{{ var('v') }}`).
fn render_entry(
    raw: &Map<String, Value>,
    ctx: &RenderContext,
    at: &Location,
) -> Result<Map<String, Value>, Diagnostic> {
    let mut out = Map::new();
    for (k, v) in raw {
        out.insert(k.clone(), render_value(v, ctx, at)?);
    }
    Ok(out)
}

fn render_value(v: &Value, ctx: &RenderContext, at: &Location) -> Result<Value, Diagnostic> {
    match v {
        Value::String(s) if s.contains("{{") || s.contains("{%") => {
            render_str(s, ctx).map(Value::String).map_err(|e| {
                Diagnostic::error("deps", format!("could not render {s}: {e}"))
                    .at(at.clone())
                    .with_help("packages.yml may use env_var('NAME'), env_var('NAME', 'default'), var('name') (from --vars) and dbt_version")
            })
        }
        Value::Array(a) => a
            .iter()
            .map(|x| render_value(x, ctx, at))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

fn render_str(s: &str, ctx: &RenderContext) -> Result<String, String> {
    use minijinja::{Environment, Error, ErrorKind, Value as J};
    let mut env = Environment::new();
    env.add_function("env_var", |name: String, default: Option<String>| {
        match (std::env::var(&name), default) {
            (Ok(v), _) => {
                if name.starts_with(crate::events::secrets::PREFIX) {
                    crate::events::secrets::register(&v);
                }
                Ok(v)
            }
            (Err(_), Some(d)) => Ok(d),
            (Err(_), None) => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("Env var required but not provided: '{name}'"),
            )),
        }
    });
    let vars = ctx.cli_vars.clone();
    env.add_function("var", move |name: String, default: Option<J>| {
        match (vars.get(&name), default) {
            (Some(v), _) => Ok(J::from(minijinja::value::Serde(v.clone()))),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("Required var '{name}' not found: packages.yml only sees --vars"),
            )),
        }
    });
    env.add_global("dbt_version", ctx.dbt_version.clone());
    env.render_str(s, ())
        .map_err(|e| e.detail().map_or_else(|| e.to_string(), String::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Vec<Entry> {
        let m = yaml_mapping(PACKAGES_FILE, text).unwrap();
        entries_of(
            PACKAGES_FILE,
            text,
            &m,
            "your project",
            Some(&RenderContext::default()),
        )
        .unwrap()
    }

    /// Hashes recorded from dbt-core 1.11 (`dbt.task.deps._create_sha1_hash` on the same YAML).
    #[test]
    fn sha1_hash_is_dbts() {
        for (text, hash) in [
            (
                r#"packages: [{package: dbt-labs/dbt_utils, version: [">=1.1.0", "<2.0.0"]}, {local: ../x}, {git: "https://x/y.git", revision: 1.0, warn-unpinned: false, subdirectory: sub}, {tarball: "https://t/a.tgz", name: a}]"#,
                "71e531d4f7791299e3aa707e1f66520e7d28050e",
            ),
            (
                "packages: [{package: dbt-labs/dbt_utils, version: 1.1}]",
                "a3c7483f0a6d96038292e4527ca0ab464434936b",
            ),
            (
                r#"packages: [{git: "x", revision: main, name: foo}, {package: a/b, version: ">1.0.0", install_prerelease: true}]"#,
                "a32f8298a6423abcb945c17fec211f5a7f4955b1",
            ),
            (
                r#"packages: [{local: "é"}]"#,
                "5d03a95bb27dbfcf88836578b2924fa425eedc8b",
            ),
            ("packages: []", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (
                "packages: [{local: y}, {local: x}]",
                "97e2b830b6a3387db1df517bc396cdbca1ffe5ec",
            ),
        ] {
            assert_eq!(sha1_hash(&spec(text)), hash, "{text}");
        }
    }

    #[test]
    fn jinja_in_packages_yml_is_rendered_and_the_hash_keeps_what_was_written() {
        let e =
            spec(r#"packages: [{git: "https://{{ env_var('KILN_UNSET_VAR', 'host') }}/y.git"}]"#);
        let Source::Git {
            git,
            git_unrendered,
            ..
        } = &e[0].source
        else {
            panic!("not git")
        };
        assert_eq!(git, "https://host/y.git");
        assert_eq!(
            git_unrendered,
            "https://{{ env_var('KILN_UNSET_VAR', 'host') }}/y.git"
        );
        assert_eq!(sha1_hash(&e), "74786fedcf0a272d5162253d01f25ce850aa7de2");
    }

    #[test]
    fn entries_know_their_line() {
        let e = spec(
            "packages:\n  - local: ../a\n\n  - package: org/p\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
        );
        assert_eq!(e[0].origin.location.as_ref().unwrap().line, 2);
        assert_eq!(e[1].origin.location.as_ref().unwrap().line, 4);
        assert_eq!(e[1].version_location.as_ref().unwrap().line, 5);
        assert_eq!(e[1].origin.describe(), "your project (packages.yml:4)");
    }
}

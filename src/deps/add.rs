//! `kiln deps --add-package name@version [--source hub|git|local]` (dbt 1.8+): adds an entry to
//! the project's packages file (packages.yml, or dependencies.yml when that is the one holding
//! `packages:`), replacing any entry for the same package, as dbt does.
//!
//! dbt rewrites the whole file (sorted keys, comments gone). kiln appends the new entry to the
//! file as written when it can, so comments and layout survive; when an entry must be removed,
//! or the file's layout is not one it can append to, it rewrites the file as dbt would. The
//! result is checked by reading it back.

use super::spec::PACKAGES_FILE;
use super::yaml_out;
use crate::error::{Diagnostic, Error};
use crate::events::{Event, kinds};
use serde_json::{Map, Value, json};
use std::path::Path;

/// Where `--add-package` takes the package from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddSource {
    #[default]
    Hub,
    Git,
    Local,
}

/// `name@version` → (name, version); a value with no `@`, or more than one, is all name
/// (dbt's reading).
pub fn split_package(arg: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = arg.split('@').collect();
    match parts.as_slice() {
        [name, version] => (name.to_string(), Some(version.to_string())),
        _ => (arg.to_string(), None),
    }
}

/// The entry dbt writes for `--add-package`.
fn new_entry(name: &str, version: Option<&str>, source: AddSource) -> Result<Value, Diagnostic> {
    let version = version.filter(|v| !v.is_empty());
    let version_value = |v: &str| {
        if v.contains(',') {
            json!(v.split(',').map(str::trim).collect::<Vec<_>>())
        } else {
            json!(v)
        }
    };
    Ok(match source {
        AddSource::Hub => {
            let Some(v) = version else {
                return Err(Diagnostic::error(
                    "flags",
                    format!("--add-package {name}: a hub package needs a version"),
                )
                .with_help(format!(
                    "write --add-package {name}@1.2.0, or a range: --add-package \"{name}@>=1.0.0,<2.0.0\""
                )));
            };
            if !name.contains('/') {
                return Err(Diagnostic::error(
                    "flags",
                    format!("--add-package {name}: hub packages are named org/package"),
                )
                .with_help(format!(
                    "e.g. --add-package dbt-labs/{name}@1.3.0, or --source git / --source local"
                )));
            }
            json!({"package": name, "version": version_value(v)})
        }
        AddSource::Git => match version {
            Some(v) => json!({"git": name, "revision": version_value(v)}),
            None => json!({"git": name}),
        },
        AddSource::Local => json!({"local": name}),
    })
}

/// Whether an existing entry is the package being added (dbt's matching: the name, with `_`
/// and `-` interchangeable, with or without its org, bounded by `/` or `.`).
fn is_duplicate(entry: &Map<String, Value>, name: &str) -> bool {
    let Some(id) = ["package", "git", "local", "tarball", "private"]
        .iter()
        .find_map(|k| entry.get(*k).and_then(Value::as_str))
    else {
        return false;
    };
    let mut variants = vec![
        name.to_string(),
        name.replace('_', "-"),
        name.replace('-', "_"),
    ];
    if let Some(short) = name.rsplit('/').next().filter(|_| name.contains('/')) {
        variants.extend([
            short.to_string(),
            short.replace('_', "-"),
            short.replace('-', "_"),
        ]);
    }
    variants.iter().any(|v| {
        let Some(i) = id.find(v.as_str()) else {
            return false;
        };
        let start_ok = i == 0 || id[..i].ends_with(['/', '.']);
        let end = i + v.len();
        let end_ok = end == id.len() || id[end..].starts_with(['/', '.']);
        start_ok && end_ok
    })
}

/// Adds the package to the project's packages file.
pub fn add(dir: &Path, file: &str, arg: &str, source: AddSource) -> Result<(), Error> {
    let (name, version) = split_package(arg);
    let entry = new_entry(&name, version.as_deref(), source)?;
    let path = dir.join(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let t = "packages: []\n".to_string();
            std::fs::write(&path, &t).map_err(|e| Error::io(&path, e))?;
            Event::new(kinds::FORMATTING, format!("Created {PACKAGES_FILE}")).emit();
            t
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let mut doc = match crate::project::yaml::to_json(Path::new(file), &text)? {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut list = match doc.remove("packages") {
        Some(Value::Array(a)) => a,
        _ => vec![],
    };
    let before = list.len();
    list.retain(|e| {
        let dup = matches!(e, Value::Object(m) if is_duplicate(m, &name));
        if dup && let Value::Object(m) = e {
            let shown: Map<String, Value> = m
                .iter()
                .filter(|(_, v)| matches!(v, Value::String(_) | Value::Number(_)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Event::new(
                kinds::DEPS_FOUND_DUPLICATE_PACKAGE,
                format!(
                    "Found duplicate package in {file}, removing: {}",
                    Value::Object(shown.clone())
                ),
            )
            .with("removed_package", Value::Object(shown))
            .emit();
        }
        !dup
    });
    let removed = list.len() != before;
    list.push(entry.clone());
    let expected = Value::Array(list.clone());
    let appended = (!removed)
        .then(|| append(&text, &entry))
        .flatten()
        .filter(|t| {
            crate::project::yaml::to_json(Path::new(file), t)
                .ok()
                .and_then(|v| v.get("packages").cloned())
                .as_ref()
                == Some(&expected)
        });
    let new_text = match appended {
        Some(t) => t,
        None => {
            doc.insert("packages".into(), expected);
            yaml_out::dump(&Value::Object(doc))
        }
    };
    std::fs::write(&path, new_text).map_err(|e| Error::io(&path, e))?;
    let version_shown = version.unwrap_or_default();
    Event::new(
        kinds::DEPS_ADD_PACKAGE,
        format!(
            "Added new package {name}@{version_shown} to {}",
            path.display()
        ),
    )
    .with("package_name", name.clone())
    .with("version", version_shown)
    .with("packages_filepath", path.display().to_string())
    .emit();
    Ok(())
}

/// `text` with `entry` appended to its block-style `packages:` list, or `None` when the list is
/// not written that way.
fn append(text: &str, entry: &Value) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| {
        l.strip_prefix("packages:")
            .is_some_and(|rest| rest.trim().is_empty() || rest.trim().starts_with('#'))
    })?;
    // The block runs while lines are indented, list items, comments or blank.
    let mut end = start;
    let mut indent: Option<String> = None;
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if !(l.starts_with(' ') || l.starts_with('-')) {
            break;
        }
        if indent.is_none() && t.starts_with('-') {
            indent = Some(l[..l.len() - t.len()].to_string());
        }
        end = i;
    }
    let indent = indent.unwrap_or_else(|| "  ".into());
    let dumped = yaml_out::dump(&json!({ "packages": [entry] }));
    let item: Vec<String> = dumped
        .lines()
        .skip(1)
        .map(|l| format!("{indent}{}", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    let mut out: Vec<String> = lines[..=end].iter().map(|s| s.to_string()).collect();
    out.extend(item);
    out.extend(lines[end + 1..].iter().map(|s| s.to_string()));
    let mut s = out.join("\n");
    s.push('\n');
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_match_as_dbt_matches_them() {
        let e = |k: &str, v: &str| {
            let mut m = Map::new();
            m.insert(k.into(), json!(v));
            m
        };
        assert!(is_duplicate(
            &e("package", "dbt-labs/dbt_utils"),
            "dbt-labs/dbt_utils"
        ));
        assert!(is_duplicate(
            &e("git", "https://github.com/dbt-labs/dbt-utils.git"),
            "dbt-labs/dbt_utils"
        ));
        assert!(!is_duplicate(
            &e("package", "dbt-labs/dbt_utils_extra"),
            "dbt-labs/dbt_utils"
        ));
        assert!(!is_duplicate(&e("local", "../dbt-core-utils"), "dbt-core"));
    }

    #[test]
    fn appending_keeps_comments() {
        let text = "# my packages\npackages:\n  - local: ../a   # mine\n\nother: 1\n";
        let out = append(
            text,
            &json!({"package": "a/b", "version": [">=1.0.0", "<2.0.0"]}),
        )
        .unwrap();
        assert_eq!(
            out,
            "# my packages\npackages:\n  - local: ../a   # mine\n  - package: a/b\n    version:\n      - '>=1.0.0'\n      - <2.0.0\n\nother: 1\n"
        );
    }
}

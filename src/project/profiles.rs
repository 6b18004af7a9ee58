//! `profiles.yml`: found where dbt looks for it, the profile and target chosen, `{{ env_var() }}`
//! rendered, and the target read by its engine. Nothing here knows an engine: the loader is given
//! the engines kiln has ([`Engines`], listed in the adapter layer's registry), and each engine reads
//! its own fields (DuckDB's `path`, Athena's `s3_staging_dir`...) and says where models go by
//! default. Errors in those fields still point at the target's lines in profiles.yml.

use crate::error::{Diagnostic, Location};
use crate::project::render::render_yaml_strings;
use crate::project::yaml;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The chosen target of the chosen profile, rendered and read by its engine.
#[derive(Debug, Clone)]
pub struct ProfileTarget {
    pub profile_name: String,
    pub name: String,
    /// The engine's name, the target's `type:` (`duckdb`, `athena`).
    pub adapter_type: String,
    pub database: String,
    pub schema: String,
    pub threads: usize,
    /// Every rendered field of the output, for `target.<field>` in Jinja and for the engine's
    /// adapter, which reads its settings from them.
    pub fields: Map<String, Value>,
    /// What `kiln debug` shows about where the engine connects, one line each.
    pub details: Vec<String>,
    /// The character the engine quotes identifiers with (the quoted column names of tests).
    pub quote_char: char,
    /// The profiles.yml this came from.
    pub profiles_path: PathBuf,
}

/// What an engine makes of a target's fields: the database and schema models go to unless they
/// say otherwise, the threads it asks for, and what `kiln debug` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetDefaults {
    pub database: String,
    pub schema: String,
    pub threads: Option<usize>,
    pub details: Vec<String>,
}

/// A target's rendered fields, and the directories relative settings are taken from.
#[derive(Debug, Clone, Copy)]
pub struct TargetFields<'a> {
    pub fields: &'a Map<String, Value>,
    pub project_dir: &'a Path,
    /// `<project>/<target-path>`: where an engine keeps its scratch files.
    pub target_dir: &'a Path,
}

/// Why an engine cannot read a target: the reader's message (`missing field `region_name``, or
/// what is wrong with a value) and what targets of the engine must set, for the help text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub message: String,
    pub required: &'static str,
}

/// The engines a target may name with `type:`. The adapter layer implements it (its registry),
/// so the loader reads profiles without knowing any engine.
pub trait Engines: Sync {
    /// Reads a target of the engine named `adapter_type`: its defaults and the character it
    /// quotes identifiers with. `None` when kiln has no such engine.
    fn read(
        &self,
        adapter_type: &str,
        target: TargetFields<'_>,
    ) -> Option<Result<(TargetDefaults, char), FieldError>>;

    /// The engines, as a help text names them: "`type: duckdb` (embedded) or `type: athena`".
    fn help(&self) -> String;
}

/// Where profiles.yml is, in dbt's order: `--profiles-dir`, `$DBT_PROFILES_DIR`, the project
/// directory, `~/.dbt/`.
pub fn find_profiles_file(flag: Option<&Path>, project_dir: &Path) -> Result<PathBuf, Diagnostic> {
    let mut looked = vec![];
    let help = if let Some(dir) = flag {
        format!(
            "--profiles-dir {} holds no profiles.yml: point it at the folder that does",
            dir.display()
        )
    } else if let Some(dir) = std::env::var_os("DBT_PROFILES_DIR") {
        format!(
            "DBT_PROFILES_DIR={} holds no profiles.yml: point it at the folder that does, or unset it",
            PathBuf::from(dir).display()
        )
    } else {
        "create profiles.yml in the project directory or ~/.dbt/, or pass --profiles-dir (`kiln init` writes one)".to_string()
    };
    let candidates: Vec<PathBuf> = if let Some(dir) = flag {
        vec![dir.to_path_buf()]
    } else if let Some(dir) = std::env::var_os("DBT_PROFILES_DIR") {
        vec![PathBuf::from(dir)]
    } else {
        let mut c = vec![project_dir.to_path_buf()];
        if let Some(home) = std::env::var_os("HOME") {
            c.push(PathBuf::from(home).join(".dbt"));
        }
        c
    };
    for dir in candidates {
        let f = dir.join("profiles.yml");
        if f.is_file() {
            return Ok(f);
        }
        looked.push(f.display().to_string());
    }
    Err(Diagnostic::error(
        "profile",
        format!("no profiles.yml found (looked in: {})", looked.join(", ")),
    )
    .with_help(help))
}

/// Where a target is read from and what reads it: the project's directories and the engines.
#[derive(Clone, Copy)]
pub struct TargetContext<'a> {
    pub project_dir: &'a Path,
    /// `<project>/<target-path>`.
    pub target_dir: &'a Path,
    pub engines: &'a dyn Engines,
}

/// Loads the target to use from `path`.
pub fn load_target(
    path: &Path,
    profile_name: &str,
    target_flag: Option<&str>,
    threads_flag: Option<usize>,
    cx: TargetContext<'_>,
    cli_vars: &Map<String, Value>,
) -> Result<ProfileTarget, Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::error("profile", format!("cannot read {}: {e}", path.display())).in_file(path)
    })?;
    let doc = yaml::to_json(path, &text)?;
    let Some(profile) = doc.get(profile_name) else {
        let known: Vec<&str> = doc
            .as_object()
            .map(|m| {
                m.keys()
                    .map(String::as_str)
                    .filter(|k| *k != "config")
                    .collect()
            })
            .unwrap_or_default();
        return Err(Diagnostic::error(
            "unknown-profile",
            format!("profile '{profile_name}' is not in {}", path.display()),
        )
        .in_file(path)
        .with_help(format!(
            "profiles found: {}; set `profile:` in dbt_project.yml to one of them",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    // Offsets narrow down: the profile, then its outputs, then the target's block.
    let profile_at = find_key(&text, 0, profile_name);
    let default_target = profile.get("target").and_then(Value::as_str);
    let target_name = target_flag
        .or(default_target)
        .unwrap_or("default")
        .to_string();
    let Some(outputs) = profile.get("outputs").and_then(Value::as_object) else {
        return Err(Diagnostic::error(
            "profile",
            format!("profile '{profile_name}' has no `outputs:` mapping"),
        )
        .at(Location::from_offset(path, &text, profile_at))
        .with_help("add `outputs:` with one entry per target, e.g. `dev: {type: duckdb, path: dev.duckdb}`"));
    };
    let Some(output) = outputs.get(&target_name) else {
        let known: Vec<String> = outputs.keys().cloned().collect();
        let known = if known.is_empty() {
            vec!["none".to_string()]
        } else {
            known
        };
        let (at, help) = if target_flag.is_some() {
            (
                profile_at,
                format!(
                    "targets in this profile: {}; pass one of them to --target, or add an output named '{target_name}'",
                    known.join(", ")
                ),
            )
        } else {
            (
                find_key(&text, profile_at, "target"),
                format!(
                    "targets in this profile: {}; set `target:` to one of them, or add an output named '{target_name}'",
                    known.join(", ")
                ),
            )
        };
        return Err(Diagnostic::error(
            "profile",
            format!("target '{target_name}' is not among the outputs of profile '{profile_name}'"),
        )
        .at(Location::from_offset(path, &text, at))
        .with_help(help));
    };
    let target_offset = find_key(&text, find_key(&text, profile_at, "outputs"), &target_name);
    let at_target = Location::from_offset(path, &text, target_offset);
    let at_field =
        |field: &str| Location::from_offset(path, &text, find_key(&text, target_offset, field));
    let rendered = render_yaml_strings(output, cli_vars).map_err(|f| {
        let at = text[target_offset..]
            .find(f.template.as_str())
            .map_or(at_target.clone(), |i| {
                Location::from_offset(path, &text, target_offset + i)
            });
        let d = Diagnostic::error("profile", format!("target '{target_name}': {f}")).at(at);
        match f.hint {
            Some(h) => d.with_help(h),
            None => d.with_help("fix the Jinja in this value"),
        }
    })?;
    let Some(fields) = rendered.as_object().cloned() else {
        return Err(Diagnostic::error(
            "profile",
            format!("target '{target_name}' must be a mapping of settings"),
        )
        .at(at_target));
    };
    let adapter_type = fields
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let bad_field = |e: FieldError| {
        let message = e.message;
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next());
        match missing {
            Some(field) => Diagnostic::error(
                "profile",
                format!("target '{target_name}' (type {adapter_type}) is missing `{field}`"),
            )
            .at(at_target.clone())
            .with_help(format!(
                "add `{field}:` to target '{target_name}'; {}",
                e.required
            )),
            None => Diagnostic::error(
                "profile",
                format!("target '{target_name}' (type {adapter_type}): {message}"),
            )
            .at(at_target.clone())
            .with_help(format!("fix the setting's value; {}", e.required)),
        }
    };
    if adapter_type.is_empty() {
        return Err(
            Diagnostic::error("profile", format!("target '{target_name}' has no `type`"))
                .at(at_target)
                .with_help(format!("add {}", cx.engines.help())),
        );
    }
    let fields_of = TargetFields {
        fields: &fields,
        project_dir: cx.project_dir,
        target_dir: cx.target_dir,
    };
    let Some(read) = cx.engines.read(&adapter_type, fields_of) else {
        return Err(Diagnostic::error(
            "profile",
            format!(
                "target '{target_name}' has type '{adapter_type}', which kiln does not support"
            ),
        )
        .at(at_field("type"))
        .with_help(format!("use {}", cx.engines.help())));
    };
    let (defaults, quote_char) = read.map_err(bad_field)?;
    Ok(ProfileTarget {
        profile_name: profile_name.to_string(),
        name: target_name,
        adapter_type,
        database: defaults.database,
        schema: defaults.schema,
        threads: threads_flag.unwrap_or(defaults.threads.unwrap_or(1)).max(1),
        fields,
        details: defaults.details,
        quote_char,
        profiles_path: path.to_path_buf(),
    })
}

/// The offset of `key:` as a YAML key at or after `from` (at the start of a line, after its
/// indentation), or `from` when there is none.
fn find_key(text: &str, from: usize, key: &str) -> usize {
    let needle = format!("{key}:");
    let mut pos = from.min(text.len());
    while let Some(i) = text[pos..].find(&needle) {
        let at = pos + i;
        let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
        let before = &text[line_start..at];
        if before.chars().all(|c| c == ' ' || c == '-') {
            return at;
        }
        pos = at + needle.len();
    }
    from
}

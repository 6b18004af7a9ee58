//! `profiles.yml`: found where dbt looks for it, the profile and target chosen, `{{ env_var() }}`
//! rendered, and the adapter-specific fields typed. DuckDB runs now; Athena is parsed and checked
//! now and runs in a later issue.

use crate::error::{Diagnostic, Location};
use crate::project::render::render_yaml_strings;
use crate::project::yaml;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The chosen target of the chosen profile, rendered and typed.
#[derive(Debug, Clone)]
pub struct Target {
    pub profile_name: String,
    pub name: String,
    /// `duckdb` or `athena`.
    pub adapter_type: String,
    pub database: String,
    pub schema: String,
    pub threads: usize,
    /// Every rendered field of the output, for `target.<field>` in Jinja.
    pub fields: Map<String, Value>,
    pub engine: EngineTarget,
    /// The profiles.yml this came from.
    pub profiles_path: PathBuf,
}

#[derive(Debug, Clone)]
pub enum EngineTarget {
    DuckDb(DuckDbTarget),
    Athena(AthenaTarget),
}

#[derive(Debug, Clone, Deserialize)]
pub struct DuckDbTarget {
    /// The database file, relative to the project directory (or `:memory:`).
    #[serde(default = "default_duckdb_path")]
    pub path: String,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub threads: Option<usize>,
    #[serde(default)]
    pub extensions: Vec<Value>,
    #[serde(default)]
    pub settings: Map<String, Value>,
    #[serde(default)]
    pub memory_limit: Option<String>,
    #[serde(default)]
    pub temp_directory: Option<String>,
    #[serde(default)]
    pub attach: Vec<Value>,
}

fn default_duckdb_path() -> String {
    ":memory:".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct AthenaTarget {
    pub s3_staging_dir: String,
    #[serde(default)]
    pub s3_data_dir: Option<String>,
    #[serde(default)]
    pub s3_data_naming: Option<String>,
    pub region_name: String,
    #[serde(default = "default_athena_catalog")]
    pub database: String,
    pub schema: String,
    #[serde(default)]
    pub work_group: Option<String>,
    #[serde(default)]
    pub aws_profile_name: Option<String>,
    #[serde(default)]
    pub threads: Option<usize>,
    #[serde(default)]
    pub num_retries: Option<u32>,
    #[serde(default)]
    pub poll_interval: Option<f64>,
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

fn default_athena_catalog() -> String {
    "awsdatacatalog".into()
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

/// Loads the target to use from `path`.
pub fn load_target(
    path: &Path,
    profile_name: &str,
    target_flag: Option<&str>,
    threads_flag: Option<usize>,
    project_dir: &Path,
    cli_vars: &Map<String, Value>,
) -> Result<Target, Diagnostic> {
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
    let bad_field = |e: serde_json::Error| {
        let message = e.to_string();
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
                required_settings(&adapter_type)
            )),
            None => Diagnostic::error(
                "profile",
                format!("target '{target_name}' (type {adapter_type}): {message}"),
            )
            .at(at_target.clone())
            .with_help(format!(
                "fix the setting's value; {}",
                required_settings(&adapter_type)
            )),
        }
    };
    let (engine, database, schema, threads) = match adapter_type.as_str() {
        "duckdb" => {
            let mut t: DuckDbTarget =
                serde_json::from_value(rendered.clone()).map_err(bad_field)?;
            if t.path != ":memory:" && !t.path.starts_with("md:") {
                let p = Path::new(&t.path);
                if p.is_relative() {
                    t.path = project_dir.join(p).display().to_string();
                }
            }
            let database = t
                .database
                .clone()
                .unwrap_or_else(|| duckdb_database_name(&t.path));
            let schema = t.schema.clone().unwrap_or_else(|| "main".into());
            let threads = t.threads.unwrap_or(1);
            (EngineTarget::DuckDb(t), database, schema, threads)
        }
        "athena" => {
            let t: AthenaTarget = serde_json::from_value(rendered.clone()).map_err(bad_field)?;
            let (d, s, th) = (t.database.clone(), t.schema.clone(), t.threads.unwrap_or(1));
            (EngineTarget::Athena(t), d, s, th)
        }
        "" => {
            return Err(Diagnostic::error(
                "profile",
                format!("target '{target_name}' has no `type`"),
            )
            .at(at_target)
            .with_help("add `type: duckdb` (embedded) or `type: athena`"));
        }
        other => {
            return Err(Diagnostic::error(
                "profile",
                format!("target '{target_name}' has type '{other}', which kiln does not support"),
            )
            .at(at_field("type"))
            .with_help("use `type: duckdb` (embedded) or `type: athena`"));
        }
    };
    Ok(Target {
        profile_name: profile_name.to_string(),
        name: target_name,
        adapter_type,
        database,
        schema,
        threads: threads_flag.unwrap_or(threads).max(1),
        fields,
        engine,
        profiles_path: path.to_path_buf(),
    })
}

/// What a target of this type must set, for help texts.
fn required_settings(adapter_type: &str) -> &'static str {
    match adapter_type {
        "athena" => "athena targets need s3_staging_dir, region_name and schema",
        _ => "see the adapter's profile reference for its settings",
    }
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

/// DuckDB names a database after its file: `warehouse/dev.duckdb` is `dev`; `:memory:` is `memory`.
pub fn duckdb_database_name(path: &str) -> String {
    if path == ":memory:" {
        return "memory".into();
    }
    Path::new(path)
        .file_stem()
        .map_or_else(|| "memory".into(), |s| s.to_string_lossy().into_owned())
}

//! The typed node config: what the materializations read (incremental strategy and keys,
//! microbatch windows, snapshot strategy and columns, seed CSV options, the contract), parsed
//! and checked once, in the parse phase, from the node's merged config.
//!
//! Every parser here returns *location-free* [`ConfigProblem`]s naming the config key at fault,
//! and reports every problem it finds rather than the first. The caller, which knows where each
//! layer of a node's config was written (dbt_project.yml, a properties file, a `config()` call),
//! tags each problem with its file, line and column ([`super::settle`]). This is ripgrep's
//! `ignore` crate's split: a glob parser knows nothing of files, the gitignore reader that called
//! it adds the path and line, and all bad lines of a file are collected in one pass.

pub mod incremental;
pub mod microbatch;
pub mod seed;
pub mod snapshot;

use super::config::Config;
use super::node::{Node, ResourceType};
use serde_json::Value;

pub use incremental::IncrementalConfig;
pub use microbatch::MicrobatchConfig;
pub use seed::SeedConfig;
pub use snapshot::SnapshotConfig;

/// A node's typed config; which parts are set depends on what the node builds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// Incremental models.
    pub incremental: Option<IncrementalConfig>,
    /// Incremental models with `incremental_strategy: microbatch`.
    pub microbatch: Option<MicrobatchConfig>,
    pub snapshot: Option<SnapshotConfig>,
    pub seed: Option<SeedConfig>,
    /// `contract:`, on every model.
    pub contract: ContractSettings,
}

/// `contract: {enforced: ..., alias_types: ...}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractSettings {
    pub enforced: bool,
    /// `string` in YAML means the engine's text type (the default).
    pub alias_types: bool,
}

impl Default for ContractSettings {
    fn default() -> Self {
        ContractSettings {
            enforced: false,
            alias_types: true,
        }
    }
}

/// The materializations kiln builds for models.
pub const MODEL_MATERIALIZATIONS: &[&str] = &["view", "table", "ephemeral", "incremental"];

/// How a problem reads after the node it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phrasing {
    /// `model 'orders': <message>`.
    Colon,
    /// `model 'orders' <message>`, the message starting with a verb (`has ...`, `needs ...`);
    /// for several nodes the verb loses its `s` (`models 'a', 'b' have ...`).
    Verb,
}

/// A config value that is wrong or missing, without its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The config key the problem is about, then keys inside its value
    /// (`["column_types", "amount"]`); empty when it is about nothing written (a setting that is
    /// missing is reported where the node is defined, unless a key that needs it is named).
    pub key: Vec<String>,
    pub message: String,
    /// What to do about it.
    pub help: String,
    pub phrasing: Phrasing,
}

impl ConfigProblem {
    pub fn new(key: &[&str], message: impl Into<String>, help: impl Into<String>) -> Self {
        ConfigProblem {
            key: key.iter().map(ToString::to_string).collect(),
            message: message.into(),
            help: help.into(),
            phrasing: Phrasing::Colon,
        }
    }

    /// A problem whose message starts with a verb: `needs a unique_key`.
    pub fn verb(key: &[&str], message: impl Into<String>, help: impl Into<String>) -> Self {
        ConfigProblem {
            phrasing: Phrasing::Verb,
            ..ConfigProblem::new(key, message, help)
        }
    }

    /// A value of `key` that is not one of `allowed`, with the closest one as a suggestion.
    pub fn not_one_of(key: &str, value: &str, allowed: &[&str]) -> Self {
        let list = allowed.join(", ");
        let help = match crate::error::suggest::closest(value, allowed.iter().copied(), 3) {
            Some(near) => format!("did you mean '{near}'? {key} is one of {list}"),
            None => format!("set {key} to one of {list}"),
        };
        ConfigProblem::new(
            &[key],
            format!("{key} '{value}' is not one of {list}"),
            help,
        )
    }

    /// A value of the wrong type: `expected` says what is wanted.
    pub fn wrong_type(key: &[&str], value: &Value, expected: &str) -> Self {
        let path = key.join(".");
        ConfigProblem::new(
            key,
            format!("{path} must be {expected}, not {}", shown(value)),
            format!("write {path} as {expected}"),
        )
    }
}

/// Why a typed config is missing: the node was not through the parse phase (a program error,
/// not a user's).
pub(crate) fn unsettled(node: &Node, what: &str) -> String {
    format!(
        "{}: the parse phase settled no {what} config for this node",
        node.original_file_path
    )
}

/// A value as the user wrote it, for messages: strings quoted, the rest as JSON.
pub(crate) fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

/// Collects problems while a parser goes on reading the other keys.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub Vec<ConfigProblem>);

impl Problems {
    /// The value, or `None` after recording the problem.
    pub fn take<T>(&mut self, r: Result<T, ConfigProblem>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(p) => {
                self.0.push(p);
                None
            }
        }
    }

    pub fn push(&mut self, p: ConfigProblem) {
        self.0.push(p);
    }

    /// `value` when nothing was wrong, else every problem.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<ConfigProblem>> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self.0)
        }
    }
}

/// A string-valued setting: absent (or null) is `None`, another type is a problem.
pub(crate) fn text<'a>(c: &'a Config, key: &str) -> Result<Option<&'a str>, ConfigProblem> {
    match c.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(ConfigProblem::wrong_type(&[key], other, "text")),
    }
}

/// A setting that is one column name or a list of them (`unique_key`, `check_cols`...), as a
/// list; blanks dropped. Anything else is a problem.
pub(crate) fn columns(c: &Config, key: &str) -> Result<Vec<String>, ConfigProblem> {
    let expected = "a column name or a list of column names";
    match c.get(key) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(vec![]),
        Some(Value::String(s)) => Ok(vec![s.trim().to_string()]),
        Some(Value::Array(items)) => {
            let mut out = vec![];
            for item in items {
                match item {
                    Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
                    Value::String(_) => {}
                    other => return Err(ConfigProblem::wrong_type(&[key], other, expected)),
                }
            }
            Ok(out)
        }
        Some(other) => Err(ConfigProblem::wrong_type(&[key], other, expected)),
    }
}

/// A boolean setting; `"true"`/`"false"` written as text count too (a var renders as text).
pub(crate) fn flag(c: &Config, key: &[&str], default: bool) -> Result<bool, ConfigProblem> {
    let mut v: Option<&Value> = key.first().and_then(|k| c.get(*k));
    for k in key.iter().skip(1) {
        v = v.and_then(|x| x.get(*k));
    }
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(ConfigProblem::wrong_type(key, other, "true or false")),
    }
}

impl Settings {
    /// Parses the typed config of a node that builds as `materialized`, from its merged
    /// `config`. Every problem is returned, not only the first.
    pub fn parse(
        resource_type: ResourceType,
        materialized: &str,
        config: &Config,
    ) -> Result<Settings, Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        let mut settings = Settings::default();
        match resource_type {
            ResourceType::Model => {
                settings.contract = parse_contract(config, &mut problems);
                if materialized == "incremental" {
                    match IncrementalConfig::parse(config) {
                        Ok(inc) => {
                            if inc.strategy == incremental::Strategy::Microbatch {
                                match MicrobatchConfig::parse(config) {
                                    Ok(mb) => settings.microbatch = Some(mb),
                                    Err(ps) => problems.0.extend(ps),
                                }
                            }
                            settings.incremental = Some(inc);
                        }
                        Err(ps) => problems.0.extend(ps),
                    }
                }
            }
            ResourceType::Snapshot => match SnapshotConfig::parse(config) {
                Ok(s) => settings.snapshot = Some(s),
                Err(ps) => problems.0.extend(ps),
            },
            ResourceType::Seed => match SeedConfig::parse(config) {
                Ok(s) => settings.seed = Some(s),
                Err(ps) => problems.0.extend(ps),
            },
            _ => {}
        }
        problems.finish(|| settings)
    }
}

impl Settings {
    /// For unit tests' hand-made nodes: every part that parses from `config`, whatever the
    /// node's materialization.
    #[cfg(test)]
    pub(crate) fn lenient(resource_type: ResourceType, config: &Config) -> Settings {
        let model = resource_type == ResourceType::Model;
        Settings {
            incremental: model
                .then(|| IncrementalConfig::parse(config).ok())
                .flatten(),
            microbatch: model
                .then(|| MicrobatchConfig::parse(config).ok())
                .flatten(),
            snapshot: (resource_type == ResourceType::Snapshot)
                .then(|| SnapshotConfig::parse(config).ok())
                .flatten(),
            seed: (resource_type == ResourceType::Seed)
                .then(|| SeedConfig::parse(config).ok())
                .flatten(),
            contract: parse_contract(config, &mut Problems::default()),
        }
    }
}

fn parse_contract(c: &Config, problems: &mut Problems) -> ContractSettings {
    let mut contract = ContractSettings::default();
    match c.get("contract") {
        None | Some(Value::Null) => {}
        Some(Value::Object(_)) => {
            if let Some(b) = problems.take(flag(c, &["contract", "enforced"], false)) {
                contract.enforced = b;
            }
            if let Some(b) = problems.take(flag(c, &["contract", "alias_types"], true)) {
                contract.alias_types = b;
            }
        }
        Some(other) => problems.push(ConfigProblem::wrong_type(
            &["contract"],
            other,
            "a mapping such as {enforced: true}",
        )),
    }
    contract
}

/// Checks a model's `materialized`: one kiln builds, else a problem that says why not (dbt-duckdb
/// has no materialized views; kiln does not run custom materializations) and what to use.
/// `custom` lists the materializations defined with `{% materialization %}` in the project.
pub fn check_model_materialization(
    config: &Config,
    custom: &[(String, String)],
) -> Result<(), ConfigProblem> {
    let m = match config.get("materialized") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(ConfigProblem::wrong_type(
                &["materialized"],
                other,
                "the name of a materialization such as 'table'",
            ));
        }
    };
    if MODEL_MATERIALIZATIONS.contains(&m) {
        return Ok(());
    }
    let known = MODEL_MATERIALIZATIONS.join(", ");
    let problem = |message: String, help: String| ConfigProblem {
        key: vec!["materialized".into()],
        message,
        help,
        phrasing: Phrasing::Verb,
    };
    if m == "materialized_view" {
        return Err(problem(
            "has materialization 'materialized_view', which DuckDB does not have".into(),
            "dbt-duckdb has no materialized views: use `table` (rebuilt on every run) or `incremental` (only new rows)".into(),
        ));
    }
    if let Some((_, file)) = custom.iter().find(|(name, _)| name == m) {
        return Err(problem(
            format!("has custom materialization '{m}', which kiln cannot run"),
            format!(
                "'{m}' is defined with {{% materialization %}} in {file}, but kiln runs only its own materializations: use one of {known}"
            ),
        ));
    }
    let help = match crate::error::suggest::closest(m, MODEL_MATERIALIZATIONS.iter().copied(), 3) {
        Some(near) => format!("did you mean '{near}'? Otherwise use one of {known}"),
        None => format!("use one of {known}"),
    };
    Err(problem(format!("has unknown materialization '{m}'"), help))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg(v: Value) -> Config {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn every_problem_of_a_node_is_reported() {
        let problems = Settings::parse(
            ResourceType::Model,
            "incremental",
            &cfg(json!({
                "incremental_strategy": "mergee",
                "on_schema_change": "sync",
                "contract": {"enforced": "yes"}
            })),
        )
        .expect_err("three problems");
        let keys: Vec<String> = problems.iter().map(|p| p.key.join(".")).collect();
        assert_eq!(
            keys,
            [
                "contract.enforced",
                "incremental_strategy",
                "on_schema_change"
            ]
        );
        assert_eq!(
            problems[1].help,
            "did you mean 'merge'? incremental_strategy is one of append, merge, delete+insert, insert_overwrite, microbatch"
        );
    }

    #[test]
    fn materializations_kiln_cannot_build_are_named() {
        let custom = vec![("insert_only".to_string(), "macros/m.sql".to_string())];
        let check = |m: &str| {
            check_model_materialization(&cfg(json!({ "materialized": m })), &custom)
                .map_err(|p| (p.message, p.help))
        };
        assert_eq!(check("table"), Ok(()));
        let (message, help) = check("materialized_view").expect_err("no such thing in DuckDB");
        assert!(message.contains("DuckDB does not have"), "{message}");
        assert!(help.contains("use `table`"), "{help}");
        let (message, help) = check("insert_only").expect_err("custom");
        assert!(message.contains("kiln cannot run"), "{message}");
        assert!(help.contains("macros/m.sql"), "{help}");
        let (_, help) = check("tabel").expect_err("typo");
        assert!(help.starts_with("did you mean 'table'?"), "{help}");
    }
}

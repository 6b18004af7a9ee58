//! `--warn-error` and `--warn-error-options`: which warnings become errors, which stay warnings
//! and which are silenced, as dbt decides it.
//!
//! Warnings are named by dbt's event names (`NoNodesForSelectionCriteria`, `LogTestResult`,
//! `UnusedResourceConfigPath`, ...), so the options a dbt user scripts with work unchanged:
//! `--warn-error-options '{"error": "all", "warn": ["NoNodesForSelectionCriteria"]}'`. dbt's
//! rules: a name listed in `silence` beats `warn`, which beats `error`; a listed name beats
//! `Deprecations`, which beats `"all"`; `warn` is accepted only next to `error: all` or a
//! `Deprecations` entry; `include` and `exclude` are the old spellings of `error` and `warn`
//! (a deprecation warning says so, and it too is subject to the options, as in dbt).
//! A warning that becomes an error stops the command with exit code 2, except a warn-severity
//! test, which fails (exit code 1).

use super::{Diagnostic, Error, Severity};
use serde_json::Value;

/// Every event name dbt-core 1.11 accepts in `--warn-error-options` (its `ALL_EVENT_NAMES`).
const DBT_EVENT_NAMES: &str = include_str!("dbt_event_names.txt");

/// What the options say about one warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    Warn,
    Error,
    Silence,
}

/// The resolved options; the default turns nothing into an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarnErrorOptions {
    error_all: bool,
    error: Vec<String>,
    warn: Vec<String>,
    silence: Vec<String>,
    /// Which flag (or config) set them, for the help line of a promoted warning; empty when
    /// nothing did.
    source: String,
    /// Deprecation warnings about how the options were written, to be shown (or promoted) with
    /// the project's warnings.
    pub deprecations: Vec<Diagnostic>,
}

/// The dbt event a kiln warning corresponds to, by its diagnostic code. Warnings dbt has no
/// event for have none: only `"all"` reaches them.
pub fn event_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "selection" => "NoNodesForSelectionCriteria",
        "no-nodes-selected" => "NoNodesSelected",
        "nothing-to-do" => "NothingToDo",
        "unused-config" => "UnusedResourceConfigPath",
        "patch" => "NoNodeForYamlKey",
        "patch-macro" => "MacroNotFoundForPatch",
        "state-target-equal" => "WarnStateTargetEqual",
        "test-warn" => "LogTestResult",
        "jinja-warning" => "JinjaLogWarning",
        "weo-deprecation" => "WEOIncludeExcludeDeprecation",
        "deps-unpinned" => "DepsUnpinned",
        _ => return None,
    })
}

fn is_deprecation(name: &str) -> bool {
    name.ends_with("Deprecation")
}

/// A list of names from the options, or "all"/"*" for `error`.
fn names(v: &Value, key: &str, flag: &str) -> Result<(bool, Vec<String>), Diagnostic> {
    match v {
        Value::Null => Ok((false, vec![])),
        Value::String(s) if key == "error" && (s == "all" || s == "*") => Ok((true, vec![])),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(shape_error(flag, &format!("`{key}` has the item {other}"))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| (false, v)),
        other => Err(shape_error(
            flag,
            &format!(
                "`{key}` must be {}a list of event names, not {other}",
                if key == "error" { "\"all\" or " } else { "" }
            ),
        )),
    }
}

fn shape_error(flag: &str, what: &str) -> Diagnostic {
    Diagnostic::error("flags", format!("{flag}: {what}")).with_help(
        "write e.g. --warn-error-options '{\"error\": \"all\", \"warn\": [\"NoNodesForSelectionCriteria\"], \"silence\": [\"UnusedResourceConfigPath\"]}'",
    )
}

/// Checks that each name is one of dbt's events, with a did-you-mean for a typo.
fn check_names(all: &[&String], flag: &str) -> Result<(), Diagnostic> {
    let known: Vec<&str> = DBT_EVENT_NAMES.lines().chain(["Deprecations"]).collect();
    let Some(bad) = all.iter().find(|n| !known.contains(&n.as_str())) else {
        return Ok(());
    };
    let close = known
        .iter()
        .map(|k| (super::levenshtein(bad, k), *k))
        .filter(|(d, _)| *d <= 3.max(bad.len() / 4))
        .min()
        .map(|(_, k)| format!("did you mean '{k}'? "))
        .unwrap_or_default();
    Err(Diagnostic::error(
        "flags",
        format!("{flag}: {bad} is not a valid dbt error name"),
    )
    .with_help(format!(
        "{close}name warnings by dbt's event names, e.g. NoNodesForSelectionCriteria, \
                 LogTestResult, UnusedResourceConfigPath, NothingToDo, or Deprecations"
    )))
}

impl WarnErrorOptions {
    /// `--warn-error`: every warning is an error.
    pub fn all(source: &str) -> Self {
        WarnErrorOptions {
            error_all: true,
            source: source.to_string(),
            ..Self::default()
        }
    }

    /// Reads the options from a YAML/JSON mapping (`--warn-error-options` text, or
    /// `flags: warn_error_options:` in dbt_project.yml).
    pub fn from_value(v: &Value, flag: &str) -> Result<Self, Error> {
        let map = match v {
            Value::Null => {
                return Ok(WarnErrorOptions {
                    source: flag.to_string(),
                    ..Self::default()
                });
            }
            Value::Object(m) => m,
            other => {
                return Err(shape_error(flag, &format!("expected a mapping, got {other}")).into());
            }
        };
        let mut deprecations = vec![];
        let legacy: Vec<&str> = ["include", "exclude"]
            .into_iter()
            .filter(|k| map.contains_key(*k))
            .collect();
        if !legacy.is_empty() {
            let mut advice = vec![];
            if map.contains_key("include") {
                advice.push("use `error` instead of `include`");
            }
            if map.contains_key("exclude") {
                advice.push("use `warn` instead of `exclude`");
            }
            deprecations.push(
                Diagnostic::warning(
                    "weo-deprecation",
                    format!(
                        "{flag}: `{}` {} deprecated",
                        legacy.join("` and `"),
                        if legacy.len() == 1 { "is" } else { "are" }
                    ),
                )
                .with_help(advice.join("; ")),
            );
        }
        for k in map.keys() {
            if !["error", "warn", "silence", "include", "exclude"].contains(&k.as_str()) {
                return Err(shape_error(
                    flag,
                    &format!("unknown key `{k}` (the keys are error, warn and silence)"),
                )
                .into());
            }
        }
        let pick = |primary: &str, alt: &str| -> Result<&Value, Diagnostic> {
            match (map.get(primary), map.get(alt)) {
                (Some(_), Some(_)) => Err(shape_error(
                    flag,
                    &format!(
                        "`{primary}` and `{alt}` cannot both be given (`{alt}` is the old name of `{primary}`)"
                    ),
                )),
                (Some(v), None) | (None, Some(v)) => Ok(v),
                (None, None) => Ok(&Value::Null),
            }
        };
        let (error_all, error) = names(pick("error", "include")?, "error", flag)?;
        let (_, warn) = names(pick("warn", "exclude")?, "warn", flag)?;
        let (_, silence) = names(map.get("silence").unwrap_or(&Value::Null), "silence", flag)?;
        let all: Vec<&String> = error.iter().chain(&warn).chain(&silence).collect();
        check_names(&all, flag)?;
        let deprecations_named = |l: &[String]| l.iter().any(|n| n == "Deprecations");
        let warn_allowed = error_all || deprecations_named(&error) || deprecations_named(&silence);
        if !warn.is_empty() && !warn_allowed {
            return Err(Diagnostic::error(
                "flags",
                format!("{flag}: `warn` can only be given when `error` is \"all\" (or \"*\"), or Deprecations is in `error` or `silence`"),
            )
            .with_help("warn lists the exceptions to error: all; to keep a warning a warning otherwise, leave it out of error")
            .into());
        }
        Ok(WarnErrorOptions {
            error_all,
            error,
            warn,
            silence,
            source: flag.to_string(),
            deprecations,
        })
    }

    /// `--warn-error-options` text (YAML or JSON), read with `read_yaml` (the command line's YAML
    /// reader: this layer, below the flags, parses no YAML itself).
    pub fn parse(
        text: &str,
        flag: &str,
        read_yaml: impl Fn(&str) -> Result<Value, String>,
    ) -> Result<Self, Error> {
        if text.trim().is_empty() {
            return Self::from_value(&Value::Null, flag);
        }
        let v = read_yaml(text)
            .map_err(|e| shape_error(flag, &format!("not valid YAML or JSON: {e}")))?;
        Self::from_value(&v, flag)
    }

    /// The options of the command line when it gave any, else those of dbt_project.yml's
    /// `flags:` (`warn_error: true`, or `warn_error_options: {...}`).
    pub fn or_project(self, flags: &serde_json::Map<String, Value>) -> Result<Self, Error> {
        if !self.source.is_empty() {
            return Ok(self);
        }
        if flags.get("warn_error").and_then(Value::as_bool) == Some(true) {
            return Ok(Self::all("flags: warn_error in dbt_project.yml"));
        }
        match flags.get("warn_error_options") {
            Some(v) => Self::from_value(v, "flags: warn_error_options in dbt_project.yml"),
            None => Ok(self),
        }
    }

    /// What happens to a warning with this dbt event name (None: a warning only `"all"` reaches).
    pub fn treatment(&self, event: Option<&str>) -> Treatment {
        let named = |l: &[String]| event.is_some_and(|e| l.iter().any(|n| n == e));
        let deprecation = event.is_some_and(is_deprecation);
        let as_deprecation = |l: &[String]| deprecation && l.iter().any(|n| n == "Deprecations");
        if named(&self.silence) {
            return Treatment::Silence;
        }
        if named(&self.warn) {
            return Treatment::Warn;
        }
        if named(&self.error) {
            return Treatment::Error;
        }
        if as_deprecation(&self.silence) {
            return Treatment::Silence;
        }
        if as_deprecation(&self.warn) {
            return Treatment::Warn;
        }
        if as_deprecation(&self.error) || self.error_all {
            return Treatment::Error;
        }
        Treatment::Warn
    }

    /// Whether every warning is an error, without exceptions (`--warn-error`, or `error: all`
    /// alone): Jinja's `flags.WARN_ERROR`.
    pub fn all_errors(&self) -> bool {
        self.error_all && self.warn.is_empty() && self.silence.is_empty()
    }

    /// The options as Jinja's `flags.WARN_ERROR_OPTIONS` shows them (`error`, `warn`,
    /// `silence`), from which [`WarnErrorOptions::from_flags`] reads them back.
    pub fn to_flags(&self) -> Value {
        serde_json::json!({
            "error": if self.error_all { Value::from("all") } else { Value::from(self.error.clone()) },
            "warn": self.warn,
            "silence": self.silence,
        })
    }

    /// The options back from Jinja's flags (`WARN_ERROR`, `WARN_ERROR_OPTIONS`), for warnings
    /// raised from templates (`exceptions.warn`).
    pub fn from_flags(warn_error: bool, options: &Value) -> Self {
        if warn_error {
            return Self::all("--warn-error");
        }
        Self::from_value(options, "--warn-error-options").unwrap_or_default()
    }

    /// What happens to a warning diagnostic.
    pub fn treat(&self, d: &Diagnostic) -> Treatment {
        if d.severity != Severity::Warning {
            return Treatment::Warn;
        }
        self.treatment(event_name(d.code))
    }

    /// Splits warnings into those to show and those that become errors (silenced ones are
    /// dropped). A promoted warning says which option made it an error.
    pub fn split(&self, diags: &[Diagnostic]) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
        let mut shown = vec![];
        let mut errors = vec![];
        for d in diags {
            match self.treat(d) {
                Treatment::Silence => {}
                Treatment::Warn => shown.push(d.clone()),
                Treatment::Error => errors.push(self.promote(d)),
            }
        }
        (shown, errors)
    }

    /// The warning as an error, with a note on why.
    pub fn promote(&self, d: &Diagnostic) -> Diagnostic {
        let mut e = d.clone();
        e.severity = Severity::Error;
        let why = match event_name(d.code) {
            Some(name) => format!("{} makes the warning {name} an error", self.source),
            None => format!("{} makes this warning an error", self.source),
        };
        e.help = Some(match e.help.take() {
            Some(h) => format!("{h} ({why})"),
            None => why,
        });
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<Value, String> {
        yaml_serde::from_str(text).map_err(|e| e.to_string())
    }

    fn opts(text: &str) -> WarnErrorOptions {
        match WarnErrorOptions::parse(text, "--warn-error-options", yaml) {
            Ok(o) => o,
            Err(e) => panic!("{text}: {:?}", e.diagnostics()),
        }
    }

    fn fails(text: &str) -> String {
        match WarnErrorOptions::parse(text, "--warn-error-options", yaml) {
            Ok(o) => panic!("{text} parsed: {o:?}"),
            Err(e) => e.diagnostics()[0].message.clone(),
        }
    }

    const SEL: Option<&str> = Some("NoNodesForSelectionCriteria");
    const TEST: Option<&str> = Some("LogTestResult");

    #[test]
    fn precedence_silence_over_warn_over_error_over_all() {
        let o = opts(
            r#"{"error": "all", "warn": ["LogTestResult"], "silence": ["NoNodesForSelectionCriteria"]}"#,
        );
        assert_eq!(o.treatment(SEL), Treatment::Silence);
        assert_eq!(o.treatment(TEST), Treatment::Warn);
        assert_eq!(o.treatment(Some("NothingToDo")), Treatment::Error);
        assert_eq!(o.treatment(None), Treatment::Error);
        let o = opts(r#"{"error": ["LogTestResult"]}"#);
        assert_eq!(o.treatment(TEST), Treatment::Error);
        assert_eq!(o.treatment(SEL), Treatment::Warn);
        assert_eq!(o.treatment(None), Treatment::Warn);
        assert_eq!(WarnErrorOptions::default().treatment(SEL), Treatment::Warn);
        assert_eq!(
            WarnErrorOptions::all("--warn-error").treatment(None),
            Treatment::Error
        );
    }

    #[test]
    fn deprecations_group() {
        let o = opts(r#"{"error": ["Deprecations"], "warn": ["WEOIncludeExcludeDeprecation"]}"#);
        assert_eq!(
            o.treatment(Some("WEOIncludeExcludeDeprecation")),
            Treatment::Warn
        );
        assert_eq!(
            o.treatment(Some("ConfigTargetPathDeprecation")),
            Treatment::Error
        );
        assert_eq!(o.treatment(SEL), Treatment::Warn);
        let o = opts(r#"{"error": "*", "silence": ["Deprecations"]}"#);
        assert_eq!(
            o.treatment(Some("ConfigTargetPathDeprecation")),
            Treatment::Silence
        );
        assert_eq!(o.treatment(SEL), Treatment::Error);
    }

    #[test]
    fn old_spellings_are_synonyms_with_a_deprecation() {
        let o = opts("{include: all, exclude: [LogTestResult]}");
        let deps = o.deprecations.clone();
        assert_eq!(o.treatment(TEST), Treatment::Warn);
        assert_eq!(o.treatment(SEL), Treatment::Error);
        assert_eq!(deps.len(), 1);
        assert_eq!(deps[0].code, "weo-deprecation");
        // ... and under error: all that deprecation is an error too, as in dbt.
        assert_eq!(o.treat(&deps[0]), Treatment::Error);
    }

    #[test]
    fn bad_options_are_rejected() {
        assert!(
            fails(r#"{"error": ["NoNodesForSelection"]}"#)
                .contains("NoNodesForSelection is not a valid dbt error name")
        );
        assert!(fails(r#"{"warn": ["LogTestResult"]}"#).contains("`warn` can only be given"));
        assert!(fails(r#"{"error": "some"}"#).contains("must be \"all\" or a list"));
        assert!(fails(r#"{"eror": "all"}"#).contains("unknown key `eror`"));
        assert!(fails("[1]").contains("expected a mapping"));
        assert!(fails(r#"{"include": "all", "error": "all"}"#).contains("cannot both be given"));
        let help = WarnErrorOptions::parse(r#"{"error": ["LogTestResults"]}"#, "x", yaml)
            .err()
            .and_then(|e| e.diagnostics()[0].help.clone())
            .unwrap_or_default();
        assert!(help.starts_with("did you mean 'LogTestResult'?"), "{help}");
    }

    #[test]
    fn the_command_line_beats_dbt_project_flags() {
        let mut flags = serde_json::Map::new();
        flags.insert(
            "warn_error_options".into(),
            serde_json::json!({"error": ["NothingToDo"]}),
        );
        let from_project = WarnErrorOptions::default()
            .or_project(&flags)
            .unwrap_or_default();
        assert_eq!(
            from_project.treatment(Some("NothingToDo")),
            Treatment::Error
        );
        let cli = opts(r#"{"error": ["LogTestResult"]}"#)
            .or_project(&flags)
            .unwrap_or_default();
        assert_eq!(cli.treatment(Some("NothingToDo")), Treatment::Warn);
        flags.insert("warn_error".into(), serde_json::json!(true));
        let all = WarnErrorOptions::default()
            .or_project(&flags)
            .unwrap_or_default();
        assert_eq!(all.treatment(SEL), Treatment::Error);
    }

    #[test]
    fn split_promotes_and_silences() {
        let o = opts(
            r#"{"error": ["NoNodesForSelectionCriteria"], "silence": ["UnusedResourceConfigPath"]}"#,
        );
        let diags = vec![
            Diagnostic::warning("selection", "no match"),
            Diagnostic::warning("unused-config", "unused"),
            Diagnostic::warning("python-model", "skipped"),
        ];
        let (shown, errors) = o.split(&diags);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].code, "python-model");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].is_error());
        assert!(
            errors[0].help.as_deref().is_some_and(
                |h| h.contains("makes the warning NoNodesForSelectionCriteria an error")
            )
        );
    }
}

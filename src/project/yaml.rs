//! The one door to YAML. serde_yaml is deprecated upstream; we use its maintained continuation,
//! `yaml_serde` (same API). Everything else in kiln calls these functions, so swapping the crate
//! touches only this file.

use crate::error::{Diagnostic, Location};
use serde::de::DeserializeOwned;
use std::path::Path;

/// Parses `text` (the contents of `path`) into `T`. A syntax or type error points at the file,
/// line and column serde reported, with the offending line.
pub fn from_str<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, Diagnostic> {
    yaml_serde::from_str::<T>(text).map_err(|e| error_to_diagnostic(path, text, &e))
}

/// Parses YAML into a JSON value (mapping keys become strings).
pub fn to_json(path: &Path, text: &str) -> Result<serde_json::Value, Diagnostic> {
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    from_str::<serde_json::Value>(path, text)
}

/// Parses YAML held in memory (e.g. `--vars`, `fromyaml()`), no file involved.
pub fn parse_value(text: &str) -> Result<serde_json::Value, String> {
    yaml_serde::from_str::<serde_json::Value>(text).map_err(|e| e.to_string())
}

/// Serialises a value as YAML (`toyaml()`).
pub fn to_string(value: &serde_json::Value) -> Result<String, String> {
    yaml_serde::to_string(value).map_err(|e| e.to_string())
}

fn error_to_diagnostic(path: &Path, text: &str, e: &yaml_serde::Error) -> Diagnostic {
    let message = clean_message(&e.to_string());
    let d = Diagnostic::error("yaml", format!("invalid YAML: {message}")).with_help(
        "fix the value at this position; dbt's YAML reference lists what each key accepts",
    );
    match e.location() {
        Some(loc) => d.at(Location::from_line_col(
            path,
            text,
            loc.line(),
            loc.column(),
        )),
        None => d.in_file(path),
    }
}

/// serde appends " at line X column Y" to messages; the location is shown separately.
fn clean_message(m: &str) -> String {
    match m.find(" at line ") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    }
}

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
    let full = e.to_string();
    let (problem, context) = split_message(&full);
    // A syntax error found at the end of the file ("unexpected end of stream") is best shown
    // where the unfinished construct began: the opening quote or bracket.
    let line_count = text.lines().count();
    let location = match (e.location(), context.as_ref().and_then(|c| c.1)) {
        (Some(loc), Some(start)) if loc.line() > line_count => Some(start),
        (Some(loc), _) => Some((loc.line(), loc.column())),
        (None, start) => start,
    };
    let (message, help) = match problem.split_once(": invalid type: ") {
        // A type error: the YAML is well formed, a value has the wrong shape.
        Some((field, found)) => type_error(field, found),
        None if problem.contains("missing field `") => {
            let (field, name) = problem
                .split_once("missing field ")
                .map_or(("", problem.as_str()), |(f, n)| {
                    (f.trim_end_matches(": "), n)
                });
            let key = name.trim_matches('`');
            let whose = if field.is_empty() {
                String::new()
            } else {
                format!(" in `{field}`")
            };
            (
                format!("missing required key `{key}`{whose}"),
                format!("add `{key}:` to this entry"),
            )
        }
        None if problem.starts_with("invalid type: ") => {
            type_error("", problem.trim_start_matches("invalid type: "))
        }
        None => {
            let what = context.as_ref().map(|c| c.0.as_str()).unwrap_or_default();
            let message = if what.is_empty() {
                format!("invalid YAML: {problem}")
            } else {
                format!("invalid YAML: {problem}, {what}")
            };
            (message, syntax_help(&problem, what).to_string())
        }
    };
    let d = Diagnostic::error("yaml", message).with_help(help);
    match location {
        Some((line, column)) => d.at(Location::from_line_col(path, text, line, column)),
        None => d.in_file(path),
    }
}

/// Splits libyaml's "PROBLEM at line L column C, while CONTEXT at line L column C" into the
/// problem (without its position) and the context with its own position, if any.
fn split_message(m: &str) -> (String, Option<(String, Option<(usize, usize)>)>) {
    let (head, context) = match m.split_once(", while ") {
        Some((h, c)) => (h, Some(format!("while {c}"))),
        None => (m, None),
    };
    let (problem, _) = split_position(head);
    let context = context.map(|c| {
        let (what, pos) = split_position(&c);
        (what, pos)
    });
    (problem, context)
}

/// `"... at line 5 column 18"` → (`"..."`, Some((5, 18))).
fn split_position(s: &str) -> (String, Option<(usize, usize)>) {
    let Some(i) = s.rfind(" at line ") else {
        return (s.to_string(), None);
    };
    let pos = s[i + " at line ".len()..]
        .split_once(" column ")
        .and_then(|(l, c)| Some((l.trim().parse().ok()?, c.trim().parse().ok()?)));
    (s[..i].to_string(), pos)
}

fn syntax_help(problem: &str, context: &str) -> &'static str {
    if context.contains("quoted scalar") {
        "this quoted value is never closed: add the closing quote"
    } else if context.contains("flow sequence") {
        "this [ list is never closed: add the closing ] (and separate items with commas)"
    } else if context.contains("flow mapping") {
        "this { mapping is never closed: add the closing } (and separate entries with commas)"
    } else if problem.contains("mapping values are not allowed") {
        "a value cannot hold another `key: value` on the same line: quote the value or move the key to its own line"
    } else if problem.contains("tab") {
        "YAML indents with spaces, not tabs"
    } else {
        "check the indentation and the `key: value` syntax at this line"
    }
}

/// `models[0].columns`, `string "id", expected a sequence` → message and help.
fn type_error(field: &str, found: &str) -> (String, String) {
    let (found, expected) = found
        .split_once(", expected ")
        .unwrap_or((found, "another type"));
    let expected_plain = match expected {
        "a sequence" => "a list",
        e if e == "a map" || e.starts_with("struct") => "a mapping of keys to values",
        "a string" => "text",
        "a boolean" => "true or false",
        other => other,
    };
    let message = if field.is_empty() {
        format!("wrong type: expected {expected_plain}, found {found}")
    } else {
        format!("wrong type for `{field}`: expected {expected_plain}, found {found}")
    };
    let help = match expected_plain {
        "a list" => "write a list: one `- item` per line under the key, or [a, b] on one line",
        "a mapping of keys to values" => "write `key: value` pairs, indented under the key",
        "text" => "write a text value (quote it if it looks like a number, a list or a mapping)",
        "true or false" => "write true or false",
        _ => {
            "change the value to the expected type; dbt's YAML reference lists what each key accepts"
        }
    };
    (message, help.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unclosed_quote_points_where_it_opens() {
        let text = "models:\n  - name: a\n    description: \"never closed\n";
        let d = from_str::<serde_json::Value>(Path::new("m.yml"), text)
            .expect_err("an unclosed quote is an error");
        let loc = d.location.expect("a location");
        assert_eq!((loc.line, loc.column), (3, 18));
        assert!(d.message.contains("quoted scalar"), "{}", d.message);
    }

    #[test]
    fn type_errors_name_the_field_and_the_expected_shape() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Props {
            columns: Vec<String>,
        }
        let d = from_str::<Props>(Path::new("m.yml"), "columns: \"id\"\n")
            .expect_err("a string is not a list");
        assert_eq!(
            d.message,
            "wrong type for `columns`: expected a list, found string \"id\""
        );
        let d = from_str::<Props>(Path::new("m.yml"), "other: 1\n").expect_err("missing");
        assert_eq!(d.message, "missing required key `columns`");
    }
}

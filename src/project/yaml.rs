//! The one door to YAML. serde_yaml is deprecated upstream; we use its maintained continuation,
//! `yaml_serde` (same API). Everything else in kiln calls these functions, so swapping the crate
//! touches only this file.
//!
//! ## Where a value was written
//!
//! Diagnostics point at the line and column where a YAML value was written. yaml_serde 0.10
//! keeps no positions on values: it has no `Spanned<T>` wrapper, and its event parser (its
//! `libyaml` module) is private; the parser under it, `libyaml-rs`, is libyaml's C API
//! transpiled, unsafe to call (kiln forbids `unsafe`). A second, span-keeping YAML parser run
//! over every file would cost its whole parse again on the success path: yaml_serde already
//! takes about 200 ms of CPU for the 8.7 MB of properties YAML of a 10,000-model project
//! (bench/README.md), and serde-saphyr, the span-keeping candidate, measured 3x slower.
//!
//! So what loading keeps is the *address* of each value: a [`YamlPath`] of mapping keys and
//! list indices from the document root (`models[3].config.incremental_strategy`), exact by
//! construction (it is the path the typed parse walked, never a text search, so a quoted
//! `name: "orders"` or a column named like its model cannot mislead it). Only when a diagnostic
//! needs the line does [`locate`] turn the address into one, with yaml_serde itself: it walks the
//! document along the path and stops at the target with an error, and yaml_serde marks every
//! error with the line and column of the event it was reading. Same parser, same document
//! model (anchors, quoting, flow style), no cost unless something is reported.

use crate::error::{Diagnostic, Location};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

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

/// One step from a YAML node to a child: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    Key(Cow<'static, str>),
    Index(usize),
}

impl Step {
    /// A key kiln knows in advance (`models`, `config`, `columns`...): no allocation.
    pub const fn key(k: &'static str) -> Step {
        Step::Key(Cow::Borrowed(k))
    }

    /// A key written by the user (a folder name in dbt_project.yml, a config key).
    pub fn name(k: impl Into<String>) -> Step {
        Step::Key(Cow::Owned(k.into()))
    }
}

/// The address of a value inside one YAML document: the steps from its root.
pub type YamlPath = Vec<Step>;

/// A value's address in a file: the file (as shown to the user, relative to the project) and the
/// path to the value. Kept from loading to the diagnostics that may need it; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlSpan {
    pub file: PathBuf,
    pub path: YamlPath,
}

impl YamlSpan {
    pub fn new(file: impl Into<PathBuf>, path: YamlPath) -> Self {
        YamlSpan {
            file: file.into(),
            path,
        }
    }

    /// The same file, one step further down.
    #[must_use]
    pub fn child(&self, step: Step) -> Self {
        let mut path = self.path.clone();
        path.push(step);
        YamlSpan {
            file: self.file.clone(),
            path,
        }
    }

    /// The same file, several steps further down.
    #[must_use]
    pub fn join(&self, steps: impl IntoIterator<Item = Step>) -> Self {
        let mut path = self.path.clone();
        path.extend(steps);
        YamlSpan {
            file: self.file.clone(),
            path,
        }
    }
}

/// Which part of a mapping entry to point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The key, e.g. `name` in `name: orders` (where an entry begins).
    Key,
    /// The value; inside the quotes when it is quoted.
    Value,
}

/// The 1-based line and column of the value (or key) at `path` in `text`, or `None` when the
/// document has nothing there. Costs one parse of the document up to the target: call it only
/// to report something.
pub fn locate(text: &str, path: &[Step], part: Part) -> Option<(usize, usize)> {
    let de = yaml_serde::Deserializer::from_str(text);
    let found = match (Seek { path, part }).deserialize(de) {
        Ok(()) => return None,
        Err(e) if e.to_string().contains(FOUND) => e.location()?,
        Err(_) => return None,
    };
    let (line, mut column) = (found.line(), found.column());
    // A quoted scalar's mark is its opening quote: point at the text inside it.
    let at = text
        .lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.chars().nth(column.saturating_sub(1)));
    if part == Part::Value && matches!(at, Some('"' | '\'')) {
        column += 1;
    }
    Some((line, column))
}

/// [`locate`] as a [`Location`] in `file` (whose text is `text`).
pub fn location(file: &Path, text: &str, path: &[Step], part: Part) -> Option<Location> {
    let (line, column) = locate(text, path, part)?;
    Some(Location::from_line_col(file, text, line, column))
}

/// The message of the error [`Seek`] stops with, so it is told apart from a real one.
const FOUND: &str = "kiln: target reached";

/// Walks a document along `path`, skipping everything else, and fails with [`FOUND`] at the
/// target, which makes yaml_serde record the target's position in the error.
struct Seek<'p> {
    path: &'p [Step],
    part: Part,
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.path.first() {
            None => d.deserialize_any(Found),
            Some(Step::Key(_)) => d.deserialize_any(self),
            Some(Step::Index(_)) => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (Some(Step::Key(want)), rest) = (self.path.first(), &self.path[1..]) else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let last_key = rest.is_empty() && self.part == Part::Key;
        while let Some(matched) = map.next_key_seed(KeyIs {
            want,
            target: last_key,
        })? {
            if matched {
                map.next_value_seed(Seek {
                    path: rest,
                    part: self.part,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (Some(Step::Index(want)), rest) = (self.path.first(), &self.path[1..]) else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Seek {
            path: rest,
            part: self.part,
        })?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    // A scalar where the path goes on: the path does not exist in this document.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Ok(())
    }
}

/// Reads a mapping key and says whether it is the one wanted; when it is the final target
/// (pointing at a key), stops there.
struct KeyIs<'w> {
    want: &'w str,
    target: bool,
}

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl KeyIs<'_> {
    fn check<E: de::Error>(&self, key: &str) -> Result<bool, E> {
        match key == self.want {
            true if self.target => Err(E::custom(FOUND)),
            same => Ok(same),
        }
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        self.check(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

/// The target: whatever it is, stop with [`FOUND`].
struct Found;

impl<'de> Visitor<'de> for Found {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_some<D: de::Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
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

    fn steps(spec: &[&str]) -> YamlPath {
        spec.iter()
            .map(|s| match s.parse::<usize>() {
                Ok(i) => Step::Index(i),
                Err(_) => Step::name(*s),
            })
            .collect()
    }

    #[test]
    fn locate_follows_the_structure_not_the_text() {
        let text = "models:\n  - name: customers\n    columns:\n      - name: orders\n  - name: \"orders\"\n    config:\n      incremental_strategy: 'mergee'\n";
        // The model `orders` is the second entry, whose name is quoted; a column of the first
        // entry shares the name.
        assert_eq!(
            locate(text, &steps(&["models", "1", "name"]), Part::Key),
            Some((5, 5))
        );
        assert_eq!(
            locate(text, &steps(&["models", "1", "name"]), Part::Value),
            Some((5, 12))
        );
        assert_eq!(
            locate(
                text,
                &steps(&["models", "1", "config", "incremental_strategy"]),
                Part::Value
            ),
            Some((7, 30))
        );
        assert_eq!(
            locate(text, &steps(&["models", "0", "columns", "0"]), Part::Value),
            Some((4, 9))
        );
        assert_eq!(locate(text, &steps(&["models", "2"]), Part::Value), None);
        assert_eq!(locate(text, &steps(&["seeds"]), Part::Key), None);
        assert_eq!(
            locate(text, &steps(&["models", "1", "name", "x"]), Part::Value),
            None
        );
    }

    #[test]
    fn locate_reads_flow_style_and_keys_written_as_numbers() {
        let text = "vars: {a: 1, b: [x, y]}\n2024: now\n";
        assert_eq!(
            locate(text, &steps(&["vars", "b", "1"]), Part::Value),
            Some((1, 21))
        );
        assert_eq!(locate(text, &[Step::name("2024")], Part::Key), Some((2, 1)));
    }
}

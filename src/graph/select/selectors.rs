//! YAML selectors (`selectors.yml`): named definitions written as CLI strings, one-key maps
//! (`tag: nightly`), full maps (`method`, `value`, `parents`, `children`, `parents_depth`,
//! `children_depth`, `childrens_parents`, `indirect_selection`, `exclude`), and `union:` /
//! `intersection:` lists that may hold one `exclude:`. A selector may use another one
//! (`selector: name` or `method: selector`); unlike dbt, which only sees selectors defined earlier
//! in the file, kiln resolves them in any order and reports cycles instead.
//!
//! The whole file is checked whenever a command selects nodes, as dbt checks it while loading the
//! project, and every problem is reported with selectors.yml's line.

use super::IndirectSelection;
use super::parse::{
    Criterion, Expr, Group, Method, SetOp, method_and_args, parse_atom, parse_cli, validate_value,
};
use crate::error::{Diagnostic, Error, Location};
use crate::graph::levenshtein;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One named selector.
#[derive(Debug, Clone)]
pub struct SelectorDef {
    pub name: String,
    pub description: Option<String>,
    pub default: bool,
    pub expr: Expr,
}

/// Every selector in selectors.yml, by name.
#[derive(Debug, Clone, Default)]
pub struct Selectors {
    pub defs: BTreeMap<String, SelectorDef>,
    /// The one marked `default: true`, if any.
    pub default: Option<String>,
    /// Whether the project has a selectors.yml at all.
    pub present: bool,
}

const FULL_KEYS: [&str; 10] = [
    "method",
    "value",
    "parents",
    "children",
    "parents_depth",
    "children_depth",
    "childrens_parents",
    "indirect_selection",
    "exclude",
    "description",
];

const HELP_DEFINITION: &str = "a definition is a string ('tag:nightly +orders'), a one-key \
     mapping (tag: nightly), a mapping with method: and value:, or a union:/intersection: list";

impl Selectors {
    /// Reads the project's parsed selectors.yml.
    pub fn load(
        file: Option<&(PathBuf, String, Value)>,
        indirect: IndirectSelection,
    ) -> Result<Selectors, Error> {
        let Some((path, text, value)) = file else {
            return Ok(Selectors::default());
        };
        let mut reader = Reader {
            path,
            text,
            indirect,
            selector: None,
            errors: vec![],
        };
        let mut out = reader.file(value);
        if !reader.errors.is_empty() {
            return Err(Error::Diagnostics(reader.errors));
        }
        out.present = true;
        out.check_references(path, text)?;
        Ok(out)
    }

    /// The selector called `name`, or an error listing what exists.
    pub fn get(&self, name: &str) -> Result<&SelectorDef, Diagnostic> {
        self.defs.get(name).ok_or_else(|| self.unknown(name))
    }

    /// The error for a selector name that is not defined, with a did-you-mean.
    fn unknown(&self, name: &str) -> Diagnostic {
        if !self.present {
            return Diagnostic::error(
                "selector",
                format!("there is no selector named '{name}': this project has no selectors.yml"),
            )
            .with_help("define named selectors in selectors.yml, next to dbt_project.yml");
        }
        let names: Vec<&str> = self.defs.keys().map(String::as_str).collect();
        let close = names
            .iter()
            .map(|n| (levenshtein(name, n), *n))
            .filter(|(d, n)| *d <= 3.max(name.len() / 3) && *d < n.len())
            .min()
            .map(|(_, n)| format!("did you mean '{n}'? "))
            .unwrap_or_default();
        Diagnostic::error(
            "selector",
            format!("there is no selector named '{name}' in selectors.yml"),
        )
        .in_file("selectors.yml")
        .with_help(if names.is_empty() {
            "selectors.yml defines no selectors".to_string()
        } else {
            format!("{close}selectors.yml defines {}", names.join(", "))
        })
    }

    /// Every `selector:` reference must name a selector, and no chain of them may loop.
    fn check_references(&self, path: &Path, text: &str) -> Result<(), Error> {
        let mut errors = vec![];
        for def in self.defs.values() {
            for c in def.expr.criteria() {
                if c.method == Method::Selector && !self.defs.contains_key(&c.value) {
                    let mut d = self.unknown(&c.value);
                    d.message = format!(
                        "selector '{}' uses selector '{}', which is not defined",
                        def.name, c.value
                    );
                    errors.push(d.at(locate(path, text, Some(&def.name), &c.value)));
                }
            }
        }
        if !errors.is_empty() {
            return Err(Error::Diagnostics(errors));
        }
        // Depth-first search for a cycle, in name order for a stable message.
        let mut done: std::collections::BTreeSet<&str> = Default::default();
        for start in self.defs.keys() {
            let mut path_stack: Vec<&str> = vec![];
            if let Some(cycle) = self.find_cycle(start, &mut path_stack, &mut done) {
                let first = cycle.first().copied().unwrap_or_default();
                return Err(Diagnostic::error(
                    "selector",
                    format!("selectors use each other in a cycle: {}", cycle.join(" → ")),
                )
                .at(locate(path, text, Some(first), "definition"))
                .with_help("a selector cannot include itself, directly or through others")
                .into());
            }
        }
        Ok(())
    }

    fn find_cycle<'a>(
        &'a self,
        name: &'a str,
        stack: &mut Vec<&'a str>,
        done: &mut std::collections::BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(pos) = stack.iter().position(|n| *n == name) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push(name);
            return Some(cycle);
        }
        if done.contains(name) {
            return None;
        }
        let def = self.defs.get(name)?;
        stack.push(name);
        for c in def.expr.criteria() {
            if c.method == Method::Selector
                && let Some(cycle) = self.find_cycle(c.value.as_str(), stack, done)
            {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(name);
        None
    }
}

/// Where `needle` appears in selectors.yml: searched from the `name:` line of the selector it
/// belongs to, so the same text in two selectors points at the right one.
fn locate(path: &Path, text: &str, selector: Option<&str>, needle: &str) -> Location {
    let start = selector.and_then(|n| name_line(text, n)).unwrap_or(0);
    let offset = text[start..].find(needle).map_or(start, |i| start + i);
    Location::from_offset(path, text, offset)
}

fn name_line(text: &str, name: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start().trim_start_matches("- ").trim_start();
        if let Some(v) = t.strip_prefix("name:") {
            let v = v.trim().trim_matches(['"', '\'']);
            if v == name {
                return Some(offset);
            }
        }
        offset += line.len();
    }
    None
}

struct Reader<'a> {
    path: &'a Path,
    text: &'a str,
    indirect: IndirectSelection,
    /// The selector being read, to place errors.
    selector: Option<String>,
    errors: Vec<Diagnostic>,
}

/// A scalar written where a selector value goes, as text (`true`, `3`, `orders`).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Reader<'_> {
    fn here(&self, needle: &str) -> Location {
        locate(self.path, self.text, self.selector.as_deref(), needle)
    }

    fn error(&mut self, needle: &str, message: String, help: &str) {
        let d = Diagnostic::error("selector", message)
            .at(self.here(needle))
            .with_help(help);
        self.errors.push(d);
    }

    fn file(&mut self, value: &Value) -> Selectors {
        let mut out = Selectors::default();
        let list = match value {
            Value::Null => return out,
            Value::Object(m) => match m.get("selectors") {
                Some(Value::Array(list)) => list,
                Some(Value::Null) | None => {
                    self.error(
                        "",
                        "selectors.yml has no `selectors:` list".into(),
                        "write `selectors:` followed by a list of {name, definition} entries",
                    );
                    return out;
                }
                Some(_) => {
                    self.error(
                        "selectors:",
                        "`selectors:` must be a list".into(),
                        "write each selector as a list item: `- name: nightly`",
                    );
                    return out;
                }
            },
            _ => {
                self.error(
                    "",
                    "selectors.yml must be a mapping with a `selectors:` list".into(),
                    "write `selectors:` followed by a list of {name, definition} entries",
                );
                return out;
            }
        };
        let mut defaults = vec![];
        for item in list {
            let Some(def) = self.selector(item) else {
                continue;
            };
            if out.defs.contains_key(&def.name) {
                let name = def.name.clone();
                self.selector = None;
                let mut d = Diagnostic::error(
                    "selector",
                    format!("selector '{name}' is defined twice in selectors.yml"),
                )
                .with_help("selector names must be unique: rename or remove one");
                // Point at the second definition.
                let first = name_line(self.text, &name).unwrap_or(0);
                let second = self
                    .text
                    .get(first + 1..)
                    .and_then(|rest| rest.find(&format!("name: {name}")))
                    .map_or(first, |i| first + 1 + i);
                d = d.at(Location::from_offset(self.path, self.text, second));
                self.errors.push(d);
                continue;
            }
            if def.default {
                defaults.push(def.name.clone());
            }
            out.defs.insert(def.name.clone(), def);
        }
        if defaults.len() > 1 {
            self.selector = Some(defaults[1].clone());
            self.error(
                "default:",
                format!(
                    "more than one selector is marked `default: true`: {}",
                    defaults.join(", ")
                ),
                "mark at most one selector as the default",
            );
        }
        out.default = defaults.into_iter().next();
        out
    }

    fn selector(&mut self, item: &Value) -> Option<SelectorDef> {
        self.selector = None;
        let Value::Object(m) = item else {
            self.error(
                &short(item),
                format!("a selector must be a mapping with name: and definition:, not {item}"),
                "write `- name: nightly` and `definition: ...` under it",
            );
            return None;
        };
        let Some(name) = m.get("name").and_then(Value::as_str) else {
            let first_key = m.keys().next().cloned().unwrap_or_default();
            self.error(
                &first_key,
                "a selector has no `name:`".into(),
                "give every selector a name, e.g. `- name: nightly`",
            );
            return None;
        };
        self.selector = Some(name.to_string());
        for key in m.keys() {
            if !["name", "description", "default", "definition"].contains(&key.as_str()) {
                self.error(
                    &format!("{key}:"),
                    format!("selector '{name}' has an unknown key `{key}`"),
                    "a selector has name, definition, and optionally description and default",
                );
            }
        }
        let default = match m.get("default") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
            Some(other) => {
                self.error(
                    "default:",
                    format!("selector '{name}' has `default: {}`", short(other)),
                    "default must be true or false (kiln does not render Jinja in selectors.yml)",
                );
                false
            }
        };
        let description = m
            .get("description")
            .and_then(Value::as_str)
            .map(ToString::to_string);
        let Some(definition) = m.get("definition") else {
            self.error(
                &format!("name: {name}"),
                format!("selector '{name}' has no `definition:`"),
                HELP_DEFINITION,
            );
            return None;
        };
        let expr = self.definition(definition, true)?;
        Some(SelectorDef {
            name: name.to_string(),
            description,
            default,
            expr,
        })
    }

    fn definition(&mut self, v: &Value, root: bool) -> Option<Expr> {
        match v {
            Value::String(s) => self.cli_string(s),
            Value::Object(m) => {
                let has_union = m.contains_key("union");
                let has_intersection = m.contains_key("intersection");
                if has_union && has_intersection {
                    self.error(
                        "union:",
                        "a definition cannot have both `union:` and `intersection:`".into(),
                        "nest one inside the other instead",
                    );
                    return None;
                }
                if has_union || has_intersection {
                    let key = if has_union { "union" } else { "intersection" };
                    if root && m.len() > 1 {
                        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                        self.error(
                            &format!("{key}:"),
                            format!(
                                "a top-level `{key}:` must be the only key of the definition; found {}",
                                keys.join(", ")
                            ),
                            "put exclusions inside the list as `- exclude: [...]`",
                        );
                        return None;
                    }
                    let op = if has_union {
                        SetOp::Union
                    } else {
                        SetOp::Intersection
                    };
                    return self.set_operation(key, op, m.get(key).unwrap_or(&Value::Null));
                }
                if m.len() == 1 && !m.contains_key("method") {
                    return self.key_value(m);
                }
                self.full(m)
            }
            other => {
                self.error(
                    &short(other),
                    format!("cannot read this selector definition: {other}"),
                    HELP_DEFINITION,
                );
                None
            }
        }
    }

    fn cli_string(&mut self, s: &str) -> Option<Expr> {
        match parse_cli(&[s.to_string()], self.indirect, false) {
            Ok(Some(e)) => Some(e),
            Ok(None) => {
                self.error(
                    "definition:",
                    "a selector definition is an empty string".into(),
                    HELP_DEFINITION,
                );
                None
            }
            Err(ds) => {
                for d in ds {
                    let needle = d.message.split('\'').nth(1).unwrap_or(s).to_string();
                    let here = self.here(&needle);
                    self.errors.push(d.at(here));
                }
                None
            }
        }
    }

    /// `union: [...]` or `intersection: [...]`, with at most one `- exclude: [...]` item.
    fn set_operation(&mut self, key: &str, op: SetOp, list: &Value) -> Option<Expr> {
        let Value::Array(items) = list else {
            self.error(
                &format!("{key}:"),
                format!("`{key}:` must be a list"),
                "write each part as a list item under it",
            );
            return None;
        };
        let mut parts = vec![];
        let mut exclude: Option<Expr> = None;
        let mut ok = true;
        for item in items {
            let is_exclusion = matches!(item, Value::Object(m) if m.contains_key("exclude") && !m.contains_key("method"));
            if is_exclusion {
                if exclude.is_some() {
                    self.error(
                        "exclude:",
                        format!("a `{key}:` list can hold only one `exclude:`"),
                        "list every exclusion under a single `- exclude:`",
                    );
                    ok = false;
                    continue;
                }
                match self.exclusions(item.get("exclude").unwrap_or(&Value::Null)) {
                    Some(e) => exclude = Some(e),
                    None => ok = false,
                }
                continue;
            }
            match self.definition(item, false) {
                Some(e) => parts.push(e),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let base = Expr::group(op, parts, self.indirect);
        Some(match exclude {
            Some(e) => Expr::group(SetOp::Difference, vec![base, e], self.indirect),
            None => base,
        })
    }

    fn exclusions(&mut self, list: &Value) -> Option<Expr> {
        let Value::Array(items) = list else {
            self.error(
                "exclude:",
                "`exclude:` must be a list".into(),
                "write each excluded selector as a list item under exclude:",
            );
            return None;
        };
        let mut parts = vec![];
        let mut ok = true;
        for item in items {
            match self.definition(item, false) {
                Some(e) => parts.push(e),
                None => ok = false,
            }
        }
        ok.then(|| Expr::group(SetOp::Union, parts, self.indirect))
    }

    /// `tag: nightly`, `config.materialized: table`, `selector: other`.
    fn key_value(&mut self, m: &Map<String, Value>) -> Option<Expr> {
        let (key, value) = m.iter().next()?;
        if key == "exclude" {
            self.error(
                "exclude:",
                "`exclude:` must be an item of a union: or intersection: list, or sit next to method: and value:".into(),
                "write union: [..., exclude: [...]]",
            );
            return None;
        }
        let mut full = Map::new();
        full.insert("method".into(), Value::from(key.clone()));
        full.insert("value".into(), value.clone());
        self.full(&full)
    }

    /// A mapping with `method:` and `value:` and optional graph keys.
    fn full(&mut self, m: &Map<String, Value>) -> Option<Expr> {
        let (Some(method), Some(value)) = (m.get("method"), m.get("value")) else {
            let keys: Vec<&str> = m.keys().map(String::as_str).collect();
            let first = keys.first().copied().unwrap_or_default();
            self.error(
                first,
                format!(
                    "expected one key (method: value) or `method:` and `value:`, found {}",
                    keys.join(", ")
                ),
                HELP_DEFINITION,
            );
            return None;
        };
        let mut ok = true;
        for key in m.keys() {
            if !FULL_KEYS.contains(&key.as_str()) {
                self.error(
                    &format!("{key}:"),
                    format!("unknown key `{key}` in a selector definition"),
                    &format!("the keys are {}", FULL_KEYS.join(", ")),
                );
                ok = false;
            }
        }
        let Some(method_text) = method.as_str() else {
            self.error(
                "method:",
                format!("`method:` must be a method name, not {method}"),
                HELP_DEFINITION,
            );
            return None;
        };
        let Some(value_text) = scalar_text(value) else {
            self.error(
                "value:",
                format!("the value of method {method_text} must be a string, not {value}"),
                "write value: 'name' (wildcards allowed)",
            );
            return None;
        };
        let raw = format!("{method_text}:{value_text}");
        let (parsed_method, args) = match method_and_args(&raw, method_text) {
            Ok(x) => x,
            Err(d) => {
                let here = self.here(method_text);
                self.errors.push(d.at(here));
                return None;
            }
        };
        if value_text.is_empty() {
            self.error(
                "value:",
                format!("the value of method {method_text} is empty"),
                "write what to select, e.g. value: orders",
            );
            return None;
        }
        if value_text.contains(['+', '@']) {
            self.error(
                &value_text,
                format!("the value '{value_text}' holds a graph operator"),
                "in the mapping form, write parents: true, children: true or childrens_parents: true instead",
            );
            return None;
        }
        if let Err(d) = validate_value(&raw, parsed_method, &value_text) {
            let here = self.here(&value_text);
            self.errors.push(d.at(here));
            return None;
        }
        let mut c = Criterion {
            raw,
            method: parsed_method,
            args,
            value: value_text,
            childrens_parents: false,
            parents: false,
            parents_depth: None,
            children: false,
            children_depth: None,
            indirect: self.indirect,
        };
        c.parents = self.flag(m, "parents")?;
        c.children = self.flag(m, "children")?;
        c.childrens_parents = self.flag(m, "childrens_parents")?;
        c.parents_depth = self.depth(m, "parents_depth")?;
        c.children_depth = self.depth(m, "children_depth")?;
        if c.childrens_parents && c.children {
            self.error(
                "childrens_parents:",
                "`childrens_parents: true` and `children: true` cannot be combined".into(),
                "childrens_parents already selects the descendants and their ancestors",
            );
            return None;
        }
        if let Some(v) = m.get("indirect_selection") {
            c.indirect = match v.as_str() {
                Some("eager") => IndirectSelection::Eager,
                Some("cautious") => IndirectSelection::Cautious,
                Some("buildable") => IndirectSelection::Buildable,
                Some("empty") => IndirectSelection::Empty,
                _ => {
                    self.error(
                        "indirect_selection:",
                        format!("indirect_selection is {}", short(v)),
                        "use one of eager, cautious, buildable, empty",
                    );
                    return None;
                }
            };
        }
        let base = Expr::Criterion(c);
        let exclude = match m.get("exclude") {
            Some(list) => Some(self.exclusions(list)?),
            None => None,
        };
        if !ok {
            return None;
        }
        Some(match exclude {
            Some(e) => Expr::Group(Group {
                op: SetOp::Difference,
                parts: vec![base, e],
                indirect: self.indirect,
                warn_if_empty: None,
            }),
            None => base,
        })
    }

    fn flag(&mut self, m: &Map<String, Value>, key: &str) -> Option<bool> {
        match m.get(key) {
            None | Some(Value::Null) => Some(false),
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.error(
                    &format!("{key}:"),
                    format!("`{key}:` must be true or false, not {}", short(other)),
                    "write true or false",
                );
                None
            }
        }
    }

    fn depth(&mut self, m: &Map<String, Value>, key: &str) -> Option<Option<usize>> {
        let parsed = match m.get(key) {
            None | Some(Value::Null) => return Some(None),
            Some(Value::Number(n)) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
            Some(Value::String(s)) if s.is_empty() => return Some(None),
            Some(Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        if parsed.is_none() {
            self.error(
                &format!("{key}:"),
                format!("`{key}:` must be a whole number"),
                "write the number of edges to follow, e.g. 2",
            );
            return None;
        }
        Some(parsed)
    }
}

// ---------------------------------------------------------------------------------------------
// selectors.yml as dbt stores it in the manifest.
// ---------------------------------------------------------------------------------------------

/// `selectors.yml` as dbt keeps it in the manifest's `selectors`: selector name → the selector as
/// written, its `definition` normalised: a string spec (`tag:nightly+`) becomes the mapping dbt
/// makes of it (`{method, value, children}`; read by [`parse_atom`], the grammar `--select`
/// uses), a one-key mapping becomes `{method, value}`, and a `method: selector` reference is
/// replaced by the definition it names (defined earlier in the file, as dbt sees it).
pub fn manifest_selectors(file: Option<&(PathBuf, String, Value)>) -> Value {
    let Some((_, _, raw)) = file else {
        return Value::Object(Map::new());
    };
    let list = raw
        .get("selectors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Map::new();
    for sel in list {
        let Value::Object(mut sel) = sel else {
            continue;
        };
        let Some(name) = sel.get("name").and_then(Value::as_str).map(String::from) else {
            continue;
        };
        let definition = sel.get("definition").cloned().unwrap_or(Value::Null);
        let normalised = manifest_definition(&definition, &out);
        sel.insert("definition".into(), normalised);
        out.insert(name, Value::Object(sel));
    }
    Value::Object(out)
}

fn manifest_definition(def: &Value, earlier: &Map<String, Value>) -> Value {
    match def {
        Value::String(s) => manifest_spec(s),
        Value::Object(o) if o.contains_key("union") || o.contains_key("intersection") => {
            let key = if o.contains_key("union") {
                "union"
            } else {
                "intersection"
            };
            let items: Vec<Value> = o
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|item| match item {
                    Value::String(s) => manifest_spec(s),
                    Value::Object(_) => manifest_definition(item, earlier),
                    other => other.clone(),
                })
                .collect();
            let mut m = Map::new();
            m.insert(key.into(), Value::Array(items));
            Value::Object(m)
        }
        Value::Object(o) => {
            let Some((key, value)) = o.iter().next() else {
                return def.clone();
            };
            let value = match value {
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|i| manifest_definition(i, earlier))
                        .collect(),
                ),
                other => other.clone(),
            };
            let mut m = Map::new();
            if key == "exclude" {
                m.insert("exclude".into(), value);
                return Value::Object(m);
            }
            if o.len() == 1 {
                m.insert("method".into(), Value::from(key.clone()));
                m.insert("value".into(), value);
                return Value::Object(m);
            }
            if key == "method"
                && value == "selector"
                && let Some(d) = o
                    .get("value")
                    .and_then(Value::as_str)
                    .and_then(|name| earlier.get(name))
                    .and_then(|s| s.get("definition"))
            {
                return d.clone();
            }
            def.clone()
        }
        other => other.clone(),
    }
}

/// One selector string as dbt's mapping, with the parts written, in dbt's order: `@` as
/// `childrens_parents`, `N+` as `parents` and `parents_depth`, the method (dbt's default when
/// none is written), the value, `+N` as `children` and `children_depth`. dbt keeps a depth as
/// the digits written. The whole string is one spec, as in dbt (spaces and commas stay in the
/// value). A spec the grammar rejects is kept as written: selecting with it fails with the
/// parser's error.
fn manifest_spec(raw: &str) -> Value {
    let Ok(c) = parse_atom(raw, IndirectSelection::Eager) else {
        return Value::from(raw);
    };
    let method = std::iter::once(c.method.as_str().to_string())
        .chain(c.args.iter().cloned())
        .collect::<Vec<_>>()
        .join(".");
    let mut m = Map::new();
    if c.childrens_parents {
        m.insert("childrens_parents".into(), Value::Bool(true));
    }
    if c.parents {
        m.insert("parents".into(), Value::Bool(true));
    }
    if let Some(d) = c.parents_depth {
        m.insert("parents_depth".into(), Value::from(d.to_string()));
    }
    m.insert("method".into(), Value::from(method));
    m.insert("value".into(), Value::from(c.value));
    if c.children {
        m.insert("children".into(), Value::Bool(true));
    }
    if let Some(d) = c.children_depth {
        m.insert("children_depth".into(), Value::from(d.to_string()));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selector_strings_become_dbt_mappings() {
        assert_eq!(
            manifest_spec("tag:nightly+"),
            json!({"method": "tag", "value": "nightly", "children": true})
        );
        assert_eq!(
            manifest_spec("2+models/staging"),
            json!({"parents": true, "parents_depth": "2", "method": "path", "value": "models/staging"})
        );
        assert_eq!(
            manifest_spec("@orders"),
            json!({"childrens_parents": true, "method": "fqn", "value": "orders"})
        );
        assert_eq!(
            manifest_spec("config.materialized:table"),
            json!({"method": "config.materialized", "value": "table"})
        );
        assert_eq!(
            manifest_spec("orders+3"),
            json!({"method": "fqn", "value": "orders", "children": true, "children_depth": "3"})
        );
        // dbt reads the whole string as one spec.
        assert_eq!(
            manifest_spec("tag:a tag:b"),
            json!({"method": "tag", "value": "a tag:b"})
        );
        assert_eq!(manifest_spec("tga:x"), json!("tga:x"));
    }

    #[test]
    fn definitions_are_normalised_as_dbt_stores_them() {
        let file = (
            PathBuf::from("selectors.yml"),
            String::new(),
            json!({"selectors": [
                {"name": "base", "definition": {"tag": "nightly"}},
                {"name": "both", "description": "d", "definition": {"union": [
                    "+orders", {"method": "selector", "value": "base"}, {"exclude": ["stg_x"]}
                ]}},
            ]}),
        );
        assert_eq!(
            manifest_selectors(Some(&file)),
            json!({
                "base": {"name": "base", "definition": {"method": "tag", "value": "nightly"}},
                "both": {"name": "both", "description": "d", "definition": {"union": [
                    {"parents": true, "method": "fqn", "value": "orders"},
                    {"method": "tag", "value": "nightly"},
                    {"exclude": [{"method": "fqn", "value": "stg_x"}]},
                ]}},
            })
        );
        assert_eq!(manifest_selectors(None), json!({}));
    }
}

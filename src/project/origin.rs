//! Where a node's config value was written, found from the addresses kept while loading and
//! parsing, only when a diagnostic needs it.
//!
//! dbt's precedence decides which layer set a value, so the search goes from the layer that wins
//! to the one that loses: a `config()` call in the node's SQL, then its properties entry
//! (`config:` of the model, then of its version, then the entry's own keys such as `tags:`), then
//! the deepest dbt_project.yml folder that sets it. YAML values are located by their path
//! ([`super::yaml::locate`]); a `config()` argument by minijinja's own tokenizer over the node's
//! SQL (the call is found by its tokens, not by searching the text, so comments, strings and
//! other calls cannot mislead it).
//!
//! Why not the position of the `config()` call itself: a function called from a template gets
//! no span from minijinja (`State` exposes none), and minijinja's own location comes only with an
//! error, which would stop the node's render at its first bad value and hide the others. So the
//! parse phase records which keys a node's `config()` calls set (`NodeSpans::sql_config`), every
//! value is checked after the render, and the tokenizer finds the argument only when one is
//! reported.

use super::config::{Config, is_config_key};
use super::node::{Node, ResourceType};
use super::yaml::{self, Part, Step, YamlPath, YamlSpan};
use crate::error::Location;
use minijinja::machinery::{Token, tokenize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The files read to locate values, each read once.
#[derive(Debug)]
pub struct Files<'a> {
    dir: &'a Path,
    texts: BTreeMap<PathBuf, Option<String>>,
}

impl<'a> Files<'a> {
    pub fn new(dir: &'a Path) -> Self {
        Files {
            dir,
            texts: BTreeMap::new(),
        }
    }

    /// The text of `file` (relative to the project), if it can be read.
    pub fn text(&mut self, file: &Path) -> Option<&str> {
        self.texts
            .entry(file.to_path_buf())
            .or_insert_with(|| std::fs::read_to_string(self.dir.join(file)).ok())
            .as_deref()
    }

    /// Where the value (or key) at `span` is, if the file has it.
    pub fn locate(&mut self, span: &YamlSpan, part: Part) -> Option<Location> {
        let file = span.file.clone();
        let text = self.text(&file)?;
        yaml::location(&file, text, &span.path, part)
    }
}

/// Where a node is defined: its properties entry's `name:` for a node defined in YAML (a generic
/// test, a YAML snapshot), else the first line of its SQL.
pub fn node_location(files: &mut Files<'_>, node: &Node) -> Location {
    let yaml_snapshot = node.resource_type == ResourceType::Snapshot && node.checksum.is_empty();
    if let Some(entry) = &node.spans.entry {
        let found = if node.test.is_some() {
            // The test's own item under `data_tests:`.
            files.locate(entry, Part::Value)
        } else if yaml_snapshot || node.resource_type == ResourceType::Seed {
            files.locate(&entry.child(Step::key("name")), Part::Key)
        } else {
            None
        };
        if let Some(loc) = found {
            return loc;
        }
    }
    sql_line(files, node, 1)
}

/// The `line`th line (1-based) of the node's SQL, column 1, in its file.
fn sql_line(files: &mut Files<'_>, node: &Node, line: usize) -> Location {
    let line = line + node.line_offset;
    match files.text(&node.file) {
        Some(text) => Location::from_line_col(&node.file, text, line, 1),
        None => Location::from_line_col(&node.file, "", line, 1),
    }
}

/// Where the config value at `key` (a config name, then keys inside its value) was written for
/// `node`; the node's definition when no layer names it.
pub fn config_location(
    files: &mut Files<'_>,
    project_trees: &ProjectTrees<'_>,
    node: &Node,
    key: &[String],
) -> Location {
    config_location_part(files, project_trees, node, key, Part::Value)
}

/// [`config_location`], pointing at the value or, in YAML, at its key.
pub fn config_location_part(
    files: &mut Files<'_>,
    project_trees: &ProjectTrees<'_>,
    node: &Node,
    key: &[String],
    part: Part,
) -> Location {
    let Some(first) = key.first() else {
        return node_location(files, node);
    };
    // 1. A config() call in the node's own SQL wins over everything else.
    if node.spans.sql_config.iter().any(|k| k == first) {
        return match sql_config_offset(&node.raw_code, first) {
            Some(offset) => {
                let mut loc = Location::from_offset(&node.file, &node.raw_code, offset);
                if node.line_offset > 0 {
                    loc.line += node.line_offset;
                    if let Some(text) = files.text(&node.file) {
                        loc = Location::from_line_col(&node.file, text, loc.line, loc.column);
                    }
                }
                loc
            }
            None => node_location(files, node),
        };
    }
    let steps: YamlPath = key.iter().map(|k| Step::name(k.clone())).collect();
    // 2. The properties entry: its config, its version's config, its own keys.
    if let Some(entry) = &node.spans.entry {
        let mut candidates = vec![entry.join([Step::key("config")])];
        if let Some(v) = node.spans.version {
            candidates.push(entry.join([
                Step::key("versions"),
                Step::Index(v),
                Step::key("config"),
            ]));
        }
        candidates.push(entry.clone());
        let depths = if steps.len() > 1 {
            vec![steps.len(), 1]
        } else {
            vec![1]
        };
        for depth in depths {
            for base in &candidates {
                let span = base.join(steps[..depth].iter().cloned());
                if let Some(loc) = files.locate(&span, part) {
                    return loc;
                }
            }
        }
    }
    // 3. dbt_project.yml, the deepest folder that sets it.
    if let Some(path) = project_trees.setting(node, key)
        && let Some(loc) = files.locate(&YamlSpan::new("dbt_project.yml", path), part)
    {
        return loc;
    }
    node_location(files, node)
}

/// The config trees of dbt_project.yml (`models:`, `seeds:`, ...), as written.
#[derive(Debug, Clone, Copy)]
pub struct ProjectTrees<'a> {
    pub models: &'a Config,
    pub seeds: &'a Config,
    pub snapshots: &'a Config,
}

impl ProjectTrees<'_> {
    /// The path in dbt_project.yml of the deepest setting of `key` along the node's fqn (the
    /// one that wins, as in `config::project_config_for`); a setting that holds the whole of
    /// `key` (`+column_types: {amount: ...}`) is preferred to one that holds only its first part.
    fn setting(&self, node: &Node, key: &[String]) -> Option<YamlPath> {
        let (root, tree) = match node.resource_type {
            ResourceType::Model | ResourceType::Analysis => ("models", self.models),
            ResourceType::Seed => ("seeds", self.seeds),
            ResourceType::Snapshot => ("snapshots", self.snapshots),
            _ => return None,
        };
        let first = key.first()?;
        let mut level = Some(tree);
        let mut at: YamlPath = vec![Step::key(root)];
        let (mut whole, mut part) = (None, None);
        for depth in 0..=node.fqn.len() {
            let Some(map) = level else { break };
            for written in [format!("+{first}"), first.clone()] {
                let Some(value) = map.get(&written) else {
                    continue;
                };
                if !is_config_key(&written) {
                    continue;
                }
                let mut path = at.clone();
                path.push(Step::name(written));
                part = Some(path.clone());
                let mut inner = Some(value);
                for k in &key[1..] {
                    inner = inner.and_then(|v| v.get(k));
                    path.push(Step::name(k.clone()));
                }
                if inner.is_some() {
                    whole = Some(path);
                }
                break;
            }
            let Some(folder) = node.fqn.get(depth) else {
                break;
            };
            level = map
                .get(folder)
                .filter(|_| !is_config_key(folder))
                .and_then(Value::as_object);
            at.push(Step::name(folder.clone()));
        }
        whole.or(part)
    }
}

/// The byte offset in `sql` of the value given to `key` by the last `config()` call that sets
/// it (`config(key=value)` or `config({'key': value})`): inside the quotes of a string.
pub fn sql_config_offset(sql: &str, key: &str) -> Option<usize> {
    let tokens: Vec<(Token<'_>, usize)> = tokenize(sql, false, Default::default())
        .map_while(Result::ok)
        .map(|(t, span)| (t, span.start_offset as usize))
        .collect();
    let mut found = None;
    let mut i = 0;
    while i + 1 < tokens.len() {
        let is_call = matches!(tokens[i].0, Token::Ident("config"))
            && matches!(tokens[i + 1].0, Token::ParenOpen)
            && !matches!(i.checked_sub(1).map(|p| &tokens[p].0), Some(Token::Dot));
        if !is_call {
            i += 1;
            continue;
        }
        // Arguments at the call's own nesting level (a dict argument counts as one deeper).
        let mut depth = 0usize;
        let mut j = i + 1;
        while j < tokens.len() {
            match &tokens[j].0 {
                Token::ParenOpen | Token::BracketOpen | Token::BraceOpen => depth += 1,
                Token::ParenClose | Token::BracketClose | Token::BraceClose => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                Token::Ident(name) if depth == 1 && *name == key => {
                    if let (Some((Token::Assign, _)), Some(value)) =
                        (tokens.get(j + 1), tokens.get(j + 2))
                    {
                        found = Some(value_offset(value));
                    }
                }
                Token::Str(name) if depth == 2 && *name == key => {
                    if let (Some((Token::Colon, _)), Some(value)) =
                        (tokens.get(j + 1), tokens.get(j + 2))
                    {
                        found = Some(value_offset(value));
                    }
                }
                _ => {}
            }
            j += 1;
        }
        i = j;
    }
    found
}

/// Where a value token's text starts: inside the quotes of a string.
fn value_offset((token, start): &(Token<'_>, usize)) -> usize {
    match token {
        Token::Str(_) | Token::String(_) => start + 1,
        _ => *start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_arguments_are_found_by_their_tokens() {
        let sql = "{# config(materialized='view') #}\n{{ config(\n    materialized='incremental',\n    incremental_strategy = \"mergee\"\n) }}\nselect 'config(incremental_strategy=1)' as x\n{{ config({'unique_key': ['id']}) }}";
        let at = |key: &str| sql_config_offset(sql, key).map(|o| &sql[o..o + 6]);
        assert_eq!(at("materialized"), Some("increm"));
        assert_eq!(at("incremental_strategy"), Some("mergee"));
        assert_eq!(at("unique_key"), Some("['id']"));
        assert_eq!(at("schema"), None);
    }

    #[test]
    fn the_deepest_project_folder_that_sets_a_key_wins() {
        let tree: Config = serde_json::from_value(serde_json::json!({
            "shop": {
                "+materialized": "table",
                "marts": {"+materialized": "incremental", "+column_types": {"id": "int"}},
                "staging": {"materialized": "view"}
            }
        }))
        .unwrap_or_default();
        let empty = Config::new();
        let trees = ProjectTrees {
            models: &tree,
            seeds: &empty,
            snapshots: &empty,
        };
        let mut node = Node::sample(ResourceType::Model, "orders", Value::Null);
        node.fqn = ["shop", "marts", "orders"].map(String::from).to_vec();
        let names = |p: Option<YamlPath>| {
            p.unwrap_or_default()
                .into_iter()
                .map(|s| match s {
                    Step::Key(k) => k.into_owned(),
                    Step::Index(i) => i.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".")
        };
        assert_eq!(
            names(trees.setting(&node, &["materialized".into()])),
            "models.shop.marts.+materialized"
        );
        assert_eq!(
            names(trees.setting(&node, &["column_types".into(), "id".into()])),
            "models.shop.marts.+column_types.id"
        );
        node.fqn = ["shop", "staging", "stg"].map(String::from).to_vec();
        assert_eq!(
            names(trees.setting(&node, &["materialized".into()])),
            "models.shop.staging.materialized"
        );
        assert_eq!(names(trees.setting(&node, &["schema".into()])), "");
    }
}

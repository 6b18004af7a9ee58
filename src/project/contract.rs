//! Model contracts: `config: {contract: {enforced: true}}` with the columns, data types and
//! constraints the properties YAML declares.
//!
//! [`check`] runs once the parse phase has settled every node's config, and reports what dbt
//! rejects while parsing (an invalid constraint type, two primary keys, an incremental contract
//! whose `on_schema_change` may drift, an enforced contract without columns) together with what
//! dbt only finds when the model builds (a column without `data_type`), each at its YAML line.
//! Its warnings are dbt's: constraints on a materialization that cannot hold them, a `numeric`
//! without precision. A contract on an ephemeral model, which dbt accepts and ignores, is a
//! warning too. Foreign keys written `to: ref('orders')` make the model depend on `orders`, as
//! in dbt. What a contract does when the model builds lives in `crate::materialize::contract`.

use super::{Node, Project, RefCall, ResourceType};
use crate::error::{Diagnostic, Location};
use serde_json::Value;
use std::path::PathBuf;

/// dbt's constraint types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConstraintKind {
    Check,
    NotNull,
    Unique,
    PrimaryKey,
    ForeignKey,
    Custom,
}

impl ConstraintKind {
    pub const ALL: [ConstraintKind; 6] = [
        ConstraintKind::Check,
        ConstraintKind::NotNull,
        ConstraintKind::Unique,
        ConstraintKind::PrimaryKey,
        ConstraintKind::ForeignKey,
        ConstraintKind::Custom,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConstraintKind::Check => "check",
            ConstraintKind::NotNull => "not_null",
            ConstraintKind::Unique => "unique",
            ConstraintKind::PrimaryKey => "primary_key",
            ConstraintKind::ForeignKey => "foreign_key",
            ConstraintKind::Custom => "custom",
        }
    }
}

/// What an engine does with a constraint type (dbt's `ConstraintSupport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintSupport {
    /// In the DDL, and the engine rejects rows that break it.
    Enforced,
    /// In the DDL, but the engine does not check it.
    NotEnforced,
    /// Left out of the DDL.
    NotSupported,
}

/// One constraint, at column or model level.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    pub kind: ConstraintKind,
    pub name: Option<String>,
    pub expression: Option<String>,
    /// The columns a model-level constraint covers.
    pub columns: Vec<String>,
    /// A foreign key's parent, as written: `ref('customers')`, `source('crm', 'accounts')`.
    pub to: Option<String>,
    pub to_columns: Vec<String>,
    pub warn_unenforced: bool,
    pub warn_unsupported: bool,
}

impl Constraint {
    /// A constraint as written in YAML; `None` when its `type` is missing or unknown.
    pub fn from_json(v: &Value) -> Option<Constraint> {
        let kind = ConstraintKind::parse(v.get("type")?.as_str()?)?;
        let text = |k: &str| match v.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let list = |k: &str| -> Vec<String> {
            match v.get(k) {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect(),
                Some(Value::String(s)) => vec![s.clone()],
                _ => vec![],
            }
        };
        let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(true);
        Some(Constraint {
            kind,
            name: text("name"),
            expression: text("expression"),
            columns: list("columns"),
            to: text("to"),
            to_columns: list("to_columns"),
            warn_unenforced: flag("warn_unenforced"),
            warn_unsupported: flag("warn_unsupported"),
        })
    }
}

/// Whether a config holds `contract: {enforced: true}`.
pub fn is_enforced(config: &serde_json::Map<String, Value>) -> bool {
    config
        .get("contract")
        .and_then(|c| c.get("enforced"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Whether the contract's `alias_types` is on (the default): `string` in YAML then means the
/// engine's text type.
pub fn alias_types(config: &serde_json::Map<String, Value>) -> bool {
    config
        .get("contract")
        .and_then(|c| c.get("alias_types"))
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// Whether a materialization creates the relation with its constraints (dbt: table and
/// incremental; a view only has its columns checked).
pub fn materialization_enforces_constraints(materialized: &str) -> bool {
    matches!(materialized, "table" | "incremental")
}

/// Checks every model's contract and constraints (see the module docs); errors and warnings go
/// to `out`. Foreign keys' `to:` refs and sources are added to the models' dependencies.
pub fn check(project: &mut Project, out: &mut Vec<Diagnostic>) {
    let mut extra_deps: Vec<(String, RefCall)> = vec![];
    let mut extra_sources: Vec<(String, (String, String))> = vec![];
    for n in project.nodes.values() {
        if n.columns.values().any(|c| !c.constraints.is_empty()) {
            check_column_constraint_types(n, &Yaml::of(project, n), out);
        }
        if n.resource_type != ResourceType::Model {
            continue;
        }
        let yaml = Yaml::of(project, n);
        check_primary_keys(n, &yaml, out);
        for c in all_constraints(n) {
            if c.get("type").and_then(Value::as_str) != Some("foreign_key") {
                continue;
            }
            let Some(to) = c.get("to").and_then(Value::as_str) else {
                continue;
            };
            match super::load::parse_ref_or_source(to) {
                Some(super::load::RefOrSource::Ref(r)) => {
                    extra_deps.push((n.unique_id.clone(), r));
                }
                Some(super::load::RefOrSource::Source(s, t)) => {
                    extra_sources.push((n.unique_id.clone(), (s, t)));
                }
                None => out.push(
                    Diagnostic::error(
                        "contract",
                        format!(
                            "Invalid 'ref' or 'source' syntax on foreign key constraint 'to' on model {}: {to}.",
                            n.name
                        ),
                    )
                    .at(yaml.find(&[to]))
                    .with_help("write the parent as to: ref('model') or to: source('source', 'table')"),
                ),
            }
        }
        if is_enforced(&n.config) {
            check_enforced(n, &yaml, out);
        }
    }
    for (uid, r) in extra_deps {
        if let Some(n) = project.nodes.get_mut(&uid)
            && !n.refs.contains(&r)
        {
            std::sync::Arc::make_mut(n).refs.push(r);
        }
    }
    for (uid, s) in extra_sources {
        if let Some(n) = project.nodes.get_mut(&uid)
            && !n.sources.contains(&s)
        {
            std::sync::Arc::make_mut(n).sources.push(s);
        }
    }
}

/// Model-level constraints, then each column's.
fn all_constraints(n: &Node) -> impl Iterator<Item = &Value> {
    n.constraints
        .iter()
        .chain(n.columns.values().flat_map(|c| c.constraints.iter()))
}

/// Column-level constraints need a known `type`, enforced contract or not (as in dbt).
fn check_column_constraint_types(n: &Node, yaml: &Yaml, out: &mut Vec<Diagnostic>) {
    for col in n.columns.values() {
        let bad = col.constraints.iter().find_map(|c| {
            let ty = c.get("type").and_then(Value::as_str);
            match ty {
                Some(t) if ConstraintKind::parse(t).is_some() => None,
                other => Some(other.unwrap_or("constraints")),
            }
        });
        let Some(bad) = bad else { continue };
        let valid = ConstraintKind::ALL.map(ConstraintKind::as_str).join(", ");
        out.push(
            Diagnostic::error(
                "contract",
                format!(
                    "Invalid constraint type on column {} of {} {}",
                    col.name, n.resource_type, n.name
                ),
            )
            .at(yaml.column(&col.name, &[bad]))
            .with_help(format!("a constraint's `type:` is one of {valid}")),
        );
    }
}

/// dbt's primary key rules, checked whether or not the contract is enforced: one column-level
/// primary key at most, and not together with a model-level one.
fn check_primary_keys(n: &Node, yaml: &Yaml, out: &mut Vec<Diagnostic>) {
    let is_pk = |c: &Value| c.get("type").and_then(Value::as_str) == Some("primary_key");
    let pk_columns: Vec<&str> = n
        .columns
        .values()
        .filter(|c| c.constraints.iter().any(is_pk))
        .map(|c| c.name.as_str())
        .collect();
    let quoted = || {
        pk_columns
            .iter()
            .map(|c| format!("'{c}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if pk_columns.len() > 1 {
        out.push(
            Diagnostic::error(
                "contract",
                format!(
                    "Primary key constraint error on model {}: found {} columns ([{}]) with primary key constraints defined. Primary keys for multiple columns must be defined as a model level constraint.",
                    n.name,
                    pk_columns.len(),
                    quoted()
                ),
            )
            .at(yaml.column(pk_columns[1], &["primary_key"]))
            .with_help(format!(
                "declare one model-level constraint instead: constraints: [{{type: primary_key, columns: [{}]}}]",
                pk_columns.join(", ")
            )),
        );
    }
    if !pk_columns.is_empty() && n.constraints.iter().any(is_pk) {
        out.push(
            Diagnostic::error(
                "contract",
                format!(
                    "Primary key constraint error on model {}: primary keys are defined at the model level and the column level ([{}]). Primary keys can be defined at the model level or the column level, not both.",
                    n.name,
                    quoted()
                ),
            )
            .at(yaml.column(pk_columns[0], &["primary_key"]))
            .with_help("keep one of the two primary key declarations"),
        );
    }
}

fn check_enforced(n: &Node, yaml: &Yaml, out: &mut Vec<Diagnostic>) {
    let materialized = n.materialized();
    if materialized == "ephemeral" {
        out.push(
            Diagnostic::warning(
                "contract",
                format!(
                    "model {} is ephemeral, so its enforced contract is ignored: contracts are enforced on table, view and incremental models",
                    n.name
                ),
            )
            .at(yaml.model(&["contract", "enforced"])),
        );
        return;
    }
    if materialized == "incremental" {
        let osc = n
            .config
            .get("on_schema_change")
            .and_then(Value::as_str)
            .unwrap_or("ignore");
        if !matches!(osc, "append_new_columns" | "fail") {
            out.push(
                Diagnostic::error(
                    "contract",
                    format!(
                        "Invalid value for on_schema_change: {osc}. Models materialized as incremental with contracts enabled must set on_schema_change to 'append_new_columns' or 'fail'"
                    ),
                )
                .at(yaml.model(&["contract", "enforced"]))
                .with_help(format!(
                    "set on_schema_change: fail (or append_new_columns) in the config of model {}",
                    n.name
                )),
            );
        }
    }
    if n.columns.is_empty() {
        out.push(
            Diagnostic::error(
                "contract",
                format!(
                    "Contract enforcement failed for model {}: it has an enforced contract, and its 'columns' specification is missing",
                    n.name
                ),
            )
            .at(yaml.model(&["contract", "enforced"]))
            .with_help(
                "declare the model's columns, each with its data_type, under `columns:` in a properties file like models/schema.yml",
            ),
        );
        return;
    }
    let untyped: Vec<&str> = n
        .columns
        .values()
        .filter(|c| c.data_type.as_deref().is_none_or(|t| t.trim().is_empty()))
        .map(|c| c.name.as_str())
        .collect();
    if let Some(first) = untyped.first() {
        let list = untyped
            .iter()
            .map(|c| format!("'{c}'"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(
            Diagnostic::error(
                "contract",
                format!(
                    "Contracted models require data_type to be defined for each column: model {} has no data_type for the [{list}] column(s)",
                    n.name
                ),
            )
            .at(yaml.column(first, &[]))
            .with_help("add `data_type:` to each column, e.g. data_type: integer"),
        );
    }
    for c in &n.constraints {
        let ty = c.get("type").and_then(Value::as_str);
        if ty.and_then(ConstraintKind::parse).is_some() {
            continue;
        }
        let valid = ConstraintKind::ALL.map(ConstraintKind::as_str).join("', '");
        out.push(
            Diagnostic::error(
                "contract",
                format!(
                    "Invalid constraint type on model {}: Type must be one of ['{valid}']",
                    n.name
                ),
            )
            .at(yaml.find(&[ty.unwrap_or("constraints")]))
            .with_help("give every constraint a `type:` from that list"),
        );
    }
    let naked: Vec<String> = n
        .columns
        .values()
        .filter(|c| {
            c.data_type.as_deref().is_some_and(|t| {
                matches!(
                    t.trim().to_ascii_lowercase().as_str(),
                    "numeric" | "decimal" | "number"
                )
            })
        })
        .map(|c| format!("'{}'", c.name))
        .collect();
    if !naked.is_empty() {
        out.push(
            Diagnostic::warning(
                "contract",
                format!(
                    "Detected columns with numeric type and unspecified precision/scale, this can lead to unintended rounding: [{}] (model {})",
                    naked.join(", "),
                    n.name
                ),
            )
            .at(yaml.column(naked[0].trim_matches('\''), &["data_type"])),
        );
    }
    let warned = all_constraints(n)
        .filter_map(Constraint::from_json)
        .any(|c| c.warn_unsupported && c.kind != ConstraintKind::Custom);
    if warned && !materialization_enforces_constraints(materialized) {
        out.push(
            Diagnostic::warning(
                "contract",
                format!(
                    "Constraint types are not supported for {materialized} materializations and will be ignored.  Set 'warn_unsupported: false' on this constraint to ignore this warning. (model {})",
                    n.name
                ),
            )
            .at(yaml.find(&["constraints"])),
        );
    }
}

/// The properties file that describes a model, for locating what its YAML says.
struct Yaml {
    path: PathBuf,
    text: String,
    /// Byte offset of the model's `name:` line.
    start: usize,
    fallback: Location,
}

impl Yaml {
    fn of(project: &Project, n: &Node) -> Yaml {
        let fallback =
            Location::from_line_col(&n.original_file_path, &n.raw_code, 1 + n.line_offset, 1);
        let path = n
            .patch_path
            .as_deref()
            .and_then(|p| p.split("://").nth(1))
            .map(PathBuf::from);
        let Some(path) = path else {
            return Yaml {
                path: PathBuf::from(&n.original_file_path),
                text: String::new(),
                start: 0,
                fallback,
            };
        };
        let text = std::fs::read_to_string(project.dir.join(&path)).unwrap_or_default();
        let start = name_line(&text, &n.name, 0).unwrap_or(0);
        Yaml {
            path,
            text,
            start,
            fallback,
        }
    }

    fn at(&self, offset: usize) -> Location {
        Location::from_offset(&self.path, &self.text, offset)
    }

    /// The first of `needles` found after the model's name, else the model's name line.
    fn find(&self, needles: &[&str]) -> Location {
        if self.text.is_empty() {
            return self.fallback.clone();
        }
        let rest = &self.text[self.start..];
        needles
            .iter()
            .filter_map(|n| rest.find(n))
            .min()
            .map_or_else(|| self.at(self.start), |o| self.at(self.start + o))
    }

    /// Where the model's properties say `needles` (the model's name line if they do not).
    fn model(&self, needles: &[&str]) -> Location {
        self.find(needles)
    }

    /// A column's line, or one of `needles` on the lines just after it.
    fn column(&self, column: &str, needles: &[&str]) -> Location {
        if self.text.is_empty() {
            return self.fallback.clone();
        }
        let Some(at) = name_line(&self.text, column, self.start) else {
            return self.at(self.start);
        };
        let block_end = self.text[at..]
            .find("- name:")
            .filter(|o| *o > 0)
            .map_or(self.text.len(), |o| at + o);
        let block = &self.text[at..block_end];
        needles
            .iter()
            .filter_map(|n| block.find(n))
            .min()
            .map_or_else(|| self.at(at), |o| self.at(at + o))
    }
}

/// The offset of the first `name: <name>` entry at or after `from` (quoted or not).
fn name_line(text: &str, name: &str, from: usize) -> Option<usize> {
    let rest = text.get(from..)?;
    for pattern in [
        format!("name: {name}\n"),
        format!("name: '{name}'"),
        format!("name: \"{name}\""),
        format!("name: {name}"),
    ] {
        if let Some(o) = rest.find(&pattern) {
            return Some(from + o);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn constraints_read_from_yaml() {
        let c =
            Constraint::from_json(&json!({"type": "check", "expression": "x > 0", "name": "pos"}))
                .unwrap();
        assert_eq!(c.kind, ConstraintKind::Check);
        assert_eq!(c.expression.as_deref(), Some("x > 0"));
        assert!(c.warn_unenforced && c.warn_unsupported);
        let fk = Constraint::from_json(&json!({"type": "foreign_key", "to": "ref('a')", "to_columns": ["id"], "warn_unsupported": false})).unwrap();
        assert_eq!(fk.to_columns, vec!["id"]);
        assert!(!fk.warn_unsupported);
        assert!(Constraint::from_json(&json!({"type": "bogus"})).is_none());
        assert!(Constraint::from_json(&json!({"expression": "x"})).is_none());
    }
}

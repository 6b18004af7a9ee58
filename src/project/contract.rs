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
//! in dbt. What a contract does when the model builds lives in `materialize::contract`.

use super::origin::{self, Files, ProjectTrees};
use super::yaml::{Part, Step};
use super::{Node, Project, RefCall, ResourceType};
use crate::error::{Diagnostic, Location};
use serde_json::Value;
use std::cell::RefCell;

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
    let dir = project.dir.clone();
    let files = RefCell::new(Files::new(&dir));
    for n in project.nodes.values() {
        let yaml = Yaml::of(project, n, &files);
        if n.columns.values().any(|c| !c.constraints.is_empty()) {
            check_column_constraint_types(n, &yaml, out);
        }
        if n.resource_type != ResourceType::Model {
            continue;
        }
        check_primary_keys(n, &yaml, out);
        for c in all_constraints(n) {
            if c.get("type").and_then(Value::as_str) != Some("foreign_key") {
                continue;
            }
            let Some(to) = c.get("to").and_then(Value::as_str) else {
                continue;
            };
            match super::refs::parse_ref_or_source(to) {
                Some(super::refs::RefOrSource::Ref(r)) => {
                    extra_deps.push((n.unique_id.clone(), r));
                }
                Some(super::refs::RefOrSource::Source(s, t)) => {
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
                    .at(yaml.foreign_key_to(to))
                    .with_help("write the parent as to: ref('model') or to: source('source', 'table')"),
                ),
            }
        }
        if n.settings.contract.enforced {
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
fn check_column_constraint_types(n: &Node, yaml: &Yaml<'_, '_, '_>, out: &mut Vec<Diagnostic>) {
    for col in n.columns.values() {
        let bad = col.constraints.iter().find_map(|c| {
            let ty = c.get("type").and_then(Value::as_str);
            match ty {
                Some(t) if ConstraintKind::parse(t).is_some() => None,
                other => Some(other),
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
            .at(yaml.column_constraint_type(&col.name, bad))
            .with_help(format!("a constraint's `type:` is one of {valid}")),
        );
    }
}

/// dbt's primary key rules, checked whether or not the contract is enforced: one column-level
/// primary key at most, and not together with a model-level one.
fn check_primary_keys(n: &Node, yaml: &Yaml<'_, '_, '_>, out: &mut Vec<Diagnostic>) {
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
            .at(yaml.column_constraint_type(pk_columns[1], Some("primary_key")))
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
            .at(yaml.column_constraint_type(pk_columns[0], Some("primary_key")))
            .with_help("keep one of the two primary key declarations"),
        );
    }
}

fn check_enforced(n: &Node, yaml: &Yaml<'_, '_, '_>, out: &mut Vec<Diagnostic>) {
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
            .at(yaml.contract()),
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
                .at(yaml.contract())
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
            .at(yaml.contract())
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
            .at(yaml.column(first))
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
            .at(yaml.model_constraint_type(ty))
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
            .at(yaml.column_key(naked[0].trim_matches('\''), "data_type")),
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
            .at(yaml.first_constraints()),
        );
    }
}

/// Where a model's properties say something: the node's properties entry, the columns and
/// constraints under it, located only when a diagnostic needs the line (see
/// [`super::origin`]).
struct Yaml<'n, 'f, 'd> {
    node: &'n Node,
    files: &'f RefCell<Files<'d>>,
    trees: ProjectTrees<'n>,
}

impl<'n, 'f, 'd> Yaml<'n, 'f, 'd> {
    fn of(project: &'n Project, node: &'n Node, files: &'f RefCell<Files<'d>>) -> Self {
        Yaml {
            node,
            files,
            trees: ProjectTrees {
                models: &project.config.models,
                seeds: &project.config.seeds,
                snapshots: &project.config.snapshots,
            },
        }
    }

    /// The value (or key) at `steps` under the node's entry; the node's first line if the
    /// entry does not have it.
    fn at(&self, steps: Vec<Step>, part: Part) -> Location {
        let mut files = self.files.borrow_mut();
        let found = self
            .node
            .spans
            .entry
            .as_ref()
            .and_then(|e| files.locate(&e.join(steps), part));
        found.unwrap_or_else(|| origin::node_location(&mut files, self.node))
    }

    /// Where `contract` is set for the model (its key).
    fn contract(&self) -> Location {
        let mut files = self.files.borrow_mut();
        origin::config_location_part(
            &mut files,
            &self.trees,
            self.node,
            &["contract".to_string()],
            Part::Key,
        )
    }

    /// The entry of a column, by name.
    fn column_steps(&self, column: &str) -> Vec<Step> {
        let k = self.node.columns.get_index_of(column).unwrap_or(0);
        vec![Step::key("columns"), Step::Index(k)]
    }

    /// A column's `name:` key.
    fn column(&self, column: &str) -> Location {
        let mut steps = self.column_steps(column);
        steps.push(Step::key("name"));
        self.at(steps, Part::Key)
    }

    /// A key of a column's entry (`data_type`).
    fn column_key(&self, column: &str, key: &'static str) -> Location {
        let mut steps = self.column_steps(column);
        steps.push(Step::key(key));
        self.at(steps, Part::Key)
    }

    /// The `type:` of the first constraint of a column whose type is `ty` (`None`: missing), else
    /// the column's `constraints:` key.
    fn column_constraint_type(&self, column: &str, ty: Option<&str>) -> Location {
        let mut steps = self.column_steps(column);
        steps.push(Step::key("constraints"));
        let constraints = self
            .node
            .columns
            .get(column)
            .map_or(&[][..], |c| c.constraints.as_slice());
        match constraint_index(constraints, |c| c.get("type").and_then(Value::as_str) == ty) {
            Some(m) if ty.is_some() => {
                steps.extend([Step::Index(m), Step::key("type")]);
                self.at(steps, Part::Value)
            }
            _ => self.at(steps, Part::Key),
        }
    }

    /// The `to:` of the foreign key that says `to`, model-level or on a column.
    fn foreign_key_to(&self, to: &str) -> Location {
        let says = |c: &Value| c.get("to").and_then(Value::as_str) == Some(to);
        if let Some(m) = constraint_index(&self.node.constraints, says) {
            return self.at(
                vec![Step::key("constraints"), Step::Index(m), Step::key("to")],
                Part::Value,
            );
        }
        for (k, col) in self.node.columns.values().enumerate() {
            if let Some(m) = constraint_index(&col.constraints, says) {
                return self.at(
                    vec![
                        Step::key("columns"),
                        Step::Index(k),
                        Step::key("constraints"),
                        Step::Index(m),
                        Step::key("to"),
                    ],
                    Part::Value,
                );
            }
        }
        self.at(vec![Step::key("constraints")], Part::Key)
    }

    /// The `type:` of the first model-level constraint whose type is `ty` (`None`: missing), else
    /// the model's `constraints:` key.
    fn model_constraint_type(&self, ty: Option<&str>) -> Location {
        match constraint_index(&self.node.constraints, |c| {
            c.get("type").and_then(Value::as_str) == ty
        }) {
            Some(m) if ty.is_some() => self.at(
                vec![Step::key("constraints"), Step::Index(m), Step::key("type")],
                Part::Value,
            ),
            _ => self.at(vec![Step::key("constraints")], Part::Key),
        }
    }

    /// The first `constraints:` key of the model: its own, else its first column's that has one.
    fn first_constraints(&self) -> Location {
        if self.node.constraints.is_empty()
            && let Some(k) = self
                .node
                .columns
                .values()
                .position(|c| !c.constraints.is_empty())
        {
            return self.at(
                vec![
                    Step::key("columns"),
                    Step::Index(k),
                    Step::key("constraints"),
                ],
                Part::Key,
            );
        }
        self.at(vec![Step::key("constraints")], Part::Key)
    }
}

/// The index of the first constraint that `matches`.
fn constraint_index(constraints: &[Value], matches: impl Fn(&Value) -> bool) -> Option<usize> {
    constraints.iter().position(matches)
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

//! The engine's state and its scopes: what a FROM clause brings into scope, and how a name finds
//! its column.
//!
//! A query is read once, bottom-up, the way sqlglot builds scopes: each CTE, derived table, set
//! operation branch and subquery is computed when it is met into a [`QueryOut`] (its columns,
//! each with the upstream columns it depends on, and the dataset-level inputs of its rows), so a
//! reference to it later costs a lookup, never a second walk (a recursive CTE alone is walked
//! until its columns stop changing).
//!
//! Diagnostics go to the [`Unit`] being read: the statement's own, or one per CTE. A CTE nobody
//! reads is not bound by DuckDB either (a misspelt column there is no error), so only the units
//! reachable from the statement's report in the answer.

use super::deps::{Deps, FieldId, Role};
use super::model::{Incomplete, Position, Searched, Subtype, UnknownColumn, UnknownKind};
use super::schema::{RelationName, SchemaProvider};
use super::{Options, same_name};
use sqlparser::ast::{Ident, NamedWindowDefinition};
use sqlparser::tokenizer::Span;
use std::collections::HashMap;
use std::rc::Rc;

pub(crate) type RelId = u32;

/// A column something in scope offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Col {
    pub name: String,
    pub deps: Rc<Deps>,
    pub named_by_expression: bool,
    /// The select item aggregates (for GROUP BY ALL).
    pub aggregate: bool,
}

impl Col {
    pub fn new(name: impl Into<String>, deps: Deps) -> Col {
        Col {
            name: name.into(),
            deps: Rc::new(deps),
            named_by_expression: false,
            aggregate: false,
        }
    }
}

/// What a query (a CTE, a subquery, a set operation branch) computes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct QueryOut {
    /// None when the column list is unknown (a `*` over a relation of unknown columns).
    pub cols: Option<Vec<Col>>,
    /// Inputs affecting every row.
    pub dataset: Deps,
}

/// A column of a FROM item.
#[derive(Debug, Clone)]
pub(crate) struct SrcCol {
    pub name: String,
    pub deps: SrcDeps,
}

#[derive(Debug, Clone)]
pub(crate) enum SrcDeps {
    /// The upstream relation's own column of this name.
    Base(RelId),
    /// Computed by a CTE, a subquery or a table function.
    Computed(Rc<Deps>),
}

/// What a FROM item may be called by.
#[derive(Debug, Clone)]
pub(crate) enum Qualifier {
    /// `... AS alias` (lower case).
    Alias(String),
    /// A relation or CTE named without alias: any suffix of its parts (lower case).
    Name(Vec<String>),
    /// A derived table without alias.
    None,
}

impl Qualifier {
    pub fn matches(&self, wanted: &[String]) -> bool {
        match self {
            Qualifier::Alias(alias) => wanted.len() == 1 && wanted[0] == *alias,
            Qualifier::Name(parts) => {
                wanted.len() <= parts.len() && parts[parts.len() - wanted.len()..] == *wanted
            }
            Qualifier::None => false,
        }
    }
}

/// A FROM item in scope.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub qualifier: Qualifier,
    /// How messages call it: the alias or the name as written.
    pub label: String,
    /// The upstream relation it reads, when it reads one directly.
    pub relation: Option<RelId>,
    /// None when its columns are unknown.
    pub cols: Option<Vec<SrcCol>>,
    /// The right side of a SEMI or ANTI join: visible to the join condition only.
    pub hidden: bool,
}

impl Source {
    pub fn col(&self, name: &str) -> Option<&SrcCol> {
        self.cols
            .as_ref()?
            .iter()
            .find(|c| same_name(&c.name, name))
    }
}

/// A column that `USING` or `NATURAL` merged: one name for the same column of several sources.
#[derive(Debug, Clone)]
pub(crate) struct Merged {
    pub name: String,
    /// Source indexes; the first one's column is where `*` puts the merged column.
    pub members: Vec<usize>,
    /// Merged by a FULL join: the value is `coalesce(left, right)`.
    pub full: bool,
}

/// Which select aliases a name may mean, and whether before the FROM's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aliases {
    /// None (a FROM item, a join condition).
    None,
    /// The first n select items, after the FROM's columns (a select item: DuckDB's lateral
    /// column aliases).
    Before(usize),
    /// Every select item, after the FROM's columns (WHERE, GROUP BY, HAVING, QUALIFY).
    All,
    /// Every select item, before the FROM's columns (ORDER BY).
    First,
}

/// The CTEs visible at a point: a persistent list, newest first.
#[derive(Debug)]
pub(crate) struct CteNode {
    pub name: String,
    pub id: usize,
    pub parent: Option<Rc<CteNode>>,
}

pub(crate) type CteEnv = Option<Rc<CteNode>>;

/// Where names are resolved: one SELECT's FROM items and select items, inside its enclosing
/// queries' (correlated and lateral references).
pub(crate) struct Scope<'s> {
    pub sources: &'s [Source],
    pub merged: &'s [Merged],
    pub items: &'s [Col],
    pub aliases: Aliases,
    pub windows: &'s [NamedWindowDefinition],
    pub env: &'s CteEnv,
    pub outer: Option<&'s Scope<'s>>,
}

impl<'s> Scope<'s> {
    /// A scope with no FROM items of its own (a VALUES list, an ORDER BY over a set operation).
    pub fn empty(env: &'s CteEnv, outer: Option<&'s Scope<'s>>) -> Scope<'s> {
        Scope {
            sources: &[],
            merged: &[],
            items: &[],
            aliases: Aliases::None,
            windows: &[],
            env,
            outer,
        }
    }

    fn alias(&self, name: &str) -> Option<&'s Col> {
        let visible = match self.aliases {
            Aliases::None => return None,
            Aliases::Before(n) => &self.items[..n.min(self.items.len())],
            Aliases::All | Aliases::First => self.items,
        };
        visible
            .iter()
            .rev()
            .find(|c| !c.named_by_expression && same_name(&c.name, name))
    }

    pub fn visible(&self) -> impl Iterator<Item = (usize, &'s Source)> + use<'s> {
        self.sources.iter().enumerate().filter(|(_, s)| !s.hidden)
    }
}

/// A name found.
pub(crate) enum Hit<'s> {
    /// A FROM item's column (several, for a merged USING column), read with `step`.
    Source {
        name: &'s str,
        members: Vec<&'s SrcCol>,
        step: Subtype,
    },
    /// A select item, by its alias.
    Alias(&'s Col),
    /// A lambda's parameter.
    Lambda,
}

/// A name not found.
pub(crate) enum Miss {
    /// Nothing in scope has it (and every relation's columns are known).
    NotFound,
    /// Several FROM items have it.
    Ambiguous(Vec<String>),
    /// It may be a column of this FROM item, whose columns are unknown.
    UnknownColumns(String),
}

/// The diagnostics of the statement or of one CTE.
#[derive(Debug, Default)]
pub(crate) struct Unit {
    pub incomplete: Vec<Incomplete>,
    pub unknown: Vec<UnknownColumn>,
    /// CTEs this unit reads.
    pub uses: Vec<usize>,
}

pub(crate) struct Engine<'a> {
    pub sql: &'a str,
    pub schema: &'a dyn SchemaProvider,
    pub options: &'a Options,
    pub relations: Vec<RelationName>,
    rel_ids: HashMap<RelationName, RelId>,
    pub fields: Vec<(RelId, String)>,
    field_ids: HashMap<RelId, HashMap<String, FieldId>>,
    /// The unit being read, innermost last.
    pub units: Vec<Unit>,
    /// Each CTE's unit, once read.
    pub cte_units: Vec<Option<Unit>>,
    /// Each CTE's result (None while a recursive CTE's anchor is read).
    pub cte_results: Vec<Option<Rc<QueryOut>>>,
    /// Lambda parameters in scope.
    pub lambda: Vec<String>,
    /// An aggregate call was met in the select item being read.
    pub aggregate: bool,
    /// `COLUMNS(...)` in the select item being read: see `Expansion`.
    pub expansion: Expansion,
}

/// How the walker treats a `COLUMNS(...)` call in a select item: the item is first read to find
/// the call and the columns it matches, then once per matched column with the call bound to it.
#[derive(Debug, Clone, Default)]
pub(crate) enum Expansion {
    /// Not in a select item: a `COLUMNS(...)` reads every column it matches.
    #[default]
    Off,
    /// Reading a select item for the first time.
    Looking,
    /// Found one call, matching these columns (None: unresolvable, already reported).
    Found(Option<Vec<Col>>),
    /// Found more than one call.
    Several,
    /// The call stands for this column.
    Bound(Col),
}

impl<'a> Engine<'a> {
    pub fn new(sql: &'a str, schema: &'a dyn SchemaProvider, options: &'a Options) -> Engine<'a> {
        Engine {
            sql,
            schema,
            options,
            relations: Vec::new(),
            rel_ids: HashMap::new(),
            fields: Vec::new(),
            field_ids: HashMap::new(),
            units: Vec::new(),
            cte_units: Vec::new(),
            cte_results: Vec::new(),
            lambda: Vec::new(),
            aggregate: false,
            expansion: Expansion::Off,
        }
    }

    pub fn relation_id(&mut self, name: &RelationName) -> RelId {
        if let Some(&id) = self.rel_ids.get(name) {
            return id;
        }
        let id = RelId::try_from(self.relations.len()).unwrap_or(RelId::MAX);
        self.relations.push(name.clone());
        self.rel_ids.insert(name.clone(), id);
        id
    }

    /// The interned column `name` of relation `rel`.
    pub fn field(&mut self, rel: RelId, name: &str) -> FieldId {
        let by_name = self.field_ids.entry(rel).or_default();
        if let Some(&id) = by_name.get(name) {
            return id;
        }
        let id = FieldId::try_from(self.fields.len()).unwrap_or(FieldId::MAX);
        by_name.insert(name.to_string(), id);
        self.fields.push((rel, name.to_string()));
        id
    }

    /// Adds what a source column depends on, read with `role`, to `out`.
    pub fn add_src(&mut self, col: &SrcCol, role: Role, out: &mut Deps) {
        match &col.deps {
            SrcDeps::Base(rel) => {
                let field = self.field(*rel, &col.name);
                out.add(field, super::deps::TSet::one(role));
            }
            SrcDeps::Computed(deps) => out.add_under(deps, role),
        }
    }

    /// What a source column depends on, as owned deps read as the identity.
    pub fn src_deps(&mut self, col: &SrcCol) -> Deps {
        let mut out = Deps::default();
        self.add_src(col, Role::IDENTITY, &mut out);
        out
    }

    fn unit(&mut self) -> &mut Unit {
        if self.units.is_empty() {
            self.units.push(Unit::default());
        }
        let last = self.units.len() - 1;
        &mut self.units[last]
    }

    pub fn incomplete(&mut self, reason: impl Into<String>, span: Option<Span>) {
        let at = span.and_then(|s| self.position(s));
        self.unit().incomplete.push(Incomplete {
            reason: reason.into(),
            at,
        });
    }

    pub fn unknown(&mut self, unknown: UnknownColumn) {
        self.unit().unknown.push(unknown);
    }

    pub fn uses_cte(&mut self, id: usize) {
        self.unit().uses.push(id);
    }

    pub fn position(&self, span: Span) -> Option<Position> {
        let offset = crate::sql::offset_of(self.sql, span.start)?;
        Some(Position {
            offset,
            line: span.start.line,
            column: span.start.column,
        })
    }

    /// The column an unqualified name means.
    pub fn resolve<'s>(&self, name: &str, scope: &'s Scope<'s>) -> Result<Hit<'s>, Miss> {
        if self.lambda.iter().rev().any(|p| same_name(p, name)) {
            return Ok(Hit::Lambda);
        }
        let mut at = Some(scope);
        while let Some(scope) = at {
            if scope.aliases == Aliases::First
                && let Some(col) = scope.alias(name)
            {
                return Ok(Hit::Alias(col));
            }
            match source_column(name, scope) {
                Ok(hit) => return Ok(hit),
                Err(Miss::NotFound) => {}
                Err(miss) => return Err(miss),
            }
            if let Some(col) = scope.alias(name) {
                return Ok(Hit::Alias(col));
            }
            at = scope.outer;
        }
        Err(Miss::NotFound)
    }

    /// The FROM item a qualifier names (lower-case parts), in this scope or an enclosing one.
    pub fn qualified<'s>(
        &self,
        qualifier: &[String],
        scope: &'s Scope<'s>,
    ) -> Result<Option<&'s Source>, Miss> {
        let mut at = Some(scope);
        while let Some(scope) = at {
            let found: Vec<&Source> = scope
                .visible()
                .map(|(_, s)| s)
                .filter(|s| s.qualifier.matches(qualifier))
                .collect();
            match found.as_slice() {
                [] => {}
                [one] => return Ok(Some(one)),
                many => {
                    return Err(Miss::Ambiguous(
                        many.iter().map(|s| s.label.clone()).collect(),
                    ));
                }
            }
            at = scope.outer;
        }
        Ok(None)
    }

    /// Reports `name` (at `ident`) as unknown in `searched`, with did-you-mean candidates.
    pub fn report_unknown(
        &mut self,
        kind: UnknownKind,
        ident: &Ident,
        qualifier: Option<String>,
        searched: &[&Source],
        candidates: Vec<String>,
    ) {
        let suggestions = suggest(&ident.value, &candidates);
        let searched = searched
            .iter()
            .map(|s| Searched {
                name: s.label.trim_matches('`').to_string(),
                relation: s.relation.map(|r| self.relations[r as usize].clone()),
            })
            .collect();
        let at = self.position(ident.span);
        self.unknown(UnknownColumn {
            kind,
            name: ident.value.clone(),
            qualifier,
            searched,
            at,
            suggestions,
        });
    }

    /// Reports an unqualified name nothing in `scope` has.
    pub fn report_not_found(&mut self, ident: &Ident, scope: &Scope<'_>) {
        let searched: Vec<&Source> = scope.visible().map(|(_, s)| s).collect();
        let mut candidates: Vec<String> = searched
            .iter()
            .flat_map(|s| s.cols.iter().flatten().map(|c| c.name.clone()))
            .collect();
        candidates.extend(
            scope
                .items
                .iter()
                .filter(|c| !c.named_by_expression)
                .map(|c| c.name.clone()),
        );
        self.report_unknown(UnknownKind::Column, ident, None, &searched, candidates);
    }
}

/// An unqualified name among one scope's FROM items.
fn source_column<'s>(name: &str, scope: &Scope<'s>) -> Result<Hit<'s>, Miss> {
    let merged = scope
        .merged
        .iter()
        .find(|m| same_name(&m.name, name) && m.members.iter().all(|&i| !scope.sources[i].hidden));
    let mut hits: Vec<(usize, &'s SrcCol)> = Vec::new();
    let mut unknown: Option<&Source> = None;
    for (i, source) in scope.visible() {
        if merged.is_some_and(|m| m.members.contains(&i)) {
            continue;
        }
        match &source.cols {
            Some(_) => {
                if let Some(col) = source.col(name) {
                    hits.push((i, col));
                }
            }
            None => unknown = unknown.or(Some(source)),
        }
    }
    match (merged, hits.as_slice()) {
        (Some(m), []) => {
            let members: Vec<&SrcCol> = m
                .members
                .iter()
                .filter_map(|&i| scope.sources[i].col(name))
                .collect();
            let name = members.first().map_or(m.name.as_str(), |c| c.name.as_str());
            Ok(Hit::Source {
                name,
                members,
                step: if m.full {
                    Subtype::Transformation
                } else {
                    Subtype::Identity
                },
            })
        }
        (None, [(_, col)]) => Ok(Hit::Source {
            name: &col.name,
            members: vec![*col],
            step: Subtype::Identity,
        }),
        (None, []) => match unknown {
            Some(source) => Err(Miss::UnknownColumns(source.label.clone())),
            None => Err(Miss::NotFound),
        },
        (merged, hits) => {
            let mut labels: Vec<String> = hits
                .iter()
                .map(|(i, _)| scope.sources[*i].label.clone())
                .collect();
            if let Some(m) = merged {
                labels.extend(m.members.iter().map(|&i| scope.sources[i].label.clone()));
            }
            Err(Miss::Ambiguous(labels))
        }
    }
}

/// The candidates closest to `name` by edit distance (case-insensitive), best first, at most 3.
pub(crate) fn suggest(name: &str, candidates: &[String]) -> Vec<String> {
    let wanted = name.to_lowercase();
    let limit = (wanted.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &String)> = candidates
        .iter()
        .map(|c| (crate::text::levenshtein(&wanted, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    let mut out: Vec<String> = Vec::new();
    for (_, c) in scored {
        if !out.iter().any(|o| same_name(o, c)) {
            out.push(c.clone());
        }
        if out.len() == 3 {
            break;
        }
    }
    out
}

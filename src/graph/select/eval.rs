//! Evaluates a selector [`Expr`] against the graph, the way dbt does, in three steps per atom:
//! the method picks nodes, the graph operators (`+`, `N+`, `@`) add relatives, and tests attached
//! to what was picked join by indirect selection. Set operations then combine the atoms.
//!
//! Every step yields a pair: the *direct* selection, and the *indirect* one (tests that have some
//! but not all of their parents selected). A cautious or buildable group looks at its combined
//! indirect tests again, so `--select a b --indirect-selection cautious` keeps a relationships
//! test between `a` and `b` although neither atom alone would have.

use super::IndirectSelection;
use super::methods::{self, Member};
use super::parse::{Criterion, Expr, Group, Method, SetOp};
use super::previous::PreviousRun;
use super::selectors::Selectors;
use super::state::StateComparison;
use crate::error::{Diagnostic, Error};
use crate::graph::Graph;
use crate::project::{Project, ResourceType};
use std::collections::{BTreeMap, BTreeSet};

pub type Ids = BTreeSet<String>;

pub struct Evaluator<'a> {
    project: &'a Project,
    graph: &'a Graph,
    selectors: &'a Selectors,
    state: Option<StateComparison<'a>>,
    previous: &'a PreviousRun,
    members: Vec<Member<'a>>,
    /// Groups the user wrote that selected nothing.
    pub warnings: Vec<Diagnostic>,
}

/// Every id reachable from `start` along `edges`, up to `depth` edges (None = any number).
fn reach(edges: &BTreeMap<String, BTreeSet<String>>, start: &Ids, depth: Option<usize>) -> Ids {
    let mut seen = Ids::new();
    let mut frontier: Vec<&str> = start.iter().map(String::as_str).collect();
    let mut level = 0;
    while !frontier.is_empty() && depth.is_none_or(|d| level < d) {
        let mut next = vec![];
        for id in frontier {
            for n in edges.get(id).into_iter().flatten() {
                if seen.insert(n.clone()) {
                    next.push(n.as_str());
                }
            }
        }
        frontier = next;
        level += 1;
    }
    seen
}

impl<'a> Evaluator<'a> {
    pub fn new(
        project: &'a Project,
        graph: &'a Graph,
        selectors: &'a Selectors,
        state_manifest: Option<&'a crate::schemas::read::StateManifest>,
        previous: &'a PreviousRun,
    ) -> Self {
        Evaluator {
            project,
            graph,
            selectors,
            state: state_manifest.map(|m| StateComparison::new(project, graph, m)),
            previous,
            members: methods::members(project, graph),
            warnings: vec![],
        }
    }

    /// The direct and indirect selection of `e`.
    pub fn eval(&mut self, e: &Expr) -> Result<(Ids, Ids), Error> {
        match e {
            Expr::Criterion(c) => self.criterion(c),
            Expr::Group(g) => self.group(g),
        }
    }

    fn ancestors(&self, ids: &Ids, depth: Option<usize>) -> Ids {
        reach(&self.graph.parents, ids, depth)
    }

    fn descendants(&self, ids: &Ids, depth: Option<usize>) -> Ids {
        reach(&self.graph.children, ids, depth)
    }

    fn criterion(&mut self, c: &Criterion) -> Result<(Ids, Ids), Error> {
        let collected = if c.method == Method::Selector {
            let selectors = self.selectors;
            let def = selectors.get(&c.value)?;
            let (direct, indirect) = self.eval(&def.expr)?;
            // A plain reference stands for the named selector exactly, tests and all.
            if !c.has_graph_operators() {
                return Ok((direct, indirect));
            }
            direct
        } else {
            methods::search(
                self.project,
                &self.members,
                (self.state.as_ref(), self.previous),
                c,
            )?
        };
        let mut selected = collected.clone();
        if c.childrens_parents {
            let mut below = self.descendants(&collected, None);
            below.extend(collected.iter().cloned());
            selected.extend(self.ancestors(&below, None));
            selected.extend(below);
        }
        if c.parents {
            selected.extend(self.ancestors(&collected, c.parents_depth));
        }
        if c.children {
            selected.extend(self.descendants(&collected, c.children_depth));
        }
        if c.indirect == IndirectSelection::Empty {
            return Ok((selected, Ids::new()));
        }
        Ok(self.expand(selected, c.indirect))
    }

    /// The parents a test depends on, if `id` is a test.
    fn test_parents(&self, id: &str) -> Option<BTreeSet<&'a str>> {
        // A unit test joins with its model, as a data test joins with what it tests.
        if let Some(u) = self.project.unit_tests.get(id) {
            return Some(BTreeSet::from([u.model_id.as_str()]));
        }
        let n = self.project.nodes.get(id)?;
        (n.resource_type == ResourceType::Test).then(|| {
            self.graph
                .depends_on(id)
                .iter()
                .map(String::as_str)
                .collect()
        })
    }

    /// Pulls in the tests attached to `selected`: with eager, any test on a selected node; with
    /// cautious, tests whose parents are all selected; with buildable, tests whose parents are
    /// selected or upstream of the selection. The others are returned as indirect.
    fn expand(&self, selected: Ids, mode: IndirectSelection) -> (Ids, Ids) {
        let mut direct = selected.clone();
        let mut indirect = Ids::new();
        let buildable: Ids = if mode == IndirectSelection::Buildable {
            let mut s = selected.clone();
            s.extend(self.ancestors(&selected, None));
            s.extend(self.project.sources.keys().cloned());
            s
        } else {
            Ids::new()
        };
        let children = self.descendants(&selected, Some(1));
        for id in children {
            let Some(parents) = self.test_parents(&id) else {
                continue;
            };
            let all_selected = parents.iter().all(|p| selected.contains(*p));
            let buildable_parents = mode == IndirectSelection::Buildable
                && parents.iter().all(|p| buildable.contains(*p));
            if mode == IndirectSelection::Eager || all_selected || buildable_parents {
                direct.insert(id);
            } else {
                indirect.insert(id);
            }
        }
        (direct, indirect)
    }

    /// Tests held back as indirect join once all their parents are selected (cautious), or are
    /// selected or upstream of the selection (buildable).
    fn incorporate(&self, direct: Ids, indirect: &Ids, mode: IndirectSelection) -> Ids {
        if direct == *indirect {
            return direct;
        }
        let reference = match mode {
            IndirectSelection::Cautious => direct.clone(),
            IndirectSelection::Buildable => {
                let mut s = direct.clone();
                s.extend(self.ancestors(&direct, None));
                s
            }
            IndirectSelection::Eager | IndirectSelection::Empty => return direct,
        };
        let mut out = direct;
        for id in indirect {
            if let Some(parents) = self.test_parents(id)
                && parents.iter().all(|p| reference.contains(*p))
            {
                out.insert(id.clone());
            }
        }
        out
    }

    fn group(&mut self, g: &Group) -> Result<(Ids, Ids), Error> {
        let mut directs = Vec::with_capacity(g.parts.len());
        let mut indirects = Vec::with_capacity(g.parts.len());
        for part in &g.parts {
            let (d, i) = self.eval(part)?;
            let mut both = d.clone();
            both.extend(i);
            directs.push(d);
            indirects.push(both);
        }
        let initial = combine(g.op, directs);
        let indirect = combine(g.op, indirects);
        let direct = self.incorporate(initial, &indirect, g.indirect);
        if let Some(raw) = &g.warn_if_empty
            && direct.is_empty()
        {
            let mut d = Diagnostic::warning(
                "selection",
                format!("The selection criterion '{raw}' does not match any enabled nodes"),
            );
            // The closest name to the first criterion of the group that names nothing.
            let hint = g.parts.iter().find_map(|p| match p {
                Expr::Criterion(c) => methods::suggest(self.project, &self.members, c),
                Expr::Group(_) => None,
            });
            if let Some(name) = hint {
                d = d.with_help(format!("did you mean '{name}'?"));
            }
            self.warnings.push(d);
        }
        Ok((direct, indirect))
    }
}

fn combine(op: SetOp, mut sets: Vec<Ids>) -> Ids {
    if sets.is_empty() {
        return Ids::new();
    }
    let first = sets.remove(0);
    match op {
        SetOp::Union => sets.into_iter().fold(first, |mut acc, s| {
            acc.extend(s);
            acc
        }),
        SetOp::Intersection => sets
            .into_iter()
            .fold(first, |acc, s| acc.intersection(&s).cloned().collect()),
        SetOp::Difference => sets
            .into_iter()
            .fold(first, |acc, s| acc.difference(&s).cloned().collect()),
    }
}

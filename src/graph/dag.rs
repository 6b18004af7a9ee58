//! The DAG over unique_ids (nodes, sources, exposures), with BTree maps so every traversal and
//! artifact is deterministic. Building it resolves every ref and source, and reports unknown
//! names (with a did-you-mean), name clashes and cycles (printed as their path).

use crate::error::{Diagnostic, Diagnostics, Error, Location, levenshtein};
use crate::project::{Node, Project, RefCall, ResourceType};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// unique_id → the ids it depends on.
    pub parents: BTreeMap<String, BTreeSet<String>>,
    /// unique_id → the ids that depend on it.
    pub children: BTreeMap<String, BTreeSet<String>>,
    /// A node's or exposure's dependencies in dbt's `depends_on.nodes` order (sources first,
    /// then refs, each once, in the order the code names them).
    pub depends_on: BTreeMap<String, Vec<String>>,
    /// The ref table: for each node, every `ref()` it made at parse and the unique_id it resolves
    /// to. Resolved once, here; Jinja's `ref()` reads it when the node compiles.
    pub refs: BTreeMap<String, Vec<(RefCall, String)>>,
    /// What a ref() name can point at: the one rule every resolution uses.
    pub names: RefNames,
    /// Problems found while building that do not stop the command (a unit test's input its
    /// model does not read).
    pub warnings: Vec<Diagnostic>,
}

/// The nodes a `ref()` can name (models, seeds, snapshots) by name, the latest version first,
/// and the disabled ones (to say so when a ref names one).
#[derive(Debug, Clone, Default)]
pub struct RefNames {
    /// name → (unique_id, resource type, version, file).
    by_name: BTreeMap<String, Vec<(String, ResourceType, Option<String>, String)>>,
    /// name of a disabled node → its file.
    disabled: BTreeMap<String, String>,
    /// The root project's name: an unqualified ref looks there first.
    root: String,
}

impl RefNames {
    fn of(project: &Project) -> RefNames {
        let mut by_name: BTreeMap<String, Vec<(String, ResourceType, Option<String>, String)>> =
            BTreeMap::new();
        for n in project.nodes.values() {
            if matches!(
                n.resource_type,
                ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
            ) {
                by_name.entry(n.name.clone()).or_default().push((
                    n.unique_id.clone(),
                    n.resource_type,
                    n.version.clone(),
                    n.file.display().to_string(),
                ));
            }
        }
        // An unversioned ref means the latest version: keep it first among its name's candidates.
        let is_latest = |uid: &str| {
            project
                .nodes
                .get(uid)
                .is_some_and(|n| n.version.is_some() && n.version == n.latest_version)
        };
        for list in by_name.values_mut() {
            list.sort_by_key(|(uid, ..)| !is_latest(uid));
        }
        let disabled = project
            .disabled
            .values()
            .map(|n| (n.name.clone(), n.file.display().to_string()))
            .collect();
        RefNames {
            by_name,
            disabled,
            root: project.name.clone(),
        }
    }

    /// The unique_id a ref() call made by a node of project `from` (the root project or a
    /// package) names, as dbt resolves it: `ref('package', 'name')` in that package; `ref('name')`
    /// in the root project, then in `from`, then in any package. Err holds the file of the
    /// disabled node of that name, or is empty when there is none.
    pub fn resolve(&self, r: &RefCall, from: &str) -> Result<String, String> {
        let candidates: Vec<&(String, ResourceType, Option<String>, String)> = self
            .by_name
            .get(&r.name)
            .map(|l| {
                l.iter()
                    .filter(|(_, _, ver, _)| r.version.is_none() || *ver == r.version)
                    .collect()
            })
            .unwrap_or_default();
        let in_package = |p: &str| {
            candidates
                .iter()
                .find(|(uid, ..)| uid.split('.').nth(1) == Some(p))
        };
        let found = match &r.package {
            Some(p) => in_package(p),
            None => in_package(&self.root)
                .or_else(|| in_package(from))
                .or_else(|| candidates.first()),
        };
        match found {
            Some((uid, ..)) => Ok(uid.clone()),
            None => Err(self.disabled.get(&r.name).cloned().unwrap_or_default()),
        }
    }
}

impl Graph {
    fn add_node(&mut self, id: &str) {
        // Look up before inserting: most calls find the node, and need no new key.
        if !self.parents.contains_key(id) {
            self.parents.insert(id.to_string(), BTreeSet::new());
        }
        if !self.children.contains_key(id) {
            self.children.insert(id.to_string(), BTreeSet::new());
        }
    }

    /// An edge between two ids already in the graph.
    fn link(&mut self, parent: &str, child: &str) {
        if let Some(ps) = self.parents.get_mut(child) {
            ps.insert(parent.to_string());
        }
        if let Some(cs) = self.children.get_mut(parent) {
            cs.insert(child.to_string());
        }
    }

    pub(crate) fn add_edge(&mut self, parent: &str, child: &str) {
        self.add_node(parent);
        self.add_node(child);
        self.link(parent, child);
    }

    /// All ancestors of `id` up to `depth` edges (None = unlimited), excluding `id`.
    pub fn ancestors(&self, id: &str, depth: Option<usize>) -> BTreeSet<String> {
        walk(&self.parents, id, depth)
    }

    /// All descendants of `id` up to `depth` edges (None = unlimited), excluding `id`.
    pub fn descendants(&self, id: &str, depth: Option<usize>) -> BTreeSet<String> {
        walk(&self.children, id, depth)
    }

    /// The node's (or exposure's) dependencies in `depends_on.nodes` order; none for an id the
    /// graph does not hold.
    pub fn depends_on(&self, id: &str) -> &[String] {
        self.depends_on.get(id).map_or(&[], Vec::as_slice)
    }

    /// The unique_id a `ref()` of the node resolved to when the graph was built.
    pub fn resolve_ref(&self, node: &str, call: &RefCall) -> Option<&str> {
        self.refs
            .get(node)?
            .iter()
            .find(|(c, _)| c == call)
            .map(|(_, id)| id.as_str())
    }

    /// Ids in dependency order (parents first); ties broken by id.
    pub fn topo_order(&self) -> Vec<String> {
        let mut indegree: BTreeMap<&str, usize> = self
            .parents
            .iter()
            .map(|(k, v)| (k.as_str(), v.len()))
            .collect();
        let mut ready: BTreeSet<&str> = indegree
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(k, _)| *k)
            .collect();
        let mut out = Vec::with_capacity(indegree.len());
        while let Some(id) = ready.pop_first() {
            out.push(id.to_string());
            for c in self.children.get(id).into_iter().flatten() {
                if let Some(d) = indegree.get_mut(c.as_str()) {
                    *d -= 1;
                    if *d == 0 {
                        ready.insert(c.as_str());
                    }
                }
            }
        }
        out
    }
}

fn walk(
    edges: &BTreeMap<String, BTreeSet<String>>,
    id: &str,
    depth: Option<usize>,
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut frontier = vec![id.to_string()];
    let mut level = 0;
    while !frontier.is_empty() && depth.is_none_or(|d| level < d) {
        let mut next = vec![];
        for n in frontier {
            for p in edges.get(&n).into_iter().flatten() {
                if seen.insert(p.clone()) {
                    next.push(p.clone());
                }
            }
        }
        frontier = next;
        level += 1;
    }
    seen.remove(id);
    seen
}

fn did_you_mean<'a>(wanted: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    candidates
        .map(|c| (levenshtein(wanted, c), c))
        .filter(|(d, c)| *d <= 3.max(wanted.len() / 3) && *d < c.len().max(1))
        .min()
        .map(|(_, c)| c.to_string())
}

/// Where `needle` (a ref or source name) appears in the node's file.
fn locate_in_node(project: &Project, n: &Node, needle: &str) -> Location {
    let rel = n.file.clone();
    let text =
        std::fs::read_to_string(project.dir.join(&rel)).unwrap_or_else(|_| n.raw_code.clone());
    let quoted = [format!("'{needle}'"), format!("\"{needle}\"")];
    let offset = quoted
        .iter()
        .filter_map(|q| text.find(q.as_str()))
        .min()
        .map_or_else(|| text.find(needle).unwrap_or(0), |o| o + 1);
    Location::from_offset(rel, &text, offset)
}

/// Builds the graph of the parsed project, resolving every ref and source once (into
/// [`Graph::depends_on`] and [`Graph::refs`]); the project is read, never written.
pub fn build(project: &Project) -> Result<Graph, Error> {
    let timer = crate::timing::StageTimer::nested();
    let mut diags = Diagnostics::default();
    let mut g = Graph::default();
    let names = RefNames::of(project);
    let by_name = &names.by_name;
    for (name, list) in by_name {
        // Names are unique within a project; packages may reuse the root project's (dbt finds
        // the root's first).
        let mut per_package: BTreeMap<&str, Vec<_>> = BTreeMap::new();
        for item in list.iter().filter(|(_, _, v, _)| v.is_none()) {
            let package = item.0.split('.').nth(1).unwrap_or_default();
            per_package.entry(package).or_default().push(item);
        }
        for unversioned in per_package.into_values().filter(|l| l.len() > 1) {
            let files: Vec<String> = unversioned
                .iter()
                .map(|(_, rt, _, f)| format!("{rt} {f}"))
                .collect();
            diags.push(
                Diagnostic::error(
                    "duplicate",
                    format!(
                        "the name '{name}' is used by more than one node: {}",
                        files.join(" and ")
                    ),
                )
                .in_file(&unversioned[0].3)
                .with_help(
                    "ref() needs unique names across models, seeds and snapshots: rename one",
                ),
            );
        }
    }
    let resolve_ref = |r: &RefCall, from: &str| names.resolve(r, from);
    let node_names: Vec<String> = by_name.keys().cloned().collect();
    let source_pairs: Vec<String> = project
        .sources
        .values()
        .map(|s| format!("{}.{}", s.source_name, s.name))
        .collect();
    // Each node's dependencies are resolved on every core, in the nodes' own (sorted) order, so
    // the results can be zipped back onto them.
    let resolved: Vec<Resolved> = {
        use rayon::prelude::*;
        let nodes: Vec<&Node> = project.nodes.values().map(AsRef::as_ref).collect();
        nodes
            .par_iter()
            .map(|n| resolve_node(project, n, &resolve_ref, &node_names, &source_pairs))
            .collect()
    };
    timer.mark("resolve");
    let mut deps = Vec::with_capacity(resolved.len());
    let mut ref_table = Vec::with_capacity(resolved.len());
    for r in resolved {
        diags.extend(r.problems);
        deps.push(r.depends_on);
        ref_table.push(r.refs);
    }
    // Both maps are built in bulk from sorted lists, not edge by edge.
    let mut pairs: Vec<(&str, &str)> = vec![];
    g.parents = project
        .nodes
        .keys()
        .zip(&deps)
        .map(|(id, parents)| {
            pairs.extend(parents.iter().map(|p| (p.as_str(), id.as_str())));
            (id.clone(), parents.iter().cloned().collect())
        })
        .collect();
    for s in project.sources.keys() {
        g.parents.insert(s.clone(), BTreeSet::new());
    }
    pairs.sort_unstable();
    let mut children: Vec<(String, BTreeSet<String>)> = Vec::with_capacity(g.parents.len());
    let mut edges = pairs.into_iter().peekable();
    for id in g.parents.keys() {
        let mut set = BTreeSet::new();
        // (skipping any edge from an id that is not in the graph, which resolution never gives)
        while edges.next_if(|(parent, _)| *parent < id.as_str()).is_some() {}
        while let Some((_, child)) = edges.next_if(|(parent, _)| *parent == id.as_str()) {
            set.insert(child.to_string());
        }
        children.push((id.clone(), set));
    }
    g.children = children.into_iter().collect();
    timer.mark("maps");
    g.refs = project
        .nodes
        .keys()
        .zip(ref_table)
        .filter(|(_, refs)| !refs.is_empty())
        .map(|(id, refs)| (id.clone(), refs))
        .collect();
    g.depends_on = project.nodes.keys().cloned().zip(deps).collect();
    for (eid, e) in &project.exposures {
        g.add_node(eid);
        let mut out = vec![];
        for r in &e.refs {
            match resolve_ref(r, &e.package_name) {
                Ok(uid) => out.push(uid),
                Err(_) => diags.push(
                    Diagnostic::error(
                        "unknown-ref",
                        format!(
                            "exposure '{}' depends on '{}', which does not exist",
                            e.name, r.name
                        ),
                    )
                    .in_file(&e.original_file_path)
                    .with_help(
                        did_you_mean(&r.name, node_names.iter().map(String::as_str))
                            .map_or("check the name in depends_on".into(), |s| {
                                format!("did you mean '{s}'?")
                            }),
                    ),
                ),
            }
        }
        for (s, t) in &e.sources {
            if let Some(uid) = project.resolve_source(s, t, &e.package_name) {
                out.push(uid.to_string());
            } else {
                diags.push(
                    Diagnostic::error(
                        "unknown-source",
                        format!(
                            "exposure '{}' depends on source('{s}', '{t}'), which is not declared",
                            e.name
                        ),
                    )
                    .in_file(&e.original_file_path),
                );
            }
        }
        // As for nodes, dbt lists an exposure's sources before its refs.
        out.sort_by_key(|uid| !uid.starts_with("source."));
        for p in &out {
            g.add_edge(p, eid);
        }
        g.depends_on.insert(eid.clone(), out);
    }
    g.warnings = super::unit::add(project, &mut g, &names, &mut diags);
    diags.checkpoint()?;
    timer.mark("exposures");
    let cycle = find_cycle(&g);
    timer.mark("cycles");
    if let Some(cycle) = cycle {
        let names: Vec<String> = cycle
            .iter()
            .map(|id| match project.nodes.get(id) {
                Some(n) => n.name.clone(),
                None => id.rsplit('.').next().unwrap_or(id).to_string(),
            })
            .collect();
        let d = Diagnostic::error(
            "cycle",
            format!(
                "the graph has a cycle: {} (each refers to the next)",
                names.join(" → ")
            ),
        )
        .with_help(
            "a model cannot depend on itself, directly or through others: remove one of these refs",
        );
        // Point at the first ref of the cycle, in the first node's file.
        let d = match project.nodes.get(&cycle[0]) {
            Some(n) => d.at(locate_in_node(project, n, &names[1])),
            None => d,
        };
        return Err(d.into());
    }
    g.names = names;
    Ok(g)
}

/// One node's dependencies resolved.
struct Resolved {
    /// Sources first, then refs, each once.
    depends_on: Vec<String>,
    /// Each distinct ref() call and what it resolved to.
    refs: Vec<(RefCall, String)>,
    problems: Vec<Diagnostic>,
}

/// One node's dependencies (sources first, then refs, each once), and the problems with them.
fn resolve_node(
    project: &Project,
    n: &Node,
    resolve_ref: &(dyn Fn(&RefCall, &str) -> Result<String, String> + Sync),
    node_names: &[String],
    source_pairs: &[String],
) -> Resolved {
    let mut diags = vec![];
    let mut out: Vec<String> = vec![];
    let mut refs: Vec<(RefCall, String)> = vec![];
    // A node lists every ref() and source() call; each target is resolved (and reported) once.
    let mut seen_refs: Vec<&RefCall> = vec![];
    for r in &n.refs {
        if seen_refs.contains(&r) {
            continue;
        }
        seen_refs.push(r);
        match resolve_ref(r, &n.package_name) {
            Ok(uid) => {
                if !out.contains(&uid) {
                    out.push(uid.clone());
                }
                refs.push((r.clone(), uid));
            }
            Err(disabled_in) if !disabled_in.is_empty() => {
                diags.push(
                    Diagnostic::error(
                        "disabled-ref",
                        format!(
                            "{} '{}' refers to '{}', which is disabled",
                            n.resource_type, n.name, r.name
                        ),
                    )
                    .at(locate_in_node(project, n, &r.name))
                    .with_help(format!(
                        "'{}' has enabled: false (set in {disabled_in} or its configs): enable it, or disable '{}' too, or remove this ref",
                        r.name, n.name
                    )),
                );
            }
            Err(_) => {
                let mut d = Diagnostic::error(
                    "unknown-ref",
                    format!(
                        "{} '{}' refers to '{}', which does not exist",
                        n.resource_type, n.name, r.name
                    ),
                )
                .at(locate_in_node(project, n, &r.name));
                if let Some(s) = did_you_mean(&r.name, node_names.iter().map(String::as_str)) {
                    d = d.with_help(format!("did you mean '{s}'?"));
                } else {
                    d = d.with_help(
                        "ref() takes the name of a model, seed or snapshot in this project",
                    );
                }
                diags.push(d);
            }
        }
    }
    let mut seen_sources: Vec<&(String, String)> = vec![];
    for pair in &n.sources {
        if seen_sources.contains(&pair) {
            continue;
        }
        seen_sources.push(pair);
        let (s, t) = pair;
        let found = project.resolve_source(s, t, &n.package_name);
        if let Some(uid) = found {
            if !out.iter().any(|o| o == uid) {
                out.push(uid.to_string());
            }
        } else {
            let mut d = Diagnostic::error(
                "unknown-source",
                format!(
                    "{} '{}' uses source('{s}', '{t}'), which is not declared",
                    n.resource_type, n.name
                ),
            )
            .at(locate_in_node(project, n, t));
            let wanted = format!("{s}.{t}");
            d = match did_you_mean(&wanted, source_pairs.iter().map(String::as_str)) {
                Some(m) => d.with_help(format!(
                    "did you mean '{m}'? (sources are declared under `sources:` in a .yml file)"
                )),
                None => {
                    let tables: Vec<&str> = project
                        .sources
                        .values()
                        .filter(|src| &src.source_name == s)
                        .map(|src| src.name.as_str())
                        .collect();
                    if tables.is_empty() {
                        d.with_help(format!(
                            "declare source '{s}' with table '{t}' under `sources:` in a properties .yml file"
                        ))
                    } else {
                        d.with_help(format!(
                            "source '{s}' declares {}; add '{t}' to its `tables:`",
                            tables.join(", ")
                        ))
                    }
                }
            };
            diags.push(d);
        }
    }
    // dbt lists a node's sources before its refs in depends_on.nodes.
    out.sort_by_key(|uid| !uid.starts_with("source."));
    Resolved {
        depends_on: out,
        refs,
        problems: diags,
    }
}

/// A cycle as its path along dependencies (each node depends on the next: `a → b` when a refs
/// b), first node repeated at the end, if there is one.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    // Over indices, not strings: the ids are sorted, so an id's index is a binary search away.
    let ids: Vec<&str> = g.parents.keys().map(String::as_str).collect();
    let index = |id: &str| ids.binary_search(&id).ok();
    let parents: Vec<Vec<usize>> = g
        .parents
        .values()
        .map(|ps| ps.iter().filter_map(|p| index(p)).collect())
        .collect();
    let mut mark = vec![Mark::New; ids.len()];
    for start in 0..ids.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // Iterative DFS along parent edges, keeping the active path.
        let mut path: Vec<usize> = vec![start];
        let mut iters: Vec<std::slice::Iter<'_, usize>> = vec![parents[start].iter()];
        mark[start] = Mark::Active;
        while let Some(it) = iters.last_mut() {
            match it.next() {
                Some(&c) => match mark[c] {
                    Mark::Active => {
                        let pos = path.iter().position(|p| *p == c).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            path[pos..].iter().map(|&i| ids[i].to_string()).collect();
                        cycle.push(ids[c].to_string());
                        return Some(cycle);
                    }
                    Mark::New => {
                        mark[c] = Mark::Active;
                        path.push(c);
                        iters.push(parents[c].iter());
                    }
                    Mark::Done => {}
                },
                None => {
                    if let Some(done) = path.pop() {
                        mark[done] = Mark::Done;
                    }
                    iters.pop();
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_is_reported_as_path() {
        let mut g = Graph::default();
        g.add_edge("a", "b");
        g.add_edge("b", "c");
        g.add_edge("c", "a");
        g.add_edge("c", "d");
        // b depends on a, c on b, a on c: from a, the dependencies lead a → c → b → a.
        let c = find_cycle(&g).unwrap_or_default();
        assert_eq!(c, vec!["a", "c", "b", "a"]);
    }

    #[test]
    fn ancestors_with_depth() {
        let mut g = Graph::default();
        g.add_edge("a", "b");
        g.add_edge("b", "c");
        assert_eq!(
            g.ancestors("c", Some(1)).into_iter().collect::<Vec<_>>(),
            vec!["b"]
        );
        assert_eq!(g.ancestors("c", None).len(), 2);
        assert_eq!(g.topo_order(), vec!["a", "b", "c"]);
    }
}

//! Which tests gate which nodes in `build`, by dbt-core's rule: a test gates a node when *all*
//! the test's parents (its `depends_on` nodes) are upstream of that node, transitively. A
//! relationships test between `orders` and `customers` thus holds back what reads both, and
//! nothing that reads only one of them.
//!
//! dbt adds an edge from the test to every such node. The same nodes wait when the test gates
//! only the first of them on each path (the others are downstream of those), so the edges here go
//! to the *minimal* gated nodes: those none of whose parents is also downstream of all the test's
//! parents. The runner walks edges through unselected nodes, so a gate on an unselected node
//! still holds for what is selected below it.

use super::Graph;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// For each gated node, the tests that gate it directly. `tests` gives each test's id and its
/// parents; `gated` says which nodes tests may gate (dbt: the executable nodes other than tests,
/// ephemeral models included; not exposures).
pub fn test_gates<'a>(
    graph: &Graph,
    tests: impl IntoIterator<Item = (&'a str, &'a [String])>,
    gated: impl Fn(&str) -> bool,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // Tests on the same parents (a model's several tests, relationships tests on the same pair
    // of models) gate the same nodes: computed once per set of parents.
    let mut memo: HashMap<BTreeSet<&str>, Vec<String>> = HashMap::new();
    for (test, parents) in tests {
        let parents: BTreeSet<&str> = parents.iter().map(String::as_str).collect();
        // A test that reads nothing gates nothing (dbt only looks at tests below a node).
        if parents.is_empty() {
            continue;
        }
        let targets = memo
            .entry(parents)
            .or_insert_with_key(|parents| minimal_gated(graph, parents, &gated));
        for node in targets.iter() {
            out.entry(node.clone())
                .or_default()
                .insert(test.to_string());
        }
    }
    out
}

/// The first gated nodes on every path down from the common descendants of `parents`.
fn minimal_gated(
    graph: &Graph,
    parents: &BTreeSet<&str>,
    gated: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let children = |id: &str| graph.children.get(id).into_iter().flatten();
    // One parent, or (most often with several) one parent downstream of all the others, as in
    // a relationships test to a model upstream of the tested one: the common descendants are
    // that parent's, all below its children. (Only one parent can be so: the graph has no
    // cycles.)
    let lowest = parents.iter().find(|p| {
        parents.len() == 1 || {
            let upstream = graph.ancestors(p, None);
            parents.iter().all(|q| q == *p || upstream.contains(*q))
        }
    });
    let starts: Vec<&str> = if let Some(lowest) = lowest {
        children(lowest).map(String::as_str).collect()
    } else {
        // Otherwise count, for each node, how many of the parents it is downstream of.
        let mut count: HashMap<&str, usize> = HashMap::new();
        for p in parents {
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            let mut stack: Vec<&str> = children(p).map(String::as_str).collect();
            while let Some(n) = stack.pop() {
                if seen.insert(n) {
                    *count.entry(n).or_default() += 1;
                    stack.extend(children(n).map(String::as_str));
                }
            }
        }
        let common = |n: &str| count.get(n) == Some(&parents.len());
        let mut starts: Vec<&str> = count
            .keys()
            .copied()
            .filter(|n| common(n))
            .filter(|n| {
                !graph
                    .parents
                    .get(*n)
                    .into_iter()
                    .flatten()
                    .any(|p| common(p))
            })
            .collect();
        starts.sort_unstable();
        starts
    };
    // A start that cannot be gated passes the gate on to its children (in dbt's graphs such
    // nodes, tests and exposures, have none; this keeps the rule whole if one ever does).
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut stack = starts;
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        if gated(n) {
            out.insert(n.to_string());
        } else {
            stack.extend(children(n).map(String::as_str));
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> Graph {
        let mut g = Graph::default();
        for (p, c) in edges {
            g.add_edge(p, c);
        }
        g
    }

    fn gates(g: &Graph, tests: &[(&str, &[&str])]) -> Vec<(String, String)> {
        let owned: Vec<(String, Vec<String>)> = tests
            .iter()
            .map(|(t, ps)| (t.to_string(), ps.iter().map(|p| p.to_string()).collect()))
            .collect();
        let out = test_gates(
            g,
            owned.iter().map(|(t, ps)| (t.as_str(), ps.as_slice())),
            |id| !id.starts_with("test.") && !id.starts_with("exposure."),
        );
        out.into_iter()
            .flat_map(|(n, ts)| ts.into_iter().map(move |t| (t, n.clone())))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// orders and customers, a relationships test between them: `revenue` reads only orders and
    /// is not gated; `enriched` reads both and is; `report` (below enriched) waits through it.
    #[test]
    fn a_two_parent_test_gates_only_what_is_downstream_of_both() {
        let g = graph(&[
            ("seed.customers", "model.enriched"),
            ("model.orders", "model.enriched"),
            ("model.orders", "model.revenue"),
            ("model.enriched", "model.report"),
            ("model.report", "exposure.dash"),
            ("model.orders", "test.rel"),
            ("seed.customers", "test.rel"),
            ("model.orders", "test.unique"),
        ]);
        let tests: &[(&str, &[&str])] = &[
            ("test.rel", &["model.orders", "seed.customers"]),
            ("test.unique", &["model.orders"]),
        ];
        assert_eq!(
            gates(&g, tests),
            pairs(&[
                ("test.rel", "model.enriched"),
                ("test.unique", "model.enriched"),
                ("test.unique", "model.revenue"),
            ])
        );
    }

    /// A relationships test to a model upstream of the tested one gates what is below the
    /// tested one: the other parent is upstream of all of it.
    #[test]
    fn a_test_whose_other_parent_is_upstream_gates_below_the_tested_model() {
        let g = graph(&[
            ("model.accounts", "model.daily"),
            ("model.accounts", "model.other"),
            ("model.daily", "model.weekly"),
            ("model.daily", "model.monthly"),
            ("model.weekly", "model.monthly"),
            ("model.daily", "test.rel"),
            ("model.accounts", "test.rel"),
        ]);
        let tests: &[(&str, &[&str])] = &[("test.rel", &["model.daily", "model.accounts"])];
        assert_eq!(
            gates(&g, tests),
            pairs(&[("test.rel", "model.monthly"), ("test.rel", "model.weekly")])
        );
    }

    /// Both parents upstream through different paths: the first common descendant is gated,
    /// not the nodes above it on either side.
    #[test]
    fn common_descendants_through_long_paths() {
        let g = graph(&[
            ("model.a", "model.a1"),
            ("model.a1", "model.join"),
            ("model.b", "model.b1"),
            ("model.b1", "model.join"),
            ("model.join", "model.after"),
            ("model.a", "test.ab"),
            ("model.b", "test.ab"),
        ]);
        let tests: &[(&str, &[&str])] = &[("test.ab", &["model.a", "model.b"])];
        assert_eq!(gates(&g, tests), pairs(&[("test.ab", "model.join")]));
        let tests: &[(&str, &[&str])] = &[("test.ab", &["model.a1", "model.b1"])];
        assert_eq!(gates(&g, tests), pairs(&[("test.ab", "model.join")]));
        // Parents with no common descendant gate nothing; neither does a test on nothing.
        let tests: &[(&str, &[&str])] =
            &[("test.x", &["model.after", "model.a"]), ("test.none", &[])];
        assert!(gates(&g, tests).is_empty());
    }
}

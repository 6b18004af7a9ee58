//! Selector methods: which graph members one `method:value` matches, before graph operators.
//! Each follows dbt's documented behaviour: which resource kinds it looks at, whether it takes
//! wildcards, how it compares.

use super::glob::{PathGlob, Pattern, fnmatch, has_wildcard};
use super::parse::{Criterion, Method};
use super::previous::PreviousRun;
use super::state::StateComparison;
use crate::error::{Diagnostic, Error};
use crate::graph::Graph;
use crate::project::semantic::{SemanticKind, SemanticNode};
use crate::project::unit_test::UnitTest;
use crate::project::{ExposureNode, Node, Project, ResourceType, SourceNode};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// A graph member, whatever its kind.
#[derive(Debug, Clone, Copy)]
pub enum Member<'a> {
    Node(&'a Node),
    Source(&'a SourceNode),
    Exposure(&'a ExposureNode),
    UnitTest(&'a UnitTest),
    Semantic(&'a SemanticNode),
}

impl<'a> Member<'a> {
    pub fn unique_id(self) -> &'a str {
        match self {
            Member::Node(n) => &n.unique_id,
            Member::Source(s) => &s.unique_id,
            Member::Exposure(e) => &e.unique_id,
            Member::UnitTest(u) => &u.unique_id,
            Member::Semantic(n) => &n.unique_id,
        }
    }

    pub fn resource_type(self) -> ResourceType {
        match self {
            Member::Node(n) => n.resource_type,
            Member::Source(_) => ResourceType::Source,
            Member::Exposure(_) => ResourceType::Exposure,
            Member::UnitTest(_) => ResourceType::UnitTest,
            Member::Semantic(n) => n.kind.resource_type(),
        }
    }

    pub fn package(self) -> &'a str {
        match self {
            Member::Node(n) => &n.package_name,
            Member::Source(s) => &s.package_name,
            Member::Exposure(e) => &e.package_name,
            Member::UnitTest(u) => &u.package_name,
            Member::Semantic(n) => &n.package_name,
        }
    }

    pub fn original_file_path(self) -> &'a str {
        match self {
            Member::Node(n) => &n.original_file_path,
            Member::Source(s) => &s.original_file_path,
            Member::Exposure(e) => &e.original_file_path,
            Member::UnitTest(u) => &u.original_file_path,
            Member::Semantic(n) => &n.original_file_path,
        }
    }

    pub fn tags(self) -> Vec<String> {
        match self {
            Member::Node(n) => n.tags(),
            Member::Source(s) => s.tags.clone(),
            Member::Exposure(e) => e.tags.clone(),
            Member::UnitTest(u) => u.tags(),
            Member::Semantic(n) => crate::project::semantic::tags(&n.spec),
        }
    }

    /// The properties file that described the node, project-relative.
    fn patch_file(self) -> Option<&'a str> {
        match self {
            Member::Node(n) => n
                .patch_path
                .as_deref()
                .map(|p| p.split_once("://").map_or(p, |(_, f)| f)),
            _ => None,
        }
    }
}

/// Every member of the graph with what it is, in unique_id order.
pub fn members<'a>(project: &'a Project, graph: &'a Graph) -> Vec<Member<'a>> {
    graph
        .parents
        .keys()
        .filter_map(|id| {
            if let Some(n) = project.nodes.get(id) {
                Some(Member::Node(n))
            } else if let Some(s) = project.sources.get(id) {
                Some(Member::Source(s))
            } else if let Some(u) = project.unit_tests.get(id) {
                Some(Member::UnitTest(u))
            } else if let Some(e) = project.exposures.get(id) {
                Some(Member::Exposure(e))
            } else {
                project.semantic.get(id).map(Member::Semantic)
            }
        })
        .collect()
}

/// The members one criterion's method matches (graph operators are applied by the caller).
/// `selector:` is resolved by the evaluator, not here.
pub fn search(
    project: &Project,
    members: &[Member<'_>],
    (state, previous): (Option<&StateComparison<'_>>, &PreviousRun),
    c: &Criterion,
) -> Result<BTreeSet<String>, Error> {
    let value = c.value.as_str();
    let keep = |f: &dyn Fn(Member<'_>) -> bool| -> BTreeSet<String> {
        members
            .iter()
            .filter(|t| f(**t))
            .map(|t| t.unique_id().to_string())
            .collect()
    };
    Ok(match c.method {
        Method::Fqn => keep(&|t| match t {
            Member::Node(n) => fqn_matches(n, value),
            // A unit test's fqn is `[package, model, name]`, so a model's name selects its unit
            // tests too, as in dbt.
            Member::UnitTest(u) => {
                u.name == value
                    || fqn_path_matches(&u.fqn, value)
                    || fqn_path_matches(&u.fqn[1..], value)
            }
            _ => false,
        }),
        Method::Tag => {
            let p = Pattern::new(value);
            keep(&|t| t.tags().iter().any(|tag| p.matches(tag)))
        }
        Method::Group => keep(
            &|t| matches!(t, Member::Node(n) if n.config.get("group").and_then(Value::as_str) == Some(value)),
        ),
        Method::Access => keep(&|t| {
            matches!(t, Member::Node(n) if n.resource_type == ResourceType::Model
                && n.config.get("access").and_then(Value::as_str).unwrap_or("protected") == value)
        }),
        Method::Source => {
            let parts: Vec<&str> = value.split('.').collect();
            let (package, source, table) = match parts.as_slice() {
                [s] => ("*", *s, "*"),
                [s, t] => ("*", *s, *t),
                [p, s, t] => (*p, *s, *t),
                _ => return Ok(BTreeSet::new()),
            };
            keep(&|t| {
                matches!(t, Member::Source(s) if fnmatch(&s.package_name, package)
                    && fnmatch(&s.source_name, source)
                    && fnmatch(&s.name, table))
            })
        }
        Method::Exposure => {
            let (package, name) = value.split_once('.').unwrap_or(("*", value));
            keep(
                &|t| matches!(t, Member::Exposure(e) if fnmatch(&e.package_name, package) && fnmatch(&e.name, name)),
            )
        }
        Method::UnitTest => {
            // `unit_test:<name>`, `unit_test:<model>.<name>` or `unit_test:<package>.<model>.<name>`
            keep(&|t| {
                matches!(t, Member::UnitTest(u) if fnmatch(&u.name, value)
                    || fnmatch(&format!("{}.{}", u.model, u.name), value)
                    || fnmatch(&format!("{}.{}.{}", u.package_name, u.model, u.name), value))
            })
        }
        Method::Metric | Method::SemanticModel | Method::SavedQuery => {
            let kind = match c.method {
                Method::Metric => SemanticKind::Metric,
                Method::SemanticModel => SemanticKind::SemanticModel,
                _ => SemanticKind::SavedQuery,
            };
            let (package, name) = value.split_once('.').unwrap_or(("*", value));
            keep(&|t| {
                matches!(t, Member::Semantic(n) if n.kind == kind
                    && fnmatch(&n.package_name, package)
                    && fnmatch(&n.name, name))
            })
        }
        Method::Path => {
            let glob = PathGlob::new(value);
            keep(&|t| path_matches(&glob, t))
        }
        Method::File => {
            let p = Pattern::new(value);
            keep(&|t| {
                let ofp = Path::new(t.original_file_path());
                let name = ofp.file_name().map(|s| s.to_string_lossy());
                let stem = ofp.file_stem().map(|s| s.to_string_lossy());
                name.is_some_and(|n| p.matches(&n)) || stem.is_some_and(|s| p.matches(&s))
            })
        }
        Method::Package => {
            let wanted = if value == "this" {
                project.name.as_str()
            } else {
                value
            };
            let p = Pattern::new(wanted);
            keep(&|t| p.matches(t.package()))
        }
        Method::Config => {
            let severity = c.args.len() == 1 && c.args[0] == "severity";
            keep(&|t| {
                let config = match t {
                    Member::Node(n) => &n.config,
                    Member::Source(s) => &s.config,
                    Member::UnitTest(u) => &u.config,
                    Member::Exposure(_) | Member::Semantic(_) => return false,
                };
                let mut cur = config.get(&c.args[0]);
                for arg in &c.args[1..] {
                    cur = cur.and_then(|v| v.get(arg.as_str()));
                }
                cur.is_some_and(|v| config_matches(v, value, severity))
            })
        }
        Method::TestName => {
            let p = Pattern::new(value);
            keep(
                &|t| matches!(t, Member::Node(n) if n.test.as_ref().is_some_and(|m| p.matches(&m.name))),
            )
        }
        Method::TestType => keep(&|t| {
            if let Member::UnitTest(_) = t {
                return value == "unit";
            }
            let Member::Node(n) = t else { return false };
            let is_test = n.resource_type == ResourceType::Test;
            match value {
                "generic" | "schema" => is_test && n.test.is_some(),
                "singular" => is_test && n.test.is_none(),
                "data" => is_test,
                _ => false,
            }
        }),
        Method::ResourceType => {
            let wanted = ResourceType::parse(value);
            keep(&|t| Some(t.resource_type()) == wanted)
        }
        Method::Version => keep(&|t| {
            let Member::Node(n) = t else { return false };
            n.resource_type == ResourceType::Model && version_matches(n, value)
        }),
        Method::State => {
            let Some(state) = state else {
                let message = match &previous.dir {
                    Some(dir) => format!(
                        "'{}' needs the manifest.json of a previous run, and there is none in {}",
                        c.raw,
                        dir.display()
                    ),
                    None => format!(
                        "'{}' compares with a previous run, but no --state was given",
                        c.raw
                    ),
                };
                return Err(Diagnostic::error("selector", message)
                .with_help(
                    "pass --state <dir> pointing at the target folder (with manifest.json) of the run to compare with",
                )
                .into());
            };
            keep(&|t| state.check(value, t.unique_id()))
        }
        Method::Result => {
            let ids = previous.with_result(&c.raw, value)?;
            keep(&|t| ids.contains(t.unique_id()))
        }
        Method::SourceStatus => {
            let ids = previous.fresher_sources(&c.raw)?;
            keep(&|t| ids.contains(t.unique_id()))
        }
        Method::Selector => BTreeSet::new(),
        Method::Pii => {
            let held = pii_held(project);
            let p = Pattern::new(&value.to_lowercase());
            let wanted = |(kinds, masked): &(BTreeSet<String>, bool)| match value {
                PSEUDONYMISED => *masked,
                "*" | "any" => !kinds.is_empty(),
                _ => kinds.iter().any(|k| p.matches(k)),
            };
            keep(&|t| held.get(t.unique_id()).is_some_and(wanted))
        }
    })
}

/// `pii:pseudonymised`: the nodes with a masked column.
const PSEUDONYMISED: &str = "pseudonymised";

/// The kinds of PII each source, seed, model and snapshot holds, and whether it holds a
/// pseudonymised column: what YAML and dbt_project.yml declare, and what the last compile's
/// lineage propagated (`<target>/pii.json`, when present).
fn pii_held(project: &Project) -> std::collections::BTreeMap<String, (BTreeSet<String>, bool)> {
    use crate::schemas::pii::{Declared, PiiArtifact, PiiStatus};
    let mut out: std::collections::BTreeMap<String, (BTreeSet<String>, bool)> = Default::default();
    for (id, cols) in crate::schemas::pii::declared(project) {
        for d in cols.values() {
            if let Declared::Kinds(k) = d {
                out.entry(id.clone())
                    .or_default()
                    .0
                    .extend(k.iter().cloned());
            }
        }
    }
    let file = project.target_dir().join(crate::schemas::pii::PII_FILE);
    if let Some(artifact) = PiiArtifact::read(&file) {
        for (id, node) in &artifact.nodes {
            for c in node.columns.values() {
                let entry = out.entry(id.clone()).or_default();
                match c.status {
                    PiiStatus::Pii => entry.0.extend(c.kinds.iter().cloned()),
                    PiiStatus::Pseudonymised => entry.1 = true,
                }
            }
        }
    }
    out
}

/// For a criterion whose value names nothing, the closest name its method knows (node names and
/// folders for a bare name, tags for `tag:`, ...), if one is close enough to be a typo.
pub fn suggest(project: &Project, members: &[Member<'_>], c: &Criterion) -> Option<String> {
    let value = c.value.as_str();
    if has_wildcard(value) {
        return None;
    }
    let mut names: BTreeSet<String> = BTreeSet::new();
    for t in members {
        match (c.method, t) {
            (Method::Fqn, Member::Node(n)) => {
                names.insert(n.name.clone());
                // Folders and dotted paths below the package: `staging`, `staging.crm`.
                for end in 2..n.fqn.len() {
                    names.insert(n.fqn[1..end].join("."));
                }
            }
            (Method::Tag, t) => names.extend(t.tags()),
            (Method::Source, Member::Source(s)) => {
                names.insert(s.source_name.clone());
                names.insert(format!("{}.{}", s.source_name, s.name));
            }
            (Method::Exposure, Member::Exposure(e)) => {
                names.insert(e.name.clone());
            }
            (Method::UnitTest | Method::Fqn, Member::UnitTest(u)) => {
                names.insert(u.name.clone());
            }
            (Method::Metric | Method::SemanticModel | Method::SavedQuery, Member::Semantic(n))
                if n.kind.resource_type().as_str() == c.method.as_str() =>
            {
                names.insert(n.name.clone());
            }
            (Method::Path, t) => {
                let mut p = t.original_file_path();
                names.insert(p.to_string());
                while let Some((parent, _)) = p.rsplit_once('/') {
                    names.insert(parent.to_string());
                    p = parent;
                }
            }
            (Method::File, t) => {
                let ofp = Path::new(t.original_file_path());
                if let Some(f) = ofp.file_name() {
                    names.insert(f.to_string_lossy().into_owned());
                }
            }
            (Method::Package, t) => {
                names.insert(t.package().to_string());
            }
            (Method::Group, Member::Node(n)) => {
                if let Some(g) = n.config.get("group").and_then(Value::as_str) {
                    names.insert(g.to_string());
                }
            }
            (Method::TestName, Member::Node(n)) => {
                if let Some(m) = &n.test {
                    names.insert(m.name.clone());
                }
            }
            _ => {}
        }
    }
    if c.method == Method::Package {
        names.insert(project.name.clone());
    }
    if names.contains(value) {
        return None;
    }
    let limit = 2.max(value.chars().count() / 3);
    names
        .into_iter()
        .map(|n| (crate::graph::levenshtein(value, &n), n))
        .filter(|(d, n)| *d <= limit && *d < n.chars().count())
        .min()
        .map(|(_, n)| n)
}

/// dbt's fqn rule: the node's name, or the dotted fqn (with or without the package) matched
/// segment by segment from the start, with a wildcard segment matching the rest of the path.
pub fn fqn_matches(node: &Node, selector: &str) -> bool {
    is_selected(node, &node.fqn, selector)
        || (node.fqn.len() > 1 && is_selected(node, &node.fqn[1..], selector))
}

/// The dotted selector matched segment by segment against `fqn`, a wildcard segment matching
/// the rest of the path.
fn fqn_path_matches(fqn: &[String], selector: &str) -> bool {
    let flat: Vec<&str> = fqn.iter().flat_map(|s| s.split('.')).collect();
    let parts: Vec<&str> = selector.split('.').collect();
    if flat.len() < parts.len() {
        return false;
    }
    for (i, part) in parts.iter().enumerate() {
        if has_wildcard(part) {
            return fnmatch(&flat[i..].join("."), &parts[i..].join("."));
        }
        if flat[i] != *part {
            return false;
        }
    }
    true
}

fn is_selected(node: &Node, fqn: &[String], selector: &str) -> bool {
    match &node.version {
        Some(v) => {
            if selector == node.name
                || selector == format!("{}.v{v}", node.name)
                || selector == format!("{}_v{v}", node.name)
            {
                return true;
            }
        }
        None => {
            if fqn.last().is_some_and(|l| l == selector) {
                return true;
            }
        }
    }
    let flat: Vec<&str> = fqn.iter().flat_map(|s| s.split('.')).collect();
    let parts: Vec<&str> = selector.split('.').collect();
    if flat.len() < parts.len() {
        return false;
    }
    for (i, part) in parts.iter().enumerate() {
        if has_wildcard(part) {
            return fnmatch(&flat[i..].join("."), &parts[i..].join("."));
        }
        if flat[i] != *part {
            return false;
        }
    }
    true
}

/// `path:` yields the file itself, any folder above it, and (for nodes described in a
/// properties file) that YAML file.
fn path_matches(glob: &PathGlob, t: Member<'_>) -> bool {
    if glob.is_root() {
        return true;
    }
    let ofp = t.original_file_path();
    if glob.matches(ofp) {
        return true;
    }
    if t.patch_file().is_some_and(|yml| glob.matches(yml)) {
        return true;
    }
    let mut dir = ofp;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        if glob.matches(parent) {
            return true;
        }
        dir = parent;
    }
    false
}

/// dbt compares a config value with the selector as text; lists match if any item does; booleans
/// match `true` / `false` in any case; `severity` ignores case.
fn config_matches(v: &Value, selector: &str, ignore_case: bool) -> bool {
    let scalar = |v: &Value| match v {
        Value::String(s) if ignore_case => s.eq_ignore_ascii_case(selector),
        Value::String(s) => s == selector,
        Value::Bool(b) => selector.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Number(n) => n.to_string() == selector,
        _ => false,
    };
    match v {
        Value::Array(items) => items.iter().any(scalar),
        other => scalar(other),
    }
}

/// Versions compare as numbers when both are numbers, else as text (dbt's `UnparsedVersion`).
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.cmp(b),
    }
}

fn version_matches(n: &Node, selector: &str) -> bool {
    use std::cmp::Ordering;
    let (version, latest) = (n.version.as_deref(), n.latest_version.as_deref());
    match selector {
        "none" => version.is_none(),
        "latest" => version.is_some() && version == latest.or(version),
        "prerelease" => {
            matches!((version, latest), (Some(v), Some(l)) if compare_versions(v, l) == Ordering::Greater)
        }
        "old" => {
            matches!((version, latest), (Some(v), Some(l)) if compare_versions(v, l) == Ordering::Less)
        }
        _ => false,
    }
}

//! Node selection: dbt's selector language (`--select`, `--exclude`, `--selector`).
//!
//! [`parse`] turns strings into an expression tree, [`selectors`] reads selectors.yml into named
//! trees, and [`eval`] walks a tree over the graph (methods, then graph operators, then set
//! operations, with tests pulled in by indirect selection). The whole selection is
//! `include − exclude`, where `include` is `--select`, or `--selector`, or the selector marked
//! `default: true`, or everything; `--exclude` is subtracted last, with eager indirect selection
//! so that excluding a model also excludes its tests, as in dbt.

mod eval;
mod glob;
mod methods;
pub mod parse;
pub mod previous;
pub mod selectors;
mod state;

use crate::error::{Diagnostic, Error};
use crate::graph::Graph;
use crate::project::Project;
use parse::{Expr, SetOp};
use std::collections::BTreeSet;

/// How tests are pulled in by selecting the nodes they test: dbt's `--indirect-selection`
/// modes (eager, cautious, buildable, empty), as [`eval`] applies them. The command line has its
/// own copy of these names (`crate::cli`), so that selection does not depend on clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndirectSelection {
    #[default]
    Eager,
    Cautious,
    Buildable,
    Empty,
}

/// What the user asked to select.
#[derive(Debug, Clone, Default)]
pub struct SelectionSpec {
    pub select: Vec<String>,
    pub exclude: Vec<String>,
    pub selector: Option<String>,
    pub indirect: IndirectSelection,
    /// The `--state` manifest, for `state:` methods.
    pub state_manifest: Option<std::sync::Arc<crate::schemas::read::StateManifest>>,
    /// The `--state` run's results and freshness, for `result:` and `source_status:`.
    pub previous: previous::PreviousRun,
}

/// The outcome of a selection, with the warnings a command may show.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// unique_ids of the selected nodes, sources and exposures.
    pub ids: BTreeSet<String>,
    /// Selection criteria that matched nothing.
    pub warnings: Vec<Diagnostic>,
    /// The selector from selectors.yml used because nothing else was asked for.
    pub default_selector: Option<String>,
}

/// What `--select` means when it is not given: every node, source and exposure.
const EVERYTHING: [&str; 6] = [
    "fqn:*",
    "source:*",
    "exposure:*",
    "metric:*",
    "semantic_model:*",
    "saved_query:*",
];

/// The unique_ids (nodes, sources, exposures) the spec selects.
pub fn select(
    project: &Project,
    graph: &Graph,
    spec: &SelectionSpec,
) -> Result<BTreeSet<String>, Error> {
    selection(project, graph, spec).map(|s| s.ids)
}

/// A `--select` / `--exclude` value list; blank values are an error, not "everything".
fn parse_flag(values: &[String], flag: &str, indirect: IndirectSelection) -> Result<Expr, Error> {
    match parse::parse_cli(values, indirect, true) {
        Ok(Some(e)) => Ok(e),
        Ok(None) => Err(
            Diagnostic::error("selector", format!("{flag} was given no selector"))
                .with_help(parse::GRAMMAR_HELP)
                .into(),
        ),
        Err(ds) => Err(Error::Diagnostics(ds)),
    }
}

/// Selects, and reports criteria that matched nothing.
pub fn selection(
    project: &Project,
    graph: &Graph,
    spec: &SelectionSpec,
) -> Result<Selection, Error> {
    let selectors = selectors::Selectors::load(project.selectors.as_ref(), spec.indirect)?;
    if spec.selector.is_some() && !(spec.select.is_empty() && spec.exclude.is_empty()) {
        let flag = if spec.select.is_empty() {
            "--exclude"
        } else {
            "--select"
        };
        return Err(Diagnostic::error(
            "flags",
            format!("--selector cannot be combined with {flag}"),
        )
        .with_help(
            "dbt ignores --select and --exclude when --selector is given; put the whole \
             selection in selectors.yml (exclusions under `exclude:`), or drop --selector",
        )
        .into());
    }
    // Both flags are parsed before either fails, so one run reports every bad selector.
    let select =
        (!spec.select.is_empty()).then(|| parse_flag(&spec.select, "--select", spec.indirect));
    let exclude = (!spec.exclude.is_empty())
        .then(|| parse_flag(&spec.exclude, "--exclude", IndirectSelection::Eager));
    if let (Some(Err(a)), Some(Err(b))) = (&select, &exclude) {
        let mut all = a.diagnostics();
        all.extend(b.diagnostics());
        return Err(Error::Diagnostics(all));
    }
    let mut default_selector = None;
    let include = if let Some(name) = &spec.selector {
        selectors.get(name)?.expr.clone()
    } else if let Some(select) = select {
        select?
    } else if let (None, Some(name)) = (&exclude, &selectors.default) {
        default_selector = Some(name.clone());
        selectors.get(name)?.expr.clone()
    } else {
        everything(spec)
    };
    let mut top = vec![include];
    if let Some(exclude) = exclude {
        top.push(exclude?);
    }
    let expr = Expr::group(SetOp::Difference, top, IndirectSelection::Eager);
    let mut ev = eval::Evaluator::new(
        project,
        graph,
        &selectors,
        spec.state_manifest.as_deref(),
        &spec.previous,
    );
    let (ids, _) = ev.eval(&expr)?;
    Ok(Selection {
        ids,
        warnings: ev.warnings,
        default_selector,
    })
}

fn everything(spec: &SelectionSpec) -> Expr {
    let values: Vec<String> = EVERYTHING.iter().map(ToString::to_string).collect();
    match parse::parse_cli(&values, spec.indirect, false) {
        Ok(Some(e)) => e,
        // The constant parses; an empty union is the safe fallback all the same.
        _ => Expr::group(SetOp::Union, vec![], spec.indirect),
    }
}

//! `kiln clone --state <dir>`: make the selected models, seeds and snapshots of a previous run
//! (its manifest.json) available in this target without rebuilding them, as `dbt clone` does:
//! each becomes a zero-copy clone of the state's table where the engine has one, otherwise a view
//! over the state's relation (DuckDB, like dbt-duckdb). A relation that already exists in this
//! target is kept ("No-op") unless `--full-refresh`. Ephemeral models have no relation and are
//! left out. The results go to run_results.json; the exit code is 1 when any clone failed.

use crate::adapter::{RelationInfo, RelationKind};
use crate::cli::{ResourceTypeArgs, SelectArgs};
use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::Invocation;
use crate::project::{Node, ResourceType};
use crate::runner::{NodeResult, RunSummary, Status, Timing};
use crate::session::{Loaded, load_and_parse};
use serde_json::Map;
use std::collections::BTreeMap;
use std::time::Instant;

/// The resource types that have relations to clone (dbt's refable types).
const CLONABLE: [ResourceType; 3] = [
    ResourceType::Model,
    ResourceType::Seed,
    ResourceType::Snapshot,
];

pub fn run(
    inv: &Invocation,
    select: &SelectArgs,
    types: &ResourceTypeArgs,
) -> Result<Outcome, Error> {
    let full_refresh = inv.flags.full_refresh;
    if select.state.is_none() && select.defer_state.is_none() {
        return Err(Diagnostic::error(
            "flags",
            "kiln clone needs --state <dir>: the target folder of the run whose relations to clone",
        )
        .with_help("e.g. kiln clone --state prod-artifacts/ --target dev")
        .into());
    }
    let loaded = load_and_parse(inv, "clone")?;
    // The relations to clone come from the state's manifest (--defer-state overrides --state).
    let defer_args = SelectArgs {
        defer: true,
        ..select.clone()
    };
    let Some((state, _)) = loaded.defer_manifest(&defer_args)? else {
        return Ok(Outcome::Success);
    };
    let include: std::collections::BTreeSet<ResourceType> = if types.resource_type.is_empty() {
        CLONABLE.into_iter().collect()
    } else {
        super::ls::parse_types(&types.resource_type, "--resource-type")?
    };
    let exclude = super::ls::parse_types(&types.exclude_resource_type, "--exclude-resource-type")?;
    let ids: Vec<String> = loaded
        .select(select)?
        .into_iter()
        .filter(|id| {
            loaded.project.nodes.get(id).is_some_and(|n| {
                CLONABLE.contains(&n.resource_type)
                    && include.contains(&n.resource_type)
                    && !exclude.contains(&n.resource_type)
                    && !n.is_ephemeral()
            })
        })
        .collect();
    loaded.found().emit();
    if ids.is_empty() {
        inv.output
            .info("Nothing to do: the selection matches no model, seed or snapshot to clone.");
        return Ok(Outcome::Success);
    }
    if !loaded.adapter.supports_clone() || !loaded.adapter.can_execute() {
        return Err(Diagnostic::error(
            "flags",
            format!(
                "kiln clone cannot run on the {} adapter yet",
                loaded.adapter.adapter_type()
            ),
        )
        .with_help("run it against a DuckDB target")
        .into());
    }
    let threads = loaded.project.target.threads.max(1);
    inv.output.info(&format!(
        "Concurrency: {threads} thread{} (target='{}')\n",
        if threads == 1 { "" } else { "s" },
        loaded.project.target.name
    ));
    let started = Instant::now();
    let pool = crate::runner::connect(&loaded)?;
    let mut results = vec![];
    let mut listed: BTreeMap<(String, String), Vec<RelationInfo>> = BTreeMap::new();
    for id in &ids {
        let Some(n) = loaded.project.nodes.get(id) else {
            continue;
        };
        let r = clone_node(
            &loaded,
            &pool,
            n,
            state.nodes().get(id),
            full_refresh,
            &mut listed,
        );
        if let Some(line) = &r.1 {
            inv.output.info(line);
        }
        results.push(r.0);
    }
    let summary = RunSummary {
        results,
        elapsed: started.elapsed().as_secs_f64(),
        interrupted: false,
        errors: vec![],
    };
    write_results(inv, &loaded, &summary)?;
    let counts = counts_text(&loaded, &ids);
    crate::runner::output::report(&summary, &counts, &loaded.project.nodes);
    let failed = summary.failed();
    loaded.adapter.close();
    crate::session::exit_without_freeing(loaded);
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// Clones one node; the result and the line to print about it.
fn clone_node(
    loaded: &Loaded,
    pool: &crate::adapter::Pool,
    n: &Node,
    old: Option<&crate::schemas::read::ManifestNode>,
    full_refresh: bool,
    listed: &mut BTreeMap<(String, String), Vec<RelationInfo>>,
) -> (NodeResult, Option<String>) {
    let adapter = loaded.adapter.as_ref();
    let t0 = chrono::Utc::now();
    let clock = Instant::now();
    let mut result = NodeResult {
        unique_id: n.unique_id.clone(),
        status: Status::Success,
        message: Some("No-op".into()),
        failures: None,
        timing: vec![],
        thread_id: "Thread-1".into(),
        execution_time: 0.0,
        adapter_response: Map::new(),
        compiled_code: None,
        relation_name: None,
        detail: None,
        batches: None,
        compiled_path: None,
        failures_relation: None,
        problem: None,
        reused: None,
    };
    let target = crate::materialize::RelationTarget::of(n).sql(adapter);
    result.relation_name = Some(target.clone());
    let Some((db, schema, alias)) = old.and_then(|o| o.relation()) else {
        return (
            result,
            Some(format!(
                "No relation found in state manifest for {}",
                n.unique_id
            )),
        );
    };
    let source_target = crate::materialize::RelationTarget {
        database: db.to_string(),
        schema: schema.to_string(),
        identifier: alias.to_string(),
    };
    let source = source_target.sql(adapter);
    let mut lookup = |database: &str, schema: &str, identifier: &str| -> Option<RelationKind> {
        let rels = listed
            .entry((database.to_lowercase(), schema.to_lowercase()))
            .or_insert_with(|| {
                pool.with(|c| c.list_relations(database, schema))
                    .unwrap_or_default()
            });
        rels.iter()
            .find(|r| r.identifier.eq_ignore_ascii_case(identifier))
            .map(|r| r.kind)
    };
    let existing = lookup(&n.database, &n.schema, &n.alias);
    if existing.is_some() && !full_refresh {
        return (result, Some(format!("Relation {target} already exists")));
    }
    if source == target {
        return (
            result,
            Some(format!(
                "Relation {target} is the state's own relation: nothing to clone"
            )),
        );
    }
    let source_kind = lookup(db, schema, alias);
    let Some((plan, kind)) =
        crate::materialize::clone::plan(adapter, &target, &source, source_kind, existing)
    else {
        return (result, None);
    };
    let ran = pool.with(|c| {
        c.create_schema(&n.database, &n.schema)?;
        crate::runner::run_plan(c, adapter, &plan).map_err(|f| f.error)?;
        Ok(())
    });
    result.timing.push(Timing {
        name: "execute",
        started_at: t0,
        completed_at: chrono::Utc::now(),
    });
    result.execution_time = clock.elapsed().as_secs_f64();
    result.compiled_code = Some(
        plan.statements(adapter)
            .iter()
            .map(|s| format!("{s};"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    match ran {
        Ok(()) => {
            result.message = Some("OK".into());
            (
                result,
                Some(format!("Cloned {} into {} {target}", source, kind.as_str())),
            )
        }
        Err(e) => {
            result.status = Status::Error;
            result.message = Some(e.message.clone());
            result.detail = Some(format!(
                "Database Error in {} {} ({})\n  cannot clone {source} into {target}: {}",
                n.resource_type, n.name, n.original_file_path, e.message
            ));
            (
                result,
                Some(format!("ERROR cloning {source} into {target}")),
            )
        }
    }
}

/// "2 models, 1 seed": what was cloned, by resource type.
fn counts_text(loaded: &Loaded, ids: &[String]) -> String {
    let mut counts: BTreeMap<ResourceType, usize> = BTreeMap::new();
    for n in ids.iter().filter_map(|id| loaded.project.nodes.get(id)) {
        *counts.entry(n.resource_type).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(t, c)| format!("{c} {t}{}", if c == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_results(inv: &Invocation, loaded: &Loaded, summary: &RunSummary) -> Result<(), Error> {
    let args = inv
        .flags
        .run_results_args("clone", &loaded.project.target.name, &inv.load.cli_vars);
    let doc = crate::artifacts::run_results::run_results_json(
        summary,
        &loaded.info.invocation_id,
        &loaded.info.run_started_at,
        args,
        &loaded.project.target,
    );
    let path = loaded.project.target_dir().join("run_results.json");
    let text = serde_json::to_vec_pretty(&doc).map_err(|e| {
        Error::one(Diagnostic::error(
            "artifacts",
            format!("cannot serialise run_results.json: {e}"),
        ))
    })?;
    crate::artifacts::write_atomic(&path, &text)?;
    loaded.write_manifest()
}

//! `kiln docs generate`'s catalog: compile the selection (writing target/compiled, the column
//! lineage and the manifest, as `kiln compile` does; not with `--no-compile`), then ask the warehouse about
//! every selected model, seed, snapshot and source relation (one catalog query per schema,
//! [`crate::adapter::Connection::catalog`]) and write target/catalog.json. Relations that do not
//! exist yet are named in the output and left out of the file, as dbt leaves them out.

use crate::artifacts::catalog::{CatalogInput, CatalogMeta, catalog_json, to_text};
use crate::cli::SelectArgs;
use crate::error::{Error, Outcome};
use crate::events::{Event, kinds};
use crate::invocation::Invocation;
use crate::project::ResourceType;
use crate::session::{Loaded, load_and_parse};
use std::collections::{BTreeMap, BTreeSet};

/// The SQL an invocation compiled, by unique_id.
pub type Compiled = BTreeMap<String, crate::project::Compiled>;

/// What `docs generate` compiled, handed to the docs site so it reads none of it back from
/// `target/`: the SQL, and the column lineage and PII classification it wrote to lineage.json
/// and pii.json.
pub struct Generated {
    pub compiled: Compiled,
    pub lineage: BTreeMap<String, crate::schemas::lineage::NodeLineage>,
    pub pii: crate::schemas::pii::PiiArtifact,
}

/// What `docs generate` was asked to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenerateOptions {
    /// `--no-compile`: the manifest and target/compiled are left as they are.
    pub no_compile: bool,
    /// `--empty-catalog`: no warehouse query; empty `nodes` and `sources`.
    pub empty_catalog: bool,
}

/// `kiln docs generate`: the catalog part. Returns the loaded project and what it compiled
/// (none with `--no-compile`) for what the command writes next (the docs site).
pub fn generate(
    inv: &Invocation,
    select: &SelectArgs,
    opts: GenerateOptions,
) -> Result<(Loaded, Outcome, Option<Generated>), Error> {
    let loaded = load_and_parse(inv, "generate")?;
    let mut timer = super::StageTimer::new();
    let selected = loaded.select(select)?;
    loaded.found().emit();
    let mut compiled_sql = None;
    if !opts.no_compile {
        let compiled_ids: BTreeSet<String> = selected
            .iter()
            .filter(|id| {
                loaded.project.nodes.get(*id).is_some_and(|n| {
                    matches!(
                        n.resource_type,
                        ResourceType::Model
                            | ResourceType::Analysis
                            | ResourceType::Test
                            | ResourceType::Snapshot
                    )
                })
            })
            .cloned()
            .collect();
        let defer = loaded.defer_manifest(select)?;
        let compiled =
            match super::compile::compile_selected_deferred(&loaded, &compiled_ids, defer.as_ref())
            {
                Ok(c) => c,
                Err(e) => {
                    // dbt's "compile failed, cannot generate docs"; the problem itself follows.
                    Event::new(
                        kinds::CANNOT_GENERATE_DOCS,
                        "compile failed, cannot generate docs",
                    )
                    .emit();
                    return Err(e);
                }
            };
        timer.mark("compile render");
        // The compiled files, the manifest and the column lineage (target/lineage.json, which
        // the docs site reads) with the compile-time checks, as `kiln compile` has them.
        let (lineage, meta) = super::compile::write_beside_lineage(&loaded, compiled)?;
        // Its own marks timed that; the catalog's starts here.
        timer = super::StageTimer::new();
        let mut errors = lineage.errors;
        errors.extend(lineage.contract_errors);
        compiled_sql = Some(Generated {
            compiled: meta.compiled,
            lineage: lineage.nodes,
            pii: lineage.pii,
        });
        if !errors.is_empty() {
            Event::new(
                kinds::CANNOT_GENERATE_DOCS,
                "compile failed, cannot generate docs",
            )
            .emit();
            return Err(Error::Diagnostics(errors));
        }
    }
    // `--select` limits the catalog; without it, every node and source is described.
    let limit =
        (!select.select.is_empty() || !select.exclude.is_empty() || select.selector.is_some())
            .then_some(&selected);
    let input = CatalogInput::of(&loaded.project, limit);
    let mut rows = vec![];
    let mut errors: Vec<String> = vec![];
    if !opts.empty_catalog {
        if !loaded.adapter.supports_catalog() {
            return Err(crate::error::Diagnostic::error(
                "catalog",
                format!(
                    "kiln cannot read the catalog of a `{}` target yet (catalog.json for Athena will come from Glue)",
                    loaded.adapter.adapter_type()
                ),
            )
            .in_file(&loaded.project.target.profiles_path)
            .with_help("`kiln docs generate --empty-catalog` writes catalog.json without it")
            .into());
        }
        Event::new(kinds::BUILDING_CATALOG, "Building catalog").emit();
        let pool = crate::runner::connect(&loaded)?;
        for (database, schema) in input.schemas() {
            match pool.with(|c| c.catalog(&database, &schema)) {
                Ok(mut r) => rows.append(&mut r),
                Err(e) => errors.push(format!(
                    "the catalog of schema {schema}{} could not be read: {e}",
                    if database.is_empty() {
                        String::new()
                    } else {
                        format!(" in database {database}")
                    }
                )),
            }
        }
    }
    let meta = CatalogMeta {
        invocation_id: loaded.info.invocation_id.clone(),
        invocation_started_at: loaded.info.run_started_at,
    };
    let failed = !errors.is_empty();
    let catalog = catalog_json(
        &input,
        &rows,
        &meta,
        failed.then_some(errors.clone()),
        // A source read from files (`external_location`) is never a relation in the warehouse.
        |s| loaded.adapter.external_source_sql(s).is_none(),
    );
    if !opts.empty_catalog && !catalog.missing.is_empty() {
        let n = catalog.missing.len();
        let mut text = format!(
            "{n} selected relation{} not in the warehouse yet, so not in catalog.json (build {} first):",
            if n == 1 { " is" } else { "s are" },
            if n == 1 { "it" } else { "them" },
        );
        for id in &catalog.missing {
            let relation = loaded
                .project
                .nodes
                .get(id)
                .and_then(|n| n.relation_name.clone())
                .or_else(|| {
                    loaded
                        .project
                        .sources
                        .get(id)
                        .map(|s| s.relation_name.clone())
                })
                .unwrap_or_default();
            text.push_str(&format!("\n  {id} ({relation})"));
        }
        inv.output.info(&text);
    }
    let mut catalog = catalog;
    let pii_file = loaded
        .project
        .target_dir()
        .join(crate::schemas::pii::PII_FILE);
    if let Some(pii) = crate::schemas::pii::PiiArtifact::read(&pii_file) {
        crate::artifacts::catalog::add_pii_stats(&mut catalog.json, &pii);
    }
    let path = loaded.project.target_dir().join("catalog.json");
    crate::artifacts::write_atomic(&path, to_text(&catalog.json).as_bytes())?;
    timer.mark("catalog");
    if failed {
        Event::new(
            kinds::WRITE_CATALOG_FAILURE,
            format!(
                "dbt encountered {} failure{} while writing the catalog",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            ),
        )
        .with("num_exceptions", errors.len())
        .emit();
        for e in &errors {
            inv.output.info(e);
        }
    }
    let shown = std::path::absolute(&path).unwrap_or(path);
    Event::new(
        kinds::CATALOG_WRITTEN,
        format!("Catalog written to {}", shown.display()),
    )
    .with("path", shown.display().to_string())
    .emit();
    let outcome = if failed {
        Outcome::Failed
    } else {
        Outcome::Success
    };
    Ok((loaded, outcome, compiled_sql))
}

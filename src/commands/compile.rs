//! `kiln compile`: render the selected nodes to SQL under target/compiled/<project>/ and write the
//! manifest with compiled code. `--inline` compiles a snippet and prints it.

use crate::artifacts::ManifestMeta;
use crate::cli::SelectArgs;
use crate::error::{Error, Outcome};
use crate::invocation::Invocation;
use crate::jinja::compile::{compile_nodes, compile_shared};
use crate::project::{Compiled, ResourceType};
use crate::session::{Loaded, load_and_parse};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// `--empty` (in `inv.flags`): the compiled SQL reads every ref() and source() through a
/// zero-row subquery.
pub fn run(inv: &Invocation, select: &SelectArgs, inline: Option<&str>) -> Result<Outcome, Error> {
    let loaded = load_and_parse(inv, "compile")?;
    if let Some(sql) = inline {
        let mut shared = compile_shared(
            &loaded.project,
            &loaded.jenv,
            loaded.adapter.clone(),
            &loaded.info,
            loaded.graph.clone(),
            None,
        );
        connect_on_demand(&mut shared, &loaded);
        let shared = Arc::new(shared);
        let out = crate::jinja::compile::compile_inline(
            &loaded.project.nodes,
            &loaded.jenv,
            &shared,
            sql,
            &crate::jinja::compile::EphemeralCache::default(),
        )
        .map_err(Error::from)?;
        inv.output.data(out.trim());
        return Ok(Outcome::Success);
    }
    let selected: BTreeSet<String> = loaded
        .select(select)?
        .into_iter()
        .filter(|id| {
            loaded.project.nodes.get(id).is_some_and(|n| {
                matches!(
                    n.resource_type,
                    ResourceType::Model
                        | ResourceType::Analysis
                        | ResourceType::Test
                        | ResourceType::Snapshot
                )
            })
        })
        .collect();
    let timer = super::StageTimer::new();
    let defer = loaded.defer_manifest(select)?;
    let compiled = compile_selected_with(&loaded, &selected, defer.as_ref(), true)?;
    timer.mark("compile render");
    // The compiled files and the manifest, written beside the column lineage (target/lineage.json)
    // and the compile-time checks: a column or relation a model names that its upstream lacks,
    // a contract its SQL does not keep (exit 2).
    let (lineage, meta) = write_beside_lineage(&loaded, compiled)?;
    let named = named_in_selection(&select.select);
    let shown: Vec<(String, String)> = selected
        .iter()
        .filter_map(|id| loaded.project.nodes.get(id))
        .filter(|n| named.contains(n.name.as_str()))
        .map(|n| {
            let code = meta
                .compiled
                .get(&n.unique_id)
                .map(|c| c.code.trim().to_string());
            (n.name.clone(), code.unwrap_or_default())
        })
        .collect();
    let mut errors = lineage.errors;
    errors.extend(lineage.contract_errors);
    errors.extend(lineage.pii_errors);
    if !errors.is_empty() {
        return Err(Error::Diagnostics(errors));
    }
    loaded.found().emit();
    inv.output.info(&format!(
        "Compiled {} nodes into {}",
        selected.len(),
        loaded.project.config.target_path() + "/compiled"
    ));
    // As dbt does, print the SQL of the nodes the user named in --select (not of the tests
    // that came along with them through indirect selection).
    for (name, code) in &shown {
        inv.output.info(&format!("Compiled node '{name}' is:"));
        inv.output.data(code);
    }
    crate::session::exit_without_freeing(loaded);
    // The compiled SQL too (tens of thousands of strings), as the project.
    std::mem::forget(meta);
    Ok(Outcome::Success)
}

/// What `kiln compile` and `kiln docs generate` do with the SQL they compiled: write it under
/// target/compiled, compute the column lineage (target/lineage.json, pii.json, the compile-time
/// checks: [`crate::session::lineage::compile_lineage`]) and write target/manifest.json with the
/// compiled code. The files and the manifest need only the SQL, so they are written on a thread
/// of their own while the lineage is computed on this one; the manifest goes to its temporary
/// file and is put in place only once the lineage succeeded and its warnings were shown, as when
/// the three ran one after another (a lineage failure leaves the previous manifest.json). An
/// error writing the files is reported before the lineage's.
pub(super) fn write_beside_lineage(
    loaded: &Loaded,
    compiled: BTreeMap<String, Compiled>,
) -> Result<(crate::session::lineage::ProjectLineage, ManifestMeta), Error> {
    let timer = super::StageTimer::new();
    let mut meta = loaded.manifest_meta();
    meta.compiled = compiled;
    let meta = meta;
    let (written, lineage) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let write = || {
                let timer = super::StageTimer::nested();
                write_compiled(loaded, &meta.compiled)?;
                timer.mark("write compiled");
                let staged = loaded.stage_manifest(&meta);
                timer.mark("write manifest");
                staged
            };
            // On a pool of its own, not rayon's global pool: the lineage's parallel work is
            // queued there, and would wait behind thousands of file writes. As many threads as
            // cores: the system shares them between the two pools, and once the lineage is done
            // (or waits on its binder) the writes have every core.
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
                Ok(pool) => pool.install(write),
                Err(_) => write(),
            }
        });
        let lineage = crate::session::lineage::compile_lineage(loaded, &meta.compiled);
        (writer.join(), lineage)
    });
    let staged = written.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    let lineage = lineage?;
    timer.mark("lineage + files, manifest");
    loaded.warn(&lineage.warnings)?;
    loaded.commit_manifest(staged)?;
    timer.mark("manifest in place");
    Ok((lineage, meta))
}

/// The bare node names in `--select` values: `+orders+` and `2+orders` name `orders`; methods
/// (`tag:x`) and paths name none.
fn named_in_selection(select: &[String]) -> BTreeSet<&str> {
    select
        .iter()
        .flat_map(|s| s.split([' ', ',']))
        .map(|t| {
            t.trim_start_matches(['@', '+'])
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start_matches('+')
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .trim_end_matches('+')
        })
        .filter(|t| !t.is_empty() && !t.contains([':', '/', '*', '.']))
        .collect()
}

/// Compiles `selected` with the graph available to Jinja.
pub fn compile_selected(
    loaded: &Loaded,
    selected: &BTreeSet<String>,
) -> Result<BTreeMap<String, Compiled>, Error> {
    compile_selected_deferred(loaded, selected, None)
}

/// [`compile_selected`], also giving the nodes whose SQL a run renders differently (they ask
/// `is_incremental()`, the database or the quality history):
/// [`crate::jinja::compile::compile_nodes_noting_live`].
pub fn compile_selected_noting_live(
    loaded: &Loaded,
    selected: &BTreeSet<String>,
) -> Result<(BTreeMap<String, Compiled>, BTreeSet<String>), Error> {
    let shared = compile_shared(
        &loaded.project,
        &loaded.jenv,
        loaded.adapter.clone(),
        &loaded.info,
        loaded.graph.clone(),
        crate::session::graph_fn(loaded),
    );
    crate::jinja::compile::compile_nodes_noting_live(
        &loaded.project,
        &loaded.jenv,
        Arc::new(shared),
        selected,
    )
}

/// [`compile_selected`], with `--defer`'s state manifest and `--favor-state`: refs to nodes that
/// are not compiled here and that this target has not built read the state's relations (which
/// needs the database, as in dbt).
pub fn compile_selected_deferred(
    loaded: &Loaded,
    selected: &BTreeSet<String>,
    defer: Option<&(std::sync::Arc<crate::schemas::read::StateManifest>, bool)>,
) -> Result<BTreeMap<String, Compiled>, Error> {
    compile_selected_with(loaded, selected, defer, false)
}

/// As dbt's compile: the warehouse is reachable from the templates (`run_query`,
/// `adapter.get_columns_in_relation`... under `{% if execute %}`), its connection opened only
/// when one of them first asks, so a project that introspects nothing compiles offline.
fn connect_on_demand(shared: &mut crate::jinja::context::Shared, loaded: &Loaded) {
    if shared.db.is_none() {
        shared.db = Some(Arc::new(crate::adapter::pool::Pool::new(
            loaded.adapter.clone(),
        )));
    }
}

/// [`compile_selected_deferred`]; `live`: the templates reach the warehouse
/// ([`connect_on_demand`]), as `kiln compile`'s do.
fn compile_selected_with(
    loaded: &Loaded,
    selected: &BTreeSet<String>,
    defer: Option<&(std::sync::Arc<crate::schemas::read::StateManifest>, bool)>,
    live: bool,
) -> Result<BTreeMap<String, Compiled>, Error> {
    let graph_fn = crate::session::graph_fn(loaded);
    let mut shared = compile_shared(
        &loaded.project,
        &loaded.jenv,
        loaded.adapter.clone(),
        &loaded.info,
        loaded.graph.clone(),
        graph_fn,
    );
    if let Some((state, favor_state)) = defer {
        let pool = crate::runner::connect(loaded)?;
        let ids: Vec<String> = selected.iter().cloned().collect();
        crate::runner::defer(&mut shared, loaded, &ids, state, *favor_state, &pool);
    }
    if live {
        connect_on_demand(&mut shared, loaded);
    }
    compile_nodes(&loaded.project, &loaded.jenv, Arc::new(shared), selected)
}

/// target/compiled/<project>/<file>: generic tests go under their YAML file's path.
pub fn compiled_path(loaded: &Loaded, id: &str) -> Option<PathBuf> {
    let n = loaded.project.nodes.get(id)?;
    let mut p = PathBuf::from(loaded.project.config.target_path())
        .join("compiled")
        .join(&n.package_name);
    p.push(&n.original_file_path);
    if n.test.is_some() {
        p.push(&n.path);
    }
    Some(p)
}

/// Writes each compiled node to its file, on every core (tens of thousands of small files).
pub(super) fn write_compiled(
    loaded: &Loaded,
    compiled: &BTreeMap<String, Compiled>,
) -> Result<(), Error> {
    use rayon::prelude::*;
    let files: Vec<(std::path::PathBuf, &str)> = compiled
        .iter()
        .filter_map(|(id, c)| {
            Some((
                loaded.project.dir.join(compiled_path(loaded, id)?),
                c.code.as_str(),
            ))
        })
        .collect();
    // Without target/compiled/ (a clean target), no file is there to compare with: each is
    // written without trying to read it first.
    let root = loaded
        .project
        .dir
        .join(loaded.project.config.target_path())
        .join("compiled");
    let fresh = !root.exists();
    let dirs: BTreeSet<&std::path::Path> = files.iter().filter_map(|(p, _)| p.parent()).collect();
    for dir in dirs {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    files.par_iter().try_for_each(|(path, code)| {
        if fresh {
            crate::session::write_new(path, code.as_bytes())
        } else {
            crate::session::write_if_changed(path, code.as_bytes())
        }
        .map_err(|e| Error::io(path, e))
    })
}

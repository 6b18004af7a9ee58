//! `kiln docs generate`'s docs site (after the catalog, [`super::catalog`]) and `kiln docs
//! serve`. The site itself is [`crate::docs`]: it reads the artifacts in target/.

use crate::error::Outcome;
use crate::error::{Diagnostic, Error};
use crate::invocation::Invocation;
use crate::session::{Loaded, load_and_parse};

/// Writes the docs site into the project's target folder (and `static_index.html` with
/// `--static`) from the loaded project and `generated`, the SQL, lineage and PII classification
/// this invocation compiled (none with `--no-compile`: the SQL the last compile left under
/// target/compiled, and lineage.json and pii.json), with the run results, catalog and freshness
/// artifacts in the target folder.
pub fn write_site(
    inv: &Invocation,
    loaded: &Loaded,
    generated: Option<&super::catalog::Generated>,
    static_page: bool,
) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let timer = super::StageTimer::new();
    let target = loaded.project.target_dir();
    if !target.join("manifest.json").is_file() {
        // `--no-compile` leaves target/ as it is, and there is no manifest to show.
        inv.output.warnings(&[Diagnostic::warning(
            "docs",
            format!(
                "no docs site written: {} has no manifest.json",
                target.display()
            ),
        )
        .with_help("run `kiln docs generate` without --no-compile (or `kiln parse`) first")]);
        return Ok(());
    }
    let on_disk;
    let (compiled, in_memory) = match generated {
        Some(g) => (
            &g.compiled,
            Some(crate::docs::load::InMemory {
                lineage: &g.lineage,
                pii: &g.pii,
            }),
        ),
        None => {
            on_disk = crate::docs::load::compiled_on_disk(&loaded.project, &target);
            (&on_disk, None)
        }
    };
    let shards = crate::docs::ShardWriter::new(&target, static_page)?;
    let data = crate::docs::load::site_data(
        &loaded.project,
        &loaded.graph,
        compiled,
        in_memory,
        &target,
        &shards,
    )?;
    let site = crate::docs::write_site(&target, &data, &shards)?;
    timer.mark("write docs site");
    let page = if static_page {
        let one = crate::docs::write_static(&target, &data, &shards.kept())?;
        timer.mark("write static page");
        one.index
    } else {
        site.index
    };
    let shown = page
        .strip_prefix(&loaded.project.dir)
        .map_or_else(|_| page.display().to_string(), |p| p.display().to_string());
    inv.output.info(&format!(
        "Wrote the docs site ({} nodes) to {shown} in {:.2}s",
        site.nodes,
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// `kiln docs serve`: serves target/ until stopped.
pub fn serve(inv: &Invocation, host: &str, port: u16) -> Result<Outcome, Error> {
    let loaded = load_and_parse(inv, "serve")?;
    let target = loaded.project.target_dir();
    if !target.join("index.html").is_file() {
        return Err(Error::one(
            Diagnostic::error("docs", format!("no docs site in {}", target.display()))
                .with_help("run `kiln docs generate` first"),
        ));
    }
    let (listener, addr) = crate::docs::serve::bind(host, port)?;
    inv.output.info(&format!("Serving docs at http://{addr}/"));
    inv.output.info("Press Ctrl+C to exit.");
    crate::events::flush();
    crate::docs::serve::serve(listener, &target)?;
    Ok(Outcome::Success)
}

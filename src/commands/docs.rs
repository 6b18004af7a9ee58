//! `kiln docs generate` (compile the project, write the manifest and the docs site) and
//! `kiln docs serve` (serve the site in target/). The site itself is [`crate::docs`].

use crate::cli::DocsCommand;
use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::Invocation;
use crate::project::ResourceType;
use crate::session::load_and_parse;
use std::collections::BTreeSet;

pub fn run(inv: &Invocation, command: &DocsCommand) -> Result<Outcome, Error> {
    match command {
        DocsCommand::Generate {
            static_page,
            no_compile,
            ..
        } => generate(inv, *static_page, *no_compile),
        DocsCommand::Serve { host, port } => serve(inv, host, *port),
    }
}

fn generate(inv: &Invocation, static_page: bool, no_compile: bool) -> Result<Outcome, Error> {
    let started = std::time::Instant::now();
    let loaded = load_and_parse(inv, "generate")?;
    let timer = super::StageTimer::new();
    let mut meta = loaded.manifest_meta();
    if !no_compile {
        // As dbt does: every node that has SQL is compiled, so the site shows compiled code.
        let all: BTreeSet<String> = loaded
            .project
            .nodes
            .values()
            .filter(|n| {
                matches!(
                    n.resource_type,
                    ResourceType::Model
                        | ResourceType::Analysis
                        | ResourceType::Test
                        | ResourceType::Snapshot
                )
            })
            .map(|n| n.unique_id.clone())
            .collect();
        let compiled = super::compile::compile_selected(&loaded, &all)?;
        timer.mark("compile render");
        super::compile::write_compiled(&loaded, &compiled)?;
        meta.compiled = compiled;
        loaded.write_manifest_with(&meta)?;
        timer.mark("write manifest");
    } else if !loaded.project.target_dir().join("manifest.json").is_file() {
        loaded.write_manifest_with(&meta)?;
        timer.mark("write manifest");
    }
    let target = loaded.project.target_dir();
    let site = crate::docs::write_site(&target)?;
    timer.mark("write docs site");
    let page = if static_page {
        let one = crate::docs::write_static(&target)?;
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
    crate::session::exit_without_freeing(loaded);
    Ok(Outcome::Success)
}

fn serve(inv: &Invocation, host: &str, port: u16) -> Result<Outcome, Error> {
    let loaded = load_and_parse(inv, "serve")?;
    let target = loaded.project.target_dir();
    if !target.join("index.html").is_file() {
        return Err(Error::one(
            Diagnostic::error(
                "docs",
                format!("no docs site in {}", target.display()),
            )
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

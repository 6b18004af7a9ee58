//! `kiln parse`: read the project, check it, and write target/manifest.json (no database).
//! With nothing changed since the last parse (the parse cache, `session::parse_cache`), the
//! manifest on disk is already the one it would write: it says so and writes nothing.

use crate::error::{Error, Outcome};
use crate::invocation::Invocation;
use crate::session::{exit_without_freeing, load_and_parse, parse_cache};
use crate::timing::StageTimer;

pub fn run(inv: &Invocation) -> Result<Outcome, Error> {
    let started = std::time::Instant::now();
    if let Some(found) = parse_cache::unchanged_parse(inv) {
        crate::session::found_event(found).emit();
        inv.output.info(&format!(
            "Nothing changed since the last parse: the manifest is up to date ({:.2}s)",
            started.elapsed().as_secs_f64()
        ));
        return Ok(Outcome::Success);
    }
    let mut loaded = load_and_parse(inv, "parse")?;
    let timer = StageTimer::new();
    loaded.write_manifest()?;
    timer.mark("write manifest");
    parse_cache::record_artifacts(
        loaded.parse_cache.take(),
        &loaded.project,
        loaded.summary(),
        !loaded.warned,
    );
    loaded.found().emit();
    inv.output.info(&format!(
        "Wrote {} in {:.2}s",
        loaded
            .project
            .target_dir()
            .join("manifest.json")
            .strip_prefix(&loaded.project.dir)
            .map_or_else(|_| "manifest.json".into(), |p| p.display().to_string()),
        started.elapsed().as_secs_f64()
    ));
    exit_without_freeing(loaded);
    Ok(Outcome::Success)
}

//! `kiln parse`: read the project, check it, and write target/manifest.json (no database).

use crate::error::{Error, Outcome};
use crate::invocation::Invocation;
use crate::session::{exit_without_freeing, load_and_parse};
use crate::timing::StageTimer;

pub fn run(inv: &Invocation) -> Result<Outcome, Error> {
    let started = std::time::Instant::now();
    let loaded = load_and_parse(inv, "parse")?;
    let timer = StageTimer::new();
    loaded.write_manifest()?;
    timer.mark("write manifest");
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

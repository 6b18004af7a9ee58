//! `kiln debug`: which project, which profiles.yml, which target, and whether the project parses.
//! The connection check arrives with execution.

use super::load_and_parse;
use crate::error::{Error, Outcome};
use crate::invocation::Invocation;
use crate::project::profiles::EngineTarget;

pub fn run(inv: &Invocation) -> Result<Outcome, Error> {
    let out = &inv.output;
    out.info(&format!(
        "kiln version: {} (dbt {} compatible)",
        env!("CARGO_PKG_VERSION"),
        crate::DBT_COMPAT_VERSION
    ));
    let loaded = load_and_parse(inv, "debug")?;
    let p = &loaded.project;
    let t = &p.target;
    out.info(&format!(
        "project: {} ({})",
        p.name,
        p.dir.join("dbt_project.yml").display()
    ));
    out.info(&format!("profiles.yml: {}", t.profiles_path.display()));
    out.info(&format!(
        "profile: {}  target: {}  type: {}",
        t.profile_name, t.name, t.adapter_type
    ));
    out.info(&format!(
        "database: {}  schema: {}  threads: {}",
        t.database, t.schema, t.threads
    ));
    match &t.engine {
        EngineTarget::DuckDb(d) => out.info(&format!("duckdb path: {}", d.path)),
        EngineTarget::Athena(a) => out.info(&format!(
            "athena region: {}  work group: {}  staging: {}",
            a.region_name,
            a.work_group.as_deref().unwrap_or("primary"),
            a.s3_staging_dir
        )),
    }
    out.info(&loaded.summary());
    out.info("All checks passed! (the connection test arrives with execution)");
    Ok(Outcome::Success)
}

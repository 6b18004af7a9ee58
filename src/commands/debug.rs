//! `kiln debug`: kiln's version, the dbt version it follows and the DuckDB it embeds; which
//! project, which profiles.yml, which target, whether the project parses, and whether the
//! warehouse answers (a connection test running `select 1`).

use crate::error::{Error, Outcome};
use crate::invocation::Invocation;
use crate::session::load_and_parse;

pub fn run(inv: &Invocation) -> Result<Outcome, Error> {
    let out = &inv.output;
    out.info(&format!(
        "kiln version: {} (dbt {} compatible)",
        env!("CARGO_PKG_VERSION"),
        crate::DBT_COMPAT_VERSION
    ));
    out.info(&format!(
        "duckdb version: {} (embedded)",
        crate::adapter::duckdb_version().unwrap_or_else(|| "unknown".into())
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
    for line in &t.details {
        out.info(line);
    }
    loaded.found().emit();
    if !loaded.adapter.can_execute() {
        out.info(&format!(
            "Connection test: skipped ({} targets compile with this version of kiln; they run in a later release)",
            loaded.adapter.adapter_type()
        ));
        out.info("All checks passed!");
        return Ok(Outcome::Success);
    }
    let pool = crate::runner::connect(&loaded)?;
    match pool.with(|c| c.query("select 1 as ok")) {
        Ok(_) => {
            out.info("Connection test: OK connection ok");
            out.info("All checks passed!");
            Ok(Outcome::Success)
        }
        Err(e) => Err(crate::error::Diagnostic::error(
            "database",
            format!("connection test failed: {}", e.message),
        )
        .into()),
    }
}

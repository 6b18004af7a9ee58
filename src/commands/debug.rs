//! `kiln debug`: kiln's version, the dbt version it follows and the DuckDB it embeds; which
//! project, which profiles.yml, which target, whether the project parses, and whether the
//! warehouse answers (a connection test: `select 1` on DuckDB; on Athena, the AWS client's
//! checks of the work group, the query result location, the Glue catalog and the staging bucket).

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
    // The adapter's own connection test: DuckDB runs `select 1`; Athena checks the work group,
    // the result location, the Glue catalog and the staging bucket, each on a line of its own.
    let checks = loaded.adapter.connection_test();
    match checks.as_slice() {
        [one] if one.ok && one.name == "connection" => {
            out.info(&format!("Connection test: OK {}", one.detail));
        }
        _ => {
            let passed: Vec<String> = checks
                .iter()
                .filter(|c| c.ok)
                .map(|c| format!("  {c}"))
                .collect();
            if !passed.is_empty() {
                out.info("Connection test:");
                for line in &passed {
                    out.info(line);
                }
            }
        }
    }
    // Failures as one error (an endpoint that cannot be reached is said once, not per check).
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok && !c.skipped)
        .map(|c| {
            if c.name == "connection" {
                c.detail.clone()
            } else {
                format!("{}: {}", c.name, c.detail)
            }
        })
        .collect();
    if failed.is_empty() {
        out.info("All checks passed!");
        return Ok(Outcome::Success);
    }
    Err(crate::error::Diagnostic::error(
        "database",
        format!("connection test failed: {}", failed.join("; ")),
    )
    .into())
}

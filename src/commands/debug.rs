//! `kiln debug`: kiln's version, the dbt version it follows and the DuckDB it embeds; which
//! project, which profiles.yml, which target, whether the project parses, and whether the
//! warehouse answers (a connection test: `select 1` on DuckDB; on Athena, the AWS client's
//! checks of the work group, the query result location, the Glue catalog and the staging bucket).

use crate::error::{Error, Outcome};
use crate::invocation::Invocation;
use crate::project::profiles::ProfileTarget;
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
    // Athena cannot run models yet, but its connection can be tested: the AWS client's checks.
    // (When the adapter runs, this belongs behind the Adapter trait with `select 1`.)
    if loaded.adapter.adapter_type() == "athena" {
        return athena_connection_test(inv, t);
    }
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

/// Athena's connection test: each check that passed on a line of its own, and the ones that
/// failed as one error (an endpoint that cannot be reached is said once, not per service).
#[cfg(feature = "athena")]
fn athena_connection_test(inv: &Invocation, target: &ProfileTarget) -> Result<Outcome, Error> {
    use crate::adapter::aws::{AwsSettings, check_connection};
    let out = &inv.output;
    let settings = AwsSettings::from_target(&target.name, &target.fields)?;
    let results = check_connection(&settings);
    let passed: Vec<String> = results
        .iter()
        .filter(|r| r.ok)
        .map(|r| format!("  {r}"))
        .collect();
    if !passed.is_empty() {
        out.info("Connection test:");
        for line in &passed {
            out.info(line);
        }
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.ok && !r.skipped)
        .map(|r| format!("{}: {}", r.name, r.detail))
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

#[cfg(not(feature = "athena"))]
fn athena_connection_test(_inv: &Invocation, target: &ProfileTarget) -> Result<Outcome, Error> {
    Err(crate::error::Diagnostic::error(
        "database",
        format!(
            "cannot test target '{}': this kiln was built without its `athena` feature",
            target.name
        ),
    )
    .with_help("build kiln with its default features (`cargo build`) to connect to Athena")
    .into())
}

//! `kiln clean`: delete the project's clean-targets (dbt_project.yml's `clean-targets`, by default
//! target/ and dbt_packages/), and nothing outside the project directory.

use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::Invocation;
use crate::project;

/// Deletes the clean-targets; refuses anything outside the project directory.
pub fn run(inv: &Invocation) -> Result<Outcome, Error> {
    let opts = crate::session::load_options(inv)?;
    let path = opts.project_dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let cfg: project::dbt_project::DbtProject =
        project::yaml::from_str(std::path::Path::new("dbt_project.yml"), &text)?;
    let root =
        std::fs::canonicalize(&opts.project_dir).map_err(|e| Error::io(&opts.project_dir, e))?;
    // Check every target before deleting any, so a bad entry deletes nothing.
    let mut doomed = vec![];
    for t in cfg.clean_targets() {
        let p = opts.project_dir.join(&t);
        if !p.exists() {
            continue;
        }
        let abs = std::fs::canonicalize(&p).map_err(|e| Error::io(&p, e))?;
        if !abs.starts_with(&root) || abs == root {
            let quoted = [format!("\"{t}\""), format!("'{t}'"), format!("- {t}")];
            let offset = quoted
                .iter()
                .filter_map(|q| Some(text.find(q.as_str())? + q.find(t.as_str())?))
                .min();
            let d = Diagnostic::error(
                "clean",
                format!(
                    "clean-target '{t}' is outside the project directory; not deleting anything"
                ),
            )
            .with_help(
                "clean-targets must be folders inside the project, such as target and dbt_packages",
            );
            let shown = std::path::Path::new("dbt_project.yml");
            return Err(match offset {
                Some(o) => d.at(crate::error::Location::from_offset(shown, &text, o)),
                None => d.in_file(shown),
            }
            .into());
        }
        doomed.push((t, abs));
    }
    for (t, abs) in doomed {
        std::fs::remove_dir_all(&abs).map_err(|e| Error::io(&abs, e))?;
        inv.output.info(&format!("Cleaned {t}/"));
    }
    inv.output.info("Finished cleaning all paths.");
    Ok(Outcome::Success)
}

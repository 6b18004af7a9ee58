//! `kiln erase [--apply] [--subjects file.csv] [--no-rebuild]`: GDPR/CCPA erasure
//! ([`crate::erase`]): the project's column lineage computed as `kiln compile` computes it,
//! the subjects found and (with --apply) deleted, target/erase_results.json written, then the
//! tables downstream rebuilt through the runner. Exit 0, 1 when a delete (or the rebuild) failed,
//! 2 for bad config or flags.

use crate::cli::SelectArgs;
use crate::erase::exec::Status;
use crate::erase::find::HolderKind;
use crate::erase::{EraseOptions, EraseReport};
use crate::error::{Error, Outcome};
use crate::invocation::Invocation;
use crate::project::ResourceType;
use crate::runner::RunKind;
use crate::session::{Loaded, load_and_parse};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The command's flags.
pub struct EraseFlags {
    pub apply: bool,
    pub subjects: Option<PathBuf>,
    pub subject_column: Option<String>,
    pub key: Option<String>,
    pub no_rebuild: bool,
}

pub fn run(inv: &Invocation, flags: &EraseFlags) -> Result<Outcome, Error> {
    let loaded = load_and_parse(inv, "erase")?;
    crate::erase::check_engine(loaded.adapter.as_ref())?;
    let subjects_file = match &flags.subjects {
        Some(f) => Some(std::fs::canonicalize(f).map_err(|e| Error::io(f, e))?),
        None => None,
    };
    let ids: BTreeSet<String> = loaded
        .project
        .nodes
        .values()
        .filter(|n| {
            matches!(
                n.resource_type,
                ResourceType::Model | ResourceType::Snapshot
            )
        })
        .map(|n| n.unique_id.clone())
        .collect();
    let compiled = super::compile::compile_selected(&loaded, &ids)?;
    let lineage = crate::session::lineage::compile_lineage(&loaded, &compiled)?;
    let opts = EraseOptions {
        apply: flags.apply,
        subjects_file,
        subject_column: flags.subject_column.clone(),
        key: flags.key.clone(),
        no_rebuild: flags.no_rebuild,
    };
    let report = crate::erase::erase(&loaded, &lineage.nodes, &opts)?;
    crate::erase::write_results(&loaded, &report)?;
    inv.output.data(&render(&loaded, &report, &opts));
    let failed = report.failed();
    let rebuild: Vec<String> = report.rebuild.clone();
    if !opts.apply || opts.no_rebuild || rebuild.is_empty() || failed {
        crate::session::exit_without_freeing(loaded);
        return Ok(if failed {
            Outcome::Failed
        } else {
            Outcome::Success
        });
    }
    let notices = super::notices::config(&loaded)?;
    inv.output
        .info("Rebuilding the tables downstream built from the erased rows:");
    super::run::execute_and_report(
        inv,
        loaded,
        RunKind::Run,
        rebuild,
        &SelectArgs::default(),
        false,
        &notices,
    )
}

fn name_of(loaded: &Loaded, id: &str) -> String {
    loaded
        .project
        .nodes
        .get(id)
        .map_or_else(|| id.to_string(), |n| n.name.clone())
}

/// The report as the terminal shows it: one line per relation, never a subject's value.
fn render(loaded: &Loaded, r: &EraseReport, opts: &EraseOptions) -> String {
    let mut out = String::new();
    let mode = if r.apply {
        "erasing"
    } else {
        "dry run, would erase"
    };
    out.push_str(&format!(
        "kiln erase: {mode} {} subject(s) from {}\n",
        r.subjects, r.subjects_from
    ));
    let width = r.tables.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let mut total = 0;
    for t in &r.tables {
        let what = match t.status {
            Status::WouldDelete => format!("would delete {} row(s)", t.rows),
            Status::Deleted => format!("deleted {} row(s)", t.rows),
            Status::Shows if t.rows == 0 => "shows 0 rows (a view)".to_string(),
            Status::Shows => format!(
                "shows {} row(s) (a view: it shows what its upstreams hold)",
                t.rows
            ),
            Status::OutsideKiln => format!("{} row(s): outside kiln: erase upstream", t.rows),
            Status::NotBuilt => "not built: nothing to delete".to_string(),
            Status::Unreadable if t.kind == HolderKind::Source => format!(
                "outside kiln: erase upstream (cannot be read here: {})",
                t.message.as_deref().unwrap_or("")
            ),
            Status::Unreadable => format!(
                "cannot be read, check it by hand: {}",
                t.message.as_deref().unwrap_or("")
            ),
            Status::Failed => format!(
                "FAILED, nothing deleted: {}",
                t.message.as_deref().unwrap_or("")
            ),
        };
        if matches!(t.status, Status::WouldDelete | Status::Deleted) {
            total += t.rows;
        }
        let kind = match t.kind {
            HolderKind::Snapshot => "snapshot (whole history)",
            other => other.label(),
        };
        out.push_str(&format!("  {:<width$}  {:<24}  {what}\n", t.name, kind));
    }
    let verb = if r.apply { "deleted" } else { "would delete" };
    out.push_str(&format!(
        "{verb} {total} row(s) in {} table(s) kiln manages\n",
        r.tables
            .iter()
            .filter(|t| matches!(t.status, Status::WouldDelete | Status::Deleted) && t.rows > 0)
            .count()
    ));
    for s in &r.seed_files {
        out.push_str(&format!(
            "seed file {}: line(s) {} hold subjects: remove them from the file (the next `kiln seed` loads them again; they also remain in the repository's history)\n",
            s.file,
            s.lines
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for c in &r.hashed_columns {
        out.push_str(&format!(
            "{c} holds the key's keyed hash: erase it with the key in its hashed form (vars.kiln.erase.key naming that column)\n"
        ));
    }
    for c in &r.hashed_from {
        out.push_str(&format!(
            "{c} holds the raw value the key is a keyed hash of: erase there by the raw key (e.g. the contact id)\n"
        ));
    }
    for u in &r.unknown {
        let id = u["unique_id"].as_str().unwrap_or_default();
        out.push_str(&format!(
            "{}: its column lineage is incomplete, kiln cannot tell whether it holds subjects ({}): check it by hand\n",
            name_of(loaded, id),
            u["reason"].as_str().unwrap_or_default()
        ));
    }
    // A dry run that finds no row to delete (and every table read) leaves nothing to rebuild.
    let nothing_found = !r.apply
        && total == 0
        && !r
            .tables
            .iter()
            .any(|t| matches!(t.status, Status::Unreadable | Status::Failed));
    if nothing_found && !r.rebuild.is_empty() {
        out.push_str("no row to delete, so nothing needs rebuilding\n");
    } else if !r.rebuild.is_empty() {
        let names: Vec<String> = r.rebuild.iter().map(|id| name_of(loaded, id)).collect();
        let line = if !r.apply {
            format!("--apply then rebuilds: {}", names.join(", "))
        } else if r.failed() {
            format!(
                "not rebuilt, a delete failed: rerun kiln erase --apply to finish (nothing is deleted twice), which then rebuilds: {}",
                names.join(", ")
            )
        } else if opts.no_rebuild {
            format!(
                "must be rebuilt (--no-rebuild): kiln run --select {}",
                names.join(" ")
            )
        } else {
            format!("rebuilding: {}", names.join(", "))
        };
        out.push_str(&line);
        out.push('\n');
    }
    if !r.full_refresh.is_empty() {
        let names: Vec<String> = r
            .full_refresh
            .iter()
            .map(|id| name_of(loaded, id))
            .collect();
        out.push_str(&format!(
            "built from the erased rows, forgotten only by a full refresh: kiln build --full-refresh --select {}\n",
            names.join(" ")
        ));
    }
    if let Some(a) = &r.audit_table {
        out.push_str(&format!("audit: {a} (the subjects' keyed hashes)\n"));
    }
    out.push_str("results: target/erase_results.json");
    out
}

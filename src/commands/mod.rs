//! The subcommands, one file each: each strings the pipeline stages together (load → parse-render
//! → graph → select → compile → run → artifacts) through [`crate::session`]. This file only
//! dispatches a parsed command line to them.

mod catalog;
mod clean;
mod clone;
mod compile;
pub mod completions;
mod debug;
mod deps;
mod diff;
mod docs;
mod erase;
mod freshness;
mod init;
mod lineage;
mod ls;
mod notices;
mod openlineage;
mod operation;
mod parse;
mod run;
mod selection;
mod show;

use crate::artifacts::ManifestMeta;
use crate::cli::{Cli, Command};
use crate::error::{Error, Outcome};
use crate::events::{Event, kinds};
use crate::invocation::Invocation;
use crate::runner::RunKind;
use crate::session::Loaded;
use std::collections::BTreeSet;

/// The stages every command runs first, for callers of the library (the commands use
/// [`crate::session`] directly).
pub use crate::session::load_and_parse;
pub use crate::timing::StageTimer;

pub fn run(cli: Cli) -> Result<Outcome, Error> {
    let inv = Invocation::from_cli(&cli)?;
    if let Command::Completions { shell } = &cli.command {
        return completions::run(*shell);
    }
    report_version();
    match &cli.command {
        Command::Parse => parse::run(&inv),
        Command::Lineage {
            column,
            upstream,
            downstream,
        } => lineage::run(&inv, column, *upstream, *downstream),
        Command::Compile { select, inline, .. } => compile::run(&inv, select, inline.as_deref()),
        Command::Ls {
            select,
            resource_type,
            exclude_resource_type,
            output,
            output_keys,
        } => ls::run(
            &inv,
            select,
            resource_type,
            exclude_resource_type,
            *output,
            output_keys,
        ),
        // The run flags (--full-refresh, --empty...) are in `inv.flags`.
        Command::Run { select, .. } => run::run(&inv, RunKind::Run, select, (&[], &[])),
        Command::Test { select, types, .. } => run::run(
            &inv,
            RunKind::Test,
            select,
            (&types.resource_type, &types.exclude_resource_type),
        ),
        Command::Seed { select, .. } => run::run(&inv, RunKind::Seed, select, (&[], &[])),
        Command::Snapshot { select, .. } => run::run(&inv, RunKind::Snapshot, select, (&[], &[])),
        Command::Retry => run::retry(&inv),
        Command::Build { select, types, .. } => run::run(
            &inv,
            RunKind::Build,
            select,
            (&types.resource_type, &types.exclude_resource_type),
        ),
        Command::Clone { select, types, .. } => clone::run(&inv, select, types),
        Command::Show {
            select,
            inline,
            limit,
            output,
        } => show::run(&inv, select, inline.as_deref(), *limit, *output),
        Command::RunOperation { macro_name, args } => {
            operation::run(&inv, macro_name, args.as_deref())
        }
        Command::Diff { select } => diff::run(&inv, select),
        Command::Erase {
            apply,
            subjects,
            subject_column,
            key,
            no_rebuild,
        } => erase::run(
            &inv,
            &erase::EraseFlags {
                apply: *apply,
                subjects: subjects.clone(),
                subject_column: subject_column.clone(),
                key: key.clone(),
                no_rebuild: *no_rebuild,
            },
        ),
        Command::Source {
            command: crate::cli::SourceCommand::Freshness { select, output },
        } => freshness::run(&inv, select, output.as_ref()),
        Command::Freshness { select, output } => freshness::run_all(&inv, select, output.as_ref()),
        Command::Docs {
            command:
                crate::cli::DocsCommand::Generate {
                    select,
                    no_compile,
                    empty_catalog,
                    static_page,
                },
        } => {
            let opts = catalog::GenerateOptions {
                no_compile: *no_compile,
                empty_catalog: *empty_catalog,
            };
            let (loaded, outcome, compiled) = catalog::generate(&inv, select, opts)?;
            loaded.adapter.close();
            let site = docs::write_site(&inv, &loaded, compiled.as_ref(), *static_page);
            crate::session::exit_without_freeing(loaded);
            // What it compiled, too: the process exits next.
            std::mem::forget(compiled);
            site?;
            Ok(outcome)
        }
        Command::Docs {
            command: crate::cli::DocsCommand::Serve { host, port },
        } => docs::serve(&inv, host, *port),
        Command::Clean => clean::run(&inv),
        Command::Deps { args } => deps::run(&inv, args),
        Command::Debug => debug::run(&inv),
        Command::Init {
            project_name,
            skip_profile_setup,
            adapter,
            fields,
        } => init::run(
            &inv,
            project_name.as_deref(),
            *skip_profile_setup,
            &init::ProfileArgs { adapter, fields },
        ),
        Command::Completions { shell } => completions::run(*shell),
    }
}

/// dbt's first events: the version (which the text console leaves out: `kiln debug` and
/// `kiln --version` say it) and, for the log file, the command line.
fn report_version() {
    let dbt = crate::DBT_COMPAT_VERSION;
    Event::new(
        kinds::MAIN_REPORT_VERSION,
        format!(
            "Running with dbt={dbt} (kiln {})",
            env!("CARGO_PKG_VERSION")
        ),
    )
    .with("log_version", 3)
    .with("version", format!("={dbt}"))
    .not_in_text()
    .emit();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    Event::new(
        kinds::MAIN_REPORT_ARGS,
        format!("running kiln with arguments {command}"),
    )
    .with("args", serde_json::json!({"invocation_command": command}))
    .emit();
}

// The manifest is written by the commands (the layer above artifacts), for the loaded project.
impl Loaded {
    /// The manifest's metadata for this invocation (no node built yet).
    pub fn manifest_meta(&self) -> ManifestMeta {
        let now = chrono::Utc::now();
        let started = &self.info.run_started_at;
        ManifestMeta {
            invocation_id: self.info.invocation_id.clone(),
            generated_at: now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            invocation_started_at: started.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            run_started_at: started.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
            built: BTreeSet::new(),
            compiled: Default::default(),
        }
    }

    /// Writes target/manifest.json.
    pub fn write_manifest(&self) -> Result<(), Error> {
        self.write_manifest_with(&self.manifest_meta())
    }

    /// Writes target/manifest.json with `meta` (e.g. the nodes a run built).
    pub fn write_manifest_with(&self, meta: &ManifestMeta) -> Result<(), Error> {
        self.commit_manifest(self.stage_manifest(meta)?)
    }

    /// target/manifest.json with `meta` serialised into its temporary file, not yet in place:
    /// [`Loaded::commit_manifest`] finishes what [`Loaded::write_manifest_with`] does.
    pub fn stage_manifest(
        &self,
        meta: &ManifestMeta,
    ) -> Result<crate::artifacts::manifest::StagedManifest, Error> {
        let path = self.project.target_dir().join("manifest.json");
        crate::artifacts::manifest::stage_manifest_file(
            &path,
            &self.project,
            &self.graph,
            &self.jenv.builtin_macros,
            meta,
        )
    }

    /// Puts a [`Loaded::stage_manifest`] in place, and writes semantic_manifest.json.
    pub fn commit_manifest(
        &self,
        staged: crate::artifacts::manifest::StagedManifest,
    ) -> Result<(), Error> {
        staged.commit()?;
        crate::artifacts::semantic_manifest::write_semantic_manifest(
            &self.project.target_dir(),
            &self.project,
            &self.graph,
        )
    }
}

//! The command line, as the user typed it (clap derive). Flag names follow dbt's so that scripts and
//! muscle memory carry over: `kiln build --select aggregate+ --target prod --vars '{k: v}'`.
//! Nothing past `crate::invocation` reads these raw flags. The node-name completer of `--select`
//! is attached at run time (`crate::commands::completions`), so this file depends on clap alone.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "kiln",
    version,
    about = "kiln: compile, build and test dbt projects, fast",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(flatten)]
    pub warn_error: WarnErrorArgs,
}

/// Flags every command accepts, before or after the subcommand.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Directory holding dbt_project.yml (default: the current directory or the nearest parent with one).
    #[arg(long, global = true, env = "DBT_PROJECT_DIR", value_name = "DIR")]
    pub project_dir: Option<PathBuf>,
    /// Directory holding profiles.yml (default: $DBT_PROFILES_DIR, the project directory, ~/.dbt).
    #[arg(long, global = true, value_name = "DIR")]
    pub profiles_dir: Option<PathBuf>,
    /// The profile to use, instead of dbt_project.yml's `profile:`.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// The target in the profile (default: the profile's `target:`).
    #[arg(short = 't', long, global = true, env = "DBT_TARGET")]
    pub target: Option<String>,
    /// Variables as a YAML or JSON mapping, e.g. '{start_date: 2024-01-01}'.
    #[arg(long, global = true, value_name = "YAML")]
    pub vars: Option<String>,
    /// Number of threads (overrides the profile's `threads`).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Where to write artifacts (default: dbt_project.yml's target-path, else `target`).
    #[arg(long, global = true, env = "DBT_TARGET_PATH", value_name = "DIR")]
    pub target_path: Option<PathBuf>,

    // Logging and colour: dbt's flags, and its DBT_ variables (the boolean ones, DBT_QUIET,
    // DBT_DEBUG, DBT_USE_COLORS and DBT_USE_COLORS_FILE, are read in crate::invocation).
    /// Console log format: text, debug (time, level and thread on every line), json (dbt's
    /// events, one per line) or default (text).
    #[arg(long, global = true, value_enum, env = "DBT_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Log file format (default: debug, or --log-format when that is given).
    #[arg(long, global = true, value_enum, env = "DBT_LOG_FORMAT_FILE")]
    pub log_format_file: Option<LogFormat>,
    /// Least severe events shown on the console: debug, info (default), warn, error or none.
    #[arg(long, global = true, value_enum, env = "DBT_LOG_LEVEL")]
    pub log_level: Option<LogLevel>,
    /// Least severe events written to the log file (default: debug, or --log-level when given).
    #[arg(long, global = true, value_enum, env = "DBT_LOG_LEVEL_FILE")]
    pub log_level_file: Option<LogLevel>,
    /// Folder of the log file dbt.log (default: the project's log-path, `logs`).
    #[arg(long, global = true, env = "DBT_LOG_PATH", value_name = "DIR")]
    pub log_path: Option<PathBuf>,
    /// Rotate dbt.log before it reaches this many bytes (0: never; default 10 MB).
    #[arg(long, global = true, env = "DBT_LOG_FILE_MAX_BYTES", hide = true)]
    pub log_file_max_bytes: Option<u64>,
    /// Debug logging on the console too: every statement kiln runs (or DBT_DEBUG=1).
    #[arg(short = 'd', long, global = true, overrides_with = "no_debug")]
    pub debug: bool,
    #[arg(long, global = true, overrides_with = "debug", hide = true)]
    pub no_debug: bool,
    /// Print only errors (and what macros print) (or DBT_QUIET=1).
    #[arg(short = 'q', long, global = true, overrides_with = "no_quiet")]
    pub quiet: bool,
    #[arg(long, global = true, overrides_with = "quiet", hide = true)]
    pub no_quiet: bool,
    /// Never color the output (as NO_COLOR does).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Color the console output even when it is not a terminal (or DBT_USE_COLORS=1).
    #[arg(long, global = true, overrides_with = "no_use_colors")]
    pub use_colors: bool,
    /// Never color the console output.
    #[arg(long, global = true, overrides_with = "use_colors")]
    pub no_use_colors: bool,
    /// Color the log file (default: as --use-colors/--no-use-colors when given, else on, as in
    /// dbt, unless NO_COLOR or --no-color).
    #[arg(long, global = true, overrides_with = "no_use_colors_file")]
    pub use_colors_file: bool,
    /// Never color the log file (or DBT_USE_COLORS_FILE=0).
    #[arg(long, global = true, overrides_with = "use_colors_file")]
    pub no_use_colors_file: bool,
    /// Reuse the last parse where nothing it read has changed (the default; or
    /// DBT_PARTIAL_PARSE=1, or `flags: {partial_parse: true}` in dbt_project.yml).
    #[arg(long, global = true, overrides_with = "no_partial_parse")]
    pub partial_parse: bool,
    /// Parse the whole project again, ignoring the parse cache in target/ (or DBT_PARTIAL_PARSE=0).
    #[arg(long, global = true, overrides_with = "partial_parse")]
    pub no_partial_parse: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Debug,
    Json,
    Default,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    None,
}

/// Node selection, shared by every command that works on a subset of the project.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Nodes to include: names, paths, `tag:x`, graph operators (`+x`, `x+`, `@x`)...
    /// Space-separated values are a union; `a,b` is an intersection. Repeatable.
    #[arg(short = 's', long = "select", alias = "models", short_alias = 'm', num_args = 1.., action = clap::ArgAction::Append)]
    pub select: Vec<String>,
    /// Nodes to leave out, same grammar as --select.
    #[arg(long, num_args = 1.., action = clap::ArgAction::Append)]
    pub exclude: Vec<String>,
    /// A named selector from selectors.yml.
    #[arg(long)]
    pub selector: Option<String>,
    /// How tests are pulled in by selecting the nodes they test: eager, cautious, buildable, empty.
    #[arg(long, value_enum, default_value_t = IndirectSelection::Eager)]
    pub indirect_selection: IndirectSelection,
    /// The target folder of a previous run (manifest.json, run_results.json, sources.json), for
    /// `state:`, `result:` and `source_status:` selection and for --defer.
    #[arg(long, value_name = "DIR", env = "DBT_STATE")]
    pub state: Option<PathBuf>,
    /// Resolve refs to nodes that are not selected through the state manifest (--defer-state,
    /// else --state), when this target has not built them.
    #[arg(long)]
    pub defer: bool,
    /// The state folder for --defer only (default: --state).
    #[arg(long, value_name = "DIR", env = "DBT_DEFER_STATE")]
    pub defer_state: Option<PathBuf>,
    /// With --defer: use the state manifest's relations for unselected nodes even when this
    /// target has built them.
    #[arg(long, requires = "defer")]
    pub favor_state: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum IndirectSelection {
    #[default]
    Eager,
    Cautious,
    Buildable,
    Empty,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the project, check it, and write target/manifest.json (no database needed).
    Parse,
    /// Render every selected node to SQL under target/compiled/.
    Compile {
        #[command(flatten)]
        select: SelectArgs,
        /// Compile this SQL instead of the project's nodes and print it.
        #[arg(long)]
        inline: Option<String>,
        #[command(flatten)]
        empty: EmptyArg,
    },
    /// Build the selected models in the warehouse, in dependency order.
    Run {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        flags: RunFlags,
        #[command(flatten)]
        empty: EmptyArg,
        #[command(flatten)]
        sample: SampleArg,
    },
    /// Run the selected data tests.
    Test {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        flags: RunFlags,
        #[command(flatten)]
        types: ResourceTypeArgs,
    },
    /// Load the selected seeds (CSV files) into tables.
    Seed {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        flags: RunFlags,
    },
    /// Record the changes of the selected snapshots (SCD type 2 history tables).
    Snapshot {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        flags: RunFlags,
        #[command(flatten)]
        empty: EmptyArg,
    },
    /// Re-run the nodes that errored, failed or were skipped in the last run, with its flags.
    Retry,
    /// Seeds, models, snapshots and tests together, in dependency order; a model's tests run
    /// right after it, and a failure skips everything downstream.
    Build {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        flags: RunFlags,
        #[command(flatten)]
        types: ResourceTypeArgs,
        #[command(flatten)]
        empty: EmptyArg,
        #[command(flatten)]
        sample: SampleArg,
    },
    /// Create the selected models, seeds and snapshots of a --state manifest in this target as
    /// views of (or zero-copy clones of) the state's relations, without rebuilding them.
    Clone {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        types: ResourceTypeArgs,
        /// Replace relations that already exist in this target (otherwise they are kept).
        #[arg(short = 'f', long)]
        full_refresh: bool,
    },
    /// Compile a node (or --inline SQL), run it, and print the first rows.
    Show {
        #[command(flatten)]
        select: SelectArgs,
        /// Run this SQL instead of a node.
        #[arg(long)]
        inline: Option<String>,
        /// How many rows to show (-1 for all).
        #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
        limit: i64,
        /// text (a table) or json.
        #[arg(long, value_enum, default_value_t = ShowOutput::Text)]
        output: ShowOutput,
    },
    /// Call a macro, with the database connected.
    RunOperation {
        /// The macro's name (or package.name).
        #[arg(value_name = "MACRO")]
        macro_name: String,
        /// Its arguments, as a YAML or JSON mapping, e.g. '{days: 7}'.
        #[arg(long, value_name = "YAML")]
        args: Option<String>,
    },
    /// How long ago the newest row of each source and model with a freshness config
    /// (`warn_after` / `error_after` and a `loaded_at_field`) was loaded (writes
    /// target/sources.json), as dbt's `dbt freshness`.
    Freshness {
        #[command(flatten)]
        select: SelectArgs,
        /// Where to write the results instead of target/sources.json.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// Source commands: `kiln source freshness`.
    Source {
        #[command(subcommand)]
        command: SourceCommand,
    },
    /// Documentation: `kiln docs generate` writes target/catalog.json and the docs site,
    /// `kiln docs serve` serves the site.
    Docs {
        #[command(subcommand)]
        command: DocsCommand,
    },
    /// Show how each modified model's compiled SQL differs from the --state manifest's.
    Diff {
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Column lineage: where a model's column comes from (--upstream, down to seed and source
    /// columns) and what reads it (--downstream), with OpenLineage's transformation types.
    Lineage {
        /// The column, as `model.column` (or `source_name.table.column`).
        #[arg(short = 's', long = "select", value_name = "MODEL.COLUMN")]
        column: String,
        /// Only where it comes from.
        #[arg(long, conflicts_with = "downstream")]
        upstream: bool,
        /// Only what reads it.
        #[arg(long)]
        downstream: bool,
    },
    /// GDPR/CCPA erasure: find every table kiln manages that holds the subjects to erase (through
    /// the column lineage of the subject key, `vars: {kiln: {erase: ...}}` in dbt_project.yml),
    /// show the rows per table (dry run), and with --apply delete them and rebuild what is
    /// downstream. Writes target/erase_results.json; never prints a subject's value.
    Erase {
        /// Delete the rows (one transaction per table) and audit it; without it, a dry run.
        #[arg(long)]
        apply: bool,
        /// The subjects from a CSV file instead of the configured relation (a header row, one
        /// subject per row in the column --subject-column names, default the key's column).
        #[arg(long, value_name = "FILE")]
        subjects: Option<std::path::PathBuf>,
        /// The column of the --subjects file that holds the key.
        #[arg(long, value_name = "COLUMN", requires = "subjects")]
        subject_column: Option<String>,
        /// The subject key's column instead of vars.kiln.erase.key, as `kiln lineage` names a
        /// column (e.g. `stg_crm__contacts.email_hash` to erase by the hashed e-mail).
        #[arg(long, value_name = "MODEL.COLUMN")]
        key: Option<String>,
        /// With --apply: list the tables downstream that must be rebuilt instead of rebuilding them.
        #[arg(long)]
        no_rebuild: bool,
    },
    /// List the selected nodes.
    #[command(alias = "list")]
    Ls {
        #[command(flatten)]
        select: SelectArgs,
        /// Only these resource types (model, seed, snapshot, test, source, exposure, analysis).
        #[arg(long, alias = "resource-types", num_args = 1.., action = clap::ArgAction::Append)]
        resource_type: Vec<String>,
        /// Leave out these resource types.
        #[arg(long, alias = "exclude-resource-types", num_args = 1.., action = clap::ArgAction::Append)]
        exclude_resource_type: Vec<String>,
        /// How to print each node.
        #[arg(short = 'o', long, value_enum, default_value_t = LsOutput::Selector)]
        output: LsOutput,
        /// With --output json: only these keys.
        #[arg(long, num_args = 1.., action = clap::ArgAction::Append)]
        output_keys: Vec<String>,
    },
    /// Delete the project's clean-targets (target/ and dbt_packages/ by default).
    Clean,
    /// Install the packages of packages.yml (or dependencies.yml) into dbt_packages/, exactly as
    /// package-lock.yml pins them; resolve and write the lock when the packages changed.
    Deps {
        #[command(flatten)]
        args: DepsArgs,
    },
    /// Check the project and profile and show what kiln found.
    Debug,
    /// Create a new project in a new directory.
    Init {
        /// Name of the project (and its directory).
        project_name: Option<String>,
        /// Do not write a profiles.yml.
        #[arg(long)]
        skip_profile_setup: bool,
        /// The profile's warehouse: duckdb (the default) or athena.
        #[arg(long, default_value = "duckdb")]
        adapter: String,
        /// A field of the profile's target, as key=value (e.g. --field region_name=eu-west-1);
        /// fields not given are asked for on the terminal, or read from stdin, one per line.
        #[arg(long = "field", value_name = "KEY=VALUE")]
        fields: Vec<String>,
    },
    /// Print the shell completion script, e.g. `source <(kiln completions bash)` in ~/.bashrc.
    /// It completes subcommands, flags, and the project's node names after -s/--select.
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
}

/// `kiln deps`'s flags, as dbt names them.
#[derive(Debug, Args, Clone, Default)]
pub struct DepsArgs {
    /// Resolve the versions again (the latest within each range), even when package-lock.yml
    /// matches packages.yml.
    #[arg(long)]
    pub upgrade: bool,
    /// Resolve and write package-lock.yml without installing anything.
    #[arg(long)]
    pub lock: bool,
    /// Add a package to packages.yml first, as name@version (a range: "org/name@>=1.0.0,<2.0.0";
    /// a git URL@revision with --source git; a folder with --source local).
    #[arg(long, value_name = "NAME@VERSION")]
    pub add_package: Option<String>,
    /// Where --add-package's package comes from.
    #[arg(long, value_enum, default_value_t = DepsSource::Hub)]
    pub source: DepsSource,
    /// Consider every version of a hub package, even those whose require-dbt-version leaves
    /// out the dbt version kiln follows (or DBT_VERSION_CHECK=false).
    #[arg(long, overrides_with = "version_check")]
    pub no_version_check: bool,
    #[arg(long, overrides_with = "no_version_check", hide = true)]
    pub version_check: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DepsSource {
    #[default]
    Hub,
    Git,
    Local,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// How long ago each source's newest row was loaded, against its freshness thresholds
    /// (writes target/sources.json).
    Freshness {
        #[command(flatten)]
        select: SelectArgs,
        /// Where to write the results instead of target/sources.json.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Compile the project (writing the manifest), write target/catalog.json from the
    /// warehouse's catalog (each table and view with its columns and their types), and write
    /// the docs site: target/index.html and target/kiln-docs/.
    Generate {
        #[command(flatten)]
        select: SelectArgs,
        /// Leave the project uncompiled (manifest.json is not rewritten).
        #[arg(long = "no-compile")]
        no_compile: bool,
        /// Write catalog.json without asking the warehouse: no nodes, no sources.
        #[arg(long)]
        empty_catalog: bool,
        /// Also write one self-contained page, target/static_index.html.
        #[arg(long = "static")]
        static_page: bool,
    },
    /// Serve the docs site in target/ over HTTP (run `kiln docs generate` first).
    Serve {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// The port to listen on (0: any free port).
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
}

/// Flags of the commands that execute nodes.
#[derive(Debug, Args, Clone, Default)]
pub struct RunFlags {
    /// Rebuild incremental models and seeds from scratch.
    #[arg(short = 'f', long)]
    pub full_refresh: bool,
    /// Build every selected node, even those whose SQL, config and inputs are unchanged since
    /// their last build (which are otherwise skipped as REUSED).
    #[arg(long)]
    pub no_reuse: bool,
    /// Stop at the first failure: nothing more starts and running queries are cancelled.
    #[arg(short = 'x', long)]
    pub fail_fast: bool,
    /// Save the failing rows of data tests to tables in the audit schema.
    #[arg(long)]
    pub store_failures: bool,
    /// Microbatch models: process batches from this time (YYYY-MM-DD[ HH:MM:SS]), to backfill.
    #[arg(long, value_name = "TIME")]
    pub event_time_start: Option<String>,
    /// Microbatch models: process batches up to this time (exclusive; default now).
    #[arg(long, value_name = "TIME")]
    pub event_time_end: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ShowOutput {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LsOutput {
    Name,
    Path,
    Json,
    Selector,
}

// dbt's flags for scripting a run: warnings as errors, zero-row and sampled inputs, resource-type
// filters. Kept together so that the other flags of this file merge around them.

/// Which warnings become errors (`--warn-error`, `--warn-error-options`), as in dbt.
#[derive(Debug, Args, Clone, Default)]
pub struct WarnErrorArgs {
    /// Every warning becomes an error: a selector that matches nothing stops the command, a
    /// warn-severity test fails.
    #[arg(
        long,
        global = true,
        env = "DBT_WARN_ERROR",
        conflicts_with = "warn_error_options"
    )]
    pub warn_error: bool,
    /// Which warnings, by dbt event name, become errors ('{"error": "all" | [names], "warn":
    /// [names], "silence": [names]}', YAML or JSON), e.g. '{"error": ["LogTestResult"]}'.
    #[arg(
        long,
        global = true,
        env = "DBT_WARN_ERROR_OPTIONS",
        value_name = "YAML"
    )]
    pub warn_error_options: Option<String>,
}

/// `--empty`: every ref() and source() reads zero rows, so the SQL runs and the schemas are
/// built without reading data.
#[derive(Debug, Args, Clone, Default)]
pub struct EmptyArg {
    /// Limit every ref() and source() to zero rows (schemas are built, no data is read).
    #[arg(long)]
    pub empty: bool,
}

/// `--sample`: refs and sources with an `event_time` read only a time window.
#[derive(Debug, Args, Clone, Default)]
pub struct SampleArg {
    /// Read only this window of inputs that have an `event_time` config: '3 days' (hours, days,
    /// months, years back from now) or "{'start': '2024-07-01', 'end': '2024-07-08'}".
    #[arg(long, value_name = "WINDOW")]
    pub sample: Option<String>,
}

/// `--resource-type` / `--exclude-resource-type` of build, test and clone.
#[derive(Debug, Args, Clone, Default)]
pub struct ResourceTypeArgs {
    /// Only these resource types (model, seed, snapshot, test, ...; default, all).
    #[arg(long, alias = "resource-types", value_delimiter = ' ', num_args = 1.., action = clap::ArgAction::Append)]
    pub resource_type: Vec<String>,
    /// Leave out these resource types.
    #[arg(long, alias = "exclude-resource-types", value_delimiter = ' ', num_args = 1.., action = clap::ArgAction::Append)]
    pub exclude_resource_type: Vec<String>,
}

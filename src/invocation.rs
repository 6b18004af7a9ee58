//! The command line resolved once into what it means: `--vars` parsed, output settings decided,
//! the command's flags typed ([`Flags`]). Nothing past [`Invocation::from_cli`] reads [`Cli`]:
//! the commands take the parts of it they need, typed, and Jinja's `flags` and run_results.json's
//! `args` are derived from [`Flags`].

use crate::cli::{Cli, Command, GlobalArgs, LogFormat, LogLevel, RunFlags, SelectArgs};
use crate::error::warn_error::WarnErrorOptions;
use crate::error::{Diagnostic, Error};
use crate::events::{Event, Format, Level, Settings};
use serde_json::{Map, Value};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Invocation {
    /// `--project-dir` (the project is found from it, or from the current directory, when a
    /// command loads it).
    pub project_dir: Option<PathBuf>,
    pub load: LoadFlags,
    pub output: Output,
    /// `--warn-error` / `--warn-error-options` (dbt_project.yml's `flags:` apply when unset).
    pub warn_error: WarnErrorOptions,
    /// The command's flags, typed.
    pub flags: Flags,
    /// `--partial-parse`/`--no-partial-parse`, else DBT_PARTIAL_PARSE: `None` when neither says
    /// (dbt_project.yml's `flags: {partial_parse: ...}` decides, else on).
    pub partial_parse: Option<bool>,
}

/// How to load the project: the profile, the target and `--vars`, as the command line gives them.
#[derive(Debug, Clone, Default)]
pub struct LoadFlags {
    pub profiles_dir: Option<PathBuf>,
    pub profile: Option<String>,
    pub target: Option<String>,
    pub threads: Option<usize>,
    /// `--vars`, parsed.
    pub cli_vars: Map<String, Value>,
    pub target_path: Option<PathBuf>,
}

/// The flags of the command that templates and artifacts see, as dbt records them: Jinja's
/// `flags` object ([`Flags::jinja`]) and run_results.json's `args` ([`Flags::run_results_args`])
/// are both derived from these, and `kiln retry` reads them back from the typed `args` of
/// run_results.json. A command without a flag leaves it at its default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub select: Vec<String>,
    pub exclude: Vec<String>,
    pub selector: Option<String>,
    /// `--state`, as given.
    pub state: Option<PathBuf>,
    pub full_refresh: bool,
    /// `--no-reuse`: build what is unchanged too (kiln's own flag: not in run_results' args).
    pub no_reuse: bool,
    pub fail_fast: bool,
    pub store_failures: bool,
    /// `--event-time-start` / `--event-time-end`, as given (they are read as times when a run
    /// starts).
    pub event_time_start: Option<String>,
    pub event_time_end: Option<String>,
    /// `--empty`.
    pub empty: bool,
    /// `--sample`, as given (the window is computed when a run starts).
    pub sample: Option<String>,
}

impl Flags {
    /// The flags of a subcommand.
    pub fn of(command: &Command) -> Flags {
        let selection = |s: &SelectArgs| Flags {
            select: s.select.clone(),
            exclude: s.exclude.clone(),
            selector: s.selector.clone(),
            state: s.state.clone(),
            ..Flags::default()
        };
        let executing = |s: &SelectArgs, f: &RunFlags| Flags {
            full_refresh: f.full_refresh,
            no_reuse: f.no_reuse,
            fail_fast: f.fail_fast,
            store_failures: f.store_failures,
            event_time_start: f.event_time_start.clone(),
            event_time_end: f.event_time_end.clone(),
            ..selection(s)
        };
        match command {
            Command::Run {
                select,
                flags,
                empty,
                sample,
            }
            | Command::Build {
                select,
                flags,
                empty,
                sample,
                ..
            } => Flags {
                empty: empty.empty,
                sample: sample.sample.clone(),
                ..executing(select, flags)
            },
            Command::Snapshot {
                select,
                flags,
                empty,
            } => Flags {
                empty: empty.empty,
                ..executing(select, flags)
            },
            Command::Test { select, flags, .. } | Command::Seed { select, flags } => {
                executing(select, flags)
            }
            Command::Compile { select, empty, .. } => Flags {
                empty: empty.empty,
                ..selection(select)
            },
            Command::Clone {
                select,
                full_refresh,
                ..
            } => Flags {
                full_refresh: *full_refresh,
                ..selection(select)
            },
            Command::Show { select, .. }
            | Command::Diff { select }
            | Command::Ls { select, .. }
            | Command::Freshness { select, .. }
            | Command::Source {
                command: crate::cli::SourceCommand::Freshness { select, .. },
            }
            | Command::Docs {
                command: crate::cli::DocsCommand::Generate { select, .. },
            } => selection(select),
            Command::Parse
            | Command::Retry
            | Command::RunOperation { .. }
            | Command::Clean
            | Command::Deps { .. }
            | Command::Debug
            | Command::Init { .. }
            | Command::Docs { .. }
            | Command::Lineage { .. }
            | Command::Erase { .. }
            | Command::Completions { .. } => Flags::default(),
        }
    }

    /// Jinja's `flags` for the command `which` (dbt's `flags.WHICH`), with the warnings that are
    /// errors (`flags.WARN_ERROR` and `flags.WARN_ERROR_OPTIONS`, which `exceptions.warn` obeys).
    pub fn jinja(&self, which: &str, warn_error: &WarnErrorOptions) -> Value {
        serde_json::json!({
            "FULL_REFRESH": self.full_refresh,
            "STORE_FAILURES": self.store_failures,
            "WHICH": which,
            "WARN_ERROR": warn_error.all_errors(),
            "WARN_ERROR_OPTIONS": warn_error.to_flags(),
            "FAIL_FAST": self.fail_fast,
            "USE_COLORS": false,
            "PARTIAL_PARSE": false,
            "EMPTY": self.empty,
        })
    }

    /// run_results.json's `args` for the command `which` on `target` with `vars`, as dbt
    /// records them: `clone` records its state folder; the commands that execute nodes record
    /// their run flags, which `kiln retry` reads back.
    pub fn run_results_args(
        &self,
        which: &str,
        target: &str,
        vars: &Map<String, Value>,
    ) -> Map<String, Value> {
        let mut args = Map::new();
        args.insert("which".into(), Value::from(which));
        args.insert("select".into(), Value::from(self.select.clone()));
        args.insert("exclude".into(), Value::from(self.exclude.clone()));
        if which == "clone" {
            args.insert("full_refresh".into(), Value::from(self.full_refresh));
            if let Some(s) = &self.state {
                args.insert("state".into(), Value::from(s.display().to_string()));
            }
        } else {
            if let Some(s) = &self.selector {
                args.insert("selector".into(), Value::from(s.clone()));
            }
            args.insert("full_refresh".into(), Value::from(self.full_refresh));
            args.insert("fail_fast".into(), Value::from(self.fail_fast));
            args.insert("store_failures".into(), Value::from(self.store_failures));
            if let Some(t) = &self.event_time_start {
                args.insert("event_time_start".into(), Value::from(t.clone()));
            }
            if let Some(t) = &self.event_time_end {
                args.insert("event_time_end".into(), Value::from(t.clone()));
            }
            args.insert("empty".into(), Value::from(self.empty));
            if let Some(t) = &self.sample {
                args.insert("sample".into(), Value::from(t.clone()));
            }
        }
        args.insert("target".into(), Value::from(target));
        args.insert("vars".into(), Value::Object(vars.clone()));
        args
    }
}

/// Where and how kiln talks to the user. Every line goes through [`crate::events`], which holds
/// the logging settings; this is what commands need to know of them.
#[derive(Debug, Clone)]
pub struct Output {
    /// The console shows JSON events.
    pub json: bool,
    /// Only errors on the console (`--quiet`).
    pub quiet: bool,
    /// The console (stdout) is coloured.
    pub color: bool,
    /// A progress bar may be drawn (text on a terminal, at info level or more).
    pub bar: bool,
}

impl Output {
    /// An informational line (dbt's `Note` event).
    pub fn info(&self, msg: &str) {
        Event::note(msg).emit();
    }

    /// Result data (e.g. `ls` lines, a `show` table): printed as it is, even with --quiet; with
    /// `--log-format json`, as a `PrintEvent`, so that every line stays JSON.
    pub fn data(&self, msg: &str) {
        if self.json {
            Event::new(crate::events::kinds::PRINT_EVENT, msg)
                .with("msg", msg)
                .emit();
        } else {
            crate::events::print_raw(msg);
        }
    }

    /// Problems found along the way, on stderr (errors still show with --quiet).
    pub fn warnings(&self, diags: &[Diagnostic]) {
        for e in crate::error::diagnostic_events(diags) {
            e.emit();
        }
    }
}

/// A boolean DBT_ variable as dbt (click) reads it: `1`, `true`, `yes`, `on`… or `0`, `false`…
fn env_bool(name: &str) -> Option<bool> {
    let v = std::env::var(name).ok()?;
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" | "on" => Some(true),
        "0" | "false" | "f" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// A `--x/--no-x` pair, then its DBT_ variable: `Some` when the user said something.
fn flag_pair(on: bool, off: bool, env: &str) -> Option<bool> {
    if on {
        Some(true)
    } else if off {
        Some(false)
    } else {
        env_bool(env)
    }
}

fn level(l: LogLevel) -> Option<Level> {
    match l {
        LogLevel::Debug => Some(Level::Debug),
        LogLevel::Info => Some(Level::Info),
        LogLevel::Warn => Some(Level::Warn),
        LogLevel::Error => Some(Level::Error),
        LogLevel::None => None,
    }
}

/// The logging flags resolved as dbt resolves them: `--quiet` shows errors only, `--debug` shows
/// everything; the file follows `--log-level`, `--log-format` and `--use-colors` when they are
/// given and its own flags are not. Colour: `--use-colors`/`--no-use-colors` (or DBT_USE_COLORS)
/// decide; otherwise `--no-color` and NO_COLOR turn it off, and the console is coloured when it
/// is a terminal (dbt colours even a pipe; kiln keeps escape codes out of redirected output and
/// CI logs). The log file is coloured as dbt's is, unless NO_COLOR, `--no-color` or its flags.
pub fn log_settings(g: &GlobalArgs) -> Settings {
    let quiet = g.quiet || (!g.no_quiet && env_bool("DBT_QUIET") == Some(true));
    let debug = g.debug || (!g.no_debug && env_bool("DBT_DEBUG") == Some(true));
    let console_format = match g.log_format.unwrap_or_default() {
        LogFormat::Json => Format::Json,
        LogFormat::Debug => Format::Debug,
        LogFormat::Text | LogFormat::Default => Format::Text,
    };
    let file_format = match g.log_format_file.or(g.log_format) {
        Some(LogFormat::Json) => Format::Json,
        Some(LogFormat::Text) => Format::Text,
        Some(LogFormat::Debug | LogFormat::Default) | None => Format::Debug,
    };
    let console_level = level(g.log_level.unwrap_or(LogLevel::Info)).map(|l| {
        if quiet {
            Level::Error
        } else if debug {
            Level::Debug
        } else {
            l
        }
    });
    let file_level = level(g.log_level_file.or(g.log_level).unwrap_or(LogLevel::Debug))
        .map(|l| if debug { Level::Debug } else { l });
    let forced = flag_pair(g.use_colors, g.no_use_colors, "DBT_USE_COLORS");
    let no_color = g.no_color || std::env::var_os("NO_COLOR").is_some();
    let color_for = |terminal: bool| match forced {
        Some(on) => on,
        None => !no_color && terminal && console_format != Format::Json,
    };
    let file_color = flag_pair(
        g.use_colors_file,
        g.no_use_colors_file,
        "DBT_USE_COLORS_FILE",
    )
    .or(forced)
    .unwrap_or(!no_color);
    let log_path = g.log_path.as_ref().map(|p| {
        std::env::current_dir()
            .map(|cwd| cwd.join(p))
            .unwrap_or_else(|_| p.clone())
    });
    Settings {
        console_format,
        console_level,
        color_stdout: color_for(std::io::stdout().is_terminal()),
        color_stderr: color_for(std::io::stderr().is_terminal()),
        file_format,
        file_level,
        file_color,
        file_max_bytes: g
            .log_file_max_bytes
            .unwrap_or(Settings::default().file_max_bytes),
        log_path,
    }
}

/// A flag's value as YAML (JSON is YAML too). The flags come before the project, so this layer
/// reads them itself, with the same YAML library as the project's files.
pub fn read_yaml(text: &str) -> Result<Value, String> {
    yaml_serde::from_str::<Value>(text).map_err(|e| e.to_string())
}

/// `--vars` as YAML or JSON; it must be a mapping.
/// Registers every scalar of a secret `--vars` value (a mapping or list's leaves included).
fn register_secret_value(value: &Value) {
    match value {
        Value::String(s) => crate::events::secrets::register(s),
        Value::Number(n) => crate::events::secrets::register(&n.to_string()),
        Value::Array(items) => items.iter().for_each(register_secret_value),
        Value::Object(map) => map.values().for_each(register_secret_value),
        Value::Bool(_) | Value::Null => {}
    }
}

pub fn parse_vars(text: Option<&str>) -> Result<Map<String, Value>, Error> {
    let Some(text) = text else {
        return Ok(Map::new());
    };
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match read_yaml(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(Diagnostic::error(
            "flags",
            format!("--vars must be a mapping, got: {other}"),
        )
        .with_help("write --vars '{key: value}' (YAML or JSON)")
        .into()),
        Err(e) => Err(
            Diagnostic::error("flags", format!("--vars is not valid YAML: {e}"))
                .with_help("write --vars '{key: value}' (YAML or JSON)")
                .into(),
        ),
    }
}

impl Invocation {
    /// Resolves the flags; the logger is configured first, so that even a bad `--vars` is
    /// reported in the chosen log format.
    pub fn from_cli(cli: &Cli) -> Result<Invocation, Error> {
        let g: &GlobalArgs = &cli.global;
        let settings = log_settings(g);
        let output = Output {
            json: settings.console_format == Format::Json,
            quiet: settings.console_level != Some(Level::Info)
                && settings.console_level != Some(Level::Debug),
            color: settings.color_stdout,
            bar: settings.console_format == Format::Text
                && matches!(settings.console_level, Some(Level::Info | Level::Debug)),
        };
        crate::events::configure(settings);
        // Before anything is printed: no sink writes a secret of the environment, whichever
        // template reads it first (or none).
        crate::events::secrets::register_environment();
        let cli_vars = parse_vars(g.vars.as_deref())?;
        // A `--vars` key named like a secret holds one, as dbt reads it: its value is written
        // nowhere (run_results' `args.vars`, the log's command line).
        for (key, value) in &cli_vars {
            if key.starts_with(crate::events::secrets::PREFIX) {
                register_secret_value(value);
            }
        }
        let warn_error = match (
            &cli.warn_error.warn_error,
            &cli.warn_error.warn_error_options,
        ) {
            (true, _) => WarnErrorOptions::all("--warn-error"),
            (false, Some(text)) => {
                WarnErrorOptions::parse(text, "--warn-error-options", read_yaml)?
            }
            (false, None) => WarnErrorOptions::default(),
        };
        Ok(Invocation {
            project_dir: g.project_dir.clone(),
            load: LoadFlags {
                profiles_dir: g.profiles_dir.clone(),
                profile: g.profile.clone(),
                target: g.target.clone(),
                threads: g.threads,
                cli_vars,
                target_path: g.target_path.clone(),
            },
            output,
            warn_error,
            flags: Flags::of(&cli.command),
            partial_parse: flag_pair(g.partial_parse, g.no_partial_parse, "DBT_PARTIAL_PARSE"),
        })
    }
}

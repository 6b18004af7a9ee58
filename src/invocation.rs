//! The command line resolved once into what it means: the project directory found, `--vars`
//! parsed, output settings decided. Nothing past this point reads raw flags.

use crate::cli::{Cli, GlobalArgs, LogFormat, LogLevel};
use crate::error::warn_error::WarnErrorOptions;
use crate::error::{Diagnostic, Error};
use crate::events::{Event, Format, Level, Settings};
use crate::project::LoadOptions;
use serde_json::{Map, Value};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Invocation {
    pub project_dir: Option<PathBuf>,
    pub load: LoadOptions,
    pub output: Output,
    /// `--warn-error` / `--warn-error-options` (dbt_project.yml's `flags:` apply when unset).
    pub warn_error: WarnErrorOptions,
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

/// `--vars` as YAML or JSON; it must be a mapping.
pub fn parse_vars(text: Option<&str>) -> Result<Map<String, Value>, Error> {
    let Some(text) = text else {
        return Ok(Map::new());
    };
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match crate::project::yaml::parse_value(text) {
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
        let cli_vars = parse_vars(g.vars.as_deref())?;
        let warn_error = match (
            &cli.warn_error.warn_error,
            &cli.warn_error.warn_error_options,
        ) {
            (true, _) => WarnErrorOptions::all("--warn-error"),
            (false, Some(text)) => WarnErrorOptions::parse(text, "--warn-error-options")?,
            (false, None) => WarnErrorOptions::default(),
        };
        Ok(Invocation {
            project_dir: g.project_dir.clone(),
            load: LoadOptions {
                project_dir: PathBuf::new(),
                profiles_dir: g.profiles_dir.clone(),
                profile: g.profile.clone(),
                target: g.target.clone(),
                threads: g.threads,
                cli_vars,
                target_path: g.target_path.clone(),
            },
            output,
            warn_error,
        })
    }

    /// Load options with the project directory found.
    pub fn load_options(&self) -> Result<LoadOptions, Error> {
        let dir = crate::project::find_project_dir(self.project_dir.as_deref())?;
        Ok(LoadOptions {
            project_dir: dir,
            ..self.load.clone()
        })
    }
}

//! The command line resolved once into what it means: the project directory found, `--vars`
//! parsed, output settings decided. Nothing past this point reads raw flags.

use crate::cli::{Cli, GlobalArgs, LogFormat};
use crate::error::warn_error::WarnErrorOptions;
use crate::error::{Diagnostic, Error};
use crate::project::LoadOptions;
use serde_json::{Map, Value};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Invocation {
    pub project_dir: Option<PathBuf>,
    pub load: LoadOptions,
    pub output: Output,
    /// `--warn-error` / `--warn-error-options` (dbt_project.yml's `flags:` apply when unset).
    pub warn_error: WarnErrorOptions,
}

/// Where and how kiln talks to the user.
#[derive(Debug, Clone)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
    pub color: bool,
}

impl Output {
    /// An informational line (stdout), or a JSON event with `--log-format json`.
    pub fn info(&self, msg: &str) {
        if self.quiet {
            return;
        }
        let mut out = std::io::stdout().lock();
        let line = if self.json {
            serde_json::json!({"level": "info", "msg": msg, "ts": chrono::Utc::now().to_rfc3339()})
                .to_string()
        } else {
            msg.to_string()
        };
        let _ = writeln!(out, "{}", crate::jinja::functions::scrub(&line));
    }

    /// Result data (e.g. `ls` lines): printed even with --quiet.
    pub fn data(&self, msg: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", crate::jinja::functions::scrub(msg));
    }

    pub fn warnings(&self, diags: &[Diagnostic]) {
        if diags.is_empty() || self.quiet {
            return;
        }
        let text = if self.json {
            crate::error::render_diagnostics_json(diags)
        } else {
            crate::error::render_diagnostics(diags, self.color)
        };
        eprint!("{}", crate::jinja::functions::scrub(&text));
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
    pub fn from_cli(cli: &Cli) -> Result<Invocation, Error> {
        let g: &GlobalArgs = &cli.global;
        let cli_vars = parse_vars(g.vars.as_deref())?;
        let warn_error = match (
            &cli.warn_error.warn_error,
            &cli.warn_error.warn_error_options,
        ) {
            (true, _) => WarnErrorOptions::all("--warn-error"),
            (false, Some(text)) => WarnErrorOptions::parse(text, "--warn-error-options")?,
            (false, None) => WarnErrorOptions::default(),
        };
        let color = !g.no_color
            && std::env::var_os("NO_COLOR").is_none()
            && std::io::stdout().is_terminal();
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
            output: Output {
                json: g.log_format == LogFormat::Json,
                quiet: g.quiet,
                color,
            },
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

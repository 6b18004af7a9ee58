//! Errors and outcomes.
//!
//! Every user-facing problem becomes a [`Diagnostic`]: a message, an optional location (file, line,
//! column, the offending line of text) and an optional hint. A stage that can find several problems
//! collects them all and fails with [`Error::Diagnostics`], so an analyst fixes a whole project in
//! one pass instead of one error per run. [`Outcome`] and [`Error::exit_code`] carry dbt's exit
//! codes: 0 success, 1 a node or test failed, 2 a bad project, flag or config.

mod render;
pub mod suggest;
pub mod warn_error;

use std::fmt;
use std::path::{Path, PathBuf};

pub use render::{diagnostic_events, render_diagnostics};
pub use suggest::levenshtein;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// A place in a file the user wrote, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Path as shown to the user (relative to the project directory where possible).
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    /// The text of the line, for the snippet under the message.
    pub line_text: Option<String>,
}

impl Location {
    /// A location from a byte offset into `text`.
    pub fn from_offset(path: impl Into<PathBuf>, text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        Self::from_line_col(path, text, line, column)
    }

    /// A location from a 1-based line and column; the line's text is looked up in `text`.
    pub fn from_line_col(path: impl Into<PathBuf>, text: &str, line: usize, column: usize) -> Self {
        let line_text = text
            .lines()
            .nth(line.saturating_sub(1))
            .map(|l| l.trim_end().to_string());
        Location {
            path: path.into(),
            line: line.max(1),
            column: column.max(1),
            line_text,
        }
    }
}

/// One problem, with where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A short stable code, e.g. `yaml`, `unknown-ref`, `cycle`.
    pub code: &'static str,
    pub message: String,
    /// The file the problem is in, when it is in a file.
    pub file: Option<PathBuf>,
    pub location: Option<Location>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            file: None,
            location: None,
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    #[must_use]
    pub fn in_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
        self
    }

    #[must_use]
    pub fn at(mut self, location: Location) -> Self {
        self.file = Some(location.path.clone());
        self.location = Some(location);
        self
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(
                f,
                "{}:{}:{}: {}",
                loc.path.display(),
                loc.line,
                loc.column,
                self.message
            ),
            None => match &self.file {
                Some(p) => write!(f, "{}: {}", p.display(), self.message),
                None => f.write_str(&self.message),
            },
        }
    }
}

/// Collects diagnostics across a stage; a checkpoint turns the errors into a failure.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(ds);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Fails with every diagnostic gathered so far when any of them is an error; otherwise hands
    /// back the warnings for the caller to print.
    pub fn checkpoint(&mut self) -> Result<Vec<Diagnostic>, Error> {
        if self.has_errors() {
            let mut all = std::mem::take(&mut self.items);
            all.sort_by(|a, b| {
                b.severity
                    .cmp(&a.severity)
                    .then_with(|| a.file.cmp(&b.file))
                    .then_with(|| {
                        let la = a.location.as_ref().map_or(0, |l| l.line);
                        let lb = b.location.as_ref().map_or(0, |l| l.line);
                        la.cmp(&lb)
                    })
            });
            all.dedup();
            return Err(Error::Diagnostics(all));
        }
        Ok(std::mem::take(&mut self.items))
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }

    /// Everything gathered, as the error a stage fails with (sorted as `checkpoint` sorts).
    pub fn into_error(mut self) -> Error {
        match self.checkpoint() {
            Err(e) => e,
            Ok(items) => Error::Diagnostics(items),
        }
    }
}

/// The library's error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Problems with the project, its files, flags or profile (exit code 2).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Diagnostics(Vec<Diagnostic>),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn one(d: Diagnostic) -> Self {
        Error::Diagnostics(vec![d])
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Every error the library returns is a problem with the input (exit code 2); nodes that fail
    /// while running are reported through [`Outcome::Failed`] instead.
    pub fn exit_code(&self) -> u8 {
        2
    }

    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            Error::Diagnostics(ds) => ds.clone(),
            Error::Io { path, source } => vec![
                Diagnostic::error("io", format!("cannot access {}: {source}", path.display()))
                    .in_file(path),
            ],
        }
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Self {
        Error::one(d)
    }
}

/// What a command achieved, when it ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// A model, seed, snapshot or error-severity test failed.
    Failed,
    /// Stopped by Ctrl-C (or SIGTERM).
    Interrupted,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::Interrupted => 130,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

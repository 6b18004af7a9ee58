//! Renders diagnostics for people (file:line:col, the line, a caret, a hint), and as events for
//! the console and the log file (JSON logs carry each part as a field).

use super::{Diagnostic, Severity};
use crate::events::{Event, Level, kinds};
use std::fmt::Write;

/// Renders diagnostics the way a compiler does:
///
/// ```text
/// error[unknown-ref]: model 'orders' refers to 'custmers', which does not exist
///   --> models/orders.sql:3:8
///    |
///  3 | from {{ ref('custmers') }}
///    |        ^
///    = help: did you mean 'customers'?
/// ```
pub fn render_diagnostics(diags: &[Diagnostic], color: bool) -> String {
    let mut out = String::new();
    for d in diags {
        render_one(&mut out, d, color);
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors > 1 {
        let _ = writeln!(out, "{} errors found", errors);
    }
    out
}

fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn render_one(out: &mut String, d: &Diagnostic, color: bool) {
    let (label, tint) = match d.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    let _ = writeln!(
        out,
        "{}{} {}",
        paint(color, tint, &format!("{label}[{}]", d.code)),
        paint(color, "1", ":"),
        paint(color, "1", &d.message)
    );
    match (&d.location, &d.file) {
        (Some(loc), _) => {
            let gutter = loc.line.to_string().len();
            let pad = " ".repeat(gutter);
            let _ = writeln!(
                out,
                "{pad}{} {}:{}:{}",
                paint(color, "1;34", "-->"),
                loc.path.display(),
                loc.line,
                loc.column
            );
            if let Some(text) = &loc.line_text {
                let bar = paint(color, "1;34", "|");
                let _ = writeln!(out, "{pad} {bar}");
                let _ = writeln!(
                    out,
                    "{} {bar} {text}",
                    paint(color, "1;34", &loc.line.to_string())
                );
                let caret_pad: String = text
                    .chars()
                    .take(loc.column.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let _ = writeln!(out, "{pad} {bar} {caret_pad}{}", paint(color, tint, "^"));
            }
            if let Some(help) = &d.help {
                let _ = writeln!(out, "{pad} = help: {help}");
            }
        }
        (None, Some(path)) => {
            let _ = writeln!(out, "  {} {}", paint(color, "1;34", "-->"), path.display());
            if let Some(help) = &d.help {
                let _ = writeln!(out, "  = help: {help}");
            }
        }
        (None, None) => {
            if let Some(help) = &d.help {
                let _ = writeln!(out, "  = help: {help}");
            }
        }
    }
}

/// Each diagnostic as an event, for the console (stderr) and the log file: dbt's
/// `MainEncounteredError` for an error, a `Note` at warn level for a warning. The message is the
/// rendering above; `data` carries its parts (`code`, `file`, `line`, `column`, `help`) for JSON
/// logs, next to dbt's `exc` (errors) or `msg` (warnings).
pub fn diagnostic_events(diags: &[Diagnostic]) -> Vec<Event> {
    let mut out = vec![];
    for d in diags {
        let mut plain = String::new();
        render_one(&mut plain, d, false);
        let mut styled = String::new();
        render_one(&mut styled, d, true);
        let (kind, level, key) = match d.severity {
            Severity::Error => (kinds::MAIN_ENCOUNTERED_ERROR, Level::Error, "exc"),
            Severity::Warning => (kinds::NOTE, Level::Warn, "msg"),
        };
        out.push(
            Event::new(kind, plain.trim_end())
                .at(level)
                .styled(styled.trim_end())
                .with(key, d.message.clone())
                .with("code", d.code)
                .with("file", d.file.as_ref().map(|p| p.display().to_string()))
                .with("line", d.location.as_ref().map(|l| l.line))
                .with("column", d.location.as_ref().map(|l| l.column))
                .with("help", d.help.clone())
                .to_stderr(),
        );
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors > 1 {
        out.push(
            Event::note(format!("{errors} errors found"))
                .at(Level::Error)
                .to_stderr(),
        );
    }
    out
}

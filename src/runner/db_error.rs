//! A database error placed in the files the analyst reads.
//!
//! DuckDB ends a query error with `LINE n: <text>` and a caret, counting lines from the start of
//! the statement kiln ran (`create table ... as (`, the model's SQL, `)`): a number that matches
//! neither the model's file nor `target/run`. [`place`] finds the byte the caret points at, maps
//! it into the compiled SQL, the run file and, through the compiled SQL
//! ([`crate::jinja::lines`]), the line of the model's own file, and puts those in the message in
//! place of DuckDB's line.

use crate::error::Location;
use crate::jinja::lines::{SourceLine, source_line};
use std::fmt::Write;

/// What [`place`] needs to know of the node that failed.
pub struct Context<'a> {
    /// The node's file, as shown (`models/orders.sql`).
    pub source_path: &'a str,
    /// Its text, when the SQL was written in it (models, singular tests); `None` for SQL kiln
    /// generated (generic tests).
    pub raw: Option<&'a str>,
    /// The compiled SQL, and the ephemeral CTEs compiling injected into it.
    pub compiled: &'a str,
    pub ctes: &'a [(String, String)],
    /// `target/compiled/...` and `target/run/...` of the node, and the run file's text.
    pub compiled_path: String,
    pub run_path: String,
    pub script: &'a str,
    /// An ephemeral model's file and text, by name.
    pub ephemeral: &'a dyn Fn(&str) -> Option<(String, String)>,
}

/// DuckDB's `LINE n` block at the end of `message`: the text before it, the line number, the
/// text shown and the caret's column on screen.
fn line_block(message: &str) -> Option<(&str, usize, &str, usize)> {
    let re = regex::Regex::new(r"\n?\nLINE (\d+): ([^\n]*)\n( *)\^\s*$").ok()?;
    let caps = re.captures(message)?;
    let whole = caps.get(0)?;
    let line = caps.get(1)?.as_str().parse().ok()?;
    Some((
        message[..whole.start()].trim_end(),
        line,
        caps.get(2)?.as_str(),
        caps.get(3)?.as_str().len(),
    ))
}

/// The byte of `statement` that DuckDB's caret points at.
fn error_offset(statement: &str, line: usize, shown: &str, caret: usize) -> Option<usize> {
    let line_start = if line <= 1 {
        0
    } else {
        statement.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let text = statement[line_start..].split('\n').next()?;
    let prefix = format!("LINE {line}: ").len();
    // A long line is shown as a window around the error, `...` marking what was cut.
    let (shown_start, cut) = match shown.strip_prefix("...") {
        Some(rest) => {
            let core = rest.strip_suffix("...").unwrap_or(rest);
            (text.find(rest).or_else(|| text.find(core))?, 3)
        }
        None => (0, 0),
    };
    let chars = caret.checked_sub(prefix + cut)?;
    let within = text[shown_start..]
        .char_indices()
        .nth(chars)
        .map_or(text.len() - shown_start, |(i, _)| i);
    Some(line_start + shown_start + within)
}

/// `message` with DuckDB's `LINE n` replaced by the places the error is at, or `None` when it
/// has no `LINE n` or the statement does not hold that line.
pub fn place(message: &str, statement: &str, cx: &Context) -> Option<String> {
    let (head, line, shown, caret) = line_block(message)?;
    let offset = error_offset(statement, line, shown, caret)?;
    let run = cx
        .script
        .find(statement.trim_end().trim_end_matches(';'))
        .map(|at| Location::from_offset(&cx.run_path, cx.script, at + offset));
    let code = cx.compiled.trim();
    let compiled = statement
        .find(code)
        .filter(|at| !code.is_empty() && offset >= *at && offset <= at + code.len())
        .map(|at| {
            let lead = cx.compiled.len() - cx.compiled.trim_start().len();
            Location::from_offset(&cx.compiled_path, cx.compiled, lead + offset - at)
        });
    let mut out = Snippets::new(head);
    let Some(compiled) = compiled else {
        // Outside the node's SQL (a hook, the DDL around it): the run file is all there is.
        out.at(&run?, true);
        return Some(out.text());
    };
    let run_note = run.map(|r| format!("line {} of {}", r.line, r.path.display()));
    let compiled_note = format!("line {} of {}", compiled.line, compiled.path.display());
    let both = match &run_note {
        Some(r) => format!("{compiled_note}, {r}"),
        None => compiled_note.clone(),
    };
    // "rendered by Jinja as line 6 of target/compiled/... (line 7 of target/run/...):"
    let rendered_as = match &run_note {
        Some(r) => format!("rendered by Jinja as {compiled_note} ({r}):"),
        None => format!("rendered by Jinja as {compiled_note}:"),
    };
    let Some(raw) = cx.raw else {
        out.at(&compiled, true);
        if let Some(r) = &run_note {
            out.note(r);
        }
        return Some(out.text());
    };
    match source_line(raw, cx.compiled, cx.ctes, compiled.line) {
        SourceLine::Exact(l) => {
            out.at(
                &Location::from_line_col(cx.source_path, raw, l, compiled.column),
                true,
            );
            out.note(&both);
        }
        SourceLine::Rendered(l) => {
            out.at(&Location::from_line_col(cx.source_path, raw, l, 0), false);
            out.note(&rendered_as);
            out.line(&compiled);
        }
        SourceLine::Ephemeral { model, line } => {
            let what = format!("in ephemeral model '{model}', injected as a CTE");
            match ephemeral_line(cx, &model, line) {
                Some((path, eph_raw, SourceLine::Exact(l))) => {
                    out.at(
                        &Location::from_line_col(&path, &eph_raw, l, compiled.column),
                        true,
                    );
                    out.note(&format!("{what}: {both}"));
                }
                Some((path, eph_raw, SourceLine::Rendered(l))) => {
                    out.at(&Location::from_line_col(&path, &eph_raw, l, 0), false);
                    out.note(&format!("{what}, {rendered_as}"));
                    out.line(&compiled);
                }
                _ => {
                    out.at(&compiled, true);
                    out.note(&match &run_note {
                        Some(r) => format!("{what}; {r}"),
                        None => what,
                    });
                }
            }
        }
        SourceLine::Generated => {
            out.at(&compiled, true);
            let what = format!(
                "SQL that Jinja generated: no line of {} reads so",
                cx.source_path
            );
            out.note(&match &run_note {
                Some(r) => format!("{what}; {r}"),
                None => what,
            });
        }
    }
    Some(out.text())
}

/// Line `line` of an injected CTE, in its ephemeral model's file: the file, its text, the line.
fn ephemeral_line(cx: &Context, model: &str, line: usize) -> Option<(String, String, SourceLine)> {
    let (path, raw) = (cx.ephemeral)(model)?;
    let body = &cx
        .ctes
        .iter()
        .find(|(name, _)| name.trim_start_matches("__dbt__cte__") == model)?
        .1;
    let at = source_line(&raw, body, &[], line);
    Some((path, raw, at))
}

/// The error's text under construction: the message, then places in the style of
/// [`crate::error::render_diagnostics`] (`--> file:line:col`, the line, a caret, `= notes`).
struct Snippets {
    text: String,
    gutter: usize,
}

impl Snippets {
    fn new(head: &str) -> Self {
        Snippets {
            text: format!("{head}\n\n"),
            gutter: 1,
        }
    }

    /// `--> path:line:col`, then the line with a caret under the column (when `caret`).
    fn at(&mut self, at: &Location, caret: bool) {
        self.gutter = at.line.to_string().len();
        let pad = " ".repeat(self.gutter);
        let place = if caret {
            format!("{}:{}:{}", at.path.display(), at.line, at.column)
        } else {
            format!("{}:{}", at.path.display(), at.line)
        };
        let _ = writeln!(self.text, "{pad}--> {place}");
        let _ = writeln!(self.text, "{pad} |");
        self.source(at, caret);
    }

    /// Another line under the first (the compiled line a source line became), with its caret.
    fn line(&mut self, at: &Location) {
        self.gutter = self.gutter.max(at.line.to_string().len());
        let pad = " ".repeat(self.gutter);
        let _ = writeln!(self.text, "{pad} |");
        self.source(at, true);
    }

    fn source(&mut self, at: &Location, caret: bool) {
        let pad = " ".repeat(self.gutter);
        let text = at.line_text.as_deref().unwrap_or_default();
        let _ = writeln!(self.text, "{:>w$} | {text}", at.line, w = self.gutter);
        if caret {
            let under: String = text
                .chars()
                .take(at.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(self.text, "{pad} | {under}^");
        }
    }

    fn note(&mut self, note: &str) {
        let pad = " ".repeat(self.gutter);
        let _ = writeln!(self.text, "{pad} = {note}");
    }

    fn text(self) -> String {
        self.text.trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DDL: &str = "create table \"dev\".\"main\".\"orders\" as (\n";

    fn cx<'a>(raw: &'a str, compiled: &'a str, script: &'a str) -> Context<'a> {
        Context {
            source_path: "models/orders.sql",
            raw: Some(raw),
            compiled,
            ctes: &[],
            compiled_path: "target/compiled/shop/models/orders.sql".into(),
            run_path: "target/run/shop/models/orders.sql".into(),
            script,
            ephemeral: &|_| None,
        }
    }

    #[test]
    fn duckdb_line_of_the_statement_becomes_the_model_line() {
        let raw = "-- Orders.\n-- (a header)\nselect\n    id,\n    amount_usd\nfrom t\n";
        let compiled = raw.trim_end();
        let statement = format!("{DDL}{compiled}\n)");
        let script = format!("{statement};");
        // DuckDB counts from `create table`: the column is on its line 6.
        let message = "Binder Error: Referenced column \"amount_usd\" not found in FROM clause!\nCandidate bindings: \"id\"\n\nLINE 6:     amount_usd\n            ^";
        let placed = place(message, &statement, &cx(raw, compiled, &script));
        assert_eq!(
            placed.as_deref(),
            Some(
                "Binder Error: Referenced column \"amount_usd\" not found in FROM clause!\nCandidate bindings: \"id\"\n\n --> models/orders.sql:5:5\n  |\n5 |     amount_usd\n  |     ^\n  = line 5 of target/compiled/shop/models/orders.sql, line 6 of target/run/shop/models/orders.sql"
            )
        );
    }

    #[test]
    fn a_window_of_a_long_line_is_found_in_it() {
        let line = format!(
            "select {} from t where {}",
            "x, ".repeat(40) + "nope",
            "y = 1 and ".repeat(5)
        );
        let statement = format!("{DDL}{line}\n)");
        let at = line.find("nope").unwrap();
        let shown = format!("...{}...", &line[at - 39..at + 20]);
        let caret = "LINE 2: ".len() + 3 + 39;
        assert_eq!(
            error_offset(&statement, 2, &shown, caret),
            Some(DDL.len() + at)
        );
    }

    #[test]
    fn a_message_without_a_line_is_left_alone() {
        assert_eq!(
            place(
                "Catalog Error: nope",
                "select 1",
                &cx("", "select 1", "select 1;")
            ),
            None
        );
    }
}

//! Where a line of a node's compiled SQL came from in the file the analyst wrote.
//!
//! Rendering keeps most lines as they are: plain SQL passes through Jinja unchanged, and an
//! expression (`{{ ref('orders') }}`) changes the text of its line but not the line count. So
//! the compiled lines are aligned with the source lines by a line diff: an unchanged line maps
//! exactly; a line Jinja rewrote maps to the source line it was rendered from (by position when
//! the changed block kept its line count, by likeness when it did not). The CTEs of ephemeral
//! models, which compiling injects into the `with`, are recognised and named.

use similar::{Algorithm, DiffOp, capture_diff_slices};

/// The origin of one compiled line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceLine {
    /// The same text, on this (1-based) line of the source.
    Exact(usize),
    /// Rendered by Jinja from this line of the source (its text differs).
    Rendered(usize),
    /// Inside the injected CTE of an ephemeral model: its name, and the line within the CTE's
    /// SQL (that model's compiled SQL).
    Ephemeral { model: String, line: usize },
    /// No line of the source reads so: SQL a macro or a loop generated.
    Generated,
}

/// The origin of line `line` (1-based) of `compiled`, the compiled SQL of a node whose source
/// text is `raw` and into which `ctes` (`(__dbt__cte__name, sql)`) were injected.
pub fn source_line(
    raw: &str,
    compiled: &str,
    ctes: &[(String, String)],
    line: usize,
) -> SourceLine {
    let Some(offset) = line_offset(compiled, line) else {
        return SourceLine::Generated;
    };
    // Take the injected CTEs out of the compiled text: what is left is what the node rendered.
    let (rendered, offset) = match injected(compiled, ctes) {
        Some(cut) if offset >= cut.start && offset < cut.end => {
            return cut
                .ctes
                .iter()
                .find(|(_, range)| range.contains(&offset))
                .map_or(SourceLine::Generated, |(name, range)| {
                    SourceLine::Ephemeral {
                        model: name.trim_start_matches("__dbt__cte__").to_string(),
                        line: compiled[range.start..offset].matches('\n').count() + 1,
                    }
                });
        }
        Some(cut) => {
            let rendered = format!("{}{}", &compiled[..cut.start], &compiled[cut.end..]);
            let shifted = if offset >= cut.end {
                offset - (cut.end - cut.start)
            } else {
                offset
            };
            (rendered, shifted)
        }
        None => (compiled.to_string(), offset),
    };
    let index = rendered[..offset].matches('\n').count();
    map_line(raw, &rendered, index)
}

/// Byte offset of the start of 1-based `line`.
fn line_offset(text: &str, line: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    if line == 1 {
        return Some(0);
    }
    text.match_indices('\n').nth(line - 2).map(|(i, _)| i + 1)
}

/// Where compiling injected the ephemeral CTEs: the bytes to cut to get the node's rendered SQL
/// back, and each CTE's body.
struct Injection {
    start: usize,
    end: usize,
    ctes: Vec<(String, std::ops::Range<usize>)>,
}

/// Finds the injected CTEs (see [`crate::sql::inject_ctes`]: `with <ctes>, ` merged into the
/// node's own `with`, or `with <ctes>\n` put first).
fn injected(compiled: &str, ctes: &[(String, String)]) -> Option<Injection> {
    if ctes.is_empty() {
        return None;
    }
    let defs: Vec<String> = ctes
        .iter()
        .map(|(name, body)| format!("{name} as (\n{body}\n)"))
        .collect();
    let joined = defs.join(", ");
    let at = compiled.find(&joined)?;
    let after = at + joined.len();
    let (start, end) = if compiled[after..].starts_with(", ") {
        (at, after + 2)
    } else if compiled[..at].ends_with("with ") && compiled[after..].starts_with('\n') {
        (at - "with ".len(), after + 1)
    } else {
        return None;
    };
    let mut bodies = vec![];
    let mut pos = at;
    for ((name, body), def) in ctes.iter().zip(&defs) {
        let body_start = pos + name.len() + " as (\n".len();
        bodies.push((name.clone(), body_start..body_start + body.len() + 1));
        pos += def.len() + ", ".len();
    }
    Some(Injection {
        start,
        end,
        ctes: bodies,
    })
}

/// Maps 0-based line `index` of `rendered` to the line of `raw` it came from.
fn map_line(raw: &str, rendered: &str, index: usize) -> SourceLine {
    let raw_lines: Vec<&str> = raw.lines().map(str::trim_end).collect();
    let new_lines: Vec<&str> = rendered.lines().map(str::trim_end).collect();
    let ops = capture_diff_slices(Algorithm::Patience, &raw_lines, &new_lines);
    for op in ops {
        let (_, old, new) = op.as_tag_tuple();
        if !new.contains(&index) {
            continue;
        }
        let at = index - new.start;
        return match op {
            DiffOp::Equal { .. } => SourceLine::Exact(old.start + at + 1),
            DiffOp::Replace { .. } if old.len() == new.len() => {
                SourceLine::Rendered(old.start + at + 1)
            }
            DiffOp::Replace { .. } => {
                let line = most_alike(&raw_lines[old.clone()], new_lines[index], at, new.len());
                SourceLine::Rendered(old.start + line + 1)
            }
            DiffOp::Insert { .. } | DiffOp::Delete { .. } => SourceLine::Generated,
        };
    }
    SourceLine::Generated
}

/// Of the source lines a block of `of` rendered lines came from, the one most like `line` (the
/// `at`-th of the block): most words in common, ties going to the one at the same relative
/// place in the block.
fn most_alike(candidates: &[&str], line: &str, at: usize, of: usize) -> usize {
    let words = |s: &str| -> std::collections::BTreeSet<String> {
        s.split(|c: char| !c.is_alphanumeric() && c != '_')
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect()
    };
    let wanted = words(line);
    let proportional = (at * candidates.len()) / of.max(1);
    (0..candidates.len())
        .max_by_key(|&i| {
            let shared = words(candidates[i]).intersection(&wanted).count();
            (shared, std::cmp::Reverse(i.abs_diff(proportional)))
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_lines_map_exactly_and_rewritten_lines_to_their_source() {
        let raw = "{{ config(materialized='table') }}\n-- header\nselect\n    id,\n    amount_usd\nfrom {{ ref('orders') }}\nwhere id > 0\n";
        let compiled = "\n-- header\nselect\n    id,\n    amount_usd\nfrom \"dev\".\"main\".\"orders\"\nwhere id > 0";
        assert_eq!(source_line(raw, compiled, &[], 5), SourceLine::Exact(5));
        assert_eq!(source_line(raw, compiled, &[], 6), SourceLine::Rendered(6));
        assert_eq!(source_line(raw, compiled, &[], 7), SourceLine::Exact(7));
    }

    #[test]
    fn lines_after_a_block_jinja_removed_or_expanded_keep_their_source_line() {
        let raw = "select\n{% if var('x', true) %}\n    a,\n{% endif %}\n    {{ cols() }}\nfrom t\nwhere bad_col = 1\n";
        let compiled = "select\n\n    a,\n\n    c1,\n    c2,\n    c3\nfrom t\nwhere bad_col = 1";
        assert_eq!(source_line(raw, compiled, &[], 3), SourceLine::Exact(3));
        assert_eq!(source_line(raw, compiled, &[], 6), SourceLine::Rendered(5));
        assert_eq!(source_line(raw, compiled, &[], 9), SourceLine::Exact(7));
    }

    #[test]
    fn injected_ctes_are_named_and_skipped() {
        let ctes = vec![
            ("__dbt__cte__base".to_string(), "select 1 as id".to_string()),
            (
                "__dbt__cte__mid".to_string(),
                "select id\nfrom __dbt__cte__base\nwhere nope".to_string(),
            ),
        ];
        let raw = "-- c\nwith x as (\n    select * from {{ ref('mid') }}\n)\nselect bad from x\n";
        let rendered = "-- c\nwith x as (\n    select * from __dbt__cte__mid\n)\nselect bad from x";
        let compiled = inject(rendered, &ctes);
        let line_of = |needle: &str| {
            compiled[..compiled.find(needle).unwrap()]
                .matches('\n')
                .count()
                + 1
        };
        assert_eq!(
            source_line(raw, &compiled, &ctes, line_of("where nope")),
            SourceLine::Ephemeral {
                model: "mid".into(),
                line: 3
            }
        );
        assert_eq!(
            source_line(raw, &compiled, &ctes, line_of("select bad")),
            SourceLine::Exact(5)
        );
        assert_eq!(
            source_line(
                raw,
                &compiled,
                &ctes,
                line_of("    select * from __dbt__cte__mid")
            ),
            SourceLine::Rendered(3)
        );
        // Without a `with` of its own, the CTEs go first, and are cut out the same way.
        let rendered = "select bad\nfrom __dbt__cte__mid";
        let compiled = inject(rendered, &ctes);
        let raw = "select bad\nfrom {{ ref('mid') }}\n";
        assert_eq!(
            source_line(raw, &compiled, &ctes, line_of_in(&compiled, "select bad")),
            SourceLine::Exact(1)
        );
    }

    fn inject(sql: &str, ctes: &[(String, String)]) -> String {
        crate::sql::inject_ctes(sql, ctes, &sqlparser::dialect::DuckDbDialect {}).sql
    }

    fn line_of_in(text: &str, needle: &str) -> usize {
        text[..text.find(needle).unwrap()].matches('\n').count() + 1
    }
}

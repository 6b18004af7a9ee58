//! Ephemeral models injected as CTEs.
//!
//! A model that refs an ephemeral model reads `__dbt__cte__<name>`; compiling puts
//! `__dbt__cte__<name> as (\n<its SQL>\n)` in front of the model's own CTEs. The parsed tree says
//! where: the top-level query's own `WITH` keyword (its token carries a span; `WITH RECURSIVE`
//! keeps its `recursive`), or, when the query has no `WITH` of its own (a plain select, a set
//! operation, a parenthesised query), the start of the text, where a new `with` goes. The CTEs
//! are then spliced into the text at that place, so the model keeps its formatting and comments.
//!
//! Output, both ways (unchanged from the text rule kiln used before it parsed SQL):
//! - with a `with`: everything before the keyword as written, then
//!   `with [recursive ]<ctes>, <the model's first CTE...>`;
//! - without: the leading whitespace, `with <ctes>\n`, then the model's text from its first
//!   character on: comments before the query stay below the new `with`, as dbt puts them.
//!
//! When the SQL does not parse in the adapter's dialect (DuckDB syntax sqlparser does not know),
//! the text rule places the CTEs instead: the first word after leading comments is `with`
//! (then `recursive`) or not. [`Injected::text_rule`] says why the tree was not used.

use super::{offset_of, parse};
use sqlparser::ast::Statement;
use sqlparser::dialect::Dialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

/// A model's SQL with the ephemeral CTEs injected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    pub sql: String,
    /// Set when the SQL could not be read as a tree and the text rule placed the CTEs: why.
    pub text_rule: Option<String>,
}

/// Injects `ctes` (`(__dbt__cte__name, compiled SQL)`, in dependency order) into `sql`, parsed
/// in `dialect`. Parses only when there is something to inject.
pub fn inject_ctes(sql: &str, ctes: &[(String, String)], dialect: &dyn Dialect) -> Injected {
    if ctes.is_empty() {
        return Injected {
            sql: sql.to_string(),
            text_rule: None,
        };
    }
    let defs = ctes
        .iter()
        .map(|(name, body)| format!("{name} as (\n{body}\n)"))
        .collect::<Vec<_>>()
        .join(", ");
    match place(sql, dialect) {
        Ok(at) => Injected {
            sql: splice(sql, at, &defs),
            text_rule: None,
        },
        Err(why) => Injected {
            sql: splice(sql, place_by_text(sql), &defs),
            text_rule: Some(why),
        },
    }
}

/// Where the CTEs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Into the query's own `with`: the keyword starts at byte `keyword`, and the first CTE
    /// (after the keyword, `recursive` and whitespace) at or after byte `rest`.
    With {
        keyword: usize,
        rest: usize,
        recursive: bool,
    },
    /// A new `with` in front of the query.
    First,
}

fn splice(sql: &str, at: Place, defs: &str) -> String {
    match at {
        Place::With {
            keyword,
            rest,
            recursive,
        } => {
            let recursive = if recursive { "recursive " } else { "" };
            format!(
                "{}with {recursive}{defs}, {}",
                &sql[..keyword],
                sql[rest..].trim_start()
            )
        }
        Place::First => {
            let text = sql.trim_start();
            let lead = &sql[..sql.len() - text.len()];
            format!("{lead}with {defs}\n{text}")
        }
    }
}

/// The place the parsed tree gives, or why there is none.
fn place(sql: &str, dialect: &dyn Dialect) -> Result<Place, String> {
    let statements =
        parse(sql, dialect).map_err(|e| format!("the SQL does not parse in {dialect:?}: {e}"))?;
    let query = match statements.first() {
        None => return Ok(Place::First),
        Some(Statement::Query(query)) => query,
        Some(other) => {
            let words: Vec<String> = other
                .to_string()
                .split_whitespace()
                .take(2)
                .map(str::to_string)
                .collect();
            return Err(format!(
                "the SQL is not a query but a statement starting `{}`",
                words.join(" ")
            ));
        }
    };
    let Some(with) = &query.with else {
        return Ok(Place::First);
    };
    let span = with.with_token.0.span;
    let (Some(keyword), Some(end)) = (offset_of(sql, span.start), offset_of(sql, span.end)) else {
        return Err(format!(
            "the `with` keyword has no usable position ({span:?})"
        ));
    };
    if !sql[keyword..end].eq_ignore_ascii_case("with") {
        return Err(format!(
            "the `with` keyword's position ({span:?}) holds `{}`",
            &sql[keyword..end]
        ));
    }
    if !with.recursive {
        return Ok(Place::With {
            keyword,
            rest: end,
            recursive: false,
        });
    }
    // `recursive` is not kept as a token: it is the first token after `with`.
    let after = &sql[end..];
    let tokens = Tokenizer::new(dialect, after)
        .tokenize_with_location()
        .map_err(|e| format!("the text after `with` does not tokenize: {e}"))?;
    let recursive = tokens
        .iter()
        .find(|t| !matches!(t.token, Token::Whitespace(_)))
        .filter(|t| matches!(&t.token, Token::Word(w) if w.keyword == Keyword::RECURSIVE))
        .and_then(|t| offset_of(after, t.span.end))
        .ok_or("`with recursive` has no `recursive` token after `with`")?;
    Ok(Place::With {
        keyword,
        rest: end + recursive,
        recursive: true,
    })
}

/// The text rule: after leading whitespace and comments, `with` (then `recursive`) as whole
/// words, or not.
fn place_by_text(sql: &str) -> Place {
    let keyword = leading_trivia(sql);
    let Some(rest) = strip_keyword(&sql[keyword..], "with") else {
        return Place::First;
    };
    let after_with = sql.len() - rest.len();
    let rest = rest.trim_start();
    match strip_keyword(rest, "recursive") {
        Some(after) => Place::With {
            keyword,
            rest: sql.len() - after.len(),
            recursive: true,
        },
        None => Place::With {
            keyword,
            rest: after_with,
            recursive: false,
        },
    }
}

/// The length of the whitespace and comments `sql` starts with. An unclosed `/*` counts as text.
fn leading_trivia(sql: &str) -> usize {
    let mut i = 0;
    loop {
        let rest = &sql[i..];
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        if trimmed.starts_with("--") {
            i += trimmed.find('\n').map_or(trimmed.len(), |n| n + 1);
        } else if let Some(block) = trimmed.strip_prefix("/*")
            && let Some(end) = block.find("*/")
        {
            i += 2 + end + 2;
        } else {
            return i;
        }
    }
}

/// `text` after `keyword` (any case) when it starts with it as a whole word.
fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let head = text.get(..keyword.len())?;
    let rest = &text[keyword.len()..];
    let word_ends = rest.chars().next().is_some_and(|c| c.is_whitespace())
        || rest.starts_with("--")
        || rest.starts_with("/*");
    (head.eq_ignore_ascii_case(keyword) && word_ends).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::{DuckDbDialect, GenericDialect};

    fn ctes() -> Vec<(String, String)> {
        vec![("__dbt__cte__a".to_string(), "select 1".to_string())]
    }

    /// Injects by the tree (asserting the SQL parsed) and checks the result parses too.
    fn by_tree(sql: &str) -> String {
        let out = inject_ctes(sql, &ctes(), &DuckDbDialect {});
        assert_eq!(out.text_rule, None, "{sql}");
        parse(&out.sql, &DuckDbDialect {})
            .unwrap_or_else(|e| panic!("injected SQL does not parse: {e}\n{}", out.sql));
        out.sql
    }

    #[test]
    fn nothing_to_inject_leaves_the_sql_alone() {
        let out = inject_ctes("selec oops", &[], &DuckDbDialect {});
        assert_eq!(out.sql, "selec oops");
        assert_eq!(out.text_rule, None);
    }

    #[test]
    fn ctes_go_first_when_the_query_has_no_with() {
        assert_eq!(
            by_tree("select * from __dbt__cte__a"),
            "with __dbt__cte__a as (\nselect 1\n)\nselect * from __dbt__cte__a"
        );
        // Leading comments stay below the new `with`; only leading whitespace stays above.
        assert_eq!(
            by_tree("\n  -- with care\nselect * from __dbt__cte__a"),
            "\n  with __dbt__cte__a as (\nselect 1\n)\n-- with care\nselect * from __dbt__cte__a"
        );
    }

    #[test]
    fn ctes_merge_into_the_querys_own_with() {
        assert_eq!(
            by_tree("  WITH x as (select 2) select * from x"),
            "  with __dbt__cte__a as (\nselect 1\n), x as (select 2) select * from x"
        );
        assert_eq!(
            by_tree("-- one\n-- two\nwith x as (select 2) select * from x"),
            "-- one\n-- two\nwith __dbt__cte__a as (\nselect 1\n), x as (select 2) select * from x"
        );
        assert_eq!(
            by_tree("/* a\n b */ --c\n  WITH RECURSIVE x as (select 2) select 1"),
            "/* a\n b */ --c\n  with recursive __dbt__cte__a as (\nselect 1\n), x as (select 2) select 1"
        );
        // A comment between `with` and `recursive`, non-ASCII text before the keyword.
        assert_eq!(
            by_tree("-- café\nwith /* r */ recursive\n  x as (select 2) select 1"),
            "-- café\nwith recursive __dbt__cte__a as (\nselect 1\n), x as (select 2) select 1"
        );
    }

    #[test]
    fn set_operations_and_parentheses() {
        // The `with` of a union's first branch is the whole query's.
        assert_eq!(
            by_tree("with x as (select 2) select * from x union all select * from __dbt__cte__a"),
            "with __dbt__cte__a as (\nselect 1\n), x as (select 2) select * from x union all select * from __dbt__cte__a"
        );
        assert_eq!(
            by_tree("select 1 union select * from __dbt__cte__a"),
            "with __dbt__cte__a as (\nselect 1\n)\nselect 1 union select * from __dbt__cte__a"
        );
        // A parenthesised query's own `with` is inside the parentheses: the CTEs go in front.
        assert_eq!(
            by_tree("(with x as (select 2) select * from x, __dbt__cte__a)"),
            "with __dbt__cte__a as (\nselect 1\n)\n(with x as (select 2) select * from x, __dbt__cte__a)"
        );
        assert_eq!(
            by_tree("(select 1) union all (select * from __dbt__cte__a) order by 1"),
            "with __dbt__cte__a as (\nselect 1\n)\n(select 1) union all (select * from __dbt__cte__a) order by 1"
        );
        // A `with` further in (a subquery's) is not the query's.
        assert_eq!(
            by_tree("select * from (with x as (select 2) select * from x), __dbt__cte__a"),
            "with __dbt__cte__a as (\nselect 1\n)\nselect * from (with x as (select 2) select * from x), __dbt__cte__a"
        );
    }

    #[test]
    fn the_text_rule_places_the_ctes_when_the_sql_does_not_parse() {
        // DuckDB's list comprehension is outside sqlparser 0.62's grammar.
        let sql =
            "-- c\nwith x as (select [y + 1 for y in [1, 2]] as l) select * from x, __dbt__cte__a";
        let out = inject_ctes(sql, &ctes(), &DuckDbDialect {});
        assert_eq!(
            out.sql,
            "-- c\nwith __dbt__cte__a as (\nselect 1\n), x as (select [y + 1 for y in [1, 2]] as l) select * from x, __dbt__cte__a"
        );
        let why = out.text_rule.expect("fell back to the text rule");
        assert!(
            why.starts_with("the SQL does not parse in DuckDbDialect"),
            "{why}"
        );
        // A comment that mentions `with` is not the keyword; `without` is not `with`; an unclosed
        // comment is text.
        let text = |sql: &str| inject_ctes(sql, &ctes(), &DuckDbDialect {}).sql;
        assert_eq!(
            text("-- with care\nselect [y for y in x] from __dbt__cte__a"),
            "with __dbt__cte__a as (\nselect 1\n)\n-- with care\nselect [y for y in x] from __dbt__cte__a"
        );
        assert_eq!(
            text("/* open\nwithout"),
            "with __dbt__cte__a as (\nselect 1\n)\n/* open\nwithout"
        );
        assert_eq!(
            text("WITH  Recursive\tx as (select [y for y in z]) select 1"),
            "with recursive __dbt__cte__a as (\nselect 1\n), x as (select [y for y in z]) select 1"
        );
    }

    #[test]
    fn a_statement_that_is_not_a_query_uses_the_text_rule() {
        let out = inject_ctes(
            "insert into t select * from __dbt__cte__a",
            &ctes(),
            &GenericDialect {},
        );
        assert_eq!(
            out.sql,
            "with __dbt__cte__a as (\nselect 1\n)\ninsert into t select * from __dbt__cte__a"
        );
        assert_eq!(
            out.text_rule.as_deref(),
            Some("the SQL is not a query but a statement starting `INSERT INTO`")
        );
    }

    #[test]
    fn several_ctes_in_dependency_order() {
        let ctes = vec![
            ("__dbt__cte__a".to_string(), "select 1 as n".to_string()),
            (
                "__dbt__cte__b".to_string(),
                "select n from __dbt__cte__a".to_string(),
            ),
        ];
        let out = inject_ctes(
            "with c as (select * from __dbt__cte__b) select * from c",
            &ctes,
            &DuckDbDialect {},
        );
        assert_eq!(
            out.sql,
            "with __dbt__cte__a as (\nselect 1 as n\n), __dbt__cte__b as (\nselect n from __dbt__cte__a\n), c as (select * from __dbt__cte__b) select * from c"
        );
        assert_eq!(out.text_rule, None);
    }
}

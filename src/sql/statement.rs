//! What a statement is, read from its tree: whether it opens or closes a transaction, and the
//! command tag a database reports for it.

use super::parse;
use sqlparser::ast::{SetExpr, Statement};
use sqlparser::dialect::Dialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

/// A statement that opens or closes a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionControl {
    /// `begin`, `begin transaction`, `start transaction`.
    Begin,
    /// `commit`, `commit work`, `end`.
    Commit,
    /// `rollback`, `rollback transaction` (not `rollback to savepoint`, which keeps it open).
    Rollback,
}

/// Whether `sql` is exactly one statement that opens or closes a transaction (comments, case,
/// `transaction`/`work` and a trailing `;` are all allowed, as the database allows them).
///
/// Such a statement starts with `begin`, `start`, `commit`, `end` or `rollback`; anything else
/// (a model's whole `create table ... as`) is only tokenized, never parsed.
pub fn transaction_control(sql: &str, dialect: &dyn Dialect) -> Option<TransactionControl> {
    let tokens = Tokenizer::new(dialect, sql).tokenize_with_location().ok()?;
    let first = tokens
        .iter()
        .find(|t| !matches!(t.token, Token::Whitespace(_)))?;
    let Token::Word(word) = &first.token else {
        return None;
    };
    if !matches!(
        word.keyword,
        Keyword::BEGIN | Keyword::START | Keyword::COMMIT | Keyword::END | Keyword::ROLLBACK
    ) {
        return None;
    }
    let statements = Parser::new(dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .ok()?;
    match statements.as_slice() {
        [Statement::StartTransaction { statements, .. }] if statements.is_empty() => {
            Some(TransactionControl::Begin)
        }
        [Statement::Commit { .. }] => Some(TransactionControl::Commit),
        [
            Statement::Rollback {
                savepoint: None, ..
            },
        ] => Some(TransactionControl::Rollback),
        _ => None,
    }
}

/// The command tag of the last statement in `sql`, upper case, as a database reports it after
/// running it: `SELECT` for any query (a `with` included), `INSERT`/`UPDATE`/`DELETE`/`MERGE`
/// for those statements even behind a `with`, otherwise the statement's first keyword
/// (`CREATE`, `DROP`...). Empty when `sql` holds no statement.
///
/// SQL that does not parse in `dialect` gets the first word of its last statement, read by the
/// tokenizer (so comments and string literals are skipped correctly).
pub fn command_tag(sql: &str, dialect: &dyn Dialect) -> String {
    match parse(sql, dialect) {
        Ok(statements) => statements.last().map(tag_of).unwrap_or_default(),
        Err(_) => first_word_of_last_statement(sql, dialect),
    }
}

fn tag_of(statement: &Statement) -> String {
    let tag = match statement {
        Statement::Query(query) => match &*query.body {
            SetExpr::Insert(_) => "INSERT",
            SetExpr::Update(_) => "UPDATE",
            SetExpr::Delete(_) => "DELETE",
            SetExpr::Merge(_) => "MERGE",
            _ => "SELECT",
        },
        Statement::Insert(_) => "INSERT",
        Statement::Update(_) => "UPDATE",
        Statement::Delete(_) => "DELETE",
        Statement::Merge(_) => "MERGE",
        Statement::Copy { .. } => "COPY",
        Statement::CreateTable(_)
        | Statement::CreateView(_)
        | Statement::CreateSchema { .. }
        | Statement::CreateIndex(_) => "CREATE",
        Statement::Drop { .. } => "DROP",
        Statement::AlterTable(_) => "ALTER",
        Statement::Truncate(_) => "TRUNCATE",
        // Every other statement prints starting with its keyword (printing the common ones
        // above, whose queries can be long, is not worth it).
        other => {
            return other
                .to_string()
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
        }
    };
    tag.to_string()
}

fn first_word_of_last_statement(sql: &str, dialect: &dyn Dialect) -> String {
    let Ok(tokens) = Tokenizer::new(dialect, sql).tokenize() else {
        return String::new();
    };
    tokens
        .split(|t| *t == Token::SemiColon)
        .filter_map(|statement| {
            // The first word, past comments and any punctuation (`(select ...)`).
            statement.iter().find_map(|t| match t {
                Token::Word(w) => Some(w.value.to_ascii_uppercase()),
                _ => None,
            })
        })
        .next_back()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::{DuckDbDialect, GenericDialect};

    #[test]
    fn transaction_control_statements_are_recognised_by_their_tree() {
        let duck = DuckDbDialect {};
        let tc = |sql: &str| transaction_control(sql, &duck);
        for begin in [
            "begin",
            "BEGIN;",
            "  begin transaction ;\n",
            "-- open it\nBegin Transaction",
            "start transaction",
        ] {
            assert_eq!(tc(begin), Some(TransactionControl::Begin), "{begin}");
        }
        for commit in [
            "commit",
            "COMMIT;",
            "commit transaction",
            "end",
            "/* c */ commit",
        ] {
            assert_eq!(tc(commit), Some(TransactionControl::Commit), "{commit}");
        }
        for rollback in ["rollback", "ROLLBACK;", "rollback transaction"] {
            assert_eq!(
                tc(rollback),
                Some(TransactionControl::Rollback),
                "{rollback}"
            );
        }
        for other in [
            "",
            "-- begin",
            "select 'begin'",
            "begin; select 1",
            "rollback to savepoint s",
            "create table begin_log as (select 1)",
            "\"begin\"",
            "committed",
            "insert into t values (1) -- commit",
        ] {
            assert_eq!(tc(other), None, "{other}");
        }
        assert_eq!(
            transaction_control("begin", &GenericDialect {}),
            Some(TransactionControl::Begin)
        );
    }

    #[test]
    fn command_tags_come_from_the_tree() {
        let duck = DuckDbDialect {};
        let tag = |sql: &str| command_tag(sql, &duck);
        assert_eq!(tag("select 1"), "SELECT");
        assert_eq!(
            tag("-- hello\nwith x as (select 1) select * from x"),
            "SELECT"
        );
        assert_eq!(tag("(select 1) union (select 2)"), "SELECT");
        assert_eq!(tag("insert into t values (1)"), "INSERT");
        assert_eq!(
            tag("with x as (select 1 as a) insert into t select a from x"),
            "INSERT"
        );
        assert_eq!(tag("update t set a = 1"), "UPDATE");
        assert_eq!(tag("delete from t where a = 1"), "DELETE");
        assert_eq!(tag("create table t as select 1"), "CREATE");
        assert_eq!(tag("drop table if exists t"), "DROP");
        assert_eq!(tag("create or replace view v as (select 1)"), "CREATE");
        assert_eq!(tag("alter table t rename to u"), "ALTER");
        assert_eq!(tag("set threads = 1"), "SET");
        assert_eq!(tag("begin transaction"), "BEGIN");
        // the last statement counts
        assert_eq!(
            tag("create table t (a int); insert into t values (1);"),
            "INSERT"
        );
        assert_eq!(tag("-- nothing\n;"), "");
        assert_eq!(tag(""), "");
        // SQL outside sqlparser's grammar: its last statement's first word
        assert_eq!(
            tag("select 1; /* x */ insert into t select [y for y in l] from s"),
            "INSERT"
        );
        assert_eq!(tag("select 1; select [y for y in l] -- ;"), "SELECT");
    }
}

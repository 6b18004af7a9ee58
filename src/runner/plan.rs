//! The plan interpreter: runs a materialization's [`Plan`] on one connection, step by step.
//! Plans say what to do; this only does it (no SQL is written here).

use super::exec::timed_execute;
use crate::adapter::{Adapter, Connection, DbError};
use crate::materialize::plan::{ColumnSource, ReadColumns, Step};
use crate::materialize::{Plan, plan::statement};
use crate::sql::{TransactionControl, transaction_control};
use std::collections::VecDeque;

/// Where a plan stopped: the statements it sent, the failed one last, and the error.
#[derive(Debug)]
pub struct PlanFailure {
    pub ran: Vec<String>,
    pub error: DbError,
}

impl PlanFailure {
    /// The statement that failed (or the last one sent before a check or a read failed).
    pub fn statement(&self) -> &str {
        self.ran.last().map_or("", String::as_str)
    }
}

/// Runs `plan` on `conn`. A failure inside a transaction (an atomic plan's, a [`Step::Begin`]'s,
/// or one a hook opened) rolls it back, so the relation is as it was before. Returns the
/// statements sent, in order, as the plan's script shows them (an atomic plan's own `begin` and
/// `commit` left out).
pub fn run_plan(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    plan: &Plan,
) -> Result<Vec<String>, PlanFailure> {
    let mut ran = vec![];
    if plan.atomic {
        if let Err(error) = conn.execute(adapter.begin_sql()) {
            return Err(PlanFailure { ran, error });
        }
        let done = run_steps(conn, adapter, &plan.steps, &mut ran, true);
        let done = match done {
            Ok(()) => conn.execute(adapter.commit_sql()),
            Err(e) => Err(e),
        };
        return match done {
            Ok(()) => Ok(ran),
            Err(error) => {
                let _ = conn.execute(adapter.rollback_sql());
                Err(PlanFailure { ran, error })
            }
        };
    }
    match run_steps(conn, adapter, &plan.steps, &mut ran, false) {
        Ok(()) => Ok(ran),
        Err(error) => Err(PlanFailure { ran, error }),
    }
}

/// The steps in order, each statement appended to `ran` before it is sent. A [`Step::Then`]'s
/// steps run in its place. `atomic`: the caller opened a transaction around them, and rolls it
/// back on failure.
fn run_steps(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    steps: &[Step],
    ran: &mut Vec<String>,
    atomic: bool,
) -> Result<(), DbError> {
    let mut queue: VecDeque<Step> = steps.iter().cloned().collect();
    let mut read = ReadColumns::default();
    // A transaction the plan itself opened (not the atomic one), rolled back here on failure.
    let mut in_tx = false;
    // (parsed only when a hook needs it)
    let mut dialect = None;
    while let Some(step) = queue.pop_front() {
        let outcome = match &step {
            Step::Execute(_) | Step::Hook(_) | Step::Begin | Step::Commit => {
                let sql = statement(adapter, &step).unwrap_or_default();
                ran.push(sql.to_string());
                timed_execute(conn, sql)
            }
            Step::CheckEmpty { sql, check } => {
                conn.query(sql).and_then(|rows| match rows.rows.first() {
                    Some(row) => Err(DbError::query(check.message(&rows.columns, row))),
                    None => Ok(()),
                })
            }
            Step::ReadColumns { source, slot } => {
                let columns = match source {
                    ColumnSource::Relation(t) => {
                        conn.columns(&t.database, &t.schema, &t.identifier)
                    }
                    ColumnSource::Query(sql) => conn.query(sql).map(|r| r.columns),
                };
                columns.map(|c| read.set(*slot, c))
            }
            Step::Storage(call) => {
                ran.push(format!("-- {call}"));
                conn.storage(call)
            }
            Step::Fail(message) => Err(DbError::query(message.clone())),
            Step::Then(rest) => rest
                .plan(adapter, &read)
                .map_err(DbError::query)
                .map(|more| {
                    for s in more.into_iter().rev() {
                        queue.push_front(s);
                    }
                }),
        };
        if let Err(e) = outcome {
            if in_tx && !atomic {
                let _ = conn.execute(adapter.rollback_sql());
            }
            return Err(e);
        }
        in_tx = match &step {
            Step::Begin => true,
            Step::Commit => false,
            // A hook may open or close a transaction as its author writes it.
            Step::Hook(sql) => {
                let dialect = dialect.get_or_insert_with(|| adapter.sql_dialect());
                match transaction_control(sql, dialect.as_ref()) {
                    Some(TransactionControl::Begin) => true,
                    Some(TransactionControl::Commit | TransactionControl::Rollback) => false,
                    None => in_tx,
                }
            }
            _ => in_tx,
        };
    }
    Ok(())
}

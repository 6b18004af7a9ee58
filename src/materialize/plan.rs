//! Plans: what a materialization asks of the database, as typed steps the runner interprets
//! (`crate::runner::run_plan`) and never writes itself.
//!
//! Most plans are fixed lists of statements. A plan that must see the database between two
//! statements (an incremental step reconciles the staged rows' columns with the target's, a
//! snapshot update compares them) reads the columns it needs ([`Step::ReadColumns`]) and then
//! names the rest of its work as a [`Continuation`], which plans the remaining steps from what
//! was read. Transactions are steps too, emitted only for an adapter that
//! [supports them](crate::adapter::Adapter::supports_transactions).

use super::RelationTarget;
use super::{incremental, snapshot};
use crate::adapter::{Adapter, Cell, Column, StorageCall};

/// One step of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Run a statement kiln wrote.
    Execute(String),
    /// Run a pre- or post-hook as the user wrote it (it may open or close a transaction).
    Hook(String),
    /// Open a transaction: a failure before the matching [`Step::Commit`] rolls it back.
    Begin,
    Commit,
    /// Run a query; a row back fails the plan with `check`'s message.
    CheckEmpty {
        sql: String,
        check: Check,
    },
    /// Read the columns of `source` into `slot`, for a later [`Step::Then`].
    ReadColumns {
        source: ColumnSource,
        slot: Slot,
    },
    /// Plan the rest from the columns read so far.
    Then(Box<Continuation>),
    /// A catalog-and-storage operation, on an engine whose tables are files published through
    /// a catalog ([`Adapter::supports_catalog_publish`]).
    Storage(StorageCall),
    /// Fail the plan with this message (after the steps before it cleaned up, e.g. a stage
    /// dropped where no transaction rolls it back).
    Fail(String),
}

/// Where [`Step::ReadColumns`] reads columns from.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnSource {
    /// A relation, from the catalog.
    Relation(RelationTarget),
    /// A query's result columns (it is run).
    Query(String),
}

/// Which columns a [`Continuation`] is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The new rows' (staged by the plan).
    New,
    /// The target relation's, as it stands.
    Existing,
}

/// The columns a plan read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadColumns {
    pub new: Vec<Column>,
    pub existing: Vec<Column>,
}

impl ReadColumns {
    pub fn set(&mut self, slot: Slot, columns: Vec<Column>) {
        match slot {
            Slot::New => self.new = columns,
            Slot::Existing => self.existing = columns,
        }
    }
}

/// What a [`Step::CheckEmpty`] guards against.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// The staged rows hold a NULL or duplicate merge key (the query returns the key values
    /// and how many rows share them).
    DuplicateKeys { unique_key: Vec<String> },
}

impl Check {
    /// The error for the offending `row` (of a result with `columns`).
    pub fn message(&self, columns: &[Column], row: &[Cell]) -> String {
        match self {
            Check::DuplicateKeys { unique_key } => {
                incremental::duplicate_key_message(unique_key, columns, row)
            }
        }
    }
}

/// The rest of a plan, planned once the columns it needs are read.
#[derive(Debug, Clone, PartialEq)]
pub enum Continuation {
    /// An incremental step: reconcile the schema, apply the strategy, drop the stage.
    Incremental(incremental::Apply),
    /// A snapshot update: add new columns, close changed versions, insert new ones.
    Snapshot(snapshot::Update),
}

impl Continuation {
    /// The steps that follow; an error fails the plan (e.g. `on_schema_change: fail`).
    pub fn plan(&self, adapter: &dyn Adapter, read: &ReadColumns) -> Result<Vec<Step>, String> {
        match self {
            Continuation::Incremental(apply) => apply.plan(adapter, read),
            Continuation::Snapshot(update) => update.plan(adapter, read),
        }
    }
}

/// The steps of one materialization, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// The whole plan is one transaction, opened before its first step and committed after its
    /// last (any failure rolls it back). Set only for an adapter that supports transactions.
    /// Unlike [`Step::Begin`] and [`Step::Commit`], this transaction is not part of the plan's
    /// script: target/run/ holds the statements of such a plan as they ran.
    pub atomic: bool,
}

impl Plan {
    pub fn new(steps: Vec<Step>) -> Self {
        Plan {
            steps,
            atomic: false,
        }
    }

    /// Statements run one after the other.
    pub fn executes(statements: Vec<String>) -> Self {
        Plan::new(statements.into_iter().map(Step::Execute).collect())
    }

    /// A plan that is one transaction where the adapter supports them.
    pub fn atomic(adapter: &dyn Adapter, steps: Vec<Step>) -> Self {
        Plan {
            steps,
            atomic: adapter.supports_transactions(),
        }
    }

    /// Whether every statement is known before the plan runs (it reads nothing in between).
    pub fn is_fixed(&self) -> bool {
        !self
            .steps
            .iter()
            .any(|s| matches!(s, Step::ReadColumns { .. } | Step::Then(_)))
    }

    /// The statements the engine receives, in order, as far as they are known before the plan
    /// runs: executed statements, hooks, `begin` and `commit` (queries that only check or read
    /// are left out, as is an atomic plan's own transaction).
    pub fn statements(&self, adapter: &dyn Adapter) -> Vec<String> {
        self.steps
            .iter()
            .filter_map(|s| statement(adapter, s).map(str::to_string))
            .collect()
    }

    /// The plan as one script, for snapshots and target/run/: the statements, and the
    /// catalog-and-storage steps as comments.
    pub fn script(&self, adapter: &dyn Adapter) -> String {
        let lines: Vec<String> = self
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Storage(call) => Some(format!("-- {call}")),
                s => statement(adapter, s).map(str::to_string),
            })
            .collect();
        script_of(&lines)
    }
}

/// The text a step sends that belongs in the plan's script.
pub fn statement<'a>(adapter: &dyn Adapter, step: &'a Step) -> Option<&'a str> {
    match step {
        Step::Execute(sql) | Step::Hook(sql) => Some(sql),
        Step::Begin => Some(adapter.begin_sql()),
        Step::Commit => Some(adapter.commit_sql()),
        Step::CheckEmpty { .. }
        | Step::ReadColumns { .. }
        | Step::Then(_)
        | Step::Storage(_)
        | Step::Fail(_) => None,
    }
}

/// Statements as a script: each ended by one `;` (a comment line stands alone), a blank line
/// between them.
pub fn script_of(statements: &[String]) -> String {
    statements
        .iter()
        .map(|s| {
            if s.starts_with("-- kiln: ") && !s.contains('\n') {
                s.clone()
            } else {
                format!("{};", s.trim_end().trim_end_matches(';'))
            }
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// `steps` as one transaction where the adapter supports them.
pub fn in_transaction(adapter: &dyn Adapter, steps: Vec<Step>) -> Vec<Step> {
    if !adapter.supports_transactions() {
        return steps;
    }
    let mut out = Vec::with_capacity(steps.len() + 2);
    out.push(Step::Begin);
    out.extend(steps);
    out.push(Step::Commit);
    out
}

/// Statements as [`Step::Execute`]s.
pub fn executes(statements: impl IntoIterator<Item = String>) -> Vec<Step> {
    statements.into_iter().map(Step::Execute).collect()
}

/// The rendered hooks of a node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hooks {
    pub pre: Vec<String>,
    pub post: Vec<String>,
}

impl Hooks {
    /// The one place hooks join a plan: pre-hooks before its first step, post-hooks after its
    /// last (so inside an atomic plan's transaction, and outside the transaction of a plan that
    /// opens its own). Hooks that render to nothing are left out, as dbt does.
    pub fn splice(&self, plan: Plan) -> Plan {
        let hook = |s: &String| (!s.trim().is_empty()).then(|| Step::Hook(s.clone()));
        let mut steps: Vec<Step> = self.pre.iter().filter_map(hook).collect();
        steps.extend(plan.steps);
        steps.extend(self.post.iter().filter_map(hook));
        Plan {
            steps,
            atomic: plan.atomic,
        }
    }
}

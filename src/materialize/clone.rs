//! `kiln clone`: a relation made to stand for the state's relation of the same node, by the
//! adapter's means (a zero-copy clone, or a view over it).

use super::plan::{Plan, executes, in_transaction};
use crate::adapter::{Adapter, RelationKind};

/// The plan that makes `target` (rendered) stand for `source` when `existing` stands at
/// `target`, and the kind of relation it makes; `None` when the engine cannot clone. Several
/// statements are one transaction where the engine has them.
pub fn plan(
    adapter: &dyn Adapter,
    target: &str,
    source: &str,
    source_kind: Option<RelationKind>,
    existing: Option<RelationKind>,
) -> Option<(Plan, RelationKind)> {
    let (statements, kind) = adapter.clone_sql(target, source, source_kind, existing)?;
    let steps = if statements.len() > 1 {
        in_transaction(adapter, executes(statements))
    } else {
        executes(statements)
    };
    Some((Plan::new(steps), kind))
}

//! Swapping a newly built table in place of what stands at its name, as the engine allows.
//!
//! With transactions everything is one transaction: a failure at any point, or a kill, leaves
//! the previous relation as it was and no temporary behind. Without them, the previous table is
//! renamed aside, the new one renamed in, and the old one dropped last. An engine that cannot
//! rename ([`Adapter::supports_rename`]) builds the new table whole under the temporary name
//! first, so a query that fails leaves the previous relation, then copies it into the name.

use super::plan::{Plan, executes, in_transaction};
use super::{BACKUP_SUFFIX, RelationTarget, TMP_SUFFIX};
use crate::adapter::{Adapter, RelationKind};

/// Builds `target` through `create_tmp` (which creates the temporary relation `target` +
/// [`TMP_SUFFIX`]) and swaps it in place of `existing`.
pub fn swap_in(
    adapter: &dyn Adapter,
    target: &RelationTarget,
    create_tmp: String,
    existing: Option<RelationKind>,
) -> Plan {
    swap_in_steps(adapter, target, vec![create_tmp], existing)
}

/// [`swap_in`] with several statements building the temporary relation.
pub fn swap_in_steps(
    adapter: &dyn Adapter,
    target: &RelationTarget,
    build_tmp: Vec<String>,
    existing: Option<RelationKind>,
) -> Plan {
    Plan::new(in_transaction(
        adapter,
        executes(swap_statements(adapter, target, build_tmp, existing)),
    ))
}

/// The statements of a swap, without the transaction around them.
pub(super) fn swap_statements(
    adapter: &dyn Adapter,
    target: &RelationTarget,
    build_tmp: Vec<String>,
    existing: Option<RelationKind>,
) -> Vec<String> {
    let name = target.sql(adapter);
    let tmp_name = target.suffixed(TMP_SUFFIX).sql(adapter);
    let mut s = vec![adapter.drop_relation_sql(RelationKind::Table, &tmp_name)];
    s.extend(build_tmp);
    if !adapter.supports_rename() {
        if let Some(kind) = existing {
            s.push(adapter.drop_relation_sql(kind, &name));
        }
        s.push(adapter.copy_table_sql(&name, &tmp_name));
        s.push(adapter.drop_relation_sql(RelationKind::Table, &tmp_name));
        return s;
    }
    let rename_in = adapter.rename_relation_sql(RelationKind::Table, &tmp_name, &target.identifier);
    if adapter.supports_transactions() {
        if let Some(kind) = existing {
            s.push(adapter.drop_relation_sql(kind, &name));
        }
        s.push(rename_in);
        return s;
    }
    let backup = target.suffixed(BACKUP_SUFFIX);
    let backup_name = backup.sql(adapter);
    match existing {
        Some(RelationKind::View) => s.push(adapter.drop_relation_sql(RelationKind::View, &name)),
        Some(RelationKind::Table) => {
            s.push(adapter.drop_relation_sql(RelationKind::Table, &backup_name));
            s.push(adapter.rename_relation_sql(RelationKind::Table, &name, &backup.identifier));
        }
        None => {}
    }
    s.push(rename_in);
    if existing == Some(RelationKind::Table) {
        s.push(adapter.drop_relation_sql(RelationKind::Table, &backup_name));
    }
    s
}

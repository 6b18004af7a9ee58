//! What a value depends on, and how: the transformation algebra of the engine.
//!
//! Every expression the engine reads yields [`Deps`]: the upstream columns it reads, each with the
//! set of ways ([`TSet`]) it reads them. Reading an expression happens under a [`Role`], the
//! transformation already applied on the way down from the select item (or clause) to this
//! point; a column found there gets the role, and a column that was itself computed (a CTE's or
//! subquery's column) gets the role composed with each of its own transformations.
//!
//! Composition ([`compose`]) follows OpenLineage's meaning of the subtypes:
//! - an INDIRECT step anywhere makes the result INDIRECT, and the outermost INDIRECT step names
//!   it (a column that decides a CASE inside a CTE, filtered on by the outer query, filters the
//!   outer rows: FILTER);
//! - DIRECT steps keep the strongest: IDENTITY < TRANSFORMATION < AGGREGATION (a sum of a cast is
//!   an aggregation; a rename of a column is still the identity);
//! - masking, once applied, stays.

use super::model::Subtype;
use std::collections::BTreeMap;

/// Where a walk is: the transformation applied so far, and whether a hash has masked the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Role {
    pub sub: Subtype,
    pub masking: bool,
}

impl Role {
    pub const IDENTITY: Role = Role {
        sub: Subtype::Identity,
        masking: false,
    };

    pub fn of(sub: Subtype) -> Role {
        Role {
            sub,
            masking: false,
        }
    }

    /// One more step below this one.
    pub fn then(self, step: Subtype) -> Role {
        Role {
            sub: compose(self.sub, step),
            masking: self.masking,
        }
    }

    pub fn masked(self, masking: bool) -> Role {
        Role {
            sub: self.sub,
            masking: self.masking || masking,
        }
    }
}

/// `outer` applied to a value that `inner` produced.
pub(crate) fn compose(outer: Subtype, inner: Subtype) -> Subtype {
    if !outer.is_direct() {
        outer
    } else if !inner.is_direct() {
        inner
    } else {
        outer.max(inner)
    }
}

/// A set of (subtype, masking) pairs, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TSet(u32);

impl TSet {
    pub fn one(role: Role) -> TSet {
        TSet(1 << bit(role))
    }

    pub fn union(self, other: TSet) -> TSet {
        TSet(self.0 | other.0)
    }

    /// Every member, in [`Subtype`] order, unmasked before masked.
    pub fn roles(self) -> impl Iterator<Item = Role> {
        Subtype::ALL.into_iter().flat_map(move |sub| {
            [false, true]
                .into_iter()
                .map(move |masking| Role { sub, masking })
                .filter(move |role| self.0 & (1 << bit(*role)) != 0)
        })
    }

    /// `role` applied on top of each member.
    pub fn under(self, role: Role) -> TSet {
        self.roles().fold(TSet::default(), |set, inner| {
            set.union(TSet::one(Role {
                sub: compose(role.sub, inner.sub),
                masking: role.masking || inner.masking,
            }))
        })
    }
}

fn bit(role: Role) -> u32 {
    (role.sub as u32) * 2 + u32::from(role.masking)
}

/// An interned upstream column (see `Engine::field`).
pub(crate) type FieldId = u32;

/// The upstream columns a value depends on, and how.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Deps(BTreeMap<FieldId, TSet>);

impl Deps {
    pub fn add(&mut self, field: FieldId, set: TSet) {
        let slot = self.0.entry(field).or_default();
        *slot = slot.union(set);
    }

    /// Adds everything `other` depends on, with `role` applied on top.
    pub fn add_under(&mut self, other: &Deps, role: Role) {
        for (field, set) in &other.0 {
            self.add(*field, set.under(role));
        }
    }

    pub fn extend(&mut self, other: &Deps) {
        for (field, set) in &other.0 {
            self.add(*field, *set);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (FieldId, TSet)> + '_ {
        self.0.iter().map(|(f, s)| (*f, *s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Subtype::*;

    #[test]
    fn indirect_outermost_wins_and_direct_keeps_the_strongest() {
        assert_eq!(compose(Identity, Identity), Identity);
        assert_eq!(compose(Identity, Transformation), Transformation);
        assert_eq!(compose(Aggregation, Transformation), Aggregation);
        assert_eq!(compose(Transformation, Aggregation), Aggregation);
        assert_eq!(compose(Filter, Conditional), Filter);
        assert_eq!(compose(Identity, Conditional), Conditional);
        assert_eq!(compose(Aggregation, Window), Window);
        assert_eq!(compose(Join, Aggregation), Join);
    }

    #[test]
    fn sets_compose_member_by_member() {
        let set = TSet::one(Role::IDENTITY).union(TSet::one(Role::of(Conditional).masked(true)));
        let under = set.under(Role::of(Aggregation));
        let roles: Vec<Role> = under.roles().collect();
        assert_eq!(
            roles,
            vec![Role::of(Aggregation), Role::of(Conditional).masked(true)]
        );
    }
}

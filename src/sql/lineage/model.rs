//! What the engine answers: a query's output columns with their input columns and OpenLineage
//! transformation types, the dataset-level inputs, why the answer is incomplete (if it is), and
//! the columns the query names that its upstreams do not have.
//!
//! The types serialize (serde) in OpenLineage's spelling where OpenLineage has one: a
//! [`Transformation`] is `{"type": "DIRECT", "subtype": "IDENTITY", "masking": false}`, as in
//! the `columnLineage` facet (1-2-0).

use super::schema::RelationName;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The column lineage of one query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lineage {
    /// The output columns, in order. Empty when the output column list itself is unknown (the
    /// SQL does not parse, is not a query, or a `*` reads a relation whose columns are unknown).
    pub columns: Vec<OutputColumn>,
    /// Inputs that affect every output row rather than one column's value (OpenLineage's
    /// `dataset` array): columns read by WHERE, JOIN, GROUP BY, HAVING, QUALIFY and ORDER BY,
    /// in this query and in every CTE or subquery it reads rows from.
    pub dataset: Vec<InputField>,
    /// Why the lineage is incomplete; empty when it is complete. A caller shows an incomplete
    /// query's lineage at table level (from its refs), never guessed.
    pub incomplete: Vec<Incomplete>,
    /// Columns (or table qualifiers) the query names that the relations in scope do not have
    /// (each is also a reason in `incomplete`). Only reported where every relation in scope has
    /// known columns, and not for CTEs the query never reads (DuckDB does not bind those).
    pub unknown_columns: Vec<UnknownColumn>,
}

impl Lineage {
    /// True when every output column's inputs are known.
    pub fn is_complete(&self) -> bool {
        self.incomplete.is_empty()
    }

    /// The output column names, in order (for a cross-check against the engine's binder).
    pub fn output_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// Cross-checks the output columns against the names the engine's binder gives the same
    /// query (DuckDB: `DESCRIBE <query>`). A column named after its expression takes the
    /// binder's name (the engine prints expressions its own way: DuckDB names `x + 1` `(x + 1)`);
    /// any other difference, in count or in a name, marks the lineage incomplete.
    pub fn reconcile<S: AsRef<str>>(&mut self, binder_names: &[S]) {
        if self.columns.is_empty() && !self.is_complete() {
            return;
        }
        if self.columns.len() != binder_names.len() {
            let ours = self.output_names().join(", ");
            let theirs: Vec<&str> = binder_names.iter().map(AsRef::as_ref).collect();
            self.incomplete.push(Incomplete {
                reason: format!(
                    "the query has {} output columns ({ours}) by its SQL, but the database \
                     reports {} ({})",
                    self.columns.len(),
                    binder_names.len(),
                    theirs.join(", ")
                ),
                at: None,
            });
            return;
        }
        let mut mismatches = Vec::new();
        for (column, theirs) in self.columns.iter_mut().zip(binder_names) {
            let theirs = theirs.as_ref();
            if column.named_by_expression {
                column.name = theirs.to_string();
                column.named_by_expression = false;
            } else if !super::same_name(&column.name, theirs) {
                mismatches.push(format!("`{}` is `{theirs}`", column.name));
            }
        }
        if !mismatches.is_empty() {
            self.incomplete.push(Incomplete {
                reason: format!(
                    "output columns differ from the database's: {}",
                    mismatches.join(", ")
                ),
                at: None,
            });
        }
    }
}

/// One output column of the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputColumn {
    /// The name: the alias, the column's name (as the upstream spells it), or, for an unaliased
    /// expression, the expression as sqlparser prints it (see `named_by_expression`).
    pub name: String,
    /// The name is the printed expression, which may differ from the database's name for it;
    /// [`Lineage::reconcile`] replaces it with the database's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub named_by_expression: bool,
    /// The upstream columns this column's values come from (DIRECT) or depend on (INDIRECT:
    /// CASE conditions, window partitions and orders, an aggregate's FILTER, a scalar
    /// subquery's WHERE), sorted by relation and column.
    pub inputs: Vec<InputField>,
}

/// An upstream column and how it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputField {
    /// The relation as the schema provider registered it.
    pub relation: RelationName,
    /// The column as the schema spells it.
    pub column: String,
    /// Sorted: DIRECT before INDIRECT, in [`Subtype`] order; unmasked before masked.
    pub transformations: Vec<Transformation>,
}

/// One way an input column is used (OpenLineage's `transformations` item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Transformation {
    #[serde(rename = "type")]
    pub kind: TransformationType,
    pub subtype: Subtype,
    /// The value went through a hash (md5, sha256, ... or a configured function).
    pub masking: bool,
}

impl Transformation {
    pub fn new(subtype: Subtype, masking: bool) -> Transformation {
        Transformation {
            kind: subtype.kind(),
            subtype,
            masking,
        }
    }
}

impl fmt::Display for Transformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.subtype.as_str())?;
        if self.masking {
            f.write_str(" (masking)")?;
        }
        Ok(())
    }
}

/// OpenLineage's transformation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransformationType {
    /// The output value is computed from the input's value.
    Direct,
    /// The input decides which rows there are or which branch is taken, not the value.
    Indirect,
}

impl TransformationType {
    pub fn as_str(self) -> &'static str {
        match self {
            TransformationType::Direct => "DIRECT",
            TransformationType::Indirect => "INDIRECT",
        }
    }
}

/// OpenLineage's transformation subtype. The order is the sort order of
/// [`InputField::transformations`]; the first three are DIRECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Subtype {
    /// The value is copied (a column, a rename).
    Identity,
    /// The value is computed from the input (a function, an operator, a cast, a CASE result).
    Transformation,
    /// The value aggregates the input (sum, count, ... also over a window).
    Aggregation,
    /// The input is a join key.
    Join,
    /// The input filters rows (WHERE, HAVING, QUALIFY, an aggregate's FILTER, EXCEPT).
    Filter,
    /// The input groups rows (GROUP BY, GROUP BY ALL, DISTINCT ON).
    GroupBy,
    /// The input orders rows (ORDER BY, an aggregate's ORDER BY, WITHIN GROUP).
    Sort,
    /// The input partitions or orders a window function's rows.
    Window,
    /// The input decides a CASE branch.
    Conditional,
}

impl Subtype {
    pub(crate) const ALL: [Subtype; 9] = [
        Subtype::Identity,
        Subtype::Transformation,
        Subtype::Aggregation,
        Subtype::Join,
        Subtype::Filter,
        Subtype::GroupBy,
        Subtype::Sort,
        Subtype::Window,
        Subtype::Conditional,
    ];

    pub fn kind(self) -> TransformationType {
        if self.is_direct() {
            TransformationType::Direct
        } else {
            TransformationType::Indirect
        }
    }

    pub fn is_direct(self) -> bool {
        matches!(
            self,
            Subtype::Identity | Subtype::Transformation | Subtype::Aggregation
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Subtype::Identity => "IDENTITY",
            Subtype::Transformation => "TRANSFORMATION",
            Subtype::Aggregation => "AGGREGATION",
            Subtype::Join => "JOIN",
            Subtype::Filter => "FILTER",
            Subtype::GroupBy => "GROUP_BY",
            Subtype::Sort => "SORT",
            Subtype::Window => "WINDOW",
            Subtype::Conditional => "CONDITIONAL",
        }
    }
}

/// A place in the SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    /// Byte offset from the start of the SQL text.
    pub offset: usize,
    /// 1-based line.
    pub line: u64,
    /// 1-based column, counted in characters (sqlparser's convention).
    pub column: u64,
}

/// Why the lineage is incomplete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incomplete {
    pub reason: String,
    /// Where in the SQL, when one place is to blame.
    pub at: Option<Position>,
}

/// A name the query uses that is not there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownColumn {
    pub kind: UnknownKind,
    /// The column (or, for [`UnknownKind::Qualifier`], the qualifier) as written.
    pub name: String,
    /// The qualifier as written (`o` in `o.amount`), if any.
    pub qualifier: Option<String>,
    /// The relations that were searched: the one the qualifier names, or every relation in the
    /// FROM clause of the query that uses the name.
    pub searched: Vec<Searched>,
    pub at: Option<Position>,
    /// Did-you-mean: the searched relations' columns (or the scope's qualifiers) closest to the
    /// name by edit distance, best first.
    pub suggestions: Vec<String>,
}

/// What an unknown name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownKind {
    /// No relation in scope has the column.
    Column,
    /// No relation in scope is called by the qualifier.
    Qualifier,
}

/// A relation searched for an unknown column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Searched {
    /// How the query calls it: its alias, or its name as written, or the CTE's name (or "a
    /// subquery" for a derived table without alias).
    pub name: String,
    /// The upstream relation, when it is one (not a CTE or subquery).
    pub relation: Option<RelationName>,
}

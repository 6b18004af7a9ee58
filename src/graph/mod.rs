//! The dependency graph and node selection. Edges come from `ref()`, `source()` and tests
//! attaching to what they test; the selection language picks the nodes a command works on.

mod dag;
mod gates;
pub mod select;
mod semantic;
mod unit;

pub use crate::error::levenshtein;
pub use dag::{Graph, build};
pub use gates::test_gates;

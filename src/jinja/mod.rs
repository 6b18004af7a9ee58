//! Templating: minijinja with dbt's context, in two phases. The parse phase renders every node with
//! recording `ref()`/`source()`/`config()` to learn the graph and configs without a database; the
//! compile phase renders again with real relations. Macros come from the project's macro-paths and
//! from the built-ins shipped in `builtins/` (the `dbt` package).

mod args;
mod ast_walk;
pub mod builtins;
pub mod compile;
mod compile_ctx;
pub mod context;
mod env;
pub mod functions;
pub mod lines;
pub mod macro_calls;
pub mod modules;
pub mod mutable;
pub mod parse;
mod parse_ctx;
pub mod quality;
pub mod relation;
mod run_ctx;
pub mod table;

pub use env::{Hint, JinjaEnv, hinted_error, jinja_error};

/// Any serialisable Rust value as a Jinja value.
pub fn to_value<T: serde::Serialize>(v: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(v))
}

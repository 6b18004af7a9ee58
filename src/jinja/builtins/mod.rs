//! Built-in macros, shipped as `.sql` files beside this module and embedded at build time
//! (see build.rs). They belong to the `dbt` package: callable as `dateadd(...)` or
//! `dbt.dateadd(...)`, overridable by a project macro of the same name.

/// `(file name, source)` of every built-in macro file.
pub const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

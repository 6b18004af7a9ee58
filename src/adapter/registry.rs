//! The adapters kiln has, by the `type:` a profile's target names, each with its one
//! constructor from the target's fields. The project loader reads targets through
//! [`ENGINES`] (so it names no engine); commands get their adapter from [`for_project`].

use super::{Adapter, Athena, DbError, DuckDb};
use crate::project::Project;
use crate::project::profiles::{Engines, FieldError, ProfileTarget, TargetDefaults, TargetFields};
use std::path::Path;
use std::sync::Arc;

/// Makes an adapter from a target's fields; errors name the field (profiles.yml adds the line).
pub type Constructor = fn(TargetFields<'_>) -> Result<Arc<dyn Adapter>, FieldError>;

/// Every adapter: its `type:` name, how help texts name it, and its constructor.
pub static ADAPTERS: &[(&str, &str, Constructor)] = &[
    ("duckdb", "`type: duckdb` (embedded)", |t| {
        Ok(Arc::new(DuckDb::from_profile(t)?))
    }),
    ("athena", "`type: athena`", |t| {
        Ok(Arc::new(Athena::from_profile(t)?))
    }),
];

/// One field `kiln init` writes into a new profile's target: asked for when it has no default
/// and no `--field` gave it (`{name}` in a default is the project's name; an empty default
/// leaves the field out).
#[derive(Debug, Clone, Copy)]
pub struct InitField {
    pub key: &'static str,
    pub prompt: &'static str,
    pub default: Option<&'static str>,
}

/// What `kiln init --adapter <type>` writes, by adapter.
pub static INIT: &[(&str, &[InitField])] = &[
    ("duckdb", super::duckdb::INIT_FIELDS),
    ("athena", super::athena::INIT_FIELDS),
];

/// The fields of a new `adapter_type` target for `kiln init`.
pub fn init_fields(adapter_type: &str) -> Option<&'static [InitField]> {
    INIT.iter()
        .find(|(name, _)| *name == adapter_type)
        .map(|(_, f)| *f)
}

fn constructor(adapter_type: &str) -> Option<Constructor> {
    ADAPTERS
        .iter()
        .find(|(name, _, _)| *name == adapter_type)
        .map(|(_, _, c)| *c)
}

/// The engines as the project loader sees them.
pub struct Registry;

/// What [`crate::project::load`] reads targets with.
pub static ENGINES: Registry = Registry;

impl Engines for Registry {
    fn read(
        &self,
        adapter_type: &str,
        target: TargetFields<'_>,
    ) -> Option<Result<(TargetDefaults, char), FieldError>> {
        let make = constructor(adapter_type)?;
        Some(make(target).map(|a| (a.target_defaults(), a.quote_char())))
    }

    fn help(&self) -> String {
        ADAPTERS
            .iter()
            .map(|(_, help, _)| *help)
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// The adapter for a target. Nothing is opened until [`Adapter::connect`].
pub fn for_target(
    target: &ProfileTarget,
    project_dir: &Path,
    target_dir: &Path,
) -> Result<Arc<dyn Adapter>, FieldError> {
    let make = constructor(&target.adapter_type).ok_or_else(|| FieldError {
        message: format!("kiln has no adapter of type '{}'", target.adapter_type),
        required: "",
    })?;
    make(TargetFields {
        fields: &target.fields,
        project_dir,
        target_dir,
    })
}

/// The adapter for a loaded project's target.
///
/// The loader read this target with the same constructor, so it cannot fail here; should it
/// anyway, the adapter stands in for the engine and refuses to connect, saying why (never a
/// panic).
pub fn for_project(project: &Project) -> Arc<dyn Adapter> {
    match for_target(&project.target, &project.dir, &project.target_dir()) {
        Ok(adapter) => adapter,
        Err(e) => Arc::new(Unreadable {
            message: format!(
                "target '{}' of {}: {}",
                project.target.name,
                project.target.profiles_path.display(),
                e.message
            ),
        }),
    }
}

/// A target no adapter could read (see [`for_project`]).
#[derive(Debug)]
struct Unreadable {
    message: String,
}

impl Adapter for Unreadable {
    fn adapter_type(&self) -> &'static str {
        "unknown"
    }

    fn target_defaults(&self) -> TargetDefaults {
        TargetDefaults {
            database: String::new(),
            schema: String::new(),
            threads: None,
            details: vec![self.message.clone()],
        }
    }

    fn dispatch_prefixes(&self) -> &'static [&'static str] {
        &["default"]
    }

    fn sql_dialect(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::GenericDialect {})
    }

    fn can_execute(&self) -> bool {
        false
    }

    fn connect(&self) -> Result<Box<dyn super::Connection>, DbError> {
        Err(DbError::open(self.message.clone()))
    }

    fn cancel_all(&self) {}
}

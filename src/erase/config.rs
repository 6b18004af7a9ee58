//! `vars: {kiln: {erase: ...}}` in dbt_project.yml: what `kiln erase` erases, and how.
//!
//! dbt-core rejects unknown top-level keys in dbt_project.yml, so kiln's project-wide settings
//! live under the var `kiln` (a var dbt-core accepts and ignores):
//!
//! ```yaml
//! vars:
//!   kiln:
//!     erase:
//!       # The subject key: a column, named as `kiln lineage` names one (`model.column`,
//!       # `source_name.table.column`, or `source('crm', 'contacts').contact_id`,
//!       # `ref('stg_x').contact_id`). One or a list. Every column derived from it (DIRECT
//!       # lineage) holds the subject; its tables are the ones erased.
//!       key: "source('crm', 'contacts').contact_id"
//!       # Who to erase: a relation (source, seed, model or snapshot), its key column, and an
//!       # optional SQL filter. `kiln erase --subjects file.csv` reads a file instead.
//!       subjects:
//!         relation: "source('crm', 'contacts')"
//!         column: contact_id
//!         where: "lower(trim(gdpr_deletion_requested)) in ('true', 'yes', '1')"
//!       # The warehouse table of the audit (default kiln_erase_audit, in the target's schema).
//!       audit_table: kiln_erase_audit
//!       audit_schema: main
//!       # The environment variable holding the key of the subjects' keyed hash (HMAC-SHA-256)
//!       # in the audit (default DBT_ENV_SECRET_KILN_PII_KEY, the demo's PII key).
//!       hash_key_env: DBT_ENV_SECRET_KILN_PII_KEY
//! ```

use crate::error::{Diagnostic, Error};
use serde_json::{Map, Value};
use std::path::Path;

/// The var holding kiln's settings, and this command's section of it.
pub const VAR: &str = "kiln";
pub const SECTION: &str = "erase";

/// A relation named in the config: a model, seed or snapshot by name, or a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationRef {
    Node(String),
    Source(String, String),
}

impl std::fmt::Display for RelationRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RelationRef::Node(n) => write!(f, "ref('{n}')"),
            RelationRef::Source(s, t) => write!(f, "source('{s}', '{t}')"),
        }
    }
}

/// A column of a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    pub relation: RelationRef,
    pub column: String,
}

/// Where the subjects come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectsRelation {
    pub relation: RelationRef,
    pub column: String,
    pub filter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EraseConfig {
    pub keys: Vec<ColumnRef>,
    pub subjects: Option<SubjectsRelation>,
    pub audit_table: String,
    pub audit_schema: Option<String>,
    pub hash_key_env: String,
}

pub const DEFAULT_AUDIT_TABLE: &str = "kiln_erase_audit";
pub const DEFAULT_HASH_KEY_ENV: &str = "DBT_ENV_SECRET_KILN_PII_KEY";

fn bad(file: &Path, message: impl Into<String>) -> Error {
    Diagnostic::error("erase-config", message)
        .in_file(file)
        .with_help(
            "set `vars: {kiln: {erase: {key: \"source('crm', 'contacts').contact_id\", subjects: {relation: ..., column: ...}}}}` in dbt_project.yml (see `kiln erase --help` and README's \"Erasure\")",
        )
        .into()
}

impl EraseConfig {
    /// Reads the section from the root project's vars; `file` is dbt_project.yml, for errors.
    /// With `key_given` (`--key`), the section and its `key` may be missing.
    pub fn from_vars(
        vars: &Map<String, Value>,
        file: &Path,
        key_given: bool,
    ) -> Result<EraseConfig, Error> {
        let empty = Value::Object(Map::new());
        let section = vars
            .get(VAR)
            .and_then(|k| k.as_object())
            .and_then(|k| k.get(SECTION))
            .or(key_given.then_some(&empty));
        let Some(section) = section else {
            return Err(bad(
                file,
                "kiln erase needs `vars: {kiln: {erase: ...}}` in dbt_project.yml: the subject key and where the subjects come from",
            ));
        };
        let Some(section) = section.as_object() else {
            return Err(bad(file, "`vars.kiln.erase` must be a mapping"));
        };
        for k in section.keys() {
            if !matches!(
                k.as_str(),
                "key" | "subjects" | "audit_table" | "audit_schema" | "hash_key_env"
            ) {
                let known = [
                    "key",
                    "subjects",
                    "audit_table",
                    "audit_schema",
                    "hash_key_env",
                ];
                let hint = crate::error::suggest::closest(k, known.iter().copied(), 3)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(bad(
                    file,
                    format!("`vars.kiln.erase.{k}` is not a setting{hint}"),
                ));
            }
        }
        let keys = match section.get("key") {
            Some(Value::String(s)) => vec![parse_column(s).map_err(|e| bad(file, e))?],
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => parse_column(s).map_err(|e| bad(file, e)),
                    _ => Err(bad(file, "`vars.kiln.erase.key` must list column names")),
                })
                .collect::<Result<_, _>>()?,
            None if key_given => vec![],
            _ => {
                return Err(bad(
                    file,
                    "`vars.kiln.erase.key` must name the subject key's column, e.g. \"source('crm', 'contacts').contact_id\"",
                ));
            }
        };
        let subjects = match section.get("subjects") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => {
                let relation = match m.get("relation") {
                    Some(Value::String(s)) => parse_relation(s).map_err(|e| bad(file, e))?,
                    _ => {
                        return Err(bad(
                            file,
                            "`vars.kiln.erase.subjects.relation` must name a source, seed or model",
                        ));
                    }
                };
                let column = match m.get("column") {
                    Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                    None if !keys.is_empty() => keys[0].column.clone(),
                    _ => {
                        return Err(bad(
                            file,
                            "`vars.kiln.erase.subjects.column` must be a column name",
                        ));
                    }
                };
                let filter = match m.get("where") {
                    Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                    None | Some(Value::Null) => None,
                    _ => {
                        return Err(bad(
                            file,
                            "`vars.kiln.erase.subjects.where` must be a SQL condition",
                        ));
                    }
                };
                Some(SubjectsRelation {
                    relation,
                    column,
                    filter,
                })
            }
            Some(_) => {
                return Err(bad(
                    file,
                    "`vars.kiln.erase.subjects` must be a mapping: relation, column, where",
                ));
            }
        };
        let text = |name: &str, default: &str| -> Result<String, Error> {
            match section.get(name) {
                None | Some(Value::Null) => Ok(default.to_string()),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                Some(_) => Err(bad(
                    file,
                    format!("`vars.kiln.erase.{name}` must be a name"),
                )),
            }
        };
        let audit_schema = match section.get("audit_schema") {
            None | Some(Value::Null) => None,
            Some(_) => Some(text("audit_schema", "")?),
        };
        Ok(EraseConfig {
            keys,
            subjects,
            audit_table: text("audit_table", DEFAULT_AUDIT_TABLE)?,
            audit_schema,
            hash_key_env: text("hash_key_env", DEFAULT_HASH_KEY_ENV)?,
        })
    }
}

/// The quoted arguments of `ref('a')` / `source('a', 'b')`, or None when `text` is not a call
/// of `name`; the rest of the text after the closing parenthesis.
fn call_args<'a>(text: &'a str, name: &str) -> Option<Result<(Vec<String>, &'a str), String>> {
    let rest = text.strip_prefix(name)?.trim_start();
    let rest = rest.strip_prefix('(')?;
    let Some(close) = rest.find(')') else {
        return Some(Err(format!("`{text}`: `{name}(` is not closed")));
    };
    let args = rest[..close]
        .split(',')
        .map(|a| a.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
        .filter(|a| !a.is_empty())
        .collect();
    Some(Ok((args, &rest[close + 1..])))
}

/// `source('crm', 'contacts')`, `ref('stg_x')`, `crm.contacts` (a source) or `stg_x`.
pub fn parse_relation(text: &str) -> Result<RelationRef, String> {
    let t = text.trim();
    let (rel, rest) = parse_relation_prefix(t)?;
    if !rest.trim().is_empty() {
        return Err(format!(
            "`{t}` is not a relation: unexpected `{}`",
            rest.trim()
        ));
    }
    Ok(rel)
}

fn parse_relation_prefix(t: &str) -> Result<(RelationRef, &str), String> {
    if let Some(r) = call_args(t, "source") {
        let (args, rest) = r?;
        return match args.as_slice() {
            [s, n] => Ok((RelationRef::Source(s.clone(), n.clone()), rest)),
            _ => Err(format!(
                "`{t}`: source() takes a source name and a table name"
            )),
        };
    }
    if let Some(r) = call_args(t, "ref") {
        let (args, rest) = r?;
        return match args.as_slice() {
            [n] => Ok((RelationRef::Node(n.clone()), rest)),
            [_, n] => Ok((RelationRef::Node(n.clone()), rest)),
            _ => Err(format!("`{t}`: ref() takes a model, seed or snapshot name")),
        };
    }
    match t.split_once('.') {
        Some((s, n)) if !s.is_empty() && !n.is_empty() && !n.contains('.') => {
            Ok((RelationRef::Source(s.to_string(), n.to_string()), ""))
        }
        None if !t.is_empty() => Ok((RelationRef::Node(t.to_string()), "")),
        _ => Err(format!(
            "`{t}` is not a relation: write ref('name'), source('source_name', 'table'), a node name or source_name.table"
        )),
    }
}

/// `source('crm', 'contacts').contact_id`, `ref('stg_x').contact_id`, `stg_x.contact_id` or
/// `crm.contacts.contact_id`.
pub fn parse_column(text: &str) -> Result<ColumnRef, String> {
    let t = text.trim();
    if t.starts_with("source") || t.starts_with("ref") {
        let (relation, rest) = parse_relation_prefix(t)?;
        let column = rest.trim().strip_prefix('.').map(str::trim).unwrap_or("");
        if column.is_empty() || column.contains('.') {
            return Err(format!(
                "`{t}` names no column: write e.g. {relation}.contact_id"
            ));
        }
        return Ok(ColumnRef {
            relation,
            column: column.to_string(),
        });
    }
    let parts: Vec<&str> = t.split('.').collect();
    match parts.as_slice() {
        [n, c] if !n.is_empty() && !c.is_empty() => Ok(ColumnRef {
            relation: RelationRef::Node(n.to_string()),
            column: c.to_string(),
        }),
        [s, n, c] if !s.is_empty() && !n.is_empty() && !c.is_empty() => Ok(ColumnRef {
            relation: RelationRef::Source(s.to_string(), n.to_string()),
            column: c.to_string(),
        }),
        _ => Err(format!(
            "`{t}` is not a column: write model.column, source_name.table.column or source('crm', 'contacts').contact_id"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_named_as_lineage_names_them_or_as_jinja_calls() {
        let src = |s: &str, t: &str| RelationRef::Source(s.into(), t.into());
        assert_eq!(
            parse_column("source('crm', 'contacts').contact_id").unwrap(),
            ColumnRef {
                relation: src("crm", "contacts"),
                column: "contact_id".into()
            }
        );
        assert_eq!(
            parse_column("crm.contacts.contact_id").unwrap(),
            parse_column("source(\"crm\",\"contacts\") . contact_id").unwrap()
        );
        assert_eq!(
            parse_column("ref('stg_crm__contacts').email_hash").unwrap(),
            ColumnRef {
                relation: RelationRef::Node("stg_crm__contacts".into()),
                column: "email_hash".into()
            }
        );
        assert_eq!(
            parse_column("stg_crm__contacts.email_hash").unwrap(),
            parse_column("ref('stg_crm__contacts').email_hash").unwrap()
        );
        assert!(parse_column("source('crm', 'contacts')").is_err());
        assert!(parse_column("contact_id").is_err());
        assert_eq!(
            parse_relation("crm.contacts").unwrap(),
            src("crm", "contacts")
        );
        assert!(parse_relation("source('crm')").is_err());
    }

    #[test]
    fn the_config_is_read_from_the_kiln_var_and_unknown_settings_are_refused() {
        let vars: Map<String, Value> = serde_json::from_str(
            r#"{"kiln": {"erase": {"key": "crm.contacts.contact_id",
                "subjects": {"relation": "source('crm', 'contacts')", "where": "flag"}}}}"#,
        )
        .unwrap();
        let c = EraseConfig::from_vars(&vars, Path::new("dbt_project.yml"), false).unwrap();
        assert_eq!(c.keys.len(), 1);
        let s = c.subjects.unwrap();
        assert_eq!(s.column, "contact_id");
        assert_eq!(s.filter.as_deref(), Some("flag"));
        assert_eq!(c.audit_table, DEFAULT_AUDIT_TABLE);
        assert_eq!(c.hash_key_env, DEFAULT_HASH_KEY_ENV);

        let vars: Map<String, Value> =
            serde_json::from_str(r#"{"kiln": {"erase": {"key": "a.b", "subject": {}}}}"#).unwrap();
        let e = EraseConfig::from_vars(&vars, Path::new("dbt_project.yml"), false).unwrap_err();
        assert!(e.to_string().contains("did you mean `subjects`"), "{e}");
        let e =
            EraseConfig::from_vars(&Map::new(), Path::new("dbt_project.yml"), false).unwrap_err();
        assert!(e.to_string().contains("vars: {kiln: {erase"), "{e}");
    }
}

//! A seed's configuration: `column_types`, `quote_columns`, `delimiter`, `full_refresh`.

use crate::project::Node;
use serde_json::Value as Json;

/// A seed's configuration, with dbt's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedConfig {
    /// `column_types`: column name and SQL type, as written, in the order written.
    pub column_types: Vec<(String, String)>,
    /// `quote_columns`: quote every column name (default false).
    pub quote_columns: bool,
    /// `delimiter`: the field separator (default `,`).
    pub delimiter: char,
    /// `full_refresh` as configured; `None` follows `--full-refresh`.
    pub full_refresh: Option<bool>,
}

impl Default for SeedConfig {
    fn default() -> Self {
        SeedConfig {
            column_types: vec![],
            quote_columns: false,
            delimiter: ',',
            full_refresh: None,
        }
    }
}

impl SeedConfig {
    /// Reads the node's config. Errors name the key and say what is expected.
    pub fn of(node: &Node) -> Result<Self, String> {
        let c = &node.config;
        let mut cfg = SeedConfig::default();
        match c.get("column_types") {
            None | Some(Json::Null) => {}
            Some(Json::Object(m)) => {
                for (col, ty) in m {
                    match ty {
                        Json::String(s) if !s.trim().is_empty() => {
                            cfg.column_types.push((col.clone(), s.trim().to_string()));
                        }
                        other => {
                            return Err(format!(
                                "column_types: the type of column '{col}' must be a SQL type name such as varchar or decimal(12,2), not {other}"
                            ));
                        }
                    }
                }
            }
            Some(other) => {
                return Err(format!(
                    "column_types must map column names to SQL types (e.g. {{id: bigint}}), not {other}"
                ));
            }
        }
        cfg.quote_columns = match c.get("quote_columns") {
            None | Some(Json::Null) => false,
            Some(Json::Bool(b)) => *b,
            Some(Json::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(Json::String(s)) if s.eq_ignore_ascii_case("false") => false,
            Some(other) => {
                return Err(format!("quote_columns must be true or false, not {other}"));
            }
        };
        match c.get("delimiter") {
            None | Some(Json::Null) => {}
            Some(Json::String(s)) => {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(d), None) if d != '"' && d != '\n' && d != '\r' => cfg.delimiter = d,
                    _ => {
                        return Err(format!(
                            "delimiter must be one character other than a quote or a line break (e.g. ';' or '|'), not {}",
                            Json::String(s.clone())
                        ));
                    }
                }
            }
            Some(other) => {
                return Err(format!(
                    "delimiter must be one character such as ';', not {other}"
                ));
            }
        }
        cfg.full_refresh = c.get("full_refresh").and_then(Json::as_bool);
        Ok(cfg)
    }

    /// Whether this load is a full refresh: the config wins over the `--full-refresh` flag.
    pub fn full_refresh(&self, flag: bool) -> bool {
        self.full_refresh.unwrap_or(flag)
    }

    /// The declared type of a column: an exact name match first, then case-insensitive.
    pub fn declared_type(&self, column: &str) -> Option<&str> {
        self.column_types
            .iter()
            .find(|(c, _)| c == column)
            .or_else(|| {
                self.column_types
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(column))
            })
            .map(|(_, t)| t.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(config: Json) -> Node {
        Node::sample(crate::project::ResourceType::Seed, "people", config)
    }

    #[test]
    fn config_with_defaults_and_errors() {
        let cfg = SeedConfig::of(&node(Json::Null)).expect("config");
        assert_eq!(cfg, SeedConfig::default());
        assert_eq!(cfg.delimiter, ',');
        assert!(cfg.full_refresh(true));
        assert!(!cfg.full_refresh(false));

        let cfg = SeedConfig::of(&node(serde_json::json!({
            "column_types": {"Amount": "decimal(12,2)", "id": " bigint "},
            "quote_columns": true,
            "delimiter": "\t",
            "full_refresh": false,
        })))
        .expect("config");
        assert_eq!(cfg.delimiter, '\t');
        assert!(cfg.quote_columns);
        assert!(!cfg.full_refresh(true));
        assert_eq!(cfg.declared_type("amount"), Some("decimal(12,2)"));
        assert_eq!(cfg.declared_type("ID"), Some("bigint"));
        assert_eq!(cfg.declared_type("other"), None);

        let err = |v: Json| SeedConfig::of(&node(v)).expect_err("rejected");
        assert!(err(serde_json::json!({"delimiter": "||"})).contains("one character"));
        assert!(err(serde_json::json!({"delimiter": "\""})).contains("one character"));
        assert!(err(serde_json::json!({"column_types": {"id": 3}})).contains("column 'id'"));
        assert!(err(serde_json::json!({"column_types": ["id"]})).contains("column_types"));
        assert!(err(serde_json::json!({"quote_columns": "yes"})).contains("quote_columns"));
    }
}

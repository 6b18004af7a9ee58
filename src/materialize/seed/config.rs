//! A seed's configuration: `column_types`, `quote_columns`, `delimiter`, `full_refresh`. It is
//! parsed and checked with the rest of the node's config in the parse phase
//! (`crate::project::settings::seed`); the loader reads the settled value from the node.

pub use crate::project::settings::SeedConfig;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Node;
    use serde_json::Value as Json;

    fn node(config: Json) -> Node {
        Node::sample(crate::project::ResourceType::Seed, "people", config)
    }

    #[test]
    fn config_with_defaults_and_errors() {
        let cfg = SeedConfig::parse(&node(Json::Null).config).expect("config");
        assert_eq!(cfg, SeedConfig::default());
        assert_eq!(cfg.delimiter, ',');
        assert!(cfg.full_refresh(true));
        assert!(!cfg.full_refresh(false));

        let cfg = SeedConfig::parse(
            &node(serde_json::json!({
                "column_types": {"Amount": "decimal(12,2)", "id": " bigint "},
                "quote_columns": true,
                "delimiter": "\t",
                "full_refresh": false,
            }))
            .config,
        )
        .expect("config");
        assert_eq!(cfg.delimiter, '\t');
        assert!(cfg.quote_columns);
        assert!(!cfg.full_refresh(true));
        assert_eq!(cfg.declared_type("amount"), Some("decimal(12,2)"));
        assert_eq!(cfg.declared_type("ID"), Some("bigint"));
        assert_eq!(cfg.declared_type("other"), None);

        let err = |v: Json| {
            let problems = SeedConfig::parse(&node(v).config).expect_err("rejected");
            problems[0].message.clone()
        };
        assert!(err(serde_json::json!({"delimiter": "||"})).contains("one character"));
        assert!(err(serde_json::json!({"delimiter": "\""})).contains("one character"));
        assert!(err(serde_json::json!({"column_types": {"id": 3}})).contains("column 'id'"));
        assert!(err(serde_json::json!({"column_types": ["id"]})).contains("column_types"));
        assert!(err(serde_json::json!({"quote_columns": "yes"})).contains("quote_columns"));
    }
}

//! `ref('x')` and `source('s', 't')` written as YAML strings (exposures' `depends_on`, a
//! relationships test's `to`, a foreign key's `to`), read without Jinja.

use super::node::RefCall;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

pub(crate) fn value_to_plain_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) enum RefOrSource {
    Ref(RefCall),
    Source(String, String),
}

static REF_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(ref|source)\s*\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?(?:,\s*(?:v|version)\s*=\s*['"]?([^'")\s]+)['"]?\s*)?\)\s*$"#)
        .expect("static regex")
});

/// Parses `ref('x')`, `ref('pkg', 'x')`, `ref('x', v=2)` and `source('s', 't')` written in YAML.
pub(crate) fn parse_ref_or_source(s: &str) -> Option<RefOrSource> {
    let c = REF_CALL.captures(s)?;
    let a = c.get(2)?.as_str().to_string();
    let b = c.get(3).map(|m| m.as_str().to_string());
    let version = c.get(4).map(|m| m.as_str().to_string());
    if &c[1] == "source" {
        return Some(RefOrSource::Source(a, b?));
    }
    Some(RefOrSource::Ref(match b {
        Some(name) => RefCall {
            name,
            package: Some(a),
            version,
        },
        None => RefCall {
            name: a,
            package: None,
            version,
        },
    }))
}

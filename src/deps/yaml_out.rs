//! YAML written the way dbt writes `package-lock.yml` and `packages.yml` (PyYAML's `yaml.dump`
//! with keys sorted, block style, and list items indented under their key), so a lock file
//! written by kiln is byte for byte the one dbt writes for the same packages.

use serde_json::Value;
use std::sync::LazyLock;

/// `value` (a mapping) as YAML.
pub fn dump(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => write_map(m, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn write_map(m: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    for (i, k) in keys.into_iter().enumerate() {
        // The first key of a mapping inside a list item follows the "- " on its line.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&string(k));
        out.push(':');
        write_value_after_key(&m[k], indent, out);
    }
}

fn write_value_after_key(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_list(a, indent + 2, out);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn write_list(a: &[Value], indent: usize, out: &mut String) {
    for item in a {
        out.push_str(&" ".repeat(indent));
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(m, indent + 2, out),
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_list(inner, indent + 2, out);
            }
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => super::spec::scalar_string(v).unwrap_or_default(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// Words and numbers YAML would read back as something other than text.
static NOT_TEXT: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
    regex::Regex::new(concat!(
        r"^(?:",
        r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
        r"|~|null|Null|NULL|=|<<",
        r"|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
        r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
        r"|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?",
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)?",
        r")$"
    ))
    .ok()
});

/// A string, plain when YAML reads it back as the same text, else in single quotes.
fn string(s: &str) -> String {
    let first = s.chars().next();
    let second = s.chars().nth(1);
    let quote = s.is_empty()
        || first.is_some_and(|c| "#,[]{}&*!|>'\"%@`".contains(c))
        || (first.is_some_and(|c| "-?:".contains(c)) && second.is_none_or(char::is_whitespace))
        || s.starts_with(char::is_whitespace)
        || s.ends_with(char::is_whitespace)
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.chars().any(char::is_control)
        || NOT_TEXT.as_ref().is_none_or(|re| re.is_match(s));
    if quote {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_lock_as_pyyaml_does() {
        let lock = serde_json::json!({
            "sha1_hash": "0c5ff6741563fb86b7e65a5f39354076fdc1c220",
            "packages": [
                {"local": "../local_src", "name": "local_pkg"},
                {"git": "file:///tmp/drec/bare.git", "revision": "8a6144006a8f68ad8b59c461842cc615df783664", "name": "gitsub", "subdirectory": "sub/inner"},
                {"tarball": "http://127.0.0.1:8765/tarballs/tb.tar.gz", "name": "tb_name"},
                {"package": "kiln-test/hubpkg", "version": "1.2.0", "name": "hubpkg"},
            ]
        });
        // As dbt-core 1.11 wrote it for the same packages.
        assert_eq!(
            dump(&lock),
            "packages:\n  - local: ../local_src\n    name: local_pkg\n  - git: file:///tmp/drec/bare.git\n    name: gitsub\n    revision: 8a6144006a8f68ad8b59c461842cc615df783664\n    subdirectory: sub/inner\n  - name: tb_name\n    tarball: http://127.0.0.1:8765/tarballs/tb.tar.gz\n  - name: hubpkg\n    package: kiln-test/hubpkg\n    version: 1.2.0\nsha1_hash: 0c5ff6741563fb86b7e65a5f39354076fdc1c220\n"
        );
    }

    #[test]
    fn quotes_what_would_read_back_as_something_else() {
        let v = serde_json::json!({"packages": [{"package": "a/b", "version": [">=1.0.0", "<2.0.0"]}, {"git": "x", "revision": "1.0"}, {"git": "y", "revision": "true"}]});
        assert_eq!(
            dump(&v),
            "packages:\n  - package: a/b\n    version:\n      - '>=1.0.0'\n      - <2.0.0\n  - git: x\n    revision: '1.0'\n  - git: y\n    revision: 'true'\n"
        );
        assert_eq!(dump(&serde_json::json!({"packages": []})), "packages: []\n");
    }
}

//! JSON as Python's `json.dumps` writes it: `", "` and `": "` separators, non-ASCII characters
//! escaped. dbt's `tojson` returns that (so compiled SQL matches dbt's), and dbt's JSON logs are
//! written that way with sorted keys.

use serde_json::Value;

/// `value` as `json.dumps(value)`, keys in their order.
pub fn write(v: &Value, out: &mut String) {
    write_value(v, out, false);
}

/// `value` as `json.dumps(value, sort_keys=True)`.
pub fn write_sorted(v: &Value, out: &mut String) {
    write_value(v, out, true);
}

fn write_value(v: &Value, out: &mut String, sorted: bool) {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            if sorted {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, x)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(k, out);
                out.push_str(": ");
                write_value(x, out, sorted);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(x, out, sorted);
            }
            out.push(']');
        }
        Value::String(s) => write_str(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_str(s: &str, out: &mut String) {
    let quoted = Value::from(s).to_string();
    for c in quoted.chars() {
        if c.is_ascii() && (c >= ' ' || c == '\n') {
            out.push(c);
        } else if c.is_ascii() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_python_json_dumps_writes() {
        let v = serde_json::json!({"k": [1, 2.5, null, true], "é": "ü\n\"\u{1b}", "e": {}});
        let mut out = String::new();
        write(&v, &mut out);
        assert_eq!(
            out,
            r#"{"k": [1, 2.5, null, true], "\u00e9": "\u00fc\n\"\u001b", "e": {}}"#
        );
        let mut sorted = String::new();
        write_sorted(&v, &mut sorted);
        assert!(sorted.starts_with(r#"{"e": {}, "k": "#), "{sorted}");
    }
}

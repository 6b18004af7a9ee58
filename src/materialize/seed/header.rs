//! The column names of a seed: its CSV file's first record, read as dbt reads it.

use std::io::Read;
use std::path::Path;

/// The most of a file read to find the end of its header record.
const MAX_HEADER_BYTES: usize = 16 << 20;

/// The column names of a CSV: its first record, parsed as Python's csv module (dbt's reader)
/// does, after a UTF-8 BOM. Names are kept as written; an empty name becomes `column<i>` and a
/// repeated one (case-insensitively, as DuckDB resolves names) `name_2`, `name_3`, ...
pub fn read_header(path: &Path, delimiter: char) -> Result<Vec<String>, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read the CSV file {}: {e}", path.display()))?;
    let mut reader = std::io::BufReader::new(file);
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = reader
            .read(&mut chunk)
            .map_err(|e| format!("cannot read the CSV file {}: {e}", path.display()))?;
        let eof = n == 0;
        bytes.extend_from_slice(&chunk[..n]);
        // Only the header must be UTF-8: parse the valid prefix (a chunk may also end inside a
        // character) and complain only when the header runs into a bad byte.
        let (valid, bad_byte) = match std::str::from_utf8(&bytes) {
            Ok(t) => (t, false),
            Err(e) => (
                std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
                e.error_len().is_some() || eof,
            ),
        };
        let text = valid.strip_prefix('\u{feff}').unwrap_or(valid);
        match first_record(text, delimiter, eof && !bad_byte)? {
            Some(raw) => {
                if raw.len() == 1 && raw[0].trim().is_empty() {
                    return Err(if text.trim().is_empty() {
                        "the CSV file is empty; a seed needs a header line naming its columns"
                            .into()
                    } else {
                        "the first line of the CSV file is empty; a seed starts with a header line naming its columns".into()
                    });
                }
                return Ok(header_names(raw));
            }
            None if bad_byte => {
                return Err("the CSV header is not valid UTF-8; save the file as UTF-8".into());
            }
            None if bytes.len() > MAX_HEADER_BYTES => {
                return Err(format!(
                    "no end of the header line in the first {} MiB (is a quote left open?)",
                    MAX_HEADER_BYTES >> 20
                ));
            }
            None => {}
        }
    }
}

/// The first record of `text`, or `None` when `text` may end before it does (`complete` false).
fn first_record(
    text: &str,
    delimiter: char,
    complete: bool,
) -> Result<Option<Vec<String>>, String> {
    let mut fields = vec![];
    let mut field = String::new();
    let mut in_quotes = false;
    let mut at_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                match chars.peek() {
                    Some('"') => {
                        field.push('"');
                        chars.next();
                    }
                    None if !complete => return Ok(None),
                    _ => in_quotes = false,
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && at_start {
            in_quotes = true;
            at_start = false;
        } else if c == delimiter {
            fields.push(std::mem::take(&mut field));
            at_start = true;
        } else if c == '\n' || c == '\r' {
            fields.push(field);
            return Ok(Some(fields));
        } else {
            field.push(c);
            at_start = false;
        }
    }
    if !complete {
        return Ok(None);
    }
    if in_quotes {
        return Err("the header line has a quote that is never closed".into());
    }
    fields.push(field);
    Ok(Some(fields))
}

/// Header names made usable: empty ones named `column<i>`, repeats suffixed `_2`, `_3`, ...
pub fn header_names(raw: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, name) in raw.into_iter().enumerate() {
        let base = if name.trim().is_empty() {
            format!("column{i}")
        } else {
            name
        };
        let taken = |n: &str, out: &[String]| out.iter().any(|o| o.eq_ignore_ascii_case(n));
        let mut candidate = base.clone();
        let mut k = 2;
        while taken(&candidate, &out) {
            candidate = format!("{base}_{k}");
            k += 1;
        }
        out.push(candidate);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> Vec<String> {
        first_record(text, ',', true)
            .expect("parses")
            .expect("complete")
    }

    #[test]
    fn header_record_follows_pythons_csv() {
        assert_eq!(header("a,b,c\n1,2,3\n"), ["a", "b", "c"]);
        assert_eq!(header("a,b\r\n1,2\r\n"), ["a", "b"]);
        assert_eq!(header("a,b"), ["a", "b"]);
        assert_eq!(header(" a , b \n"), [" a ", " b "]);
        assert_eq!(
            header("\"x,y\",\"say \"\"hi\"\"\",\"multi\nline\"\n"),
            ["x,y", "say \"hi\"", "multi\nline"]
        );
        assert_eq!(header("a\"b,c\n"), ["a\"b", "c"]);
        assert_eq!(
            first_record("a;b|c\n", '|', true).expect("parses"),
            Some(vec!["a;b".to_string(), "c".to_string()])
        );
        // Incomplete input asks for more.
        assert_eq!(first_record("a,b", ',', false).expect("parses"), None);
        assert_eq!(first_record("\"a\nb", ',', false).expect("parses"), None);
        assert!(first_record("\"a,b", ',', true).is_err());
    }

    #[test]
    fn header_names_fill_blanks_and_repeats() {
        let raw = ["id", "", "ID", "name", "id", "  "]
            .map(String::from)
            .to_vec();
        assert_eq!(
            header_names(raw),
            ["id", "column1", "ID_2", "name", "id_3", "column5"]
        );
    }
}

//! kiln's one rule for relative file paths on DuckDB: a path a model or a source's
//! `external_location` reads (`read_csv('data/x.csv')`, `from 'data/x.parquet'`) is relative to
//! the project directory, as the profile's database `path` is, wherever kiln runs from.
//!
//! DuckDB's `file_search_path` (set to the project directory) covers globs, which DuckDB then
//! expands from the search path only; a plain path DuckDB looks up in the process's working
//! directory first, so a same-named file there would win. So each statement's file paths are
//! anchored to the project directory as the statement is sent, the SQL kiln compiled and logs
//! left as written. A path is one when it is the first argument (or a list item of it) of one
//! of DuckDB's file-reading table functions, or a quoted name right after `FROM` or `JOIN`
//! (DuckDB's replacement scan); absolute paths, `~`, and URLs (`s3://`...) are left alone.

use std::borrow::Cow;
use std::path::Path;

/// DuckDB's table functions whose first argument is a file path, a glob or a list of them.
const FILE_FUNCTIONS: &[&str] = &[
    "read_csv",
    "read_csv_auto",
    "sniff_csv",
    "read_parquet",
    "parquet_scan",
    "parquet_metadata",
    "parquet_schema",
    "parquet_file_metadata",
    "parquet_kv_metadata",
    "read_json",
    "read_json_auto",
    "read_json_objects",
    "read_json_objects_auto",
    "read_ndjson",
    "read_ndjson_auto",
    "read_ndjson_objects",
    "read_text",
    "read_blob",
    "read_xlsx",
    "glob",
    "delta_scan",
    "iceberg_scan",
    "st_read",
];

/// An open bracket while scanning: whether its first argument is a file path.
struct Frame {
    file_arg: bool,
    /// Commas seen at this depth (only the first argument is a path).
    commas: usize,
    /// A `[` list, whose items all stay paths.
    list: bool,
}

/// `sql` with every relative file path it reads made absolute under `dir`; borrowed unchanged
/// when it reads none.
pub fn anchor_relative_paths<'a>(sql: &'a str, dir: &Path) -> Cow<'a, str> {
    if !sql.contains('\'') {
        return Cow::Borrowed(sql);
    }
    let bytes = sql.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut stack: Vec<Frame> = vec![];
    // The last word outside strings and comments, lower-cased, and whether only blanks follow it.
    let mut last_word = String::new();
    let mut word_adjacent = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
                continue;
            }
            b'"' => {
                let end = sql[i + 1..]
                    .find('"')
                    .map_or(bytes.len(), |n| i + 1 + n + 1);
                last_word.clear();
                word_adjacent = false;
                i = end;
                continue;
            }
            b'\'' => {
                // The literal's end: the next quote not doubled.
                let mut j = i + 1;
                while j < bytes.len() {
                    if bytes[j] == b'\'' {
                        if bytes.get(j + 1) == Some(&b'\'') {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j += 1;
                }
                let end = (j + 1).min(bytes.len());
                let in_file_arg = stack.last().is_some_and(|f| f.file_arg && f.commas == 0);
                let after_from = word_adjacent && (last_word == "from" || last_word == "join");
                if (in_file_arg || after_from) && j < bytes.len() {
                    let text = sql[i + 1..j].replace("''", "'");
                    if let Some(anchored) = anchored(&text, dir) {
                        out.push_str(&sql[copied..i]);
                        out.push('\'');
                        out.push_str(&anchored.replace('\'', "''"));
                        out.push('\'');
                        copied = end;
                    }
                }
                last_word.clear();
                word_adjacent = false;
                i = end;
                continue;
            }
            b'(' => {
                let file_arg = word_adjacent && FILE_FUNCTIONS.contains(&last_word.as_str());
                stack.push(Frame {
                    file_arg,
                    commas: 0,
                    list: false,
                });
            }
            b'[' => {
                // A list of paths: the first argument of a file function, item by item.
                let file_arg = stack.last().is_some_and(|f| f.file_arg && f.commas == 0);
                stack.push(Frame {
                    file_arg,
                    commas: 0,
                    list: true,
                });
            }
            b')' | b']' => {
                stack.pop();
            }
            b',' => {
                // Items of a list all stay paths; arguments after the first do not.
                if let Some(f) = stack.last_mut().filter(|f| !f.list) {
                    f.commas += 1;
                }
            }
            _ => {}
        }
        if c.is_ascii_alphanumeric() || c == b'_' {
            if !word_adjacent || !last_word_continues(bytes, i) {
                last_word.clear();
            }
            last_word.push(c.to_ascii_lowercase() as char);
            word_adjacent = true;
        } else if !c.is_ascii_whitespace() {
            last_word.clear();
            word_adjacent = false;
        }
        i += 1;
    }
    if copied == 0 {
        return Cow::Borrowed(sql);
    }
    out.push_str(&sql[copied..]);
    Cow::Owned(out)
}

/// Whether the byte before `i` is part of the same word (no blank between).
fn last_word_continues(bytes: &[u8], i: usize) -> bool {
    i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')
}

/// The absolute path a relative file path stands for; `None` when it is not relative.
fn anchored(text: &str, dir: &Path) -> Option<String> {
    if text.is_empty()
        || text.starts_with('/')
        || text.starts_with('~')
        || text.contains("://")
        || Path::new(text).is_absolute()
    {
        return None;
    }
    let rest = text.strip_prefix("./").unwrap_or(text);
    Some(dir.join(rest).display().to_string())
}

#[cfg(test)]
mod tests {
    use super::anchor_relative_paths;
    use std::path::Path;

    fn anchor(sql: &str) -> String {
        anchor_relative_paths(sql, Path::new("/p/proj")).into_owned()
    }

    #[test]
    fn file_function_paths_are_anchored() {
        assert_eq!(
            anchor("select * from read_csv('data/x.csv', header = true)"),
            "select * from read_csv('/p/proj/data/x.csv', header = true)"
        );
        assert_eq!(
            anchor(
                "select * from READ_PARQUET(['a.parquet', './b/*.parquet'], union_by_name = true)"
            ),
            "select * from READ_PARQUET(['/p/proj/a.parquet', '/p/proj/b/*.parquet'], union_by_name = true)"
        );
        assert_eq!(
            anchor("select * from 'data/x.csv' join \"t\" using (id)"),
            "select * from '/p/proj/data/x.csv' join \"t\" using (id)"
        );
        assert_eq!(
            anchor("select * from read_csv('it''s.csv')"),
            "select * from read_csv('/p/proj/it''s.csv')"
        );
    }

    #[test]
    fn other_literals_and_absolute_paths_are_left_alone() {
        for sql in [
            "select 'data/x.csv' as path",
            "select * from read_csv('/abs/x.csv')",
            "select * from read_parquet('s3://bucket/x.parquet')",
            "select * from read_csv('~/x.csv')",
            "select * from read_csv(path_var, delim = 'data/x')",
            "select * from t where name = 'from' -- read_csv('x.csv')",
            "select my_read_csv('x.csv')",
            "select * from read_csv('x.csv', columns = {'a': 'varchar'})",
        ] {
            let expected = if sql.contains("columns = {") {
                "select * from read_csv('/p/proj/x.csv', columns = {'a': 'varchar'})"
            } else {
                sql
            };
            assert_eq!(anchor(sql), expected, "{sql}");
        }
        assert!(matches!(
            anchor_relative_paths("select 1", Path::new("/p")),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}

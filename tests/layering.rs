//! The shape of the code: each folder under `src/` is a stage of the pipeline, and a stage may use
//! only the stages below it. This test reads every `crate::` path in the code (not in comments)
//! and fails on an import that goes up the order, or on a folder the order does not name.
//!
//! The order, lowest first; folders on one line are one layer and may not import each other
//! either (they are independent of each other):

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const LAYERS: &[&[&str]] = &[
    // Text helpers (the did-you-mean distance), below everything.
    &["text"],
    // Foundations: what the user is told, how long things take, SQL as a tree.
    &["events", "timing", "sql"],
    &["error"],
    // The command line, then what one invocation asks for (its typed flags, output settings).
    &["cli"],
    &["invocation"],
    // Files on disk: the project, then the packages it depends on.
    &["project"],
    &["deps"],
    // dbt's node dictionaries, and readers of earlier runs' artifacts.
    &["schemas"],
    // The DAG and selection; the warehouses.
    &["graph", "adapter"],
    // Templating: ref(), source(), macros, the adapter object.
    &["jinja"],
    // What each kind of node asks of the database.
    &["materialize"],
    // Loading, parsing and wiring a project for a command.
    &["session"],
    // Running the plans in DAG order.
    &["runner"],
    // What a run leaves behind, and who is told when it failed.
    &["artifacts", "docs", "notices"],
    // Erasure of data subjects (GDPR/CCPA) across the tables the project builds.
    &["erase"],
    // One file per subcommand.
    &["commands"],
];

/// Files that wire everything together.
const EXEMPT: &[&str] = &["lib.rs", "main.rs"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file with comments and string literals blanked (line structure kept), so that a
/// path in a doc comment or a message is not read as an import.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == b'\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if b[i] == b'r' && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#')) {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                if b[j] == b'\n' {
                    out.push('\n');
                }
                j += 1;
            }
            i = j + close.len();
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                } else if b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\'') or a lifetime ('a): skip a literal only.
            let lit = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..].iter().position(|&c| c == b'\'').map(|p| p + 3)
            } else if b.get(i + 2) == Some(&b'\'') {
                Some(3)
            } else {
                // A multi-byte char literal: up to 4 bytes of UTF-8, then the quote.
                (2..=5)
                    .find(|&k| b.get(i + k) == Some(&b'\'') && text.is_char_boundary(i + 1))
                    .filter(|&k| {
                        text.get(i + 1..i + k)
                            .is_some_and(|s| s.chars().count() == 1)
                    })
                    .map(|k| k + 1)
            };
            match lit {
                Some(n) => {
                    out.push_str("' '");
                    i += n;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let ch = text[i..].chars().next().expect("a char");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The top-level modules a file's code names through `crate::`, with the line of each: `use
/// crate::a::b`, `crate::a::f()` in code, and the members of `use crate::{a, b::c}`.
fn crate_paths(code: &str) -> Vec<(String, usize)> {
    let mut found = vec![];
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (start, _) in code.match_indices("crate::") {
        // `$crate::` in macros and `some_crate::` are not this crate.
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let line = code[..start].matches('\n').count() + 1;
        let rest = code[start + "crate::".len()..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut member_start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => member_start = true,
                    c if c.is_whitespace() => {}
                    _ if member_start && depth == 1 => {
                        member_start = false;
                        let name = ident(&group[k..]);
                        if !name.is_empty() {
                            let at = line + group[..k].matches('\n').count();
                            found.push((name, at));
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                found.push((name, line));
            }
        }
    }
    found
}

#[test]
fn no_stage_imports_a_later_stage() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = vec![];
    let mut unknown = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let rel_text = rel.display().to_string();
        if EXEMPT.contains(&rel_text.as_str()) {
            continue;
        }
        let first = rel.components().next().expect("a component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let Some(own) = layer_of(&module) else {
            unknown.insert(module, rel_text);
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read a source file");
        for (target, line) in crate_paths(&code_only(&text)) {
            if target == module {
                continue;
            }
            match layer_of(&target) {
                Some(l) if l < own => {}
                Some(l) => problems.push(format!(
                    "src/{rel_text}:{line}: `{module}` (layer {own}) uses `crate::{target}` (layer {l}){}",
                    if l == own { ", a module of its own layer" } else { ", a later stage" }
                )),
                // A folder or file of src/ the order does not name; anything else at the crate
                // root (a re-export in lib.rs) is not a stage.
                None if src.join(&target).is_dir() || src.join(format!("{target}.rs")).is_file() => {
                    unknown.insert(target.clone(), format!("src/{rel_text}:{line}"));
                }
                None => {}
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules the layer order in tests/layering.rs does not name (add each to its layer): {unknown:?}"
    );
    assert!(
        problems.is_empty(),
        "imports against the pipeline's order (a stage may use only the stages listed before it in \
         tests/layering.rs; move the shared piece down, or pass it in from the caller):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_reader_sees_code_and_not_comments_or_strings() {
    let text = r#"
use crate::project::Node;
use crate::{error::Error, events::{self, Event},
    graph};
// crate::commands in a comment
/// [`crate::runner`] in a doc comment
let s = "crate::artifacts in a string";
let c = '"'; let t = crate::timing::now();
/* crate::docs in a block */ let m = $crate::x; let o = other_crate::y;
"#;
    let got = crate_paths(&code_only(text));
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["project", "error", "events", "graph", "timing"]);
    let lines: Vec<usize> = got.iter().map(|(_, l)| *l).collect();
    assert_eq!(lines, [2, 3, 3, 4, 8]);
}

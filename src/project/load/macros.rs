//! Macro files: every `{% macro %}`, `{% test %}` and `{% materialization %}` block found (outside
//! comments), registered as macros of the project; each file becomes one Jinja template.

use super::Loader;
use crate::error::{Diagnostic, Location};
use crate::project::MacroFile;
use crate::project::node::MacroNode;
use regex::Regex;
use serde_json::Map;
use std::sync::LazyLock;

/// A macro's opening tag: its kind, name and arguments. The arguments may hold `%` in a string
/// default (`format='%H:%M:%S'`), so the tag ends at the first `%}` outside quotes.
static MACRO_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"\{%-?\s*(macro|test|materialization)\s+([A-Za-z_][A-Za-z0-9_]*)((?:'[^']*'|"[^"]*"|[^'"%]|%[^}])*?)-?%\}"#,
    )
    .expect("static regex")
});

static MACRO_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%-?\s*end(macro|test|materialization)\s*-?%\}").expect("static regex")
});

static MATERIALIZATION_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*,?\s*(?:adapter\s*=\s*['"]([A-Za-z_]+)['"])?"#).expect("static regex")
});

/// A macro defined in `source`: (kind, macro name as registered, byte range of the whole block).
pub fn scan_macros(
    source: &str,
) -> Vec<(
    String,
    String,
    std::ops::Range<usize>,
    std::ops::Range<usize>,
)> {
    // Tags inside {# comments #} are not definitions: scan a copy with comments blanked out
    // (same length, so offsets stay valid for the original).
    let masked = mask_comments(source);
    let source = masked.as_str();
    let mut out = vec![];
    let mut pos = 0;
    while let Some(start) = MACRO_START.captures_at(source, pos) {
        let Some(whole) = start.get(0) else { break };
        let kind = start[1].to_string();
        let raw_name = start[2].to_string();
        let name = match kind.as_str() {
            "test" => format!("test_{raw_name}"),
            "materialization" => {
                let adapter = MATERIALIZATION_HEAD
                    .captures(&start[3])
                    .and_then(|c| c.get(1).map(|m| m.as_str().to_string()))
                    .unwrap_or_else(|| "default".into());
                format!("materialization_{raw_name}_{adapter}")
            }
            _ => raw_name,
        };
        let end = MACRO_END.find_at(source, whole.end());
        let block_end = end.map_or(source.len(), |m| m.end());
        out.push((kind, name, whole.start()..block_end, whole.range()));
        pos = block_end.max(whole.end());
    }
    out
}

/// `source` with the inside of every `{# ... #}` comment replaced by spaces (newlines kept).
fn mask_comments(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{#") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after.find("#}").map_or(after.len(), |e| e + 2);
        for c in after[..end].chars() {
            if c == '\n' {
                out.push('\n');
            } else {
                // keep byte offsets: one space per UTF-8 byte
                out.extend(std::iter::repeat_n(' ', c.len_utf8()));
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Rewrites `{% test x(...) %}` to `{% macro test_x(...) %}` and `{% materialization m, adapter='a' %}`
/// to `{% macro materialization_m_a() %}`, keeping every line where it was.
pub fn rewrite_macro_source(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 64);
    let mut last = 0;
    let masked = mask_comments(source);
    for (kind, name, block, head) in scan_macros(source) {
        // Jinja2's macros take keyword arguments they do not declare when their body reads
        // `kwargs` (dbt_utils' tests pass `**kwargs` on through `adapter.dispatch`): such a
        // macro gets a declared `kwargs` argument, which the macro caller fills with the
        // undeclared keywords (`jinja::context::MacroCaller`).
        let head_text = &source[head.clone()];
        let needs_kwargs = reads_undeclared_kwargs(head_text, &masked[head.end..block.end]);
        if kind == "macro" && !needs_kwargs {
            continue;
        }
        out.push_str(&source[last..head.start]);
        let open = if head_text.starts_with("{%-") {
            "{%-"
        } else {
            "{%"
        };
        let close = if head_text.ends_with("-%}") {
            "-%}"
        } else {
            "%}"
        };
        let written = if kind == "test" || kind == "macro" {
            let args_start = head_text.find('(').unwrap_or(head_text.len());
            let args_end = head_text.rfind(')').map_or(head_text.len(), |i| i + 1);
            let args = if args_start < args_end {
                &head_text[args_start..args_end]
            } else {
                "()"
            };
            let args = if needs_kwargs {
                with_kwargs_argument(args)
            } else {
                args.to_string()
            };
            format!("{open} macro {name}{args} {close}")
        } else {
            format!("{open} macro {name}() {close}")
        };
        out.push_str(&written);
        // keep line numbers stable (the arguments keep their own line breaks)
        let lost = head_text
            .matches('\n')
            .count()
            .saturating_sub(written.matches('\n').count());
        for _ in 0..lost {
            out.push('\n');
        }
        last = head.end;
    }
    out.push_str(&source[last..]);
    MACRO_END
        .replace_all(&out, |c: &regex::Captures<'_>| {
            let whole = &c[0];
            let open = if whole.starts_with("{%-") {
                "{%-"
            } else {
                "{%"
            };
            let close = if whole.ends_with("-%}") { "-%}" } else { "%}" };
            format!("{open} endmacro {close}")
        })
        .into_owned()
}

static KWARGS_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bkwargs\b").expect("static regex"));

/// Whether a macro's body reads `kwargs` while its head does not declare it.
fn reads_undeclared_kwargs(head: &str, body: &str) -> bool {
    KWARGS_WORD.is_match(body) && !KWARGS_WORD.is_match(head)
}

/// `(a, b=1)` → `(a, b=1, kwargs={})`; `()` → `(kwargs={})`.
fn with_kwargs_argument(args: &str) -> String {
    let inner = args
        .strip_prefix('(')
        .and_then(|a| a.strip_suffix(')'))
        .unwrap_or(args);
    if inner.trim().is_empty() {
        "(kwargs={})".to_string()
    } else {
        format!("({inner}, kwargs={{}})")
    }
}

impl Loader {
    pub(super) fn load_macros(&mut self) {
        if self.shown_prefix == super::packages::KILN_PACKAGE_SHOWN {
            // The embedded `kiln` package: its macro files come from the binary.
            for (path, text) in super::packages::KILN_PACKAGE {
                if path.starts_with("macros/") {
                    let shown = format!("{}/{path}", self.shown_prefix);
                    self.add_macro_file(path, &shown, text);
                }
            }
            return;
        }
        let mut files = self.find(&self.cfg.macro_paths(), &["sql"]);
        files.extend(
            self.find(&self.cfg.test_paths(), &["sql"])
                .into_iter()
                .filter(|f| f.path.starts_with("generic/")),
        );
        for f in files {
            let Some(text) = self.read_found(&f) else {
                continue;
            };
            self.add_macro_file(&f.original_file_path, &f.shown, &text);
        }
    }

    /// The macros of one file (`original_file_path` inside its project, `shown` from the root).
    fn add_macro_file(&mut self, original_file_path: &str, shown: &str, text: &str) {
        let rewritten = rewrite_macro_source(text);
        for (_kind, name, block, _head) in scan_macros(text) {
            let uid = format!("macro.{}.{}", self.name, name);
            if let Some(prev) = self.macros.get(&uid) {
                self.diags.push(
                    Diagnostic::error(
                        "duplicate",
                        format!(
                            "macro '{name}' is defined twice: {} and {original_file_path}",
                            prev.original_file_path
                        ),
                    )
                    .at(Location::from_offset(shown, text, block.start))
                    .with_help("rename or remove one of them"),
                );
                continue;
            }
            self.macros.insert(
                uid.clone(),
                MacroNode {
                    unique_id: uid,
                    name,
                    package_name: self.name.clone(),
                    path: original_file_path.to_string(),
                    original_file_path: original_file_path.to_string(),
                    macro_sql: text[block].to_string(),
                    depends_on_macros: vec![],
                    description: String::new(),
                    meta: Map::new(),
                    arguments: vec![],
                    patch_path: None,
                    docs: None,
                    template: shown.to_string(),
                },
            );
        }
        self.macro_files.push(MacroFile {
            template: shown.to_string(),
            package: self.name.clone(),
            source: rewritten,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_in_comments_are_not_definitions() {
        let src = "{# {% macro old() %}{% endmacro %} é #}\n{% macro a(x) %}{{ x }}{% endmacro %}\n{% test t(model) %}select 1{% endtest %}";
        let names: Vec<String> = scan_macros(src).into_iter().map(|m| m.1).collect();
        assert_eq!(names, vec!["a", "test_t"]);
        let found = scan_macros(src);
        assert_eq!(
            &src[found[0].2.clone()],
            "{% macro a(x) %}{{ x }}{% endmacro %}"
        );
        assert!(
            rewrite_macro_source(src).contains("{% macro test_t(model) %}select 1{% endmacro %}")
        );
    }

    #[test]
    fn a_percent_sign_in_a_default_argument_is_part_of_the_head() {
        let src = "{% macro pretty_time(format='%H:%M:%S') %}{{ format }}{% endmacro %}\n\
                   {% test t(model, pattern=\"100%\") -%}select 1{%- endtest %}";
        let found = scan_macros(src);
        let names: Vec<&str> = found.iter().map(|m| m.1.as_str()).collect();
        assert_eq!(names, ["pretty_time", "test_t"]);
        assert_eq!(
            &src[found[0].3.clone()],
            "{% macro pretty_time(format='%H:%M:%S') %}"
        );
        assert!(rewrite_macro_source(src).contains("{% macro test_t(model, pattern=\"100%\") -%}"));
    }
}

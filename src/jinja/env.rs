//! The minijinja environment, built once per invocation: dbt's filters and functions, Python-style
//! methods (`.upper()`, `.items()`), the built-in macro files and the project's macro files as
//! templates. Model files are rendered from strings against it, in parallel.

use crate::error::{Diagnostic, Location};
use crate::project::{MacroFile, MacroNode, Project};
use minijinja::{Environment, Error as JError, ErrorKind, UndefinedBehavior};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub struct JinjaEnv {
    pub env: Environment<'static>,
    /// (package, macro name) → template name.
    pub macros: BTreeMap<(String, String), String>,
    /// Template name → (file shown to the user, source text), for error locations.
    pub sources: BTreeMap<String, (PathBuf, String)>,
    /// The built-in macros, for the manifest.
    pub builtin_macros: Vec<MacroNode>,
}

impl JinjaEnv {
    pub fn build(project: &Project) -> Result<JinjaEnv, Vec<Diagnostic>> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_recursion_limit(500);
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        super::functions::register(&mut env);

        let mut macros = BTreeMap::new();
        let mut sources = BTreeMap::new();
        let mut builtin_macros = vec![];
        let mut diags = vec![];
        let mut files: Vec<MacroFile> = super::builtins::FILES
            .iter()
            .map(|(name, src)| MacroFile {
                template: format!("dbt/{name}"),
                package: "dbt".into(),
                source: crate::project::rewrite_macro_source(src),
            })
            .collect();
        files.extend(project.macro_files.iter().cloned());
        for f in files {
            for (_kind, name, block, _head) in crate::project::scan_macros(&f.source) {
                macros.insert((f.package.clone(), name.clone()), f.template.clone());
                if f.package == "dbt" {
                    builtin_macros.push(MacroNode {
                        unique_id: format!("macro.dbt.{name}"),
                        name,
                        package_name: "dbt".into(),
                        path: format!("macros/{}", f.template.trim_start_matches("dbt/")),
                        original_file_path: format!(
                            "macros/{}",
                            f.template.trim_start_matches("dbt/")
                        ),
                        macro_sql: f.source[block].to_string(),
                        depends_on_macros: vec![],
                        description: String::new(),
                        meta: Default::default(),
                        arguments: vec![],
                        template: f.template.clone(),
                    });
                }
            }
            let shown = if f.package == "dbt" {
                PathBuf::from(format!("<kiln built-in>/{}", f.template))
            } else {
                PathBuf::from(&f.template)
            };
            sources.insert(f.template.clone(), (shown.clone(), f.source.clone()));
            if let Err(e) = env.add_template_owned(f.template.clone(), f.source.clone()) {
                diags.push(jinja_error(
                    &e,
                    &shown,
                    &f.source,
                    0,
                    "cannot load macro file",
                    &sources,
                ));
            }
        }
        if diags.is_empty() {
            Ok(JinjaEnv {
                env,
                macros,
                sources,
                builtin_macros,
            })
        } else {
            Err(diags)
        }
    }
}

/// Turns a minijinja error into a diagnostic pointing at the line the analyst wrote: in the
/// node's own file, or in the macro file where the error arose.
pub fn jinja_error(
    e: &JError,
    file: &std::path::Path,
    text: &str,
    line_offset: usize,
    what: &str,
    macro_sources: &BTreeMap<String, (PathBuf, String)>,
) -> Diagnostic {
    // The innermost error carries the most precise location.
    let mut inner: &JError = e;
    while let Some(src) = std::error::Error::source(inner).and_then(|s| s.downcast_ref::<JError>())
    {
        inner = src;
    }
    let detail = inner
        .detail()
        .map(ToString::to_string)
        .unwrap_or_else(|| inner.kind().to_string());
    let help = match inner.kind() {
        ErrorKind::SyntaxError => {
            "check the Jinja tags: every {% if %}, {% for %}, {% macro %} needs its {% end... %}, and {{ }} must be balanced"
        }
        ErrorKind::UndefinedError => {
            "check the name: it is not a variable, macro or function known here"
        }
        ErrorKind::UnknownFunction => {
            "define the macro in a file under macro-paths, or check its name"
        }
        ErrorKind::UnknownMethod => "this object has no such method",
        ErrorKind::MissingArgument | ErrorKind::TooManyArguments => {
            "check the arguments of the call"
        }
        _ => "fix the Jinja at this line",
    };
    let located = inner
        .name()
        .and_then(|n| macro_sources.get(n))
        .zip(inner.line());
    let d = Diagnostic::error("jinja", format!("{what}: {detail}")).with_help(help);
    match (located, inner.line()) {
        (Some(((mfile, mtext), line)), _) => {
            let col = column_of(inner, mtext, line);
            let mut d = d.at(Location::from_line_col(mfile, mtext, line, col));
            if mfile != file {
                d.message = format!("{} (called from {})", d.message, file.display());
            }
            d
        }
        (None, Some(line)) => {
            let col = column_of(inner, text, line);
            let mut loc = Location::from_line_col(file, text, line, col);
            loc.line += line_offset;
            d.at(loc)
        }
        _ => d.in_file(file),
    }
}

fn column_of(e: &JError, text: &str, line: usize) -> usize {
    let Some(range) = e.range() else { return 1 };
    let start_of_line: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    if range.start >= start_of_line {
        text[start_of_line..range.start.min(text.len())]
            .chars()
            .count()
            + 1
    } else {
        1
    }
}

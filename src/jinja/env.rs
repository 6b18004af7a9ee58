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
    /// The built-in macros, for the manifest, each with the macros it calls.
    pub builtin_macros: Vec<MacroNode>,
    /// The project's folder, to read a YAML file when an error in a node defined there (a
    /// generic test) must point at its line.
    pub project_dir: PathBuf,
    /// unique_id of each of the project's macros → the macros it calls (dbt's
    /// `depends_on.macros`), read from its syntax tree when it was parsed here.
    pub macro_depends_on: BTreeMap<String, Vec<String>>,
}

impl JinjaEnv {
    /// Renders a node's (or a hook's, or inline) template text, its list and dict literals
    /// mutable as in dbt's Jinja (`mutable.rs`).
    pub fn render_named_str<S: Into<minijinja::Value>>(
        &self,
        name: &str,
        source: &str,
        ctx: S,
    ) -> Result<String, JError> {
        self.env
            .render_named_str(name, &super::mutable::rewrite_literals(source), ctx)
    }

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
        // (package, macro name) → the calls in its body.
        let mut calls: BTreeMap<(String, String), Vec<super::macro_calls::MacroCall>> =
            BTreeMap::new();
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
            let shown = if f.package == "dbt" {
                PathBuf::from(format!("<kiln built-in>/{}", f.template))
            } else {
                PathBuf::from(&f.template)
            };
            sources.insert(f.template.clone(), (shown.clone(), f.source.clone()));
            let load_error = |e: &JError, sources: &BTreeMap<String, (PathBuf, String)>| {
                jinja_error(e, &shown, &f.source, 0, "cannot load macro file", sources)
            };
            // What the file holds outside its macros, blanked where the macros are (same length,
            // so line numbers stay those of the file).
            let mut rest: Vec<u8> = f.source.as_bytes().to_vec();
            for (_kind, name, block, _head) in crate::project::scan_macros(&f.source) {
                // Each macro is a template of its own, as dbt parses each macro on its own: a
                // call renders that macro alone, not every other macro of its file. Blank lines
                // before it keep its line numbers those of the file, for error messages.
                let own = format!("{}#{name}", f.template);
                let lines_before = f.source[..block.start].matches('\n').count();
                let mut text = "\n".repeat(lines_before);
                text.push_str(&f.source[block.clone()]);
                for b in &mut rest[block.clone()] {
                    if *b != b'\n' {
                        *b = b' ';
                    }
                }
                sources.insert(own.clone(), (shown.clone(), f.source.clone()));
                calls.insert(
                    (f.package.clone(), name.clone()),
                    super::macro_calls::calls(&text),
                );
                let text = super::mutable::rewrite_literals(&text).into_owned();
                if let Err(e) = env.add_template_owned(own.clone(), text) {
                    diags.push(load_error(&e, &sources));
                }
                macros.insert((f.package.clone(), name.clone()), own);
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
                        patch_path: None,
                        docs: None,
                        template: f.template.clone(),
                    });
                }
            }
            // Tags outside any macro (a stray `{% endif %}`, say) are still checked, as dbt
            // would; a file of macros, comments and whitespace needs no second compile.
            let rest = String::from_utf8_lossy(&rest).into_owned();
            let has_tags = rest.contains("{%") || rest.contains("{{") || rest.contains("%}");
            if has_tags
                && let Err(e) = env.add_template_owned(
                    f.template.clone(),
                    super::mutable::rewrite_literals(&rest).into_owned(),
                )
            {
                diags.push(load_error(&e, &sources));
            }
        }
        let macro_depends_on = resolve_calls(project, &mut builtin_macros, &calls);
        if diags.is_empty() {
            Ok(JinjaEnv {
                env,
                macros,
                sources,
                builtin_macros,
                project_dir: project.dir.clone(),
                macro_depends_on,
            })
        } else {
            Err(diags)
        }
    }
}

/// Resolves every macro's calls once all macros are known: the built-ins' onto their nodes, the
/// project's into the map returned (the project's macros are the loaded project's).
fn resolve_calls(
    project: &Project,
    builtin: &mut [MacroNode],
    calls: &BTreeMap<(String, String), Vec<super::macro_calls::MacroCall>>,
) -> BTreeMap<String, Vec<String>> {
    let prefixes = crate::adapter::for_project(project).dispatch_prefixes();
    let depends_on = |index: &super::macro_calls::MacroIndex<'_>, m: &MacroNode| {
        calls
            .get(&(m.package_name.clone(), m.name.clone()))
            .map(|c| index.depends_on(&m.unique_id, c))
            .unwrap_or_default()
    };
    let dispatch = project.config.dispatch_orders();
    let index = super::macro_calls::MacroIndex::new(
        builtin,
        project.macros.values(),
        &project.name,
        &dispatch,
        prefixes,
    );
    let builtin_deps: Vec<Vec<String>> = builtin.iter().map(|m| depends_on(&index, m)).collect();
    let project_deps = project
        .macros
        .values()
        .map(|m| (m.unique_id.clone(), depends_on(&index, m)))
        .collect();
    for (m, deps) in builtin.iter_mut().zip(builtin_deps) {
        m.depends_on_macros = deps;
    }
    project_deps
}

pub use crate::project::render::{Hint, hinted_error};

/// Turns a minijinja error into a diagnostic pointing at the line the analyst wrote: in the
/// node's own file, or in the macro file where the error arose (then naming the line of the
/// node that called the macro).
pub fn jinja_error(
    e: &JError,
    file: &std::path::Path,
    text: &str,
    line_offset: usize,
    what: &str,
    macro_sources: &BTreeMap<String, (PathBuf, String)>,
) -> Diagnostic {
    // The innermost error carries the most precise location; macro calls wrap the error of the
    // macro (see `MacroCaller`), so the outer ones say where each macro was called.
    let mut chain: Vec<&JError> = vec![e];
    while let Some(src) = chain
        .last()
        .and_then(|last| std::error::Error::source(*last))
        .and_then(|s| s.downcast_ref::<JError>())
    {
        chain.push(src);
    }
    let inner: &JError = chain.last().copied().unwrap_or(e);
    let detail = inner
        .detail()
        .map(ToString::to_string)
        .unwrap_or_else(|| inner.kind().to_string());
    // minijinja says "x is unknown"; say what x is not.
    let detail = match detail.strip_suffix(" is unknown") {
        Some(name) if inner.kind() == ErrorKind::UnknownFunction => {
            format!("there is no macro or function named '{name}'")
        }
        _ => detail,
    };
    let hint = std::error::Error::source(inner)
        .and_then(|s| s.downcast_ref::<Hint>())
        .map(|h| h.0.clone());
    let help = hint
        .or_else(|| macro_suggestion(inner.kind(), &detail, macro_sources))
        .unwrap_or_else(|| generic_help(inner.kind()).to_string());
    let located = inner
        .name()
        .and_then(|n| macro_sources.get(n))
        .zip(inner.line());
    // Where the node itself called into the macro that failed.
    let call_site = chain
        .iter()
        .find(|c| {
            c.name()
                .is_some_and(|n| !macro_sources.contains_key(n) && !n.starts_with('<'))
        })
        .and_then(|c| c.line());
    let mut d = Diagnostic::error("jinja", format!("{what}: {detail}")).with_help(help);
    let mut column = None;
    if inner.kind() == ErrorKind::SyntaxError && detail.contains("unexpected end of input") {
        // minijinja points at the block that is still open when the file ends: name it.
        let (src, line) = match located {
            Some(((_, mtext), line)) => (mtext.as_str(), line),
            None => (text, inner.line().unwrap_or(0)),
        };
        if let Some((tag, at)) = open_block_tag(src, line) {
            d.message = format!("{what}: the {{% {tag} %}} block is never closed");
            d.help = Some(format!(
                "add {{% end{tag} %}} where the {tag} block should end"
            ));
            column = Some(at);
        }
    }
    let mut d = locate(d, located, inner, file, text, line_offset, call_site);
    if let (Some(c), Some(loc)) = (column, d.location.as_mut()) {
        loc.column = c;
    }
    d
}

/// Places the diagnostic in the macro file or the node's file.
fn locate(
    d: Diagnostic,
    located: Option<(&(PathBuf, String), usize)>,
    inner: &JError,
    file: &std::path::Path,
    text: &str,
    line_offset: usize,
    call_site: Option<usize>,
) -> Diagnostic {
    match (located, inner.line()) {
        (Some(((mfile, mtext), line)), _) => {
            let col = column_of(inner, mtext, line);
            let mut d = d.at(Location::from_line_col(mfile, mtext, line, col));
            if mfile != file {
                let at = call_site.map_or(String::new(), |l| format!(":{}", l + line_offset));
                d.message = format!("{} (called from {}{at})", d.message, file.display());
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

/// For a call of an unknown function, the closest macro name of the project or the built-ins.
fn macro_suggestion(
    kind: ErrorKind,
    detail: &str,
    macro_sources: &BTreeMap<String, (PathBuf, String)>,
) -> Option<String> {
    if kind != ErrorKind::UnknownFunction {
        return None;
    }
    let wanted = detail.split('\'').nth(1)?;
    let best = macro_sources
        .values()
        .flat_map(|(_, text)| crate::project::scan_macros(text))
        .map(|(_, name, _, _)| name)
        .filter(|name| !name.contains("__"))
        .map(|name| (crate::graph::levenshtein(wanted, &name), name))
        .filter(|(d, _)| *d <= 2.max(wanted.len() / 4))
        .min()?;
    Some(format!(
        "did you mean '{}'? (otherwise define '{wanted}' in a file under macro-paths)",
        best.1
    ))
}

/// The last block tag opened on `line` (1-based) of `text` (`if`, `for`, `macro`...) and its
/// 1-based column.
fn open_block_tag(text: &str, line: usize) -> Option<(String, usize)> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    const BLOCKS: &[&str] = &[
        "if",
        "for",
        "macro",
        "call",
        "filter",
        "set",
        "raw",
        "with",
        "test",
        "materialization",
        "snapshot",
        "docs",
    ];
    l.match_indices("{%")
        .filter_map(|(i, _)| {
            let word = l[i + 2..]
                .trim_start_matches('-')
                .trim_start()
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .next()?;
            BLOCKS
                .contains(&word)
                .then(|| (word.to_string(), l[..i].chars().count() + 1))
        })
        .last()
}

fn generic_help(kind: ErrorKind) -> &'static str {
    match kind {
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

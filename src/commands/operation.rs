//! `kiln run-operation <macro> --args '{...}'`: call a macro with the database connected (for
//! grants, maintenance, one-off loads). Its `log()` output is printed; what it returns is not.

use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::{Invocation, parse_vars};
use crate::jinja::compile::render_snippet;
use crate::session::load_and_parse;
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn run(inv: &Invocation, macro_name: &str, args: Option<&str>) -> Result<Outcome, Error> {
    let loaded = load_and_parse(inv, "run-operation")?;
    let args = parse_vars(args).map_err(|e| {
        Error::one(
            Diagnostic::error(
                "flags",
                e.diagnostics()
                    .first()
                    .map_or_else(String::new, |d| d.message.replace("--vars", "--args")),
            )
            .with_help("write --args '{name: value}' (YAML or JSON)"),
        )
    })?;
    let (package, name) = match macro_name.split_once('.') {
        Some((p, n)) => (Some(p.to_string()), n.to_string()),
        None => (None, macro_name.to_string()),
    };
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let known = loaded
        .jenv
        .macros
        .keys()
        .any(|(p, n)| *n == name && package.as_ref().is_none_or(|want| want == p));
    if !valid(&name) || !package.as_deref().is_none_or(valid) || !known {
        // The closest macro, written the way it was asked for: `package.name` when a package
        // was given (that package's macros first, then any package's).
        let spelled = |(p, n): &(String, String)| match &package {
            Some(_) => format!("{p}.{n}"),
            None => n.clone(),
        };
        let wanted = macro_name.to_string();
        let mut names: Vec<(usize, String)> = loaded
            .jenv
            .macros
            .keys()
            .filter(|(_, n)| !n.contains("__"))
            .map(|k| {
                let s = spelled(k);
                (crate::graph::levenshtein(&s, &wanted), s)
            })
            .collect();
        names.sort();
        let hint = names.first().filter(|(d, _)| *d <= 3).map_or_else(
            || "macros live in the project's macro-paths (macros/ by default)".to_string(),
            |(_, n)| format!("did you mean '{n}'?"),
        );
        return Err(Diagnostic::error(
            "flags",
            format!("run-operation: no macro named '{macro_name}'"),
        )
        .with_help(hint)
        .into());
    }
    let pool = crate::runner::connect(&loaded)?;
    let shared = Arc::new(crate::runner::live_shared(&loaded, &pool));
    // The call, with each argument passed by keyword from a context variable.
    let mut extra = BTreeMap::new();
    let mut kwargs = vec![];
    for (i, (k, v)) in args.iter().enumerate() {
        if !valid(k) {
            return Err(Diagnostic::error(
                "flags",
                format!("--args: '{k}' is not a valid argument name"),
            )
            .into());
        }
        let var = format!("__kiln_arg_{i}");
        kwargs.push(format!("{k}={var}"));
        extra.insert(var, crate::jinja::to_value(v));
    }
    let callee = match &package {
        Some(p) => format!("{p}.{name}"),
        None => name.clone(),
    };
    let template = format!("{{% do {callee}({}) %}}", kwargs.join(", "));
    inv.output.info(&format!("Running macro '{macro_name}'"));
    match render_snippet(
        &loaded.jenv,
        &shared,
        None,
        "run-operation",
        &template,
        extra,
    ) {
        Ok(_) => Ok(Outcome::Success),
        Err(d) => {
            inv.output.warnings(&[Diagnostic::error(
                "operation",
                format!("run-operation {macro_name} failed: {}", d.message),
            )
            .with_help(
                d.help
                    .clone()
                    .unwrap_or_else(|| "see the macro's SQL".into()),
            )]);
            Ok(Outcome::Failed)
        }
    }
}

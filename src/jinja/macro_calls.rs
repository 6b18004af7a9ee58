//! The macros a macro calls: dbt's `depends_on.macros` for a macro, and what
//! `state:modified.macros` follows from a model through the macros it uses.
//!
//! Calls are read from the macro's Jinja syntax tree when the macro is parsed into the
//! environment ([`calls`]), as dbt extracts them statically from each macro's template, and
//! resolved to unique_ids once every macro is known ([`MacroIndex::depends_on`]). What counts as
//! a call, as in dbt: `name(...)`, `package.name(...)` and `adapter.dispatch('name', 'package')`
//! (both the dispatched name and the implementation the target's adapter picks). Filters, tests,
//! method calls on values (`x.upper()`, `load_result('a').table`) and calls of names no macro
//! has are not macro calls. Calls are listed in the order they appear in the macro's text, each
//! once, the macro itself left out.

use crate::project::MacroNode;
use minijinja::machinery::ast::{self, CallArg, Expr};
use std::collections::{BTreeMap, BTreeSet};

/// One call in a macro's body, before it is resolved to a macro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MacroCall {
    /// `name(...)`: the project's macro of that name, else kiln's built-in.
    Bare(String),
    /// `package.name(...)`.
    Qualified { package: String, name: String },
    /// `adapter.dispatch('name')`, or with a namespace (`'package'` or `macro_namespace=`).
    Dispatch {
        name: String,
        namespace: Option<String>,
    },
}

/// The calls in a macro's template, in the order they appear. A template that does not parse
/// has none (its syntax error is reported when it is compiled into the environment).
pub fn calls(template: &str) -> Vec<MacroCall> {
    let Ok(tree) = minijinja::machinery::parse(template, "<macro>", Default::default()) else {
        return vec![];
    };
    let mut found = Calls::default();
    super::ast_walk::stmt(&mut found, &tree);
    // The tree holds calls in evaluation order; dbt lists them as they read in the text.
    found.0.sort_by_key(|(offset, _)| *offset);
    found.0.into_iter().map(|(_, c)| c).collect()
}

/// Calls found so far, each with the offset where it starts.
#[derive(Default)]
struct Calls(Vec<(u32, MacroCall)>);

impl super::ast_walk::Visitor for Calls {
    fn call(&mut self, c: &ast::Call<'_>, offset: u32) {
        use super::ast_walk::expr;
        match &c.expr {
            Expr::Var(v) => self.0.push((offset, MacroCall::Bare(v.id.to_string()))),
            Expr::GetAttr(g) => match &g.expr {
                Expr::Var(v) if v.id == "adapter" => {
                    if g.name == "dispatch"
                        && let Some(call) = dispatch(&c.args)
                    {
                        self.0.push((offset, call));
                    }
                }
                Expr::Var(v) => self.0.push((
                    offset,
                    MacroCall::Qualified {
                        package: v.id.to_string(),
                        name: g.name.to_string(),
                    },
                )),
                // A method of a value (`x.y.z()`, `load_result('a').table.rows()`).
                other => expr(self, other),
            },
            other => expr(self, other),
        }
        super::ast_walk::args(self, &c.args);
    }
}

/// `adapter.dispatch(...)` with its macro name written as a string: positionally or as
/// `macro_name=`, with the namespace as the second argument or `macro_namespace=`.
fn dispatch(args: &[CallArg<'_>]) -> Option<MacroCall> {
    let text = |e: &Expr<'_>| match e {
        Expr::Const(c) => c.value.as_str().map(String::from),
        _ => None,
    };
    let mut positional = args.iter().filter_map(|a| match a {
        CallArg::Pos(e) => Some(e),
        _ => None,
    });
    let keyword = |key: &str| {
        args.iter().find_map(|a| match a {
            CallArg::Kwarg(k, e) if *k == key => Some(e),
            _ => None,
        })
    };
    let name = match keyword("macro_name") {
        Some(e) => text(e)?,
        None => text(positional.next()?)?,
    };
    let namespace = match keyword("macro_namespace") {
        Some(e) => text(e),
        None => positional.next().and_then(text),
    };
    Some(MacroCall::Dispatch { name, namespace })
}

/// Every macro of the project, its installed packages and kiln's built-ins, by name, to resolve
/// calls as dbt does when it lists a macro's `depends_on.macros`.
pub struct MacroIndex<'a> {
    /// (package, name) → unique_id.
    by_name: BTreeMap<(&'a str, &'a str), &'a str>,
    /// name → unique_id, as dbt's flat namespace: the root project's macros over the packages',
    /// over kiln's built-ins.
    unqualified: BTreeMap<&'a str, &'a str>,
    project: &'a str,
    /// The names a dispatch namespace may be (the root project, `dbt`, the packages).
    projects: BTreeSet<&'a str>,
    /// The root project's `dispatch:` search orders by namespace.
    dispatch: &'a BTreeMap<String, Vec<String>>,
    /// The target adapter's dispatch prefixes (`duckdb`, `default`).
    prefixes: &'static [&'static str],
}

impl<'a> MacroIndex<'a> {
    /// `builtin`, then the macros of the project and its packages (`project_macros`).
    pub fn new(
        builtin: &'a [MacroNode],
        project_macros: impl Iterator<Item = &'a MacroNode>,
        project: &'a str,
        dispatch: &'a BTreeMap<String, Vec<String>>,
        prefixes: &'static [&'static str],
    ) -> Self {
        let mut by_name = BTreeMap::new();
        let mut unqualified = BTreeMap::new();
        let mut projects = BTreeSet::from(["dbt", project]);
        // Packages before the root project, so that the root's names win.
        let (root, packages): (Vec<&MacroNode>, Vec<&MacroNode>) =
            project_macros.partition(|m| m.package_name == project);
        for m in builtin.iter().chain(packages).chain(root) {
            by_name.insert(
                (m.package_name.as_str(), m.name.as_str()),
                m.unique_id.as_str(),
            );
            unqualified.insert(m.name.as_str(), m.unique_id.as_str());
            projects.insert(m.package_name.as_str());
        }
        MacroIndex {
            by_name,
            unqualified,
            project,
            projects,
            dispatch,
            prefixes,
        }
    }

    /// An unqualified name called in a macro of `package`: that package's macro first, then
    /// the flat namespace (dbt's `MacroResolver.get_macro`).
    fn bare(&self, package: &str, name: &str) -> Option<&'a str> {
        self.by_name
            .get(&(package, name))
            .or_else(|| self.unqualified.get(name))
            .copied()
    }

    /// The implementation `adapter.dispatch(name, namespace)` picks for the target's adapter:
    /// `<adapter>__name`, then `default__name`, in each package of the search order (the root
    /// project's `dispatch:` for the namespace; else the root project, then the namespace; else,
    /// with no namespace or an unknown one, the flat namespace).
    fn dispatched(&self, name: &str, namespace: Option<&str>) -> Option<&'a str> {
        let packages: Vec<Option<&str>> = match namespace {
            None => vec![None],
            Some(ns) => match self.dispatch.get(ns) {
                Some(order) if !order.is_empty() => {
                    order.iter().map(|p| Some(p.as_str())).collect()
                }
                _ if self.projects.contains(ns) => vec![Some(self.project), Some(ns)],
                _ => vec![None],
            },
        };
        packages.iter().find_map(|pkg| {
            self.prefixes.iter().find_map(|prefix| {
                let candidate = format!("{prefix}__{name}");
                match pkg {
                    Some(p) => self.by_name.get(&(*p, candidate.as_str())).copied(),
                    None => self.unqualified.get(candidate.as_str()).copied(),
                }
            })
        })
    }

    /// The unique_ids of the macros `calls` (those of macro `own`) resolve to, in order, each
    /// once, `own` left out: dbt's `depends_on.macros`.
    pub fn depends_on(&self, own: &str, calls: &[MacroCall]) -> Vec<String> {
        let package = own.split('.').nth(1).unwrap_or(self.project);
        let mut out: Vec<String> = vec![];
        let mut add = |id: Option<&str>| {
            if let Some(id) = id
                && id != own
                && !out.iter().any(|o| o == id)
            {
                out.push(id.to_string());
            }
        };
        for c in calls {
            match c {
                MacroCall::Bare(name) => add(self.bare(package, name)),
                MacroCall::Qualified { package, name } => add(self
                    .by_name
                    .get(&(package.as_str(), name.as_str()))
                    .copied()),
                // dbt counts the dispatched name and the implementation the adapter picks.
                MacroCall::Dispatch { name, namespace } => {
                    add(self.bare(package, name));
                    add(self.dispatched(name, namespace.as_deref()));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bare(n: &str) -> MacroCall {
        MacroCall::Bare(n.into())
    }

    #[test]
    fn calls_in_text_order_of_every_statement() {
        let t = "{% macro m(a, b=default_b()) %}\
            {% set x = first(a) if cond() else other() %}\
            {% for r in rows(x) %}{{ pkg.helper(r, inner()) }}{% endfor %}\
            {% call statement('main') %}select {{ last() }}{% endcall %}\
            {% do side_effect() %}\
            {% endmacro %}";
        assert_eq!(
            calls(t),
            vec![
                bare("default_b"),
                bare("first"),
                bare("cond"),
                bare("other"),
                bare("rows"),
                MacroCall::Qualified {
                    package: "pkg".into(),
                    name: "helper".into()
                },
                bare("inner"),
                bare("statement"),
                bare("last"),
                bare("side_effect"),
            ]
        );
    }

    #[test]
    fn filters_methods_strings_and_comments_are_not_calls() {
        let t = "{% macro m(x) %}{# {{ commented() }} #}\
            {{ x | upper | replace('a', 'b') }}{{ 'quoted()' }}\
            {{ x.strip().lower() }}{{ load_result('a').table.columns() }}\
            {{ adapter.quote(x) }}{% if x is divisibleby(3) %}{% endif %}\
            {% raw %}{{ raw_call() }}{% endraw %}{% endmacro %}";
        assert_eq!(
            calls(t),
            vec![
                MacroCall::Qualified {
                    package: "x".into(),
                    name: "strip".into()
                },
                bare("load_result"),
            ]
        );
    }

    #[test]
    fn dispatch_names_and_namespaces() {
        let t = "{% macro m() %}\
            {{ adapter.dispatch('a')() }}\
            {{ adapter.dispatch('b', 'pkg')(1) }}\
            {{ adapter.dispatch(macro_name='c', macro_namespace='dbt')() }}\
            {{ adapter.dispatch(name_var)() }}\
            {% endmacro %}";
        let d = |n: &str, ns: Option<&str>| MacroCall::Dispatch {
            name: n.into(),
            namespace: ns.map(String::from),
        };
        assert_eq!(
            calls(t),
            vec![d("a", None), d("b", Some("pkg")), d("c", Some("dbt"))]
        );
    }

    #[test]
    fn a_template_that_does_not_parse_has_no_calls() {
        assert_eq!(calls("{% macro m() %}{{ a( }}{% endmacro %}"), vec![]);
    }

    fn node(package: &str, name: &str) -> MacroNode {
        MacroNode {
            unique_id: format!("macro.{package}.{name}"),
            name: name.into(),
            package_name: package.into(),
            path: String::new(),
            original_file_path: String::new(),
            macro_sql: String::new(),
            depends_on_macros: vec![],
            description: String::new(),
            meta: Default::default(),
            arguments: vec![],
            patch_path: None,
            docs: None,
            template: String::new(),
        }
    }

    #[test]
    fn resolution_follows_jinja_and_dispatch() {
        let builtin = vec![
            node("dbt", "type_string"),
            node("dbt", "default__type_string"),
            node("dbt", "hash"),
        ];
        let project = [
            node("shop", "hash"),
            node("shop", "duckdb__money"),
            node("shop", "money"),
        ];
        let dispatch = BTreeMap::new();
        let index = MacroIndex::new(
            &builtin,
            project.iter(),
            "shop",
            &dispatch,
            &["duckdb", "default"],
        );
        let got = index.depends_on(
            "macro.shop.money",
            &calls(
                "{% macro money() %}{{ hash() }}{{ dbt.hash() }}{{ money() }}{{ nothing() }}\
                 {{ adapter.dispatch('money')() }}{{ adapter.dispatch('type_string', 'dbt')() }}\
                 {{ hash() }}{% endmacro %}",
            ),
        );
        assert_eq!(
            got,
            vec![
                "macro.shop.hash",
                "macro.dbt.hash",
                "macro.shop.duckdb__money",
                "macro.dbt.type_string",
                "macro.dbt.default__type_string",
            ]
        );
    }
}

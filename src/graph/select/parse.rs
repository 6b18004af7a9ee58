//! The selector grammar: a `--select` / `--exclude` string (or a selectors.yml definition) turned
//! into an [`Expr`], a tree of set operations over [`Criterion`] leaves.
//!
//! One atom is `[@][N+][method[.arg...]:]value[+N]`, as dbt writes it:
//! `+orders`, `2+orders`, `orders+`, `orders+1`, `@orders`, `tag:nightly`,
//! `config.materialized:table`, `config.meta.owner:alice`, `marts.finance.*`, `models/staging`.
//! Atoms joined by `,` (no spaces) are an intersection; space-separated atoms, and repeated flags,
//! are a union. dbt's own grammar is one permissive regex that turns most typos into a selector
//! matching nothing; kiln rejects what cannot mean anything (an empty value, a `+` in the middle,
//! an unknown method, `@` with a trailing `+`, a value a closed method does not know) with a
//! `selector` error saying what is expected.

use super::IndirectSelection;
use crate::error::Diagnostic;
use crate::graph::levenshtein;

/// What the grammar expects, shown under every syntax error.
pub const GRAMMAR_HELP: &str = "a selector is [@][N+][method:]value[+N], e.g. orders, +orders, \
     orders+2, @orders, tag:nightly, config.materialized:table, path:models/staging; \
     join with ',' to intersect and with spaces to combine";

/// dbt's selector methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Fqn,
    Tag,
    Group,
    Access,
    Source,
    Path,
    File,
    Package,
    Config,
    TestName,
    TestType,
    ResourceType,
    State,
    Exposure,
    Metric,
    Result,
    SourceStatus,
    Version,
    SemanticModel,
    SavedQuery,
    UnitTest,
    /// A named selector from selectors.yml (`selector:nightly`, dbt 1.12).
    Selector,
    /// kiln's: the nodes holding PII of a kind (`pii:email`, `pii:*`, `pii:any`,
    /// `pii:pseudonymised`).
    Pii,
}

impl Method {
    pub const ALL: [Method; 23] = [
        Method::Fqn,
        Method::Tag,
        Method::Group,
        Method::Access,
        Method::Source,
        Method::Path,
        Method::File,
        Method::Package,
        Method::Config,
        Method::TestName,
        Method::TestType,
        Method::ResourceType,
        Method::State,
        Method::Exposure,
        Method::Metric,
        Method::Result,
        Method::SourceStatus,
        Method::Version,
        Method::SemanticModel,
        Method::SavedQuery,
        Method::UnitTest,
        Method::Selector,
        Method::Pii,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Fqn => "fqn",
            Method::Tag => "tag",
            Method::Group => "group",
            Method::Access => "access",
            Method::Source => "source",
            Method::Path => "path",
            Method::File => "file",
            Method::Package => "package",
            Method::Config => "config",
            Method::TestName => "test_name",
            Method::TestType => "test_type",
            Method::ResourceType => "resource_type",
            Method::State => "state",
            Method::Exposure => "exposure",
            Method::Metric => "metric",
            Method::Result => "result",
            Method::SourceStatus => "source_status",
            Method::Version => "version",
            Method::SemanticModel => "semantic_model",
            Method::SavedQuery => "saved_query",
            Method::UnitTest => "unit_test",
            Method::Selector => "selector",
            Method::Pii => "pii",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// dbt's choice when no method is written: a path if the value has a path separator, a file
    /// if it ends in a model or seed extension, otherwise an fqn.
    pub fn default_for(value: &str) -> Method {
        let lower = value.to_ascii_lowercase();
        if value.contains(['/', '\\']) {
            Method::Path
        } else if [".sql", ".py", ".csv"].iter().any(|e| lower.ends_with(e)) {
            Method::File
        } else {
            Method::Fqn
        }
    }
}

/// The `state:` comparisons dbt offers.
pub const STATE_VALUES: [&str; 10] = [
    "new",
    "old",
    "modified",
    "unmodified",
    "modified.body",
    "modified.configs",
    "modified.relation",
    "modified.persisted_descriptions",
    "modified.macros",
    "modified.contract",
];

/// dbt's node types, valid after `resource_type:` (kiln has nodes of the first seven).
pub const RESOURCE_TYPES: [&str; 20] = [
    "model",
    "seed",
    "snapshot",
    "analysis",
    "test",
    "source",
    "exposure",
    "data_test",
    "operation",
    "sql_operation",
    "rpc",
    "doc",
    "macro",
    "metric",
    "group",
    "saved_query",
    "semantic_model",
    "unit_test",
    "fixture",
    "function",
];

const TEST_TYPES: [&str; 5] = ["generic", "singular", "data", "unit", "schema"];
const VERSION_VALUES: [&str; 4] = ["latest", "prerelease", "old", "none"];
const ACCESS_VALUES: [&str; 3] = ["public", "protected", "private"];

/// One selector atom: a method match plus the graph operators around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    /// As written, for messages.
    pub raw: String,
    pub method: Method,
    /// Dotted arguments after the method: `config.meta.owner` → `["meta", "owner"]`.
    pub args: Vec<String>,
    pub value: String,
    /// `@`: the node, its descendants, and every ancestor of those.
    pub childrens_parents: bool,
    /// Leading `+` (ancestors), with `N+` limiting the depth.
    pub parents: bool,
    pub parents_depth: Option<usize>,
    /// Trailing `+` (descendants), with `+N` limiting the depth.
    pub children: bool,
    pub children_depth: Option<usize>,
    /// How tests attached to the selected nodes come along.
    pub indirect: IndirectSelection,
}

impl Criterion {
    pub fn has_graph_operators(&self) -> bool {
        self.childrens_parents || self.parents || self.children
    }
}

/// How a group combines its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Intersection,
    /// The first part minus every other part.
    Difference,
}

/// A set operation over sub-selections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub op: SetOp,
    pub parts: Vec<Expr>,
    /// Decides which tests that were only half selected by the parts join the result.
    pub indirect: IndirectSelection,
    /// When set, selecting nothing is worth a warning naming this text (what the user typed).
    pub warn_if_empty: Option<String>,
}

/// A parsed selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Criterion(Criterion),
    Group(Group),
}

impl Expr {
    pub fn group(op: SetOp, parts: Vec<Expr>, indirect: IndirectSelection) -> Expr {
        Expr::Group(Group {
            op,
            parts,
            indirect,
            warn_if_empty: None,
        })
    }

    /// Every criterion in the tree, depth first.
    pub fn criteria(&self) -> Vec<&Criterion> {
        match self {
            Expr::Criterion(c) => vec![c],
            Expr::Group(g) => g.parts.iter().flat_map(Expr::criteria).collect(),
        }
    }
}

fn syntax_error(raw: &str, message: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error("selector", format!("invalid selector '{raw}': {message}"))
        .with_help(GRAMMAR_HELP)
}

/// Parses a run of digits as a depth.
fn depth(raw: &str, digits: &str) -> Result<Option<usize>, Diagnostic> {
    if digits.is_empty() {
        return Ok(None);
    }
    digits
        .parse()
        .map(Some)
        .map_err(|_| syntax_error(raw, format!("the depth {digits} is too large")))
}

fn is_method_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

/// Parses one atom, e.g. `2+tag:nightly+`.
pub fn parse_atom(raw: &str, indirect: IndirectSelection) -> Result<Criterion, Diagnostic> {
    let mut rest = raw;
    let childrens_parents = rest.starts_with('@');
    if childrens_parents {
        rest = &rest[1..];
    }

    // `N+` / `+` before the value.
    let lead_digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (parents, parents_depth) = if rest[lead_digits..].starts_with('+') {
        let d = depth(raw, &rest[..lead_digits])?;
        rest = &rest[lead_digits + 1..];
        (true, d)
    } else {
        (false, None)
    };

    // `method[.arg]:` before the value.
    let mut method_text = None;
    if let Some(colon) = rest.find(':') {
        let head = &rest[..colon];
        if !head.is_empty() && head.chars().all(is_method_char) {
            method_text = Some(head);
            rest = &rest[colon + 1..];
        }
    }

    // `+` / `+N` after the value.
    let trail_digits = rest.len() - rest.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let before_digits = &rest[..rest.len() - trail_digits];
    let (children, children_depth) = if let Some(value) = before_digits.strip_suffix('+') {
        let d = depth(raw, &rest[rest.len() - trail_digits..])?;
        rest = value;
        (true, d)
    } else {
        (false, None)
    };
    let value = rest;

    if childrens_parents && children {
        return Err(Diagnostic::error(
            "selector",
            format!("invalid selector '{raw}': '@' and a trailing '+' cannot be combined"),
        )
        .with_help(
            "@x already selects x, its descendants and their ancestors; write @x or x+, not both",
        ));
    }
    if value.is_empty() {
        return Err(syntax_error(raw, "there is nothing to select"));
    }
    if value.contains('+') {
        return Err(syntax_error(
            raw,
            "'+' belongs at the start (ancestors) or the end (descendants) of a selector",
        ));
    }
    if value.contains('@') {
        return Err(syntax_error(
            raw,
            "'@' belongs at the very start of a selector",
        ));
    }

    let (method, args) = match method_text {
        None => (Method::default_for(value), vec![]),
        Some(text) => method_and_args(raw, text)?,
    };
    validate_value(raw, method, value)?;
    Ok(Criterion {
        raw: raw.to_string(),
        method,
        args,
        value: value.to_string(),
        childrens_parents,
        parents,
        parents_depth,
        children,
        children_depth,
        indirect,
    })
}

/// Splits `config.meta.owner` into the method and its arguments, checking both.
pub fn method_and_args(raw: &str, text: &str) -> Result<(Method, Vec<String>), Diagnostic> {
    let mut parts = text.split('.');
    let name = parts.next().unwrap_or_default();
    let args: Vec<String> = parts.map(ToString::to_string).collect();
    let Some(method) = Method::parse(name) else {
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
        let suggestion = names
            .iter()
            .map(|n| (levenshtein(name, n), *n))
            .filter(|(d, _)| *d <= 2)
            .min()
            .map(|(_, n)| format!("did you mean '{n}'? "))
            .unwrap_or_default();
        return Err(Diagnostic::error(
            "selector",
            format!("invalid selector '{raw}': '{name}' is not a selector method"),
        )
        .with_help(format!("{suggestion}the methods are {}", names.join(", "))));
    };
    if args.iter().any(String::is_empty) {
        return Err(syntax_error(raw, format!("'{text}' has an empty argument")));
    }
    match (method, args.is_empty()) {
        (Method::Config, true) => Err(Diagnostic::error(
            "selector",
            format!("invalid selector '{raw}': the config method needs a config key"),
        )
        .with_help(
            "name the key after a dot, e.g. config.materialized:table or config.meta.owner:alice",
        )),
        (Method::Config, false) | (_, true) => Ok((method, args)),
        (_, false) => Err(Diagnostic::error(
            "selector",
            format!(
                "invalid selector '{raw}': the {} method takes no '.{}' argument",
                method.as_str(),
                args.join(".")
            ),
        )
        .with_help(format!(
            "only config takes dotted arguments; write {}:<value>",
            method.as_str()
        ))),
    }
}

fn one_of(raw: &str, what: &str, value: &str, allowed: &[&str]) -> Result<(), Diagnostic> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(Diagnostic::error(
        "selector",
        format!("invalid selector '{raw}': '{value}' is not {what}"),
    )
    .with_help(format!("use one of {}", allowed.join(", "))))
}

/// Checks values of methods whose values form a closed set, and dotted-name shapes.
pub fn validate_value(raw: &str, method: Method, value: &str) -> Result<(), Diagnostic> {
    let dotted = |max: usize, form: &str| {
        if value.split('.').count() <= max {
            return Ok(());
        }
        Err(Diagnostic::error(
            "selector",
            format!("invalid selector '{raw}': '{value}' has too many dotted parts"),
        )
        .with_help(format!("write {form}")))
    };
    match method {
        Method::TestType => one_of(raw, "a test type", value, &TEST_TYPES),
        Method::ResourceType => one_of(raw, "a resource type", value, &RESOURCE_TYPES),
        Method::State => one_of(raw, "a state comparison", value, &STATE_VALUES),
        Method::Version => one_of(raw, "a version selector", value, &VERSION_VALUES),
        Method::Access => one_of(raw, "an access level", value, &ACCESS_VALUES),
        Method::Source => dotted(
            3,
            "source:<source>, source:<source>.<table> or source:<package>.<source>.<table>",
        ),
        Method::Exposure => dotted(2, "exposure:<name> or exposure:<package>.<name>"),
        Method::Metric | Method::SemanticModel | Method::SavedQuery => {
            dotted(2, "<method>:<name> or <method>:<package>.<name>")
        }
        Method::Result => one_of(
            raw,
            "a result status",
            value,
            &super::previous::RESULT_VALUES,
        ),
        Method::SourceStatus => one_of(
            raw,
            "a source status comparison",
            value,
            &super::previous::SOURCE_STATUS_VALUES,
        ),
        _ => Ok(()),
    }
}

/// Parses `--select` / `--exclude` values: each value is split on whitespace into a union, each
/// piece on `,` into an intersection. `warn` marks each piece to be reported when it selects
/// nothing (dbt's "does not match any enabled nodes"). `None` when the values hold no selector.
pub fn parse_cli(
    values: &[String],
    indirect: IndirectSelection,
    warn: bool,
) -> Result<Option<Expr>, Vec<Diagnostic>> {
    let mut errors = vec![];
    let mut union = vec![];
    for piece in values.iter().flat_map(|v| v.split_whitespace()) {
        let mut parts = vec![];
        for atom in piece.split(',') {
            if atom.is_empty() {
                errors.push(syntax_error(
                    piece,
                    "an intersection has an empty part (',' joins two selectors with no spaces)",
                ));
                continue;
            }
            match parse_atom(atom, indirect) {
                Ok(c) => parts.push(Expr::Criterion(c)),
                Err(d) => errors.push(d),
            }
        }
        union.push(Expr::Group(Group {
            op: SetOp::Intersection,
            parts,
            indirect,
            warn_if_empty: warn.then(|| piece.to_string()),
        }));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if union.is_empty() {
        return Ok(None);
    }
    Ok(Some(Expr::group(SetOp::Union, union, indirect)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EAGER: IndirectSelection = IndirectSelection::Eager;

    fn atom(s: &str) -> Criterion {
        match parse_atom(s, EAGER) {
            Ok(c) => c,
            Err(d) => panic!("{s}: {}", d.message),
        }
    }

    fn err(s: &str) -> String {
        match parse_atom(s, EAGER) {
            Ok(c) => panic!("{s} parsed as {c:?}"),
            Err(d) => {
                assert_eq!(d.code, "selector");
                assert!(d.help.is_some(), "{s}: no help line");
                d.message
            }
        }
    }

    #[test]
    fn bare_names_default_to_fqn_file_or_path() {
        let c = atom("orders");
        assert_eq!((c.method, c.value.as_str()), (Method::Fqn, "orders"));
        assert!(!c.has_graph_operators());
        assert_eq!(atom("orders.sql").method, Method::File);
        assert_eq!(atom("ORDERS.CSV").method, Method::File);
        assert_eq!(atom("models/staging").method, Method::Path);
        assert_eq!(atom("models\\staging").method, Method::Path);
        assert_eq!(atom("marts.finance.*").method, Method::Fqn);
        assert_eq!(atom("*").method, Method::Fqn);
    }

    #[test]
    fn graph_operators_and_depths() {
        let c = atom("+orders");
        assert!(c.parents && c.parents_depth.is_none() && !c.children);
        let c = atom("2+orders");
        assert_eq!((c.parents, c.parents_depth), (true, Some(2)));
        let c = atom("orders+");
        assert!(c.children && c.children_depth.is_none() && !c.parents);
        let c = atom("orders+3");
        assert_eq!(
            (c.children, c.children_depth, c.value.as_str()),
            (true, Some(3), "orders")
        );
        let c = atom("1+orders+1");
        assert_eq!((c.parents_depth, c.children_depth), (Some(1), Some(1)));
        let c = atom("@orders");
        assert!(c.childrens_parents && !c.parents && !c.children);
        let c = atom("+tag:nightly+");
        assert_eq!((c.method, c.value.as_str()), (Method::Tag, "nightly"));
        assert!(c.parents && c.children);
        // Digits inside the value stay in the value.
        let c = atom("orders_2024");
        assert_eq!((c.value.as_str(), c.children), ("orders_2024", false));
        let c = atom("2024_orders");
        assert_eq!((c.value.as_str(), c.parents), ("2024_orders", false));
    }

    #[test]
    fn methods_and_arguments() {
        let c = atom("config.materialized:table");
        assert_eq!(c.method, Method::Config);
        assert_eq!(c.args, vec!["materialized"]);
        assert_eq!(c.value, "table");
        let c = atom("config.meta.owner:alice");
        assert_eq!(c.args, vec!["meta", "owner"]);
        let c = atom("state:modified.body");
        assert_eq!(
            (c.method, c.value.as_str()),
            (Method::State, "modified.body")
        );
        let c = atom("source:shop.orders+");
        assert_eq!(
            (c.method, c.value.as_str(), c.children),
            (Method::Source, "shop.orders", true)
        );
        let c = atom("path:models/staging/stg_orders.sql");
        assert_eq!(c.value, "models/staging/stg_orders.sql");
        // A colon after a non-method prefix is part of the value.
        let c = atom("models/a:b");
        assert_eq!((c.method, c.value.as_str()), (Method::Path, "models/a:b"));
        let c = atom("tag:a:b");
        assert_eq!(c.value, "a:b");
        assert_eq!(atom("selector:nightly").method, Method::Selector);
        assert_eq!(atom("test_type:data").value, "data");
    }

    #[test]
    fn syntax_errors_say_what_is_wrong() {
        assert!(err("@orders+").contains("'@' and a trailing '+'"));
        assert!(err("+").contains("nothing to select"));
        assert!(err("tag:").contains("nothing to select"));
        assert!(err("3+").contains("nothing to select"));
        assert!(err("orders+customers").contains("'+' belongs"));
        assert!(err("orders++").contains("'+' belongs"));
        assert!(err("or@ders").contains("'@' belongs"));
        assert!(err("tga:nightly").contains("'tga' is not a selector method"));
        assert!(err("config:table").contains("needs a config key"));
        assert!(err("tag.x:nightly").contains("takes no '.x' argument"));
        assert!(err("config..x:y").contains("empty argument"));
        assert!(err("test_type:unique").contains("not a test type"));
        assert!(err("resource_type:modle").contains("not a resource type"));
        assert!(err("state:changed").contains("not a state comparison"));
        assert!(err("version:v2").contains("not a version selector"));
        assert!(err("source:a.b.c.d").contains("too many dotted parts"));
        assert!(err("exposure:a.b.c").contains("too many dotted parts"));
        assert!(err("result:broken").contains("'broken' is not a result status"));
        assert!(err("source_status:stale").contains("not a source status comparison"));
        assert_eq!(atom("result:error+").value, "error");
        assert_eq!(atom("source_status:fresher+").method, Method::SourceStatus);
        assert!(err("99999999999999999999999+orders").contains("too large"));
        let d = parse_atom("tga:x", EAGER)
            .err()
            .map(|d| d.help.unwrap_or_default());
        assert!(d.is_some_and(|h| h.starts_with("did you mean 'tag'?")));
    }

    #[test]
    fn spaces_union_commas_intersect() {
        let values = vec!["a,tag:x b".to_string(), "+c".to_string()];
        let Ok(Some(Expr::Group(g))) = parse_cli(&values, EAGER, true) else {
            panic!("expected a union");
        };
        assert_eq!(g.op, SetOp::Union);
        assert_eq!(g.parts.len(), 3);
        let Expr::Group(first) = &g.parts[0] else {
            panic!("expected an intersection");
        };
        assert_eq!(first.op, SetOp::Intersection);
        assert_eq!(first.parts.len(), 2);
        assert_eq!(first.warn_if_empty.as_deref(), Some("a,tag:x"));
        let all: Vec<&str> = g
            .parts
            .iter()
            .flat_map(Expr::criteria)
            .map(|c| c.raw.as_str())
            .collect();
        assert_eq!(all, vec!["a", "tag:x", "b", "+c"]);
        assert_eq!(parse_cli(&["  ".to_string()], EAGER, true), Ok(None));
        let errs = parse_cli(&["a, b".to_string(), "c,,d".to_string()], EAGER, true)
            .err()
            .unwrap_or_default();
        assert_eq!(errs.len(), 2);
        assert!(errs.iter().all(|d| d.message.contains("empty part")));
    }
}

//! Expressions: every column an expression reads, with the role it is read in.
//!
//! The match over sqlparser's `Expr` is exhaustive on purpose: a new variant in a new sqlparser
//! fails the build here instead of silently reading as "no columns".
//!
//! Roles on the way down: a function or operator makes its operands TRANSFORMATION (an
//! aggregate, AGGREGATION; a hash, masked); a CASE's operand and conditions are CONDITIONAL and
//! its results TRANSFORMATION; a window's PARTITION BY, ORDER BY and frame are WINDOW; an
//! aggregate's FILTER is FILTER and its ORDER BY or WITHIN GROUP is SORT. A subquery's own
//! dataset-level inputs (its WHERE, its joins) become inputs of the value it produces, keeping
//! their INDIRECT subtype.

use super::deps::{Deps, Role, TSet};
use super::engine::{Col, Engine, Expansion, Hit, Miss, Scope, Source};
use super::functions::{is_aggregate, is_masking, is_niladic, is_pseudo_column};
use super::model::{Subtype, UnknownKind};
use super::same_name;
use super::scope::qualifiers;
use sqlparser::ast::{
    AccessExpr, DuplicateTreatment, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArgumentClause, FunctionArguments, Ident, JsonPathElem, NamedWindowExpr, Query,
    Subscript, Value, WildcardAdditionalOptions, WindowFrameBound, WindowSpec, WindowType,
};
use sqlparser::ast::{OneOrManyWithParens, Spanned};

/// How deep named windows may refer to each other.
const WINDOW_DEPTH: usize = 8;

/// What a subquery's columns mean to the expression around it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Its value (a scalar subquery, `IN (subquery)`, `ANY (subquery)`).
    Values,
    /// Only whether it has rows (EXISTS).
    Rows,
}

impl Engine<'_> {
    /// Adds every column `expr` reads, under `role`, to `out`.
    pub(crate) fn walk(&mut self, expr: &Expr, role: Role, scope: &Scope<'_>, out: &mut Deps) {
        let t = role.then(Subtype::Transformation);
        match expr {
            Expr::Identifier(ident) => self.column(ident, role, scope, out),
            Expr::CompoundIdentifier(parts) => self.compound(parts, role, scope, out),
            Expr::CompoundFieldAccess { root, access_chain } => {
                self.walk(root, t, scope, out);
                for access in access_chain {
                    // `.field` names a field, not a column
                    if let AccessExpr::Subscript(subscript) = access {
                        self.subscript(subscript, t, scope, out);
                    }
                }
            }
            Expr::JsonAccess { value, path } => {
                self.walk(value, t, scope, out);
                for element in &path.path {
                    match element {
                        JsonPathElem::Bracket { key } | JsonPathElem::ColonBracket { key } => {
                            self.walk(key, t, scope, out);
                        }
                        JsonPathElem::Dot { .. } => {}
                    }
                }
            }
            Expr::IsFalse(e)
            | Expr::IsNotFalse(e)
            | Expr::IsTrue(e)
            | Expr::IsNotTrue(e)
            | Expr::IsNull(e)
            | Expr::IsNotNull(e)
            | Expr::IsUnknown(e)
            | Expr::IsNotUnknown(e)
            | Expr::UnaryOp { expr: e, .. }
            | Expr::Cast { expr: e, .. }
            | Expr::Extract { expr: e, .. }
            | Expr::Ceil { expr: e, .. }
            | Expr::Floor { expr: e, .. }
            | Expr::Collate { expr: e, .. }
            | Expr::IsNormalized { expr: e, .. } => self.walk(e, t, scope, out),
            Expr::IsDistinctFrom(a, b)
            | Expr::IsNotDistinctFrom(a, b)
            | Expr::BinaryOp {
                left: a, right: b, ..
            }
            | Expr::AnyOp {
                left: a, right: b, ..
            }
            | Expr::AllOp {
                left: a, right: b, ..
            }
            | Expr::Like {
                expr: a,
                pattern: b,
                ..
            }
            | Expr::ILike {
                expr: a,
                pattern: b,
                ..
            }
            | Expr::SimilarTo {
                expr: a,
                pattern: b,
                ..
            }
            | Expr::RLike {
                expr: a,
                pattern: b,
                ..
            }
            | Expr::AtTimeZone {
                timestamp: a,
                time_zone: b,
            }
            | Expr::Position { expr: a, r#in: b }
            | Expr::InUnnest {
                expr: a,
                array_expr: b,
                ..
            } => {
                self.walk(a, t, scope, out);
                self.walk(b, t, scope, out);
            }
            Expr::MemberOf(member) => {
                self.walk(&member.value, t, scope, out);
                self.walk(&member.array, t, scope, out);
            }
            Expr::InList { expr, list, .. } => {
                self.walk(expr, t, scope, out);
                self.walk_all(list, t, scope, out);
            }
            Expr::InSubquery { expr, subquery, .. } => {
                self.walk(expr, t, scope, out);
                self.subquery(subquery, t, Use::Values, scope, out);
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                self.walk(expr, t, scope, out);
                self.walk(low, t, scope, out);
                self.walk(high, t, scope, out);
            }
            Expr::Convert { expr, styles, .. } => {
                self.walk(expr, t, scope, out);
                self.walk_all(styles, t, scope, out);
            }
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                self.walk(expr, t, scope, out);
                for e in [substring_from, substring_for].into_iter().flatten() {
                    self.walk(e, t, scope, out);
                }
            }
            Expr::Trim {
                expr,
                trim_what,
                trim_characters,
                ..
            } => {
                self.walk(expr, t, scope, out);
                if let Some(what) = trim_what {
                    self.walk(what, t, scope, out);
                }
                if let Some(chars) = trim_characters {
                    self.walk_all(chars, t, scope, out);
                }
            }
            Expr::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                self.walk(expr, t, scope, out);
                self.walk(overlay_what, t, scope, out);
                self.walk(overlay_from, t, scope, out);
                if let Some(e) = overlay_for {
                    self.walk(e, t, scope, out);
                }
            }
            Expr::Nested(e)
            | Expr::Named { expr: e, .. }
            | Expr::Prefixed { value: e, .. }
            | Expr::OuterJoin(e)
            | Expr::Prior(e) => self.walk(e, role, scope, out),
            Expr::Value(_)
            | Expr::TypedString(_)
            | Expr::Wildcard(_)
            | Expr::QualifiedWildcard(..)
            | Expr::MatchAgainst { .. } => {}
            Expr::Function(function) => self.function(function, role, scope, out),
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let decides = role.then(Subtype::Conditional);
                if let Some(operand) = operand {
                    self.walk(operand, decides, scope, out);
                }
                for when in conditions {
                    self.walk(&when.condition, decides, scope, out);
                    self.walk(&when.result, t, scope, out);
                }
                if let Some(e) = else_result {
                    self.walk(e, t, scope, out);
                }
            }
            Expr::Exists { subquery, .. } => self.subquery(subquery, role, Use::Rows, scope, out),
            Expr::Subquery(subquery) => self.subquery(subquery, role, Use::Values, scope, out),
            Expr::GroupingSets(sets) | Expr::Cube(sets) | Expr::Rollup(sets) => {
                for set in sets {
                    self.walk_all(set, role, scope, out);
                }
            }
            Expr::Tuple(es) | Expr::Struct { values: es, .. } => self.walk_all(es, t, scope, out),
            Expr::Array(array) => self.walk_all(&array.elem, t, scope, out),
            Expr::Dictionary(fields) => {
                for field in fields {
                    self.walk(&field.value, t, scope, out);
                }
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    self.walk(&entry.key, t, scope, out);
                    self.walk(&entry.value, t, scope, out);
                }
            }
            Expr::Interval(interval) => self.walk(&interval.value, t, scope, out),
            Expr::Lambda(lambda) => {
                let params: Vec<&Ident> = match &lambda.params {
                    OneOrManyWithParens::One(p) => vec![&p.name],
                    OneOrManyWithParens::Many(ps) => ps.iter().map(|p| &p.name).collect(),
                };
                let depth = self.lambda.len();
                self.lambda.extend(params.iter().map(|p| p.value.clone()));
                self.walk(&lambda.body, t, scope, out);
                self.lambda.truncate(depth);
            }
        }
    }

    fn walk_all(&mut self, exprs: &[Expr], role: Role, scope: &Scope<'_>, out: &mut Deps) {
        for expr in exprs {
            self.walk(expr, role, scope, out);
        }
    }

    fn subscript(&mut self, subscript: &Subscript, role: Role, scope: &Scope<'_>, out: &mut Deps) {
        match subscript {
            Subscript::Index { index } => self.walk(index, role, scope, out),
            Subscript::Slice {
                lower_bound,
                upper_bound,
                stride,
            } => {
                for e in [lower_bound, upper_bound, stride].into_iter().flatten() {
                    self.walk(e, role, scope, out);
                }
            }
        }
    }

    /// An unqualified name.
    fn column(&mut self, ident: &Ident, role: Role, scope: &Scope<'_>, out: &mut Deps) {
        match self.resolve(&ident.value, scope) {
            Ok(hit) => self.add_hit(hit, role, out),
            Err(Miss::NotFound) => self.not_a_column(ident, role, scope, out),
            Err(miss) => self.missed(&ident.value, miss, ident.span),
        }
    }

    /// A name no column answers to: a FROM item's whole row (DuckDB: `select t from t` is a
    /// struct of t's columns), a keyword value (`current_user`), or unknown.
    fn not_a_column(&mut self, ident: &Ident, role: Role, scope: &Scope<'_>, out: &mut Deps) {
        let lower = [ident.value.to_lowercase()];
        match self.qualified(&lower, scope) {
            Ok(Some(source)) => match &source.cols {
                Some(cols) => {
                    for col in cols {
                        self.add_src(col, role.then(Subtype::Transformation), out);
                    }
                }
                None => self.missed(
                    &ident.value,
                    Miss::UnknownColumns(source.label.clone()),
                    ident.span,
                ),
            },
            Ok(None) if is_niladic(&lower[0]) || is_pseudo_column(&lower[0]) => {}
            Ok(None) => self.report_not_found(ident, scope),
            Err(miss) => self.missed(&ident.value, miss, ident.span),
        }
    }

    pub(crate) fn add_hit(&mut self, hit: Hit<'_>, role: Role, out: &mut Deps) {
        match hit {
            Hit::Source { members, step, .. } => {
                for member in members {
                    self.add_src(member, role.then(step), out);
                }
            }
            Hit::Alias(col) => {
                out.add_under(&col.deps, role);
                self.aggregate |= col.aggregate;
            }
            Hit::Lambda => {}
        }
    }

    /// `q.col`, `schema.table.col`, or `col.field` (a struct's field).
    fn compound(&mut self, parts: &[Ident], role: Role, scope: &Scope<'_>, out: &mut Deps) {
        let Some(first) = parts.first() else {
            return;
        };
        if self.lambda.iter().any(|p| same_name(p, &first.value)) {
            return;
        }
        let lower: Vec<String> = parts.iter().map(|p| p.value.to_lowercase()).collect();
        // DuckDB prefers a qualifier to a struct: the longest qualifier that names a FROM item.
        for k in (1..parts.len()).rev() {
            let source = match self.qualified(&lower[..k], scope) {
                Ok(Some(source)) => source,
                Ok(None) => continue,
                Err(miss) => {
                    self.missed(&join(parts), miss, first.span);
                    return;
                }
            };
            let column = &parts[k];
            let role = if k + 1 < parts.len() {
                role.then(Subtype::Transformation)
            } else {
                role
            };
            self.qualified_column(source, &parts[..k], column, role, out);
            return;
        }
        match self.resolve(&first.value, scope) {
            Ok(hit) => self.add_hit(hit, role.then(Subtype::Transformation), out),
            Err(Miss::NotFound) => {
                let searched: Vec<&Source> = scope.visible().map(|(_, s)| s).collect();
                self.report_unknown(
                    UnknownKind::Qualifier,
                    first,
                    None,
                    &searched,
                    qualifiers(scope),
                );
            }
            Err(miss) => self.missed(&join(parts), miss, first.span),
        }
    }

    fn qualified_column(
        &mut self,
        source: &Source,
        qualifier: &[Ident],
        column: &Ident,
        role: Role,
        out: &mut Deps,
    ) {
        if let Some(col) = source.col(&column.value) {
            self.add_src(col, role, out);
            return;
        }
        if is_pseudo_column(&column.value) {
            return;
        }
        match (&source.cols, source.relation) {
            // An upstream relation whose columns are unknown (already reported): the qualified
            // name says which relation, so the column is taken as written.
            (None, Some(rel)) => {
                let field = self.field(rel, &column.value);
                out.add(field, TSet::one(role));
            }
            (None, None) => self.missed(
                &column.value,
                Miss::UnknownColumns(source.label.clone()),
                column.span,
            ),
            (Some(cols), _) => {
                let candidates = cols.iter().map(|c| c.name.clone()).collect();
                self.report_unknown(
                    UnknownKind::Column,
                    column,
                    Some(join(qualifier)),
                    &[source],
                    candidates,
                );
            }
        }
    }

    fn function(&mut self, function: &Function, role: Role, scope: &Scope<'_>, out: &mut Deps) {
        let name = function
            .name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(|i| i.value.to_lowercase())
            .unwrap_or_default();
        if name == "columns" && function.name.0.len() == 1 {
            self.columns_call(function, role, scope, out);
            return;
        }
        let distinct = matches!(&function.args, FunctionArguments::List(list)
            if matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct)));
        let aggregate = is_aggregate(&name)
            || function.filter.is_some()
            || !function.within_group.is_empty()
            || distinct;
        if aggregate && function.over.is_none() {
            self.aggregate = true;
        }
        let step = if aggregate {
            Subtype::Aggregation
        } else {
            Subtype::Transformation
        };
        let masking = if self.options.declared_masking_only {
            self.options
                .masking_functions
                .iter()
                .any(|m| m.eq_ignore_ascii_case(&name))
        } else {
            is_masking(&name, &self.options.masking_functions)
        } || (!self.options.masked_ranges.is_empty()
            && self.position(function.name.span()).is_some_and(|at| {
                self.options
                    .masked_ranges
                    .iter()
                    .any(|r| r.contains(&at.offset))
            }));
        let inner = role.then(step).masked(masking);
        self.function_args(&function.args, inner, role, scope, out);
        self.function_args(&function.parameters, inner, role, scope, out);
        if let Some(filter) = &function.filter {
            self.walk(filter, role.then(Subtype::Filter), scope, out);
        }
        for order in &function.within_group {
            self.walk(&order.expr, role.then(Subtype::Sort), scope, out);
        }
        match &function.over {
            Some(WindowType::WindowSpec(spec)) => {
                self.window_spec(spec, role.then(Subtype::Window), scope, out, 0);
            }
            Some(WindowType::NamedWindow(name)) => {
                self.named_window(name, role.then(Subtype::Window), scope, out, 0);
            }
            None => {}
        }
    }

    fn function_args(
        &mut self,
        args: &FunctionArguments,
        inner: Role,
        role: Role,
        scope: &Scope<'_>,
        out: &mut Deps,
    ) {
        match args {
            FunctionArguments::None => {}
            FunctionArguments::Subquery(query) => {
                self.subquery(query, inner, Use::Values, scope, out);
            }
            FunctionArguments::List(list) => {
                self.function_arg_list(&list.args, inner, scope, out);
                for clause in &list.clauses {
                    match clause {
                        FunctionArgumentClause::OrderBy(orders) => {
                            for order in orders {
                                self.walk(&order.expr, role.then(Subtype::Sort), scope, out);
                            }
                        }
                        FunctionArgumentClause::Having(bound) => {
                            self.walk(&bound.1, inner, scope, out);
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// A call's arguments (named ones by value: `header = true` names no column).
    pub(crate) fn function_arg_list(
        &mut self,
        args: &[FunctionArg],
        role: Role,
        scope: &Scope<'_>,
        out: &mut Deps,
    ) {
        for arg in args {
            let (FunctionArg::Named { arg, .. }
            | FunctionArg::ExprNamed { arg, .. }
            | FunctionArg::Unnamed(arg)) = arg;
            if let FunctionArgExpr::Expr(expr) = arg {
                self.walk(expr, role, scope, out);
            }
        }
    }

    fn window_spec(
        &mut self,
        spec: &WindowSpec,
        role: Role,
        scope: &Scope<'_>,
        out: &mut Deps,
        depth: usize,
    ) {
        if let Some(base) = &spec.window_name {
            self.named_window(base, role, scope, out, depth + 1);
        }
        self.walk_all(&spec.partition_by, role, scope, out);
        for order in &spec.order_by {
            self.walk(&order.expr, role, scope, out);
        }
        if let Some(frame) = &spec.window_frame {
            for bound in std::iter::once(&frame.start_bound).chain(&frame.end_bound) {
                if let WindowFrameBound::Preceding(Some(e)) | WindowFrameBound::Following(Some(e)) =
                    bound
                {
                    self.walk(e, role, scope, out);
                }
            }
        }
    }

    /// `OVER w`: the `WINDOW w AS (...)` of the select (or of an enclosing one).
    fn named_window(
        &mut self,
        name: &Ident,
        role: Role,
        scope: &Scope<'_>,
        out: &mut Deps,
        depth: usize,
    ) {
        let mut at = Some(scope);
        let mut found = None;
        while let Some(s) = at {
            if let Some(def) = s
                .windows
                .iter()
                .find(|d| same_name(&d.0.value, &name.value))
            {
                found = Some(&def.1);
                break;
            }
            at = s.outer;
        }
        match found {
            Some(_) if depth > WINDOW_DEPTH => self.incomplete(
                format!("the window `{}` is defined in a loop", name.value),
                Some(name.span),
            ),
            Some(NamedWindowExpr::NamedWindow(other)) => {
                self.named_window(other, role, scope, out, depth + 1);
            }
            Some(NamedWindowExpr::WindowSpec(spec)) => {
                self.window_spec(spec, role, scope, out, depth + 1);
            }
            None => self.incomplete(
                format!("the window `{}` is not defined", name.value),
                Some(name.span),
            ),
        }
    }

    /// A subquery inside an expression: read in a scope of its own, with this one outside it.
    fn subquery(
        &mut self,
        query: &Query,
        role: Role,
        usage: Use,
        scope: &Scope<'_>,
        out: &mut Deps,
    ) {
        let expansion = std::mem::take(&mut self.expansion);
        let aggregate = self.aggregate;
        let sub = self.query(query, Some(scope), scope.env);
        self.expansion = expansion;
        self.aggregate = aggregate;
        if usage == Use::Values {
            for col in sub.cols.iter().flatten() {
                out.add_under(&col.deps, role);
            }
        }
        out.add_under(&sub.dataset, role);
    }

    /// `COLUMNS(...)`: in a select item, see [`Expansion`]; elsewhere, every column it matches.
    fn columns_call(&mut self, function: &Function, role: Role, scope: &Scope<'_>, out: &mut Deps) {
        match std::mem::take(&mut self.expansion) {
            Expansion::Bound(col) => {
                out.add_under(&col.deps, role);
                self.expansion = Expansion::Bound(col);
            }
            Expansion::Looking => {
                let matched = self.columns_matches(function, scope);
                for col in matched.iter().flatten() {
                    out.add_under(&col.deps, role);
                }
                self.expansion = Expansion::Found(matched);
            }
            Expansion::Found(_) | Expansion::Several => self.expansion = Expansion::Several,
            Expansion::Off => {
                for col in self.columns_matches(function, scope).iter().flatten() {
                    out.add_under(&col.deps, role);
                }
            }
        }
    }

    /// The columns a `COLUMNS(...)` matches; None (reported) when kiln cannot tell.
    fn columns_matches(&mut self, function: &Function, scope: &Scope<'_>) -> Option<Vec<Col>> {
        let span = function.name.span();
        let arg = match &function.args {
            FunctionArguments::List(list) => match list.args.as_slice() {
                [FunctionArg::Unnamed(arg)] => Some(arg),
                _ => None,
            },
            _ => None,
        };
        let all = WildcardAdditionalOptions::default();
        match arg {
            Some(FunctionArgExpr::Wildcard) => self.star(scope, None, &all),
            Some(FunctionArgExpr::WildcardWithOptions(options)) => self.star(scope, None, options),
            Some(FunctionArgExpr::QualifiedWildcard(name)) => self.star(scope, Some(name), &all),
            Some(FunctionArgExpr::Expr(Expr::Value(v))) => {
                let Value::SingleQuotedString(pattern) = &v.value else {
                    self.incomplete(format!("`{function}` is not supported"), Some(span));
                    return None;
                };
                let Ok(regex) = regex::Regex::new(pattern) else {
                    self.incomplete(
                        format!("`{function}`: kiln cannot read the regular expression"),
                        Some(span),
                    );
                    return None;
                };
                let matched: Vec<Col> = self
                    .star(scope, None, &all)?
                    .into_iter()
                    .filter(|c| regex.is_match(&c.name))
                    .collect();
                if matched.is_empty() {
                    self.incomplete(format!("`{function}` matches no column"), Some(span));
                    return None;
                }
                Some(matched)
            }
            Some(FunctionArgExpr::Expr(Expr::Array(array))) => {
                let mut cols = Vec::new();
                for element in &array.elem {
                    let name = match element {
                        Expr::Value(v) => match &v.value {
                            Value::SingleQuotedString(name) => Some(name),
                            _ => None,
                        },
                        _ => None,
                    };
                    let Some(name) = name else {
                        self.incomplete(format!("`{function}` is not supported"), Some(span));
                        return None;
                    };
                    match self.resolve(name, scope) {
                        Ok(hit) => {
                            let hit_name = match &hit {
                                Hit::Source { name, .. } => (*name).to_string(),
                                Hit::Alias(col) => col.name.clone(),
                                Hit::Lambda => name.clone(),
                            };
                            let mut deps = Deps::default();
                            self.add_hit(hit, Role::IDENTITY, &mut deps);
                            cols.push(Col::new(hit_name, deps));
                        }
                        Err(Miss::NotFound) => {
                            let ident = Ident::with_span(element.span(), name.clone());
                            self.report_not_found(&ident, scope);
                            return None;
                        }
                        Err(miss) => {
                            self.missed(name, miss, element.span());
                            return None;
                        }
                    }
                }
                Some(cols)
            }
            Some(FunctionArgExpr::Expr(Expr::Lambda(_))) => {
                self.incomplete(
                    format!(
                        "`{function}`: COLUMNS with a lambda is not supported (its columns \
                         depend on evaluating the lambda)"
                    ),
                    Some(span),
                );
                None
            }
            _ => {
                self.incomplete(format!("`{function}` is not supported"), Some(span));
                None
            }
        }
    }

    /// The name of an unaliased select item, and whether it is the printed expression.
    pub(crate) fn item_name(&self, expr: &Expr, scope: &Scope<'_>) -> (String, bool) {
        match expr {
            Expr::Identifier(ident) => match self.resolve(&ident.value, scope) {
                Ok(Hit::Source { name, .. }) => (name.to_string(), false),
                Ok(Hit::Alias(col)) => (col.name.clone(), false),
                _ => (ident.value.clone(), false),
            },
            Expr::CompoundIdentifier(parts) => match parts.split_last() {
                Some((last, qualifier)) => {
                    let lower: Vec<String> =
                        qualifier.iter().map(|p| p.value.to_lowercase()).collect();
                    let name = match self.qualified(&lower, scope) {
                        Ok(Some(source)) => source
                            .col(&last.value)
                            .map_or_else(|| last.value.clone(), |c| c.name.clone()),
                        _ => last.value.clone(),
                    };
                    (name, false)
                }
                None => (expr.to_string(), true),
            },
            Expr::Nested(inner) => self.item_name(inner, scope),
            _ => (expr.to_string(), true),
        }
    }
}

fn join(parts: &[Ident]) -> String {
    parts
        .iter()
        .map(|p| p.value.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

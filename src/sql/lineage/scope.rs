//! Queries into [`QueryOut`]s: CTEs (recursive ones to a fixpoint), set operations (by position
//! and by name), VALUES, and SELECT with its FROM (tables, CTEs, derived tables, table
//! functions, joins with ON, USING and NATURAL), its select list (`*` and `t.*` with EXCLUDE,
//! REPLACE, ILIKE, RENAME; `COLUMNS(...)`; lateral column aliases) and its clauses (WHERE,
//! GROUP BY [ALL], HAVING, QUALIFY, DISTINCT ON, ORDER BY [ALL]).

use super::deps::{Deps, Role, TSet};
use super::engine::{
    Aliases, Col, CteEnv, CteNode, Engine, Expansion, Merged, Miss, Qualifier, QueryOut, Scope,
    Source, SrcCol, SrcDeps, Unit,
};
use super::functions::generator_column;
use super::model::{Subtype, UnknownKind};
use super::same_name;
use super::schema::{Lookup, RelationName, table_function_key};
use sqlparser::ast::{
    Cte, Distinct, Expr, GroupByExpr, GroupByWithModifier, Ident, JoinConstraint, JoinOperator,
    ObjectName, OrderBy, OrderByKind, Query, Select, SelectFlavor, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, SetOperator, SetQuantifier, Spanned, TableAlias,
    TableFactor, TableWithJoins, Value, Values, WildcardAdditionalOptions,
};
use sqlparser::tokenizer::Span;
use std::rc::Rc;

/// Rounds a recursive CTE is read at most before its columns must have stopped changing (each
/// round can only add dependencies, and a query has few).
const RECURSION_ROUNDS: usize = 16;

/// A FROM clause being read.
struct FromClause<'x> {
    sources: &'x mut Vec<Source>,
    merged: &'x mut Vec<Merged>,
    dataset: &'x mut Deps,
}

impl Engine<'_> {
    /// A query: its CTEs, then its body.
    pub(crate) fn query(
        &mut self,
        query: &Query,
        outer: Option<&Scope<'_>>,
        env: &CteEnv,
    ) -> QueryOut {
        let mut env = env.clone();
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                env = Some(self.define_cte(cte, with.recursive, outer, env));
            }
        }
        if let Some(first) = query.pipe_operators.first() {
            self.incomplete(
                format!("pipe operators (`|> {first}`) are not supported"),
                None,
            );
        }
        self.set_expr(&query.body, outer, &env, query.order_by.as_ref())
    }

    /// Reads a CTE (in a unit of its own) and returns the CTE list with it.
    fn define_cte(
        &mut self,
        cte: &Cte,
        recursive: bool,
        outer: Option<&Scope<'_>>,
        parent: CteEnv,
    ) -> Rc<CteNode> {
        let id = self.cte_results.len();
        self.cte_results.push(None);
        self.cte_units.push(None);
        let node = Rc::new(CteNode {
            name: cte.alias.name.value.clone(),
            id,
            parent: parent.clone(),
        });
        self.units.push(Unit::default());
        let out = if recursive {
            let env = Some(node.clone());
            match (&cte.query.with, cte.query.body.as_ref()) {
                (None, SetExpr::SetOperation { left, .. }) => {
                    // The anchor first: it gives the columns the recursive branch reads; then
                    // the whole union until the columns' dependencies stop growing.
                    let anchor = self.set_expr(left, outer, &env, None);
                    let mut current = self.renamed(anchor, &cte.alias);
                    for _ in 0..RECURSION_ROUNDS {
                        self.cte_results[id] = Some(Rc::new(current.clone()));
                        let next = self.query(&cte.query, outer, &env);
                        let next = self.renamed(next, &cte.alias);
                        if next == current {
                            break;
                        }
                        current = next;
                    }
                    current
                }
                _ => {
                    let out = self.query(&cte.query, outer, &env);
                    self.renamed(out, &cte.alias)
                }
            }
        } else {
            let out = self.query(&cte.query, outer, &parent);
            self.renamed(out, &cte.alias)
        };
        self.cte_results[id] = Some(Rc::new(out));
        self.cte_units[id] = self.units.pop();
        node
    }

    /// `out` with its columns renamed by an alias's column list (`cte(a, b)`, `t(a, b)`).
    fn renamed(&mut self, mut out: QueryOut, alias: &TableAlias) -> QueryOut {
        if let Some(cols) = &mut out.cols
            && !self.rename(cols.iter_mut().map(|c| &mut c.name), alias)
        {
            out.cols = None;
        }
        out
    }

    /// Renames by `alias`'s column list; false (and reported) when it names more columns than
    /// there are.
    fn rename<'n>(
        &mut self,
        names: impl ExactSizeIterator<Item = &'n mut String>,
        alias: &TableAlias,
    ) -> bool {
        let count = names.len();
        if alias.columns.len() > count {
            self.incomplete(
                format!(
                    "`{}` names {} columns, but it has {count}",
                    alias.name.value,
                    alias.columns.len()
                ),
                Some(alias.name.span),
            );
            return false;
        }
        for (name, column) in names.zip(&alias.columns) {
            *name = column.name.value.clone();
        }
        true
    }

    fn set_expr(
        &mut self,
        body: &SetExpr,
        outer: Option<&Scope<'_>>,
        env: &CteEnv,
        order_by: Option<&OrderBy>,
    ) -> QueryOut {
        let out = match body {
            SetExpr::Select(select) => return self.select(select, outer, env, order_by),
            SetExpr::Query(query) => self.query(query, outer, env),
            SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => self.set_operation(left, *op, *set_quantifier, right, outer, env),
            SetExpr::Values(values) => self.values(values, outer, env),
            SetExpr::Table(table) => {
                self.incomplete(format!("`{table}` is not supported"), None);
                QueryOut::default()
            }
            other => {
                self.incomplete(
                    format!("a statement (`{}`) is not a query", first_words(other)),
                    None,
                );
                QueryOut::default()
            }
        };
        self.order_output(out, order_by, outer, env)
    }

    /// ORDER BY over a query that is not a SELECT: by output name or position.
    fn order_output(
        &mut self,
        mut out: QueryOut,
        order_by: Option<&OrderBy>,
        outer: Option<&Scope<'_>>,
        env: &CteEnv,
    ) -> QueryOut {
        let (Some(order_by), Some(cols)) = (order_by, &out.cols) else {
            return out;
        };
        let mut dataset = std::mem::take(&mut out.dataset);
        let scope = Scope {
            items: cols,
            aliases: Aliases::First,
            ..Scope::empty(env, outer)
        };
        self.order_by(order_by, &scope, &mut dataset);
        out.dataset = dataset;
        out
    }

    fn set_operation(
        &mut self,
        left: &SetExpr,
        op: SetOperator,
        quantifier: SetQuantifier,
        right: &SetExpr,
        outer: Option<&Scope<'_>>,
        env: &CteEnv,
    ) -> QueryOut {
        let left = self.set_expr(left, outer, env, None);
        let right = self.set_expr(right, outer, env, None);
        let mut dataset = left.dataset;
        dataset.extend(&right.dataset);
        let (Some(mut cols), Some(right)) = (left.cols, right.cols) else {
            return QueryOut {
                cols: None,
                dataset,
            };
        };
        let by_name = matches!(
            quantifier,
            SetQuantifier::ByName | SetQuantifier::AllByName | SetQuantifier::DistinctByName
        );
        if by_name {
            // DuckDB: the left branch's columns, then the right's that the left lacks.
            for col in right {
                match cols.iter_mut().find(|c| same_name(&c.name, &col.name)) {
                    Some(same) => merge_into(same, &col.deps),
                    None => cols.push(Col {
                        aggregate: false,
                        ..col
                    }),
                }
            }
        } else if cols.len() != right.len() {
            self.incomplete(
                format!(
                    "the two sides of {op} have {} and {} columns",
                    cols.len(),
                    right.len()
                ),
                None,
            );
            return QueryOut {
                cols: None,
                dataset,
            };
        } else if matches!(op, SetOperator::Except | SetOperator::Minus) {
            // The right side only removes rows.
            for col in &right {
                dataset.add_under(&col.deps, Role::of(Subtype::Filter));
            }
        } else {
            for (col, other) in cols.iter_mut().zip(&right) {
                merge_into(col, &other.deps);
            }
        }
        for col in &mut cols {
            col.aggregate = false;
        }
        QueryOut {
            cols: Some(cols),
            dataset,
        }
    }

    /// VALUES: columns `col0`, `col1`, ... (DuckDB's names).
    fn values(&mut self, values: &Values, outer: Option<&Scope<'_>>, env: &CteEnv) -> QueryOut {
        let scope = Scope::empty(env, outer);
        let width = values.rows.first().map_or(0, |row| row.content.len());
        let mut cols: Vec<Deps> = vec![Deps::default(); width];
        for row in &values.rows {
            for (deps, expr) in cols.iter_mut().zip(&row.content) {
                self.walk(expr, Role::IDENTITY, &scope, deps);
            }
        }
        QueryOut {
            cols: Some(
                cols.into_iter()
                    .enumerate()
                    .map(|(i, deps)| Col::new(format!("col{i}"), deps))
                    .collect(),
            ),
            dataset: Deps::default(),
        }
    }

    fn select(
        &mut self,
        select: &Select,
        outer: Option<&Scope<'_>>,
        env: &CteEnv,
        order_by: Option<&OrderBy>,
    ) -> QueryOut {
        let mut sources = Vec::new();
        let mut merged = Vec::new();
        let mut dataset = Deps::default();
        for from in &select.from {
            let mut into = FromClause {
                sources: &mut sources,
                merged: &mut merged,
                dataset: &mut dataset,
            };
            self.table_with_joins(from, &mut into, outer, env);
        }
        if !select.lateral_views.is_empty() || !select.connect_by.is_empty() {
            self.incomplete(
                "LATERAL VIEW and CONNECT BY are not supported",
                Some(select.select_token.0.span),
            );
        }

        // `FROM t` alone selects everything.
        let star_only = [SelectItem::Wildcard(WildcardAdditionalOptions::default())];
        let projection = if select.projection.is_empty()
            && matches!(select.flavor, SelectFlavor::FromFirstNoSelect)
        {
            &star_only[..]
        } else {
            &select.projection[..]
        };
        let mut items: Vec<Col> = Vec::new();
        let mut known = true;
        for item in projection {
            let scope = Scope {
                sources: &sources,
                merged: &merged,
                items: &items,
                aliases: Aliases::Before(items.len()),
                windows: &select.named_window,
                env,
                outer,
            };
            match self.select_item(item, &scope) {
                Some(cols) => items.extend(cols),
                None => known = false,
            }
        }
        if let Some(exclude) = &select.exclude {
            let names = exclude_names(exclude);
            items.retain(|c| !names.iter().any(|n| same_name(&n.value, &c.name)));
        }

        let scope = Scope {
            sources: &sources,
            merged: &merged,
            items: &items,
            aliases: Aliases::All,
            windows: &select.named_window,
            env,
            outer,
        };
        for filter in [
            &select.prewhere,
            &select.selection,
            &select.having,
            &select.qualify,
        ]
        .into_iter()
        .flatten()
        {
            self.walk(filter, Role::of(Subtype::Filter), &scope, &mut dataset);
        }
        self.group_by(&select.group_by, &scope, &mut dataset);
        if let Some(Distinct::On(exprs)) = &select.distinct {
            for expr in exprs {
                self.walk(expr, Role::of(Subtype::GroupBy), &scope, &mut dataset);
            }
        }
        if let Some(order_by) = order_by {
            let scope = Scope {
                aliases: Aliases::First,
                ..scope
            };
            self.order_by(order_by, &scope, &mut dataset);
        }
        QueryOut {
            cols: known.then_some(items),
            dataset,
        }
    }

    /// One select item's columns; None when they cannot be known (already reported).
    fn select_item(&mut self, item: &SelectItem, scope: &Scope<'_>) -> Option<Vec<Col>> {
        match item {
            SelectItem::Wildcard(options) => self.star(scope, None, options),
            SelectItem::QualifiedWildcard(kind, options) => match kind {
                SelectItemQualifiedWildcardKind::ObjectName(name) => {
                    self.star(scope, Some(name), options)
                }
                SelectItemQualifiedWildcardKind::Expr(expr) => {
                    self.incomplete(
                        format!("`{expr}.*` (the fields of a value) is not supported"),
                        Some(expr.span()),
                    );
                    None
                }
            },
            SelectItem::UnnamedExpr(expr) => self.expr_item(expr, None, scope),
            SelectItem::ExprWithAlias { expr, alias } => self.expr_item(expr, Some(alias), scope),
            SelectItem::ExprWithAliases { expr, .. } => {
                self.incomplete(
                    "a select item with several aliases is not supported",
                    Some(expr.span()),
                );
                None
            }
        }
    }

    /// An expression select item: one column, or one per column a `COLUMNS(...)` in it matches.
    fn expr_item(
        &mut self,
        expr: &Expr,
        alias: Option<&Ident>,
        scope: &Scope<'_>,
    ) -> Option<Vec<Col>> {
        self.aggregate = false;
        self.expansion = Expansion::Looking;
        let mut deps = Deps::default();
        self.walk(expr, Role::IDENTITY, scope, &mut deps);
        match std::mem::take(&mut self.expansion) {
            Expansion::Found(None) => None,
            Expansion::Several => {
                self.incomplete(
                    "more than one COLUMNS(...) in a select item is not supported",
                    Some(expr.span()),
                );
                None
            }
            Expansion::Found(Some(matched)) => {
                // DuckDB names each expansion after its column, even inside an expression.
                let mut cols = Vec::with_capacity(matched.len());
                for col in matched {
                    let name = alias.map_or_else(|| col.name.clone(), |a| a.value.clone());
                    self.aggregate = false;
                    self.expansion = Expansion::Bound(col);
                    let mut deps = Deps::default();
                    self.walk(expr, Role::IDENTITY, scope, &mut deps);
                    cols.push(Col {
                        name,
                        deps: Rc::new(deps),
                        named_by_expression: false,
                        aggregate: self.aggregate,
                    });
                }
                self.expansion = Expansion::Off;
                Some(cols)
            }
            Expansion::Off | Expansion::Looking | Expansion::Bound(_) => {
                let (name, named_by_expression) = match alias {
                    Some(alias) => (alias.value.clone(), false),
                    None => self.item_name(expr, scope),
                };
                Some(vec![Col {
                    name,
                    deps: Rc::new(deps),
                    named_by_expression,
                    aggregate: self.aggregate,
                }])
            }
        }
    }

    /// `*` or `qualifier.*` with its options; None when the columns cannot be known.
    pub(crate) fn star(
        &mut self,
        scope: &Scope<'_>,
        qualifier: Option<&ObjectName>,
        options: &WildcardAdditionalOptions,
    ) -> Option<Vec<Col>> {
        let span = options.wildcard_token.0.span;
        let mut cols: Vec<Col> = Vec::new();
        match qualifier {
            Some(name) => {
                let wanted = lower_parts(name)?;
                let source = match self.qualified(&wanted, scope) {
                    Ok(Some(source)) => source,
                    Ok(None) => {
                        let first = name.0.first().and_then(|p| p.as_ident());
                        // `s.*` of a struct column: its fields are not in the schema.
                        if let Some(first) = first
                            && self.resolve(&first.value, scope).is_ok()
                        {
                            self.incomplete(
                                format!("`{name}.*` expands a struct, whose fields are unknown"),
                                Some(span),
                            );
                            return None;
                        }
                        if let Some(first) = first {
                            let candidates = qualifiers(scope);
                            let searched: Vec<&Source> = scope.visible().map(|(_, s)| s).collect();
                            self.report_unknown(
                                UnknownKind::Qualifier,
                                first,
                                None,
                                &searched,
                                candidates,
                            );
                        }
                        return None;
                    }
                    Err(miss) => {
                        self.missed(&name.to_string(), miss, span);
                        return None;
                    }
                };
                let Some(source_cols) = &source.cols else {
                    self.incomplete(
                        format!(
                            "`{name}.*` reads {}, whose columns are unknown",
                            source.label
                        ),
                        Some(span),
                    );
                    return None;
                };
                for col in source_cols {
                    let deps = self.src_deps(col);
                    cols.push(Col::new(col.name.clone(), deps));
                }
            }
            None => {
                if scope.sources.is_empty() {
                    self.incomplete("`*` without a FROM clause", Some(span));
                    return None;
                }
                for (i, source) in scope.visible() {
                    let Some(source_cols) = &source.cols else {
                        self.incomplete(
                            format!("`*` reads {}, whose columns are unknown", source.label),
                            Some(span),
                        );
                        return None;
                    };
                    for col in source_cols {
                        let merge = scope
                            .merged
                            .iter()
                            .find(|m| m.members.contains(&i) && same_name(&m.name, &col.name));
                        let deps = match merge {
                            // A USING column appears once, where its first side has it.
                            Some(m) if m.members.first() != Some(&i) => continue,
                            Some(m) => {
                                let step = if m.full {
                                    Subtype::Transformation
                                } else {
                                    Subtype::Identity
                                };
                                let mut deps = Deps::default();
                                for &member in &m.members {
                                    if let Some(c) = scope.sources[member].col(&col.name) {
                                        self.add_src(c, Role::of(step), &mut deps);
                                    }
                                }
                                deps
                            }
                            None => self.src_deps(col),
                        };
                        cols.push(Col::new(col.name.clone(), deps));
                    }
                }
            }
        }
        self.star_options(cols, options, scope)
    }

    fn star_options(
        &mut self,
        mut cols: Vec<Col>,
        options: &WildcardAdditionalOptions,
        scope: &Scope<'_>,
    ) -> Option<Vec<Col>> {
        if let Some(ilike) = &options.opt_ilike {
            cols.retain(|c| like(&ilike.pattern.to_lowercase(), &c.name.to_lowercase()));
        }
        let mut excluded: Vec<&Ident> = Vec::new();
        if let Some(exclude) = &options.opt_exclude {
            excluded.extend(exclude_names(exclude));
        }
        if let Some(except) = &options.opt_except {
            excluded.push(&except.first_element);
            excluded.extend(&except.additional_elements);
        }
        for name in excluded {
            let before = cols.len();
            cols.retain(|c| !same_name(&c.name, &name.value));
            if cols.len() == before {
                self.report_star_miss(name, &cols, scope);
            }
        }
        if let Some(replace) = &options.opt_replace {
            for element in &replace.items {
                let Some(at) = cols
                    .iter()
                    .position(|c| same_name(&c.name, &element.column_name.value))
                else {
                    self.report_star_miss(&element.column_name, &cols, scope);
                    continue;
                };
                let mut deps = Deps::default();
                self.walk(&element.expr, Role::IDENTITY, scope, &mut deps);
                cols[at].deps = Rc::new(deps);
            }
        }
        if let Some(rename) = &options.opt_rename {
            let pairs = match rename {
                sqlparser::ast::RenameSelectItem::Single(one) => std::slice::from_ref(one),
                sqlparser::ast::RenameSelectItem::Multiple(many) => &many[..],
            };
            for pair in pairs {
                match cols
                    .iter_mut()
                    .find(|c| same_name(&c.name, &pair.ident.value))
                {
                    Some(col) => col.name = pair.alias.value.clone(),
                    None => self.report_star_miss(&pair.ident, &[], scope),
                }
            }
        }
        if let Some(alias) = &options.opt_alias {
            self.incomplete("`* AS alias` is not supported", Some(alias.span));
            return None;
        }
        Some(cols)
    }

    /// A column an EXCLUDE/REPLACE/RENAME names that the `*` does not have.
    fn report_star_miss(&mut self, name: &Ident, cols: &[Col], scope: &Scope<'_>) {
        let searched: Vec<&Source> = scope.visible().map(|(_, s)| s).collect();
        let candidates = cols.iter().map(|c| c.name.clone()).collect();
        self.report_unknown(UnknownKind::Column, name, None, &searched, candidates);
    }

    fn group_by(&mut self, group_by: &GroupByExpr, scope: &Scope<'_>, dataset: &mut Deps) {
        let role = Role::of(Subtype::GroupBy);
        let modifiers = match group_by {
            GroupByExpr::All(modifiers) => {
                // DuckDB: every select item that does not aggregate.
                for item in scope.items.iter().filter(|c| !c.aggregate) {
                    dataset.add_under(&item.deps, role);
                }
                modifiers
            }
            GroupByExpr::Expressions(exprs, modifiers) => {
                for expr in exprs {
                    self.ordinal_or_expr(expr, role, scope, dataset);
                }
                modifiers
            }
        };
        for modifier in modifiers {
            if let GroupByWithModifier::GroupingSets(expr) = modifier {
                self.walk(expr, role, scope, dataset);
            }
        }
    }

    fn order_by(&mut self, order_by: &OrderBy, scope: &Scope<'_>, dataset: &mut Deps) {
        let role = Role::of(Subtype::Sort);
        match &order_by.kind {
            OrderByKind::All(_) => {
                for item in scope.items {
                    dataset.add_under(&item.deps, role);
                }
            }
            OrderByKind::Expressions(exprs) => {
                for expr in exprs {
                    self.ordinal_or_expr(&expr.expr, role, scope, dataset);
                }
            }
        }
    }

    /// `GROUP BY 2` / `ORDER BY 2` mean the second select item; anything else is an expression.
    fn ordinal_or_expr(&mut self, expr: &Expr, role: Role, scope: &Scope<'_>, out: &mut Deps) {
        let Some(n) = ordinal(expr) else {
            self.walk(expr, role, scope, out);
            return;
        };
        match n.checked_sub(1).and_then(|i| scope.items.get(i)) {
            Some(item) => out.add_under(&item.deps, role),
            None => self.incomplete(
                format!(
                    "position {n} is past the {} select items",
                    scope.items.len()
                ),
                Some(expr.span()),
            ),
        }
    }

    fn table_with_joins(
        &mut self,
        from: &TableWithJoins,
        into: &mut FromClause<'_>,
        outer: Option<&Scope<'_>>,
        env: &CteEnv,
    ) {
        let start = into.sources.len();
        self.table_factor(&from.relation, into, outer, env);
        for join in &from.joins {
            let left = start..into.sources.len();
            let (constraint, hide_right, full, condition) = match &join.join_operator {
                JoinOperator::FullOuter(c) => (Some(c), false, true, None),
                JoinOperator::Semi(c)
                | JoinOperator::LeftSemi(c)
                | JoinOperator::Anti(c)
                | JoinOperator::LeftAnti(c) => (Some(c), true, false, None),
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::CrossJoin(c)
                | JoinOperator::RightSemi(c)
                | JoinOperator::RightAnti(c)
                | JoinOperator::StraightJoin(c) => (Some(c), false, false, None),
                JoinOperator::AsOf {
                    match_condition,
                    constraint,
                } => (Some(constraint), false, false, Some(match_condition)),
                JoinOperator::CrossApply | JoinOperator::OuterApply => (None, false, false, None),
                other => {
                    let kind = format!("{other:?}");
                    self.incomplete(
                        format!("the join kind {kind} is not supported"),
                        Some(join.relation.span()),
                    );
                    (None, false, false, None)
                }
            };
            self.table_factor(&join.relation, into, outer, env);
            let right = left.end..into.sources.len();
            let join_role = Role::of(Subtype::Join);
            let on = [
                condition,
                match constraint {
                    Some(JoinConstraint::On(on)) => Some(on),
                    _ => None,
                },
            ];
            for expr in on.into_iter().flatten() {
                let scope = Scope {
                    sources: into.sources,
                    merged: into.merged,
                    ..Scope::empty(env, outer)
                };
                self.walk(expr, join_role, &scope, into.dataset);
            }
            match constraint {
                Some(JoinConstraint::Using(names)) => {
                    for name in names {
                        let Some(ident) = name.0.last().and_then(|p| p.as_ident()) else {
                            continue;
                        };
                        self.using(ident, left.clone(), right.clone(), full, !hide_right, into);
                    }
                }
                Some(JoinConstraint::Natural) => {
                    let span = join.relation.span();
                    self.natural(left.clone(), right.clone(), full, !hide_right, into, span);
                }
                _ => {}
            }
            if hide_right {
                for source in &mut into.sources[right] {
                    source.hidden = true;
                }
            }
        }
    }

    /// `USING (name)`: the column of each side, merged into one (unless the right side is a
    /// SEMI or ANTI join's, which only the condition sees).
    fn using(
        &mut self,
        ident: &Ident,
        left: std::ops::Range<usize>,
        right: std::ops::Range<usize>,
        full: bool,
        merge: bool,
        into: &mut FromClause<'_>,
    ) {
        let name = &ident.value;
        let group = into
            .merged
            .iter()
            .position(|m| same_name(&m.name, name) && m.members.iter().all(|i| left.contains(i)));
        let side = |range: std::ops::Range<usize>, sources: &[Source]| -> Vec<usize> {
            range
                .filter(|&i| !sources[i].hidden && sources[i].col(name).is_some())
                .collect()
        };
        let left_hits = if group.is_some() {
            Vec::new()
        } else {
            side(left.clone(), into.sources)
        };
        let right_hits = side(right.clone(), into.sources);
        let mut ok = true;
        for (range, hits, has_group) in [
            (left, &left_hits, group.is_some()),
            (right, &right_hits, false),
        ] {
            if has_group || hits.len() == 1 {
                continue;
            }
            ok = false;
            let searched: Vec<&Source> = into.sources[range].iter().collect();
            if hits.len() > 1 {
                let labels: Vec<String> = hits
                    .iter()
                    .map(|&i| into.sources[i].label.clone())
                    .collect();
                self.missed(name, Miss::Ambiguous(labels), ident.span);
            } else if let Some(unknown) = searched.iter().find(|s| s.cols.is_none()) {
                self.missed(
                    name,
                    Miss::UnknownColumns(unknown.label.clone()),
                    ident.span,
                );
            } else {
                let candidates = searched
                    .iter()
                    .flat_map(|s| s.cols.iter().flatten().map(|c| c.name.clone()))
                    .collect();
                self.report_unknown(UnknownKind::Column, ident, None, &searched, candidates);
            }
        }
        if !ok {
            return;
        }
        let members: Vec<usize> = match group {
            Some(g) => into.merged[g].members.clone(),
            None => left_hits.clone(),
        };
        for &i in members.iter().chain(&right_hits) {
            if let Some(col) = into.sources[i].col(name) {
                let col = col.clone();
                self.add_src(&col, Role::of(Subtype::Join), into.dataset);
            }
        }
        if !merge {
            return;
        }
        match group {
            Some(g) => {
                into.merged[g].members.extend(right_hits);
                into.merged[g].full |= full;
            }
            None => {
                let first = members.first().and_then(|&i| into.sources[i].col(name));
                into.merged.push(Merged {
                    name: first.map_or_else(|| name.clone(), |c| c.name.clone()),
                    members: members.into_iter().chain(right_hits).collect(),
                    full,
                });
            }
        }
    }

    /// NATURAL: USING every column name both sides have.
    fn natural(
        &mut self,
        left: std::ops::Range<usize>,
        right: std::ops::Range<usize>,
        full: bool,
        merge: bool,
        into: &mut FromClause<'_>,
        span: Span,
    ) {
        let mut names: Vec<Ident> = Vec::new();
        for i in right.clone() {
            let Some(cols) = &into.sources[i].cols else {
                let label = into.sources[i].label.clone();
                self.incomplete(
                    format!("a NATURAL join with {label}, whose columns are unknown"),
                    Some(span),
                );
                return;
            };
            for col in cols {
                let on_left = left.clone().any(|j| {
                    let source = &into.sources[j];
                    !source.hidden && source.col(&col.name).is_some()
                });
                if on_left && !names.iter().any(|n| same_name(&n.value, &col.name)) {
                    names.push(Ident::new(col.name.clone()));
                }
            }
        }
        if let Some(unknown) = left.clone().find(|&j| into.sources[j].cols.is_none()) {
            let label = into.sources[unknown].label.clone();
            self.incomplete(
                format!("a NATURAL join with {label}, whose columns are unknown"),
                Some(span),
            );
            return;
        }
        for name in names {
            self.using(&name, left.clone(), right.clone(), full, merge, into);
        }
    }

    fn table_factor(
        &mut self,
        factor: &TableFactor,
        into: &mut FromClause<'_>,
        outer: Option<&Scope<'_>>,
        env: &CteEnv,
    ) {
        let source = match factor {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } if table_function_key(factor).is_none() => {
                self.named_table(name, alias.as_ref(), into, env)
            }
            TableFactor::Table { .. }
            | TableFactor::Function { .. }
            | TableFactor::TableFunction { .. } => self.table_function(factor, into, outer, env),
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                // Lateral: the subquery sees the FROM items before it.
                let out = {
                    let scope = Scope {
                        sources: into.sources,
                        merged: into.merged,
                        ..Scope::empty(env, outer)
                    };
                    self.query(subquery, Some(&scope), env)
                };
                into.dataset.extend(&out.dataset);
                let source = Source {
                    qualifier: alias.as_ref().map_or(Qualifier::None, |a| {
                        Qualifier::Alias(a.name.value.to_lowercase())
                    }),
                    label: alias.as_ref().map_or_else(
                        || "a subquery".to_string(),
                        |a| format!("`{}`", a.name.value),
                    ),
                    relation: None,
                    cols: out.cols.map(computed),
                    hidden: false,
                };
                self.aliased(source, alias.as_ref())
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                if let Some(alias) = alias {
                    self.incomplete(
                        "an alias on a parenthesised join is not supported",
                        Some(alias.name.span),
                    );
                }
                self.table_with_joins(table_with_joins, into, outer, env);
                return;
            }
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset,
                with_ordinality,
                ..
            } => {
                let mut cols = Vec::new();
                {
                    let scope = Scope {
                        sources: into.sources,
                        merged: into.merged,
                        ..Scope::empty(env, outer)
                    };
                    for expr in array_exprs {
                        let mut deps = Deps::default();
                        self.walk(expr, Role::of(Subtype::Transformation), &scope, &mut deps);
                        cols.push(SrcCol {
                            name: "unnest".to_string(),
                            deps: SrcDeps::Computed(Rc::new(deps)),
                        });
                    }
                }
                for (flag, name) in [(with_offset, "offset"), (with_ordinality, "ordinality")] {
                    if *flag {
                        cols.push(SrcCol {
                            name: name.to_string(),
                            deps: SrcDeps::Computed(Rc::new(Deps::default())),
                        });
                    }
                }
                let source = Source {
                    qualifier: alias.as_ref().map_or(Qualifier::None, |a| {
                        Qualifier::Alias(a.name.value.to_lowercase())
                    }),
                    label: "UNNEST(...)".to_string(),
                    relation: None,
                    cols: Some(cols),
                    hidden: false,
                };
                self.aliased(source, alias.as_ref())
            }
            other => {
                let what = first_words(other);
                self.incomplete(
                    format!("`{what}` in a FROM clause is not supported"),
                    Some(other.span()),
                );
                Source {
                    qualifier: Qualifier::None,
                    label: format!("`{what}`"),
                    relation: None,
                    cols: None,
                    hidden: false,
                }
            }
        };
        into.sources.push(source);
    }

    /// A FROM item named by a name: a CTE, or an upstream relation.
    fn named_table(
        &mut self,
        name: &ObjectName,
        alias: Option<&TableAlias>,
        into: &mut FromClause<'_>,
        env: &CteEnv,
    ) -> Source {
        let span = name.span();
        let parts: Vec<&str> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident())
            .map(|i| i.value.as_str())
            .collect();
        let qualifier = match alias {
            Some(alias) => Qualifier::Alias(alias.name.value.to_lowercase()),
            None => Qualifier::Name(parts.iter().map(|p| p.to_lowercase()).collect()),
        };
        let label = match alias {
            Some(alias) => format!("`{}`", alias.name.value),
            None => format!("`{name}`"),
        };
        if let [one] = parts.as_slice()
            && let Some(id) = find_cte(env, one)
        {
            self.uses_cte(id);
            let cols = match self.cte_results[id].clone() {
                Some(out) => {
                    into.dataset.extend(&out.dataset);
                    out.cols.clone().map(computed)
                }
                None => {
                    self.incomplete(
                        format!("the recursive CTE `{one}` reads itself in its first branch"),
                        Some(span),
                    );
                    None
                }
            };
            let source = Source {
                qualifier,
                label,
                relation: None,
                cols,
                hidden: false,
            };
            return self.aliased(source, alias);
        }
        if parts.len() != name.0.len() {
            self.incomplete(
                format!("the relation name `{name}` is not supported"),
                Some(span),
            );
            return Source {
                qualifier,
                label,
                relation: None,
                cols: None,
                hidden: false,
            };
        }
        let mut qualifier = qualifier;
        let (relation, cols) = match self.schema.relation(&parts) {
            Lookup::Found(relation, columns) => {
                // Qualified by any suffix of its full name (DuckDB binds `main.t.x` and
                // `db.main.t.x` to `FROM t`).
                if alias.is_none() {
                    qualifier = Qualifier::Name(
                        relation.parts().iter().map(|p| p.to_lowercase()).collect(),
                    );
                }
                let id = self.relation_id(relation);
                let cols = columns
                    .iter()
                    .map(|c| SrcCol {
                        name: c.name.clone(),
                        deps: SrcDeps::Base(id),
                    })
                    .collect();
                (Some(id), Some(cols))
            }
            Lookup::Missing => {
                self.incomplete(format!("the columns of `{name}` are not known"), Some(span));
                (Some(self.relation_id(&RelationName::new(parts))), None)
            }
            Lookup::Ambiguous(candidates) => {
                let names: Vec<String> = candidates.iter().map(ToString::to_string).collect();
                self.incomplete(
                    format!("`{name}` may be any of {}", names.join(", ")),
                    Some(span),
                );
                (None, None)
            }
        };
        let source = Source {
            qualifier,
            label,
            relation,
            cols,
            hidden: false,
        };
        self.aliased(source, alias)
    }

    /// A table function: one the schema knows (a source's `external_location`), a generator
    /// (`range`, `generate_series`, `unnest`), or one whose columns are unknown.
    fn table_function(
        &mut self,
        factor: &TableFactor,
        into: &mut FromClause<'_>,
        outer: Option<&Scope<'_>>,
        env: &CteEnv,
    ) -> Source {
        let (name, alias) = match factor {
            TableFactor::Table { name, alias, .. } | TableFactor::Function { name, alias, .. } => {
                (Some(name), alias.as_ref())
            }
            TableFactor::TableFunction { alias, .. } => (None, alias.as_ref()),
            _ => (None, None),
        };
        let key = table_function_key(factor).unwrap_or_default();
        let qualifier = match (alias, name) {
            (Some(alias), _) => Qualifier::Alias(alias.name.value.to_lowercase()),
            (None, Some(name)) => Qualifier::Name(lower_parts(name).unwrap_or_default()),
            (None, None) => Qualifier::None,
        };
        let label = match alias {
            Some(alias) => format!("`{}`", alias.name.value),
            None => format!("`{key}`"),
        };
        if let Lookup::Found(relation, columns) = self.schema.table_function(&key) {
            let id = self.relation_id(relation);
            let cols = columns
                .iter()
                .map(|c| SrcCol {
                    name: c.name.clone(),
                    deps: SrcDeps::Base(id),
                })
                .collect();
            let source = Source {
                qualifier,
                label,
                relation: Some(id),
                cols: Some(cols),
                hidden: false,
            };
            return self.aliased(source, alias);
        }
        let function = name
            .and_then(|n| n.0.last())
            .and_then(|p| p.as_ident())
            .map(|i| i.value.to_lowercase());
        let generated = function.as_deref().and_then(generator_column);
        let Some(column) = generated else {
            self.incomplete(
                format!("reads the table function `{key}`, whose columns the schema does not know"),
                Some(factor.span()),
            );
            return Source {
                qualifier,
                label,
                relation: None,
                cols: None,
                hidden: false,
            };
        };
        let mut deps = Deps::default();
        {
            let scope = Scope {
                sources: into.sources,
                merged: into.merged,
                ..Scope::empty(env, outer)
            };
            let role = Role::of(Subtype::Transformation);
            match factor {
                TableFactor::Table {
                    args: Some(args), ..
                } => self.function_arg_list(&args.args, role, &scope, &mut deps),
                TableFactor::Function { args, .. } => {
                    self.function_arg_list(args, role, &scope, &mut deps);
                }
                _ => {}
            }
        }
        let source = Source {
            qualifier,
            label,
            relation: None,
            cols: Some(vec![SrcCol {
                name: column.to_string(),
                deps: SrcDeps::Computed(Rc::new(deps)),
            }]),
            hidden: false,
        };
        self.aliased(source, alias)
    }

    /// `source` with its columns renamed by the alias's column list (`AS t(a, b)`).
    fn aliased(&mut self, mut source: Source, alias: Option<&TableAlias>) -> Source {
        let Some(alias) = alias.filter(|a| !a.columns.is_empty()) else {
            return source;
        };
        // A renamed upstream column is still the upstream's column of its own name.
        for col in source.cols.iter_mut().flatten() {
            if let SrcDeps::Base(rel) = col.deps {
                let field = self.field(rel, &col.name);
                let mut deps = Deps::default();
                deps.add(field, TSet::one(Role::IDENTITY));
                col.deps = SrcDeps::Computed(Rc::new(deps));
            }
        }
        if let Some(cols) = &mut source.cols
            && !self.rename(cols.iter_mut().map(|c| &mut c.name), alias)
        {
            source.cols = None;
        }
        source
    }

    /// Reports a name that did not resolve for a reason other than absence.
    pub(crate) fn missed(&mut self, name: &str, miss: Miss, span: Span) {
        match miss {
            Miss::NotFound => {}
            Miss::Ambiguous(labels) => self.incomplete(
                format!("`{name}` is ambiguous: {} all have it", labels.join(", ")),
                Some(span),
            ),
            Miss::UnknownColumns(label) => self.incomplete(
                format!(
                    "cannot tell where `{name}` comes from: the columns of {label} are unknown"
                ),
                Some(span),
            ),
        }
    }
}

fn merge_into(col: &mut Col, deps: &Deps) {
    let mut merged = (*col.deps).clone();
    merged.extend(deps);
    col.deps = Rc::new(merged);
}

/// Computed columns of a FROM item, from a query's output.
fn computed(cols: Vec<Col>) -> Vec<SrcCol> {
    cols.into_iter()
        .map(|c| SrcCol {
            name: c.name,
            deps: SrcDeps::Computed(c.deps),
        })
        .collect()
}

fn find_cte(env: &CteEnv, name: &str) -> Option<usize> {
    let mut at = env.as_ref();
    while let Some(node) = at {
        if same_name(&node.name, name) {
            return Some(node.id);
        }
        at = node.parent.as_ref();
    }
    None
}

/// The qualifiers a scope's FROM items answer to (for did-you-mean).
pub(crate) fn qualifiers(scope: &Scope<'_>) -> Vec<String> {
    scope
        .visible()
        .filter_map(|(_, s)| match &s.qualifier {
            Qualifier::Alias(alias) => Some(alias.clone()),
            Qualifier::Name(parts) => parts.last().cloned(),
            Qualifier::None => None,
        })
        .collect()
}

pub(crate) fn lower_parts(name: &ObjectName) -> Option<Vec<String>> {
    name.0
        .iter()
        .map(|p| p.as_ident().map(|i| i.value.to_lowercase()))
        .collect()
}

fn exclude_names(exclude: &sqlparser::ast::ExcludeSelectItem) -> Vec<&Ident> {
    let names = match exclude {
        sqlparser::ast::ExcludeSelectItem::Single(one) => std::slice::from_ref(one),
        sqlparser::ast::ExcludeSelectItem::Multiple(many) => &many[..],
    };
    names
        .iter()
        .filter_map(|n| n.0.last().and_then(|p| p.as_ident()))
        .collect()
}

/// A positive integer literal (a select item's position).
fn ordinal(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// SQL's LIKE (`%`, `_`), on already lower-cased text.
fn like(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // matches[j]: p[..i] matches t[..j]
    let mut matches = vec![false; t.len() + 1];
    matches[0] = true;
    for &pc in &p {
        let mut next = vec![false; t.len() + 1];
        if pc == '%' {
            let mut any = false;
            for j in 0..=t.len() {
                any |= matches[j];
                next[j] = any;
            }
        } else {
            for j in 1..=t.len() {
                next[j] = matches[j - 1] && (pc == '_' || pc == t[j - 1]);
            }
        }
        matches = next;
    }
    matches[t.len()]
}

/// The first words of a node's SQL, for a message.
fn first_words(node: &impl std::fmt::Display) -> String {
    let text = node.to_string();
    let words: Vec<&str> = text.split_whitespace().take(4).collect();
    let mut out = words.join(" ");
    if text.split_whitespace().count() > 4 {
        out.push_str(" ...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_patterns() {
        assert!(like("a%", "abc"));
        assert!(like("%c", "abc"));
        assert!(like("a_c", "abc"));
        assert!(!like("a_c", "abbc"));
        assert!(like("%", ""));
        assert!(!like("b%", "abc"));
    }
}

//! DuckDB's output types of simple queries, worked out by kiln itself so the lineage pass need
//! not ask the engine's binder (`DESCRIBE`) about every model.
//!
//! Exactness, not coverage: [`infer`] answers only for a query whose every expression (select
//! list, WHERE, JOIN ON, GROUP BY, HAVING, in every CTE and subquery) lies inside a small domain
//! whose rules were checked against DuckDB's binder (`tests/lineage_types.rs` compares every
//! rule over every argument type it accepts with `DESCRIBE`), and each type it reports is
//! spelled as DuckDB reports it (`DECIMAL(38,2)`, `HUGEINT`). Anything else — a function, an
//! operator, a cast, a clause or a type outside the domain, an expression DuckDB might reject
//! (a column neither grouped nor aggregated, `VARCHAR < INTEGER`), an ambiguous or unknown
//! name, a relation whose types are not all known — is `None`: the binder decides.
//!
//! The domain: column references (qualified or not), `*` and `t.*` without options; integer,
//! decimal, string and boolean literals; `interval '...'`; `+ - * /` over INTEGER, BIGINT,
//! HUGEINT, DOUBLE (and DECIMAL for `+ - /`), TIMESTAMP or DATE `±` INTERVAL, INTERVAL `*`
//! INTEGER; comparisons, `[NOT] IN (...)`, `BETWEEN`, `IS [NOT] NULL`, `AND`/`OR`/`NOT`;
//! `CAST`/`::` to INTEGER, BIGINT, DOUBLE, DECIMAL/NUMERIC, VARCHAR/TEXT, DATE, TIMESTAMP,
//! BOOLEAN from a type DuckDB casts from; `lower`, `upper`, `coalesce`, `sum`, `count`, `min`,
//! `max`, `avg`; `CASE WHEN ... THEN ... [ELSE ...] END` (NULL results allowed); `UNION [ALL]`
//! (each column the branches' common type); non-recursive CTEs, derived tables, inner/left/right/full joins `ON`, cross
//! joins, `DISTINCT`, `GROUP BY` columns or `ALL`, `HAVING`, `LIMIT n`.

use super::schema::{Lookup, SchemaProvider};
use sqlparser::ast::{
    BinaryOperator, CastKind, DuplicateTreatment, Expr, FunctionArg, FunctionArgExpr,
    FunctionArguments, GroupByExpr, Ident, JoinConstraint, JoinOperator, LimitClause, Query,
    Select, SelectFlavor, SelectItem, SetExpr, SetOperator, SetQuantifier, Statement, TableFactor,
    UnaryOperator, Value, WildcardAdditionalOptions,
};

/// An output column of a query: its name and DuckDB's type for it, as `DESCRIBE` prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedColumn {
    pub name: String,
    pub data_type: String,
}

/// The output columns of `statement` with DuckDB's types, when every expression in it lies
/// inside the verified domain (module docs) and every relation it reads is known to `schema`
/// with all of its column types; `None` otherwise.
pub fn infer(statement: &Statement, schema: &dyn SchemaProvider) -> Option<Vec<TypedColumn>> {
    let Statement::Query(query) = statement else {
        return None;
    };
    let cols = Typer { schema }.query(query, &Vec::new())?;
    cols.into_iter()
        .map(|(name, ty)| {
            Some(TypedColumn {
                name,
                data_type: ty.output()?,
            })
        })
        .collect()
}

/// A type inside the domain, or a literal's (which DuckDB types by its value and context).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ty {
    Integer,
    BigInt,
    HugeInt,
    Double,
    Decimal(u8, u8),
    Varchar,
    Boolean,
    Date,
    Timestamp,
    Interval,
    /// An integer literal, by value.
    IntLit(i128),
    /// A decimal literal: DECIMAL(width, scale).
    DecLit(u8, u8),
    /// A string literal (the text, for a literal compared with a date or timestamp).
    StrLit(String),
    /// An upstream column's type outside the domain: passed through only.
    Other(String),
}

/// A numeric type class, for DuckDB's implicit widening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    /// INTEGER (0), BIGINT (1), HUGEINT (2).
    Int(u8),
    Double,
    Decimal(u8, u8),
}

impl Num {
    fn ty(self) -> Ty {
        match self {
            Num::Int(0) => Ty::Integer,
            Num::Int(1) => Ty::BigInt,
            Num::Int(_) => Ty::HugeInt,
            Num::Double => Ty::Double,
            Num::Decimal(p, s) => Ty::Decimal(p, s),
        }
    }
}

impl Ty {
    /// An upstream column's type: as DuckDB's DESCRIBE spells it, or as a relation's columns
    /// were declared (a seed's `column_types`: `varchar`, `int`, `numeric(10,2)`), which DuckDB
    /// reports by its own name. A type outside the domain is kept only where its text is
    /// DuckDB's own name for it (passed through as is); else None: the binder decides.
    fn parse(text: &str) -> Option<Ty> {
        let t = text.trim();
        let upper = t.to_ascii_uppercase();
        Some(match upper.as_str() {
            "" => return None,
            "INTEGER" | "INT" | "INT4" | "SIGNED" => Ty::Integer,
            "BIGINT" | "INT8" | "LONG" => Ty::BigInt,
            "HUGEINT" => Ty::HugeInt,
            "DOUBLE" | "FLOAT8" => Ty::Double,
            "VARCHAR" | "TEXT" | "STRING" => Ty::Varchar,
            "BOOLEAN" | "BOOL" | "LOGICAL" => Ty::Boolean,
            "DATE" => Ty::Date,
            "TIMESTAMP" | "DATETIME" => Ty::Timestamp,
            "INTERVAL" => Ty::Interval,
            _ => {
                match decimal_args(&upper, "DECIMAL").or_else(|| decimal_args(&upper, "NUMERIC")) {
                    Some(Some((p, s))) => Ty::Decimal(p, s),
                    Some(None) => Ty::Decimal(18, 3),
                    None if canonical(t) => Ty::Other(t.to_string()),
                    None => return None,
                }
            }
        })
    }

    /// The type DuckDB reports for a column of this type.
    fn output(&self) -> Option<String> {
        Some(match self {
            Ty::Integer => "INTEGER".into(),
            Ty::BigInt => "BIGINT".into(),
            Ty::HugeInt => "HUGEINT".into(),
            Ty::Double => "DOUBLE".into(),
            Ty::Decimal(p, s) | Ty::DecLit(p, s) => format!("DECIMAL({p},{s})"),
            Ty::Varchar | Ty::StrLit(_) => "VARCHAR".into(),
            Ty::Boolean => "BOOLEAN".into(),
            Ty::Date => "DATE".into(),
            Ty::Timestamp => "TIMESTAMP".into(),
            Ty::Interval => "INTERVAL".into(),
            Ty::IntLit(_) => self.num()?.ty().output()?,
            Ty::Other(t) => t.clone(),
        })
    }

    /// Its numeric class, where it has one.
    fn num(&self) -> Option<Num> {
        Some(match self {
            Ty::Integer => Num::Int(0),
            Ty::BigInt => Num::Int(1),
            Ty::HugeInt => Num::Int(2),
            Ty::Double => Num::Double,
            Ty::Decimal(p, s) | Ty::DecLit(p, s) => Num::Decimal(*p, *s),
            Ty::IntLit(v) => {
                if i32::try_from(*v).is_ok() {
                    Num::Int(0)
                } else if i64::try_from(*v).is_ok() {
                    Num::Int(1)
                } else {
                    return None;
                }
            }
            _ => return None,
        })
    }

    fn is_text(&self) -> bool {
        matches!(self, Ty::Varchar | Ty::StrLit(_))
    }

    fn is_literal(&self) -> bool {
        matches!(self, Ty::IntLit(_) | Ty::DecLit(..) | Ty::StrLit(_))
    }
}

/// A type outside the domain spelled as DuckDB's DESCRIBE spells it (a list of one, too).
fn canonical(text: &str) -> bool {
    const NAMES: [&str; 17] = [
        "TINYINT",
        "SMALLINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
        "FLOAT",
        "TIME",
        "TIMESTAMP WITH TIME ZONE",
        "TIMESTAMP_NS",
        "TIMESTAMP_MS",
        "TIMESTAMP_S",
        "BLOB",
        "UUID",
        "BIT",
        "TIME WITH TIME ZONE",
    ];
    let base = text.strip_suffix("[]").unwrap_or(text);
    let known = matches!(
        base,
        "INTEGER"
            | "BIGINT"
            | "HUGEINT"
            | "DOUBLE"
            | "VARCHAR"
            | "BOOLEAN"
            | "DATE"
            | "TIMESTAMP"
            | "INTERVAL"
    );
    NAMES.contains(&base)
        || known
        || (base != text && decimal_args(base, "DECIMAL").is_some() && base.starts_with("DECIMAL("))
}

/// `NAME(p,s)` → Some(Some((p, s))); `NAME` → Some(None); anything else → None.
fn decimal_args(text: &str, name: &str) -> Option<Option<(u8, u8)>> {
    let upper = text.to_ascii_uppercase();
    let rest = upper.strip_prefix(name)?.trim();
    if rest.is_empty() {
        return Some(None);
    }
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    let (p, s) = match inner.split_once(',') {
        Some((p, s)) => (p.trim().parse::<u8>().ok()?, s.trim().parse::<u8>().ok()?),
        None => (inner.trim().parse::<u8>().ok()?, 0),
    };
    (1..=38).contains(&p).then_some(())?;
    (s <= p).then_some(Some((p, s)))
}

/// DuckDB's common numeric type of two numeric classes (within the domain: a DECIMAL wider than
/// 38 digits, or a DECIMAL with a HUGEINT, is left to the binder).
fn max_num(a: Num, b: Num) -> Option<Num> {
    let as_decimal = |n: Num| -> Option<(u8, u8)> {
        match n {
            Num::Int(0) => Some((10, 0)),
            Num::Int(1) => Some((19, 0)),
            Num::Decimal(p, s) => Some((p, s)),
            _ => None,
        }
    };
    Some(match (a, b) {
        (Num::Double, _) | (_, Num::Double) => Num::Double,
        (Num::Int(x), Num::Int(y)) => Num::Int(x.max(y)),
        _ => {
            let (p1, s1) = as_decimal(a)?;
            let (p2, s2) = as_decimal(b)?;
            let scale = s1.max(s2);
            let width = (p1 - s1).max(p2 - s2) + scale;
            (width <= 38).then_some(Num::Decimal(width, scale))?
        }
    })
}

/// The width of a numeric class as a DECIMAL operand (INTEGER 10, BIGINT 19).
fn decimal_width(n: Num) -> Option<u8> {
    match n {
        Num::Int(0) => Some(10),
        Num::Int(1) => Some(19),
        Num::Decimal(p, _) => Some(p),
        _ => None,
    }
}

/// A relation in a FROM clause: what the query calls it and its columns.
struct Source {
    name: String,
    columns: Vec<(String, Ty)>,
}

/// A column reference resolved: the source and column index.
type ColumnRef = (usize, usize);

/// What an expression may refer to.
struct Scope<'a> {
    sources: &'a [Source],
    /// How many sources (a JOIN's ON sees those joined so far).
    visible: usize,
    /// None: no grouping; Some(keys): a grouped query, whose columns outside an aggregate must
    /// be keys.
    keys: Option<&'a [ColumnRef]>,
    /// Aggregates allowed here (select list and HAVING).
    aggregates: bool,
}

/// The CTEs in scope, innermost last.
type Ctes = Vec<(String, Vec<(String, Ty)>)>;

struct Typer<'s> {
    schema: &'s dyn SchemaProvider,
}

impl Typer<'_> {
    fn query(&self, query: &Query, outer: &Ctes) -> Option<Vec<(String, Ty)>> {
        let Query {
            with,
            body,
            order_by,
            limit_clause,
            fetch,
            locks,
            for_clause,
            settings,
            format_clause,
            pipe_operators,
        } = query;
        if order_by.is_some()
            || fetch.is_some()
            || !locks.is_empty()
            || for_clause.is_some()
            || settings.is_some()
            || format_clause.is_some()
            || !pipe_operators.is_empty()
        {
            return None;
        }
        match limit_clause {
            None => {}
            Some(LimitClause::LimitOffset {
                limit: Some(limit),
                offset: None,
                limit_by,
            }) if limit_by.is_empty() => {
                let Expr::Value(v) = limit else {
                    return None;
                };
                let Value::Number(n, _) = &v.value else {
                    return None;
                };
                n.parse::<u32>().ok()?;
            }
            Some(_) => return None,
        }
        let mut ctes = outer.clone();
        if let Some(with) = with {
            if with.recursive {
                return None;
            }
            for cte in &with.cte_tables {
                if !cte.alias.columns.is_empty() || cte.from.is_some() {
                    return None;
                }
                let cols = self.query(&cte.query, &ctes)?;
                ctes.push((cte.alias.name.value.to_lowercase(), cols));
            }
        }
        self.body(body, &ctes)
    }

    fn body(&self, body: &SetExpr, ctes: &Ctes) -> Option<Vec<(String, Ty)>> {
        match body {
            SetExpr::Select(select) => self.select(select, ctes),
            SetExpr::Query(q) => self.query(q, ctes),
            // UNION [ALL]: the left's names, each column the branches' common type (as
            // COALESCE's), literals left to the binder.
            SetExpr::SetOperation {
                left,
                op: SetOperator::Union,
                set_quantifier: SetQuantifier::All | SetQuantifier::None,
                right,
            } => {
                let l = self.body(left, ctes)?;
                let r = self.body(right, ctes)?;
                if l.len() != r.len() {
                    return None;
                }
                l.into_iter()
                    .zip(r)
                    .map(|((name, a), (_, b))| {
                        if a.is_literal() || b.is_literal() {
                            return None;
                        }
                        let t = if a == b { a } else { common(&a, &b)? };
                        Some((name, t))
                    })
                    .collect()
            }
            _ => None,
        }
    }

    fn select(&self, select: &Select, ctes: &Ctes) -> Option<Vec<(String, Ty)>> {
        let Select {
            select_token: _,
            optimizer_hints,
            distinct,
            select_modifiers,
            top,
            top_before_distinct: _,
            projection,
            exclude,
            into,
            from,
            lateral_views,
            prewhere,
            selection,
            connect_by,
            group_by,
            cluster_by,
            distribute_by,
            sort_by,
            having,
            named_window,
            qualify,
            window_before_qualify: _,
            value_table_mode,
            flavor,
        } = select;
        let distinct_ok = matches!(distinct, None | Some(sqlparser::ast::Distinct::Distinct));
        if !distinct_ok
            || !optimizer_hints.is_empty()
            || select_modifiers.is_some()
            || top.is_some()
            || exclude.is_some()
            || into.is_some()
            || !lateral_views.is_empty()
            || prewhere.is_some()
            || !connect_by.is_empty()
            || !cluster_by.is_empty()
            || !distribute_by.is_empty()
            || !sort_by.is_empty()
            || !named_window.is_empty()
            || qualify.is_some()
            || value_table_mode.is_some()
            || !matches!(flavor, SelectFlavor::Standard)
            || projection.is_empty()
        {
            return None;
        }

        // FROM: the sources in order, each JOIN's ON typed against those joined so far.
        let mut sources: Vec<Source> = Vec::new();
        for twj in from {
            sources.push(self.factor(&twj.relation, ctes)?);
            for join in &twj.joins {
                if join.global {
                    return None;
                }
                sources.push(self.factor(&join.relation, ctes)?);
                let constraint = match &join.join_operator {
                    JoinOperator::Join(c)
                    | JoinOperator::Inner(c)
                    | JoinOperator::Left(c)
                    | JoinOperator::LeftOuter(c)
                    | JoinOperator::Right(c)
                    | JoinOperator::RightOuter(c)
                    | JoinOperator::FullOuter(c) => c,
                    JoinOperator::CrossJoin(JoinConstraint::None) => continue,
                    _ => return None,
                };
                let JoinConstraint::On(on) = constraint else {
                    return None;
                };
                let scope = Scope {
                    sources: &sources,
                    visible: sources.len(),
                    keys: None,
                    aggregates: false,
                };
                if self.expr(on, &scope, false)? != Ty::Boolean {
                    return None;
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for s in &sources {
            if !seen.insert(s.name.clone()) {
                return None;
            }
        }
        let all = Scope {
            sources: &sources,
            visible: sources.len(),
            keys: None,
            aggregates: false,
        };
        if let Some(w) = selection
            && self.expr(w, &all, false)? != Ty::Boolean
        {
            return None;
        }

        // Grouping: by columns, or ALL (every select item without an aggregate).
        let aggregated = projection.iter().any(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                has_aggregate(e)
            }
            _ => false,
        });
        let mut keys: Vec<ColumnRef> = Vec::new();
        let mut free_items = false;
        let grouped = match group_by {
            GroupByExpr::Expressions(exprs, modifiers) => {
                if !modifiers.is_empty() {
                    return None;
                }
                for e in exprs {
                    keys.push(resolve_ref(e, &all)?.0);
                }
                !exprs.is_empty() || aggregated
            }
            GroupByExpr::All(modifiers) => {
                if !modifiers.is_empty() {
                    return None;
                }
                // Items without an aggregate are keys themselves; a column one of them is
                // becomes a key for the others.
                for item in projection {
                    if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } =
                        item
                        && !has_aggregate(e)
                        && let Some((r, _)) = resolve_ref(e, &all)
                    {
                        keys.push(r);
                    }
                }
                free_items = true;
                true
            }
        };
        if having.is_some() && !grouped {
            return None;
        }
        let scope = Scope {
            sources: &sources,
            visible: sources.len(),
            keys: grouped.then_some(keys.as_slice()),
            aggregates: true,
        };

        let mut out: Vec<(String, Ty)> = Vec::new();
        for item in projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let name = match e {
                        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                            let ((s, c), _) = resolve_ref(e, &all)?;
                            let column = &sources[s].columns[c].0;
                            (last_ident(e)?.value == *column).then(|| column.clone())?
                        }
                        _ => return None,
                    };
                    let free = free_items && !has_aggregate(e);
                    out.push((name, self.expr(e, &scope, free)?));
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let free = free_items && !has_aggregate(expr);
                    out.push((alias.value.clone(), self.expr(expr, &scope, free)?));
                }
                SelectItem::Wildcard(options) => {
                    if grouped || !plain_wildcard(options) {
                        return None;
                    }
                    for s in &sources {
                        out.extend(s.columns.iter().cloned());
                    }
                }
                SelectItem::QualifiedWildcard(kind, options) => {
                    if grouped || !plain_wildcard(options) {
                        return None;
                    }
                    let sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(name) = kind
                    else {
                        return None;
                    };
                    let [part] = name.0.as_slice() else {
                        return None;
                    };
                    let wanted = part.as_ident()?.value.to_lowercase();
                    let s = sources.iter().find(|s| s.name == wanted)?;
                    out.extend(s.columns.iter().cloned());
                }
                _ => return None,
            }
        }
        if let Some(h) = having
            && self.expr(h, &scope, false)? != Ty::Boolean
        {
            return None;
        }
        // Two output columns of one name: DuckDB renames or refuses; left to it.
        let mut names = std::collections::HashSet::new();
        for (name, _) in &out {
            if !names.insert(name.to_lowercase()) {
                return None;
            }
        }
        Some(out)
    }

    fn factor(&self, factor: &TableFactor, ctes: &Ctes) -> Option<Source> {
        match factor {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                index_hints,
            } => {
                if args.is_some()
                    || !with_hints.is_empty()
                    || version.is_some()
                    || *with_ordinality
                    || !partitions.is_empty()
                    || json_path.is_some()
                    || sample.is_some()
                    || !index_hints.is_empty()
                {
                    return None;
                }
                let parts: Vec<&Ident> =
                    name.0.iter().map(|p| p.as_ident()).collect::<Option<_>>()?;
                let alias_name = match alias {
                    Some(a) if a.columns.is_empty() => a.name.value.to_lowercase(),
                    Some(_) => return None,
                    None => parts.last()?.value.to_lowercase(),
                };
                let columns = if let [one] = parts.as_slice()
                    && let Some((_, cols)) = ctes
                        .iter()
                        .rev()
                        .find(|(n, _)| *n == one.value.to_lowercase())
                {
                    cols.clone()
                } else {
                    // A relation by its full name (database, schema, identifier) only: a
                    // shorter one depends on the search path.
                    let [_, _, _] = parts.as_slice() else {
                        return None;
                    };
                    let texts: Vec<&str> = parts.iter().map(|p| p.value.as_str()).collect();
                    let Lookup::Found(found, cols) = self.schema.relation(&texts) else {
                        return None;
                    };
                    let same = found.parts().len() == texts.len()
                        && found
                            .parts()
                            .iter()
                            .zip(&texts)
                            .all(|(a, b)| a.eq_ignore_ascii_case(b));
                    if !same || cols.is_empty() {
                        return None;
                    }
                    cols.iter()
                        .map(|c| Some((c.name.clone(), Ty::parse(&c.data_type)?)))
                        .collect::<Option<Vec<_>>>()?
                };
                Some(Source {
                    name: alias_name,
                    columns,
                })
            }
            TableFactor::Derived {
                lateral: false,
                subquery,
                alias: Some(alias),
                sample: None,
            } if alias.columns.is_empty() => Some(Source {
                name: alias.name.value.to_lowercase(),
                columns: self.query(subquery, ctes)?,
            }),
            _ => None,
        }
    }

    /// The type of `e`; `free`: a GROUP BY ALL key, whose columns need not be keys.
    fn expr(&self, e: &Expr, scope: &Scope<'_>, free: bool) -> Option<Ty> {
        match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                let (r, ty) = resolve_ref(e, scope)?;
                if let Some(keys) = scope.keys
                    && !free
                    && !keys.contains(&r)
                {
                    return None;
                }
                Some(ty)
            }
            Expr::Value(v) => match &v.value {
                Value::Number(n, false) => number(n),
                Value::SingleQuotedString(s) => Some(Ty::StrLit(s.clone())),
                Value::Boolean(_) => Some(Ty::Boolean),
                _ => None,
            },
            Expr::Nested(inner) => self.expr(inner, scope, free),
            Expr::Interval(i) => {
                let plain = i.leading_field.is_none()
                    && i.leading_precision.is_none()
                    && i.last_field.is_none()
                    && i.fractional_seconds_precision.is_none();
                let Expr::Value(v) = i.value.as_ref() else {
                    return None;
                };
                let Value::SingleQuotedString(text) = &v.value else {
                    return None;
                };
                (plain && interval_text(text)).then_some(Ty::Interval)
            }
            Expr::UnaryOp { op, expr } => {
                let t = self.expr(expr, scope, free)?;
                match op {
                    UnaryOperator::Not => (t == Ty::Boolean).then_some(Ty::Boolean),
                    UnaryOperator::Minus => match t {
                        Ty::IntLit(v) => Some(Ty::IntLit(-v)),
                        Ty::Integer | Ty::BigInt | Ty::HugeInt | Ty::Double | Ty::Decimal(..) => {
                            Some(t)
                        }
                        _ => None,
                    },
                    _ => None,
                }
            }
            Expr::BinaryOp { left, op, right } => {
                let l = self.expr(left, scope, free)?;
                let r = self.expr(right, scope, free)?;
                binary(&l, op, &r)
            }
            Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
                self.expr(inner, scope, free)?;
                Some(Ty::Boolean)
            }
            Expr::InList {
                expr,
                list,
                negated: _,
            } => {
                let t = self.expr(expr, scope, free)?;
                if list.is_empty() {
                    return None;
                }
                for item in list {
                    let i = self.expr(item, scope, free)?;
                    if !comparable(&t, &i) {
                        return None;
                    }
                }
                Some(Ty::Boolean)
            }
            Expr::Between {
                expr,
                negated: _,
                low,
                high,
            } => {
                let t = self.expr(expr, scope, free)?;
                let lo = self.expr(low, scope, free)?;
                let hi = self.expr(high, scope, free)?;
                (comparable(&t, &lo) && comparable(&t, &hi)).then_some(Ty::Boolean)
            }
            Expr::Cast {
                kind: CastKind::Cast | CastKind::DoubleColon,
                expr,
                data_type,
                array: false,
                format: None,
            } => {
                let from = self.expr(expr, scope, free)?;
                let to = cast_target(&data_type.to_string())?;
                castable(&from, &to).then_some(to)
            }
            Expr::Function(f) => self.function(f, scope, free),
            // CASE WHEN ... THEN ... [ELSE ...] END: the results' common type (NULL results
            // take the others').
            Expr::Case {
                operand: None,
                conditions,
                else_result,
                ..
            } => {
                let mut acc: Option<Ty> = None;
                let mut results: Vec<&Expr> = Vec::new();
                for w in conditions {
                    if self.expr(&w.condition, scope, free)? != Ty::Boolean {
                        return None;
                    }
                    results.push(&w.result);
                }
                results.extend(else_result.as_deref());
                for r in results {
                    if is_null(r) {
                        continue;
                    }
                    let t = self.expr(r, scope, free)?;
                    acc = Some(match acc {
                        None => t,
                        Some(a) => common(&a, &t)?,
                    });
                }
                match acc? {
                    Ty::IntLit(_) | Ty::DecLit(..) | Ty::StrLit(_) | Ty::Other(_) => None,
                    t => Some(t),
                }
            }
            _ => None,
        }
    }

    fn function(&self, f: &sqlparser::ast::Function, scope: &Scope<'_>, free: bool) -> Option<Ty> {
        let sqlparser::ast::Function {
            name,
            uses_odbc_syntax,
            parameters,
            args,
            filter,
            null_treatment,
            over,
            within_group,
        } = f;
        if *uses_odbc_syntax
            || !matches!(parameters, FunctionArguments::None)
            || filter.is_some()
            || null_treatment.is_some()
            || over.is_some()
            || !within_group.is_empty()
        {
            return None;
        }
        let [part] = name.0.as_slice() else {
            return None;
        };
        let fname = part.as_ident()?.value.to_lowercase();
        let FunctionArguments::List(list) = args else {
            return None;
        };
        if !list.clauses.is_empty() {
            return None;
        }
        let distinct = match list.duplicate_treatment {
            None => false,
            Some(DuplicateTreatment::Distinct) => true,
            Some(DuplicateTreatment::All) => return None,
        };
        let aggregate = matches!(fname.as_str(), "sum" | "count" | "min" | "max" | "avg");
        if distinct && fname != "count" {
            return None;
        }
        if aggregate {
            // Not in WHERE, ON or GROUP BY, and not nested.
            if !scope.aggregates {
                return None;
            }
            if fname == "count"
                && let [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] = list.args.as_slice()
            {
                return (!distinct).then_some(Ty::BigInt);
            }
        }
        let mut types = Vec::new();
        for a in &list.args {
            let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = a else {
                return None;
            };
            if aggregate {
                if has_aggregate(e) {
                    return None;
                }
                let inner = Scope {
                    sources: scope.sources,
                    visible: scope.visible,
                    keys: None,
                    aggregates: false,
                };
                types.push(self.expr(e, &inner, free)?);
            } else {
                types.push(self.expr(e, scope, free)?);
            }
        }
        match (fname.as_str(), types.as_slice()) {
            ("lower" | "upper", [t]) if t.is_text() => Some(Ty::Varchar),
            ("coalesce", [first, rest @ ..]) => {
                let mut acc = first.clone();
                for t in rest {
                    acc = common(&acc, t)?;
                }
                match acc {
                    Ty::IntLit(_) | Ty::DecLit(..) => Some(acc.num()?.ty()),
                    Ty::StrLit(_) => Some(Ty::Varchar),
                    Ty::Other(_) => None,
                    t => Some(t),
                }
            }
            ("count", [t]) if !matches!(t, Ty::Other(_)) && !t.is_literal() => Some(Ty::BigInt),
            ("sum", [t]) if !t.is_literal() => match t.num()? {
                Num::Int(_) => Some(Ty::HugeInt),
                Num::Double => Some(Ty::Double),
                Num::Decimal(_, s) => Some(Ty::Decimal(38, s)),
            },
            ("avg", [t]) if !t.is_literal() => t.num().map(|_| Ty::Double),
            ("min" | "max", [t]) => match t {
                Ty::Integer
                | Ty::BigInt
                | Ty::HugeInt
                | Ty::Double
                | Ty::Decimal(..)
                | Ty::Varchar
                | Ty::Date
                | Ty::Timestamp => Some(t.clone()),
                _ => None,
            },
            _ => None,
        }
    }
}

fn is_null(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => matches!(v.value, Value::Null),
        Expr::Nested(inner) => is_null(inner),
        _ => false,
    }
}

/// `*` without EXCLUDE, REPLACE, RENAME, ILIKE.
fn plain_wildcard(o: &WildcardAdditionalOptions) -> bool {
    o.opt_ilike.is_none()
        && o.opt_exclude.is_none()
        && o.opt_except.is_none()
        && o.opt_replace.is_none()
        && o.opt_rename.is_none()
        && o.opt_alias.is_none()
}

fn last_ident(e: &Expr) -> Option<&Ident> {
    match e {
        Expr::Identifier(i) => Some(i),
        Expr::CompoundIdentifier(parts) => parts.last(),
        _ => None,
    }
}

/// A column reference resolved in `scope`: unqualified, exactly one visible source has it;
/// qualified, the source so called has it. Anything else (ambiguous, unknown, a struct field,
/// a select-list alias) is None.
fn resolve_ref(e: &Expr, scope: &Scope<'_>) -> Option<(ColumnRef, Ty)> {
    let visible = &scope.sources[..scope.visible];
    let find = |s: &Source, name: &str| {
        s.columns
            .iter()
            .position(|(c, _)| c.eq_ignore_ascii_case(name))
    };
    match e {
        Expr::Identifier(i) => {
            let mut hits = visible
                .iter()
                .enumerate()
                .filter_map(|(si, s)| find(s, &i.value).map(|ci| (si, ci)));
            let hit = hits.next()?;
            if hits.next().is_some() {
                return None;
            }
            Some((hit, visible[hit.0].columns[hit.1].1.clone()))
        }
        Expr::CompoundIdentifier(parts) => {
            let [q, c] = parts.as_slice() else {
                return None;
            };
            let q = q.value.to_lowercase();
            let mut named = visible.iter().enumerate().filter(|(_, s)| s.name == q);
            let (si, s) = named.next()?;
            if named.next().is_some() {
                return None;
            }
            let ci = find(s, &c.value)?;
            Some(((si, ci), s.columns[ci].1.clone()))
        }
        _ => None,
    }
}

/// Whether an aggregate function (of the domain's) is called in `e`, outside a subquery.
fn has_aggregate(e: &Expr) -> bool {
    match e {
        Expr::Function(f) => {
            let name = f.name.to_string().to_lowercase();
            if matches!(name.as_str(), "sum" | "count" | "min" | "max" | "avg") {
                return true;
            }
            match &f.args {
                FunctionArguments::List(l) => l.args.iter().any(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => has_aggregate(e),
                    _ => false,
                }),
                _ => false,
            }
        }
        Expr::Nested(x) | Expr::UnaryOp { expr: x, .. } => has_aggregate(x),
        Expr::IsNull(x) | Expr::IsNotNull(x) => has_aggregate(x),
        Expr::Cast { expr, .. } => has_aggregate(expr),
        Expr::BinaryOp { left, right, .. } => has_aggregate(left) || has_aggregate(right),
        Expr::InList { expr, list, .. } => has_aggregate(expr) || list.iter().any(has_aggregate),
        Expr::Between {
            expr, low, high, ..
        } => has_aggregate(expr) || has_aggregate(low) || has_aggregate(high),
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            operand.as_deref().is_some_and(has_aggregate)
                || else_result.as_deref().is_some_and(has_aggregate)
                || conditions
                    .iter()
                    .any(|w| has_aggregate(&w.condition) || has_aggregate(&w.result))
        }
        _ => false,
    }
}

/// A numeric literal's type: an integer by value, a decimal DECIMAL(digits, decimals).
fn number(text: &str) -> Option<Ty> {
    if !text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    match text.split_once('.') {
        None => {
            if text.len() > 1 && text.starts_with('0') {
                return None;
            }
            Some(Ty::IntLit(text.parse().ok()?))
        }
        Some((int, frac)) => {
            if frac.is_empty() || int.is_empty() || (int.len() > 1 && int.starts_with('0')) {
                return None;
            }
            // Every digit written counts, a leading `0.` too: 0.25 is DECIMAL(3,2).
            let width = u8::try_from(int.len() + frac.len()).ok()?;
            let scale = u8::try_from(frac.len()).ok()?;
            (width <= 18 && width >= scale && width > 0).then_some(Ty::DecLit(width, scale))
        }
    }
}

/// `interval '<n> <unit>'` with one whole number and a unit DuckDB knows.
fn interval_text(text: &str) -> bool {
    let mut words = text.split_whitespace();
    let (Some(n), Some(unit), None) = (words.next(), words.next(), words.next()) else {
        return false;
    };
    n.parse::<u32>().is_ok()
        && matches!(
            unit.to_lowercase().as_str(),
            "day" | "days" | "month" | "months" | "year" | "years" | "hour" | "hours"
        )
}

/// A cast's target type, as written (`numeric(16, 2)`, `int`, `text`...).
fn cast_target(text: &str) -> Option<Ty> {
    let compact: String = text.split_whitespace().collect();
    let upper = compact.to_ascii_uppercase();
    Some(match upper.as_str() {
        "INT" | "INTEGER" => Ty::Integer,
        "BIGINT" => Ty::BigInt,
        "DOUBLE" => Ty::Double,
        "VARCHAR" | "TEXT" => Ty::Varchar,
        "DATE" => Ty::Date,
        "TIMESTAMP" => Ty::Timestamp,
        "BOOLEAN" => Ty::Boolean,
        _ => {
            let args = decimal_args(&upper, "NUMERIC").or_else(|| decimal_args(&upper, "DECIMAL"));
            match args? {
                Some((p, s)) => Ty::Decimal(p, s),
                None => Ty::Decimal(18, 3),
            }
        }
    })
}

/// Whether DuckDB's binder casts `from` to `to` (within the domain).
fn castable(from: &Ty, to: &Ty) -> bool {
    if matches!(from, Ty::Other(_) | Ty::Interval) {
        return false;
    }
    if *to == Ty::Varchar {
        return true;
    }
    if from.is_text() {
        // A string literal is converted when the query is bound: only text that converts.
        return match from {
            Ty::StrLit(s) => match to {
                Ty::Date => date_text(s),
                Ty::Timestamp => timestamp_text(s),
                _ => false,
            },
            _ => matches!(
                to,
                Ty::Integer
                    | Ty::BigInt
                    | Ty::Double
                    | Ty::Decimal(..)
                    | Ty::Date
                    | Ty::Timestamp
                    | Ty::Boolean
            ),
        };
    }
    if from.num().is_some() {
        return to.num().is_some();
    }
    matches!(
        (from, to),
        (Ty::Date | Ty::Timestamp, Ty::Date | Ty::Timestamp) | (Ty::Boolean, Ty::Boolean)
    )
}

fn date_text(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (1..=12).contains(&s[5..7].parse::<u32>().unwrap_or(0))
        && (1..=28).contains(&s[8..10].parse::<u32>().unwrap_or(0))
}

fn timestamp_text(s: &str) -> bool {
    if s.len() == 10 {
        return date_text(s);
    }
    let Some((d, t)) = s.split_once(' ') else {
        return false;
    };
    let tb = t.as_bytes();
    date_text(d)
        && tb.len() == 8
        && tb[2] == b':'
        && tb[5] == b':'
        && t[..2].parse::<u32>().is_ok_and(|h| h < 24)
        && t[3..5].parse::<u32>().is_ok_and(|m| m < 60)
        && t[6..].parse::<u32>().is_ok_and(|x| x < 60)
}

/// Whether DuckDB compares `a` with `b` without an explicit cast (within the domain).
fn comparable(a: &Ty, b: &Ty) -> bool {
    if a.num().is_some() && b.num().is_some() {
        return true;
    }
    match (a, b) {
        (x, y) if x.is_text() && y.is_text() => true,
        (Ty::StrLit(s), Ty::Date) | (Ty::Date, Ty::StrLit(s)) => date_text(s),
        (Ty::StrLit(s), Ty::Timestamp) | (Ty::Timestamp, Ty::StrLit(s)) => timestamp_text(s),
        (Ty::Date | Ty::Timestamp, Ty::Date | Ty::Timestamp) => true,
        (Ty::Boolean, Ty::Boolean) => true,
        _ => false,
    }
}

/// The common type of two COALESCE arguments (within the domain).
fn common(a: &Ty, b: &Ty) -> Option<Ty> {
    if let (Some(x), Some(y)) = (a.num(), b.num()) {
        return Some(max_num(x, y)?.ty());
    }
    if a.is_text() && b.is_text() {
        return Some(Ty::Varchar);
    }
    match (a, b) {
        (Ty::Date, Ty::Date) => Some(Ty::Date),
        (Ty::Timestamp, Ty::Timestamp) => Some(Ty::Timestamp),
        (Ty::Boolean, Ty::Boolean) => Some(Ty::Boolean),
        _ => None,
    }
}

/// A binary operator's result type (within the domain).
fn binary(l: &Ty, op: &BinaryOperator, r: &Ty) -> Option<Ty> {
    use BinaryOperator as B;
    match op {
        B::And | B::Or => (*l == Ty::Boolean && *r == Ty::Boolean).then_some(Ty::Boolean),
        B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
            comparable(l, r).then_some(Ty::Boolean)
        }
        B::Plus | B::Minus => {
            match (l, r) {
                (Ty::Timestamp | Ty::Date, Ty::Interval) => return Some(Ty::Timestamp),
                (Ty::Interval, Ty::Timestamp | Ty::Date) if *op == B::Plus => {
                    return Some(Ty::Timestamp);
                }
                _ => {}
            }
            let (a, b) = (l.num()?, r.num()?);
            match max_num(a, b)? {
                // One digit more than both sides need, but not past 18 digits (64 bits) when
                // neither side is wider than 18, and at most 38.
                Num::Decimal(p, s) => {
                    let widest = decimal_width(a)?.max(decimal_width(b)?);
                    let mut wider = (p + 1).min(38);
                    if wider > 18 && widest <= 18 {
                        wider = 18;
                    }
                    Some(Ty::Decimal(wider, s))
                }
                n => Some(n.ty()),
            }
        }
        B::Multiply => {
            let int = |t: &Ty| matches!(t, Ty::Integer | Ty::IntLit(_));
            match (l, r) {
                (Ty::Interval, t) | (t, Ty::Interval) if int(t) => return Some(Ty::Interval),
                _ => {}
            }
            let (a, b) = (l.num()?, r.num()?);
            if matches!(a, Num::Decimal(..)) || matches!(b, Num::Decimal(..)) {
                return None;
            }
            Some(max_num(a, b)?.ty())
        }
        B::Divide => {
            l.num()?;
            r.num()?;
            Some(Ty::Double)
        }
        _ => None,
    }
}

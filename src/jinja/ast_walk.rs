//! One walk over every statement and expression of a parsed template (minijinja's syntax tree),
//! for the readers that look for something in it: the macros a macro calls
//! ([`super::macro_calls`]) and the list and dict literals kiln makes mutable
//! ([`super::mutable`]). A reader implements [`Visitor`] and overrides only the hooks it needs.

use minijinja::machinery::ast::{self, CallArg, Expr, Stmt};

/// What a reader sees of the tree. Every hook's default walks on.
pub trait Visitor: Sized {
    /// A call (`f(...)`, `{% call f() %}`, `{% do f() %}`), starting at `offset`.
    fn call(&mut self, c: &ast::Call<'_>, offset: u32) {
        let _ = offset;
        walk_call(self, c);
    }

    /// A list or dict literal from `start` to `end`, before its items are walked.
    fn literal(&mut self, start: u32, end: u32) {
        let _ = (start, end);
    }
}

pub fn stmts<V: Visitor>(v: &mut V, list: &[Stmt<'_>]) {
    for s in list {
        stmt(v, s);
    }
}

/// Assignment targets (`set`, `for`, `with`), macro parameters and import names are names, not
/// expressions, and are not walked.
pub fn stmt<V: Visitor>(v: &mut V, s: &Stmt<'_>) {
    match s {
        Stmt::Template(t) => stmts(v, &t.children),
        Stmt::EmitExpr(e) => expr(v, &e.expr),
        Stmt::EmitRaw(_) | Stmt::Continue(_) | Stmt::Break(_) => {}
        Stmt::ForLoop(f) => {
            expr(v, &f.iter);
            opt(v, f.filter_expr.as_ref());
            stmts(v, &f.body);
            stmts(v, &f.else_body);
        }
        Stmt::IfCond(i) => {
            expr(v, &i.expr);
            stmts(v, &i.true_body);
            stmts(v, &i.false_body);
        }
        Stmt::WithBlock(w) => {
            for (_, value) in &w.assignments {
                expr(v, value);
            }
            stmts(v, &w.body);
        }
        Stmt::Set(s) => expr(v, &s.expr),
        Stmt::SetBlock(s) => {
            opt(v, s.filter.as_ref());
            stmts(v, &s.body);
        }
        Stmt::AutoEscape(a) => {
            expr(v, &a.enabled);
            stmts(v, &a.body);
        }
        Stmt::FilterBlock(f) => {
            expr(v, &f.filter);
            stmts(v, &f.body);
        }
        Stmt::Block(b) => stmts(v, &b.body),
        Stmt::Import(i) => expr(v, &i.expr),
        Stmt::FromImport(i) => expr(v, &i.expr),
        Stmt::Extends(e) => expr(v, &e.name),
        Stmt::Include(i) => expr(v, &i.name),
        Stmt::Macro(m) => macro_decl(v, m),
        Stmt::CallBlock(c) => {
            v.call(&c.call, c.call.span().start_offset);
            macro_decl(v, &c.macro_decl);
        }
        Stmt::Do(d) => v.call(&d.call, d.call.span().start_offset),
    }
}

fn macro_decl<V: Visitor>(v: &mut V, m: &ast::Macro<'_>) {
    exprs(v, &m.defaults);
    stmts(v, &m.body);
}

fn opt<V: Visitor>(v: &mut V, e: Option<&Expr<'_>>) {
    if let Some(e) = e {
        expr(v, e);
    }
}

pub fn args<V: Visitor>(v: &mut V, args: &[CallArg<'_>]) {
    for a in args {
        match a {
            CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) => expr(v, e),
            CallArg::KwargSplat(e) => expr(v, e),
        }
    }
}

fn exprs<V: Visitor>(v: &mut V, list: &[Expr<'_>]) {
    for e in list {
        expr(v, e);
    }
}

/// The callee and the arguments of a call.
pub fn walk_call<V: Visitor>(v: &mut V, c: &ast::Call<'_>) {
    expr(v, &c.expr);
    args(v, &c.args);
}

pub fn expr<V: Visitor>(v: &mut V, e: &Expr<'_>) {
    match e {
        Expr::Var(_) | Expr::Const(_) => {}
        Expr::Slice(s) => {
            expr(v, &s.expr);
            opt(v, s.start.as_ref());
            opt(v, s.stop.as_ref());
            opt(v, s.step.as_ref());
        }
        Expr::UnaryOp(u) => expr(v, &u.expr),
        Expr::BinOp(b) => {
            expr(v, &b.left);
            expr(v, &b.right);
        }
        Expr::Compare(c) => {
            expr(v, &c.expr);
            for op in &c.ops {
                expr(v, &op.expr);
            }
        }
        Expr::IfExpr(i) => {
            expr(v, &i.test_expr);
            expr(v, &i.true_expr);
            opt(v, i.false_expr.as_ref());
        }
        Expr::Filter(f) => {
            opt(v, f.expr.as_ref());
            args(v, &f.args);
        }
        Expr::Test(t) => {
            expr(v, &t.expr);
            args(v, &t.args);
        }
        Expr::GetAttr(g) => expr(v, &g.expr),
        Expr::GetItem(g) => {
            expr(v, &g.expr);
            expr(v, &g.subscript_expr);
        }
        Expr::Call(c) => v.call(c, c.span().start_offset),
        Expr::List(l) => {
            let span = l.span();
            v.literal(span.start_offset, span.end_offset);
            exprs(v, &l.items);
        }
        Expr::Tuple(t) => exprs(v, &t.items),
        Expr::Map(m) => {
            let span = m.span();
            v.literal(span.start_offset, span.end_offset);
            exprs(v, &m.keys);
            exprs(v, &m.values);
        }
    }
}

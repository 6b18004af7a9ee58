//! The run phase of dbt's context: what reaches the warehouse while a command that connects
//! (run, build, show, run-operation...) renders templates. `adapter` and its catalog methods,
//! `run_query`, the statement blocks (`statement`, `noop_statement`) and their results
//! (`load_result`, `store_result`), and `is_incremental()`.
//!
//! The same functions serve the other phases through [`PhaseRules::database`]: at parse time
//! nothing runs and they return placeholders, and compiling without a connection says so.

use super::compile_ctx::CompilePhase;
use super::context::{
    LiveDb, PhaseRules, RenderCtx, named_args, not_callable, param, param_str, usage,
};
use super::relation::Relation;
use super::table::{AdapterResponse, ParsePlaceholder, RelationColumn, Table, is_blank_sql};
use crate::adapter::{Column, DbError, RelationInfo, Rows};
use crate::project::RefCall;
use crate::project::config::Config;
use minijinja::value::{Kwargs, Object, Rest, Value, from_args};
use minijinja::{Error, ErrorKind, State};
use std::sync::Arc;

/// Rendering with the warehouse connected: refs, sources and configs as in the compile phase;
/// statements run, and `is_incremental()` holds for the nodes the runner marked.
#[derive(Debug)]
pub(super) struct RunPhase;

impl PhaseRules for RunPhase {
    fn executes(&self) -> bool {
        true
    }

    fn ref_relation(&self, ctx: &Arc<RenderCtx>, call: RefCall) -> Result<Value, Error> {
        CompilePhase.ref_relation(ctx, call)
    }

    fn source_relation(
        &self,
        ctx: &Arc<RenderCtx>,
        source: String,
        table: String,
    ) -> Result<Value, Error> {
        CompilePhase.source_relation(ctx, source, table)
    }

    fn config_call(&self, ctx: &RenderCtx, args: &[Value]) -> Result<Value, Error> {
        CompilePhase.config_call(ctx, args)
    }

    fn node_config(&self, ctx: &RenderCtx) -> Config {
        CompilePhase.node_config(ctx)
    }

    fn database(&self, ctx: &RenderCtx, _what: &str) -> Result<Option<Arc<dyn LiveDb>>, Error> {
        Ok(ctx.shared.db.clone())
    }

    fn unstored_result(&self) -> Value {
        CompilePhase.unstored_result()
    }

    fn is_incremental(&self, ctx: &RenderCtx) -> bool {
        ctx.node.as_ref().is_some_and(|n| {
            ctx.shared
                .incremental
                .lock()
                .is_ok_and(|set| set.contains(&n.unique_id))
        })
    }
}

/// `run_query(sql)`: the rows as a table.
pub(super) fn run_query(ctx: &Arc<RenderCtx>, args: &[Value]) -> Result<Value, Error> {
    let (sql,): (Value,) = from_args(args)
        .map_err(|e| usage(e, "run_query() takes the SQL to run: run_query('select 1')"))?;
    match live(ctx, "run_query")? {
        Some(db) => Ok(Table::new(&run_sql(db.as_ref(), &sql.to_string())?).into_value()),
        None => Ok(ParsePlaceholder::value()),
    }
}

/// `{% call statement(name, fetch_result, auto_begin, language) %}sql{% endcall %}`.
pub(super) fn statement(
    ctx: &Arc<RenderCtx>,
    state: &mut State<'_, '_>,
    args: &[Value],
) -> Result<Value, Error> {
    let how = "statement() is a call block: {% call statement('name', fetch_result=True) %}select ...{% endcall %}";
    let (pos, kwargs): (&[Value], Kwargs) = from_args(args).map_err(|e| usage(e, how))?;
    let name = param_str(pos, &kwargs, 0, "name")?;
    let fetch = param(pos, &kwargs, 1, "fetch_result")?.is_some_and(|v| v.is_true());
    let _auto_begin = param(pos, &kwargs, 2, "auto_begin")?;
    let language = param(pos, &kwargs, 3, "language")?;
    let caller: Option<Value> = kwargs.get("caller")?;
    if pos.len() > 4 {
        return Err(usage(Error::from(ErrorKind::TooManyArguments), how));
    }
    kwargs.assert_all_used().map_err(|e| usage(e, how))?;
    // As dbt: the block's SQL is rendered and run only when executing.
    let Some(db) = live(ctx, "statement blocks")? else {
        return Ok(Value::from(""));
    };
    if let Some(l) = language.filter(|l| l.as_str() != Some("sql")) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("statement(language='{l}') is not supported: kiln runs SQL only"),
        ));
    }
    let sql = match caller {
        Some(c) => c.call(state, &[])?.to_string(),
        None => String::new(),
    };
    if let Some(n) = &name {
        ctx.record_statement(n, &sql);
    }
    let (response, table) = execute_sql(ctx, db.as_ref(), &sql, fetch)?;
    if let Some(n) = name {
        ctx.store_result(n, response.into_value(), table.into_value())?;
    }
    Ok(Value::from(""))
}

/// `load_result(name)`: what a statement block stored (once, except `main`).
pub(super) fn load_result(ctx: &Arc<RenderCtx>, args: &[Value]) -> Result<Value, Error> {
    let (name,): (String,) = from_args(args).map_err(|e| {
        usage(
            e,
            "load_result() takes a statement name: load_result('main')",
        )
    })?;
    let mut results = ctx
        .results
        .lock()
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "render state poisoned"))?;
    match results.get_mut(&name) {
        // Nothing stored: at parse, where no statement runs, a placeholder.
        None => Ok(ctx.shared.rules().unstored_result()),
        Some(Some(v)) if name == "main" => Ok(v.clone()),
        Some(slot @ Some(_)) => Ok(slot.take().unwrap_or_default()),
        Some(None) => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "the statement result named '{name}' has already been loaded into a variable; load it once and reuse the variable"
            ),
        )),
    }
}

/// `store_result(name, response, agate_table)`.
pub(super) fn store_result(ctx: &Arc<RenderCtx>, args: &[Value]) -> Result<Value, Error> {
    let how = "store_result(name, response, agate_table=none)";
    let [name, response, table] = named_args(args, how, ["name", "response", "agate_table"])?;
    let name = name.map(|v| v.to_string());
    let name = name.ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?;
    ctx.store_result(
        name,
        response.unwrap_or_default(),
        table.unwrap_or_default(),
    )?;
    Ok(Value::from(""))
}

/// `store_raw_result(name, message, code, rows_affected, agate_table)`.
pub(super) fn store_raw_result(ctx: &Arc<RenderCtx>, args: &[Value]) -> Result<Value, Error> {
    let how =
        "store_raw_result(name, message=none, code=none, rows_affected=none, agate_table=none)";
    let (pos, kwargs): (&[Value], Kwargs) = from_args(args).map_err(|e| usage(e, how))?;
    let name = param_str(pos, &kwargs, 0, "name")?;
    let response = raw_response(pos.get(1..).unwrap_or_default(), &kwargs)?;
    let table = param(pos, &kwargs, 4, "agate_table")?;
    if pos.len() > 5 {
        return Err(usage(Error::from(ErrorKind::TooManyArguments), how));
    }
    kwargs.assert_all_used().map_err(|e| usage(e, how))?;
    let name = name.ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?;
    ctx.store_result(name, response, table.unwrap_or_default())?;
    Ok(Value::from(""))
}

/// `{% call noop_statement(name, message, code, rows_affected, res) %}sql{% endcall %}`: records
/// the SQL and the result without running anything.
pub(super) fn noop_statement(
    ctx: &Arc<RenderCtx>,
    state: &mut State<'_, '_>,
    args: &[Value],
) -> Result<Value, Error> {
    let how = "noop_statement is a call block: {% call noop_statement('main', 'OK', 'INSERT', 3) %}sql{% endcall %}";
    let (pos, kwargs): (&[Value], Kwargs) = from_args(args).map_err(|e| usage(e, how))?;
    let name = param_str(pos, &kwargs, 0, "name")?;
    let response = raw_response(pos.get(1..).unwrap_or_default(), &kwargs)?;
    let table = param(pos, &kwargs, 4, "res")?;
    let caller: Option<Value> = kwargs.get("caller")?;
    if pos.len() > 5 {
        return Err(usage(Error::from(ErrorKind::TooManyArguments), how));
    }
    kwargs.assert_all_used().map_err(|e| usage(e, how))?;
    let sql = match caller {
        Some(c) => c.call(state, &[])?.to_string(),
        None => String::new(),
    };
    if let Some(n) = name {
        ctx.record_statement(&n, &sql);
        ctx.store_result(n, response, table.unwrap_or_default())?;
    }
    Ok(Value::from(""))
}

/// The database behind `run_query`, statement blocks, `adapter.execute` and the catalog methods:
/// none at parse time, where they do nothing (as in dbt), and an error when compiling without
/// a connection.
fn live(ctx: &RenderCtx, what: &str) -> Result<Option<Arc<dyn LiveDb>>, Error> {
    ctx.with_rec(|r| r.live = true)?;
    ctx.shared.rules().database(ctx, what)
}

/// A database error as a template error: the database's own message.
fn db_error(e: DbError) -> Error {
    Error::new(ErrorKind::InvalidOperation, e.message)
}

/// Runs SQL (one or more statements; the last one's rows come back). SQL with nothing but
/// comments is not sent.
fn run_sql(db: &dyn LiveDb, sql: &str) -> Result<Rows, Error> {
    if is_blank_sql(sql) {
        return Ok(Rows::default());
    }
    db.query(sql).map_err(db_error)
}

/// `adapter.execute`: runs SQL, returns the response and the rows (an empty table unless
/// `fetch`).
fn execute_sql(
    ctx: &RenderCtx,
    db: &dyn LiveDb,
    sql: &str,
    fetch: bool,
) -> Result<(AdapterResponse, Table), Error> {
    let rows = run_sql(db, sql)?;
    let dialect = ctx.shared.adapter.sql_dialect();
    let response = AdapterResponse::for_statement(sql, dialect.as_ref(), db.rows_affected(&rows));
    let table = if fetch {
        Table::new(&rows)
    } else {
        Table::empty()
    };
    Ok((response, table))
}

/// `adapter.dispatch`, `adapter.quote` and friends.
#[derive(Debug)]
pub(super) struct AdapterObj(pub(super) Arc<RenderCtx>);

impl Object for AdapterObj {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let ctx = &self.0;
        let shared = &ctx.shared;
        match method {
            "dispatch" => {
                let (name, namespace, kwargs): (String, Option<String>, Kwargs) = from_args(args)?;
                let namespace = match namespace {
                    Some(n) => Some(n),
                    None => kwargs.get::<Option<String>>("macro_namespace")?,
                };
                if let Some((ns, short)) = name.split_once('.') {
                    return Err(super::hinted_error(
                        ErrorKind::InvalidOperation,
                        format!(
                            "adapter.dispatch got the macro name '{name}', but '.' is not valid in a macro name"
                        ),
                        format!(
                            "did you mean adapter.dispatch('{short}', macro_namespace='{ns}')?"
                        ),
                    ));
                }
                // dbt's search: the root project's `dispatch:` order for the namespace; else, for
                // a namespace that is a project (the root, `dbt`, a package), the root project
                // then it; else (no namespace, or an unknown one) every macro by its bare name.
                let search: Vec<Option<String>> = match &namespace {
                    None => vec![None],
                    Some(ns) => match shared.dispatch.get(ns) {
                        Some(order) if !order.is_empty() => {
                            order.iter().cloned().map(Some).collect()
                        }
                        _ if shared.is_project(ns) => {
                            vec![Some(shared.project_name.clone()), Some(ns.clone())]
                        }
                        _ => vec![None],
                    },
                };
                let mut tried = vec![];
                for pkg in &search {
                    for prefix in shared.adapter.dispatch_prefixes() {
                        let candidate = format!("{prefix}__{name}");
                        let found = match pkg {
                            Some(p) => shared
                                .macro_template(p, &candidate)
                                .map(|t| (p.clone(), t.clone())),
                            None => ctx.find_macro(&candidate),
                        };
                        if let Some((p, t)) = found {
                            return Ok(ctx.macro_caller(p, &candidate, &t));
                        }
                        tried.push(match pkg {
                            Some(p) => format!("{p}.{candidate}"),
                            None => candidate,
                        });
                    }
                }
                let within = namespace.map_or(String::new(), |ns| format!(" in namespace '{ns}'"));
                Err(Error::new(
                    ErrorKind::UnknownFunction,
                    format!(
                        "adapter.dispatch('{name}') found no implementation{within}; looked for {}",
                        tried.join(", ")
                    ),
                ))
            }
            "quote" => {
                let (s,): (String,) = from_args(args)?;
                Ok(Value::from(shared.adapter.quote(&s)))
            }
            "quote_as_configured" | "quote_seed_column" => {
                let (s, _rest): (String, Rest<Value>) = from_args(args)?;
                Ok(Value::from(shared.adapter.quote(&s)))
            }
            "type" => Ok(Value::from(shared.adapter.adapter_type())),
            "execute" => {
                let how = "adapter.execute(sql, auto_begin=False, fetch=False)";
                let (pos, kwargs): (&[Value], Kwargs) =
                    from_args(args).map_err(|e| usage(e, how))?;
                let sql = param_str(pos, &kwargs, 0, "sql")?;
                let _auto_begin = param(pos, &kwargs, 1, "auto_begin")?;
                let fetch = param(pos, &kwargs, 2, "fetch")?.is_some_and(|v| v.is_true());
                let _limit = param(pos, &kwargs, 3, "limit")?;
                if pos.len() > 4 {
                    return Err(usage(Error::from(ErrorKind::TooManyArguments), how));
                }
                kwargs.assert_all_used().map_err(|e| usage(e, how))?;
                let sql = sql.ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?;
                let (response, table) = match live(ctx, "adapter.execute")? {
                    Some(db) => {
                        let (response, table) = execute_sql(ctx, db.as_ref(), &sql, fetch)?;
                        (response.into_value(), table.into_value())
                    }
                    None => (
                        AdapterResponse::default().into_value(),
                        ParsePlaceholder::value(),
                    ),
                };
                Ok(Value::from(vec![response, table]))
            }
            "get_relation" => {
                let how = "adapter.get_relation(database, schema, identifier)";
                let [database, schema, identifier, _needs_information] = named_args(
                    args,
                    how,
                    ["database", "schema", "identifier", "needs_information"],
                )?;
                let database = database.map(|v| v.to_string());
                let schema = schema.map(|v| v.to_string());
                let identifier = identifier.map(|v| v.to_string());
                let identifier = identifier
                    .ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?;
                let Some(db) = live(ctx, "adapter.get_relation")? else {
                    return Ok(Value::from(()));
                };
                let database = database.unwrap_or_else(|| shared.target_database.clone());
                let schema = schema.unwrap_or_else(|| shared.target_schema.clone());
                find_relation(ctx, db.as_ref(), &database, &schema, &identifier)
            }
            "load_relation" | "load_cached_relation" => {
                let (relation,): (Value,) = from_args(args).map_err(|e| {
                    usage(
                        e,
                        &format!("adapter.{method}(relation), e.g. adapter.{method}(this)"),
                    )
                })?;
                let Some(db) = live(ctx, &format!("adapter.{method}"))? else {
                    return Ok(Value::from(()));
                };
                let (database, schema, identifier) = relation_parts(ctx, &relation, method)?;
                find_relation(ctx, db.as_ref(), &database, &schema, &identifier)
            }
            "drop_relation" => {
                let (relation,): (Value,) = from_args(args).map_err(|e| {
                    usage(
                        e,
                        "adapter.drop_relation(relation), e.g. adapter.drop_relation(this)",
                    )
                })?;
                let Some(db) = live(ctx, "adapter.drop_relation")? else {
                    return Ok(Value::from(()));
                };
                // dbt drops the relation as its type says (a view or, by default, a table).
                let kind = match relation
                    .get_attr("type")
                    .ok()
                    .and_then(|t| t.as_str().map(String::from))
                {
                    Some(t) if t == "view" => crate::adapter::RelationKind::View,
                    _ => crate::adapter::RelationKind::Table,
                };
                let sql = shared
                    .adapter
                    .drop_relation_sql(kind, &relation.to_string());
                execute_sql(ctx, db.as_ref(), &sql, false)?;
                Ok(Value::from(()))
            }
            "get_columns_in_relation" => {
                let (relation,): (Value,) = from_args(args).map_err(|e| {
                    usage(e, "adapter.get_columns_in_relation(relation), e.g. adapter.get_columns_in_relation(ref('orders'))")
                })?;
                let Some(db) = live(ctx, "adapter.get_columns_in_relation")? else {
                    return Ok(Value::from(Vec::<Value>::new()));
                };
                Ok(Value::from(
                    columns_of(ctx, db.as_ref(), &relation, method)?
                        .into_iter()
                        .map(RelationColumn::into_value)
                        .collect::<Vec<_>>(),
                ))
            }
            "get_missing_columns" => {
                let (from, to): (Value, Value) = from_args(args).map_err(|e| {
                    usage(e, "adapter.get_missing_columns(from_relation, to_relation)")
                })?;
                let Some(db) = live(ctx, "adapter.get_missing_columns")? else {
                    return Ok(Value::from(Vec::<Value>::new()));
                };
                let present = columns_of(ctx, db.as_ref(), &to, method)?;
                Ok(Value::from(
                    columns_of(ctx, db.as_ref(), &from, method)?
                        .into_iter()
                        .filter(|c| !present.iter().any(|p| p.name.eq_ignore_ascii_case(&c.name)))
                        .map(RelationColumn::into_value)
                        .collect::<Vec<_>>(),
                ))
            }
            "list_relations_without_caching" | "list_relations" => {
                let (database, schema) = if method == "list_relations" {
                    let how = "adapter.list_relations(database, schema)";
                    let [database, schema] = named_args(args, how, ["database", "schema"])?;
                    let database = database.map(|v| v.to_string());
                    let schema = schema.map(|v| v.to_string());
                    (
                        database.unwrap_or_else(|| shared.target_database.clone()),
                        schema
                            .ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?,
                    )
                } else {
                    let (relation,): (Value,) = from_args(args).map_err(|e| {
                        usage(e, "adapter.list_relations_without_caching(schema_relation)")
                    })?;
                    let part = |k: &str| attr_str(&relation, k);
                    let schema = part("schema").ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            "adapter.list_relations_without_caching() takes a relation with a schema, e.g. api.Relation.create(database=target.database, schema=target.schema)",
                        )
                    })?;
                    (
                        part("database").unwrap_or_else(|| shared.target_database.clone()),
                        schema,
                    )
                };
                let Some(db) = live(ctx, &format!("adapter.{method}"))? else {
                    return Ok(Value::from(Vec::<Value>::new()));
                };
                Ok(Value::from(
                    db.list_relations(&database, &schema)
                        .map_err(db_error)?
                        .iter()
                        .map(|info| relation_value(ctx, info))
                        .collect::<Vec<_>>(),
                ))
            }
            "check_schema_exists" => {
                let how = "adapter.check_schema_exists(database, schema)";
                let [database, schema] = named_args(args, how, ["database", "schema"])?;
                let database = database.map(|v| v.to_string());
                let schema = schema.map(|v| v.to_string());
                let schema =
                    schema.ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?;
                let Some(db) = live(ctx, "adapter.check_schema_exists")? else {
                    return Ok(Value::from(false));
                };
                let database = database.unwrap_or_else(|| shared.target_database.clone());
                let exists = db.schema_exists(&database, &schema).map_err(db_error)?;
                Ok(Value::from(exists))
            }
            "already_exists" => {
                let how = "adapter.already_exists(schema, name)";
                let [schema, name] = named_args(args, how, ["schema", "name"])?;
                let schema = schema.map(|v| v.to_string());
                let name = name.map(|v| v.to_string());
                let name =
                    name.ok_or_else(|| usage(Error::from(ErrorKind::MissingArgument), how))?;
                let Some(db) = live(ctx, "adapter.already_exists")? else {
                    return Ok(Value::from(false));
                };
                let schema = schema.unwrap_or_else(|| shared.target_schema.clone());
                let found = db
                    .get_relation(&shared.target_database, &schema, &name)
                    .map_err(db_error)?;
                Ok(Value::from(found.is_some()))
            }
            "standardize_grants_dict" => Ok(args.first().cloned().unwrap_or(Value::from(()))),
            _ => Err(not_callable(&format!("adapter has no method '{method}'"))),
        }
    }
}

/// A relation found in the catalog as a Jinja relation, quoted as the project says.
fn relation_value(ctx: &RenderCtx, info: &RelationInfo) -> Value {
    let shared = &ctx.shared;
    let mut r = Relation::new(
        &info.database,
        &info.schema,
        &info.identifier,
        shared.quote_policy,
        shared.adapter.quote_char(),
    );
    r.kind = Some(info.kind.as_str().to_string());
    r.into_value()
}

fn find_relation(
    ctx: &RenderCtx,
    db: &dyn LiveDb,
    database: &str,
    schema: &str,
    identifier: &str,
) -> Result<Value, Error> {
    Ok(db
        .get_relation(database, schema, identifier)
        .map_err(db_error)?
        .map_or(Value::from(()), |info| relation_value(ctx, &info)))
}

/// An attribute of a value as text, if it is set.
fn attr_str(v: &Value, key: &str) -> Option<String> {
    v.get_attr(key)
        .ok()
        .filter(|a| !a.is_none() && !a.is_undefined())
        .map(|a| a.to_string())
}

/// The database, schema and identifier of a relation argument (database and schema default to
/// the target's).
fn relation_parts(
    ctx: &RenderCtx,
    relation: &Value,
    method: &str,
) -> Result<(String, String, String), Error> {
    let identifier = attr_str(relation, "identifier").ok_or_else(|| {
        super::hinted_error(
            ErrorKind::InvalidOperation,
            format!("adapter.{method}() takes a relation, not {}", relation.kind()),
            "pass ref('...'), source('...', '...'), this, or api.Relation.create(schema=..., identifier=...)",
        )
    })?;
    Ok((
        attr_str(relation, "database").unwrap_or_else(|| ctx.shared.target_database.clone()),
        attr_str(relation, "schema").unwrap_or_else(|| ctx.shared.target_schema.clone()),
        identifier,
    ))
}

/// The columns of a relation argument; none when it does not exist.
fn columns_of(
    ctx: &RenderCtx,
    db: &dyn LiveDb,
    relation: &Value,
    method: &str,
) -> Result<Vec<RelationColumn>, Error> {
    let (database, schema, identifier) = relation_parts(ctx, relation, method)?;
    let adapter = ctx.shared.adapter.as_ref();
    Ok(db
        .columns(&database, &schema, &identifier)
        .map_err(db_error)?
        .iter()
        .map(|c: &Column| RelationColumn::new(c, adapter))
        .collect())
}

/// `message`, `code` and `rows_affected` (by position from `pos[0]`, or by keyword) as a response.
fn raw_response(pos: &[Value], kwargs: &Kwargs) -> Result<Value, Error> {
    let message = param_str(pos, kwargs, 0, "message")?;
    let code = param_str(pos, kwargs, 1, "code")?;
    let rows_affected = param(pos, kwargs, 2, "rows_affected")?.and_then(|v| v.as_i64());
    Ok(AdapterResponse {
        message: message.unwrap_or_default(),
        code,
        rows_affected,
    }
    .into_value())
}

//! The relation object (`ref()`, `source()`, `this`, `api.Relation.create()`): a database,
//! schema and identifier that render as the adapter quotes them, e.g. `"dev"."main"."orders"`.

use minijinja::value::{DynObject, Kwargs, Object, Value, from_args};
use minijinja::{Error, ErrorKind, State};
use std::fmt;
use std::sync::Arc;

/// Which parts are quoted / included.
pub use crate::adapter::Policy;

#[derive(Debug, Clone)]
pub struct Relation {
    pub database: Option<String>,
    pub schema: Option<String>,
    pub identifier: Option<String>,
    /// `table`, `view`, `cte`, `external` or none.
    pub kind: Option<String>,
    pub quote_policy: Policy,
    pub include_policy: Policy,
    pub quote_char: char,
    /// When set, the relation renders as this text instead (an ephemeral CTE name or an
    /// external file read).
    pub rendered_override: Option<String>,
    /// `--empty`: a ref or source read through `(select * from x where false limit 0)`.
    pub limit: Option<u64>,
    /// `--sample`: a ref or source read through a filter on its `event_time`.
    pub event_time_filter: Option<EventTimeFilter>,
}

/// A time window on a relation's `event_time` column (dbt's `EventTimeFilter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTimeFilter {
    /// The column, as it appears in SQL.
    pub field: String,
    /// Timestamps as text, inclusive start and exclusive end.
    pub start: Option<String>,
    pub end: Option<String>,
}

impl Relation {
    pub fn new(
        database: &str,
        schema: &str,
        identifier: &str,
        quote_policy: Policy,
        quote_char: char,
    ) -> Self {
        Relation {
            database: Some(database.to_string()),
            schema: Some(schema.to_string()),
            identifier: Some(identifier.to_string()),
            kind: None,
            quote_policy,
            include_policy: Policy::ALL,
            quote_char,
            rendered_override: None,
            limit: None,
            event_time_filter: None,
        }
    }

    fn quote_part(&self, s: &str, quote: bool) -> String {
        if quote {
            let q = self.quote_char;
            let escaped = s.replace(q, &format!("{q}{q}"));
            format!("{q}{escaped}{q}")
        } else {
            s.to_string()
        }
    }

    /// The full name as SQL.
    pub fn render(&self) -> String {
        if let Some(r) = &self.rendered_override {
            return r.clone();
        }
        let mut parts = vec![];
        if self.include_policy.database
            && let Some(d) = self.database.as_deref().filter(|d| !d.is_empty())
        {
            parts.push(self.quote_part(d, self.quote_policy.database));
        }
        if self.include_policy.schema
            && let Some(s) = self.schema.as_deref().filter(|s| !s.is_empty())
        {
            parts.push(self.quote_part(s, self.quote_policy.schema));
        }
        if self.include_policy.identifier
            && let Some(i) = self.identifier.as_deref().filter(|s| !s.is_empty())
        {
            parts.push(self.quote_part(i, self.quote_policy.identifier));
        }
        parts.join(".")
    }

    /// The relation as a ref() or source() writes it into SQL: its name, read through a
    /// zero-row (`--empty`) or limited subquery, then through the `--sample` window, exactly as
    /// dbt renders them. (Neither adapter kiln supports wants an alias on these subqueries,
    /// like dbt-duckdb's and dbt-athena's `require_alias = False`.) [`Relation::render`] stays
    /// the bare name, as `relation.render()` does in dbt.
    pub fn render_for_sql(&self) -> String {
        let mut out = self.render();
        match self.limit {
            None => {}
            Some(0) => out = format!("(select * from {out} where false limit 0)"),
            Some(n) => out = format!("(select * from {out} limit {n})"),
        }
        if let Some(f) = &self.event_time_filter {
            let field = &f.field;
            let condition = match (&f.start, &f.end) {
                (Some(s), Some(e)) => format!("{field} >= '{s}' and {field} < '{e}'"),
                (Some(s), None) => format!("{field} >= '{s}'"),
                (None, Some(e)) => format!("{field} < '{e}'"),
                (None, None) => String::new(),
            };
            if !condition.is_empty() {
                out = format!("(select * from {out} where {condition})");
            }
        }
        out
    }

    fn with_policy(&self, kwargs: &Kwargs, base: Policy) -> Result<Policy, Error> {
        let mut p = base;
        if let Some(v) = kwargs.get::<Option<bool>>("database")? {
            p.database = v;
        }
        if let Some(v) = kwargs.get::<Option<bool>>("schema")? {
            p.schema = v;
        }
        if let Some(v) = kwargs.get::<Option<bool>>("identifier")? {
            p.identifier = v;
        }
        Ok(p)
    }

    pub fn into_value(self) -> Value {
        Value::from_object(self)
    }
}

fn opt(v: &Option<String>) -> Value {
    v.as_ref()
        .map_or(Value::from(()), |s| Value::from(s.clone()))
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// The class name of an adapter's relations in dbt (`DuckDBRelation`, `AthenaRelation`).
pub fn relation_class(adapter_type: &str) -> String {
    match adapter_type {
        "duckdb" => "DuckDBRelation".into(),
        "" => "BaseRelation".into(),
        other => {
            let mut c = other.chars();
            let first = c.next().map(|f| f.to_uppercase().collect::<String>());
            format!("{}{}Relation", first.unwrap_or_default(), c.as_str())
        }
    }
}

impl Object for Relation {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "database" => opt(&self.database),
            "schema" => opt(&self.schema),
            "identifier" | "name" | "table" => opt(&self.identifier),
            "type" => opt(&self.kind),
            "is_table" => Value::from(self.kind.as_deref() == Some("table")),
            "is_view" => Value::from(self.kind.as_deref() == Some("view")),
            "is_cte" => Value::from(self.kind.as_deref() == Some("cte")),
            "is_materialized_view" => {
                Value::from(self.kind.as_deref() == Some("materialized_view"))
            }
            "quote_policy" => Value::from_pairs([
                ("database", self.quote_policy.database),
                ("schema", self.quote_policy.schema),
                ("identifier", self.quote_policy.identifier),
            ]),
            "path" => Value::from_pairs([
                ("database", opt(&self.database)),
                ("schema", opt(&self.schema)),
                ("identifier", opt(&self.identifier)),
            ]),
            _ => return None,
        })
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_for_sql())
    }

    /// Two relations are equal when they name the same thing (dbt compares and hashes
    /// relations by their rendered name), so they can key a dict.
    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<std::cmp::Ordering> {
        let other = other.downcast_ref::<Relation>()?;
        Some(self.render_for_sql().cmp(&other.render_for_sql()))
    }

    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "render" => Ok(Value::from(Relation::render(self))),
            // dbt's relations are mappings: `get` reads a field, and `metadata` names the
            // adapter's relation class, which dbt_utils' `_is_relation` checks.
            "get" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                if key.as_str() == Some("metadata") {
                    let adapter = state
                        .lookup("target")
                        .and_then(|t| t.get_attr("type").ok())
                        .map(|t| t.to_string())
                        .unwrap_or_default();
                    return Ok(Value::from_pairs([("type", relation_class(&adapter))]));
                }
                Ok(self
                    .get_value(&key)
                    .or(default)
                    .unwrap_or_else(|| Value::from(())))
            }
            "include" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let mut r = (**self).clone();
                r.include_policy = self.with_policy(&kwargs, self.include_policy)?;
                Ok(r.into_value())
            }
            "quote" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let mut r = (**self).clone();
                r.quote_policy = self.with_policy(&kwargs, self.quote_policy)?;
                Ok(r.into_value())
            }
            "without_identifier" => {
                let mut r = (**self).clone();
                r.include_policy.identifier = false;
                Ok(r.into_value())
            }
            "incorporate" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let mut r = (**self).clone();
                if let Some(path) = kwargs.get::<Option<Value>>("path")? {
                    for (key, slot) in [
                        ("database", &mut r.database),
                        ("schema", &mut r.schema),
                        ("identifier", &mut r.identifier),
                    ] {
                        if let Ok(v) = path.get_attr(key)
                            && !v.is_undefined()
                        {
                            *slot = if v.is_none() {
                                None
                            } else {
                                Some(v.to_string())
                            };
                        }
                    }
                }
                if let Some(t) = kwargs.get::<Option<String>>("type")? {
                    r.kind = Some(t);
                }
                r.rendered_override = None;
                Ok(r.into_value())
            }
            "replace_path" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let mut r = (**self).clone();
                for key in ["database", "schema", "identifier"] {
                    if let Some(v) = kwargs.get::<Option<String>>(key)? {
                        match key {
                            "database" => r.database = Some(v),
                            "schema" => r.schema = Some(v),
                            _ => r.identifier = Some(v),
                        }
                    }
                }
                r.rendered_override = None;
                Ok(r.into_value())
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("relations have no method '{method}'"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel() -> Relation {
        Relation::new("dev", "main", "events", Policy::ALL, '"')
    }

    #[test]
    fn empty_and_sample_render_as_dbt_does() {
        let mut r = rel();
        assert_eq!(r.render_for_sql(), r#""dev"."main"."events""#);
        r.limit = Some(0);
        assert_eq!(
            r.render_for_sql(),
            r#"(select * from "dev"."main"."events" where false limit 0)"#
        );
        r.event_time_filter = Some(EventTimeFilter {
            field: "occurred_at".into(),
            start: Some("2024-07-01 00:00:00+00:00".into()),
            end: Some("2024-07-08 00:00:00+00:00".into()),
        });
        assert_eq!(
            r.render_for_sql(),
            r#"(select * from (select * from "dev"."main"."events" where false limit 0) where occurred_at >= '2024-07-01 00:00:00+00:00' and occurred_at < '2024-07-08 00:00:00+00:00')"#
        );
        // `.render()` and the parts stay the bare relation.
        assert_eq!(r.render(), r#""dev"."main"."events""#);
        r.limit = Some(10);
        r.event_time_filter = None;
        assert_eq!(
            r.render_for_sql(),
            r#"(select * from "dev"."main"."events" limit 10)"#
        );
    }
}

//! The parse phase of dbt's context: a render that learns what a node needs without a
//! database. `ref()`, `source()` and `config()` record their calls (dbt's `refs`, `sources` and
//! config) and give placeholders; `execute` is false; statements run nothing and what they would
//! have stored is a placeholder, as in dbt.

use super::context::{LiveDb, PhaseRules, RenderCtx};
use super::table::ParsePlaceholder;
use crate::project::RefCall;
use crate::project::config::{Config, merge_into};
use minijinja::value::Value;
use minijinja::{Error, ErrorKind};
use serde_json::Value as Json;
use std::sync::Arc;

/// Rendering every node once to record its refs, sources and config calls.
#[derive(Debug)]
pub(super) struct ParsePhase;

impl PhaseRules for ParsePhase {
    fn executes(&self) -> bool {
        false
    }

    fn ref_relation(&self, ctx: &Arc<RenderCtx>, r: RefCall) -> Result<Value, Error> {
        let rel = ctx.shared.placeholder(&ctx.shared.target_schema, &r.name);
        // Every call is kept, repeats included, as dbt lists a node's `refs`.
        ctx.with_rec(|rec| rec.refs.push(r))?;
        Ok(rel.into_value())
    }

    fn source_relation(&self, ctx: &Arc<RenderCtx>, s: String, t: String) -> Result<Value, Error> {
        let rel = ctx.shared.placeholder(&s, &t);
        // Every call is kept, repeats included, as dbt lists a node's `sources`.
        ctx.with_rec(|rec| rec.sources.push((s, t)))?;
        Ok(rel.into_value())
    }

    /// `config(materialized='table', ...)`: one more layer of the node's config.
    fn config_call(&self, ctx: &RenderCtx, args: &[Value]) -> Result<Value, Error> {
        let mut layer = Config::new();
        for a in args {
            let j = super::functions::to_json_value(a)?;
            if let Json::Object(m) = j {
                for (k, v) in m {
                    layer.insert(k, v);
                }
            } else if !a.is_none() {
                return Err(super::hinted_error(
                    ErrorKind::InvalidOperation,
                    "config() takes keyword arguments",
                    "write each setting as name=value, e.g. config(materialized='table')",
                ));
            }
        }
        ctx.with_rec(|r| {
            merge_into(&mut r.config, &layer);
            r.config_calls.push(layer);
        })?;
        Ok(Value::from(""))
    }

    /// The node's config with what its `config()` calls said so far.
    fn node_config(&self, ctx: &RenderCtx) -> Config {
        let mut c = ctx
            .node
            .as_ref()
            .map(|n| n.config.clone())
            .unwrap_or_default();
        if let Ok(r) = ctx.rec.lock() {
            merge_into(&mut c, &r.config);
        }
        c
    }

    fn database(&self, _ctx: &RenderCtx, _what: &str) -> Result<Option<Arc<dyn LiveDb>>, Error> {
        Ok(None)
    }

    /// Parsing runs no statement: what it would have stored is a placeholder.
    fn unstored_result(&self) -> Value {
        ParsePlaceholder::value()
    }

    fn is_incremental(&self, _ctx: &RenderCtx) -> bool {
        false
    }
}

//! Connections shared by template rendering: `run_query` and friends borrow an idle connection
//! (or open one), use it, and give it back.

use super::{Adapter, Column, Connection, DbError, RelationInfo, Rows};
use std::sync::{Arc, Mutex};

/// The live database behind `run_query`, `statement`, `adapter.execute` and the adapter's
/// catalog methods while a command that connects (run, build, show...) renders templates.
pub trait LiveDb: Send + Sync + std::fmt::Debug {
    /// Runs SQL and returns its rows (empty for statements without a result).
    fn query(&self, sql: &str) -> Result<Rows, DbError>;
    fn get_relation(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<RelationInfo>, DbError>;
    fn columns(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Vec<Column>, DbError>;
    fn list_relations(&self, database: &str, schema: &str) -> Result<Vec<RelationInfo>, DbError>;
    /// Whether the schema exists (`adapter.check_schema_exists`).
    fn schema_exists(&self, database: &str, schema: &str) -> Result<bool, DbError>;
    /// How many rows a statement that returned `rows` changed, as the engine says.
    fn rows_affected(&self, rows: &Rows) -> Option<i64>;
}

#[derive(Debug)]
pub struct Pool {
    adapter: Arc<dyn Adapter>,
    idle: Mutex<Vec<Box<dyn Connection>>>,
}

impl std::fmt::Debug for dyn Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connection")
    }
}

impl Pool {
    pub fn new(adapter: Arc<dyn Adapter>) -> Self {
        Pool {
            adapter,
            idle: Mutex::new(vec![]),
        }
    }

    /// Runs `f` on an idle connection (opening one when none is idle).
    pub fn with<R>(
        &self,
        f: impl FnOnce(&mut dyn Connection) -> Result<R, DbError>,
    ) -> Result<R, DbError> {
        let taken = self.idle.lock().ok().and_then(|mut v| v.pop());
        let mut conn = match taken {
            Some(c) => c,
            None => self.adapter.connect()?,
        };
        let out = f(conn.as_mut());
        if let Ok(mut v) = self.idle.lock() {
            v.push(conn);
        }
        out
    }
}

impl LiveDb for Pool {
    fn query(&self, sql: &str) -> Result<Rows, DbError> {
        self.with(|c| c.query(sql))
    }

    fn get_relation(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<RelationInfo>, DbError> {
        self.with(|c| c.get_relation(database, schema, identifier))
    }

    fn columns(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Vec<Column>, DbError> {
        self.with(|c| c.columns(database, schema, identifier))
    }

    fn list_relations(&self, database: &str, schema: &str) -> Result<Vec<RelationInfo>, DbError> {
        self.with(|c| c.list_relations(database, schema))
    }

    fn schema_exists(&self, database: &str, schema: &str) -> Result<bool, DbError> {
        self.with(|c| c.schema_exists(database, schema))
    }

    fn rows_affected(&self, rows: &Rows) -> Option<i64> {
        self.adapter.rows_affected(rows)
    }
}

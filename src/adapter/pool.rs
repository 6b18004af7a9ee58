//! Connections shared by template rendering: `run_query` and friends borrow an idle connection
//! (or open one), use it, and give it back.

use super::{Adapter, Column, Connection, DbError, RelationInfo, Rows};
use crate::jinja::context::LiveDb;
use std::sync::{Arc, Mutex};

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
}

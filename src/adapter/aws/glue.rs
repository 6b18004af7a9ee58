//! The Glue Data Catalog: databases (dbt's schemas) and tables. The Athena adapter lists and
//! inspects relations here, never through `information_schema` (slow on big catalogs:
//! Tomme/dbt-athena#79), and renames or swaps Hive tables with `UpdateTable` (Athena cannot
//! rename them in SQL).

use super::error::{AwsError, AwsErrorKind, Op, Service};
use super::{AwsClient, Idempotent};
use crate::adapter::Column;
use aws_sdk_athena::config::http::HttpResponse;
use aws_sdk_athena::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_glue::types::{
    BatchUpdatePartitionRequestEntry, DatabaseInput, ErrorDetail, Partition, PartitionInput,
    PartitionValueList, Table,
};
use std::collections::BTreeMap;
use std::future::Future;

pub use aws_sdk_glue::types::TableInput;

const fn op(name: &'static str) -> Op {
    Op {
        service: Service::Glue,
        name,
    }
}

/// What registers `p` again: its values, storage descriptor (location) and parameters.
fn partition_input(p: &Partition) -> PartitionInput {
    PartitionInput::builder()
        .set_values(Some(p.values().to_vec()))
        .set_storage_descriptor(p.storage_descriptor().cloned())
        .set_parameters(p.parameters().cloned())
        .build()
}

/// What a batch partition call (`name`) answers when Glue refused `count` of its partitions
/// (`first`: the first's values and Glue's reason): an error saying how many it did not
/// `verb` ("register", "update"), and which first and why; none refused, `Ok`.
fn refused(
    name: &'static str,
    verb: &str,
    (database, table): (&str, &str),
    count: usize,
    first: Option<(&[String], Option<&ErrorDetail>)>,
) -> Result<(), AwsError> {
    let Some((values, detail)) = first else {
        return Ok(());
    };
    Err(AwsError::new(
        AwsErrorKind::Other,
        op(name),
        format!(
            "Glue did not {verb} {count} partition(s) of {database}.{table}; first ({}): {}",
            values.join("/"),
            detail
                .and_then(|d| d.error_message())
                .unwrap_or("no reason given")
        ),
    ))
}

/// A Glue call that takes partitions in batches: its name, whether it may be sent again, and
/// how many partitions one call takes at most (Glue's limit).
struct BatchCall {
    name: &'static str,
    idempotent: Idempotent,
    size: usize,
}

/// A Glue database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlueDatabase {
    pub name: String,
    pub location_uri: Option<String>,
    pub description: Option<String>,
}

/// What a Glue table is, as the adapter tells relations apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// A Hive table (`EXTERNAL_TABLE`, or anything not below).
    Table,
    /// An Iceberg table (`Parameters.table_type = ICEBERG`).
    Iceberg,
    /// A view (`VIRTUAL_VIEW`).
    View,
}

/// A Glue table as `GetTable`/`GetTables` return it.
#[derive(Debug, Clone, PartialEq)]
pub struct GlueTable {
    table: Table,
}

impl GlueTable {
    /// A table as the SDK describes it (what `GetTable`/`GetTables` return, or one built in a
    /// test).
    pub fn from_sdk(table: Table) -> GlueTable {
        GlueTable { table }
    }

    pub fn name(&self) -> &str {
        self.table.name()
    }

    pub fn database(&self) -> Option<&str> {
        self.table.database_name()
    }

    pub fn kind(&self) -> TableKind {
        let iceberg = self
            .table
            .parameters()
            .and_then(|p| p.get("table_type"))
            .is_some_and(|t| t.eq_ignore_ascii_case("ICEBERG"));
        match self.table.table_type() {
            Some("VIRTUAL_VIEW") => TableKind::View,
            _ if iceberg => TableKind::Iceberg,
            _ => TableKind::Table,
        }
    }

    /// The table's data location (`StorageDescriptor.Location`).
    pub fn location(&self) -> Option<&str> {
        self.table.storage_descriptor().and_then(|s| s.location())
    }

    /// The data columns, then the partition columns, as Athena shows them. Glue's type names
    /// are lower case (`bigint`, `decimal(18,2)`); kiln's are upper case.
    pub fn columns(&self) -> Vec<Column> {
        let data = self
            .table
            .storage_descriptor()
            .map(|s| s.columns())
            .unwrap_or_default();
        data.iter()
            .chain(self.table.partition_keys())
            .map(|c| Column {
                name: c.name().to_string(),
                data_type: c.r#type().unwrap_or("").to_ascii_uppercase(),
                comment: c.comment().map(str::to_string),
            })
            .collect()
    }

    pub fn partition_keys(&self) -> Vec<&str> {
        self.table
            .partition_keys()
            .iter()
            .map(|c| c.name())
            .collect()
    }

    /// The table's parameters, sorted.
    pub fn parameters(&self) -> BTreeMap<&str, &str> {
        self.table
            .parameters()
            .map(|p| p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
            .unwrap_or_default()
    }

    /// Glue's version of the table (`UpdateTable` makes a new one).
    pub fn version_id(&self) -> Option<&str> {
        self.table.version_id()
    }

    /// The SDK's table, for what this type does not expose.
    pub fn sdk(&self) -> &Table {
        &self.table
    }

    /// This table's definition under another name, for `UpdateTable` (a swap points a table at
    /// a freshly built one's data: dbt-athena's `swap_table` copies the storage descriptor,
    /// partition keys, table type, parameters and description) or `CreateTable` (a rename).
    pub fn to_input(&self, name: &str) -> Result<TableInput, AwsError> {
        let t = &self.table;
        TableInput::builder()
            .name(name)
            .set_description(t.description().map(str::to_string))
            .set_owner(t.owner().map(str::to_string))
            .set_storage_descriptor(t.storage_descriptor().cloned())
            .set_partition_keys(Some(t.partition_keys().to_vec()))
            .set_table_type(t.table_type().map(str::to_string))
            .set_parameters(t.parameters().cloned())
            .set_view_original_text(t.view_original_text().map(str::to_string))
            .set_view_expanded_text(t.view_expanded_text().map(str::to_string))
            .build()
            .map_err(|e| {
                AwsError::new(
                    AwsErrorKind::Config,
                    op("UpdateTable"),
                    format!("cannot describe table {name} for Glue: {e}"),
                )
            })
    }
}

impl AwsClient {
    /// A database, or `None` when it does not exist.
    pub fn get_database(&self, name: &str) -> Result<Option<GlueDatabase>, AwsError> {
        let glue = &self.inner.glue;
        let out = self.block_on(self.call(op("GetDatabase"), Idempotent::Yes, None, || {
            glue.get_database().name(name).send()
        }));
        match out {
            Ok(out) => Ok(out.database().map(|d| GlueDatabase {
                name: d.name().to_string(),
                location_uri: d.location_uri().map(str::to_string),
                description: d.description().map(str::to_string),
            })),
            Err(e) if e.kind == AwsErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a database; `Ok(false)` when it existed already (dbt's `create schema if not
    /// exists`).
    pub fn create_database(&self, name: &str, location: Option<&str>) -> Result<bool, AwsError> {
        let input = DatabaseInput::builder()
            .name(name)
            .set_location_uri(location.map(str::to_string))
            .build()
            .map_err(|e| {
                AwsError::new(AwsErrorKind::Config, op("CreateDatabase"), e.to_string())
            })?;
        let glue = &self.inner.glue;
        let out = self.block_on(self.call(op("CreateDatabase"), Idempotent::No, None, || {
            glue.create_database().database_input(input.clone()).send()
        }));
        match out {
            Ok(_) => Ok(true),
            Err(e) if e.kind == AwsErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes a database from the catalog (Glue also drops its tables' entries; their data
    /// stays in S3); `Ok(false)` when there was no such database.
    pub fn delete_database(&self, name: &str) -> Result<bool, AwsError> {
        let glue = &self.inner.glue;
        let out = self.block_on(self.call(op("DeleteDatabase"), Idempotent::No, None, || {
            glue.delete_database().name(name).send()
        }));
        match out {
            Ok(_) => Ok(true),
            Err(e) if e.kind == AwsErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A table (or view), or `None` when it (or its database) does not exist.
    pub fn get_table(&self, database: &str, name: &str) -> Result<Option<GlueTable>, AwsError> {
        let glue = &self.inner.glue;
        let out = self.block_on(self.call(op("GetTable"), Idempotent::Yes, None, || {
            glue.get_table().database_name(database).name(name).send()
        }));
        match out {
            Ok(out) => Ok(out.table().map(|t| GlueTable { table: t.clone() })),
            Err(e) if e.kind == AwsErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every table and view of a database, all pages of `GetTables`.
    pub fn get_tables(&self, database: &str) -> Result<Vec<GlueTable>, AwsError> {
        let glue = &self.inner.glue;
        let mut tables = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self.block_on(self.call(op("GetTables"), Idempotent::Yes, None, || {
                glue.get_tables()
                    .database_name(database)
                    .set_next_token(token.clone())
                    .send()
            }))?;
            tables.extend(
                out.table_list()
                    .iter()
                    .map(|t| GlueTable { table: t.clone() }),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(tables)
    }

    /// Creates a table from its definition.
    pub fn create_table(&self, database: &str, input: &TableInput) -> Result<(), AwsError> {
        let glue = &self.inner.glue;
        self.block_on(self.call(op("CreateTable"), Idempotent::No, None, || {
            glue.create_table()
                .database_name(database)
                .table_input(input.clone())
                .send()
        }))?;
        Ok(())
    }

    /// Replaces a table's definition (its name is `input`'s). Sending the same definition
    /// twice leaves the same table, so transient failures are retried.
    pub fn update_table(&self, database: &str, input: &TableInput) -> Result<(), AwsError> {
        let glue = &self.inner.glue;
        self.block_on(self.call(op("UpdateTable"), Idempotent::Yes, None, || {
            glue.update_table()
                .database_name(database)
                .table_input(input.clone())
                .send()
        }))?;
        Ok(())
    }

    /// Deletes a table from the catalog (its data stays in S3); `Ok(false)` when there was no
    /// such table.
    pub fn delete_table(&self, database: &str, name: &str) -> Result<bool, AwsError> {
        let glue = &self.inner.glue;
        let out = self.block_on(self.call(op("DeleteTable"), Idempotent::No, None, || {
            glue.delete_table()
                .database_name(database)
                .name(name)
                .send()
        }));
        match out {
            Ok(_) => Ok(true),
            Err(e) if e.kind == AwsErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every partition of a table (all pages of `GetPartitions`).
    pub fn get_partitions(&self, database: &str, table: &str) -> Result<Vec<Partition>, AwsError> {
        let glue = &self.inner.glue;
        let mut parts = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out =
                self.block_on(self.call(op("GetPartitions"), Idempotent::Yes, None, || {
                    glue.get_partitions()
                        .database_name(database)
                        .table_name(table)
                        .set_next_token(token.clone())
                        .send()
                }))?;
            parts.extend(out.partitions().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(parts)
    }

    /// One Glue call per `call.size` partitions: `input` makes a batch's request body once,
    /// `send` sends it (again on a retry), `check` reads the answer (an error stops the
    /// batches after it).
    fn partition_batches<I, T, E, Fut>(
        &self,
        call: BatchCall,
        partitions: &[Partition],
        input: impl Fn(&[Partition]) -> I,
        send: impl Fn(I) -> Fut,
        check: impl Fn(&T) -> Result<(), AwsError>,
    ) -> Result<(), AwsError>
    where
        I: Clone,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        for batch in partitions.chunks(call.size) {
            let body = input(batch);
            let out = self
                .block_on(self.call(op(call.name), call.idempotent, None, || send(body.clone())))?;
            check(&out)?;
        }
        Ok(())
    }

    /// Registers partitions (100 per `BatchCreatePartition`, Glue's limit); any partition
    /// Glue refuses is an error naming it.
    pub fn create_partitions(
        &self,
        database: &str,
        table: &str,
        partitions: &[Partition],
    ) -> Result<(), AwsError> {
        let glue = &self.inner.glue;
        self.partition_batches(
            BatchCall {
                name: "BatchCreatePartition",
                idempotent: Idempotent::No,
                size: 100,
            },
            partitions,
            |batch| batch.iter().map(partition_input).collect::<Vec<_>>(),
            |inputs| {
                glue.batch_create_partition()
                    .database_name(database)
                    .table_name(table)
                    .set_partition_input_list(Some(inputs))
                    .send()
            },
            |out| {
                let first = out.errors().first();
                let first = first.map(|e| (e.partition_values(), e.error_detail()));
                refused(
                    "BatchCreatePartition",
                    "register",
                    (database, table),
                    out.errors().len(),
                    first,
                )
            },
        )
    }

    /// Points existing partitions at new definitions (100 per `BatchUpdatePartition`, Glue's
    /// limit): each `(values, partition)` replaces the entry of those values with the
    /// partition's storage descriptor (its location) and parameters, one partition at a time
    /// atomically, so a reader sees the old or the new folder, never none. Any partition Glue
    /// refuses is an error naming it.
    pub fn update_partitions(
        &self,
        database: &str,
        table: &str,
        partitions: &[Partition],
    ) -> Result<(), AwsError> {
        let glue = &self.inner.glue;
        self.partition_batches(
            BatchCall {
                name: "BatchUpdatePartition",
                idempotent: Idempotent::Yes,
                size: 100,
            },
            partitions,
            |batch| {
                batch
                    .iter()
                    .filter_map(|p| {
                        BatchUpdatePartitionRequestEntry::builder()
                            .set_partition_value_list(Some(p.values().to_vec()))
                            .partition_input(partition_input(p))
                            .build()
                            .ok()
                    })
                    .collect::<Vec<_>>()
            },
            |entries| {
                glue.batch_update_partition()
                    .database_name(database)
                    .table_name(table)
                    .set_entries(Some(entries))
                    .send()
            },
            |out| {
                let first = out.errors().first();
                let first = first.map(|e| (e.partition_value_list(), e.error_detail()));
                refused(
                    "BatchUpdatePartition",
                    "update",
                    (database, table),
                    out.errors().len(),
                    first,
                )
            },
        )
    }

    /// Removes partitions from the catalog (25 per `BatchDeletePartition`, Glue's limit);
    /// their files stay.
    pub fn delete_partitions(
        &self,
        database: &str,
        table: &str,
        partitions: &[Partition],
    ) -> Result<(), AwsError> {
        let glue = &self.inner.glue;
        self.partition_batches(
            BatchCall {
                name: "BatchDeletePartition",
                idempotent: Idempotent::Yes,
                size: 25,
            },
            partitions,
            |batch| {
                batch
                    .iter()
                    .filter_map(|p| {
                        PartitionValueList::builder()
                            .set_values(Some(p.values().to_vec()))
                            .build()
                            .ok()
                    })
                    .collect::<Vec<_>>()
            },
            |values| {
                glue.batch_delete_partition()
                    .database_name(database)
                    .table_name(table)
                    .set_partitions_to_delete(Some(values))
                    .send()
            },
            |_| Ok(()),
        )
    }

    /// The ids of every version Glue keeps of a table (all pages of `GetTableVersions`),
    /// newest first (Glue numbers versions upwards from 0).
    pub fn get_table_versions(&self, database: &str, table: &str) -> Result<Vec<String>, AwsError> {
        let glue = &self.inner.glue;
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out =
                self.block_on(
                    self.call(op("GetTableVersions"), Idempotent::Yes, None, || {
                        glue.get_table_versions()
                            .database_name(database)
                            .table_name(table)
                            .set_next_token(token.clone())
                            .send()
                    }),
                )?;
            ids.extend(
                out.table_versions()
                    .iter()
                    .filter_map(|v| v.version_id().map(str::to_string)),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        ids.sort_by_key(|v| std::cmp::Reverse(v.parse::<u64>().unwrap_or(0)));
        Ok(ids)
    }

    /// Deletes one old version of a table's definition (never its data); one at a time, as
    /// `BatchDeleteTableVersion` is not in every emulator.
    pub fn delete_table_version(
        &self,
        database: &str,
        table: &str,
        version: &str,
    ) -> Result<(), AwsError> {
        let glue = &self.inner.glue;
        self.block_on(
            self.call(op("DeleteTableVersion"), Idempotent::Yes, None, || {
                glue.delete_table_version()
                    .database_name(database)
                    .table_name(table)
                    .version_id(version)
                    .send()
            }),
        )?;
        Ok(())
    }
}

//! Athena queries: start (with kiln's idempotency token), wait (polling, cancelling on
//! interrupt), and read the results (paged, typed by Athena's column metadata).

use super::error::{AthenaErrorInfo, AwsError, AwsErrorKind, Op, Service};
use super::{AwsClient, Idempotent, cells};
use crate::adapter::Rows;
use aws_sdk_athena::types::{QueryExecutionContext, ResultConfiguration};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const START: Op = op("StartQueryExecution");
const GET: Op = op("GetQueryExecution");
const STOP: Op = op("StopQueryExecution");
const RESULTS: Op = op("GetQueryResults");

const fn op(name: &'static str) -> Op {
    Op {
        service: Service::Athena,
        name,
    }
}

/// How often a waiting loop looks at the stop flag, at most.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// Athena's `ClientRequestToken`: the same token on every attempt of one logical statement, so
/// that a retry after a lost response returns the query already started instead of starting a
/// second one. Athena requires 32 to 128 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestToken(String);

impl RequestToken {
    /// The token of one step of one node in one run: deterministic, so every retry of the step
    /// (by the SDK call loop, or by the runner after a crash in the same run) sends the same.
    pub fn for_step(invocation_id: &str, node_id: &str, step: &str) -> Self {
        let mut h = Sha256::new();
        for part in [invocation_id, node_id, step] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        let digest = h.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        RequestToken(format!("kiln-{hex}"))
    }

    /// A token given whole (32 to 128 characters, as Athena requires).
    pub fn new(token: impl Into<String>) -> Option<Self> {
        let t = token.into();
        (32..=128).contains(&t.len()).then_some(RequestToken(t))
    }

    /// The token of the `n`th re-run of the statement (after an `ICEBERG_COMMIT_ERROR`): a new
    /// query, so a new token, still deterministic.
    pub fn rerun(&self, n: u32) -> Self {
        RequestToken::for_step(&self.0, "rerun", &n.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Athena's id of a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueryId(pub String);

impl fmt::Display for QueryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a query runs: the catalog (`awsdatacatalog` unless the profile says otherwise) and the
/// default database (schema) for unqualified names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryContext {
    pub catalog: Option<String>,
    pub database: Option<String>,
}

/// A query that finished successfully.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryExecution {
    pub id: QueryId,
    /// `DDL`, `DML` or `UTILITY`.
    pub statement_type: Option<String>,
    /// `SELECT`, `CREATE_TABLE_AS_SELECT`, `EXPLAIN`...
    pub substatement_type: Option<String>,
    pub data_scanned_bytes: Option<i64>,
    /// Where Athena wrote the result file.
    pub output_location: Option<String>,
}

impl QueryExecution {
    /// Whether the first row of the results repeats the column names (SELECTs do; DDL,
    /// utility statements and EXPLAIN do not), as dbt-athena decides it.
    pub fn has_header_row(&self) -> bool {
        self.statement_type.as_deref() == Some("DML")
            && self.substatement_type.as_deref() != Some("EXPLAIN")
    }
}

impl AwsClient {
    /// Starts one statement. The same `token` must be passed again for any retry of the same
    /// statement (this call already retries throttling and lost responses with it).
    pub fn start_query(
        &self,
        sql: &str,
        context: &QueryContext,
        token: &RequestToken,
    ) -> Result<QueryId, AwsError> {
        let settings = self.settings();
        let ctx = QueryExecutionContext::builder()
            .set_catalog(
                context
                    .catalog
                    .clone()
                    .or_else(|| Some(settings.catalog.clone())),
            )
            .set_database(context.database.clone())
            .build();
        let result_conf = settings
            .s3_staging_dir
            .as_ref()
            .map(|dir| ResultConfiguration::builder().output_location(dir).build());
        let athena = &self.inner.athena;
        let out = self.block_on(self.call(START, Idempotent::Yes, None, || {
            athena
                .start_query_execution()
                .query_string(sql)
                .client_request_token(token.as_str())
                .query_execution_context(ctx.clone())
                .set_work_group(settings.work_group.clone())
                .set_result_configuration(result_conf.clone())
                .send()
        }))?;
        let id = out.query_execution_id().ok_or_else(|| {
            AwsError::new(
                AwsErrorKind::Other,
                START,
                "Athena answered without a query execution id",
            )
        })?;
        Ok(QueryId(id.to_string()))
    }

    /// Polls a query every `poll_interval` until it finishes. `stop` is the caller's interrupt
    /// flag: when it is raised, the query is cancelled (`StopQueryExecution`) and this returns a
    /// [`AwsErrorKind::Cancelled`] error. Throttled polls are retried; the query is never
    /// started again.
    pub fn wait(&self, id: &QueryId, stop: &AtomicBool) -> Result<QueryExecution, AwsError> {
        let athena = &self.inner.athena;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Err(self.cancel(id));
            }
            let out = self.block_on(self.call(GET, Idempotent::Yes, Some(&id.0), || {
                athena
                    .get_query_execution()
                    .query_execution_id(&id.0)
                    .send()
            }))?;
            let Some(qe) = out.query_execution() else {
                return Err(AwsError::new(
                    AwsErrorKind::Other,
                    GET,
                    "Athena answered without the query execution",
                )
                .with_query_id(&id.0));
            };
            let status = qe.status();
            let state = status.and_then(|s| s.state()).map(|s| s.as_str());
            match state {
                Some("SUCCEEDED") => {
                    return Ok(QueryExecution {
                        id: id.clone(),
                        statement_type: qe.statement_type().map(|t| t.as_str().to_string()),
                        substatement_type: qe.substatement_type().map(str::to_string),
                        data_scanned_bytes: qe.statistics().and_then(|s| s.data_scanned_in_bytes()),
                        output_location: qe
                            .result_configuration()
                            .and_then(|r| r.output_location())
                            .map(str::to_string),
                    });
                }
                Some("FAILED") => {
                    let reason = status
                        .and_then(|s| s.state_change_reason())
                        .or_else(|| {
                            status
                                .and_then(|s| s.athena_error())
                                .and_then(|e| e.error_message())
                        })
                        .unwrap_or("no reason given");
                    let mut err = AwsError::new(
                        AwsErrorKind::QueryFailed,
                        GET,
                        self.redactor().redact(reason),
                    )
                    .with_query_id(&id.0);
                    err.athena_error =
                        status
                            .and_then(|s| s.athena_error())
                            .map(|e| AthenaErrorInfo {
                                category: e.error_category(),
                                error_type: e.error_type(),
                                retryable: e.retryable(),
                            });
                    return Err(err);
                }
                Some("CANCELLED") => {
                    let reason = status
                        .and_then(|s| s.state_change_reason())
                        .unwrap_or("cancelled outside kiln");
                    return Err(AwsError::new(
                        AwsErrorKind::Cancelled,
                        GET,
                        self.redactor().redact(reason),
                    )
                    .with_query_id(&id.0));
                }
                // QUEUED, RUNNING (or a state added later): wait and ask again.
                _ => {}
            }
            if self.pause(self.settings().poll_interval, stop) {
                return Err(self.cancel(id));
            }
        }
    }

    /// Sleeps up to `d`, returning early (true) when `stop` is raised.
    fn pause(&self, d: Duration, stop: &AtomicBool) -> bool {
        let mut left = d;
        while !left.is_zero() {
            if stop.load(Ordering::Relaxed) {
                return true;
            }
            let step = left.min(STOP_CHECK);
            std::thread::sleep(step);
            left -= step;
        }
        stop.load(Ordering::Relaxed)
    }

    /// Cancels a query after an interrupt; the error says so (and whether the stop failed).
    fn cancel(&self, id: &QueryId) -> AwsError {
        let athena = &self.inner.athena;
        let stopped = self.block_on(self.call(STOP, Idempotent::Yes, Some(&id.0), || {
            athena
                .stop_query_execution()
                .query_execution_id(&id.0)
                .send()
        }));
        let message = match stopped {
            Ok(_) => "interrupted; kiln stopped the query".to_string(),
            Err(e) => format!("interrupted; stopping the query failed: {e}"),
        };
        AwsError::new(AwsErrorKind::Cancelled, STOP, message).with_query_id(&id.0)
    }

    /// Starts a statement and waits for it; a statement that fails with
    /// `ICEBERG_COMMIT_ERROR` (another writer committed first) runs again, up to
    /// `num_iceberg_retries` times, each with a token of its own ([`RequestToken::rerun`]).
    /// Other failures are returned as they are: whether a failed statement may be run again
    /// (a CTAS into a location it may have written to may not) is the caller's decision.
    pub fn execute(
        &self,
        sql: &str,
        context: &QueryContext,
        token: &RequestToken,
        stop: &AtomicBool,
    ) -> Result<QueryExecution, AwsError> {
        let mut rerun = 0;
        loop {
            let t = if rerun == 0 {
                token.clone()
            } else {
                token.rerun(rerun)
            };
            let id = self.start_query(sql, context, &t)?;
            match self.wait(&id, stop) {
                Err(e)
                    if e.is_iceberg_commit_conflict()
                        && rerun < self.settings().num_iceberg_retries =>
                {
                    rerun += 1;
                    let d = super::backoff_delay(self.settings().backoff, rerun);
                    crate::events::Event::new(
                        crate::events::kinds::ADAPTER_EVENT_DEBUG,
                        format!(
                            "{e}; running it again ({rerun} of {}) in {:.2}s",
                            self.settings().num_iceberg_retries,
                            d.as_secs_f64()
                        ),
                    )
                    .emit();
                    if self.pause(d, stop) {
                        return Err(AwsError::new(
                            AwsErrorKind::Cancelled,
                            START,
                            "interrupted before the statement ran again",
                        )
                        .with_query_id(&id.0));
                    }
                }
                other => return other,
            }
        }
    }

    /// Starts one statement and waits for it, never running it again: for statements whose
    /// failure may have left files behind (a `create table as` into its location), which only
    /// a new statement into a new location may follow (dbt-adapters#1739).
    pub fn execute_once(
        &self,
        sql: &str,
        context: &QueryContext,
        token: &RequestToken,
        stop: &AtomicBool,
    ) -> Result<QueryExecution, AwsError> {
        let id = self.start_query(sql, context, token)?;
        self.wait(&id, stop)
    }

    /// All rows of a finished query (every page of `GetQueryResults`), typed by Athena's
    /// column metadata, without the header row SELECTs repeat.
    pub fn results(&self, execution: &QueryExecution) -> Result<Rows, AwsError> {
        let athena = &self.inner.athena;
        let id = &execution.id.0;
        let mut columns = Vec::new();
        let mut rows = Vec::new();
        let mut token: Option<String> = None;
        let mut first_page = true;
        loop {
            let out = self.block_on(self.call(RESULTS, Idempotent::Yes, Some(id), || {
                athena
                    .get_query_results()
                    .query_execution_id(id)
                    .set_next_token(token.clone())
                    .max_results(1000)
                    .send()
            }))?;
            let Some(set) = out.result_set() else {
                break;
            };
            if first_page && let Some(meta) = set.result_set_metadata() {
                columns = meta.column_info().iter().map(cells::column).collect();
            }
            let skip = usize::from(first_page && execution.has_header_row());
            for row in set.rows().iter().skip(skip) {
                rows.push(cells::row(&columns, row.data()));
            }
            first_page = false;
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(Rows {
            columns: columns.into_iter().map(|c| c.column).collect(),
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_deterministic_per_step_and_valid_for_athena() {
        let a = RequestToken::for_step("inv-1", "model.p.orders", "ctas");
        assert_eq!(a, RequestToken::for_step("inv-1", "model.p.orders", "ctas"));
        assert_ne!(a, RequestToken::for_step("inv-1", "model.p.orders", "swap"));
        assert_ne!(a, RequestToken::for_step("inv-2", "model.p.orders", "ctas"));
        // parts are separated, so moving a character between them changes the token
        assert_ne!(
            RequestToken::for_step("ab", "c", "d"),
            RequestToken::for_step("a", "bc", "d")
        );
        assert!((32..=128).contains(&a.as_str().len()));
        assert_ne!(a.rerun(1), a);
        assert_eq!(a.rerun(1), a.rerun(1));
        assert!(RequestToken::new("short").is_none());
    }

    #[test]
    fn header_row_only_for_selects() {
        let mut e = QueryExecution {
            id: QueryId("q".into()),
            statement_type: Some("DML".into()),
            substatement_type: Some("SELECT".into()),
            data_scanned_bytes: None,
            output_location: None,
        };
        assert!(e.has_header_row());
        e.substatement_type = Some("EXPLAIN".into());
        assert!(!e.has_header_row());
        e.statement_type = Some("DDL".into());
        e.substatement_type = None;
        assert!(!e.has_header_row());
    }
}

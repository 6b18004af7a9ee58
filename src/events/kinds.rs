//! dbt's event names and codes, for the events kiln emits. Tools that parse dbt's JSON logs key
//! on these (`info.name`, `info.code`); the codes are dbt-core 1.11's (`dbt/events/types.py`,
//! `dbt/adapters/events/types.py`, `dbt_common/events/types.py`).

use super::Level;

/// One kind of event: its name, code and usual level (some events change level with the
/// outcome they report, e.g. `LogModelResult` is an error when the model failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub name: &'static str,
    pub code: &'static str,
    pub level: Level,
}

const fn kind(name: &'static str, code: &'static str, level: Level) -> Kind {
    Kind { name, code, level }
}

use Level::{Debug, Error, Info, Warn};

// The start of a command.
pub const MAIN_REPORT_VERSION: Kind = kind("MainReportVersion", "A001", Info);
pub const MAIN_REPORT_ARGS: Kind = kind("MainReportArgs", "A002", Debug);
pub const FOUND_STATS: Kind = kind("FoundStats", "W006", Info);
pub const CONCURRENCY_LINE: Kind = kind("ConcurrencyLine", "Q027", Info);

// One node.
pub const NODE_START: Kind = kind("NodeStart", "Q024", Debug);
pub const NODE_FINISHED: Kind = kind("NodeFinished", "Q025", Debug);
pub const LOG_START_LINE: Kind = kind("LogStartLine", "Q011", Info);
pub const LOG_TEST_RESULT: Kind = kind("LogTestResult", "Q007", Info);
pub const LOG_MODEL_RESULT: Kind = kind("LogModelResult", "Q012", Info);
pub const LOG_SNAPSHOT_RESULT: Kind = kind("LogSnapshotResult", "Q015", Info);
pub const LOG_SEED_RESULT: Kind = kind("LogSeedResult", "Q016", Info);
pub const LOG_FRESHNESS_RESULT: Kind = kind("LogFreshnessResult", "Q018", Info);
pub const LOG_NODE_NO_OP_RESULT: Kind = kind("LogNodeNoOpResult", "Q019", Info);
pub const SKIPPING_DETAILS: Kind = kind("SkippingDetails", "Q034", Info);
pub const MARK_SKIPPED_CHILDREN: Kind = kind("MarkSkippedChildren", "Z033", Debug);

// The end of a run.
pub const FINISHED_RUNNING_STATS: Kind = kind("FinishedRunningStats", "E047", Info);
pub const END_OF_RUN_SUMMARY: Kind = kind("EndOfRunSummary", "Z030", Info);
pub const RUN_RESULT_WARNING: Kind = kind("RunResultWarning", "Z021", Warn);
pub const RUN_RESULT_FAILURE: Kind = kind("RunResultFailure", "Z022", Error);
pub const STATS_LINE: Kind = kind("StatsLine", "Z023", Info);
pub const RUN_RESULT_ERROR: Kind = kind("RunResultError", "Z024", Error);
pub const RUN_RESULT_ERROR_NO_MESSAGE: Kind = kind("RunResultErrorNoMessage", "Z025", Error);
pub const SQL_COMPILED_PATH: Kind = kind("SQLCompiledPath", "Z026", Info);
pub const CHECK_NODE_TEST_FAILURE: Kind = kind("CheckNodeTestFailure", "Z027", Info);
pub const RUN_RESULT_WARNING_MESSAGE: Kind = kind("RunResultWarningMessage", "Z046", Warn);
pub const FRESHNESS_CHECK_COMPLETE: Kind = kind("FreshnessCheckComplete", "Q003", Info);
// `kiln docs generate`.
pub const BUILDING_CATALOG: Kind = kind("BuildingCatalog", "E044", Info);
pub const CATALOG_WRITTEN: Kind = kind("CatalogWritten", "E042", Info);
pub const CANNOT_GENERATE_DOCS: Kind = kind("CannotGenerateDocs", "E043", Info);
pub const WRITE_CATALOG_FAILURE: Kind = kind("WriteCatalogFailure", "E041", Error);
pub const ARTIFACT_WRITTEN: Kind = kind("ArtifactWritten", "P001", Debug);
pub const COMMAND_COMPLETED: Kind = kind("CommandCompleted", "Q039", Debug);

// The warehouse.
pub const SQL_QUERY: Kind = kind("SQLQuery", "E016", Debug);
pub const SQL_QUERY_STATUS: Kind = kind("SQLQueryStatus", "E017", Debug);
/// An adapter's own debug line (the AWS client's retries, each S3 key it deletes).
pub const ADAPTER_EVENT_DEBUG: Kind = kind("AdapterEventDebug", "E001", Debug);

// Templates: `log()` and `print()`.
pub const JINJA_LOG_WARNING: Kind = kind("JinjaLogWarning", "I061", Warn);
pub const JINJA_LOG_INFO: Kind = kind("JinjaLogInfo", "I062", Info);
pub const JINJA_LOG_DEBUG: Kind = kind("JinjaLogDebug", "I063", Debug);
pub const PRINT_EVENT: Kind = kind("PrintEvent", "Z052", Info);

// `deps`: installing packages.
pub const DEPS_NO_PACKAGES_FOUND: Kind = kind("DepsNoPackagesFound", "M013", Info);
pub const DEPS_START_PACKAGE_INSTALL: Kind = kind("DepsStartPackageInstall", "M014", Info);
pub const DEPS_INSTALL_INFO: Kind = kind("DepsInstallInfo", "M015", Info);
pub const DEPS_UPDATE_AVAILABLE: Kind = kind("DepsUpdateAvailable", "M016", Info);
pub const DEPS_UP_TO_DATE: Kind = kind("DepsUpToDate", "M017", Info);
pub const DEPS_LIST_SUBDIRECTORY: Kind = kind("DepsListSubdirectory", "M018", Info);
pub const DEPS_NOTIFY_UPDATES_AVAILABLE: Kind = kind("DepsNotifyUpdatesAvailable", "M019", Info);
pub const DEPS_LOCK_UPDATING: Kind = kind("DepsLockUpdating", "M031", Info);
pub const DEPS_ADD_PACKAGE: Kind = kind("DepsAddPackage", "M032", Info);
pub const DEPS_FOUND_DUPLICATE_PACKAGE: Kind = kind("DepsFoundDuplicatePackage", "M033", Info);

// Anything else.
pub const MAIN_ENCOUNTERED_ERROR: Kind = kind("MainEncounteredError", "Z002", Error);
pub const FORMATTING: Kind = kind("Formatting", "Z017", Info);
pub const NOTE: Kind = kind("Note", "Z050", Info);

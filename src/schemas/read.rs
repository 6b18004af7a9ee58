//! Typed readers for the artifacts an earlier run left: the `--state` folder's manifest.json
//! (for `state:`, `--defer`, `clone` and `diff`), run_results.json (for `result:` and
//! `kiln retry`) and sources.json (for `source_status:`).
//!
//! Only the parts kiln reads are modelled; every other key is skipped unread, so a manifest of
//! any dbt 1.x (or kiln) reads the same way. Values that other writers spell differently stay
//! loose (a config is a mapping of any values; a missing or null list is an empty one). What
//! kiln cannot use is an error naming the file and what is wrong with it, as dbt refuses such
//! files: a file that is not JSON (a truncated copy), one without the section it is read for
//! (`nodes`, `results`), one that says it follows a schema version kiln does not read (dbt's
//! `metadata.dbt_schema_version`: manifest v4 to v12, run_results v4 to v6, sources v3), and a
//! resource whose fields have the wrong shape (naming the resource).

use super::{ADAPTER_ENV_KEY, TARGET_ENV_KEY};
use crate::error::Diagnostic;
use indexmap::IndexMap;
use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, de};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// An artifact kiln cannot read: which file, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactError {
    /// The file, as the user named it.
    pub path: PathBuf,
    /// What is wrong, as a sentence that follows the file's name.
    pub problem: String,
}

impl ArtifactError {
    /// `error[<code>]: <path> <problem>`, with `help`.
    pub fn diagnostic(&self, code: &'static str, help: &str) -> Diagnostic {
        Diagnostic::error(code, self.to_string()).with_help(help.to_string())
    }
}

impl fmt::Display for ArtifactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path.display(), self.problem)
    }
}

/// One kind of artifact: its file name, dbt's schema name and the versions kiln reads.
struct Kind {
    file: &'static str,
    schema: &'static str,
    versions: std::ops::RangeInclusive<u32>,
}

const MANIFEST: Kind = Kind {
    file: "manifest.json",
    schema: "manifest",
    versions: 4..=12,
};
const RUN_RESULTS: Kind = Kind {
    file: "run_results.json",
    schema: "run-results",
    versions: 4..=6,
};
const SOURCES: Kind = Kind {
    file: "sources.json",
    schema: "sources",
    versions: 3..=3,
};

impl Kind {
    /// Reads `path` (named `shown` in messages): None when there is no such file.
    fn read<T: DeserializeOwned + Versioned>(
        &self,
        path: &Path,
        shown: &Path,
    ) -> Result<Option<T>, ArtifactError> {
        let fail = |problem: String| ArtifactError {
            path: shown.to_path_buf(),
            problem,
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(fail(format!("cannot be read: {e}"))),
        };
        // JSON first (a fast pass that builds nothing), so that a truncated file is reported as
        // such and not as whatever entry it breaks off in.
        serde_json::from_slice::<de::IgnoredAny>(&bytes).map_err(|e| {
            fail(match e.classify() {
                serde_json::error::Category::Eof => format!(
                    "is not valid JSON: it ends early, at line {} column {} (a truncated copy?)",
                    e.line(),
                    e.column()
                ),
                _ => format!("is not valid JSON: {e}"),
            })
        })?;
        let doc: T = serde_json::from_slice(&bytes)
            .map_err(|e| fail(format!("is not a {} kiln can read: {e}", self.file)))?;
        if let Some(version) = doc.schema_version() {
            self.check_version(version).map_err(fail)?;
        }
        doc.check(self.file).map_err(fail)?;
        Ok(Some(doc))
    }

    /// dbt's check: the file names a schema version kiln reads (only when it names one).
    fn check_version(&self, version: &str) -> Result<(), String> {
        let prefix = format!("https://schemas.getdbt.com/dbt/{}/v", self.schema);
        let number = version
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".json"))
            .and_then(|n| n.parse::<u32>().ok());
        if number.is_some_and(|n| self.versions.contains(&n)) {
            return Ok(());
        }
        let (first, last) = (self.versions.start(), self.versions.end());
        let reads = if first == last {
            format!("version {first} ({prefix}{first}.json)")
        } else {
            format!("versions {first} to {last} ({prefix}{first}.json to {prefix}{last}.json)")
        };
        Err(format!(
            "follows the schema {version}, and kiln reads {} {reads}",
            self.file
        ))
    }
}

/// What every artifact answers once read: the schema version it names, and whether it has the
/// section kiln reads it for.
trait Versioned {
    fn schema_version(&self) -> Option<&str>;
    fn check(&self, file: &str) -> Result<(), String>;
}

/// `metadata`, as far as kiln reads it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Metadata {
    #[serde(deserialize_with = "or_default")]
    pub dbt_schema_version: Option<String>,
    /// The manifest's adapter type (dbt's own key).
    #[serde(deserialize_with = "or_default")]
    pub adapter_type: Option<String>,
    /// `DBT_ENV_CUSTOM_ENV_*` variables, and kiln's [`TARGET_ENV_KEY`] and [`ADAPTER_ENV_KEY`].
    #[serde(deserialize_with = "or_default")]
    pub env: Map<String, Value>,
}

impl Metadata {
    fn env_text(&self, key: &str) -> Option<String> {
        text(self.env.get(key))
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

// ---------------------------------------------------------------------------------------------
// manifest.json
// ---------------------------------------------------------------------------------------------

/// A manifest.json of an earlier run (kiln's or dbt's).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StateManifest {
    #[serde(default, deserialize_with = "or_default")]
    pub metadata: Metadata,
    /// Required: a file without it is not a manifest.
    #[serde(default, deserialize_with = "keyed_option")]
    nodes: Option<BTreeMap<String, ManifestNode>>,
    #[serde(default, deserialize_with = "keyed")]
    pub sources: BTreeMap<String, ManifestSource>,
    #[serde(default, deserialize_with = "keyed")]
    pub exposures: BTreeMap<String, ManifestExposure>,
    /// None when the file has no `macros` (it then says nothing about them).
    #[serde(default, deserialize_with = "keyed_option")]
    pub macros: Option<BTreeMap<String, ManifestMacro>>,
    #[serde(default, deserialize_with = "keyed")]
    pub unit_tests: BTreeMap<String, ManifestUnitTest>,
}

/// A unit test of an earlier run: what dbt's checksum of a unit test covers (its model, versions,
/// given, expect and overrides), read as written, since kiln's checksum and dbt's are computed
/// differently.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ManifestUnitTest {
    pub model: Value,
    pub versions: Value,
    pub given: Value,
    pub expect: Value,
    pub overrides: Value,
}

impl Versioned for StateManifest {
    fn schema_version(&self) -> Option<&str> {
        self.metadata.dbt_schema_version.as_deref()
    }

    fn check(&self, _file: &str) -> Result<(), String> {
        if self.nodes.is_none() {
            return Err(
                "has no `nodes`: it is not a manifest.json as dbt or kiln writes it".into(),
            );
        }
        Ok(())
    }
}

impl StateManifest {
    /// `<dir>/manifest.json` (named `<shown>/manifest.json` in messages), None if absent.
    pub fn read(dir: &Path, shown: &Path) -> Result<Option<StateManifest>, ArtifactError> {
        MANIFEST.read(&dir.join(MANIFEST.file), &shown.join(MANIFEST.file))
    }

    /// The current project's dicts ([`super::graph_context_json`]) read as a manifest, so that
    /// `state:` compares like with like. A dict that does not read back (a bug: a test reads
    /// every fixture's) reads as an empty one, so it compares as modified: `state:` then selects
    /// too much, never too little.
    pub fn of_dicts(dicts: &Value) -> StateManifest {
        fn section<T: DeserializeOwned + Default>(v: &Value, key: &str) -> BTreeMap<String, T> {
            v.get(key)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(id, d)| (id.clone(), T::deserialize(d).unwrap_or_default()))
                .collect()
        }
        StateManifest {
            metadata: Metadata::default(),
            nodes: Some(section(dicts, "nodes")),
            sources: section(dicts, "sources"),
            exposures: section(dicts, "exposures"),
            macros: None,
            unit_tests: BTreeMap::new(),
        }
    }

    /// Models, seeds, snapshots, analyses, tests, hooks, by unique_id.
    pub fn nodes(&self) -> &BTreeMap<String, ManifestNode> {
        static NONE: BTreeMap<String, ManifestNode> = BTreeMap::new();
        self.nodes.as_ref().unwrap_or(&NONE)
    }

    /// Which target, on which adapter, wrote it, as far as it says.
    pub fn written_by(&self) -> WrittenBy {
        WrittenBy {
            target: self.metadata.env_text(TARGET_ENV_KEY),
            adapter_type: self.metadata.adapter_type.clone().filter(|s| !s.is_empty()),
        }
    }
}

/// `checksum` of a node.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Checksum {
    #[serde(deserialize_with = "or_default")]
    pub checksum: String,
}

/// A column of a node, as far as `state:` compares it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ManifestColumn {
    #[serde(deserialize_with = "or_default")]
    pub description: String,
    #[serde(deserialize_with = "or_default")]
    pub data_type: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub constraints: Vec<Value>,
}

/// A node's `contract`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Contract {
    #[serde(deserialize_with = "or_default")]
    pub enforced: bool,
    #[serde(deserialize_with = "or_default")]
    pub checksum: Option<String>,
}

/// A model, seed, snapshot, analysis or test of an earlier run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ManifestNode {
    #[serde(deserialize_with = "or_default")]
    pub database: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub schema: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub name: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub alias: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub fqn: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub checksum: Checksum,
    #[serde(deserialize_with = "or_default")]
    pub config: Map<String, Value>,
    #[serde(deserialize_with = "or_default")]
    pub description: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub columns: IndexMap<String, ManifestColumn>,
    #[serde(deserialize_with = "or_default")]
    pub raw_code: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub compiled_code: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub contract: Contract,
    #[serde(deserialize_with = "or_default")]
    pub constraints: Vec<Value>,
}

impl ManifestNode {
    /// The relation it was built as: database, schema, and its alias (else its name).
    pub fn relation(&self) -> Option<(&str, &str, &str)> {
        Some((
            self.database.as_deref()?,
            self.schema.as_deref()?,
            self.alias.as_deref().or(self.name.as_deref())?,
        ))
    }
}

/// A source table of an earlier run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ManifestSource {
    #[serde(deserialize_with = "or_default")]
    pub database: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub schema: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub identifier: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub fqn: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub config: Map<String, Value>,
    /// `{database, schema, identifier, column}`: each true, false or unset.
    pub quoting: Value,
    /// `{warn_after, error_after, filter}`, or null.
    pub freshness: Value,
    /// dbt's `external` properties, or null.
    pub external: Value,
    #[serde(deserialize_with = "or_default")]
    pub loaded_at_field: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub loaded_at_query: Option<String>,
}

/// `depends_on` of an exposure.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DependsOn {
    #[serde(deserialize_with = "or_default")]
    pub nodes: Vec<String>,
}

/// An exposure of an earlier run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ManifestExposure {
    #[serde(deserialize_with = "or_default")]
    pub fqn: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub config: Map<String, Value>,
    #[serde(rename = "type", deserialize_with = "or_default")]
    pub kind: Option<String>,
    /// `{email, name, ...}`.
    pub owner: Value,
    #[serde(deserialize_with = "or_default")]
    pub maturity: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub url: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub description: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub label: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub depends_on: DependsOn,
}

/// A macro of an earlier run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ManifestMacro {
    #[serde(deserialize_with = "or_default")]
    pub macro_sql: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub package_name: Option<String>,
}

/// Which target, on which adapter, wrote a manifest.json or run_results.json, as far as the
/// file says (dbt's own files name the adapter in the manifest, and the target in run_results'
/// `args` when `--target` was given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WrittenBy {
    pub target: Option<String>,
    pub adapter_type: Option<String>,
}

impl WrittenBy {
    /// `target 'prod' (athena)`, with what the file does not say left out.
    pub fn describe(&self) -> String {
        match (&self.target, &self.adapter_type) {
            (Some(t), Some(a)) => format!("target '{t}' ({a})"),
            (Some(t), None) => format!("target '{t}'"),
            (None, Some(a)) => format!("a {a} target"),
            (None, None) => "an unknown target".into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// run_results.json
// ---------------------------------------------------------------------------------------------

/// A run_results.json of an earlier run.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunResults {
    #[serde(default, deserialize_with = "or_default")]
    pub metadata: Metadata,
    /// Required: a file without it is not run results.
    #[serde(default, deserialize_with = "or_default")]
    results: Option<Vec<RunResult>>,
    /// The command's flags, as dbt records them.
    #[serde(default, deserialize_with = "or_default")]
    pub args: RunArgs,
}

/// One node's result.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunResult {
    #[serde(deserialize_with = "or_default")]
    pub unique_id: String,
    #[serde(deserialize_with = "or_default")]
    pub status: String,
}

/// The flags of the run, as far as `kiln retry` repeats them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunArgs {
    /// The command: `run`, `build`, `test`, `seed`, `snapshot`, ...
    #[serde(deserialize_with = "or_default")]
    pub which: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub select: StringList,
    #[serde(deserialize_with = "or_default")]
    pub target: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub vars: Map<String, Value>,
    #[serde(deserialize_with = "or_default")]
    pub full_refresh: bool,
    #[serde(deserialize_with = "or_default")]
    pub fail_fast: bool,
    #[serde(deserialize_with = "or_default")]
    pub store_failures: bool,
    #[serde(deserialize_with = "or_default")]
    pub empty: bool,
    #[serde(deserialize_with = "or_default")]
    pub event_time_start: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub event_time_end: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub sample: Option<String>,
}

impl Versioned for RunResults {
    fn schema_version(&self) -> Option<&str> {
        self.metadata.dbt_schema_version.as_deref()
    }

    fn check(&self, _file: &str) -> Result<(), String> {
        if self.results.is_none() {
            return Err(
                "has no `results`: it is not a run_results.json as dbt or kiln writes it".into(),
            );
        }
        Ok(())
    }
}

impl RunResults {
    /// `path` (named `shown` in messages), None if absent.
    pub fn read(path: &Path, shown: &Path) -> Result<Option<RunResults>, ArtifactError> {
        RUN_RESULTS.read(path, shown)
    }

    pub fn results(&self) -> &[RunResult] {
        self.results.as_deref().unwrap_or_default()
    }

    /// Which target, on which adapter, ran it, as far as the file says.
    pub fn written_by(&self) -> WrittenBy {
        WrittenBy {
            target: self
                .metadata
                .env_text(TARGET_ENV_KEY)
                .or_else(|| self.args.target.clone().filter(|t| !t.is_empty())),
            adapter_type: self.metadata.env_text(ADAPTER_ENV_KEY),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// sources.json
// ---------------------------------------------------------------------------------------------

/// A sources.json (`kiln source freshness`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SourceFreshness {
    #[serde(default, deserialize_with = "or_default")]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "or_default")]
    results: Option<Vec<FreshnessResult>>,
}

/// One source's freshness check.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FreshnessResult {
    #[serde(deserialize_with = "or_default")]
    pub unique_id: String,
    /// `pass`, `warn`, `error` or `runtime error`.
    #[serde(deserialize_with = "or_default")]
    pub status: String,
    /// Its newest row's load time, as the warehouse printed it.
    #[serde(deserialize_with = "or_default")]
    pub max_loaded_at: Option<String>,
}

impl Versioned for SourceFreshness {
    fn schema_version(&self) -> Option<&str> {
        self.metadata.dbt_schema_version.as_deref()
    }

    fn check(&self, _file: &str) -> Result<(), String> {
        if self.results.is_none() {
            return Err(
                "has no `results`: it is not a sources.json as dbt or kiln writes it".into(),
            );
        }
        Ok(())
    }
}

impl SourceFreshness {
    /// `path` (named `shown` in messages), None if absent.
    pub fn read(path: &Path, shown: &Path) -> Result<Option<SourceFreshness>, ArtifactError> {
        SOURCES.read(path, shown)
    }

    pub fn results(&self) -> &[FreshnessResult] {
        self.results.as_deref().unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// Lenient pieces
// ---------------------------------------------------------------------------------------------

/// A list of strings that a writer may also spell as one string (`select: "a b"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringList(pub Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            One(String),
            Many(Vec<String>),
        }
        Ok(StringList(match Either::deserialize(d)? {
            Either::One(s) => vec![s],
            Either::Many(v) => v,
        }))
    }
}

/// A value that may be null: null reads as the type's default (an empty list, `false`, ...).
fn or_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A section keyed by unique_id (null reads as empty); an entry that does not read is an error
/// naming it.
fn keyed<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<BTreeMap<String, T>, D::Error> {
    Ok(keyed_option(d)?.unwrap_or_default())
}

/// [`keyed`], keeping whether the section was there at all.
fn keyed_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, T>>, D::Error> {
    struct Entries<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
        type Value = Option<BTreeMap<String, T>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of unique_id to resource")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(id) = map.next_key::<String>()? {
                let entry = map
                    .next_value::<T>()
                    .map_err(|e| de::Error::custom(format!("`{id}`: {e}")))?;
                out.insert(id, entry);
            }
            Ok(Some(out))
        }
    }
    d.deserialize_any(Entries(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_manifest(text: &str) -> Result<Option<StateManifest>, ArtifactError> {
        let dir = tempfile_dir();
        let _ = std::fs::write(dir.join("manifest.json"), text);
        let out = StateManifest::read(&dir, Path::new("prod"));
        let _ = std::fs::remove_dir_all(&dir);
        out
    }

    fn tempfile_dir() -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kiln-read-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::create_dir_all(&dir);
        dir
    }

    #[test]
    fn a_missing_file_is_none() {
        let dir = tempfile_dir();
        assert_eq!(
            StateManifest::read(&dir, Path::new("prod")).map(|m| m.is_none()),
            Ok(true)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn nulls_and_missing_keys_read_as_empty() {
        let m = read_manifest(
            r#"{"nodes": {"model.p.a": {"fqn": null, "config": null, "columns": {"id": {"constraints": null}}}},
                "sources": null}"#,
        );
        let Ok(Some(m)) = m else { panic!("{m:?}") };
        let a = &m.nodes()["model.p.a"];
        assert!(a.fqn.is_empty() && a.config.is_empty() && a.columns["id"].constraints.is_empty());
        assert!(m.sources.is_empty() && m.macros.is_none());
        assert_eq!(m.written_by(), WrittenBy::default());
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let err = |text: &str| {
            read_manifest(text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let truncated = err(r#"{"nodes": {"model.p.a": {"#);
        assert!(
            truncated.starts_with("prod/manifest.json is not valid JSON: it ends early"),
            "{truncated}"
        );
        // Valid JSON that is not a manifest: every node would count as new or modified.
        for not_a_manifest in [r#"{"metadata": {}}"#, "{}", "[]"] {
            assert_eq!(
                err(not_a_manifest),
                "prod/manifest.json has no `nodes`: it is not a manifest.json as dbt or kiln writes it",
                "{not_a_manifest}"
            );
        }
        assert!(
            err(r#"{"nodes": {"model.p.a": {"fqn": "a.b"}}}"#)
                .starts_with("prod/manifest.json is not a manifest.json kiln can read: `model.p.a`: invalid type: string \"a.b\", expected a sequence"),
        );
        assert_eq!(
            err(
                r#"{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v3.json"}, "nodes": {}}"#
            ),
            "prod/manifest.json follows the schema https://schemas.getdbt.com/dbt/manifest/v3.json, and kiln reads manifest.json versions 4 to 12 (https://schemas.getdbt.com/dbt/manifest/v4.json to https://schemas.getdbt.com/dbt/manifest/v12.json)"
        );
        // Every version dbt 1.11 reads is read.
        for v in 4..=12 {
            let text = format!(
                r#"{{"metadata": {{"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v{v}.json"}}, "nodes": {{}}}}"#
            );
            assert!(matches!(read_manifest(&text), Ok(Some(_))), "v{v}");
        }
    }

    #[test]
    fn sources_json_reads_version_three_only() {
        assert_eq!(
            SOURCES.check_version("https://schemas.getdbt.com/dbt/sources/v2.json"),
            Err("follows the schema https://schemas.getdbt.com/dbt/sources/v2.json, and kiln reads sources.json version 3 (https://schemas.getdbt.com/dbt/sources/v3.json)".into())
        );
        assert_eq!(
            SOURCES.check_version("https://schemas.getdbt.com/dbt/sources/v3.json"),
            Ok(())
        );
    }

    #[test]
    fn run_results_name_their_target() {
        let r: RunResults = serde_json::from_str(
            r#"{"metadata": {"env": {"kiln_adapter_type": "duckdb"}}, "results": [{"unique_id": "model.p.a", "status": "error"}],
                "args": {"which": "run", "target": "prod", "select": "a b", "vars": null}}"#,
        )
        .unwrap_or_default();
        assert_eq!(
            r.written_by(),
            WrittenBy {
                target: Some("prod".into()),
                adapter_type: Some("duckdb".into())
            }
        );
        assert_eq!(r.args.select, StringList(vec!["a b".into()]));
        assert_eq!(r.results().len(), 1);
    }
}

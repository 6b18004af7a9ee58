//! The test harness: a project in a temporary directory (copied from `tests/fixtures/<name>` or
//! written inline), `kiln` run on it through assert_cmd, and the outcome rendered as one text
//! (exit code, stdout, stderr) with temp paths and timings replaced, ready for an insta snapshot.
//! Shared by the `cli` and `compile` test crates, each of which uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The fixture folder in the repository.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A project on disk for one test: `<tmp>/project`, with `<tmp>/home` as `$HOME` so that no
/// `~/.dbt/profiles.yml` of the machine running the tests is ever read.
pub struct TestProject {
    tmp: tempfile::TempDir,
    root: PathBuf,
}

impl TestProject {
    /// An empty project folder.
    pub fn empty() -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("kiln-test")
            .tempdir()
            .expect("create a temp dir");
        // Canonical, so the paths kiln prints (it may canonicalize) match the filters.
        let root = tmp.path().canonicalize().expect("canonical temp dir");
        std::fs::create_dir_all(root.join("project")).expect("create project dir");
        std::fs::create_dir_all(root.join("home")).expect("create home dir");
        TestProject { tmp, root }
    }

    /// A copy of `tests/fixtures/<name>`.
    pub fn fixture(name: &str) -> Self {
        let p = Self::empty();
        let src = fixtures_dir().join(name);
        assert!(src.is_dir(), "no fixture {}", src.display());
        copy_dir(&src, &p.dir());
        p
    }

    /// A project with a minimal dbt_project.yml (`name: shop`, `profile: shop`) and a DuckDB
    /// profiles.yml, for tests that write the rest inline.
    pub fn minimal() -> Self {
        Self::empty()
            .file(
                "dbt_project.yml",
                "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\n",
            )
            .file(
                "profiles.yml",
                "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: main\n",
            )
    }

    /// Writes (or overwrites) a file of the project.
    #[must_use]
    pub fn file(self, rel: &str, text: &str) -> Self {
        self.write(rel, text);
        self
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.dir().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        std::fs::write(&path, text).expect("write project file");
    }

    /// Removes a file of the project.
    #[must_use]
    pub fn without(self, rel: &str) -> Self {
        std::fs::remove_file(self.dir().join(rel)).expect("remove project file");
        self
    }

    /// The project folder.
    pub fn dir(&self) -> PathBuf {
        self.root.join("project")
    }

    /// The temp folder holding the project (and `home/`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir().join(rel))
            .unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.dir().join(rel).exists()
    }

    /// `kiln` with `--project-dir` and `--profiles-dir` pointing at the project.
    pub fn kiln(&self, args: &[&str]) -> Kiln<'_> {
        let mut k = self.kiln_bare(args);
        k.cmd.arg("--project-dir").arg(self.dir());
        k.cmd.arg("--profiles-dir").arg(self.dir());
        k
    }

    /// `kiln` run from the project folder with only `args`: no `--project-dir`/`--profiles-dir`.
    pub fn kiln_bare(&self, args: &[&str]) -> Kiln<'_> {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_kiln"));
        cmd.env_clear()
            .env("HOME", self.root.join("home"))
            .env("NO_COLOR", "1")
            .current_dir(self.dir())
            .args(args);
        Kiln {
            cmd,
            root: self.root.clone(),
            _tmp: &self.tmp,
        }
    }
}

/// One kiln invocation, not yet run.
pub struct Kiln<'a> {
    cmd: assert_cmd::Command,
    root: PathBuf,
    _tmp: &'a tempfile::TempDir,
}

impl Kiln<'_> {
    #[must_use]
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    #[must_use]
    pub fn args<S: AsRef<std::ffi::OsStr>>(mut self, args: &[S]) -> Self {
        self.cmd.args(args);
        self
    }

    #[must_use]
    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    #[must_use]
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Runs kiln to the end.
    pub fn run(mut self) -> Run {
        let output: Output = self.cmd.output().expect("run kiln");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            root: self.root,
        }
    }
}

/// What a kiln run printed and returned.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    root: PathBuf,
}

impl Run {
    /// Exit code, stdout and stderr as one text, with temp paths, timings and the version
    /// replaced by placeholders.
    pub fn snapshot(&self) -> String {
        let code = self
            .code
            .map_or_else(|| "killed by a signal".to_string(), |c| c.to_string());
        self.clean(&format!(
            "exit code: {code}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.stdout, self.stderr
        ))
    }

    /// Applies the snapshot filters to any text of this run.
    pub fn clean(&self, text: &str) -> String {
        let project = self.root.join("project").display().to_string();
        let root = self.root.display().to_string();
        let mut out = text.replace(&project, "[PROJECT]").replace(&root, "[TMP]");
        for (pattern, replacement) in FILTERS {
            let re = regex::Regex::new(pattern).expect("filter regex");
            out = re.replace_all(&out, *replacement).into_owned();
        }
        out
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code\n{}",
            self.snapshot()
        );
        self
    }

    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }
}

/// Placeholders for what changes from run to run (and from build to build).
const FILTERS: &[(&str, &str)] = &[
    // timings: "in 0.02s"
    (r"\b\d+\.\d+s\b", "[TIME]"),
    // the number of macros includes kiln's built-ins, which grow with every release
    (r"\b\d+ macros\b", "[N] macros"),
    (r"kiln version: \S+", "kiln version: [VERSION]"),
    // dbt's JSON log events: when (UTC, so ending in Z: a `ts` column of `show` is left alone),
    // which process and invocation
    (r#""ts":"[^"]+Z""#, r#""ts":"[TS]""#),
    (r#""ts": "[^"]+Z""#, r#""ts": "[TS]""#),
    (r#""pid": \d+"#, r#""pid": [PID]"#),
    (r#""invocation_id": "[^"]+""#, r#""invocation_id": "[ID]""#),
];

/// Copies a folder recursively.
/// The demo project's files at the repository root: everything its `dbt_project.yml` reads and
/// the raw files under `data/`; not `target/`, not `demo.duckdb`, not the Rust crate.
pub const DEMO_FILES: &[&str] = &[
    "dbt_project.yml",
    "profiles.yml",
    "selectors.yml",
    "models",
    "macros",
    "seeds",
    "snapshots",
    "analyses",
    "data",
    "tests/data",
];

impl TestProject {
    /// A copy of the demo project in a temp folder (the files of [`DEMO_FILES`]).
    pub fn demo() -> TestProject {
        let p = TestProject::empty();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        for rel in DEMO_FILES {
            let (from, to) = (repo.join(rel), p.dir().join(rel));
            if from.is_dir() {
                copy_dir(&from, &to);
            } else if from.exists() {
                std::fs::create_dir_all(to.parent().expect("parent")).expect("create dir");
                std::fs::copy(&from, &to).expect("copy demo file");
            }
        }
        p
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

/// Snapshots a run under `tests/snapshots/`, named after the test.
#[macro_export]
macro_rules! assert_run_snapshot {
    ($run:expr) => {
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => true}, {
            insta::assert_snapshot!($run.snapshot());
        })
    };
    ($name:expr, $run:expr) => {
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => true}, {
            insta::assert_snapshot!($name, $run.snapshot());
        })
    };
}

/// Holds kiln's `--quiet` output of a run with one failing model to dbt's recorded one (e.g.
/// `tests/dbt_recorded/quiet_broken_experiment_daily.txt`): the ERROR line, `Failure in model
/// ...` and the database error, line for line, and nothing else.
pub fn assert_quiet_like_dbt(kiln: &str, dbt: &str) {
    let strip = |text: &str| -> Vec<String> {
        let stamp = regex::Regex::new(r"^\d\d:\d\d:\d\d  ").expect("a valid regex");
        let time = regex::Regex::new(r"\d+\.\d+s\]").expect("a valid regex");
        // Nodes may run in another order: "3 of 8" and "1 of 8" are the same line.
        let index = regex::Regex::new(r"^\d+ of ").expect("a valid regex");
        text.lines()
            .map(|l| {
                let l = stamp.replace(l, "");
                let l = index.replace(&l, "[I] of ");
                time.replace(&l, "[TIME]]").into_owned()
            })
            .collect()
    };
    let (k, d) = (strip(kiln), strip(dbt));
    assert_eq!(k[0], d[0], "the ERROR line\n{kiln}");
    assert_eq!(k[1], d[1], "the Failure line\n{kiln}");
    assert_eq!(k[2], d[2], "the error kind line\n{kiln}");
    // The database's message, line by line as dbt prints it.
    assert!(k.contains(&d[3]), "missing {:?}\n{kiln}", d[3]);
    for l in &k {
        assert!(
            !(l.contains("START") || l.starts_with("Done.") || l.starts_with("Found ")),
            "--quiet printed {l:?}\n{kiln}"
        );
    }
}

/// What is wrong with `value` against the JSON schema `tests/schemas/<file>` (dbt's published
/// artifact schemas): one line per problem, with the path to the offending value; empty when it
/// is valid.
pub fn schema_problems(file: &str, value: &serde_json::Value) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(file);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the schema file"))
            .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    validator
        .iter_errors(value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

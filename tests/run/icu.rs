//! DuckDB's ICU extension (time zones: `timezone()`, `at time zone`; collations) on kiln's
//! default build, offline. The bundled DuckDB does not link ICU, and autoloads it from DuckDB's
//! repository, which this machine (and CI) cannot reach; these tests serve DuckDB's own signed
//! `icu.duckdb_extension` from a repository on 127.0.0.1 (`custom_extension_repository`) or
//! put it in the extension directory, signature checking on, and check the tables built, and the
//! error when it cannot be had.
//!
//! The file: `KILN_TEST_ICU_EXTENSION` names it (`bash .ci/run` sets it); without it, the copy in
//! `~/.cache/kiln/duckdb-extensions/<version>/<platform>/` is used, downloaded there on first use
//! from PyPI's `duckdb-extension-icu` wheel of the embedded DuckDB's version (`python3 -m pip
//! download`, once, under a lock file), so that `cargo test` alone passes from a fresh clone.
//! When that cannot be done, every test here fails saying how to get the file: a missing
//! extension must never read as a passing suite.

use crate::db::column;
use crate::support::TestProject;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

/// The embedded DuckDB's version (`v1.5.5`) and platform (`linux_amd64`): the folder an
/// extension for it lives in, in a repository and in the extension directory.
fn version_and_platform() -> (String, String) {
    let conn = duckdb::Connection::open_in_memory().expect("open DuckDB");
    conn.query_row(
        "select (select library_version from pragma_version()), (select platform from pragma_platform())",
        [],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )
    .expect("DuckDB's version and platform")
}

fn subfolder() -> String {
    let (version, platform) = version_and_platform();
    format!("{version}/{platform}")
}

static ICU: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// DuckDB's `icu.duckdb_extension` for the embedded version.
fn icu_extension() -> &'static Path {
    match ICU.get_or_init(find_or_download) {
        Ok(p) => p,
        Err(why) => panic!("{why}"),
    }
}

fn find_or_download() -> Result<PathBuf, String> {
    let (version, platform) = version_and_platform();
    let pypi_version = version.trim_start_matches('v').to_string();
    let how = format!(
        "these tests need DuckDB's ICU extension for DuckDB {version} ({platform}), the file \
         icu.duckdb_extension in PyPI's wheel duckdb-extension-icu=={pypi_version}: get it with \
         `python3 -m pip download --no-deps duckdb-extension-icu=={pypi_version} -d /tmp/icu && \
         unzip -o /tmp/icu/*.whl -d /tmp/icu` and set \
         KILN_TEST_ICU_EXTENSION=/tmp/icu/duckdb_extension_icu/extensions/{version}/icu.duckdb_extension \
         (bash .ci/run does this)"
    );
    if let Some(path) = std::env::var_os("KILN_TEST_ICU_EXTENSION") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "KILN_TEST_ICU_EXTENSION is {}, which is not a file; {how}",
                path.display()
            ))
        };
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    let folder = home
        .join(".cache/kiln/duckdb-extensions")
        .join(&version)
        .join(&platform);
    let file = folder.join("icu.duckdb_extension");
    if file.is_file() {
        return Ok(file);
    }
    std::fs::create_dir_all(&folder)
        .map_err(|e| format!("cannot create {}: {e}; {how}", folder.display()))?;
    let lock_path = folder.join("icu.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    if file.is_file() {
        return Ok(file);
    }
    eprintln!(
        "tests/run/icu: downloading duckdb-extension-icu=={pypi_version} from PyPI into {} (once)",
        folder.display()
    );
    let wheels = folder.join("wheel");
    let out = Command::new("python3")
        .args(["-m", "pip", "download", "--quiet", "--no-deps"])
        .args(["--disable-pip-version-check", "-d"])
        .arg(&wheels)
        .arg(format!("duckdb-extension-icu=={pypi_version}"))
        .output()
        .map_err(|e| format!("cannot run python3 ({e}); {how}"))?;
    if !out.status.success() {
        return Err(format!(
            "`python3 -m pip download duckdb-extension-icu=={pypi_version}` failed ({}): {}; {how}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // The wheel is a zip: take the one member, written beside and renamed into place.
    let partial = folder.join("icu.duckdb_extension.partial");
    let member = format!("duckdb_extension_icu/extensions/{version}/icu.duckdb_extension");
    let out = Command::new("python3")
        .args([
            "-c",
            "import glob, sys, zipfile\nw = glob.glob(sys.argv[1] + '/*.whl')[0]\nopen(sys.argv[3], 'wb').write(zipfile.ZipFile(w).read(sys.argv[2]))",
        ])
        .arg(&wheels)
        .arg(&member)
        .arg(&partial)
        .output()
        .map_err(|e| format!("cannot run python3 ({e}); {how}"))?;
    if !out.status.success() {
        return Err(format!(
            "cannot take {member} out of the wheel in {}: {}; {how}",
            wheels.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    std::fs::rename(&partial, &file)
        .map_err(|e| format!("cannot move the extension into {}: {e}", file.display()))?;
    let _ = std::fs::remove_dir_all(&wheels);
    Ok(file)
}

// ---------------------------------------------------------------------------------------------
// A DuckDB extension repository on 127.0.0.1, as extensions.duckdb.org lays it out.

type Files = Arc<Mutex<BTreeMap<String, Vec<u8>>>>;

/// Serves `files` by path on a free port of 127.0.0.1 and records each request's path.
struct Repository {
    port: u16,
    files: Files,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Repository {
    /// A repository serving the ICU extension gzipped, at
    /// `/<version>/<platform>/icu.duckdb_extension.gz`, as DuckDB fetches it.
    fn with_icu() -> Repository {
        let bytes = std::fs::read(icu_extension()).expect("read the ICU extension");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).expect("gzip");
        let repo = Repository::start();
        repo.files.lock().expect("files").insert(
            format!("/{}/icu.duckdb_extension.gz", subfolder()),
            gz.finish().expect("gzip"),
        );
        repo
    }

    fn start() -> Repository {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local addr").port();
        let files: Files = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let (f, r) = (files.clone(), requests.clone());
        // The thread ends with the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &f, &r);
            }
        });
        Repository {
            port,
            files,
            requests,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests").clone()
    }
}

fn serve(mut stream: TcpStream, files: &Files, requests: &Mutex<Vec<String>>) {
    let mut buf = vec![];
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let request = String::from_utf8_lossy(&buf);
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    requests.lock().expect("requests").push(path.clone());
    let body = files.lock().expect("files").get(&path).cloned();
    let (status, body) = match body {
        Some(b) => ("200 OK", b),
        None => ("404 Not Found", b"not found".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

/// A port of 127.0.0.1 nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

// ---------------------------------------------------------------------------------------------

/// A model using ICU's time-zone functions; its columns are plain timestamps and text, so the
/// test reads them without ICU.
const MODEL: &str = "{{ config(materialized='table') }}
select
    timezone('America/New_York', timestamptz '2024-01-01 00:00:00+00') as new_york,
    timestamptz '2024-07-01 12:00:00+00' at time zone 'Europe/Paris' as paris,
    strftime(timezone('Asia/Tokyo', timestamptz '2024-03-10 20:30:00+00'), '%Y-%m-%d %H:%M') as tokyo,
    (select string_agg(w, ',' order by w collate de) from (values ('zebra'), ('äpfel'), ('birne')) as t(w)) as german
";

/// A project whose DuckDB target has `extra` (YAML lines under the target) and the model.
fn project(extra: &str) -> TestProject {
    let p = TestProject::minimal().file("models/local_times.sql", MODEL);
    let extensions = p.root().join("extensions");
    p.file(
        "profiles.yml",
        &format!(
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: main\n{extra}      settings:\n        extension_directory: '{}'\n",
            extensions.display()
        ),
    )
}

/// The model's one row, as text.
fn local_times(p: &TestProject) -> Vec<String> {
    column(
        p,
        "select concat_ws(' | ', new_york::varchar, paris::varchar, tokyo, german) from main.local_times",
    )
}

/// ICU's German collation sorts `äpfel` first (DuckDB's binary order would put it last).
const EXPECTED: &str =
    "2023-12-31 19:00:00 | 2024-07-01 14:00:00 | 2024-03-11 05:30 | äpfel,birne,zebra";

/// The default build autoloads ICU for `timezone()` and `at time zone`, installing it from the
/// profile's `custom_extension_repository` (a repository on 127.0.0.1), signature checked: the
/// table holds the local times.
#[test]
fn time_zone_functions_autoload_icu_from_a_custom_repository() {
    let repo = Repository::with_icu();
    let p = project("");
    set_repository(&p, &repo.url());
    let run = p.kiln(&["build"]).run();
    run.assert_success();
    assert_eq!(local_times(&p), [EXPECTED]);
    let wanted = format!("/{}/icu.duckdb_extension.gz", subfolder());
    assert!(
        repo.requests().contains(&wanted),
        "DuckDB fetched {:?}, not {wanted}",
        repo.requests()
    );
    // Installed into the profile's extension directory, so the next run needs no repository.
    assert!(
        p.root()
            .join("extensions")
            .join(subfolder())
            .join("icu.duckdb_extension")
            .is_file()
    );
}

/// The profile's `custom_extension_repository` set to `url`.
fn set_repository(p: &TestProject, url: &str) {
    p.write(
        "profiles.yml",
        &format!(
            "{}        custom_extension_repository: '{url}'\n",
            p.read("profiles.yml")
        ),
    );
}

/// ICU's file put in `p`'s extension directory (`<dir>/<version>/<platform>/`), and the
/// profile's repository a closed port: ICU can only come from the directory.
fn install_icu_without_repository(p: &TestProject) {
    let folder = p.root().join("extensions").join(subfolder());
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::copy(icu_extension(), folder.join("icu.duckdb_extension")).expect("copy");
    set_repository(p, &format!("http://127.0.0.1:{}", closed_port()));
}

/// With the file already in the extension directory (`<dir>/<version>/<platform>/`), ICU loads
/// with no repository at all: the one configured is a closed port.
#[test]
fn icu_in_the_extension_directory_loads_without_a_repository() {
    let p = project("");
    install_icu_without_repository(&p);
    p.kiln(&["build"]).run().assert_success();
    assert_eq!(local_times(&p), [EXPECTED]);
}

/// A repository that cannot be reached: the model fails (exit 1), and the error names the
/// extension, the URL DuckDB tried and the three ways to provide it.
#[test]
fn an_unreachable_repository_says_which_extension_which_url_and_what_to_do() {
    let port = closed_port();
    let p = project("");
    set_repository(&p, &format!("http://127.0.0.1:{port}"));
    let run = p.kiln(&["build"]).run();
    run.assert_code(1);
    let out = format!("{}{}", run.stdout, run.stderr);
    let (version, platform) = version_and_platform();
    for expected in [
        "local_times".to_string(),
        format!(
            "could not install or load its extension 'icu' (tried http://127.0.0.1:{port}/{version}/{platform}/icu.duckdb_extension.gz)"
        ),
        format!(
            "in {}/",
            p.root()
                .join("extensions")
                .join(&version)
                .join(&platform)
                .display()
        ),
        format!("duckdb-extension-icu=={}", version.trim_start_matches('v')),
        "set `custom_extension_repository` under the target's `settings:` in profiles.yml"
            .to_string(),
        "a kiln build whose DuckDB links it".to_string(),
    ] {
        assert!(out.contains(&expected), "no {expected:?} in:\n{out}");
    }
}

/// dbt-duckdb's `extensions:` in both forms: a name installed from the profile's repository
/// setting, and `{name, repo}` installed from that repository; either way ICU is loaded when
/// the database opens and the model builds.
#[test]
fn a_profile_extensions_entry_installs_and_loads_icu() {
    let repo = Repository::with_icu();
    let by_name = project("      extensions:\n        - icu\n");
    set_repository(&by_name, &repo.url());
    by_name.kiln(&["build"]).run().assert_success();
    assert_eq!(local_times(&by_name), [EXPECTED]);

    let with_repo = project(&format!(
        "      extensions:\n        - name: icu\n          repo: '{}'\n",
        repo.url()
    ));
    with_repo.kiln(&["build"]).run().assert_success();
    assert_eq!(local_times(&with_repo), [EXPECTED]);
    let wanted = format!("/{}/icu.duckdb_extension.gz", subfolder());
    assert_eq!(
        repo.requests().iter().filter(|r| **r == wanted).count(),
        2,
        "one download per project: {:?}",
        repo.requests()
    );
}

/// A profile entry that cannot be installed stops the command at connect (exit 2) with the
/// same explanation, before any model runs.
#[test]
fn a_profile_extension_that_cannot_be_installed_is_exit_2() {
    let port = closed_port();
    let p = project(&format!(
        "      extensions:\n        - name: icu\n          repo: 'http://127.0.0.1:{port}'\n"
    ));
    let run = p.kiln(&["build"]).run();
    run.assert_code(2);
    let out = format!("{}{}", run.stdout, run.stderr);
    for expected in [
        "cannot install the DuckDB extension 'icu' listed under extensions: in profiles.yml"
            .to_string(),
        format!("(tried http://127.0.0.1:{port}/"),
        "set `custom_extension_repository`".to_string(),
    ] {
        assert!(out.contains(&expected), "no {expected:?} in:\n{out}");
    }
}

/// ICU installed in the extension directory is loaded when the database opens, so the nested
/// `at time zone` that dbt_date's `convert_timezone` writes binds (DuckDB's autoload misses this
/// form: without the load it fails with "No function matches ... timezone"), in the model and in
/// a query a macro runs while rendering (jaffle-shop's `metricflow_time_spine`).
#[test]
fn installed_icu_is_loaded_for_nested_at_time_zone() {
    let p = project("")
        .file(
            "macros/local_offset.sql",
            "{% macro local_offset() %}{% set r = run_query(\"select cast(timestamp '2024-01-01 12:00:00' at time zone 'UTC' at time zone 'America/Los_Angeles' as varchar)\") %}{% if execute %}{{ return(\"'\" ~ r.columns[0].values()[0] ~ \"'\") }}{% endif %}{{ return(\"''\") }}{% endmacro %}",
        )
        .file(
            "models/nested_zones.sql",
            "{{ config(materialized='table') }}\nselect cast(timestamp '2024-01-01 12:00:00' at time zone 'UTC' at time zone 'America/Los_Angeles' as varchar) as la, {{ local_offset() }} as rendered",
        );
    install_icu_without_repository(&p);
    p.kiln(&["build", "-s", "nested_zones"])
        .run()
        .assert_success();
    assert_eq!(
        column(
            &p,
            "select concat_ws(' | ', la, rendered) from main.nested_zones"
        ),
        ["2024-01-01 04:00:00 | 2024-01-01 04:00:00"]
    );
}

//! `kiln deps`: packages installed from a local folder, from a git repository the test creates
//! (`git init --bare`, a commit, a tag), and from a package hub the test serves on 127.0.0.1 (an
//! index and tarballs in the hub API's shape); the lock file in dbt's format and its reuse
//! without network; `--upgrade`, `--add-package`; the errors (a range nobody satisfies, a
//! conflict, an unreachable hub) and the rule that a failed run leaves `dbt_packages/` as it was.
//! Snapshots: `tests/snapshots/deps__*`.

#[path = "cli/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use support::{Run, TestProject};

// ---------------------------------------------------------------------------------------------
// A package hub on 127.0.0.1: `/api/v1/index.json`, `/api/v1/<org>/<name>.json` and tarballs.

type Files = Arc<Mutex<BTreeMap<String, Vec<u8>>>>;

/// A tiny HTTP server on a free port of 127.0.0.1, serving `files` by path; stopped on drop.
struct Server {
    port: u16,
    files: Files,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local addr").port();
        let files: Files = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (f, s) = (files.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    serve(stream, &f);
                }
            }
        });
        Server {
            port,
            files,
            stop,
            handle: Some(handle),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn put(&self, path: &str, body: Vec<u8>) {
        self.files
            .lock()
            .expect("files")
            .insert(path.to_string(), body);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(mut stream: TcpStream, files: &Files) {
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

/// A gzipped tarball of one folder, `<top>/dbt_project.yml` and `<top>/macros/m.sql`, made
/// with the system's `tar` (as a package author would).
fn tarball(work: &Path, top: &str, project: &str, packages_yml: Option<&str>) -> Vec<u8> {
    let dir = work.join(format!("build-{top}"));
    write_package(&dir.join(top), project, packages_yml);
    let out = dir.join("p.tar.gz");
    let status = Command::new("tar")
        .arg("czf")
        .arg(&out)
        .arg("-C")
        .arg(&dir)
        .arg(top)
        .status()
        .expect("run tar");
    assert!(status.success());
    std::fs::read(out).expect("read tarball")
}

/// A package folder: dbt_project.yml, a macro saying which package (and version) it is, and
/// optionally its own packages.yml.
fn write_package(dir: &Path, name: &str, packages_yml: Option<&str>) {
    std::fs::create_dir_all(dir.join("macros")).expect("mkdir");
    std::fs::write(
        dir.join("dbt_project.yml"),
        format!("name: '{name}'\nversion: '1.0.0'\nconfig-version: 2\n"),
    )
    .expect("write");
    std::fs::write(
        dir.join("macros/m.sql"),
        format!(
            "{{% macro which_{name}() %}}'{}'{{% endmacro %}}\n",
            dir.display()
        ),
    )
    .expect("write");
    if let Some(p) = packages_yml {
        std::fs::write(dir.join("packages.yml"), p).expect("write");
    }
}

/// Publishes `org/name` with these versions (each `(version, its packages as JSON,
/// require_dbt_version)`) on the hub, tarballs included, and lists every package in the index.
fn publish(
    hub: &Server,
    work: &Path,
    index: &[&str],
    package: &str,
    versions: &[(&str, serde_json::Value)],
) {
    let (org, name) = package.split_once('/').expect("org/name");
    let mut vs = serde_json::Map::new();
    for (v, deps) in versions {
        let top = format!("{name}-{v}");
        let tar = tarball(work, &top, name, None);
        let tar_path = format!("/tarballs/{top}.tar.gz");
        hub.put(&tar_path, tar);
        vs.insert(
            v.to_string(),
            serde_json::json!({
                "id": format!("{package}/{v}"),
                "name": name,
                "version": v,
                "published_at": "2024-01-01T00:00:00Z",
                "packages": deps,
                "works_with": [],
                "require_dbt_version": [">=1.0.0", "<3.0.0"],
                "_source": {"type": "github", "url": "", "readme": ""},
                "downloads": {"tarball": format!("{}tarballs/{top}.tar.gz", hub.url()), "format": "tgz", "sha1": ""},
            }),
        );
    }
    let doc = serde_json::json!({
        "name": name, "namespace": org, "description": "", "latest": versions.last().map(|v| v.0),
        "versions": vs,
    });
    hub.put(
        &format!("/api/v1/{package}.json"),
        serde_json::to_vec(&doc).expect("json"),
    );
    hub.put(
        "/api/v1/index.json",
        serde_json::to_vec(&index).expect("json"),
    );
}

/// The test hub: `kiln-test/hubpkg` 1.0.0, 1.2.0 and 2.0.0 (each asking for `kiln-test/dep`
/// in `[>=1.0.0, <2.0.0]`), and `kiln-test/dep` 1.0.0 and 1.1.0.
fn test_hub(work: &Path) -> Server {
    let hub = Server::start();
    publish_test_packages(&hub, work, &["1.0.0", "1.2.0", "2.0.0"]);
    hub
}

fn publish_test_packages(hub: &Server, work: &Path, hubpkg_versions: &[&str]) {
    let index = ["kiln-test/hubpkg", "kiln-test/dep"];
    let dep = serde_json::json!([{"package": "kiln-test/dep", "version": [">=1.0.0", "<2.0.0"]}]);
    let versions: Vec<(&str, serde_json::Value)> =
        hubpkg_versions.iter().map(|v| (*v, dep.clone())).collect();
    publish(hub, work, &index, "kiln-test/hubpkg", &versions);
    publish(
        hub,
        work,
        &index,
        "kiln-test/dep",
        &[
            ("1.0.0", serde_json::json!([])),
            ("1.1.0", serde_json::json!([])),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Running kiln deps.

fn deps(p: &TestProject, hub: Option<&str>, args: &[&str]) -> Run {
    let mut k = p.kiln(&["deps"]).args(args);
    // git must be found; the harness clears the environment.
    if let Ok(path) = std::env::var("PATH") {
        k = k.env("PATH", path);
    }
    if let Some(h) = hub {
        k = k.env("DBT_PACKAGE_HUB_URL", h);
    }
    k.run()
}

/// The run's snapshot text, with the hub's port and git commit shas made stable.
fn stable(run: &Run) -> String {
    stable_text(&run.snapshot())
}

fn stable_text(text: &str) -> String {
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").expect("regex");
    let sha = regex::Regex::new(r"\b[0-9a-f]{40}\b").expect("regex");
    let tmp = regex::Regex::new(r"/tmp/kiln-test\w+").expect("regex");
    let out = port.replace_all(text, "127.0.0.1:[PORT]");
    let out = sha.replace_all(&out, "[SHA]");
    tmp.replace_all(&out, "[TMP]").into_owned()
}

fn snap(name: &str, text: &str) {
    insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(format!("deps__{name}"), text);
    });
}

/// The names in the install folder, sorted (kiln's state file left out).
fn installed(p: &TestProject, dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(p.dir().join(dir))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n != ".kiln-deps.json")
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// What the installed package's macro says about where it came from.
fn origin_of(p: &TestProject, package: &str) -> String {
    p.read(&format!("dbt_packages/{package}/macros/m.sql"))
}

/// Nothing but the install folder itself is left beside it (no staging folder).
fn assert_no_staging_left(p: &TestProject) {
    let left: Vec<String> = std::fs::read_dir(p.dir())
        .expect("read project")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(".kiln-"))
        .collect();
    assert!(left.is_empty(), "staging left behind: {left:?}");
}

// ---------------------------------------------------------------------------------------------
// Local packages.

#[test]
fn local_package_is_linked_locked_and_survives_clean() {
    let p = TestProject::minimal().file("packages.yml", "packages:\n  - local: ../local_src\n");
    write_package(&p.root().join("local_src"), "local_pkg", None);
    let run = deps(&p, None, &[]);
    run.assert_success();
    snap("local_install", &stable(&run));
    // As dbt does: a symbolic link to the package's folder.
    let link = p.dir().join("dbt_packages/local_pkg");
    let target = std::fs::read_link(&link).expect("a symlink");
    assert_eq!(target, p.root().join("local_src"));
    assert_eq!(
        p.read("package-lock.yml"),
        // dbt-core 1.11 writes this for the same packages.yml.
        "packages:\n  - local: ../local_src\n    name: local_pkg\nsha1_hash: 97d2d639b2e3f906f9630a7d5e0bdf431362ab5f\n"
    );
    assert_no_staging_left(&p);
    // `kiln clean` removes dbt_packages (a clean-target) and never follows the link.
    p.kiln(&["clean"]).run().assert_success();
    assert!(!p.exists("dbt_packages"));
    assert!(p.root().join("local_src/dbt_project.yml").is_file());
}

/// A lock written by dbt before 1.7 names no package (dbt_utils' own integration tests commit
/// one for `local: ../`): the local package is named from its dbt_project.yml and the lock
/// written again with the name, never installed under its path (`dbt_packages/../` is the
/// project's own folder).
#[test]
fn a_lock_without_names_installs_a_local_package_under_its_project_name() {
    let p = TestProject::minimal()
        .file("packages.yml", "packages:\n  - local: ../\n")
        .file(
            "package-lock.yml",
            "packages:\n- local: ../\nsha1_hash: de2deba3d66ce03d8c02949013650cc9b94f6030\n",
        );
    std::fs::write(
        p.root().join("dbt_project.yml"),
        "name: 'parent_pkg'\nversion: '1.0.0'\nconfig-version: 2\n",
    )
    .expect("write the package's dbt_project.yml");
    deps(&p, None, &[]).assert_success();
    assert_eq!(installed(&p, "dbt_packages"), ["parent_pkg"]);
    assert!(p.exists("dbt_project.yml") && p.exists("profiles.yml"));
    assert_eq!(
        p.read("package-lock.yml"),
        "packages:\n  - local: ../\n    name: parent_pkg\nsha1_hash: de2deba3d66ce03d8c02949013650cc9b94f6030\n"
    );
}

#[test]
fn dependencies_yml_is_read_and_both_files_is_an_error() {
    let p = TestProject::minimal().file("dependencies.yml", "packages:\n  - local: ../local_src\n");
    write_package(&p.root().join("local_src"), "local_pkg", None);
    // A custom packages-install-path.
    p.write(
        "dbt_project.yml",
        "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\npackages-install-path: vendor/pkgs\n",
    );
    deps(&p, None, &[]).assert_success();
    assert_eq!(installed(&p, "vendor/pkgs"), ["local_pkg"]);
    p.write("packages.yml", "packages:\n  - local: ../local_src\n");
    let run = deps(&p, None, &[]);
    run.assert_code(2);
    snap("both_files_error", &stable(&run));
}

// ---------------------------------------------------------------------------------------------
// Git packages from a bare repository made here.

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A bare repository with two commits: the first tagged `v1.0`, holding `gitpkg` at the root
/// and `gitsub` under `sub/inner`; the second (on main) changes both. Returns (URL, the
/// commits).
fn bare_repo(root: &Path) -> (String, String, String) {
    let work = root.join("gitwork");
    write_package(&work, "gitpkg", None);
    write_package(&work.join("sub/inner"), "gitsub", None);
    std::fs::write(work.join("VERSION"), "one\n").expect("write");
    std::fs::write(work.join("sub/inner/VERSION"), "one\n").expect("write");
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "one"]);
    git(&work, &["tag", "v1.0"]);
    let first = git(&work, &["rev-parse", "HEAD"]);
    std::fs::write(work.join("VERSION"), "two\n").expect("write");
    std::fs::write(work.join("sub/inner/VERSION"), "two\n").expect("write");
    git(&work, &["commit", "-qam", "two"]);
    let second = git(&work, &["rev-parse", "HEAD"]);
    let bare = root.join("bare.git");
    git(root, &["init", "-q", "--bare", "-b", "main", "bare.git"]);
    git(
        &work,
        &[
            "push",
            "-q",
            bare.to_str().expect("utf-8"),
            "main",
            "--tags",
        ],
    );
    (format!("file://{}", bare.display()), first, second)
}

#[test]
fn git_packages_by_tag_by_commit_and_subdirectory() {
    let p = TestProject::minimal();
    let (url, first, second) = bare_repo(p.root());
    p.write(
        "packages.yml",
        &format!(
            "packages:\n  - git: \"{url}\"\n    revision: v1.0\n  - git: \"{url}\"\n    subdirectory: sub/inner\n    revision: {second}\n"
        ),
    );
    let run = deps(&p, None, &[]);
    run.assert_success();
    assert!(
        run.stderr.is_empty(),
        "no warning for pinned revisions: {}",
        run.stderr
    );
    assert_eq!(installed(&p, "dbt_packages"), ["gitpkg", "gitsub"]);
    // The tag's commit, not main's.
    assert_eq!(p.read("dbt_packages/gitpkg/VERSION"), "one\n");
    assert_eq!(p.read("dbt_packages/gitsub/VERSION"), "two\n");
    // Only the subdirectory is installed.
    assert!(!p.exists("dbt_packages/gitsub/sub"));
    let lock = p.read("package-lock.yml");
    assert!(
        lock.starts_with(&format!(
            "packages:\n  - git: {url}\n    name: gitpkg\n    revision: {first}\n  - git: {url}\n    name: gitsub\n    revision: {second}\n    subdirectory: sub/inner\nsha1_hash: "
        )),
        "{lock}"
    );
    snap("git_install", &stable(&run));
    // From the lock (commits by sha) into an empty folder: the same files.
    std::fs::remove_dir_all(p.dir().join("dbt_packages")).expect("rm");
    deps(&p, None, &[]).assert_success();
    assert_eq!(p.read("package-lock.yml"), lock);
    assert_eq!(p.read("dbt_packages/gitpkg/VERSION"), "one\n");
    assert_eq!(p.read("dbt_packages/gitsub/VERSION"), "two\n");
}

#[test]
fn an_unpinned_git_package_warns_unless_told_not_to() {
    let p = TestProject::minimal();
    let (url, _, second) = bare_repo(p.root());
    p.write(
        "packages.yml",
        &format!("packages:\n  - git: \"{url}\"\n    revision: main\n"),
    );
    let run = deps(&p, None, &[]);
    run.assert_success();
    // HEAD of main, recorded as its commit.
    assert!(
        p.read("package-lock.yml")
            .contains(&format!("revision: {second}"))
    );
    snap("git_unpinned_warning", &stable(&run).replace(&url, "[URL]"));
    // --warn-error makes it an error (dbt's DepsUnpinned).
    let run = deps(
        &p,
        None,
        &[
            "--upgrade",
            "--warn-error-options",
            "{error: [DepsUnpinned]}",
        ],
    );
    run.assert_code(2);
    p.write(
        "packages.yml",
        &format!("packages:\n  - git: \"{url}\"\n    warn-unpinned: false\n"),
    );
    let run = deps(&p, None, &[]);
    run.assert_success();
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// Hub packages from a hub served here.

#[test]
fn hub_versions_resolve_to_the_latest_within_every_range() {
    let p = TestProject::minimal();
    let hub = test_hub(p.root());
    // hubpkg: the latest below 2.0.0; dep: asked by hubpkg in [>=1.0.0, <2.0.0] and by the
    // project below 1.1.0, so 1.0.0.
    p.write(
        "packages.yml",
        "packages:\n  - package: kiln-test/hubpkg\n    version: [\">=1.0.0\", \"<2.0.0\"]\n  - package: kiln-test/dep\n    version: \"<1.1.0\"\n",
    );
    let run = deps(&p, Some(&hub.url()), &[]);
    run.assert_success();
    assert!(origin_of(&p, "hubpkg").contains("hubpkg-1.2.0"));
    assert!(origin_of(&p, "dep").contains("dep-1.0.0"));
    assert_eq!(
        p.read("package-lock.yml"),
        "packages:\n  - name: hubpkg\n    package: kiln-test/hubpkg\n    version: 1.2.0\n  - name: dep\n    package: kiln-test/dep\n    version: 1.0.0\nsha1_hash: c5c31ec15bc1cd4b7ec23792c4a60b557817f8cb\n"
    );
    snap("hub_install", &stable(&run));
}

#[test]
fn a_transitive_conflict_names_both_requirers() {
    let p = TestProject::minimal();
    let hub = test_hub(p.root());
    p.write(
        "packages.yml",
        "packages:\n  - package: kiln-test/hubpkg\n    version: 1.2.0\n  - package: kiln-test/dep\n    version: \">=2.0.0\"\n",
    );
    let run = deps(&p, Some(&hub.url()), &[]);
    run.assert_code(2);
    snap("hub_conflict", &stable(&run));
    assert!(!p.exists("dbt_packages"));
    assert!(!p.exists("package-lock.yml"));
}

#[test]
fn a_range_nobody_satisfies_is_an_error_at_its_line() {
    let p = TestProject::minimal();
    let hub = test_hub(p.root());
    p.write(
        "packages.yml",
        "packages:\n  - package: kiln-test/hubpkg\n    version: [\">=3.0.0\"]\n",
    );
    let run = deps(&p, Some(&hub.url()), &[]);
    run.assert_code(2);
    snap("hub_no_version", &stable(&run));
    p.write(
        "packages.yml",
        "packages:\n  - package: kiln-test/nothere\n    version: 1.0.0\n",
    );
    let run = deps(&p, Some(&hub.url()), &[]);
    run.assert_code(2);
    snap("hub_unknown_package", &stable(&run));
}

#[test]
fn the_lock_is_installed_as_written_without_network_and_upgrade_resolves_again() {
    let p = TestProject::minimal().file(
        "packages.yml",
        "packages:\n  - package: kiln-test/hubpkg\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
    );
    let work = p.root().join("hub-a");
    let hub = test_hub(&work);
    deps(&p, Some(&hub.url()), &[]).assert_success();
    let lock = p.read("package-lock.yml");
    assert!(lock.contains("version: 1.2.0"), "{lock}");
    // A newer version inside the range is published: the lock still rules.
    publish_test_packages(&hub, &work, &["1.0.0", "1.2.0", "1.3.0", "2.0.0"]);
    std::fs::remove_dir_all(p.dir().join("dbt_packages")).expect("rm");
    let run = deps(&p, Some(&hub.url()), &[]);
    run.assert_success();
    assert!(origin_of(&p, "hubpkg").contains("hubpkg-1.2.0"));
    assert_eq!(p.read("package-lock.yml"), lock);
    // No network at all: the hub is gone, the lock matches, everything is installed.
    let url = hub.url();
    drop(hub);
    let run = deps(&p, Some(&url), &[]);
    run.assert_success();
    snap("lock_reused_offline", &stable(&run));
    // --upgrade resolves again (on a hub that is up again), and takes 1.3.0.
    let work = p.root().join("hub-b");
    let hub = Server::start();
    publish_test_packages(&hub, &work, &["1.0.0", "1.2.0", "1.3.0", "2.0.0"]);
    deps(&p, Some(&hub.url()), &["--upgrade"]).assert_success();
    assert!(p.read("package-lock.yml").contains("version: 1.3.0"));
    assert!(origin_of(&p, "hubpkg").contains("hubpkg-1.3.0"));
}

#[test]
fn tarball_packages_install_under_their_name() {
    let p = TestProject::minimal();
    let hub = Server::start();
    hub.put("/tb.tar.gz", tarball(p.root(), "tb-src", "tbpkg", None));
    p.write(
        "packages.yml",
        &format!(
            "packages:\n  - tarball: \"{}tb.tar.gz\"\n    name: tb_name\n",
            hub.url()
        ),
    );
    deps(&p, None, &[]).assert_success();
    assert_eq!(installed(&p, "dbt_packages"), ["tb_name"]);
    assert!(
        p.read("package-lock.yml")
            .contains("  - name: tb_name\n    tarball: http://127.0.0.1:")
    );
}

// ---------------------------------------------------------------------------------------------
// Errors that leave everything as it was.

#[test]
fn an_unreachable_hub_is_one_clear_error() {
    let p = TestProject::minimal().file(
        "packages.yml",
        "packages:\n  - package: kiln-test/hubpkg\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
    );
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let run = deps(&p, Some(&format!("http://127.0.0.1:{port}/")), &[]);
    run.assert_code(2);
    snap("hub_unreachable", &stable(&run));
    // A tarball URL that answers 404.
    let hub = Server::start();
    p.write(
        "packages.yml",
        &format!(
            "packages:\n  - tarball: \"{}missing.tar.gz\"\n    name: gone\n",
            hub.url()
        ),
    );
    let run = deps(&p, None, &[]);
    run.assert_code(2);
    snap("tarball_not_found", &stable(&run));
    assert_no_staging_left(&p);
}

#[test]
fn a_failed_install_leaves_the_previous_packages_untouched() {
    let p = TestProject::minimal().file(
        "packages.yml",
        "packages:\n  - local: ../local_src\n  - package: kiln-test/dep\n    version: 1.1.0\n",
    );
    write_package(&p.root().join("local_src"), "local_pkg", None);
    let hub = test_hub(p.root());
    deps(&p, Some(&hub.url()), &[]).assert_success();
    let lock = p.read("package-lock.yml");
    let macro_before = origin_of(&p, "dep");
    // Ask for one more package whose download fails.
    p.write(
        "packages.yml",
        &format!(
            "packages:\n  - local: ../local_src\n  - package: kiln-test/dep\n    version: 1.0.0\n  - tarball: \"{}missing.tar.gz\"\n    name: gone\n",
            hub.url()
        ),
    );
    let run = deps(&p, Some(&hub.url()), &[]);
    run.assert_code(2);
    assert_eq!(installed(&p, "dbt_packages"), ["dep", "local_pkg"]);
    assert_eq!(origin_of(&p, "dep"), macro_before);
    assert_eq!(p.read("package-lock.yml"), lock);
    assert_no_staging_left(&p);
}

// ---------------------------------------------------------------------------------------------
// --add-package.

#[test]
fn add_package_edits_packages_yml_and_installs() {
    let p = TestProject::minimal().file(
        "packages.yml",
        "# our packages\npackages:\n  - local: ../local_src   # the shared macros\n",
    );
    write_package(&p.root().join("local_src"), "local_pkg", None);
    let hub = test_hub(p.root());
    let run = deps(
        &p,
        Some(&hub.url()),
        &["--add-package", "kiln-test/hubpkg@>=1.0.0,<2.0.0"],
    );
    run.assert_success();
    // Appended, comments kept; the range written as a list, as dbt writes it.
    assert_eq!(
        p.read("packages.yml"),
        "# our packages\npackages:\n  - local: ../local_src   # the shared macros\n  - package: kiln-test/hubpkg\n    version:\n      - '>=1.0.0'\n      - <2.0.0\n"
    );
    assert_eq!(
        installed(&p, "dbt_packages"),
        ["dep", "hubpkg", "local_pkg"]
    );
    // Adding it again replaces the entry (dbt's duplicate rule), and re-resolves.
    let run = deps(
        &p,
        Some(&hub.url()),
        &["--add-package", "kiln-test/hubpkg@1.0.0"],
    );
    run.assert_success();
    assert_eq!(
        p.read("packages.yml"),
        "packages:\n  - local: ../local_src\n  - package: kiln-test/hubpkg\n    version: 1.0.0\n"
    );
    assert!(origin_of(&p, "hubpkg").contains("hubpkg-1.0.0"));
    snap("add_package", &stable(&run));
    // --source git and --source local.
    let (url, _, _) = bare_repo(p.root());
    deps(
        &p,
        Some(&hub.url()),
        &["--add-package", &format!("{url}@v1.0"), "--source", "git"],
    )
    .assert_success();
    assert!(
        p.read("packages.yml")
            .ends_with(&format!("  - git: {url}\n    revision: v1.0\n"))
    );
    assert!(installed(&p, "dbt_packages").contains(&"gitpkg".to_string()));
    // A hub package needs a version.
    let run = deps(&p, Some(&hub.url()), &["--add-package", "kiln-test/dep"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("a hub package needs a version"),
        "{}",
        run.stderr
    );
}

#[test]
fn no_packages_is_a_note_and_an_empty_install_folder() {
    let p = TestProject::minimal();
    let run = deps(&p, None, &[]);
    run.assert_success();
    assert!(
        run.stdout
            .contains("No packages were found in packages.yml"),
        "{}",
        run.stdout
    );
    assert!(installed(&p, "dbt_packages").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Held to dbt-core's recording (tests/dbt_recorded/record.sh, section 16).

/// The recorded scenario: a local package, a git package by tag and one in a subdirectory at
/// main, a tarball, and a hub range with a transitive dependency. kiln's lock file, install
/// folder and install lines must be dbt's, the temp folder, port and commit shas aside.
#[test]
fn the_recorded_scenario_installs_as_dbt_does() {
    let p = TestProject::minimal();
    write_package(&p.root().join("local_src"), "local_pkg", None);
    let (url, _, _) = bare_repo(p.root());
    let hub = test_hub(p.root());
    hub.put(
        "/tarballs/tb.tar.gz",
        tarball(p.root(), "tb-src", "tbpkg", None),
    );
    p.write(
        "packages.yml",
        &format!(
            "packages:\n  - local: ../local_src\n  - git: \"{url}\"\n    revision: v1.0\n  - git: \"{url}\"\n    subdirectory: sub/inner\n    revision: main\n  - tarball: \"{}tarballs/tb.tar.gz\"\n    name: tb_name\n  - package: kiln-test/hubpkg\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
            hub.url()
        ),
    );
    let run = deps(&p, Some(&hub.url()), &[]);
    run.assert_success();
    let recorded = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dbt_recorded/deps");
    let read = |f: &str| std::fs::read_to_string(recorded.join(f)).expect("recording");
    let root = p.root().display().to_string();
    let norm = |text: &str| {
        let port = regex::Regex::new(r"127\.0\.0\.1:\d+").expect("regex");
        let sha = regex::Regex::new(r"[0-9a-f]{40}").expect("regex");
        let t = text.replace(&root, "<work>");
        let t = port.replace_all(&t, "127.0.0.1:<port>");
        sha.replace_all(&t, "<sha>").into_owned()
    };
    assert_eq!(norm(&p.read("package-lock.yml")), read("package-lock.yml"));
    let installed_now: Vec<String> = installed(&p, "dbt_packages")
        .into_iter()
        .map(|n| {
            let link = std::fs::symlink_metadata(p.dir().join("dbt_packages").join(&n))
                .expect("entry")
                .file_type()
                .is_symlink();
            format!("{n} {}", if link { "link" } else { "folder" })
        })
        .collect();
    assert_eq!(installed_now.join("\n") + "\n", read("installed.txt"));
    // The install lines, in dbt's words (dbt says where the lock goes before installing, kiln
    // once it is written; dbt's warnings are on stdout, kiln's on stderr).
    let lines = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| l.trim_end().replace("run dbt deps", "run kiln deps"))
            .filter(|l| {
                l.starts_with("Install")
                    || l.starts_with("Up")
                    || l.starts_with("and ")
                    || l.starts_with("Update")
            })
            .filter(|l| !l.starts_with("Updating lock file"))
            .collect()
    };
    assert_eq!(lines(&norm(&run.stdout)), lines(&read("deps.txt")));
    assert!(
        run.stderr.contains("is pinned to the \"main\" branch"),
        "{}",
        run.stderr
    );
}

/// A package's own packages.yml brings its requirements in, and a conflict with them names the
/// package and the line of its file.
#[test]
fn a_local_packages_own_requirements_are_installed_and_checked() {
    let p = TestProject::minimal().file("packages.yml", "packages:\n  - local: ../local_src\n");
    write_package(
        &p.root().join("local_src"),
        "local_pkg",
        Some("packages:\n  - package: kiln-test/dep\n    version: 1.0.0\n"),
    );
    let hub = test_hub(p.root());
    deps(&p, Some(&hub.url()), &[]).assert_success();
    assert_eq!(installed(&p, "dbt_packages"), ["dep", "local_pkg"]);
    assert!(origin_of(&p, "dep").contains("dep-1.0.0"));
    assert!(
        p.read("package-lock.yml")
            .contains("  - name: dep\n    package: kiln-test/dep\n    version: 1.0.0\n")
    );
    // The project now asks for another version of it.
    p.write(
        "packages.yml",
        "packages:\n  - local: ../local_src\n  - package: kiln-test/dep\n    version: 1.1.0\n",
    );
    let run = deps(&p, Some(&hub.url()), &[]);
    run.assert_code(2);
    snap("local_transitive_conflict", &stable(&run));
}

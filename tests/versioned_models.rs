//! Versioned models: file-per-version nodes, `ref()` with and without `v=`, per-version tests.

use assert_cmd::Command;
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk fixture");
        let rel = entry.path().strip_prefix(from).expect("inside fixture");
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

#[test]
fn unversioned_ref_is_latest_and_versions_get_their_own_nodes() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(Path::new("tests/fixtures/versioned_models"), dir.path());
    let out = Command::cargo_bin("kiln")
        .expect("binary")
        .args(["compile", "-s", "use", "--project-dir"])
        .arg(dir.path())
        .arg("--profiles-dir")
        .arg(dir.path())
        .output()
        .expect("run kiln");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = std::fs::read_to_string(dir.path().join("target/compiled/ver/models/use.sql"))
        .expect("compiled");
    assert_eq!(
        sql.trim(),
        r#"select * from "ver"."main"."dim_v2" union all select * from "ver"."main"."dim_v1""#
    );
    let ls = Command::cargo_bin("kiln")
        .expect("binary")
        .args(["ls", "--output", "selector", "--project-dir"])
        .arg(dir.path())
        .arg("--profiles-dir")
        .arg(dir.path())
        .output()
        .expect("run kiln");
    let listed = String::from_utf8_lossy(&ls.stdout);
    for expected in [
        "ver.dim.v1",
        "ver.dim.v2",
        "ver.unique_dim_v1_id",
        "ver.unique_dim_v2_id",
    ] {
        assert!(
            listed.lines().any(|l| l == expected),
            "missing {expected} in:\n{listed}"
        );
    }
}

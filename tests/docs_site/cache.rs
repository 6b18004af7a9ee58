//! The site's files are written only when their bytes change: with `target/` kept, an unchanged
//! detail shard keeps its modification time, a changed one is written again, and the shard of
//! nodes since deleted is removed (src/docs/write.rs).

use super::support::TestProject;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// 65 models: two detail shards of 64 (`model.shop.m064` alone in the second).
fn project() -> TestProject {
    let mut p = TestProject::minimal();
    for i in 0..65 {
        p = p.file(
            &format!("models/m{i:03}.sql"),
            &format!("select {i} as id\n"),
        );
    }
    p
}

fn generate(p: &TestProject) {
    p.kiln(&["docs", "generate", "--empty-catalog"])
        .run()
        .assert_success();
}

fn shard(p: &TestProject, i: usize) -> PathBuf {
    p.dir().join(format!("target/kiln-docs/d/{i}.js"))
}

const LONG_AGO: u64 = 1_000_000_000;

/// Sets the file's modification time far in the past.
fn age(path: &Path) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(LONG_AGO)))
        .unwrap_or_else(|e| panic!("cannot age {}: {e}", path.display()));
}

fn aged(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("no {}: {e}", path.display()))
        == SystemTime::UNIX_EPOCH + Duration::from_secs(LONG_AGO)
}

#[test]
fn unchanged_shards_are_kept_changed_ones_rewritten_deleted_ones_removed() {
    let p = project();
    generate(&p);
    let (first, second) = (shard(&p, 0), shard(&p, 1));
    assert!(second.is_file(), "65 nodes make two shards");
    let graph = p.dir().join("target/kiln-docs/graph.js");
    for path in [&first, &second, &graph] {
        age(path);
    }

    // Nothing changed: no shard is written again (graph.js is: it holds the time it was made).
    generate(&p);
    assert!(
        aged(&first) && aged(&second),
        "unchanged shards were rewritten"
    );
    assert!(!aged(&graph), "graph.js says when the site was made");

    // m064 changed: its shard is written again, with its new SQL; the other is left alone.
    p.write("models/m064.sql", "select 64 as id, 'renamed' as label\n");
    generate(&p);
    assert!(aged(&first), "shard 0 did not change");
    assert!(!aged(&second), "shard 1 holds m064, which changed");
    let text = std::fs::read_to_string(&second).expect("shard 1");
    assert!(text.contains("'renamed' as label"), "{text}");

    // m064 deleted: its shard is removed, the other still left alone.
    std::fs::remove_file(p.dir().join("models/m064.sql")).expect("remove m064");
    generate(&p);
    assert!(!second.exists(), "the deleted node's shard lingers");
    assert!(aged(&first), "shard 0 did not change");
    let graph_text = std::fs::read_to_string(&graph).expect("graph.js");
    assert!(!graph_text.contains("m064"), "{graph_text}");
}

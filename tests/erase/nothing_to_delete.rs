//! A dry run that would delete no row says nothing needs rebuilding, rather than listing what
//! `--apply` would rebuild.

use super::*;

#[test]
fn a_dry_run_deleting_nothing_says_nothing_needs_rebuilding() {
    let p = shop();
    kiln(&p, &["build"]).assert_success();
    let first = kiln(&p, &["erase"]);
    first.assert_success();
    assert!(
        first
            .stdout
            .contains("--apply then rebuilds: contact_count"),
        "{}",
        first.snapshot()
    );
    kiln(&p, &["erase", "--apply"]).assert_success();
    let dry = kiln(&p, &["erase"]);
    dry.assert_success();
    assert!(
        dry.stdout
            .contains("would delete 0 row(s) in 0 table(s) kiln manages"),
        "{}",
        dry.snapshot()
    );
    assert!(
        dry.stdout
            .contains("no row to delete, so nothing needs rebuilding"),
        "{}",
        dry.snapshot()
    );
    assert!(
        !dry.stdout.contains("--apply then rebuilds"),
        "{}",
        dry.snapshot()
    );
}

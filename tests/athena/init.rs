//! `kiln init --adapter athena`: the profile's fields from `--field key=value`, else asked
//! for (read from stdin when it is not a terminal), written as a `type: athena` target that
//! `kiln debug` then connects with (here to moto, through the proxy).

use super::{SECRET, Warehouse};
use std::io::Write as _;
use std::process::{Command, Stdio};

#[test]
fn init_scaffolds_an_athena_profile_that_connects() {
    let w = Warehouse::new(&[]);
    let root = w.project.root().to_path_buf();
    let staging = format!("--field=s3_staging_dir=s3://{}/staging/", w.bucket);
    let endpoint = format!("--field=endpoint_url={}", w.proxy.url());
    let run = w
        .project
        .kiln_bare(&[
            "init",
            "shop_athena",
            "--adapter",
            "athena",
            "--field",
            "region_name=us-east-1",
            &staging,
            "--field",
            "schema=analytics",
            &endpoint,
        ])
        .current_dir(&root)
        .run();
    run.assert_success();
    let project = root.join("shop_athena");
    let profiles = std::fs::read_to_string(project.join("profiles.yml")).expect("profiles.yml");
    insta::assert_snapshot!(
        "init_athena_profile",
        profiles
            .replace(&w.bucket, "BUCKET")
            .replace(&w.proxy.url(), "http://PROXY")
    );
    // the standard AWS chain (here the environment) gives the credentials
    let debug = w
        .project
        .kiln_bare(&["debug"])
        .current_dir(&project)
        .env("AWS_ACCESS_KEY_ID", &w.key_id)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .run();
    debug.assert_success();
    assert!(
        debug.stdout.contains("All checks passed"),
        "{}",
        debug.stdout
    );
    assert!(!debug.stdout.contains(SECRET) && !debug.stderr.contains(SECRET));
    let ops = w.proxy.ops();
    assert!(
        ops.iter().any(|o| o == "GetWorkGroup")
            && ops
                .iter()
                .any(|o| o == "GetDatabases" || o == "GetDatabase"),
        "kiln debug connected: {ops:?}"
    );
}

/// The fields not given as flags are asked for; without a terminal they are read from stdin,
/// one line each, and a missing answer is exit 2 naming the field and the flag.
#[test]
fn init_asks_for_the_athena_fields_it_was_not_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let init = |stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .env_clear()
            .env("HOME", dir.path())
            .env("NO_COLOR", "1")
            .current_dir(dir.path())
            .args([
                "init",
                "lake",
                "--adapter",
                "athena",
                "--field",
                "work_group=etl",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kiln init");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("answers");
        child.wait_with_output().expect("kiln init")
    };
    // region_name, s3_staging_dir, schema: the fields without a default, in order
    let partial = init("eu-west-1\ns3://lake-results/kiln/\n");
    assert_eq!(partial.status.code(), Some(2));
    let out = String::from_utf8_lossy(&partial.stdout).to_string()
        + &String::from_utf8_lossy(&partial.stderr);
    assert!(
        out.contains("kiln init --adapter athena needs schema")
            && out.contains("--field schema=<value>"),
        "{out}"
    );
    assert!(!dir.path().join("lake").exists(), "nothing written");

    let done = init("eu-west-1\ns3://lake-results/kiln/\nanalytics\n");
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let profiles =
        std::fs::read_to_string(dir.path().join("lake/profiles.yml")).expect("profiles.yml");
    assert_eq!(
        profiles,
        "lake:\n  target: dev\n  outputs:\n    dev:\n      type: athena\n      \
         region_name: eu-west-1\n      s3_staging_dir: s3://lake-results/kiln/\n      \
         database: awsdatacatalog\n      schema: analytics\n      work_group: etl\n      \
         threads: 4\n"
    );
}

#[test]
fn init_refuses_an_unknown_adapter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .env_clear()
        .env("HOME", dir.path())
        .env("NO_COLOR", "1")
        .current_dir(dir.path())
        .args(["init", "lake", "--adapter", "snowflake"])
        .stdin(Stdio::null())
        .output()
        .expect("kiln init");
    assert_eq!(out.status.code(), Some(2));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("kiln init has no adapter 'snowflake'")
            && text.contains("--adapter takes one of: duckdb, athena"),
        "{text}"
    );
}

//! What kiln prints and logs, held to dbt-core 1.11's recorded output for the same project
//! (`tests/fixtures/log_events`, recorded by `tests/dbt_recorded/record.sh` into
//! `tests/dbt_recorded/log_events_*`): `--log-format json` in dbt's event schema, `--quiet`
//! still printing errors, `logs/dbt.log`, colours, `source freshness`'s summary, what a macro
//! prints, and shell completion.

use crate::support::{Run, TestProject, assert_quiet_like_dbt};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn recorded(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/dbt_recorded")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

fn name(e: &Value) -> &str {
    e["info"]["name"].as_str().unwrap_or_default()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// For each event name, the distinct sets of `data` keys its events have.
fn shapes(events: &[Value]) -> BTreeMap<String, BTreeSet<BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeSet<BTreeSet<String>>> = BTreeMap::new();
    for e in events {
        out.entry(name(e).to_string())
            .or_default()
            .insert(keys(&e["data"]));
    }
    out
}

/// The first event with this name whose node is `unique_id` (or any, when empty).
fn find<'a>(events: &'a [Value], event: &str, unique_id: &str) -> &'a Value {
    events
        .iter()
        .find(|e| {
            name(e) == event
                && (unique_id.is_empty() || e["data"]["node_info"]["unique_id"] == unique_id)
        })
        .unwrap_or_else(|| panic!("no {event} for {unique_id:?}"))
}

/// Events dbt emits that kiln does not: it registers no adapter plugin and parses every time.
const DBT_ONLY: &[&str] = &["AdapterRegistered", "UnableToPartialParse"];

#[test]
fn json_logs_use_dbts_event_names_codes_and_fields() {
    let p = TestProject::fixture("log_events");
    let run = p.kiln(&["build", "--log-format", "json"]).run();
    run.assert_code(1);
    let kiln = json_lines(&run.stdout);
    let dbt = json_lines(&recorded("log_events_build.json"));

    // The same events, by name and code.
    let names = |events: &[Value]| -> BTreeSet<(String, String)> {
        events
            .iter()
            .filter(|e| !DBT_ONLY.contains(&name(e)))
            .map(|e| {
                (
                    name(e).to_string(),
                    e["info"]["code"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(names(&kiln), names(&dbt));

    // Each with dbt's envelope, data fields, node_info and node_relation fields.
    let info_keys = keys(&dbt[0]["info"]);
    let node_keys = keys(&find(&dbt, "LogModelResult", "")["data"]["node_info"]);
    let relation_keys =
        keys(&find(&dbt, "LogModelResult", "")["data"]["node_info"]["node_relation"]);
    for e in &kiln {
        assert_eq!(keys(e), keys(&dbt[0]), "{e}");
        assert_eq!(keys(&e["info"]), info_keys, "{e}");
        assert_eq!(e["info"]["category"], "");
        assert!(e["info"]["pid"].is_u64(), "{e}");
        assert_eq!(e["info"]["invocation_id"], kiln[0]["info"]["invocation_id"]);
        if let Some(node) = e["data"].get("node_info") {
            assert_eq!(keys(node), node_keys, "{e}");
            assert_eq!(keys(&node["node_relation"]), relation_keys, "{e}");
        }
    }
    let (kiln_shapes, dbt_shapes) = (shapes(&kiln), shapes(&dbt));
    for (event, kiln_sets) in &kiln_shapes {
        let dbt_sets = &dbt_shapes[event];
        for set in kiln_sets {
            assert!(
                dbt_sets.contains(set),
                "{event}: kiln's data fields {set:?}, dbt's {dbt_sets:?}"
            );
        }
    }

    // The failing model: an error, with its node, status and timing.
    let broken = find(&kiln, "LogModelResult", "model.log_events.broken");
    assert_eq!(broken["info"]["level"], "error");
    assert_eq!(broken["data"]["status"], "error");
    let node = &broken["data"]["node_info"];
    assert_eq!(node["node_status"], "error");
    assert_eq!(node["resource_type"], "model");
    assert_eq!(node["materialized"], "view");
    assert_eq!(node["node_path"], "broken.sql");
    assert_eq!(node["node_relation"]["alias"], "broken");
    assert_eq!(node["node_relation"]["schema"], "main");
    assert!(
        node["node_started_at"]
            .as_str()
            .is_some_and(|t| t.len() == 26)
    );
    assert!(
        node["node_finished_at"]
            .as_str()
            .is_some_and(|t| t.len() == 26)
    );
    let table = find(&kiln, "LogModelResult", "model.log_events.people_table");
    assert_eq!(table["data"]["status"], "OK");
    assert_eq!(table["data"]["node_info"]["meta"]["owner"], "data");
    assert_eq!(table["info"]["thread"], "Thread-1 (worker)");
    let seed = find(&kiln, "LogSeedResult", "seed.log_events.people");
    assert_eq!(seed["data"]["result_message"], "INSERT 3");

    // The same outcome per node as dbt's, and the same summary.
    let outcomes = |events: &[Value]| -> BTreeSet<(String, String, String)> {
        events
            .iter()
            .filter(|e| {
                matches!(
                    name(e),
                    "LogModelResult" | "LogSeedResult" | "LogTestResult" | "SkippingDetails"
                )
            })
            .map(|e| {
                (
                    name(e).to_string(),
                    e["data"]["node_info"]["unique_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    e["data"]["node_info"]["node_status"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect()
    };
    assert_eq!(outcomes(&kiln), outcomes(&dbt));
    for event in ["StatsLine", "EndOfRunSummary"] {
        assert_eq!(
            find(&kiln, event, "")["data"],
            find(&dbt, event, "")["data"]
        );
    }
    assert_eq!(
        find(&kiln, "FinishedRunningStats", "")["data"]["stat_line"],
        find(&dbt, "FinishedRunningStats", "")["data"]["stat_line"]
    );
    assert_eq!(
        find(&kiln, "StatsLine", "")["info"]["msg"],
        "Done. PASS=5 WARN=1 ERROR=1 SKIP=2 NO-OP=0 TOTAL=9"
    );
    let error = find(&kiln, "RunResultError", "model.log_events.broken");
    assert!(
        error["data"]["msg"]
            .as_str()
            .is_some_and(|m| m.contains("Table with name table_that_does_not_exist does not exist")),
        "{error}"
    );
}

#[test]
fn debug_json_logs_have_dbts_node_and_statement_events() {
    let p = TestProject::fixture("log_events");
    let run = p
        .kiln(&["build", "--log-format", "json", "--log-level", "debug"])
        .run();
    run.assert_code(1);
    let kiln = json_lines(&run.stdout);
    let dbt = json_lines(&recorded("log_events_build_debug.json"));
    let (kiln_shapes, dbt_shapes) = (shapes(&kiln), shapes(&dbt));
    for (event, dbt_sets) in &dbt_shapes {
        let kiln_sets = kiln_shapes
            .get(event)
            .unwrap_or_else(|| panic!("kiln emits no {event}"));
        for set in kiln_sets {
            assert!(
                dbt_sets.contains(set),
                "{event}: kiln's data fields {set:?}, dbt's {dbt_sets:?}"
            );
        }
    }
    let finished = find(&kiln, "NodeFinished", "model.log_events.people_table");
    assert_eq!(
        keys(&finished["data"]["run_result"]),
        keys(&find(&dbt, "NodeFinished", "")["data"]["run_result"])
    );
    assert_eq!(finished["data"]["run_result"]["status"], "success");
    assert_eq!(
        find(&kiln, "NodeStart", "model.log_events.broken")["info"]["level"],
        "debug"
    );
    // Every statement run for a node is logged with it.
    assert!(
        kiln.iter().any(|e| name(e) == "SQLQuery"
            && e["data"]["conn_name"] == "model.log_events.broken"
            && e["data"]["sql"]
                .as_str()
                .is_some_and(|s| s.contains("table_that_does_not_exist"))),
        "{}",
        run.stdout
    );
}

#[test]
fn quiet_still_prints_the_error_line_the_failure_and_the_database_error() {
    let p = TestProject::fixture("log_events");
    let run = p.kiln(&["build", "-q"]).run();
    run.assert_code(1);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert_quiet_like_dbt(&run.stdout, &recorded("log_events_quiet.txt"));

    let json = p.kiln(&["build", "-q", "--log-format", "json"]).run();
    json.assert_code(1);
    let kiln = json_lines(&json.stdout);
    let dbt = json_lines(&recorded("log_events_quiet.json"));
    let names = |events: &[Value]| -> Vec<(String, String)> {
        events
            .iter()
            .map(|e| {
                (
                    name(e).to_string(),
                    e["info"]["level"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(names(&kiln), names(&dbt));
    // DBT_QUIET does what -q does.
    let env = p.kiln(&["build"]).env("DBT_QUIET", "true").run();
    assert_eq!(
        run.clean(&run.stdout).lines().count(),
        env.clean(&env.stdout).lines().count()
    );
}

#[test]
fn the_log_file_has_every_statement_at_debug_level_in_dbts_format() {
    let p = TestProject::fixture("log_events");
    let run = p.kiln(&["build"]).run();
    run.assert_code(1);
    let log = p.read("logs/dbt.log");
    // dbt's debug lines: time to the microsecond, level, thread; the run starts with a banner
    // carrying the invocation id that run_results.json has too.
    let line = regex::Regex::new(
        r"^\d\d:\d\d:\d\d\.\d{6} \[(debug|info |warn |error)\] \[[A-Za-z0-9 ()-]{10}\]: ",
    )
    .unwrap();
    let recorded_lines = recorded("log_events_dbt_log.txt");
    let first = recorded_lines.lines().next().unwrap_or_default();
    assert!(
        line.is_match(first.trim_start_matches("\u{1b}[0m")),
        "the pattern does not match dbt's own line {first:?}"
    );
    assert!(
        log.lines().filter(|l| line.is_match(l)).count() > 20,
        "{log}"
    );
    let rr: Value = serde_json::from_str(&p.read("target/run_results.json")).unwrap();
    let id = rr["metadata"]["invocation_id"].as_str().unwrap();
    assert!(log.contains(&format!(" | {id} =====")), "{log}");
    assert!(
        log.contains("[info ] [MainThread]: Found 4 models"),
        "{log}"
    );
    assert!(
        log.contains("[debug] [Thread-1 (]: On model.log_events.people_table: "),
        "{log}"
    );
    assert!(
        log.contains("select * from table_that_does_not_exist"),
        "{log}"
    );
    assert!(log.contains("SQL status: OK in "), "{log}");
    assert!(log.contains("[error] [Thread-1 (]: "), "{log}");
    // The console shows none of it.
    assert!(!run.stdout.contains("On model."), "{}", run.stdout);
    // A second run appends.
    p.kiln(&["build"]).run().assert_code(1);
    assert_eq!(
        p.read("logs/dbt.log").matches(" | ").count(),
        2 * log.matches(" | ").count()
    );
}

#[test]
fn log_path_level_and_format_flags_choose_the_log_file() {
    let p = TestProject::fixture("log_events");
    p.kiln(&[
        "seed",
        "--log-path",
        "elsewhere",
        "--log-level-file",
        "info",
    ])
    .run()
    .assert_success();
    assert!(!p.exists("logs/dbt.log"));
    let log = p.read("elsewhere/dbt.log");
    assert!(log.contains("[info ]"), "{log}");
    assert!(!log.contains("[debug]"), "{log}");
    assert!(!log.contains("SQL status"), "{log}");

    // DBT_LOG_PATH and --log-format-file json
    p.kiln(&["seed", "--log-format-file", "json"])
        .env("DBT_LOG_PATH", p.dir().join("jsonlogs"))
        .run()
        .assert_success();
    let events = json_lines(&p.read("jsonlogs/dbt.log"));
    assert!(events.iter().any(|e| name(e) == "SQLQuery"));
    assert!(events.iter().any(|e| name(e) == "LogSeedResult"));

    // --log-level-file none: no file at all.
    p.kiln(&["seed", "--log-level-file", "none"])
        .run()
        .assert_success();
    assert!(!p.exists("logs/dbt.log"));

    // --debug: the statements on the console too.
    let debug = p.kiln(&["seed", "--debug"]).run();
    debug.assert_success();
    assert!(
        debug.stdout.contains("On seed.log_events.people: "),
        "{}",
        debug.stdout
    );
    assert!(p.exists("logs/dbt.log"));
}

#[test]
fn the_log_file_rotates_as_dbts_does() {
    let p = TestProject::fixture("log_events");
    for _ in 0..3 {
        p.kiln(&["seed"])
            .env("DBT_LOG_FILE_MAX_BYTES", "4000")
            .run()
            .assert_success();
    }
    for f in ["logs/dbt.log", "logs/dbt.log.1", "logs/dbt.log.2"] {
        let size = std::fs::metadata(p.dir().join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .len();
        assert!(size < 4000, "{f} is {size} bytes");
    }
}

fn has_escapes(text: &str) -> bool {
    text.contains("\u{1b}[")
}

#[test]
fn colours_follow_use_colors_and_no_color() {
    let p = TestProject::fixture("log_events");
    // The harness sets NO_COLOR: nothing coloured, in the output or the log file.
    let plain = p.kiln(&["build"]).run();
    assert!(!has_escapes(&plain.stdout), "{}", plain.stdout);
    assert!(!has_escapes(&p.read("logs/dbt.log")));
    // --use-colors forces colour: statuses as dbt colours them (everything built again).
    let coloured = p.kiln(&["build", "--no-reuse", "--use-colors"]).run();
    let out = &coloured.stdout;
    assert!(out.contains("[\u{1b}[32mOK\u{1b}[0m in "), "{out}");
    assert!(out.contains("[\u{1b}[32mPASS\u{1b}[0m in "), "{out}");
    assert!(out.contains("[\u{1b}[32mINSERT 3\u{1b}[0m in "), "{out}");
    assert!(out.contains("[\u{1b}[33mWARN 1\u{1b}[0m in "), "{out}");
    assert!(out.contains("[\u{1b}[31mERROR\u{1b}[0m in "), "{out}");
    assert!(out.contains("[\u{1b}[33mSKIP\u{1b}[0m]"), "{out}");
    assert!(out.contains("\u{1b}[31mFailure in model broken"), "{out}");
    // and the log file follows it, as dbt's --use-colors does.
    assert!(p.read("logs/dbt.log").contains("\u{1b}[0m"));
    // --no-use-colors wins over DBT_USE_COLORS.
    let off = p
        .kiln(&["build", "--no-use-colors"])
        .env("DBT_USE_COLORS", "true")
        .run();
    assert!(!has_escapes(&off.stdout), "{}", off.stdout);
    let on = p.kiln(&["build"]).env("DBT_USE_COLORS", "1").run();
    assert!(has_escapes(&on.stdout));
}

#[test]
fn diff_is_coloured_only_when_colour_is_on() {
    let p = TestProject::fixture("log_events");
    p.kiln(&["compile"]).run().assert_success();
    std::fs::rename(p.dir().join("target"), p.dir().join("prod")).unwrap();
    p.write(
        "models/people_view.sql",
        "select id, 1 as one from {{ ref('people_table') }}\n",
    );
    let plain = p.kiln(&["diff", "--state", "prod"]).run();
    plain.assert_success();
    assert!(
        plain.stdout.contains("+select id, 1 as one"),
        "{}",
        plain.stdout
    );
    assert!(!has_escapes(&plain.stdout), "{}", plain.stdout);
    let coloured = p.kiln(&["diff", "--state", "prod", "--use-colors"]).run();
    let out = &coloured.stdout;
    assert!(out.contains("\u{1b}[32m+select id, 1 as one"), "{out}");
    assert!(out.contains("\u{1b}[31m-select id from"), "{out}");
    assert!(
        out.contains("\u{1b}[1m--- state/models/people_view.sql"),
        "{out}"
    );
}

/// The lines of dbt's text output after the node lines, times normalised.
fn tail_from(text: &str, first: &str) -> Vec<String> {
    let time = regex::Regex::new(r"\d+\.\d+ seconds \(\d+\.\d+s\)").expect("a valid regex");
    let stamp = regex::Regex::new(r"^\d\d:\d\d:\d\d  ").expect("a valid regex");
    text.lines()
        .map(|l| stamp.replace(l, "").into_owned())
        .skip_while(|l| !l.starts_with(first))
        .map(|l| time.replace(&l, "[T]").into_owned())
        .collect()
}

#[test]
fn source_freshness_ends_with_dbts_summary_and_says_how_stale() {
    let p = TestProject::fixture("log_events");
    let run = p.kiln(&["source", "freshness"]).run();
    run.assert_code(1);
    let out = &run.stdout;
    assert!(out.contains("ERROR STALE freshness of raw.events"), "{out}");
    assert!(out.contains("PASS freshness of raw.heartbeat"), "{out}");
    let mut kiln = tail_from(out, "Finished running");
    let dbt = tail_from(
        &recorded("log_events_source_freshness.txt"),
        "Finished running",
    );
    // kiln adds how stale the source is, under dbt's `Status: error`.
    let stale = kiln
        .iter()
        .position(|l| l.starts_with("  its newest row was loaded "))
        .unwrap_or_else(|| panic!("no staleness line\n{out}"));
    assert!(
        kiln[stale].ends_with("ago (max_loaded_at 2024-01-02 06:30:00); error_after is 1 day"),
        "{}",
        kiln[stale]
    );
    kiln.remove(stale);
    assert_eq!(kiln, dbt, "{out}");
}

#[test]
fn run_operation_prints_tables_and_info_logs_as_dbt_does() {
    let p = TestProject::fixture("log_events");
    let run = p.kiln(&["run-operation", "show_people"]).run();
    run.assert_success();
    let dbt = recorded("log_events_run_operation.txt");
    let table: Vec<&str> = dbt.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(table.len(), 4, "{dbt}");
    let kiln_table: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(kiln_table, table, "{}", run.stdout);
    // log(info=True): stdout with the time; print(): stdout as it is; log(): the log file only.
    let stamp = regex::Regex::new(r"(?m)^\d\d:\d\d:\d\d  logged at info$").unwrap();
    assert!(stamp.is_match(&run.stdout), "{}", run.stdout);
    assert!(run.stdout.lines().any(|l| l == "printed"), "{}", run.stdout);
    assert!(!run.stdout.contains("logged at debug"), "{}", run.stdout);
    assert!(
        p.read("logs/dbt.log")
            .contains("[debug] [MainThread]: logged at debug")
    );
    // --quiet keeps what the macro prints, as dbt does.
    let quiet = p.kiln(&["run-operation", "show_people", "-q"]).run();
    let quiet_table: Vec<&str> = quiet
        .stdout
        .lines()
        .filter(|l| l.starts_with('|'))
        .collect();
    assert_eq!(quiet_table, table);
    assert!(quiet.stdout.lines().any(|l| l == "printed"));
    assert!(!quiet.stdout.contains("logged at info"));
}

fn complete(p: &TestProject, words: &[&str]) -> Run {
    let index = (words.len() - 1).to_string();
    p.kiln_bare(&["--"])
        .args(words)
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", &index)
        .env("_CLAP_IFS", "\n")
        .run()
}

#[test]
fn completion_scripts_and_node_names() {
    let p = TestProject::fixture("log_events");
    let bash = p.kiln_bare(&["completions", "bash"]).run();
    bash.assert_success();
    assert!(bash.stdout.contains("complete -"), "{}", bash.stdout);
    assert!(bash.stdout.contains("COMPLETE=\"bash\""), "{}", bash.stdout);
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let s = p.kiln_bare(&["completions", shell]).run();
        s.assert_success();
        assert!(s.stdout.contains("kiln"), "{shell}: {}", s.stdout);
    }
    // What the script asks kiln: the subcommands,
    let subcommands = complete(&p, &["kiln", ""]);
    subcommands.assert_success();
    for c in [
        "build",
        "run",
        "seed",
        "source",
        "run-operation",
        "completions",
    ] {
        assert!(
            subcommands.stdout.lines().any(|l| l == c),
            "{c} missing:\n{}",
            subcommands.stdout
        );
    }
    // and the project's node names after -s, graph operators kept.
    let nodes = complete(&p, &["kiln", "build", "-s", "peo"]);
    let got: Vec<&str> = nodes.stdout.lines().collect();
    assert_eq!(
        got,
        ["people", "people_snapshot", "people_table", "people_view"],
        "{}",
        nodes.stdout
    );
    let plus = complete(&p, &["kiln", "run", "--select", "+bro"]);
    assert_eq!(plus.stdout.trim(), "+broken");
}

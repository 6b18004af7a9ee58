//! A mutation fuzzer for kiln's front end (issue 17, "Fuzzing"): the selector grammar, the YAML
//! loaders and Jinja rendering of model files, each fed mutated inputs for a bounded time. Every
//! input runs on a worker thread under `catch_unwind` with a watchdog: a panic or an input that
//! runs past the time limit is a finding, written to the output folder with its message. Bad
//! input must give an error (a `Diagnostic`), never a panic or a hang.
//!
//!     cargo run --example fuzz -- TARGET SECONDS [--seed N] [--out DIR] [--timeout-ms MS]
//!
//! TARGET:
//! - `selector`: `--select`/`--exclude` values, parsed (`graph::select::parse::parse_cli`) and
//!   evaluated (`graph::select::select`) against the `selection` fixture, loaded once.
//! - `yaml`: dbt_project.yml, profiles.yml, a properties file, selectors.yml and packages.yml,
//!   each written into a copy of the `selection` fixture in turn, then the project loaded and
//!   parsed (`session::load_and_parse`), its selectors read (`graph::select::select`) and its
//!   packages.yml read (`deps::spec::read_project`).
//! - `jinja`: model and macro files written into the same copy, then loaded, parse-rendered and
//!   compiled (`jinja::compile::compile_nodes`, every node).
//!
//! The seed corpus is read from `tests/fixtures` (every file of the target's kind) plus a few
//! selector expressions. Mutations: bit flips, byte changes, deleted and duplicated ranges,
//! splices of other corpus files, and insertions of the target's grammar tokens. An input is
//! kept in the corpus when its outcome (the error codes and the first words of their messages)
//! was not seen before, so the fuzzer wanders into new error paths. The PRNG is our own
//! (splitmix64): a run is reproducible from its `--seed`.
//!
//! Exit code: 0 when the budget ran out with no finding, 1 when a panic was found, 3 on a hang
//! (the process stops at the first hang: the stuck thread cannot be stopped), 2 on bad usage.

use clap::Parser;
use kiln::cli::Cli;
use kiln::graph::select::{self, IndirectSelection, SelectionSpec};
use kiln::invocation::Invocation;
use std::collections::{BTreeMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// splitmix64: small, fast and good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SELECTOR_TOKENS: &[&str] = &[
    "+",
    "@",
    ",",
    " ",
    "*",
    "?",
    "[",
    "]",
    ".",
    "/",
    "\\",
    "..",
    "1+",
    "+2",
    "3+",
    "tag:",
    "path:",
    "fqn:",
    "source:",
    "exposure:",
    "metric:",
    "test_type:",
    "test_name:",
    "package:",
    "resource_type:",
    "config.",
    "config.materialized:",
    "config.meta.owner:",
    "state:modified",
    "state:new",
    "state:modified.body",
    "result:error",
    "source_status:fresher",
    "version:latest",
    "access:public",
    "group:",
    "unit_test:",
    "semantic_model:",
    "saved_query:",
    "file:",
    "wildcard",
    ":",
    "::",
    "+tag:nightly+",
    "@source:raw.orders",
    "models/",
    "*.sql",
    "staging.*",
    "-",
    "\u{e9}",
    "\u{0}",
    "\u{1F600}",
    "\t",
    "\n",
    "99999999999999999999+",
    "+0",
    "+-1",
];

const YAML_TOKENS: &[&str] = &[
    ": ",
    "- ",
    "\n  ",
    "\n    - ",
    "\n",
    "{{ ",
    " }}",
    "{{ var('x') }}",
    "{{ env_var('HOME') }}",
    "{{ target.name }}",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "!!binary ",
    "!custom ",
    "[",
    "]",
    "{",
    "}",
    "'",
    "\"",
    "~",
    "null",
    "true",
    "1e309",
    "-1",
    "0x10",
    "+materialized: ",
    "+schema: ",
    "+enabled: false",
    "+tags: ",
    "vars:",
    "version: 2",
    "models:",
    "sources:",
    "seeds:",
    "columns:",
    "data_tests:",
    "tests:",
    "config:",
    "name: ",
    "tables:",
    "unit_tests:",
    "given:",
    "expect:",
    "rows:",
    "format: csv",
    "semantic_models:",
    "metrics:",
    "selectors:",
    "definition:",
    "method: tag",
    "value: ",
    "union:",
    "intersection:",
    "exclude:",
    "packages:",
    "local: ",
    "git: ",
    "revision: ",
    "package: ",
    "version: ",
    "\t",
    "---\n",
    "...\n",
    "|\n  ",
    ">\n  ",
    "# ",
    "%",
    "? ",
    "\u{feff}",
    "\u{0}",
    "\r\n",
    "outputs:",
    "target: ",
    "type: duckdb",
    "path: ",
    "threads: ",
    "profile: ",
    "config-version: 2",
    "require-dbt-version: ",
    "dispatch:",
    "query-comment: ",
    "on-run-start: ",
    "attach:",
    "extensions:",
    "settings:",
];

const JINJA_TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "{%-",
    "-%}",
    "{{ ref('",
    "') }}",
    "{{ source('",
    "', '",
    "{{ config(",
    "materialized='table'",
    "materialized='incremental'",
    "materialized='ephemeral'",
    ") }}",
    "{{ var('",
    "{{ env_var('",
    "{{ this }}",
    "{{ is_incremental() }}",
    "{% if execute %}",
    "{% if true %}",
    "{% else %}",
    "{% endif %}",
    "{% for i in range(3) %}",
    "{% endfor %}",
    "{% macro m(a, b=1) %}",
    "{% endmacro %}",
    "{% set x = [] %}",
    "{% do x.append(1) %}",
    "{% set d = {'a': 1} %}",
    "{% do d.update({}) %}",
    "{{ m(1) }}",
    "{{ return(1) }}",
    "{{ adapter.dispatch('m')() }}",
    "{{ adapter.quote('x') }}",
    "{% call statement('s', fetch_result=True) %}",
    "{% endcall %}",
    "{{ run_query('select 1') }}",
    "{{ exceptions.raise_compiler_error('x') }}",
    "{{ log('x') }}",
    "{{ modules.datetime }}",
    "{{ dbt_utils.star(ref('x')) }}",
    "{{ caller() }}",
    "{{ loop.index }}",
    "|",
    "~",
    "**",
    "*",
    "(",
    ")",
    "[",
    "]",
    "'",
    "\"",
    ".",
    ",",
    "=",
    "==",
    "not ",
    " and ",
    " or ",
    " in ",
    "none",
    "range(10001)",
    "9e999",
    "-1",
    "__class__",
    "{% raw %}",
    "{% endraw %}",
    "{% filter upper %}",
    "{% endfilter %}",
    "{% include 'x' %}",
    "{% extends 'x' %}",
    "{% block b %}",
    "{% endblock %}",
    "{{ '%s' % 1 }}",
    "{{ 1 / 0 }}",
    "{{ [1] * 3 }}",
    "{{ 'x' * 3 }}",
    "\u{0}",
    "\u{feff}",
    "\n",
    "select ",
    "from ",
    "with x as (",
    "--",
    "/*",
    "*/",
    ";",
];

/// Bytes worth setting: structure characters of the three grammars.
const INTERESTING: &[u8] = b"\0\n\r\t {}[]()%#'\":,-+*@|&!?<>=.\\/~\x7f\xff\xc3";

/// One corpus input: its bytes and, for the YAML and Jinja targets, where it goes.
#[derive(Clone)]
struct Input {
    kind: Kind,
    bytes: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
enum Kind {
    Selector,
    Project,
    Profiles,
    Properties,
    Selectors,
    Packages,
    Model,
    Macro,
}

impl Kind {
    /// The file of the project copy an input of this kind replaces (or adds).
    fn slot(self) -> &'static str {
        match self {
            Kind::Selector => "",
            Kind::Project => "dbt_project.yml",
            Kind::Profiles => "profiles.yml",
            Kind::Properties => "models/fuzz_properties.yml",
            Kind::Selectors => "selectors.yml",
            Kind::Packages => "packages.yml",
            Kind::Model => "models/fuzz_model.sql",
            Kind::Macro => "macros/fuzz_macros.sql",
        }
    }
}

fn mutate(rng: &mut Rng, base: &[u8], corpus: &[Input], tokens: &[&str]) -> Vec<u8> {
    let mut out = base.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = out.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                out.drain(at..at + n);
            }
            3 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(256));
                let chunk: Vec<u8> = out[at..at + n].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, chunk);
            }
            4 => {
                // A splice: a range of another corpus input replaces a range of this one.
                let other = &corpus[rng.below(corpus.len())].bytes;
                if other.is_empty() {
                    continue;
                }
                let from = rng.below(other.len());
                let n = 1 + rng.below((other.len() - from).min(512));
                let at = rng.below(len + 1);
                let cut = rng.below((len - at).min(512) + 1);
                out.splice(at..at + cut, other[from..from + n].iter().copied());
            }
            5 if len > 0 => {
                // A line repeated: nesting and duplicate keys.
                let text = String::from_utf8_lossy(&out).into_owned();
                let lines: Vec<&str> = text.split_inclusive('\n').collect();
                let i = rng.below(lines.len());
                let mut joined: Vec<&str> = lines.clone();
                joined.insert(rng.below(lines.len() + 1), lines[i]);
                out = joined.concat().into_bytes();
            }
            _ => {
                let token = tokens[rng.below(tokens.len())].as_bytes();
                let at = rng.below(len + 1);
                out.splice(at..at, token.iter().copied());
            }
        }
    }
    out.truncate(64 * 1024);
    out
}

/// What running one input produced: `Ok(outcome signature)` or the panic message.
type Outcome = Result<String, String>;

/// The signature of an error: its diagnostics' codes and the first plain words of their messages
/// (so that names and line numbers from the input do not make every input new).
fn signature(e: &kiln::Error) -> String {
    let mut parts: Vec<String> = e
        .diagnostics()
        .iter()
        .map(|d| {
            // Only plain words: names, quoted values and numbers from the input are left out.
            let words: String = d
                .message
                .split_whitespace()
                .filter(|w| w.chars().all(|c| c.is_ascii_lowercase()))
                .take(5)
                .collect::<Vec<_>>()
                .join(" ");
            format!("{}:{words}", d.code)
        })
        .collect();
    parts.sort();
    parts.dedup();
    parts.truncate(4);
    parts.join("|")
}

/// The copy of the `selection` fixture the YAML and Jinja inputs are written into.
struct Workdir {
    dir: PathBuf,
    originals: BTreeMap<&'static str, Option<Vec<u8>>>,
    inv: Invocation,
}

impl Workdir {
    fn new(fixtures: &Path, out: &Path) -> Workdir {
        let dir = out.join("project");
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&fixtures.join("selection"), &dir);
        let mut originals = BTreeMap::new();
        for kind in [
            Kind::Project,
            Kind::Profiles,
            Kind::Properties,
            Kind::Selectors,
            Kind::Packages,
            Kind::Model,
            Kind::Macro,
        ] {
            originals.insert(kind.slot(), std::fs::read(dir.join(kind.slot())).ok());
        }
        let d = dir.display().to_string();
        let cli = Cli::try_parse_from([
            "kiln",
            "--log-level",
            "none",
            "--log-level-file",
            "none",
            "parse",
            "--project-dir",
            &d,
            "--profiles-dir",
            &d,
        ])
        .unwrap_or_else(|e| die(&format!("cannot build the command line: {e}")));
        let inv = Invocation::from_cli(&cli)
            .unwrap_or_else(|e| die(&format!("cannot resolve the command line: {e:?}")));
        Workdir {
            dir,
            originals,
            inv,
        }
    }

    fn restore(&self, slot: &str) {
        let path = self.dir.join(slot);
        match self.originals.get(slot) {
            Some(Some(bytes)) => {
                let _ = std::fs::write(&path, bytes);
            }
            _ => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::create_dir_all(to);
    let Ok(entries) = std::fs::read_dir(from) else {
        die(&format!("cannot read {}", from.display()));
    };
    for e in entries.flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            let _ = std::fs::copy(&p, &dest);
        }
    }
}

fn die(msg: &str) -> ! {
    eprintln!("fuzz: {msg}");
    std::process::exit(2);
}

/// Every file under `dir`, recursively.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.file_name()
                .is_some_and(|n| n == "target" || n == "dbt_packages")
            {
                continue;
            }
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The seed corpus of a target from tests/fixtures.
fn seed_corpus(target: &str, fixtures: &Path) -> Vec<Input> {
    let mut files = vec![];
    walk(fixtures, &mut files);
    let mut out = vec![];
    for f in files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rel = f
            .strip_prefix(fixtures)
            .unwrap_or(&f)
            .to_string_lossy()
            .into_owned();
        let kind = if name.ends_with(".yml") || name.ends_with(".yaml") {
            match name.as_str() {
                "dbt_project.yml" => Kind::Project,
                "profiles.yml" => Kind::Profiles,
                "selectors.yml" => Kind::Selectors,
                "packages.yml" | "dependencies.yml" => Kind::Packages,
                "package-lock.yml" => continue,
                _ => Kind::Properties,
            }
        } else if name.ends_with(".sql") && rel.contains("/macros/") {
            Kind::Macro
        } else if name.ends_with(".sql") && rel.contains("/models/") {
            Kind::Model
        } else {
            continue;
        };
        let wanted = match target {
            "yaml" => !matches!(kind, Kind::Model | Kind::Macro),
            "jinja" => matches!(kind, Kind::Model | Kind::Macro),
            _ => false,
        };
        if wanted && let Ok(bytes) = std::fs::read(&f) {
            out.push(Input { kind, bytes });
        }
    }
    if target == "selector" {
        // The selection fixture's node names and paths, and the grammar's forms.
        let mut names = vec![];
        walk(&fixtures.join("selection"), &mut names);
        for f in names {
            if let Some(stem) = f.file_stem().map(|s| s.to_string_lossy().into_owned()) {
                out.push(Input {
                    kind: Kind::Selector,
                    bytes: stem.into_bytes(),
                });
            }
        }
        for s in [
            "+orders+",
            "tag:nightly,config.materialized:table",
            "@stg_orders",
            "2+fct_orders+1",
            "path:models/staging",
            "source:raw.*",
            "test_type:generic",
            "resource_type:model,package:sel",
            "fqn:sel.staging.*",
            "state:modified+",
            "config.meta.owner:finance",
            "exposure:*",
            "models/marts/*.sql",
            "unit_test:*",
            "version:latest",
            "access:public",
            "group:finance",
        ] {
            out.push(Input {
                kind: Kind::Selector,
                bytes: s.as_bytes().to_vec(),
            });
        }
    }
    out
}

/// Runs one input on its own thread: the outcome, or `None` when it ran past `limit`.
fn run_one(
    work: &Arc<dyn Fn(&Input) -> String + Send + Sync>,
    input: &Input,
    limit: Duration,
    last_panic: &Arc<Mutex<Option<String>>>,
) -> Option<Outcome> {
    let (tx, rx) = mpsc::channel();
    let work = work.clone();
    let input = input.clone();
    let last = last_panic.clone();
    let spawned = std::thread::Builder::new()
        .stack_size(16 * 1024 * 1024)
        .spawn(move || {
            let r = catch_unwind(AssertUnwindSafe(|| work(&input)));
            let r = r.map_err(|_| {
                last.lock()
                    .ok()
                    .and_then(|mut l| l.take())
                    .unwrap_or_else(|| "panic without a message".into())
            });
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        die(&format!("cannot start a worker thread: {e}"));
    }
    rx.recv_timeout(limit).ok()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(target), Some(seconds)) = (args.first(), args.get(1)) else {
        die("usage: fuzz selector|yaml|jinja SECONDS [--seed N] [--out DIR] [--timeout-ms MS]");
    };
    let seconds: u64 = seconds
        .parse()
        .unwrap_or_else(|_| die("SECONDS must be a whole number"));
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seed: u64 = flag("--seed").and_then(|s| s.parse().ok()).unwrap_or(17);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fixtures = root.join("tests/fixtures");
    let out = flag("--out")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("kiln-fuzz-{target}")));
    let _ = std::fs::create_dir_all(&out);
    let limit_ms: u64 = flag("--timeout-ms")
        .and_then(|s| s.parse().ok())
        .unwrap_or(if target == "selector" { 2_000 } else { 10_000 });
    let limit = Duration::from_millis(limit_ms);

    // Panics are findings: recorded here (message and place), not printed by the default hook.
    let last_panic: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    {
        let last = last_panic.clone();
        std::panic::set_hook(Box::new(move |info| {
            let place = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if let Ok(mut l) = last.lock() {
                *l = Some(format!("{place}: {msg}"));
            }
        }));
    }

    let mut corpus = seed_corpus(target, &fixtures);
    if corpus.is_empty() {
        die(&format!(
            "unknown target '{target}' (selector, yaml or jinja), or no corpus"
        ));
    }
    let seeds = corpus.len();
    let workdir = Arc::new(Workdir::new(&fixtures, &out));
    let work: Arc<dyn Fn(&Input) -> String + Send + Sync> = match target.as_str() {
        "selector" => {
            let loaded = kiln::session::load_and_parse(&workdir.inv, "ls")
                .unwrap_or_else(|e| die(&format!("the selection fixture does not load: {e:?}")));
            let loaded = Arc::new(loaded);
            Arc::new(move |input: &Input| {
                let text = String::from_utf8_lossy(&input.bytes).into_owned();
                let values = vec![text.clone()];
                let _ = select::parse::parse_cli(&values, IndirectSelection::Cautious, true);
                let spec = SelectionSpec {
                    select: values.clone(),
                    exclude: if text.len().is_multiple_of(3) {
                        values
                    } else {
                        vec![]
                    },
                    indirect: IndirectSelection::Eager,
                    ..SelectionSpec::default()
                };
                match select::select(&loaded.project, &loaded.graph, &spec) {
                    Ok(ids) => format!("ok:{}", ids.len().min(3)),
                    Err(e) => signature(&e),
                }
            })
        }
        "yaml" | "jinja" => {
            let wd = workdir.clone();
            Arc::new(move |input: &Input| {
                let slot = input.kind.slot();
                let path = wd.dir.join(slot);
                let _ = std::fs::write(&path, &input.bytes);
                let outcome = match kiln::session::load_and_parse(&wd.inv, "compile") {
                    Ok(loaded) => {
                        let mut sig = String::from("loaded");
                        let spec = SelectionSpec::default();
                        if let Err(e) = select::select(&loaded.project, &loaded.graph, &spec) {
                            sig = signature(&e);
                        }
                        if input.kind == Kind::Packages {
                            let ctx = kiln::deps::spec::RenderContext {
                                cli_vars: Default::default(),
                                dbt_version: kiln::DBT_COMPAT_VERSION.to_string(),
                            };
                            if let Err(d) = kiln::deps::spec::read_project(&wd.dir, &ctx) {
                                sig = format!("deps:{}", d.code);
                            }
                        }
                        if matches!(input.kind, Kind::Model | Kind::Macro) {
                            let shared = Arc::new(kiln::jinja::compile::compile_shared(
                                &loaded.project,
                                &loaded.jenv,
                                loaded.adapter.clone(),
                                &loaded.info,
                                loaded.graph.clone(),
                                None,
                            ));
                            let all = loaded.project.nodes.keys().cloned().collect();
                            if let Err(e) = kiln::jinja::compile::compile_nodes(
                                &loaded.project,
                                &loaded.jenv,
                                shared,
                                &all,
                            ) {
                                sig = signature(&e);
                            }
                        }
                        sig
                    }
                    Err(e) => signature(&e),
                };
                wd.restore(slot);
                outcome
            })
        }
        _ => die(&format!("unknown target '{target}'")),
    };

    let mut rng = Rng(seed);
    let mut seen: HashSet<String> = HashSet::new();
    let mut panics: BTreeMap<String, usize> = BTreeMap::new();
    let started = Instant::now();
    let budget = Duration::from_secs(seconds);
    let mut runs: u64 = 0;
    let mut next_report = Duration::from_secs(10);
    // The seeds first, as they are, then mutations.
    let mut queue: Vec<Input> = corpus.clone();
    while started.elapsed() < budget {
        let input = match queue.pop() {
            Some(i) => i,
            None => {
                let base = &corpus[rng.below(corpus.len())];
                let tokens = match base.kind {
                    Kind::Selector => SELECTOR_TOKENS,
                    Kind::Model | Kind::Macro => JINJA_TOKENS,
                    _ => YAML_TOKENS,
                };
                Input {
                    kind: base.kind,
                    bytes: mutate(&mut rng, &base.bytes, &corpus, tokens),
                }
            }
        };
        runs += 1;
        match run_one(&work, &input, limit, &last_panic) {
            None => {
                let file = out.join(format!("hang-{runs}.{}", ext(input.kind)));
                let _ = std::fs::write(&file, &input.bytes);
                eprintln!(
                    "fuzz {target}: HANG (over {limit_ms} ms) on a {:?} input, saved to {}",
                    input.kind,
                    file.display()
                );
                report(
                    target,
                    runs,
                    started,
                    seeds,
                    corpus.len(),
                    seen.len(),
                    &panics,
                    1,
                );
                std::process::exit(3);
            }
            Some(Err(msg)) => {
                let count = panics.entry(msg.clone()).or_insert(0);
                *count += 1;
                if *count == 1 {
                    let file = out.join(format!("panic-{}.{}", panics.len(), ext(input.kind)));
                    let _ = std::fs::write(&file, &input.bytes);
                    let _ = std::fs::write(file.with_extension("txt"), format!("{msg}\n"));
                    eprintln!(
                        "fuzz {target}: PANIC on a {:?} input, saved to {}: {msg}",
                        input.kind,
                        file.display()
                    );
                }
            }
            Some(Ok(sig)) => {
                if seen.insert(format!("{:?}/{sig}", input.kind)) && corpus.len() < 5_000 {
                    corpus.push(input);
                }
            }
        }
        if started.elapsed() >= next_report {
            next_report += Duration::from_secs(10);
            eprintln!(
                "fuzz {target}: {runs} inputs, {:.0}/s, corpus {}, outcomes {}, panics {}",
                runs as f64 / started.elapsed().as_secs_f64(),
                corpus.len(),
                seen.len(),
                panics.len()
            );
        }
    }
    report(
        target,
        runs,
        started,
        seeds,
        corpus.len(),
        seen.len(),
        &panics,
        0,
    );
    std::process::exit(if panics.is_empty() { 0 } else { 1 });
}

fn ext(kind: Kind) -> &'static str {
    match kind {
        Kind::Selector => "txt",
        Kind::Model | Kind::Macro => "sql",
        _ => "yml",
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    target: &str,
    runs: u64,
    started: Instant,
    seeds: usize,
    corpus: usize,
    outcomes: usize,
    panics: &BTreeMap<String, usize>,
    hangs: usize,
) {
    let secs = started.elapsed().as_secs_f64();
    println!(
        "fuzz {target}: {runs} inputs in {secs:.0} s ({:.1}/s), seeds {seeds}, corpus {corpus}, \
         distinct outcomes {outcomes}, panics {}, hangs {hangs}",
        runs as f64 / secs.max(0.001),
        panics.len()
    );
    for (msg, n) in panics {
        println!("  panic x{n}: {msg}");
    }
}

//! Generates a synthetic dbt project for the parse/compile benchmark (`bench/run.sh`).
//!
//! ```text
//! cargo run --release --example gen_project -- --models 10000 --out bench/out/p10000 [--seed 42]
//! ```
//!
//! The project is one that dbt-core itself parses (`dbt parse`), shaped like a real analytics
//! warehouse: ~40% staging models over 50 declared source tables, ~35% intermediate models that ref
//! 1–3 earlier staging/intermediate models, ~25% marts that ref 2–4 intermediate models, folder
//! config trees in `dbt_project.yml`, project macros, a built-in cross-database macro, Jinja loops
//! and `set`s, one properties file per folder describing every model, generic tests on a third of
//! the models, two seeds and a singular data test.
//!
//! Output is a pure function of `--models` and `--seed` (a small LCG, no clock, no hash maps), so
//! the same arguments give the same bytes. Only std is used.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Marker file written into every generated project; `--out` is only cleaned when it holds one.
const MARKER: &str = ".kiln_gen_project";
/// Number of tables in the `raw` source.
const SOURCE_TABLES: usize = 50;
/// At most this many models in one folder (plus its `_schema.yml`).
const PER_FOLDER: usize = 150;
/// Business domains: subfolders of `intermediate/` and `marts/`, each with its own config.
const DOMAINS: [&str; 4] = ["finance", "marketing", "product", "operations"];
const PAYMENT_METHODS: [&str; 4] = ["credit_card", "coupon", "bank_transfer", "gift_card"];
const STATUSES: [&str; 5] = [
    "placed",
    "shipped",
    "completed",
    "return_pending",
    "returned",
];

/// The columns every staging and intermediate model outputs (so any of them can be unioned).
const COLUMNS: [(&str, &str); 8] = [
    ("id", "Primary key of the record."),
    ("customer_id", "The customer the record belongs to."),
    ("status", "Lifecycle status, lower-cased."),
    ("payment_method", "How the customer paid."),
    ("amount", "Amount in dollars, converted from cents."),
    (
        "created_at",
        "When the record was created in the source system.",
    ),
    (
        "due_at",
        "Thirty days after creation, when payment falls due.",
    ),
    (
        "updated_at",
        "When the record was last changed in the source system.",
    ),
];

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match run(argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("gen_project: {msg}");
            ExitCode::from(2)
        }
    }
}

struct Args {
    models: usize,
    out: PathBuf,
    seed: u64,
}

const USAGE: &str = "usage: gen_project --models N --out DIR [--seed S]";

fn parse_args(argv: Vec<String>) -> Result<Args, String> {
    let (mut models, mut out, mut seed) = (None, None, 42u64);
    let mut it = argv.into_iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--models" => {
                let v = value("--models")?;
                models = Some(
                    v.parse::<usize>()
                        .map_err(|_| format!("--models: '{v}' is not a number"))?,
                );
            }
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--seed" => {
                let v = value("--seed")?;
                seed = v
                    .parse()
                    .map_err(|_| format!("--seed: '{v}' is not a number"))?;
            }
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    let models = models.ok_or(format!("--models is required\n{USAGE}"))?;
    if models < 3 {
        return Err("--models must be at least 3 (one staging, one intermediate, one mart)".into());
    }
    let out = out.ok_or(format!("--out is required\n{USAGE}"))?;
    Ok(Args { models, out, seed })
}

/// Knuth's MMIX linear congruential generator; the high bits are the usable ones.
struct Lcg(u64);

impl Lcg {
    fn new(seed: u64) -> Self {
        let mut r = Lcg(seed ^ 0x9E37_79B9_7F4A_7C15);
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    /// True with probability `num/den`.
    fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }
    /// `k` distinct values from `0..n` (k <= n), in the order drawn.
    fn distinct(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut picked: Vec<usize> = Vec::with_capacity(k);
        while picked.len() < k.min(n) {
            let v = self.below(n);
            if !picked.contains(&v) {
                picked.push(v);
            }
        }
        picked
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layer {
    Staging,
    Intermediate,
    Mart,
}

struct Model {
    name: String,
    layer: Layer,
    /// Folder relative to `models/`.
    folder: String,
    /// Source table index (staging only).
    source_table: usize,
    /// Names of the models it refs.
    parents: Vec<String>,
    /// Ephemeral intermediate models only ref staging models, so no model inlines a deep chain.
    ephemeral: bool,
    /// Whether its properties carry generic tests.
    tested: bool,
    variant: usize,
}

pub(crate) fn run(argv: Vec<String>) -> Result<(), String> {
    let args = parse_args(argv)?;
    prepare_out(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let models = plan(args.models, args.seed);
    write_project(&args.out, &models, args.seed)
        .map_err(|e| format!("writing {}: {e}", args.out.display()))?;
    let count = |l: Layer| models.iter().filter(|m| m.layer == l).count();
    println!(
        "gen_project: wrote {} models ({} staging, {} intermediate, {} marts) to {}",
        models.len(),
        count(Layer::Staging),
        count(Layer::Intermediate),
        count(Layer::Mart),
        args.out.display()
    );
    Ok(())
}

/// Creates `out`, or empties a directory a previous run generated. Refuses any other non-empty one.
fn prepare_out(out: &Path) -> io::Result<()> {
    if out.exists() {
        let non_empty = fs::read_dir(out)?.next().is_some();
        if non_empty && !out.join(MARKER).exists() {
            return Err(io::Error::other(format!(
                "exists, is not empty and was not made by gen_project (no {MARKER}); choose another --out"
            )));
        }
        for entry in fs::read_dir(out)? {
            let path = entry?.path();
            if path.is_dir() {
                fs::remove_dir_all(&path)?;
            } else {
                fs::remove_file(&path)?;
            }
        }
    }
    fs::create_dir_all(out)
}

/// Decides every model's name, folder, parents and tests.
fn plan(n: usize, seed: u64) -> Vec<Model> {
    let mut rng = Lcg::new(seed);
    let n_stg = (n * 40 / 100).max(1);
    let n_int = (n * 35 / 100).max(1);
    let n_mart = n - n_stg - n_int;
    let mut models = Vec::with_capacity(n);

    // Staging: model i reads raw.table_(i % 50); folders per source table, split past PER_FOLDER.
    let per_source = n_stg.div_ceil(SOURCE_TABLES);
    for i in 0..n_stg {
        let table = i % SOURCE_TABLES;
        let nth = i / SOURCE_TABLES;
        let folder = if per_source > PER_FOLDER {
            format!("staging/src_{:02}/part_{:02}", table + 1, nth / PER_FOLDER)
        } else {
            format!("staging/src_{:02}", table + 1)
        };
        models.push(Model {
            name: format!("stg_raw_{:02}__{:05}", table + 1, i),
            layer: Layer::Staging,
            folder,
            source_table: table,
            parents: vec![],
            ephemeral: false,
            tested: rng.chance(1, 3),
            variant: rng.below(3),
        });
    }

    // Intermediate: round-robin over domains, folders of PER_FOLDER within a domain. Operations is
    // ephemeral (see dbt_project.yml) and refs only staging models.
    let mut int_names: Vec<String> = Vec::with_capacity(n_int);
    let mut int_ephemeral: Vec<bool> = Vec::with_capacity(n_int);
    for i in 0..n_int {
        let d = i % DOMAINS.len();
        let nth = i / DOMAINS.len();
        let ephemeral = DOMAINS[d] == "operations";
        let k = rng.range(1, 3);
        let mut parents = Vec::with_capacity(k);
        // The first parent is always a staging model; later ones may be earlier non-ephemeral
        // intermediate models.
        for j in 0..k {
            let from_int = j > 0 && !ephemeral && !int_names.is_empty() && rng.chance(1, 2);
            let name = if from_int {
                // Prefer recent models (a bounded window keeps the DAG shallow-ish, as in real
                // projects) but never an ephemeral one.
                let lo = int_names.len().saturating_sub(400);
                let mut pick = rng.range(lo, int_names.len() - 1);
                while int_ephemeral[pick] && pick > 0 {
                    pick -= 1;
                }
                if int_ephemeral[pick] {
                    models[rng.below(n_stg)].name.clone()
                } else {
                    int_names[pick].clone()
                }
            } else {
                models[rng.below(n_stg)].name.clone()
            };
            if !parents.contains(&name) {
                parents.push(name);
            }
        }
        let name = format!("int_{}__{:05}", DOMAINS[d], i);
        int_names.push(name.clone());
        int_ephemeral.push(ephemeral);
        models.push(Model {
            name,
            layer: Layer::Intermediate,
            folder: format!("intermediate/{}/batch_{:03}", DOMAINS[d], nth / PER_FOLDER),
            source_table: 0,
            parents,
            ephemeral,
            tested: !ephemeral && rng.chance(1, 3),
            variant: rng.below(3),
        });
    }

    // Marts: 2–4 intermediate parents each.
    for i in 0..n_mart {
        let d = i % DOMAINS.len();
        let nth = i / DOMAINS.len();
        let k = rng.range(2, 4).min(n_int);
        let parents = rng
            .distinct(n_int, k)
            .into_iter()
            .map(|p| int_names[p].clone())
            .collect();
        models.push(Model {
            name: format!("fct_{}__{:05}", DOMAINS[d], i),
            layer: Layer::Mart,
            folder: format!("marts/{}/batch_{:03}", DOMAINS[d], nth / PER_FOLDER),
            source_table: 0,
            parents,
            ephemeral: false,
            tested: rng.chance(1, 3),
            variant: rng.below(3),
        });
    }
    models
}

fn write(path: &Path, text: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, text)
}

fn write_project(out: &Path, models: &[Model], seed: u64) -> io::Result<()> {
    write(
        &out.join(MARKER),
        &format!(
            "generated by examples/gen_project.rs: --models {} --seed {seed}\n",
            models.len()
        ),
    )?;
    write(&out.join("dbt_project.yml"), DBT_PROJECT)?;
    write(&out.join("profiles.yml"), PROFILES)?;
    write(
        &out.join(".gitignore"),
        "target/\nlogs/\n*.duckdb\n*.duckdb.wal\n",
    )?;
    write(&out.join("macros/cents_to_dollars.sql"), MACRO_CENTS)?;
    write(&out.join("macros/limit_in_dev.sql"), MACRO_LIMIT)?;
    write(&out.join("macros/safe_divide.sql"), MACRO_DIVIDE)?;
    write(&out.join("macros/_macros.yml"), MACROS_YML)?;
    write(
        &out.join("seeds/payment_methods.csv"),
        &seed_payment_methods(),
    )?;
    write(&out.join("seeds/country_codes.csv"), SEED_COUNTRIES)?;
    write(&out.join("seeds/_seeds.yml"), SEEDS_YML)?;
    write(&out.join("models/staging/_sources.yml"), &sources_yml())?;

    let first_mart = models
        .iter()
        .find(|m| m.layer == Layer::Mart)
        .map(|m| m.name.as_str());
    if let Some(mart) = first_mart {
        write(
            &out.join("tests/assert_mart_totals_not_negative.sql"),
            &singular_test(mart),
        )?;
    }

    // Models, and one _schema.yml per folder. Models are grouped by folder in plan order.
    let mut folders: Vec<(&str, Vec<&Model>)> = Vec::new();
    for m in models {
        match folders.iter_mut().find(|(f, _)| *f == m.folder) {
            Some((_, list)) => list.push(m),
            None => folders.push((&m.folder, vec![m])),
        }
    }
    let mut sql = String::with_capacity(4096);
    for (folder, list) in &folders {
        let dir = out.join("models").join(folder);
        fs::create_dir_all(&dir)?;
        for m in list {
            sql.clear();
            match m.layer {
                Layer::Staging => staging_sql(&mut sql, m),
                Layer::Intermediate => intermediate_sql(&mut sql, m),
                Layer::Mart => mart_sql(&mut sql, m),
            }
            fs::write(dir.join(format!("{}.sql", m.name)), &sql)?;
        }
        fs::write(dir.join("_schema.yml"), schema_yml(list))?;
    }
    Ok(())
}

const DBT_PROJECT: &str = r#"# Generated by kiln's examples/gen_project.rs for the parse/compile benchmark.
name: bench
version: "1.0.0"
config-version: 2
profile: bench

model-paths: ["models"]
seed-paths: ["seeds"]
macro-paths: ["macros"]
test-paths: ["tests"]
target-path: "target"
clean-targets: ["target"]

vars:
  bench_large_amount: 500

models:
  bench:
    +materialized: view
    staging:
      +materialized: view
      +tags: ["staging"]
    intermediate:
      +materialized: table
      +tags: ["intermediate"]
      finance:
        +tags: ["finance"]
        +meta:
          owner: "finance-analytics"
      marketing:
        +tags: ["marketing"]
        +materialized: view
      product:
        +tags: ["product"]
        +meta:
          owner: "product-analytics"
          contains_pii: false
      operations:
        +materialized: ephemeral
        +tags: ["operations"]
    marts:
      +materialized: table
      +schema: marts
      +tags: ["marts"]
      finance:
        +tags: ["finance"]
        +meta:
          owner: "finance-analytics"
          tier: 1
      marketing:
        +tags: ["marketing"]
      product:
        +meta:
          owner: "product-analytics"
          tier: 2
      operations:
        +tags: ["operations"]

seeds:
  bench:
    +schema: seeds
    payment_methods:
      +column_types:
        method: varchar
        is_card: boolean

data_tests:
  bench:
    +severity: error
"#;

const PROFILES: &str = r#"bench:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: bench.duckdb
      schema: main
      threads: 4
"#;

const MACRO_CENTS: &str = r#"{% macro cents_to_dollars(column_name, scale=2) -%}
    ({{ column_name }} / 100)::numeric(16, {{ scale }})
{%- endmacro %}
"#;

const MACRO_LIMIT: &str = r#"{% macro limit_in_dev(row_count=1000) -%}
    {%- if target.name == 'dev' -%}
    limit {{ row_count }}
    {%- endif -%}
{%- endmacro %}
"#;

const MACRO_DIVIDE: &str = r#"{% macro safe_divide(numerator, denominator) -%}
    case when ({{ denominator }}) = 0 then null else ({{ numerator }}) / ({{ denominator }}) end
{%- endmacro %}
"#;

const MACROS_YML: &str = r#"version: 2

macros:
  - name: cents_to_dollars
    description: Converts an integer amount of cents to a decimal amount of dollars.
    arguments:
      - name: column_name
        type: string
        description: The column (or expression) holding cents.
      - name: scale
        type: integer
        description: Digits after the decimal point.
  - name: limit_in_dev
    description: Adds a LIMIT clause when running against the dev target.
  - name: safe_divide
    description: Divides, returning null instead of failing on a zero denominator.
"#;

fn seed_payment_methods() -> String {
    let mut s = String::from("method,label,is_card\n");
    for m in PAYMENT_METHODS {
        let label = m.replace('_', " ");
        let _ = writeln!(s, "{m},{label},{}", m == "credit_card" || m == "gift_card");
    }
    s
}

const SEED_COUNTRIES: &str = "country_code,country_name,region\n\
AT,Austria,EMEA\nBR,Brazil,LATAM\nCA,Canada,NA\nDE,Germany,EMEA\nFR,France,EMEA\n\
IN,India,APAC\nJP,Japan,APAC\nMX,Mexico,LATAM\nUS,United States,NA\nZA,South Africa,EMEA\n";

const SEEDS_YML: &str = r#"version: 2

seeds:
  - name: payment_methods
    description: The payment methods the shop accepts.
    columns:
      - name: method
        description: Machine name of the method.
        data_tests:
          - unique
          - not_null
      - name: label
        description: Human-readable name.
      - name: is_card
        description: Whether the method is a card.
  - name: country_codes
    description: ISO country codes and the sales region they belong to.
    columns:
      - name: country_code
        data_tests:
          - unique
"#;

fn sources_yml() -> String {
    let mut s = String::from(
        "version: 2\n\nsources:\n  - name: raw\n    description: Tables replicated from the shop's \
         operational database.\n    schema: raw\n    tables:\n",
    );
    for t in 1..=SOURCE_TABLES {
        let _ = write!(
            s,
            "      - name: table_{t:02}\n        description: Raw extract number {t} of the shop database.\n        columns:\n          - name: id\n            description: Primary key.\n"
        );
        if t % 5 == 0 {
            s.push_str("            data_tests:\n              - not_null\n");
        }
        s.push_str(
            "          - name: customer_id\n          - name: status\n          - name: payment_method\n          - name: amount_cents\n          - name: created_at\n          - name: updated_at\n",
        );
    }
    s
}

fn singular_test(mart: &str) -> String {
    format!(
        "-- A singular data test: no customer may have a negative total.\nselect customer_id, total_amount\nfrom {{{{ ref('{mart}') }}}}\nwhere total_amount < 0\n"
    )
}

fn staging_sql(s: &mut String, m: &Model) {
    let table = format!("table_{:02}", m.source_table + 1);
    if m.variant == 0 {
        let _ = writeln!(
            s,
            "{{{{ config(materialized='view', tags=['raw_{:02}']) }}}}\n",
            m.source_table + 1
        );
    }
    let _ = write!(
        s,
        "with source as (\n\n    select * from {{{{ source('raw', '{table}') }}}}\n\n),\n\nrenamed as (\n\n    select\n        id,\n        customer_id,\n        lower(status) as status,\n        payment_method,\n        {{{{ cents_to_dollars('amount_cents') }}}} as amount,\n        created_at,\n"
    );
    // The built-in cross-database macro, both as dbt documents it and unqualified.
    if m.variant == 2 {
        s.push_str("        {{ dateadd('day', 30, 'created_at') }} as due_at,\n");
    } else {
        s.push_str("        {{ dbt.dateadd(datepart='day', interval=30, from_date_or_timestamp='created_at') }} as due_at,\n");
    }
    s.push_str(
        "        updated_at\n\n    from source\n    where created_at >= '{{ var(\"start_date\", \"2020-01-01\") }}'\n\n)\n\nselect * from renamed\n",
    );
    if m.variant == 1 {
        s.push_str("{{ limit_in_dev(5000) }}\n");
    }
}

fn intermediate_sql(s: &mut String, m: &Model) {
    if m.variant == 0 && !m.ephemeral {
        s.push_str("{{\n    config(\n        materialized='table',\n        tags=['nightly']\n    )\n}}\n\n");
    }
    s.push_str("{% set valid_statuses = [");
    for (i, st) in STATUSES
        .iter()
        .enumerate()
        .take(if m.variant == 1 { 3 } else { 5 })
    {
        let _ = write!(s, "{}'{st}'", if i > 0 { ", " } else { "" });
    }
    s.push_str("] %}\n\nwith base as (\n\n    select * from {{ ref('");
    s.push_str(&m.parents[0]);
    s.push_str("') }}\n\n)");
    for (i, p) in m.parents.iter().enumerate().skip(1) {
        let _ = write!(
            s,
            ",\n\nrelated_{i} as (\n\n    select\n        customer_id,\n        sum(amount) as amount\n    from {{{{ ref('{p}') }}}}\n    group by customer_id\n\n)"
        );
    }
    s.push_str(",\n\nfinal as (\n\n    select\n        base.id,\n        base.customer_id,\n        base.status,\n        base.payment_method,\n        base.amount");
    for i in 1..m.parents.len() {
        let _ = write!(s, " + coalesce(related_{i}.amount, 0)");
    }
    s.push_str(" as amount,\n        base.created_at,\n        base.due_at,\n        base.updated_at\n    from base\n");
    for i in 1..m.parents.len() {
        let _ = writeln!(
            s,
            "    left join related_{i} on related_{i}.customer_id = base.customer_id"
        );
    }
    s.push_str(
        "    where base.status in (\n        {%- for status in valid_statuses %}\n        '{{ status }}'{% if not loop.last %},{% endif %}\n        {%- endfor %}\n    )\n",
    );
    if m.variant == 2 {
        s.push_str(
            "    {% if var('bench_large_amount', 500) > 0 -%}\n    and base.amount < {{ var('bench_large_amount', 500) }} * 100\n    {%- endif %}\n",
        );
    }
    s.push_str("\n)\n\nselect * from final\n");
}

fn mart_sql(s: &mut String, m: &Model) {
    match m.variant {
        0 => s.push_str("{{ config(materialized='table', meta={'refresh': 'daily'}) }}\n\n"),
        1 => s.push_str("{{ config(materialized='incremental', unique_key='customer_id', on_schema_change='append_new_columns') }}\n\n"),
        _ => {}
    }
    s.push_str("{% set payment_methods = [");
    for (i, pm) in PAYMENT_METHODS.iter().enumerate() {
        let _ = write!(s, "{}'{pm}'", if i > 0 { ", " } else { "" });
    }
    s.push_str("] %}\n\nwith orders as (\n\n");
    for (i, p) in m.parents.iter().enumerate() {
        if i > 0 {
            s.push_str("\n    union all\n\n");
        }
        let _ = writeln!(s, "    select * from {{{{ ref('{p}') }}}}");
    }
    s.push_str(
        "\n),\n\nmethods as (\n\n    select * from {{ ref('payment_methods') }}\n\n),\n\nfinal as (\n\n    select\n        orders.customer_id,\n",
    );
    s.push_str(
        "        {% for m in payment_methods -%}\n        sum(case when orders.payment_method = '{{ m }}' then orders.amount end) as {{ m }}_amount,\n        {% endfor -%}\n",
    );
    s.push_str(
        "        sum(case when methods.is_card then orders.amount else 0 end) as card_amount,\n        sum(orders.amount) as total_amount,\n        {{ safe_divide('sum(orders.amount)', 'count(*)') }} as average_amount,\n        count(*) as order_count,\n        min(orders.created_at) as first_order_at,\n        max(orders.created_at) as last_order_at\n    from orders\n    left join methods on methods.method = orders.payment_method\n",
    );
    if m.variant == 1 {
        s.push_str(
            "    {% if is_incremental() %}\n    where orders.updated_at > (select max(last_order_at) from {{ this }})\n    {% endif %}\n",
        );
    }
    s.push_str("    group by orders.customer_id\n\n)\n\nselect * from final\n");
}

fn schema_yml(list: &[&Model]) -> String {
    let mut s = String::with_capacity(list.len() * 900);
    s.push_str("version: 2\n\nmodels:\n");
    for m in list {
        let what = match m.layer {
            Layer::Staging => format!(
                "Staging model over raw.table_{:02}: renamed columns, dollars instead of cents.",
                m.source_table + 1
            ),
            Layer::Intermediate => {
                format!("Intermediate model combining {}.", m.parents.join(", "))
            }
            Layer::Mart => format!("Customer-level mart over {}.", m.parents.join(", ")),
        };
        let _ = write!(s, "  - name: {}\n    description: \"{what}\"\n", m.name);
        if m.layer == Layer::Mart {
            s.push_str("    columns:\n      - name: customer_id\n        description: One row per customer.\n");
            if m.tested {
                s.push_str("        data_tests:\n          - unique\n          - not_null\n");
            }
            for pm in PAYMENT_METHODS {
                let _ = write!(
                    s,
                    "      - name: {pm}_amount\n        description: Total paid by {pm}.\n"
                );
            }
            s.push_str(
                "      - name: total_amount\n        description: Total paid, all methods.\n",
            );
            if m.tested {
                let _ = write!(
                    s,
                    "        data_tests:\n          - not_null:\n              config:\n                severity: warn\n"
                );
            }
            s.push_str(
                "      - name: order_count\n      - name: first_order_at\n      - name: last_order_at\n",
            );
            continue;
        }
        s.push_str("    columns:\n");
        for (col, desc) in COLUMNS {
            let _ = write!(s, "      - name: {col}\n        description: \"{desc}\"\n");
            if !m.tested {
                continue;
            }
            match col {
                "id" => {
                    s.push_str("        data_tests:\n          - unique\n          - not_null\n")
                }
                "status" if m.variant != 1 => {
                    s.push_str("        data_tests:\n          - accepted_values:\n              arguments:\n                values: [");
                    for (i, st) in STATUSES.iter().enumerate() {
                        let _ = write!(s, "{}'{st}'", if i > 0 { ", " } else { "" });
                    }
                    s.push_str("]\n");
                }
                "payment_method" if m.variant == 1 => {
                    s.push_str(
                        "        data_tests:\n          - relationships:\n              arguments:\n                to: ref('payment_methods')\n                field: method\n",
                    );
                }
                "customer_id" if m.layer == Layer::Intermediate => {
                    let _ = write!(
                        s,
                        "        data_tests:\n          - not_null\n          - relationships:\n              arguments:\n                to: ref('{}')\n                field: customer_id\n              config:\n                severity: warn\n",
                        m.parents[0]
                    );
                }
                _ => {}
            }
        }
    }
    s
}

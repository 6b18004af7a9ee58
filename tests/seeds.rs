//! Seeds against a real DuckDB: a CSV written to a temp dir, [`seed::load`] inferring its types
//! inside DuckDB, its plan executed the way the runner does, then the table's contents and
//! `information_schema.columns` checked.
//!
//! `bench_seed_million_rows` is the seed benchmark (ignored; `bash bench/seed.sh` runs it).

use kiln::adapter::{Adapter, Cell, Connection, DbError, DuckDb};
use kiln::materialize::seed::{self, SeedLoad};
use kiln::project::settings::{SeedConfig, Settings};
use kiln::project::{Node, ResourceType};
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};

/// A seed node for `file`, with `config` as its merged config.
fn seed_node(name: &str, file: &Path, config: Json) -> Node {
    let config = match config {
        Json::Object(m) => m,
        _ => Default::default(),
    };
    // As the parse phase settles it (a config mistake never reaches loading).
    let settings = Settings::parse(ResourceType::Seed, "seed", &config).unwrap_or_default();
    Node {
        unique_id: format!("seed.shop.{name}"),
        resource_type: ResourceType::Seed,
        name: name.into(),
        package_name: "shop".into(),
        path: format!("{name}.csv"),
        original_file_path: format!("seeds/{name}.csv"),
        file: file.to_path_buf(),
        line_offset: 0,
        fqn: vec!["shop".into(), name.into()],
        raw_code: String::new(),
        checksum: String::new(),
        config,
        unrendered_config: Default::default(),
        description: String::new(),
        columns: Default::default(),
        patch_path: None,
        refs: vec![],
        sources: vec![],
        depends_on_macros: vec![],
        database: "memory".into(),
        schema: "main".into(),
        alias: name.into(),
        relation_name: None,
        test: None,
        version: None,
        latest_version: None,
        deprecation_date: None,
        constraints: vec![],
        doc_blocks: vec![],
        settings,
        spans: Default::default(),
    }
}

/// An in-memory DuckDB and a temp dir for CSV files.
struct Env {
    adapter: DuckDb,
    conn: Box<dyn Connection>,
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let adapter = DuckDb::in_memory();
        let conn = adapter.connect().expect("connect");
        let dir = tempfile::tempdir().expect("temp dir");
        Env { adapter, conn, dir }
    }

    fn csv(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.csv"));
        std::fs::write(&path, content).expect("write csv");
        path
    }

    fn load(&mut self, name: &str, config: Json) -> Result<SeedLoad, DbError> {
        let path = self.dir.path().join(format!("{name}.csv"));
        let node = seed_node(name, &path, config);
        let existing = self
            .conn
            .get_relation("memory", "main", name)
            .expect("catalog")
            .map(|r| r.kind);
        seed::load(self.conn.as_mut(), &self.adapter, &node, existing)
    }

    /// Loads the seed and runs its plan, as the runner does.
    fn seed(&mut self, name: &str, content: &[u8], config: Json) -> SeedLoad {
        self.csv(name, content);
        let load = self
            .load(name, config)
            .unwrap_or_else(|e| panic!("load {name}: {e}"));
        self.run(&load);
        load
    }

    fn run(&mut self, load: &SeedLoad) {
        for s in &load.plan.statements(&self.adapter) {
            self.conn
                .execute(s)
                .unwrap_or_else(|e| panic!("{e}\nin:\n{s}"));
        }
    }

    /// `name type` per column, in order.
    fn types(&mut self, table: &str) -> Vec<String> {
        self.conn
            .columns("memory", "main", table)
            .expect("columns")
            .into_iter()
            .map(|c| format!("{} {}", c.name, c.data_type))
            .collect()
    }

    /// Every row as text cells (`NULL` for null), ordered by the first column.
    fn rows(&mut self, sql: &str) -> Vec<Vec<String>> {
        self.conn
            .query(sql)
            .unwrap_or_else(|e| panic!("{e}\nin: {sql}"))
            .rows
            .into_iter()
            .map(|r| r.iter().map(Cell::to_string).collect())
            .collect()
    }

    fn tables(&mut self) -> Vec<String> {
        self.rows("select table_name from information_schema.tables order by 1")
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    }
}

fn strs(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn infers_every_type_like_dbt() {
    let mut env = Env::new();
    let csv = "\
int_col,big_col,huge_col,num_col,date_col,ts_col,iso_col,bool_col,text_col,empty_col,mixed_dates,int_text
1,3000000000,99999999999999999999,1,2024-01-05,2024-01-05 10:00:00,2024-01-05T10:00:00,TRUE,alpha,,2024-01-05,1
-2,1,1,2.5,2024-1-6,2024-01-06 1:02:03,2024-01-06T10:00:00.250Z,false,beta,null,2024-01-05 10:00:00,x
+3,-4,-5,1e3,,,,,,NULL,,
null,,,,null,null,null,null,null,,,
";
    let load = env.seed("kinds", csv.as_bytes(), json!({}));
    assert_eq!(load.rows, 4);
    assert_eq!(
        env.types("kinds"),
        [
            "int_col INTEGER",
            "big_col BIGINT",
            "huge_col HUGEINT",
            "num_col DOUBLE",
            "date_col DATE",
            "ts_col TIMESTAMP",
            "iso_col TIMESTAMP",
            "bool_col BOOLEAN",
            "text_col VARCHAR",
            "empty_col INTEGER",
            "mixed_dates VARCHAR",
            "int_text VARCHAR",
        ]
    );
    assert!(load.columns.iter().all(|c| !c.declared));
    assert_eq!(
        env.rows(
            "select int_col, big_col, huge_col::varchar, num_col, date_col::varchar, \
             ts_col::varchar, iso_col::varchar, bool_col, text_col, empty_col, mixed_dates, int_text \
             from kinds order by int_col nulls last"
        ),
        strs(&[
            &[
                "-2",
                "1",
                "1",
                "2.5",
                "2024-01-06",
                "2024-01-06 01:02:03",
                "2024-01-06 10:00:00.25",
                "false",
                "beta",
                "NULL",
                "2024-01-05 10:00:00",
                "x"
            ],
            &[
                "1",
                "3000000000",
                "99999999999999999999",
                "1",
                "2024-01-05",
                "2024-01-05 10:00:00",
                "2024-01-05 10:00:00",
                "true",
                "alpha",
                "NULL",
                "2024-01-05",
                "1"
            ],
            &[
                "3", "-4", "-5", "1000", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL",
                "NULL"
            ],
            &[
                "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL",
                "NULL", "NULL"
            ],
        ])
    );
}

#[test]
fn null_spellings_and_text_kept_as_written() {
    let mut env = Env::new();
    let csv =
        "id,note\n1,\n2,null\n3,NULL\n4,  Null \n5,\"\"\n6,  padded  \n7,\"null-ish\"\n8,   \n";
    env.seed("notes", csv.as_bytes(), json!({}));
    assert_eq!(env.types("notes"), ["id INTEGER", "note VARCHAR"]);
    assert_eq!(
        env.rows("select id, coalesce('[' || note || ']', 'NULL') from notes order by id"),
        strs(&[
            &["1", "NULL"],
            &["2", "NULL"],
            &["3", "NULL"],
            &["4", "NULL"],
            &["5", "NULL"],
            &["6", "[  padded  ]"],
            &["7", "[null-ish]"],
            &["8", "NULL"],
        ])
    );
}

#[test]
fn numbers_and_booleans_tolerate_surrounding_spaces() {
    let mut env = Env::new();
    env.seed(
        "spaced",
        b"n,f,flag\n 1 , 1.5 , true \n2,2,FALSE\n",
        json!({}),
    );
    assert_eq!(
        env.types("spaced"),
        ["n INTEGER", "f DOUBLE", "flag BOOLEAN"]
    );
    assert_eq!(
        env.rows("select n, f, flag from spaced order by n"),
        strs(&[&["1", "1.5", "true"], &["2", "2", "false"]])
    );
}

#[test]
fn column_types_override_inference_case_insensitively() {
    let mut env = Env::new();
    let csv = "zip,Amount,day,label\n00501,12.5,2024-01-05,a\n10001,3,,b\nnull,,2024-02-01,\n";
    let load = env.seed(
        "zips",
        csv.as_bytes(),
        json!({"column_types": {"zip": "varchar", "amount": "decimal(12,2)", "LABEL": "varchar(3)", "missing": "int"}}),
    );
    assert_eq!(
        env.types("zips"),
        [
            "zip VARCHAR",
            "Amount DECIMAL(12,2)",
            "day DATE",
            "label VARCHAR"
        ]
    );
    let declared: Vec<(&str, &str, bool)> = load
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str(), c.declared))
        .collect();
    assert_eq!(
        declared,
        [
            ("zip", "varchar", true),
            ("Amount", "decimal(12,2)", true),
            ("day", "DATE", false),
            ("label", "varchar(3)", true),
        ]
    );
    assert_eq!(
        load.warnings,
        [
            "seed seeds/zips.csv: column_types names column 'missing', which is not in the CSV header (zip, Amount, day, label)"
        ]
    );
    assert_eq!(
        env.rows(
            "select zip, \"Amount\"::varchar, day::varchar, label from zips order by zip nulls last"
        ),
        strs(&[
            &["00501", "12.50", "2024-01-05", "a"],
            &["10001", "3.00", "NULL", "b"],
            &["NULL", "NULL", "2024-02-01", "NULL"],
        ])
    );
}

#[test]
fn quote_columns_and_names_that_need_quotes() {
    let mut env = Env::new();
    let csv = "Full Name,MixedCase,order,left,plain\nAda Lovelace,1,2,3,4\n";
    let load = env.seed("people", csv.as_bytes(), json!({}));
    assert_eq!(
        load.columns.iter().map(|c| c.quoted).collect::<Vec<_>>(),
        [true, false, true, true, false]
    );
    assert!(
        load.plan
            .script(&env.adapter)
            .contains("\"Full Name\" VARCHAR")
    );
    assert!(
        load.plan
            .script(&env.adapter)
            .contains("    MixedCase INTEGER")
    );
    assert_eq!(
        env.types("people"),
        [
            "Full Name VARCHAR",
            "MixedCase INTEGER",
            "order INTEGER",
            "left INTEGER",
            "plain INTEGER"
        ]
    );

    let load = env.seed("people", csv.as_bytes(), json!({"quote_columns": true}));
    assert!(load.columns.iter().all(|c| c.quoted));
    assert!(
        load.plan
            .script(&env.adapter)
            .contains("\"MixedCase\" INTEGER")
    );
    assert_eq!(
        env.types("people"),
        [
            "Full Name VARCHAR",
            "MixedCase INTEGER",
            "order INTEGER",
            "left INTEGER",
            "plain INTEGER"
        ]
    );
    assert_eq!(
        env.rows("select \"Full Name\", mixedcase, \"order\" from people"),
        strs(&[&["Ada Lovelace", "1", "2"]])
    );
}

#[test]
fn custom_delimiters_and_quoted_fields() {
    let mut env = Env::new();
    env.seed(
        "semicolons",
        b"id;note\n1;\"a;b\"\n2;\"two\nlines\"\n3;\"say \"\"hi\"\"\"\n",
        json!({"delimiter": ";"}),
    );
    assert_eq!(
        env.rows("select id, note from semicolons order by id"),
        strs(&[&["1", "a;b"], &["2", "two\nlines"], &["3", "say \"hi\""]])
    );
    env.seed("piped", b"a|b\n1|x,y\n", json!({"delimiter": "|"}));
    assert_eq!(env.rows("select a, b from piped"), strs(&[&["1", "x,y"]]));
    env.seed("tabbed", b"a\tb\n1\t2.5\n", json!({"delimiter": "\t"}));
    assert_eq!(env.types("tabbed"), ["a INTEGER", "b DOUBLE"]);
}

#[test]
fn bom_and_crlf() {
    let mut env = Env::new();
    env.seed(
        "windows",
        b"\xef\xbb\xbfid,name,day\r\n1,Ada,2024-01-05\r\n2,Grace,2024-01-06\r\n",
        json!({}),
    );
    assert_eq!(
        env.types("windows"),
        ["id INTEGER", "name VARCHAR", "day DATE"]
    );
    assert_eq!(
        env.rows("select id, name, day::varchar from windows order by id"),
        strs(&[&["1", "Ada", "2024-01-05"], &["2", "Grace", "2024-01-06"]])
    );
}

/// A row with fewer fields than the header is refused with its line and both counts, as
/// dbt-duckdb refuses it (padding it with NULLs would load values nobody wrote), and the table
/// already loaded stays as it was.
#[test]
fn short_rows_are_refused() {
    let mut env = Env::new();
    env.seed("short", b"a,b,c\n1,2,3\n", json!({}));
    let short = load_error(&mut env, "short", b"a,b,c\n1,2,3\n4\n5,6,\n", json!({}));
    assert_eq!(
        short,
        "seed seeds/short.csv: Invalid Input Error: CSV Error on Line: 3\nOriginal Line: 4\n\
         Expected Number of Columns: 3 Found: 1\nThe row has 1 fields and the header 3: add the \
         missing fields (an empty field loads as NULL)."
    );
    assert_eq!(
        env.rows("select a, b, c from short"),
        strs(&[&["1", "2", "3"]])
    );
    // Trailing empty fields are NULLs, not missing fields.
    env.seed("short", b"a,b,c\n4,,\n5,6,\n", json!({}));
    assert_eq!(
        env.rows("select a, b, c from short order by a"),
        strs(&[&["4", "NULL", "NULL"], &["5", "6", "NULL"]])
    );
}

#[test]
fn header_only_seed_is_an_empty_table() {
    let mut env = Env::new();
    let load = env.seed("nothing", b"id,name\n", json!({}));
    assert_eq!(load.rows, 0);
    assert_eq!(env.types("nothing"), ["id INTEGER", "name INTEGER"]);
    assert_eq!(env.rows("select count(*) from nothing"), strs(&[&["0"]]));
}

#[test]
fn repeated_and_blank_header_names() {
    let mut env = Env::new();
    env.seed("dupes", b"id,,ID,id\n1,2,3,4\n", json!({}));
    assert_eq!(
        env.types("dupes"),
        [
            "id INTEGER",
            "column1 INTEGER",
            "ID_2 INTEGER",
            "id_3 INTEGER"
        ]
    );
}

#[test]
fn reloading_swaps_the_table_in() {
    let mut env = Env::new();
    env.seed("plans", b"code,price\nbasic,10\npro,20\n", json!({}));
    assert_eq!(env.types("plans"), ["code VARCHAR", "price INTEGER"]);

    // The CSV changed: new values, a type that widens, a new column.
    let load = env.seed(
        "plans",
        b"code,price,active\nbasic,10.5,true\npro,20,false\nteam,30,true\n",
        json!({}),
    );
    assert!(
        load.plan
            .statements(&env.adapter)
            .iter()
            .any(|s| s.starts_with("drop table if exists \"memory\".\"main\".\"plans\""))
    );
    assert_eq!(
        env.types("plans"),
        ["code VARCHAR", "price DOUBLE", "active BOOLEAN"]
    );
    assert_eq!(
        env.rows("select code, price, active from plans order by code"),
        strs(&[
            &["basic", "10.5", "true"],
            &["pro", "20", "false"],
            &["team", "30", "true"],
        ])
    );
    assert_eq!(env.tables(), ["plans"]);
}

#[test]
fn a_view_in_the_way_is_replaced() {
    let mut env = Env::new();
    env.conn
        .execute("create view main.codes as select 1 as x")
        .expect("view");
    let load = env.seed("codes", b"code\nA\n", json!({}));
    assert!(
        load.plan
            .statements(&env.adapter)
            .iter()
            .any(|s| s.starts_with("drop view if exists"))
    );
    assert_eq!(env.rows("select code from codes"), strs(&[&["A"]]));
    assert_eq!(env.tables(), ["codes"]);
}

#[test]
fn a_failed_load_leaves_the_previous_table() {
    let mut env = Env::new();
    env.seed("keep", b"id\n1\n", json!({}));
    env.csv("keep", b"id\n2\n");
    let load = env.load("keep", json!({})).expect("load");
    // The CSV breaks between inference and the load: the transaction rolls back.
    env.csv("keep", b"id\n2,3\n");
    let mut failed = false;
    for s in &load.plan.statements(&env.adapter) {
        if env.conn.execute(s).is_err() {
            failed = true;
            env.conn.execute("rollback").expect("rollback");
            break;
        }
    }
    assert!(failed);
    assert_eq!(env.rows("select id from keep"), strs(&[&["1"]]));
    assert_eq!(env.tables(), ["keep"]);
}

fn load_error(env: &mut Env, name: &str, content: &[u8], config: Json) -> String {
    env.csv(name, content);
    match env.load(name, config) {
        Ok(l) => panic!(
            "expected an error, got a plan:\n{}",
            l.plan.script(&env.adapter)
        ),
        Err(e) => e.message,
    }
}

#[test]
fn clear_errors() {
    let mut env = Env::new();
    assert_eq!(
        load_error(&mut env, "empty", b"", json!({})),
        "seed seeds/empty.csv: the CSV file is empty; a seed needs a header line naming its columns"
    );
    assert_eq!(
        load_error(&mut env, "blank", b"\n\n", json!({})),
        "seed seeds/blank.csv: the CSV file is empty; a seed needs a header line naming its columns"
    );
    assert_eq!(
        load_error(&mut env, "blankfirst", b"\na,b\n1,2\n", json!({})),
        "seed seeds/blankfirst.csv: the first line of the CSV file is empty; a seed starts with a header line naming its columns"
    );
    let bad_type = load_error(
        &mut env,
        "badtype",
        b"id,amount\n1,2\n",
        json!({"column_types": {"amount": "moneyz"}}),
    );
    assert!(
        bad_type.starts_with("seed seeds/badtype.csv: column_types gives column 'amount' the type 'moneyz', which DuckDB rejects: Catalog Error: Type with name moneyz does not exist!"),
        "{bad_type}"
    );
    assert_eq!(
        load_error(
            &mut env,
            "misfit",
            b"id,amount,day\n1,2,2024-01-01\n2,lots,2024-13-01\n3,many,\n",
            json!({"column_types": {"amount": "integer", "day": "date"}}),
        ),
        "seed seeds/misfit.csv: column 'amount' has 2 values that cannot be converted to integer (its type in column_types), e.g. 'lots'; column 'day' has 1 value that cannot be converted to date (its type in column_types), e.g. '2024-13-01'; fix the values or the column's type in column_types"
    );
    let ragged = load_error(&mut env, "ragged", b"a,b\n1,2\n3,4,5\n", json!({}));
    assert!(ragged.starts_with("seed seeds/ragged.csv: "), "{ragged}");
    assert!(
        ragged.contains("Expected Number of Columns: 2 Found: 3"),
        "{ragged}"
    );
    assert!(!ragged.contains("Possible fixes"), "{ragged}");
    let latin1 = load_error(&mut env, "latin1", b"id,name\n1,Jos\xe9\n", json!({}));
    assert!(latin1.starts_with("seed seeds/latin1.csv: "), "{latin1}");
    assert!(
        latin1.contains("not utf-8 encoded") && latin1.ends_with("Save the CSV file as UTF-8."),
        "{latin1}"
    );
    assert_eq!(
        load_error(&mut env, "latin1head", b"id,n\xe9\n1,2\n", json!({})),
        "seed seeds/latin1head.csv: the CSV header is not valid UTF-8; save the file as UTF-8"
    );
    let missing = env
        .load("nowhere", json!({}))
        .expect_err("missing file")
        .message;
    assert!(
        missing.starts_with("seed seeds/nowhere.csv: cannot read the CSV file "),
        "{missing}"
    );
    // A config mistake is reported by the parse phase, at its line (tests/cli/errors.rs,
    // seed_config_error), before anything is loaded.
    let config = json!({"delimiter": ";;"});
    let problems =
        SeedConfig::parse(config.as_object().expect("a mapping")).expect_err("two characters");
    assert_eq!(
        problems[0].message,
        "delimiter must be one character other than a quote or a line break (e.g. ';' or '|'), not \";;\""
    );
    // Nothing was created by the failures.
    assert!(env.tables().is_empty());
}

//! dbt-duckdb compatibility: `tests/fixtures/jaffle_compat` (a project in the style of the classic
//! dbt tutorial) built by kiln yields the same relations (names, schemas, kinds, column names and
//! types) and the same rows as dbt-duckdb built from the same folder (`expected/`).

use crate::support::TestProject;

#[test]
fn the_tutorial_project_builds_the_tables_dbt_duckdb_builds() {
    let p = TestProject::fixture("jaffle_compat");
    let run = p.kiln(&["build"]).run();
    run.assert_success();
    assert!(
        run.stdout.contains("Done. PASS=19 WARN=0 ERROR=0 SKIP=0"),
        "{}",
        run.stdout
    );
    let conn = duckdb::Connection::open(p.dir().join("jaffle.duckdb")).unwrap();
    // the catalog, column by column (kiln's build state aside)
    let mut stmt = conn
        .prepare(
            "select table_schema, table_name, table_type, column_name, data_type from information_schema.tables join information_schema.columns using (table_catalog, table_schema, table_name) where table_schema <> 'kiln_state' order by table_schema, table_name, ordinal_position",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((0..5)
                .map(|i| r.get::<_, String>(i).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(","))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect::<Vec<_>>();
    let expected = p.read("expected/relations.csv");
    let expected: Vec<&str> = expected.lines().skip(1).collect();
    assert_eq!(rows, expected);
    // every table's rows, exported the way expected/ was
    let out = p.dir().join("actual");
    std::fs::create_dir_all(&out).unwrap();
    for line in &expected {
        let name = line.split(',').nth(1).unwrap();
        let file = out.join(format!("{name}.csv"));
        if file.exists() {
            continue;
        }
        conn.execute_batch(&format!(
            "copy (select * from main.\"{name}\" order by all) to '{}' (header, delimiter ',')",
            file.display()
        ))
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            p.read(&format!("expected/{name}.csv")),
            "table {name} differs from dbt-duckdb's"
        );
    }
}

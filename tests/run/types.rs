//! Every DuckDB type through `kiln show` (text and JSON) and through `run_query` in a macro,
//! exactly: no `?`, no digit lost, no table broken by a newline.

use crate::assert_run_snapshot;
use crate::support::TestProject;

/// One value of every DuckDB type, and a NULL.
const EVERY_TYPE: &str = r#"select
  -1::tinyint as i8, -300::smallint as i16, 70000::integer as i32,
  -9000000000::bigint as i64,
  -170141183460469231731687303715884105727::hugeint as huge,
  340282366920938463463374607431768211455::uhugeint as uhuge,
  255::utinyint as u8, 65535::usmallint as u16, 4294967295::uinteger as u32,
  18446744073709551615::ubigint as u64,
  1234567890123456789012345678.1234567890::decimal(38,10) as dec38,
  12.50::decimal(4,2) as dec4, -0.005::decimal(5,3) as dec_neg,
  0.1::float as f32, 0.1::double + 0.2::double as f64, 1e20::double as big_double,
  1e-7::double as tiny_double, 'nan'::double as nan,
  true as yes, false as no,
  date '2024-05-27' as d, 'infinity'::date as d_inf,
  time '13:45:01.123456' as t, time '13:45:00' as t_whole,
  timestamp '2024-05-27 13:45:01.123456' as ts, timestamp_s '2024-05-27 13:45:01' as ts_s,
  timestamp_ms '2024-05-27 13:45:01.123' as ts_ms,
  timestamp_ns '2024-05-27 13:45:01.123456789' as ts_ns,
  timestamptz '2024-05-27 13:45:01.123456+02' as tstz,
  interval '1 year 2 months 3 days 04:05:06.789' as iv, interval 90 minute as iv_short,
  uuid '550e8400-e29b-41d4-a716-446655440000' as u,
  '\xAA\xBBab'::blob as bl,
  E'line1\nline2\ttab' as ml, 'héllo ✓ 日本' as uni, 'pipe | and "quotes"' as punct,
  'b'::enum('a', 'b') as e,
  [1, 2, NULL] as l, {'x': 1, 'y': 'z'} as s, map {'k1': 10, 'k2': 20} as m,
  [1.5, 2.5]::double[2] as arr,
  union_value(num := 2)::union(num integer, str varchar) as un,
  '10101'::bit as bi, '{"a": [1, 2]}'::json as js,
  '-123456789012345678901234567890123456789012'::bignum as bn,
  time_ns '13:45:01.123456789' as t_ns, NULL::integer as nothing"#;

#[test]
fn show_prints_every_type_exactly() {
    let p = TestProject::minimal();
    let text = p.kiln(&["show", "--inline", EVERY_TYPE]).run();
    text.assert_success();
    assert_run_snapshot!("show_every_type_text", text);
    let json = p
        .kiln(&["show", "--inline", EVERY_TYPE, "--output", "json"])
        .run();
    json.assert_success();
    assert_run_snapshot!("show_every_type_json", json);
    // strict enough for a JSON reader that takes numbers as text (NaN aside, as dbt writes it)
    let parsed: serde_json::Value =
        serde_json::from_str(&json.stdout.replace("NaN", "null")).expect("show --output json");
    let row = &parsed["show"][0];
    assert_eq!(row["ml"], "line1\nline2\ttab");
    assert_eq!(row["tstz"], "2024-05-27T11:45:01.123456+00:00");
    assert_eq!(row["l"], "[1, 2, null]");
    assert!(
        json.stdout
            .contains(r#""huge": -170141183460469231731687303715884105727,"#),
        "{}",
        json.stdout
    );
    assert!(
        json.stdout
            .contains(r#""dec38": 1234567890123456789012345678.1234567890,"#),
        "{}",
        json.stdout
    );
}

#[test]
fn show_of_a_node_names_it_in_json() {
    let p = TestProject::minimal().file(
        "models/amounts.sql",
        "select 1 as id, 12.50::decimal(10,2) as amount union all select 2, null",
    );
    p.kiln(&["run"]).run().assert_success();
    let run = p.kiln(&["show", "-s", "amounts", "--output", "json"]).run();
    run.assert_success();
    assert_eq!(
        run.stdout,
        "{\n  \"node\": \"amounts\",\n  \"show\": [\n    {\n      \"id\": 1,\n      \"amount\": 12.50\n    },\n    {\n      \"id\": 2,\n      \"amount\": null\n    }\n  ]\n}\n"
    );
}

#[test]
fn run_query_hands_macros_exact_values() {
    let p = TestProject::minimal().file(
        "macros/watermark.sql",
        r#"{% macro read_watermark() %}
{% set t = run_query("select timestamptz '2024-05-27 13:45:01.123456+02' as wm, 123456789012345678901234567890123456789::hugeint as huge, 1234567890123456789012345678.1234567890::decimal(38,10) as amount, 12.50::decimal(4,2) as small, 340282366920938463463374607431768211455::uhugeint as uhuge, date '2024-05-27' as d, [1, 2] as l, {'k': 'v'} as s") %}
{% set r = t.rows[0] %}
{{ log("wm=" ~ r.wm, info=true) }}
{{ log("huge=" ~ r.huge ~ " next=" ~ (r.huge + 1), info=true) }}
{{ log("amount=" ~ r.amount, info=true) }}
{{ log("small=" ~ r.small ~ " doubled=" ~ (r.small * 2), info=true) }}
{{ log("uhuge=" ~ r.uhuge, info=true) }}
{{ log("d=" ~ r.d ~ " l=" ~ r.l[1] ~ " s=" ~ r.s.k, info=true) }}
{{ log("types=" ~ t.column_types | join(","), info=true) }}
{% endmacro %}"#,
    );
    let run = p.kiln(&["run-operation", "read_watermark"]).run();
    run.assert_success();
    let out = format!("{}{}", run.stdout, run.stderr);
    for line in [
        "wm=2024-05-27 11:45:01.123456+00:00",
        "huge=123456789012345678901234567890123456789 next=123456789012345678901234567890123456790",
        "amount=1234567890123456789012345678.1234567890",
        "small=12.5 doubled=25.0",
        "uhuge=340282366920938463463374607431768211455",
        "d=2024-05-27 l=2 s=v",
        "types=TIMESTAMP WITH TIME ZONE,HUGEINT,DECIMAL(38,10),DECIMAL(4,2),UHUGEINT,DATE,INTEGER[],STRUCT(k VARCHAR)",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
}

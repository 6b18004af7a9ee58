"""Checks Athena SQL statements against the grammars Athena runs them with.

Input (stdin): a JSON list of statements. Output (stdout): a JSON list, one object per
statement: {"grammar": "trino" | "hive-ddl", "error": null | "<what the parser said>"}.

Athena runs two engines. Queries, CTAS, INSERT, MERGE, views, DROP TABLE and CREATE/DROP
SCHEMA go to its Trino engine: they are parsed with Trino 422's own grammar
(trino-query-parser, ANTLR from Trino's SqlBase.g4), which rejects what Athena would (`::`
casts, QUALIFY, ILIKE, `[1,2]` lists...). Hive DDL (CREATE EXTERNAL TABLE ... ROW FORMAT ...,
ALTER TABLE ... ADD/DROP PARTITION, SET TBLPROPERTIES, MSCK) goes to its Hive DDL engine and is
not Trino SQL: Trino's grammar rejects all of it, so it is parsed with sqlglot's `athena`
dialect (which routes Hive DDL to its Hive parser), failing when sqlglot only wraps the text
as an opaque command (shared/reference/athena.md, section 3).

A grammar does not know function names: `epoch_ms(x)` parses as well as `from_unixtime(x)`.
So every function a Trino statement calls must be one of Athena engine 3's (Trino's) functions,
listed below: a DuckDB-only function (`list_value`, `epoch_ms`, `strftime`, `getvariable`...)
fails the check. A function missing from the list that Athena does have is added here, with
care: the list is what makes the check catch engine mix-ups.
"""

import json
import re
import sys

from antlr4 import CommonTokenStream, InputStream
from antlr4.error.ErrorListener import ErrorListener
from trino_query_parser.SqlBaseLexer import SqlBaseLexer
from trino_query_parser.SqlBaseParser import SqlBaseParser

HIVE_DDL = re.compile(
    r"^\s*(create\s+external\s+table|alter\s+table\s+\S+\s+(add|drop)\s+(if\s+(not\s+)?exists\s+)?partition"
    r"|alter\s+table\s+\S+\s+set\s+tblproperties|msck\s+repair)",
    re.IGNORECASE,
)


# Trino 422's scalar, aggregate and window functions (SHOW FUNCTIONS), lower case.
TRINO_FUNCTIONS = set("""
abs acos coalesce all_match any_match approx_distinct approx_most_frequent approx_percentile approx_set
arbitrary array_agg array_distinct array_except array_intersect array_join array_max array_min
array_position array_remove array_sort array_union arrays_overlap asin at_timezone atan atan2 avg
bar beta_cdf bing_tile bit_count bitwise_and bitwise_and_agg bitwise_left_shift bitwise_not
bitwise_or bitwise_or_agg bitwise_right_shift bitwise_right_shift_arithmetic bitwise_xor bool_and
bool_or cardinality cbrt ceil ceiling char2hexint checksum chr classify codepoint color combinations
concat concat_ws contains contains_sequence corr cos cosh cosine_similarity count count_if covar_pop
covar_samp crc32 cume_dist current_date current_groups current_time current_timestamp
current_timezone date date_add date_diff date_format date_parse date_trunc day day_of_month
day_of_week day_of_year degrees dense_rank dow doy e element_at empty_approx_set evaluate_classifier_predictions
every exp features filter first_value flatten floor format format_datetime format_number from_base
from_base32 from_base64 from_base64url from_big_endian_32 from_big_endian_64 from_encoded_polyline
from_geojson_geometry from_hex from_ieee754_32 from_ieee754_64 from_iso8601_date
from_iso8601_timestamp from_iso8601_timestamp_nanos from_unixtime from_unixtime_nanos from_utf8
geometric_mean greatest hamming_distance hash_counts histogram hmac_md5 hmac_sha1 hmac_sha256
hmac_sha512 hour human_readable_seconds if index infinity intersection_cardinality inverse_beta_cdf
inverse_normal_cdf is_finite is_infinite is_json_scalar is_nan jaccard_index json_array_contains
json_array_get json_array_length json_extract json_extract_scalar json_format json_parse json_size
kurtosis lag last_day_of_month last_value lead learn_classifier learn_libsvm_classifier
learn_libsvm_regressor learn_regressor least length levenshtein_distance line_interpolate_point
listagg ln localtime localtimestamp log log10 log2 lower lpad ltrim luhn_check make_set_digest map
map_agg map_concat map_entries map_filter map_from_entries map_keys map_union map_values
map_zip_with max max_by md5 merge merge_set_digest millisecond min min_by minute mod month
multimap_agg multimap_from_entries murmur3 nan none_match normal_cdf normalize now nth_value ntile
nullif numeric_histogram objectid parse_data_size parse_datetime parse_duration percent_rank pi position pow
power quarter radians rand random rank reduce reduce_agg regexp_count regexp_extract
regexp_extract_all regexp_like regexp_position regexp_replace regexp_split regr_intercept
regr_slope regress render repeat replace reverse rgb round row_number rpad rtrim second sequence
sha1 sha256 sha512 shuffle sign sin sinh skewness slice soundex spooky_hash_v2_32 spooky_hash_v2_64
split split_part split_to_map split_to_multimap starts_with stddev stddev_pop stddev_samp strpos
substr substring sum tan tanh timezone_hour timezone_minute to_base to_base32 to_base64
to_base64url to_big_endian_32 to_big_endian_64 to_char to_date to_encoded_polyline
to_geojson_geometry to_hex to_ieee754_32 to_ieee754_64 to_iso8601 to_milliseconds to_timestamp
to_unixtime to_utf8 transform transform_keys transform_values translate trim trim_array truncate
try typeof upper url_decode url_encode url_extract_fragment url_extract_host
url_extract_parameter url_extract_path url_extract_port url_extract_protocol url_extract_query
uuid value_at_quantile values_at_quantiles var_pop var_samp variance week week_of_year
width_bucket wilson_interval_lower wilson_interval_upper with_timezone word_stem xxhash64 year
year_of_week yow zip zip_with
""".split()) | {
    # Trino's hidden functions (not in SHOW FUNCTIONS, callable all the same)
    "fail",  # fail(message): FailureFunction, raises the message as the query's error
} | {
    # missing from the list above
    "sqrt",
}


class Raise(ErrorListener):
    def syntaxError(self, recognizer, offending, line, column, msg, e):
        raise SyntaxError(f"line {line}:{column}: {msg}")


def trino(sql):
    # Trino's lexer takes upper-case keywords only (its clients upper-case the text first, as
    # trino_query_parser.parse_statement does).
    lexer = SqlBaseLexer(InputStream(sql.upper()))
    lexer.removeErrorListeners()
    lexer.addErrorListener(Raise())
    parser = SqlBaseParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(Raise())
    tree = parser.singleStatement()
    unknown = sorted({f for f in functions(tree) if f not in TRINO_FUNCTIONS})
    if unknown:
        raise NameError(
            f"not a function of Athena's Trino engine: {', '.join(unknown)}"
        )


def functions(tree):
    """The names of the functions `tree` calls, lower case."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, SqlBaseParser.FunctionCallContext):
            yield node.qualifiedName().getText().lower().split(".")[-1]
        stack.extend(getattr(node, "children", None) or [])


def hive_ddl(sql):
    import sqlglot
    from sqlglot import exp

    trees = sqlglot.parse(sql, read="athena", error_level=sqlglot.ErrorLevel.RAISE)
    for tree in trees:
        if tree is None:
            continue
        for node in tree.walk():
            if isinstance(node, exp.Command):
                raise SyntaxError(f"sqlglot (athena) cannot parse it, only wraps it: {node.sql()[:80]}")


def check(sql):
    grammar = "hive-ddl" if HIVE_DDL.match(sql) else "trino"
    try:
        (hive_ddl if grammar == "hive-ddl" else trino)(sql)
        return {"grammar": grammar, "error": None}
    except Exception as e:  # every parser error is a verdict, reported with its statement
        message = str(e).split(" expecting {")[0]
        return {"grammar": grammar, "error": f"{type(e).__name__}: {message}"}


print(json.dumps([check(s) for s in json.load(sys.stdin)]))

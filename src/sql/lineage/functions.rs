//! What the engine knows about functions by name: which aggregate, which hash (masking), which
//! table functions generate rows from their arguments alone.

/// Aggregate functions of DuckDB and of Athena (Trino), lower case. A call of one of these
/// without `OVER` makes its select aggregated; with or without `OVER`, its arguments are read as
/// AGGREGATION. A call with `FILTER (WHERE ...)` or `WITHIN GROUP` is an aggregate whatever its
/// name (a user's aggregate macro, once rendered, is one of these).
const AGGREGATES: &[&str] = &[
    "any_value",
    "approx_count_distinct",
    "approx_distinct",
    "approx_most_frequent",
    "approx_percentile",
    "approx_quantile",
    "approx_set",
    "approx_top_k",
    "arbitrary",
    "arg_max",
    "arg_max_null",
    "arg_min",
    "arg_min_null",
    "argmax",
    "argmin",
    "array_agg",
    "avg",
    "bit_and",
    "bit_or",
    "bit_xor",
    "bitstring_agg",
    "bitwise_and_agg",
    "bitwise_or_agg",
    "bitwise_xor_agg",
    "bool_and",
    "bool_or",
    "checksum",
    "corr",
    "count",
    "count_if",
    "count_star",
    "countif",
    "covar_pop",
    "covar_samp",
    "entropy",
    "every",
    "favg",
    "first",
    "fsum",
    "geomean",
    "geometric_mean",
    "group_concat",
    "histogram",
    "histogram_exact",
    "json_group_array",
    "json_group_object",
    "json_group_structure",
    "kahan_sum",
    "kurtosis",
    "kurtosis_pop",
    "last",
    "list",
    "listagg",
    "mad",
    "map_agg",
    "max",
    "max_by",
    "mean",
    "median",
    "min",
    "min_by",
    "mode",
    "multimap_agg",
    "percentile_cont",
    "percentile_disc",
    "product",
    "quantile",
    "quantile_cont",
    "quantile_disc",
    "reduce_agg",
    "regr_avgx",
    "regr_avgy",
    "regr_count",
    "regr_intercept",
    "regr_r2",
    "regr_slope",
    "regr_sxx",
    "regr_sxy",
    "regr_syy",
    "reservoir_quantile",
    "sem",
    "set_agg",
    "set_union",
    "skewness",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "string_agg",
    "sum",
    "sum_no_overflow",
    "sumkahan",
    "var_pop",
    "var_samp",
    "variance",
    "weighted_avg",
];

/// Hash functions of DuckDB and Athena, lower case: a value that goes through one is masked.
/// [`super::Options::masking_functions`] adds a project's own (an HMAC macro that renders to a
/// function of its own name, a UDF).
const MASKING: &[&str] = &[
    "hash",
    "hmac_md5",
    "hmac_sha1",
    "hmac_sha256",
    "hmac_sha512",
    "md5",
    "md5_number",
    "md5_number_lower",
    "md5_number_upper",
    "murmur3",
    "sha1",
    "sha256",
    "sha512",
    "xxhash64",
];

/// Table functions that make rows from their arguments alone, with the name of the one column
/// they return (DuckDB's).
const GENERATORS: &[(&str, &str)] = &[
    ("generate_series", "generate_series"),
    ("range", "range"),
    ("unnest", "unnest"),
];

/// Keywords sqlparser reads as names but that are values (`select current_user`): a name that is
/// one of these and no column in scope reads nothing.
const NILADIC: &[&str] = &[
    "current_catalog",
    "current_role",
    "current_schema",
    "current_user",
    "session_user",
    "user",
];

/// `name` is lower case.
pub(crate) fn is_niladic(name: &str) -> bool {
    NILADIC.binary_search(&name).is_ok()
}

/// Columns a relation has without listing them: DuckDB's `rowid`, Athena's (Trino's) hidden
/// `$path`, `$file_size`, ... They read no upstream column.
pub(crate) fn is_pseudo_column(name: &str) -> bool {
    name.eq_ignore_ascii_case("rowid") || name.starts_with('$')
}

/// `name` is lower case.
pub(crate) fn is_aggregate(name: &str) -> bool {
    AGGREGATES.binary_search(&name).is_ok()
}

/// `name` is lower case.
pub(crate) fn is_masking(name: &str, extra: &[String]) -> bool {
    MASKING.binary_search(&name).is_ok() || extra.iter().any(|e| e.eq_ignore_ascii_case(name))
}

/// The column a generator table function returns; `name` is lower case.
pub(crate) fn generator_column(name: &str) -> Option<&'static str> {
    GENERATORS
        .iter()
        .find(|(function, _)| *function == name)
        .map(|(_, column)| *column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_for_binary_search() {
        assert!(AGGREGATES.windows(2).all(|w| w[0] < w[1]));
        assert!(MASKING.windows(2).all(|w| w[0] < w[1]));
        assert!(NILADIC.windows(2).all(|w| w[0] < w[1]));
        assert!(is_aggregate("sum") && is_aggregate("count") && !is_aggregate("row_number"));
        assert!(is_masking("sha256", &[]) && !is_masking("upper", &[]));
        assert!(is_masking("hash_pii", &["HASH_PII".to_string()]));
    }
}

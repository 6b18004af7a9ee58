# Shared by the bench scripts: builds kiln and the examples a benchmark needs, and sets BIN to
# the folder holding them.
#
#   source bench/lib.sh
#   bench_build PROFILE TARGET...     # PROFILE: release or dev; TARGETs: cargo flags (--bin kiln ...)
#
# release (the default of every script): an optimised build. DuckDB's bundled C++ takes over an
# hour to compile with optimisations on 2 cores, so by default the release build links DuckDB's
# official prebuilt library instead (the same DuckDB version, 1.5.5, with parquet, json and ICU
# built in), fetched once from the npm registry into $HOME/.cache/kiln/libduckdb (kiln's
# `--no-default-features`, see Cargo.toml). BENCH_BUNDLED=1 compiles the bundled C++ instead.
# dev: the dev profile (kiln unoptimised, its dependencies and DuckDB at opt-level 2).

LIBDUCKDB_VERSION=1.5.5-r.5

bench_libduckdb() {
    local dir="$HOME/.cache/kiln/libduckdb/$LIBDUCKDB_VERSION"
    if [ ! -f "$dir/package/libduckdb.so" ]; then
        mkdir -p "$dir" || return 1
        (cd "$dir" && npm pack --silent "@duckdb/node-bindings-linux-x64@$LIBDUCKDB_VERSION" >/dev/null &&
            tar xzf duckdb-node-bindings-linux-x64-*.tgz) || {
            echo "bench: could not fetch libduckdb $LIBDUCKDB_VERSION from npm (set BENCH_BUNDLED=1 to compile DuckDB instead)" >&2
            return 1
        }
    fi
    echo "$dir/package"
}

bench_build() {
    local profile="$1"; shift
    local td
    td="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')" || return 1
    if [ "$profile" = dev ]; then
        printf '==> cargo build %s\n' "$*" >&2
        cargo build "$@" || return 1
        BIN="$td/debug"
    elif [ "${BENCH_BUNDLED:-0}" = 1 ]; then
        printf '==> cargo build --release %s\n' "$*" >&2
        cargo build --release "$@" || return 1
        BIN="$td/release"
    else
        local lib
        lib="$(bench_libduckdb)" || return 1
        printf '==> cargo build --release --no-default-features %s (DuckDB from %s)\n' "$*" "$lib" >&2
        DUCKDB_LIB_DIR="$lib" cargo build --release --no-default-features "$@" || return 1
        export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        BIN="$td/release"
    fi
    export BIN
}

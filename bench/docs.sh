#!/usr/bin/env bash
# The docs site at scale (issue 15, "The docs site", speed). Run by hand, never from CI.
#
#   bash bench/docs.sh [MODELS]          # default 10000
#
# Generates the parse/compile benchmark's project (examples/gen_project.rs) with MODELS models,
# then measures:
#   1. `kiln docs generate --empty-catalog` (load, parse, compile, manifest, the site; no
#      catalog query) from a clean target/, `kiln docs generate --no-compile --empty-catalog`
#      (the site alone, from the manifest), and `kiln docs generate --empty-catalog` right after
#      a `kiln compile` (the lineage cache answers: the binder describes nothing, as the table
#      says), each BENCH_RUNS times (default 3), medians; with KILN_TIMINGS=1 the site-writing
#      stage on its own;
#      then `kiln compile` from a clean target/, once fresh and once right after an rm -rf;
#   2. in headless Chromium (bench/docs_browser.js: CDP over a pipe, Node's standard library):
#      the first usable view (index.html from file:// until the tree and overview are drawn),
#      opening a model page (its details shard loaded), a search as you type (input event to
#      results in the DOM), and the model's lineage neighbourhood (± 2 hops laid out, drawn, and
#      its details loaded), medians of 5 page loads;
#   3. dbt-core's docs on a copy of the same project: `dbt docs generate` (once; it takes
#      minutes), then its index.html served on 127.0.0.1 until the tree lists models, a search,
#      and the model's page.
#
# Environment: BENCH_OUT (default bench/out), BENCH_RUNS, BENCH_PROFILE (release or dev; default
# release), BENCH_DBT (dbt executable; unset or empty: no dbt comparison), KILN_CHROMIUM
# (default: chromium on the PATH), CARGO_TARGET_DIR (honoured).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
MODELS="${1:-10000}"
RUNS="${BENCH_RUNS:-3}"
PROFILE="${BENCH_PROFILE:-release}"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
DBT="${BENCH_DBT:-}"
mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)"
log() { printf '==> %s\n' "$*" >&2; }

CHROME="${KILN_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
[ -n "$CHROME" ] || { echo "docs.sh: no chromium (apt-get install chromium, or set KILN_CHROMIUM)" >&2; exit 1; }
command -v node >/dev/null || { echo "docs.sh: node is needed for the browser timings" >&2; exit 1; }

source "$ROOT/bench/lib.sh"
bench_build "$PROFILE" --bin kiln --example gen_project || exit 1
KILN="$BIN/kiln"

P="$OUT/docs_${MODELS}"
log "generating $P ($MODELS models)"
"$BIN/examples/gen_project" --models "$MODELS" --out "$P" >/dev/null || exit 1
KARGS=(--project-dir "$P" --profiles-dir "$P")

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() { # prints the wall seconds of "$@"
    /usr/bin/time -f '%e' -o "$OUT/time.txt" "$@" >"$OUT/docs-cmd.log" 2>&1 || { cat "$OUT/docs-cmd.log" >&2; return 1; }
    cat "$OUT/time.txt"
}

# A clean target/ is moved aside, not deleted, and the old ones are deleted at the end: this
# machine's ext4 skips inodes freed in the last minutes when it allocates new ones
# (`recently_deleted` in the kernel), which makes creating 21,000 files right after an `rm -rf`
# of as many take seconds more. That case is measured once, on its own ("right after rm -rf").
TRASH="$OUT/docs_trash"
rm -rf "$TRASH"; mkdir -p "$TRASH"
fresh_target() { [ -e "$P/target" ] && mv "$P/target" "$TRASH/$(date +%s%N)"; return 0; }
full=(); site=(); warm=()
for i in $(seq 1 "$RUNS"); do
    # From a clean target/ (every model's lineage read, every file created).
    fresh_target
    t="$(timed "$KILN" docs generate --empty-catalog --quiet "${KARGS[@]}")" || exit 1; full+=("$t")
    t="$(timed "$KILN" docs generate --no-compile --empty-catalog --quiet "${KARGS[@]}")" || exit 1; site+=("$t")
    # Right after a compile: the lineage cache in target/ answers, the binder describes nothing.
    "$KILN" compile --quiet "${KARGS[@]}" >/dev/null 2>&1 || exit 1
    t="$(timed "$KILN" docs generate --empty-catalog --quiet "${KARGS[@]}")" || exit 1; warm+=("$t")
    log "run $i: docs generate ${full[-1]} s (clean target/), ${warm[-1]} s (after a compile), --no-compile ${site[-1]} s"
done
# kiln compile from a clean target/: fresh (as a new clone has it), then right after an rm -rf.
fresh_target
compile_fresh="$(timed "$KILN" compile --quiet "${KARGS[@]}")" || exit 1
rm -rf "$P/target"
compile_rmrf="$(timed "$KILN" compile --quiet "${KARGS[@]}")" || exit 1
log "compile from a clean target/: $compile_fresh s fresh, $compile_rmrf s right after rm -rf"
rm -rf "$TRASH"
described="$("$KILN" docs generate --empty-catalog --debug "${KARGS[@]}" 2>&1 | grep -o 'Lineage: [0-9]* of [0-9]* models described by the binder.*' | head -1)"
stage="$(KILN_TIMINGS=1 "$KILN" docs generate --no-compile --empty-catalog --quiet "${KARGS[@]}" 2>&1 | awk '/write docs site/ {print $(NF-1)}')"
f="$(printf '%s\n' "${full[@]}" | median)"; s="$(printf '%s\n' "${site[@]}" | median)"; w="$(printf '%s\n' "${warm[@]}" | median)"
SITE="$P/target"
size_graph="$(du -k "$SITE/kiln-docs/graph.js" | cut -f1)"
size_search="$(du -k "$SITE/kiln-docs/search.js" | cut -f1)"
size_all="$(du -sk "$SITE/kiln-docs" | cut -f1)"
shards="$(ls "$SITE/kiln-docs/d" | wc -l)"

# The model to open: the mart with the most parents.
read -r NODE NAME < <(python3 - "$SITE/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
best = max((n for n in m["nodes"].values() if n["resource_type"] == "model"),
           key=lambda n: (len(n["depends_on"]["nodes"]), n["unique_id"]))
print(best["unique_id"], best["name"])
PY
)

DBT_SITE=""
dbt_gen="–"
if [ -n "$DBT" ]; then
    D="$OUT/docs_${MODELS}_dbt"
    rm -rf "$D" && cp -a "$P" "$D" && rm -rf "$D/target"
    log "dbt docs generate on $D (minutes)"
    if (cd "$D" && /usr/bin/time -f '%e' -o "$OUT/time.txt" "$DBT" docs generate --profiles-dir . >"$OUT/dbt-docs.log" 2>&1); then
        dbt_gen="$(cat "$OUT/time.txt")"; DBT_SITE="$D/target"
    else
        echo "docs.sh: dbt docs generate failed; see $OUT/dbt-docs.log" >&2
    fi
fi

log "browser timings ($CHROME), model $NODE"
json="$(node "$ROOT/bench/docs_browser.js" "$CHROME" "$SITE" "$NODE" "$NAME" $DBT_SITE)" || exit 1
echo "$json" > "$OUT/docs_browser_${MODELS}.json"
get() { python3 -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("–" if v is None else (f"{v:.0f}" if isinstance(v, (int, float)) else v))' "$json" "$1"; }

printf '\n%s models; site: graph.js %s KiB, search.js %s KiB, %s detail shards, %s KiB in all\n' "$MODELS" "$size_graph" "$size_search" "$shards" "$size_all"
printf '\n| %s models | kiln | dbt-core |\n|---|---|---|\n' "$MODELS"
printf '| docs generate, no catalog query (s) | %s (site alone, --no-compile: %s; writing the site: %s ms) | %s (with its catalog query) |\n' "$f" "$s" "$stage" "$dbt_gen"
printf '| docs generate right after a compile (s) | %s (%s) | – |\n' "$w" "$described"
printf '| compile from a clean target/ (s) | %s (right after rm -rf: %s) | – |\n' "$compile_fresh" "$compile_rmrf"
printf '| first usable view (ms) | %s (in-page: %s) | %s |\n' "$(get kiln.first_view_wall)" "$(get kiln.first_view)" "$(get dbt.first_view)"
printf '| open a model page (ms) | %s | %s |\n' "$(get kiln.node_page)" "$(get dbt.node_page)"
printf '| search as you type (ms) | %s (a column search: %s) | %s |\n' "$(get kiln.search)" "$(get kiln.column_search)" "$(get dbt.search)"
printf '| open the lineage neighbourhood, ± 2 hops (ms) | %s (%s nodes; expanding a node: %s) | – |\n' "$(get kiln.neighbourhood)" "$(get kiln.visible_nodes)" "$(get kiln.expand)"

#!/usr/bin/env bash
# `make coverage`: coverage of the RTL (rtl/) by the regression.
#
# 1. Builds every Verilator model of tritium-sim with --coverage (line,
#    toggle and the TRI_COVER points `*_C`; TRITIUM_SIM_COVERAGE=1, see
#    sim/build.rs) in a target directory of its own, target/coverage, so
#    that normal builds keep theirs.
# 2. Runs the RTL tests (tritium-sim: array, accelerator, INT8 and FP16
#    tests; tritium-rtl: lockstep co-simulation) and whole-network
#    co-simulations through the `tritium` binary (COSIM_RUNS below: both
#    weight formats, one and several token rows, starved memories, the
#    KV260 shape). Every model writes its counts into target/coverage/data
#    when it is dropped.
# 3. Merges them (scripts/coverage_report.py, verilator_coverage) into lcov
#    data, writes HTML reports (genhtml, Debian's lcov, installed when
#    missing) and prints and writes the figures (target/coverage/summary.json).
#
# Fails (exit 1) when a test or co-simulation fails, or below the floor:
# every cover point hit, >= 95 % of the RTL's line/branch lines hit.
#
# Outputs (target/coverage/): summary.json, cover_points.txt, line.info,
# toggle.info, merged.dat, html/ (lines), html-toggle/ (toggles),
# annotated/ (sources with counts), logs/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

t0=$(date +%s)
CARGO=${CARGO:-cargo}
OUT=target/coverage
DATA=$PWD/$OUT/data
LOGS=$OUT/logs

# Whole-network co-simulations of the tiny preset (arguments of `tritium
# cosim`), one per entry.
COSIM_RUNS=(
    ""
    "--weight-format 2bit --batch 1"
    "--weight-format 2bit --batch 3 --mem-bytes-per-cycle 2.5 --mem-latency 30"
    "--weight-format base3 --batch 2 --mem-bytes-per-cycle 0.75 --mem-latency 40"
    "--config kv260 --batch 5 -n 1"
)

scripts/install-deps.sh --coverage

rm -rf "$DATA" "$LOGS" "$OUT/html" "$OUT/html-toggle" "$OUT/annotated"
mkdir -p "$DATA" "$LOGS"
export CARGO_TARGET_DIR=$OUT TRITIUM_SIM_COVERAGE=1 TRITIUM_COV_DIR=$DATA

# step NAME CMD...: runs CMD (niced: the machine is shared), output to
# logs/NAME.log; on failure shows the log's tail and stops.
step() {
    local name=$1 t
    shift
    t=$(date +%s)
    if ! nice "$@" >"$LOGS/$name.log" 2>&1; then
        tail -n 40 "$LOGS/$name.log" >&2
        echo "coverage: step '$name' failed (log: $LOGS/$name.log)" >&2
        exit 1
    fi
    echo "coverage: $name done ($(($(date +%s) - t)) s)"
}

# One cargo invocation builds the RTL tests and the `tritium` binary (which
# the toolkit's integration tests need), so that the models are built once:
# separate invocations (`cargo test -p tritium-sim`, `cargo run`) resolve the
# build script's host dependencies differently and would build them again.
# The test executables and the binary are then run directly.
step build "$CARGO" test --release -p tritium-sim -p tritium-rtl -p tritium-toolkit --no-run \
    --message-format=json-render-diagnostics
python3 - "$LOGS/build.log" >"$LOGS/executables.txt" <<'PY'
import json, os, sys
for line in open(sys.argv[1], encoding="utf-8"):
    if not line.startswith("{"):
        continue
    m = json.loads(line)
    exe = m.get("executable") if m.get("reason") == "compiler-artifact" else None
    if not exe:
        continue
    name = m["package_id"].split("#")[-1].split("@")[0]
    if name not in ("tritium-sim", "tritium-rtl", "tritium-toolkit"):
        # Older cargo: "name version (source)".
        name = m["package_id"].split(" ")[0]
    kinds, test = m["target"]["kind"], m["profile"]["test"]
    if name in ("tritium-sim", "tritium-rtl") and test and ("lib" in kinds or "test" in kinds):
        print("test", os.path.dirname(m["manifest_path"]), exe)
    elif name == "tritium-toolkit" and "bin" in kinds and not test and m["target"]["name"] == "tritium":
        print("bin", ".", exe)
PY
BIN=$(awk '$1 == "bin" { print $3 }' "$LOGS/executables.txt")
if [ -z "$BIN" ] || ! grep -q '^test ' "$LOGS/executables.txt"; then
    echo "coverage: the build did not report the test executables and the tritium binary" >&2
    exit 1
fi

# The tests, as `cargo test` runs them (from the package's directory).
n=0
while read -r kind dir exe; do
    [ "$kind" = test ] || continue
    step "test$n-$(basename "$exe")" env -C "$dir" "$exe"
    n=$((n + 1))
done <"$LOGS/executables.txt"
i=0
for args in "${COSIM_RUNS[@]}"; do
    # shellcheck disable=SC2086 # the arguments are words
    step "cosim$i" "$BIN" cosim $args
    i=$((i + 1))
done

runs="the tests of tritium-sim and tritium-rtl (release build);"
for args in "${COSIM_RUNS[@]}"; do
    runs+=" tritium cosim ${args:-(defaults)};"
done
set +e
python3 scripts/coverage_report.py --data "$DATA" --out "$OUT" --runs "$runs" \
    --wall-seconds "$(($(date +%s) - t0))"
status=$?
set -e
[ "$status" -le 1 ] || exit "$status"

genhtml --quiet --title "tritium RTL: line coverage" --output-directory "$OUT/html" \
    "$OUT/line.info" >"$LOGS/genhtml.log" 2>&1 || { cat "$LOGS/genhtml.log" >&2; exit 1; }
genhtml --quiet --title "tritium RTL: toggle coverage" --output-directory "$OUT/html-toggle" \
    "$OUT/toggle.info" >"$LOGS/genhtml-toggle.log" 2>&1 || { cat "$LOGS/genhtml-toggle.log" >&2; exit 1; }
echo "coverage: HTML in $OUT/html/index.html (lines), $OUT/html-toggle/index.html (toggles);" \
    "$(($(date +%s) - t0)) s in all"
exit "$status"

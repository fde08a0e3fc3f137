#!/usr/bin/env bash
# Lint the RTL with Verilator (pinned: 5.006, Debian 12 `apt-get install verilator`)
# for the default and every supported parameter set, with and without the
# assertions elaborated (--assert). Any warning fails the script.
#
# The accelerator tri_accel is linted over the configurations tritium builds
# (ACCEL_CONFIGS of sim/src/configs.rs, pinned by a test in
# sim/tests/accel.rs) and edge cases (both formats, bus wider and narrower
# than a word, TMax 1 and > 1), and each of its parts on its own.
#
# The comparison RTL of the FPGA flow (fpga/) is linted the same way:
# int8_mac_array over the same parameter sets, int8_pe, and the FP16 PE with
# its two units (fp16_mac_pe, fp16_mul, fp16_add). mac_array_ctrl and
# mac_array_acc, the control and the accumulators both arrays share, are
# linted inside each of them and on their own. So is the place-and-route
# wrapper of the FPGA flow (fpga/pnr_wrap.sv, not in files.f), around each
# design it wraps.
#
# If yosys is installed (Debian 12: 0.23), also checks that the RTL is
# synthesizable by it and that tri_mac_array contains no multiplier
# ($mul/$macc/...), before and after technology-independent synthesis (and,
# as a control, that int8_mac_array does); the same for tri_accel in both
# weight formats (its decoders and counters included). Skipped (with a note) otherwise;
# pass --no-yosys to skip explicitly.
#
# The checks are independent: they run in parallel, as many at a time as
# there are cores (`nproc`; LINT_JOBS=N overrides), and their results are
# printed in the order below whatever order they finish in. Any failure
# fails the script.
#
# Run from anywhere: paths in rtl/files.f are relative to the repository root.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

use_yosys=1
for arg in "$@"; do
  case "$arg" in
    --no-yosys) use_yosys=0 ;;
    *) echo "usage: rtl/lint.sh [--no-yosys]" >&2; exit 2 ;;
  esac
done

command -v verilator >/dev/null || { echo "verilator not found (apt-get install verilator)" >&2; exit 1; }
echo "$(verilator --version)"

TOP=tri_mac_array
# "Cols Lanes KMax"; empty = the RTL defaults. The first five are the
# configurations tritium uses or tests; the last two exercise edge cases
# (sum tree wider than the accumulator; Lanes > KMax).
CONFIGS=("" "4 8 8192" "16 32 8192" "1 1 16" "3 5 100" "2 5 5" "1 8 2")

# The checks, queued by `run` and `yosys_check` and run by `run_queued`
# at the end: each is a shell command (its words quoted) that prints its
# own result and fails if the check fails.
QUEUE=()
queue() {
  QUEUE+=("$(printf '%q ' "$@")")
}
# check CMD...: clean if CMD succeeds without printing anything.
check() {
  local out
  if out=$("$@" 2>&1) && [[ -z "$out" ]]; then
    echo "clean: $*"
  else
    echo "FAIL:  $*"
    echo "$out"
    return 1
  fi
}
# check_yosys LABEL SCRIPT: clean if Yosys runs SCRIPT without a warning.
check_yosys() {
  local out
  if out=$(yosys -q -p "$2" 2>&1) && ! grep -qi "warning" <<<"$out"; then
    echo "clean: yosys $1"
  else
    echo "FAIL:  yosys $1"
    echo "$out"
    return 1
  fi
}
# run CMD...: queues `check CMD...`.
run() {
  queue check "$@"
}
# yosys_check LABEL SCRIPT: queues `check_yosys LABEL SCRIPT`, to be
# started before the Verilator checks: the synthesis runs are the longest
# (the 16x32 array alone ~60 s of CPU), and started last they would leave
# one core idle at the end.
LONG=()
yosys_check() {
  LONG+=("${#QUEUE[@]}")
  queue check_yosys "$@"
}
# run_queued: runs every queued check, JOBS at a time (the LONG ones
# first), each into its own output file with its exit status beside it;
# prints the outputs in queue order as soon as a check and all before it
# are done. Sets `fail` if any check failed (a missing status, e.g. a
# killed check, counts as failed).
JOBS=${LINT_JOBS:-$(nproc 2>/dev/null || echo 1)}
fail=0
run_queued() {
  local next=0 i
  results=$(mktemp -d)
  trap 'rm -rf "$results"' EXIT
  print_done() {
    while (( next < ${#QUEUE[@]} )) && [[ -e "$results/$next.rc" ]]; do
      cat "$results/$next.out"
      [[ $(<"$results/$next.rc") == 0 ]] || fail=1
      next=$((next + 1))
    done
  }
  local -A long=()
  for i in "${LONG[@]}"; do long[$i]=1; done
  local order=("${LONG[@]}")
  for i in "${!QUEUE[@]}"; do
    [[ -n "${long[$i]:-}" ]] || order+=("$i")
  done
  for i in "${order[@]}"; do
    while (( $(jobs -rp | wc -l) >= JOBS )); do
      wait -n || true
      print_done
    done
    (
      if eval "${QUEUE[i]}" >"$results/$i.out" 2>&1; then rc=0; else rc=1; fi
      # The status file last: its presence says the output is complete.
      echo "$rc" >"$results/$i.st" && mv "$results/$i.st" "$results/$i.rc"
    ) &
  done
  wait || true
  print_done
  if (( next < ${#QUEUE[@]} )); then
    echo "FAIL:  check $next (${QUEUE[next]}) left no status"
    fail=1
  fi
}
# lint TOP [GFLAGS...]: verilator -Wall with and without --assert.
lint() {
  local top=$1
  shift
  for assert in "" "--assert"; do
    run verilator --lint-only -Wall $assert "$@" -f rtl/files.f --top-module "$top" rtl/lint/waivers.vlt
  done
}

for top in "$TOP" int8_mac_array; do
  for cfg in "${CONFIGS[@]}"; do
    gflags=()
    if [[ -n "$cfg" ]]; then
      read -r c l k <<<"$cfg"
      gflags=(-GCols="$c" -GLanes="$l" -GKMax="$k")
    fi
    lint "$top" "${gflags[@]}"
  done
done
for top in mac_array_ctrl mac_array_acc int8_pe fp16_mac_pe fp16_mul fp16_add; do
  lint "$top"
done

# tri_accel: "Cols Lanes KMax TMax BusBytes Format WordBytes"; empty = the
# RTL defaults. First the four ACCEL_CONFIGS (acc2: 2-bit, 2 words per bus
# beat; acc3: base-3, 2 bus beats per word; kv260, kv260_2bit), then edge
# cases: everything 1; base-3 with codes past Cols*Lanes and 3 words per
# beat; 2-bit with a padding byte and 3 beats per word, TMax 1; 2-bit, one
# word per beat, a padding byte, TMax 3 (not a power of two).
ACCEL_CONFIGS=("" "4 5 128 4 10 0 5" "4 5 128 4 2 1 4" "64 5 8192 16 64 1 64"
               "64 4 8192 16 64 0 64" "1 1 16 1 1 0 1" "3 7 100 3 15 1 5"
               "2 3 64 1 1 0 3" "5 5 64 3 8 0 8")
accel_gflags() {
  read -r c l k t b f w <<<"$1"
  echo "-GCols=$c -GLanes=$l -GKMax=$k -GTMax=$t -GBusBytes=$b -GFormat=$f -GWordBytes=$w"
}
for cfg in "${ACCEL_CONFIGS[@]}"; do
  gflags=()
  if [[ -n "$cfg" ]]; then
    read -r -a gflags <<<"$(accel_gflags "$cfg")"
  fi
  lint tri_accel "${gflags[@]}"
done
# Its parts on their own: "TOP GFLAGS..." (defaults, then edge cases).
PARTS=("tri_fifo" "tri_fifo -GWidth=1 -GDepth=1" "tri_fifo -GWidth=9 -GDepth=3"
       "tri_ram_sdp" "tri_ram_sdp -GWidth=1 -GDepth=1" "tri_ram_sdp -GWidth=13 -GDepth=5"
       "tri_counter" "tri_dec_base3"
       "tri_wdec" "tri_wdec -GCols=3 -GLanes=7 -GFormat=1 -GWordBytes=6"
       "tri_wdec -GCols=1 -GLanes=1 -GFormat=0 -GWordBytes=1"
       "tri_wdec -GCols=2 -GLanes=3 -GFormat=0 -GWordBytes=3"
       "tri_accel_wfe"
       "tri_accel_wfe -GCols=2 -GLanes=3 -GFormat=0 -GBusBytes=1 -GWordBytes=3 -GBeatW=1"
       "tri_accel_wfe -GCols=3 -GLanes=7 -GFormat=1 -GBusBytes=15 -GWordBytes=5 -GBeatW=3"
       "tri_accel_acc" "tri_accel_acc -GCols=1 -GLanes=1 -GTMax=1 -GAccW=4 -GBeatW=1"
       "tri_accel_acc -GCols=2 -GLanes=8 -GTMax=3 -GAccW=6 -GBeatW=2")
for part in "${PARTS[@]}"; do
  read -r -a words <<<"$part"
  lint "${words[@]}"
done

# The P&R wrapper, "Design Cols Lanes KMax InW OutW" (Design 0: tri_mac_array,
# 1: int8_mac_array, 2: Cols*Lanes fp16_mac_pe). InW / OutW are what the FPGA
# flow passes (fpga/src/flow.rs, pnr_wrap_widths; its unit test pins these
# same values); a wrong one is a port width mismatch, i.e. a lint failure.
# First the flow's defaults (4x8 arrays, one FP16 unit), then other sizes.
# Without --assert: the wrapper only goes through Yosys (which defines
# SYNTHESIS), and the wrapped designs are linted with --assert above.
WRAPS=("0 4 8 8192 134 500" "1 4 8 8192 326 555" "2 1 1 8192 34 16"
       "0 2 4 8192 54 412" "1 2 4 8192 102 439" "2 2 4 8192 258 128"
       "0 1 1 16 16 350" "1 1 1 16 22 363" "0 16 32 8192 1286 1028")
for w in "${WRAPS[@]}"; do
  read -r d c l k i o <<<"$w"
  run verilator --lint-only -Wall -GDesign="$d" -GCols="$c" -GLanes="$l" -GKMax="$k" \
    -GInW="$i" -GOutW="$o" -f rtl/files.f fpga/pnr_wrap.sv --top-module pnr_wrap \
    rtl/lint/waivers.vlt
done

if [[ $use_yosys -eq 1 ]]; then
  if command -v yosys >/dev/null; then
    queue yosys -V
    files=$(tr '\n' ' ' < rtl/files.f)
    for cfg in "${CONFIGS[@]}"; do
      chparam=""
      if [[ -n "$cfg" ]]; then
        read -r c l k <<<"$cfg"
        chparam="-chparam Cols $c -chparam Lanes $l -chparam KMax $k"
      fi
      script="read_verilog -sv $files; hierarchy -check -top $TOP $chparam; proc; flatten; opt -fast;
              select -assert-none t:\$mul t:\$macc t:\$div t:\$mod t:\$divfloor t:\$modfloor t:\$pow;
              synth -top $TOP; select -assert-none t:\$mul t:\$macc t:\$_MUL*"
      yosys_check "synth, no multiplier [${cfg:-defaults}]" "$script"
    done
    # tri_accel in both formats (acc2, acc3 and an edge case). Parameters
    # are set with `chparam` before `hierarchy`: Yosys 0.23 fails an
    # internal assertion (rtlil.cc, modules_.count) on `hierarchy -chparam`
    # of this top, whose submodules are derived with several parameter sets.
    for cfg in "4 5 128 4 10 0 5" "4 5 128 4 2 1 4" "3 7 100 3 15 1 5"; do
      read -r c l k t b f w <<<"$cfg"
      chparam="chparam -set Cols $c -set Lanes $l -set KMax $k -set TMax $t -set BusBytes $b"
      chparam="$chparam -set Format $f -set WordBytes $w tri_accel"
      script="read_verilog -sv $files; $chparam; hierarchy -check -top tri_accel; proc; flatten;
              opt -fast; select -assert-none t:\$mul t:\$macc t:\$div t:\$mod t:\$divfloor t:\$modfloor t:\$pow;
              synth; select -assert-none t:\$mul t:\$macc t:\$_MUL*"
      yosys_check "synth tri_accel, no multiplier or divider [$cfg]" "$script"
    done
    # Control: the same check finds the INT8 array's multipliers.
    script="read_verilog -sv $files; hierarchy -check -top int8_mac_array -chparam Cols 2 -chparam Lanes 4;
            proc; flatten; opt -fast; select -assert-min 8 t:\$mul"
    yosys_check "finds the 8 multipliers of int8_mac_array 2x4" "$script"
  else
    queue echo "note: yosys not installed, synthesis check skipped"
  fi
fi

run_queued
if [[ $fail -ne 0 ]]; then
  echo "lint: FAILED" >&2
  exit 1
fi
echo "lint: all clean"

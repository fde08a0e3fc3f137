#!/usr/bin/env bash
# Lint the RTL with Verilator (pinned: 5.006, Debian 12 `apt-get install verilator`)
# for the default and every supported parameter set, with and without the
# assertions elaborated (--assert). Any warning fails the script.
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
# as a control, that int8_mac_array does). Skipped (with a note) otherwise;
# pass --no-yosys to skip explicitly.
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

fail=0
# run CMD...: clean if it succeeds without printing anything.
run() {
  if out=$("$@" 2>&1) && [[ -z "$out" ]]; then
    echo "clean: $*"
  else
    echo "FAIL:  $*"
    echo "$out"
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
    echo "$(yosys -V)"
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
      if out=$(yosys -q -p "$script" 2>&1) && ! grep -qi "warning" <<<"$out"; then
        echo "clean: yosys synth, no multiplier [${cfg:-defaults}]"
      else
        echo "FAIL:  yosys [${cfg:-defaults}]"
        echo "$out"
        fail=1
      fi
    done
    # Control: the same check finds the INT8 array's multipliers.
    script="read_verilog -sv $files; hierarchy -check -top int8_mac_array -chparam Cols 2 -chparam Lanes 4;
            proc; flatten; opt -fast; select -assert-min 8 t:\$mul"
    if out=$(yosys -q -p "$script" 2>&1) && ! grep -qi "warning" <<<"$out"; then
      echo "clean: yosys finds the 8 multipliers of int8_mac_array 2x4"
    else
      echo "FAIL:  yosys [int8_mac_array 2x4 multipliers]"
      echo "$out"
      fail=1
    fi
  else
    echo "note: yosys not installed, synthesis check skipped"
  fi
fi

if [[ $fail -ne 0 ]]; then
  echo "lint: FAILED" >&2
  exit 1
fi
echo "lint: all clean"

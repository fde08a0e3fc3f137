#!/usr/bin/env python3
"""tritium against llama.cpp and ik_llama.cpp on the same GGUF files, in one run.

`make bench-peers` (opt-in, not in CI) runs this with the interpreter of
target/peers-venv, where scripts/install-peers.sh put PyPI's
`llama-cpp-python` and `ik-llama-cpp-python` (both build their engine from
source with -DGGML_NATIVE=ON).

Each format goes to the engine it belongs to:
- tq2, tq1: llama.cpp's TQ2_0 and TQ1_0, written by `tritium gen-model`
  under llama.cpp's `bitnet` architecture;
- iq2bn, iq1bn: ik_llama.cpp's IQ2_BN and IQ1_BN, written by `tritium
  gen-model` (`bitnet-b1.58`, F16 embedding);
- iq2bn-q6k: IQ2_BN with a Q6_K embedding and head, written by
  ik_llama.cpp's own `llama-quantize` from tritium's I2_S file (the layout
  of microsoft's 2B4T GGUF, which neither peer computes): ik_llama.cpp's
  fastest ternary setup.
For each format and each round, interleaved: `tritium bench --model FILE`
(memory read bandwidth of the same run, whole-model prefill, exact decode,
decode with the approximate `--fast-head` (int8 input, as the peers) and
`--fast-head int4`, the exact and int4 ones also from the lossless base-3
body, `--body base3`) and then the peer on the same file
(scripts/peer_round.py in its own process: prefill of the same prompt as
one batch, then single-token decode steps). Both time the prefill as the
fastest of three whole-prompt forwards from an empty context (the first
pays one-time costs). Medians and ranges over the rounds; ratios tritium /
peer.

Page cache: each file is read once before the rounds, so the peer (which
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_files  # noqa: E402


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
    int8 = by_name["q8head"]
    # The same modes decoding from the lossless base-3 body (--body base3).
    exact_b3 = by_name["b3body"]
    int4_b3 = by_name["q4head-b3body"]
    bw = next(b["read_gb_s"] for b in r["bandwidth"] if b["threads"] == threads)
    return {
        "prefill": exact["prefill_tok_s"],
        "decode": exact["decode_tok_s"],
        "bytes_per_token": exact["bytes_per_token"],
        # --fast-head (int8): the head from an int8 input, as the peers
        # compute theirs (a Q6_K head from its stored blocks).
        "decode_int8_head": int8["decode_tok_s"],
        "int8_bytes_per_token": int8["bytes_per_token"],
        "int8_fraction_of_floor": int8["decode_fraction_of_floor"],
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


# format -> the engine it belongs to
FORMATS = peer_files.ENGINE


def summary(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tritium", default="target/release/tritium",
                    help="the tritium binary (default: %(default)s)")
    ap.add_argument("--preset", default="2b4t", choices=["2b4t", "tiny256"],
                    help="model shape written by gen-model (default: %(default)s)")
    ap.add_argument("--formats", default=",".join(FORMATS),
                    help="comma-separated, from: " + ", ".join(FORMATS) + " (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default: 3)")
    ap.add_argument("--threads", type=int, default=2, help="threads of both engines (default: 2)")
    ap.add_argument("--prompt", type=int, default=128, help="prompt tokens (default: 128)")
    ap.add_argument("--gen", type=int, default=32, help="decode steps timed (default: 32)")
    ap.add_argument("--dir", default="target/peers", help="where the GGUF files go (default: %(default)s)")
    ap.add_argument("--no-ik-repack", dest="ik_repack", action="store_false",
                    help="time ik_llama.cpp only as it loads by default, not also with its "
                         "run-time repacking (-rtr)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args()
    for name, v, hi in [("--rounds", a.rounds, 100), ("--threads", a.threads, 256),
                        ("--prompt", a.prompt, 4096), ("--gen", a.gen, 4096)]:
        if not 1 <= v <= hi:
            ap.error(f"{name} {v}: expected 1..={hi}")
    formats = [f.strip() for f in a.formats.split(",") if f.strip()]
    for f in formats:
        if f not in FORMATS:
            ap.error(f"--formats: unknown format `{f}` ({', '.join(FORMATS)})")
    ik = [f for f in formats if FORMATS[f] == "ik_llama.cpp"]
    if a.preset != "2b4t" and ik:
        ap.error(f"--formats {','.join(ik)}: ik_llama.cpp computes ternary rows of at least "
                 f"512 values only (it aborts on --preset {a.preset}); use --preset 2b4t "
                 f"or --formats tq2,tq1")
    if not os.access(a.tritium, os.X_OK):
        ap.error(f"--tritium {a.tritium}: not an executable (cargo build --release first)")
    os.makedirs(a.dir, exist_ok=True)

    vocab = 128256 if a.preset == "2b4t" else 512
    prompt_ids = [(i * 7919 + 13) % vocab for i in range(a.prompt)]
    results = {}
    for f in formats:
        engine = FORMATS[f]
        # ik_llama.cpp runs as it loads by default and with its run-time
        # repacking (-rtr); the faster of the two (median decode) is the peer.
        variants = [engine] + ([engine + "-rtr"] if engine == "ik_llama.cpp" and a.ik_repack else [])
        path = peer_files.ensure(a.tritium, a.preset, f, a.dir, log)
        warm(path)
        t, p = [], {v: [] for v in variants}
        for r in range(a.rounds):
            log(f"{f} round {r + 1}/{a.rounds}: tritium")
            t.append(tritium_round(a.tritium, path, a.threads, a.prompt, a.gen))
            for v in variants:
                log(f"{f} round {r + 1}/{a.rounds}: {v}")
                p[v].append(peer_files.run_peer(v, path, a.threads, prompt_ids, a.gen))
        peers = {v: {k: summary([x[k] for x in p[v]]) for k in ("prefill", "decode")} for v in p}
        best = max(peers, key=lambda v: peers[v]["decode"]["median"])
        results[f] = {
            "file": path,
            "file_bytes": os.path.getsize(path),
            "engine": best,
            "tritium_bytes_per_token": t[0]["bytes_per_token"],
            "bandwidth_gb_s": summary([x["bandwidth_gb_s"] for x in t]),
            "tritium_int4_bytes_per_token": t[0]["int4_bytes_per_token"],
            "tritium": {k: summary([x[k] for x in t])
                        for k in ("prefill", "decode", "decode_int8_head", "int8_fraction_of_floor",
                                  "decode_int4_head", "int4_fraction_of_floor",
                                  "decode_b3", "b3_fraction_of_floor", "decode_int4_b3",
                                  "int4_b3_fraction_of_floor")},
            "tritium_int4_b3_bytes_per_token": t[0]["int4_b3_bytes_per_token"],
            "tritium_int8_bytes_per_token": t[0]["int8_bytes_per_token"],
            "peer": peers[best],
            "peer_variants": peers,
            "ratio": {k: summary([x[k] / y[k] for x, y in zip(t, p[best])])
                      for k in ("prefill", "decode")},
        }
        for k in ("decode_int8_head", "decode_int4_head", "decode_b3", "decode_int4_b3"):
            results[f]["ratio"][k] = summary([x[k] / y["decode"] for x, y in zip(t, p[best])])
    fastest = {k: max(results, key=lambda f: results[f]["peer"][k]["median"])
               for k in ("prefill", "decode")}
    if a.json:
        print(json.dumps({"preset": a.preset, "threads": a.threads, "prompt": a.prompt,
                          "gen": a.gen, "rounds": a.rounds, "page_cache": "warm",
                          "formats": results, "fastest_peer": fastest}, indent=2))
        return
    print(f"{a.preset}, {a.threads} threads, {a.prompt}-token prompt, {a.gen} decode steps, "
          f"{a.rounds} interleaved rounds (median [min-max]); files warm in the page cache")
    for f, r in results.items():
        bw = r["bandwidth_gb_s"]["median"]
        others = ", ".join(f"{v} {x['decode']['median']:.2f}" for v, x in r["peer_variants"].items()
                           if v != r["engine"])
        print(f"\n{f}: {r['file']} ({r['file_bytes'] / 1e6:.1f} MB; tritium reads "
              f"{r['tritium_bytes_per_token'] / 1e6:.1f} MB/token); read bandwidth {bw:.1f} GB/s "
              f"(decode floor of the file's bytes {bw * 1e9 / r['file_bytes']:.2f} tok/s)")
        if others:
            print(f"  (peer: {r['engine']}, the faster decode; also timed: {others} tok/s decode)")
        for k, peer in (("prefill", "prefill"), ("decode", "decode"), ("decode_b3", "decode"),
                        ("decode_int8_head", "decode"), ("decode_int4_head", "decode"),
                        ("decode_int4_b3", "decode")):
            tt, ll, q = r["tritium"][k], r["peer"][peer], r["ratio"][k]
            print(f"  {k:<16} tritium {tt['median']:8.2f} [{tt['min']:.2f}-{tt['max']:.2f}]  "
                  f"{r['engine']} {ll['median']:8.2f} [{ll['min']:.2f}-{ll['max']:.2f}]  "
                  f"ratio {q['median']:.2f}x [{q['min']:.2f}-{q['max']:.2f}]")
        fl = r["tritium"]["int8_fraction_of_floor"]
        print(f"  (decode_int8_head: tritium --fast-head, the head from an int8 input as the "
              f"peers compute it (a Q6_K head from its blocks), reads "
              f"{r['tritium_int8_bytes_per_token'] / 1e6:.1f} MB/token at "
              f"{100 * fl['median']:.0f} % [{100 * fl['min']:.0f}-{100 * fl['max']:.0f}] of its floor)")
        fl = r["tritium"]["int4_fraction_of_floor"]
        print(f"  (decode_int4_head: tritium --fast-head int4, approximate logits, reads "
              f"{r['tritium_int4_bytes_per_token'] / 1e6:.1f} MB/token at "
              f"{100 * fl['median']:.0f} % [{100 * fl['min']:.0f}-{100 * fl['max']:.0f}] of its floor)")
        fl = r["tritium"]["int4_b3_fraction_of_floor"]
        print(f"  (decode_b3: exact logits from the base-3 body, --body base3; decode_int4_b3: "
              f"both, {r['tritium_int4_b3_bytes_per_token'] / 1e6:.1f} MB/token at "
              f"{100 * fl['median']:.0f} % [{100 * fl['min']:.0f}-{100 * fl['max']:.0f}] of its floor)")
    print()
    for k, f in fastest.items():
        r = results[f]
        print(f"fastest peer {k}: {r['engine']} on {f}, {r['peer'][k]['median']:.2f} tok/s")
    best = results[fastest["decode"]]["peer"]["decode"]["median"]
    for k in ("decode", "decode_b3", "decode_int8_head", "decode_int4_head", "decode_int4_b3"):
        f = max(results, key=lambda f: results[f]["tritium"][k]["median"])
        print(f"  tritium {k:<16} best on {f}: {results[f]['tritium'][k]['median']:.2f} tok/s "
              f"= {results[f]['tritium'][k]['median'] / best:.2f}x the fastest peer decode")


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)

#!/usr/bin/env python3
"""Files both ways, checked by the peer engines themselves.

`make check-peers` (opt-in, not in CI: it needs the peers that
scripts/install-peers.sh builds) runs this with the interpreter of
target/peers-venv, on the synthetic 2B4T-shaped model (ik_llama.cpp
computes ternary rows of at least 512 values only), with the files of
scripts/peer_files.py (shared with bench-peers.py: written once into
target/peers):

1. tritium -> peer. For each format, `tritium gen-model` writes the file
   and the engine it belongs to loads it: TQ2_0 and TQ1_0 in llama.cpp
   (architecture `bitnet`), IQ2_BN and IQ1_BN in ik_llama.cpp
   (`bitnet-b1.58`). ik_llama.cpp computes the b1.58-2B-4T graph (relu²
   FFN), so its logits after the prompt are compared with `tritium infer
   --logits` on the same file. The engines quantize activations
   differently (tritium per token, as the golden model and BitNet;
   ik_llama.cpp per block of 64), so this comparison has a tolerance:
   cosine similarity and the largest difference relative to the largest
   logit. llama.cpp has no b1.58-2B-4T graph: its `bitnet` architecture is
   the earlier BitNet 3B's, with a SiLU-gated FFN, so it computes another
   function of the same weights; there the check is that it loads the
   file and computes finite, non-constant logits (their cosine with
   tritium's is printed for information).
2. peer -> tritium. ik_llama.cpp's own `llama-quantize` converts
   tritium's I2_S file to IQ2_BN and IQ1_BN (the embedding kept in F16),
   and once more to IQ2_BN with a Q6_K embedding (its usual head). tritium
   reads each. Every tensor of the first two must be byte for byte the one
   tritium's own IQ2_BN / IQ1_BN writer wrote (the quantizer sets a row's
   scale to its max |w|, exactly as tritium does), and so must the logits,
   with `==`. The Q6_K file is compared with ik_llama.cpp's logits on it,
   with the tolerance of part 1.

Exits 1 when a check fails, printing every result first.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_files  # noqa: E402

# Agreement of two implementations that quantize activations differently.
# Measured on the synthetic 2B4T (logits of standard deviation about 1):
# cosine 0.993-0.996, largest difference 9-13 % of the largest logit.
MIN_COSINE = 0.99
MAX_REL_DIFF = 0.2
PRESET = "2b4t"


def log(msg):
    print(f"check-peers: {msg}", file=sys.stderr, flush=True)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return r.stdout


def tritium_logits(tritium, path, ids, work):
    out = os.path.join(work, os.path.basename(path) + ".tritium.json")
    run([tritium, "infer", "--model", path, "--tokens", ",".join(map(str, ids)),
         "-n", "1", "--logits", out, "--force", "--json"])
    with open(out) as f:
        rows = json.load(f)
    return np.array(rows[len(ids) - 1], dtype=np.float32)


def peer_logits(engine, path, ids, threads, work):
    out = os.path.join(work, os.path.basename(path) + f".{engine}.f32")
    peer_files.run_peer(engine, path, threads, ids, logits=out)
    return np.fromfile(out, dtype="<f4")


def compare(a, b):
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    rel = float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-30))
    return {"cosine": cos, "max_rel_diff": rel, "same_argmax": int(a.argmax()) == int(b.argmax()),
            "ok": cos >= MIN_COSINE and rel <= MAX_REL_DIFF}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tritium", default="target/release/tritium",
                    help="the tritium binary (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=2, help="threads of the engines (default: 2)")
    ap.add_argument("--prompt", type=int, default=16, help="prompt tokens (default: 16)")
    ap.add_argument("--dir", default="target/peers",
                    help="where the GGUF files are (written when missing; default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args()
    if not 1 <= a.threads <= 256:
        ap.error(f"--threads {a.threads}: expected 1..=256")
    if not 1 <= a.prompt <= 512:
        ap.error(f"--prompt {a.prompt}: expected 1..=512")
    if not os.access(a.tritium, os.X_OK):
        ap.error(f"--tritium {a.tritium}: not an executable (cargo build --release first)")
    with tempfile.TemporaryDirectory() as work:
        results = check(a, work)
    failed = [r for r in results if not r["ok"]]
    if a.json:
        print(json.dumps({"preset": PRESET, "prompt": a.prompt, "min_cosine": MIN_COSINE,
                          "max_rel_diff": MAX_REL_DIFF, "checks": results}, indent=2))
    else:
        print(f"{PRESET}, {a.prompt}-token prompt; tolerance where ik_llama.cpp and tritium are compared: "
              f"cosine >= {MIN_COSINE}, max |diff| <= {MAX_REL_DIFF} x max |logit|")
        for r in results:
            how = ("== " + ("holds" if r["ok"] else "FAILS")) if r["kind"] == "exact" else (
                ("finite logits" if r["ok"] else "FAILS: logits not finite or constant")
                + f" (cosine with tritium's {r['cosine']:.3f}: another graph)"
            ) if r["kind"] == "runs" else (
                f"cosine {r['cosine']:.6f}, max rel diff {r['max_rel_diff']:.4f}, "
                f"argmax {'same' if r['same_argmax'] else 'differs'}"
                f"{'' if r['ok'] else '  FAILS'}")
            print(f"  {r['check']:<58} {how}")
    sys.exit(1 if failed else 0)


def same_tensors(x, y):
    """Whether two GGUF files hold the same tensors (names, dims, types),
    byte for byte."""
    tx, ty = gguf_tensors(x), gguf_tensors(y)

    def same(p, q):
        # A tensor's span runs to the next one; past its data is alignment
        # padding, zeros.
        (dp, tp, bp), (dq, tq, bq) = p, q
        n = min(len(bp), len(bq))
        return (dp, tp) == (dq, tq) and bp[:n] == bq[:n] and not any(bp[n:]) and not any(bq[n:])

    return tx.keys() == ty.keys() and all(same(tx[n], ty[n]) for n in tx)


def gguf_tensors(path):
    """name -> (dims, type, bytes) of a GGUF v2/v3 file. (llama.cpp's `gguf`
    package, which scripts/gguf_crosscheck.py uses, refuses the ik_llama.cpp
    type ids 134 and 135.)"""
    import struct

    with open(path, "rb") as f:
        b = f.read()
    o = 0

    def u(fmt):
        nonlocal o
        v = struct.unpack_from("<" + fmt, b, o)[0]
        o += struct.calcsize("<" + fmt)
        return v

    def s():
        nonlocal o
        n = u("Q")
        o += n
        return b[o - n:o].decode()

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?",
              10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return s()
        if t == 9:
            et, n = u("I"), u("Q")
            return [value(et) for _ in range(n)]
        return u(scalar[t])

    if b[:4] != b"GGUF":
        raise RuntimeError(f"{path}: not a GGUF file")
    o = 4
    _, nt, nkv = u("I"), u("Q"), u("Q")
    kv = {}
    for _ in range(nkv):
        k = s()
        kv[k] = value(u("I"))
    infos = []
    for _ in range(nt):
        name = s()
        dims = [u("Q") for _ in range(u("I"))]
        infos.append((name, dims, u("I"), u("Q")))
    align = kv.get("general.alignment", 32)
    start = (o + align - 1) // align * align
    ends = sorted({off for *_, off in infos} | {len(b) - start})
    out = {}
    for name, dims, t, off in infos:
        end = next(e for e in ends if e > off)
        out[name] = (dims, t, b[start + off:start + end])
    return out


def check(a, work):
    ids = [(i * 7919 + 13) % 128256 for i in range(a.prompt)]
    files = {f: peer_files.ensure(a.tritium, PRESET, f, a.dir, log) for f in peer_files.FILES}
    logits = {}
    for f, p in files.items():
        log(f"tritium logits: {p}")
        logits[f] = tritium_logits(a.tritium, p, ids, work)
    results = []
    for f, engine in peer_files.ENGINE.items():
        log(f"{f}: {engine}")
        theirs = peer_logits(engine, files[f], ids, a.threads, work)
        r = compare(logits[f], theirs)
        who = "ik_llama.cpp's" if peer_files.FILES[f][0] == "ik" else "tritium's"
        if engine == "llama.cpp":
            r["ok"] = bool(np.isfinite(theirs).all() and theirs.std() > 0)
            results.append({"check": f"{who} {f} file runs in {engine} (SiLU graph)",
                            "kind": "runs", "file": files[f], **r})
        else:
            results.append({"check": f"{who} {f} file: tritium vs {engine}",
                            "kind": "tolerance", "file": files[f], **r})
    for ik, mine in (("ik-iq2bn", "iq2bn"), ("ik-iq1bn", "iq1bn")):
        same = same_tensors(files[ik], files[mine])
        results.append({"check": f"ik_llama.cpp's {ik[3:]} tensors == tritium's", "kind": "exact",
                        "file": files[ik], "ok": same})
        eq = bool(np.array_equal(logits[ik].view(np.uint32), logits[mine].view(np.uint32)))
        results.append({"check": f"tritium logits: ik_llama.cpp's {ik[3:]} file == its own",
                        "kind": "exact", "file": files[ik], "ok": eq})
    return results


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)

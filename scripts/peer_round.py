#!/usr/bin/env python3
"""One measurement of a peer engine on one GGUF file, printed as JSON.

Run by scripts/bench-peers.py and scripts/check-peers.py with the
interpreter of target/peers-venv, one process per round, so that
llama.cpp (PyPI's `llama-cpp-python`) and ik_llama.cpp (PyPI's
`ik-llama-cpp-python`) never share a process: both bring a `libllama` and
a `libggml` with the same symbols.

Timing (`--gen` > 0): the prefill is the fastest of PREFILL_RUNS
whole-prompt forwards from an empty context as one batch (the first pays
one-time costs), then `--gen` single-token decode steps. `--logits FILE`
also writes the logits after the last prompt token (f32, little endian),
which check-peers.py compares with tritium's. Engine `ik_llama.cpp-rtr`
is ik_llama.cpp with its run-time repacking of the weights (`-rtr`).
"""

import argparse
import json
import sys
import time

PREFILL_RUNS = 3


class LlamaCpp:
    """llama.cpp through llama-cpp-python's high-level `Llama`."""

    def __init__(self, path, threads, n_ctx, n_batch):
        from llama_cpp import Llama

        self.llm = Llama(model_path=path, n_threads=threads, n_threads_batch=threads,
                         n_ctx=n_ctx, n_batch=n_batch, n_ubatch=n_batch,
                         logits_all=False, verbose=False)

    def n_vocab(self):
        return self.llm.n_vocab()

    def reset(self):
        self.llm.reset()

    def prompt(self, ids):
        self.llm.eval(ids)

    def step(self, tok):
        self.llm.eval([tok])

    def logits(self):
        import numpy as np

        # With logits_all off, Llama.eval keeps no scores: read the
        # context's logits of the last evaluated position.
        p = self.llm._ctx.get_logits_ith(-1)
        return np.ctypeslib.as_array(p, shape=(self.n_vocab(),)).astype(np.float32)


class IkLlamaCpp:
    """ik_llama.cpp through ik-llama-cpp-python's context and batch helpers
    (its `IkLlama` only offers whole generations). Flash attention as
    `IkLlama` sets it: off where the CPU lacks AVX-VNNI, where the package
    documents assertion failures in ik_llama.cpp's CPU kernels."""

    def __init__(self, path, threads, n_ctx, n_batch, repack=False):
        from ik_llama_cpp import IkLlama
        from ik_llama_cpp import _internals as internals

        del n_batch  # the package sets n_batch = n_ctx; n_ubatch stays 512
        self.I = internals
        if repack:
            # ik_llama.cpp's run-time repacking (`-rtr` of its tools: IQ2_BN
            # rows interleaved as IQ2_BN_R4 at load; needs the file read,
            # not mapped). The package has no option for it, so its model
            # parameters are set where it asks for the defaults.
            default = internals.C.llama_model_default_params

            def params():
                p = default()
                p.repack_tensors = True
                p.use_mmap = False
                return p

            internals.C.llama_model_default_params = params
        self.llm = IkLlama(path, n_ctx=n_ctx, n_threads=threads, verbose=False)
        self.ctx = self.llm._context
        self.pos = 0

    def n_vocab(self):
        return self.llm._model.n_vocab

    def reset(self):
        self.ctx.kv_cache_clear()
        self.pos = 0

    def _decode(self, batch, n):
        ret = self.ctx.decode(batch)
        self.I.C.llama_batch_free(batch)
        if ret != 0:
            raise RuntimeError(f"llama_decode returned {ret}")
        self.pos += n

    def prompt(self, ids):
        self._decode(self.I.make_batch_range(ids, pos_start=self.pos), len(ids))

    def step(self, tok):
        self._decode(self.I.make_batch_single(tok, self.pos), 1)

    def logits(self):
        import numpy as np

        p = self.ctx.get_logits(-1)
        return np.ctypeslib.as_array(p, shape=(self.n_vocab(),)).astype(np.float32)


ENGINES = {
    "llama.cpp": LlamaCpp,
    "ik_llama.cpp": IkLlamaCpp,
    "ik_llama.cpp-rtr": lambda *a: IkLlamaCpp(*a, repack=True),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", required=True, choices=sorted(ENGINES))
    ap.add_argument("--model", required=True, help="the GGUF file")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", required=True, help="comma-separated prompt token ids")
    ap.add_argument("--gen", type=int, default=0, help="decode steps timed (0: no timing)")
    ap.add_argument("--logits", help="write the last prompt position's logits here (f32 LE)")
    a = ap.parse_args()
    try:
        ids = [int(t) for t in a.tokens.split(",") if t.strip()]
    except ValueError:
        ap.error(f"--tokens {a.tokens!r}: expected comma-separated integers")
    if not ids:
        ap.error("--tokens: no token ids")
    if min(ids) < 0:
        ap.error(f"--tokens: id {min(ids)} is negative")
    if not 1 <= a.threads <= 256:
        ap.error(f"--threads {a.threads}: expected 1..=256")
    if not 0 <= a.gen <= 4096:
        ap.error(f"--gen {a.gen}: expected 0..=4096")
    eng = ENGINES[a.engine](a.model, a.threads, len(ids) + a.gen + 8, len(ids))
    vocab = eng.n_vocab()
    if max(ids) >= vocab:
        ap.error(f"--tokens: id {max(ids)} is past the vocabulary ({vocab})")
    out = {"engine": a.engine, "model": a.model}
    if a.gen:
        prefill = 0.0
        for _ in range(PREFILL_RUNS):
            eng.reset()
            t = time.perf_counter()
            eng.prompt(ids)
            prefill = max(prefill, len(ids) / (time.perf_counter() - t))
        tok = ids[-1]
        t = time.perf_counter()
        for i in range(a.gen):
            eng.step((tok * 31 + 5 + i) % vocab)
        out["prefill"] = prefill
        out["decode"] = a.gen / (time.perf_counter() - t)
    if a.logits:
        eng.reset()
        eng.prompt(ids)
        eng.logits().astype("<f4").tofile(a.logits)
        out["logits"] = a.logits
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)

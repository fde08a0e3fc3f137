"""What scripts/bench-peers.py and scripts/check-peers.py share: the GGUF
files, the engine each format belongs to, and running a peer round.

Each is written once into a directory (target/peers by default) and
reused: by `tritium gen-model`, or by ik_llama.cpp's own `llama-quantize`
from tritium's I2_S file (the layout of microsoft's 2B4T GGUF, which
neither peer computes; ik_llama.cpp converts it). A file is written under
a temporary name and renamed, so an interrupted run leaves no half file.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> ("gen", gen-model format) or ("ik", target type, embedding type)
FILES = {
    "i2s": ("gen", "gguf-i2s"),
    "tq2": ("gen", "gguf-tq2"),
    "tq1": ("gen", "gguf-tq1"),
    "iq2bn": ("gen", "gguf-iq2bn"),
    "iq1bn": ("gen", "gguf-iq1bn"),
    "ik-iq2bn": ("ik", "IQ2_BN", "f16"),
    "ik-iq1bn": ("ik", "IQ1_BN", "f16"),
    "iq2bn-q6k": ("ik", "IQ2_BN", "q6_k"),
}


# file -> the peer engine that computes it (scripts/peer_round.py --engine)
ENGINE = {
    "tq2": "llama.cpp",
    "tq1": "llama.cpp",
    "iq2bn": "ik_llama.cpp",
    "iq1bn": "ik_llama.cpp",
    "iq2bn-q6k": "ik_llama.cpp",
}


def run_peer(engine, path, threads, ids, gen=0, logits=None):
    """scripts/peer_round.py in its own process (see there); its JSON."""
    cmd = [sys.executable, os.path.join(HERE, "peer_round.py"), "--engine", engine,
           "--model", path, "--threads", str(threads), "--tokens", ",".join(map(str, ids)),
           "--gen", str(gen)]
    if logits:
        cmd += ["--logits", logits]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{engine} on {path} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return json.loads(r.stdout)


def quantize_bin():
    """ik_llama.cpp's llama-quantize, as scripts/install-peers.sh built it."""
    from ik_llama_cpp import find_quantize_bin

    b = find_quantize_bin()
    if b is None:
        raise RuntimeError("ik_llama.cpp's llama-quantize not found (run scripts/install-peers.sh)")
    return str(b)


def path_of(directory, preset, name):
    return os.path.join(directory, f"{preset}-{name}.gguf")


def ensure(tritium, preset, name, directory, log):
    """The path of file `name`, written first when it is not there."""
    path = path_of(directory, preset, name)
    if os.path.exists(path):
        return path
    os.makedirs(directory, exist_ok=True)
    how = FILES[name]
    tmp = path + ".part"
    if how[0] == "gen":
        log(f"writing {path}")
        subprocess.run([tritium, "gen-model", "--preset", preset, "--format", how[1],
                        "--out", tmp, "--force"], check=True, capture_output=True)
    else:
        i2s = ensure(tritium, preset, "i2s", directory, log)
        log(f"ik_llama.cpp llama-quantize: {i2s} -> {path}")
        r = subprocess.run([quantize_bin(), "--allow-requantize",
                            "--token-embedding-type", how[2], "--output-tensor-type", how[2],
                            i2s, tmp, how[1]], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"llama-quantize failed ({r.returncode}):\n{r.stderr[-2000:]}")
    os.replace(tmp, path)
    return path

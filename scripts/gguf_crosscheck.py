#!/usr/bin/env python3
"""Cross-check tritium's GGUF files against llama.cpp's own `gguf` package.

Opt-in (not part of `make test`); needs `pip install gguf numpy` in a venv:

    python3 -m venv /work/gguf-venv && /work/gguf-venv/bin/pip install gguf
    /work/gguf-venv/bin/python scripts/gguf_crosscheck.py [path/to/tritium]

1. tritium writes a TQ2_0 GGUF and the HF packed checkpoint of the same seed
   (preset tiny256). gguf.GGUFReader reads the GGUF; every BitLinear is
   dequantized with gguf.quants (llama.cpp's reference TQ2_0 code) and must
   equal the HF packed codes times the fp16-rounded weight_scale; metadata
   keys and shapes are checked.
2. gguf.GGUFWriter writes a new file from it, BitLinears re-quantized to
   TQ1_0 with gguf.quants (llama.cpp's reference TQ1_0 code); tritium must
   read it and produce logits bitwise identical to the TQ2_0 file's.
(I2_S, type 36, is bitnet.cpp's and unknown to upstream gguf-py.)
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import gguf
from gguf import quants

TRITIUM = sys.argv[1] if len(sys.argv) > 1 else "target/release/tritium"
PROJ = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj"}


def run(*args):
    r = subprocess.run([TRITIUM, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"tritium {' '.join(args)} failed:\n{r.stderr}")
    return r.stdout


def read_safetensors(path):
    raw = Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = raw[8 + n + a:8 + n + b]
        dt = {"U8": np.uint8, "F32": np.float32, "BF16": np.uint16}[info["dtype"]]
        arr = np.frombuffer(buf, dtype=dt).reshape(info["shape"])
        if info["dtype"] == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = arr
    return out


def hf_codes(packed):
    # uint8 [n/4, k], bits 2i+1:2i of byte [p, c] hold row i*n/4 + p.
    q, k = packed.shape
    rows = [((packed >> (2 * i)) & 3).astype(np.int8) - 1 for i in range(4)]
    return np.concatenate(rows, axis=0).reshape(4 * q, k)


def logits(model, path):
    run("infer", "--model", str(model), "--tokens", "510,4,99,17", "-n", "3", "--ignore-eos",
        "--json", "--backend", "golden", "--logits", str(path))
    return Path(path).read_bytes()


def main():
    tmp = Path(tempfile.mkdtemp())
    tq2, hf = tmp / "tq2.gguf", tmp / "hf"
    run("gen-model", "--preset", "tiny256", "--seed", "4", "--format", "gguf-tq2", "--out", str(tq2))
    run("gen-model", "--preset", "tiny256", "--seed", "4", "--out", str(hf))
    st = read_safetensors(hf / "model.safetensors")

    r = gguf.GGUFReader(tq2)
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()
    assert arch == "bitnet", arch  # llama.cpp's architecture of TQ1_0/TQ2_0
    assert r.fields["bitnet.block_count"].parts[-1][0] == 2
    toks = r.fields["tokenizer.ggml.tokens"]
    assert len(toks.data) == 512, len(toks.data)
    checked = 0
    for t in r.tensors:
        if t.tensor_type not in (gguf.GGMLQuantizationType.TQ2_0,):
            continue
        l, kind = t.name.split(".")[1], t.name.split(".")[2]
        deq = quants.dequantize(t.data, t.tensor_type)
        base = f"model.layers.{l}.{PROJ[kind]}"
        codes = hf_codes(st[base + ".weight"])
        gamma = np.float16(st[base + ".weight_scale"].reshape(-1)[0]).astype(np.float32)
        want = codes.astype(np.float32) * gamma
        assert deq.shape == want.shape, (t.name, deq.shape, want.shape)
        assert np.array_equal(deq, want), f"{t.name}: gguf-py dequantization differs"
        checked += 1
    assert checked == 14, checked
    print(f"1. gguf-py read tritium's TQ2_0 file: {checked} BitLinears == HF packed codes * fp16(scale)")

    tq1 = tmp / "tq1.gguf"
    w = gguf.GGUFWriter(tq1, arch)
    for name, field in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vtype = field.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            sub = field.types[-1]
            if sub == gguf.GGUFValueType.STRING:
                val = [bytes(field.parts[i]).decode("utf-8") for i in field.data]
            else:
                val = [field.parts[i][0].item() for i in field.data]
            w.add_key_value(name, val, vtype, sub_type=sub)
        elif vtype == gguf.GGUFValueType.STRING:
            w.add_key_value(name, bytes(field.parts[-1]).decode("utf-8"), vtype)
        else:
            w.add_key_value(name, field.parts[-1][0].item(), vtype)
    for t in r.tensors:
        if t.tensor_type == gguf.GGMLQuantizationType.TQ2_0:
            deq = quants.dequantize(t.data, t.tensor_type)
            q = quants.quantize(deq, gguf.GGMLQuantizationType.TQ1_0)
            w.add_tensor(t.name, q, raw_dtype=gguf.GGMLQuantizationType.TQ1_0)
        else:
            w.add_tensor(t.name, np.array(t.data), raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    a, b = logits(tq2, tmp / "a.json"), logits(tq1, tmp / "b.json")
    assert a == b, "logits of the gguf-py TQ1_0 file differ"
    print("2. tritium read gguf-py's TQ1_0 file: logits bitwise identical to the TQ2_0 file's")
    print("PASS")


if __name__ == "__main__":
    main()

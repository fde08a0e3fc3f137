#!/usr/bin/env python3
"""Writes tests/vectors/*.json: the vector corpus every BitLinear backend runs.

An independent reference in plain Python (no tritium code): integer matmuls
are exact Python ints; f32 arithmetic is emulated exactly by computing in f64
and rounding once to f32 (exact for a product of two f32, and for a quotient
because 53 >= 2 * 24 + 2 makes the double rounding innocuous).

Run from the repository root: python3 tests/vectors/make_vectors.py
"""
import json
import random
import struct
from pathlib import Path

OUT = Path(__file__).parent


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def rne(x: float) -> int:
    # Python's round() is round-half-even on floats.
    return int(round(x))


def quantize(xs):
    """tritium-golden quantize_activations, emulated: returns (q, s_a)."""
    m = max([abs(v) for v in xs] + [0.0])
    m = max(m, f32(1e-5))
    s = f32(127.0 / m)
    q = [max(-128, min(127, rne(f32(v * s)))) for v in xs]
    return q, s


def weight_str(row):
    return "".join({-1: "-", 0: "0", 1: "+"}[t] for t in row)


def matmul_case(name, n, k, w, acts):
    acc = [[sum(w[j][c] * a[c] for c in range(k)) for j in range(n)] for a in acts]
    return {
        "name": name,
        "n": n,
        "k": k,
        "weights": [weight_str(r) for r in w],
        "acts": acts,
        "acc": acc,
    }


def main():
    rng = random.Random(20261121)
    cases = []
    cases.append(matmul_case("hand_2x3", 2, 3, [[1, -1, 0], [-1, -1, 1]], [[5, -128, 127]]))
    cases.append(matmul_case("all_zero_weights_1x5", 1, 5, [[0] * 5], [[127, -128, 1, 2, 3]]))
    cases.append(matmul_case("all_zero_acts_3x4", 3, 4, [[1, -1, 1, 0], [0, 0, 0, 1], [-1] * 4], [[0] * 4]))
    for k in (1, 7, 8, 9, 100, 8192):
        cases.append(matmul_case(f"max_pos_plus1_times_127_k{k}", 1, k, [[1] * k], [[127] * k]))
        cases.append(matmul_case(f"max_neg_plus1_times_m128_k{k}", 1, k, [[1] * k], [[-128] * k]))
        cases.append(matmul_case(f"max_pos_minus1_times_m128_k{k}", 1, k, [[-1] * k], [[-128] * k]))
    # Ragged random shapes, several token rows, extreme values mixed in.
    for i, (n, k, rows) in enumerate([(5, 13, 2), (17, 33, 3), (4, 64, 1), (33, 70, 2), (12, 257, 4), (64, 96, 1)]):
        w = [[rng.choice((-1, 0, 1)) for _ in range(k)] for _ in range(n)]
        acts = [[rng.choice((-128, 127, 0, rng.randint(-128, 127))) for _ in range(k)] for _ in range(rows)]
        cases.append(matmul_case(f"random_{i}_{n}x{k}_rows{rows}", n, k, w, acts))
    (OUT / "bitlinear.json").write_text(
        json.dumps({"generated_by": "tests/vectors/make_vectors.py", "cases": cases}, separators=(",", ":")) + "\n"
    )

    qcases = []
    def qcase(name, xs):
        xs = [f32(v) for v in xs]
        q, s = quantize(xs)
        qcases.append({"name": name, "x": xs, "q": q, "s_a": s})
    qcase("ties_at_unit_scale", [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 127.0])
    qcase("all_zero", [0.0] * 7)
    qcase("below_floor", [2.0 ** -17, -1e-6])
    qcase("symmetric_extremes", [-3.0, 3.0, 1.0])
    for i in range(8):
        n = rng.randint(1, 40)
        scale = 10.0 ** rng.randint(-6, 4)
        qcase(f"random_{i}", [rng.uniform(-1, 1) * scale for _ in range(n)])
    (OUT / "quantize.json").write_text(
        json.dumps({"generated_by": "tests/vectors/make_vectors.py", "cases": qcases}, separators=(",", ":")) + "\n"
    )


if __name__ == "__main__":
    main()

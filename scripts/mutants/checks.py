"""The checks of the mutation campaign and how they run (scripts/mutate.py).

A check runs against one RTL tree: the repository's (the baseline) or a
mutated copy. CHECKS is ordered cheapest first; the campaign stops at the
first check a mutant fails. Kinds:

  lint    verilator --lint-only -Wall --assert over the configurations the
          project builds. A tree that fails even without -Wall (Verilator's
          default warnings are fatal in the simulation build too) does not
          compile: stillborn. Failing only with -Wall is a kill (rtl/lint.sh
          fails CI on any warning).
  formal  rtl/formal/run.py --rtl-root TREE --only PROOFS (SymbiYosys), when
          it exists: the proofs expected to pass whose design hierarchy holds
          the mutated file; the unit proofs (seconds each) right after lint,
          the array and accelerator proofs (minutes each: those with a `cost`
          in rtl/formal/proofs.py) after the Rust tests.
  test    a Rust test binary of tritium-sim or tritium-rtl (libtest filters
          in `args`), run directly after one `cargo test --no-run`.
  cli     the `tritium` command (a whole-network co-simulation).

`models` are the Verilator models (sim/build.rs names) a check simulates;
only those whose hierarchy holds the mutated file are rebuilt from the
copy (TRITIUM_RTL_ROOT_MODELS), cumulatively over a mutant's checks, so a
mutant killed early never pays for the big KV260 models.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from defs import ROOT

# sim/build.rs models() -> top module (names as TRITIUM_RTL_ROOT_MODELS takes them).
MODEL_TOPS = {
    "small": "tri_mac_array",
    "large": "tri_mac_array",
    "acc_acc2": "tri_accel",
    "acc_acc3": "tri_accel",
    "acc_kv260": "tri_accel",
    "acc_kv260_2bit": "tri_accel",
    "int8": "int8_mac_array",
    "fp16_mac_pe": "fp16_mac_pe",
}

# (top, -G overrides): the configurations the simulation builds (sim/src/configs.rs).
LINT_SETS = [
    ("tri_mac_array", "Cols=4 Lanes=8 KMax=8192"),
    ("tri_mac_array", "Cols=16 Lanes=32 KMax=8192"),
    ("tri_accel", "Cols=4 Lanes=5 KMax=128 TMax=4 BusBytes=10 Format=0 WordBytes=5"),
    ("tri_accel", "Cols=4 Lanes=5 KMax=128 TMax=4 BusBytes=2 Format=1 WordBytes=4"),
    ("tri_accel", "Cols=64 Lanes=5 KMax=8192 TMax=16 BusBytes=64 Format=1 WordBytes=64"),
    ("tri_accel", "Cols=64 Lanes=4 KMax=8192 TMax=16 BusBytes=64 Format=0 WordBytes=64"),
    ("int8_mac_array", "Cols=4 Lanes=8 KMax=64"),
    ("fp16_mac_pe", ""),
]

ACC_SMALL = ("acc_acc2", "acc_acc3")
ACC_KV = ("acc_kv260", "acc_kv260_2bit")


@dataclass
class Check:
    name: str
    kind: str                       # lint | formal | test | cli
    models: tuple[str, ...] = ()
    exe: str = ""                   # test: "<package>/<target>" (lib: "<package>/lib")
    args: tuple[str, ...] = ()
    note: str = ""
    tops: set[str] = field(default_factory=set)
    # False: a narrow check for the CI subset only (`expect` of a ci mutant);
    # the full campaign runs the broad checks instead.
    campaign: bool = True
    # formal: the long proofs (with a `cost`) instead of the unit ones.
    long: bool = False

    def __post_init__(self):
        if not self.tops:
            self.tops = {MODEL_TOPS[m] for m in self.models}

    def applies(self, affected_tops: set[str]) -> bool:
        if self.kind in ("lint", "formal"):
            return True
        return bool(self.tops & affected_tops)


SKIP_KV = ("--skip", "kv260")
CHECKS = [
    Check("lint", "lint", note="verilator --lint-only -Wall --assert, every built configuration"),
    Check("formal-unit", "formal",
          note="rtl/formal unit proofs (PE, adder tree, accumulator width, decoders, FIFO, "
               "counter) whose design holds the mutated file"),
    Check("sim-array-small", "test", ("small",), "tritium-sim/array",
          ("--skip", "random_tiles_large", "--skip", "interleaved_models"),
          "sim/tests/array.rs on the 4x8 array"),
    Check("sim-array-rules", "test", ("small",), "tritium-sim/array_rules", (),
          "sim/tests/array_rules.rs (protocol and counter rules) on the 4x8 array"),
    Check("sim-array-large", "test", ("small", "large"), "tritium-sim/array",
          ("random_tiles_large", "interleaved_models"), "sim/tests/array.rs on the 16x32 array"),
    Check("sim-accel", "test", ACC_SMALL, "tritium-sim/accel", SKIP_KV,
          "sim/tests/accel.rs on acc2/acc3"),
    Check("sim-accel-rules", "test", ACC_SMALL, "tritium-sim/accel_rules", (),
          "sim/tests/accel_rules.rs (ports driven by hand) on acc2/acc3"),
    Check("rtl-cosim", "test", ACC_SMALL, "tritium-rtl/cosim", SKIP_KV,
          "src/rtl/tests/cosim.rs (lockstep, tiny networks) on acc2/acc3"),
    Check("sim-accel-perf", "test", ACC_SMALL, "tritium-sim/accel_perf", (),
          "sim/tests/accel_perf.rs (utilisation, memory floor, reuse)"),
    Check("cosim-base3", "cli", ("acc_acc3",), args=("cosim",),
          note="tritium cosim (tiny preset, small accelerator, base-3)"),
    Check("cosim-2bit", "cli", ("acc_acc2",), args=("cosim", "--weight-format", "2bit"),
          note="tritium cosim --weight-format 2bit"),
    Check("cosim-slow-memory", "cli", ("acc_acc2",),
          args=("cosim", "--weight-format", "2bit", "--batch", "3",
                "--mem-bytes-per-cycle", "1.25", "--mem-latency", "9"),
          note="tritium cosim, 2-bit, batch 3, 1.25 B/cycle, latency 9"),
    Check("formal-system", "formal", long=True,
          note="rtl/formal proofs of the whole array and accelerator (every named assertion, "
               "results owed), minutes each"),
    Check("sim-accel-kv260", "test", ACC_SMALL + ACC_KV, "tritium-sim/accel", ("kv260",),
          "sim/tests/accel.rs on the KV260-class models"),
    Check("sim-accel-perf-kv260", "test", ACC_SMALL + ACC_KV, "tritium-sim/accel_perf", (),
          "sim/tests/accel_perf.rs with the KV260-class models mutated too"),
    Check("rtl-cosim-kv260", "test", ACC_SMALL + ACC_KV, "tritium-rtl/cosim", ("kv260",),
          "src/rtl/tests/cosim.rs on the KV260-class model"),
    Check("cosim-kv260", "cli", ACC_KV, args=("cosim", "--config", "kv260"),
          note="tritium cosim --config kv260"),
    Check("sim-int8", "test", ("int8",), "tritium-sim/int8", (),
          "sim/tests/int8.rs (the INT8 comparison array, sharing the array control)"),
    Check("sim-fp16", "test", ("fp16_mac_pe",), "tritium-sim/fp16", (),
          "sim/tests/fp16.rs (the FP16 comparison PE)"),
    # CI only: one small model each, so that a CI mutant rebuilds one model.
    Check("ci-array-small", "test", ("small",), "tritium-sim/array",
          ("hand_worked_tile", "random_tiles_small", "result_backpressure"),
          "CI: three tests of sim/tests/array.rs on the 4x8 array", campaign=False),
    # acc2 (two words per bus beat) issues a beat every cycle, so one token
    # row reads its bank entry in the cycle its last update is written back
    # (the forwarding path); acc3's deserializer issues every other cycle
    # and never needs it.
    Check("ci-accel-acc2", "test", ("acc_acc2",), "tritium-sim/accel",
          ("acc2_2bit",), "CI: the acc2 property test", campaign=False),
]
CHECK_NAMES = {c.name for c in CHECKS}


def models_of(tops: set[str]) -> set[str]:
    """The models whose top is one of `tops`."""
    return {m for m, t in MODEL_TOPS.items() if t in tops}


def formal_proofs(hier, files: set[str], long: bool) -> list[str]:
    """The proofs of rtl/formal/proofs.py expected to pass, long (with a
    `cost`) or not, whose design hierarchy holds one of `files`: the design
    modules a proof's harness instantiates (or its top, if a design module)
    and everything below them."""
    path = ROOT / "rtl/formal/proofs.py"
    spec = importlib.util.spec_from_file_location("tritium_formal_proofs", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = []
    for p in mod.PROOFS:
        if p.get("expect", "pass") != "pass" or bool(p.get("cost")) != long:
            continue
        tops = {p["top"]} & set(hier.modules)
        for f in p.get("files", []):
            text = (ROOT / "rtl/formal" / f).read_text()
            tops |= {m for m in hier.modules if re.search(
                rf"\b{m}\b\s*(#\s*\(|[A-Za-z_]\w*\s*\()", text)}
        used = set().union(*(hier.files_of(t) for t in tops)) if tops else set()
        if used & files:
            out.append(p["name"])
    return out


@dataclass
class Result:
    check: str
    status: str          # passed | failed | timeout | stillborn | skipped
    time_s: float
    log: str
    test: str | None = None     # first failing test (libtest) or lint target
    detail: str | None = None   # its message, shortened
    failed_tests: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = {"check": self.check, "status": self.status, "time_s": self.time_s,
             "log": self.log}
        if self.test:
            d["test"] = self.test
        if self.detail:
            d["detail"] = self.detail
        if len(self.failed_tests) > 1:
            d["failed_tests"] = self.failed_tests
        return d


def _short(text: str, n: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


def libtest_failure(log: str) -> tuple[list[str], str | None]:
    """Failing tests in the order libtest reported them, and the first one's
    panic message."""
    failed = re.findall(r"^test (\S+) \.\.\. FAILED$", log, re.M)
    if not failed:
        return [], None
    block = re.search(rf"^---- {re.escape(failed[0])} stdout ----\n(.*?)(?=^---- |^failures:|\Z)",
                      log, re.M | re.S)
    msg = None
    if block:
        lines = block.group(1).splitlines()
        for i, ln in enumerate(lines):
            if "panicked at" in ln:
                msg = " ".join(lines[i + 1: i + 4])
                break
        msg = msg or " ".join(lines[:3])
    return failed, _short(msg) if msg else None


def tail(log: str, n: int = 3) -> str:
    lines = [ln for ln in log.splitlines() if ln.strip()]
    return _short(" | ".join(lines[-n:]))


class Runner:
    """Runs checks; keeps the cargo build state of the tree being checked."""

    def __init__(self, out: Path, target_dir: Path, checks: list[Check], hier):
        self.out = out
        self.target_dir = target_dir
        self.hier = hier
        # The mutated file of the tree being checked (None: the baseline,
        # whose formal proofs are those of every file in baseline_files).
        self.mutant_file: str | None = None
        self.baseline_files: set[str] = set()
        # The test binaries the checks of this run use (the only ones built).
        self.test_targets = {c.exe.split("/")[1] for c in checks if c.kind == "test"}
        self.baseline_times: dict[str, float] = {}
        self._built: tuple | None = None     # (rtl_root, models, with bin)
        self._exes: dict[str, str] = {}

    # ---- process helpers -------------------------------------------------

    def _exec(self, argv: list[str], log: Path, timeout: float, cwd: Path,
              env: dict | None = None, stdout: Path | None = None) -> tuple[int | None, float]:
        """Runs argv (niced) with output to `log`; returns (exit code or None
        on timeout, seconds). A timed-out run is killed with its process group."""
        log.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        with open(log, "ab") as err, open(stdout or log, "ab") as out:
            err.write(f"$ {' '.join(argv)}\n".encode())
            err.flush()
            p = subprocess.Popen(["nice", "-n", "10", *argv], cwd=cwd, env=env,
                                 stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                rc = None
        return rc, round(time.monotonic() - t0, 1)

    def _timeout(self, check: str) -> float:
        base = self.baseline_times.get(check)
        return 3600.0 if base is None else max(120.0, 5.0 * base + 60.0)

    def _cargo_env(self, rtl_root: Path | None, models: set[str]) -> dict:
        env = dict(os.environ, CARGO_TARGET_DIR=str(self.target_dir))
        env.pop("TRITIUM_RTL_ROOT", None)
        env.pop("TRITIUM_RTL_ROOT_MODELS", None)
        if rtl_root is not None:
            env["TRITIUM_RTL_ROOT"] = str(rtl_root)
            env["TRITIUM_RTL_ROOT_MODELS"] = ",".join(sorted(models))
        return env

    # ---- build -----------------------------------------------------------

    def _build(self, name: str, rtl_root: Path | None, models: set[str],
               with_bin: bool) -> Result | None:
        """cargo test --no-run (and the tritium binary if asked) for the tree;
        None if already built, else the build's Result (passed/stillborn)."""
        key = (rtl_root, frozenset(models), with_bin)
        if self._built is not None and (self._built[0], self._built[1]) == key[:2] \
                and (self._built[2] or not with_bin):
            return None
        log = self.out / "logs" / name / "build.log"
        js = self.out / "logs" / name / "build.json"
        if js.exists():
            js.unlink()
        env = self._cargo_env(rtl_root, models)
        # One cargo command with `--workspace`: the features (and so the
        # tritium-sim build, its models included) are those of `cargo test
        # --workspace`; another package selection would build every model
        # again in a second OUT_DIR. The `cli` test makes cargo build the
        # `tritium` binary.
        argv = ["cargo", "test", "--workspace", "--no-run",
                "--message-format=json-render-diagnostics"]
        for t in sorted(self.test_targets | ({"cli"} if with_bin else set())):
            argv += ["--test", t]
        rc, total = self._exec(argv, log, 7200.0, ROOT, env, stdout=js)
        if rc != 0:
            self._built = None
            text = log.read_text(errors="replace")
            # Verilator or the C++ of the generated model rejects the tree:
            # the mutant does not compile. Anything else is the campaign's
            # own failure, not the mutant's.
            if rc is None or not re.search(
                    r"%Error|Verilator failed|C\+\+ compilation of the Verilator models", text):
                raise RuntimeError(f"build of {name} failed for another reason; see {log}")
            errs = [ln.strip() for ln in text.splitlines() if "%Error" in ln]
            return Result("build", "stillborn", total, str(log),
                          detail=_short(" | ".join(errs[:2]) or tail(text)))
        self._exes = {}
        for line in js.read_text().splitlines():
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
                continue
            pid = msg["package_id"]
            pkg = re.search(r"#([\w-]+)@", pid) or re.match(r"([\w-]+) ", pid)
            kind = msg["target"]["kind"][0]
            tname = "lib" if kind == "lib" else msg["target"]["name"]
            self._exes[f"{pkg.group(1)}/{tname}"] = msg["executable"]
        self._built = (rtl_root, frozenset(models), with_bin)
        label = ",".join(sorted(models)) if rtl_root is not None else "all (repository rtl/)"
        return Result("build", "passed", total, str(log), detail=f"models from the tree: {label}")

    # ---- checks ----------------------------------------------------------

    def run(self, check: Check, name: str, rtl_root: Path | None,
            models: set[str], tops: set[str]) -> list[Result]:
        """Runs `check` on the tree `rtl_root` (None: the repository) with
        `models` built from it; `tops` = the tops the mutation touches.
        Returns the check's Result, preceded by the build's when one ran."""
        log = self.out / "logs" / name / f"{check.name}.log"
        if log.exists():
            log.unlink()
        tree = rtl_root or ROOT
        if check.kind == "lint":
            return [self._lint(check, tree, log, tops)]
        if check.kind == "formal":
            return [self._formal(check, tree, log, name)]
        b = self._build(name, rtl_root, models if rtl_root is not None else set(),
                        check.kind == "cli")
        if b is not None and b.status != "passed":
            return [b]
        r = self._run_exe(check, name, log)
        return [r] if b is None else [b, r]

    def _formal(self, check: Check, tree: Path, log: Path, name: str) -> Result:
        runner = ROOT / "rtl/formal/run.py"
        if not runner.is_file():
            return Result(check.name, "skipped", 0.0, str(log),
                          detail="rtl/formal/run.py not in this tree yet")
        files = {self.mutant_file} if self.mutant_file else self.baseline_files
        proofs = formal_proofs(self.hier, files, check.long)
        if not proofs:
            return Result(check.name, "skipped", 0.0, str(log),
                          detail="no proof covers the mutated file")
        argv = ["python3", str(runner), "--rtl-root", str(tree), "--only", ",".join(proofs),
                "--out", str(self.out / "formal" / name / check.name)]
        rc, t = self._exec(argv, log, self._timeout(check.name), ROOT)
        text = log.read_text(errors="replace")
        if rc is None:
            return Result(check.name, "timeout", t, str(log),
                          detail=f"killed after {t} s (a hang counts as killed)")
        if rc != 0:
            # "formal: <proof>: <result> (expected <result>); log ..."
            bad = re.findall(r"^formal: (\S+): (.+?) \(expected (\S+)\)", text, re.M)
            if bad:
                proof, got, want = bad[0]
                return Result(check.name, "failed", t, str(log), test=proof,
                              detail=_short(f"{got} (expected {want})"),
                              failed_tests=[b[0] for b in bad])
            return Result(check.name, "failed", t, str(log), detail=tail(text, 4))
        return Result(check.name, "passed", t, str(log), detail=",".join(proofs))

    def _run_exe(self, check: Check, name: str, log: Path) -> Result:
        if check.kind == "test":
            exe = self._exes.get(check.exe)
            if exe is None:
                raise RuntimeError(f"{check.name}: no test binary {check.exe} in the build")
            pkg_dir = {"tritium-sim": ROOT / "sim", "tritium-rtl": ROOT / "src/rtl"}[
                check.exe.split("/")[0]]
            argv = [exe, *check.args]
        else:
            argv = [self._exes["tritium-toolkit/tritium"], *check.args]
            pkg_dir = ROOT
        env = dict(os.environ, CARGO_MANIFEST_DIR=str(pkg_dir), TMPDIR=str(self._tmp(name)))
        rc, t = self._exec(argv, log, self._timeout(check.name), pkg_dir, env)
        text = log.read_text(errors="replace")
        if rc is None:
            failed, _ = libtest_failure(text)
            running = re.findall(r"^test (\S+) \.\.\. $", text, re.M)
            return Result(check.name, "timeout", t, str(log), test=(running or [None])[0],
                          detail=f"killed after {t} s (a hang counts as killed)",
                          failed_tests=failed)
        if rc == 0:
            return Result(check.name, "passed", t, str(log))
        if check.kind == "test":
            failed, msg = libtest_failure(text)
            return Result(check.name, "failed", t, str(log), test=failed[0] if failed else None,
                          detail=msg or tail(text), failed_tests=failed)
        return Result(check.name, "failed", t, str(log), test=" ".join(check.args),
                      detail=tail(text))

    def _tmp(self, name: str) -> Path:
        d = self.out / "tmp" / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _lint(self, check: Check, tree: Path, log: Path, tops: set[str]) -> Result:
        t_all = 0.0
        for top, params in LINT_SETS:
            if top not in tops:
                continue
            gflags = [f"-G{p}" for p in params.split()]
            base = ["verilator", "--lint-only", "--assert", *gflags, "-f", "rtl/files.f",
                    "--top-module", top, "rtl/lint/waivers.vlt"]
            rc, t = self._exec([*base[:2], "-Wall", *base[2:]], log, 600.0, tree)
            t_all += t
            if rc == 0:
                continue
            what = f"{top} {params}".strip()
            rc2, t = self._exec(base, log, 600.0, tree)
            t_all += t
            text = log.read_text(errors="replace")
            first = next((ln for ln in text.splitlines()
                          if ln.startswith(("%Error", "%Warning"))), tail(text))
            status = "stillborn" if rc2 != 0 else "failed"
            return Result(check.name, status, round(t_all, 1), str(log), test=what,
                          detail=_short(first))
        return Result(check.name, "passed", round(t_all, 1), str(log))

#!/usr/bin/env python3
"""Mutation campaign over the RTL (`make mutate`, `make mutate-ci`).

Each mutant of scripts/mutants/mutants.toml is one deliberate bug (swapped
add/subtract, an off-by-one, a lane wired to its neighbour, a stuck bit, a
dropped handshake term, a wrong decoder entry, a skipped zero-gate, ...)
applied to a COPY of rtl/ under target/mutate/rtl/<id>/ (rtl/ itself is
never edited). The regression then runs against the copy, cheapest check
first, and stops at the first check that fails: the mutant is *killed*, and
the report names the check and the first failing test. A mutant no check
kills *survived*: it needs a new test, or an argument that it is equivalent
(scripts/mutants/equivalent.toml). A mutant that does not compile is
*stillborn* and does not count.

Checks, in order (scripts/mutants/checks.py): Verilator lint of the copy
(errors: stillborn; -Wall warnings: killed, as rtl/lint.sh fails CI), the
formal proofs when rtl/formal/run.py exists, then the Rust tests against
Verilator models built from the copy, then whole-network co-simulations
with the `tritium` command. A check only runs when the mutated file is in
the hierarchy of a top it simulates, and only the models a check needs are
rebuilt from the copy (sim/build.rs: TRITIUM_RTL_ROOT and
TRITIUM_RTL_ROOT_MODELS), the others stay cached. All mutants share one
cargo target directory. A check that runs past its timeout is killed (the
mutant made a test hang: it counts as killed, and the report says so).

Before the mutants, the same checks run on the unmutated RTL (the
*baseline*); the campaign stops if one fails (every mutant would look
killed) and sizes each check's timeout from its baseline time.

Reports: target/mutate/report.md and report.json (target/mutate/ci/ for
--ci), rewritten after every mutant; logs of every check under logs/.

Usage:
  scripts/mutate.py                 the full campaign
  scripts/mutate.py --ci            the CI subset (mutants with ci = true,
                                    only their `expect` checks)
  scripts/mutate.py --only ID,ID    some mutants (merged into an existing report)
  scripts/mutate.py --list          mutants, affected models, CI subset
  scripts/mutate.py --validate      check that every mutant applies, run nothing
  scripts/mutate.py --report-only   rewrite the report (e.g. after editing equivalent.toml)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "mutants"))

import checks as ck  # noqa: E402
import report as rp  # noqa: E402
from defs import (  # noqa: E402
    ROOT,
    DefinitionError,
    Hierarchy,
    load_equivalent,
    load_mutants,
)

DEFAULT_OUT = ROOT / "target/mutate"


def prepare_copy(dest: Path, mutant) -> None:
    """dest/rtl = a copy of rtl/ with `mutant` applied (None: unmutated)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copytree(
        ROOT / "rtl", dest / "rtl", ignore=shutil.ignore_patterns("__pycache__")
    )
    if mutant is not None:
        path = dest / mutant.file
        text = path.read_text()
        # Validated against the repository's file; the copy is identical.
        assert text.count(mutant.find) == 1, mutant.id
        path.write_text(text.replace(mutant.find, mutant.replace, 1))


def run_one(
    runner: ck.Runner,
    name: str,
    rtl_root: Path | None,
    affected_tops: set[str],
    affected_models: set[str],
    only_checks: list[str] | None,
    stop_at_kill: bool,
) -> dict:
    """Runs the applicable checks on one RTL tree; returns its record."""
    t0 = time.monotonic()
    record: dict = {"checks": [], "status": "survived", "killed_by": None}
    built: set[str] = set()
    for check in ck.CHECKS:
        if only_checks is None and not check.campaign:
            continue
        if only_checks is not None and check.name not in only_checks:
            continue
        if not check.applies(affected_tops):
            continue
        if check.models:
            # Cumulative: models rebuilt for an earlier check stay mutant builds.
            built |= set(check.models) & affected_models
        *build, res = runner.run(check, name, rtl_root, built, affected_tops)
        record["checks"].extend(r.as_dict() for r in (*build, res))
        if res.status == "skipped":
            continue
        if res.status == "stillborn":
            record["status"] = "stillborn"
            record["killed_by"] = res.as_dict()
            break
        if res.status in ("failed", "timeout"):
            record["status"] = "killed"
            if record["killed_by"] is None:
                record["killed_by"] = res.as_dict()
            if stop_at_kill:
                break
    record["time_s"] = round(time.monotonic() - t0, 1)
    return record


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--ci", action="store_true", help="the CI subset only")
    ap.add_argument("--only", help="comma-separated mutant ids")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--validate", action="store_true", help="check the mutant list and exit")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite report.md/json from report.json with the current lists")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the baseline (its recorded times are reused for timeouts)")
    ap.add_argument("--all-checks", action="store_true",
                    help="run every applicable check, not only up to the first kill")
    ap.add_argument("--out", type=Path, help="report directory (default target/mutate[/ci])")
    ap.add_argument("--target-dir", type=Path,
                    help="cargo target directory (default: <out>/build; CI: cargo's default)")
    args = ap.parse_args()

    try:
        mutants = load_mutants()
        equivalent = load_equivalent(mutants)
    except DefinitionError as e:
        print(f"mutate: {e}", file=sys.stderr)
        return 2
    hier = Hierarchy.scan()

    if args.list:
        for m in mutants:
            tops = hier.tops_using(m.file)
            models = sorted(ck.models_of(tops))
            flags = (" [ci]" if m.ci else "") + (" [equivalent]" if m.id in equivalent else "")
            print(f"{m.id:40s} {m.cls:14s} {m.file:26s} {','.join(models)}{flags}")
        print(f"{len(mutants)} mutants, {sum(m.ci for m in mutants)} in the CI subset, "
              f"{len(equivalent)} argued equivalent")
        return 0
    if args.validate:
        print(f"mutate: {len(mutants)} mutants apply (each `find` occurs exactly once)")
        return 0

    selected = mutants
    if args.ci:
        selected = [m for m in mutants if m.ci]
    if args.only:
        ids = [i.strip() for i in args.only.split(",") if i.strip()]
        unknown = [i for i in ids if i not in {m.id for m in mutants}]
        if unknown:
            print(f"mutate: unknown mutant id(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        selected = [m for m in selected if m.id in ids]

    out = (args.out or (DEFAULT_OUT / "ci" if args.ci else DEFAULT_OUT)).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.target_dir is not None:
        target_dir = args.target_dir
    elif args.ci:
        target_dir = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    else:
        target_dir = out / "build"
    ci_checks = sorted({c for m in selected for c in m.expect}) if args.ci else None
    runner = ck.Runner(out, target_dir.resolve(),
                       [c for c in ck.CHECKS if ci_checks is None or c.name in ci_checks], hier)
    runner.baseline_files = {m.file for m in selected}
    report_path = out / "report.json"
    previous = rp.load(report_path)
    if args.only and previous:
        runner.baseline_times = previous.get("baseline", {}).get("times", {})

    if args.report_only:
        if previous is None:
            print(f"mutate: no {report_path}", file=sys.stderr)
            return 2
        results = {r["id"]: r for r in previous.get("mutants", [])}
        print(rp.write(out, previous["meta"], mutants, results, equivalent)["line"])
        return 0

    t_start = time.monotonic()
    if args.ci and any(not m.expect for m in selected):
        print("mutate: every CI mutant needs `expect`", file=sys.stderr)
        return 2

    if not args.no_baseline:
        print("== baseline (unmutated rtl/)", flush=True)
        every_top = set(hier.modules)
        base = run_one(runner, "baseline", None, every_top, set(), ci_checks, False)
        for c in base["checks"]:
            print(f"   {c['check']:18s} {c['status']:9s} {c['time_s']:7.1f} s", flush=True)
        if base["status"] != "survived":
            kb = base["killed_by"]
            print(f"mutate: the regression fails on the unmutated RTL ({kb['check']}: "
                  f"{kb.get('test') or ''} {kb.get('detail') or ''}); see {kb['log']}",
                  file=sys.stderr)
            return 1
        runner.baseline_times = {c["check"]: c["time_s"] for c in base["checks"]
                                 if c["status"] == "passed"}
    elif previous:
        runner.baseline_times = previous.get("baseline", {}).get("times", {})

    results = {} if (previous is None or not args.only) else {
        r["id"]: r for r in previous.get("mutants", [])}
    meta = {
        "mode": "ci" if args.ci else ("only" if args.only else "full"),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "baseline": {"times": runner.baseline_times},
        "target_dir": str(target_dir),
    }
    for n, m in enumerate(selected, 1):
        tops = hier.tops_using(m.file)
        models = ck.models_of(tops)
        print(f"== [{n}/{len(selected)}] {m.id} ({m.cls}, {m.file}; models: "
              f"{','.join(sorted(models)) or '-'})", flush=True)
        copy = out / "rtl" / m.id
        prepare_copy(copy, m)
        runner.mutant_file = m.file
        only_checks = m.expect if args.ci else None
        rec = run_one(runner, m.id, copy, tops, models, only_checks, not args.all_checks)
        rec.update(m.as_dict())
        rec["run_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
        results[m.id] = rec
        kb = rec["killed_by"]
        how = f" by {kb['check']}: {kb.get('test') or kb.get('detail') or ''}" if kb else ""
        print(f"   {rec['status']}{how} ({rec['time_s']} s)", flush=True)
        meta["elapsed_s"] = round(time.monotonic() - t_start, 1)
        rp.write(out, meta, mutants, results, equivalent)

    meta["elapsed_s"] = round(time.monotonic() - t_start, 1)
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    summary = rp.write(out, meta, mutants, results, equivalent)
    print(summary["line"])
    print(f"report: {out / 'report.md'}")
    if args.ci:
        # Every CI mutant must be killed: a survivor means a check lost power.
        bad = [m.id for m in selected if results[m.id]["status"] != "killed"]
        if bad:
            print(f"mutate-ci: not killed: {', '.join(bad)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Merges the RTL coverage of a `make coverage` run and checks its floors.

Input: the directory TRITIUM_COV_DIR the coverage build of tritium-sim wrote
into (sim/csrc/shim.cpp, `write_coverage`), two files per simulated model:

  <model>.<pid>.<n>.all.dat   every point (line, branch, toggle, user), each
                              counted over all instances of its source line;
  <model>.<pid>.<n>.user.dat  the user `cover` points (TRI_COVER, `*_C`),
                              one per instance (per lane, per column, ...).

Output, in --out:

  merged.dat        the .all.dat files merged by `verilator_coverage --write`
  line.info         lcov data of the line and branch points (the floor)
  toggle.info       lcov data of the toggle points (reported, no floor)
  annotated/        `verilator_coverage --annotate` of the line points: the
                    RTL with a count per block, uncovered ones marked `%000000`
  cover_points.txt  every cover point (instance) with its count
  summary.json      the figures below, the floors and whether they are met

Floors: every cover point hit (100 %), and at least 95 % of the source
lines of rtl/ that carry line or branch points hit (lcov DA records, the
figure genhtml shows). A cover point is one instance of a `cover` (e.g.
LaneCode_C of column 3, lane 4, code 2), counted over every model that has
that instance, as verilator_coverage merges points: the configurations of
one top module share the part of the hierarchy they have in common (lane
(0, 0) exists in both tri_mac_array models; column 63 only in the KV260
accelerators). The figures per model are reported for information.
Verilator puts line points on procedural code only (blocks and branches of
always_ff/always_comb, case items): continuous assignments and
instantiations have none, so a file made of them shows 0/0 lines; toggle
coverage and the cover points measure it. Every RTL file of rtl/files.f
that defines a module must appear in the data (a file no model elaborates
is a failure, not a silent omission). Lines excluded from coverage on purpose are between
`// verilator coverage_off` and `// verilator coverage_on` comments in the
RTL; they are listed with the comment that gives the reason.

Exit status: 0 when the floors are met, 1 when not, 2 on a usage or tool
error.
"""

import argparse
import collections
import json
import pathlib
import re
import subprocess
import sys

LINE_FLOOR = 95.0  # percent of RTL source lines with line/branch points
COVER_FLOOR = 100.0  # percent of cover points (all models)
MERGE_BATCH = 200  # .dat files per verilator_coverage call


def parse_dat(path):
    """Points of a Verilator coverage file: (dict of keys, count) each."""
    points = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("C '"):
                continue
            body, _, count = line.rstrip("\n").rpartition("' ")
            keys = {}
            for field in body[3:].split("\x01"):
                if "\x02" in field:
                    k, v = field.split("\x02", 1)
                    keys[k] = v
            points.append((keys, int(count)))
    return points


def write_dat(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        f.write("# SystemC::Coverage-3\n")
        f.writelines(lines)


def run(cmd):
    try:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"coverage: {' '.join(map(str, cmd[:3]))} ...: {e}")


def merge(files, out, tmp):
    """verilator_coverage --write, in batches (hundreds of files)."""
    parts = []
    for i in range(0, len(files), MERGE_BATCH):
        part = tmp / f"part{i // MERGE_BATCH}.dat"
        run(["verilator_coverage", "--write", part, *files[i : i + MERGE_BATCH]])
        parts.append(part)
    run(["verilator_coverage", "--write", out, *parts])
    for p in parts:
        p.unlink()


def filter_dat(src, dst, pages):
    """Copies the points of src whose page starts with one of `pages`."""
    keep = []
    with open(src, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.search("\x01page\x02([^\x01']*)", line)
            if line.startswith("C '") and m and m.group(1).startswith(pages):
                keep.append(line)
    write_dat(dst, keep)
    return len(keep)


def parse_info(path):
    """lcov DA records: {file: {line: count}}."""
    files = collections.defaultdict(dict)
    cur = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("SF:"):
                cur = line[3:]
            elif line.startswith("DA:") and cur is not None:
                n, c = line[3:].split(",")[:2]
                files[cur][int(n)] = max(files[cur].get(int(n), 0), int(c))
    return files


def rtl_files(root):
    """Module files of rtl/files.f (relative paths as Verilator records them)."""
    out = []
    for raw in (root / "rtl/files.f").read_text().splitlines():
        line = raw.split("//")[0].strip()
        if not line or line.startswith(("+", "-")):
            continue
        text = (root / line).read_text()
        if re.search(r"^\s*module\s", text, re.M):
            out.append(line)
    return out


def exclusions(root, files):
    """`// verilator coverage_off` regions: file, lines, the reason comment."""
    found = []
    for rel in files:
        lines = (root / rel).read_text().splitlines()
        start = None
        for i, text in enumerate(lines, 1):
            if re.match(r"\s*//\s*verilator\s+coverage_off", text):
                start = i
            elif re.match(r"\s*//\s*verilator\s+coverage_on", text) and start:
                # The reason: the comment block right above coverage_off.
                j, why = start - 2, []
                while j >= 0 and lines[j].strip().startswith("//"):
                    why.insert(0, lines[j].strip().lstrip("/").strip())
                    j -= 1
                found.append(
                    {"file": rel, "lines": [start, i], "reason": " ".join(why)}
                )
                start = None
    return found


def pretty(hier):
    """Verilator's escaped hierarchy names readable: gen_x[3].y."""
    return hier.replace("__BRA__", "[").replace("__KET__", "]").replace("__DOT__", ".")


def pct(hit, total):
    return 100.0 * hit / total if total else 100.0


def print_summary(summary, models, out):
    """The figures of summary.json, short."""
    cp, ln, tg = summary["cover_points"], summary["line"], summary["toggle"]
    fl = summary["floors"]
    print(f"coverage: {summary['coverage_files']['all']} model runs, models: {', '.join(models)}")
    print(
        f"  cover points  {cp['hit']}/{cp['total']} hit ({cp['percent']:.2f} %;"
        f" floor {fl['cover_points_percent']:.0f} %)"
    )
    print("    per model (for information; a point counts when any model that has it hit it):")
    per = cp["per_model_for_information"]
    print("    " + ", ".join(f"{m} {v['hit']}/{v['total']}" for m, v in per.items()))
    for name in cp["missed"][:20]:
        print(f"    MISSED {name}")
    if len(cp["missed"]) > 20:
        print(f"    ... {len(cp['missed']) - 20} more missed (cover_points.txt)")
    print(
        f"  line          {ln['hit']}/{ln['total']} lines ({ln['percent']:.2f} %;"
        f" floor {fl['line_percent']:.0f} %)"
    )
    for f, v in ln["per_file"].items():
        miss = v["missed_lines"]
        more = ""
        if miss:
            more = f"  missed: {', '.join(map(str, miss[:12]))}{' ...' if len(miss) > 12 else ''}"
        print(f"    {f:<24} {v['hit']:>4}/{v['total']:<4} {v['percent']:6.2f} %{more}")
    print(
        f"  toggle        {tg['hit']}/{tg['total']} bits ({tg['percent']:.2f} %; no floor;"
        " signals over 256 bits not followed)"
    )
    for e in summary["excluded"]:
        why = e["reason"] if len(e["reason"]) <= 72 else e["reason"][:69] + "..."
        print(f"  excluded      {e['file']}:{e['lines'][0]}-{e['lines'][1]}: {why}")
    for f in summary["not_simulated"]:
        print(f"  NOT SIMULATED {f}: no model elaborates it")
    if summary["wall_seconds"] is not None:
        print(f"  wall time     {summary['wall_seconds']:.0f} s (up to the report)")
    verdict = "PASS" if summary["pass"] else "FAIL: below the floor"
    print(f"coverage: {verdict} (summary: {out / 'summary.json'})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, type=pathlib.Path)
    ap.add_argument("--out", required=True, type=pathlib.Path)
    ap.add_argument("--root", default=".", type=pathlib.Path)
    ap.add_argument("--runs", default="", help="what ran, for the summary")
    ap.add_argument("--wall-seconds", type=float, default=None)
    args = ap.parse_args()

    all_files = sorted(args.data.glob("*.all.dat"))
    user_files = sorted(args.data.glob("*.user.dat"))
    if not all_files:
        print(f"coverage: no coverage files in {args.data}", file=sys.stderr)
        return 2
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    merged = out / "merged.dat"
    merge(all_files, merged, out)
    n_line = filter_dat(merged, out / "line.dat", ("v_line/", "v_branch/"))
    filter_dat(merged, out / "toggle.dat", ("v_toggle/",))
    if n_line == 0:
        print("coverage: no line points in the data", file=sys.stderr)
        return 2
    run(["verilator_coverage", "--write-info", out / "line.info", out / "line.dat"])
    run(["verilator_coverage", "--write-info", out / "toggle.info", out / "toggle.dat"])
    run(
        [
            "verilator_coverage",
            "--annotate",
            out / "annotated",
            "--annotate-min",
            "1",
            out / "line.dat",
        ]
    )

    # Lines (the floor) per file, from the lcov data genhtml shows.
    rtl = rtl_files(args.root)
    info = parse_info(out / "line.info")
    per_file = {}
    for f in sorted(set(info) | set(rtl)):
        das = info.get(f, {})
        hit = sum(1 for c in das.values() if c > 0)
        per_file[f] = {
            "hit": hit,
            "total": len(das),
            "percent": round(pct(hit, len(das)), 2),
            "missed_lines": sorted(n for n, c in das.items() if c == 0),
        }
    line_hit = sum(v["hit"] for v in per_file.values())
    line_total = sum(v["total"] for v in per_file.values())

    # Toggles (reported only), per point of the merged data.
    toggles = collections.Counter()
    toggles_hit = collections.Counter()
    seen_files = set()
    for keys, count in parse_dat(merged):
        seen_files.add(keys.get("f", ""))
        if keys.get("page", "").startswith("v_toggle/"):
            toggles[keys.get("f", "")] += 1
            toggles_hit[keys.get("f", "")] += count > 0
    not_simulated = [f for f in rtl if f not in seen_files]

    # Cover points, one per instance (hierarchy): counted over every model
    # that has it, as verilator_coverage merges points (the configurations
    # of one top share the hierarchy of what they have in common, e.g. lane
    # (0, 0); the KV260 models alone have column 63). Per model for
    # information.
    by_model = collections.Counter()
    for path in user_files:
        model = path.name.split(".")[0]
        for keys, count in parse_dat(path):
            if keys.get("page", "").startswith("v_user/"):
                by_model[(model, keys.get("h", "?"), keys.get("f", ""), keys.get("l", ""))] += count
    cover = collections.Counter()
    models_of = collections.defaultdict(set)
    for (m, h, fl, l), c in by_model.items():
        cover[(h, fl, l)] += c
        models_of[(h, fl, l)].add(m)
    models = sorted({k[0] for k in by_model})
    per_model = {}
    for m in models:
        pts = [c for k, c in by_model.items() if k[0] == m]
        per_model[m] = {
            "hit": sum(c > 0 for c in pts),
            "total": len(pts),
            "missed": sorted(pretty(k[1]) for k, c in by_model.items() if k[0] == m and c == 0),
        }
    missed = sorted(
        f"{pretty(h)} ({fl}:{l}; models {', '.join(sorted(models_of[(h, fl, l)]))})"
        for (h, fl, l), c in cover.items()
        if c == 0
    )
    with open(out / "cover_points.txt", "w", encoding="utf-8") as f:
        f.write("# hierarchy (file:line) count [models that have it]\n")
        for (h, fl, l), c in sorted(cover.items()):
            f.write(f"{pretty(h)} ({fl}:{l}) {c} [{' '.join(sorted(models_of[(h, fl, l)]))}]\n")
    cover_hit = sum(c > 0 for c in cover.values())
    cover_total = len(cover)

    excl = exclusions(args.root, rtl)
    line_pct = pct(line_hit, line_total)
    cover_pct = pct(cover_hit, cover_total)
    ok = (
        line_pct >= LINE_FLOOR
        and cover_total > 0
        and cover_pct >= COVER_FLOOR
        and not not_simulated
    )
    summary = {
        "floors": {"line_percent": LINE_FLOOR, "cover_points_percent": COVER_FLOOR},
        "pass": ok,
        "runs": args.runs,
        "wall_seconds": args.wall_seconds,
        "coverage_files": {"all": len(all_files), "user": len(user_files)},
        "cover_points": {
            "hit": cover_hit,
            "total": cover_total,
            "percent": round(cover_pct, 2),
            "per_model_for_information": per_model,
            "missed": missed,
        },
        "line": {
            "hit": line_hit,
            "total": line_total,
            "percent": round(line_pct, 2),
            "per_file": per_file,
        },
        "toggle": {
            "hit": sum(toggles_hit.values()),
            "total": sum(toggles.values()),
            "percent": round(pct(sum(toggles_hit.values()), sum(toggles.values())), 2),
            "per_file": {
                f: {"hit": toggles_hit[f], "total": toggles[f]} for f in sorted(toggles)
            },
            "note": "signals wider than 256 bits are not followed by Verilator's "
            "toggle coverage; per-lane and per-column cover points stand in for them",
        },
        "not_simulated": not_simulated,
        "excluded": excl,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    print_summary(summary, models, out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

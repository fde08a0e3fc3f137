#!/usr/bin/env python3
"""The import graph of the workspace: files and crates, and their circles.

Reads every library and binary crate of the workspace (from `cargo metadata`),
maps each .rs file to its module path, and draws an edge from a file to every
file whose items it names (`use crate::..`, `crate::..`, `super::..`,
`self::..` paths; `pub use` re-exports are followed to the file that defines
the item). `mod` declarations (parent -> child) are not edges. Prints the
strongly connected components with more than one file (import circles) and
the crate graph, and fails (exit 1) on any circle between files or crates,
or on a crate depending on one of a higher layer (LAYERS below).

    scripts/import-graph.py            # check; print a summary
    scripts/import-graph.py --edges    # also print every file edge
"""

import json
import re
import subprocess
import sys
from pathlib import Path

# Lower layers first: a crate may depend only on crates of lower layers.
LAYERS = [
    ["tritium-golden", "tritium-util"],
    ["tritium-sim", "tritium-simd", "tritium-gpu", "tritium-model", "tritium-fpga", "tritium-launch"],
    ["tritium-rtl", "tritium-cost"],
    ["tritium-toolkit"],
]

PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_RE = re.compile(r"\buse\s+(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)
PUB_USE_RE = re.compile(r"\bpub(?:\([a-z]+\))?\s+use\s+([A-Za-z_][\w:]*?)(?:::\{([^;]*)\}|::(\w+))\s*;", re.S)
MOD_RE = re.compile(r"^\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", re.M)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


class Crate:
    def __init__(self, name, root):
        self.name = name
        self.modules = {}  # module path tuple -> file
        self.files = {}  # file -> module path tuple
        self.walk(Path(root), ())

    def walk(self, file, path):
        if not file.exists() or file in self.files:
            return
        self.modules[path] = file
        self.files[file] = path
        text = strip_comments(file.read_text())
        # Inline `mod x { .. }` blocks (tests) belong to this file.
        base = file.parent if file.name in ("lib.rs", "main.rs", "mod.rs") else file.with_suffix("")
        for m in MOD_RE.finditer(text):
            name = m.group(1)
            for cand in (base / f"{name}.rs", base / name / "mod.rs"):
                if cand.exists():
                    self.walk(cand, path + (name,))
                    break

    def reexports(self, file):
        """name -> full module path the name comes from, for `pub use`."""
        out = {}
        here = self.files[file]
        text = strip_comments(file.read_text())
        for m in PUB_USE_RE.finditer(text):
            prefix, group, single = m.group(1), m.group(2), m.group(3)
            names = [single] if single else [n.strip() for n in group.split(",")]
            parts = prefix.split("::")
            if parts[0] == "crate":
                base = ()
                parts = parts[1:]
            elif parts[0] == "super":
                base = here[:-1]
                parts = parts[1:]
            elif parts[0] == "self":
                base = here
                parts = parts[1:]
            else:
                base = here
            for n in names:
                n = n.split(" as ")[0].strip()
                if n and n != "self" and n != "*":
                    out[n] = base + tuple(parts)
        return out

    def resolve(self, path, depth=0):
        """The file defining the item at `path` (a module path + item name)."""
        # Longest module prefix.
        for i in range(len(path), -1, -1):
            mod = path[:i]
            if mod in self.modules:
                rest = path[i:]
                f = self.modules[mod]
                if rest and depth < 8:
                    ex = self.reexports(f)
                    if rest[0] in ex:
                        return self.resolve(ex[rest[0]] + rest, depth + 1) or f
                return f
        return None

    def edges(self):
        out = {f: set() for f in self.files}
        for f, here in self.files.items():
            text = strip_comments(f.read_text())
            refs = []
            for m in USE_RE.finditer(text):
                kw, prefix, group = m.group(1), m.group(2), m.group(3)
                for item in re.split(r",(?![^{]*\})", group):
                    item = item.strip().split(" as ")[0].strip()
                    head = item.split("::{")[0]
                    if head and head != "*":
                        refs.append((kw, prefix + "::" + head))
                    elif head == "*":
                        refs.append((kw, prefix))
            for m in PATH_RE.finditer(text):
                refs.append((m.group(1), m.group(2)))
            for kw, rest in refs:
                parts = tuple(p for p in rest.split("::") if p and p != "self")
                if kw == "crate":
                    base = ()
                elif kw == "super":
                    # A file's `super` is its parent module; `super::super` further up.
                    base = here[:-1]
                    while parts and parts[0] == "super":
                        base, parts = base[:-1], parts[1:]
                else:
                    base = here
                target = self.resolve(base + parts)
                if target and target != f:
                    # An inline `mod tests` of `f` naming `super::x` means f itself.
                    out[f].add(target)
        return out


def sccs(graph):
    index, low, stack, on, res, i = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = i[0]
        i[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            res.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return res


def main():
    show_edges = "--edges" in sys.argv
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1"],
        check=True, capture_output=True, text=True).stdout)
    root = Path(meta["workspace_root"])
    names = {p["name"] for p in meta["packages"]}
    failed = False
    files = 0
    for p in sorted(meta["packages"], key=lambda p: p["name"]):
        for t in p["targets"]:
            if not set(t["kind"]) & {"lib", "bin"}:
                continue
            c = Crate(p["name"], t["src_path"])
            files += len(c.files)
            g = c.edges()
            if show_edges:
                for f, ts in sorted(g.items()):
                    for t2 in sorted(ts):
                        print(f"{f.relative_to(root)} -> {t2.relative_to(root)}")
            for comp in sccs(g):
                if len(comp) > 1:
                    failed = True
                    print(f"CIRCLE in {p['name']}: " + " <-> ".join(
                        str(x.relative_to(root)) for x in sorted(comp)))
    layer = {n: i for i, l in enumerate(LAYERS) for n in l}
    cgraph = {}
    for p in meta["packages"]:
        deps = [d["name"] for d in p["dependencies"]
                if d["name"] in names and d.get("kind") is None]
        cgraph[p["name"]] = deps
        for d in deps:
            if p["name"] not in layer or d not in layer:
                failed = True
                print(f"crate {p['name']} or {d} has no layer in scripts/import-graph.py")
            elif layer[d] >= layer[p["name"]]:
                failed = True
                print(f"UPWARD: {p['name']} (layer {layer[p['name']]}) depends on {d} (layer {layer[d]})")
    for comp in sccs(cgraph):
        if len(comp) > 1:
            failed = True
            print("CRATE CIRCLE: " + " <-> ".join(sorted(comp)))
    for n in sorted(cgraph):
        print(f"{n}: {', '.join(sorted(cgraph[n])) or '-'}")
    print(f"{files} files in {len(names)} crates: "
          + ("import circles or upward dependencies found" if failed else "no import circles, no upward dependencies"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

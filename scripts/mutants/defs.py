"""The mutant list, the equivalence arguments and the RTL hierarchy
(scripts/mutate.py)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTANTS_TOML = ROOT / "scripts/mutants/mutants.toml"
EQUIVALENT_TOML = ROOT / "scripts/mutants/equivalent.toml"

CLASSES = {
    "add-sub", "off-by-one", "neighbour", "stuck-bit", "handshake",
    "decoder-table", "zero-gate", "sign", "priority", "pointer", "counter",
}
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class DefinitionError(Exception):
    """A stale or malformed mutant definition: the campaign refuses to run."""


@dataclass
class Mutant:
    id: str
    cls: str
    file: str
    find: str
    replace: str
    expect: list[str] = field(default_factory=list)
    ci: bool = False

    def as_dict(self) -> dict:
        return {"id": self.id, "class": self.cls, "file": self.file,
                "expect": self.expect, "ci": self.ci}


def load_mutants(path: Path = MUTANTS_TOML) -> list[Mutant]:
    """Reads and validates the mutant list: unique ids, known classes and
    checks, and `find` occurring exactly once in its (unmutated) file."""
    from checks import CHECK_NAMES  # the check names `expect` may use

    data = tomllib.loads(path.read_text())
    unknown_keys = set(data) - {"mutant"}
    if unknown_keys:
        raise DefinitionError(f"{path}: unknown table(s) {sorted(unknown_keys)}")
    mutants: list[Mutant] = []
    seen: set[str] = set()
    errors: list[str] = []
    for i, d in enumerate(data.get("mutant", [])):
        where = f"{path.name}: mutant #{i + 1} ({d.get('id', '?')})"
        extra = set(d) - {"id", "class", "file", "find", "replace", "expect", "ci"}
        if extra:
            errors.append(f"{where}: unknown key(s) {sorted(extra)}")
        missing = [k for k in ("id", "class", "file", "find", "replace") if k not in d]
        if missing:
            errors.append(f"{where}: missing {', '.join(missing)}")
            continue
        m = Mutant(d["id"], d["class"], d["file"], d["find"], d["replace"],
                   list(d.get("expect", [])), bool(d.get("ci", False)))
        if not ID_RE.match(m.id):
            errors.append(f"{where}: id must be lowercase words joined by '-'")
        if m.id in seen:
            errors.append(f"{where}: id defined twice")
        seen.add(m.id)
        if m.cls not in CLASSES:
            errors.append(f"{where}: class {m.cls!r} not one of {sorted(CLASSES)}")
        for c in m.expect:
            if c not in CHECK_NAMES:
                errors.append(f"{where}: expect names unknown check {c!r}")
        if m.find == m.replace:
            errors.append(f"{where}: find and replace are the same")
        f = ROOT / m.file
        if not f.is_file() or not m.file.startswith("rtl/"):
            errors.append(f"{where}: {m.file} is not a file under rtl/")
            continue
        n = f.read_text().count(m.find)
        if n != 1:
            errors.append(f"{where}: `find` occurs {n} times in {m.file} (must be exactly once)")
        mutants.append(m)
    if not mutants and not errors:
        errors.append(f"{path}: no mutants")
    if errors:
        raise DefinitionError("stale or malformed mutants:\n  " + "\n  ".join(errors))
    return mutants


def load_equivalent(mutants: list[Mutant], path: Path = EQUIVALENT_TOML) -> dict[str, str]:
    """id -> argument of each mutant argued equivalent (every id must exist)."""
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text())
    ids = {m.id for m in mutants}
    out: dict[str, str] = {}
    for d in data.get("equivalent", []):
        if d.get("id") not in ids:
            raise DefinitionError(f"{path.name}: no mutant {d.get('id')!r}")
        if not d.get("argument", "").strip():
            raise DefinitionError(f"{path.name}: {d['id']}: empty argument")
        out[d["id"]] = " ".join(d["argument"].split())
    return out


_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


@dataclass
class Hierarchy:
    """Which RTL file each top module's hierarchy uses, from rtl/files.f and
    a scan of module instantiations (one module per file)."""

    modules: dict[str, str]          # module -> file (relative to ROOT)
    children: dict[str, set[str]]    # module -> modules it instantiates
    shared: set[str]                 # files with no module (packages, macros)

    @staticmethod
    def scan(root: Path = ROOT) -> "Hierarchy":
        files = [ln.strip() for ln in (root / "rtl/files.f").read_text().splitlines()
                 if ln.strip() and not ln.strip().startswith(("//", "#", "+", "-"))]
        texts = {f: _COMMENT.sub("", (root / f).read_text()) for f in files}
        modules: dict[str, str] = {}
        shared: set[str] = set()
        for f, t in texts.items():
            names = re.findall(r"^\s*module\s+(\w+)", t, re.M)
            if len(names) > 1:
                raise DefinitionError(f"{f}: more than one module")
            if names:
                modules[names[0]] = f
            else:
                shared.add(f)
        children: dict[str, set[str]] = {}
        for name, f in modules.items():
            body = texts[f]
            children[name] = {
                other for other in modules if other != name and re.search(
                    rf"\b{other}\b\s*(#\s*\(|[A-Za-z_]\w*\s*\()", body)
            }
        return Hierarchy(modules, children, shared)

    def files_of(self, top: str) -> set[str]:
        seen, todo = set(), [top]
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo.extend(self.children[m])
        return {self.modules[m] for m in seen} | self.shared

    def tops_using(self, file: str) -> set[str]:
        """Every module whose hierarchy contains `file`."""
        return {m for m in self.modules if file in self.files_of(m)}

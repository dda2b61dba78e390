"""Batch manifests: molecules × methods × jobs in one TOML file, validated whole and expanded into tasks.

A manifest names the molecules, the methods (every list is a factor of a product) and the jobs, and where
the results go::

    [molecules]
    dir = "small"                       # every *.xyz in it; or xyz = ["h2o.xyz", ...]; or multi = "set.xyz"
    charge = 0                          # defaults for every molecule (an XYZ comment "charge=1 spin=1" wins)
    spin = 0
    [molecules.override]
    no2 = { spin = 1 }                  # per molecule (its name: the file stem, or a multi-XYZ title)

    [methods]
    xc = ["b3lyp", "hf"]
    basis = ["6-31g"]
    correction = ["none", "losc"]       # any Method setting, a value or a list of values
    conv_tol = 1e-9

    [[jobs]]
    kind = "chempot"                    # run (specs), scan (state, channels, points|deltas, mode),
    state = "ground"                    # chempot (state, channels, n_virtual)
    channels = "frontier"

    [output]
    dir = "results"                     # relative to the manifest

:func:`read_manifest` checks everything before any task starts: the keys and values, every molecule (read,
built, electrons against the basis), every method, and every job on every molecule and method (specs and
channels resolved, scan channels on the scan's state).  Every error is one line naming the manifest line.
:func:`expand` turns the manifest into named :class:`~deltascf.records.Task` s (a scan over several channels
becomes one task per channel).
"""
from __future__ import annotations

import dataclasses
import difflib
import glob
import itertools
import os
import re
from dataclasses import dataclass

from .core import resolve_on
from .records import DEFAULT_POINTS, JOBS, N_VIRTUAL, Method, Molecule, ScanJob, StatesJob, Task, TheoremJob
from .settings import OptionInfo, check_value, show_value

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 with the tomli backport
    import tomli as tomllib

__all__ = ["Manifest", "ManifestError", "read_manifest", "expand", "NamedTask"]

_TABLES = {
    "molecules": ("xyz", "dir", "multi", "charge", "spin", "override"),
    "methods": ("basis", *(f.name for f in dataclasses.fields(Method))),
    "jobs": ("kind", "specs", "state", "channels", "points", "deltas", "mode", "n_virtual"),
    "output": ("dir",),
}
_JOB_KEYS = {"run": ("kind", "specs"), "scan": ("kind", "state", "channels", "points", "deltas", "mode"),
             "chempot": ("kind", "state", "channels", "n_virtual")}
#: ``key=value`` pairs in an XYZ comment line (the extended-XYZ convention) that set a molecule's charge or spin
_COMMENT_KEY = re.compile(r"\b(charge|spin)\s*=\s*(-?\d+)\b", re.IGNORECASE)


class ManifestError(ValueError):
    """A manifest that cannot be run; the message is one line naming the file and line."""


@dataclass(frozen=True)
class NamedTask:
    """A task and its readable name (``h2o b3lyp/6-31g chempot ground``)."""

    name: str
    task: Task


@dataclass(frozen=True)
class Manifest:
    """A validated manifest: named molecules, methods, jobs (before expansion) and the output directory."""

    path: str
    molecules: tuple  # ((name, atoms, charge, spin), ...); with a basis each becomes a Molecule
    methods: tuple  # (Method, ...), in product order; basis is a molecule input, so it is a separate factor
    bases: tuple
    jobs: tuple  # (StatesJob | ScanJob-with-channels | TheoremJob, ...): scan jobs hold a tuple of channels
    output: str


def _lines(text: str) -> dict:
    """{(table, index, key): line} of a TOML document written in the usual style (headers, ``key = value``)."""
    where, table, index, counts = {}, None, 0, {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        m = re.match(r"^\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]", line) or re.match(r"^\[\s*([A-Za-z0-9_.-]+)\s*\]", line)
        if m:
            table = m.group(1)
            index = counts.get(table, -1) + 1 if line.startswith("[[") else 0
            counts[table] = index
            where.setdefault((table, index, None), number)
            continue
        m = re.match(r"^([A-Za-z0-9_-]+)\s*=", line)
        if m and table is not None:
            where.setdefault((table, index, m.group(1)), number)
    return where


class _Reader:
    def __init__(self, path: str, text: str):
        self.path, self.base = path, os.path.dirname(os.path.abspath(path))
        self.where = _lines(text)
        self.origins = {}  # molecule name -> (table, key, note) of its charge and spin

    def line(self, table, key=None, index=0) -> int | None:
        return self.where.get((table, index, key)) or self.where.get((table, index, None))

    def fail(self, table, key, message, index=0, line_key=None):
        n = self.line(table, line_key or key, index)
        at = f" line {n}" if n else ""
        label = f"[{table}]" if table != "jobs" else f"[[jobs]] #{index + 1}"
        raise ManifestError(f"{self.path}:{at}: {label}{' ' + key if key else ''} {message}")

    def check(self, table, key, value, info, index=0):
        try:
            return check_value(value, info, "")
        except ValueError as exc:
            self.fail(table, key, str(exc).strip(), index)

    def listed(self, table, key, value, info, index=0) -> list:
        """A value or a non-empty list of values, each checked."""
        values = value if isinstance(value, list) else [value]
        if not values:
            self.fail(table, key, "must not be an empty list", index)
        return [self.check(table, key, v, info, index) for v in values]

    def keys(self, table, t, allowed, index=0):
        if not isinstance(t, dict):
            self.fail(table, None, f"must be a table, got {show_value(t)}", index)
        for key in t:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {hint[0]}?)" if hint else ""
                self.fail(table, str(key), f"is not a key of this table{hint}; keys: {', '.join(allowed)}", index)


_TEXT, _INT = OptionInfo("text"), OptionInfo("an integer", int)


def read_manifest(path) -> Manifest:
    """The validated manifest at ``path`` (ManifestError, one line, for anything a task would fail on)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: TOML syntax error: {' '.join(str(exc).split())}") from None
    r = _Reader(path, text)
    for table in doc:
        if table not in _TABLES:
            hint = difflib.get_close_matches(str(table), list(_TABLES), n=1)
            raise ManifestError(f"{path}: unknown table [{table}]" + (f" (did you mean [{hint[0]}]?)" if hint else "")
                                + f"; tables: {', '.join(_TABLES)}")
    for table in ("molecules", "methods", "jobs"):
        if table not in doc:
            raise ManifestError(f"{path}: the manifest needs a [{table}] table" if table != "jobs"
                                else f"{path}: the manifest needs at least one [[jobs]] table")
    molecules = _molecules(r, doc["molecules"])
    methods, bases = _methods(r, doc["methods"])
    jobs = _jobs(r, doc["jobs"])
    output = doc.get("output", {})
    r.keys("output", output, _TABLES["output"])
    out = os.path.normpath(os.path.join(r.base, r.check("output", "dir", output.get("dir", "results"), _TEXT)))
    manifest = Manifest(path, tuple(molecules), tuple(methods), tuple(bases), tuple(jobs), out)
    _check_combinations(r, manifest)
    return manifest


def _molecules(r: _Reader, t) -> list:
    from .cli.molecule import InputError, read_xyz

    r.keys("molecules", t, _TABLES["molecules"])
    sources = [k for k in ("xyz", "dir", "multi") if k in t]
    if len(sources) != 1:
        r.fail("molecules", None, "needs exactly one of xyz (a list of files), dir or multi")
    default = {k: r.check("molecules", k, t.get(k, 0), _INT) for k in ("charge", "spin")}
    found = []  # (name, atoms, comment, key of the source)
    try:
        if "xyz" in t:
            for f in r.listed("molecules", "xyz", t["xyz"], _TEXT):
                full = os.path.join(r.base, f)
                found.append((_stem(full), read_xyz(full), _comment(full, 0), "xyz"))
        elif "dir" in t:
            folder = os.path.join(r.base, r.check("molecules", "dir", t["dir"], _TEXT))
            if not os.path.isdir(folder):
                r.fail("molecules", "dir", f"{folder}: no such directory")
            files = sorted(glob.glob(os.path.join(glob.escape(folder), "*.xyz")))
            if not files:
                r.fail("molecules", "dir", f"{folder} holds no .xyz file")
            found += [(_stem(f), read_xyz(f), _comment(f, 0), "dir") for f in files]
        else:
            found += _multi(r, os.path.join(r.base, r.check("molecules", "multi", t["multi"], _TEXT)))
    except InputError as exc:
        r.fail("molecules", sources[0], f"{exc}")
    names = [name for name, *_ in found]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        r.fail("molecules", sources[0], f"names molecules twice: {', '.join(dup)}")
    override = t.get("override", {})
    if not isinstance(override, dict):
        r.fail("molecules", "override", "must be a table of molecule names")
    for key in override:
        if key not in names:
            r.fail("molecules", "override", f"names no molecule of the set: {show_value(key)}")
    out = []
    for name, atoms, comment, source in found:
        charge_spin = {**default, **comment}
        extra = override.get(name, {})
        r.origins[name] = _origin(r, t, name, extra, comment, source)
        if not isinstance(extra, dict) or set(extra) - {"charge", "spin"}:
            r.fail("molecules", "override", f"{name}: give a table of charge and spin, got {show_value(extra)}")
        charge_spin.update({k: r.check("molecules", "override", v, _INT) for k, v in extra.items()})
        out.append((name, atoms, charge_spin["charge"], charge_spin["spin"]))
    return out


def _origin(r: _Reader, t, name: str, extra, comment: dict, source: str) -> tuple:
    """(table, key, words) of where a molecule's charge and spin came from, for its build errors."""
    if extra:
        if r.where.get(("molecules.override", 0, name)):
            return "molecules.override", name, "[molecules.override]"
        return "molecules", "override", "[molecules] override"
    if comment:
        return "molecules", source, "its XYZ comment line"
    given = [k for k in ("spin", "charge") if k in t]
    return "molecules", given[0] if given else source, "[molecules]" if given else "the defaults"


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _comment(path: str, frame: int) -> dict:
    """charge=… spin=… from the comment line of an XYZ file."""
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    comment = lines[1] if len(lines) > 1 else ""
    return {k.lower(): int(v) for k, v in _COMMENT_KEY.findall(comment)}


def _multi(r: _Reader, path: str) -> list:
    """(name, atoms, comment values, key) of every frame of a multi-structure XYZ file."""
    import tempfile

    from .cli.molecule import read_xyz

    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        r.fail("molecules", "multi", f"{path}: cannot read")
    out, pos, k = [], 0, 0
    while pos < len(lines):
        if not lines[pos].strip():
            pos += 1
            continue
        try:
            natm = int(lines[pos].split()[0])
        except ValueError:
            r.fail("molecules", "multi", f"{path}: line {pos + 1} must give the number of atoms of a frame")
        frame = lines[pos:pos + natm + 2]
        title = frame[1].strip() if len(frame) > 1 else ""
        name = (title.split() or [f"frame{k + 1}"])[0]
        name = name if not _COMMENT_KEY.match(name) else f"frame{k + 1}"
        with tempfile.NamedTemporaryFile("w", suffix=".xyz", delete=False) as tmp:
            tmp.write("\n".join(frame) + "\n")
        try:
            atoms = read_xyz(tmp.name)
        finally:
            os.unlink(tmp.name)
        out.append((name, atoms, {k2.lower(): int(v) for k2, v in _COMMENT_KEY.findall(title)}, "multi"))
        pos += natm + 2
        k += 1
    if not out:
        r.fail("molecules", "multi", f"{path} holds no structure")
    return out


def _methods(r: _Reader, t):
    r.keys("methods", t, _TABLES["methods"])
    if "basis" not in t or "xc" not in t:
        r.fail("methods", None, "needs xc and basis (a value or a list each)")
    bases = r.listed("methods", "basis", t["basis"], _TEXT)
    factors = []
    for f in dataclasses.fields(Method):
        if f.name not in t:
            continue
        if f.name == "correction":
            values = [None if str(v).strip().lower() == "none" else v
                      for v in r.listed("methods", "correction", t["correction"], _TEXT)]
        else:
            values = r.listed("methods", f.name, t[f.name], f.metadata["option"])
        factors.append([(f.name, v) for v in values])
    methods = []
    for combo in itertools.product(*factors):
        try:
            methods.append(Method(**dict(combo)))
        except (ValueError, TypeError) as exc:
            key = next((k for k, _ in combo if k in str(exc)), "xc")
            r.fail("methods", key, str(exc))
    return methods, bases


def _jobs(r: _Reader, jobs) -> list:
    if isinstance(jobs, dict):
        jobs = [jobs]
    if not isinstance(jobs, list) or not jobs:
        r.fail("jobs", None, "must be one or more [[jobs]] tables")
    out = []
    for i, job in enumerate(jobs):
        r.keys("jobs", job, _TABLES["jobs"], i)
        kind = r.check("jobs", "kind", job.get("kind", ""), OptionInfo("job", choices=tuple(JOBS)), i)
        r.keys("jobs", job, _JOB_KEYS[kind], i)
        state = r.check("jobs", "state", job.get("state", "ground"), _TEXT, i)
        try:
            if kind == "run":
                specs = job.get("specs", [])
                out.append(StatesJob(specs=tuple(r.listed("jobs", "specs", specs, _TEXT, i)) if specs else ()))
            elif kind == "scan":
                if "channels" not in job:
                    r.fail("jobs", None, "a scan needs channels", i)
                channels = tuple(r.listed("jobs", "channels", job["channels"], _TEXT, i))
                deltas = job.get("deltas")
                if deltas is not None and not (isinstance(deltas, list) and deltas):
                    r.fail("jobs", "deltas", f"must be a list of numbers, got {show_value(deltas)}", i)
                out.append((ScanJob(channel=channels[0], state=state, deltas=None if deltas is None else tuple(
                    r.check("jobs", "deltas", d, OptionInfo("a number", float), i) for d in deltas),
                    points=job.get("points", DEFAULT_POINTS), mode=job.get("mode", "scf")), channels))
            else:
                channels = job.get("channels", "frontier")
                channels = channels if isinstance(channels, str) else tuple(
                    r.listed("jobs", "channels", channels, _TEXT, i))
                out.append(TheoremJob(state=state, channels=channels,
                                      n_virtual=job.get("n_virtual", N_VIRTUAL)))
        except ValueError as exc:
            if isinstance(exc, ManifestError):
                raise
            key = next((k for k in _JOB_KEYS[kind] if k in str(exc)), "kind")
            r.fail("jobs", key, str(exc).strip(), i)
    return out


def _check_combinations(r: _Reader, manifest: Manifest) -> None:
    """Every job on every molecule, basis and method, as the command line would check it before any SCF."""
    from .cli.molecule import InputError, build_mol
    from .corrections import check_correction

    for (name, atoms, charge, spin), basis in itertools.product(manifest.molecules, manifest.bases):
        try:
            mol = build_mol(atoms, basis, charge, spin)
        except InputError as exc:
            table, key, words = r.origins[name]
            r.fail(table, None, f"{name}: {exc} (charge {charge}, spin {spin} from {words})", line_key=key)
        for method in manifest.methods:
            what = f"{name} with {method.xc}/{basis}"
            if method.restricted and mol.spin != 0:
                r.fail("methods", "reference", f"{method.reference} needs spin 0, but {name} has spin {mol.spin}")
            try:
                check_correction(mol, method)
            except ValueError as exc:
                r.fail("methods", "correction", f"{what}: {exc}")
            for i, job in enumerate(manifest.jobs):
                _check_job(r, i, job, mol, method, what)


def _check_job(r: _Reader, i: int, job, mol, method, what: str) -> None:
    """One job on one molecule and method; an error names the job's key that caused it."""
    from pyscf.data.elements import chemcore

    from .chempot import make_channels, resolve_channels
    from .fractional import make_deltas
    from .occupations import Channel, Occupation

    def check(key, fn):
        try:
            return fn()
        except ValueError as exc:
            r.fail("jobs", key, f"on {what}: {exc}", i)

    if isinstance(job, StatesJob):
        for spec in job.specs:
            check("specs", lambda: resolve_on(mol, Occupation.parse(spec), method.restricted))
        return
    if method.restricted:
        r.fail("jobs", "kind", f"on {what}: needs an unrestricted reference (uks or uhf)", i)
    scan = job[0] if isinstance(job, tuple) else None
    state = scan.state if scan is not None else job.state
    target = check("state", lambda: resolve_on(mol, Occupation.parse(state), False).mo_occ)
    if scan is not None:
        for ch in job[1]:
            check("channels", lambda: Channel.parse(ch).resolve(target))
        check("deltas" if scan.deltas is not None else "points", lambda: make_deltas(scan.deltas, scan.points))
        return

    def channels():
        chans = make_channels(target, job.channels, chemcore(mol), job.n_virtual)
        if not chans:
            raise ValueError("no channels")
        resolve_channels(chans, target)

    check("channels", channels)


def expand(manifest: Manifest) -> list:
    """Every task of the manifest, named, in the order molecules × bases × methods × jobs (× channels)."""
    out = []
    for (name, atoms, charge, spin), basis in itertools.product(manifest.molecules, manifest.bases):
        molecule = Molecule(atom=atoms, basis=basis, charge=charge, spin=spin)
        for method in manifest.methods:
            label = f"{name} {method.xc}/{basis}" + (f"+{method.correction}" if method.correction else "")
            for job in manifest.jobs:
                if isinstance(job, tuple):
                    for ch in job[1]:
                        scan = dataclasses.replace(job[0], channel=ch)
                        out.append(NamedTask(f"{label} scan {scan.state} {ch}", Task(molecule, method, scan)))
                elif isinstance(job, StatesJob):
                    specs = " ".join(job.specs) or "ground"
                    out.append(NamedTask(f"{label} run {specs}", Task(molecule, method, job)))
                else:
                    out.append(NamedTask(f"{label} chempot {job.state}", Task(molecule, method, job)))
    return out

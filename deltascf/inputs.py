"""TOML input files for ``deltascf run|scan|chempot`` and their equivalent Python scripts (design §9).

A TOML file is a data view of the command line: :func:`read_input` validates
it and returns the option values under the ``argparse`` dest names of the
flags they stand for, so the command line can lay them under its own flags
(a flag given on the command line wins).  Only the options the file sets are
returned, plus ``"command"``.

The mapping::

    TOML                                 option key       CLI flag
    command (top level)                  command          the sub-command
    [molecule] atom (str or [str])       atom             --atom ([str] joined by "; ")
    [molecule] xyz                       molecule         the positional XYZ file
    [molecule] basis / charge / spin     same names       --basis / --charge / --spin
    [method] xc / reference / tracking   same names       --xc / --reference / --tracking
    [method] density_fit / grid_level    same names       --density-fit / --grid-level
    [method] conv_tol / max_cycle        same names       --conv-tol / --max-cycle
    [state] spec                         state            --state (a one-item list for run)
    [state] specs (run only)             state (list)     --state, repeated
    [scan] channel / points / mode       same names       --channel / --points / --mode
    [scan] delta = {start, stop, num}    deltas           --deltas (string "0.0,0.5,1.0")
    [scan] deltas = [0, 0.5, 1]          deltas           --deltas (string "0.0,0.5,1.0")
    [chempot] channels (str or [str])    channels         --channels ([str] joined by ",")
    [losc] mode                          losc             --losc
    [losc] fit_basis                     losc_fit_basis   --losc-fit-basis
    [losc] window = [lo, hi]             losc_window      --losc-window (string "lo,hi")
    [output] json                        json             --json
    [output] study                       output           --output

Paths in a file (``xyz``, ``json``, ``study``) are relative to the file's
directory; ``json = "-"`` stays stdout.  The command is the top-level
``command`` key, else ``scan`` with a ``[scan]`` table, ``chempot`` with a
``[chempot]`` table, else ``run``.

:func:`make_python_script` writes the equivalent script on the public API
for a (merged) set of options; it prints the command's ``--json`` object on
its last line.
"""
from __future__ import annotations

import difflib
import math
import os
import re

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 with the tomli backport
    try:
        import tomli as tomllib
    except ModuleNotFoundError:
        tomllib = None

__all__ = ["InputFileError", "read_input", "make_python_script", "COMMANDS", "OPTION_DEFAULTS"]

COMMANDS = ("run", "scan", "chempot")
REFERENCES = ("uks", "rks", "uhf", "rhf")
TRACKINGS = ("imom", "mom")
SCAN_MODES = ("scf", "ensemble")
LOSC_MODES = ("post", "scf")
#: most δ points a file may ask for (``points`` or ``delta.num``)
MAX_POINTS = 10_000

#: the command line's defaults, for the options a file and the flags leave unset
OPTION_DEFAULTS = {
    "molecule": None, "atom": None, "basis": None, "xc": None, "charge": 0, "spin": 0, "reference": "uks",
    "tracking": "imom", "density_fit": None, "grid_level": None, "conv_tol": 1e-9, "max_cycle": 100,
    "json": None, "output": None, "losc": None, "losc_fit_basis": None, "losc_window": None,
    "state": None, "channel": None, "points": 11, "deltas": None, "mode": "scf", "channels": "frontier",
}

_KEYS = {
    "molecule": ("atom", "xyz", "basis", "charge", "spin"),
    "method": ("xc", "reference", "tracking", "density_fit", "grid_level", "conv_tol", "max_cycle"),
    "state": ("spec", "specs"),
    "scan": ("channel", "points", "delta", "deltas", "mode"),
    "chempot": ("channels",),
    "losc": ("mode", "fit_basis", "window"),
    "output": ("json", "study"),
}
_DELTA_KEYS = ("start", "stop", "num")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


class InputFileError(ValueError):
    """A TOML input file that cannot be used; the message is one line naming the file and the table.key."""


# -- showing values and names in one line ------------------------------------------------
def _show(value, limit: int = 48) -> str:
    """A value as a TOML user would recognise it, one line, at most ``limit`` characters."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "a table {" + ", ".join(_key(k) for k in value) + "}"
    elif isinstance(value, float) and not math.isfinite(value):
        text = "nan" if value != value else ("inf" if value > 0 else "-inf")
    elif isinstance(value, (str, int, float, list)):
        text = repr(value)
    else:  # TOML dates and times
        text = f"{type(value).__name__} {value}"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _key(name) -> str:
    name = str(name)
    return name if _BARE_KEY.match(name) else _show(name)


def _file_name(path) -> str:
    name = os.fspath(path)
    name = name.decode(errors="replace") if isinstance(name, bytes) else name
    return name if name.isprintable() else repr(name)


# -- reading ---------------------------------------------------------------------------------
class _Reader:
    """Validation of one parsed document; every error names ``[table] key``."""

    def __init__(self, name: str, base_dir: str):
        self.name = name
        self.base_dir = base_dir

    def fail(self, where: str, message: str):
        raise InputFileError(f"{self.name}: {where} {message}")

    # typed getters: ``where`` is "[table] key"
    def string(self, where, value, allow_empty=False) -> str:
        if not isinstance(value, str):
            self.fail(where, f"must be a string, got {_show(value)}")
        if not allow_empty and not value.strip():
            self.fail(where, "must not be empty")
        return value

    def integer(self, where, value, lo=None, hi=None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"must be an integer, got {_show(value)}")
        if lo is not None and value < lo or hi is not None and value > hi:
            if hi is None:
                self.fail(where, f"must be an integer >= {lo}, got {value}")
            self.fail(where, f"must be an integer in {lo}..{hi}, got {value}")
        return value

    def number(self, where, value) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(where, f"must be a number, got {_show(value)}")
        try:
            value = float(value)
        except OverflowError:  # a 64-bit TOML integer always fits; be safe anyway
            self.fail(where, "is too large")
        if not math.isfinite(value):
            self.fail(where, f"must be a finite number, got {_show(value)}")
        return value

    def choice(self, where, value, choices) -> str:
        text = self.string(where, value).strip().lower()
        if text not in choices:
            self.fail(where, f"must be one of {', '.join(choices)}, got {_show(value)}")
        return text

    def strings(self, where, value, allow_list=True) -> list:
        """A string or a non-empty list of strings, as a list."""
        if isinstance(value, str):
            return [self.string(where, value)]
        if not allow_list or not isinstance(value, list):
            self.fail(where, f"must be a string{' or a list of strings' if allow_list else ''}, got {_show(value)}")
        if not value:
            self.fail(where, "must not be an empty list")
        return [self.string(f"{where}[{k}]", v) for k, v in enumerate(value)]

    def path(self, where, value, allow_stdout=False) -> str:
        text = self.string(where, value)
        if allow_stdout and text == "-":
            return text
        if "\x00" in text:
            self.fail(where, "must not contain a NUL character")
        try:
            text = os.path.expanduser(text)
        except (KeyError, ValueError):  # ~user that does not exist
            pass
        return os.path.normpath(os.path.join(self.base_dir, text))

    def table(self, where, value, allowed) -> dict:
        if not isinstance(value, dict):
            self.fail(where, f"must be a table, got {_show(value)}")
        sep = " " if where.endswith("]") else "."
        for key in value:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {hint[0]}?)" if hint else ""
                self.fail(f"{where}{sep}{_key(key)}:", f"unknown key{hint}; allowed: {', '.join(allowed)}")
        return value

    # the document --------------------------------------------------------------------------
    def read(self, doc: dict, command: str | None) -> dict:
        for key, value in doc.items():
            if key == "command":
                continue
            if key not in _KEYS:
                hint = difflib.get_close_matches(str(key), list(_KEYS), n=1)
                hint = f" (did you mean [{hint[0]}]?)" if hint else ""
                raise InputFileError(f"{self.name}: unknown table [{_key(key)}]{hint}; "
                                     f"tables: {', '.join(_KEYS)} (and the top-level key command)")
            self.table(f"[{key}]", value, _KEYS[key])
        command = self.command(doc, command)
        opts = {"command": command}
        for table, reader in (("molecule", self.molecule), ("method", self.method), ("state", self.state),
                              ("scan", self.scan), ("chempot", self.chempot), ("losc", self.losc),
                              ("output", self.output)):
            if table in doc:
                reader(doc[table], opts)
        return opts

    def command(self, doc: dict, given: str | None) -> str:
        wanted = [t for t in ("scan", "chempot") if t in doc]
        if len(wanted) > 1:
            raise InputFileError(f"{self.name}: [scan] and [chempot] cannot both be given (one command per file)")
        declared = None
        if "command" in doc:
            declared = self.choice("command", doc["command"], COMMANDS)
        for source, name in (("the file's command", declared), ("the command line", given)):
            if name is not None and wanted and name != wanted[0]:
                raise InputFileError(f"{self.name}: [{wanted[0]}] is for the {wanted[0]} command, "
                                     f"but {source} is {name}")
        if declared is not None and given is not None and declared != given:
            raise InputFileError(f"{self.name}: command = {declared!r}, but the command line runs {given}")
        return declared or given or (wanted[0] if wanted else "run")

    def molecule(self, t: dict, opts: dict) -> None:
        if "atom" in t and "xyz" in t:
            self.fail("[molecule] atom", "and [molecule] xyz are exclusive; give one molecule")
        if "atom" in t:
            opts["atom"] = "; ".join(s.strip() for s in self.strings("[molecule] atom", t["atom"]))
        if "xyz" in t:
            path = self.path("[molecule] xyz", t["xyz"])
            if not os.path.isfile(path):
                self.fail("[molecule] xyz", f"{_show(t['xyz'])}: no such file ({_show(path, 200)})")
            opts["molecule"] = path
        if "basis" in t:
            opts["basis"] = self.string("[molecule] basis", t["basis"]).strip()
        if "charge" in t:
            opts["charge"] = self.integer("[molecule] charge", t["charge"])
        if "spin" in t:
            opts["spin"] = self.integer("[molecule] spin", t["spin"], lo=0)

    def method(self, t: dict, opts: dict) -> None:
        if "xc" in t:
            opts["xc"] = self.string("[method] xc", t["xc"]).strip()
        if "reference" in t:
            opts["reference"] = self.choice("[method] reference", t["reference"], REFERENCES)
        if "tracking" in t:
            opts["tracking"] = self.choice("[method] tracking", t["tracking"], TRACKINGS)
        if "density_fit" in t:
            opts["density_fit"] = self.string("[method] density_fit", t["density_fit"]).strip()
        if "grid_level" in t:
            opts["grid_level"] = self.integer("[method] grid_level", t["grid_level"], lo=0, hi=9)
        if "conv_tol" in t:
            tol = self.number("[method] conv_tol", t["conv_tol"])
            if tol <= 0:
                self.fail("[method] conv_tol", f"must be positive, got {_show(t['conv_tol'])}")
            opts["conv_tol"] = tol
        if "max_cycle" in t:
            opts["max_cycle"] = self.integer("[method] max_cycle", t["max_cycle"], lo=1)

    def state(self, t: dict, opts: dict) -> None:
        run = opts["command"] == "run"
        if "spec" in t and "specs" in t:
            self.fail("[state] spec", "and [state] specs are exclusive")
        if "spec" in t:
            spec = self.string("[state] spec", t["spec"]).strip()
            opts["state"] = [spec] if run else spec
        if "specs" in t:
            if not run:
                self.fail("[state] specs", f"is for run (several states); {opts['command']} takes one [state] spec")
            if not isinstance(t["specs"], list):
                self.fail("[state] specs", f"must be a list of strings, got {_show(t['specs'])}")
            opts["state"] = [self.string(f"[state] specs[{k}]", s).strip() for k, s in enumerate(t["specs"])]

    def scan(self, t: dict, opts: dict) -> None:
        grids = [k for k in ("points", "delta", "deltas") if k in t]
        if len(grids) > 1:
            self.fail(f"[scan] {grids[0]}", f"and [scan] {grids[1]} are exclusive; give one δ grid")
        if "channel" in t:
            opts["channel"] = self.string("[scan] channel", t["channel"]).strip()
        if "mode" in t:
            opts["mode"] = self.choice("[scan] mode", t["mode"], SCAN_MODES)
        if "points" in t:
            opts["points"] = self.integer("[scan] points", t["points"], lo=2, hi=MAX_POINTS)
        if "delta" in t:
            d = self.table("[scan] delta", t["delta"], _DELTA_KEYS)
            if "num" not in d:
                self.fail("[scan] delta", "needs num (and optionally start = 0.0, stop = 1.0)")
            start = self.number("[scan] delta.start", d.get("start", 0.0))
            stop = self.number("[scan] delta.stop", d.get("stop", 1.0))
            num = self.integer("[scan] delta.num", d["num"], lo=2, hi=MAX_POINTS)
            if not 0.0 <= start < stop <= 1.0:
                self.fail("[scan] delta", f"needs 0 <= start < stop <= 1, got start = {start!r}, stop = {stop!r}")
            opts["deltas"] = _join(_linspace(start, stop, num))
        if "deltas" in t:
            values = t["deltas"]
            if not isinstance(values, list):
                self.fail("[scan] deltas", f"must be a list of numbers, got {_show(values)}")
            if not 2 <= len(values) <= MAX_POINTS:
                self.fail("[scan] deltas", f"needs 2..{MAX_POINTS} values, got {len(values)}")
            values = [self.number(f"[scan] deltas[{k}]", v) for k, v in enumerate(values)]
            if min(values) < 0.0 or max(values) > 1.0:
                self.fail("[scan] deltas", "values must lie in [0, 1]")
            if any(b <= a for a, b in zip(values, values[1:])):
                self.fail("[scan] deltas", "must be sorted in increasing order without repeats")
            opts["deltas"] = _join(values)

    def chempot(self, t: dict, opts: dict) -> None:
        if "channels" in t:
            opts["channels"] = ",".join(s.strip() for s in self.strings("[chempot] channels", t["channels"]))

    def losc(self, t: dict, opts: dict) -> None:
        if "mode" in t:
            opts["losc"] = self.choice("[losc] mode", t["mode"], LOSC_MODES)
        if "fit_basis" in t:
            opts["losc_fit_basis"] = self.string("[losc] fit_basis", t["fit_basis"]).strip()
        if "window" in t:
            w = t["window"]
            if not isinstance(w, list) or len(w) != 2:
                self.fail("[losc] window", f"must be a list [lo, hi] of two numbers (eV), got {_show(w)}")
            lo, hi = (self.number(f"[losc] window[{k}]", v) for k, v in enumerate(w))
            if not lo < hi:
                self.fail("[losc] window", f"needs lo < hi, got {_show(w)}")
            opts["losc_window"] = _join((lo, hi))

    def output(self, t: dict, opts: dict) -> None:
        if "json" in t:
            opts["json"] = self.path("[output] json", t["json"], allow_stdout=True)
        if "study" in t:
            opts["output"] = self.path("[output] study", t["study"])


def _linspace(start: float, stop: float, num: int) -> list:
    import numpy as np

    return [float(x) for x in np.linspace(start, stop, num)]


def _join(values) -> str:
    """Comma-separated floats that ``float()`` reads back exactly."""
    return ",".join(repr(float(v)) for v in values)


def _syntax_message(exc: Exception, text: str) -> str:
    msg = " ".join(str(exc).split())
    if "(at end of document)" in msg:
        lines = text.split("\n")
        where = f"(at end of document, line {len(lines)}, column {len(lines[-1]) + 1})"
        msg = msg.replace("(at end of document)", where)
    return msg


def read_input(path, command: str | None = None) -> dict:
    """Options from a TOML input file, validated, keyed by the CLI's dest names.

    Parameters
    ----------
    path : str or os.PathLike
        The TOML file.  Relative paths inside it are taken from its directory.
    command : {"run", "scan", "chempot"}, optional
        The command the file is used with (the command line's); the file's
        ``command`` key and its ``[scan]``/``[chempot]`` tables must agree.

    Returns
    -------
    dict
        ``"command"`` and every option the file sets (see the module table);
        options the file leaves out are absent, so flags and defaults fill them.

    Raises
    ------
    InputFileError
        One line naming the file and the offending ``[table] key``: unknown
        tables and keys, wrong types (a boolean is not an integer), non-finite
        numbers, values out of range, TOML syntax errors (with line and
        column), or a file that cannot be read.
    """
    name = _file_name(path)
    if command is not None and command not in COMMANDS:
        raise ValueError(f"command must be one of {', '.join(COMMANDS)}, got {command!r}")
    if tomllib is None:  # pragma: no cover
        raise InputFileError(f"{name}: reading TOML needs Python >= 3.11 or the tomli package")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise InputFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{name}: is a directory, not a TOML file") from None
    except (OSError, ValueError) as exc:  # permissions, NUL in the name, ...
        raise InputFileError(f"{name}: cannot read ({exc.__class__.__name__}: {' '.join(str(exc).split())})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InputFileError(f"{name}: not UTF-8 text (invalid byte at line {line})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"{name}: TOML syntax error: {_syntax_message(exc, text)}") from None
    except RecursionError:
        raise InputFileError(f"{name}: TOML syntax error: arrays or tables nested too deeply") from None
    base_dir = os.path.dirname(os.path.abspath(os.fspath(path)))
    if isinstance(base_dir, bytes):
        base_dir = os.fsdecode(base_dir)
    return _Reader(name, base_dir).read(doc, command)


# -- the equivalent Python script ------------------------------------------------------------
def _lit(value) -> str:
    """A Python literal for ``value`` (non-finite floats included)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_lit(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} as a literal")


def _floats(text: str, what: str) -> list:
    try:
        return [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{what} {text!r}: expected comma-separated numbers") from None


def _is_ground(spec: str) -> bool:
    from .occupations import Occupation, SpecError

    try:
        return Occupation.parse(spec).is_ground
    except SpecError:  # let the script raise it where the API does
        return False


def make_python_script(opts) -> str:
    """The Python script (public API only) equivalent to ``deltascf <command>`` with ``opts``.

    ``opts`` is a dict (or ``argparse.Namespace``) with the CLI's dest names,
    e.g. :func:`read_input`'s result merged with the flags; missing options
    take the command line's defaults.  The script prints the readable table
    (unless ``json`` is ``"-"``) and, on its last line, the command's
    ``--json`` object; it writes ``json`` and ``output`` files like the CLI.

    Raises ``ValueError`` (one line) when the options cannot make a script:
    no molecule or two, no basis, xc or scan channel, an unknown command.
    """
    if not isinstance(opts, dict):
        opts = vars(opts)
    o = dict(OPTION_DEFAULTS)
    o.update({k: v for k, v in opts.items() if v is not None or k not in o})
    command = o.get("command") or "run"
    if command not in COMMANDS:
        raise ValueError(f"command must be one of {', '.join(COMMANDS)}, got {command!r}")
    if (o["molecule"] is None) == (o["atom"] is None):
        raise ValueError("give exactly one molecule: an XYZ file (molecule) or atom")
    for key in ("basis", "xc") + (("channel",) if command == "scan" else ()):
        if not o.get(key):
            raise ValueError(f"the script needs {key}")

    state = o["state"]
    if command == "run":
        specs = [] if state is None else [state] if isinstance(state, str) else list(state)
    else:
        if isinstance(state, (list, tuple)):
            if len(state) > 1:
                raise ValueError(f"{command} takes one state, got {list(state)!r}")
            state = state[0] if state else None
        state = state or "ground"

    lines = [
        f'"""`deltascf {command}` as a Python script (written by deltascf.inputs.make_python_script)."""',
        "import json",
        "",
        "from pyscf import gto",
        "",
        "import deltascf",
        "import deltascf.report",
    ]
    if command == "scan":
        lines.append("import deltascf.fractional")
    if command == "chempot":
        lines.append("import deltascf.chempot")
    if o["losc"]:
        lines.append("from deltascf.functionals import LoscSettings")
        if command == "run":
            lines.append("from deltascf.scf import run_losc")
    lines.append("")
    if o["molecule"] is not None:
        lines += [f"with open({_lit(str(o['molecule']))}, encoding='utf-8') as fh:  # XYZ file (Angstrom)",
                  "    atom = '; '.join(ln.strip() for ln in fh.read().splitlines()[2:] if ln.strip())"]
    else:
        lines.append(f"atom = {_lit(str(o['atom']))}")
    lines += [
        f"mol = gto.M(atom=atom, basis={_lit(o['basis'])}, charge={_lit(int(o['charge']))}, "
        f"spin={_lit(int(o['spin']))}, unit='Angstrom', verbose=0)",
        "",
        f"xc = {_lit(o['xc'])}",
        f"options = dict(reference={_lit(o['reference'])}, tracking={_lit(o['tracking'])}, "
        f"density_fit={_lit(o['density_fit'])}, grid_level={_lit(o['grid_level'])},",
        f"               conv_tol={_lit(float(o['conv_tol']))}, max_cycle={_lit(int(o['max_cycle']))})",
    ]
    losc_kw = ""
    if o["losc"]:
        args = []
        if o["losc_window"]:
            window = _floats(o["losc_window"], "losc_window")
            if len(window) != 2:
                raise ValueError(f"losc_window {o['losc_window']!r}: expected two numbers LO,HI")
            args.append(f"window={_lit(tuple(window))}")
        if o["losc_fit_basis"]:
            args.append(f"kappa_coulomb='df', auxbasis={_lit(o['losc_fit_basis'])}")
        note = "  # window in eV" if o["losc_window"] else ""
        lines.append(f"losc_settings = LoscSettings({', '.join(args)}){note}")
        losc_kw = f", losc={_lit(o['losc'])}, losc_settings=losc_settings"
    lines.append("")

    if command == "run":
        lines += ["ground = deltascf.run_state(mol, xc, 'ground', **options)",
                  "results = {'ground': ground}"]
        for k, spec in enumerate(s for s in specs if not _is_ground(s)):
            lines.append(f"results['state{k + 1}'] = deltascf.run_state(mol, xc, {_lit(spec)}, ground=ground, "
                         "**options)")
        if o["losc"]:
            lines.append(f"corrections = [run_losc(mol, r, {_lit(o['losc'])}, losc_settings) "
                         "for r in results.values()]")
        else:
            lines.append("corrections = None")
        args = "list(results), list(results.values()), ground, corrections"
        lines += [f"summary = deltascf.report.make_states_summary({args})",
                  f"text = deltascf.report.format_states({args})"]
        records = "list(results.items()) + list(zip(results, corrections or []))"
    elif command == "scan":
        if o["deltas"] is not None:
            values = _floats(o["deltas"], "deltas")
            if len(values) >= 2 and values == _linspace(0.0, 1.0, len(values)):
                grid = f"points={len(values)}"  # the same evenly spaced grid
            else:
                grid = f"deltas={_lit(values)}"
        else:
            grid = f"points={_lit(int(o['points']))}"
        lines += [f"scan = deltascf.fractional.scan_charge(mol, xc, {_lit(state)}, {_lit(o['channel'])}, {grid}, "
                  f"mode={_lit(o['mode'])}{losc_kw}, **options)",
                  "summary = deltascf.report.make_scan_summary(scan)",
                  "text = deltascf.report.format_scan(scan)"]
        records = "[('scan', scan)]"
    else:
        lines += [f"table = deltascf.chempot.chemical_potentials(mol, xc, {_lit(state)}, {_lit(o['channels'])}"
                  f"{losc_kw}, **options)",
                  "summary = deltascf.report.make_theorem_summary(table)",
                  "text = deltascf.report.format_theorem(table)"]
        records = "[('theorem', table)]"

    if o["output"]:
        lines += ["", f"for label, record in {records}:",
                  f"    deltascf.save({_lit(str(o['output']))}, record, mol=mol, label=label)"]
    if o["json"] and o["json"] != "-":
        lines += ["", f"with open({_lit(str(o['json']))}, 'w', encoding='utf-8') as fh:",
                  "    json.dump(summary, fh, indent=2)", "    fh.write('\\n')"]
    lines.append("")
    if o["json"] != "-":
        lines.append("print(text)")
    lines.append("print(json.dumps(summary))  # the --json object, on the last line")
    return "\n".join(lines) + "\n"

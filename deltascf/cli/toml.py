"""TOML input files for ``deltascf run|scan|chempot`` (design §9): a data view of the command line.

:func:`read_input` validates a file and returns the option values under the ``dest`` names of the flags they
stand for (:mod:`deltascf.cli.options`), so the command line lays them under its own flags (a flag given on the
command line wins).  Only the options the file sets are returned, plus ``"command"``.  Values come back as the
command line would give them: numbers as numbers, lists of δ values and energy windows as comma-separated text.

The tables and keys are those of the options table (``toml_keys()``): ``[molecule]`` (``atom`` or ``xyz``,
``basis``, ``charge``, ``spin``), ``[method]`` (every ``Method`` setting, and ``correction = "losc:scf"``),
``[state]`` (``spec``; ``specs`` for run), ``[scan]`` (``channel``, ``points``, ``delta = {start, stop,
num}`` or ``deltas = [...]``, ``mode``), ``[chempot]`` (``channels``, ``n_virtual``), one table per
correction (``[losc]``: ``mode``, ``fit_basis``, ``window = [lo, hi]``) and ``[output]`` (``json``,
``study``).  Paths (``xyz``, ``json``, ``study``) are relative to the file's directory; ``json = "-"`` stays
stdout.  The command is the top-level ``command`` key, else ``scan`` with a ``[scan]`` table, ``chempot``
with a ``[chempot]`` table, else ``run``.
"""
from __future__ import annotations

import difflib
import os
import re

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 with the tomli backport
    try:
        import tomli as tomllib
    except ModuleNotFoundError:
        tomllib = None

from ..records import MAX_POINTS
from ..settings import OptionInfo, check_value, show_value
from .options import COMMANDS, options, toml_keys

__all__ = ["InputFileError", "read_input", "join_values"]

_DELTA_KEYS = ("start", "stop", "num")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


class InputFileError(ValueError):
    """A TOML input file that cannot be used; the message is one line naming the file and the table.key."""


def _key(name) -> str:
    name = str(name)
    return name if _BARE_KEY.match(name) else show_value(name)


def _file_name(path) -> str:
    name = os.fspath(path)
    name = name.decode(errors="replace") if isinstance(name, bytes) else name
    return name if name.isprintable() else repr(name)


#: the option a key read in its own way sets
_SPECIAL_DEST = {("molecule", "atom"): "atom", ("molecule", "xyz"): "molecule", ("state", "spec"): "state",
                 ("state", "specs"): "state", ("scan", "delta"): "deltas", ("scan", "deltas"): "deltas",
                 ("chempot", "channels"): "channels", ("output", "json"): "json", ("output", "study"): "output",
                 ("method", "correction"): "correction"}


def _dest_of(table: str, key: str, command: str) -> str | None:
    """The dest of the option a file key sets."""
    if (table, key) in _SPECIAL_DEST:
        return _SPECIAL_DEST[(table, key)]
    o = _option_at(table, key, command)
    return None if o is None else o.dest


def _option_at(table: str, key: str, command: str):
    """The option a file key stands for (the one of ``command`` where two share the key)."""
    found = [o for o in options() if o.toml == (table, key)]
    return next((o for o in found if command in o.commands), found[0] if found else None)


# -- reading ---------------------------------------------------------------------------------
class _Reader:
    """Validation of one parsed document; every error names ``[table] key``."""

    def __init__(self, name: str, base_dir: str, skip=()):
        self.name = name
        self.base_dir = base_dir
        self.skip = set(skip)

    def fail(self, where: str, message: str):
        raise InputFileError(f"{self.name}: {where} {message}")

    def check(self, where: str, value, info: OptionInfo):
        try:
            return check_value(value, info, where)
        except ValueError as exc:
            raise InputFileError(f"{self.name}: {exc}") from None

    def strings(self, where, value) -> list:
        """A string or a non-empty list of strings, as a list."""
        if isinstance(value, str):
            return [self.check(where, value, _TEXT)]
        if not isinstance(value, list):
            self.fail(where, f"must be a string or a list of strings, got {show_value(value)}")
        if not value:
            self.fail(where, "must not be an empty list")
        return [self.check(f"{where}[{k}]", v, _TEXT) for k, v in enumerate(value)]

    def path(self, where, value, allow_stdout=False) -> str:
        text = self.check(where, value, _TEXT)
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
            self.fail(where, f"must be a table, got {show_value(value)}")
        sep = " " if where.endswith("]") else "."
        for key in value:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {hint[0]}?)" if hint else ""
                self.fail(f"{where}{sep}{_key(key)}:", f"unknown key{hint}; allowed: {', '.join(allowed)}")
        return value

    # the document --------------------------------------------------------------------------
    def read(self, doc: dict, command: str | None) -> dict:
        keys = toml_keys()
        for key, value in doc.items():
            if key == "command":
                continue
            if key not in keys:
                hint = difflib.get_close_matches(str(key), list(keys), n=1)
                hint = f" (did you mean [{hint[0]}]?)" if hint else ""
                raise InputFileError(f"{self.name}: unknown table [{_key(key)}]{hint}; "
                                     f"tables: {', '.join(keys)} (and the top-level key command)")
            self.table(f"[{key}]", value, keys[key])
        command = self.command(doc, command)
        opts = {"command": command}
        for table, *pair in (("molecule", "atom", "xyz"), ("state", "spec", "specs")):
            if table in doc and all(k in doc[table] for k in pair):
                extra = "; give one molecule" if table == "molecule" else ""
                self.fail(f"[{table}] {pair[0]}", f"and [{table}] {pair[1]} are exclusive{extra}")
        if "scan" in doc:
            grids = [k for k in ("points", "delta", "deltas") if k in doc["scan"]]
            if len(grids) > 1:
                self.fail(f"[scan] {grids[0]}", f"and [scan] {grids[1]} are exclusive; give one δ grid")
        for table in keys:
            for key, value in doc.get(table, {}).items():
                self.value(table, key, value, opts)
        return opts

    def command(self, doc: dict, given: str | None) -> str:
        wanted = [t for t in ("scan", "chempot") if t in doc]
        if len(wanted) > 1:
            raise InputFileError(f"{self.name}: [scan] and [chempot] cannot both be given (one command per file)")
        declared = None
        if "command" in doc:
            declared = self.check("command", doc["command"], OptionInfo("command", choices=COMMANDS))
        for source, name in (("the file's command", declared), ("the command line", given)):
            if name is not None and wanted and name != wanted[0]:
                raise InputFileError(f"{self.name}: [{wanted[0]}] is for the {wanted[0]} command, "
                                     f"but {source} is {name}")
        if declared is not None and given is not None and declared != given:
            raise InputFileError(f"{self.name}: command = {declared!r}, but the command line runs {given}")
        return declared or given or (wanted[0] if wanted else "run")

    def value(self, table: str, key: str, value, opts: dict) -> None:
        """One key of the file into ``opts`` (not read when the command line gives that option)."""
        where, command = f"[{table}] {key}", opts["command"]
        if _dest_of(table, key, command) in self.skip:
            return
        special = _SPECIAL.get((table, key))
        if special is not None:
            special(self, where, value, opts)
            return
        o = _option_at(table, key, command)
        checked = self.check(where, value, o.info)
        opts[o.dest] = join_values(checked) if o.info.kind is tuple else checked


# -- the keys that are read in their own way -----------------------------------------------------
_TEXT = OptionInfo("text")


def _atom(r: _Reader, where, value, opts):
    opts["atom"] = "; ".join(s.strip() for s in r.strings(where, value))


def _xyz(r: _Reader, where, value, opts):
    path = r.path(where, value)
    if not os.path.isfile(path):
        r.fail(where, f"{show_value(value)}: no such file ({show_value(path, 200)})")
    opts["molecule"] = path


def _spec(r: _Reader, where, value, opts):
    spec = r.check(where, value, _TEXT)
    opts["state"] = [spec] if opts["command"] == "run" else spec


def _specs(r: _Reader, where, value, opts):
    if opts["command"] != "run":
        r.fail(where, f"is for run (several states); {opts['command']} takes one [state] spec")
    if not isinstance(value, list):
        r.fail(where, f"must be a list of strings, got {show_value(value)}")
    opts["state"] = [r.check(f"{where}[{k}]", s, _TEXT) for k, s in enumerate(value)]


def _delta(r: _Reader, where, value, opts):
    d = r.table(where, value, _DELTA_KEYS)
    if "num" not in d:
        r.fail(where, "needs num (and optionally start = 0.0, stop = 1.0)")
    number = OptionInfo("a number", float)
    start = r.check(f"{where}.start", d.get("start", 0.0), number)
    stop = r.check(f"{where}.stop", d.get("stop", 1.0), number)
    num = r.check(f"{where}.num", d["num"], OptionInfo("points", int, lo=2, hi=MAX_POINTS))
    if not 0.0 <= start < stop <= 1.0:
        r.fail(where, f"needs 0 <= start < stop <= 1, got start = {start!r}, stop = {stop!r}")
    opts["deltas"] = join_values(_linspace(start, stop, num))


def _deltas(r: _Reader, where, values, opts):
    if not isinstance(values, list):
        r.fail(where, f"must be a list of numbers, got {show_value(values)}")
    if not 2 <= len(values) <= MAX_POINTS:
        r.fail(where, f"needs 2..{MAX_POINTS} values, got {len(values)}")
    values = [r.check(f"{where}[{k}]", v, OptionInfo("a number", float)) for k, v in enumerate(values)]
    if min(values) < 0.0 or max(values) > 1.0:
        r.fail(where, "values must lie in [0, 1]")
    if any(b <= a for a, b in zip(values, values[1:])):
        r.fail(where, "must be sorted in increasing order without repeats")
    opts["deltas"] = join_values(values)


def _channels(r: _Reader, where, value, opts):
    opts["channels"] = ",".join(s.strip() for s in r.strings(where, value))


def _json(r: _Reader, where, value, opts):
    opts["json"] = r.path(where, value, allow_stdout=True)


def _study(r: _Reader, where, value, opts):
    opts["output"] = r.path(where, value)


def _correction(r: _Reader, where, value, opts):
    from ..records import Correction

    text = r.check(where, value, _TEXT)
    try:
        Correction.parse(text)
    except (ValueError, TypeError) as exc:
        r.fail(where, str(exc))
    opts["correction"] = text


_SPECIAL = {("molecule", "atom"): _atom, ("molecule", "xyz"): _xyz, ("state", "spec"): _spec,
            ("state", "specs"): _specs, ("scan", "delta"): _delta, ("scan", "deltas"): _deltas,
            ("chempot", "channels"): _channels, ("output", "json"): _json, ("output", "study"): _study,
            ("method", "correction"): _correction}


def _linspace(start: float, stop: float, num: int) -> list:
    import numpy as np

    return [float(x) for x in np.linspace(start, stop, num)]


def join_values(values) -> str:
    """Comma-separated floats that ``float()`` reads back exactly (the command line's form of a list)."""
    return ",".join(repr(float(v)) for v in values)


def _syntax_message(exc: Exception, text: str) -> str:
    msg = " ".join(str(exc).split())
    if "(at end of document)" in msg:
        lines = text.split("\n")
        where = f"(at end of document, line {len(lines)}, column {len(lines[-1]) + 1})"
        msg = msg.replace("(at end of document)", where)
    return msg


def read_input(path, command: str | None = None, skip=()) -> dict:
    """Options from a TOML input file, validated, keyed by the CLI's dest names.

    Parameters
    ----------
    path : str or os.PathLike
        The TOML file.  Relative paths inside it are taken from its directory.
    command : {"run", "scan", "chempot"}, optional
        The command the file is used with (the command line's); the file's
        ``command`` key and its ``[scan]``/``[chempot]`` tables must agree.
    skip : set of str, optional
        Options the command line gives: the file's keys for them are not read (nor checked).

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
    return _Reader(name, base_dir, skip).read(doc, command)

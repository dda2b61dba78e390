"""The one table of command-line options, from which argparse, the TOML keys and ``--print-python`` are made.

Options come from three places, so that each is written once:

* the fields of :class:`~deltascf.records.Method`, :class:`~deltascf.records.Molecule` and the job records
  (:class:`~deltascf.records.ScanJob`, :class:`~deltascf.records.TheoremJob`), whose ``option()`` metadata
  gives the help, type, default, allowed values and bounds: ``--xc``, ``--grid-level``, ``--points``, …;
* every registered correction (:mod:`deltascf.corrections`): ``--NAME post|scf`` and its ``OPTIONS`` as
  ``--NAME-OPTION`` (``--losc``, ``--losc-fit-basis``, ``--losc-window``), TOML table ``[NAME]``;
* the rows below for what has no record field: the molecule's source, specs, channels, outputs.

A new method setting is a new ``Method`` field; a new correction is a new module in the correction registry.
Neither needs an edit here.
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

from ..corrections import REGISTRY, get_correction, modes_of
from ..records import Method, Molecule, ScanJob, TheoremJob
from ..settings import OptionInfo, check_value, show_value

__all__ = ["Option", "COMMANDS", "options", "option_defaults", "toml_keys", "build_parser", "parse_cli_value",
           "correction_dests", "InputError"]

COMMANDS = ("run", "scan", "chempot")


class InputError(Exception):
    """Bad user input: reported as one line with exit code 2."""


@dataclass(frozen=True)
class Option:
    """One option of the run/scan/chempot commands.

    ``dest`` is its name everywhere (argparse, the options dict of a TOML file, ``--print-python``).
    ``toml`` is its ``(table, key)`` in an input file, or None.  Options that share a ``group`` replace one
    another: one given on the command line drops the others a file set.  ``target`` says what it fills:
    ``"method"`` (a Method field), ``"molecule"``, ``"job"``, ``"correction"`` or ``"output"``.
    """

    dest: str
    flags: tuple
    info: OptionInfo
    default: object = None
    commands: tuple = COMMANDS
    toml: tuple | None = None
    group: str | None = None
    target: str = "output"
    action: str | None = None
    required: bool = False


def _field_options(record_type, target: str, table: str, commands=COMMANDS, required=(), skip=()) -> list:
    """Options for the option() fields of a record type."""
    out = []
    for f in dataclasses.fields(record_type):
        info = f.metadata.get("option")
        if info is None or not info.cli or f.name in skip:
            continue
        default = None if f.default is dataclasses.MISSING else f.default
        out.append(Option(f.name, ("--" + f.name.replace("_", "-"),), info, None if f.name in required else default,
                          commands, (table, f.name), target=target, required=f.name in required))
    return out


def _correction_options() -> list:
    """--correction NAME[:MODE], and for each registered correction --NAME MODE and its options."""
    spelled = [f"{n}[:{'|'.join(modes_of(n))}]" if len(modes_of(n)) > 1 else n for n in REGISTRY]
    out = [Option("correction", ("--correction",), OptionInfo(
        f"apply a correction: {', '.join(spelled)} (post-SCF by default)",
        metavar="NAME[:MODE]"), toml=("method", "correction"), group="correction", target="correction")]
    for name in REGISTRY:
        impl = get_correction(name)
        what = ("post-SCF, or SCF with frozen ingredients" if "scf" in modes_of(name) else "post-SCF (its only mode)")
        out.append(Option(name, (f"--{name}",), OptionInfo(
            f"{impl.LABEL} correction: {what} (same as --correction {name}:MODE)",
            choices=modes_of(name)), toml=(name, "mode"), group="correction", target="correction"))
        for key, info in impl.OPTIONS.items():
            out.append(Option(f"{name}_{key}", (f"--{name}-{key.replace('_', '-')}",), info, toml=(name, key),
                              target="correction"))
    return out


def _text(help: str, metavar: str | None = None, choices=None) -> OptionInfo:
    return OptionInfo(help, str, choices=choices, metavar=metavar)


def options() -> tuple:
    """Every option, in the order of ``--help``."""
    return (
        Option("molecule", (), _text("XYZ file (Angstrom), or a TOML input file (docs/api.md)"),
               toml=("molecule", "xyz"), group="molecule", target="molecule"),
        Option("atom", ("--atom",), _text('PySCF atom string, e.g. "O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587" '
                                          "(Angstrom)"), toml=("molecule", "atom"), group="molecule",
               target="molecule"),
        *_field_options(Molecule, "molecule", "molecule", required=("basis",)),
        *_field_options(Method, "method", "method", required=("xc",)),
        *_correction_options(),
        Option("state", ("--state",), _text('occupation spec, e.g. "a:HOMO->LUMO" (repeatable; the ground state is '
                                            "always run)", "SPEC"), [], ("run",), ("state", "spec"), target="job",
               action="append"),
        Option("state", ("--state",), _text("state I (default ground)", "SPEC"), "ground", ("scan", "chempot"),
               ("state", "spec"), target="job"),
        Option("channel", ("--channel",), _text("add:<spin>:<orbital> or remove:<spin>:<orbital> (required)"),
               commands=("scan",), toml=("scan", "channel"), target="job", required=True),
        *[dataclasses.replace(o, group="grid") for o in _field_options(ScanJob, "job", "scan", ("scan",),
                                                                        skip=("mode", "predictor"))],
        Option("deltas", ("--deltas",), _text("explicit sorted delta values, comma separated, e.g. "
                                              "0,0.25,0.5,0.75,1"), commands=("scan",), toml=("scan", "deltas"),
               group="grid", target="job"),
        *_field_options(ScanJob, "job", "scan", ("scan",), skip=("points",)),
        Option("channels", ("--channels",), _text("frontier, valence, or a comma-separated list such as "
                                                  "remove:a:HOMO,add:b:LUMO+1"), "frontier", ("chempot",),
               ("chempot", "channels"), target="job"),
        *_field_options(TheoremJob, "job", "chempot", ("chempot",)),
        Option("json", ("--json",), _text("write JSON to PATH, or - for stdout", "PATH"), toml=("output", "json")),
        Option("output", ("--output",), _text("save the records in a study file, resumed when run again with the "
                                              "same inputs (docs/io.md)", "STUDY.h5"), toml=("output", "study")),
        Option("verbose", ("-v", "--verbose"), _text("PySCF log on stderr (-v: SCF cycles, -vv: debug)"), 0,
               action="count"),
        Option("quiet", ("-q", "--quiet"), _text("no progress display"), False, action="store_true"),
        Option("print_python", ("--print-python",), _text("print the equivalent Python script and exit"), False,
               action="store_true"),
    )


def option_defaults() -> dict:
    """{dest: default} of every option (the command line's defaults, for options a file and the flags leave
    unset)."""
    out = {}
    for o in options():
        out.setdefault(o.dest, o.default)
    return out


def toml_keys() -> dict:
    """{table: (key, ...)} of an input file, in the order of the options."""
    out = {}
    for o in options():
        if o.toml is not None:
            table, key = o.toml
            keys = out.setdefault(table, [])
            for extra in _TOML_EXTRA.get((table, key), ()):
                if extra not in keys:
                    keys.append(extra)
            if key not in keys:
                keys.append(key)
    return {table: tuple(keys) for table, keys in out.items()}


#: keys of an input file that set an option another way: [molecule] xyz and atom, [state] specs, [scan] delta
_TOML_EXTRA = {("state", "spec"): ("spec", "specs"), ("scan", "deltas"): ("delta", "deltas")}


def correction_dests(name: str) -> list:
    """The dests of correction ``name``'s own options (``losc_fit_basis``, ``losc_window``)."""
    return [f"{name}_{key}" for key in get_correction(name).OPTIONS]


def parse_cli_value(info: OptionInfo, text, where: str):
    """A command-line (string) value converted and checked; ValueError names ``where``."""
    if text is None or not isinstance(text, str):
        return text if text is None else check_value(text, info, where)
    if info.kind is tuple:
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            raise ValueError(f"{where} must be two numbers lo,hi, got {show_value(text)}") from None
        return check_value(values, info, where)
    if info.kind in (int, float):
        try:
            return check_value(info.kind(text), info, where)
        except ValueError:
            raise ValueError(f"{where} must be {'an integer' if info.kind is int else 'a number'}, "
                             f"got {show_value(text)}") from None
    return check_value(text, info, where)


# -- argparse ------------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + error
        raise InputError(message)


def _add(parser, o: Option, suppress: bool) -> None:
    kw = {"help": o.info.help}
    if o.action:
        kw["action"] = o.action
        if o.action == "append":
            kw["metavar"] = o.info.metavar
    else:
        if o.info.kind in (int, float):
            kw["type"] = o.info.kind
        if o.info.choices and o.info.kind is str:
            kw["choices"] = list(o.info.choices)
        if o.info.metavar:
            kw["metavar"] = o.info.metavar
    if suppress:
        kw["default"] = argparse.SUPPRESS
    elif o.action != "append":
        kw["default"] = o.default
    else:
        kw["default"] = list(o.default)
    if not o.flags:
        parser.add_argument(o.dest, nargs="?", **kw)
    else:
        parser.add_argument(*o.flags, dest=o.dest, **kw)


def _add_opt_parser(sub, suppress: bool) -> None:
    """``deltascf opt``: the molecule and method options of ``run``, one state, and the optimizer's own."""
    opt = sub.add_parser("opt", help="optimize the geometry of a ground or ΔSCF state (needs the opt extra)")
    for o in options():
        if o.target in ("molecule", "method") and "run" in o.commands:
            _add(opt, o, suppress)
    opt.add_argument("--state", default="ground", metavar="SPEC",
                     help='the state to optimize, e.g. "a:HOMO->LUMO" (default ground)')
    opt.add_argument("--adiabatic", action="store_true",
                     help="optimize the ground state first, then the state from its minimum, and report the "
                          "adiabatic and vertical energies")
    opt.add_argument("--maxsteps", type=int, default=50, metavar="N", help="most optimizer steps (default 50)")
    opt.add_argument("--no-grid-response", dest="grid_response", action="store_false",
                     help="DFT gradients without the grid's response (faster, not the exact derivative)")
    opt.add_argument("--xyz-out", metavar="PATH", help="write the optimized geometry as an xyz file")
    opt.add_argument("--json", metavar="PATH", help="write JSON to PATH, or - for stdout")
    opt.add_argument("-v", "--verbose", action="count", default=0, help="PySCF and geomeTRIC logs on stderr")
    opt.add_argument("-q", "--quiet", action="store_true", help="no progress display")


def build_parser(suppress_defaults: bool = False) -> argparse.ArgumentParser:
    """The ``deltascf`` parser.  With ``suppress_defaults`` the namespace holds only the options given."""
    parser = _Parser(prog="deltascf", description="ΔSCF excited states on PySCF.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    helps = {"run": "converge the ground state and ΔSCF states",
             "scan": "E(N +/- delta) along one channel of a state",
             "chempot": "chemical potentials against orbital energies (theorem table)"}
    for command in COMMANDS:
        p = sub.add_parser(command, help=helps[command])
        grid = p.add_mutually_exclusive_group() if command == "scan" else None
        for o in options():
            if command in o.commands:
                _add(grid if (grid is not None and o.group == "grid") else p, o, suppress_defaults)
    bat = sub.add_parser("batch", help="run a manifest of molecules x methods x jobs on Dask (docs/batch.md)")
    bat.add_argument("manifest", help="TOML manifest")
    bat.add_argument("--dry-run", action="store_true", help="print the tasks and their status, run nothing")
    bat.add_argument("--scheduler", metavar="ADDRESS",
                     help="a running dask.distributed scheduler (default: a LocalCluster on this machine)")
    bat.add_argument("--workers", type=int, metavar="N", help="LocalCluster worker processes (default: CPUs // T)")
    bat.add_argument("--threads-per-worker", type=int, default=1, metavar="T",
                     help="PySCF/BLAS/Numba threads per worker (default 1)")
    bat.add_argument("--retry-failed", action="store_true", help="run the tasks that failed before again")
    bat.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    rep = sub.add_parser("report", help="print the records of a study file or a batch directory (tables in eV)")
    rep.add_argument("study", help="HDF5 study file (--output, deltascf.save) or a batch's output directory")
    rep.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    _add_opt_parser(sub, suppress_defaults)
    plo = sub.add_parser("plot", help="draw the records of a study file (E(N), D(delta), eps, parity, states) or "
                                      "a batch directory (set parity, eps - mu)")
    plo.add_argument("study", help="HDF5 study file (--output, deltascf.save) or a batch's output directory")
    plo.add_argument("-o", "--out", required=True, metavar="FIGURE",
                     help="figure file (.png, .pdf or .svg); with several records, -<kind>-<label> is added")
    return parser

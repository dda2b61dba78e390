"""``--print-python``: the Python script, on the public API, equivalent to a ``deltascf run|scan|chempot``.

The script is generated from the same options table as the command line (:mod:`deltascf.cli.options`): the
method is written as one ``deltascf.Method(...)`` with every setting, a correction as ``deltascf.Correction``
with its own settings record, and the job as the driver call.  It prints the readable table (unless ``json``
is ``"-"``) and, on its last line, the command's ``--json`` object.
"""
from __future__ import annotations

import dataclasses
import math

from ..corrections import REGISTRY, get_correction
from ..records import Method
from .options import COMMANDS, correction_dests, option_defaults, parse_cli_value

__all__ = ["make_python_script"]


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


def _settings_literal(settings) -> str:
    """``Settings(field=value, ...)`` for the fields that differ from the defaults."""
    default = type(settings)()
    args = [f"{f.name}={_lit(getattr(settings, f.name))}" for f in dataclasses.fields(settings)
            if getattr(settings, f.name) != getattr(default, f.name)]
    return f"{type(settings).__name__}({', '.join(args)})"


def _correction(o: dict):
    """(name, mode, settings) of the correction the options ask for, or None."""
    name, mode = None, None
    if o.get("correction"):
        name, _, mode = str(o["correction"]).partition(":")
        name, mode = name.strip().lower(), mode.strip() or "post"
    for n in REGISTRY:
        if o.get(n):
            name, mode = n, o[n]
    if name is None:
        return None
    impl = get_correction(name)
    values = {}
    for key, dest in zip(impl.OPTIONS, correction_dests(name)):
        if o.get(dest) is not None:
            info = impl.OPTIONS[key]
            if info.kind is tuple:
                pair = _floats(o[dest], dest)
                if len(pair) != 2:
                    raise ValueError(f"{dest} {o[dest]!r}: expected two numbers LO,HI")
                values[key] = tuple(pair)
            else:
                values[key] = parse_cli_value(info, o[dest], dest)
    return name, mode, impl.make_settings(**values)


def _method_lines(o: dict, correction) -> list:
    fields = [f.name for f in dataclasses.fields(Method) if f.name != "correction"]
    args = [f"{name}={_lit(float(o[name]) if isinstance(o[name], float) else o[name])}" for name in fields]
    lines = []
    if correction is not None:
        name, mode, settings = correction
        lines.append(f"correction = deltascf.Correction({_lit(name)}, {_lit(mode)}, {_settings_literal(settings)})")
        args.append("correction=correction")
    lines.append("method = deltascf.Method(" + ",\n                         ".join(
        ", ".join(args[i:i + 4]) for i in range(0, len(args), 4)) + ")")
    return lines


def make_python_script(opts) -> str:
    """The Python script (public API only) equivalent to ``deltascf <command>`` with ``opts``.

    ``opts`` is a dict (or ``argparse.Namespace``) with the options' dest names, e.g.
    :func:`~deltascf.cli.toml.read_input`'s result merged with the flags; missing options take the command
    line's defaults.  It writes the ``json`` and ``output`` files as the command does.

    Raises ``ValueError`` (one line) when the options cannot make a script: no molecule or two, no basis, xc
    or scan channel, an unknown command.
    """
    if not isinstance(opts, dict):
        opts = vars(opts)
    o = option_defaults()
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
    correction = _correction(o)

    lines = [f'"""`deltascf {command}` as a Python script (written by deltascf --print-python)."""',
             "from pyscf import gto", "", "import deltascf", "import deltascf.report"]
    if command == "scan":
        lines.append("import deltascf.fractional")
    if command == "chempot":
        lines.append("import deltascf.chempot")
    if correction is not None:
        lines.append(f"from {REGISTRY[correction[0]]} import {type(correction[2]).__name__}")
        if command == "run":
            lines.append("from deltascf.corrections import run_correction")
    lines.append("")
    if o["molecule"] is not None:
        lines += [f"with open({_lit(str(o['molecule']))}, encoding='utf-8') as fh:  # XYZ file (Angstrom)",
                  "    atom = '; '.join(ln.strip() for ln in fh.read().splitlines()[2:] if ln.strip())"]
    else:
        lines.append(f"atom = {_lit(str(o['atom']))}")
    lines += [f"mol = gto.M(atom=atom, basis={_lit(o['basis'])}, charge={_lit(int(o['charge']))}, "
              f"spin={_lit(int(o['spin']))}, unit='Angstrom', verbose=0)", ""]
    lines += _method_lines(o, correction)
    lines.append("")
    if command == "run":
        lines += ["ground = deltascf.run_state(mol, method=method)", "results = {'ground': ground}"]
        specs = [s for s in specs if not _is_ground(s)]
        for k, spec in enumerate(specs):
            lines.append(f"results['state{k + 1}'] = deltascf.run_state(mol, state={_lit(spec)}, ground=ground, "
                         "method=method)")
        if correction is not None:
            lines.append("corrections = [run_correction(mol, r, method) for r in results.values()]")
        else:
            lines.append("corrections = None")
        args = "list(results), list(results.values()), ground, corrections"
        lines += [f"summary = deltascf.report.make_states_summary({args})",
                  f"text = deltascf.report.format_states({args})"]
        records = "list(results.items()) + list(zip(results, corrections or []))"
    elif command == "scan":
        if o["deltas"] is not None:
            values = _floats(o["deltas"], "deltas")
            if len(values) >= 2 and values == [float(x) for x in _linspace(len(values))]:
                grid = f"points={len(values)}"  # the same evenly spaced grid
            else:
                grid = f"deltas={_lit(values)}"
        else:
            grid = f"points={_lit(int(o['points']))}"
        lines += [f"scan = deltascf.fractional.scan_charge(mol, state={_lit(state)}, channel={_lit(o['channel'])}, "
                  f"{grid}, mode={_lit(o['mode'])}"
                  + ("" if o.get("predictor", "history") == "history" else f", predictor={_lit(o['predictor'])}")
                  + ", method=method)",
                  "summary = deltascf.report.make_scan_summary(scan)",
                  "text = deltascf.report.format_scan(scan)"]
        records = "[('scan', scan)]"
    else:
        lines += [f"table = deltascf.chempot.chemical_potentials(mol, state={_lit(state)}, "
                  f"channels={_lit(o['channels'])}, n_virtual={_lit(int(o['n_virtual']))}, method=method)",
                  "summary = deltascf.report.make_theorem_summary(table)",
                  "text = deltascf.report.format_theorem(table)"]
        records = "[('theorem', table)]"
    if o["output"]:
        lines += ["", f"for label, record in {records}:",
                  f"    deltascf.save({_lit(str(o['output']))}, record, mol=mol, label=label)"]
    if o["json"] and o["json"] != "-":
        lines += ["", f"with open({_lit(str(o['json']))}, 'w', encoding='utf-8') as fh:",
                  "    fh.write(deltascf.report.to_json(summary) + '\\n')"]
    lines.append("")
    if o["json"] != "-":
        lines.append("print(text)")
    lines.append("print(deltascf.report.to_json(summary, indent=None))  # the --json object, on the last line")
    return "\n".join(lines) + "\n"


def _linspace(num: int) -> list:
    import numpy as np

    return list(np.linspace(0.0, 1.0, num))


def _is_ground(spec: str) -> bool:
    from ..occupations import Occupation, SpecError

    try:
        return Occupation.parse(spec).is_ground
    except SpecError:  # let the script raise it where the API does
        return False


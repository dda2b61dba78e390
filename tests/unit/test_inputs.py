"""Unit tests for deltascf.inputs: TOML input files and the equivalent Python script.

Reading is pure (no SCF).  Two tiny runs check that the generated script gives
the API's numbers: water/STO-3G HF (ground + one ΔSCF state) and a 3-point
H-atom/3-21G UHF charge scan, each well under a second.
"""
import json
import math
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tolerances import E_ATOL, PARITY_ATOL

from deltascf.cli.options import COMMANDS, option_defaults, toml_keys
from deltascf.cli.script import make_python_script
from deltascf.cli.toml import InputFileError, read_input

OPTION_DEFAULTS = option_defaults()

REPO = Path(__file__).resolve().parents[2]
WATER = "O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587"
WATER_XYZ = "3\nwater\nO 0 0 0\nH 0 -0.757 0.587\nH 0 0.757 0.587\n"


def write(tmp_path, text, name="input.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- valid files ---------------------------------------------------------------------------
def test_run_file_round_trips(tmp_path):
    (tmp_path / "geo").mkdir()
    (tmp_path / "geo" / "h2o.xyz").write_text(WATER_XYZ)
    path = write(tmp_path, """
command = "run"
[molecule]
xyz = "geo/h2o.xyz"
basis = "6-31g"
charge = 0
spin = 0
[method]
xc = "b3lyp"
reference = "UKS"
tracking = "mom"
density_fit = "weigend"
grid_level = 5
conv_tol = 1e-8
max_cycle = 50
[state]
specs = ["a:HOMO->LUMO", "b:HOMO->LUMO"]
[losc]
mode = "post"
fit_basis = "6-31g"
window = [-30, 10.5]
[output]
json = "out/result.json"
study = "study.h5"
""")
    assert read_input(path) == {
        "command": "run", "molecule": str(tmp_path / "geo" / "h2o.xyz"), "basis": "6-31g", "charge": 0, "spin": 0,
        "xc": "b3lyp", "reference": "uks", "tracking": "mom", "density_fit": "weigend", "grid_level": 5,
        "conv_tol": 1e-8, "max_cycle": 50, "state": ["a:HOMO->LUMO", "b:HOMO->LUMO"], "losc": "post",
        "losc_fit_basis": "6-31g", "losc_window": "-30.0,10.5", "json": str(tmp_path / "out" / "result.json"),
        "output": str(tmp_path / "study.h5"),
    }


def test_run_is_the_default_and_spec_becomes_a_list(tmp_path):
    path = write(tmp_path, f'[molecule]\natom = "{WATER}"\n[state]\nspec = "a:HOMO->LUMO"\n[output]\njson = "-"\n')
    assert read_input(path) == {"command": "run", "atom": WATER, "state": ["a:HOMO->LUMO"], "json": "-"}


def test_only_the_options_the_file_sets_come_back(tmp_path):
    assert read_input(write(tmp_path, "")) == {"command": "run"}
    assert read_input(write(tmp_path, "[method]\nxc = 'hf'\n")) == {"command": "run", "xc": "hf"}


def test_scan_file_round_trips(tmp_path):
    path = write(tmp_path, """
[molecule]
atom = ["O 0 0 0", "H 0 -0.757 0.587", "H 0 0.757 0.587"]
basis = "6-31g"
[method]
xc = "b3lyp"
grid_level = 5
[state]
spec = "a:HOMO->LUMO"
[scan]
channel = "add:a:HOMO"
delta = { start = 0.0, stop = 1.0, num = 5 }
mode = "ensemble"
""")
    assert read_input(path) == {
        "command": "scan", "atom": WATER, "basis": "6-31g", "xc": "b3lyp", "grid_level": 5, "state": "a:HOMO->LUMO",
        "channel": "add:a:HOMO", "deltas": "0.0,0.25,0.5,0.75,1.0", "mode": "ensemble",
    }


@pytest.mark.parametrize("grid, expected", [
    ("points = 7", {"points": 7}),
    ("deltas = [0, 0.25, 1]", {"deltas": "0.0,0.25,1.0"}),
    ("delta = { num = 3 }", {"deltas": "0.0,0.5,1.0"}),
    ("delta = { start = 0.5, stop = 1, num = 3 }", {"deltas": "0.5,0.75,1.0"}),
])
def test_scan_grids(tmp_path, grid, expected):
    opts = read_input(write(tmp_path, f'[scan]\nchannel = "remove:a:HOMO"\n{grid}\n'))
    assert opts == {"command": "scan", "channel": "remove:a:HOMO", **expected}
    if "deltas" in opts:  # the CLI's --deltas parser reads it back exactly
        assert all(math.isfinite(float(v)) for v in opts["deltas"].split(","))


@pytest.mark.parametrize("channels, expected", [
    ('"valence"', "valence"),
    ('["remove:a:HOMO", "add:b:LUMO+1"]', "remove:a:HOMO,add:b:LUMO+1"),
])
def test_chempot_file_round_trips(tmp_path, channels, expected):
    path = write(tmp_path, f'[molecule]\natom = "H 0 0 0"\nspin = 1\nbasis = "3-21g"\n[method]\nxc = "hf"\n'
                           f'reference = "uhf"\n[chempot]\nchannels = {channels}\n[losc]\nmode = "scf"\n')
    assert read_input(path) == {"command": "chempot", "atom": "H 0 0 0", "spin": 1, "basis": "3-21g", "xc": "hf",
                                "reference": "uhf", "channels": expected, "losc": "scf"}


def test_command_key_and_the_command_line(tmp_path):
    path = write(tmp_path, 'command = "chempot"\n[state]\nspec = "ground"\n')
    assert read_input(path) == {"command": "chempot", "state": "ground"}
    assert read_input(path, command="chempot")["command"] == "chempot"
    bare = write(tmp_path, '[state]\nspec = "a:HOMO->LUMO"\n', "bare.toml")
    assert read_input(bare, command="scan") == {"command": "scan", "state": "a:HOMO->LUMO"}
    assert read_input(bare, command="run") == {"command": "run", "state": ["a:HOMO->LUMO"]}
    with pytest.raises(InputFileError, match="command line"):
        read_input(path, command="run")


def test_dotted_keys_and_inline_tables_are_tables(tmp_path):
    path = write(tmp_path, 'method.xc = "pbe"\nmolecule = { basis = "sto-3g" }\n')
    assert read_input(path) == {"command": "run", "xc": "pbe", "basis": "sto-3g"}


def test_read_input_takes_pathlike_and_str(tmp_path):
    path = write(tmp_path, "[method]\nxc = 'hf'\n")
    assert read_input(str(path)) == read_input(path)


# -- errors ----------------------------------------------------------------------------------
ERRORS = [
    # (file text, words the one-line message must contain)
    ("[method]\ngrid_level = 'high'\n", ["[method] grid_level", "must be an integer", "'high'"]),
    ("[method]\ngrid_level = true\n", ["[method] grid_level", "must be an integer", "true"]),
    ("[method]\ngrid_level = 10\n", ["[method] grid_level", "0..9"]),
    ("[method]\ngrid_level = 3.0\n", ["[method] grid_level", "must be an integer"]),
    ("[method]\nmax_cycle = 0\n", ["[method] max_cycle", ">= 1"]),
    ("[method]\nconv_tol = nan\n", ["[method] conv_tol", "finite", "nan"]),
    ("[method]\nconv_tol = inf\n", ["[method] conv_tol", "finite", "inf"]),
    ("[method]\nconv_tol = -1e-9\n", ["[method] conv_tol", "positive"]),
    ("[method]\nconv_tol = '1e-9'\n", ["[method] conv_tol", "must be a number"]),
    ("[method]\nconv_tol = false\n", ["[method] conv_tol", "must be a number", "false"]),
    ("[method]\nreference = 'ghf'\n", ["[method] reference", "uks, rks, uhf, rhf, roks, rohf", "'ghf'"]),
    ("[method]\ntracking = 1\n", ["[method] tracking", "must be a string"]),
    ("[method]\nxc = ''\n", ["[method] xc", "empty"]),
    ("[method]\ngrids_level = 5\n", ["[method] grids_level", "unknown key", "did you mean grid_level"]),
    ("[molecule]\ncharge = 1.5\n", ["[molecule] charge", "must be an integer", "1.5"]),
    ("[molecule]\nspin = -1\n", ["[molecule] spin", ">= 0"]),
    ("[molecule]\nbasis = ['sto-3g']\n", ["[molecule] basis", "must be a string"]),
    ("[molecule]\natom = 'H 0 0 0'\nxyz = 'h.xyz'\n", ["[molecule] atom", "[molecule] xyz", "exclusive"]),
    ("[molecule]\nxyz = 'missing.xyz'\n", ["[molecule] xyz", "no such file"]),
    ("[molecule]\natom = []\n", ["[molecule] atom", "empty list"]),
    ("[molecule]\natom = ['H 0 0 0', 1]\n", ["[molecule] atom[1]", "must be a string"]),
    ("[molecule]\natom = 1979-05-27\n", ["[molecule] atom", "date 1979-05-27"]),
    ("[state]\nspec = 'ground'\nspecs = ['ground']\n", ["[state] spec", "exclusive"]),
    ("[scan]\nchannel = 'add:a:LUMO'\n[state]\nspecs = ['ground']\n", ["[state] specs", "is for run"]),
    ("[state]\nspecs = 'ground'\n", ["[state] specs", "list of strings"]),
    ("[scan]\npoints = 1\n", ["[scan] points", "2..10000"]),
    ("[scan]\npoints = 3\ndeltas = [0, 1]\n", ["[scan] points", "[scan] deltas", "exclusive"]),
    ("[scan]\ndeltas = [0, 0.5, 0.5, 1]\n", ["[scan] deltas", "sorted"]),
    ("[scan]\ndeltas = [0, 1.5]\n", ["[scan] deltas", "[0, 1]"]),
    ("[scan]\ndeltas = [0, nan]\n", ["[scan] deltas[1]", "finite"]),
    ("[scan]\ndeltas = [0]\n", ["[scan] deltas", "2..10000"]),
    ("[scan]\ndelta = { start = 0, stop = 1 }\n", ["[scan] delta", "needs num"]),
    ("[scan]\ndelta = { num = 3, step = 0.5 }\n", ["[scan] delta.step", "unknown key"]),
    ("[scan]\ndelta = { num = true }\n", ["[scan] delta.num", "must be an integer", "true"]),
    ("[scan]\ndelta = { start = 1, stop = 0, num = 3 }\n", ["[scan] delta", "start < stop"]),
    ("[scan]\ndelta = 0.5\n", ["[scan] delta", "must be a table"]),
    ("[scan]\nmode = 'linear'\n", ["[scan] mode", "scf, ensemble"]),
    ("[chempot]\nchannels = []\n", ["[chempot] channels", "empty list"]),
    ("[chempot]\nchannels = 3\n", ["[chempot] channels", "string or a list of strings"]),
    ("[losc]\nmode = 'pre'\n", ["[losc] mode", "post, scf"]),
    ("[losc]\nwindow = [10, -30]\n", ["[losc] window", "lo < hi"]),
    ("[losc]\nwindow = [-30]\n", ["[losc] window", "two numbers"]),
    ("[losc]\nwindow = [-30, inf]\n", ["[losc] window[1]", "finite"]),
    ("[losc]\nwindow = [-30, '10']\n", ["[losc] window[1]", "must be a number"]),
    ("[output]\njson = 1\n", ["[output] json", "must be a string"]),
    ("[output]\nhdf5 = 'x.h5'\n", ["[output] hdf5", "unknown key"]),
    ("[outputs]\njson = '-'\n", ["unknown table [outputs]", "did you mean [output]"]),
    ("[[molecule]]\nbasis = 'sto-3g'\n", ["[molecule]", "must be a table"]),
    ("molecule = 'h2o.xyz'\n", ["[molecule]", "must be a table"]),
    ("title = 'water'\n", ["unknown table [title]"]),
    ("command = 'batch'\n", ["command", "run, scan, chempot", "'batch'"]),
    ("command = 'run'\n[scan]\nchannel = 'add:a:LUMO'\n", ["[scan]", "scan command", "run"]),
    ("[scan]\nchannel = 'add:a:LUMO'\n[chempot]\nchannels = 'frontier'\n", ["[scan] and [chempot]"]),
    ('[method]\n"grid\\nlevel" = 1\n', ["[method] 'grid\\nlevel'", "unknown key"]),
]


@pytest.mark.parametrize("text, words", ERRORS)
def test_errors_are_one_line_naming_the_key(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(InputFileError) as info:
        read_input(path)
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "\n" not in msg and msg.startswith(f"{path}: ")
    for word in words:
        assert word in msg, msg


@pytest.mark.parametrize("text, where", [
    ("[method]\nxc = \n", "line 2, column 6"),
    ("[method]\nxc = 'hf'\n[method]\n", "line 3"),
    ("[method\n", "line 1"),
    ("[method]\nxc = 'hf'\nxc = 'pbe'\n", "line"),
    ("a = [1,\n", "end of document, line 2"),
])
def test_syntax_errors_give_line_and_column(tmp_path, text, where):
    with pytest.raises(InputFileError) as info:
        read_input(write(tmp_path, text))
    msg = str(info.value)
    assert "TOML syntax error" in msg and where in msg and "\n" not in msg


def test_unreadable_files(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        read_input(tmp_path / "absent.toml")
    with pytest.raises(InputFileError, match="is a directory"):
        read_input(tmp_path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"[method]\nxc = '\xe9'\n")
    with pytest.raises(InputFileError, match="not UTF-8 text .*line 2"):
        read_input(bad)
    with pytest.raises(InputFileError, match="nested too deeply|syntax error"):
        read_input(write(tmp_path, "a = " + "[" * 100_000 + "]" * 100_000 + "\n"))
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        locked = write(tmp_path, "", "locked.toml")
        locked.chmod(0)
        try:
            with pytest.raises(InputFileError, match="cannot read"):
                read_input(locked)
        finally:
            locked.chmod(0o600)


def test_a_bad_command_argument_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError):
        read_input(write(tmp_path, ""), command="batch")


# -- property: any document gives options or InputFileError ----------------------------------
def _has_nan(v) -> bool:
    if isinstance(v, float):
        return v != v
    if isinstance(v, list):
        return any(_has_nan(x) for x in v)
    if isinstance(v, dict):
        return any(_has_nan(x) for x in v.values())
    return False


def toml_string(s: str) -> str:
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def toml_value(v) -> str:
    """A tiny TOML writer: scalars, arrays and inline tables on one line."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if v != v else repr(v)  # repr gives inf, -inf, 1e-09, 0.5: all TOML floats
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_string(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def toml_document(doc: dict) -> str:
    return "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in doc.items())


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
PLAUSIBLE_TEXT = st.sampled_from(["hf", "b3lyp", "sto-3g", "uks", "rhf", "imom", "mom", "scf", "ensemble", "post",
                                  "ground", "a:HOMO->LUMO", "add:a:LUMO", "remove:b:HOMO", "frontier", "valence",
                                  "-", "out.json", "study.h5", WATER, "", " "])
SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(2 ** 63), 2 ** 63 - 1),
    st.integers(-3, 12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1.0, 2.0),
    TEXT,
    PLAUSIBLE_TEXT,
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(TEXT, inner, max_size=3)), max_leaves=8)
TABLE_KEYS = toml_keys()  # the tables and keys read_input knows
UNIT = st.floats(0.0, 1.0)
PLAUSIBLE = {  # mostly right, sometimes wrong, values per key
    "atom": st.sampled_from([WATER, "H 0 0 0", ["H 0 0 0", "H 0 0 0.74"], ""]),
    "xyz": st.sampled_from(["h2o.xyz", "missing.xyz", "./h2o.xyz"]),
    "basis": st.sampled_from(["sto-3g", "3-21g", ""]),
    "charge": st.integers(-2, 2), "spin": st.integers(-1, 3),
    "xc": st.sampled_from(["hf", "b3lyp", "pbe0"]),
    "reference": st.sampled_from(["uks", "RKS", "uhf", "rhf", "rohf"]),
    "tracking": st.sampled_from(["imom", "MOM", "none"]),
    "solver": st.sampled_from(["diis", "newton", "Newton", "bfgs"]),
    "device": st.sampled_from(["cpu", "gpu", "GPU", "tpu"]),
    "density_fit": st.sampled_from(["weigend", "def2-universal-jkfit"]),
    "grid_level": st.integers(-1, 10), "conv_tol": st.floats(-1e-6, 1e-3), "max_cycle": st.integers(-1, 200),
    "conv_tol_grad": st.floats(-1e-6, 1e-3), "correction": st.sampled_from(["losc", "losc:scf", "gsc2", "gsc2:scf", "lrlosc", "lrlosc:scf", "gsc9"]),
    "n_virtual": st.integers(-1, 5),
    "spec": st.sampled_from(["ground", "a:HOMO->LUMO", "b:HOMO=0.5"]),
    "specs": st.lists(st.sampled_from(["ground", "a:HOMO->LUMO"]), max_size=3),
    "channel": st.sampled_from(["add:a:LUMO", "remove:b:HOMO"]),
    "points": st.integers(0, 20),
    "delta": st.fixed_dictionaries({"num": st.integers(0, 12)}, optional={"start": UNIT, "stop": UNIT}),
    "deltas": st.one_of(st.lists(UNIT, max_size=6).map(sorted), st.lists(UNIT, max_size=4)),
    "mode": st.sampled_from(["scf", "ensemble", "post", "SCF"]),
    "predictor": st.sampled_from(["history", "response", "cubic", "History"]),
    "channels": st.one_of(st.sampled_from(["frontier", "valence"]), st.lists(st.sampled_from(["add:a:LUMO"]))),
    "fit_basis": st.sampled_from(["6-31g"]),
    "window": st.lists(st.floats(-50, 50), min_size=1, max_size=3),
    "curvature": st.sampled_from(["relaxed", "frozen", "Frozen", "screened"]),
    "json": st.sampled_from(["-", "out.json"]), "study": st.sampled_from(["s.h5"]),
}


def table_strategy(name, wild: bool):
    """Known keys of table ``name``; ``wild`` adds arbitrary values, unknown keys and non-tables."""
    value = (lambda k: st.one_of(PLAUSIBLE[k], PLAUSIBLE[k], VALUES)) if wild else PLAUSIBLE.get
    known = st.fixed_dictionaries({}, optional={k: value(k) for k in TABLE_KEYS[name]})
    if not wild:
        return known
    odd = st.tuples(known, st.dictionaries(TEXT, VALUES, min_size=1, max_size=2)).map(lambda t: {**t[1], **t[0]})
    return st.one_of(known, known, known, odd, VALUES)


CLEAN_DOCUMENTS = st.fixed_dictionaries({}, optional={name: table_strategy(name, False) for name in TABLE_KEYS})
WILD_DOCUMENTS = st.fixed_dictionaries({}, optional={name: table_strategy(name, True) for name in TABLE_KEYS})
ODD_DOCUMENTS = st.dictionaries(st.one_of(st.sampled_from(list(TABLE_KEYS)), TEXT),
                                st.one_of(st.dictionaries(TEXT, VALUES, max_size=3), VALUES), max_size=4)
DOCUMENTS = st.one_of(CLEAN_DOCUMENTS, CLEAN_DOCUMENTS, WILD_DOCUMENTS, ODD_DOCUMENTS).flatmap(
    lambda d: st.one_of(st.just(d), st.sampled_from(COMMANDS + ("batch",)).map(lambda c: {"command": c, **d})))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=DOCUMENTS)
def test_any_document_gives_options_or_input_file_error(tmp_path, doc):
    (tmp_path / "h2o.xyz").write_text(WATER_XYZ)
    text = toml_document(doc)
    assert tomllib.loads(text) == doc or _has_nan(doc)  # the writer is right
    path = write(tmp_path, text)
    try:
        opts = read_input(path)
    except InputFileError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(f"{path}: ")
        return
    assert opts["command"] in COMMANDS
    assert set(opts) <= set(OPTION_DEFAULTS) | {"command"}
    # whatever the file sets, the script for it (with a molecule, basis, xc and channel) is valid Python
    full = {"basis": "sto-3g", "xc": "hf", "channel": "add:a:LUMO", **opts}
    if "molecule" not in full:
        full["atom"] = full.get("atom", WATER)
    compile(make_python_script(full), "<script>", "exec")


# -- the equivalent Python script --------------------------------------------------------------
SCRIPT_CASES = [
    {"command": "run", "atom": WATER, "basis": "sto-3g", "xc": "hf"},
    {"command": "run", "atom": WATER, "basis": "sto-3g", "xc": "b3lyp", "state": ["a:HOMO->LUMO", "ground"],
     "losc": "scf", "losc_window": "-30,10", "losc_fit_basis": "6-31g", "json": "out.json", "output": "s.h5",
     "density_fit": "weigend", "grid_level": 2, "conv_tol": float("inf")},
    {"command": "scan", "atom": "H 0 0 0", "spin": 1, "basis": "3-21g", "xc": "hf", "channel": "add:b:LUMO",
     "deltas": "0,0.3,1", "mode": "ensemble", "json": "-"},
    {"command": "scan", "molecule": "/data/it's \"quoted\".xyz", "basis": "sto-3g", "xc": "hf",
     "channel": "add:a:LUMO", "state": ["ground"], "losc": "post"},
    {"command": "chempot", "atom": WATER, "basis": "sto-3g", "xc": "hf", "channels": "remove:a:HOMO,add:b:LUMO",
     "losc": "post", "state": "a:HOMO->LUMO"},
]


@pytest.mark.parametrize("opts", SCRIPT_CASES)
def test_script_compiles_and_uses_the_public_api(opts):
    script = make_python_script(opts)
    compile(script, "<script>", "exec")
    call = {"run": "deltascf.run_state(", "scan": "deltascf.fractional.scan_charge(",
            "chempot": "deltascf.chempot.chemical_potentials("}[opts["command"]]
    assert call in script and "from pyscf import gto" in script
    assert script.rstrip().splitlines()[-1].startswith("print(deltascf.report.to_json(summary, indent=None))")
    assert ("LoscSettings(" in script) == bool(opts.get("losc"))


def test_script_accepts_a_namespace_and_fills_cli_defaults():
    import argparse

    ns = argparse.Namespace(command="scan", molecule=None, atom="H 0 0 0", basis="3-21g", xc="hf", spin=1,
                            state="ground", channel="add:b:LUMO", points=11, deltas=None, version=False, json=None)
    script = make_python_script(ns)
    assert "points=11" in script and "reference='uks'" in script and "conv_tol=1e-09" in script
    assert "points=5" in make_python_script({**vars(ns), "deltas": "0,0.25,0.5,0.75,1"})


@pytest.mark.parametrize("opts, word", [
    ({"command": "run", "basis": "sto-3g", "xc": "hf"}, "molecule"),
    ({"command": "run", "atom": "H 0 0 0", "molecule": "h.xyz", "basis": "sto-3g", "xc": "hf"}, "molecule"),
    ({"command": "run", "atom": "H 0 0 0", "xc": "hf"}, "basis"),
    ({"command": "scan", "atom": "H 0 0 0", "basis": "sto-3g", "xc": "hf"}, "channel"),
    ({"command": "batch", "atom": "H 0 0 0", "basis": "sto-3g", "xc": "hf"}, "command"),
    ({"command": "scan", "atom": "H 0 0 0", "basis": "b", "xc": "hf", "channel": "c", "deltas": "0,x"}, "deltas"),
])
def test_script_refuses_incomplete_options(opts, word):
    with pytest.raises(ValueError, match=word):
        make_python_script(opts)


def run_script(script: str, cwd: Path) -> dict:
    path = cwd / "script.py"
    path.write_text(script)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run([sys.executable, str(path)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_water_run_script_matches_run_state(tmp_path, make_mol):
    import deltascf

    (tmp_path / "h2o.xyz").write_text(WATER_XYZ)
    path = write(tmp_path, '[molecule]\nxyz = "h2o.xyz"\nbasis = "sto-3g"\n[method]\nxc = "hf"\nreference = "uhf"\n'
                           '[state]\nspec = "a:HOMO->LUMO"\n[output]\njson = "water.json"\n')
    summary = run_script(make_python_script(read_input(path)), tmp_path)

    mol = make_mol(WATER, "sto-3g")
    ground = deltascf.run_state(mol, "hf", "ground", reference="uhf")
    excited = deltascf.run_state(mol, "hf", "a:HOMO->LUMO", reference="uhf", ground=ground)
    assert [s["label"] for s in summary["states"]] == ["ground", "state1"]
    assert summary["states"][0]["e_tot"] == pytest.approx(ground.e_tot, abs=E_ATOL)
    assert summary["states"][1]["e_tot"] == pytest.approx(excited.e_tot, abs=E_ATOL)
    assert all(s["converged"] for s in summary["states"])
    assert json.loads((tmp_path / "water.json").read_text()) == summary
    # and the command line with the same options prints the same --json object
    from deltascf.cli import main

    assert main(["run", str(tmp_path / "h2o.xyz"), "--basis", "sto-3g", "--xc", "hf", "--reference", "uhf",
                 "--state", "a:HOMO->LUMO", "--json", str(tmp_path / "cli.json")]) == 0
    # same object; floats to PARITY_ATOL, since the script ran with one thread and this process with more
    assert_same_json(json.loads((tmp_path / "cli.json").read_text()), summary)


def assert_same_json(a, b, atol=PARITY_ATOL):
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for k in a:
            assert_same_json(a[k], b[k], atol)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_json(x, y, atol)
    elif isinstance(a, float) and isinstance(b, float):
        assert abs(a - b) <= atol, (a, b)
    else:
        assert a == b


def test_h_atom_scan_script_matches_scan_charge(tmp_path, make_mol):
    from deltascf.fractional import scan_charge

    path = write(tmp_path, '[molecule]\natom = "H 0 0 0"\nbasis = "3-21g"\nspin = 1\n[method]\nxc = "hf"\n'
                           'reference = "uhf"\n[scan]\nchannel = "add:b:LUMO"\npoints = 3\n')
    opts = read_input(path)
    assert opts["command"] == "scan"
    summary = run_script(make_python_script(opts), tmp_path)

    scan = scan_charge(make_mol("H 0 0 0", "3-21g", spin=1), "hf", "ground", "add:b:LUMO", points=3,
                       reference="uhf")
    got = np.array([p["e_tot"] for p in summary["points"]])
    assert [p["delta"] for p in summary["points"]] == [0.0, 0.5, 1.0]
    np.testing.assert_allclose(got, scan.e_tot, rtol=0, atol=E_ATOL)
    assert summary["mode"] == "scf" and all(p["converged"] for p in summary["points"])
    from deltascf.cli import main

    assert main(["scan", "--atom", "H 0 0 0", "--basis", "3-21g", "--spin", "1", "--xc", "hf", "--reference", "uhf",
                 "--channel", "add:b:LUMO", "--points", "3", "--json", str(tmp_path / "cli.json")]) == 0
    assert_same_json(json.loads((tmp_path / "cli.json").read_text()), summary)

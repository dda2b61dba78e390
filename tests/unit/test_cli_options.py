"""The one options table (design §9): argparse, TOML keys, defaults and --print-python come from the records.

No SCF runs here: ``--print-python`` prints the script after every input has been validated.
"""
import dataclasses

import pytest

from deltascf import Method
from deltascf.cli import main
from deltascf.cli.options import build_parser, option_defaults, toml_keys
from deltascf.cli.script import make_python_script
from deltascf.corrections import REGISTRY, get_correction, modes_of

METHOD_FIELDS = [f for f in dataclasses.fields(Method) if "option" in f.metadata]


def _flags(command: str) -> dict:
    """{flag: argparse action} of a sub-command."""
    sub = next(a for a in build_parser()._subparsers._group_actions if a.dest == "command").choices[command]
    return {flag: a for a in sub._actions for flag in a.option_strings}


@pytest.mark.parametrize("command", ["run", "scan", "chempot"])
def test_every_method_setting_is_a_flag_a_toml_key_and_a_script_argument(command):
    flags, keys = _flags(command), toml_keys()
    script = make_python_script({"command": command, "atom": "H 0 0 0", "spin": 1, "basis": "sto-3g",
                                 "xc": "hf", "channel": "add:b:LUMO"})
    for f in METHOD_FIELDS:
        action = flags["--" + f.name.replace("_", "-")]
        assert action.help == f.metadata["option"].help
        if f.name != "xc":  # required on the command line; the API's default is b3lyp
            assert action.default == f.default and option_defaults()[f.name] == f.default
        if f.metadata["option"].choices:
            assert tuple(action.choices) == f.metadata["option"].choices
        assert f.name in keys["method"]
        assert f"{f.name}=" in script


def test_every_registered_correction_brings_its_flags_and_table():
    flags, keys = _flags("run"), toml_keys()
    words = {w.strip(",") for w in flags["--correction"].help.split()}
    assert words >= {f"{n}[:post|scf]" if modes_of(n) == ("post", "scf") else n for n in REGISTRY}
    for name in REGISTRY:
        impl = get_correction(name)
        assert tuple(flags[f"--{name}"].choices) == modes_of(name)
        assert keys[name] == ("mode", *impl.OPTIONS)
        for key, info in impl.OPTIONS.items():
            assert flags[f"--{name}-{key.replace('_', '-')}"].help == info.help


def test_the_explicit_options_come_from_a_parser_without_defaults():
    ns = build_parser(suppress_defaults=True).parse_args(["scan", "x.toml", "--points", "3", "-q"])
    assert set(vars(ns)) == {"version", "command", "molecule", "points", "quiet"}


# -- a flag wins over an input file, for every key of every table -------------------------------------
LI = '[molecule]\natom = "Li 0 0 0"\nbasis = "sto-3g"\nspin = 1\n'
B3LYP = '[method]\nxc = "b3lyp"\n'
#: (table, key): (command, the file's extra TOML, the flags that override it, a fragment of the script)
CASES = {
    ("molecule", "atom"): ("run", "", ["--atom", "H 0 0 0"], "atom = 'H 0 0 0'"),
    ("molecule", "xyz"): ("run", "XYZ", ["--atom", "H 0 0 0"], "atom = 'H 0 0 0'"),
    ("molecule", "basis"): ("run", "", ["--basis", "3-21g"], "basis='3-21g'"),
    ("molecule", "charge"): ("run", "", ["--charge", "2"], "charge=2"),
    ("molecule", "spin"): ("run", "", ["--spin", "3"], "spin=3"),
    ("method", "xc"): ("run", "", ["--xc", "pbe"], "xc='pbe'"),
    ("method", "reference"): ("run", 'reference = "uks"\n', ["--reference", "uhf"], "reference='uhf'"),
    ("method", "tracking"): ("run", 'tracking = "imom"\n', ["--tracking", "mom"], "tracking='mom'"),
    ("method", "density_fit"): ("run", 'density_fit = "weigend"\n',
                                ["--density-fit", "def2-universal-jkfit"], "density_fit='def2-universal-jkfit'"),
    ("method", "grid_level"): ("run", 'grid_level = 2\n', ["--grid-level", "5"], "grid_level=5"),
    ("method", "conv_tol"): ("run", 'conv_tol = 1e-8\n', ["--conv-tol", "1e-7"], "conv_tol=1e-07"),
    ("method", "conv_tol_grad"): ("run", 'conv_tol_grad = 1e-4\n', ["--conv-tol-grad", "1e-5"],
                                  "conv_tol_grad=1e-05"),
    ("method", "max_cycle"): ("run", 'max_cycle = 50\n', ["--max-cycle", "60"], "max_cycle=60"),
    ("method", "solver"): ("run", 'solver = "diis"\n', ["--solver", "newton"], "solver='newton'"),
    ("method", "device"): ("run", 'device = "cpu"\n', ["--device", "gpu"], "device='gpu'"),
    ("method", "correction"): ("run", 'correction = "losc"\n', ["--correction", "losc:scf"],
                               "Correction('losc', 'scf'"),
    ("state", "spec"): ("run", '[state]\nspec = "ground"\n', ["--state", "a:HOMO->LUMO"], "'a:HOMO->LUMO'"),
    ("state", "specs"): ("run", '[state]\nspecs = ["ground"]\n', ["--state", "b:HOMO->LUMO"], "'b:HOMO->LUMO'"),
    ("scan", "channel"): ("scan", '[scan]\nchannel = "add:a:LUMO"\n', ["--channel", "remove:a:HOMO"],
                          "channel='remove:a:HOMO'"),
    ("scan", "points"): ("scan", '[scan]\nchannel = "add:a:LUMO"\npoints = 5\n', ["--points", "3"], "points=3"),
    ("scan", "delta"): ("scan", '[scan]\nchannel = "add:a:LUMO"\ndelta = {num = 5}\n', ["--points", "3"],
                        "points=3"),
    ("scan", "deltas"): ("scan", '[scan]\nchannel = "add:a:LUMO"\ndeltas = [0, 1]\n', ["--deltas", "0,0.3,1"],
                         "deltas=[0.0, 0.3, 1.0]"),
    ("scan", "mode"): ("scan", '[scan]\nchannel = "add:a:LUMO"\nmode = "scf"\n', ["--mode", "ensemble"],
                       "mode='ensemble'"),
    ("scan", "predictor"): ("scan", '[scan]\nchannel = "add:a:LUMO"\npredictor = "history"\n',
                            ["--predictor", "response"], "predictor='response'"),
    ("chempot", "channels"): ("chempot", '[chempot]\nchannels = "frontier"\n', ["--channels", "valence"],
                              "channels='valence'"),
    ("chempot", "n_virtual"): ("chempot", '[chempot]\nn_virtual = 2\n', ["--n-virtual", "1"], "n_virtual=1"),
    ("losc", "mode"): ("run", '[losc]\nmode = "post"\n', ["--losc", "scf"], "Correction('losc', 'scf'"),
    ("losc", "fit_basis"): ("run", '[losc]\nmode = "post"\nfit_basis = "6-31g"\n', ["--losc-fit-basis", "sto-3g"],
                            "auxbasis='sto-3g'"),
    ("losc", "window"): ("run", '[losc]\nmode = "post"\nwindow = [-30, 10]\n', ["--losc-window=-20,5"],
                         "window=(-20.0, 5.0)"),
    ("gsc2", "mode"): ("run", '[gsc2]\nmode = "post"\n', ["--gsc2", "post"], "Correction('gsc2', 'post'"),
    ("gsc2", "window"): ("run", '[gsc2]\nmode = "post"\nwindow = [-30, 10]\n', ["--gsc2-window=-20,5"],
                         "window=(-20.0, 5.0)"),
    ("gsc2", "curvature"): ("run", '[gsc2]\nmode = "post"\ncurvature = "relaxed"\n', ["--gsc2-curvature", "frozen"],
                            "curvature='frozen'"),
    ("lrlosc", "mode"): ("run", '[lrlosc]\nmode = "post"\n', ["--lrlosc", "post"], "Correction('lrlosc', 'post'"),
    ("lrlosc", "window"): ("run", '[lrlosc]\nmode = "post"\nwindow = [-30, 10]\n', ["--lrlosc-window=-20,5"],
                           "window=(-20.0, 5.0)"),
    ("lrlosc", "curvature"): ("run", '[lrlosc]\nmode = "post"\ncurvature = "relaxed"\n',
                              ["--lrlosc-curvature", "frozen"], "curvature='frozen'"),
    ("output", "json"): ("run", '[output]\njson = "a.json"\n', ["--json", "B.json"], "B.json"),
    ("output", "study"): ("run", '[output]\nstudy = "a.h5"\n', ["--output", "B.h5"], "B.h5"),
}


def test_the_cases_cover_every_key():
    assert {(t, k) for t, keys in toml_keys().items() for k in keys} == set(CASES)


@pytest.mark.parametrize("where", sorted(CASES), ids=lambda w: "-".join(w))
def test_a_flag_wins_over_the_file(tmp_path, capsys, where):
    command, extra, flags, fragment = CASES[where]
    (tmp_path / "li.xyz").write_text("1\nLi\nLi 0 0 0\n")
    text = ('[molecule]\nxyz = "li.xyz"\nbasis = "sto-3g"\nspin = 1\n' if extra == "XYZ" else LI) + B3LYP
    text += "" if extra == "XYZ" else extra
    (tmp_path / "input.toml").write_text(text)
    code = main([command, str(tmp_path / "input.toml"), *flags, "--print-python"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert fragment in out.out, out.out

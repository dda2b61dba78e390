"""`deltascf run` by subprocess: good runs, CLI = API, and every bad input of issue §5."""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from numpy.testing import assert_allclose
from pyscf.data.nist import HARTREE2EV
from tolerances import E_ATOL, EXACT_ATOL, ORB_ATOL

from deltascf import run_state

ROOT = Path(__file__).resolve().parents[2]
WATER_XYZ = ROOT / "examples" / "water.xyz"
WATER_ATOM = "O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587"


def deltascf(*args, cwd=None):
    """Run the CLI in a fresh interpreter; returns the CompletedProcess."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "deltascf", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


@pytest.fixture(scope="module")
def water_json():
    p = deltascf("run", WATER_XYZ, "--basis", "6-31g", "--xc", "b3lyp", "--state", "a:HOMO->LUMO",
                 "--state", "b:HOMO->a:LUMO", "--conv-tol", "1e-10", "--json", "-")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_run_json_schema(water_json):
    states = water_json["states"]
    assert [s["label"] for s in states] == ["ground", "state1", "state2"]
    for s in states:
        assert {"label", "spec", "e_tot", "excitation_energy_ev", "converged", "collapsed", "nelec", "s2",
                "mo_energy", "mo_occ"} <= set(s)
        assert s["converged"] and not s["collapsed"]
        assert len(s["mo_energy"]) == 2 and len(s["mo_occ"]) == 2  # per spin
    assert states[0]["excitation_energy_ev"] == 0.0
    x = states[1]
    assert x["resolved"] == "a:4->5" and x["mo_occ"][0][4] == 0 and x["mo_occ"][0][5] == 1
    assert_allclose(x["excitation_energy_ev"], (x["e_tot"] - states[0]["e_tot"]) * HARTREE2EV, rtol=0, atol=EXACT_ATOL)
    assert states[2]["nelec"] == [6.0, 4.0]
    assert water_json["units"]["e_tot"] == "hartree"


def test_cli_equals_api(water_json, water_631g):
    r = run_state(water_631g, "b3lyp", "a:HOMO->LUMO", conv_tol=1e-10)
    assert_allclose(water_json["states"][1]["e_tot"], r.e_tot, rtol=0, atol=E_ATOL)


def test_run_table_and_json_file(tmp_path):
    out = tmp_path / "water.json"
    p = deltascf("run", "--atom", WATER_ATOM, "--basis", "sto-3g", "--xc", "hf", "--reference", "rhf",
                 "--state", "HOMO->LUMO", "--json", out)
    assert p.returncode == 0, p.stderr
    assert "ground" in p.stdout and "state1" in p.stdout and "dE / eV" in p.stdout
    data = json.loads(out.read_text())
    assert len(data["states"][1]["mo_occ"]) == 1  # restricted: one list
    assert data["states"][1]["mo_occ"][0][5] == 2.0
    assert [f.name for f in tmp_path.iterdir()] == ["water.json"]  # no temporary left behind


def test_not_converged_exit_3(tmp_path):
    p = deltascf("run", "--atom", WATER_ATOM, "--basis", "6-31g", "--xc", "b3lyp", "--state", "a:HOMO->LUMO",
                 "--max-cycle", "2", "--json", "-")
    assert p.returncode == 3
    data = json.loads(p.stdout)
    assert not data["states"][1]["converged"]
    assert "did not converge" in p.stderr and "Traceback" not in p.stderr


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


BASE = ["--basis", "6-31g", "--xc", "b3lyp"]


def _bad_inputs(tmp_path):
    """(case name, argv, fragment expected in the message)."""
    wrong_count = _write(tmp_path, "count.xyz", "4\nc\nO 0 0 0\nH 0 0 1\nH 0 1 0\n")
    non_numeric = _write(tmp_path, "nonnum.xyz", "1\nc\nO 0 zero 0\n")
    non_finite = _write(tmp_path, "nan.xyz", "1\nc\nO 0 nan 0\n")
    unknown_el = _write(tmp_path, "elem.xyz", "1\nc\nQq 0 0 0\n")
    no_count = _write(tmp_path, "nocount.xyz", "O 0 0 0\n")
    binary = tmp_path / "binary.xyz"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    water = ["--atom", WATER_ATOM]
    return [
        ("missing file", [tmp_path / "nope.xyz", *BASE], "no such file"),
        ("unreadable file (directory)", [tmp_path, *BASE], "cannot read"),
        ("unreadable file (binary)", [binary, *BASE], "cannot read"),
        ("wrong atom count", [wrong_count, *BASE], "announces 4 atoms"),
        ("no atom count", [no_count, *BASE], "number of atoms"),
        ("non-numeric coordinate", [non_numeric, *BASE], "non-numeric"),
        ("non-finite coordinate", [non_finite, *BASE], "non-finite"),
        ("unknown element", [unknown_el, *BASE], "unknown element"),
        ("coincident atoms", ["--atom", "H 0 0 0; H 0 0 0", *BASE], "apart"),
        ("no molecule", [*BASE], "exactly one molecule"),
        ("basis missing for element", ["--atom", "U 0 0 0", "--basis", "6-31g", "--xc", "b3lyp"], "basis"),
        ("unknown basis", [*water, "--basis", "no-such-basis", "--xc", "b3lyp"], "basis"),
        ("unknown xc", [*water, "--basis", "6-31g", "--xc", "b3lpy"], "unknown xc"),
        ("impossible spin", [*water, *BASE, "--spin", "1"], "spin"),
        ("impossible charge", [*water, *BASE, "--charge", "11"], "electrons"),
        ("restricted open shell", [*water, *BASE, "--spin", "2", "--reference", "rks"], "spin 0"),
        ("unknown auxbasis", [*water, *BASE, "--density-fit", "no-such-fit"], "auxiliary basis"),
        ("spec syntax", [*water, *BASE, "--state", "a:HOMO=>LUMO"], "position"),
        ("spec empty item", [*water, *BASE, "--state", "a:HOMO->LUMO,"], "position"),
        ("spin missing", [*water, *BASE, "--state", "HOMO->LUMO"], "name the spin"),
        ("label out of range low", [*water, *BASE, "--state", "a:HOMO-40->LUMO"], "does not exist"),
        ("label out of range high", [*water, *BASE, "--state", "a:HOMO->LUMO+500"], "does not exist"),
        ("move from empty", [*water, *BASE, "--state", "a:LUMO->LUMO+1"], "out of orbital"),
        ("move into full", [*water, *BASE, "--state", "a:HOMO->HOMO-1"], "into orbital"),
        ("occupation above 1", [*water, *BASE, "--state", "a:LUMO=1.5"], "outside [0, 1]"),
        ("occupation below 0", [*water, *BASE, "--state", "a:HOMO=-0.2"], "outside [0, 1]"),
        ("restricted occupation above 2", [*water, *BASE, "--reference", "rks", "--state", "LUMO=2.5"],
         "outside [0, 2]"),
        ("bad flag value", [*water, *BASE, "--conv-tol", "abc"], "invalid float"),
        ("negative conv-tol", [*water, *BASE, "--conv-tol", "-1"], "conv_tol"),
        ("bad grid level", [*water, *BASE, "--grid-level", "42"], "grid_level"),
        ("json into missing directory", [*water, *BASE, "--json", tmp_path / "no" / "x.json"], "does not exist"),
    ]


@pytest.mark.slow
def test_bad_inputs_one_line_exit_2(tmp_path):
    failures = []
    for name, argv, fragment in _bad_inputs(tmp_path):
        p = deltascf("run", *argv)
        lines = p.stderr.strip().splitlines()
        ok = (p.returncode == 2 and len(lines) == 1 and lines[0].startswith("deltascf: error:")
              and fragment in lines[0] and "Traceback" not in p.stderr and not p.stdout)
        if not ok:
            failures.append(f"{name}: rc={p.returncode} stderr={p.stderr!r}")
    assert not failures, "\n".join(failures)
    assert not (tmp_path / "no").exists()


def test_no_command_and_version():
    p = deltascf()
    assert p.returncode == 2 and p.stderr.startswith("deltascf: error:")
    p = deltascf("--version")
    assert p.returncode == 0 and p.stdout.strip()


# -- deltascf scan / chempot ------------------------------------------------------------------
H_ATOM = ["--atom", "H 0 0 0", "--basis", "3-21g", "--spin", "1"]


def test_scan_json_equals_api(cases):
    p = deltascf("scan", *H_ATOM, "--xc", "b3lyp", "--channel", "remove:a:HOMO", "--conv-tol", "1e-11",
                 "--json", "-")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["state"] == "ground" and data["channel"] == "remove:a:HOMO" and data["mode"] == "scf"
    assert {"max_abs_deviation", "deviation_half", "curvature"} <= set(data["linearity"])
    assert {"slope", "eps_low", "eps_high", "janak_residual"} <= set(data["chemical_potential"])
    ref = cases["frac-hydrogen-b3lyp"]
    for point in data["points"]:
        assert {"delta", "n_electrons", "e_tot", "eps", "converged"} <= set(point)
        assert_allclose(point["e_tot"], ref["values"][f"{point['delta']:.1f}"], rtol=0, atol=ref["tolerance"])


def test_scan_table_and_ensemble():
    p = deltascf("scan", *H_ATOM, "--xc", "hf", "--reference", "uhf", "--channel", "remove:a:HOMO",
                 "--deltas", "0,0.5,1", "--mode", "ensemble")
    assert p.returncode == 0, p.stderr
    assert "D(1/2)" in p.stdout and "mode ensemble" in p.stdout and "eV" in p.stdout


def test_chempot_table_and_json(tmp_path):
    out = tmp_path / "table.json"
    p = deltascf("chempot", *H_ATOM, "--xc", "hf", "--reference", "uhf", "--channels", "remove:a:HOMO",
                 "--json", out)
    assert p.returncode == 0, p.stderr
    assert "eps-mu" in p.stdout
    (row,) = json.loads(out.read_text())["rows"]
    assert {"channel", "spin", "orbital", "label", "eps", "eps_neighbour", "mu", "delta_scf_ev", "error_ev",
            "converged"} <= set(row)
    assert abs(row["error_ev"]) < ORB_ATOL and row["label"] == "HOMO" and row["spin"] == "a"


def test_scan_not_converged_exit_3():
    p = deltascf("scan", "--atom", WATER_ATOM, *BASE, "--channel", "remove:a:HOMO", "--deltas", "0,0.5,1",
                 "--max-cycle", "2")
    assert p.returncode == 3
    assert "did not converge" in p.stderr and "Traceback" not in p.stderr and "D(1/2)" in p.stdout


SCAN = ["scan", "--atom", WATER_ATOM, *BASE]
CHEMPOT = ["chempot", "--atom", WATER_ATOM, *BASE]


@pytest.mark.parametrize("argv,fragment", [
    ([*SCAN, "--channel", "add:a:HOMO"], "empty orbital"),
    ([*SCAN, "--channel", "remove:a:LUMO"], "singly occupied"),
    ([*SCAN, "--channel", "add:a:LUMO+99"], "no such orbital"),
    ([*SCAN, "--channel", "insert:a:LUMO"], "expected add"),
    ([*SCAN, "--channel", "add:LUMO"], "name the spin"),
    ([*SCAN, "--channel", "add:a:LUMO", "--deltas", "0,1.5"], "[0, 1]"),
    ([*SCAN, "--channel", "add:a:LUMO", "--deltas", "0.5,0.2"], "sorted"),
    ([*SCAN, "--channel", "add:a:LUMO", "--deltas", "0.5"], "at least 2"),
    ([*SCAN, "--channel", "add:a:LUMO", "--deltas", "0,x"], "--deltas"),
    ([*SCAN, "--channel", "add:a:LUMO", "--points", "1"], "at least 2"),
    ([*SCAN, "--channel", "add:a:LUMO", "--reference", "rks"], "unrestricted"),
    ([*SCAN, "--channel", "add:a:LUMO", "--mode", "linear"], "invalid choice"),
    ([*SCAN, "--channel", "add:a:LUMO", "--state", "a:HOMO->LUMO+99"], "does not exist"),
    ([*CHEMPOT, "--channels", "add:a:1"], "empty orbital"),
    ([*CHEMPOT, "--channels", "frontier", "--reference", "rks"], "unrestricted"),
    ([*CHEMPOT, "--channels", "remove:a:HOMO,bogus"], "expected add"),
])
def test_scan_chempot_bad_inputs(argv, fragment):
    p = deltascf(*argv)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2, p.stderr
    assert len(lines) == 1 and lines[0].startswith("deltascf: error:") and fragment in lines[0], p.stderr
    assert not p.stdout


# -- LOSC flags ---------------------------------------------------------------------------------
def test_run_with_losc_json(cases):
    p = deltascf("run", "--atom", "H 0 0 0; H 10 0 0", "--basis", "6-31g", "--xc", "b3lyp", "--losc", "post",
                 "--losc-fit-basis", "6-31g", "--json", "-")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    losc = data["states"][0]["losc"]
    assert {"delta_e", "e_tot", "mo_energy"} <= set(losc)
    case = cases["losc-h2-stretched-post"]
    assert abs(losc["delta_e"] - case["values"]["delta_e_losc"]) < case["tolerance"]["delta_e_losc"]
    assert data["losc"]["kappa_coulomb"] == "df" and data["losc"]["auxbasis"] == "6-31g"


def test_scan_with_losc_table():
    p = deltascf("scan", "--atom", "H 0 0 0; H 10 0 0", "--charge", "1", "--spin", "1", "--basis", "6-31g",
                 "--xc", "b3lyp", "--channel", "remove:a:HOMO", "--deltas", "0,0.5,1", "--losc", "scf")
    assert p.returncode == 0, p.stderr
    assert "LOSC scf" in p.stdout


@pytest.mark.parametrize("argv,fragment", [
    (["run", "--atom", WATER_ATOM, "--basis", "6-31g", "--xc", "camb3lyp", "--losc", "post"], "range-separated"),
    (["run", "--atom", WATER_ATOM, *BASE, "--losc", "post", "--losc-window", "10"], "two numbers"),
    (["run", "--atom", WATER_ATOM, *BASE, "--losc", "post", "--losc-window", "10,-30"], "low < high"),
    (["run", "--atom", WATER_ATOM, *BASE, "--losc-fit-basis", "6-31g"], "need --losc"),
    (["run", "--atom", WATER_ATOM, *BASE, "--losc", "post", "--losc-fit-basis", "nope"], "auxiliary basis"),
    (["run", "--atom", WATER_ATOM, *BASE, "--losc", "both"], "invalid choice"),
    ([*SCAN, "--channel", "add:a:LUMO", "--mode", "ensemble", "--losc", "post"], "--mode scf"),
])
def test_losc_bad_inputs(argv, fragment):
    p = deltascf(*argv)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and fragment in lines[0], p.stderr


# -- --output study files -----------------------------------------------------------------------
def test_run_output_study_file_equals_json(tmp_path):
    from deltascf import load_all

    out = tmp_path / "study.h5"
    p = deltascf("run", "--atom", WATER_ATOM, "--basis", "sto-3g", "--xc", "b3lyp", "--state", "a:HOMO->LUMO",
                 "--losc", "post", "--output", out, "--json", "-")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    records = load_all(out)
    assert set(records) == {("states", "ground"), ("states", "state1"), ("losc", "ground"), ("losc", "state1")}
    for s in data["states"]:
        assert records[("states", s["label"])].e_tot == s["e_tot"]
        assert records[("losc", s["label"])].e_tot == s["losc"]["e_tot"]
    assert [f.name for f in tmp_path.iterdir()] == ["study.h5"]
    # an existing study file is refused before any SCF
    p = deltascf("run", "--atom", WATER_ATOM, "--basis", "sto-3g", "--xc", "b3lyp", "--output", out)
    assert p.returncode == 2 and "exists" in p.stderr


def test_scan_and_chempot_output(tmp_path):
    from deltascf import load

    p = deltascf("scan", *H_ATOM, "--xc", "hf", "--reference", "uhf", "--channel", "remove:a:HOMO",
                 "--deltas", "0,0.5,1", "--output", tmp_path / "scan.h5")
    assert p.returncode == 0, p.stderr
    scan = load(tmp_path / "scan.h5", kind="scans")
    assert scan.channel == "remove:a:HOMO" and scan.delta.tolist() == [0.0, 0.5, 1.0]
    p = deltascf("chempot", *H_ATOM, "--xc", "hf", "--reference", "uhf", "--channels", "remove:a:HOMO",
                 "--output", tmp_path / "table.h5")
    assert p.returncode == 0, p.stderr
    assert load(tmp_path / "table.h5", kind="theorem").rows[0].channel == "remove:a:0"


def test_report_of_study_file(tmp_path):
    out = tmp_path / "study.h5"
    p = deltascf("scan", *H_ATOM, "--xc", "hf", "--reference", "uhf", "--channel", "remove:a:HOMO",
                 "--deltas", "0,0.5,1", "--output", out, "--json", "-")
    assert p.returncode == 0, p.stderr
    direct = json.loads(p.stdout)
    p = deltascf("report", out)
    assert p.returncode == 0, p.stderr
    assert "scan 'scan-" in p.stdout and "D(1/2)" in p.stdout
    p = deltascf("report", out, "--json")
    assert p.returncode == 0, p.stderr
    (scan,) = json.loads(p.stdout)["scans"].values()
    assert scan["points"] == direct["points"]
    for bad in (tmp_path / "missing.h5", WATER_XYZ):
        p = deltascf("report", bad)
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_plot_of_study_files(tmp_path):
    scan_h5, table_h5 = tmp_path / "scan.h5", tmp_path / "table.h5"
    assert deltascf("scan", *H_ATOM, "--xc", "b3lyp", "--channel", "remove:a:HOMO", "--deltas", "0,0.5,1",
                    "--output", scan_h5).returncode == 0
    assert deltascf("chempot", *H_ATOM, "--xc", "hf", "--reference", "uhf", "--channels", "remove:a:HOMO",
                    "--output", table_h5).returncode == 0
    for study, name in ((scan_h5, "scan.png"), (table_h5, "parity.svg")):
        p = deltascf("plot", study, "-o", tmp_path / name)
        assert p.returncode == 0, p.stderr
        assert (tmp_path / name).stat().st_size > 0 and p.stdout.strip().endswith(name)
    p = deltascf("plot", scan_h5, "-o", tmp_path / "figure.jpg")
    assert p.returncode == 2 and ".png" in p.stderr and not (tmp_path / "figure.jpg").exists()


class _FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_only_on_a_terminal(monkeypatch):
    """The bar is drawn on a terminal (here a stand-in stderr that says it is one), never otherwise."""
    from deltascf.cli import main

    argv = ["scan", *H_ATOM, "--xc", "hf", "--reference", "uhf", "--channel", "remove:a:HOMO", "--deltas", "0,0.5,1"]
    for extra, shown in (([], True), (["--quiet"], False), (["--json", "-"], False)):
        term = _FakeTerminal()
        monkeypatch.setattr(sys, "stderr", term)
        monkeypatch.setattr(sys, "stdout", io.StringIO())
        assert main(argv + extra) == 0
        text = term.getvalue()
        assert (("3/3" in text and "point" in text and "delta 0" in text) if shown else text == ""), text
    p = deltascf(*argv)  # stderr is a pipe: no progress
    assert p.returncode == 0 and p.stderr == ""


def test_verbose_log_goes_to_stderr():
    p = deltascf("run", "--atom", "H 0 0 0", "--basis", "sto-3g", "--spin", "1", "--xc", "hf", "-v", "--json", "-")
    assert p.returncode == 0, p.stderr
    json.loads(p.stdout)  # stdout stays pure JSON
    assert "cycle=" in p.stderr


# -- TOML input files -----------------------------------------------------------------------------
SCAN_TOML = """
[molecule]
atom = "H 0 0 0"
basis = "3-21g"
spin = 1
[method]
xc = "b3lyp"
conv_tol = 1e-10
[scan]
channel = "remove:a:HOMO"
delta = { start = 0.0, stop = 1.0, num = 3 }
"""


def assert_points_equal(a, b):
    """Same points; floats to E_ATOL (threaded BLAS may reorder sums between processes)."""
    assert len(a) == len(b)
    for p, q in zip(a, b):
        assert p.keys() == q.keys()
        for k in p:
            if isinstance(p[k], float):
                assert abs(p[k] - q[k]) <= E_ATOL, (k, p[k], q[k])
            elif k != "losc":
                assert p[k] == q[k], k


def test_toml_and_flags_give_identical_results(tmp_path):
    (tmp_path / "scan.toml").write_text(SCAN_TOML)
    from_file = deltascf("scan", tmp_path / "scan.toml", "--json", "-")
    from_flags = deltascf("scan", *H_ATOM, "--xc", "b3lyp", "--conv-tol", "1e-10", "--channel", "remove:a:HOMO",
                          "--deltas", "0,0.5,1", "--json", "-")
    assert from_file.returncode == from_flags.returncode == 0, from_file.stderr + from_flags.stderr
    assert_points_equal(json.loads(from_file.stdout)["points"], json.loads(from_flags.stdout)["points"])
    # a flag given on the command line wins over the file
    hf = json.loads(deltascf("scan", tmp_path / "scan.toml", "--xc", "hf", "--reference", "uhf",
                             "--json", "-").stdout)
    assert hf["method"]["xc"] == "hf" and hf["linearity"]["max_abs_deviation"] < E_ATOL


def test_print_python_script_reproduces_the_command(tmp_path):
    (tmp_path / "scan.toml").write_text(SCAN_TOML)
    p = deltascf("scan", tmp_path / "scan.toml", "--print-python")
    assert p.returncode == 0, p.stderr
    script = tmp_path / "scan.py"
    script.write_text(p.stdout)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    via_script = json.loads(run.stdout.strip().splitlines()[-1])
    via_cli = json.loads(deltascf("scan", tmp_path / "scan.toml", "--json", "-").stdout)
    assert_points_equal(via_script["points"], via_cli["points"])


@pytest.mark.parametrize("text,fragment", [
    ("[method]\nxc = 'b3lyp'\ngrid_level = 'high'\n", "grid_level"),
    ("[molecule\n", "line"),
    ("[moleculе]\natom = 'H 0 0 0'\n", "syntax"),  # a Cyrillic е: not a bare TOML key
    ("[scan]\nchannel = 'remove:a:HOMO'\npoints = true\n", "points"),
])
def test_bad_toml_one_line_exit_2(tmp_path, text, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    p = deltascf("run" if "[scan]" not in text else "scan", path)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and fragment in lines[0] and "Traceback" not in p.stderr, p.stderr


def test_example_toml_prints_a_script():
    p = deltascf("scan", ROOT / "examples" / "water-scan.toml", "--print-python")
    assert p.returncode == 0, p.stderr
    compile(p.stdout, "water-scan.py", "exec")
    assert "scan_charge" in p.stdout and "add:a:LUMO+1" in p.stdout

"""The correction interface (design §14): a correction is one module plus one registry line.

``tests/plugins/fshift.py`` is a second correction, GSC's form (theory (6.1)) with a constant curvature c on the
canonical orbitals.  It is registered here at run time and nothing else in deltascf is edited: the API, scans,
theorem tables, state sets, study files, reports and the command line must all take it.  Its ΔE is known in
closed form for a one-orbital fractional state, ½ c δ(1 − δ), so the wiring is checked against a law.
"""
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from tolerances import E_ATOL, EXACT_ATOL, IDENTICAL, ORB_ATOL

import deltascf
from deltascf import corrections, io
from deltascf.chempot import chemical_potentials
from deltascf.cli import main
from deltascf.fractional import scan_charge
from deltascf.report import make_report

H_ATOM = ["--atom", "H 0 0 0", "--basis", "3-21g", "--spin", "1", "--xc", "hf", "--reference", "uhf"]
C = 0.3  # the plugin's default curvature (Hartree)


@pytest.fixture
def fshift(monkeypatch):
    monkeypatch.setitem(corrections.REGISTRY, "fshift", "plugins.fshift")
    return corrections.get_correction("fshift")


@pytest.fixture(scope="module")
def h_atom(make_mol):
    return make_mol("H 0 0 0", "3-21g", spin=1)


def test_a_scan_applies_the_registered_correction_at_every_point(fshift, h_atom, tmp_path):
    method = deltascf.Method(xc="hf", reference="uhf", correction="fshift")
    scan = scan_charge(h_atom, state="ground", channel="remove:a:HOMO", deltas=[0, 0.25, 0.5, 1], method=method)
    plain = scan_charge(h_atom, "hf", "ground", "remove:a:HOMO", deltas=[0, 0.25, 0.5, 1], reference="uhf")
    de = np.array([c.de for c in scan.corrections])
    assert_allclose(de, 0.5 * C * scan.delta * (1 - scan.delta), rtol=0, atol=E_ATOL)  # ½ c n (1 − n)
    assert_allclose(scan.e_tot, plain.e_tot + de, rtol=0, atol=E_ATOL)
    assert_allclose(scan.e_dfa, plain.e_tot, rtol=0, atol=E_ATOL)
    assert_allclose(scan.eps, plain.eps + C * (0.5 - scan.delta), rtol=0, atol=E_ATOL)  # ε + c(½ − n)
    # stored, loaded and reported under its own name
    io.save(tmp_path / "scan.h5", scan, mol=h_atom)
    loaded = io.load(tmp_path / "scan.h5")
    assert type(loaded.corrections[1]) is fshift.Result and loaded.method.correction.name == "fshift"
    assert_allclose([c.de for c in loaded.corrections], de, rtol=0, atol=IDENTICAL)
    summary, text = make_report(scan)
    assert summary["fshift"]["curvature"] == C and "delta_e" in summary["points"][1]["fshift"]
    assert "FSHIFT post" in text


def test_tables_state_sets_and_scf_mode(fshift, h_atom, make_mol):
    method = deltascf.Method(xc="hf", reference="uhf", correction="fshift")
    table = chemical_potentials(h_atom, method=method)
    plain = chemical_potentials(h_atom, "hf", reference="uhf")
    for row, ref in zip(table.rows, plain.rows):  # integer states: ΔE = 0, so μ is the plain one
        assert_allclose(row.mu, ref.mu, rtol=0, atol=E_ATOL)
        assert_allclose(row.eps, ref.eps + C * (0.5 - (row.kind == "remove")), rtol=0, atol=E_ATOL)
    states = deltascf.run_states(make_mol(), "hf", ["a:HOMO->LUMO"], reference="uhf", correction="fshift:scf")
    assert states.labels == ("ground", "state1") and all(c.mode == "scf" for c in states.corrections)
    assert all(abs(c.de) < E_ATOL and c.state.converged for c in states.corrections)  # integer states
    half = deltascf.run_state(h_atom, "hf", "a:HOMO=0.5", reference="uhf")
    scf = corrections.run_correction(h_atom, half, dataclasses_replace(half.method, "fshift:scf"))
    assert scf.state.converged and scf.state.method.correction.mode == "scf"
    assert_allclose(scf.de, 0.5 * C * 0.25, rtol=0, atol=ORB_ATOL)  # the SCF keeps n = ½ on the same orbital
    assert_allclose(scf.e_tot, scf.e_dfa + scf.de, rtol=0, atol=EXACT_ATOL)


def dataclasses_replace(method, correction):
    import dataclasses

    return dataclasses.replace(method, correction=correction)


def test_the_command_line_offers_it(fshift, tmp_path, capsys):
    out = tmp_path / "scan.json"
    argv = ["scan", *H_ATOM, "--channel", "remove:a:HOMO", "--deltas", "0,0.5,1", "-q"]
    assert main([*argv, "--fshift", "post", "--fshift-curvature", "0.2", "--json", str(out)]) == 0
    points = json.loads(out.read_text())["points"]
    assert_allclose(points[1]["fshift"]["delta_e"], 0.5 * 0.2 * 0.25, rtol=0, atol=E_ATOL)
    assert main([*argv, "--correction", "fshift:scf", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["fshift"]["mode"] == "scf"
    toml = tmp_path / "scan.toml"
    toml.write_text('[molecule]\natom = "H 0 0 0"\nbasis = "3-21g"\nspin = 1\n[method]\nxc = "hf"\n'
                    'reference = "uhf"\n[scan]\nchannel = "remove:a:HOMO"\ndeltas = [0, 0.5, 1]\n'
                    '[fshift]\nmode = "post"\ncurvature = 0.2\n')
    assert main(["scan", str(toml), "--json", str(out), "-q"]) == 0
    assert json.loads(out.read_text())["points"][1]["fshift"]["delta_e"] == pytest.approx(0.5 * 0.2 * 0.25, abs=E_ATOL)
    capsys.readouterr()
    assert main([*argv, "--fshift-curvature", "0.2"]) == 2  # its options need the correction
    assert "need --fshift" in capsys.readouterr().err


def test_a_study_resumes_it(fshift, h_atom, tmp_path):
    method = deltascf.Method(xc="hf", reference="uhf", correction="fshift")
    study = tmp_path / "study.h5"
    first = scan_charge(h_atom, state="ground", channel="remove:a:HOMO", points=3, method=method, study=study)
    calls = []
    again = scan_charge(h_atom, state="ground", channel="remove:a:HOMO", points=3, method=method, study=study,
                        callback=lambda d, r: calls.append(d))
    assert calls == [] and np.array_equal(again.e_tot, first.e_tot)
    kinds = {kind for kind, _ in io.load_all(study)}
    assert kinds == {"states", "fshift", "scans"}  # points, their corrections, the scan

"""Degenerate frontier orbitals: a label that picks one of them is flagged (theory §4, "Cautions")."""
import json

import pytest
from test_cli import WATER_ATOM, deltascf

from deltascf import io, run_state
from deltascf.chempot import chemical_potentials
from deltascf.fractional import scan_charge

N2_ATOM = "N 0 0 0; N 0 0 1.1"  # minimal basis: 3σg HOMO (α 6), 1πg LUMO pair (α 7, 8), 1πu pair (α 4, 5)


@pytest.fixture(scope="module")
def n2(make_mol):
    return make_mol(N2_ATOM)


@pytest.mark.parametrize("xc", ["hf", "b3lyp"])  # exact degeneracy; split by the grid (about 1e-7 Eh)
def test_excited_state_records_the_degenerate_groups(n2, xc, tmp_path):
    g = run_state(n2, xc)
    assert g.degenerate == ""
    x = run_state(n2, xc, "a:HOMO->LUMO", ground=g)
    assert x.degenerate == "a:7,8" and x.converged
    assert run_state(n2, xc, "a:HOMO-1->LUMO", ground=g).degenerate == "a:4,5; a:7,8"
    assert run_state(n2, xc, "a:4->7,a:5->8", ground=g).degenerate == ""  # ... unless both partners move
    path = tmp_path / "n2.h5"
    io.save(path, x, mol=n2, label="x")
    assert io.load(path, "x").degenerate == "a:7,8"


def test_water_has_no_degenerate_labels(water_b3lyp_ground, water_631g):
    x = run_state(water_631g, "b3lyp", "a:HOMO->LUMO", ground=water_b3lyp_ground)
    assert x.degenerate == ""


def test_scan_and_table_flag_degenerate_channels(n2):
    scan = scan_charge(n2, "hf", "ground", "add:a:LUMO", deltas=[0, 0.5, 1])
    assert scan.degenerate == "a:7,8"
    table = chemical_potentials(n2, "hf", "ground", "frontier")
    flags = {r.channel: r.degenerate for r in table.rows}
    assert flags == {"remove:a:6": "", "add:a:7": "a:7,8", "remove:b:6": "", "add:b:7": "b:7,8"}


def test_cli_warns_and_reports_degenerate_labels():
    p = deltascf("run", "--atom", N2_ATOM, "--basis", "sto-3g", "--xc", "hf", "--state", "a:HOMO->LUMO",
                 "--json", "-")
    assert p.returncode == 0, p.stderr
    states = json.loads(p.stdout)["states"]
    assert [s["degenerate"] for s in states] == ["", "a:7,8"]
    assert "orbitals a:7,8 are degenerate" in p.stderr and "arbitrary" in p.stderr
    quiet = deltascf("run", "--atom", WATER_ATOM, "--basis", "sto-3g", "--xc", "hf", "--state", "a:HOMO->LUMO")
    assert quiet.returncode == 0 and "degenerate" not in quiet.stderr

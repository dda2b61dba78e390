"""Theorem table: chemical potentials of ground and ΔSCF states against orbital energies."""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf import gto
from pyscf.data.nist import HARTREE2EV
from tolerances import E_ATOL, ORB_ATOL

from deltascf import run_state
from deltascf.chempot import chemical_potentials, make_channels
from deltascf.fractional import scan_charge
from deltascf.report import format_theorem

TIGHT = dict(conv_tol=1e-11)
#: delocalization error of B3LYP/6-31G water: ε_HOMO above −IP by more than this (issue: chempot)
HOMO_ABOVE_MU_EV = 2.0


@pytest.fixture(scope="module")
def water_ground_table(water_631g):
    return chemical_potentials(water_631g, "b3lyp", "ground", "frontier", conv_tol=1e-10)


@pytest.fixture(scope="module")
def water_x_table(water_631g):
    return chemical_potentials(water_631g, "b3lyp", "a:HOMO->LUMO", "frontier", conv_tol=1e-10)


def test_one_electron_hf_table_is_exact():
    """H atom, UHF: removing the only electron, ε equals μ at both ends (T1, T2)."""
    mol = gto.M(atom="H 0 0 0", basis="3-21g", spin=1, verbose=0)
    table = chemical_potentials(mol, "hf", "ground", ["remove:a:HOMO"], reference="uhf", **TIGHT)
    (row,) = table.rows
    assert row.converged and row.orbital == 0 and row.label == "HOMO"
    assert_allclose([row.error, row.error_neighbour], 0.0, rtol=0, atol=E_ATOL)
    assert row.e_neighbour == 0.0  # no electrons left


def test_water_b3lyp_homo_above_removal_potential(water_ground_table):
    by_channel = {r.channel: r for r in water_ground_table.rows}
    assert set(by_channel) == {"remove:a:4", "add:a:5", "remove:b:4", "add:b:5"}
    homo = by_channel["remove:a:4"]
    assert homo.converged and not homo.collapsed
    assert homo.error * HARTREE2EV > HOMO_ABOVE_MU_EV
    # sign pattern of a convex functional (theory §3.3): T1 > 0, T2 < 0, T3 < 0, T4 > 0
    lumo = by_channel["add:a:5"]
    assert homo.error > 0 > homo.error_neighbour
    assert lumo.error < 0 < lumo.error_neighbour
    # closed shell: both spins give the same row
    assert_allclose(homo.mu, by_channel["remove:b:4"].mu, rtol=0, atol=E_ATOL)
    # and the table says so in eV
    text = format_theorem(water_ground_table)
    assert f"{homo.error * HARTREE2EV:.3f}" in text and "eV" in text


def test_mu_is_the_slope_of_the_scan(water_631g, water_ground_table):
    """μ from the integer neighbour = E(1) − E(0) of the scan of the same channel."""
    row = next(r for r in water_ground_table.rows if r.channel == "remove:a:4")
    scan = scan_charge(water_631g, "b3lyp", "ground", "remove:a:HOMO", deltas=[0, 1], conv_tol=1e-10)
    assert_allclose(scan.slope, row.mu, rtol=0, atol=10 * E_ATOL)
    # eps at the ends of the scan are the T2 and T1 eigenvalues
    assert_allclose([scan.eps_low, scan.eps_high], [row.eps_neighbour, row.eps], rtol=0, atol=ORB_ATOL)


def test_shared_end_point_identity(water_631g, water_ground_table, water_x_table):
    """IP_G(α HOMO) − IP_X(promoted α electron) = ω_X: both channels end in the ground cation (theory §4)."""
    g = water_ground_table
    x = water_x_table
    omega = x.e_tot - g.e_tot
    ip_g = next(r for r in g.rows if r.channel == "remove:a:4").delta_scf
    promoted = next(r for r in x.rows if r.kind == "remove" and r.spin == 0)  # highest α of X: the electron in 4a1
    assert_allclose(ip_g - promoted.delta_scf, omega, rtol=0, atol=10 * E_ATOL)


def test_excited_state_table_signs(water_x_table):
    for r in water_x_table.rows:
        assert r.converged and not r.collapsed
        if r.kind == "remove":
            assert r.error > 0 > r.error_neighbour
        else:
            assert r.error < 0 < r.error_neighbour


def test_valence_channels(water_631g):
    g = run_state(water_631g, "b3lyp")
    chans = make_channels(g.mo_occ, "valence", ncore=1, n_virtual=2)
    names = [str(c) for c in chans]
    assert names == ["remove:a:1", "remove:a:2", "remove:a:3", "remove:a:4", "add:a:5", "add:a:6",
                     "remove:b:1", "remove:b:2", "remove:b:3", "remove:b:4", "add:b:5", "add:b:6"]
    assert [str(c) for c in make_channels(g.mo_occ, "remove:a:HOMO,add:b:LUMO+1")] == \
        ["remove:a:HOMO", "add:b:LUMO+1"]


def test_restricted_reference_refused(water_631g):
    with pytest.raises(ValueError, match="unrestricted"):
        chemical_potentials(water_631g, "b3lyp", reference="rks")


def test_inputs_unchanged(water_631g, water_b3lyp_ground):
    before = water_631g.dumps(), np.array(water_b3lyp_ground.mo_coeff)
    table = chemical_potentials(water_631g, "b3lyp", "ground", ["remove:a:HOMO"], start=water_b3lyp_ground)
    assert table.e_tot == water_b3lyp_ground.e_tot
    assert water_631g.dumps() == before[0]
    assert np.array_equal(water_b3lyp_ground.mo_coeff, before[1])

"""lrLOSC (theory §6.6): curvature against finite differences, the GSC2 law, theorem tables and settings (its study,
CLI and SCF-mode refusal routes are tested with GSC2's in test_gsc2.py).

The theorem-table rows are asserted against values computed here by an independent route: each active
orbitalet's column of κ from finite differences of SCFs with a fixed density δ|φ_j⟩⟨φ_j| added (theory (6.6)),
put into LOSC's orbital-energy form (5.8) with U and λ computed here.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf import gto
from pyscf.data.nist import HARTREE2EV
from tolerances import E_ATOL, FD_ATOL, ORB_ATOL, PARITY_ATOL

from deltascf import Correction, Method, run_state
from deltascf.chempot import chemical_potentials
from deltascf.corrections import run_correction
from deltascf.corrections.gsc2 import Gsc2Settings
from deltascf.corrections.lrlosc import LrLoscSettings, select_active
from deltascf.fractional import scan_charge
from fdkappa import TIGHT, fd_orbitalet_kappa

WATER = "O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587"


@pytest.fixture(scope="module")
def water():
    return gto.M(atom=WATER, basis="6-31g", verbose=0)


@pytest.fixture(scope="module")
def states(water):
    g = run_state(water, "b3lyp", **TIGHT)
    return {"ground": g, "a:HOMO->LUMO": run_state(water, "b3lyp", state="a:HOMO->LUMO", ground=g, **TIGHT),
            "a:HOMO=0.5": run_state(water, "b3lyp", state="a:HOMO=0.5", ground=g, **TIGHT)}


def _lrlosc(settings=None, xc="b3lyp", reference="uks"):
    return Method(xc=xc, reference=reference, correction=Correction("lrlosc", "post", settings or LrLoscSettings()))


def _fd_eps(mol, state, corr, s, p):
    """ε_p + Σ_ij U_pi κ_ij (½δ_ij − λ_ij) U_pj with κ by finite differences over the record's active orbitalets;
    U and λ computed here (theory (5.5), (5.8))."""
    s1e = mol.intor_symmetric("int1e_ovlp")
    restricted = state.restricted
    c_lo = corr.c_lo[0 if restricted else s]
    c = state.mo_coeff if restricted else state.mo_coeff[s]
    n = state.mo_occ / 2 if restricted else state.mo_occ[s]
    e = state.mo_energy if restricted else state.mo_energy[s]
    lam = c_lo.T @ s1e @ (c * n) @ c.T @ s1e @ c_lo
    u = c[:, p] @ s1e @ c_lo
    kappa = np.column_stack([fd_orbitalet_kappa(mol, state, s, c_lo, c_lo[:, j]) for j in range(c_lo.shape[1])])
    kappa = (kappa + kappa.T) / 2
    return e[p] + u @ (kappa * (0.5 * np.eye(len(lam)) - lam)) @ u


def test_active_orbitalets_are_the_fractional_ones_and_those_read():
    lam = np.diag([1.0, 1.0, 0.0, 0.0])
    lam[1, 2] = lam[2, 1] = 0.01  # λ_12² = 1e-4: both active
    u_read = np.zeros((1, 4))
    u_read[0, 3] = 1.0  # orbitalet 3 is the orbital read
    assert select_active(lam, u_read, 1e-5).tolist() == [1, 2, 3]
    assert select_active(lam, u_read, 1e-3).tolist() == [3]
    assert select_active(lam, np.zeros((0, 4)), 0.0).tolist() == [1, 2]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ground", "a:HOMO->LUMO", "a:HOMO=0.5"])
def test_kappa_equals_finite_differences(water, states, name):
    """Every column of the relaxed orbitalet κ (6.6) against central differences of perturbed SCFs."""
    st = states[name]
    corr = run_correction(water, st, _lrlosc())
    assert corr.converged and not corr.singular and not corr.grid_unstable
    for s in range(2):
        kap = corr.kappa[s]
        for j in range(kap.shape[0]):
            col = fd_orbitalet_kappa(water, st, s, corr.c_lo[s], corr.c_lo[s][:, j])
            assert_allclose(kap[:, j], col, rtol=0, atol=FD_ATOL, err_msg=f"{name} spin {s} orbitalet {j}")


@pytest.mark.parametrize("name", ["ground", "a:HOMO->LUMO"])
def test_an_orbitalet_that_is_a_canonical_orbital_gives_gsc2(water, states, name):
    """A window that holds one canonical orbital of a spin makes that orbital its own orbitalet: lrLOSC's κ and
    corrected energy of it are GSC2's (theory §6.6)."""
    st = states[name]
    e = st.mo_energy[0] * HARTREE2EV
    p = int(np.argmax(np.where(st.mo_occ[0] > 0.5, e, -np.inf)))  # the α HOMO of the state
    gaps = np.abs(np.delete(np.concatenate(st.mo_energy) * HARTREE2EV, [p]) - e[p])
    half = 0.5 * min(gaps[gaps > 1e-3].min(), 1.0)
    window = (e[p] - half, e[p] + half)
    tight = 1e-8  # the law is exact; two solves of different subspaces differ by O(tol²) (theory §6.2)
    lr = run_correction(water, st, _lrlosc(LrLoscSettings(window=window, tol=tight)), orbitals=[(0, p)])
    gsc2 = run_correction(water, st, Method(xc="b3lyp", correction=Correction("gsc2", "post",
                                                                              Gsc2Settings(tol=tight))),
                          orbitals=[(0, p)])
    assert lr.c_lo[0].shape[1] == 1  # one orbitalet, the orbital itself
    assert_allclose(lr.kappa[0][0, 0], gsc2.kappa[0, p], rtol=0, atol=E_ATOL)
    assert_allclose(lr.mo_energy[0, p], gsc2.mo_energy[0, p], rtol=0, atol=E_ATOL)


@pytest.mark.slow
@pytest.mark.parametrize("state", ["ground", "a:HOMO->LUMO"])
def test_theorem_table_rows_equal_finite_difference_lrlosc(water, states, state):
    """Each row's ε in the start state and in its neighbour, with κ by finite differences (theory (5.8), (6.6)).
    In the closed-shell ground state the β rows mirror the α rows, so those are checked against them."""
    table = chemical_potentials(water, "b3lyp", state=state, correction="lrlosc", **TIGHT)
    plain = chemical_potentials(water, "b3lyp", state=state, **TIGHT)
    start, start_corr = states[state], table.corrections[0]
    for row, ref, nb, nb_corr in zip(table.rows, plain.rows, table.neighbours, table.corrections[1:]):
        s, p, q = row.spin, row.orbital, row.neighbour_orbital
        sign = 1 if row.kind == "add" else -1  # μ = E_J − E_I (addition), E_I − E_K (removal)
        assert_allclose(row.mu, ref.mu + sign * (nb_corr.de - start_corr.de), rtol=0, atol=E_ATOL)
        if state == "ground" and s == 1:
            twin = next(r for r in table.rows if r.spin == 0 and r.kind == row.kind)
            assert_allclose([row.eps, row.eps_neighbour], [twin.eps, twin.eps_neighbour], rtol=0, atol=ORB_ATOL)
            continue
        eps = _fd_eps(water, start, start_corr, s, p)
        eps_nb = _fd_eps(water, nb, nb_corr, s, q)
        assert_allclose([row.eps, row.eps_neighbour], [eps, eps_nb], rtol=0, atol=FD_ATOL, err_msg=row.channel)


def test_one_electron_hf_is_uncorrected():
    """One-electron HF: the Hxc kernel of its one orbital vanishes with or without relaxation, so lrLOSC changes
    nothing and a scan stays linear."""
    mol = gto.M(atom="H 0 0 0", basis="6-31g", spin=1, verbose=0)
    scan = scan_charge(mol, "hf", channel="remove:a:HOMO", points=5, correction="lrlosc", **TIGHT)
    assert_allclose(scan.e_dev, 0.0, rtol=0, atol=E_ATOL)
    assert_allclose([c.de for c in scan.corrections], 0.0, rtol=0, atol=E_ATOL)
    assert_allclose(scan.eps, scan_charge(mol, "hf", channel="remove:a:HOMO", points=5, **TIGHT).eps,
                    rtol=0, atol=E_ATOL)


def test_restricted_equals_unrestricted_and_all_orbitalets_change_little(water, states):
    """RKS and UKS routes to one closed-shell state agree; taking every orbitalet instead of the active ones
    moves the frontier energies by about κ · active_tol at most (theory (6.7))."""
    rks = run_state(water, "b3lyp", reference="rks", **TIGHT)
    r = run_correction(water, rks, _lrlosc(reference="rks"))
    u = run_correction(water, states["ground"], _lrlosc())
    every = run_correction(water, states["ground"], _lrlosc(LrLoscSettings(active_tol=0.0)))
    assert r.mo_energy.shape == rks.mo_energy.shape and r.orbitals == ((4, 5),) and len(r.kappa) == 1
    assert_allclose(r.mo_energy[4:6], u.mo_energy[0, 4:6], rtol=0, atol=ORB_ATOL)
    assert every.c_lo[0].shape[1] == 13 > u.c_lo[0].shape[1]
    assert_allclose(every.mo_energy[:, 4:6], u.mo_energy[:, 4:6], rtol=0, atol=10 * LrLoscSettings().active_tol)
    frozen = run_correction(water, states["ground"], _lrlosc(LrLoscSettings(curvature="frozen")))
    assert_allclose(frozen.kappa[0], u.kappa_frozen[0], rtol=0, atol=PARITY_ATOL)
    assert np.all(np.diag(u.kappa[0]) < np.diag(frozen.kappa[0]))  # relaxation screens


def test_bad_settings_are_refused():
    for bad in ({"active_tol": -1}, {"active_tol": 0.5}, {"tol": 0}, {"curvature": "screened"}):
        with pytest.raises(ValueError):
            LrLoscSettings(**bad)

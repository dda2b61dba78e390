"""run_state: physics laws first, then two routes, then published references."""
import hashlib

import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf import dft, gto
from tolerances import (
    E_ATOL,
    EXACT_ATOL,
    FD_ATOL,
    FOCK_ATOL,
    GRAD_ATOL,
    IDENTICAL,
    ORB_ATOL,
    PARITY_ATOL,
    ROUNDOFF_ATOL,
)

from deltascf import Occupation, ScfResult, purify_singlet, run_state
from deltascf.spin import make_spin_dms
from deltascf.tracking import make_target_check

TIGHT = dict(conv_tol=1e-11)


# -- laws -------------------------------------------------------------------------
def test_tracking_from_aufbau_reproduces_ground(water_631g, water_b3lyp_ground):
    """IMOM started from the aufbau occupations stays on the ground state."""
    g = water_b3lyp_ground
    for spec in ("ground", Occupation.from_occ(g.mo_occ)):
        r = run_state(water_631g, "b3lyp", spec, ground=g, conv_tol=1e-10)
        assert r.converged and not r.collapsed
        assert_allclose(r.e_tot, g.e_tot, rtol=0, atol=E_ATOL)
        assert_allclose(r.mo_occ, g.mo_occ, rtol=0, atol=IDENTICAL)


def test_ground_equals_plain_pyscf(water_631g, water_b3lyp_ground):
    mf = dft.UKS(water_631g)
    mf.xc = "b3lyp"
    mf.conv_tol = 1e-10
    mf.verbose = 0
    mf.kernel()
    assert_allclose(water_b3lyp_ground.e_tot, mf.e_tot, rtol=0, atol=E_ATOL)
    assert water_b3lyp_ground.n_fock > 0


@pytest.mark.parametrize("xc", ["b3lyp", "hf"])
def test_spin_flip_triplet_equals_aufbau_triplet(make_mol, xc):
    """b:HOMO->a:LUMO from the singlet ground state = aufbau spin=2 state."""
    mol = make_mol(basis="6-31g")
    flip = run_state(mol, xc, "b:HOMO->a:LUMO", **TIGHT)
    assert flip.nelec == (6.0, 4.0)
    aufbau = run_state(make_mol(basis="6-31g", spin=2), xc, **TIGHT)
    assert_allclose(flip.e_tot, aufbau.e_tot, rtol=0, atol=E_ATOL)
    assert flip.s2 == pytest.approx(aufbau.s2, abs=ORB_ATOL)
    assert not flip.collapsed


@pytest.mark.parametrize("spec", ["a:HOMO->LUMO", "a:HOMO->LUMO,a:LUMO+1=0.3", "b:HOMO=0.25", "b:HOMO->a:LUMO"])
def test_occupations_sum_to_n(water_631g, water_b3lyp_ground, spec):
    r = run_state(water_631g, "b3lyp", spec, ground=water_b3lyp_ground)
    target = r.target_occ
    assert_allclose(r.mo_occ.sum(axis=1), target.sum(axis=1), rtol=0, atol=EXACT_ATOL)
    assert_allclose(sum(r.nelec), r.mo_occ.sum(), rtol=0, atol=EXACT_ATOL)
    # tracking keeps the multiset of occupation values
    assert_allclose(np.sort(r.mo_occ, axis=1), np.sort(target, axis=1), rtol=0, atol=IDENTICAL)
    assert r.converged and not r.collapsed


def _tracked_index(r: ScfResult, spin: int, value: float) -> int:
    (idx,) = np.flatnonzero(np.abs(r.mo_occ[spin] - value) < EXACT_ATOL)
    return int(idx)


def test_janak_on_excited_state(water_631g, water_b3lyp_ground):
    """dE/dn_p = eps_p for a fractional orbital of an excited state; theory (3.1)."""
    h, n = 1e-3, 0.4
    spec = "a:HOMO->LUMO,a:LUMO+1={:.6f}"
    e = {}
    for x in (n - h, n + h):
        e[x] = run_state(water_631g, "b3lyp", spec.format(x), ground=water_b3lyp_ground, **TIGHT).e_tot
    mid = run_state(water_631g, "b3lyp", spec.format(n), ground=water_b3lyp_ground, **TIGHT)
    eps = mid.mo_energy[0, _tracked_index(mid, 0, n)]
    assert_allclose((e[n + h] - e[n - h]) / (2 * h), eps, rtol=0, atol=FD_ATOL)


def test_restricted_and_unrestricted_doubles_agree(make_mol):
    mol = make_mol(basis="6-31g")
    r = run_state(mol, "b3lyp", "HOMO->LUMO", reference="rks", **TIGHT)
    u = run_state(mol, "b3lyp", "a:HOMO->LUMO,b:HOMO->LUMO", reference="uks", **TIGHT)
    assert r.mo_occ.max() == 2.0 and r.restricted
    assert_allclose(r.e_tot, u.e_tot, rtol=0, atol=E_ATOL)
    assert abs(u.s2) < ORB_ATOL


def test_mom_and_imom_reach_the_same_state(water_631g, water_b3lyp_ground):
    kw = dict(ground=water_b3lyp_ground, **TIGHT)
    imom = run_state(water_631g, "b3lyp", "a:HOMO->LUMO", tracking="imom", **kw)
    mom = run_state(water_631g, "b3lyp", "a:HOMO->LUMO", tracking="mom", **kw)
    assert mom.method.tracking == "mom" and mom.converged and not mom.collapsed
    assert_allclose(mom.e_tot, imom.e_tot, rtol=0, atol=E_ATOL)


def test_convergence_uses_full_orbital_gradient(water_631g, water_b3lyp_ground):
    """The recorded gradient covers fractional-fractional and occupied-occupied pairs."""
    r = run_state(water_631g, "b3lyp", "a:HOMO->LUMO,a:LUMO+1=0.3", ground=water_b3lyp_ground, **TIGHT)
    assert r.converged
    assert r.max_grad < GRAD_ATOL
    # a result that stopped early has a large full gradient
    early = run_state(water_631g, "b3lyp", "a:HOMO->LUMO,a:LUMO+1=0.3", ground=water_b3lyp_ground, max_cycle=2)
    assert not early.converged and early.max_grad > r.max_grad


def _checksum(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def test_inputs_are_not_mutated(water_631g):
    mf = dft.UKS(water_631g)
    mf.xc = "b3lyp"
    mf.verbose = 0
    mf.kernel()
    mol_before = water_631g.dumps()
    mf_before = _checksum(mf.mo_coeff, mf.mo_occ, mf.mo_energy)
    r = run_state(water_631g, "b3lyp", "a:HOMO->LUMO", ground=mf)
    assert r.converged
    assert water_631g.dumps() == mol_before
    assert _checksum(mf.mo_coeff, mf.mo_occ, mf.mo_energy) == mf_before
    assert mf.__class__ is dft.uks.UKS


def test_records_are_frozen_copies(water_b3lyp_ground):
    g = water_b3lyp_ground
    with pytest.raises(ValueError):
        g.mo_occ[0, 0] = 0.0
    with pytest.raises(AttributeError):
        g.e_tot = 0.0
    back = ScfResult.from_dict(g.to_dict())
    for name, value in g.to_dict().items():
        assert back.to_dict()[name] == value, name


def test_collapse_is_detected(water_631g, water_b3lyp_ground):
    """A ground-state density offered as the answer to an excited target is flagged."""
    g = water_b3lyp_ground
    s1e = water_631g.intor("int1e_ovlp")
    x = Occupation.parse("a:HOMO->LUMO").resolve((5, 5), g.mo_occ.shape[1], False)
    dm_ground = make_spin_dms(g.mo_coeff, g.mo_occ)
    overlap, collapsed = make_target_check(dm_ground, g.mo_coeff, x.mo_occ, s1e)
    assert collapsed
    assert overlap[0] == pytest.approx(0.8, abs=PARITY_ATOL)  # 4 of 5 alpha orbitals shared
    overlap, collapsed = make_target_check(dm_ground, g.mo_coeff, g.mo_occ, s1e)
    assert not collapsed and np.allclose(overlap, 1.0)


def test_purified_singlet_below_mixed_above_triplet(water_631g, water_b3lyp_ground):
    x = run_state(water_631g, "b3lyp", "a:HOMO->LUMO", ground=water_b3lyp_ground)
    t = run_state(water_631g, "b3lyp", "b:HOMO->a:LUMO", ground=water_b3lyp_ground)
    e_s = purify_singlet(x, t)
    assert e_s == pytest.approx(2 * x.e_tot - t.e_tot, abs=ROUNDOFF_ATOL)
    assert t.e_tot < x.e_tot < e_s  # singlet above the mixed determinant above the triplet


def test_density_fitting_and_range_separated(make_mol):
    mol = make_mol(basis="6-31g")
    r = run_state(mol, "camb3lyp", "a:HOMO->LUMO", density_fit="def2-universal-jkfit", grid_level=2)
    assert r.converged and not r.collapsed and r.method.density_fit == "def2-universal-jkfit"


def test_ground_from_another_basis_refused(make_mol, water_b3lyp_ground):
    with pytest.raises(ValueError, match="basis functions"):
        run_state(make_mol(basis="sto-3g"), "b3lyp", "a:HOMO->LUMO", ground=water_b3lyp_ground)


@pytest.mark.parametrize("other, fragment", [
    (dict(charge=1, spin=1), "charge 1 and spin 1"),  # the same basis: one electron fewer
    (dict(atom="O 0 0 0; H 0 -0.8 0.6; H 0 0.8 0.6"), "another molecule"),
    (dict(atom="H 0 -0.757 0.587; O 0 0 0; H 0 0.757 0.587"), "another molecule"),  # atoms in another order
])
def test_ground_of_another_molecule_refused(make_mol, other, fragment):
    """Labels resolve against the given ground state, so one of another molecule would give a wrong state."""
    mol = make_mol(basis="sto-3g")
    ground = run_state(make_mol(**{"basis": "sto-3g", **other}), "hf", reference="uhf")
    with pytest.raises(ValueError, match=fragment):
        run_state(mol, "hf", "a:HOMO->LUMO", reference="uhf", ground=ground)


def test_ground_that_never_ran_refused(make_mol):
    mol = make_mol(basis="sto-3g")
    with pytest.raises(ValueError, match="ground: .*no orbitals"):
        run_state(mol, "hf", "a:HOMO->LUMO", ground=dft.UKS(mol))


def test_ground_without_orbital_energies(water_631g, water_b3lyp_ground):
    """A mean-field object with orbitals but no mo_energy: the energies are computed from its density."""
    holder = dft.UKS(water_631g)
    holder.mo_coeff, holder.mo_occ = np.array(water_b3lyp_ground.mo_coeff), np.array(water_b3lyp_ground.mo_occ)
    r = run_state(water_631g, "b3lyp", "a:HOMO->LUMO", ground=holder, **TIGHT)
    ref = run_state(water_631g, "b3lyp", "a:HOMO->LUMO", ground=water_b3lyp_ground, **TIGHT)
    assert_allclose(r.e_tot, ref.e_tot, rtol=0, atol=E_ATOL)
    assert r.degenerate == ref.degenerate == "" and r.converged and not r.collapsed


def test_final_fock_is_built_for_the_final_density(water_631g, water_b3lyp_ground):
    """The record's orbitals diagonalize a fresh F[D] of its own density within each occupation group, and
    make_final_fock rebuilds V[D] when the last Fock build belonged to another density."""
    from deltascf.scf import make_final_fock, make_mf, wrap

    x = run_state(water_631g, "b3lyp", "a:HOMO->LUMO", ground=water_b3lyp_ground, **TIGHT)
    mf = make_mf(water_631g, x.method)
    fock = mf.get_fock(dm=make_spin_dms(x.mo_coeff, x.mo_occ))
    for s in range(2):
        f_mo = x.mo_coeff[s].T @ fock[s] @ x.mo_coeff[s]
        assert_allclose(np.diag(f_mo), x.mo_energy[s], rtol=0, atol=FOCK_ATOL)
        for v in np.unique(x.mo_occ[s]):
            idx = np.flatnonzero(x.mo_occ[s] == v)
            block = f_mo[np.ix_(idx, idx)]
            assert np.abs(block - np.diag(np.diag(block))).max() < FOCK_ATOL
    mf = wrap(make_mf(water_631g, x.method))
    mf.kernel()
    final = make_final_fock(mf)
    n = mf.n_fock
    mf.get_veff(mf.mol, make_spin_dms(x.mo_coeff, x.mo_occ))  # the last build now belongs to another density
    assert_allclose(make_final_fock(mf), final, rtol=0, atol=PARITY_ATOL)
    assert mf.n_fock == n + 2


def test_restricted_refuses_open_shell(make_mol):
    with pytest.raises(ValueError, match="spin 0"):
        run_state(make_mol(basis="sto-3g", spin=2), "hf", reference="rhf")


# -- published reference values (../shared/reference/cases.json) ---------------------
def _mol_from_case(case, **kw):
    system = case["system"]
    return gto.M(atom=system["atom"], basis=system["basis"], charge=system["charge"],
                 spin=system["spin"], verbose=0, **kw)


def test_mom_water_pyscf(cases):
    case = cases["mom-water-pyscf"]
    mol = _mol_from_case(case)
    r = run_state(mol, case["method"]["xc"], "a:4->5", reference="uks", tracking="imom", **TIGHT)
    assert r.resolved == "a:4->5" and r.converged and not r.collapsed
    assert_allclose(r.e_tot, case["value"], rtol=0, atol=case["tolerance"])


@pytest.fixture(scope="module")
def psi4_water(cases):
    return _mol_from_case(cases["mom-water-psi4-ground"])


@pytest.fixture(scope="module")
def psi4_water_ground(psi4_water):
    return run_state(psi4_water, "hf", reference="rhf", **TIGHT)


def test_mom_water_psi4_ground(cases, psi4_water_ground):
    case = cases["mom-water-psi4-ground"]
    assert_allclose(psi4_water_ground.e_tot, case["value"], rtol=0, atol=case["tolerance"])


def test_mom_water_psi4_double(cases, psi4_water, psi4_water_ground):
    case = cases["mom-water-psi4-double-1b1"]
    r = run_state(psi4_water, "hf", "HOMO->LUMO", reference="rhf", ground=psi4_water_ground, **TIGHT)
    assert r.mo_occ[5] == 2.0 and r.mo_occ[4] == 0.0 and not r.collapsed
    assert_allclose(r.e_tot, case["value"], rtol=0, atol=case["tolerance"])


def test_mom_water_psi4_triplet(cases, psi4_water, psi4_water_ground):
    case = cases["mom-water-psi4-triplet"]
    r = run_state(psi4_water, "hf", "b:4->a:5", reference="uhf", ground=psi4_water_ground, **TIGHT)
    assert r.nelec == (6.0, 4.0)
    assert_allclose(r.e_tot, case["value"], rtol=0, atol=case["tolerance"])


def test_frac_carbon_psi4(cases):
    case = cases["frac-carbon-psi4"]
    method = case["method"]
    mol = _mol_from_case(case)
    kw = dict(reference="uhf", density_fit=method["density_fit"], **TIGHT)
    ground = run_state(mol, "hf", **kw)
    for n_total, value in case["values"].items():
        n = float(n_total) - 5.0
        r = run_state(mol, "hf", f"a:3={n}", ground=ground, **kw)
        assert r.converged and sum(r.nelec) == pytest.approx(float(n_total))
        assert_allclose(r.e_tot, value, rtol=0, atol=case["tolerance"])


def test_frac_hydrogen_b3lyp(cases):
    case = cases["frac-hydrogen-b3lyp"]
    mol = _mol_from_case(case)
    ground = run_state(mol, case["method"]["xc"], **TIGHT)
    for n, value in case["values"].items():
        r = run_state(mol, "b3lyp", f"a:HOMO={n}", ground=ground, **TIGHT)
        assert r.converged
        assert_allclose(r.e_tot, value, rtol=0, atol=case["tolerance"])


def test_frac_one_electron_hf_linear(cases):
    """One-electron HF: E(n) is exactly the straight line (PPLB)."""
    case = cases["frac-one-electron-hf-linear"]
    mol = _mol_from_case(case)
    ground = run_state(mol, "hf", reference="uhf", **TIGHT)
    ns = np.linspace(0, 1, 6)
    e = np.array([run_state(mol, "hf", f"a:HOMO={n}", reference="uhf", ground=ground, **TIGHT).e_tot for n in ns])
    line = e[0] + ns * (e[-1] - e[0])
    assert_allclose(e - line, 0.0, rtol=0, atol=case["tolerance"])
    assert_allclose(e[-1], ground.e_tot, rtol=0, atol=E_ATOL)


def test_vendored_cases_match_shared():
    from conftest import SHARED_CASES, VENDORED_CASES

    if not SHARED_CASES.exists():
        pytest.skip("shared/reference/cases.json is not beside this checkout")
    assert SHARED_CASES.read_text() == VENDORED_CASES.read_text()

"""The response engine against finite differences of deltascf's own SCFs (theory (6.2)-(6.4)).

Exact laws first: κ_pq = dε_p/dn_q from the engine equals the finite-difference derivative of ε_p over
fractional SCFs at n_q ± h, for ground, ΔSCF and fractional states, GGA and hybrid, UKS, RKS and UHF; the
frozen κ equals the Coulomb-exchange-xc double integral computed directly; one-electron HF has κ = 0.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf import ao2mo, gto
from pyscf.dft import libxc
from tolerances import EXACT_ATOL, FD_ATOL, KAPPA_QUOTED_ATOL

from deltascf import Occupation, run_state
from deltascf.response import OccupationResponse, make_orbital_dms
from deltascf.scf.build import make_mf
from fdkappa import TIGHT, fd_kappa

WATER = "O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587"
#: theory §6.1: the H atom's κ_HOMO and ε − κ/2 (B3LYP/3-21G, grid level 5), from an O(h) stencil
H_ATOM_KAPPA, H_ATOM_EPS_GSC = 0.39900, -0.50941


@pytest.fixture(scope="module")
def water():
    return gto.M(atom=WATER, basis="6-31g", verbose=0)


def engine_kappa(mol, state, perturbations):
    """κ between perturbations [(s, p), ...]; for a restricted state a spatial occupation change (half per spin)."""
    resp = OccupationResponse(mol, state)
    if state.restricted:
        dms = make_orbital_dms(resp.mo_coeff, [(0, p) for _, p in perturbations])
        dms = (dms + make_orbital_dms(resp.mo_coeff, [(1, p) for _, p in perturbations])) / 2
    else:
        dms = make_orbital_dms(resp.mo_coeff, perturbations)
    res = resp.solve(dms)
    assert res.converged.all() and not res.near_singular.any()
    return res


def _state(mol, xc, reference, kind):
    method_kw = {"reference": reference, **TIGHT}
    g = run_state(mol, xc, **method_kw)
    if kind == "ground":
        return g
    if kind == "dscf":
        return run_state(mol, xc, state="a:HOMO->LUMO", ground=g, **method_kw)
    occ = np.array(g.mo_occ, copy=True)  # fractional: half an electron out of the (alpha) HOMO
    if g.restricted:
        occ[4] = 1.5
    else:
        occ[0, 4] = 0.5
    return run_state(mol, xc, state=Occupation.from_occ(occ), ground=g, **method_kw)


CASES = [  # (xc, reference, state, [(spin, q, p): κ_pq = dε_p/dn_q])
    ("b3lyp", "uks", "ground", [(0, 4, 4), (0, 5, 5), (0, 5, 4)]),
    ("pbe", "uks", "ground", [(0, 4, 4)]),
    ("b3lyp", "uks", "dscf", [(0, 5, 5), (0, 4, 4), (0, 4, 5)]),
    ("pbe", "uks", "dscf", [(0, 5, 5), (1, 4, 4)]),
    ("b3lyp", "uks", "fractional", [(0, 4, 4), (0, 4, 5)]),
    ("pbe", "uks", "fractional", [(0, 4, 4)]),
    ("b3lyp", "rks", "ground", [(0, 4, 4), (0, 5, 5)]),
    ("pbe", "rks", "fractional", [(0, 4, 4)]),
    ("hf", "uhf", "ground", [(0, 4, 4), (0, 5, 4)]),
]


@pytest.mark.slow
@pytest.mark.parametrize("xc, reference, kind, entries", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_kappa_equals_finite_differences_of_orbital_energies(water, xc, reference, kind, entries):
    state = _state(water, xc, reference, kind)
    orbitals = sorted({(s, q) for s, q, _ in entries} | {(s, p) for s, _, p in entries})
    res = engine_kappa(water, state, orbitals)
    for s, q, p in entries:
        k = res.kappa[orbitals.index((s, p)), orbitals.index((s, q))]
        assert_allclose(k, fd_kappa(water, state, s, q, p), rtol=0, atol=FD_ATOL, err_msg=f"κ {s}:{p},{q}")
    assert_allclose(res.kappa, res.kappa.T, rtol=0, atol=EXACT_ATOL)  # second derivatives commute


def test_frozen_kappa_is_the_hxc_double_integral(water):
    """κ⁰_ij = (ii|jj) − a_HF (ij|ji) δ_σσ' + ⟨ρ_i|f_xc|ρ_j⟩, the last by central differences of V_xc."""
    state = _state(water, "b3lyp", "uks", "dscf")
    orbitals = [(0, 5), (0, 4), (1, 4)]
    resp = OccupationResponse(water, state)
    dms = make_orbital_dms(resp.mo_coeff, orbitals)
    k0 = resp.solve(dms, relaxed=False).kappa
    a_hf = libxc.hybrid_coeff("b3lyp")
    mf = make_mf(water, state.method)
    d0 = np.einsum("smi,si,sni->smn", state.mo_coeff, state.mo_occ, state.mo_coeff)
    h = 1e-4
    direct = np.zeros((3, 3))
    for i, (si, pi) in enumerate(orbitals):
        ci = state.mo_coeff[si][:, [pi]]
        for j, (sj, pj) in enumerate(orbitals):
            cj = state.mo_coeff[sj][:, [pj]]
            coulomb = float(ao2mo.general(water, (ci, ci, cj, cj), compact=False)[0, 0])
            exchange = float(ao2mo.general(water, (ci, cj, cj, ci), compact=False)[0, 0]) if si == sj else 0.0
            vp = mf._numint.nr_uks(water, mf.grids, "b3lyp", d0 + h * dms[:, j])[2]
            vm = mf._numint.nr_uks(water, mf.grids, "b3lyp", d0 - h * dms[:, j])[2]
            fxc = float(ci[:, 0] @ (vp[si] - vm[si]) @ ci[:, 0]) / (2 * h)
            direct[i, j] = coulomb - a_hf * exchange + fxc
    assert_allclose(k0, direct, rtol=0, atol=FD_ATOL)


def test_relaxation_lowers_the_curvature_of_water(water):
    res = engine_kappa(water, _state(water, "b3lyp", "uks", "ground"), [(0, 4)])
    assert res.kappa[0, 0] < res.kappa_frozen[0, 0]


def test_one_electron_hf_has_no_curvature():
    """One-electron HF is linear in n (theory §6.3): κ_HOMO = 0 relaxed and frozen, exactly up to round-off."""
    for atom, spin in (("H 0 0 0", 1), ("H 0 0 0; H 0 0 1.06", 1)):
        mol = gto.M(atom=atom, basis="6-31g", spin=spin, charge=0 if atom.count("H") == 1 else 1, verbose=0)
        state = run_state(mol, "hf", **TIGHT)
        res = OccupationResponse(mol, state).solve(make_orbital_dms(state.mo_coeff, [(0, 0)]))
        assert_allclose([res.kappa[0, 0], res.kappa_frozen[0, 0]], 0.0, rtol=0, atol=EXACT_ATOL)


def test_hydrogen_atom_reference_curvature():
    """theory §6.1: κ_HOMO = 0.39900 Eh (O(h) stencil, so to 1e-3), and to our own second-order stencil to FD_ATOL."""
    mol = gto.M(atom="H 0 0 0", basis="3-21g", spin=1, verbose=0)
    state = run_state(mol, "b3lyp", grid_level=5, **TIGHT)
    res = engine_kappa(mol, state, [(0, 0)])
    k = res.kappa[0, 0]
    assert_allclose(k, H_ATOM_KAPPA, rtol=0, atol=KAPPA_QUOTED_ATOL)
    assert_allclose(state.mo_energy[0, 0] - k / 2, H_ATOM_EPS_GSC, rtol=0, atol=KAPPA_QUOTED_ATOL)
    assert_allclose(k, fd_kappa(mol, state, 0, 0, 0), rtol=0, atol=FD_ATOL)


def test_density_fitting_and_restricted_twin_agree_with_their_unrestricted_runs(water):
    """Two routes: an RKS state's spin-orbital κ equals the UKS one; a DF state's κ equals its own FD."""
    rks = _state(water, "b3lyp", "rks", "ground")
    uks = _state(water, "b3lyp", "uks", "ground")
    r = OccupationResponse(water, rks).solve(make_orbital_dms(np.stack([rks.mo_coeff] * 2), [(0, 4)]))
    u = OccupationResponse(water, uks).solve(make_orbital_dms(uks.mo_coeff, [(0, 4)]))
    assert_allclose(r.kappa, u.kappa, rtol=0, atol=FD_ATOL)
    df = run_state(water, "b3lyp", density_fit="def2-universal-jkfit", **TIGHT)
    res = engine_kappa(water, df, [(0, 4)])
    assert_allclose(res.kappa[0, 0], fd_kappa(water, df, 0, 4, 4), rtol=0, atol=FD_ATOL)


@pytest.mark.parametrize("xc", ["lda,vwn", "b3lyp", "tpss"])
def test_rank_one_xc_integral_equals_pyscf_kernel_route(water, xc):
    """⟨ρ_i|f_xc|ρ_i⟩ from φ_i and ∇φ_i on the grid (theory §6.4) equals PySCF's nr_uks_fxc applied to |φ_i⟩⟨φ_i|,
    for LDA, GGA and meta-GGA, on the state's grid and on a finer one; the spin of each orbital is its own."""
    state = run_state(water, xc, state="a:HOMO->LUMO", ground=run_state(water, xc))
    resp = OccupationResponse(water, state)
    work = [(0, 4), (0, 5), (1, 4), (1, 6)]
    orbitals = [(s, resp.mo_coeff[s][:, p]) for s, p in work]
    dms = make_orbital_dms(resp.mo_coeff, work)
    mf = resp._mf
    for level in (None, resp.grid_level + 1):
        grids = mf.grids
        if level is not None:
            from pyscf import dft

            grids = dft.gen_grid.Grids(water)
            grids.level = level
            grids.build(with_non0tab=True)
        rho0, vxc, fxc = mf._numint.cache_xc_kernel(water, grids, mf.xc, resp.mo_coeff, resp.mo_occ, 1)
        v = mf._numint.nr_uks_fxc(water, grids, mf.xc, None, dms, 0, 1, rho0, vxc, fxc)
        ref = np.einsum("simn,simn->i", dms, np.asarray(v).reshape(dms.shape))
        assert_allclose(resp.xc_kernel_diagonal(orbitals, level=level), ref, rtol=1e-10, atol=EXACT_ATOL)

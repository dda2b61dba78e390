"""ROKS (theory §1.10): the open-shell singlet of excited-state ROKS, and the high-spin ROKS ground state."""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf import gto
from tolerances import E_ATOL, EXACT_ATOL

from deltascf import run_state
from deltascf.cli import main
from deltascf.occupations import SpecError
from deltascf.records import Method
from deltascf.scf.roks import _pairs, _roks_mf, _rotate, make_roks_energy, minimize_roks

WATER = "O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692"
ROT_FD_ATOL = 1e-7  # Eh/rad, central differences of E_S(κ) at h = 1e-4


@pytest.fixture(scope="module")
def water():
    return gto.M(atom=WATER, basis="6-31g", verbose=0)


@pytest.fixture(scope="module", params=["hf", "b3lyp"])
def singlet(request, water):
    xc = request.param
    ref = "rohf" if xc == "hf" else "roks"
    g = run_state(water, xc, "ground", reference=ref, conv_tol=1e-10)
    return xc, g, run_state(water, xc, "a:HOMO->LUMO", reference=ref, ground=g, conv_tol=1e-10)


def test_mixed_determinant_is_one_alpha_one_beta_open_orbital(singlet, water):
    """PySCF's ROKS puts both open orbitals in α (the triplet); ours has i in β and a in α, equal spatial
    orbitals for both spins, and ⟨S²⟩ exactly 1."""
    _, g, s = singlet
    assert s.converged and not s.collapsed
    assert_allclose(s.mo_coeff[0], s.mo_coeff[1], rtol=0, atol=0)
    assert s.mo_occ[0, 4] == 0 and s.mo_occ[0, 5] == 1 and s.mo_occ[1, 4] == 1 and s.mo_occ[1, 5] == 0
    assert s.nelec == (5.0, 5.0)
    assert_allclose(s.s2, 1.0, rtol=0, atol=1e-10)


def test_singlet_energy_is_twice_mixed_minus_triplet(singlet, water):
    xc, _, s = singlet
    mf = _roks_mf(water, s.method)
    c = np.array(s.mo_coeff[0])
    m_a, m_b = np.array(s.mo_occ)
    t_a, t_b = m_a.copy(), m_b.copy()
    t_a[4], t_b[4] = 1.0, 0.0
    e, _, (e_m, e_t), _ = make_roks_energy(mf, c, [(2.0, m_a, m_b), (-1.0, t_a, t_b)])
    assert_allclose(e, s.e_tot, rtol=0, atol=E_ATOL)
    assert_allclose(e, 2 * e_m - e_t, rtol=0, atol=EXACT_ATOL * 100)
    assert f"E_M = {e_m:.10f}" in s.resolved


def test_singlet_gradient_equals_finite_differences(water):
    """dE_S/dK_pq of (1.11) against central differences along a random rotation."""
    g = run_state(water, "b3lyp", "ground", reference="roks")
    c = np.array(g.mo_coeff[0])
    core = np.zeros(c.shape[1])
    core[:4] = 1
    m_a, m_b, t_a = core.copy(), core.copy(), core.copy()
    m_a[5], m_b[4], t_a[4], t_a[5] = 1, 1, 1, 1
    dets = [(2.0, m_a, m_b), (-1.0, t_a, core)]
    mf = _roks_mf(water, Method(xc="b3lyp", reference="roks"))
    pairs = _pairs(dets)
    direction = np.random.default_rng(3).normal(size=len(pairs[0]))
    direction /= np.linalg.norm(direction)  # a unit rotation: the stencil error is h² E'''/6 ≈ 1e-9
    _, gmat, _, _ = make_roks_energy(mf, c, dets)
    h = 1e-4
    ep = make_roks_energy(mf, _rotate(c, pairs, h * direction), dets)[0]
    em = make_roks_energy(mf, _rotate(c, pairs, -h * direction), dets)[0]
    assert_allclose(gmat[pairs] @ direction, (ep - em) / (2 * h), rtol=0, atol=ROT_FD_ATOL)


@pytest.mark.parametrize("xc", ["hf", "b3lyp"])
def test_triplet_from_the_same_optimizer_equals_pyscf_high_spin_roks(water, xc):
    """E_T minimized by deltascf's ROKS optimizer equals PySCF's ROKS/ROHF triplet (spin 2) of the same
    functional: the energy expression and the optimizer are those of ROKS."""
    ref = "rohf" if xc == "hf" else "roks"
    triplet = gto.M(atom=WATER, basis="6-31g", spin=2, verbose=0)
    pyscf_t = run_state(triplet, xc, "ground", reference=ref, conv_tol=1e-11)
    g = run_state(water, xc, "ground", reference=ref)
    core = np.zeros(13)
    core[:4] = 1
    t_a = core.copy()
    t_a[4] = t_a[5] = 1
    mf = _roks_mf(water, Method(xc=xc, reference=ref))
    _, e, _, converged, _, _ = minimize_roks(mf, np.array(g.mo_coeff[0]), [(1.0, t_a, core)], conv_tol=1e-11,
                                             max_cycle=500)
    assert converged
    assert_allclose(e, pyscf_t.e_tot, rtol=0, atol=E_ATOL)
    assert_allclose(pyscf_t.s2, 2.0, rtol=0, atol=1e-10)


def test_roks_singlet_lies_near_the_purified_uks_singlet(singlet, water):
    """Two routes to the open-shell singlet: excited-state ROKS and 2 E_mixed − E_T from UKS states agree to
    0.1 eV for water's HOMO → LUMO (B3LYP: 8.09 against 8.08 eV; HF: 7.82 against 7.75)."""
    from deltascf import purify_singlet

    xc, g, s = singlet
    gu = run_state(water, xc, "ground", reference="uhf" if xc == "hf" else "uks")
    m = run_state(water, xc, "a:HOMO->LUMO", ground=gu, reference="uhf" if xc == "hf" else "uks")
    t = run_state(water, xc, "b:HOMO->a:LUMO", ground=gu, reference="uhf" if xc == "hf" else "uks")
    assert_allclose(g.e_tot, gu.e_tot, rtol=0, atol=1e-7)  # a closed shell: ROKS ground = UKS ground
    assert abs((s.e_tot - purify_singlet(m, t)) * 27.2114) < 0.1


def test_bad_roks_specs_are_refused(water):
    for spec in ("a:HOMO->LUMO,b:HOMO->LUMO", "b:HOMO->a:LUMO", "a:HOMO=0.5", "core:O1s"):
        with pytest.raises(SpecError, match="one alpha move"):
            run_state(water, "b3lyp", spec, reference="roks")
    with pytest.raises(ValueError, match="corrections apply"):
        Method(reference="roks", correction="losc")
    with pytest.raises(ValueError, match="not tracked"):
        Method(reference="roks", tracking="mom")


def test_cli_roks_singlet_equals_api(tmp_path, capsys):
    import json

    xyz = tmp_path / "water.xyz"
    xyz.write_text("3\nwater\n" + "\n".join(WATER.split("; ")) + "\n")
    assert main(["run", str(xyz), "--basis", "6-31g", "--xc", "hf", "--reference", "rohf", "--state",
                 "a:HOMO->LUMO", "--json", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    mol = gto.M(atom=WATER, basis="6-31g", verbose=0)
    api = run_state(mol, "hf", "a:HOMO->LUMO", reference="rohf")
    assert_allclose(out["states"][1]["e_tot"], api.e_tot, rtol=0, atol=E_ATOL)
    assert_allclose(out["states"][1]["s2"], 1.0, rtol=0, atol=1e-10)
    assert main(["run", str(xyz), "--basis", "6-31g", "--xc", "hf", "--reference", "rohf", "--state",
                 "a:HOMO=0.5"]) == 2
    assert "one alpha move" in capsys.readouterr().err


# -- gradients (theory (1.12)) ------------------------------------------------------------------------------------
def test_high_spin_roks_gradient_equals_pyscf_rohf_gradient():
    """Two routes: the ROKS Lagrangian gradient of deltascf and PySCF's own ROHF gradient (triplet water)."""
    from pyscf import scf

    from deltascf.gradients import make_gradient

    mol = gto.M(atom=WATER, basis="6-31g", spin=2, verbose=0)
    t = run_state(mol, "hf", "ground", reference="rohf", conv_tol=1e-12)
    mf = scf.ROHF(mol)
    mf.conv_tol = 1e-12
    mf.kernel()
    assert_allclose(make_gradient(mol, t), mf.nuc_grad_method().kernel(), rtol=0, atol=1e-8)


@pytest.mark.slow
def test_roks_singlet_gradient_equals_finite_differences():
    """dE_S/dR against central differences (h = 1e-3 bohr) of E_S re-optimized from the projected orbitals."""
    from deltascf.gradients import make_gradient, roks_determinants
    from deltascf.optimize import project_orbitals

    def water(dz=0.0):
        return gto.M(atom=f"O 0 0 {0.1173 + dz * 0.52917721092}; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692",
                     basis="sto-3g", verbose=0)

    mol = water()
    s = run_state(mol, "hf", "a:HOMO->LUMO", reference="rohf", conv_tol=1e-12, conv_tol_grad=1e-7, max_cycle=400)
    assert s.converged
    e = []
    for h in (1e-3, -1e-3):
        m = water(h)
        res = minimize_roks(_roks_mf(m, s.method), project_orbitals(mol, s.mo_coeff[0], m), roks_determinants(s),
                            conv_tol=1e-12, conv_tol_grad=1e-7, max_cycle=400)
        assert res[3]
        e.append(res[1])
    assert_allclose(make_gradient(mol, s)[0, 2], (e[0] - e[1]) / 2e-3, rtol=0, atol=1e-6)


@pytest.mark.skipif(not __import__("deltascf.optimize", fromlist=["x"]).geometric_available(), reason="needs geomeTRIC")
def test_roks_singlet_optimization_pyramidalizes_formaldehyde():
    """The ROKS n → π* singlet of formaldehyde (HF/STO-3G) leaves the plane, as the S₁ state does, and every step
    keeps the state."""
    import math

    from deltascf.optimize import optimize_state

    mol = gto.M(atom="C 0 0 0; O 0 0 1.205; H 0.08 0.94 -0.587; H 0.08 -0.94 -0.587", basis="sto-3g", verbose=0)
    r = optimize_state(mol, "hf", "a:HOMO->LUMO", reference="rohf")
    assert r.converged and not r.lost
    assert all(s.overlap.min() >= 0.9 and abs(s.state.s2 - 1.0) < 1e-8 for s in r.steps)
    c, o, h1, h2 = r.final.coords
    normal = np.cross(h1 - c, h2 - c)
    normal /= np.linalg.norm(normal)
    out_of_plane = 90 - math.degrees(math.acos(abs(normal @ (o - c)) / np.linalg.norm(o - c)))
    assert out_of_plane > 20


@pytest.mark.parametrize("xc", ["hf", "b3lyp"])
def test_roks_newton_and_lbfgs_find_the_same_singlet(water, xc):
    """Two optimizers of (1.11): Newton–Krylov (finite-difference Hessian products) and L-BFGS agree to 1e-8 Eh;
    Newton takes at most 6 steps."""
    ref = "rohf" if xc == "hf" else "roks"
    g = run_state(water, xc, "ground", reference=ref)
    lbfgs = run_state(water, xc, "a:HOMO->LUMO", reference=ref, ground=g, conv_tol=1e-11)
    newton = run_state(water, xc, "a:HOMO->LUMO", reference=ref, ground=g, conv_tol=1e-11, solver="newton")
    assert lbfgs.converged and newton.converged and newton.cycles <= 6 and newton.max_grad < 1e-8
    assert_allclose(newton.e_tot, lbfgs.e_tot, rtol=0, atol=E_ATOL)
    assert_allclose(newton.s2, 1.0, rtol=0, atol=1e-10)

"""LOSC on ground, ΔSCF and fractional states: laws, references, post-SCF and SCF-LOSC."""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf import gto
from pyscf.data.nist import HARTREE2EV
from tolerances import E_ATOL, EXACT_ATOL, GRAD_ATOL, IDENTICAL

from deltascf import run_state
from deltascf.chempot import chemical_potentials
from deltascf.fractional import scan_charge
from deltascf.corrections.losc import LoscSettings, LoscUnsupported, make_losc_correction
from deltascf.corrections.xc import make_dfa_weights
from deltascf.corrections.losc import make_local_occupation, make_losc_inputs, make_losc_potential, run_scf_losc
from deltascf.scf import make_mf
from deltascf.spin import make_spin_dms

#: LOSC vanishes for integer states whose orbitalets are the canonical orbitals (issue: LOSC)
VANISH_ATOL = 1e-7
#: theory §5.10: exact Coulomb curvature moves the stretched-H2 virtual LOSC energies up by about 0.7 eV
EXACT_J_SHIFT_EV = (0.6, 0.9)
#: SCF-LOSC energy expression vs the reported energy (issue: LOSC)
SCF_LOSC_E_ATOL = 1e-8
#: stretched H2+: largest LOSC error against the exact straight E(δ), as a fraction of B3LYP's (issue: LOSC)
EXACT_LINE_RATIO = 0.10
#: the two-orbitalet model of the LOSC2 D(½) shift, with κ frozen although it drifts along δ (7 % measured)
TWO_ORBITALET_RTOL = 0.10


def _h2(distance, charge=0, basis="6-31g"):
    return gto.M(atom=f"H 0 0 0; H {distance} 0 0", basis=basis, charge=charge, spin=charge, verbose=0)


@pytest.fixture(scope="module")
def stretched_h2():
    return _h2(10.0)


@pytest.mark.parametrize("reference", ["uks", "rks"])
def test_losc_h2_stretched_post(cases, stretched_h2, reference):
    case = cases["losc-h2-stretched-post"]
    tol, ref = case["tolerance"], case["values"]
    g = run_state(stretched_h2, case["method"]["xc"], reference=reference, conv_tol=1e-10)
    fit = LoscSettings(kappa_coulomb="df", auxbasis="6-31g")  # the fit basis of the published numbers
    r = make_losc_correction(stretched_h2, g, fit)
    assert all(r.localization_converged)
    assert_allclose(r.de_losc, ref["delta_e_losc"], rtol=0, atol=tol["delta_e_losc"])
    assert_allclose(r.e_tot, ref["e_losc"], rtol=0, atol=tol["e_losc"])
    eps = r.mo_energy if r.mo_energy.ndim == 1 else r.mo_energy[0]
    assert_allclose(eps * HARTREE2EV, ref["orbital_energies_ev"], rtol=0, atol=tol["orbital_energies_ev"])
    assert r.e_dfa == g.e_tot and r.mode == "post" and r.state is None


#: theory §5.12, QM4D reference (Yang-Laboratory/losc tests/losc/data/H2O): water with H at (1,0,0) and
#: (0,1,0) Å, B3LYP/6-31G, post-SCF LOSC2, 6-31G** fit; ΔE and the LOSC HOMO, LUMO in Eh
QM4D_WATER = {"delta_e": 2.396e-7, "homo": -0.478520, "lumo": 0.125990}
#: QM4D water: their grid and SCF are not PySCF's (measured: ΔE 7.5e-10, ε 5e-6 and 7e-6 Eh off)
QM4D_DE_ATOL, QM4D_EPS_ATOL = 1e-8, 2e-5


@pytest.mark.parametrize("reference", ["rks", "uks"])
def test_losc_water_qm4d(reference):
    mol = gto.M(atom="O 0 0 0; H 1 0 0; H 0 1 0", basis="6-31g", verbose=0)
    g = run_state(mol, "b3lyp", reference=reference, conv_tol=1e-11)
    r = make_losc_correction(mol, g, LoscSettings(kappa_coulomb="df", auxbasis="6-31g**"))
    eps = r.mo_energy if r.mo_energy.ndim == 1 else r.mo_energy[0]
    assert_allclose(r.de_losc, QM4D_WATER["delta_e"], rtol=0, atol=QM4D_DE_ATOL)
    assert_allclose(eps[4:6], [QM4D_WATER["homo"], QM4D_WATER["lumo"]], rtol=0, atol=QM4D_EPS_ATOL)


def test_exact_coulomb_curvature_moves_virtuals_up(stretched_h2):
    g = run_state(stretched_h2, "b3lyp", conv_tol=1e-10)
    fit = make_losc_correction(stretched_h2, g, LoscSettings(kappa_coulomb="df", auxbasis="6-31g"))
    exact = make_losc_correction(stretched_h2, g, LoscSettings())
    shift = (exact.mo_energy[0, 2:] - fit.mo_energy[0, 2:]) * HARTREE2EV
    assert np.all((shift > EXACT_J_SHIFT_EV[0]) & (shift < EXACT_J_SHIFT_EV[1]))
    assert abs(exact.de_losc - fit.de_losc) < 1e-3  # ΔE barely moves (theory §5.10: 0.13429 -> 0.13456)


@pytest.mark.parametrize("xc", ["svwn", "blyp", "b3lyp"])
@pytest.mark.parametrize("charge", [0, 1], ids=["H2", "H2+"])
def test_losc_vanishes_near_equilibrium(xc, charge):
    mol = _h2(1.0, charge)
    g = run_state(mol, xc, conv_tol=1e-10)
    r = make_losc_correction(mol, g)
    assert abs(r.de_losc) < VANISH_ATOL


def test_losc_is_zero_for_hf(stretched_h2):
    g = run_state(stretched_h2, "hf", reference="uhf")
    r = make_losc_correction(stretched_h2, g)
    assert r.de_losc == 0.0 and (r.a_x, r.a_hf) == (0.0, 1.0)
    assert_allclose(r.mo_energy, g.mo_energy, rtol=0, atol=IDENTICAL)


@pytest.mark.parametrize("xc,fragment", [("camb3lyp", "range-separated"), ("scan", "meta-GGA"),
                                         ("pbe,pbe", "weights="), ("nonsense", "unknown")])
def test_unsupported_functionals_refused(xc, fragment):
    with pytest.raises(LoscUnsupported, match=fragment):
        make_dfa_weights(xc)


def test_explicit_weights_and_presets():
    assert make_dfa_weights("b3lyp") == (0.8, 0.2)
    assert make_dfa_weights("PBE0") == (0.75, 0.25)
    assert make_dfa_weights("pbe,pbe", weights=(1.0, 0.0)) == (1.0, 0.0)
    with pytest.raises(LoscUnsupported, match="a_HF"):
        make_dfa_weights("pbe,pbe", weights=(0.8, 0.2))


def test_post_losc_keeps_input_and_window(water_631g, water_b3lyp_ground):
    g = water_b3lyp_ground
    before = np.array(g.mo_energy)
    r = make_losc_correction(water_631g, g, LoscSettings(window=(-30.0, 10.0)))
    assert np.array_equal(g.mo_energy, before)
    with pytest.raises(ValueError):
        r.mo_energy[0, 0] = 0.0
    inside = (g.mo_energy[0] * HARTREE2EV >= -30) & (g.mo_energy[0] * HARTREE2EV < 10)
    assert r.co_index[0] == tuple(np.flatnonzero(inside))
    # orbitals outside the window are not corrected
    assert_allclose(r.mo_energy[0][~inside], g.mo_energy[0][~inside], rtol=0, atol=EXACT_ATOL)


# -- physics ----------------------------------------------------------------------------------
def test_stretched_h2_cation_scan_with_losc():
    """H2+ at 10 Å, E(δ) from H2²⁺ (δ = 0) to H2+ (δ = 1): LOSC puts the curve near the exact line.

    One electron: UHF is exact in the basis, so the exact E(δ) is the straight
    line from E_nuc to E_HF(H2+).  B3LYP strays from it by up to 78 mEh (its
    N = 1 end is 78 mEh too low); LOSC by at most 7.5 mEh.  Against its own
    (corrected) end points LOSC2 is not as straight: with the two half-filled
    orbitalets 1, 2 of the stretched bond, ΔE(δ) = κ11 (δ/2)(1 − δ/2) − κ12 δ²/4
    (theory (5.6)), which moves D(½) by +(κ11 + κ12)/16, more than B3LYP's own
    D(½) = −0.019 Eh, so |D_LOSC(½)| is 0.38 of B3LYP's.  Both are asserted.
    """
    mol = _h2(10.0, charge=1)
    deltas = [0, 0.25, 0.5, 0.75, 1]
    dfa = scan_charge(mol, "b3lyp", "ground", "remove:a:HOMO", deltas=deltas, conv_tol=1e-10)
    losc = scan_charge(mol, "b3lyp", "ground", "remove:a:HOMO", deltas=deltas, conv_tol=1e-10, losc="post")
    e_h2p = run_state(mol, "hf", reference="uhf", conv_tol=1e-10).e_tot
    exact = mol.energy_nuc() + losc.delta * (e_h2p - mol.energy_nuc())
    assert dfa.all_converged and losc.all_converged
    assert_allclose(losc.e_dfa, dfa.e_tot, rtol=0, atol=E_ATOL)
    err_dfa, err_losc = np.abs(dfa.e_tot - exact).max(), np.abs(losc.e_tot - exact).max()
    assert err_losc <= EXACT_LINE_RATIO * err_dfa
    assert abs(losc.e_tot[-1] - e_h2p) < 5e-3 < abs(dfa.e_tot[-1] - e_h2p)  # N = 1 end (Eh): LOSC near, B3LYP far
    # D(½) against the own end points: the LOSC2 shift of the two-orbitalet model, κ taken at δ = 1
    lam, kap = losc.corrections[-1].lam[0], losc.corrections[-1].kappa[0]
    i, j = np.argsort(np.diag(lam))[-2:]
    shift = (kap[i, i] + kap[j, j]) / 2 / 16 + kap[i, j] / 16
    assert_allclose(losc.deviation_half - dfa.deviation_half, shift, rtol=TWO_ORBITALET_RTOL)
    assert abs(losc.deviation_half) < 0.5 * abs(dfa.deviation_half)


@pytest.mark.slow
@pytest.mark.parametrize("state", ["ground", "a:HOMO->LUMO"])
def test_theorem_table_removal_error_halved_by_losc(water_631g, state):
    plain = chemical_potentials(water_631g, "b3lyp", state, "frontier")
    corrected = chemical_potentials(water_631g, "b3lyp", state, "frontier", losc="post")
    for a, b in zip(plain.rows, corrected.rows):
        assert a.channel == b.channel and b.converged
        if a.kind == "remove":
            assert abs(b.error) <= 0.5 * abs(a.error), (a.channel, a.error, b.error)


# -- SCF-LOSC ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["ground", "a:HOMO->LUMO"])
def test_scf_losc_is_stationary_and_consistent(water_631g, spec):
    parent = run_state(water_631g, "b3lyp", spec, conv_tol=1e-10)
    frozen = make_losc_inputs(water_631g, parent, LoscSettings())
    res = run_scf_losc(water_631g, parent, frozen=frozen)
    st = res.state
    assert st.converged and not st.collapsed and st.target_overlap.min() > 0.9
    mf = make_mf(water_631g, parent.method)
    s1e = water_631g.intor("int1e_ovlp")
    dm = make_spin_dms(st.mo_coeff, st.mo_occ)
    lams = [make_local_occupation(frozen.c_lo[s], s1e, dm[s]) for s in range(2)]
    # the energy expression at the SCF-LOSC density with the same frozen orbitalets
    from deltascf.corrections.losc import make_losc_energy

    e_expr = mf.energy_tot(dm) + sum(make_losc_energy(frozen.kappa[s], lams[s]) for s in range(2))
    assert_allclose(e_expr, res.e_tot, rtol=0, atol=SCF_LOSC_E_ATOL)
    # the corrected Fock matrix commutes with the density (to the SCF gradient tolerance)
    fock = mf.get_fock(dm=dm)
    for s in range(2):
        f = fock[s] + make_losc_potential(s1e, frozen.c_lo[s], frozen.kappa[s], lams[s])
        assert np.abs(f @ dm[s] @ s1e - s1e @ dm[s] @ f).max() < GRAD_ATOL
    assert res.mode == "scf" and st.e_tot == res.e_tot


def test_losc_scan_refuses_ensemble(water_631g):
    with pytest.raises(ValueError, match="mode='scf'"):
        scan_charge(water_631g, "b3lyp", "ground", "remove:a:HOMO", mode="ensemble", losc="post")


#: the skipped Jacobi rotations hold < SKIP_FRACTION · tol · G per sweep.  Both routes determine the orbitalets
#: only as well as the stopping test does (benzene/STO-3G, full sweeps against skipped ones, 1 - overlap: 6e-6 at
#: tol 1e-10, 3e-7 at 1e-12, 3e-9 at 1e-14), so they are compared at a tight tol
SKIP_TOL = 1e-13
SKIP_OVERLAP_ATOL = 1e-7
SKIP_COST_RTOL = 1e-12


def test_skipped_rotations_reach_the_same_orbitalets():
    """Theory §5.3: skipping pairs of negligible gain changes neither G nor the orbitalets of full Jacobi sweeps."""
    from deltascf.corrections.losc import make_orbitalets

    mol = gto.M(atom="""C 0 1.396 0; C 1.209 0.698 0; C 1.209 -0.698 0; C 0 -1.396 0; C -1.209 -0.698 0;
                C -1.209 0.698 0; H 0 2.479 0; H 2.147 1.240 0; H 2.147 -1.240 0; H 0 -2.479 0;
                H -2.147 -1.240 0; H -2.147 1.240 0""", basis="sto-3g", verbose=0)
    g = run_state(mol, "b3lyp", reference="rks")
    c, e = g.mo_coeff, g.mo_energy
    dip = np.einsum("mi,xmn,nj->xij", c, mol.intor_symmetric("int1e_r", comp=3), c)
    u_full, ok_full, n_full = make_orbitalets(np.diag(e), dip, tol=SKIP_TOL, skip=0.0)
    u_skip, ok_skip, n_skip = make_orbitalets(np.diag(e), dip, tol=SKIP_TOL)
    assert ok_full and ok_skip and n_full > 10

    def cost(u):
        mats = np.einsum("ai,qab,bj->qij", u, np.concatenate([dip, np.diag(e)[None]]), u)
        return float(np.sum(np.array([0.293] * 3 + [707.0])[:, None] * np.diagonal(mats, axis1=1, axis2=2) ** 2))

    assert_allclose(cost(u_skip), cost(u_full), rtol=SKIP_COST_RTOL, atol=0)
    assert cost(u_full) > cost(np.eye(len(e)))
    overlap = np.abs(u_full.T @ u_skip).max(axis=0)
    assert_allclose(overlap, 1.0, rtol=0, atol=SKIP_OVERLAP_ATOL)

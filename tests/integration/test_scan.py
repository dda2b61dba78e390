"""Fractional-charge scans: exact laws, two routes, published references (issue: scans)."""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf import gto
from tolerances import E_ATOL, EXACT_ATOL, ORB_ATOL, QUOTED_4DP_ATOL, ROUNDOFF_ATOL

from deltascf import run_state
from deltascf.fractional import make_deltas, scan_charge
from deltascf.occupations import SpecError

TIGHT = dict(conv_tol=1e-11)
#: Janak residual bound of the issue for water B3LYP/6-31G excited-state scans (Eh)
JANAK_SCAN_ATOL = 1e-4
#: one-electron HF linearity (cases.json frac-one-electron-hf-linear)
LINEAR_ATOL = 1e-8


@pytest.fixture(scope="module")
def water_x(water_631g):
    """The α HOMO→LUMO ΔSCF state of water, B3LYP/6-31G."""
    return run_state(water_631g, "b3lyp", "a:HOMO->LUMO", **TIGHT)


@pytest.fixture(scope="module")
def scan_add(water_631g, water_x):
    return scan_charge(water_631g, "b3lyp", "a:HOMO->LUMO", "add:a:LUMO+1", start=water_x, **TIGHT)


@pytest.fixture(scope="module")
def scan_remove(water_631g, water_x):
    return scan_charge(water_631g, "b3lyp", "a:HOMO->LUMO", "remove:b:HOMO", start=water_x, **TIGHT)


# -- laws ---------------------------------------------------------------------------------
def test_scan_ends_equal_separate_runs(water_631g, water_x, scan_add, scan_remove):
    # add:a:LUMO+1 of X ends in J = X + e in orbital 6 (ground LUMO+1)
    j = run_state(water_631g, "b3lyp", "a:HOMO->LUMO,a:LUMO+1=1", **TIGHT)
    assert scan_add.orbital == 6 and scan_add.delta[0] == 0.0 and scan_add.delta[-1] == 1.0
    assert_allclose(scan_add.e_tot[0], water_x.e_tot, rtol=0, atol=E_ATOL)
    assert_allclose(scan_add.e_tot[-1], j.e_tot, rtol=0, atol=E_ATOL)
    # remove:b:HOMO of X starts from K = X − e in X's highest β orbital.  That need
    # not be the ground-state β HOMO: find its ground-state parent by overlap.
    g = run_state(water_631g, "b3lyp", **TIGHT)
    s1e = water_631g.intor("int1e_ovlp")
    c_channel = water_x.mo_coeff[1][:, scan_remove.orbital]
    parent = int(np.argmax(np.abs(g.mo_coeff[1].T @ s1e @ c_channel)))
    k = run_state(water_631g, "b3lyp", f"a:HOMO->LUMO,b:{parent}=0", ground=g, **TIGHT)
    assert_allclose(scan_remove.e_tot[0], k.e_tot, rtol=0, atol=E_ATOL)
    assert_allclose(scan_remove.e_tot[-1], water_x.e_tot, rtol=0, atol=E_ATOL)
    assert_allclose(scan_remove.n_electrons, 9.0 + scan_remove.delta, rtol=0, atol=EXACT_ATOL)


@pytest.mark.parametrize("name", ["scan_add", "scan_remove"])
def test_janak_along_excited_state_scans(name, request):
    """dE/dδ = ε_channel(δ) at every interior point; theory (3.1)."""
    scan = request.getfixturevalue(name)
    assert scan.all_converged and not scan.collapsed.any()
    assert scan.janak_residual <= JANAK_SCAN_ATOL
    # the channel orbital keeps its occupation δ at every point
    for r, k, d in zip(scan.points, scan.orbitals, scan.delta):
        assert r.mo_occ[scan.spin, k] == pytest.approx(d, abs=EXACT_ATOL)


def test_excited_state_curves_are_convex_for_b3lyp(scan_add, scan_remove):
    for scan in (scan_add, scan_remove):
        assert scan.deviation_half < 0  # delocalization error
        assert scan.curvature_fit > 0 and scan.curvature_janak > 0 and scan.curvature_half > 0
        assert scan.max_abs_deviation == pytest.approx(np.abs(scan.e_dev).max())
        assert scan.slope == pytest.approx(scan.e_tot[-1] - scan.e_tot[0], abs=ROUNDOFF_ATOL)


@pytest.mark.parametrize("xc,sign", [("b3lyp", -1), ("hf", +1)])
@pytest.mark.parametrize("state", ["ground", "a:HOMO->LUMO"])
def test_water_curve_signs(water_631g, xc, sign, state):
    """B3LYP bends below the line (convex), HF above (concave): ground and excited states."""
    scan = scan_charge(water_631g, xc, state, "remove:b:HOMO", deltas=[0, 0.5, 1])
    assert scan.all_converged
    assert np.sign(scan.deviation_half) == sign


@pytest.mark.parametrize("atom", ["H 0 0 0", "H 0 0 0; H 0 0 1.0"], ids=["H", "H2+"])
def test_one_electron_hf_is_linear(cases, atom):
    case = cases["frac-one-electron-hf-linear"]
    charge = 1 if atom.count("H") == 2 else 0
    mol = gto.M(atom=atom, basis=case["system"]["basis"], charge=charge, spin=1, verbose=0)
    for mode in ("scf", "ensemble"):
        scan = scan_charge(mol, "hf", "ground", "remove:a:HOMO", reference="uhf", mode=mode, **TIGHT)
        assert scan.all_converged
        assert scan.max_abs_deviation <= max(LINEAR_ATOL, case["tolerance"])
        # one-electron HF: ε of the channel orbital is the slope at every δ (route a)
        if mode == "scf":
            assert_allclose(scan.eps, scan.slope, rtol=0, atol=E_ATOL)


def test_ensemble_route_matches_scf_ends_and_bends_less(water_631g, water_x, scan_add):
    ens = scan_charge(water_631g, "b3lyp", "a:HOMO->LUMO", "add:a:LUMO+1", mode="ensemble", start=water_x, **TIGHT)
    assert ens.delta.size == scan_add.delta.size
    assert_allclose(ens.e_tot[[0, -1]], scan_add.e_tot[[0, -1]], rtol=0, atol=E_ATOL)
    assert np.isnan(ens.janak_residual)
    # the relaxed (scf) curve lies below the unrelaxed ensemble evaluation
    assert np.all(scan_add.e_tot[1:-1] < ens.e_tot[1:-1])
    assert ens.deviation_half < 0


# -- references (../shared/reference/cases.json) -------------------------------------------
def test_frac_hydrogen_b3lyp_scan(cases):
    case = cases["frac-hydrogen-b3lyp"]
    s = case["system"]
    mol = gto.M(atom=s["atom"], basis=s["basis"], spin=s["spin"], verbose=0)
    scan = scan_charge(mol, "b3lyp", "ground", "remove:a:HOMO", **TIGHT)
    ref = {float(k): v for k, v in case["values"].items()}
    assert_allclose(scan.delta, sorted(ref), rtol=0, atol=ROUNDOFF_ATOL)
    assert_allclose(scan.e_tot, [ref[d] for d in sorted(ref)], rtol=0, atol=case["tolerance"])
    assert_allclose(scan.n_electrons, scan.delta, rtol=0, atol=EXACT_ATOL)
    assert scan.deviation_half == pytest.approx(-0.0440, abs=QUOTED_4DP_ATOL)  # theory §5.12


def test_frac_carbon_psi4_scan(cases):
    case = cases["frac-carbon-psi4"]
    s = case["system"]
    mol = gto.M(atom=s["atom"], basis=s["basis"], spin=s["spin"], verbose=0)
    scan = scan_charge(mol, "hf", "ground", "remove:a:HOMO", deltas=[0, 0.5, 1], reference="uhf",
                       density_fit=case["method"]["density_fit"], **TIGHT)
    by_n = dict(zip(scan.n_electrons.round(6), scan.e_tot))
    for n, value in case["values"].items():
        assert_allclose(by_n[float(n)], value, rtol=0, atol=case["tolerance"])


# -- refusals -----------------------------------------------------------------------------------
@pytest.mark.parametrize("deltas", [[0.5], [0, 1.2], [-0.1, 0.5], [0.5, 0.2], [0.2, 0.2], [0, np.nan]])
def test_bad_delta_grids(deltas):
    with pytest.raises(ValueError):
        make_deltas(deltas)


@pytest.mark.parametrize("channel,fragment", [("add:a:3", "empty orbital"), ("remove:a:LUMO", "singly occupied"), ("add:a:LUMO+500", "no such orbital"),
                                              ("remove:a:7", "singly occupied"), ("push:a:HOMO", "expected add"),
                                              ("add:LUMO", "name the spin"), ("add:a:HOMO+1", "HOMO-k")])
def test_bad_channels_refused_before_scf(water_631g, channel, fragment):
    with pytest.raises(SpecError, match=fragment):
        scan_charge(water_631g, "b3lyp", "ground", channel, max_cycle=1)


def test_restricted_reference_refused(water_631g):
    with pytest.raises(ValueError, match="unrestricted"):
        scan_charge(water_631g, "b3lyp", "ground", "remove:a:HOMO", reference="rks")


def test_walk_goes_on_from_the_last_good_point(water_631g, monkeypatch):
    """A collapsed point is flagged but not walked from: the next point tracks the last good one."""
    import dataclasses

    from deltascf.fractional import scan as scan_module

    real, grounds = scan_module.run_state, []

    def spoiled_at_half(mol, xc=None, state="ground", *, ground=None, dm0=None, verbose=0, **settings):
        grounds.append(ground)
        r = real(mol, xc, state, ground=ground, dm0=dm0, verbose=verbose, **settings)
        frac = [x for x in np.asarray(r.mo_occ).ravel() if 0 < x < 1]
        return dataclasses.replace(r, collapsed=True) if np.isclose(frac, 0.5).any() else r

    monkeypatch.setattr(scan_module, "run_state", spoiled_at_half)
    scan = scan_charge(water_631g, "hf", "ground", "add:a:LUMO", deltas=[0, 0.25, 0.5, 0.75, 1], conv_tol=1e-9)
    assert list(scan.collapsed) == [False, False, True, False, False]
    by_delta = dict(zip(scan.delta, scan.points))
    # calls: the start state, then δ = 0.25, 0.5, 0.75, 1 (walked from 0, 0.25, 0.25, 0.75)
    assert grounds[2] is by_delta[0.25] and grounds[3] is by_delta[0.25] and grounds[4] is by_delta[0.75]


# -- the response predictor (theory §6.7) ----------------------------------------------------------------
#: the slope dD/dδ of the engine against D(h) − D(0) of deltascf's own SCFs: a second-order remainder, so halving
#: h divides it by about 4 (measured 3.9 on water's remove channel)
SLOPE_ORDER_RANGE = (3.0, 5.0)


@pytest.mark.parametrize("channel", ["add:a:LUMO+1", "remove:b:HOMO"])
def test_response_slope_is_the_derivative_of_the_scf_density(water_631g, water_x, channel):
    """The relaxed density response of the engine (6.3) equals dD/dδ of the fractional SCFs: the remainder of
    D(δ_0 + h) − D(δ_0) − h dD/dδ is O(h²), with h signed along the channel."""
    from deltascf.fractional.scan import make_response_slope
    from deltascf.occupations import Channel, Occupation
    from deltascf.spin import make_spin_dms

    ch = Channel.parse(channel)
    p, s = ch.resolve(water_x.mo_occ), ch.spin_index
    slope, calls = make_response_slope(water_631g, water_x, s, p)
    assert calls >= 2  # κ⁰ plus at least one Krylov step
    d0 = make_spin_dms(water_x.mo_coeff, water_x.mo_occ)
    n0 = water_x.mo_occ[s, p]
    rest = []
    for h in (0.02, 0.01):
        occ = np.array(water_x.mo_occ)
        step = h if ch.kind == "add" else -h
        occ[s, p] = n0 + step
        r = run_state(water_631g, "b3lyp", Occupation.from_occ(occ), ground=water_x, **TIGHT)
        d = make_spin_dms(r.mo_coeff, r.mo_occ)
        rest.append(np.abs(d - d0 - step * slope).max())
        assert rest[-1] < 0.01 * np.abs(d - d0).max()
    assert SLOPE_ORDER_RANGE[0] < rest[0] / rest[1] < SLOPE_ORDER_RANGE[1]


def test_response_predictor_gives_the_same_scan(water_631g, water_x, scan_add):
    """The guess only shortens each SCF: the same energies and orbital energies at every point, and the first
    walked points, whose history is short, start closer (fewer Fock builds)."""
    r = scan_charge(water_631g, "b3lyp", "a:HOMO->LUMO", "add:a:LUMO+1", start=water_x, predictor="response",
                    **TIGHT)
    assert r.all_converged
    assert_allclose(r.e_tot, scan_add.e_tot, rtol=0, atol=E_ATOL)
    assert_allclose(r.eps, scan_add.eps, rtol=0, atol=ORB_ATOL)
    assert r.n_fock[1] < scan_add.n_fock[1]


def test_unknown_predictor_refused(water_631g):
    with pytest.raises(ValueError, match="predictor"):
        scan_charge(water_631g, "b3lyp", channel="add:a:LUMO", predictor="cubic")

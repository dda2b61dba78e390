"""Exact laws of the numerical kernels: curvature estimates (theory (2.3)-(2.4)), the Janak finite difference
(theory (3.1)), the LOSC curvature (theory (5.3)-(5.4)), the full orbital gradient (theory (1.3)) and ⟨S²⟩
(theory (1.7)).

Each test checks a law that holds exactly (up to round-off or a controlled finite-difference error), never a
number copied from the code under test.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf import gto, lib
from pyscf.scf import uhf as pyscf_uhf
from scipy.linalg import expm
from scipy.special import erf
from tolerances import E_ATOL, EXACT_ATOL, FD_ATOL, PARITY_ATOL, QUOTED_6DP_ATOL, ROT_FD_ATOL

import deltascf
from deltascf.corrections.losc import make_kappa
from deltascf.fractional.scan import make_curvatures, make_fd_derivative, make_janak_residual, make_line_deviation
from deltascf.scf import make_mf
from deltascf.spin import make_spin_dms
from deltascf.tracking import make_orbital_grad, make_spin_square

EVEN = np.linspace(0.0, 1.0, 11)  # holds δ = ½
UNEVEN = np.array([0.0, 0.07, 0.2, 0.33, 0.41, 0.62, 0.8, 0.93, 1.0])  # no ½: the cubic-spline route
SYMMETRIC = np.array([0.0, 0.15, 0.4, 0.6, 0.85, 1.0])  # uneven, symmetric about ½, no ½


# -- theory (2.3)-(2.4): line deviation and the three curvature estimates -----------------------------------
def _poly(coef, d):
    """E(δ) = Σ_k coef[k] δ^k and its derivative."""
    p = np.polynomial.Polynomial(coef)
    return p(d), p.deriv()(d)


def _curvatures(delta, coef):
    e, eps = _poly(coef, delta)
    dev = make_line_deviation(delta, e, e[0], e[-1])
    return make_curvatures(delta, e, dev, eps[0], eps[-1])


def test_line_deviation_zero_at_ends_and_for_any_line():
    rng = np.random.default_rng(0)
    e = rng.normal(size=UNEVEN.size)
    dev = make_line_deviation(UNEVEN, e, e[0], e[-1])
    assert_allclose(dev[[0, -1]], 0.0, rtol=0, atol=EXACT_ATOL)
    line = -75.3 + 0.42 * UNEVEN
    assert_allclose(make_line_deviation(UNEVEN, line, line[0], line[-1]), 0.0, rtol=0, atol=EXACT_ATOL)


def test_line_deviation_of_a_parabola():
    a, b, c = -1.5, 0.3, 0.17
    e = a + b * UNEVEN + c * UNEVEN**2
    assert_allclose(make_line_deviation(UNEVEN, e, e[0], e[-1]), -c * UNEVEN * (1.0 - UNEVEN), rtol=0,
                    atol=EXACT_ATOL)


@pytest.mark.parametrize("delta", [EVEN, UNEVEN, SYMMETRIC, np.array([0.0, 0.3, 1.0])],
                         ids=["even-with-half", "uneven-spline", "symmetric-spline", "three-points"])
def test_curvatures_agree_on_a_quadratic(delta):
    """E = a + bδ + cδ², ε = dE/dδ: κ_fit = κ_half = κ_janak = 2c and D(½) = −c/4 on any grid."""
    c = 0.23
    out = _curvatures(delta, [-0.5, -0.31, c])
    for key in ("curvature_fit", "curvature_half", "curvature_janak"):
        assert_allclose(out[key], 2.0 * c, rtol=0, atol=EXACT_ATOL, err_msg=key)
    assert_allclose(out["deviation_half"], -c / 4.0, rtol=0, atol=EXACT_ATOL)


@pytest.mark.parametrize("delta", [EVEN, SYMMETRIC], ids=["even-with-half", "symmetric-spline"])
def test_curvatures_of_a_cubic_on_grids_symmetric_about_half(delta):
    """E = a + bδ + cδ² + dδ³.  D(δ) = −δ(1−δ)[c + d(1+δ)], so D(½) = −c/4 − 3d/8 and κ_half = 2c + 3d.
    ε(1) − ε(0) = 2c + 3d.  On a grid symmetric about ½ (x = δ − ½), the odd x³ of δ³ = x³ + (3/2)x² + … projects
    only onto x, so the fitted δ² coefficient is c + 3d/2: κ_fit = 2c + 3d too.  The not-a-knot spline of a
    cubic D is exact, so the grid without ½ gives the same D(½)."""
    c, d = 0.2, 0.05
    out = _curvatures(delta, [-0.5, -0.31, c, d])
    for key in ("curvature_fit", "curvature_half", "curvature_janak"):
        assert_allclose(out[key], 2.0 * c + 3.0 * d, rtol=0, atol=EXACT_ATOL, err_msg=key)
    assert_allclose(out["deviation_half"], -c / 4.0 - 3.0 * d / 8.0, rtol=0, atol=EXACT_ATOL)


def test_curvatures_of_a_cubic_on_three_points():
    """Grid {0, t, 1}: the quadratic fit interpolates, δ³ → (1+t)δ² − tδ, so κ_fit = 2c + 2d(1+t).  The spline
    of three points is the parabola through them, D(t)·δ(1−δ)/(t(1−t)), so κ_half = 2c + 2d(1+t) as well, while
    κ_janak = 2c + 3d: the spread shows that E is not quadratic."""
    t, c, d = 0.3, 0.2, 0.05
    out = _curvatures(np.array([0.0, t, 1.0]), [-0.5, -0.31, c, d])
    assert_allclose(out["curvature_fit"], 2.0 * c + 2.0 * d * (1.0 + t), rtol=0, atol=EXACT_ATOL)
    assert_allclose(out["curvature_half"], 2.0 * c + 2.0 * d * (1.0 + t), rtol=0, atol=EXACT_ATOL)
    assert_allclose(out["curvature_janak"], 2.0 * c + 3.0 * d, rtol=0, atol=EXACT_ATOL)


def test_curvatures_read_d_half_from_the_grid():
    """With ½ on the grid, D(½) is the given deviation there (no spline through the others)."""
    e, eps = _poly([-0.5, -0.31, 0.2], EVEN)
    dev = make_line_deviation(EVEN, e, e[0], e[-1])
    dev[5] += 1e-3  # only δ = ½ moves
    out = make_curvatures(EVEN, e, dev, eps[0], eps[-1])
    assert_allclose(out["deviation_half"], dev[5], rtol=0, atol=EXACT_ATOL)
    assert_allclose(out["curvature_half"], -8.0 * dev[5], rtol=0, atol=EXACT_ATOL)


# -- theory (3.1): the finite-difference slope and the Janak residual -------------------------------------
QUARTIC = [-1.2, -0.4, 0.21, -0.13, 0.07]


@pytest.mark.parametrize("delta", [EVEN, UNEVEN], ids=["even", "uneven"])
def test_fd_derivative_exact_for_quartics(delta):
    """The 5-point interpolating polynomial reproduces any E of degree ≤ 4: dE/dδ exact at every interior
    point (also next to the ends, where the stencil is one-sided), so the Janak residual vanishes."""
    e, eps = _poly(QUARTIC, delta)
    fd = [make_fd_derivative(delta, e, k) for k in range(1, delta.size - 1)]
    assert_allclose(fd, eps[1:-1], rtol=0, atol=EXACT_ATOL)
    assert_allclose(make_janak_residual(delta, e, eps), 0.0, rtol=0, atol=EXACT_ATOL)


@pytest.mark.parametrize("delta", [EVEN, UNEVEN], ids=["even", "uneven"])
def test_janak_residual_sees_a_quintic(delta):
    """Degree 5 is beyond the stencil: the residual is not zero (the check above is not vacuous)."""
    e, eps = _poly(QUARTIC + [0.5], delta)
    assert make_janak_residual(delta, e, eps) > FD_ATOL


def test_janak_residual_on_short_grids():
    """n < 5 points: the stencil has degree n − 1, exact for degree ≤ n − 1; NaN without interior points."""
    d3, d4 = np.array([0.0, 0.35, 1.0]), np.array([0.0, 0.3, 0.55, 1.0])
    e, eps = _poly([-1.0, 0.4, 0.3], d3)
    assert_allclose(make_janak_residual(d3, e, eps), 0.0, rtol=0, atol=EXACT_ATOL)
    e, eps = _poly([-1.0, 0.4, 0.3, -0.2], d4)
    assert_allclose(make_janak_residual(d4, e, eps), 0.0, rtol=0, atol=EXACT_ATOL)
    d2 = np.array([0.0, 1.0])
    e, eps = _poly([-1.0, 0.4], d2)
    assert np.isnan(make_janak_residual(d2, e, eps))


# -- theory (5.3)-(5.4): LOSC curvature ---------------------------------------------------------------------
def _sym(rng, n, lo=0.0, hi=1.0):
    a = rng.uniform(lo, hi, size=(n, n))
    return 0.5 * (a + a.T)


def _kappa_inputs(n=6, seed=1):
    rng = np.random.default_rng(seed)
    return _sym(rng, n, 0.05, 0.6), _sym(rng, n, 0.1, 1.2), _sym(rng, n, 0.0, 0.4)


def test_kappa_v1_is_eq_5_3():
    j, x, s = _kappa_inputs()
    c_x = 0.75 * (6.0 / np.pi) ** (1.0 / 3.0)
    tau = 6.0 * (1.0 - 2.0 ** (-1.0 / 3.0))
    for a_x, a_hf in [(0.8, 0.2), (0.75, 0.25), (1.0, 0.0)]:
        want = (1.0 - a_hf) * j - a_x * (2.0 * tau * c_x / 3.0) * x
        assert_allclose(make_kappa(j, x, s, a_x, a_hf, tau=tau, version=1), want, rtol=0, atol=EXACT_ATOL)
    # the documented constants: C_x = 0.930526, and 2τC_x/3 = 0.767868 for the exact τ
    assert_allclose(c_x, 0.930526, rtol=0, atol=QUOTED_6DP_ATOL)
    assert_allclose(2.0 * tau * c_x / 3.0, 0.767868, rtol=0, atol=QUOTED_6DP_ATOL)


def test_kappa_v2_laws():
    """κ̃ keeps the diagonal; it is symmetric for symmetric J, X, S; off the diagonal it is the convex
    combination κ̃_ij = κ_ij + erf(ζS_ij)(√|κ_ii κ_jj| − κ_ij)."""
    j, x, s = _kappa_inputs()
    zeta = 8.0
    k1 = make_kappa(j, x, s, 0.8, 0.2, version=1)
    k2 = make_kappa(j, x, s, 0.8, 0.2, zeta=zeta, version=2)
    assert_allclose(np.diag(k2), np.diag(k1), rtol=0, atol=EXACT_ATOL)
    assert_allclose(k2, k2.T, rtol=0, atol=EXACT_ATOL)
    mean = np.sqrt(np.abs(np.outer(np.diag(k1), np.diag(k1))))
    off = ~np.eye(len(k1), dtype=bool)
    want = k1 + erf(zeta * s) * (mean - k1)
    assert_allclose(k2[off], want[off], rtol=0, atol=EXACT_ATOL)


def test_kappa_v2_limits():
    """S = 0: κ̃ = κ.  Large ζS (erf(8·3) = 1 − O(1e-252)): κ̃_ij = √|κ_ii κ_jj|, also for a negative κ_ii."""
    j, x, _ = _kappa_inputs()
    n = len(j)
    k1 = make_kappa(j, x, np.zeros((n, n)), 1.0, 0.0, version=1)
    assert (np.diag(k1) < 0).any() and (np.diag(k1) > 0).any()  # |κ_ii κ_jj| is exercised
    assert_allclose(make_kappa(j, x, np.zeros((n, n)), 1.0, 0.0, version=2), k1, rtol=0, atol=EXACT_ATOL)
    k2 = make_kappa(j, x, np.full((n, n), 3.0), 1.0, 0.0, version=2)
    mean = np.sqrt(np.abs(np.outer(np.diag(k1), np.diag(k1))))
    np.fill_diagonal(mean, np.diag(k1))
    assert_allclose(k2, mean, rtol=0, atol=EXACT_ATOL)


@pytest.mark.parametrize("version", [1, 2])
def test_kappa_vanishes_for_hf(version):
    j, x, s = _kappa_inputs()
    assert_allclose(make_kappa(j, x, s, 0.0, 1.0, version=version), 0.0, rtol=0, atol=EXACT_ATOL)


# -- theory (1.3): the full orbital gradient ------------------------------------------------------------------
def test_orbital_grad_structure():
    """g = upper triangle (p < q, row-major) of (n_p − n_q) F_pq; zero within a group of equal occupation;
    swapping n_p and n_q flips g_pq."""
    rng = np.random.default_rng(2)
    n = 7
    c = np.linalg.qr(rng.normal(size=(n, n)))[0]  # orthonormal: F_mo = cᵀ F_ao c
    f_mo = _sym(rng, n, -1.0, 1.0)
    f_ao = c @ f_mo @ c.T
    occ = np.array([1.0, 1.0, 0.4, 1.0, 0.6, 0.0, 0.4])
    g = make_orbital_grad(c, occ, f_ao)
    want = [(occ[p] - occ[q]) * f_mo[p, q] for p in range(n) for q in range(p + 1, n)]
    assert_allclose(g, want, rtol=0, atol=EXACT_ATOL)
    pairs = [(p, q) for p in range(n) for q in range(p + 1, n)]
    for k, (p, q) in enumerate(pairs):
        if occ[p] == occ[q]:
            assert g[k] == 0.0
    swapped = occ.copy()
    swapped[[2, 4]] = swapped[[4, 2]]
    k = pairs.index((2, 4))
    assert_allclose(make_orbital_grad(c, swapped, f_ao)[k], -g[k], rtol=0, atol=EXACT_ATOL)


@pytest.fixture(scope="module")
def water(make_mol):
    return make_mol()  # water STO-3G, verbose=0


@pytest.fixture(scope="module")
def water_uhf(water):
    return deltascf.run_state(water, "hf", reference="uhf", conv_tol=1e-10)


def _rotated(mo_coeff, seed=5, scale=0.05):
    """Orbitals moved away from stationarity by a small unitary rotation per spin (S-orthonormality kept).

    The phases are fixed first (largest coefficient of each orbital positive): the SCF's arbitrary signs would
    otherwise change which rotation is applied.
    """
    rng = np.random.default_rng(seed)
    out = np.array(mo_coeff, copy=True)
    for s in range(2):
        big = np.argmax(np.abs(out[s]), axis=0)
        out[s] *= np.sign(out[s][big, np.arange(out[s].shape[1])])
        nmo = out[s].shape[1]
        a = scale * rng.normal(size=(nmo, nmo))
        out[s] = out[s] @ expm(a - a.T)
    return out


def _rotate_pair(mo_coeff, s, p, q, kappa):
    c = np.array(mo_coeff, copy=True)
    cp, cq = mo_coeff[s][:, p], mo_coeff[s][:, q]
    c[s][:, p] = np.cos(kappa) * cp + np.sin(kappa) * cq
    c[s][:, q] = -np.sin(kappa) * cp + np.cos(kappa) * cq
    return c


# non-aufbau, fractional (α: 0.4/0.6 in the two lowest empty levels; β: a hole at 2, 0.3 in 6)
FRACTIONAL_OCC = np.array([[1.0, 1.0, 1.0, 1.0, 0.4, 0.6, 0.0],
                           [1.0, 1.0, 0.7, 1.0, 1.0, 0.0, 0.3]])
PAIRS = [(0, 4, 5),  # fractional–fractional
         (0, 0, 4),  # occupied–fractional, core
         (0, 3, 6),  # occupied–empty
         (1, 2, 3),  # occupied–occupied of different occupation (0.7 vs 1)
         (1, 5, 6),  # empty–fractional
         (1, 2, 6)]  # fractional–fractional


@pytest.mark.parametrize("xc, reference", [("hf", "uhf"), ("b3lyp", "uks")])
def test_orbital_grad_is_half_the_rotation_derivative(water, water_uhf, xc, reference):
    """dE/dκ at κ = 0 = tr(F dD/dκ) = 2 (n_p − n_q) F_pq for the rotation of the pair (p, q), whatever the
    occupations.  The orbitals are the UHF ground orbitals rotated away from any stationary point (for B3LYP
    they are not stationary to begin with)."""
    mf = make_mf(water, deltascf.Method(xc=xc, reference=reference))
    c = _rotated(water_uhf.mo_coeff)
    occ = FRACTIONAL_OCC
    fock = mf.get_fock(dm=make_spin_dms(c, occ))
    nmo = occ.shape[1]
    iu = list(zip(*np.triu_indices(nmo, 1)))
    h = 1e-4
    got, fd = [], []
    with lib.with_omp_threads(1):  # 7 AOs: threads only add overhead (×5 on a busy 2-core machine)
        for s, p, q in PAIRS:
            got.append(make_orbital_grad(c[s], occ[s], fock[s])[iu.index((p, q))])
            e_plus, e_minus = (mf.energy_tot(dm=make_spin_dms(_rotate_pair(c, s, p, q, k), occ)) for k in (h, -h))
            fd.append(0.5 * (e_plus - e_minus) / (2.0 * h))
        # equal occupations (α 0, 1: both 1): D, hence E, does not change at all, and g_pq = 0 exactly
        e_plus, e_minus = (mf.energy_tot(dm=make_spin_dms(_rotate_pair(c, 0, 0, 1, k), occ)) for k in (h, -h))
    assert min(abs(x) for x in got) > 1e-3  # a non-stationary point (≫ ROT_FD_ATOL): the law is tested, not 0 = 0
    assert_allclose(got, fd, rtol=0, atol=ROT_FD_ATOL)
    assert make_orbital_grad(c[0], occ[0], fock[0])[iu.index((0, 1))] == 0.0
    assert_allclose(0.5 * (e_plus - e_minus) / (2.0 * h), 0.0, rtol=0, atol=ROT_FD_ATOL)


def test_orbital_grad_norm_equals_pyscf_for_aufbau(water, water_uhf):
    """Aufbau integer occupations: (1.3) holds only occupied–virtual pairs with n_p − n_q = 1, which is PySCF's
    UHF gradient F_ai (its element order differs, so compare norms and sorted magnitudes)."""
    mf = make_mf(water, deltascf.Method(xc="hf", reference="uhf"))
    c, occ = _rotated(water_uhf.mo_coeff), water_uhf.mo_occ
    fock = mf.get_fock(dm=make_spin_dms(c, occ))
    ours = np.concatenate([make_orbital_grad(c[s], occ[s], fock[s]) for s in range(2)])
    theirs = mf.get_grad(c, occ, fock)
    assert np.linalg.norm(theirs) > 1e-2  # far from stationary: the comparison below is not 0 = 0
    assert_allclose(np.linalg.norm(ours), np.linalg.norm(theirs), rtol=0, atol=PARITY_ATOL)
    nz = np.sort(np.abs(ours[ours != 0.0]))
    assert_allclose(nz, np.sort(np.abs(theirs)), rtol=0, atol=PARITY_ATOL)


# -- theory (1.7): ⟨S²⟩ ---------------------------------------------------------------------------------------
def _pyscf_s2(mo_coeff, mo_occ, s1e):
    occ_a, occ_b = mo_occ[0] > 0.5, mo_occ[1] > 0.5
    return pyscf_uhf.spin_square((mo_coeff[0][:, occ_a], mo_coeff[1][:, occ_b]), s1e)[0]


def test_spin_square_matches_pyscf_for_determinants(water, water_uhf):
    """Integer occupations: (1.7) is PySCF's spin_square.  Ground singlet (≈ 0), the α HOMO→LUMO mixed
    determinant on rotated orbitals (≈ 1), and the converged spin-flip triplet (≈ 2, not exactly)."""
    s1e = water.intor_symmetric("int1e_ovlp")
    ground = water_uhf
    mixed = np.array(ground.mo_occ, copy=True)
    mixed[0, [4, 5]] = mixed[0, [5, 4]]
    triplet = deltascf.run_state(water, "hf", "b:HOMO->a:LUMO", reference="uhf", ground=ground, conv_tol=1e-10)
    cases = [(ground.mo_coeff, ground.mo_occ), (_rotated(ground.mo_coeff), mixed),
             (triplet.mo_coeff, triplet.mo_occ)]
    values = []
    for c, occ in cases:
        ours = make_spin_square(make_spin_dms(c, occ), s1e)
        assert_allclose(ours, _pyscf_s2(c, occ, s1e), rtol=0, atol=PARITY_ATOL)
        values.append(ours)
    assert abs(values[0]) < E_ATOL and 0.9 < values[1] < 1.2 and 1.95 < values[2] < 2.1


@pytest.mark.parametrize("n", [0.0, 0.25, 0.5, 0.8, 1.0])
@pytest.mark.parametrize("spin", [0, 1])
def test_spin_square_one_fractional_electron(n, spin):
    """H atom, n electrons in one spin orbital, none in the other spin: ⟨S²⟩ = n²/4 + n/2."""
    mol = gto.M(atom="H", basis="3-21g", spin=1, verbose=0)
    s1e = mol.intor_symmetric("int1e_ovlp")
    c = np.linalg.cholesky(np.linalg.inv(s1e))  # any S-orthonormal set: cᵀ S c = 1
    occ = np.zeros((2, c.shape[1]))
    occ[spin, 0] = n
    dm = make_spin_dms(np.stack([c, c]), occ)
    assert_allclose(make_spin_square(dm, s1e), n * n / 4.0 + n / 2.0, rtol=0, atol=EXACT_ATOL)


def test_spin_square_closed_shell_restricted_is_zero(water, water_uhf):
    """A restricted closed-shell density split in half: N/2 − ¼ tr(DSDS) = 0 since DSD = 2D."""
    s1e = water.intor_symmetric("int1e_ovlp")
    c = _rotated(water_uhf.mo_coeff)[0]
    occ = np.array([2.0, 2.0, 2.0, 2.0, 2.0, 0.0, 0.0])
    assert_allclose(make_spin_square(make_spin_dms(c, occ), s1e), 0.0, rtol=0, atol=EXACT_ATOL)


# -- the scan's response predictor (theory §6.7) -------------------------------------------------------------
def test_predicted_dm_is_exact_for_quadratic_densities():
    """From D_0 and the exact slope at δ_0: a linear D(δ) is predicted exactly from one point, a quadratic one from
    two (Hermite), on either side of δ_0; from three points on it is the history's Lagrange quadratic."""
    from deltascf.fractional.scan import make_extrapolated_dm, make_predicted_dm

    rng = np.random.default_rng(4)
    a, b, c = (rng.standard_normal((2, 5, 5)) for _ in range(3))

    def dens(d, quad=True):
        return a + b * (d - 1.0) + (c * (d - 1.0) ** 2 if quad else 0.0)

    for sign in (1.0, -1.0):  # an add channel walks up from δ_0, a remove channel down
        d0, d1 = 1.0, 1.0 - sign * 0.1
        np.testing.assert_allclose(make_predicted_dm([(d0, dens(d0, False))], b, 0.7), dens(0.7, False), atol=1e-13)
        hist = [(d0, dens(d0)), (d1, dens(d1))]
        np.testing.assert_allclose(make_predicted_dm(hist, b, 1.0 - sign * 0.2), dens(1.0 - sign * 0.2), atol=1e-12)
    hist = [(x, dens(x)) for x in (1.0, 0.9, 0.8, 0.7)]
    np.testing.assert_array_equal(make_predicted_dm(hist, b, 0.6), make_extrapolated_dm(hist[-3:], 0.6))

"""Unit tests for deltascf.kernels: each Numba kernel against its NumPy twin, and the physics.

Pure and fast: seeded random input, no SCF.  Parity is absolute (PARITY_ATOL)
on O(1) entries; the localization checks follow theory (5.1)-(5.2), the grid
contractions theory (5.3)-(5.4).
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_allclose
from tolerances import ACCUM_ATOL, E_ATOL, EXACT_ATOL, LOOSE_EXACT_ATOL, PARITY_ATOL, REORDER_ATOL

from deltascf import kernels
from deltascf.corrections.losc import make_orbitalets

LOSC_WEIGHTS = np.array([0.293, 0.293, 0.293, 707.0])  # (1-γ) x3, γC at γ=0.707, C=1000
UNIT_WEIGHTS = np.ones(4)
SWEEPS = 4


# -- helpers ---------------------------------------------------------------------------------
def random_mats(rng, m, nmat=4):
    """Symmetric (nmat, m, m) with O(1) entries."""
    a = rng.standard_normal((nmat, m, m)) / np.sqrt(m)
    return np.ascontiguousarray(a + a.transpose(0, 2, 1))


def random_orthogonal(rng, m):
    q, r = np.linalg.qr(rng.standard_normal((m, m)))
    return np.ascontiguousarray(q * np.sign(np.diag(r)))


def shuffled_pairs(rng, m):
    pairs = np.array([(i, j) for i in range(m) for j in range(i + 1, m)], dtype=np.int64)
    return np.ascontiguousarray(pairs[rng.permutation(len(pairs))])


def cost(mats, weights):
    """G = Σ_M w_M Σ_i (M_ii)²; theory (5.1)."""
    diag = np.diagonal(mats, axis1=1, axis2=2)
    return float(np.sum(weights * np.sum(diag * diag, axis=1)))


def sweep(impl, mats, weights, ut, pairs, skip=0.0):
    """Run a kernel on (nmat, m, m) matrices: it works on the interleaved (m, m, nmat) layout, in place."""
    work = np.ascontiguousarray(mats.transpose(1, 2, 0))
    gain = impl(work, weights, ut, pairs, skip)
    mats[...] = work.transpose(2, 0, 1)
    return gain


def rotate_pair(mats, theta):
    """2x2 mats after φ_0 <- c φ_0 + s φ_1, φ_1 <- -s φ_0 + c φ_1 (theory (5.2))."""
    c, s = np.cos(theta), np.sin(theta)
    r = np.array([[c, s], [-s, c]])
    return np.einsum("ab,qbc,dc->qad", r, mats, r)


# -- jacobi_sweep ------------------------------------------------------------------------------
@pytest.mark.parametrize("m", [2, 7, 30])
@pytest.mark.parametrize("weights", [LOSC_WEIGHTS, UNIT_WEIGHTS], ids=["losc", "unit"])
@pytest.mark.parametrize("start", ["identity", "orthogonal"])
def test_jacobi_sweep_parity(m, weights, start):
    rng = np.random.default_rng(1000 + m)
    mats0 = random_mats(rng, m)
    ut0 = np.eye(m) if start == "identity" else random_orthogonal(rng, m)
    mats_nb, ut_nb = mats0.copy(), ut0.copy()
    mats_np, ut_np = mats0.copy(), ut0.copy()
    for _ in range(SWEEPS):
        pairs = shuffled_pairs(rng, m)
        g_nb = sweep(kernels.jacobi_sweep, mats_nb, weights, ut_nb, pairs.copy())
        g_np = sweep(kernels.jacobi_sweep_ref, mats_np, weights, ut_np, pairs.copy())
        assert isinstance(g_nb, float) and isinstance(g_np, float)
        # a gain is a difference of G = Σ w Σ M_ii² (up to ~1e4 with w_H = 707): compare it on G's scale
        assert_allclose(g_nb, g_np, rtol=0, atol=PARITY_ATOL * max(1.0, cost(mats_np, weights)))
        assert_allclose(mats_nb, mats_np, rtol=0, atol=PARITY_ATOL)
        assert_allclose(ut_nb, ut_np, rtol=0, atol=PARITY_ATOL)


@pytest.mark.parametrize("impl", [kernels.jacobi_sweep, kernels.jacobi_sweep_ref], ids=["numba", "numpy"])
@pytest.mark.parametrize("m", [2, 7, 30])
@pytest.mark.parametrize("weights", [LOSC_WEIGHTS, UNIT_WEIGHTS], ids=["losc", "unit"])
def test_jacobi_sweep_invariants(impl, m, weights):
    """gain >= 0 and = ΔG; ut orthogonal; mats symmetric, traces kept, and mats = ut M0 utᵀ."""
    rng = np.random.default_rng(2000 + m)
    mats0 = random_mats(rng, m)
    mats, ut = mats0.copy(), np.eye(m)
    traces0 = np.trace(mats0, axis1=1, axis2=2)
    g_prev = cost(mats, weights)
    gains = []
    for _ in range(SWEEPS):
        gain = sweep(impl, mats, weights, ut, shuffled_pairs(rng, m))
        g_now = cost(mats, weights)
        assert gain >= 0.0
        assert abs((g_now - g_prev) - gain) <= LOOSE_EXACT_ATOL * max(1.0, abs(g_now))
        gains.append(gain)
        g_prev = g_now
        assert_allclose(ut @ ut.T, np.eye(m), rtol=0, atol=EXACT_ATOL)
        assert_allclose(mats, mats.transpose(0, 2, 1), rtol=0, atol=EXACT_ATOL)
        assert_allclose(np.trace(mats, axis1=1, axis2=2), traces0, rtol=0, atol=ACCUM_ATOL)
        # the rotation of ut is the one applied to the matrices (row i of ut = orbitalet i)
        assert_allclose(np.einsum("ia,qab,jb->qij", ut, mats0, ut), mats, rtol=0, atol=ACCUM_ATOL)
    assert gains[0] > 0.0  # random input is not a stationary point
    assert gains[-1] < gains[0]


def test_jacobi_sweep_skips_stationary_pairs():
    """Matrices that are already diagonal (H only) give zero gain and no rotation."""
    m = 5
    mats = np.zeros((4, m, m))
    mats[3] = np.diag(np.arange(m, dtype=float))
    for impl in (kernels.jacobi_sweep, kernels.jacobi_sweep_ref):
        mm, ut = mats.copy(), np.eye(m)
        gain = sweep(impl, mm, LOSC_WEIGHTS, ut, shuffled_pairs(np.random.default_rng(0), m))
        assert gain == 0.0
        assert np.array_equal(ut, np.eye(m))
        assert np.array_equal(mm, mats)


@pytest.mark.parametrize("skip", [1e-4, 1e-2])
def test_jacobi_sweep_parity_with_skip(skip):
    """The twins skip the same pairs: a threshold inside the spread of pair gains skips some, rotates others."""
    rng = np.random.default_rng(77)
    mats_nb = random_mats(rng, 20)
    mats_np, ut_nb, ut_np = mats_nb.copy(), np.eye(20), np.eye(20)
    for _ in range(SWEEPS):
        pairs = shuffled_pairs(rng, 20)
        g_nb = sweep(kernels.jacobi_sweep, mats_nb, LOSC_WEIGHTS, ut_nb, pairs.copy(), skip)
        g_np = sweep(kernels.jacobi_sweep_ref, mats_np, LOSC_WEIGHTS, ut_np, pairs.copy(), skip)
        assert_allclose(g_nb, g_np, rtol=0, atol=PARITY_ATOL * max(1.0, cost(mats_np, LOSC_WEIGHTS)))
        assert_allclose(mats_nb, mats_np, rtol=0, atol=PARITY_ATOL)
        assert_allclose(ut_nb, ut_np, rtol=0, atol=PARITY_ATOL)


@pytest.mark.parametrize("impl", [kernels.jacobi_sweep, kernels.jacobi_sweep_ref], ids=["numba", "numpy"])
def test_jacobi_sweep_counts_skipped_gains(impl):
    """A pair below ``skip`` is not rotated but its gain counts: with every pair skipped nothing moves, and the
    total is the sum of the pair gains (5.2) of the untouched matrices; so a sweep with skipped pairs never
    reports convergence that a full sweep would not."""
    rng = np.random.default_rng(78)
    m = 9
    mats0 = random_mats(rng, m)
    pairs = shuffled_pairs(rng, m)
    expected = 0.0
    for i, j in pairs:
        d, o = mats0[:, i, i] - mats0[:, j, j], mats0[:, i, j]
        a, b = np.sum(LOSC_WEIGHTS * (0.25 * d * d - o * o)), np.sum(LOSC_WEIGHTS * o * d)
        expected += max(np.hypot(a, b) - a, 0.0)
    mats, ut = mats0.copy(), np.eye(m)
    total = sweep(impl, mats, LOSC_WEIGHTS, ut, pairs, np.inf)
    assert np.array_equal(mats, mats0) and np.array_equal(ut, np.eye(m))
    assert_allclose(total, expected, rtol=0, atol=PARITY_ATOL * max(1.0, expected))
    # a threshold between the gains: fewer rotations than a full sweep, the same gain to first order
    full, part = mats0.copy(), mats0.copy()
    g_full = sweep(impl, full, LOSC_WEIGHTS, np.eye(m), pairs)
    g_part = sweep(impl, part, LOSC_WEIGHTS, np.eye(m), pairs, 1e-3 * expected / len(pairs))
    assert g_part > 0.5 * g_full
    assert cost(part, LOSC_WEIGHTS) > cost(mats0, LOSC_WEIGHTS)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("weights", [LOSC_WEIGHTS, UNIT_WEIGHTS], ids=["losc", "unit"])
def test_jacobi_pair_angle_beats_brute_force_scan(seed, weights):
    """θ* = ¼ atan2(B, A) of (5.2) is at least as good as the best of 2001 angles in [-π/4, π/4]."""
    rng = np.random.default_rng(seed)
    mats0 = random_mats(rng, 2)
    g0 = cost(mats0, weights)
    thetas = np.linspace(-np.pi / 4, np.pi / 4, 2001)
    scan = np.array([cost(rotate_pair(mats0, t), weights) for t in thetas])
    pairs = np.array([[0, 1]], dtype=np.int64)
    for impl in (kernels.jacobi_sweep, kernels.jacobi_sweep_ref):
        mats, ut = mats0.copy(), np.eye(2)
        gain = sweep(impl, mats, weights, ut, pairs)
        g_opt = cost(mats, weights)
        tol = EXACT_ATOL * max(1.0, abs(g0))
        assert g_opt >= scan.max() - tol
        assert abs(g_opt - g0 - gain) <= tol
        assert gain >= scan.max() - g0 - tol
        # the scan's best angle lies next to θ* (grid step π/4000); ut = [[c, s], [-s, c]]
        theta = np.arctan2(ut[0, 1], ut[0, 0])
        assert abs(theta) <= np.pi / 4 + EXACT_ATOL
        assert abs(theta - thetas[np.argmax(scan)]) <= 2 * (thetas[1] - thetas[0])
        assert_allclose(mats, rotate_pair(mats0, theta), rtol=0, atol=EXACT_ATOL)


# -- grid_gram ---------------------------------------------------------------------------------
def random_grid(seed=7, ngrid=3000, nlo=17):
    rng = np.random.default_rng(seed)
    phi = rng.standard_normal((ngrid, nlo))
    phi[rng.random((ngrid, nlo)) < 0.1] = 0.0  # exact zeros (|0|^{4/3} = 0)
    phi[:5] = 0.0  # whole zero rows
    phi[:, 3] = 0.0  # one orbitalet vanishing everywhere
    weights = rng.random(ngrid) * (2.0 / ngrid)  # Σ w ~ 1, so X and S are O(1)
    return phi, weights


def test_grid_gram_against_explicit_sums():
    """X and S equal the defining sums, computed element by element with einsum."""
    phi, w = random_grid()
    assert (phi < 0).any() and (phi == 0).any()
    x, s = kernels.grid_gram(phi, w)
    r = np.abs(phi) ** (4.0 / 3.0)
    assert x.shape == s.shape == (17, 17)
    assert_allclose(x, np.einsum("g,gi,gj->ij", w, r, r), rtol=0, atol=PARITY_ATOL)
    assert_allclose(s, np.einsum("g,gi,gj->ij", w, np.abs(phi), np.abs(phi)), rtol=0, atol=PARITY_ATOL)
    assert_allclose(x, x.T, rtol=0, atol=REORDER_ATOL)
    assert_allclose(np.diag(s), w @ phi**2, rtol=0, atol=EXACT_ATOL)
    assert_allclose(np.diag(x), w @ np.abs(phi) ** (8.0 / 3.0), rtol=0, atol=EXACT_ATOL)
    assert np.all(x[3] == 0.0) and np.all(s[3] == 0.0)
    assert np.all(x >= 0.0) and np.all(s >= 0.0)


def test_grid_gram_negative_weights():
    """Becke partition weights can be negative: no square roots of weights."""
    phi, w = random_grid(seed=10, ngrid=200, nlo=5)
    w[::7] *= -1e-3
    x, s = kernels.grid_gram(phi, w)
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(s))
    r = np.abs(phi) ** (4.0 / 3.0)
    assert_allclose(x, np.einsum("g,gi,gj->ij", w, r, r), rtol=0, atol=PARITY_ATOL)


def test_grid_gram_accepts_non_contiguous_input():
    phi, w = random_grid(seed=8, ngrid=400, nlo=9)
    x1, s1 = kernels.grid_gram(np.asfortranarray(phi), np.repeat(w, 2)[::2])
    x2, s2 = kernels.grid_gram(phi, w)
    assert_allclose(x1, x2, rtol=0, atol=PARITY_ATOL)
    assert_allclose(s1, s2, rtol=0, atol=PARITY_ATOL)


def test_grid_gram_blocks_add_up():
    """Grid integrals are sums over points: two blocks add up to the whole grid (make_grid_integrals)."""
    phi, w = random_grid(seed=9)
    x, s = kernels.grid_gram(phi, w)
    x1, s1 = kernels.grid_gram(phi[:1234], w[:1234])
    x2, s2 = kernels.grid_gram(phi[1234:], w[1234:])
    assert_allclose(x1 + x2, x, rtol=0, atol=PARITY_ATOL)
    assert_allclose(s1 + s2, s, rtol=0, atol=PARITY_ATOL)


# -- make_orbitalets through the dispatch -----------------------------------------------------------
def small_localization_problem(seed=3, m=6):
    rng = np.random.default_rng(seed)
    h_w = np.diag(np.sort(rng.uniform(-1.0, 0.5, m)))  # a Fock matrix in its canonical basis
    dip_w = random_mats(rng, m, nmat=3)
    return h_w, dip_w


def test_make_orbitalets_numba_equals_numpy(monkeypatch):
    h_w, dip_w = small_localization_problem()
    monkeypatch.delenv("DELTASCF_KERNELS", raising=False)
    u_nb, conv_nb, sweeps_nb = make_orbitalets(h_w, dip_w, seed=5)
    monkeypatch.setenv("DELTASCF_KERNELS", "numpy")
    u_np, conv_np, sweeps_np = make_orbitalets(h_w, dip_w, seed=5)
    assert conv_nb and conv_np
    assert sweeps_nb == sweeps_np
    assert_allclose(u_nb, u_np, rtol=0, atol=PARITY_ATOL)
    assert_allclose(u_nb.T @ u_nb, np.eye(6), rtol=0, atol=EXACT_ATOL)


def test_make_orbitalets_deterministic_and_stationary(monkeypatch):
    monkeypatch.delenv("DELTASCF_KERNELS", raising=False)
    h_w, dip_w = small_localization_problem()
    h0, d0 = h_w.copy(), dip_w.copy()
    u1, conv1, sweeps1 = make_orbitalets(h_w, dip_w, seed=11)
    u2, conv2, sweeps2 = make_orbitalets(h_w, dip_w, seed=11)
    assert np.array_equal(u1, u2) and conv1 == conv2 and sweeps1 == sweeps2
    assert np.array_equal(h_w, h0) and np.array_equal(dip_w, d0)  # inputs untouched
    # the result is a stationary point that beats the start: one more sweep gains (almost) nothing
    mats = np.concatenate([dip_w, h_w[None]])
    rotated = np.ascontiguousarray(np.einsum("ai,qab,bj->qij", u1, mats, u1))
    assert cost(rotated, LOSC_WEIGHTS) >= cost(mats, LOSC_WEIGHTS)
    extra = sweep(kernels.jacobi_sweep, rotated, LOSC_WEIGHTS, np.eye(6), shuffled_pairs(np.random.default_rng(0), 6))
    assert extra < E_ATOL  # the localization cost at convergence (tol=1e-10), like an SCF energy


# -- the Python bodies of the Numba kernels ---------------------------------------------------------
PY_BODY_CHECK = textwrap.dedent(f"""
    import numpy as np
    import deltascf.kernels as k
    assert not hasattr(k.jacobi_sweep, "py_func"), "JIT is on"
    rng = np.random.default_rng(0)
    m = 6
    a = rng.standard_normal((4, m, m)) / np.sqrt(m)
    mats = np.ascontiguousarray((a + a.transpose(0, 2, 1)).transpose(1, 2, 0))  # the kernels' (m, m, nmat)
    w = np.array([0.293, 0.293, 0.293, 707.0])
    pairs = np.array([(i, j) for i in range(m) for j in range(i + 1, m)], dtype=np.int64)
    m1, u1, m2, u2 = mats.copy(), np.eye(m), mats.copy(), np.eye(m)
    for _ in range(3):
        p = pairs[rng.permutation(len(pairs))]
        g1 = k.jacobi_sweep(m1, w, u1, p, 0.01)
        g2 = k.jacobi_sweep_ref(m2, w, u2, p, 0.01)
        assert abs(g1 - g2) <= {PARITY_ATOL!r} * max(1.0, g1), (g1, g2)
        assert np.max(np.abs(m1 - m2)) <= {PARITY_ATOL!r} and np.max(np.abs(u1 - u2)) <= {PARITY_ATOL!r}
    print("OK")
""")


def test_kernel_python_bodies_without_jit():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    env.pop("DELTASCF_KERNELS", None)
    proc = subprocess.run([sys.executable, "-c", PY_BODY_CHECK], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("OK")

"""The device twins of deltascf.kernels (deltascf.gpu.kernels), without a GPU.

The twins are written against the array namespace of their input, so the suite runs them on NumPy arrays and
on the CuPy-like shim (tests/devshim.py) and compares them with the NumPy reference twins to PARITY_ATOL; on a
GPU, tests/integration/test_gpu.py runs them on CuPy arrays.  Also here: the pair orders the device sweep is
given, the kernel dispatch by array type, the LOSC orbitalets and frozen LOSC terms on device-like arrays.
"""
import numpy as np
import pytest
from devshim import ShimArray, installed, shim
from numpy.testing import assert_allclose
from tolerances import LOOSE_EXACT_ATOL, PARITY_ATOL

from deltascf import kernels
from deltascf._backend import kernel
from deltascf.corrections import losc
from deltascf.gpu import kernels as device_kernels

LOSC_WEIGHTS = np.array([0.293, 0.293, 0.293, 707.0])  # (1-γ) x3, γC at γ=0.707, C=1000
SWEEPS = 4


@pytest.fixture
def shimxp():
    with installed() as xp:
        yield xp


def random_mats(rng, m, nmat=4):
    """Symmetric (m, m, nmat) matrices, interleaved as the kernels take them, O(1) entries."""
    a = rng.standard_normal((m, m, nmat)) / np.sqrt(m)
    return np.ascontiguousarray(a + a.transpose(1, 0, 2))


def shuffled_pairs(rng, m):
    pairs = np.array([(i, j) for i in range(m) for j in range(i + 1, m)], dtype=np.int64)
    return pairs[rng.permutation(len(pairs))]


def host(x):
    return x.data if isinstance(x, ShimArray) else x


# -- pair orders ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("m", [2, 3, 8, 13])
def test_round_robin_pairs_visit_each_pair_once_in_disjoint_rounds(m):
    pairs = device_kernels.make_round_robin_pairs(m, np.random.default_rng(m))
    assert sorted(map(tuple, pairs.tolist())) == [(i, j) for i in range(m) for j in range(i + 1, m)]
    assert all(i < j for i, j in pairs.tolist())
    runs = device_kernels.make_pair_runs(pairs)
    rounds = m - 1 if m % 2 == 0 else m
    assert len(runs) <= rounds  # adjacent rounds never merge into a run of more than m/2 pairs
    assert all(len(r) <= m // 2 for r in runs)
    if m % 2 == 0:
        assert [len(r) for r in runs] == [m // 2] * (m - 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pair_runs_are_maximal_disjoint_and_in_order(seed):
    rng = np.random.default_rng(seed)
    pairs = shuffled_pairs(rng, 11)
    runs = device_kernels.make_pair_runs(pairs)
    assert np.array_equal(np.concatenate(runs), pairs)
    for k, run in enumerate(runs):
        assert len(set(run.ravel().tolist())) == 2 * len(run)  # no index twice in a run
        if k + 1 < len(runs):  # the next pair shares an index with this run, or it would have joined it
            assert set(runs[k + 1][0].tolist()) & set(run.ravel().tolist())


# -- the Jacobi sweep ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("order", ["shuffled", "round_robin"])
@pytest.mark.parametrize("skip", [0.0, 1e-3])
@pytest.mark.parametrize("m", [2, 7, 30])
def test_device_jacobi_sweep_equals_the_sequential_sweep(m, skip, order):
    """Rotating runs of disjoint pairs at once is the sequential sweep, whatever the order (up to round-off)."""
    rng = np.random.default_rng(300 + m)
    mats_ref = random_mats(rng, m)
    mats_dev, ut_ref, ut_dev = mats_ref.copy(), np.eye(m), np.eye(m)
    for _ in range(SWEEPS):
        pairs = (shuffled_pairs(rng, m) if order == "shuffled"
                 else device_kernels.make_round_robin_pairs(m, rng))
        g_ref = kernels.jacobi_sweep_ref(mats_ref, LOSC_WEIGHTS, ut_ref, pairs.copy(), skip)
        g_dev = device_kernels.jacobi_sweep(mats_dev, LOSC_WEIGHTS, ut_dev, pairs.copy(), skip)
        assert isinstance(g_dev, float)
        scale = max(1.0, float(np.sum(LOSC_WEIGHTS * np.einsum("iiq->iq", mats_ref) ** 2)))
        assert_allclose(g_dev, g_ref, rtol=0, atol=PARITY_ATOL * scale)
        assert_allclose(mats_dev, mats_ref, rtol=0, atol=PARITY_ATOL)
        assert_allclose(ut_dev, ut_ref, rtol=0, atol=PARITY_ATOL)
    assert_allclose(ut_dev @ ut_dev.T, np.eye(m), rtol=0, atol=LOOSE_EXACT_ATOL)


def test_device_jacobi_sweep_on_device_arrays(shimxp):
    """On the shim the twin works in place on its arrays, never converts them implicitly, and matches."""
    rng = np.random.default_rng(5)
    m = 12
    mats = random_mats(rng, m)
    pairs = device_kernels.make_round_robin_pairs(m, rng)
    mats_dev, ut_dev = shim(mats), shimxp.eye(m)
    ut = np.eye(m)
    g_dev = kernel("jacobi_sweep", mats_dev)(mats_dev, shim(LOSC_WEIGHTS), ut_dev, pairs, 1e-4)
    g_ref = kernels.jacobi_sweep_ref(mats, LOSC_WEIGHTS, ut, pairs, 1e-4)
    assert isinstance(g_dev, float) and isinstance(mats_dev, ShimArray) and isinstance(ut_dev, ShimArray)
    scale = max(1.0, float(np.sum(LOSC_WEIGHTS * np.einsum("iiq->iq", mats) ** 2)))  # gains on G's scale
    assert g_dev == pytest.approx(g_ref, abs=PARITY_ATOL * scale)
    assert_allclose(host(mats_dev), mats, rtol=0, atol=PARITY_ATOL)
    assert_allclose(host(ut_dev), ut, rtol=0, atol=PARITY_ATOL)


# -- grid Gram matrices ------------------------------------------------------------------------------------
def test_device_grid_gram_equals_the_host_kernel(shimxp):
    rng = np.random.default_rng(9)
    phi = rng.standard_normal((500, 9))
    w = rng.uniform(-0.01, 1.0, 500)  # Becke weights can be slightly negative
    want = kernels.grid_gram(phi, w)
    for got in (device_kernels.grid_gram(phi, w), kernel("grid_gram", shim(phi))(shim(phi), shim(w))):
        for g, ref in zip(got, want):
            assert_allclose(host(g), ref, rtol=0, atol=PARITY_ATOL)
    assert all(isinstance(g, ShimArray) for g in device_kernels.grid_gram(shim(phi), shim(w)))


def test_kernel_dispatch_by_array_type(shimxp, monkeypatch):
    monkeypatch.delenv("DELTASCF_KERNELS", raising=False)  # the host default, not the NumPy twin
    assert kernel("jacobi_sweep", np.eye(2)) is kernels.jacobi_sweep
    assert kernel("jacobi_sweep") is kernels.jacobi_sweep
    assert kernel("jacobi_sweep", shim(np.eye(2))) is device_kernels.jacobi_sweep
    assert kernel("grid_gram", None, shim(np.eye(2))) is device_kernels.grid_gram


# -- LOSC on device-like arrays -------------------------------------------------------------------------
def test_orbitalets_on_device_arrays_reach_the_same_maximum(shimxp):
    """The device route (round-robin order, batched twin) maximizes the same cost as the host route: a well
    separated problem has one maximum, so G and the localized matrices agree."""
    rng = np.random.default_rng(11)
    m = 10
    h = np.diag(np.sort(rng.uniform(-2.0, 1.0, m)))
    dip = np.stack([(lambda a: a + a.T)(rng.standard_normal((m, m))) for _ in range(3)])
    u_host, ok_host, _ = losc.make_orbitalets(h, dip, tol=1e-12)
    u_dev, ok_dev, _ = losc.make_orbitalets(shim(h), shim(dip), tol=1e-12)
    assert ok_host and ok_dev and isinstance(u_dev, ShimArray)
    u_dev = host(u_dev)
    assert_allclose(u_dev.T @ u_dev, np.eye(m), rtol=0, atol=LOOSE_EXACT_ATOL)
    weights = np.array([0.293] * 3 + [707.0])

    def cost(u):
        mats = [u.T @ x @ u for x in (*dip, h)]
        return sum(w * np.sum(np.diag(x) ** 2) for w, x in zip(weights, mats))

    assert cost(u_dev) == pytest.approx(cost(u_host), rel=1e-9)


@pytest.mark.parametrize("restricted", [True, False])
def test_frozen_losc_terms_in_another_namespace(shimxp, restricted):
    """SCF-LOSC on the device: the frozen terms, copied once with to_namespace, equal the host terms."""
    rng = np.random.default_rng(12)
    nao, nlo = 8, 5
    a = rng.standard_normal((nao, nao))
    s1e = a @ a.T / nao + np.eye(nao)
    c_lo = tuple(rng.standard_normal((nao, nlo)) for _ in range(2))
    kappa = tuple((lambda k: k + k.T)(rng.standard_normal((nlo, nlo))) for _ in range(2))
    inputs = losc.LoscInputs(c_lo=c_lo, kappa=kappa, co_index=(range(nlo),) * 2, localization_converged=(True,) * 2,
                             sweeps=(1, 1), a_x=0.8, a_hf=0.2)
    dm = (lambda d: d + d.transpose(0, 2, 1))(rng.standard_normal((2, nao, nao))) / 10
    dm = dm[0] + dm[1] if restricted else dm
    h_host, e_host = inputs.terms(dm, s1e)
    terms = inputs.to_namespace(shimxp)
    assert all(isinstance(c, ShimArray) for c in terms.c_lo)
    h_dev, e_dev = terms.terms(shim(dm), shim(s1e))
    assert isinstance(h_dev, ShimArray) and isinstance(e_dev, float)
    assert_allclose(host(h_dev), h_host, rtol=0, atol=PARITY_ATOL)
    assert e_dev == pytest.approx(e_host, abs=PARITY_ATOL)

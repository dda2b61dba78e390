"""The response engine's algebra on synthetic data: pairs, the pair/density maps, the Krylov solver, (6.5)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from tolerances import ACCUM_ATOL, EXACT_ATOL, LOOSE_EXACT_ATOL

from deltascf.response import (KAPPA_UNCERTAIN, dms_to_pairs, make_kappa_uncertainty, make_pair_diagonal,
                               make_pairs, pairs_to_dms, solve_krylov)

OCCS = st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=2, max_size=7)


@given(OCCS, OCCS)
@settings(max_examples=60, deadline=None)
def test_every_pair_of_different_occupation_once(na, nb):
    nmo = min(len(na), len(nb))
    occ = np.array([na[:nmo], nb[:nmo]])
    for n, (r, p) in zip(occ, make_pairs(occ)):
        assert np.all(n[p] > n[r])
        expected = {(i, j) for i in range(nmo) for j in range(nmo) if n[j] > n[i]}
        assert set(zip(r.tolist(), p.tolist())) == expected


def test_pair_diagonal_is_negative_for_a_non_aufbau_pair():
    occ = np.array([[1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    e = np.array([[-1.0, -0.5, -0.2, 0.3], [-1.0, -0.5, -0.2, 0.3]])
    pairs = make_pairs(occ)
    d = make_pair_diagonal(e, occ, pairs)
    r, p = pairs[0]
    non_aufbau = (e[0][r] < e[0][p])  # the hole below the promoted electron
    assert np.all(d[:len(r)][non_aufbau] < 0) and np.all(d[:len(r)][~non_aufbau] > 0)
    assert np.all(d[len(r):] > 0)  # beta is aufbau


def test_pair_map_and_density_map_are_adjoint():
    """Σ_σ Tr(v_σ D_σ[x]) = 2 x·P[v] for symmetric v: the factor 2 of (6.4)."""
    rng = np.random.default_rng(1)
    nao = nmo = 6
    c = np.stack([np.linalg.qr(rng.normal(size=(nao, nmo)))[0] for _ in range(2)])
    occ = np.array([[1, 1, 0.5, 0, 0, 0], [1, 0, 1, 0, 0.25, 0]], dtype=float)
    pairs = make_pairs(occ)
    npair = sum(len(r) for r, _ in pairs)
    x = rng.normal(size=(3, npair))
    v = rng.normal(size=(2, 3, nao, nao))
    v = v + v.transpose(0, 1, 3, 2)
    lhs = np.einsum("skmn,sknm->k", v, pairs_to_dms(c, pairs, x))
    rhs = 2 * np.einsum("kp,kp->k", x, dms_to_pairs(c, pairs, v))
    assert_allclose(lhs, rhs, rtol=0, atol=ACCUM_ATOL)


@pytest.mark.parametrize("definite", [True, False])
def test_krylov_solves_symmetric_systems_definite_or_not(definite):
    rng = np.random.default_rng(7)
    n = 40
    q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    lam = rng.uniform(0.2, 3.0, n) * (1 if definite else rng.choice([-1, 1], n))
    a = (q * lam) @ q.T
    b = rng.normal(size=(3, n))
    sol = solve_krylov(lambda x: x @ a, b, lambda r: r / np.diag(a), tol=1e-12)
    assert_allclose(sol.x, np.linalg.solve(a, b.T).T, rtol=0, atol=LOOSE_EXACT_ATOL)
    assert sol.converged.all() and sol.iterations <= n
    assert_allclose(sol.ax, sol.x @ a, rtol=0, atol=LOOSE_EXACT_ATOL)
    # Ritz values of the full space are the eigenvalues
    assert_allclose(np.sort(sol.ritz), np.sort(lam), rtol=0, atol=LOOSE_EXACT_ATOL)


def test_krylov_zero_right_hand_side_stays_zero():
    a = np.diag([1.0, 2.0, 3.0])
    sol = solve_krylov(lambda x: x @ a, np.array([[0.0, 0, 0], [1.0, 1, 1]]), lambda r: r)
    assert_allclose(sol.x[0], 0.0, rtol=0, atol=EXACT_ATOL)
    assert_allclose(sol.x[1], [1, 0.5, 1 / 3], rtol=0, atol=LOOSE_EXACT_ATOL)


def test_near_singular_direction_is_flagged_only_when_the_perturbation_excites_it():
    """(6.5): an eigenvalue 1e-6 with u·b = 0.1 moves κ by 2·0.01·1e-8/1e-12 = 0.2 Eh; a b orthogonal to it is
    limited by the next direction."""
    ritz = np.array([1e-6, 0.5, 1.0])
    vecs = np.eye(3)
    b = np.array([[0.1, 0.3, 0.2], [0.0, 0.3, 0.2]])
    est, worst = make_kappa_uncertainty(b, ritz, vecs, 1e-8)
    assert est[0] > KAPPA_UNCERTAIN and worst[0] == 0
    assert est[1] < KAPPA_UNCERTAIN and worst[1] == 1  # 2·0.09·1e-8/0.25: an ordinary direction
    assert_allclose(est, [2 * 0.01 * 1e-8 / 1e-12, 2 * 0.09 * 1e-8 / 0.25], rtol=1e-12, atol=0)
    # a mode that cannot be told from zero (|θ| ≤ σ) is uncertain by its whole term 2 (u·b)²/|θ|
    est, _ = make_kappa_uncertainty(b[:1], ritz, vecs, 1e-5)
    assert_allclose(est, [2 * 0.01 / 1e-6], rtol=1e-12, atol=0)

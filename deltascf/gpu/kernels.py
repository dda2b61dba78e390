"""The CuPy twins of :mod:`deltascf.kernels`: same names, same signatures, same results (design §6, §17).

They are written against the array namespace of their input (:func:`deltascf.spin.get_xp`), not against
CuPy by name: on the device they run in CuPy, and the test suite runs them on NumPy and on a CuPy-like shim
(tests/devshim.py) against the NumPy reference twins.  ``deltascf._backend.kernel`` picks them for device arrays.

* :func:`jacobi_sweep` rotates a *run* of consecutive pairs that share no index at once.  Rotations of
  disjoint pairs commute, and the gain of a pair depends only on its own 2 × 2 block, which the other pairs of
  the run do not touch, so the sweep equals the sequential one up to round-off whatever the order of the pairs.
  With a round-robin order (:func:`make_round_robin_pairs`) every run holds m/2 pairs: one batched update per
  round instead of one small update per pair.
* :func:`grid_gram` is the two Gram products of theory (5.3)-(5.4), in the namespace of ``phi``.
"""
from __future__ import annotations

import numpy as np

from ..spin import get_xp

__all__ = ["jacobi_sweep", "grid_gram", "make_pair_runs", "make_round_robin_pairs"]


def make_pair_runs(pairs: np.ndarray) -> list:
    """Split ``pairs`` (host, (npair, 2)) into maximal runs of consecutive pairs with no index in common.

    Returns a list of (k, 2) host arrays, in order; concatenated they give ``pairs`` back.
    """
    runs, start, used = [], 0, set()
    for k, (i, j) in enumerate(np.asarray(pairs).tolist()):
        if i in used or j in used:
            runs.append(pairs[start:k])
            start, used = k, set()
        used.update((i, j))
    if len(pairs) > start:
        runs.append(pairs[start:])
    return runs


def make_round_robin_pairs(m: int, rng: np.random.Generator) -> np.ndarray:
    """Every pair (i < j) of m indices once, ordered as m − 1 rounds of disjoint pairs (the circle method).

    The indices are relabelled by a random permutation of ``rng`` and the rounds shuffled, so that successive
    sweeps visit the pairs in different orders, as the random order of the CPU sweep does (theory §5.3).
    """
    n = m + (m % 2)  # an odd m gets a dummy index, which sits out one pair per round
    ring = np.arange(1, n)
    shifts = (np.arange(n - 1)[:, None] - np.arange(n - 1)[None, :]) % (n - 1)  # round r: the ring turned r places
    order = np.concatenate([np.zeros((n - 1, 1), dtype=np.int64), ring[shifts]], axis=1)  # (rounds, n)
    a, b = order[:, : n // 2], order[:, ::-1][:, : n // 2]  # position k meets position n - 1 - k
    label = np.append(rng.permutation(m), -1)  # the dummy index n - 1 = m (odd m) maps to -1
    a, b = label[np.minimum(a, m)], label[np.minimum(b, m)]
    rounds = np.stack([np.minimum(a, b), np.maximum(a, b)], axis=-1)[rng.permutation(n - 1)]  # (rounds, n/2, 2)
    pairs = rounds.reshape(-1, 2)
    return np.ascontiguousarray(pairs[pairs[:, 0] >= 0], dtype=np.int64)


def jacobi_sweep(mats, weights, ut, pairs, skip: float = 0.0) -> float:
    """One Jacobi sweep over ``pairs``, in place, in the namespace of ``mats``; twin of
    :func:`deltascf.kernels.jacobi_sweep_ref` (same arguments, same total gain, theory (5.2)).

    ``pairs`` may live on the host or the device; it is split on the host into runs of disjoint pairs
    (:func:`make_pair_runs`), and each run is rotated in one batched update.
    """
    xp = get_xp(mats, ut)
    host_pairs = pairs if isinstance(pairs, np.ndarray) else xp.asnumpy(pairs)
    weights = xp.asarray(weights)
    total = xp.zeros(())
    for run in make_pair_runs(host_pairs):
        i, j = xp.asarray(run[:, 0]), xp.asarray(run[:, 1])
        d = mats[i, i] - mats[j, j]  # (k, nmat)
        mij = mats[i, j]
        a = (weights * (0.25 * d * d - mij * mij)).sum(axis=1)
        b = (weights * mij * d).sum(axis=1)
        gain = xp.hypot(a, b) - a
        gained = gain > 0.0
        total = total + xp.where(gained, gain, 0.0).sum()
        rotate = gained & (gain >= skip)  # a skipped pair's gain counts, it is not rotated
        theta = 0.25 * xp.arctan2(b, a)
        c = xp.where(rotate, xp.cos(theta), 1.0)
        s = xp.where(rotate, xp.sin(theta), 0.0)
        ui, uj = ut[i], ut[j]  # copies (advanced indexing)
        ut[i] = c[:, None] * ui + s[:, None] * uj
        ut[j] = c[:, None] * uj - s[:, None] * ui
        ri, rj = mats[i], mats[j]  # rows (k, m, nmat), then columns (m, k, nmat)
        mats[i] = c[:, None, None] * ri + s[:, None, None] * rj
        mats[j] = c[:, None, None] * rj - s[:, None, None] * ri
        ci, cj = mats[:, i], mats[:, j]
        mats[:, i] = c[None, :, None] * ci + s[None, :, None] * cj
        mats[:, j] = c[None, :, None] * cj - s[None, :, None] * ci
    return float(total)


def grid_gram(phi, weights):
    """X = Σ_g w_g |φ_i|^{4/3} |φ_j|^{4/3} and S = Σ_g w_g |φ_i| |φ_j| over one block of grid points, in the
    namespace of ``phi``; twin of :func:`deltascf.kernels.grid_gram` (theory (5.3), (5.4))."""
    xp = get_xp(phi)
    w = xp.asarray(weights)[:, None]
    a = xp.abs(phi)
    r = xp.cbrt(a) * a  # |φ|^{4/3}
    return (r * w).T @ r, (a * w).T @ a

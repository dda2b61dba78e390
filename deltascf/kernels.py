"""Numba kernels, each beside its NumPy reference twin (design §6).

Every Numba kernel has the signature of its twin ``<name>_ref`` and agrees with
it to 1e-10 on seeded random input of the tested sizes (tests/unit/test_kernels.py;
long sweeps on large random problems amplify round-off, which is the problem's
conditioning, not the kernel's).  A hot loop that Numba does not speed up stays
NumPy + BLAS (``grid_gram``).  The Jacobi matrices are interleaved, (m, m, nmat).  Kernels work on
arrays they are handed; the pure callers in ``functionals.losc`` copy first.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["jacobi_sweep", "jacobi_sweep_ref", "grid_gram"]


# -- Jacobi sweep of the LOSC2 localization; theory (5.2) ----------------------------------
def jacobi_sweep_ref(mats: np.ndarray, weights: np.ndarray, ut: np.ndarray, pairs: np.ndarray,
                     skip: float = 0.0) -> float:
    """One sweep over ``pairs``, rotating each pair by its optimal angle, in place.

    Parameters
    ----------
    mats : ndarray, shape (m, m, nmat)
        Symmetric matrices M (R_x, R_y, R_z, H) in the current orbitalet basis, interleaved: ``mats[i, j]``
        holds (M_ij for every M), so that a column update touches one cache line per row.  Kept symmetric.
    weights : ndarray, shape (nmat,)
        w_M of the cost G = sum_M w_M sum_i (M_ii)^2.
    ut : ndarray, shape (m, n)
        Transposed rotation accumulated so far (row i = orbitalet i); rows i, j rotate.
    pairs : ndarray of int, shape (npair, 2)
    skip : float
        A pair whose gain is below ``skip`` is not rotated (its gain still counts in the total), theory §5.3.

    Returns
    -------
    float
        Total gain of G over the sweep (>= 0): the gains of the rotated pairs plus those of the skipped ones.
    """
    total = 0.0
    for i, j in pairs:
        d = mats[i, i] - mats[j, j]
        mij = mats[i, j]
        a = float(np.sum(weights * (0.25 * d * d - mij * mij)))
        b = float(np.sum(weights * mij * d))
        gain = np.hypot(a, b) - a
        if gain <= 0.0:
            continue
        total += gain
        if gain < skip:
            continue
        theta = 0.25 * np.arctan2(b, a)  # φ_i <- c φ_i + s φ_j, φ_j <- -s φ_i + c φ_j
        c, s = np.cos(theta), np.sin(theta)
        ui, uj = ut[i].copy(), ut[j].copy()
        ut[i], ut[j] = c * ui + s * uj, -s * ui + c * uj
        ri, rj = mats[i].copy(), mats[j].copy()
        mats[i], mats[j] = c * ri + s * rj, -s * ri + c * rj
        ci, cj = mats[:, i].copy(), mats[:, j].copy()
        mats[:, i], mats[:, j] = c * ci + s * cj, -s * ci + c * cj
    return total


@njit(cache=True)
def jacobi_sweep(mats, weights, ut, pairs, skip=0.0):  # pragma: no cover - compiled; twin above is covered
    total = 0.0
    m, nmat = mats.shape[0], mats.shape[2]
    n = ut.shape[1]
    mii = np.empty(nmat)
    mjj = np.empty(nmat)
    mij = np.empty(nmat)
    for k in range(pairs.shape[0]):
        i, j = pairs[k, 0], pairs[k, 1]
        a = 0.0
        b = 0.0
        for q in range(nmat):
            d = mats[i, i, q] - mats[j, j, q]
            o = mats[i, j, q]
            a += weights[q] * (0.25 * d * d - o * o)
            b += weights[q] * o * d
        gain = np.hypot(a, b) - a
        if gain <= 0.0:
            continue
        total += gain
        if gain < skip:
            continue
        theta = 0.25 * np.arctan2(b, a)
        c, s = np.cos(theta), np.sin(theta)
        for r in range(n):
            ui, uj = ut[i, r], ut[j, r]
            ut[i, r] = c * ui + s * uj
            ut[j, r] = -s * ui + c * uj
        for q in range(nmat):
            mii[q], mjj[q], mij[q] = mats[i, i, q], mats[j, j, q], mats[i, j, q]
        for r in range(m):  # rows i, j (contiguous); columns follow by symmetry
            for q in range(nmat):
                xi, xj = mats[i, r, q], mats[j, r, q]
                yi = c * xi + s * xj
                yj = -s * xi + c * xj
                mats[i, r, q] = yi
                mats[j, r, q] = yj
                mats[r, i, q] = yi
                mats[r, j, q] = yj
        for q in range(nmat):  # the 2 x 2 block rotates on both sides
            mats[i, i, q] = c * c * mii[q] + 2.0 * c * s * mij[q] + s * s * mjj[q]
            mats[j, j, q] = s * s * mii[q] - 2.0 * c * s * mij[q] + c * c * mjj[q]
            off = c * s * (mjj[q] - mii[q]) + (c * c - s * s) * mij[q]
            mats[i, j, q] = off
            mats[j, i, q] = off
    return total


# -- grid contractions behind X_ij and S_ij; theory (5.3), (5.4) -------------------------------
# No Numba twin: the element-wise |φ|^{4/3} = |φ| ∛|φ| is where a kernel could help,
# and a parallel Numba loop (no SVML) computes it and the weighted copies 2x slower
# than NumPy's vectorized cbrt (21 ms against 9 ms for a 20000 x 114 block, 2 threads);
# the two Gram products are BLAS either way.
def grid_gram(phi: np.ndarray, weights: np.ndarray):
    """X_ij = sum_g w_g |phi_i|^{4/3} |phi_j|^{4/3} and S_ij = sum_g w_g |phi_i| |phi_j|.

    ρ_i^{2/3} = |φ_i|^{4/3}, so X is the exchange-like integral of theory
    (5.3) and S the absolute overlap of (5.4), over one block of grid points.

    Parameters
    ----------
    phi : ndarray, shape (ngrid, nlo)
        Orbitalet values on the grid points.
    weights : ndarray, shape (ngrid,)
        Grid weights (PySCF's Becke weights can be slightly negative).

    Returns
    -------
    x, s : ndarray, shape (nlo, nlo)
    """
    w = np.asarray(weights)[:, None]
    a = np.abs(phi)
    r = np.cbrt(a)  # |φ|^{4/3} = |φ| ∛|φ|: cbrt is twice as fast as a ** (4/3)
    r *= a
    return (r * w).T @ r, (a * w).T @ a

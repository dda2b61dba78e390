"""Numba kernels, each beside its NumPy reference twin (design §6).

Every Numba kernel has the signature of its twin ``<name>_ref`` and agrees with
it to 1e-10 on seeded random input of the tested sizes (tests/unit/test_kernels.py;
long sweeps on large random problems amplify round-off, which is the problem's
conditioning, not the kernel's).  A hot loop that Numba does not speed up stays
NumPy + BLAS (``grid_gram``).  Kernels work on
arrays they are handed; the pure callers in ``functionals.losc`` copy first.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["jacobi_sweep", "jacobi_sweep_ref", "grid_gram"]


# -- Jacobi sweep of the LOSC2 localization; theory (5.2) ----------------------------------
def jacobi_sweep_ref(mats: np.ndarray, weights: np.ndarray, ut: np.ndarray, pairs: np.ndarray) -> float:
    """One sweep over ``pairs``, rotating each pair by its optimal angle, in place.

    Parameters
    ----------
    mats : ndarray, shape (nmat, m, m)
        Symmetric matrices M (R_x, R_y, R_z, H) in the current orbitalet basis;
        kept symmetric.
    weights : ndarray, shape (nmat,)
        w_M of the cost G = sum_M w_M sum_i (M_ii)^2.
    ut : ndarray, shape (m, n)
        Transposed rotation accumulated so far (row i = orbitalet i); rows i, j rotate.
    pairs : ndarray of int, shape (npair, 2)

    Returns
    -------
    float
        Total gain of G over the sweep (>= 0).
    """
    total = 0.0
    for i, j in pairs:
        d = mats[:, i, i] - mats[:, j, j]
        mij = mats[:, i, j]
        a = float(np.sum(weights * (0.25 * d * d - mij * mij)))
        b = float(np.sum(weights * mij * d))
        gain = np.hypot(a, b) - a
        if gain <= 0.0:
            continue
        theta = 0.25 * np.arctan2(b, a)  # φ_i <- c φ_i + s φ_j, φ_j <- -s φ_i + c φ_j
        c, s = np.cos(theta), np.sin(theta)
        ui, uj = ut[i].copy(), ut[j].copy()
        ut[i], ut[j] = c * ui + s * uj, -s * ui + c * uj
        ri, rj = mats[:, i, :].copy(), mats[:, j, :].copy()
        mats[:, i, :], mats[:, j, :] = c * ri + s * rj, -s * ri + c * rj
        ci, cj = mats[:, :, i].copy(), mats[:, :, j].copy()
        mats[:, :, i], mats[:, :, j] = c * ci + s * cj, -s * ci + c * cj
        total += gain
    return total


@njit(cache=True)
def jacobi_sweep(mats, weights, ut, pairs):  # pragma: no cover - compiled; twin above is covered
    total = 0.0
    nmat, m = mats.shape[0], mats.shape[1]
    n = ut.shape[1]
    for k in range(pairs.shape[0]):
        i, j = pairs[k, 0], pairs[k, 1]
        a = 0.0
        b = 0.0
        for q in range(nmat):
            d = mats[q, i, i] - mats[q, j, j]
            mij = mats[q, i, j]
            a += weights[q] * (0.25 * d * d - mij * mij)
            b += weights[q] * mij * d
        gain = np.hypot(a, b) - a
        if gain <= 0.0:
            continue
        theta = 0.25 * np.arctan2(b, a)
        c, s = np.cos(theta), np.sin(theta)
        for r in range(n):
            ui, uj = ut[i, r], ut[j, r]
            ut[i, r] = c * ui + s * uj
            ut[j, r] = -s * ui + c * uj
        for q in range(nmat):
            mii, mjj, mij = mats[q, i, i], mats[q, j, j], mats[q, i, j]
            for r in range(m):  # rows i, j (contiguous); columns follow by symmetry
                xi, xj = mats[q, i, r], mats[q, j, r]
                yi = c * xi + s * xj
                yj = -s * xi + c * xj
                mats[q, i, r] = yi
                mats[q, j, r] = yj
                mats[q, r, i] = yi
                mats[q, r, j] = yj
            mats[q, i, i] = c * c * mii + 2.0 * c * s * mij + s * s * mjj
            mats[q, j, j] = s * s * mii - 2.0 * c * s * mij + c * c * mjj
            off = c * s * (mjj - mii) + (c * c - s * s) * mij
            mats[q, i, j] = off
            mats[q, j, i] = off
        total += gain
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

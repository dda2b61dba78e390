"""Overlap tracking, orbital gradient, canonicalization and the collapse check; theory §1.2–§1.4.

Pure functions on arrays, written against the array namespace of their input (:func:`deltascf.spin.get_xp`),
so NumPy and device arrays pass through unchanged.  The one assignment problem of the tracking
(``scipy.optimize.linear_sum_assignment``) runs on the host, on a small (occupied groups × nmo) matrix.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .occupations import OCC_TOL
from .spin import get_xp, make_spin_dms, to_host

__all__ = ["make_overlap", "make_tracked_occ", "make_matched_orbital", "make_orbital_grad",
           "make_canonical_orbitals", "make_spin_square", "make_dm_similarity", "make_target_check",
           "make_aufbau_like", "make_target_similarity", "make_collapse_reasons", "make_orbital_populations",
           "is_aufbau_spectrum", "LOST_OVERLAP", "OCC_TOL",
           "COLLAPSE_ENERGY_TOL", "SPECTRUM_TOL"]

#: a target counts as lost when its occupied space overlaps the result by less than this
LOST_OVERLAP = 0.5
#: a state this close in energy (Eh) to a lower state with the same electron counts has the same energy
COLLAPSE_ENERGY_TOL = 1e-6
#: orbital energies (Eh) closer than this count as equal when deciding whether a spectrum is aufbau
SPECTRUM_TOL = 1e-6


# -- tracking (theory §1.3, (1.4)) -------------------------------------------------------------------
def make_overlap(c_ref, c_new, s1e):
    """O = C_refᵀ S C_new for one spin; theory (1.4)."""
    return c_ref.conj().T @ s1e @ c_new


def make_matched_orbital(mo_coeff, mo_occ, c_p, s1e, value: float) -> int:
    """Index of the orbital with occupation ``value`` that overlaps most with ``c_p`` (one spin).

    Follows one orbital (a channel orbital, a parent orbital) into another state; theory §3.3 matches
    orbitals across I, J and K this way.
    """
    xp = get_xp(mo_coeff)
    weight = xp.abs(mo_coeff.T @ s1e @ c_p) ** 2
    weight = xp.where(xp.abs(mo_occ - value) < OCC_TOL, weight, -1.0)
    return int(xp.argmax(weight))


def make_tracked_occ(ovlp, occ_ref):
    """Occupations of new orbitals by maximum-overlap assignment; theory §1.3.

    Reference orbitals are grouped by their target value.  Each group takes as many new orbitals as it has
    reference orbitals, so that the total weight sum_g sum_{j in g} sum_{i in g} |O_ij|^2 is maximal.  With
    the groups {1} and {0} this is the classic MOM rule (largest projections onto the occupied reference).

    Parameters
    ----------
    ovlp : ndarray, shape (nref, nmo)
        Overlap of the reference orbitals with the new orbitals.
    occ_ref : ndarray, shape (nref,)
        Target occupation of each reference orbital.

    Returns
    -------
    ndarray, shape (nmo,)
        Occupation of each new orbital, in the namespace of ``ovlp``.
    """
    xp = get_xp(ovlp)
    occ_ref = to_host(occ_ref).astype(float)
    nmo = ovlp.shape[1]
    weight = xp.abs(ovlp) ** 2
    keys = np.round(occ_ref, 12)  # group membership: one key per reference orbital
    values = np.unique(keys)
    filled = values[np.abs(values) > OCC_TOL]
    empty = np.flatnonzero(np.abs(keys) <= OCC_TOL)
    w_empty = weight[xp.asarray(empty)].sum(axis=0) if empty.size else xp.zeros(nmo)
    rows, row_vals = [], []
    for v in filled:
        members = np.flatnonzero(keys == v)
        w = to_host(weight[xp.asarray(members)].sum(axis=0) - w_empty)  # relative to the empty group
        rows += [w] * members.size
        row_vals += [occ_ref[members[0]]] * members.size  # the value as given, not its rounded key
    occ = np.zeros(nmo)
    if rows:
        # tiny energy-order tie breaker: prefer lower orbitals for occupied slots
        cost = np.array(rows) - 1e-13 * np.arange(nmo)[None, :]
        r, c = linear_sum_assignment(cost, maximize=True)
        occ[c] = np.asarray(row_vals)[r]
    return occ if xp is np else xp.asarray(occ)


# -- stationarity and canonical orbitals (theory (1.3)) ----------------------------------------------
def make_orbital_grad(mo_coeff, mo_occ, fock_ao):
    """g_pq = (n_p - n_q) F_pq for p < q, one spin; theory (1.3).

    Includes rotations between fractional, and between occupied orbitals of a non-aufbau pattern.  For aufbau
    integer occupations it equals PySCF's occupied-virtual gradient (same norm).
    """
    xp = get_xp(mo_coeff)
    f_mo = mo_coeff.conj().T @ fock_ao @ mo_coeff
    g = (mo_occ[:, None] - mo_occ[None, :]) * f_mo
    return g[xp.triu_indices(mo_occ.shape[0], 1)]


def make_canonical_orbitals(fock, mo_coeff, mo_occ):
    """Diagonalize F within each group of equal occupation, one spin.

    Rotations inside a group leave the density unchanged, so the state stays exactly the converged one while
    its orbital energies become eigenvalues of F[D] restricted to the group (the off-group elements are the
    gradient (1.3)).  Returns (mo_energy, mo_coeff, mo_occ) sorted by orbital energy.
    """
    xp = get_xp(mo_coeff)
    f_mo = mo_coeff.conj().T @ fock @ mo_coeff
    mo_energy = xp.empty(mo_occ.shape[0])
    c_new = mo_coeff.copy()
    keys = np.round(to_host(mo_occ), 12)
    for v in np.unique(keys):
        idx = xp.asarray(np.flatnonzero(keys == v))
        w, u = xp.linalg.eigh(f_mo[idx][:, idx])
        mo_energy[idx] = w
        c_new[:, idx] = mo_coeff[:, idx] @ u
    order = xp.argsort(mo_energy, kind="stable") if xp is np else xp.argsort(mo_energy)
    return mo_energy[order], c_new[:, order], xp.asarray(mo_occ, dtype=float)[order]


# -- spin and similarity of densities -----------------------------------------------------------------
def _trace_dsds(a, s1e, b) -> float:
    """tr(A S B S) by two matrix products (an einsum over four indices is O(n^4))."""
    xp = get_xp(a)
    return float(xp.sum((a @ s1e) * (b @ s1e).T))


def make_spin_square(dm, s1e) -> float:
    """<S^2> of a spin-unrestricted density (2, nao, nao).

    <S^2> = (Na - Nb)^2/4 + (Na + Nb)/2 - tr(Da S Db S); for integer occupations this is PySCF's
    ``uhf.spin_square``, and it extends it to fractional ones.
    """
    xp = get_xp(dm)
    na = float(xp.sum(dm[0] * s1e))
    nb = float(xp.sum(dm[1] * s1e))
    return 0.25 * (na - nb) ** 2 + 0.5 * (na + nb) - _trace_dsds(dm[0], s1e, dm[1])


def make_dm_similarity(dm, dm_ref, s1e) -> float:
    """tr(D S D_ref S) / sqrt(tr(D S D S) tr(D_ref S D_ref S)), one spin.

    1 when the two densities coincide; for integer occupations it is the mean squared projection of one
    occupied space onto the other.
    """
    a = _trace_dsds(dm, s1e, dm_ref)
    n1 = _trace_dsds(dm, s1e, dm)
    n2 = _trace_dsds(dm_ref, s1e, dm_ref)
    if n1 < 1e-14 and n2 < 1e-14:
        return 1.0
    if n1 < 1e-14 or n2 < 1e-14:
        return 0.0
    return float(a / np.sqrt(n1 * n2))


def make_aufbau_like(target):
    """Aufbau occupations with the same electrons per spin as ``target`` (same layout)."""
    xp = get_xp(target)
    full = 2.0 if target.ndim == 1 else 1.0
    rows = to_host(target).reshape(-1, target.shape[-1])
    out = np.zeros_like(rows, dtype=float)
    for row_in, row_out in zip(rows, out):
        n = row_in.sum()
        k = int(np.floor(n / full + 1e-10))
        row_out[:k] = full
        if k < row_out.size:
            row_out[k] = n - k * full
    out = out.reshape(target.shape)
    return out if xp is np else xp.asarray(out)


def is_aufbau_spectrum(mo_energy, mo_occ, tol: float = SPECTRUM_TOL) -> bool:
    """True when, in every spin, no orbital lies below another of larger occupation (ties within ``tol``).

    An aufbau state fills its own orbitals from the bottom: n_p > n_q implies ε_p <= ε_q.  A stationary
    non-aufbau state breaks this in at least one spin; a state that satisfies it is a ground state of its own
    Fock operator (theory §1.3).  Either layout.
    """
    xp = get_xp(mo_energy)
    eps = to_host(xp.asarray(mo_energy)).reshape(-1, mo_energy.shape[-1])
    occ = to_host(xp.asarray(mo_occ)).reshape(-1, mo_occ.shape[-1])
    for e, n in zip(eps, occ):
        for v in np.unique(np.round(n, 12))[:-1]:  # every split into "more than v" and "at most v"
            above, below = n > v + OCC_TOL, n <= v + OCC_TOL
            if above.any() and below.any() and e[above].max() > e[below].min() + tol:
                return False
    return True


def make_orbital_populations(dm, c_ref, target, s1e) -> tuple:
    """(spin, orbital, target, aufbau, population) of the reference orbitals the collapse check watches.

    They are the orbitals occupied in both the aufbau state and the target (n ≥ ½ of full in each: the
    spectators) and those the target empties (n_aufbau − n_target ≥ ½ of full).  The orbitals that the target
    newly fills are not watched: the electron put there may relax far from the ground state's virtual orbital
    (in HF, a charge-transfer electron keeps about half of it).  The population of orbital φ in the final
    density is ⟨φ|S D_σ S|φ⟩ (summed over spins for a restricted reference).  A state that keeps its character
    keeps each watched orbital near its target; a core hole that drifts into the valence, or a state that swaps
    occupied and empty valence orbitals, does not.
    """
    aufbau, tgt = to_host(make_aufbau_like(target)), to_host(target)
    restricted = tgt.ndim == 1
    full = 2.0 if restricted else 1.0
    out = []
    for s, (a_row, t_row) in enumerate(zip(np.atleast_2d(aufbau), np.atleast_2d(tgt))):
        c_s = c_ref if restricted else c_ref[s]
        for p in np.flatnonzero(((t_row >= 0.5 * full) & (a_row >= 0.5 * full)) | (a_row - t_row >= 0.5 * full)):
            phi = s1e @ c_s[:, int(p)]
            spins = (0, 1) if restricted else (s,)
            out.append((s, int(p), float(t_row[p]), float(a_row[p]), sum(float(phi @ dm[k] @ phi) for k in spins)))
    return tuple(out)


def make_collapse_reasons(overlap, to_aufbau, target, mo_energy, mo_occ, e_tot, nelec, lower=(), populations=(),
                          e_tol: float = COLLAPSE_ENERGY_TOL) -> tuple:
    """Why a state has lost its target, as readable reasons; empty when it has not.  Theory §1.3.

    Four pieces of evidence, each enough on its own:

    * the overlap with the target is below ``LOST_OVERLAP`` in some spin;
    * an orbital occupied in the ground state and in the target holds less than half its target occupation, or
      one that the target empties has regained more than half of what it lost (``populations``, from :func:`make_orbital_populations`): a hole
      filled again, or occupied and empty orbitals swapped;
    * for a non-aufbau target, the density lies closer to the aufbau density of the reference orbitals;
    * for a non-aufbau target, the state is aufbau in its own orbital energies (:func:`is_aufbau_spectrum`)
      *and* its energy equals that of a lower state with the same electron counts (within ``e_tol``).  This
      catches an electron that has rotated into an orbital degenerate with the one it left (boron's 2p → 2p'):
      the density differs from the aufbau one on the reference orbitals, yet the state is the ground state.

    Parameters
    ----------
    overlap, to_aufbau : array_like, shape (2,)
        Per-spin similarity of the final density with the target and with the aufbau density (None when the
        target is aufbau).
    lower : sequence of (name, e_tot, nelec)
        States to compare with (the ground state).
    populations : sequence of (spin, orbital, target, aufbau, population)
        Watched orbitals, in the layout's units (restricted: 0 to 2).
    """
    reasons = []
    overlap = np.asarray(overlap, dtype=float)
    if overlap.min() < LOST_OVERLAP:
        reasons.append(f"overlap with the target {overlap.min():.3f} < {LOST_OVERLAP:g}")
    full = 2.0 if to_host(target).ndim == 1 else 1.0  # target may be a device array
    name = lambda s, p: str(p) if full == 2.0 else f"{'ab'[s]}:{p}"  # noqa: E731
    lost = [f"{name(s, p)} ({pop:.2f} of {n_t:g})" for s, p, n_t, n_a, pop in populations
            if n_t >= 0.5 * full and pop < 0.5 * n_t]
    refilled = [f"{name(s, p)} ({pop:.2f}, target {n_t:g})" for s, p, n_t, n_a, pop in populations
                if n_a - n_t >= 0.5 * full and pop - n_t > 0.5 * (n_a - n_t)]
    if lost:
        reasons.append(f"occupied orbitals kept by the target hold less than half their target: {', '.join(lost)}")
    if refilled:
        reasons.append(f"emptied orbitals have regained more than half of what they lost: {', '.join(refilled)}")
    if to_aufbau is not None:
        to_aufbau = np.asarray(to_aufbau, dtype=float)
        if np.any(to_aufbau > overlap + 1e-8):
            reasons.append(f"closer to the aufbau density (similarity {to_aufbau.max():.3f}) than to the target")
        if lower and is_aufbau_spectrum(mo_energy, mo_occ):
            for name, e_low, n_low in lower:
                de = float(e_tot) - float(e_low)
                if np.allclose(n_low, nelec, atol=1e-8, rtol=0) and abs(de) <= e_tol:
                    reasons.append(f"aufbau in its own orbital energies and at the energy of {name} "
                                   f"(dE = {de:.1e} Eh)")
    return tuple(reasons)


def make_target_check(dm, c_ref, target, s1e):
    """Per-spin overlap with the target and the collapse flag; theory §1.3.

    Parameters
    ----------
    dm : ndarray, shape (2, nao, nao)
        Final per-spin density.
    c_ref, target : ndarray
        Reference (ground-state) orbitals and the target occupations on them (either layout).

    Returns
    -------
    overlap : ndarray, shape (2,)
        ``make_dm_similarity`` of the final and target densities, per spin (host).
    collapsed : bool
        True when some spin overlaps the target less than ``LOST_OVERLAP``, or, for a non-aufbau target, lies
        closer to the aufbau density with the same electron counts than to the target (variational collapse).
    """
    overlap, to_aufbau = make_target_similarity(dm, c_ref, target, s1e)
    # the overlap and aufbau-density rules of make_collapse_reasons (no energies or populations given)
    return overlap, bool(make_collapse_reasons(overlap, to_aufbau, target, None, None, None, None))


def make_target_similarity(dm, c_ref, target, s1e):
    """Per-spin similarity of ``dm`` with the target density, and with the aufbau density of the same electron
    counts (None when the target is aufbau); both on the host, shape (2,)."""
    dm_target = make_spin_dms(c_ref, target)
    overlap = np.array([make_dm_similarity(dm[s], dm_target[s], s1e) for s in range(2)])
    aufbau = make_aufbau_like(target)
    if np.allclose(to_host(aufbau), to_host(target), atol=OCC_TOL, rtol=0):
        return overlap, None
    dm_aufbau = make_spin_dms(c_ref, aufbau)
    return overlap, np.array([make_dm_similarity(dm[s], dm_aufbau[s], s1e) for s in range(2)])

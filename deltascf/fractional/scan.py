"""E(N ± δ) along one channel of a ground or ΔSCF state; theory §2.

Two routes (theory §2.2): ``mode="scf"`` converges every δ with the channel orbital at occupation δ,
warm-started and tracked from its converged neighbour (§2.4); ``mode="ensemble"`` evaluates the functional on
(1-δ)γ_low + δγ_high of the two integer end states.  The derived numbers (deviation from the straight line,
curvatures, slope, Janak residual) come from pure functions.
"""
from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

from ..core import resolve_on
from ..corrections import check_correction, make_corrected_orbital_energy, run_correction
from ..occupations import Channel, Occupation, make_channel_degeneracy
from ..records import DEFAULT_POINTS, MAX_POINTS, PREDICTORS, SCAN_MODES, ChargeScan, Method, ScfResult, make_provenance
from ..scf import check_mol, make_ensemble_energies, make_method, run_state
from ..spin import make_spin_dms
from ..study import open_study
from ..tracking import make_matched_orbital

#: the smallest spacing of a δ grid
MIN_DELTA_STEP = 1e-6

__all__ = ["ChargeScan", "scan_charge", "make_deltas", "make_line_deviation", "make_curvatures",
           "make_fd_derivative", "make_janak_residual", "make_extrapolated_dm", "make_predicted_dm",
           "make_response_slope", "DEFAULT_POINTS", "MAX_POINTS",
           "MIN_DELTA_STEP"]


# -- pure analysis (theory (2.3), (2.4), (3.1)) -----------------------------------------------
def make_deltas(deltas=None, points: int = DEFAULT_POINTS) -> np.ndarray:
    """A validated δ grid: sorted, within [0, 1], 2 to ``MAX_POINTS`` points at least ``MIN_DELTA_STEP`` apart."""
    if deltas is None:
        if isinstance(points, bool) or int(points) != points or points < 2:
            raise ValueError(f"a scan needs at least 2 points, got {points!r}")
        if points > MAX_POINTS:
            raise ValueError(f"a scan takes at most {MAX_POINTS} points, got {points!r}")
        return np.linspace(0.0, 1.0, int(points))
    d = np.asarray(deltas, dtype=float).ravel()
    if d.size < 2:
        raise ValueError(f"a scan needs at least 2 δ points, got {d.size}")
    if d.size > MAX_POINTS:
        raise ValueError(f"a scan takes at most {MAX_POINTS} δ points, got {d.size}")
    if not np.all(np.isfinite(d)) or d.min() < 0.0 or d.max() > 1.0:
        raise ValueError("δ values must lie in [0, 1]")
    if np.any(np.diff(d) <= 0.0):
        raise ValueError("δ values must be sorted in increasing order without repeats")
    if np.any(np.diff(d) < MIN_DELTA_STEP):
        raise ValueError(f"δ values must lie at least {MIN_DELTA_STEP:g} apart (closer points make the "
                         "finite differences of the Janak check meaningless)")
    return d


def make_line_deviation(delta: np.ndarray, e_tot: np.ndarray, e0: float, e1: float) -> np.ndarray:
    """D(δ) = E(δ) − [(1−δ) E(0) + δ E(1)]; theory (2.3)."""
    return e_tot - ((1.0 - delta) * e0 + delta * e1)


def make_curvatures(delta: np.ndarray, e_tot: np.ndarray, e_dev: np.ndarray, eps0: float, eps1: float) -> dict:
    """κ_fit = 2 c₂ of a quadratic least-squares fit, κ_janak = ε(1) − ε(0), κ_half = −8 D(½); theory (2.4).

    D(½) is taken from the grid when δ = ½ is a point, otherwise from a cubic
    spline of D(δ).
    """
    c2 = np.polyfit(delta, e_tot, 2)[0] if delta.size >= 3 else np.nan
    half = np.flatnonzero(np.isclose(delta, 0.5, rtol=0, atol=1e-12))
    d_half = float(e_dev[half[0]]) if half.size else float(CubicSpline(delta, e_dev)(0.5))
    return {"curvature_fit": 2.0 * float(c2), "curvature_janak": float(eps1 - eps0),
            "curvature_half": -8.0 * d_half, "deviation_half": d_half}


def make_fd_derivative(delta: np.ndarray, e_tot: np.ndarray, k: int, width: int = 5) -> float:
    """dE/dδ at interior point k from the interpolating polynomial through the
    ``width`` nearest grid points (centred where the grid allows): a centred
    finite difference of order width − 1 that also works on uneven grids."""
    n = delta.size
    w = min(width, n)
    lo = min(max(k - w // 2, 0), n - w)
    x, y = delta[lo:lo + w] - delta[k], e_tot[lo:lo + w]
    poly = np.polynomial.Polynomial.fit(x, y, w - 1)
    return float(poly.deriv()(0.0))


def make_janak_residual(delta: np.ndarray, e_tot: np.ndarray, eps: np.ndarray) -> float:
    """max |dE/dδ − ε(δ)| over interior points; theory (3.1).  NaN without interior points."""
    if delta.size < 3:
        return float("nan")
    return max(abs(make_fd_derivative(delta, e_tot, k) - eps[k]) for k in range(1, delta.size - 1))


# -- the scan -------------------------------------------------------------------------------
def make_extrapolated_dm(history, delta: float) -> np.ndarray:
    """Polynomial (Lagrange) extrapolation of D(δ) through the given (δ_k, D_k) pairs.

    A guess density for the next scan point; it only shortens the SCF, the
    converged point does not depend on it.
    """
    xs = [x for x, _ in history]
    out = np.zeros_like(history[0][1])
    for k, (xk, dk) in enumerate(history):
        w = np.prod([(delta - xj) / (xk - xj) for j, xj in enumerate(xs) if j != k])
        out += w * dk
    return out


def make_predicted_dm(history, slope: np.ndarray, delta: float) -> np.ndarray:
    """D(δ) predicted from the first point's density D_0 and relaxed response dD/dδ at δ_0, theory §6.7.

    One point: D_0 + t dD/dδ (first order, t = δ − δ_0).  Two points: the quadratic through D_0 and D_1 with that
    slope at δ_0 (Hermite).  From three points on the quadratic history (:func:`make_extrapolated_dm`) is used.
    """
    (d0, dm0), t = history[0], delta - history[0][0]
    if len(history) == 1:
        return dm0 + t * slope
    if len(history) == 2:
        d1, dm1 = history[1]
        t1 = d1 - d0
        return dm0 + t * slope + (t / t1) ** 2 * (dm1 - dm0 - t1 * slope)
    return make_extrapolated_dm(history[-3:], delta)


def make_response_slope(mol, state: ScfResult, spin: int, p: int) -> tuple:
    """dD/dδ at ``state`` for a change of orbital p's occupation in ``spin``: the relaxed density response of the
    engine (theory (6.3)) to dP = |φ_p⟩⟨φ_p|.  Returns (slope (2, nao, nao), kernel calls)."""
    from ..response import OccupationResponse, make_orbital_dms

    engine = OccupationResponse(mol, state)
    res = engine.solve(make_orbital_dms(np.asarray(state.mo_coeff), [(spin, p)]))
    return res.dm1[:, 0], engine.calls


def _point(d: float) -> str:
    """The name of the point at δ = d in a study."""
    return f"{float(d):.12g}"


def _walk_scf(mol, method: Method, start: ScfResult, spin: int, p: int, order, s1e, study, callback, verbose,
              predictor: str = "history"):
    """Converge each δ of ``order`` (starting next to the I end), each from its neighbour; theory §2.4.

    A point that did not converge or lost its target is kept (and flagged) but not walked from: the next point
    starts from, tracks and extrapolates through the last good one, so one collapse does not carry the rest of
    the scan onto another state.  Points the study holds already are taken as they are.
    """
    results = {}
    prev, p_prev = start, p
    start_delta = start.mo_occ[spin, p]
    history = [(start_delta, make_spin_dms(start.mo_coeff, start.mo_occ))]  # (δ, D) of good points
    slope = None
    for d in order:
        if np.isclose(d, start_delta, rtol=0, atol=1e-14):
            results[d] = (start, p)
            continue
        r = study.get(_point(d))
        fresh = r is None
        if fresh:
            occ = np.array(prev.mo_occ, copy=True)
            occ[spin, p_prev] = d
            if predictor == "response" and len(history) < 3:  # history[0] is always I
                if slope is None:
                    slope = make_response_slope(mol, start, spin, p)[0]
                dm0 = make_predicted_dm(history, slope, d)
            else:
                dm0 = make_extrapolated_dm(history[-3:], d) if len(history) >= 2 else None
            r = study.put(_point(d), run_state(mol, method=method, state=Occupation.from_occ(occ), ground=prev,
                                               dm0=dm0, verbose=verbose))
        p_new = make_matched_orbital(r.mo_coeff[spin], r.mo_occ[spin], prev.mo_coeff[spin][:, p_prev], s1e, d)
        results[d] = (r, p_new)
        if r.converged and not r.collapsed:
            history.append((d, make_spin_dms(r.mo_coeff, r.mo_occ)))
            prev, p_prev = r, p_new
        if fresh and callback is not None:
            callback(float(d), r)
    return results


def scan_charge(mol, xc: str | None = None, state="ground", channel="add:a:LUMO", *, method: Method | None = None,
                deltas=None, points: int = DEFAULT_POINTS, mode: str = "scf", start: ScfResult | None = None,
                ground=None, callback=None, study=None, verbose: int = 0, predictor: str = "history",
                **settings) -> ChargeScan:
    """E(δ) of state I along ``channel``; theory (2.1)–(2.4).

    Parameters
    ----------
    xc, method, **settings
        The method, as for :func:`deltascf.run_state`.  With a correction (``method.correction``, or the older
        ``losc="post"|"scf"``), it is applied at every point (scf mode only), rebuilt from each point's own
        orbitals (theory §5.9); E(δ) and ε(δ) are then the corrected ones and ``e_dfa`` keeps the parent
        functional's energies.
    state : str or Occupation
        State I (ground or ΔSCF spec).
    channel : str or Channel
        ``add:<spin>:<orbital>`` (I → I + e, N → N+1) or ``remove:<spin>:<orbital>`` (I − e → I, N−1 → N);
        the orbital label resolves against I (see :meth:`Channel.resolve`).
    deltas : array_like, optional
        Sorted δ values in [0, 1]; default ``points`` evenly spaced.  The integer ends δ = 0 and 1 are always
        added: they define the line.
    mode : {"scf", "ensemble"}
    start : ScfResult, optional
        Converged state I (computed when omitted, from ``ground`` if given).
    callback : callable, optional
        ``callback(delta, result)`` after each newly converged point of scf mode, state I included (progress
        display); it must not modify ``result``.
    study : str or os.PathLike, optional
        A study file (:mod:`deltascf.study`): every converged point is saved in it as it finishes, and a call
        with the same inputs takes the finished points back and computes only what is missing.
    predictor : {"history", "response"}
        How scf mode guesses each point's density: "history" extrapolates through the last three converged points
        (linear from two, none from one); "response" also solves for the relaxed dD/dδ of state I once and uses it
        for the first two points (theory §6.7).  The guess only shortens each SCF; the converged points are the
        same.

    Returns
    -------
    ChargeScan
    """
    check_mol(mol)
    method = make_method(method, xc, **settings)
    if method.reference in ("roks", "rohf"):
        raise ValueError(f"reference {method.reference}: fractional and neighbour states need uks/uhf (or rks/rhf)")
    if mode not in SCAN_MODES:
        raise ValueError(f"unknown scan mode {mode!r}; choose scf or ensemble")
    if predictor not in PREDICTORS:
        raise ValueError(f"unknown scan predictor {predictor!r}; choose {' or '.join(PREDICTORS)}")
    if method.correction is not None and mode != "scf":
        raise ValueError("a correction along a scan needs mode='scf' (the ensemble route has no orbitals per point)")
    occupation = Occupation.parse(state)
    ch = Channel.parse(channel)
    # the integer ends define the straight line, so they are always points of the scan
    delta = np.union1d(make_deltas(deltas, points), [0.0, 1.0])
    if method.restricted:
        raise ValueError("a fractional electron needs an unrestricted reference (uks or uhf), "
                         f"not {method.reference}")
    if start is None:  # validate the channel on the target pattern before any SCF
        ch.resolve(resolve_on(mol, occupation, False).mo_occ)
    check_correction(mol, method)
    job = {"state": str(occupation), "channel": str(ch), "deltas": delta.tolist(), "mode": mode}
    with open_study(study, mol, method, "scan", job, prefix="scan") as st:
        if st.final is not None:
            return st.final
        return st.finish(_scan(mol, method, occupation, ch, delta, mode, start, ground, st, callback, verbose,
                               predictor))


def _scan(mol, method, occupation, ch, delta, mode, start, ground, study, callback, verbose,
          predictor="history") -> ChargeScan:
    if start is None:
        i_end = 0.0 if ch.kind == "add" else 1.0
        start = study.get(_point(i_end))
        if start is None:
            start = study.put(_point(i_end), run_state(mol, method=method, state=occupation, ground=ground,
                                                       verbose=verbose))
            if callback is not None and mode == "scf":
                callback(i_end, start)
    p = ch.resolve(start.mo_occ)
    s = ch.spin_index
    s1e = mol.intor_symmetric("int1e_ovlp")
    if mode == "scf":
        order = delta if ch.kind == "add" else delta[::-1]
        walked = _walk_scf(mol, method, start, s, p, order, s1e, study, callback, verbose, predictor)
        records = [walked[d][0] for d in delta]
        orbitals = [walked[d][1] for d in delta]
        e_dfa = np.array([r.e_tot for r in records])
        e_tot, eps = e_dfa, np.array([r.mo_energy[s, k] for r, k in zip(records, orbitals)])
        corrections = ()
        if method.correction is not None:
            kind = method.correction.name
            corrections = tuple(study.get(_point(d), kind) or study.put(_point(d), run_correction(
                mol, r, method, verbose, orbitals=[(s, k)])) for d, r, k in zip(delta, records, orbitals))
            e_tot = np.array([c.e_tot for c in corrections])
            eps = np.array([make_corrected_orbital_energy(c, r, s, k, s1e)
                            for c, r, k in zip(corrections, records, orbitals)])
        converged = [r.converged for r in records]
        collapsed = [r.collapsed for r in records]
        overlap = [r.target_overlap.min() for r in records]
        n_fock = [0 if r is start else r.n_fock for r in records]
        n_el = [r.mo_occ.sum() for r in records]
        points_kept = tuple(records)
    else:
        occ = np.array(start.mo_occ, copy=True)
        occ[s, p] = 1.0 if ch.kind == "add" else 0.0
        far = 1.0 if ch.kind == "add" else 0.0
        other = study.get(_point(far)) or study.put(_point(far), run_state(
            mol, method=method, state=Occupation.from_occ(occ), ground=start, verbose=verbose))
        low, high = (start, other) if ch.kind == "add" else (other, start)
        dm_low, dm_high = (make_spin_dms(r.mo_coeff, r.mo_occ) for r in (low, high))
        e_tot, focks = make_ensemble_energies(mol, method.base, dm_low, dm_high, delta, verbose)
        c_p = start.mo_coeff[s][:, p]
        eps = np.array([_ensemble_eps(f[s], s1e, c_p) for f in focks])
        converged = [low.converged and high.converged] * delta.size
        collapsed = [low.collapsed or high.collapsed] * delta.size
        overlap = [min(low.target_overlap.min(), high.target_overlap.min())] * delta.size
        n_fock = [1] * delta.size
        n_el = (1.0 - delta) * low.mo_occ.sum() + delta * high.mo_occ.sum()
        orbitals = [p] * delta.size
        points_kept = (low, high)
        e_dfa, corrections = e_tot, ()
    e_dev = make_line_deviation(delta, e_tot, e_tot[0], e_tot[-1])
    curv = make_curvatures(delta, e_tot, e_dev, eps[0], eps[-1])
    return ChargeScan(
        state=str(occupation), channel=str(ch), mode=mode, spin=s, orbital=p, delta=delta,
        n_electrons=np.asarray(n_el, dtype=float), e_tot=e_tot, eps=eps, converged=converged, collapsed=collapsed,
        target_overlap=overlap, n_fock=n_fock, orbitals=orbitals, e_dev=e_dev,
        max_abs_deviation=float(np.max(np.abs(e_dev))),
        deviation_half=curv["deviation_half"], curvature_fit=curv["curvature_fit"],
        curvature_janak=curv["curvature_janak"], curvature_half=curv["curvature_half"],
        slope=float(e_tot[-1] - e_tot[0]), eps_low=float(eps[0]), eps_high=float(eps[-1]),
        janak_residual=make_janak_residual(delta, e_tot, eps) if mode == "scf" else float("nan"),
        method=method, points=points_kept, e_dfa=e_dfa, corrections=corrections,
        degenerate=make_channel_degeneracy(start.mo_energy, start.mo_occ, s, p), provenance=make_provenance(mol),
    )


def _ensemble_eps(fock: np.ndarray, s1e: np.ndarray, c_p: np.ndarray) -> float:
    """Eigenvalue of F[D(δ)] whose eigenvector overlaps most with the channel orbital."""
    from scipy.linalg import eigh

    e, c = eigh(fock, s1e)
    return float(e[np.argmax(np.abs(c.T @ s1e @ c_p))])

"""Restricted open-shell states: the high-spin ROKS ground state and the ROKS open-shell singlet; theory §1.10.

One set of spatial orbitals C serves every determinant.  The high-spin ground state (``mol.spin`` > 0) is
PySCF's own ROKS/ROHF.  The open-shell singlet of one excitation i → a of a closed-shell molecule is excited-
state ROKS [Kowalczyk2013]: with the core doubly occupied and i, a singly occupied,

    E_S[C] = 2 E[M] − E[T],   M = |core i↓ a↑| (one open orbital in α, one in β),   T = |core i↑ a↑|     (1.11)

both determinants evaluated with the unrestricted functional on the same orbitals, and C made stationary in
every rotation that changes either determinant.  PySCF's ROKS cannot make M: it puts every singly occupied
orbital in α, so its "mixed" state is T.

The orbitals are optimized directly on the rotations C ← C exp(K): by default with L-BFGS steps (the reference
reset to the current orbitals at every step, a backtracking line search on E_S), which find minima; with
``solver="newton"`` by Newton–Krylov steps with finite-difference Hessian products, which converge to the
nearest stationary point, minimum or saddle, in a few steps.  The gradient of
one determinant with occupations n_σ is g_pq = 2 Σ_σ (Cᵀ F_σ C)_pq (n_qσ − n_pσ); E_S's is 2 g[M] − g[T].
Records use the unrestricted layout with equal α and β orbitals.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy.linalg import expm

from ..records import Method, ScfResult, make_provenance
from ..spin import make_spin_dms, nelec_of
from ..tracking import (make_collapse_reasons, make_orbital_populations, make_spin_square,
                        make_target_similarity)
from .build import make_mf, shared_eri

__all__ = ["run_roks_ground", "run_roks_singlet", "make_roks_energy", "minimize_roks", "newton_roks", "ROKS_MAX_STEP", "ROKS_MEMORY"]

#: largest rotation (rad) of one step
ROKS_MAX_STEP = 0.3
#: L-BFGS history length
ROKS_MEMORY = 10
#: L-BFGS steps allowed per SCF cycle of the method (``max_cycle``): a first-order method needs more steps than
#: DIIS; the formaldehyde singlet takes 57-66 from the ground orbitals and up to about 150 after a large
#: optimizer step
ROKS_CYCLES_PER_SCF_CYCLE = 4


def _layout(c, occ_alpha, occ_beta):
    return np.array([c, c]), np.array([occ_alpha, occ_beta], dtype=float)


def make_roks_energy(mf_u, c, dets, h1e=None):
    """Σ_k w_k E[D_k] and its gradient over the rotation pairs, for determinants ``dets`` [(w_k, n_α, n_β)] on the
    one set of orbitals ``c``; theory (1.11).  Returns (energy, gradient matrix G (nmo, nmo), antisymmetric with
    G_pq = dE/dK_pq for p < q, per-determinant energies, per-determinant Fock matrices (2, nao, nao))."""
    if h1e is None:
        h1e = mf_u.get_hcore()
    nmo = c.shape[1]
    e_tot, grad, energies, focks = 0.0, np.zeros((nmo, nmo)), [], []
    for w, na, nb in dets:
        cc, nn = _layout(c, na, nb)
        dm = make_spin_dms(cc, nn)
        vhf = mf_u.get_veff(mf_u.mol, dm)
        e = float(mf_u.energy_tot(dm, h1e, vhf))
        fock = h1e[None] + vhf
        for s, n in enumerate((na, nb)):
            f_mo = c.T @ fock[s] @ c
            grad += w * 2.0 * f_mo * (n[None, :] - n[:, None])  # (p, q): F_pq (n_q − n_p)
        e_tot += w * e
        energies.append(e)
        focks.append(fock)
    return e_tot, grad, energies, focks


def _pairs(dets):
    """Upper-triangle pairs (p, q) whose rotation changes some determinant."""
    nmo = dets[0][1].size
    changes = np.zeros((nmo, nmo), bool)
    for _, na, nb in dets:
        for n in (na, nb):
            changes |= np.abs(n[:, None] - n[None, :]) > 1e-12
    return np.nonzero(np.triu(changes, 1))


def _rotate(c, pairs, kappa):
    k = np.zeros((c.shape[1],) * 2)
    k[pairs] = kappa
    return c @ expm(k - k.T)


def _start(mf_u, c0, dets, conv_tol: float, conv_tol_grad: float | None):
    """What both optimizers start from: the gradient tolerance (default √conv_tol), h, the rotation pairs, the
    orbitals, and E, g over the pairs and the determinants' Fock matrices at ``c0``."""
    h1e = mf_u.get_hcore()
    pairs = _pairs(dets)
    c = np.array(c0, dtype=float)
    e, gmat, _, focks = make_roks_energy(mf_u, c, dets, h1e)
    tol = float(np.sqrt(conv_tol)) if conv_tol_grad is None else conv_tol_grad
    return tol, h1e, pairs, c, e, gmat[pairs], focks


def minimize_roks(mf_u, c0, dets, *, conv_tol: float, conv_tol_grad: float | None = None, max_cycle: int = 200):
    """L-BFGS on the rotations of ``c0`` for Σ w_k E[D_k]; returns (c, energy, max|g|, converged, cycles,
    energy evaluations)."""
    conv_tol_grad, h1e, pairs, c, e, g, _ = _start(mf_u, c0, dets, conv_tol, conv_tol_grad)
    n_eval, hist, e_prev, converged, cycle = 1, [], np.inf, False, 0
    for cycle in range(1, max_cycle + 1):
        if np.abs(g).max(initial=0.0) < conv_tol_grad and abs(e - e_prev) < conv_tol:
            converged, cycle = True, cycle - 1
            break
        d = _two_loop(g, hist)
        if d @ g >= 0:  # not a descent direction: restart from steepest descent
            hist, d = [], -g
        biggest = np.abs(d).max()
        if biggest > ROKS_MAX_STEP:
            d *= ROKS_MAX_STEP / biggest
        step = 1.0
        for _ in range(8):  # backtracking (Armijo)
            c_new = _rotate(c, pairs, step * d)
            e_new, gmat_new, _, _ = make_roks_energy(mf_u, c_new, dets, h1e)
            n_eval += 1
            if e_new <= e + 1e-4 * step * (d @ g) + 1e-13 * abs(e):  # round-off slack near convergence
                break
            step /= 2
        g_new = gmat_new[pairs]
        s_vec, y_vec = step * d, g_new - g
        if s_vec @ y_vec > 1e-12:
            hist = (hist + [(s_vec, y_vec)])[-ROKS_MEMORY:]
        c, e_prev, e, g = c_new, e, e_new, g_new
    else:
        converged = np.abs(g).max(initial=0.0) < conv_tol_grad and abs(e - e_prev) < conv_tol
    return c, e, float(np.abs(g).max(initial=0.0)), bool(converged), cycle, n_eval


#: rotation step (rad) of the central differences that give Hessian-vector products in :func:`newton_roks`
ROKS_FD_STEP = 1e-4


def _roks_diagonal(c, dets, focks):
    """Approximate Hessian diagonal over the pairs: Σ_k w_k Σ_σ 2 (n_p − n_q)(F_qq − F_pp), the orbital-energy
    part of the Hessian of each determinant (indefinite for an excited state)."""
    pairs = _pairs(dets)
    out = np.zeros(len(pairs[0]))
    for (w, na, nb), fock in zip(dets, focks):
        for s, n in enumerate((na, nb)):
            e = np.einsum("mi,mn,ni->i", c, fock[s], c)
            p, q = pairs
            out += w * 2.0 * (n[p] - n[q]) * (e[q] - e[p])
    return out


def newton_roks(mf_u, c0, dets, *, conv_tol: float, conv_tol_grad: float | None = None, max_cycle: int = 50):
    """Newton–Krylov for a stationary point (minimum or saddle) of Σ w_k E[D_k] on one set of orbitals; theory
    §1.10.  The Hessian-vector products are central differences of the analytic gradient along each Krylov
    vector (step ``ROKS_FD_STEP`` rad), the system is solved by the minimal-residual Krylov solver, and steps are
    accepted when they lower |g| (halved otherwise), as in :mod:`deltascf.scf.newton`.  Returns (c, energy,
    max|g|, converged, cycles, energy-and-gradient evaluations)."""
    from ..response import solve_krylov

    conv_tol_grad, h1e, pairs, c, e, g, focks = _start(mf_u, c0, dets, conv_tol, conv_tol_grad)
    n_eval, e_prev, converged, cycle = 1, np.inf, False, 0
    for cycle in range(1, max_cycle + 1):
        if np.abs(g).max(initial=0.0) < conv_tol_grad and abs(e - e_prev) < conv_tol:
            converged, cycle = True, cycle - 1
            break
        c_here = c

        def aop(xs, c_here=c_here):
            nonlocal n_eval
            out = []
            for x in xs:
                plus = make_roks_energy(mf_u, _rotate(c_here, pairs, ROKS_FD_STEP * x), dets, h1e)[1][pairs]
                minus = make_roks_energy(mf_u, _rotate(c_here, pairs, -ROKS_FD_STEP * x), dets, h1e)[1][pairs]
                n_eval += 2
                out.append((plus - minus) / (2 * ROKS_FD_STEP))
            return np.array(out)

        diag = _roks_diagonal(c, dets, focks)
        safe = np.where(np.abs(diag) < 0.05, np.copysign(0.05, diag), diag)
        x = solve_krylov(aop, -g[None, :], lambda r: r / safe, min(0.1, max(np.linalg.norm(g), 1e-4)), 30).x[0]
        biggest = np.abs(x).max()
        if biggest > ROKS_MAX_STEP:
            x *= ROKS_MAX_STEP / biggest
        norm = np.linalg.norm(g)
        for _ in range(5):
            c_new = _rotate(c, pairs, x)
            e_new, gmat_new, _, focks_new = make_roks_energy(mf_u, c_new, dets, h1e)
            n_eval += 1
            if np.linalg.norm(gmat_new[pairs]) < norm:
                break
            x = x / 2
        c, e_prev, e, g, focks = c_new, e, e_new, gmat_new[pairs], focks_new
    else:
        converged = np.abs(g).max(initial=0.0) < conv_tol_grad and abs(e - e_prev) < conv_tol
    return c, e, float(np.abs(g).max(initial=0.0)), bool(converged), cycle, n_eval


def _two_loop(g, hist):
    """−H g of L-BFGS (Nocedal & Wright, algorithm 7.4); H₀ = (sᵀy / yᵀy) I, or a 0.1 rad first step."""
    if not hist:
        return -g * (0.1 / max(np.abs(g).max(), 1e-12))
    q, alphas = g.copy(), []
    for s, y in reversed(hist):
        a = (s @ q) / (y @ s)
        alphas.append(a)
        q -= a * y
    s, y = hist[-1]
    r = q * (s @ y) / (y @ y)
    for (s, y), a in zip(hist, reversed(alphas)):
        b = (y @ r) / (y @ s)
        r += s * (a - b)
    return -r


def _roks_mf(mol, method: Method):
    """The unrestricted mean-field object that evaluates each determinant (its grid, its integrals)."""
    twin = dataclasses.replace(method, reference="uhf" if method.is_hf else "uks", correction=None)
    return make_mf(mol, twin, eri=shared_eri(mol, twin))


def _record(mol, method, c, occ, mo_energy, e_tot, converged, cycles, max_grad, n_fock, spec, resolved, c_ref,
            target, s1e) -> ScfResult:
    cc, nn = _layout(c, occ[0], occ[1])
    dm = make_spin_dms(cc, nn)
    c_ref_u = np.array([c_ref, c_ref])
    overlap, to_aufbau = make_target_similarity(dm, c_ref_u, target, s1e)
    reasons = make_collapse_reasons(overlap, to_aufbau, target, mo_energy, nn, e_tot, nelec_of(nn),
                                    populations=make_orbital_populations(dm, c_ref_u, target, s1e))
    return ScfResult(e_tot=e_tot, mo_energy=mo_energy, mo_occ=nn, mo_coeff=cc, nelec=nelec_of(nn),
                     converged=converged, cycles=cycles, s2=make_spin_square(dm, s1e), spec=spec, resolved=resolved,
                     target_occ=target, target_overlap=overlap, max_grad=max_grad, collapsed=bool(reasons),
                     method=method, n_fock=n_fock, provenance=make_provenance(mol),
                     collapse_reason="; ".join(reasons))


def run_roks_ground(mol, method: Method, verbose: int = 0) -> ScfResult:
    """PySCF's ROKS/ROHF ground state (high spin for ``mol.spin`` > 0), in the unrestricted layout."""
    from pyscf import dft, scf

    if method.is_hf:
        mf = scf.rohf.ROHF(mol)
    else:
        mf = dft.ROKS(mol)
        mf.xc = method.xc
        if method.grid_level is not None:
            mf.grids.level = int(method.grid_level)
    if method.density_fit:
        mf = mf.density_fit(auxbasis=method.density_fit)
    mf.verbose, mf.chkfile, mf.conv_tol, mf.max_cycle = verbose, None, method.conv_tol, int(method.max_cycle)
    if method.conv_tol_grad is not None:
        mf.conv_tol_grad = method.conv_tol_grad
    mf.kernel()
    occ = np.asarray(mf.mo_occ)
    na, nb = (occ > 0).astype(float), (occ > 1).astype(float)
    c = np.asarray(mf.mo_coeff)
    e = np.asarray(mf.mo_energy)
    s1e = mol.intor_symmetric("int1e_ovlp")
    target = np.array([na, nb])
    return _record(mol, method, c, (na, nb), np.array([e, e]), float(mf.e_tot), mf.converged,
                   getattr(mf, "cycles", -1), 0.0, -1, "ground", "ground", c, target, s1e)


def run_roks_singlet(mol, method: Method, ground: ScfResult, i: int, a: int, spec: str,
                     verbose: int = 0) -> ScfResult:
    """The ROKS open-shell singlet of i → a (0-based) from a closed-shell ground state; theory (1.11).

    ``e_tot`` is E_S; ``mo_occ`` is the mixed determinant M (i in β, a in α), whose ⟨S²⟩ is 1.
    """
    c0 = np.array(ground.mo_coeff, dtype=float)
    c0 = c0[0] if c0.ndim == 3 else c0  # a record, or the previous step's orbitals of an optimization
    nocc = mol.nelec[0]  # a closed shell: the core and i are its lowest nocc orbitals
    core = np.zeros(c0.shape[1])
    core[:nocc] = 1.0
    core[i] = 0.0
    m_a, m_b = core.copy(), core.copy()
    m_a[a], m_b[i] = 1.0, 1.0  # M: a in α, i in β
    t_a, t_b = core.copy(), core.copy()
    t_a[a] = t_a[i] = 1.0  # T: both in α
    dets = [(2.0, m_a, m_b), (-1.0, t_a, t_b)]
    mf_u = _roks_mf(mol, method)
    if method.solver == "newton":  # a stationary point of any kind, quadratically
        c, e_s, max_grad, converged, cycles, n_eval = newton_roks(
            mf_u, c0, dets, conv_tol=method.conv_tol, conv_tol_grad=method.conv_tol_grad, max_cycle=method.max_cycle)
    else:
        c, e_s, max_grad, converged, cycles, n_eval = minimize_roks(
            mf_u, c0, dets, conv_tol=method.conv_tol, conv_tol_grad=method.conv_tol_grad,
            max_cycle=ROKS_CYCLES_PER_SCF_CYCLE * int(method.max_cycle))
    _, _, (e_m, e_t), (f_m, _) = make_roks_energy(mf_u, c, dets)
    mo_energy = np.array([np.einsum("mi,mn,ni->i", c, f_m[s], c) for s in range(2)])
    s1e = mol.intor_symmetric("int1e_ovlp")
    target = np.array([m_a, m_b])
    resolved = f"roks singlet {i}->{a} (E_M = {e_m:.10f}, E_T = {e_t:.10f})"
    return _record(mol, method, c, (m_a, m_b), mo_energy, e_s, converged, cycles, max_grad, 2 * (n_eval + 1), spec,
                   resolved, c0, target, s1e)

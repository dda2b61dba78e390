"""Linear response of a converged state to changes of its occupations; theory §6.2-§6.4.

A state of any occupations (ground, ΔSCF, fractional; UKS, UHF, RKS, RHF) is stationary under rotations
between every pair of orbitals of different occupation, (1.3).  Perturbing it by a density dP (a change of
canonical occupations, or of an orbitalet's) relaxes the orbitals by those rotations.  The relaxed response
solves one symmetric, possibly indefinite, linear system per perturbation, (6.3); the relaxed Hxc kernel
between perturbations follows from it, (6.4), and for canonical orbitals it is the matrix of second
derivatives d²E/dn_p dn_q = dε_p/dn_q.

Pure functions on arrays do the algebra (pairs, the Krylov solver); :class:`OccupationResponse` is the one
thin wrapper of PySCF's response kernel (``mf.gen_response``: J, exact exchange and f_xc on the state's own
grid).  A restricted state is handled in the unrestricted layout, where one spin can be perturbed alone.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .occupations import OCC_TOL
from .records import ScfResult
from .spin import to_host, to_unrestricted

__all__ = ["OccupationResponse", "ResponseResult", "KrylovResult", "make_pairs", "make_pair_diagonal",
           "pairs_to_dms", "dms_to_pairs", "solve_krylov", "make_orbital_dms", "make_orbital_vectors",
           "make_rank_one_dms", "make_kappa_uncertainty",
           "RESPONSE_TOL", "HESSIAN_FLOOR", "KAPPA_UNCERTAIN", "KAPPA_GRID_TOL"]

#: relative residual ‖A x − b‖/‖b‖ at which the response equations (6.3) count as solved.  κ from the stationary
#: form of (6.4) has an error second order in the residual: against a solve to 1e-8, κ moves by at most 3e-7 Eh
#: (8e-6 eV; water, benzene; ground and ΔSCF states) at 1e-3, and by up to 7e-6 Eh at 1e-2 (theory §6.2)
RESPONSE_TOL = 1e-3
#: Krylov iterations at most (each applies the kernel to every unconverged right-hand side once)
RESPONSE_MAX_CYCLE = 60
#: pair-diagonal entries closer to zero than this (Eh) are floored in the preconditioner only
PRECOND_FLOOR = 1e-2
#: smallest uncertainty (Eh) assumed for an eigenvalue of the orbital Hessian, in (6.5): the grid breaks
#: symmetries, so modes that symmetry makes exactly zero come out at 6e-6 to 6e-5 Eh (water-size molecules,
#: grid levels 3 and 5); modes below it are zero modes, dropped from the response
HESSIAN_FLOOR = 1e-5
#: a relaxed curvature whose estimated uncertainty (6.5) exceeds this (Eh) is near-singular: not returned
KAPPA_UNCERTAIN = 1e-4
#: a perturbation whose ⟨ρ|f_xc|ρ⟩ moves by more than this (Eh) from the state's grid to one two levels finer has
#: no converged curvature (theory §6.4)
KAPPA_GRID_TOL = 1e-3


# -- pairs of different occupation (theory (6.3)) --------------------------------------------------------------
def make_pairs(mo_occ: np.ndarray, occ_tol: float = OCC_TOL) -> tuple:
    """Per spin, the pairs (r, p) with n_p − n_r > ``occ_tol`` (p the more occupied): index arrays (r, p).

    ``mo_occ`` has the unrestricted layout (2, nmo).  Every pair of different occupation is a rotation the
    state is stationary under, including those between fractional levels and inside a non-aufbau pattern.
    """
    out = []
    for n in mo_occ:
        r, p = np.nonzero(n[None, :] - n[:, None] > occ_tol)
        out.append((r, p))
    return tuple(out)


def make_pair_diagonal(mo_energy: np.ndarray, mo_occ: np.ndarray, pairs: tuple) -> np.ndarray:
    """d_rp = (ε_r − ε_p)/(n_p − n_r) for every pair, spins concatenated; theory (6.3).

    Negative entries (a less occupied orbital below a more occupied one: a non-aufbau state) make the
    system indefinite; entries near zero (degenerate orbitals of different occupation) make it near-singular.
    """
    parts = [(e[r] - e[p]) / (n[p] - n[r]) for e, n, (r, p) in zip(mo_energy, mo_occ, pairs)]
    return np.concatenate(parts)


def pairs_to_dms(mo_coeff: np.ndarray, pairs: tuple, x: np.ndarray) -> np.ndarray:
    """AO densities Σ_rp x_rp (|r⟩⟨p| + |p⟩⟨r|) per spin: x (k, npair) -> (2, k, nao, nao); theory (6.3)."""
    k = x.shape[0]
    nao, nmo = mo_coeff[0].shape
    out = np.zeros((2, k, nao, nao))
    off = 0
    for s, (r, p) in enumerate(pairs):
        m = len(r)
        if m:
            xm = np.zeros((k, nmo, nmo))
            xm[:, r, p] = x[:, off:off + m]
            xm += xm.transpose(0, 2, 1)
            c = mo_coeff[s]
            out[s] = np.einsum("mi,kij,nj->kmn", c, xm, c, optimize=True)
        off += m
    return out


def dms_to_pairs(mo_coeff: np.ndarray, pairs: tuple, v: np.ndarray) -> np.ndarray:
    """The pair elements (C_σᵀ v_σ C_σ)_rp of AO matrices v (2, k, nao, nao) -> (k, npair)."""
    parts = []
    for s, (r, p) in enumerate(pairs):
        c = mo_coeff[s]
        vmo = np.einsum("mi,kmn,nj->kij", c, v[s], c, optimize=True)
        parts.append(vmo[:, r, p])
    return np.concatenate(parts, axis=1)


def make_orbital_vectors(mo_coeff: np.ndarray, orbitals) -> list:
    """[(σ, φ (nao,)), ...] of canonical ``orbitals`` [(σ, p), ...]: the form rank-one perturbations take here."""
    return [(int(s), mo_coeff[s][:, p]) for s, p in orbitals]


def make_rank_one_dms(vectors, nao: int) -> np.ndarray:
    """Perturbation densities |φ⟩⟨φ| of spin σ for ``vectors`` [(σ, φ), ...] -> (2, m, nao, nao): the change of the
    occupation of φ by one (a canonical orbital, or an orbitalet, theory (6.6))."""
    out = np.zeros((2, len(vectors), nao, nao))
    for i, (s, v) in enumerate(vectors):
        out[s, i] = np.outer(v, v)
    return out


def make_orbital_dms(mo_coeff: np.ndarray, orbitals) -> np.ndarray:
    """Perturbation densities |p⟩⟨p| of spin σ for ``orbitals`` [(σ, p), ...] -> (2, m, nao, nao); a change
    of canonical occupation n_pσ by one."""
    return make_rank_one_dms(make_orbital_vectors(mo_coeff, orbitals), mo_coeff[0].shape[0])


# -- the solver ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KrylovResult:
    """Solutions ``x`` (m, n) of A x = b, ``ax`` = A x, per right-hand side the relative residual and whether it
    reached the tolerance, the iterations and kernel applications used, and the Ritz pairs of A on the
    subspace (``ritz`` (k,), ``ritz_vectors`` (k, n), orthonormal, and ``ritz_avectors`` = A·ritz_vectors)."""

    x: np.ndarray
    ax: np.ndarray
    residual: np.ndarray
    converged: np.ndarray
    iterations: int
    applications: int
    ritz: np.ndarray
    ritz_vectors: np.ndarray
    ritz_avectors: np.ndarray


def solve_krylov(aop, b: np.ndarray, precond, tol: float = RESPONSE_TOL,
                 max_cycle: int = RESPONSE_MAX_CYCLE) -> KrylovResult:
    """Minimal-residual solution of A x = b for a symmetric, possibly indefinite A, batched over the rows of b.

    One subspace serves every right-hand side; each iteration adds the preconditioned residuals of the
    unconverged ones, orthonormalized, and applies ``aop`` (rows -> rows of A·) to them in one call.  Each x
    minimizes ‖A x − b‖ over the subspace (a block GMRES/MINRES), so an indefinite A cannot break it down.
    ``precond`` maps residual rows to search directions.
    """
    b = np.atleast_2d(np.asarray(b, dtype=float))
    m, n = b.shape
    bnorm = np.linalg.norm(b, axis=1)
    x, ax, r = np.zeros_like(b), np.zeros_like(b), b.copy()
    basis, abasis = np.zeros((0, n)), np.zeros((0, n))
    residual = np.where(bnorm > 0, 1.0, 0.0)
    applications = iterations = 0
    for iterations in range(1, max_cycle + 1):
        active = residual > tol
        if not active.any():
            iterations -= 1
            break
        new = _orthonormal(np.atleast_2d(precond(r[active])), basis)
        if new.shape[0] == 0:
            break
        anew = aop(new)
        applications += new.shape[0]
        basis, abasis = np.vstack([basis, new]), np.vstack([abasis, anew])
        y = np.linalg.lstsq(abasis.T, b.T, rcond=None)[0]  # (k, m)
        x, ax = y.T @ basis, y.T @ abasis
        r = b - ax
        residual = np.where(bnorm > 0, np.linalg.norm(r, axis=1) / np.where(bnorm > 0, bnorm, 1.0), 0.0)
    h = basis @ abasis.T
    theta, z = np.linalg.eigh((h + h.T) / 2) if basis.shape[0] else (np.zeros(0), np.zeros((0, 0)))
    return KrylovResult(x=x, ax=ax, residual=residual, converged=residual <= tol, iterations=iterations,
                        applications=applications, ritz=theta, ritz_vectors=z.T @ basis, ritz_avectors=z.T @ abasis)


def _orthonormal(new: np.ndarray, basis: np.ndarray, drop: float = 1e-10) -> np.ndarray:
    """Rows of ``new`` made orthonormal to ``basis`` and to each other (Gram-Schmidt twice); near-dependent rows
    are dropped."""
    kept = []
    for v in new:
        norm0 = np.linalg.norm(v)
        if norm0 == 0:
            continue
        for _ in range(2):
            if basis.shape[0]:
                v = v - basis.T @ (basis @ v)
            for u in kept:
                v = v - u * (u @ v)
        norm = np.linalg.norm(v)
        if norm > drop * norm0:
            kept.append(v / norm)
    return np.array(kept) if kept else np.zeros((0, new.shape[1]))


def make_kappa_uncertainty(b: np.ndarray, ritz: np.ndarray, ritz_vectors: np.ndarray, sigma: float) -> tuple:
    """(6.5): for each right-hand side b_j, max over Ritz pairs (θ, u) of 2 (u·b_j)²/|θ| · min(1, σ/|θ|): the
    change of κ_jj = κ⁰_jj − 2 Σ (u·b_j)²/θ when θ moves by σ, or the whole term when |θ| ≤ σ (a mode that
    cannot be told from zero); returns (estimates (m,), index of the worst pair (m,))."""
    m = b.shape[0]
    if not ritz.size:
        return np.zeros(m), np.zeros(m, dtype=int)
    size = np.maximum(np.abs(ritz), 1e-300)
    est = 2.0 * (b @ ritz_vectors.T) ** 2 / size * np.minimum(1.0, sigma / size)
    worst = np.argmax(est, axis=1)
    return est[np.arange(m), worst], worst


# -- the response of one state ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResponseResult:
    """The relaxed response to m perturbation densities; theory (6.3)-(6.5).

    ``kappa`` (m, m) is the relaxed Hxc kernel between the perturbations and ``kappa_frozen`` the unrelaxed
    one (orbitals held fixed); for canonical orbitals these are d²E/dn_p dn_q with and without orbital
    relaxation.  ``kappa_error`` (m,) is the uncertainty estimate (6.5) of each diagonal entry; ``near_singular``
    marks those above :data:`KAPPA_UNCERTAIN`, with ``singular_pair`` naming the pair (spin, r, p) that
    dominates the offending Hessian direction (or None).  ``x`` (m, npair) are the rotation amplitudes and
    ``dm1`` (2, m, nao, nao) the relaxed density responses dP + Σ x (|r⟩⟨p| + |p⟩⟨r|).  ``converged``,
    ``residual`` and ``iterations`` describe the solve; ``applications`` and ``calls`` count the densities passed
    through the kernel and the calls (each about one Fock build), ``min_ritz`` is the smallest |Ritz value| of
    the Hessian met (Eh).
    """

    kappa: np.ndarray
    kappa_frozen: np.ndarray
    kappa_error: np.ndarray
    near_singular: np.ndarray
    singular_pair: tuple
    x: np.ndarray
    dm1: np.ndarray
    converged: np.ndarray
    residual: np.ndarray
    iterations: int
    applications: int
    calls: int
    min_ritz: float


class OccupationResponse:
    """The response kernel of one converged state, in the unrestricted layout; theory §6.2.

    Built from the state's own method (functional, grid, density fitting), orbitals and occupations; the
    exchange-correlation kernel is evaluated at the state's density, fractional or non-aufbau.  A restricted
    state gets an unrestricted twin on the restricted grid, so that one spin can be perturbed alone.  For a state
    converged on the GPU (``method.device == "gpu"``) the kernel is applied by gpu4pyscf's response function on
    the device, to all densities of a call at once; the Krylov algebra on pair vectors and the grid check stay
    on the host (design §17).
    ``applications`` counts the densities passed through the kernel so far and ``calls`` the calls; a call costs
    about one Fock build whatever its number of densities, for a functional with a grid part (theory §6.5).
    """

    def __init__(self, mol, state: ScfResult, eri=None):
        from .scf.build import make_mf, shared_eri

        device = state.method.device
        # the host object holds the grid and serves the grid check; the kernel runs where the state was converged
        method = dataclasses.replace(state.method, correction=None, device="cpu")
        c, n = to_unrestricted(np.asarray(state.mo_coeff), np.asarray(state.mo_occ))
        e = np.asarray(state.mo_energy)
        self.restricted = state.restricted
        self.mo_coeff, self.mo_occ = np.asarray(c), np.asarray(n)
        self.mo_energy = np.stack([e, e]) if state.restricted else e
        self.max_grad = float(state.max_grad)
        if eri is None:
            eri = shared_eri(mol, method)
        grids = None
        if state.restricted:
            if not method.is_hf:
                grids = make_mf(mol, method, eri=eri).grids  # the grid the restricted state was converged on
            method = dataclasses.replace(method, reference="uhf" if method.is_hf else "uks")
        self.mol = mol
        self._mf = make_mf(mol, method, eri=eri, grids=grids)
        kernel_mf, self._xp = self._mf, np
        if device == "gpu":
            from .gpu import get_namespace
            from .gpu.build import to_device

            self._xp = get_namespace(device)  # refuses, with one line, a GPU that is not there
            kernel_mf = to_device(self._mf)
        xp = self._xp
        self._vind = kernel_mf.gen_response(mo_coeff=xp.asarray(self.mo_coeff), mo_occ=xp.asarray(self.mo_occ),
                                            hermi=1)
        self.pairs = make_pairs(self.mo_occ)
        self.diag = make_pair_diagonal(self.mo_energy, self.mo_occ, self.pairs)
        self.applications = 0
        self.calls = 0

    @property
    def grid_level(self) -> int | None:
        """The level of the state's grid; None for HF (no grid)."""
        return int(self._mf.grids.level) if hasattr(self._mf, "xc") else None

    @property
    def sigma(self) -> float:
        """σ of (6.5): how well a Hessian eigenvalue is known (Eh), the state's max orbital gradient floored at
        HESSIAN_FLOOR; Ritz values below it are zero modes."""
        return max(self.max_grad, HESSIAN_FLOOR)

    @property
    def npair(self) -> int:
        """The number of orbital-rotation pairs of different occupation (the size of the response equations)."""
        return int(self.diag.size)

    def apply_kernel(self, dms: np.ndarray) -> np.ndarray:
        """Hxc response potentials (2, k, nao, nao) of symmetric densities (2, k, nao, nao)."""
        k = dms.shape[1]
        if k == 0:
            return np.zeros_like(dms)
        self.applications += k
        self.calls += 1
        v = to_host(self._vind(self._xp.asarray(dms)))  # one copy each way per call, for all k densities
        return v.reshape(dms.shape)

    def xc_kernel_diagonal(self, orbitals, level: int | None = None) -> np.ndarray:
        """⟨ρ_i|f_xc|ρ_i⟩ for rank-one perturbations dP_i = |φ_i⟩⟨φ_i| of spin σ_i, ``orbitals`` [(σ_i, φ_i (nao,)),
        ...], on the state's own grid or on a grid of ``level``: the xc part of κ⁰ (6.4), for the grid check of
        theory §6.4.  Zero for HF.

        The perturbation density of an orbital is ρ_i = φ_i², with ∇ρ_i = 2φ_i∇φ_i and τ_i = ½|∇φ_i|², so the
        integral needs φ_i and ∇φ_i on the grid only (one AO product per orbital, not one per AO pair), contracted
        with the kernel f_xc of PySCF's ``cache_xc_kernel`` at the state's density."""
        from pyscf import dft

        mf = self._mf
        m = len(orbitals)
        if not hasattr(mf, "xc") or m == 0:
            return np.zeros(m)
        grids = mf.grids
        if level is not None:
            grids = dft.gen_grid.Grids(self.mol)
            grids.level = int(level)
            grids.build(with_non0tab=True)
        ni = mf._numint
        xctype = ni._xc_type(mf.xc)
        fxc = ni.cache_xc_kernel(self.mol, grids, mf.xc, self.mo_coeff, self.mo_occ, 1)[2]
        fxc = np.asarray(fxc)  # (2, nvar, 2, nvar, ngrid)
        spins = np.array([int(s) for s, _ in orbitals])
        c = np.column_stack([np.asarray(v, dtype=float) for _, v in orbitals])  # (nao, m)
        out = np.zeros(m)
        deriv = 0 if xctype == "LDA" else 1
        p1 = 0
        for ao, _, weight, _ in ni.block_loop(self.mol, grids, self.mol.nao, deriv):
            p0, p1 = p1, p1 + weight.size
            if deriv == 0:
                rho1 = ((ao @ c) ** 2)[None]  # (1, ng, m)
            else:
                phi, dphi = ao[0] @ c, np.einsum("xgm,mi->xgi", ao[1:4], c)
                parts = [phi ** 2, *(2 * phi * d for d in dphi)]
                if xctype == "MGGA":
                    parts.append(0.5 * np.sum(dphi ** 2, axis=0))
                rho1 = np.array(parts)  # (nvar, ng, m)
            f = fxc[spins, :, spins, :, p0:p1]  # (m, nvar, nvar, ng): each orbital's own spin block
            out += np.einsum("agi,iabg,bgi,g->i", rho1, f, rho1, weight, optimize=True)
        return out

    def grid_unstable(self, orbitals, tol: float = KAPPA_GRID_TOL) -> list:
        """[(i, value here, value finer, level, finer level)] for the rank-one perturbations ``orbitals``
        [(σ_i, φ_i), ...] whose ⟨ρ_i|f_xc|ρ_i⟩ moves by more than ``tol`` from the state's grid to one two levels
        finer (theory §6.4).  A diffuse density lives where the state's density is small, and there a GGA kernel
        can make the integral grow without bound as the grid refines (B3LYP: LiH's LUMO gives 10.6, 15.6 and
        317 Eh on grid levels 3, 5 and 7).  Empty for HF (no grid) and for no perturbations."""
        level = self.grid_level
        if level is None or not len(orbitals):
            return []
        finer = min(level + 2, 9)
        here, there = self.xc_kernel_diagonal(orbitals), self.xc_kernel_diagonal(orbitals, level=finer)
        return [(i, float(a), float(b), level, finer) for i, (a, b) in enumerate(zip(here, there))
                if abs(a - b) > tol]

    def apply_hessian(self, x: np.ndarray) -> np.ndarray:
        """A x = d ⊙ x + P[v(D[x])] for rows x (k, npair); theory (6.3)."""
        v = self.apply_kernel(pairs_to_dms(self.mo_coeff, self.pairs, x))
        return self.diag * x + dms_to_pairs(self.mo_coeff, self.pairs, v)

    def solve(self, dms: np.ndarray, relaxed: bool = True, tol: float = RESPONSE_TOL,
              max_cycle: int = RESPONSE_MAX_CYCLE) -> ResponseResult:
        """The response to perturbation densities ``dms`` (2, m, nao, nao); theory (6.3)-(6.5).

        With ``relaxed=False`` the orbitals are held fixed: κ is the bare Hxc kernel (6.4) and nothing is solved.
        """
        dms = np.asarray(dms, dtype=float)
        m = dms.shape[1]
        v0 = self.apply_kernel(dms)
        k0 = np.einsum("simn,sjmn->ij", dms, v0, optimize=True)
        k0 = (k0 + k0.T) / 2
        if not relaxed or self.npair == 0:
            zeros = np.zeros((m, self.npair))
            return ResponseResult(kappa=k0, kappa_frozen=k0, kappa_error=np.zeros(m),
                                  near_singular=np.zeros(m, bool), singular_pair=(None,) * m, x=zeros, dm1=dms,
                                  converged=np.ones(m, bool), residual=np.zeros(m), iterations=0,
                                  applications=self.applications, calls=self.calls, min_ritz=float("nan"))
        b = dms_to_pairs(self.mo_coeff, self.pairs, v0)
        safe = np.where(np.abs(self.diag) < PRECOND_FLOOR, np.copysign(PRECOND_FLOOR, self.diag), self.diag)
        sol = solve_krylov(self.apply_hessian, -b, lambda r: r / safe, tol, max_cycle)
        # zero modes (|θ| ≤ σ: a rotation symmetry makes free, such as a hole turning inside a degenerate π pair)
        # carry no response; what they held goes into the uncertainty (6.5)
        zero = np.abs(sol.ritz) <= self.sigma
        coef = sol.x @ sol.ritz_vectors[zero].T
        x, ax = sol.x - coef @ sol.ritz_vectors[zero], sol.ax - coef @ sol.ritz_avectors[zero]
        # (6.4) in its stationary form: κ = K0 − 2 bᵀA⁻¹b, with errors second order in the residual
        corr = 2.0 * (b @ x.T + x @ b.T + x @ ax.T)
        kappa = k0 + (corr + corr.T) / 2
        error, pair = self._uncertainty(b, sol)
        dm1 = dms + pairs_to_dms(self.mo_coeff, self.pairs, x)
        return ResponseResult(kappa=kappa, kappa_frozen=k0, kappa_error=error,
                              near_singular=error > KAPPA_UNCERTAIN, singular_pair=pair, x=x, dm1=dm1,
                              converged=sol.converged, residual=sol.residual, iterations=sol.iterations,
                              applications=self.applications, calls=self.calls,
                              min_ritz=float(np.min(np.abs(sol.ritz))) if sol.ritz.size else float("nan"))

    def _uncertainty(self, b: np.ndarray, sol: KrylovResult) -> tuple:
        """(6.5) per perturbation, and the pair that dominates the worst Hessian direction of each flagged one."""
        error, worst = make_kappa_uncertainty(b, sol.ritz, sol.ritz_vectors, self.sigma)
        names = self._pair_names()
        pairs = tuple(names[int(np.argmax(np.abs(sol.ritz_vectors[j])))] if e > KAPPA_UNCERTAIN else None
                      for j, e in zip(worst, error))
        return error, pairs

    def _pair_names(self) -> list:
        return [(s, int(r_), int(p_)) for s, (r, p) in enumerate(self.pairs) for r_, p_ in zip(r, p)]

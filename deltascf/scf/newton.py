"""A saddle-point solver: Newton–Krylov steps on the orbital rotations, globalized on |g|²; theory §1.9.

DIIS extrapolates Fock matrices and lets MOM or IMOM pick the occupied orbitals; on states far up the spectrum
(charge transfer, Rydberg, double and core excitations in diffuse bases) it can wander onto a lower state or
never settle.  This solver owns only the orbital update; PySCF builds every Fock matrix and response.

* The orbitals rotate, C ← C exp(K), between every pair of different occupation, so each orbital keeps its
  occupation: there is nothing to re-assign, and the state cannot swap an occupied and an empty orbital.
* The step solves the Newton equations of stationarity, F'_rp = 0 for every pair, (1.10): with the amplitudes
  x_rp = (n_p − n_r) K_rp they are the response equations (6.3), A x = −F_pair, with the Hessian of the state
  (indefinite for an excited state: a saddle point).  The minimal-residual Krylov solver of
  :mod:`deltascf.response` solves them without assuming a definite A.
* The start is the 10th DIIS iterate with the method's tracking (``NEWTON_WARMUP``), or DIIS's converged
  state if it gets there first: the orbitals relax in the field of the target density and IMOM keeps the
  target's character, and Newton then converges from a point near the state.  From the target on the unrelaxed
  ground orbitals, water's HF double excitation in aug-cc-pVTZ goes to a state 9.9 eV above the one DIIS finds;
  from one Roothaan step, the charge-transfer state of ethylene–tetrafluoroethylene (HF/6-31G, 5 Å) goes to a
  local excitation 3 eV lower.
* The merit function is |g|² (the square-gradient objective of Hait & Head-Gordon, whose Gauss–Newton step is
  the Newton step): a step is accepted when it lowers |g|; otherwise it is halved.  Steps are capped at
  ``MAX_ROTATION`` rad.

Restricted states are solved in the unrestricted layout with α = β (the steps keep the symmetry) and returned
restricted.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy.linalg import expm

from ..response import dms_to_pairs, make_pair_diagonal, make_pairs, pairs_to_dms, solve_krylov
from ..spin import make_spin_dms
from ..tracking import make_canonical_orbitals

__all__ = ["run_newton", "NewtonResult", "NEWTON_WARMUP", "MAX_ROTATION", "KRYLOV_MAX_CYCLE"]

#: DIIS cycles (with the method's MOM/IMOM tracking) before the Newton steps take over
NEWTON_WARMUP = 10
#: largest rotation angle (rad) of one step
MAX_ROTATION = 0.5
#: Krylov iterations per Newton step at most
KRYLOV_MAX_CYCLE = 40
#: halvings of a step that does not lower |g| before it is taken anyway
MAX_HALVINGS = 4
#: pair-diagonal entries closer to zero than this (Eh) are floored in the preconditioner only
PRECOND_FLOOR = 0.05


@dataclasses.dataclass(frozen=True)
class NewtonResult:
    """Orbitals (unrestricted layout, canonical in each occupation group), energy, convergence and cost:
    ``fock_builds`` Fock builds and ``kernel_calls`` calls of the response kernel (each about one Fock build)."""

    mo_coeff: np.ndarray
    mo_occ: np.ndarray
    mo_energy: np.ndarray
    e_tot: float
    converged: bool
    cycles: int
    max_grad: float
    fock_builds: int
    kernel_calls: int


class _State:
    """Orbitals, occupations, F and E at one point (canonical inside each occupation group)."""

    def __init__(self, mf, c, n, h1e):
        dm = make_spin_dms(c, n)
        vhf = mf.get_veff(mf.mol, dm)
        self.e_tot = float(mf.energy_tot(dm, h1e, vhf))
        fock = h1e[None] + vhf
        parts = [make_canonical_orbitals(fock[s], c[s], n[s]) for s in range(2)]
        self.mo_energy = np.array([p[0] for p in parts])
        self.c = np.array([p[1] for p in parts])
        self.n = np.array([p[2] for p in parts])
        self.pairs = make_pairs(self.n)
        self.f_pairs = dms_to_pairs(self.c, self.pairs, fock[:, None])[0]  # F_rp over the pairs
        weight = np.concatenate([n_[p] - n_[r] for n_, (r, p) in zip(self.n, self.pairs)])
        self.grad = weight * self.f_pairs  # (1.3)
        self.weight = weight

    @property
    def max_grad(self) -> float:
        return float(np.abs(self.grad).max()) if self.grad.size else 0.0

    @property
    def norm(self) -> float:
        return float(np.linalg.norm(self.grad))


def _rotate(c, pairs, kappa):
    """C exp(K) per spin, K antisymmetric with K_rp = kappa over the pairs."""
    out = c.copy()
    off = 0
    for s, (r, p) in enumerate(pairs):
        m = len(r)
        k = np.zeros((c.shape[-1],) * 2)
        k[r, p] = kappa[off:off + m]
        k -= k.T
        out[s] = c[s] @ expm(k)
        off += m
    return out


def run_newton(mf, mo_coeff, mo_occ, *, conv_tol: float, conv_tol_grad: float | None = None,
               max_cycle: int = 100, log=None) -> NewtonResult:
    """Converge the state with occupations ``mo_occ`` on orbitals ``mo_coeff`` to the stationary point nearest
    in the Newton sense; theory §1.9.

    Parameters
    ----------
    mf : PySCF mean-field object, unrestricted (UKS or UHF)
        Builds Fock matrices (``get_veff``) and the response kernel (``gen_response``).
    mo_coeff, mo_occ : ndarray, (2, nao, nmo) and (2, nmo)
        Starting orbitals and the occupations they carry throughout.
    conv_tol, conv_tol_grad : float
        Converged when the energy changes by less than ``conv_tol`` and max|g| of (1.3) is below
        ``conv_tol_grad`` (default √conv_tol, as PySCF).
    """
    if conv_tol_grad is None:
        conv_tol_grad = float(np.sqrt(conv_tol))
    h1e = mf.get_hcore()
    c, n = np.array(mo_coeff, dtype=float), np.array(mo_occ, dtype=float)
    counter = {"fock": 0, "kernel": 0}

    def at(c_):
        counter["fock"] += 1
        return _State(mf, c_, n_now, h1e)

    n_now = n
    cur = at(c)
    e_prev = np.inf
    converged = False
    cycle = 0
    for cycle in range(1, max_cycle + 1):
        if cur.max_grad < conv_tol_grad and abs(cur.e_tot - e_prev) < conv_tol:
            converged = True
            cycle -= 1
            break
        if not cur.grad.size:
            converged = True
            break
        x = _newton_step(mf, cur, counter, tol=min(0.1, max(cur.norm, 1e-4)))
        kappa = x / cur.weight
        biggest = np.abs(kappa).max()
        if biggest > MAX_ROTATION:
            kappa *= MAX_ROTATION / biggest
        n_now = cur.n
        for _ in range(MAX_HALVINGS + 1):
            trial = at(_rotate(cur.c, cur.pairs, kappa))
            if trial.norm < cur.norm:
                break
            kappa = kappa / 2
        if log is not None:
            log(f"newton cycle {cycle}: E = {trial.e_tot:.12f}  |g| = {trial.norm:.3e}  max|g| = {trial.max_grad:.3e}")
        e_prev, cur = cur.e_tot, trial
    else:
        converged = cur.max_grad < conv_tol_grad and abs(cur.e_tot - e_prev) < conv_tol
    return NewtonResult(mo_coeff=cur.c, mo_occ=cur.n, mo_energy=cur.mo_energy, e_tot=cur.e_tot,
                        converged=bool(converged), cycles=cycle, max_grad=cur.max_grad,
                        fock_builds=counter["fock"], kernel_calls=counter["kernel"])


def _newton_step(mf, cur: _State, counter: dict, tol: float) -> np.ndarray:
    """x of A x = −F_pair at the current point, (1.10); A = d ⊙ x + P[v(D[x])] as in (6.3)."""
    vind = mf.gen_response(mo_coeff=cur.c, mo_occ=cur.n, hermi=1)
    diag = make_pair_diagonal(cur.mo_energy, cur.n, cur.pairs)

    def aop(xs):
        counter["kernel"] += 1
        dms = pairs_to_dms(cur.c, cur.pairs, xs)
        v = np.asarray(vind(dms)).reshape(dms.shape)
        return diag * xs + dms_to_pairs(cur.c, cur.pairs, v)

    safe = np.where(np.abs(diag) < PRECOND_FLOOR, np.copysign(PRECOND_FLOOR, diag), diag)
    sol = solve_krylov(aop, -cur.f_pairs[None, :], lambda r: r / safe, tol, KRYLOV_MAX_CYCLE)
    return sol.x[0]


def unrestricted_twin(mf_restricted, method, make_mf, eri=None):
    """An unrestricted mean-field object on the restricted one's grid (for a restricted state)."""
    twin = dataclasses.replace(method, reference="uhf" if method.is_hf else "uks", correction=None)
    grids = None if method.is_hf else mf_restricted.grids
    return make_mf(mf_restricted.mol, twin, eri=eri, grids=grids)

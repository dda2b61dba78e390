"""Analytic nuclear gradients of converged ΔSCF and fractional states; theory §1.8.

A converged state is stationary under every rotation between orbitals of different occupation, (1.3), and its
orbitals are canonical inside each occupation group.  Its Lagrangian is then that of an aufbau SCF with the
state's own occupations, and PySCF's SCF gradient applies unchanged once it is handed the state's orbitals,
occupations and orbital energies:

    dE/dR = Σ_σ tr(D_σ h^R) + E_Hxc^R[D] − Σ_σ tr(W_σ S^R) + V_nn^R,    W_σ = Σ_p n_pσ ε_pσ |p⟩⟨p|      (1.9)

PySCF's ``make_rdm1e`` builds exactly this W from ``mo_energy * mo_occ``, and its density from ``mo_occ``, so
non-aufbau and fractional occupations need nothing else.  The off-group elements of F vanish only to the SCF's
gradient tolerance, so the gradient is as accurate as the state is converged.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from pyscf import lib

from .records import Method, ScfResult
from .scf.build import make_mf, shared_eri

__all__ = ["make_gradient", "make_grad_method", "make_roks_gradient", "roks_determinants"]


def make_grad_method(mol, state: ScfResult, method: Method | None = None, grid_response: bool = False,
                     verbose: int = 0):
    """PySCF's gradient object for ``state`` on a fresh mean-field object that holds the state's orbitals.

    The mean-field object is built with :func:`deltascf.scf.build.make_mf` for the state's method, so grid,
    density fitting and integrals are those the state was converged with.  Nothing is modified.  A state converged
    on the GPU gets its gradient on the CPU, with the same auxiliary basis (design §17).
    """
    method = state.method if method is None else method
    method = dataclasses.replace(method.base, device="cpu")
    mf = make_mf(mol.copy(), method, verbose, shared_eri(mol, method))
    mf.mo_coeff = np.array(state.mo_coeff)
    mf.mo_occ = np.array(state.mo_occ)
    mf.mo_energy = np.array(state.mo_energy)
    mf.e_tot = state.e_tot
    mf.converged = state.converged
    if not method.restricted:
        mf.nelec = tuple(state.nelec)
    g = mf.nuc_grad_method()
    g.verbose = verbose
    if hasattr(g, "grid_response"):
        g.grid_response = bool(grid_response)
    return g


def make_gradient(mol, state: ScfResult, *, grid_response: bool = False, verbose: int = 0) -> np.ndarray:
    """dE/dR of a converged state, (natm, 3) in Eh/bohr; theory (1.9).

    Parameters
    ----------
    mol : pyscf.gto.Mole
        The molecule the state was converged for (not modified).
    state : ScfResult
        A converged ground, ΔSCF or fractional state (UKS, RKS, UHF or RHF; exact or density-fitted).
    grid_response : bool
        Include the response of the DFT grid to the nuclear displacement (PySCF's ``grid_response``).  Without
        it the gradient misses the motion of the Becke weights, a few 1e-5 Eh/bohr on small grids; with it
        the gradient is the derivative of the energy the SCF computes.
    """
    from .scf.driver import _check_same_molecule

    try:
        _check_same_molecule(mol, state)
    except ValueError as exc:
        raise ValueError(str(exc).replace("ground:", "state:", 1).replace("ground state", "state")) from None
    if not state.converged:
        raise ValueError("state: not converged; its gradient would not be the derivative of any energy")
    if state.method.reference in ("roks", "rohf"):
        return make_roks_gradient(mol, state, grid_response=grid_response, verbose=verbose)
    return np.asarray(make_grad_method(mol, state, grid_response=grid_response, verbose=verbose).kernel())


class _LagrangianW:
    """A PySCF gradient object whose energy-weighted density is given (the Lagrangian of a weighted sum of
    determinants, (1.12)), not built from one determinant's orbital energies."""

    __name_mixin__ = "LagrangianW"
    _keys = {"w_lagrangian"}

    def __init__(self, grad, w_lagrangian):
        self.__dict__.update(grad.__dict__)
        self.w_lagrangian = w_lagrangian

    def make_rdm1e(self, *args, **kwargs):
        return self.w_lagrangian


def roks_determinants(state: ScfResult) -> list:
    """[(w_k, n_α, n_β)] of a ROKS record: the open-shell singlet's 2 M − T (1.11), or its one determinant."""
    n_a, n_b = (np.asarray(x, dtype=float) for x in state.mo_occ)
    if state.spec == "ground" or abs(n_a.sum() - n_b.sum()) > 1e-8 or np.array_equal(n_a, n_b):
        return [(1.0, n_a, n_b)]
    return [(2.0, n_a, n_b), (-1.0, np.maximum(n_a, n_b), np.minimum(n_a, n_b))]


def make_roks_gradient(mol, state: ScfResult, *, grid_response: bool = False, verbose: int = 0) -> np.ndarray:
    """dE/dR of a ROKS record, (natm, 3) Eh/bohr; theory (1.12).

    E = Σ_k w_k E[D_k] on one set of orbitals (the singlet's 2 E[M] − E[T], or one high-spin determinant).  Each
    determinant contributes its integral derivatives at its own density; the orbitals are stationary only for
    the sum, so the energy-weighted density is the sum's Lagrangian, W = Σ_k w_k Σ_σ C n_kσ (Cᵀ F_kσ C) Cᵀ
    (symmetrized), shared out over the determinants' gradient calls.
    """
    from .scf.roks import _roks_mf, make_roks_energy

    c = np.asarray(state.mo_coeff[0])
    dets = roks_determinants(state)
    mf = _roks_mf(mol.copy(), state.method)
    mf.verbose = verbose
    _, _, _, focks = make_roks_energy(mf, c, dets)
    total = np.zeros((mol.natm, 3))
    for (w, n_a, n_b), fock in zip(dets, focks):
        w_k = []
        for s, n in enumerate((n_a, n_b)):
            x = c @ (n[:, None] * (c.T @ fock[s] @ c)) @ c.T
            w_k.append(0.5 * (x + x.T))
        mf.mo_coeff, mf.mo_occ = np.array([c, c]), np.array([n_a, n_b])
        mf.mo_energy, mf.converged, mf.nelec = np.zeros((2, c.shape[1])), True, (n_a.sum(), n_b.sum())
        g = mf.nuc_grad_method()
        g.verbose = verbose
        if hasattr(g, "grid_response"):
            g.grid_response = bool(grid_response)
        g = lib.set_class(_LagrangianW(g, np.array(w_k)), (_LagrangianW, g.__class__))
        total += w * np.asarray(g.kernel(mo_energy=mf.mo_energy, mo_coeff=mf.mo_coeff, mo_occ=mf.mo_occ))
    return total

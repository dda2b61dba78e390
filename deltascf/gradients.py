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

import numpy as np

from .records import Method, ScfResult
from .scf.build import make_mf, shared_eri

__all__ = ["make_gradient", "make_grad_method"]


def make_grad_method(mol, state: ScfResult, method: Method | None = None, grid_response: bool = False,
                     verbose: int = 0):
    """PySCF's gradient object for ``state`` on a fresh mean-field object that holds the state's orbitals.

    The mean-field object is built with :func:`deltascf.scf.build.make_mf` for the state's method, so grid,
    density fitting and integrals are those the state was converged with.  Nothing is modified.
    """
    method = state.method if method is None else method
    mf = make_mf(mol.copy(), method.base, verbose, shared_eri(mol, method))
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
        raise ValueError("state: ROKS gradients are not built (the orbitals are stationary for E_S, not for one "
                         "determinant)")
    return np.asarray(make_grad_method(mol, state, grid_response=grid_response, verbose=verbose).kernel())

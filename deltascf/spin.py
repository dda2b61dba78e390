"""Spin layout and array namespace: the one place that tells restricted from unrestricted arrays.

A restricted state keeps one set of spatial orbitals: ``mo_occ`` (nmo,) in [0, 2], ``mo_coeff`` (nao, nmo).
An unrestricted state puts the spin axis first: ``mo_occ`` (2, nmo) in [0, 1], ``mo_coeff`` (2, nao, nmo),
densities and Fock matrices (2, nao, nao) (design §10).  The helpers below take the array namespace from
their input (:func:`get_xp`: NumPy, or CuPy for device arrays), so the same code serves both.
"""
from __future__ import annotations

import sys

import numpy as np

__all__ = ["get_xp", "to_host", "is_restricted", "per_spin", "stack_spins", "map_spins", "make_spin_dms",
           "to_unrestricted", "nelec_of", "full_occupation", "spin_factor"]

_HOST_TYPES = (np.ndarray, np.generic, int, float, complex, bool, list, tuple)


def get_xp(*arrays):
    """The array namespace of the first device array among ``arrays``, else NumPy.

    The namespace is the top-level module that defines the array's type or, for a subclass defined elsewhere,
    the first of its base classes whose top-level module is an array namespace (has ``asarray``): gpu4pyscf's
    tagged arrays (``gpu4pyscf.lib.cupy_helper.CPArrayWithTag``) belong to ``cupy``.  It is already imported by
    whoever made the array; deltascf itself imports no device library here.
    """
    for a in arrays:
        if a is None or isinstance(a, _HOST_TYPES):
            continue
        for cls in type(a).__mro__:
            xp = sys.modules.get(cls.__module__.partition(".")[0])
            if xp is not None and hasattr(xp, "asarray"):
                return xp
    return np


def to_host(a) -> np.ndarray:
    """A NumPy view or copy of ``a`` (device arrays are copied to the host with their namespace's asnumpy)."""
    if isinstance(a, np.ndarray):
        return a
    xp = get_xp(a)
    return np.asarray(a) if xp is np else xp.asnumpy(a)


def is_restricted(mo_occ) -> bool:
    """True for restricted occupations (nmo,), False for per-spin ones (2, nmo)."""
    return mo_occ.ndim == 1


def per_spin(x, restricted: bool | None = None) -> list:
    """The per-spin blocks of ``x``: ``[x]`` for a restricted array, ``[x[0], x[1]]`` for an unrestricted one.

    ``restricted`` defaults to "``x`` has no spin axis" judged from an occupation-like array (ndim 1); pass it
    for coefficient or density arrays.
    """
    if restricted is None:
        restricted = x.ndim == 1
    return [x] if restricted else [x[0], x[1]]


def stack_spins(parts, restricted: bool):
    """Inverse of :func:`per_spin`."""
    if restricted:
        return parts[0]
    xp = get_xp(*parts)
    return xp.stack(parts)


def map_spins(f, *arrays, restricted: bool):
    """``f`` applied to the per-spin blocks of ``arrays``, stacked back in the same layout."""
    blocks = [per_spin(a, restricted) for a in arrays]
    return stack_spins([f(*parts) for parts in zip(*blocks)], restricted)


def make_spin_dms(mo_coeff, mo_occ):
    """Per-spin AO densities (2, nao, nao); a restricted density is split in half.  D_σ = C_σ n_σ C_σᵀ, (1.2)."""
    xp = get_xp(mo_coeff)
    mo_occ = xp.asarray(mo_occ)  # host occupations with device orbitals (the same object on the host)
    if mo_occ.ndim == 1:
        d = (mo_coeff * (mo_occ / 2)) @ mo_coeff.conj().T
        return xp.stack([d, d])
    return xp.stack([(mo_coeff[s] * mo_occ[s]) @ mo_coeff[s].conj().T for s in range(2)])


def to_unrestricted(mo_coeff, mo_occ):
    """(mo_coeff, mo_occ) in the unrestricted layout: a restricted set is duplicated, its occupations halved."""
    if mo_occ.ndim == 2:
        return mo_coeff, mo_occ
    xp = get_xp(mo_coeff)
    return xp.stack([mo_coeff, mo_coeff]), xp.stack([mo_occ / 2, mo_occ / 2])


def nelec_of(mo_occ) -> tuple:
    """Electrons per spin (floats) of an occupation array."""
    if mo_occ.ndim == 1:
        n = float(mo_occ.sum()) / 2
        return n, n
    return float(mo_occ[0].sum()), float(mo_occ[1].sum())


def full_occupation(restricted: bool) -> float:
    """The most electrons one orbital holds: 2 for a spatial (restricted) orbital, 1 for a spin orbital."""
    return 2.0 if restricted else 1.0


def spin_factor(restricted: bool) -> float:
    """Spin blocks a per-spin block stands for: a restricted block counts for both spins."""
    return 2.0 if restricted else 1.0

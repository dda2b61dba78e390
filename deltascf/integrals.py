"""Two-electron integrals evaluated once per molecule and shared.

PySCF keeps the in-core s8 ERIs on each mean-field object (``mf._eri``) and
evaluates them again for the next object.  A deltascf study builds many SCFs on
one molecule (ground, ΔSCF, every scan point) and the exact LOSC Coulomb
curvature (theory §5.10) needs the same integrals, so :func:`get_eri` keeps one
read-only copy for the most recent molecule.  The copy is dropped when that
``Mole`` object dies, when its atoms or basis change, when another molecule
asks for its ERIs, or on :func:`release_eri`.  It is only made when PySCF
itself would hold the ERIs in memory.
"""
from __future__ import annotations

import threading
import weakref

import numpy as np
from pyscf import lib

__all__ = ["get_eri", "release_eri", "kept_molecule", "eri_fits", "make_pair_sandwich"]

#: the kept ERIs: (weak reference to the Mole, fingerprint, s8 array), or None
_kept = None
_lock = threading.Lock()
#: rows of the packed triangle unpacked at once in :func:`make_pair_sandwich` (bytes)
SANDWICH_BLOCK_BYTES = 64e6


def _fingerprint(mol) -> tuple:
    return (bool(mol.cart), np.asarray(mol._atm).tobytes(), np.asarray(mol._bas).tobytes(),
            np.asarray(mol._env).tobytes())


def eri_fits(mol) -> bool:
    """PySCF's own in-core rule (``SCF._is_mem_enough``): nao⁴/1e6 < 0.95 max_memory − memory in use (MB)."""
    nao = mol.nao_nr()
    return bool(mol.incore_anyway) or nao ** 4 / 1e6 < mol.max_memory * 0.95 - lib.current_memory()[0]


def release_eri() -> None:
    """Drop the kept ERIs (the arrays live on only where a caller still holds them)."""
    global _kept
    _kept = None


def kept_molecule():
    """The molecule whose ERIs are kept, or None."""
    kept = _kept
    return None if kept is None else kept[0]()


def _on_mol_deleted(ref) -> None:
    global _kept
    if _kept is not None and _kept[0] is ref:
        _kept = None


def get_eri(mol) -> np.ndarray | None:
    """The s8 ERIs of ``mol`` (read-only, computed on first use), or None when they do not fit in memory."""
    global _kept
    key = _fingerprint(mol)
    with _lock:
        if _kept is not None and _kept[0]() is mol and _kept[1] == key:
            return _kept[2]
        _kept = None  # free the old molecule's integrals before the memory check
        if not eri_fits(mol):
            return None
        eri = mol.intor("int2e", aosym="s8")
        eri.flags.writeable = False
        _kept = (weakref.ref(mol, _on_mol_deleted), key, eri)
        return eri


def make_pair_sandwich(eri: np.ndarray, d: np.ndarray) -> np.ndarray:
    """d E dᵀ for the symmetric pair matrix E = (pq|rs) over packed pairs p ≥ q.

    ``eri`` is PySCF's s4 (2-D, npair × npair) or s8 (its lower triangle, packed
    by rows) layout; ``d`` is (m, npair).  The s8 triangle is unpacked a block of
    rows at a time: y = E dᵀ = L dᵀ + L_strictᵀ dᵀ, so no full s4 copy is made.
    """
    d = np.asarray(d)
    if eri.ndim == 2:
        return d @ eri @ d.T
    npair = d.shape[1]
    if eri.size != npair * (npair + 1) // 2:
        raise ValueError(f"s8 ERIs of size {eri.size} do not match {npair} pairs")
    dt = np.ascontiguousarray(d.T)
    y = np.zeros_like(dt)
    rows = max(1, int(SANDWICH_BLOCK_BYTES // (8 * npair)))
    for a in range(0, npair, rows):
        b = min(npair, a + rows)
        low = np.zeros((b - a, b))
        for r in range(a, b):
            off = r * (r + 1) // 2
            low[r - a, :r + 1] = eri[off:off + r + 1]
        y[a:b] += low @ dt[:b]
        low[np.arange(b - a), np.arange(a, b)] = 0.0  # the diagonal counts once
        y[:b] += low.T @ dt[a:b]
    return d @ y

"""Core orbitals named by atom and shell, localized on their atom; theory §1.7.

A spec names a core orbital as ``core:O1s`` or ``core:C2:1s`` (the 1s shell of the second carbon).  The core
block of the ground state (its lowest occupied orbitals, as many as the atoms' core shells hold) is split by
atom: atom by atom, the combinations of the block with the largest Mulliken population on that atom are its core
orbitals (an eigenproblem, so equivalent atoms need no symmetry breaking), and inside one atom the Fock matrix is
diagonalized, which orders the shells 1s < 2s < 2p < ...  Rotations inside the fully occupied core block leave
the ground density unchanged, so the localized orbitals are a valid tracking reference.
"""
from __future__ import annotations

import numpy as np

from .occupations import SpecError

__all__ = ["core_shells", "core_orbital_count", "make_core_keys", "make_nominal_core_map", "localize_core",
           "check_core_key", "separate_core_shells", "resolve_on", "CoreMap"]

_L = "spdf"

#: {(element, k, shell): (first index alpha, first index beta)}: where each named core shell starts
CoreMap = dict


def core_shells(z: int) -> list:
    """The core shells of element ``z`` as (n, l), in the order of their orbital energies (PySCF's core table)."""
    from pyscf.data.elements import N_CORE_SHELLS

    counts = N_CORE_SHELLS[z]  # e.g. "2s1p0d0f": 1s, 2s and 2p
    shells = []
    for l, char in enumerate(_L):
        num = int(counts.split(char)[0][-1]) if char in counts else 0
        shells += [(l + 1 + k, l) for k in range(num)]
    return sorted(shells)


def _shell_name(n: int, l: int) -> str:
    return f"{n}{_L[l]}"


def core_orbital_count(mol) -> int:
    """Number of core orbitals (per spin) of the molecule's atoms; ECP atoms contribute none."""
    return sum(sum(2 * l + 1 for _, l in _atom_shells(mol, i)) for i in range(mol.natm))


def _atom_shells(mol, i: int) -> list:
    if mol.atom_pure_symbol(i) in (mol.ecp or {}) or mol.atom_nelec_core(i) > 0:
        return []
    return core_shells(int(mol.atom_charge(i)))


def make_core_keys(mol) -> list:
    """Every core shell of the molecule as ((element, k, shell), atom index, number of orbitals), k counting
    atoms of one element from 1 in input order."""
    seen, out = {}, []
    for i in range(mol.natm):
        elem = mol.atom_pure_symbol(i)
        seen[elem] = seen.get(elem, 0) + 1
        for n, l in _atom_shells(mol, i):
            out.append(((elem, seen[elem], _shell_name(n, l)), i, 2 * l + 1))
    return out


def make_nominal_core_map(mol) -> CoreMap:
    """Core shells placed in atom order at the bottom of the orbital list: enough to validate a spec before any
    SCF.  The orbitals of a state come from :func:`localize_core`."""
    out, k = {}, 0
    for key, _, norb in make_core_keys(mol):
        out[key] = (k, k)
        k += norb
    return out


def localize_core(mol, mo_coeff, mo_energy, mo_occ):
    """Localize the core block of an unrestricted ground state and name its orbitals.

    Parameters
    ----------
    mo_coeff : ndarray, shape (2, nao, nmo)
    mo_energy, mo_occ : ndarray, shape (2, nmo)
        Ground-state orbitals (sorted by energy, aufbau).

    Returns
    -------
    mo_coeff : ndarray, shape (2, nao, nmo)
        A copy whose core block holds the localized orbitals, ordered by atom and then shell.
    mo_energy : ndarray, shape (2, nmo)
        ⟨φ|F|φ⟩ of each orbital (the canonical energies outside the core block).
    core_map : dict
        ``{(element, k, shell): (first index alpha, first index beta)}``.
    """
    keys = make_core_keys(mol)
    ncore = sum(norb for _, _, norb in keys)
    c_out, e_out = np.array(mo_coeff, dtype=float, copy=True), np.array(mo_energy, dtype=float, copy=True)
    if ncore == 0:
        return c_out, e_out, {}
    s1e = mol.intor_symmetric("int1e_ovlp")
    aoslices = mol.aoslice_by_atom()
    starts = {}
    for s in range(2):
        core = np.flatnonzero(np.asarray(mo_occ[s]) > 0.5)[:ncore]
        if core.size < ncore or np.any(core != np.arange(ncore)):
            raise ValueError(f"the lowest {ncore} orbitals of spin {'ab'[s]} are not all occupied: the ground state "
                             "has no intact core block to localize")
        c_core = c_out[s][:, :ncore].copy()
        f_core = np.diag(e_out[s][:ncore])  # F is diagonal in the canonical orbitals
        u_rest, k = np.eye(ncore), 0
        for atom in dict.fromkeys(a for _, a, _ in keys):  # atoms with core shells, in input order
            mine = [(key, norb) for key, a, norb in keys if a == atom]
            n_a = sum(norb for _, norb in mine)
            u_a, u_rest = _split_atom(c_core @ u_rest, s1e, aoslices[atom][2:], n_a, u_rest)
            w, v = np.linalg.eigh(u_a.T @ f_core @ u_a)  # canonical inside the atom's core: 1s < 2s < 2p ...
            u_a = u_a @ v
            c_out[s][:, k:k + n_a] = c_core @ u_a
            e_out[s][k:k + n_a] = w
            for key, norb in mine:
                starts.setdefault(key, [0, 0])[s] = k
                k += norb
    return c_out, e_out, {key: tuple(v) for key, v in starts.items()}


def _split_atom(c_block, s1e, ao_range, n_a: int, u_block):
    """The ``n_a`` combinations of ``c_block``'s orbitals with the largest Mulliken population on the atom whose
    AOs are ``ao_range`` (the core orbitals of that atom), and the rest; both as rotations of ``u_block``."""
    p0, p1 = ao_range
    sc = s1e @ c_block
    q = c_block[p0:p1].T @ sc[p0:p1]
    w, v = np.linalg.eigh(0.5 * (q + q.T))  # population of the atom in each combination, ascending
    if n_a > w.size or w[-n_a] < 0.5:
        raise ValueError("the core orbitals do not localize on their atoms (an atom holds less than half of one); "
                         "the core block cannot be named")
    return u_block @ v[:, -n_a:], u_block @ v[:, :-n_a]


def separate_core_shells(mol, mo_energy, core_map: CoreMap):
    """Orbital energies with each named core shell moved 1e3 Eh apart from every other orbital, so that the
    degeneracy check (theory §4) sees only the orbitals inside one shell (the three 2p of one atom), not the
    same shell on equivalent atoms: the spec names the atom."""
    out = np.array(mo_energy, dtype=float, copy=True)
    norbs = {key: norb for key, _, norb in make_core_keys(mol)}
    for k, (key, starts) in enumerate(core_map.items()):
        for s, i0 in enumerate(starts):
            out[s, i0:i0 + norbs[key]] += 1e3 * (k + 1)
    return out


def resolve_on(mol, occupation, restricted: bool):
    """``occupation.resolve`` against ``mol``'s own electron counts and orbitals, core labels placed by
    :func:`make_nominal_core_map`: the check of a spec before any SCF."""
    core = make_nominal_core_map(mol) if occupation.has_core else None
    return occupation.resolve(mol.nelec, mol.nao_nr(), restricted, core)


def check_core_key(key, core_map: CoreMap) -> None:
    """SpecError naming the available core shells when ``key`` is not one of them."""
    if key not in core_map:
        have = ", ".join(f"core:{e}{k}:{sh}" for e, k, sh in core_map) or "none (no atom beyond He without an ECP)"
        raise SpecError(f"core:{key[0]}{key[1]}:{key[2]}: no such core shell in the molecule; it has {have}")

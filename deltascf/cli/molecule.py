"""The molecule of a command: XYZ files and atom strings read, checked and built, every error one line."""
from __future__ import annotations

import math
import sys
import warnings

from .options import InputError

__all__ = ["read_xyz", "parse_atom_string", "build_mol", "check_xc", "MIN_DISTANCE_ANGSTROM",
           "MAX_COORDINATE_ANGSTROM"]

#: atoms closer than this (Angstrom) are refused as a malformed geometry
MIN_DISTANCE_ANGSTROM = 0.1
#: coordinates beyond this (Angstrom) are refused: integrals of such geometries overflow
MAX_COORDINATE_ANGSTROM = 1e4


def _element_charge(symbol: str) -> int:
    """Nuclear charge of an element symbol (labels such as ``H1`` or ``C_a`` allowed) or atomic number."""
    from pyscf.data.elements import ELEMENTS

    std = symbol.strip()
    if std.isdigit():
        if 0 < int(std) < len(ELEMENTS):
            return int(std)
        raise InputError(f"unknown element {symbol!r} (atomic numbers run from 1 to {len(ELEMENTS) - 1})")
    core = std.rstrip("0123456789").split("_")[0]
    names = {e.upper(): z for z, e in enumerate(ELEMENTS)}
    if core.upper() not in names or core.upper() == "X":
        raise InputError(f"unknown element {symbol!r}")
    return names[core.upper()]


def read_xyz(path: str) -> list:
    """Atoms [(symbol, (x, y, z))] in Angstrom from an XYZ file, validated."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None
    if not lines or not lines[0].strip():
        raise InputError(f"{path}: empty XYZ file (line 1 must give the number of atoms)")
    try:
        natm = int(lines[0].split()[0])
    except ValueError:
        raise InputError(f"{path}: line 1 must give the number of atoms, got {lines[0].strip()!r}") from None
    if natm < 1:
        raise InputError(f"{path}: line 1 gives {natm} atoms; need at least one")
    body = [ln for ln in lines[2:] if ln.strip()]
    if len(body) != natm:
        raise InputError(f"{path}: line 1 announces {natm} atoms but {len(body)} coordinate lines follow")
    return [_parse_atom_line(ln, f"{path}: line {k + 3}") for k, ln in enumerate(body)]


def _parse_atom_line(line: str, where: str):
    fields = line.split()
    if len(fields) != 4:
        raise InputError(f"{where}: expected 'Element x y z', got {line.strip()!r}")
    sym = fields[0]
    z = _element_charge(sym)
    if sym.isdigit():  # an atomic number: written as its symbol, which every program reads
        from pyscf.data.elements import ELEMENTS

        sym = ELEMENTS[z]
    try:
        xyz = tuple(float(f) for f in fields[1:])
    except ValueError:
        raise InputError(f"{where}: non-numeric coordinate in {line.strip()!r}") from None
    if not all(math.isfinite(v) for v in xyz):
        raise InputError(f"{where}: non-finite coordinate in {line.strip()!r}")
    if max(abs(v) for v in xyz) > MAX_COORDINATE_ANGSTROM:
        raise InputError(f"{where}: coordinate beyond {MAX_COORDINATE_ANGSTROM:g} Angstrom in {line.strip()!r}")
    return sym, xyz


def parse_atom_string(text: str) -> list:
    """Atoms from a PySCF-style string 'O 0 0 0; H 0 0 1' (or newline separated)."""
    parts = [p for p in text.replace("\n", ";").split(";") if p.strip()]
    if not parts:
        raise InputError("--atom is empty")
    return [_parse_atom_line(p, f"--atom entry {k + 1}") for k, p in enumerate(parts)]


def parse_basis(text: str):
    """A basis string, or per-element bases written ``"cc-pvtz,O:cc-pcvtz"`` (a bare name is the default for the
    other elements).  Commas inside parentheses belong to the name (``6-31g(d,p)``)."""
    if ":" not in text:
        return text
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = {}
    for part in (p.strip() for p in parts):
        elem, _, name = part.rpartition(":")
        elem = elem.strip().capitalize() or "default"
        if not name.strip() or elem in out:
            raise InputError(f"basis {text!r}: write one name per element, as 'cc-pvtz,O:cc-pcvtz'")
        out[elem] = name.strip()
    return out


def build_mol(atoms, basis: str, charge: int = 0, spin: int = 0):
    """A built PySCF Mole, with every user error turned into InputError.  ``basis`` may name bases per element
    (:func:`parse_basis`)."""
    from pyscf import gto

    basis_text, basis = basis, parse_basis(basis) if isinstance(basis, str) else basis

    for i in range(len(atoms)):
        for j in range(i):
            d = math.dist(atoms[i][1], atoms[j][1])
            if d < MIN_DISTANCE_ANGSTROM:
                raise InputError(f"atoms {j + 1} and {i + 1} are {d:.3f} Angstrom apart (min {MIN_DISTANCE_ANGSTROM})")
    nelectron = sum(_element_charge(s) for s, _ in atoms) - charge
    if nelectron < 1:
        raise InputError(f"charge {charge} leaves {nelectron} electrons")
    if spin < 0 or spin > nelectron or (nelectron - spin) % 2:
        raise InputError(f"spin 2S = {spin} is impossible with {nelectron} electrons "
                         "(need 0 <= 2S <= N and N - 2S even)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mol = gto.M(atom=[[s, xyz] for s, xyz in atoms], basis=basis, charge=charge, spin=spin,
                        unit="Angstrom", verbose=0)
            mol.stdout = sys.stderr  # PySCF's log (-v) never mixes with tables or --json -
    except Exception as exc:  # PySCF raises assorted types for bad basis input
        msg = " ".join(str(exc).split()) or exc.__class__.__name__
        raise InputError(f"basis {basis_text!r}: {msg}") from None
    if max(mol.nelec) > mol.nao_nr():
        raise InputError(f"{max(mol.nelec)} electrons of one spin do not fit in the {mol.nao_nr()} orbitals of "
                         f"basis {basis_text!r}")
    return mol


def check_xc(xc: str) -> None:
    """InputError for an xc string PySCF cannot use (the check of ``Method``)."""
    from ..records import Method

    try:
        Method(xc=xc)
    except ValueError as exc:
        raise InputError(str(exc).replace("xc: unknown functional", "unknown xc functional")) from None

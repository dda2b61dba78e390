"""The ``deltascf`` command line.  ``main(argv) -> int``.

Exit codes: 0 ok, 2 bad input (one line on stderr, no traceback),
3 some state did not converge (results still printed, flagged).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import warnings

EXIT_OK, EXIT_INPUT, EXIT_NOT_CONVERGED = 0, 2, 3
#: atoms closer than this (Angstrom) are refused as a malformed geometry
MIN_DISTANCE_ANGSTROM = 0.1


class InputError(Exception):
    """Bad user input: reported as one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + error
        raise InputError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deltascf", description="ΔSCF excited states on PySCF.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = sub.add_parser("run", help="converge the ground state and ΔSCF states")
    run.add_argument("molecule", nargs="?", help="XYZ file (Angstrom)")
    run.add_argument("--atom", help='PySCF atom string, e.g. "O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587" (Angstrom)')
    run.add_argument("--basis", required=True)
    run.add_argument("--xc", required=True, help='PySCF xc string, or "hf"')
    run.add_argument("--charge", type=int, default=0)
    run.add_argument("--spin", type=int, default=0, help="2S = N_alpha - N_beta")
    run.add_argument("--reference", default="uks", choices=["uks", "rks", "uhf", "rhf"])
    run.add_argument("--state", action="append", default=[], metavar="SPEC",
                     help='occupation spec, e.g. "a:HOMO->LUMO" (repeatable; the ground state is always run)')
    run.add_argument("--tracking", default="imom", choices=["imom", "mom"])
    run.add_argument("--density-fit", metavar="AUXBASIS", help="density fitting with this auxiliary basis")
    run.add_argument("--grid-level", type=int, help="PySCF grid level 0-9 (default 3)")
    run.add_argument("--conv-tol", type=float, default=1e-9, help="energy convergence (Hartree)")
    run.add_argument("--max-cycle", type=int, default=100)
    run.add_argument("--json", metavar="PATH", help="write JSON to PATH, or - for stdout")
    return parser


# -- molecule input ----------------------------------------------------------------
def _element_charge(symbol: str) -> int:
    from pyscf.data.elements import ELEMENTS

    std = symbol.strip()
    core = std.rstrip("0123456789").split("_")[0]
    names = {e.upper(): z for z, e in enumerate(ELEMENTS)}
    if core.upper() not in names or core.upper() == "X":
        if core.isdigit() and 0 < int(core) < len(ELEMENTS):
            return int(core)
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
    _element_charge(sym)
    try:
        xyz = tuple(float(f) for f in fields[1:])
    except ValueError:
        raise InputError(f"{where}: non-numeric coordinate in {line.strip()!r}") from None
    if not all(math.isfinite(v) for v in xyz):
        raise InputError(f"{where}: non-finite coordinate in {line.strip()!r}")
    return sym, xyz


def parse_atom_string(text: str) -> list:
    """Atoms from a PySCF-style string 'O 0 0 0; H 0 0 1' (or newline separated)."""
    parts = [p for p in text.replace("\n", ";").split(";") if p.strip()]
    if not parts:
        raise InputError("--atom is empty")
    return [_parse_atom_line(p, f"--atom entry {k + 1}") for k, p in enumerate(parts)]


def build_mol(atoms, basis: str, charge: int = 0, spin: int = 0):
    """A built PySCF Mole, with every user error turned into InputError."""
    from pyscf import gto

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
    except Exception as exc:  # PySCF raises assorted types for bad basis input
        msg = " ".join(str(exc).split()) or exc.__class__.__name__
        raise InputError(f"basis {basis!r}: {msg}") from None
    return mol


def check_auxbasis(mol, auxbasis: str) -> None:
    from pyscf import gto

    for elem in sorted({mol.atom_pure_symbol(i) for i in range(mol.natm)}):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if not gto.basis.load(auxbasis, elem):
                    raise ValueError("empty")
        except Exception:
            raise InputError(f"auxiliary basis {auxbasis!r} is not defined for {elem}") from None


def check_xc(xc: str) -> None:
    if xc.strip().lower() == "hf":
        return
    from pyscf.dft import libxc

    try:
        libxc.parse_xc(xc)
    except Exception:
        raise InputError(f"unknown xc functional {xc!r}") from None


# -- output ----------------------------------------------------------------------
def _check_output(path: str | None) -> None:
    if path in (None, "-"):
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise InputError(f"{path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{path}: directory {parent} is not writable")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory")


def _write_json(path: str, obj) -> None:
    text = json.dumps(obj, indent=2) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".deltascf-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)  # never a half-written file
    except BaseException:
        os.unlink(tmp)
        raise


# -- commands ------------------------------------------------------------------------
def _molecule_from_args(args):
    if (args.molecule is None) == (args.atom is None):
        raise InputError("give exactly one molecule: an XYZ file or --atom")
    atoms = read_xyz(args.molecule) if args.molecule is not None else parse_atom_string(args.atom)
    return build_mol(atoms, args.basis, args.charge, args.spin)


def _cmd_run(args) -> int:
    from .occupations import Occupation, SpecError
    from .report import format_states, make_states_summary
    from .results import Method
    from .scf import run_state_method

    # validate everything before the first SCF (design §9)
    mol = _molecule_from_args(args)
    check_xc(args.xc)
    try:
        method = Method(xc=args.xc, reference=args.reference, tracking=args.tracking,
                        density_fit=args.density_fit, grid_level=args.grid_level,
                        conv_tol=args.conv_tol, max_cycle=args.max_cycle)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if method.restricted and mol.spin != 0:
        raise InputError(f"reference {method.reference} needs spin 0 (got {mol.spin}); use uks or uhf")
    if args.density_fit:
        check_auxbasis(mol, args.density_fit)
    occupations = []
    for spec in args.state:
        try:
            occ = Occupation.parse(spec)
            occ.resolve(mol.nelec, mol.nao_nr(), method.restricted)
        except SpecError as exc:
            raise InputError(f"--state {spec!r}: {exc}") from None
        occupations.append(occ)
    _check_output(args.json)

    ground = run_state_method(mol, method, Occupation())
    labels, results = ["ground"], [ground]
    for k, occ in enumerate(o for o in occupations if not o.is_ground):
        labels.append(f"state{k + 1}")
        results.append(run_state_method(mol, method, occ, ground=ground))

    if args.json:
        _write_json(args.json, make_states_summary(labels, results, ground))
    if args.json != "-":
        print(format_states(labels, results, ground))
    code = EXIT_OK
    for label, r in zip(labels, results):
        if not r.converged:
            print(f"deltascf: warning: {label} ({r.spec}) did not converge in {r.cycles} cycles", file=sys.stderr)
            code = EXIT_NOT_CONVERGED
        if r.collapsed:
            print(f"deltascf: warning: {label} ({r.spec}) lost its target configuration "
                  f"(overlap {r.target_overlap.min():.3f})", file=sys.stderr)
    return code


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.version:
            from . import __version__

            print(__version__)
            return EXIT_OK
        if args.command is None:
            raise InputError("choose a command: run")
        return _cmd_run(args)
    except InputError as exc:
        print(f"deltascf: error: {exc}", file=sys.stderr)
        return EXIT_INPUT


def console() -> None:  # pragma: no cover - the installed entry point
    sys.exit(main())

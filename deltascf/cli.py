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
import warnings

EXIT_OK, EXIT_INPUT, EXIT_NOT_CONVERGED, EXIT_INTERRUPTED = 0, 2, 3, 130
#: atoms closer than this (Angstrom) are refused as a malformed geometry
MIN_DISTANCE_ANGSTROM = 0.1


class InputError(Exception):
    """Bad user input: reported as one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + error
        raise InputError(message)


def _add_common(p: argparse.ArgumentParser) -> None:
    """Molecule, method and output flags shared by run, scan and chempot."""
    p.add_argument("molecule", nargs="?", help="XYZ file (Angstrom), or a TOML input file (docs/api.md)")
    p.add_argument("--atom", help='PySCF atom string, e.g. "O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587" (Angstrom)')
    p.add_argument("--basis")
    p.add_argument("--xc", help='PySCF xc string, or "hf"')
    p.add_argument("--charge", type=int, default=0)
    p.add_argument("--spin", type=int, default=0, help="2S = N_alpha - N_beta")
    p.add_argument("--reference", default="uks", choices=["uks", "rks", "uhf", "rhf"])
    p.add_argument("--tracking", default="imom", choices=["imom", "mom"])
    p.add_argument("--density-fit", metavar="AUXBASIS", help="density fitting with this auxiliary basis")
    p.add_argument("--grid-level", type=int, help="PySCF grid level 0-9 (default 3)")
    p.add_argument("--conv-tol", type=float, default=1e-9, help="energy convergence (Hartree)")
    p.add_argument("--max-cycle", type=int, default=100)
    p.add_argument("--json", metavar="PATH", help="write JSON to PATH, or - for stdout")
    p.add_argument("--output", metavar="STUDY.h5", help="save the records to a new HDF5 study file (docs/io.md)")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="PySCF log on stderr (-v: SCF cycles, -vv: debug)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.add_argument("--print-python", action="store_true", help="print the equivalent Python script and exit")
    p.add_argument("--losc", choices=["post", "scf"], help="LOSC correction: post-SCF, or SCF-LOSC with frozen orbitalets")
    p.add_argument("--losc-fit-basis", metavar="AUXBASIS",
                   help="density-fit the Coulomb part of the LOSC curvature with this basis (default: exact)")
    p.add_argument("--losc-window", metavar="LO,HI", help="LOSC localization window in eV, e.g. -30,10")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deltascf", description="ΔSCF excited states on PySCF.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = sub.add_parser("run", help="converge the ground state and ΔSCF states")
    _add_common(run)
    run.add_argument("--state", action="append", default=[], metavar="SPEC",
                     help='occupation spec, e.g. "a:HOMO->LUMO" (repeatable; the ground state is always run)')
    scan = sub.add_parser("scan", help="E(N +/- delta) along one channel of a state")
    _add_common(scan)
    scan.add_argument("--state", default="ground", metavar="SPEC", help="state I (default ground)")
    scan.add_argument("--channel", help="add:<spin>:<orbital> or remove:<spin>:<orbital> (required)")
    grid = scan.add_mutually_exclusive_group()
    grid.add_argument("--points", type=int, default=11, help="evenly spaced delta points in [0, 1] (default 11)")
    grid.add_argument("--deltas", help="explicit sorted delta values, comma separated, e.g. 0,0.25,0.5,0.75,1")
    scan.add_argument("--mode", default="scf", choices=["scf", "ensemble"])
    chem = sub.add_parser("chempot", help="chemical potentials against orbital energies (theorem table)")
    _add_common(chem)
    chem.add_argument("--state", default="ground", metavar="SPEC", help="state I (default ground)")
    chem.add_argument("--channels", default="frontier",
                      help="frontier, valence, or a comma-separated list such as remove:a:HOMO,add:b:LUMO+1")
    rep = sub.add_parser("report", help="print the records of a study file (tables in eV)")
    rep.add_argument("study", help="HDF5 study file written with --output or deltascf.save")
    rep.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    plo = sub.add_parser("plot", help="draw the records of a study file (E(N), D(delta), eps, parity, states)")
    plo.add_argument("study", help="HDF5 study file written with --output or deltascf.save")
    plo.add_argument("-o", "--out", required=True, metavar="FIGURE",
                     help="figure file (.png, .pdf or .svg); with several records, -<kind>-<label> is added")
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
            mol.stdout = sys.stderr  # PySCF's log (-v) never mixes with tables or --json -
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
    from .io import write_atomically

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    write_atomically(path, write)  # never a half-written file


# -- commands ------------------------------------------------------------------------
def _molecule_from_args(args):
    if (args.molecule is None) == (args.atom is None):
        raise InputError("give exactly one molecule: an XYZ file or --atom")
    atoms = read_xyz(args.molecule) if args.molecule is not None else parse_atom_string(args.atom)
    return build_mol(atoms, args.basis, args.charge, args.spin)


def _setup(args):
    """Molecule and Method from the common flags, validated (design §9)."""
    from .results import Method

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
    _check_output(args.json)
    _check_output(args.output)
    if args.output and os.path.exists(args.output) and args.command == "run":
        raise InputError(f"{args.output}: exists; choose a new study file")
    return mol, method


def _losc_settings(args, mol, method):
    """LoscSettings from the --losc flags (None without --losc), validated before any SCF."""
    if args.losc is None:
        if args.losc_fit_basis or args.losc_window:
            raise InputError("--losc-fit-basis and --losc-window need --losc post|scf")
        return None
    from .functionals import LoscSettings, LoscUnsupported, make_dfa_weights

    try:
        make_dfa_weights(method.xc)
    except LoscUnsupported as exc:
        raise InputError(f"--losc: {exc}") from None
    window = None
    if args.losc_window:
        try:
            window = tuple(float(v) for v in args.losc_window.split(","))
            if len(window) != 2 or not all(math.isfinite(v) for v in window):
                raise ValueError
        except ValueError:
            raise InputError(f"--losc-window {args.losc_window!r}: expected two numbers LO,HI in eV") from None
    if args.losc_fit_basis:
        check_auxbasis(mol, args.losc_fit_basis)
    try:
        return LoscSettings(window=window, kappa_coulomb="df" if args.losc_fit_basis else "exact",
                            auxbasis=args.losc_fit_basis)
    except ValueError as exc:
        raise InputError(f"--losc-window: {exc}") from None


def _occupation(spec: str, mol, method):
    """Parsed Occupation and its target occupations on the aufbau orbitals."""
    from .occupations import Occupation, SpecError

    try:
        occ = Occupation.parse(spec)
        return occ, occ.resolve(mol.nelec, mol.nao_nr(), method.restricted).mo_occ
    except SpecError as exc:
        raise InputError(f"--state {spec!r}: {exc}") from None


def _need_unrestricted(method, what: str) -> None:
    if method.restricted:
        raise InputError(f"{what} needs an unrestricted reference (uks or uhf), not {method.reference}: "
                         "a fractional or added electron lives in one spin orbital")


def _warn(label: str, converged: bool, collapsed: bool) -> bool:
    """Warn on stderr; True when not converged (exit code 3)."""
    if not converged:
        print(f"deltascf: warning: {label} did not converge", file=sys.stderr)
    if collapsed:
        print(f"deltascf: warning: {label} lost its target configuration", file=sys.stderr)
    return not converged


def _warn_degenerate(label: str, degenerate: str) -> None:
    """Warn on stderr when a label picked one of several degenerate orbitals (theory §4)."""
    from .occupations import DEGENERACY_TOL

    if degenerate:
        print(f"deltascf: warning: {label}: orbitals {degenerate} are degenerate (within {DEGENERACY_TOL:g} Eh) "
              "and treated unequally; which of them moves is arbitrary", file=sys.stderr)


def _verbose(args) -> int:
    """PySCF log level from -v (its log goes to stderr, see build_mol)."""
    return {0: 0, 1: 4}.get(args.verbose, 5)


class _Progress:
    """Progress of a scan or table on stderr (tqdm), only on a terminal and without --quiet/--json -."""

    def __init__(self, args, total: int, unit: str):
        self.bar = None
        if args.quiet or args.json == "-" or not sys.stderr.isatty():
            return
        import shutil

        from tqdm import tqdm

        # a terminal that reports no size (0 columns) gets 80, so the bar still shows
        width = shutil.get_terminal_size((80, 20)).columns or 80
        # points take seconds each: redraw at every one (mininterval 0)
        self.bar = tqdm(total=total, unit=unit, file=sys.stderr, ncols=width, leave=False, mininterval=0)

    def __call__(self, what, result) -> None:
        if self.bar is None:
            return
        flag = "" if result.converged else " NOT CONVERGED"
        self.bar.set_postfix_str(f"{what}: E = {result.e_tot:.8f} Eh{flag}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Study:
    """Point-by-point persistence and resume of a scan or theorem table in an --output file.

    Every finished SCF is saved at once (atomically) as a state labelled
    ``<prefix>-<key>-<name>``, where ``key`` hashes every input that decides the
    result; the finished scan or table is saved as ``<prefix>-<key>-result``.  A re-run with the same inputs takes those states back and
    recomputes nothing finished; a file holding other results is refused
    before any SCF.
    """

    def __init__(self, args, mol, prefix: str, inputs: dict):
        self.path, self.mol, self.records, self.done = args.output, mol, {}, {}
        blob = json.dumps({"mol": [mol.atom_symbol(i) for i in range(mol.natm)],
                           "coords": mol.atom_coords().round(10).tolist(), "basis": mol.basis,
                           "charge": mol.charge, "spin": mol.spin, **inputs}, sort_keys=True, default=str)
        import hashlib

        self.stem = f"{prefix}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}-"
        self.final = None
        if not self.path or not os.path.exists(self.path):
            return
        from .io import load_all

        # temporaries of a writer that was killed mid-save (io writes .<name>.<hex>.tmp, then renames)
        import glob

        directory, base = os.path.split(os.path.abspath(self.path))
        for stale in glob.glob(os.path.join(directory, f".{glob.escape(base)}.*.tmp")):
            os.unlink(stale)

        try:
            self.records = load_all(self.path)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"{self.path}: {' '.join(str(exc).split())}") from None
        mine = {(kind, label[len(self.stem):]): r for (kind, label), r in self.records.items()
                if label.startswith(self.stem)}
        if not mine or len(mine) != len(self.records):
            raise InputError(f"{self.path}: holds results of other inputs; choose a new study file "
                             "(a re-run resumes only with identical inputs)")
        self.done = {name: r for (kind, name), r in mine.items() if kind == "states"}
        self.final = next((r for (kind, name), r in mine.items() if name == "result"), None)

    def save_point(self, name: str, result) -> None:
        if self.path:
            from .io import save

            save(self.path, result, mol=self.mol, label=f"{self.stem}{name}")


def _save_study(args, mol, records) -> None:
    """Write [(label, record)] to the --output study file (one atomic write per record)."""
    if not args.output:
        return
    from .io import save

    for label, record in records:
        save(args.output, record, mol=mol, label=label)


def _emit(args, summary: dict, text: str) -> None:
    if args.json:
        _write_json(args.json, summary)
    if args.json != "-":
        print(text)


def _cmd_run(args) -> int:
    from .occupations import Occupation
    from .report import format_states, make_states_summary
    from .scf import run_state_method

    mol, method = _setup(args)
    losc_settings = _losc_settings(args, mol, method)
    occupations = [_occupation(spec, mol, method)[0] for spec in args.state]

    verbose = _verbose(args)
    ground = run_state_method(mol, method, Occupation(), verbose=verbose)
    labels, results = ["ground"], [ground]
    for k, occ in enumerate(o for o in occupations if not o.is_ground):
        labels.append(f"state{k + 1}")
        results.append(run_state_method(mol, method, occ, ground=ground, verbose=verbose))
    corrections = None
    if args.losc:
        from .scf import run_losc

        corrections = [run_losc(mol, r, args.losc, losc_settings, verbose) for r in results]

    _save_study(args, mol, list(zip(labels, results)) + list(zip(labels, corrections or [])))
    _emit(args, make_states_summary(labels, results, ground, corrections),
          format_states(labels, results, ground, corrections))
    failed = [_warn(f"{label} ({r.spec})", r.converged, r.collapsed) for label, r in zip(labels, results)]
    for label, r in zip(labels, results):
        _warn_degenerate(f"{label} ({r.spec})", r.degenerate)
    for label, c in zip(labels, corrections or []):
        if c.state is not None:
            failed.append(_warn(f"{label} SCF-LOSC", c.state.converged, c.state.collapsed))
    return EXIT_NOT_CONVERGED if any(failed) else EXIT_OK


def _parse_deltas(text: str):
    from .fractional import make_deltas

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
        return make_deltas(values)
    except ValueError as exc:
        raise InputError(f"--deltas {text!r}: {exc}") from None


def _cmd_scan(args) -> int:
    import numpy as np

    from .fractional import make_deltas, scan_charge
    from .occupations import Channel, SpecError
    from .report import format_scan, make_scan_summary

    mol, method = _setup(args)
    _need_unrestricted(method, "a charge scan")
    losc_settings = _losc_settings(args, mol, method)
    if args.losc and args.mode != "scf":
        raise InputError("--losc needs --mode scf (the ensemble route has no orbitals per point)")
    occ, target = _occupation(args.state, mol, method)
    try:
        channel = Channel.parse(args.channel)
        channel.resolve(target)
    except SpecError as exc:
        raise InputError(f"--channel {args.channel!r}: {exc}") from None
    if args.deltas is not None:
        deltas = _parse_deltas(args.deltas)
    else:
        try:
            deltas = make_deltas(None, args.points)
        except ValueError as exc:
            raise InputError(f"--points: {exc}") from None

    grid = np.union1d(deltas, [0.0, 1.0])
    study = _Study(args, mol, "scan", {"method": method.to_dict(), "state": str(occ), "channel": str(channel),
                                       "deltas": grid.tolist(), "mode": args.mode, "losc": args.losc,
                                       "losc_settings": losc_settings and losc_settings.to_dict()})
    done = {float(k): r for k, r in study.done.items()}
    progress = _Progress(args, total=grid.size - len(done), unit="point")

    def on_point(d, r):
        study.save_point(f"{d:.12g}", r)
        progress(f"delta {d:g}", r)

    try:
        scan = scan_charge(mol, method.xc, occ, channel, deltas=deltas, mode=args.mode, reference=method.reference,
                           tracking=method.tracking, density_fit=method.density_fit, grid_level=method.grid_level,
                           conv_tol=method.conv_tol, max_cycle=method.max_cycle, losc=args.losc,
                           losc_settings=losc_settings, callback=on_point, done=done, verbose=_verbose(args))
    finally:
        progress.close()
    if study.final is None:
        _save_study(args, mol, [(f"{study.stem}result", scan)])
    _emit(args, make_scan_summary(scan), format_scan(scan))
    failed = [_warn(f"point delta = {d:g}", c, x) for d, c, x in zip(scan.delta, scan.converged, scan.collapsed)]
    _warn_degenerate(f"channel {scan.channel}", scan.degenerate)
    return EXIT_NOT_CONVERGED if any(failed) else EXIT_OK


def _cmd_chempot(args) -> int:
    from .chempot import chemical_potentials, make_channels
    from .occupations import SpecError
    from .report import format_theorem, make_theorem_summary

    mol, method = _setup(args)
    _need_unrestricted(method, "a chemical potential")
    losc_settings = _losc_settings(args, mol, method)
    occ, target = _occupation(args.state, mol, method)
    try:
        from pyscf.data.elements import chemcore

        channels = make_channels(target, args.channels, chemcore(mol))
        if not channels:
            raise SpecError("no channels")
        for ch in channels:
            ch.resolve(target)
    except SpecError as exc:
        raise InputError(f"--channels {args.channels!r}: {exc}") from None

    study = _Study(args, mol, "theorem", {"method": method.to_dict(), "state": str(occ),
                                          "channels": [str(c) for c in channels], "losc": args.losc,
                                          "losc_settings": losc_settings and losc_settings.to_dict()})
    progress = _Progress(args, total=len(channels) + 1 - len(study.done), unit="state")

    def on_state(name, r):
        study.save_point(name, r)
        progress(name, r)

    try:
        table = chemical_potentials(mol, method.xc, occ, args.channels, reference=method.reference,
                                    tracking=method.tracking, density_fit=method.density_fit,
                                    grid_level=method.grid_level, conv_tol=method.conv_tol,
                                    max_cycle=method.max_cycle, losc=args.losc, losc_settings=losc_settings,
                                    callback=on_state, done=study.done, verbose=_verbose(args))
    finally:
        progress.close()
    if study.final is None:
        _save_study(args, mol, [(f"{study.stem}result", table)])
    _emit(args, make_theorem_summary(table), format_theorem(table))
    failed = [_warn(f"channel {r.channel}", r.converged, r.collapsed) for r in table.rows]
    for r in table.rows:
        _warn_degenerate(f"channel {r.channel}", r.degenerate)
    return EXIT_NOT_CONVERGED if any(failed) else EXIT_OK


def _is_point(label: str) -> bool:
    """A state saved point by point by a scan or table (drawn and reported with its scan or table)."""
    import re

    return re.match(r"^(scan|theorem)-[0-9a-f]{12}-", label) is not None and not label.endswith("-result")


def _cmd_report(args) -> int:
    from .io import load_all
    from .report import make_study_report

    try:
        records = load_all(args.study)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{args.study}: {' '.join(str(exc).split())}") from None
    summary, text = make_study_report({k: r for k, r in records.items() if not _is_point(k[1])})
    if args.json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        print(text)
    return EXIT_OK


def _cmd_plot(args) -> int:
    from .io import load_all
    from .plot import FORMATS, make_scan_figure, make_states_figure, make_theorem_parity, save_figure

    root, suffix = os.path.splitext(args.out)
    if suffix.lower() not in FORMATS:
        raise InputError(f"{args.out}: choose a figure file ending in {', '.join(FORMATS)}")
    _check_output(args.out)
    try:
        records = load_all(args.study)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{args.study}: {' '.join(str(exc).split())}") from None
    figures = []
    states = {label: r for (kind, label), r in records.items() if kind == "states" and not _is_point(label)}
    if states:
        labels = sorted(states, key=lambda k: (k != "ground", states[k].e_tot))
        figures.append(("states", "all", make_states_figure(labels, [states[k] for k in labels], states[labels[0]])))
    for (kind, label), r in sorted(records.items()):
        if kind == "scans":
            figures.append((kind, label, make_scan_figure(r)))
        elif kind == "theorem":
            figures.append((kind, label, make_theorem_parity(r)))
    if not figures:
        raise InputError(f"{args.study}: no states, scans or theorem tables to draw")
    for kind, label, fig in figures:
        path = args.out if len(figures) == 1 else f"{root}-{kind}-{label}{suffix}"
        print(save_figure(fig, path))
    return EXIT_OK


COMMANDS = {"run": _cmd_run, "scan": _cmd_scan, "chempot": _cmd_chempot, "report": _cmd_report, "plot": _cmd_plot}


def _explicit_options(argv) -> set:
    """Dest names of the options given on the command line (their defaults suppressed)."""
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for a in sub._actions:
                    a.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(argv)))


def _apply_input_file(args, argv) -> None:
    """Lay a TOML input file under the command line: a flag given on the command line wins."""
    from .inputs import InputFileError, read_input

    try:
        opts = read_input(args.molecule, command=args.command)
    except InputFileError as exc:
        raise InputError(str(exc)) from None
    explicit = _explicit_options(argv) - {"molecule"}  # the positional was the TOML file itself
    args.molecule = None
    for key, value in opts.items():
        if key != "command" and key not in explicit:
            setattr(args, key, value)


def _check_required(args) -> None:
    for dest, flag in (("basis", "--basis"), ("xc", "--xc")) + ((("channel", "--channel"),)
                                                              if args.command == "scan" else ()):
        if not getattr(args, dest):
            raise InputError(f"{flag} is required (on the command line or in the input file)")


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.version:
            from . import __version__

            print(__version__)
            return EXIT_OK
        if args.command is None:
            raise InputError("choose a command: " + ", ".join(COMMANDS))
        if args.command in ("run", "scan", "chempot"):
            if args.molecule is not None and args.molecule.lower().endswith(".toml"):
                _apply_input_file(args, sys.argv[1:] if argv is None else argv)
            _check_required(args)
            if args.print_python:
                from .inputs import make_python_script

                try:
                    sys.stdout.write(make_python_script(args))
                except ValueError as exc:
                    raise InputError(str(exc)) from None
                return EXIT_OK
        return COMMANDS[args.command](args)
    except InputError as exc:
        print(f"deltascf: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        saved = getattr(args, "output", None) if "args" in locals() else None
        where = f"; finished points are in {saved}, re-run the same command to resume" if saved else ""
        print(f"deltascf: interrupted{where}", file=sys.stderr)
        return EXIT_INTERRUPTED


def console() -> None:  # pragma: no cover - the installed entry point
    sys.exit(main())

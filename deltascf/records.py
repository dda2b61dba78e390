"""Frozen records: the settings of a computation, its results, and the inputs of a task.  No numerics.

* :class:`Method` is the one source of settings: each field carries its default, allowed values and help
  (:func:`deltascf.settings.option`), and the command line, the TOML reader and ``--print-python`` are generated
  from them (``deltascf.cli.options``).  Every driver takes ``method=``.
* Results (:class:`ScfResult`, :class:`ChargeScan`, :class:`TheoremTable`, :class:`StateSet`) carry their
  :class:`Provenance`: the deltascf and PySCF versions and the molecule's user-level inputs, beside the method.
* A :class:`Task` (a :class:`Molecule`, a :class:`Method` and a job: :class:`StatesJob`, :class:`ScanJob` or
  :class:`TheoremJob`) is everything a worker needs to rebuild and run a computation; its ``key`` is a stable
  hash of those inputs.

Every record is a frozen dataclass.  Arrays are copied on construction and made read-only, and pickling goes
through the constructor, so a record that crosses a process boundary comes back frozen too (design §4).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .settings import check_fields, option

__all__ = ["Record", "Method", "Correction", "Provenance", "ScfResult", "State", "ChargeScan", "TheoremRow", "TheoremTable",
           "StateSet", "Molecule", "StatesJob", "ScanJob", "TheoremJob", "Task", "CorrectionResult", "DEFAULT_POINTS",
           "MAX_POINTS", "N_VIRTUAL", "REFERENCES", "TRACKINGS", "SOLVERS", "SCAN_MODES", "PREDICTORS", "DEVICES",
           "GPU_AUXBASIS", "CORRECTION_MODES", "make_key",
           "make_provenance", "molecule_inputs", "frozen_array"]

REFERENCES = ("uks", "rks", "uhf", "rhf", "roks", "rohf")
TRACKINGS = ("imom", "mom")
SOLVERS = ("diis", "newton")
SCAN_MODES = ("scf", "ensemble")
#: how a scf-mode scan guesses each point's density (deltascf.fractional.scan)
PREDICTORS = ("history", "response")
#: where states are converged: PySCF on the CPU, or gpu4pyscf on an NVIDIA GPU (deltascf.gpu)
DEVICES = ("cpu", "gpu")
#: the auxiliary basis of ``device="gpu"`` when none is given: the GPU runs density-fitted (design §17)
GPU_AUXBASIS = "def2-universal-jkfit"
#: δ points of a scan by default, and the most a δ grid may have
DEFAULT_POINTS, MAX_POINTS = 11, 10_000
#: lowest empty orbitals per spin given an addition channel by ``channels="valence"``
N_VIRTUAL = 3
#: how a correction is applied: after the SCF, or inside it with frozen ingredients (theory §5.8)
CORRECTION_MODES = ("post", "scf")


# -- base behaviour: frozen arrays, pickling through the constructor ----------------------------------------
def frozen_array(x, dtype=float) -> np.ndarray:
    """A read-only copy of ``x`` (host memory)."""
    arr = np.array(x, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


class Record:
    """Base of every frozen record (a correction's result record too).

    Pickling goes through the constructor: ``__post_init__`` runs again, so arrays come back read-only copies.
    """

    __slots__ = ()

    def __reduce__(self):
        return self.__class__._from_fields, (tuple((f.name, getattr(self, f.name))
                                                   for f in dataclasses.fields(self)),)

    @classmethod
    def _from_fields(cls, items):
        return cls(**dict(items))


def _plain(value):
    """JSON-ready view of a field value (records as dicts, arrays as lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _tuplify(x):
    if isinstance(x, list):
        return tuple(_tuplify(v) for v in x)
    return x


# -- the correction a method applies ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Correction(Record):
    """A delocalization correction: its registry ``name``, ``mode`` ("post" or "scf") and ``settings``.

    ``settings`` is the correction's own frozen settings record (``LoscSettings`` for LOSC); None or a dict
    is turned into it, so equal corrections compare equal.  Written ``"losc"`` or ``"losc:scf"`` in short.
    """

    name: str
    mode: str = "post"
    settings: object = None

    def __post_init__(self):
        from .corrections import get_correction

        impl = get_correction(self.name)  # raises ValueError for an unknown name
        object.__setattr__(self, "name", impl.NAME)
        mode = str(self.mode).strip().lower()
        if mode not in CORRECTION_MODES:
            raise ValueError(f"correction mode must be one of {', '.join(CORRECTION_MODES)}, got {self.mode!r}")
        modes = getattr(impl, "MODES", CORRECTION_MODES)
        if mode not in modes:
            raise ValueError(f"{impl.NAME} has no {mode} mode (its modes: {', '.join(modes)})")
        object.__setattr__(self, "mode", mode)
        settings = self.settings
        if settings is None:
            settings = impl.Settings()
        elif isinstance(settings, dict):
            settings = impl.Settings(**{k: _tuplify(v) for k, v in settings.items()})
        elif not isinstance(settings, impl.Settings):
            raise TypeError(f"{impl.NAME} settings must be a {impl.Settings.__name__}, "
                            f"not {type(settings).__name__}")
        object.__setattr__(self, "settings", settings)

    @classmethod
    def parse(cls, value) -> "Correction | None":
        """``None``, a Correction, ``"name[:mode]"`` or a dict {name, mode, settings}."""
        if value is None or isinstance(value, Correction):
            return value
        if isinstance(value, dict):
            return cls(**value)
        if not isinstance(value, str):
            raise TypeError(f"correction must be a string such as 'losc:scf', not {type(value).__name__}")
        name, _, mode = value.strip().partition(":")
        return cls(name.strip().lower(), mode.strip() or "post")

    def __str__(self) -> str:
        return f"{self.name}:{self.mode}"

    def to_dict(self) -> dict:
        """Plain-Python view: name, mode and the correction's settings as a dict."""
        return {"name": self.name, "mode": self.mode, "settings": _plain(self.settings)}


def _check_xc(xc: str) -> None:
    """Refuse an xc string PySCF cannot use, and dispersion suffixes (-d3bj, -d4): ValueError naming ``xc``."""
    from pyscf.dft import libxc
    from pyscf.scf.dispersion import parse_dft

    try:
        base, _, disp = parse_dft(xc)
    except Exception:
        raise ValueError(f"xc: unknown functional {xc!r}") from None
    if disp:
        raise ValueError(f"xc: {xc!r} asks for a dispersion correction ({disp}), which deltascf does not apply: "
                         "it adds the same energy to every state of one geometry; give the functional alone")
    try:
        libxc.parse_xc(base)
    except Exception:  # libxc raises KeyError, ValueError or worse for a name it does not know
        raise ValueError(f"xc: unknown functional {xc!r}") from None


@dataclass(frozen=True, slots=True)
class Method(Record):
    """How every state of a computation is made: functional, reference, grids, SCF settings and correction.

    ``xc`` is any PySCF xc string or ``"hf"``; for ``xc="hf"`` the KS and HF reference names mean the same.
    ``density_fit`` names an auxiliary basis (None: exact integrals).  ``grid_level`` None keeps PySCF's
    default (3).  ``correction`` is None, a :class:`Correction` or its short form (``"losc"``, ``"losc:scf"``).
    """

    xc: str = option("b3lyp", 'PySCF xc string, or "hf"')
    reference: str = option("uks", "reference determinant", choices=REFERENCES)
    tracking: str = option("imom", "overlap tracking: IMOM (initial orbitals) or MOM (previous iteration)",
                           choices=TRACKINGS)
    density_fit: str | None = option(None, "density fitting with this auxiliary basis", metavar="AUXBASIS")
    grid_level: int | None = option(None, "PySCF grid level 0-9 (default 3)", int, lo=0, hi=9)
    conv_tol: float = option(1e-9, "energy convergence (Hartree, at most 1e-3)", positive=True, hi=1e-3)
    conv_tol_grad: float | None = option(None, "orbital-gradient convergence (default sqrt(conv_tol); at most 0.1)",
                                         float, positive=True, hi=0.1)
    max_cycle: int = option(100, "most SCF cycles (Newton steps with --solver newton)", lo=1)
    correction: Correction | None = None
    solver: str = option("diis", "orbital update: PySCF's DIIS with MOM/IMOM occupations, or Newton-Krylov steps on "
                         "the orbital rotations (a saddle-point solver; theory §1.9)", choices=SOLVERS)
    device: str = option("cpu", "where states are converged: the CPU (PySCF) or an NVIDIA GPU (gpu4pyscf, density "
                         f"fitted, with {GPU_AUXBASIS} unless --density-fit names another basis)", choices=DEVICES)

    def __post_init__(self):
        check_fields(self)
        if self.device == "gpu":
            if self.density_fit is None:
                object.__setattr__(self, "density_fit", GPU_AUXBASIS)
            if self.solver != "diis":
                raise ValueError("device gpu: the Newton-Krylov solver runs on the CPU only; use --solver diis")
            if self.reference in ("roks", "rohf"):
                raise ValueError(f"device gpu: reference {self.reference} runs on the CPU only")
        object.__setattr__(self, "xc", self.xc.lower())
        if self.xc != "hf":
            _check_xc(self.xc)
        object.__setattr__(self, "correction", Correction.parse(self.correction))
        if self.reference in ("roks", "rohf"):
            if self.correction is not None:
                raise ValueError(f"reference {self.reference}: corrections apply to UKS/RKS states, not to ROKS ones")
            if self.tracking != "imom":
                raise ValueError(f"reference {self.reference}: ROKS states are not tracked; drop --tracking")

    @property
    def restricted(self) -> bool:
        """True for a restricted reference (rks, rhf)."""
        return self.reference in ("rks", "rhf")

    @property
    def is_hf(self) -> bool:
        """True for Hartree-Fock (``xc == "hf"``)."""
        return self.xc == "hf"

    @property
    def base(self) -> "Method":
        """The same method without its correction (the parent functional)."""
        return dataclasses.replace(self, correction=None)

    def to_dict(self) -> dict:
        """Plain-Python view of every setting (the correction as a dict); ``solver`` and ``device`` are left out at
        their defaults."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["correction"] = None if self.correction is None else self.correction.to_dict()
        for name, default in (("solver", "diis"), ("device", "cpu")):
            if out[name] == default:  # added after studies existed: left out at its default, so their keys stay
                del out[name]
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Method":
        """The Method of a :meth:`to_dict` view (the correction may be a dict)."""
        return cls(**d)


@dataclass(frozen=True, slots=True)
class Provenance(Record):
    """Where a record came from: the deltascf and PySCF versions and the molecule's user-level inputs.

    ``molecule`` is canonical JSON of the inputs that define the molecule (atoms, basis, charge, spin, unit,
    …), without PySCF's integral tables or log settings (:func:`make_provenance`).
    """

    deltascf: str
    pyscf: str
    molecule: str = ""

    @property
    def versions(self) -> dict:
        """{package: version} of deltascf and PySCF."""
        return {"deltascf": self.deltascf, "pyscf": self.pyscf}


def molecule_inputs(mol) -> dict:
    """The user-level inputs that define a PySCF Mole, in a canonical form.

    Atoms as [symbol, [x, y, z]] in Angstrom (rounded to 1e-10 Å, so equal geometries give equal inputs
    whatever format they were written in), the basis and ECP as given, charge, spin and ``cart``.  Enough to
    build the molecule again with ``gto.M(**inputs)``.
    """
    coords = np.round(mol.atom_coords(unit="Angstrom"), 10) + 0.0  # + 0.0: no negative zeros
    atom = [[mol.atom_symbol(i), coords[i].tolist()] for i in range(mol.natm)]
    return {"atom": atom, "unit": "Angstrom", "basis": mol.basis, "ecp": mol.ecp or {}, "charge": int(mol.charge),
            "spin": int(mol.spin), "cart": bool(mol.cart)}


def make_provenance(mol) -> Provenance:
    """Where a record came from: the molecule's geometry and basis, the deltascf and PySCF versions."""
    import pyscf

    from . import __version__

    return Provenance(__version__, pyscf.__version__, json.dumps(molecule_inputs(mol), sort_keys=True, default=str))


# -- results ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class ScfResult(Record):
    """One self-consistent state (ground, ΔSCF or fractional).

    Shapes: unrestricted ``mo_energy``/``mo_occ`` (2, nmo) and ``mo_coeff`` (2, nao, nmo); restricted (nmo,)
    and (nao, nmo).  Energies in Hartree.  Orbitals are canonical within each group of equal occupation.

    Attributes
    ----------
    spec : str
        The occupation spec as given (canonical form).
    resolved : str
        The spec with labels resolved to 0-based indices.
    target_occ : ndarray
        Target occupations on the reference (ground-state) orbitals.
    target_overlap : ndarray, shape (2,)
        Per-spin similarity of the final density with the target density (1 = identical occupied space;
        theory §1.3).
    max_grad : float
        max |(n_p - n_q) F_pq| over all orbital pairs; theory (1.3).
    collapsed : bool
        The solution lost its target configuration (for example fell back to the ground state).
    collapse_reason : str
        The evidence for ``collapsed``, readable, reasons separated by "; " (empty when not collapsed); see
        :func:`deltascf.tracking.make_collapse_reasons`.
    degenerate : str
        Degenerate reference orbitals that the spec treats unequally, so that which of them moves is
        arbitrary, e.g. ``"a:19,20; a:21,22"`` for benzene's ``a:HOMO->LUMO`` (theory §4); empty when none.
    """

    e_tot: float
    mo_energy: np.ndarray
    mo_occ: np.ndarray
    mo_coeff: np.ndarray
    nelec: tuple
    converged: bool
    cycles: int
    s2: float
    spec: str
    resolved: str
    target_occ: np.ndarray
    target_overlap: np.ndarray
    max_grad: float
    collapsed: bool
    method: Method
    n_fock: int = 0
    degenerate: str = ""
    provenance: Provenance | None = None
    collapse_reason: str = ""

    def __post_init__(self):
        for name in ("mo_energy", "mo_occ", "mo_coeff", "target_occ", "target_overlap"):
            object.__setattr__(self, name, frozen_array(getattr(self, name)))
        object.__setattr__(self, "e_tot", float(self.e_tot))
        object.__setattr__(self, "s2", float(self.s2))
        object.__setattr__(self, "max_grad", float(self.max_grad))
        object.__setattr__(self, "converged", bool(self.converged))
        object.__setattr__(self, "collapsed", bool(self.collapsed))
        object.__setattr__(self, "cycles", int(self.cycles))
        object.__setattr__(self, "n_fock", int(self.n_fock))
        object.__setattr__(self, "nelec", tuple(float(x) for x in self.nelec))

    @property
    def restricted(self) -> bool:
        """True for a restricted state (one set of orbitals, occupations 0 to 2)."""
        return self.mo_occ.ndim == 1

    @property
    def nelectron(self) -> float:
        """The number of electrons, Σ mo_occ (fractional for a fractional state)."""
        return float(self.mo_occ.sum())

    @property
    def versions(self) -> dict:
        """{package: version} of the run that made the record; empty without provenance."""
        return {} if self.provenance is None else self.provenance.versions

    def to_dict(self) -> dict:
        """Plain-Python view (lists and scalars), energies in Hartree."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "ScfResult":
        """The record of a :meth:`to_dict` view (arrays from lists, nested records from dicts)."""
        kw = dict(d)
        kw["method"] = Method.from_dict(kw["method"])
        kw["nelec"] = tuple(kw["nelec"])
        if kw.get("provenance") is not None:
            kw["provenance"] = Provenance(**kw["provenance"])
        return cls(**kw)


#: The issue tracker calls the record a State; design.md calls it ScfResult.
State = ScfResult


class CorrectionResult(Protocol):
    """What every correction's result record offers (``LoscResult`` is one); theory §5.

    ``mode`` is "post" (the state's own orbitals, corrected energies) or "scf" (a new self-consistent
    ``state``).  ``e_tot = e_dfa + de``; ``mo_energy`` has the shape of the state's.  ``notes`` (optional)
    holds what a reader should be told, one line each (the CLI prints them as warnings).
    """

    de: float
    e_dfa: float
    e_tot: float
    mo_energy: np.ndarray
    mode: str
    state: ScfResult | None
    settings: object


@dataclass(frozen=True, slots=True, eq=False)
class ChargeScan(Record):
    """E(δ) along one channel; δ = 0 is the lower-N end, δ = 1 the upper-N end; theory §2.

    ``orbital`` is the channel orbital's index in state I; ``orbitals`` its index at every point (tracked by
    overlap).  Energies in Hartree.  ``points`` holds the per-point records in scf mode and the two integer end
    states (low, high) in ensemble mode.  With a correction (``method.correction``), ``e_tot`` and ``eps`` are
    the corrected values, ``e_dfa`` holds the parent functional's energies and ``corrections`` the per-point
    correction records.
    """

    state: str
    channel: str
    mode: str
    spin: int
    orbital: int
    delta: np.ndarray
    n_electrons: np.ndarray
    e_tot: np.ndarray
    eps: np.ndarray
    converged: np.ndarray
    collapsed: np.ndarray
    target_overlap: np.ndarray
    n_fock: np.ndarray
    orbitals: np.ndarray
    e_dev: np.ndarray
    max_abs_deviation: float
    deviation_half: float
    curvature_fit: float
    curvature_janak: float
    curvature_half: float
    slope: float
    eps_low: float
    eps_high: float
    janak_residual: float
    method: Method
    points: tuple
    e_dfa: np.ndarray
    corrections: tuple = ()
    degenerate: str = ""  # the channel orbital's degenerate group in I (theory §4), e.g. "a:19,20"
    provenance: Provenance | None = None

    def __post_init__(self):
        for name in ("delta", "n_electrons", "e_tot", "eps", "target_overlap", "e_dev", "e_dfa"):
            object.__setattr__(self, name, frozen_array(getattr(self, name)))
        for name, dtype in (("converged", bool), ("collapsed", bool), ("n_fock", int), ("orbitals", int)):
            object.__setattr__(self, name, frozen_array(getattr(self, name), dtype))
        for name in ("max_abs_deviation", "deviation_half", "curvature_fit", "curvature_janak", "curvature_half",
                     "slope", "eps_low", "eps_high", "janak_residual"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "spin", int(self.spin))
        object.__setattr__(self, "orbital", int(self.orbital))
        object.__setattr__(self, "points", tuple(self.points))
        object.__setattr__(self, "corrections", tuple(self.corrections))

    @property
    def all_converged(self) -> bool:
        """True when every point converged."""
        return bool(self.converged.all())


@dataclass(frozen=True, slots=True)
class TheoremRow(Record):
    """One channel of the theorem table (Hartree); theory §3.3.

    ``eps`` is ε_p of state I (T1 for a removal, T3 for an addition); ``eps_neighbour`` is ε of the same orbital
    in the neighbour state (T2, T4).  ``mu`` is the slope of the line between the two states and ``delta_scf``
    the ΔSCF IP (removal, E_K − E_I) or EA (addition, E_I − E_J).
    """

    channel: str
    kind: str
    spin: int
    orbital: int
    label: str
    eps: float
    eps_neighbour: float
    mu: float
    delta_scf: float
    e_state: float
    e_neighbour: float
    neighbour_orbital: int
    converged: bool
    collapsed: bool
    degenerate: str = ""  # the channel orbital's degenerate group in I (theory §4), e.g. "a:19,20"

    @property
    def error(self) -> float:
        """ε − μ at state I (T1/T3)."""
        return self.eps - self.mu

    @property
    def error_neighbour(self) -> float:
        """ε − μ at the neighbour state (T2/T4)."""
        return self.eps_neighbour - self.mu


@dataclass(frozen=True, slots=True, eq=False)
class TheoremTable(Record):
    """Chemical potentials of state I against its orbital energies; theory §3.

    With a correction, ``corrections`` holds the record of I, then of each neighbour.
    """

    state: str
    resolved: str
    e_tot: float
    rows: tuple
    method: Method
    neighbours: tuple
    corrections: tuple = ()
    provenance: Provenance | None = None

    def __post_init__(self):
        for name in ("rows", "neighbours", "corrections"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def all_converged(self) -> bool:
        """True when every row's states converged."""
        return all(r.converged for r in self.rows)


@dataclass(frozen=True, slots=True, eq=False)
class StateSet(Record):
    """The states of one ``run``: the ground state first, with their corrections when the method has one."""

    labels: tuple
    states: tuple
    method: Method
    corrections: tuple = ()
    provenance: Provenance | None = None

    def __post_init__(self):
        for name in ("labels", "states", "corrections"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if len(self.labels) != len(self.states) or (self.corrections and len(self.corrections) != len(self.states)):
            raise ValueError("a StateSet needs one label (and one correction, if any) per state")

    @property
    def ground(self) -> ScfResult:
        """The ground state (always the first state of the set)."""
        return self.states[0]

    @property
    def all_converged(self) -> bool:
        """True when every state converged, and every SCF-mode correction's state too."""
        return all(s.converged for s in self.states) and all(
            c.state is None or c.state.converged for c in self.corrections)


# -- the inputs of a task --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Molecule(Record):
    """A molecule as a user gives it: atoms (symbol, (x, y, z) in Angstrom), basis, charge, spin (2S)."""

    atom: tuple
    basis: str = option(dataclasses.MISSING, "basis set name (PySCF)")
    charge: int = option(0, "total charge")
    spin: int = option(0, "2S = N_alpha - N_beta", lo=0)

    def __post_init__(self):
        # + 0.0: -0.0 and 0.0 are one coordinate (and one task key)
        object.__setattr__(self, "atom", tuple((str(s), tuple(float(x) + 0.0 for x in xyz)) for s, xyz in self.atom))
        check_fields(self)

    def build(self, verbose: int = 0):
        """A built PySCF Mole (Angstrom)."""
        from pyscf import gto

        return gto.M(atom=[[s, list(xyz)] for s, xyz in self.atom], basis=self.basis, charge=self.charge,
                     spin=self.spin, unit="Angstrom", verbose=verbose)


@dataclass(frozen=True, slots=True)
class StatesJob(Record):
    """``run``: the ground state and each spec (labels ``ground``, ``state1``, …)."""

    specs: tuple = ()

    def __post_init__(self):
        specs = (self.specs,) if isinstance(self.specs, str) else self.specs
        object.__setattr__(self, "specs", tuple(str(s) for s in specs))


@dataclass(frozen=True, slots=True)
class ScanJob(Record):
    """``scan``: E(N ± δ) of ``state`` along ``channel`` over ``deltas`` (or ``points`` evenly spaced)."""

    channel: str
    state: str = "ground"
    deltas: tuple | None = None
    points: int = option(DEFAULT_POINTS, "evenly spaced δ points in [0, 1]", lo=2, hi=MAX_POINTS)
    mode: str = option("scf", "route: self-consistent points or ensemble densities", choices=SCAN_MODES)
    predictor: str = option("history", "scf route: guess each point's density from the converged points, or also "
                            "from the relaxed response of the state (theory §6.7)", choices=PREDICTORS)

    def __post_init__(self):
        if self.deltas is not None:
            object.__setattr__(self, "deltas", tuple(float(d) for d in np.ravel(self.deltas)))
        check_fields(self)


@dataclass(frozen=True, slots=True)
class TheoremJob(Record):
    """``chempot``: the theorem table of ``state`` for ``channels`` ("frontier", "valence" or a list)."""

    state: str = "ground"
    channels: object = "frontier"
    n_virtual: int = option(N_VIRTUAL, "empty orbitals per spin of the valence channel set", lo=0)

    def __post_init__(self):
        if not isinstance(self.channels, str):
            object.__setattr__(self, "channels", tuple(str(c) for c in self.channels))
        check_fields(self)


JOBS = {"run": StatesJob, "scan": ScanJob, "chempot": TheoremJob}


@dataclass(frozen=True, slots=True)
class Task(Record):
    """A molecule, a method and a job: everything a worker needs; ``key`` hashes it stably."""

    molecule: Molecule
    method: Method
    job: object

    @property
    def command(self) -> str:
        """The job's command: ``run``, ``scan`` or ``chempot``."""
        return next(name for name, cls in JOBS.items() if isinstance(self.job, cls))

    @property
    def key(self) -> str:
        """A stable 12-hex-digit hash of molecule, method and job: the task's name in a batch."""
        job = _plain(self.job)
        if job.get("predictor") == "history":  # added after batches existed: left out at its default (a guess
            del job["predictor"]  # changes no result), so their keys stay
        return make_key({"molecule": _plain(self.molecule), "method": self.method.to_dict(),
                         "command": self.command, "job": job})


def make_key(inputs: dict) -> str:
    """A stable 12-hex-digit hash of JSON-ready inputs (sorted keys; floats by repr)."""
    blob = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]

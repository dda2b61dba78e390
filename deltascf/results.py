"""Frozen result records.  No numerics here.

Every array is copied on construction and marked read-only, so records are
safe to share between threads and processes (design §4).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Method", "ScfResult", "State"]

REFERENCES = ("uks", "rks", "uhf", "rhf")
TRACKINGS = ("imom", "mom")


def _frozen_array(x) -> np.ndarray:
    arr = np.array(x, dtype=float, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, slots=True)
class Method:
    """How a state is computed: functional, reference, grids and SCF settings.

    ``xc`` is any PySCF xc string or ``"hf"``.  ``reference`` is one of
    ``uks``, ``rks``, ``uhf``, ``rhf``; for ``xc="hf"`` the KS and HF names
    mean the same.  ``density_fit`` names an auxiliary basis (or is None for
    exact integrals).  ``grid_level`` None keeps PySCF's default (3).
    """

    xc: str = "b3lyp"
    reference: str = "uks"
    tracking: str = "imom"
    density_fit: str | None = None
    grid_level: int | None = None
    conv_tol: float = 1e-9
    conv_tol_grad: float | None = None
    max_cycle: int = 100

    def __post_init__(self):
        object.__setattr__(self, "xc", str(self.xc).strip().lower())
        object.__setattr__(self, "reference", str(self.reference).strip().lower())
        object.__setattr__(self, "tracking", str(self.tracking).strip().lower())
        if self.reference not in REFERENCES:
            raise ValueError(f"unknown reference {self.reference!r}; choose one of {', '.join(REFERENCES)}")
        if self.tracking not in TRACKINGS:
            raise ValueError(f"unknown tracking {self.tracking!r}; choose one of {', '.join(TRACKINGS)}")
        if not (np.isfinite(self.conv_tol) and self.conv_tol > 0):
            raise ValueError(f"conv_tol must be a positive number, got {self.conv_tol!r}")
        if self.conv_tol_grad is not None and not (np.isfinite(self.conv_tol_grad) and self.conv_tol_grad > 0):
            raise ValueError(f"conv_tol_grad must be a positive number, got {self.conv_tol_grad!r}")
        if int(self.max_cycle) != self.max_cycle or self.max_cycle < 1:
            raise ValueError(f"max_cycle must be a positive integer, got {self.max_cycle!r}")
        if self.grid_level is not None and not (0 <= int(self.grid_level) <= 9 and int(self.grid_level) == self.grid_level):
            raise ValueError(f"grid_level must be an integer 0..9, got {self.grid_level!r}")

    @property
    def restricted(self) -> bool:
        return self.reference in ("rks", "rhf")

    @property
    def is_hf(self) -> bool:
        return self.xc == "hf"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True, eq=False)
class ScfResult:
    """One self-consistent state (ground, ΔSCF or fractional).

    Shapes: unrestricted ``mo_energy``/``mo_occ`` (2, nmo) and ``mo_coeff``
    (2, nao, nmo); restricted (nmo,) and (nao, nmo).  Energies in Hartree.

    Attributes
    ----------
    spec : str
        The occupation spec as given (canonical form).
    resolved : str
        The spec with labels resolved to 0-based indices.
    target_occ : ndarray
        Target occupations on the reference (ground-state) orbitals.
    target_overlap : ndarray, shape (2,)
        Per-spin similarity of the final density with the target density
        (1 = identical occupied space; theory §1.3).
    max_grad : float
        max |(n_p - n_q) F_pq| over all orbital pairs; theory (1.3).
    collapsed : bool
        The solution lost its target configuration (for example fell back
        to the ground state).
    degenerate : str
        Degenerate reference orbitals that the spec treats unequally, so that
        which of them moves is arbitrary, e.g. ``"a:19,20; a:21,22"`` for
        benzene's ``a:HOMO->LUMO`` (theory §4); empty when there are none.
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
    versions: dict = field(default_factory=dict)
    degenerate: str = ""

    def __post_init__(self):
        for name in ("mo_energy", "mo_occ", "mo_coeff", "target_occ", "target_overlap"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name)))
        object.__setattr__(self, "e_tot", float(self.e_tot))
        object.__setattr__(self, "s2", float(self.s2))
        object.__setattr__(self, "max_grad", float(self.max_grad))
        object.__setattr__(self, "converged", bool(self.converged))
        object.__setattr__(self, "collapsed", bool(self.collapsed))
        object.__setattr__(self, "cycles", int(self.cycles))
        object.__setattr__(self, "nelec", tuple(float(x) for x in self.nelec))
        object.__setattr__(self, "versions", dict(self.versions))

    @property
    def restricted(self) -> bool:
        return self.mo_occ.ndim == 1

    @property
    def nelectron(self) -> float:
        return float(self.mo_occ.sum())

    def to_dict(self) -> dict:
        """Plain-Python view (lists and scalars), energies in Hartree."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, Method):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "ScfResult":
        kw = dict(d)
        kw["method"] = Method(**kw["method"])
        kw["nelec"] = tuple(kw["nelec"])
        return cls(**kw)


#: The issue tracker calls the record a State; design.md calls it ScfResult.
State = ScfResult

"""Geometry optimization of ground and ΔSCF states, with the state followed from step to step; theory §1.8.

geomeTRIC (through PySCF's ``pyscf.geomopt.geometric_solver``) proposes the geometries.  At each one the state
is converged with IMOM, its tracking reference being the previous step's orbitals projected onto the new
geometry and its target the previous step's occupations, so the state keeps its character from step to step.
A step whose state collapses, or whose density overlaps the previous step's by less than ``STEP_OVERLAP`` in
some spin, stops the optimization with :class:`StateLost`; nothing is continued on another surface.

geomeTRIC is an extra (``pip install ".[opt]"``), imported when an optimization starts.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from .gradients import make_gradient
from .occupations import Occupation
from .records import Method, Record, ScfResult, frozen_array
from .scf import check_mol, make_method, run_state

__all__ = ["optimize_state", "adiabatic_energies", "OptStep", "OptResult", "AdiabaticResult", "StateLost",
           "project_orbitals", "STEP_OVERLAP", "geometric_available"]

#: a step whose state overlaps the previous step's by less than this (some spin, (1.6)) has lost the state
STEP_OVERLAP = 0.9
BOHR = 0.52917721092  # Angstrom (PySCF's value)

#: geomeTRIC's convergence criteria as PySCF passes them (its defaults)
CONV_PARAMS = {"convergence_energy": 1e-6, "convergence_grms": 3e-4, "convergence_gmax": 4.5e-4,
               "convergence_drms": 1.2e-3, "convergence_dmax": 1.8e-3}


class StateLost(RuntimeError):
    """The state was lost during an optimization (collapse, or too small an overlap with the previous step)."""


def geometric_available() -> bool:
    """True when geomeTRIC can be imported (the ``opt`` extra)."""
    try:
        import geometric  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True, slots=True, eq=False)
class OptStep(Record):
    """One geometry of an optimization: the state there, its gradient and how well it follows the last step.

    ``coords`` in Angstrom (natm, 3), ``grad`` in Eh/bohr; ``overlap`` is the per-spin (1.6) similarity of
    this step's density with the previous step's target density on the projected orbitals (1 at step 0).
    """

    coords: np.ndarray
    e_tot: float
    grad: np.ndarray
    overlap: np.ndarray
    state: ScfResult

    def __post_init__(self):
        for name in ("coords", "grad", "overlap"):
            object.__setattr__(self, name, frozen_array(getattr(self, name)))
        object.__setattr__(self, "e_tot", float(self.e_tot))


@dataclass(frozen=True, slots=True, eq=False)
class OptResult(Record):
    """An optimization: every step, whether geomeTRIC converged, and why it stopped if the state was lost."""

    spec: str
    method: Method
    symbols: tuple
    steps: tuple
    converged: bool
    lost: str = ""

    def __post_init__(self):
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "symbols", tuple(self.symbols))
        object.__setattr__(self, "converged", bool(self.converged))

    @property
    def final(self) -> OptStep:
        """The last step: the optimized geometry and its state."""
        return self.steps[-1]

    def to_xyz(self, comment: str = "") -> str:
        """The last geometry as an xyz file (Angstrom)."""
        lines = [str(len(self.symbols)), comment or f"deltascf opt {self.spec}, E = {self.final.e_tot:.10f} Eh"]
        lines += [f"{s:<2} {x:16.10f} {y:16.10f} {z:16.10f}" for s, (x, y, z) in zip(self.symbols, self.final.coords)]
        return "\n".join(lines) + "\n"


def project_orbitals(mol_old, mo_coeff, mol_new):
    """Orbitals of ``mol_old`` carried to ``mol_new`` (same basis, moved atoms): C' = S'^{-1} S'(new, old) C,
    made orthonormal in the new metric by Löwdin's symmetric orthogonalization, per spin."""
    from pyscf import gto

    s_new = mol_new.intor_symmetric("int1e_ovlp")
    s_cross = gto.intor_cross("int1e_ovlp", mol_new, mol_old)
    s_inv = np.linalg.inv(s_new)

    def one(c):
        p = s_inv @ s_cross @ c
        w, v = np.linalg.eigh(p.T @ s_new @ p)
        return p @ (v * w ** -0.5) @ v.T

    c = np.asarray(mo_coeff)
    return one(c) if c.ndim == 2 else np.array([one(c[0]), one(c[1])])


def _reference(mol, prev: ScfResult, prev_mol):
    """The tracking reference of a new step: the previous state's orbitals on the new geometry.  It carries no
    energy, so the collapse check compares it with nothing of another geometry."""
    return SimpleNamespace(mol=mol, mo_coeff=project_orbitals(prev_mol, prev.mo_coeff, mol),
                           mo_occ=np.array(prev.mo_occ), mo_energy=np.array(prev.mo_energy))


def optimize_state(mol, xc: str | None = None, state="ground", *, method: Method | None = None, maxsteps: int = 50,
                   conv_params: dict | None = None, grid_response: bool = True, callback=None, verbose: int = 0,
                   **settings) -> OptResult:
    """Minimize the energy of one ground, ΔSCF or fractional state over the nuclear coordinates.

    Parameters
    ----------
    mol : pyscf.gto.Mole
        Starting geometry (not modified).
    state : str or Occupation
        The state's spec, resolved against the ground state at the starting geometry.
    maxsteps : int
        Most geomeTRIC steps.
    conv_params : dict, optional
        geomeTRIC's criteria (``convergence_energy``, ``convergence_grms``, ``convergence_gmax``,
        ``convergence_drms``, ``convergence_dmax``); PySCF's defaults otherwise.
    grid_response : bool
        Gradient with the DFT grid's response (default True: the gradient is then the derivative of the
        energy being minimized).
    callback : callable, optional
        ``callback(step)`` with each new :class:`OptStep`.

    Returns
    -------
    OptResult
        ``lost`` is non-empty when the state was lost; ``converged`` is geomeTRIC's verdict.
    """
    check_mol(mol)
    method = make_method(method, xc, **settings).base
    occupation = Occupation.parse(state)
    if not geometric_available():
        raise ImportError('geometry optimization needs geomeTRIC: pip install ".[opt]"')
    from pyscf.geomopt import as_pyscf_method
    from pyscf.geomopt.geometric_solver import kernel as geometric_kernel

    params = dict(CONV_PARAMS, **(conv_params or {}))
    unknown = sorted(set(params) - set(CONV_PARAMS))
    if unknown:
        raise ValueError(f"conv_params: unknown criteria {', '.join(unknown)}; known: {', '.join(CONV_PARAMS)}")
    steps: list[OptStep] = []
    last = {}

    def energy_and_gradient(mol_k):
        mol_k = mol_k.copy()
        mol_k.verbose = verbose
        if not steps:
            st = run_state(mol_k, method=method, state=occupation, verbose=verbose)
            overlap = np.ones(2)
        else:
            ref = _reference(mol_k, last["state"], last["mol"])
            # ROKS keeps its spec: its open orbitals keep their columns through the previous step's orbitals
            follow = occupation if method.reference in ("roks", "rohf") else Occupation.from_occ(last["state"].mo_occ)
            st = run_state(mol_k, method=method, state=follow, ground=ref, verbose=verbose)
            st = dataclasses.replace(st, spec=str(occupation))
            overlap = st.target_overlap
        why = _lost(st, overlap if steps else None)  # step 0 has no previous step
        if why:
            last["lost"] = f"step {len(steps)}: {why}"
            raise StateLost(last["lost"])
        grad = make_gradient(mol_k, st, grid_response=grid_response)
        step = OptStep(coords=mol_k.atom_coords(unit="Angstrom"), e_tot=st.e_tot, grad=grad, overlap=overlap,
                       state=st)
        steps.append(step)
        last.update(state=st, mol=mol_k)
        if callback is not None:
            callback(step)
        return st.e_tot, grad

    fake = as_pyscf_method(mol, energy_and_gradient)
    converged, lost = False, ""
    log = io.StringIO()  # geomeTRIC logs to stderr (PySCF's log.ini): kept out of deltascf's output unless verbose
    try:
        with contextlib.nullcontext() if verbose >= 4 else contextlib.redirect_stderr(log):
            converged, _ = geometric_kernel(fake, maxsteps=int(maxsteps), **params)
    except StateLost as exc:
        lost = str(exc)
    if not steps:
        raise StateLost(lost or "the state could not be converged at the starting geometry")
    symbols = tuple(mol.atom_pure_symbol(i) for i in range(mol.natm))
    return OptResult(spec=str(occupation), method=method, symbols=symbols, steps=tuple(steps),
                     converged=converged and not lost, lost=lost)


def _lost(st: ScfResult, overlap) -> str:
    if not st.converged:
        return "the SCF did not converge"
    if st.collapsed:
        return f"the state collapsed ({st.collapse_reason})"
    if overlap is not None and np.min(overlap) < STEP_OVERLAP:
        return f"the density overlaps the previous step's by {np.min(overlap):.3f} < {STEP_OVERLAP:g}"
    return ""


def _at(mol, coords):
    """``mol`` moved to ``coords`` (Angstrom)."""
    return mol.set_geom_(np.asarray(coords), unit="Angstrom", inplace=False)


@dataclass(frozen=True, slots=True, eq=False)
class AdiabaticResult(Record):
    """Adiabatic and vertical energies of one state (Hartree), without zero-point energies.

    ``adiabatic`` = E_x(R_x) − E_0(R_0); ``vertical_absorption`` = E_x(R_0) − E_0(R_0);
    ``vertical_emission`` = E_x(R_x) − E_0(R_x), the state's energy above the ground state at its own minimum.
    """

    ground: OptResult
    excited: OptResult
    e_ground_at_excited: float
    e_excited_at_ground: float

    @property
    def adiabatic(self) -> float:
        """E(excited at its minimum) − E(ground at its minimum), Eh."""
        return self.excited.final.e_tot - self.ground.final.e_tot

    @property
    def vertical_absorption(self) -> float:
        """E(excited at the ground minimum) − E(ground at its minimum), Eh."""
        return self.e_excited_at_ground - self.ground.final.e_tot

    @property
    def vertical_emission(self) -> float:
        """E(excited at its minimum) − E(ground at the excited minimum), Eh."""
        return self.excited.final.e_tot - self.e_ground_at_excited


def adiabatic_energies(mol, xc: str | None = None, state="a:HOMO->LUMO", *, method: Method | None = None,
                       verbose: int = 0, **kwargs) -> AdiabaticResult:
    """Optimize the ground state, then ``state`` from the ground-state minimum, and the energies between them.

    ``kwargs`` go to :func:`optimize_state` (``maxsteps``, ``conv_params``, ``grid_response``, ``callback``) or
    are method settings.
    """
    opt_keys = {"maxsteps", "conv_params", "grid_response", "callback"}
    opt = {k: kwargs.pop(k) for k in list(kwargs) if k in opt_keys}
    method = make_method(method, xc, **kwargs).base
    ground = optimize_state(mol, method=method, state="ground", verbose=verbose, **opt)
    if ground.lost or not ground.converged:
        raise StateLost(f"the ground-state optimization did not converge{': ' + ground.lost if ground.lost else ''}")
    mol_0 = _at(mol, ground.final.coords)
    excited = optimize_state(mol_0, method=method, state=state, verbose=verbose, **opt)
    g_at_x = run_state(_at(mol, excited.final.coords), method=method, state="ground", verbose=verbose)
    x_at_0 = excited.steps[0].e_tot  # step 0 is the ground-state minimum
    return AdiabaticResult(ground=ground, excited=excited, e_ground_at_excited=g_at_x.e_tot,
                           e_excited_at_ground=x_at_0)

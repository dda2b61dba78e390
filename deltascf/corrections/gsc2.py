"""GSC2: the exact second-order global scaling correction on any state, post-SCF; theory §6.

The curvature κ_pp = d²E/dn_p² of each chosen canonical spin orbital comes from the linear response of the
state itself (:mod:`deltascf.response`, theory (6.3)-(6.4)), with orbital relaxation ("relaxed", GSC2
[Mei2021]) or without it ("frozen", the frozen-orbital curvature of the 2011 GSC).  The correction is (6.1):
ΔE = Σ_p ½ κ_pp n_p (1 − n_p) and ε_p → ε_p + κ_pp (½ − n_p), over the chosen orbitals of each spin.

Which orbitals: by default the frontier of each spin (the highest-energy occupied and the lowest-energy
unoccupied orbital, and every fractional one), plus those a caller asks for (a theorem table asks for its
channel orbitals), plus an optional energy window.  Orbitals outside the set get no GSC2 energy: NaN, and
a note.  Only fractional orbitals change the energy, so ΔE does not depend on the set.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from pyscf.data.nist import HARTREE2EV

from ..occupations import OCC_TOL
from ..records import Record, ScfResult, frozen_array
from ..response import RESPONSE_TOL
from ..settings import OptionInfo, check_value
from .xc import CorrectionUnsupported

__all__ = ["NAME", "LABEL", "MODES", "Gsc2Settings", "Gsc2Result", "OPTIONS", "make_settings", "check", "make_post",
           "make_gsc2_correction", "select_orbitals", "check_fxc", "has_same_spins"]

NAME = "gsc2"
LABEL = "GSC2"
MODES = ("post",)  # no SCF mode yet
CURVATURES = ("relaxed", "frozen")
#: spins whose orbital energies (Eh) and orbital overlaps (1 − |⟨φ_α|φ_β⟩|) agree to this are one spin's copy
SAME_SPIN_TOL = 1e-6

#: the settings a user sets from the command line (--gsc2-window, --gsc2-curvature) and TOML ([gsc2])
OPTIONS = {
    "window": OptionInfo("also correct every canonical orbital with energy in this window (eV), e.g. -30,10",
                         kind=tuple, metavar="LO,HI"),
    "curvature": OptionInfo("relaxed: GSC2's curvature with orbital relaxation (linear response); frozen: "
                            "without it (the 2011 GSC's frozen-orbital curvature)", choices=CURVATURES),
}


@dataclass(frozen=True, slots=True)
class Gsc2Settings:
    """GSC2 settings (theory §6).  ``window`` (eV, eV) adds every canonical orbital inside it to the frontier
    orbitals; ``curvature`` is "relaxed" (GSC2) or "frozen"; ``tol`` is the relative residual of the response
    equations (6.3); ``grid_check`` evaluates ⟨ρ_p|f_xc|ρ_p⟩ of every unfilled orbital again on a grid two levels
    finer and refuses the orbitals where it moves (theory §6.4)."""

    window: tuple | None = None
    curvature: str = "relaxed"
    tol: float = RESPONSE_TOL
    grid_check: bool = True

    def __post_init__(self):
        if self.window is not None:
            object.__setattr__(self, "window", check_value(self.window, OPTIONS["window"], "GSC2 window"))
        object.__setattr__(self, "curvature", check_value(self.curvature, OPTIONS["curvature"], "GSC2 curvature"))
        if not (isinstance(self.tol, (int, float)) and 0 < float(self.tol) < 1e-2):
            raise ValueError(f"GSC2 tol must be a number in (0, 1e-2), got {self.tol!r}")
        object.__setattr__(self, "tol", float(self.tol))
        object.__setattr__(self, "grid_check", bool(self.grid_check))

    def to_dict(self) -> dict:
        """Plain-Python view of the settings."""
        return dataclasses.asdict(self)


def make_settings(window=None, curvature=None) -> Gsc2Settings:
    """Gsc2Settings from the user options of :data:`OPTIONS`."""
    return Gsc2Settings(window=window, curvature=curvature or "relaxed")


@dataclass(frozen=True, slots=True, eq=False)
class Gsc2Result(Record):
    """The GSC2 correction of one state (Hartree).

    ``mo_energy``, ``kappa`` (relaxed or frozen, as set), ``kappa_frozen`` and ``kappa_error`` (the uncertainty
    estimate (6.5)) have the shape of the state's orbital energies, with NaN for orbitals outside the corrected
    set and for near-singular or grid-unstable ones.  ``orbitals`` holds the corrected indices per spin (one entry
    for a restricted state), ``singular`` the near-singular ones as "spin:p (pair spin:r-p)", ``grid_unstable``
    those whose ⟨ρ_p|f_xc|ρ_p⟩ is not grid-converged, as "spin:p (value on the state's grid, on the finer one)".  ``converged``,
    ``iterations``, ``applications`` (densities through the response kernel), ``kernel_calls`` (calls of
    it, each about one Fock build) and ``min_ritz`` (Eh) describe the response solve.
    """

    de: float
    e_dfa: float
    e_tot: float
    mo_energy: np.ndarray
    kappa: np.ndarray
    kappa_frozen: np.ndarray
    kappa_error: np.ndarray
    orbitals: tuple
    singular: tuple
    grid_unstable: tuple
    converged: bool
    iterations: int
    applications: int
    kernel_calls: int
    min_ritz: float
    settings: Gsc2Settings
    mode: str = "post"
    state: object = None

    def __post_init__(self):
        for name in ("mo_energy", "kappa", "kappa_frozen", "kappa_error"):
            object.__setattr__(self, name, frozen_array(getattr(self, name)))
        object.__setattr__(self, "orbitals", tuple(tuple(int(p) for p in o) for o in self.orbitals))
        object.__setattr__(self, "singular", tuple(str(s) for s in self.singular))
        object.__setattr__(self, "grid_unstable", tuple(str(s) for s in self.grid_unstable))
        object.__setattr__(self, "converged", bool(self.converged))
        object.__setattr__(self, "iterations", int(self.iterations))
        object.__setattr__(self, "applications", int(self.applications))
        object.__setattr__(self, "kernel_calls", int(self.kernel_calls))
        for name in ("de", "e_dfa", "e_tot", "min_ritz"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def notes(self) -> tuple:
        """What a reader should know: near-singular orbitals, a response solve that did not converge."""
        out = [f"GSC2: the curvature of orbital {s} is near-singular (uncertainty above 1e-4 Eh) and is not given"
               for s in self.singular]
        out += [f"GSC2: the xc-kernel integral of orbital {s} is not grid-converged, so its curvature is not given"
                for s in self.grid_unstable]
        if not self.converged:
            out.append(f"GSC2: the response equations did not converge in {self.iterations} iterations")
        return tuple(out)


def select_orbitals(mo_energy: np.ndarray, mo_occ: np.ndarray, window=None, extra=()) -> np.ndarray:
    """The orbitals GSC2 corrects in one spin: the highest-energy occupied and lowest-energy unoccupied ones,
    every fractional one, those in ``window`` (eV) and the indices in ``extra``; sorted."""
    chosen = set(int(p) for p in extra)
    occupied = np.flatnonzero(mo_occ > OCC_TOL)
    unfilled = np.flatnonzero(mo_occ < 1 - OCC_TOL)
    if occupied.size:
        chosen.add(int(occupied[np.argmax(mo_energy[occupied])]))
    if unfilled.size:
        chosen.add(int(unfilled[np.argmin(mo_energy[unfilled])]))
    chosen |= {int(p) for p in np.flatnonzero((mo_occ > OCC_TOL) & (mo_occ < 1 - OCC_TOL))}
    if window is not None:
        e_ev = mo_energy * HARTREE2EV
        chosen |= {int(p) for p in np.flatnonzero((e_ev >= window[0]) & (e_ev < window[1]))}
    return np.array(sorted(chosen), dtype=int)


def make_gsc2_correction(mol, state: ScfResult, settings: Gsc2Settings | None = None, orbitals=(),
                         eri=None) -> Gsc2Result:
    """Post-SCF GSC2 of one state (ground, ΔSCF or fractional); theory (6.1) with κ from (6.4).

    ``orbitals`` [(spin, p), ...] are corrected besides the frontier ones (spin 0 for a restricted state).
    The input record is not modified.
    """
    from ..response import OccupationResponse, make_orbital_dms

    settings = settings or Gsc2Settings()
    resp = OccupationResponse(mol, state, eri)
    e, n = resp.mo_energy, resp.mo_occ  # unrestricted layout; a restricted state has n/2 in each spin
    same_spins = state.restricted or has_same_spins(mol, resp.mo_coeff, e, n)
    extra = [set(), set()]
    for s, p in orbitals:
        extra[0 if state.restricted else int(s)].add(int(p))
    if same_spins:
        extra = [extra[0] | extra[1]] * 2
    chosen = [select_orbitals(e[s], n[s], settings.window, extra[s]) for s in range(2)]
    work = [(0, int(p)) for p in chosen[0]] + ([] if same_spins else [(1, int(p)) for p in chosen[1]])
    res = resp.solve(make_orbital_dms(resp.mo_coeff, work), relaxed=settings.curvature == "relaxed",
                     tol=settings.tol)
    kappa, frozen, error = (np.full(e.shape, np.nan) for _ in range(3))
    singular = []
    for i, (s, p) in enumerate(work):
        frozen[s, p], error[s, p] = res.kappa_frozen[i, i], res.kappa_error[i]
        if res.near_singular[i]:
            ps, r, q = res.singular_pair[i]
            singular.append(f"{'ab'[s]}:{p} (pair {'ab'[ps]}:{r}-{q})")
        else:
            kappa[s, p] = res.kappa[i, i]
    unstable = _grid_unstable(resp, work) if settings.grid_check else {}
    for (s, p), text in unstable.items():
        kappa[s, p] = np.nan
    if same_spins:
        kappa[1], frozen[1], error[1] = kappa[0], frozen[0], error[0]
    # (6.1): ΔE = Σ_p ½ κ_pp n_p (1 − n_p) over the corrected spin orbitals; only fractional ones contribute
    weight = n * (1 - n)
    de = 0.5 * float(sum(kappa[s, p] * weight[s, p] for s in range(2) for p in chosen[s]
                         if weight[s, p] > OCC_TOL ** 2))
    eps = e + kappa * (0.5 - n)
    if state.restricted:
        eps, kappa, frozen, error, chosen = eps[0], kappa[0], frozen[0], error[0], chosen[:1]
    return Gsc2Result(de=de, e_dfa=state.e_tot, e_tot=state.e_tot + de, mo_energy=eps, kappa=kappa,
                      kappa_frozen=frozen, kappa_error=error, orbitals=tuple(tuple(c) for c in chosen),
                      singular=tuple(singular), grid_unstable=tuple(unstable.values()),
                      converged=bool(np.all(res.converged)), iterations=res.iterations,
                      applications=res.applications, kernel_calls=res.calls, min_ritz=res.min_ritz,
                      settings=settings)


def _grid_unstable(resp, work) -> dict:
    """{(spin, p): text} of the unfilled orbitals in ``work`` whose ⟨ρ_p|f_xc|ρ_p⟩ is not grid-converged
    (:meth:`OccupationResponse.grid_unstable`, theory §6.4)."""
    from ..response import make_orbital_vectors

    unfilled = [(s, p) for s, p in work if resp.mo_occ[s, p] < 1 - OCC_TOL]
    orbitals = make_orbital_vectors(resp.mo_coeff, unfilled)
    return {unfilled[i]: f"{'ab'[unfilled[i][0]]}:{unfilled[i][1]} ({a:.4g} Eh on grid level {lv}, {b:.4g} on {fl})"
            for i, a, b, lv, fl in resp.grid_unstable(orbitals)}


def has_same_spins(mol, mo_coeff, mo_energy, mo_occ) -> bool:
    """Whether both spins hold the same orbitals (up to sign), energies (to SAME_SPIN_TOL) and occupations, as a
    closed-shell UKS state does: then β is solved by copying α (theory §6.5)."""
    if not np.array_equal(mo_occ[0], mo_occ[1]) or np.max(np.abs(mo_energy[0] - mo_energy[1])) > SAME_SPIN_TOL:
        return False
    s1e = mol.intor_symmetric("int1e_ovlp")
    overlap = np.abs(np.einsum("mi,mn,ni->i", mo_coeff[0], s1e, mo_coeff[1], optimize=True))
    return bool(np.all(overlap > 1 - SAME_SPIN_TOL))


# -- the correction interface (deltascf.corrections) -----------------------------------------------------------
Settings = Gsc2Settings
Result = Gsc2Result


def check(mol, method) -> None:
    """Refuse before any SCF a functional without a second-derivative kernel (SCF mode is refused by MODES)."""
    check_fxc(method, LABEL)


def check_fxc(method, label: str) -> None:
    """Refuse a functional whose second derivative (f_xc, which the response kernel needs) libxc lacks."""
    if method.is_hf:
        return
    from pyscf.dft import libxc

    try:
        libxc.test_deriv_order(method.xc, 2, raise_error=True)
    except Exception:
        raise CorrectionUnsupported(f"{method.xc}: {label} needs the second functional derivative (f_xc), "
                                    "which libxc does not provide for it") from None


def make_post(mol, state: ScfResult, settings: Gsc2Settings, orbitals=()) -> Gsc2Result:
    """Post-SCF GSC2 of ``state`` (the correction interface): :func:`make_gsc2_correction`."""
    return make_gsc2_correction(mol, state, settings, orbitals)


"""lrLOSC: LOSC with a linear-response (screened) curvature on any state, post-SCF; theory §6.6.

LOSC2's orbitalets (:func:`deltascf.corrections.losc.make_orbitalet_sets`, theory §5.2) are kept; their curvature
κ_ij is the relaxed Hxc kernel between the orbitalet densities ρ_i = |φ_i|², from the response of the state itself
(:mod:`deltascf.response`, theory (6.3)-(6.4) with dP_i = |φ_i⟩⟨φ_i|), in place of LOSC2's model κ̃ (5.4).  The
energy and orbital energies keep LOSC's forms (5.6) and (5.8).  When an orbitalet is a canonical orbital, its
κ is GSC2's κ_pp, and lrLOSC's correction of that orbital is GSC2's (6.1).

Which orbitalets: the active ones of each spin (theory (6.7)): those whose local occupations are fractional
(λ_ii(1 − λ_ii) or some λ_ij² above ``active_tol``) and those that carry weight |U_pi|² above it in an orbital
whose energy is read: the frontier orbitals, the ones a caller asks for (a theorem table's channel orbitals)
and an optional energy window.  Inactive orbitalets add at most about κ · ``active_tol`` to anything reported.
Orbitals outside the read set get NaN.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..occupations import OCC_TOL
from ..records import Record, ScfResult, frozen_array
from ..response import RESPONSE_TOL
from ..settings import OptionInfo, check_value
from .gsc2 import has_same_spins, check_fxc, select_orbitals
from .losc import LoscSettings, make_local_occupation, make_losc_energy, make_losc_mo_energy, make_orbitalet_sets

__all__ = ["NAME", "LABEL", "MODES", "LrLoscSettings", "LrLoscResult", "OPTIONS", "make_settings", "check",
           "make_post", "make_lrlosc_correction", "select_active", "ACTIVE_TOL"]

NAME = "lrlosc"
LABEL = "lrLOSC"
MODES = ("post",)  # no SCF mode yet
CURVATURES = ("relaxed", "frozen")
#: an orbitalet is active when λ_ii(1 − λ_ii), some λ_ij² (j ≠ i) or its weight |U_pi|² in a read orbital exceeds
#: this; theory (6.7)
ACTIVE_TOL = 1e-4

#: the settings a user sets from the command line (--lrlosc-window, --lrlosc-curvature) and TOML ([lrlosc])
OPTIONS = {
    "window": OptionInfo("localize only the canonical orbitals with energy in this window (eV), e.g. -30,10, as "
                         "LOSC's window", kind=tuple, metavar="LO,HI"),
    "curvature": OptionInfo("relaxed: the linear-response (screened) curvature; frozen: the bare Hxc kernel "
                            "between orbitalet densities", choices=CURVATURES),
}


@dataclass(frozen=True, slots=True)
class LrLoscSettings:
    """lrLOSC settings (theory §6.6).  ``window`` (eV, eV) is LOSC's localization window; ``curvature`` is
    "relaxed" (screened by the response) or "frozen"; ``active_tol`` selects the active orbitalets (6.7), 0 for
    all of them; ``tol`` is the relative residual of the response equations (6.3); ``grid_check`` refuses the
    orbitalets whose ⟨ρ_i|f_xc|ρ_i⟩ is not grid-converged (theory §6.4); ``seed`` seeds the localization."""

    window: tuple | None = None
    curvature: str = "relaxed"
    active_tol: float = ACTIVE_TOL
    tol: float = RESPONSE_TOL
    grid_check: bool = True
    seed: int = 0

    def __post_init__(self):
        if self.window is not None:
            object.__setattr__(self, "window", check_value(self.window, OPTIONS["window"], "lrLOSC window"))
        object.__setattr__(self, "curvature", check_value(self.curvature, OPTIONS["curvature"], "lrLOSC curvature"))
        for name, hi in (("active_tol", 1e-1), ("tol", 1e-2)):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 <= float(v) < hi and (name != "tol" or v > 0)):
                raise ValueError(f"lrLOSC {name} must be a number in [0, {hi}), got {v!r}")
            object.__setattr__(self, name, float(v))
        object.__setattr__(self, "grid_check", bool(self.grid_check))
        object.__setattr__(self, "seed", int(self.seed))

    def to_dict(self) -> dict:
        """Plain-Python view of the settings."""
        return dataclasses.asdict(self)

    @property
    def losc(self) -> LoscSettings:
        """The LOSC settings that make the orbitalets (LOSC2's defaults with this window and seed)."""
        return LoscSettings(window=self.window, seed=self.seed)


def make_settings(window=None, curvature=None) -> LrLoscSettings:
    """LrLoscSettings from the user options of :data:`OPTIONS`."""
    return LrLoscSettings(window=window, curvature=curvature or "relaxed")


@dataclass(frozen=True, slots=True, eq=False)
class LrLoscResult(Record):
    """The lrLOSC correction of one state (Hartree).

    ``mo_energy`` has the shape of the state's orbital energies, with NaN for orbitals outside the read set
    (``orbitals``, per spin) and for those that depend on a near-singular or grid-unstable orbitalet.  Per spin
    (one entry for a restricted state): ``c_lo`` (nao, m) the active orbitalets, ``active`` their indices among
    all orbitalets of the spin, ``kappa`` and ``kappa_frozen`` (m, m) their relaxed and bare curvatures, ``lam``
    (m, m) their local occupations.  ``singular`` and ``grid_unstable`` name the orbitalets without a trusted
    curvature ("spin:i"); the solve is described as in GSC2.
    """

    de: float
    e_dfa: float
    e_tot: float
    mo_energy: np.ndarray
    c_lo: tuple
    active: tuple
    kappa: tuple
    kappa_frozen: tuple
    lam: tuple
    orbitals: tuple
    singular: tuple
    grid_unstable: tuple
    localization_converged: tuple
    sweeps: tuple
    converged: bool
    iterations: int
    applications: int
    kernel_calls: int
    min_ritz: float
    settings: LrLoscSettings
    mode: str = "post"
    state: object = None

    def __post_init__(self):
        object.__setattr__(self, "mo_energy", frozen_array(self.mo_energy))
        for name in ("c_lo", "kappa", "kappa_frozen", "lam"):
            object.__setattr__(self, name, tuple(frozen_array(x) for x in getattr(self, name)))
        for name in ("active", "orbitals"):
            object.__setattr__(self, name, tuple(tuple(int(p) for p in o) for o in getattr(self, name)))
        for name in ("singular", "grid_unstable"):
            object.__setattr__(self, name, tuple(str(s) for s in getattr(self, name)))
        object.__setattr__(self, "localization_converged", tuple(bool(x) for x in self.localization_converged))
        object.__setattr__(self, "sweeps", tuple(int(x) for x in self.sweeps))
        object.__setattr__(self, "converged", bool(self.converged))
        for name in ("iterations", "applications", "kernel_calls"):
            object.__setattr__(self, name, int(getattr(self, name)))
        for name in ("de", "e_dfa", "e_tot", "min_ritz"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def notes(self) -> tuple:
        """What a reader should know: orbitalets without a trusted curvature, an unconverged solve or
        localization."""
        out = [f"lrLOSC: the curvature of orbitalet {s} is near-singular (uncertainty above 1e-4 Eh); the orbitals "
               "that depend on it are not given" for s in self.singular]
        out += [f"lrLOSC: the xc-kernel integral of orbitalet {s} is not grid-converged; the orbitals that depend "
                "on it are not given" for s in self.grid_unstable]
        if not self.converged:
            out.append(f"lrLOSC: the response equations did not converge in {self.iterations} iterations")
        spins = "ab" if len(self.sweeps) == 2 else ("",)
        out += [f"lrLOSC: the localization{' of spin ' + s if s else ''} stopped after {n} sweeps without converging"
                for s, ok, n in zip(spins, self.localization_converged, self.sweeps) if not ok]
        return tuple(out)


def _fractional_score(lam: np.ndarray) -> np.ndarray:
    """Per orbitalet, max(λ_ii(1 − λ_ii), max_{j≠i} λ_ij²): how much local fractional occupation it carries, the
    weight of its terms in ΔE (5.6)."""
    d = np.diag(lam)
    off = lam * lam
    np.fill_diagonal(off, 0.0)
    return np.maximum(d * (1 - d), off.max(axis=1) if len(lam) > 1 else 0.0)


def select_active(lam: np.ndarray, u_read: np.ndarray, tol: float = ACTIVE_TOL) -> np.ndarray:
    """Indices of the active orbitalets of one spin, theory (6.7): λ_ii(1 − λ_ii) > tol, or λ_ij² > tol for some
    j ≠ i, or |U_pi|² > tol for some read orbital p (rows of ``u_read``, (k, m))."""
    score = _fractional_score(lam)
    if u_read.size:
        score = np.maximum(score, (u_read ** 2).max(axis=0))
    return np.flatnonzero(score > tol)


def make_lrlosc_correction(mol, state: ScfResult, settings: LrLoscSettings | None = None, orbitals=(),
                           eri=None) -> LrLoscResult:
    """Post-SCF lrLOSC of one state (ground, ΔSCF or fractional); theory §6.6.

    ``orbitals`` [(spin, p), ...] are read besides the frontier ones (spin 0 for a restricted state).  The input
    record is not modified.
    """
    from ..response import OccupationResponse, make_rank_one_dms

    settings = settings or LrLoscSettings()
    resp = OccupationResponse(mol, state, eri)
    e, n, c = resp.mo_energy, resp.mo_occ, resp.mo_coeff  # unrestricted layout
    # spins that hold the same orbitals (a closed-shell UKS state, to SAME_SPIN_TOL) are localized and solved once
    same_spins = state.restricted or has_same_spins(mol, c, e, n)
    c_lo, _, loc_ok, sweeps, _ = make_orbitalet_sets(mol, state, settings.losc, same_spins=same_spins)
    nspin = 1 if same_spins else 2
    extra = [set(), set()]
    for s, p in orbitals:
        extra[0 if state.restricted else int(s)].add(int(p))
    if same_spins:
        extra = [extra[0] | extra[1]] * 2
    chosen = [select_orbitals(e[s], n[s], None, extra[s]) for s in range(2)]
    s1e = mol.intor_symmetric("int1e_ovlp")
    lams, us, active = [], [], []
    for s in range(nspin):
        lam = make_local_occupation(c_lo[s], s1e, (c[s] * n[s]) @ c[s].T)  # (5.5)
        u = c[s].T @ s1e @ c_lo[s]  # U_pi = ⟨ψ_p|φ_i⟩
        act = select_active(lam, u[chosen[s]], settings.active_tol)
        lams.append(lam[np.ix_(act, act)])
        us.append(u[:, act])
        active.append(act)
    # perturbations dP_i = |φ_i⟩⟨φ_i| of the active orbitalets, one spin at a time (theory (6.6))
    work = [(s, k) for s in range(nspin) for k in range(len(active[s]))]
    vectors = [(s, c_lo[s][:, active[s][k]]) for s, k in work]
    res = resp.solve(make_rank_one_dms(vectors, c.shape[1]), relaxed=settings.curvature == "relaxed",
                     tol=settings.tol)
    bad = [set(), set()]
    singular, unstable = [], []
    for j, (s, k) in enumerate(work):
        if res.near_singular[j]:
            bad[s].add(k)
            singular.append(f"{'ab'[s]}:{int(active[s][k])}")
    if settings.grid_check:
        unfilled = [j for j, (s, k) in enumerate(work) if lams[s][k, k] < 1 - OCC_TOL]
        for i, a, b, lv, fl in resp.grid_unstable([vectors[j] for j in unfilled]):
            s, k = work[unfilled[i]]
            bad[s].add(k)
            unstable.append(f"{'ab'[s]}:{int(active[s][k])} ({a:.4g} Eh on grid level {lv}, {b:.4g} on {fl})")
    kappa, kappa0, eps, de = [], [], np.full(e.shape, np.nan), 0.0
    for s in range(nspin):
        rows = [j for j, (t, _) in enumerate(work) if t == s]
        kap, kap0 = res.kappa[np.ix_(rows, rows)], res.kappa_frozen[np.ix_(rows, rows)]
        kappa.append(kap)
        kappa0.append(kap0)
        lam, u = lams[s], us[s]
        # (5.8) with κ from (6.6), for the read orbitals
        read = chosen[s]
        corrected = make_losc_mo_energy(e[s, read], c[s][:, read], s1e, c_lo[s][:, active[s]], kap, lam)
        for p, eps_p in zip(read, corrected):
            depends = any((u[p, k] ** 2 > settings.active_tol) for k in bad[s])
            eps[s, p] = np.nan if depends else eps_p
        # (5.6) with κ from (6.6); an orbitalet without a trusted curvature that carries energy makes ΔE unknown
        score = _fractional_score(lam)
        carries = [k for k in bad[s] if score[k] > settings.active_tol]
        de += np.nan if carries else make_losc_energy(kap, lam) * (2 if same_spins else 1)
    if same_spins:
        eps[1] = eps[0]
    one = state.restricted

    def per(v: list) -> list:  # one entry for a restricted state, two for an unrestricted one
        return v[:1] if one else (v * 2 if same_spins else v)

    if one:
        eps, chosen = eps[0], chosen[:1]
    c_act = [c_lo[s][:, active[s]] for s in range(nspin)]
    return LrLoscResult(de=float(de), e_dfa=state.e_tot, e_tot=state.e_tot + float(de), mo_energy=eps,
                        c_lo=tuple(per(c_act)), active=tuple(per(active)), kappa=tuple(per(kappa)),
                        kappa_frozen=tuple(per(kappa0)), lam=tuple(per(lams)), orbitals=tuple(tuple(x) for x in chosen),
                        singular=tuple(singular), grid_unstable=tuple(unstable),
                        localization_converged=tuple(per(list(loc_ok))), sweeps=tuple(per(list(sweeps))),
                        converged=bool(np.all(res.converged)), iterations=res.iterations,
                        applications=res.applications, kernel_calls=res.calls, min_ritz=res.min_ritz,
                        settings=settings)


# -- the correction interface (deltascf.corrections) -----------------------------------------------------------
Settings = LrLoscSettings
Result = LrLoscResult


def check(mol, method) -> None:
    """Refuse before any SCF a functional without a second-derivative kernel (SCF mode is refused by MODES)."""
    check_fxc(method, LABEL)


def make_post(mol, state: ScfResult, settings: LrLoscSettings, orbitals=()) -> LrLoscResult:
    """Post-SCF lrLOSC of ``state`` (the correction interface): :func:`make_lrlosc_correction`."""
    return make_lrlosc_correction(mol, state, settings, orbitals)


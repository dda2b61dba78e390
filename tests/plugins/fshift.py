"""A second correction, registered by the tests only, to show that a correction is one module + one registry line.

It is GSC's form (theory (6.1)) with one constant curvature c on the canonical orbitals of the state:
ΔE = ½ c Σ_p n_p (1 − n_p) and ε_p → ε_p + c (½ − n_p).  Integer states get ΔE = 0.  In SCF mode the canonical
orbitals of the parent are frozen and n_p becomes λ_pp = ⟨φ_p|γ|φ_p⟩ — LOSC's energy and potential with the
canonical orbitals as orbitalets and κ = c·1, so the LOSC functions are reused.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from deltascf.corrections.losc import (make_local_occupation, make_losc_energy, make_losc_mo_energy,
                                       make_losc_potential)
from deltascf.records import ScfResult, Record, frozen_array
from deltascf.settings import OptionInfo
from deltascf.spin import make_spin_dms, per_spin, spin_factor

NAME = "fshift"
LABEL = "FSHIFT"


@dataclass(frozen=True, slots=True)
class Settings:
    curvature: float = 0.3  # Hartree

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True, eq=False)
class Result(Record):
    de: float
    e_dfa: float
    e_tot: float
    mo_energy: np.ndarray
    settings: Settings
    mode: str = "post"
    state: object = None

    def __post_init__(self):
        object.__setattr__(self, "mo_energy", frozen_array(self.mo_energy))


OPTIONS = {"curvature": OptionInfo("the constant curvature c (Hartree)", float)}


def make_settings(curvature=None) -> Settings:
    return Settings() if curvature is None else Settings(curvature=curvature)


def check(mol, method) -> None:
    if not np.isfinite(method.correction.settings.curvature):
        raise ValueError("fshift curvature must be finite")


@dataclass(frozen=True, slots=True)
class Frozen(Record):
    c_lo: tuple
    kappa: tuple

    def terms(self, dm, s1e):
        restricted = dm.ndim == 2
        h, e = [], 0.0
        for c, k, d in zip(self.c_lo, self.kappa, [dm / 2] if restricted else per_spin(dm, False)):
            lam = make_local_occupation(c, s1e, d)
            h.append(make_losc_potential(s1e, c, k, lam))
            e += make_losc_energy(k, lam)
        return (h[0] if restricted else np.array(h)), e * spin_factor(restricted)


def make_frozen(mol, state: ScfResult, settings: Settings) -> Frozen:
    coeffs = per_spin(state.mo_coeff, state.restricted)
    return Frozen(c_lo=tuple(coeffs), kappa=tuple(settings.curvature * np.eye(c.shape[1]) for c in coeffs))


def make_post(mol, state: ScfResult, settings: Settings) -> Result:
    frozen = make_frozen(mol, state, settings)
    s1e = mol.intor_symmetric("int1e_ovlp")
    dms = make_spin_dms(state.mo_coeff, state.mo_occ)
    de, eps = 0.0, []
    for c, k, d, e in zip(frozen.c_lo, frozen.kappa, dms, per_spin(state.mo_energy, state.restricted)):
        lam = make_local_occupation(c, s1e, d)
        de += make_losc_energy(k, lam)
        eps.append(make_losc_mo_energy(e, c, s1e, c, k, lam))
    de *= spin_factor(state.restricted)
    return Result(de=de, e_dfa=state.e_tot, e_tot=state.e_tot + de,
                  mo_energy=eps[0] if state.restricted else np.array(eps), settings=settings)


def make_scf_result(mol, parent, state, frozen: Frozen, settings: Settings) -> Result:
    de = frozen.terms(make_spin_dms(state.mo_coeff, state.mo_occ)[0] * 2 if state.restricted else
                      make_spin_dms(state.mo_coeff, state.mo_occ), mol.intor_symmetric("int1e_ovlp"))[1]
    return Result(de=de, e_dfa=state.e_tot - de, e_tot=state.e_tot, mo_energy=state.mo_energy, settings=settings,
                  mode="scf", state=state)

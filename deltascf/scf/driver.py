"""Converging states: ``run_state`` and the SCF of a state under a frozen correction.

Every call builds a fresh PySCF object (:func:`~deltascf.scf.build.make_mf`), puts the ``_DeltaSCF`` hooks on
it (:func:`~deltascf.scf.mixin.wrap`), runs PySCF's own kernel, and records the result as a frozen
:class:`~deltascf.records.ScfResult` (:func:`make_record`).  Nothing it is given is modified.
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np
from pyscf.lib import logger as lib_logger

from ..core import localize_core, make_nominal_core_map, separate_core_shells
from ..occupations import Occupation, ResolvedOccupation, format_degenerate_groups, make_degenerate_groups
from ..records import Correction, Method, ScfResult, make_provenance
from ..gpu import check_device, get_namespace
from ..spin import get_xp, make_spin_dms, map_spins, nelec_of, per_spin, stack_spins, to_host, to_unrestricted
from ..tracking import (
    make_canonical_orbitals,
    make_collapse_reasons,
    make_orbital_populations,
    make_spin_square,
    make_target_similarity,
)
from .build import check_mol, make_mf, shared_eri
from .mixin import make_final_fock, make_final_grad, wrap

__all__ = ["run_state", "run_scf_with_correction", "make_method", "make_record", "purify_singlet",
           "make_ensemble_energies"]

#: nuclei of two molecules closer than this (Angstrom) are the same (rounded inputs differ by 1e-10)
SAME_GEOMETRY_ANGSTROM = 1e-6
#: the legacy keyword arguments of LOSC, turned into ``Method.correction`` by :func:`make_method`
_LEGACY_CORRECTION = ("losc", "losc_settings")


# -- settings ---------------------------------------------------------------------------------------
def make_method(method: Method | None = None, xc: str | None = None, **settings) -> Method:
    """The :class:`Method` of a driver call: ``method`` as given, or one built from keyword settings.

    This is the one shim through which keyword callers (``run_state(mol, "b3lyp", reference="rks")``) keep
    working: the keywords are ``Method``'s fields, plus the older ``losc="post"|"scf"`` and ``losc_settings``,
    which become ``correction``.  Giving both ``method`` and keyword settings is an error, and so is
    ``device="gpu"`` where no GPU can be used (:func:`deltascf.gpu.check_device`).
    """
    losc, losc_settings = settings.pop("losc", None), settings.pop("losc_settings", None)
    if losc is not None or losc_settings is not None:
        if settings.get("correction") is not None:
            raise TypeError("give either correction= or the older losc= and losc_settings=, not both")
        if losc is None:
            raise ValueError("losc_settings needs losc='post' or losc='scf'")
        settings["correction"] = Correction("losc", losc, losc_settings)
    known = {f.name for f in dataclasses.fields(Method)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {', '.join(unknown)}; method settings are "
                        f"{', '.join(sorted(known))}")
    if method is None:
        method = Method(**settings) if xc is None else Method(xc=xc, **settings)
    elif not isinstance(method, Method):
        raise TypeError(f"method must be a deltascf.Method, not {type(method).__name__}")
    elif xc is not None or settings:
        raise TypeError("give either method= or individual settings (xc, reference, ...), not both")
    check_device(method.device)  # before any SCF or study file: a GPU that is not there is refused here
    return method


# -- the ground state a state starts from ------------------------------------------------------------------
def _geometry(provenance_json: str):
    d = json.loads(provenance_json)
    return [a[0] for a in d["atom"]], np.array([a[1] for a in d["atom"]], dtype=float), d["charge"], d["spin"]


def _check_same_molecule(mol, ground) -> None:
    """Refuse a ground state of another molecule: atoms, geometry, charge, spin or basis size."""
    nao = mol.nao_nr()
    c = getattr(ground, "mo_coeff", None)
    if c is None or getattr(ground, "mo_occ", None) is None:
        raise ValueError("ground: the given object holds no orbitals (run its SCF first, or pass a ScfResult)")
    if np.shape(c)[-2] != nao:
        raise ValueError(f"ground: the given ground state has {np.shape(c)[-2]} basis functions, "
                         f"the molecule {nao}")
    if isinstance(ground, ScfResult):
        if ground.provenance is None:
            return  # a record from an older file: the basis size is all there is to check
        theirs = _geometry(ground.provenance.molecule)
    else:
        theirs = _geometry(make_provenance(ground.mol).molecule)
    ours = _geometry(make_provenance(mol).molecule)
    if theirs[0] != ours[0] or theirs[1].shape != ours[1].shape or \
            np.max(np.abs(theirs[1] - ours[1]), initial=0.0) > SAME_GEOMETRY_ANGSTROM:
        raise ValueError("ground: the given ground state belongs to another molecule (atoms or geometry differ)")
    if theirs[2:] != ours[2:]:
        raise ValueError(f"ground: the given ground state has charge {theirs[2]} and spin {theirs[3]}, "
                         f"the molecule charge {ours[2]} and spin {ours[3]}")


def _ground_orbitals(ground, restricted: bool):
    """(mo_coeff, mo_occ, mo_energy) host copies in the layout of the method (mo_energy None when absent); the
    ground state may be a record, or a PySCF or gpu4pyscf mean-field object."""
    c = np.array(to_host(ground.mo_coeff), dtype=float, copy=True)
    occ = np.array(to_host(ground.mo_occ), dtype=float, copy=True)
    e = None if getattr(ground, "mo_energy", None) is None else \
        np.array(to_host(ground.mo_energy), dtype=float, copy=True)
    if occ.ndim == 1 and not restricted:  # restricted ground -> unrestricted state
        c, occ = to_unrestricted(c, occ)
        e = None if e is None else np.array([e, e])
    elif occ.ndim == 2 and restricted:
        raise ValueError("ground: an unrestricted ground state cannot start a restricted (rks/rhf) state; "
                         "pass a restricted one")
    return c, occ, e


def _orbital_energies(mf, mo_coeff, mo_occ):
    """diag(Cᵀ F[D] C) per spin: the orbital energies of a ground state given without them (one Fock build), on
    the host; the orbitals are moved to the namespace of ``mf`` (the device for a gpu4pyscf object)."""
    xp = get_xp(mf.get_ovlp())
    mo_coeff, mo_occ_dev = xp.asarray(mo_coeff), xp.asarray(mo_occ)
    fock = mf.get_fock(dm=mf.make_rdm1(mo_coeff, mo_occ_dev))
    restricted = mo_occ.ndim == 1
    return to_host(map_spins(lambda c, f: ((f @ c) * c).sum(axis=0), mo_coeff, fock, restricted=restricted))


def _aufbau_nelec(mo_occ) -> tuple[int, int]:
    na, nb = nelec_of(mo_occ)
    return int(round(na)), int(round(nb))


# -- recording a finished SCF -------------------------------------------------------------------------------
def make_record(mf, method: Method, spec: str, resolved: ResolvedOccupation, c_ref, degenerate: str = "",
                mol=None, lower=()) -> ScfResult:
    """The frozen record of a finished SCF (copies everything it keeps).

    The final F[D] is built explicitly (:func:`~deltascf.scf.mixin.make_final_fock`); the orbitals are made
    canonical within each occupation group, max|g| of (1.3) is measured on them, and the collapse evidence of
    theory §1.3 (:func:`~deltascf.tracking.make_collapse_reasons`, compared with the states in ``lower``: a
    sequence of (name, e_tot, nelec)) decides ``collapsed`` and ``collapse_reason``.
    """
    fock = make_final_fock(mf)
    mo_occ = mf.mo_occ.astype(float)
    restricted = mo_occ.ndim == 1
    parts = [make_canonical_orbitals(f, c, n) for f, c, n in zip(per_spin(fock, restricted),
                                                                  per_spin(mf.mo_coeff, restricted), per_spin(mo_occ))]
    mo_energy, mo_coeff, mo_occ = (stack_spins([p[k] for p in parts], restricted) for k in range(3))
    s1e = mf.s1e_ref
    dm = make_spin_dms(mo_coeff, mo_occ)
    target = resolved.mo_occ
    overlap, to_aufbau = make_target_similarity(dm, c_ref, target, s1e)
    nelec = nelec_of(mo_occ)
    populations = make_orbital_populations(dm, c_ref, target, s1e)
    reasons = make_collapse_reasons(overlap, to_aufbau, target, mo_energy, mo_occ, mf.e_tot, nelec, lower,
                                    populations)
    # all of the above ran in the namespace of mf (the device for gpu4pyscf); the record keeps host copies
    return ScfResult(
        e_tot=float(mf.e_tot), mo_energy=to_host(mo_energy), mo_occ=to_host(mo_occ), mo_coeff=to_host(mo_coeff),
        nelec=nelec, converged=bool(mf.converged), cycles=getattr(mf, "cycles", -1), s2=make_spin_square(dm, s1e),
        spec=spec, resolved=resolved.text, target_occ=to_host(target), target_overlap=overlap,
        max_grad=make_final_grad(mf.mo_coeff, mf.mo_occ, fock), collapsed=bool(reasons), method=method,
        n_fock=mf.n_fock, degenerate=degenerate, provenance=make_provenance(mol if mol is not None else mf.mol),
        collapse_reason="; ".join(reasons))


# -- the public solver ------------------------------------------------------------------------------------------
def run_state(mol, xc: str | None = None, state="ground", *, method: Method | None = None, ground=None, dm0=None,
              verbose: int = 0, **settings) -> ScfResult:
    """Converge one ground, ΔSCF or fractional state of the parent functional.

    Parameters
    ----------
    mol : pyscf.gto.Mole
        The molecule (not modified).
    xc : str, optional
        PySCF xc string, or ``"hf"`` (default ``"b3lyp"``); or give ``method``.
    state : str or Occupation
        Occupation spec (see :mod:`deltascf.occupations`), e.g. ``"a:HOMO->LUMO"``.  Labels resolve against
        the aufbau orbitals of the ground state.
    method : Method, optional
        All settings at once.  Keyword settings (``reference="uks"|"rks"|"uhf"|"rhf"``,
        ``tracking="imom"|"mom"``, ``density_fit``, ``grid_level``, ``conv_tol``, ``conv_tol_grad``,
        ``max_cycle``) build one instead (:func:`make_method`).  A correction in the method is not applied
        here: see :func:`deltascf.corrections.run_correction`.
    ground : ScfResult or PySCF mean-field, optional
        Converged ground state of the same molecule to start from (copied, never modified); computed when
        omitted.  Its orbitals are the tracking reference (IMOM) and the initial guess.
    dm0 : ndarray, shape (2, nao, nao), optional
        Initial density instead of the target occupations on the ground orbitals (e.g. an extrapolated one in
        scans); the tracking reference stays the ground orbitals.

    Returns
    -------
    ScfResult
        Its ``method`` is the parent functional's (``method.base``).
    """
    check_mol(mol)
    method = make_method(method, xc, **settings).base
    occupation = Occupation.parse(state)
    mol_given, mol = mol, mol.copy()  # the shared ERIs belong to the caller's molecule
    restricted = method.restricted
    if restricted and mol.spin != 0:
        raise ValueError(f"reference {method.reference} needs a closed-shell molecule (spin 0, got {mol.spin}); "
                         "use uks/uhf")
    nmo = mol.nao_nr()
    if method.reference in ("roks", "rohf"):
        return _run_roks(mol, method, occupation, ground, verbose)
    core = make_nominal_core_map(mol) if occupation.has_core else None
    if ground is None:
        occupation.resolve(mol.nelec, nmo, restricted, core)  # validate before paying for any SCF
        ground = _run_ground(mol, mol_given, method, verbose)
        if occupation.is_ground:
            return ground
    else:
        _check_same_molecule(mol, ground)
    c_ref, occ_ground, e_ref = _ground_orbitals(ground, restricted)
    if occupation.items and _aufbau_nelec(occ_ground) != tuple(mol.nelec):
        raise ValueError(f"ground: the given state has {nelec_of(occ_ground)} electrons per spin, the molecule "
                         f"{tuple(mol.nelec)}; labels resolve against the molecule's own ground state")
    resolved = occupation.resolve(_aufbau_nelec(occ_ground), c_ref.shape[-1], restricted, core)
    mf = make_mf(mol, method, verbose, shared_eri(mol_given, method))  # after validation: ERIs cost nao⁴
    if e_ref is None:
        e_ref = _orbital_energies(mf, c_ref, occ_ground)
    e_deg = e_ref
    if occupation.has_core:  # the named core orbitals, localized on their atoms (theory §1.7)
        c_ref, e_ref, core = localize_core(mol, c_ref, e_ref, occ_ground)
        resolved = occupation.resolve(_aufbau_nelec(occ_ground), c_ref.shape[-1], restricted, core)
        e_deg = separate_core_shells(mol, e_ref, core)
    degenerate = format_degenerate_groups(make_degenerate_groups(e_deg, occ_ground, resolved.mo_occ), restricted)
    xp = get_namespace(method.device)
    c_ref = xp.asarray(c_ref)  # the tracking reference lives where the SCF runs
    mf = wrap(mf, c_ref, resolved.mo_occ, method.tracking)
    if not restricted:
        mf.nelec = resolved.nelec
    if method.solver == "newton":
        _kernel_newton(mf, method, c_ref, resolved.mo_occ, shared_eri(mol_given, method), verbose)
    else:
        if dm0 is None:
            dm0 = mf.make_rdm1(c_ref, xp.asarray(resolved.mo_occ))
        mf.kernel(dm0=xp.array(dm0, copy=True))
    return make_record(mf, method, str(occupation), resolved, c_ref, degenerate, mol, _lower_states(ground, method))


def check_roks_spec(mol, method: Method, occupation) -> None:
    """SpecError unless a ROKS reference gets what it can compute: the ground state, or one α move of a
    closed-shell molecule (its open-shell singlet); theory §1.10.  Nothing to check for other references."""
    from ..occupations import Move, SpecError

    if method.reference not in ("roks", "rohf") or occupation.is_ground:
        return
    items = occupation.items
    if mol.spin != 0 or len(items) != 1 or not isinstance(items[0], Move) or items[0].src_spin != "a" or \
            items[0].dst_spin != "a" or occupation.has_core:
        raise SpecError(f"reference {method.reference}: give the ground state (high spin for spin > 0) or, for a "
                        "closed-shell molecule, one alpha move a:i->a (its open-shell singlet)")


def _run_roks(mol, method: Method, occupation: Occupation, ground, verbose: int = 0) -> ScfResult:
    """ROKS: the high-spin ground state, or the open-shell singlet of one α move; theory §1.10."""
    from .roks import run_roks_ground, run_roks_singlet

    if occupation.is_ground:
        return run_roks_ground(mol, method, verbose)
    check_roks_spec(mol, method, occupation)
    resolved = occupation.resolve(mol.nelec, mol.nao_nr(), False)
    i = int(np.flatnonzero(resolved.mo_occ[0] < 0.5)[0])
    a = int(np.flatnonzero(resolved.mo_occ[0] > 0.5)[-1])
    if ground is None:
        ground = run_roks_ground(mol, method, verbose)
    else:
        _check_same_molecule(mol, ground)
    return run_roks_singlet(mol, method, ground, i, a, str(occupation), verbose)


def _kernel_newton(mf, method: Method, c_ref, target, eri=None, verbose: int = 0) -> None:
    """Converge ``mf`` (wrapped, not yet run) with the saddle-point solver and leave the result on it as PySCF's
    kernel would; theory §1.9.  The first ``NEWTON_WARMUP`` cycles are DIIS with the method's tracking, from the
    target occupations on the reference orbitals; Newton–Krylov steps take over from the last of them.  A
    restricted state is solved in the unrestricted layout on its own grid and handed back restricted."""
    from .newton import NEWTON_WARMUP, run_newton, unrestricted_twin

    restricted = np.ndim(target) == 1
    mf.max_cycle = min(NEWTON_WARMUP, int(method.max_cycle))
    mf.kernel(dm0=mf.make_rdm1(c_ref, target))
    warm_cycles, warm_fock = int(getattr(mf, "cycles", mf.max_cycle)), int(mf.n_fock)
    mf.max_cycle = int(method.max_cycle)
    mf_u = unrestricted_twin(mf, method, make_mf, eri) if restricted else mf
    c0, n0 = (to_unrestricted(np.asarray(mf.mo_coeff), np.asarray(mf.mo_occ)) if restricted
              else (np.asarray(mf.mo_coeff), np.asarray(mf.mo_occ)))
    log = (lambda text: lib_logger.info(mf, text)) if verbose >= 4 else None
    res = run_newton(mf_u, c0, n0, conv_tol=method.conv_tol, conv_tol_grad=method.conv_tol_grad,
                     max_cycle=method.max_cycle, log=log)
    if restricted:
        if not (np.allclose(res.mo_occ[0], res.mo_occ[1]) and np.allclose(res.mo_energy[0], res.mo_energy[1],
                                                                         atol=1e-8)):
            raise RuntimeError("the restricted Newton solution lost its alpha = beta symmetry")
        mf.mo_coeff, mf.mo_occ, mf.mo_energy = res.mo_coeff[0], res.mo_occ[0] + res.mo_occ[1], res.mo_energy[0]
    else:
        mf.mo_coeff, mf.mo_occ, mf.mo_energy = res.mo_coeff, res.mo_occ, res.mo_energy
    mf.e_tot, mf.converged, mf.cycles = res.e_tot, res.converged, warm_cycles + res.cycles
    mf.n_fock = warm_fock + res.fock_builds + res.kernel_calls


def _lower_states(ground, method: Method) -> tuple:
    """The ground state as a (name, e_tot, nelec) comparison for the collapse evidence, when it is a converged
    state of the same energy functional (xc, density fitting, grid); a ground state of another functional is
    only a tracking reference."""
    if isinstance(ground, ScfResult):
        m = ground.method
        same = (m.xc, m.density_fit, m.grid_level) == (method.xc, method.density_fit, method.grid_level)
    else:  # a PySCF mean-field object
        same = str(getattr(ground, "xc", "hf")).lower() == method.xc
    if not (same and bool(getattr(ground, "converged", False))) or getattr(ground, "e_tot", None) is None:
        return ()
    occ = np.asarray(to_host(ground.mo_occ), dtype=float)
    return (("the ground state", float(ground.e_tot), nelec_of(occ)),)


def _run_ground(mol, mol_given, method: Method, verbose: int = 0) -> ScfResult:
    """Aufbau ground state with PySCF's own occupations and initial guess."""
    mf = wrap(make_mf(mol, method, verbose, shared_eri(mol_given, method)))
    mf.kernel()
    mo_occ = to_host(mf.mo_occ).astype(float)
    record = make_record(mf, method, "ground", ResolvedOccupation(mo_occ, nelec_of(mo_occ), "ground"),
                         mf.mo_coeff, mol=mol)
    return record


def run_scf_with_correction(mol, parent: ScfResult, method: Method, correction, verbose: int = 0) -> ScfResult:
    """The state ``parent`` made self-consistent with a frozen correction added to F and E; theory §5.8.

    ``correction`` has ``terms(dm, s1e) -> (h_ao, de)``: the correction's potential and energy with frozen
    ingredients.  The parent fixes the occupation pattern, the tracking reference and the initial density;
    PySCF's SCF loop then runs with F = F_DFA + H_corr and E = E_DFA + ΔE_corr.
    """
    restricted = parent.restricted
    xp = get_namespace(parent.method.device)  # refuses a GPU that is not there
    if xp is not np and hasattr(correction, "to_namespace"):
        correction = correction.to_namespace(xp)  # its frozen arrays copied to the device once, not every cycle
    c_ref, occ = xp.array(parent.mo_coeff), xp.array(parent.mo_occ)
    mf = make_mf(mol.copy(), parent.method, verbose, shared_eri(mol, parent.method))
    mf = wrap(mf, c_ref, to_host(occ), parent.method.tracking, correction)
    if not restricted:
        mf.nelec = parent.nelec
    mf.kernel(dm0=mf.make_rdm1(c_ref, occ))
    resolved = ResolvedOccupation(parent.mo_occ, parent.nelec, parent.resolved)
    return make_record(mf, method, parent.spec, resolved, c_ref, parent.degenerate, mol)


def purify_singlet(mixed, triplet) -> float:
    """Spin-purified open-shell singlet energy 2 E_mixed - E_T; theory (1.5).

    Accepts ScfResult records or energies in Hartree.
    """
    e_m = mixed.e_tot if isinstance(mixed, ScfResult) else float(mixed)
    e_t = triplet.e_tot if isinstance(triplet, ScfResult) else float(triplet)
    return 2.0 * e_m - e_t


def make_ensemble_energies(mol, method: Method, dm_low, dm_high, deltas, verbose: int = 0):
    """E[(1 - δ) D_low + δ D_high] and its Fock matrices, without SCF; theory (2.1), route (b) of §2.2.

    Parameters
    ----------
    dm_low, dm_high : ndarray, shape (2, nao, nao)
        Per-spin densities of the lower-N and upper-N integer states.
    deltas : sequence of float

    Returns
    -------
    e_tot : ndarray, shape (npoint,), Hartree
    fock : ndarray, shape (npoint, 2, nao, nao), Hartree
    """
    xp = get_namespace(method.device)  # refuses a GPU that is not there
    mf = make_mf(mol, method, verbose, shared_eri(mol, method))
    h1e = mf.get_hcore()
    dm_low, dm_high = xp.asarray(dm_low), xp.asarray(dm_high)
    e_tot, focks = [], []
    for d in deltas:
        dm = (1.0 - d) * dm_low + d * dm_high
        vhf = mf.get_veff(mol, dm)
        e_tot.append(float(mf.energy_tot(dm, h1e, vhf)))
        focks.append(to_host(mf.get_fock(h1e=h1e, vhf=vhf, dm=dm)))
    return np.array(e_tot), np.array(focks)

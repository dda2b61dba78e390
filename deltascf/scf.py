"""The one PySCF wrapper: the ``_DeltaSCF`` mixin and ``run_state``.

``_DeltaSCF`` follows the dynamic-mixin pattern of ``pyscf.scf.smearing``:
it is put on a *copy* of a mean-field object with ``lib.set_class`` and
overrides three hooks, leaving PySCF's SCF loop (and its DIIS) alone:

* ``get_occ``  — overlap tracking (MOM/IMOM) with fractional targets, theory §1.3;
* ``get_grad`` — orbital gradient over all pairs of different occupation, (1.3);
* ``get_veff`` — forwards to PySCF and counts Fock builds.
"""
from __future__ import annotations

import numpy as np
import pyscf
from pyscf import dft, lib, scf

from . import __version__
from .integrals import get_eri
from .occupations import (Occupation, ResolvedOccupation, format_degenerate_groups, make_degenerate_groups,
                          make_matched_orbital, make_overlap, make_tracked_occ)
from .results import Method, ScfResult

__all__ = ["run_state", "run_state_method", "run_scf_losc", "run_losc", "make_losc_orbital_energy", "purify_singlet", "make_orbital_grad", "make_spin_square",
           "make_dm_similarity", "make_target_check", "make_ensemble_energies"]

#: a target counts as lost when its occupied space overlaps the result by less than this
LOST_OVERLAP = 0.5


# -- pure helpers -------------------------------------------------------------
def make_orbital_grad(mo_coeff: np.ndarray, mo_occ: np.ndarray, fock_ao: np.ndarray) -> np.ndarray:
    """g_pq = (n_p - n_q) F_pq for p < q, one spin; theory (1.3).

    Includes rotations between fractional, and between occupied orbitals of
    a non-aufbau pattern.  For aufbau integer occupations it equals PySCF's
    occupied-virtual gradient (same norm).
    """
    f_mo = mo_coeff.conj().T @ fock_ao @ mo_coeff
    g = (mo_occ[:, None] - mo_occ[None, :]) * f_mo
    return g[np.triu_indices(len(mo_occ), 1)]


def make_canonical_orbitals(fock: np.ndarray, mo_coeff: np.ndarray, mo_occ: np.ndarray):
    """Diagonalize F within each group of equal occupation, one spin.

    Rotations inside a group leave the density unchanged, so the state stays
    exactly the converged one while its orbital energies become eigenvalues of
    F[D] restricted to the group (off-group elements are the gradient (1.3)).
    Returns (mo_energy, mo_coeff, mo_occ) sorted by orbital energy.
    """
    f_mo = mo_coeff.conj().T @ fock @ mo_coeff
    mo_energy = np.empty(len(mo_occ))
    c_new = np.array(mo_coeff, copy=True)
    keys = np.round(mo_occ, 12)
    for v in np.unique(keys):
        idx = np.flatnonzero(keys == v)
        w, u = np.linalg.eigh(f_mo[np.ix_(idx, idx)])
        mo_energy[idx] = w
        c_new[:, idx] = mo_coeff[:, idx] @ u
    order = np.argsort(mo_energy, kind="stable")
    return mo_energy[order], c_new[:, order], np.asarray(mo_occ, dtype=float)[order]


def _trace_dsds(a: np.ndarray, s1e: np.ndarray, b: np.ndarray) -> float:
    """tr(A S B S) by two matrix products (an einsum over four indices is O(n^4))."""
    return float(np.sum((a @ s1e) * (b @ s1e).T))


def make_spin_square(dm: np.ndarray, s1e: np.ndarray) -> float:
    """<S^2> of a spin-unrestricted density (2, nao, nao).

    <S^2> = (Na - Nb)^2/4 + (Na + Nb)/2 - tr(Da S Db S); for integer
    occupations this is PySCF's ``uhf.spin_square``.
    """
    na = float(np.sum(dm[0] * s1e))
    nb = float(np.sum(dm[1] * s1e))
    return 0.25 * (na - nb) ** 2 + 0.5 * (na + nb) - _trace_dsds(dm[0], s1e, dm[1])


def make_dm_similarity(dm: np.ndarray, dm_ref: np.ndarray, s1e: np.ndarray) -> float:
    """tr(D S D_ref S) / sqrt(tr(D S D S) tr(D_ref S D_ref S)), one spin.

    1 when the two densities coincide; for integer occupations it is the
    mean squared projection of one occupied space onto the other.
    """
    a = _trace_dsds(dm, s1e, dm_ref)
    n1 = _trace_dsds(dm, s1e, dm)
    n2 = _trace_dsds(dm_ref, s1e, dm_ref)
    if n1 < 1e-14 and n2 < 1e-14:
        return 1.0
    if n1 < 1e-14 or n2 < 1e-14:
        return 0.0
    return float(a / np.sqrt(n1 * n2))


def _spin_dms(mo_coeff: np.ndarray, mo_occ: np.ndarray) -> np.ndarray:
    """Per-spin AO densities (2, nao, nao); a restricted density is split in half."""
    if mo_occ.ndim == 1:
        d = (mo_coeff * (mo_occ / 2)) @ mo_coeff.conj().T
        return np.array([d, d])
    return np.array([(mo_coeff[s] * mo_occ[s]) @ mo_coeff[s].conj().T for s in range(2)])


def _aufbau_like(target: np.ndarray) -> np.ndarray:
    """Aufbau occupations with the same electrons per spin as ``target``."""
    full = 2.0 if target.ndim == 1 else 1.0
    out = np.zeros_like(target)
    for row_in, row_out in zip(np.atleast_2d(target), np.atleast_2d(out)):
        n = row_in.sum()
        k = int(np.floor(n / full + 1e-10))
        row_out[:k] = full
        if k < row_out.size:
            row_out[k] = n - k * full
    return out


def make_target_check(dm: np.ndarray, c_ref: np.ndarray, target: np.ndarray, s1e: np.ndarray):
    """Per-spin overlap with the target and the collapse flag; theory §1.3.

    Parameters
    ----------
    dm : ndarray, shape (2, nao, nao)
        Final per-spin density.
    c_ref, target : ndarray
        Reference (ground-state) orbitals and the target occupations on them.

    Returns
    -------
    overlap : ndarray, shape (2,)
        ``make_dm_similarity`` of the final and target densities, per spin.
    collapsed : bool
        True when some spin overlaps the target less than ``LOST_OVERLAP``,
        or, for a non-aufbau target, lies closer to the aufbau density with
        the same electron counts than to the target (variational collapse).
    """
    dm_target = _spin_dms(c_ref, target)
    overlap = np.array([make_dm_similarity(dm[s], dm_target[s], s1e) for s in range(2)])
    collapsed = bool(overlap.min() < LOST_OVERLAP)
    aufbau = _aufbau_like(target)
    if not np.allclose(aufbau, target, atol=1e-10, rtol=0):
        dm_aufbau = _spin_dms(c_ref, aufbau)
        to_aufbau = np.array([make_dm_similarity(dm[s], dm_aufbau[s], s1e) for s in range(2)])
        collapsed = collapsed or bool(np.any(to_aufbau > overlap + 1e-8))
    return overlap, collapsed


def purify_singlet(mixed, triplet) -> float:
    """Spin-purified open-shell singlet energy 2 E_mixed - E_T; theory (1.5).

    Accepts ScfResult records or energies in Hartree.
    """
    e_m = mixed.e_tot if isinstance(mixed, ScfResult) else float(mixed)
    e_t = triplet.e_tot if isinstance(triplet, ScfResult) else float(triplet)
    return 2.0 * e_m - e_t


# -- the mixin ----------------------------------------------------------------
class _DeltaSCF:
    """Overlap-tracking occupations for any PySCF SCF class (theory §1.3).

    ``occ_ref`` None means aufbau occupations (the parent's ``get_occ``).
    """

    __name_mixin__ = "DeltaSCF"
    _keys = {"c_ref", "occ_ref", "tracking", "n_fock", "s1e_ref", "max_grad", "fock_last", "losc_frozen"}

    def __init__(self, mf, c_ref=None, occ_ref=None, tracking="imom"):
        self.__dict__.update(mf.__dict__)
        self.c_ref = None if c_ref is None else np.array(c_ref, copy=True)
        self.occ_ref = None if occ_ref is None else np.array(occ_ref, dtype=float, copy=True)
        self.tracking = tracking
        self.n_fock = 0
        self.max_grad = float("nan")
        self.fock_last = None
        self.s1e_ref = mf.get_ovlp()
        # PySCF's extra Roothaan step after convergence is unstable for
        # non-aufbau states with near-degenerate occupied/empty pairs; the
        # converged density is canonicalized instead (see _canonical).
        self.conv_check = False
        # SCF-LOSC: (c_lo, kappa) per spin, frozen (theory 5.8); None for the plain DFA
        self.losc_frozen = None

    def undo_deltascf(self):
        obj = lib.view(self, lib.drop_class(self.__class__, _DeltaSCF))
        for key in self._keys:
            obj.__dict__.pop(key, None)
        return obj

    def dump_flags(self, verbose=None):
        super().dump_flags(verbose)
        if self.occ_ref is not None:
            lib.logger.info(self, "deltascf tracking = %s, target occupations (0-based) =\n%s", self.tracking, self.occ_ref)
        return self

    def get_occ(self, mo_energy=None, mo_coeff=None):
        if self.occ_ref is None:
            return super().get_occ(mo_energy, mo_coeff)
        if mo_coeff is None:
            mo_coeff = self.mo_coeff
        s1e = self.s1e_ref
        if self.occ_ref.ndim == 1:
            occ = make_tracked_occ(make_overlap(self.c_ref, mo_coeff, s1e), self.occ_ref)
        else:
            occ = np.array([make_tracked_occ(make_overlap(self.c_ref[s], mo_coeff[s], s1e), self.occ_ref[s]) for s in range(2)])
        if self.tracking == "mom":  # reference = previous iteration [Gilbert2008]
            self.c_ref = np.array(mo_coeff, copy=True)
            self.occ_ref = occ.copy()
        return occ

    def get_grad(self, mo_coeff, mo_occ, fock=None):
        if fock is None:
            dm1 = self.make_rdm1(mo_coeff, mo_occ)
            fock = self.get_hcore(self.mol) + self.get_veff(self.mol, dm1)
        mo_occ = np.asarray(mo_occ)
        if mo_occ.ndim == 1:
            g = make_orbital_grad(mo_coeff, mo_occ, fock)
        else:
            g = np.hstack([make_orbital_grad(mo_coeff[s], mo_occ[s], fock[s]) for s in range(2)])
        # PySCF's kernel calls this last with the final orbitals and F[D] (no DIIS)
        self.max_grad = float(np.max(np.abs(g))) if g.size else 0.0
        self.fock_last = np.array(fock, copy=True)
        return g

    def get_veff(self, mol=None, dm=None, *args, **kwargs):
        self.n_fock += 1
        if self.losc_frozen is None:
            return super().get_veff(mol, dm, *args, **kwargs)
        # PySCF may build incrementally from vhf_last: hand it the DFA part only
        args = list(args)
        if len(args) >= 2:
            args[1] = _strip_losc(args[1])
        elif "vhf_last" in kwargs:
            kwargs["vhf_last"] = _strip_losc(kwargs["vhf_last"])
        vhf = super().get_veff(mol, dm, *args, **kwargs)
        if dm is None:
            dm = self.make_rdm1()
        h_losc, e_losc = _losc_terms(self.losc_frozen, self.s1e_ref, np.asarray(dm))
        return lib.tag_array(np.asarray(vhf) + h_losc, h_losc=h_losc, e_losc=e_losc, **getattr(vhf, "__dict__", {}))

    def energy_elec(self, dm=None, h1e=None, vhf=None):
        """E_DFA[D] + ΔE_LOSC[D] when SCF-LOSC is on; theory 5.8."""
        if self.losc_frozen is None:
            return super().energy_elec(dm, h1e, vhf)
        if vhf is None:
            vhf = self.get_veff(self.mol, dm if dm is not None else self.make_rdm1())
        e_tot, e_2e = super().energy_elec(dm, h1e, _strip_losc(vhf))
        return e_tot + vhf.e_losc, e_2e + vhf.e_losc


def _strip_losc(vhf):
    """The DFA part of a potential tagged with an LOSC term (other tags kept)."""
    if not hasattr(vhf, "h_losc"):
        return vhf
    tags = {k: v for k, v in vhf.__dict__.items() if k not in ("h_losc", "e_losc")}
    return lib.tag_array(np.asarray(vhf) - vhf.h_losc, **tags)


def _losc_terms(frozen, s1e: np.ndarray, dm: np.ndarray):
    """H_LOSC (AO, per spin) and ΔE_LOSC at density ``dm`` with frozen orbitalets; theory (5.6), (5.7)."""
    from .functionals.losc import make_local_occupation, make_losc_energy, make_losc_potential

    c_lo, kappa = frozen
    if dm.ndim == 2:  # restricted: one spin density D/2, the same potential for both spins
        lam = make_local_occupation(c_lo[0], s1e, dm / 2)
        return make_losc_potential(s1e, c_lo[0], kappa[0], lam), 2.0 * make_losc_energy(kappa[0], lam)
    h, e = [], 0.0
    for s in range(2):
        lam = make_local_occupation(c_lo[s], s1e, dm[s])
        h.append(make_losc_potential(s1e, c_lo[s], kappa[s], lam))
        e += make_losc_energy(kappa[s], lam)
    return np.array(h), e


# -- building PySCF objects -----------------------------------------------------
def _make_mf(mol, method: Method, verbose: int = 0, eri=None):
    """A fresh PySCF mean-field object for ``method`` (no SCF run).

    ``eri`` (s8, from :func:`deltascf.integrals.get_eri`) is handed to PySCF as
    ``mf._eri`` so that the integrals are not evaluated again for each state.
    """
    restricted = method.restricted
    if method.is_hf:
        # the classes themselves: scf.UHF(mol) swaps in HF1e for one electron,
        # whose shortcut ignores fractional occupations
        mf = scf.hf.RHF(mol) if restricted else scf.uhf.UHF(mol)
    else:
        mf = dft.RKS(mol) if restricted else dft.UKS(mol)
        mf.xc = method.xc
        if method.grid_level is not None:
            mf.grids.level = int(method.grid_level)
    if method.density_fit:
        mf = mf.density_fit(auxbasis=method.density_fit)
    elif eri is not None:
        mf._eri = eri
    mf.verbose = verbose
    mf.chkfile = None
    mf.conv_tol = method.conv_tol
    if method.conv_tol_grad is not None:
        mf.conv_tol_grad = method.conv_tol_grad
    mf.max_cycle = int(method.max_cycle)
    if not method.is_hf:
        # One grid per molecule and method: built (and, for RKS, pruned as
        # PySCF does) from the atomic initial guess, so every state of the
        # molecule sees the same grid.
        mf.initialize_grids(mol, mf.get_init_guess(mol, "minao") if restricted else None)
    return mf


def _wrap(mf, c_ref=None, occ_ref=None, tracking="imom"):
    return lib.set_class(_DeltaSCF(mf, c_ref, occ_ref, tracking), (_DeltaSCF, mf.__class__))


def _versions() -> dict:
    return {"deltascf": __version__, "pyscf": pyscf.__version__}


def _canonical(mf):
    """(mo_energy, mo_coeff, mo_occ) of the final density, canonical within occupation groups."""
    mo_coeff, mo_occ, fock = np.asarray(mf.mo_coeff), np.asarray(mf.mo_occ, dtype=float), mf.fock_last
    if mo_occ.ndim == 1:
        return make_canonical_orbitals(fock, mo_coeff, mo_occ)
    parts = [make_canonical_orbitals(fock[s], mo_coeff[s], mo_occ[s]) for s in range(2)]
    return tuple(np.array([p[k] for p in parts]) for k in range(3))


def _finish(mf, method: Method, spec: str, resolved: ResolvedOccupation, c_ref: np.ndarray,
            degenerate: str = "") -> ScfResult:
    """Record a finished SCF (copies everything it keeps)."""
    mo_energy, mo_coeff, mo_occ = _canonical(mf)
    s1e = mf.s1e_ref
    dm = _spin_dms(mo_coeff, mo_occ)
    target = np.asarray(resolved.mo_occ)
    overlap, collapsed = make_target_check(dm, c_ref, target, s1e)
    if mo_occ.ndim == 2:
        nelec = (mo_occ[0].sum(), mo_occ[1].sum())
    else:
        nelec = (mo_occ.sum() / 2, mo_occ.sum() / 2)
    return ScfResult(
        e_tot=mf.e_tot,
        mo_energy=mo_energy,
        mo_occ=mo_occ,
        mo_coeff=mo_coeff,
        nelec=nelec,
        converged=mf.converged,
        cycles=getattr(mf, "cycles", -1),
        s2=make_spin_square(dm, s1e),
        spec=spec,
        resolved=resolved.text,
        target_occ=target,
        target_overlap=overlap,
        max_grad=mf.max_grad,
        collapsed=collapsed,
        method=method,
        n_fock=mf.n_fock,
        versions=_versions(),
        degenerate=degenerate,
    )


def _ground_orbitals(ground, restricted: bool):
    """(mo_coeff, mo_occ) copies from a ScfResult or a PySCF mean-field object."""
    c = np.array(ground.mo_coeff, dtype=float, copy=True)
    occ = np.array(ground.mo_occ, dtype=float, copy=True)
    if c.ndim == 2 and not restricted:  # restricted ground -> unrestricted state
        c, occ = np.array([c, c]), np.array([occ / 2, occ / 2])
    elif c.ndim == 3 and restricted:
        raise ValueError("an unrestricted ground state cannot start a restricted (rks/rhf) state; pass a restricted one")
    return c, occ


def _ground_nelec(mo_occ: np.ndarray):
    if mo_occ.ndim == 1:
        n = int(round(mo_occ.sum() / 2))
        return n, n
    return int(round(mo_occ[0].sum())), int(round(mo_occ[1].sum()))


# -- the public solver ------------------------------------------------------------
def run_state(mol, xc: str = "b3lyp", state="ground", *, reference: str = "uks", tracking: str = "imom",
              ground=None, density_fit: str | None = None, grid_level: int | None = None,
              conv_tol: float = 1e-9, conv_tol_grad: float | None = None, max_cycle: int = 100,
              verbose: int = 0) -> ScfResult:
    """Converge one ground, ΔSCF or fractional state.

    Parameters
    ----------
    mol : pyscf.gto.Mole
        The molecule (not modified).
    xc : str
        PySCF xc string, or ``"hf"``.
    state : str or Occupation
        Occupation spec (see :mod:`deltascf.occupations`), e.g. ``"a:HOMO->LUMO"``.
    reference : {"uks", "rks", "uhf", "rhf"}
    tracking : {"imom", "mom"}
        IMOM keeps the initial (ground-state) orbitals as the reference;
        MOM uses the previous iteration's.
    ground : ScfResult or PySCF mean-field, optional
        Converged ground state to start from; computed when omitted.
    density_fit : str, optional
        Auxiliary basis for density fitting (exact integrals when None).

    Returns
    -------
    ScfResult
    """
    method = Method(xc=xc, reference=reference, tracking=tracking, density_fit=density_fit,
                    grid_level=grid_level, conv_tol=conv_tol, conv_tol_grad=conv_tol_grad,
                    max_cycle=max_cycle)
    occupation = Occupation.parse(state)
    return run_state_method(mol, method, occupation, ground=ground, verbose=verbose)


def run_state_method(mol, method: Method, occupation: Occupation, *, ground=None, dm0=None,
                     verbose: int = 0) -> ScfResult:
    """``run_state`` with a ready ``Method`` and ``Occupation``.

    ``dm0`` (2, nao, nao) replaces the default initial density (the target
    occupations on the ground orbitals), e.g. an extrapolated one in scans;
    the tracking reference stays the ground orbitals.
    """
    given, mol = mol, mol.copy()  # the shared ERIs belong to the caller's molecule
    restricted = method.restricted
    if restricted and mol.spin != 0:
        raise ValueError(f"reference {method.reference} needs a closed-shell molecule (spin 0, got {mol.spin}); use uks/uhf")
    nmo = mol.nao_nr()
    if ground is None:
        # validate the spec on aufbau counts before paying for any SCF
        occupation.resolve(mol.nelec, nmo, restricted)
        ground = _run_ground(mol, method, verbose, _shared_eri(given, method))
        if occupation.is_ground:
            return ground
    c_ref, occ_ground = _ground_orbitals(ground, restricted)
    if c_ref.shape[-2] != nmo:
        raise ValueError(f"the given ground state has {c_ref.shape[-2]} basis functions, the molecule {nmo}")
    resolved = occupation.resolve(_ground_nelec(occ_ground), c_ref.shape[-1], restricted)
    e_ref = np.asarray(ground.mo_energy, dtype=float)
    if e_ref.ndim == 1 and not restricted:
        e_ref = np.array([e_ref, e_ref])
    degenerate = format_degenerate_groups(make_degenerate_groups(e_ref, occ_ground, resolved.mo_occ), restricted)
    mf = _make_mf(mol, method, verbose, _shared_eri(given, method))  # after validation: ERIs cost nao⁴
    mf = _wrap(mf, c_ref, resolved.mo_occ, method.tracking)
    if not restricted:
        mf.nelec = resolved.nelec
    if dm0 is None:
        dm0 = mf.make_rdm1(c_ref, resolved.mo_occ)
    mf.kernel(dm0=np.array(dm0, copy=True))
    return _finish(mf, method, str(occupation), resolved, c_ref, degenerate)


def _shared_eri(mol, method: Method):
    """The molecule's shared in-core ERIs (None with density fitting or when they do not fit)."""
    return None if method.density_fit else get_eri(mol)


def _run_ground(mol, method: Method, verbose: int = 0, eri=None) -> ScfResult:
    """Aufbau ground state with PySCF's own occupations and initial guess."""
    mf = _wrap(_make_mf(mol, method, verbose, eri))
    mf.kernel()
    _, c, mo_occ = _canonical(mf)
    resolved = ResolvedOccupation(mo_occ, _ground_nelec(mo_occ), "ground")
    return _finish(mf, method, "ground", resolved, c)


def run_scf_losc(mol, parent: ScfResult, settings=None, *, frozen=None, verbose: int = 0):
    """SCF-LOSC with orbitalets and curvature frozen from ``parent``; theory 5.8.

    The parent (ground, ΔSCF or fractional) state fixes the orbitalets, κ, the
    occupation pattern and the tracking reference; PySCF's SCF loop then runs
    with F = F_DFA + H_LOSC and E = E_DFA + ΔE_LOSC (``_DeltaSCF`` hooks).

    Returns
    -------
    LoscResult
        ``e_tot`` and ``mo_energy`` of the self-consistent state, which is
        kept as ``LoscResult.state``; ``de_losc`` is ΔE at its density.
    """
    from .functionals.losc import LoscResult, LoscSettings, make_local_occupation, make_losc_energy, \
        make_losc_inputs

    settings = settings or LoscSettings()
    frozen = frozen or make_losc_inputs(mol, parent, settings)
    c_lo, kappa, co_index, conv, sweeps, a_x, a_hf = frozen
    method = parent.method
    eri = _shared_eri(mol, method)
    mol = mol.copy()
    mf = _wrap(_make_mf(mol, method, verbose, eri), parent.mo_coeff, parent.mo_occ, method.tracking)
    mf.losc_frozen = (c_lo, kappa)
    if not parent.restricted:
        mf.nelec = parent.nelec
    mf.kernel(dm0=mf.make_rdm1(np.array(parent.mo_coeff), np.array(parent.mo_occ)))
    resolved = ResolvedOccupation(parent.mo_occ, parent.nelec, parent.resolved)
    state = _finish(mf, method, parent.spec, resolved, np.array(parent.mo_coeff), parent.degenerate)
    s1e = mf.s1e_ref
    dms = _spin_dms(state.mo_coeff, state.mo_occ)
    lams = tuple(make_local_occupation(c, s1e, dms[k]) for k, c in enumerate(c_lo))
    de = sum(make_losc_energy(kap, lam) for kap, lam in zip(kappa, lams)) * (2.0 if state.restricted else 1.0)
    return LoscResult(de_losc=de, e_dfa=state.e_tot - de, e_tot=state.e_tot, mo_energy=state.mo_energy, c_lo=c_lo,
                      kappa=kappa, lam=lams, co_index=co_index, localization_converged=conv, sweeps=sweeps,
                      a_x=a_x, a_hf=a_hf, settings=settings, mode="scf", state=state)


LOSC_MODES = ("post", "scf")


def run_losc(mol, result: ScfResult, mode: str = "post", settings=None, verbose: int = 0):
    """LOSC of one state: post-SCF (no SCF) or SCF-LOSC (frozen orbitalets); theory 5.7-5.9.

    Exact-Coulomb curvatures take the molecule's shared ERIs
    (:func:`deltascf.integrals.get_eri`), evaluated once for all states.
    """
    from .functionals.losc import make_losc_correction

    if mode == "post":
        return make_losc_correction(mol, result, settings)
    if mode == "scf":
        return run_scf_losc(mol, result, settings, verbose=verbose)
    raise ValueError(f"unknown LOSC mode {mode!r}; choose post or scf")


def make_losc_orbital_energy(losc, result: ScfResult, spin: int, k: int, s1e: np.ndarray) -> float:
    """Corrected energy of orbital ``k`` (spin ``spin``) of ``result``.

    Post-SCF LOSC keeps the orbitals, so it is entry k; SCF-LOSC relaxes and
    re-sorts them, so the orbital of the same occupation that overlaps most
    with the parent orbital is taken.
    """
    if losc.state is None:
        return float(losc.mo_energy[k] if result.restricted else losc.mo_energy[spin, k])
    st = losc.state
    pick = (lambda a: a) if st.restricted else (lambda a: a[spin])
    occ_old = pick(result.mo_occ)
    q = make_matched_orbital(pick(st.mo_coeff), pick(st.mo_occ), pick(result.mo_coeff)[:, k], s1e, occ_old[k])
    return float(pick(st.mo_energy)[q])


def make_ensemble_energies(mol, method: Method, dm_low: np.ndarray, dm_high: np.ndarray, deltas, verbose: int = 0):
    """E[(1 - δ) D_low + δ D_high] and its Fock matrices, without SCF; theory (2.1), route (b).

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
    mf = _make_mf(mol, method, verbose, _shared_eri(mol, method))
    h1e = mf.get_hcore()
    e_tot, focks = [], []
    for d in deltas:
        dm = (1.0 - d) * np.asarray(dm_low) + d * np.asarray(dm_high)
        vhf = mf.get_veff(mol, dm)
        e_tot.append(mf.energy_tot(dm, h1e, vhf))
        focks.append(mf.get_fock(h1e=h1e, vhf=vhf, dm=dm))
    return np.array(e_tot), np.array(focks)

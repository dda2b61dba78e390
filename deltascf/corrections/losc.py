"""LOSC: the localized orbital scaling correction on any state; theory §5.

Pure functions on arrays (and on a PySCF ``mol`` for integrals): orbitalets by LOSC2 Jacobi localization
(5.1)-(5.2), curvature v1/v2 (5.3)-(5.4), local occupations (5.5), energy correction (5.6), AO potential and
post-SCF orbital energies (5.7)-(5.8).  The module implements the correction interface of
:mod:`deltascf.corrections`: post-SCF LOSC of a finished ``ScfResult`` (ground, ΔSCF or fractional;
:func:`make_losc_correction`) and SCF-LOSC with orbitalets and curvature frozen from a parent state
(:func:`make_losc_inputs`, then ``deltascf.corrections.run_correction``; theory §5.8).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from pyscf.data.nist import HARTREE2EV
from scipy.special import erf, erfc

from .._backend import kernel
from ..integrals import get_eri, make_pair_sandwich
from ..records import ScfResult, Record, frozen_array
from ..settings import OptionInfo, check_value
from ..gpu import get_namespace
from ..gpu.kernels import make_round_robin_pairs
from ..spin import get_xp, make_spin_dms, per_spin, spin_factor, to_host
from .xc import LoscUnsupported, make_dfa_weights

__all__ = ["NAME", "LABEL", "LoscSettings", "LoscResult", "LoscInputs", "LoscUnsupported", "make_orbitalets",
           "make_kappa", "make_local_occupation", "make_losc_energy", "make_losc_potential", "make_losc_mo_energy",
           "make_losc_correction", "make_losc_inputs", "make_losc_terms", "LoscTerms", "make_coulomb_diag",
           "make_grid_integrals", "run_scf_losc",
           "OPTIONS", "make_settings"]

NAME = "losc"
LABEL = "LOSC"

#: C_x = (3/4)(6/π)^{1/3}, the LDA exchange constant of theory (5.3)
C_X = 0.75 * (6.0 / np.pi) ** (1.0 / 3.0)
#: AO grid points per block for the grid integrals
GRID_BLOCK = 20000
#: pairs whose Jacobi gain is below this fraction of the convergence threshold, shared out over all pairs, are
#: not rotated (theory §5.3): 2.2-2.5x faster on acenes (benchmarks/orbitalets.py), the same G to that test
SKIP_FRACTION = 0.1


@dataclass(frozen=True, slots=True)
class LoscSettings:
    """LOSC parameters (theory §5.3-§5.5, §5.10).  Defaults are LOSC2 with exact Coulomb.

    ``window`` (eV, eV) keeps only the canonical orbitals whose energies lie
    inside it.  ``kappa_coulomb`` is "exact" (J_ij = (ii|jj)) or "df" with
    ``auxbasis`` as the fitting basis (published numbers used "6-31g").
    """

    curvature: int = 2
    loc_gamma: float = 0.707
    loc_c: float = 1000.0
    tau: float = 1.2378
    zeta: float = 8.0
    window: tuple | None = None
    kappa_coulomb: str = "exact"
    auxbasis: str | None = None
    seed: int = 0
    loc_tol: float = 1e-10
    loc_max_sweeps: int = 1000
    loc_skip: float = SKIP_FRACTION  # Jacobi pairs below this share of the stopping test are not rotated (§5.3)
    weights: tuple | None = None  # explicit (a_x, a_HF) for a DFA not in the table
    grid_level: int | None = None  # None: the state's own grid level

    def __post_init__(self):
        if self.curvature not in (1, 2):
            raise ValueError(f"LOSC curvature version must be 1 or 2, got {self.curvature!r}")
        if self.kappa_coulomb not in ("exact", "df"):
            raise ValueError(f"kappa_coulomb must be 'exact' or 'df', got {self.kappa_coulomb!r}")
        if not 0.0 <= self.loc_skip <= 1.0:
            raise ValueError(f"loc_skip must lie in [0, 1], got {self.loc_skip!r}")
        if self.kappa_coulomb == "df" and not self.auxbasis:
            raise ValueError("kappa_coulomb='df' needs an auxbasis (e.g. '6-31g')")
        if self.window is not None:
            object.__setattr__(self, "window", check_value(self.window, OPTIONS["window"], "LOSC window"))
        if self.weights is not None:
            object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))

    def to_dict(self) -> dict:
        """Plain-Python view of the settings."""
        return dataclasses.asdict(self)


#: the settings a user sets from the command line (--losc-fit-basis, --losc-window) and TOML ([losc])
OPTIONS = {
    "fit_basis": OptionInfo("density-fit the Coulomb part of the LOSC curvature with this basis (default: exact)",
                            metavar="AUXBASIS"),
    "window": OptionInfo("LOSC localization window in eV, e.g. -30,10", kind=tuple, metavar="LO,HI"),
}


def make_settings(fit_basis: str | None = None, window=None) -> "LoscSettings":
    """LoscSettings from the user options of :data:`OPTIONS`."""
    return LoscSettings(window=window, kappa_coulomb="df" if fit_basis else "exact", auxbasis=fit_basis or None)


@dataclass(frozen=True, slots=True, eq=False)
class LoscResult(Record):
    """One LOSC correction of one state (Hartree).

    Per-spin entries (``c_lo``, ``kappa``, ``lam``, ``co_index``: the canonical orbitals in the window) are
    tuples with one item for a restricted state and two for an unrestricted one.  ``mo_energy`` are the
    corrected orbital energies, shape of the state's.  ``mode`` is "post" (post-SCF, theory (5.7)-(5.8)) or
    "scf" (SCF-LOSC with frozen orbitalets, theory §5.8), where ``state`` holds the self-consistent state.
    """

    de_losc: float
    e_dfa: float
    e_tot: float
    mo_energy: np.ndarray
    c_lo: tuple
    kappa: tuple
    lam: tuple
    co_index: tuple
    localization_converged: tuple
    sweeps: tuple
    a_x: float
    a_hf: float
    settings: LoscSettings
    mode: str = "post"
    state: object = None  # the SCF-LOSC ScfResult (mode "scf")

    def __post_init__(self):
        object.__setattr__(self, "mo_energy", frozen_array(self.mo_energy))
        for name in ("c_lo", "kappa", "lam"):
            object.__setattr__(self, name, tuple(frozen_array(x) for x in getattr(self, name)))
        object.__setattr__(self, "co_index", tuple(tuple(int(i) for i in x) for x in self.co_index))
        object.__setattr__(self, "localization_converged", tuple(bool(x) for x in self.localization_converged))
        object.__setattr__(self, "sweeps", tuple(int(x) for x in self.sweeps))

    @property
    def de(self) -> float:
        """ΔE_LOSC (the CorrectionResult interface)."""
        return self.de_losc

    @property
    def notes(self) -> tuple:
        """What a reader should know about this correction (the CorrectionResult interface): an energy window
        that held no canonical orbital of a spin, so that nothing of it was corrected; a localization that
        stopped at its sweep limit."""
        spins = "ab" if len(self.co_index) == 2 else ("",)
        out = [f"the LOSC window {self.settings.window} eV holds no canonical orbital{' of spin ' + s if s else ''}: "
               "nothing there is corrected" for s, idx in zip(spins, self.co_index) if not idx]
        out += [f"the LOSC localization{' of spin ' + s if s else ''} stopped after {n} sweeps without converging"
                for s, ok, n in zip(spins, self.localization_converged, self.sweeps) if not ok]
        return tuple(out)


@dataclass(frozen=True, slots=True, eq=False)
class LoscInputs(Record):
    """Orbitalets and curvature of one state, per spin: what SCF-LOSC freezes; theory §5.8.

    ``terms(dm, s1e)`` gives the AO potential H_LOSC (5.7) and ΔE_LOSC (5.6) at any density with these
    orbitalets and κ̃ held fixed.
    """

    c_lo: tuple
    kappa: tuple
    co_index: tuple
    localization_converged: tuple
    sweeps: tuple
    a_x: float
    a_hf: float

    def __post_init__(self):
        for name in ("c_lo", "kappa"):
            object.__setattr__(self, name, tuple(frozen_array(x) for x in getattr(self, name)))
        object.__setattr__(self, "co_index", tuple(tuple(int(i) for i in x) for x in self.co_index))

    def terms(self, dm, s1e):
        """(H_LOSC, ΔE_LOSC) at density ``dm``: (nao, nao) restricted (one spin density D/2, one potential for
        both spins) or (2, nao, nao); theory (5.5)-(5.7).  In the namespace of ``dm``: for device densities, give
        the terms of :meth:`to_namespace` instead, which keeps the orbitalets and κ̃ on the device."""
        return make_losc_terms(self.c_lo, self.kappa, dm, s1e)

    def to_namespace(self, xp) -> "LoscTerms":
        """The same frozen terms with the orbitalets and κ̃ copied once into namespace ``xp`` (the device), so
        that an SCF cycle copies nothing between host and device."""
        return LoscTerms(tuple(xp.asarray(c) for c in self.c_lo), tuple(xp.asarray(k) for k in self.kappa))


@dataclass(frozen=True, slots=True, eq=False)
class LoscTerms:
    """Frozen orbitalets and κ̃ in one array namespace (host or device): ``terms`` as :meth:`LoscInputs.terms`."""

    c_lo: tuple
    kappa: tuple

    def terms(self, dm, s1e):
        """(H_LOSC, ΔE_LOSC) at density ``dm``; theory (5.5)-(5.7)."""
        return make_losc_terms(self.c_lo, self.kappa, dm, s1e)


def make_losc_terms(c_los, kappas, dm, s1e):
    """(H_LOSC, ΔE_LOSC) of frozen orbitalets ``c_los`` and curvatures ``kappas`` (one per spin) at ``dm``;
    theory (5.5)-(5.7).  ``dm`` is (nao, nao) restricted (D/2 per spin, one potential) or (2, nao, nao)."""
    xp = get_xp(dm)
    restricted = dm.ndim == 2
    h, e = [], 0.0
    # host orbitalets with a device density are copied here, every call: the SCF route copies them once instead
    # (LoscInputs.to_namespace); xp.asarray of arrays already in the namespace copies nothing
    c_los, kappas = [xp.asarray(c) for c in c_los], [xp.asarray(k) for k in kappas]
    for c_lo, kappa, d in zip(c_los, kappas, [dm / 2] if restricted else per_spin(dm, False)):
        lam = make_local_occupation(c_lo, s1e, d)
        h.append(make_losc_potential(s1e, c_lo, kappa, lam))
        e += make_losc_energy(kappa, lam)
    return (h[0] if restricted else xp.stack(h)), e * spin_factor(restricted)


# -- orbitalets (theory §5.2, §5.3) -------------------------------------------------------------
def make_orbitalets(h_w, dip_w, gamma: float = 0.707, c: float = 1000.0,
                    seed: int = 0, tol: float = 1e-10, max_sweeps: int = 1000, skip: float = SKIP_FRACTION):
    """U maximizing G = Σ_i (1−γ) Σ_x (R_x)_ii² + γC H_ii² by Jacobi sweeps; theory (5.1)-(5.2).

    Sweeps stop when a sweep gains less than ``tol`` · max(1, G).  Within a sweep, a pair whose gain is below
    ``skip`` · tol · max(1, G) / (number of pairs) is not rotated, so the skipped pairs together hold less than
    ``skip`` · tol · G and cannot hide a sweep that has not converged (theory §5.3); ``skip=0`` rotates every pair.
    On the host, each sweep visits the pairs in a random order; for device arrays, in a random round-robin
    order, so that the device kernel rotates m/2 disjoint pairs at once (:mod:`deltascf.gpu.kernels`).

    Parameters
    ----------
    h_w : ndarray, shape (m, m)
        Fock matrix in the window basis (Hartree), on the host or the device.
    dip_w : ndarray, shape (3, m, m)
        Dipole (position) matrices in the window basis (bohr), in the namespace of ``h_w``.

    Returns
    -------
    u : ndarray, shape (m, m)
        C_LO = C_w u, in the namespace of ``h_w``.
    converged : bool
    sweeps : int
    """
    xp = get_xp(h_w)
    m = h_w.shape[0]
    mats = xp.stack([*dip_w, h_w], axis=-1).astype(float)  # (m, m, 4), kernels.jacobi_sweep
    if xp is np:
        mats = np.ascontiguousarray(mats)
    weights = xp.asarray(np.array([1.0 - gamma] * 3 + [gamma * c]))
    ut = xp.eye(m)
    if m < 2:
        return ut.T.copy(), True, 0
    pairs = np.array([(i, j) for i in range(m) for j in range(i + 1, m)], dtype=np.int64)
    rng = np.random.default_rng(seed)
    sweep = kernel("jacobi_sweep", mats)
    diag = xp.asarray(np.arange(m))

    def cost() -> float:
        return float((weights * mats[diag, diag] ** 2).sum())

    def order():
        return pairs[rng.permutation(len(pairs))] if xp is np else make_round_robin_pairs(m, rng)

    g = cost()
    for k in range(1, max_sweeps + 1):
        gain = sweep(mats, weights, ut, order(), skip * tol * max(1.0, g) / len(pairs))
        # relative to G: with C = 1000 the cost of a large molecule reaches 1e5-1e6,
        # where an absolute 1e-10 lies below round-off and is never reached
        g = cost()
        if gain < tol * max(1.0, g):
            return ut.T.copy(), True, k
    return ut.T.copy(), False, max_sweeps


# -- curvature (theory (5.3), (5.4)) --------------------------------------------------------------------
def _packed_density(c_lo: np.ndarray) -> np.ndarray:
    """Orbitalet densities c_i c_iᵀ packed as PySCF's s4 pairs (off-diagonal doubled), (nlo, npair)."""
    nao = c_lo.shape[0]
    rows, cols = np.tril_indices(nao)
    scale = np.where(rows == cols, 1.0, 2.0)
    return (c_lo[rows, :] * c_lo[cols, :]).T * scale


def make_coulomb_diag(mol, c_los, kappa_coulomb: str = "exact", auxbasis: str | None = None, eri=None,
                      device: str = "cpu"):
    """J_ij = (ii|jj) of orbitalet densities ρ_i = |φ_i|², exact or density-fitted; theory §5.10.

    ``c_los`` is a list of (nao, nlo) orbitalet sets (one per spin); the
    integrals are evaluated once for all of them.  Exact J contracts in-core
    ERIs (``eri``, s4 or s8; by default the molecule's shared ones from
    :func:`deltascf.integrals.get_eri`, which the SCF has usually computed
    already), or makes direct J builds when they do not fit in memory.  With ``device="gpu"``, exact J comes
    from gpu4pyscf's batched J builds on the orbitalet densities (:func:`deltascf.gpu.integrals.make_coulomb_diag`).
    Returns host arrays.
    """
    if device == "gpu" and kappa_coulomb == "exact":
        from ..gpu.integrals import make_coulomb_diag as make_on_device

        return make_on_device(mol, c_los)
    if kappa_coulomb == "df":
        from pyscf import df

        auxmol = df.addons.make_auxmol(mol, auxbasis)
        int3c = df.incore.aux_e2(mol, auxmol, "int3c2e", aosym="s2ij")  # (npair, naux)
        v = auxmol.intor("int2c2e")
        out = []
        for c in c_los:
            b = _packed_density(c) @ int3c
            out.append(b @ np.linalg.solve(v, b.T))
        return out
    if eri is None:
        eri = get_eri(mol)
    if eri is not None:
        return [make_pair_sandwich(eri, _packed_density(c)) for c in c_los]
    from pyscf.scf import hf

    out = []
    for c in c_los:
        dms = np.einsum("mi,ni->imn", c, c)
        vj = hf.get_jk(mol, dms, hermi=1, with_k=False)[0]
        out.append(np.einsum("imn,jnm->ij", vj, dms, optimize=True))
    return out


def make_grid_integrals(mol, c_los, grid_level: int | None = None, device: str = "cpu"):
    """X_ij = ∫ ρ_i^{2/3} ρ_j^{2/3} and S_ij = ∫ |φ_i||φ_j| on PySCF's DFT grid; theory (5.3), (5.4).

    ``c_los`` is a list of orbitalet sets (one per spin); the grid and the AO
    values are built once for all.  With ``device="gpu"`` the AO values of each block are evaluated by
    gpu4pyscf and contracted on the device by the CuPy twin of ``grid_gram``.  Returns a list of host (X, S)
    pairs.
    """
    from pyscf import dft

    grids = dft.gen_grid.Grids(mol)
    if grid_level is not None:
        grids.level = int(grid_level)
    grids.build(with_non0tab=False, sort_grids=False)  # sums over points need no locality order
    if device == "gpu":
        from ..gpu.integrals import make_ao_evaluator

        eval_ao = make_ao_evaluator(mol)
    else:
        eval_ao = dft.numint.eval_ao
    xp = get_namespace(device)
    c_los = [xp.asarray(c) for c in c_los]
    out = [[xp.zeros((c.shape[1],) * 2), xp.zeros((c.shape[1],) * 2)] for c in c_los]
    for p0 in range(0, grids.weights.size, GRID_BLOCK):
        ao = eval_ao(mol, grids.coords[p0:p0 + GRID_BLOCK])
        w = xp.asarray(grids.weights[p0:p0 + GRID_BLOCK])
        for acc, c in zip(out, c_los):
            phi = ao @ c
            dx, ds = kernel("grid_gram", phi)(phi, w)
            acc[0] += dx
            acc[1] += ds
    return [(to_host(x), to_host(s_abs)) for x, s_abs in out]


def make_kappa(j: np.ndarray, x: np.ndarray, s_abs: np.ndarray, a_x: float, a_hf: float,
               tau: float = 1.2378, zeta: float = 8.0, version: int = 2) -> np.ndarray:
    """LOSC curvature κ (v1, theory (5.3)) or κ̃ (v2, theory (5.4)).

    κ_ij = (1 − a_HF) J_ij − a_x (2τC_x/3) X_ij;  v2: κ̃_ij = erf(ζS_ij)√|κ_ii κ_jj| + erfc(ζS_ij) κ_ij (i≠j).
    """
    kappa = (1.0 - a_hf) * j - a_x * (2.0 * tau * C_X / 3.0) * x
    if version == 1:
        return kappa
    diag = np.diag(kappa).copy()
    mean = np.sqrt(np.abs(np.outer(diag, diag)))
    out = erf(zeta * s_abs) * mean + erfc(zeta * s_abs) * kappa
    np.fill_diagonal(out, diag)
    return out


# -- occupations, energy, potential (theory (5.5)-(5.8)) ------------------------------------------------
def make_local_occupation(c_lo: np.ndarray, s1e: np.ndarray, dm: np.ndarray) -> np.ndarray:
    """λ = C_LOᵀ S D S C_LO for one spin; theory (5.5)."""
    sc = s1e @ c_lo
    return sc.T @ dm @ sc


def make_losc_energy(kappa, lam) -> float:
    """ΔE = ½ Σ_i κ_ii λ_ii (1 − λ_ii) − ½ Σ_{i≠j} κ_ij λ_ij², one spin; theory (5.6).  Any array namespace."""
    xp = get_xp(lam)
    d = xp.diag(lam)
    off = kappa * lam * lam
    return float(0.5 * (xp.diag(kappa) * d * (1.0 - d)).sum() - 0.5 * (off.sum() - xp.diag(off).sum()))


def make_losc_potential(s1e, c_lo, kappa, lam):
    """H_LOSC = S C_LO A C_LOᵀ S with A_ij = κ_ij (½δ_ij − λ_ij) = ∂ΔE/∂D, one spin; theory (5.7).  Any array
    namespace."""
    a = kappa * (0.5 * get_xp(lam).eye(len(lam)) - lam)
    sc = s1e @ c_lo
    return sc @ a @ sc.T


def make_losc_mo_energy(mo_energy: np.ndarray, mo_coeff: np.ndarray, s1e: np.ndarray, c_lo: np.ndarray,
                        kappa: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """ε_p^LOSC = ε_p + Σ_ij U_pi A_ij U_pj, U = C_COᵀ S C_LO, one spin; theory (5.8)."""
    a = kappa * (0.5 * np.eye(len(lam)) - lam)
    u = mo_coeff.T @ s1e @ c_lo
    return mo_energy + np.einsum("pi,ij,pj->p", u, a, u, optimize=True)


# -- the whole correction of one state --------------------------------------------------------------
def _window_index(mo_energy: np.ndarray, window) -> np.ndarray:
    if window is None:
        return np.arange(mo_energy.size)
    e_ev = mo_energy * HARTREE2EV
    return np.flatnonzero((e_ev >= window[0]) & (e_ev < window[1]))  # may be empty: nothing is corrected


def make_orbitalet_sets(mol, result: ScfResult, settings: LoscSettings, same_spins: bool | None = None) -> tuple:
    """LOSC2 orbitalets of ``result`` per spin, from its own canonical orbitals with its Fock matrix diag(ε) in that
    basis; theory §5.2-§5.3.  Returns (c_lo, co_index, converged, sweeps, same_spins) with one entry per spin to
    treat: an unrestricted state whose spins are identical (to 1e-10, or as the caller says with ``same_spins``)
    is localized once, from α.  The Jacobi sweeps run on the state's device, the rest on the host; the orbitalets
    are host arrays."""
    xp = get_namespace(result.method.device)
    restricted = result.restricted
    spins = list(zip(per_spin(result.mo_coeff, restricted), per_spin(result.mo_energy, restricted)))
    dip = mol.intor_symmetric("int1e_r", comp=3)
    if same_spins is None:
        same_spins = len(spins) == 2 and np.allclose(spins[0][0], spins[1][0], rtol=0, atol=1e-10) and \
            np.allclose(spins[0][1], spins[1][1], rtol=0, atol=1e-10)
    same_spins = bool(same_spins) and len(spins) == 2
    work = spins[:1] if same_spins else spins
    c_lo, co_index, conv, sweeps = [], [], [], []
    for c, e in work:
        idx = _window_index(e, settings.window)
        c_w = c[:, idx]
        h_w = np.diag(e[idx])  # the Fock matrix in its own canonical basis
        dip_w = np.einsum("mi,xmn,nj->xij", c_w, dip, c_w, optimize=True)
        u, ok, nsweep = make_orbitalets(xp.asarray(h_w), xp.asarray(dip_w), settings.loc_gamma, settings.loc_c,
                                        settings.seed, settings.loc_tol, settings.loc_max_sweeps, settings.loc_skip)
        c_lo.append(c_w @ to_host(u))
        co_index.append(idx)
        conv.append(ok)
        sweeps.append(nsweep)
    return c_lo, co_index, conv, sweeps, same_spins


def make_losc_inputs(mol, result: ScfResult, settings: LoscSettings, eri=None) -> LoscInputs:
    """Orbitalets and curvature of ``result``, one entry per spin (what SCF-LOSC freezes); theory §5.2-§5.5.

    The orbitalets come from :func:`make_orbitalet_sets`.
    """
    a_x, a_hf = make_dfa_weights(result.method.xc, settings.weights)
    grid_level = settings.grid_level if settings.grid_level is not None else result.method.grid_level
    c_lo, co_index, conv, sweeps, same_spins = make_orbitalet_sets(mol, result, settings)
    if a_x == 0.0 and a_hf == 1.0:  # HF: κ ≡ 0 (theory §5.4)
        kappa = [np.zeros((c.shape[1],) * 2) for c in c_lo]
    else:
        device = result.method.device
        js = make_coulomb_diag(mol, c_lo, settings.kappa_coulomb, settings.auxbasis, eri, device)
        xs = make_grid_integrals(mol, c_lo, grid_level, device)
        kappa = [make_kappa(j, x, s_abs, a_x, a_hf, settings.tau, settings.zeta, settings.curvature)
                 for j, (x, s_abs) in zip(js, xs)]
    if same_spins:
        c_lo, kappa, co_index, conv, sweeps = (v * 2 for v in (c_lo, kappa, co_index, conv, sweeps))
    return LoscInputs(c_lo=tuple(c_lo), kappa=tuple(kappa), co_index=tuple(co_index),
                      localization_converged=tuple(conv), sweeps=tuple(sweeps), a_x=a_x, a_hf=a_hf)


def make_losc_correction(mol, result: ScfResult, settings: LoscSettings | None = None, frozen=None,
                         eri=None) -> LoscResult:
    """Post-SCF LOSC of one state (ground, ΔSCF or fractional); theory §5.9.

    The orbitalets come from the state's own canonical orbitals and Fock matrix and λ from its own density.
    ``frozen`` (a :class:`LoscInputs`) reuses given orbitalets and curvature, ``eri`` (s4 or s8) given integrals
    instead of the molecule's shared ones.  The input record is not modified; a new ``LoscResult`` is returned.
    """
    settings = settings or LoscSettings()
    inputs = frozen or make_losc_inputs(mol, result, settings, eri)
    s1e = mol.intor_symmetric("int1e_ovlp")
    restricted = result.restricted
    occs = [result.mo_occ / 2] if restricted else per_spin(result.mo_occ)
    de, lams, eps = 0.0, [], []
    for c, n, e, lo, kap in zip(per_spin(result.mo_coeff, restricted), occs, per_spin(result.mo_energy, restricted),
                                inputs.c_lo, inputs.kappa):
        lam = make_local_occupation(lo, s1e, (c * n) @ c.T)
        de += make_losc_energy(kap, lam)
        eps.append(make_losc_mo_energy(e, c, s1e, lo, kap, lam))
        lams.append(lam)
    de *= spin_factor(restricted)
    mo_energy = eps[0] if restricted else np.array(eps)
    return LoscResult(de_losc=de, e_dfa=result.e_tot, e_tot=result.e_tot + de, mo_energy=mo_energy,
                      c_lo=inputs.c_lo, kappa=inputs.kappa, lam=tuple(lams), co_index=inputs.co_index,
                      localization_converged=inputs.localization_converged, sweeps=inputs.sweeps, a_x=inputs.a_x,
                      a_hf=inputs.a_hf, settings=settings)


# -- the correction interface (deltascf.corrections) -----------------------------------------------------------
Settings = LoscSettings
Result = LoscResult


def check(mol, method) -> None:
    """Refuse what LOSC does not support before any SCF: the functional (theory §5.11), a missing fit basis."""
    settings = method.correction.settings
    make_dfa_weights(method.xc, settings.weights)
    if settings.kappa_coulomb == "df":
        from ..scf.build import check_auxbasis

        check_auxbasis(mol, settings.auxbasis)


def make_post(mol, state: ScfResult, settings: LoscSettings) -> LoscResult:
    return make_losc_correction(mol, state, settings)


def make_frozen(mol, state: ScfResult, settings: LoscSettings) -> LoscInputs:
    return make_losc_inputs(mol, state, settings)


def make_scf_result(mol, parent: ScfResult, state: ScfResult, frozen: LoscInputs,
                    settings: LoscSettings) -> LoscResult:
    """The LOSC record of an SCF-LOSC state: ΔE and λ at its own density with the frozen orbitalets."""
    s1e = mol.intor_symmetric("int1e_ovlp")
    dms = make_spin_dms(state.mo_coeff, state.mo_occ)
    lams = tuple(make_local_occupation(c, s1e, dms[k]) for k, c in enumerate(frozen.c_lo))
    de = sum(make_losc_energy(kap, lam) for kap, lam in zip(frozen.kappa, lams)) * spin_factor(state.restricted)
    return LoscResult(de_losc=de, e_dfa=state.e_tot - de, e_tot=state.e_tot, mo_energy=state.mo_energy,
                      c_lo=frozen.c_lo, kappa=frozen.kappa, lam=lams, co_index=frozen.co_index,
                      localization_converged=frozen.localization_converged, sweeps=frozen.sweeps, a_x=frozen.a_x,
                      a_hf=frozen.a_hf, settings=settings, mode="scf", state=state)


def run_scf_losc(mol, parent: ScfResult, settings: LoscSettings | None = None, *, frozen: LoscInputs | None = None,
                 verbose: int = 0) -> LoscResult:
    """SCF-LOSC with orbitalets and curvature frozen from ``parent`` (or given as ``frozen``); theory §5.8."""
    from ..records import Correction
    from . import run_correction

    method = dataclasses.replace(parent.method, correction=Correction(NAME, "scf", settings))
    return run_correction(mol, parent, method, verbose, frozen=frozen)

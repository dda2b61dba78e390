"""The one PySCF wrapper: the ``_DeltaSCF`` mixin (design §5).

It follows the dynamic-mixin pattern of ``pyscf.scf.smearing``: :func:`wrap` puts it on a *copy* of a
mean-field object with ``lib.set_class``, and it overrides hooks, leaving PySCF's SCF loop and DIIS alone:

* ``get_occ``  — overlap tracking (MOM/IMOM) with fractional targets; theory §1.3;
* ``get_grad`` — the orbital gradient over all pairs of different occupation, used by PySCF's convergence test;
  theory (1.3);
* ``get_veff`` — counts Fock builds, keeps the last (D, V[D]) pair for :func:`make_final_fock`, and adds a
  frozen correction potential when one is attached (SCF-mode corrections, theory §5.8);
* ``energy_elec`` — adds the correction energy.

Every override passes PySCF's arguments through unchanged (``*args, **kwargs``).
"""
from __future__ import annotations

import numpy as np
from pyscf import lib

from ..spin import get_xp, per_spin, stack_spins, to_host
from ..tracking import make_orbital_grad, make_overlap, make_tracked_occ

__all__ = ["wrap", "make_full_grad", "make_final_fock", "make_final_grad"]


class _DeltaSCF:
    """Overlap-tracking occupations for any PySCF SCF class (theory §1.3).

    ``occ_ref`` None means aufbau occupations (the parent's ``get_occ``).  ``correction`` is None or an object
    whose ``terms(dm, s1e)`` gives the AO potential and energy of a correction with frozen ingredients; they are
    added to every Fock build and energy.
    """

    __name_mixin__ = "DeltaSCF"
    _keys = {"c_ref", "occ_ref", "tracking", "n_fock", "s1e_ref", "correction", "veff_last"}

    def __init__(self, mf, c_ref=None, occ_ref=None, tracking="imom", correction=None):
        self.__dict__.update(mf.__dict__)
        self.s1e_ref = mf.get_ovlp()
        # the reference orbitals live where the SCF runs (the device for gpu4pyscf), the target occupations on
        # the host: the assignment is solved there (deltascf.tracking.make_tracked_occ)
        self.c_ref = None if c_ref is None else get_xp(self.s1e_ref).array(c_ref, copy=True)
        self.occ_ref = None if occ_ref is None else np.array(to_host(occ_ref), dtype=float)
        self.tracking = tracking
        self.n_fock = 0
        self.veff_last = None  # (dm, vhf) of the last Fock build
        # PySCF's extra Roothaan step after convergence is unstable for non-aufbau states with near-degenerate
        # occupied/empty pairs; the converged density is canonicalized instead (scf.driver).
        self.conv_check = False
        self.correction = correction
        if correction is not None:
            # PySCF's incremental HF build adds the previous potential, which here holds the previous
            # correction too: build J/K from the full density every cycle instead
            self.direct_scf = False

    def undo_deltascf(self):
        obj = lib.view(self, lib.drop_class(self.__class__, _DeltaSCF))
        for key in self._keys:
            obj.__dict__.pop(key, None)
        return obj

    def dump_flags(self, verbose=None):
        super().dump_flags(verbose)
        if self.occ_ref is not None:
            lib.logger.info(self, "deltascf tracking = %s, target occupations (0-based) =\n%s", self.tracking,
                            self.occ_ref)
        return self

    def get_occ(self, mo_energy=None, mo_coeff=None):
        if self.occ_ref is None:
            return super().get_occ(mo_energy, mo_coeff)
        if mo_coeff is None:
            mo_coeff = self.mo_coeff
        restricted = self.occ_ref.ndim == 1
        occ = stack_spins([make_tracked_occ(make_overlap(c_ref, c, self.s1e_ref), n_ref)
                           for c_ref, c, n_ref in zip(per_spin(self.c_ref, restricted), per_spin(mo_coeff, restricted),
                                                      per_spin(self.occ_ref))], restricted)
        if self.tracking == "mom":  # reference = previous iteration [Gilbert2008]
            self.c_ref = mo_coeff.copy()
            self.occ_ref = occ.copy()
        return occ

    def get_grad(self, mo_coeff, mo_occ, fock=None):
        if fock is None:
            dm1 = self.make_rdm1(mo_coeff, mo_occ)
            fock = self.get_hcore(self.mol) + self.get_veff(self.mol, dm1)
        return make_full_grad(mo_coeff, mo_occ, fock)

    def get_veff(self, mol=None, dm=None, *args, **kwargs):
        self.n_fock += 1
        vhf = super().get_veff(mol, dm, *args, **kwargs)
        if dm is None:
            dm = self.make_rdm1()
        if self.correction is not None:
            h_corr, e_corr = self.correction.terms(dm, self.s1e_ref)
            tags = getattr(vhf, "__dict__", {})  # vj, vk, ecoul, exc: PySCF's incremental builds read them
            vhf = _tag_array(vhf + h_corr, h_corr=h_corr, e_corr=e_corr, **tags)
        self.veff_last = (dm, vhf)
        return vhf

    def energy_elec(self, dm=None, h1e=None, vhf=None):
        """E_DFA[D] + ΔE_corr[D] when a correction is attached; theory §5.8."""
        if self.correction is None:
            return super().energy_elec(dm, h1e, vhf)
        if dm is None:
            dm = self.make_rdm1()
        if vhf is None:
            vhf = self.get_veff(self.mol, dm)
        e_tot, e_2e = super().energy_elec(dm, h1e, _without_correction(vhf))
        return e_tot + vhf.e_corr, e_2e + vhf.e_corr


def _without_correction(vhf):
    """The parent functional's part of a potential carrying a correction (other tags kept)."""
    tags = {k: v for k, v in vhf.__dict__.items() if k not in ("h_corr", "e_corr")}
    return _tag_array(vhf - vhf.h_corr, **tags)


def _tag_array(a, **tags):
    """``a`` with attributes, in its own namespace: PySCF's ``lib.tag_array`` on the host, gpu4pyscf's on the device."""
    if get_xp(a) is np:
        return lib.tag_array(a, **tags)
    from ..gpu.build import tag_array

    return tag_array(a, **tags)


def make_full_grad(mo_coeff, mo_occ, fock):
    """The gradient (1.3) of all spins, concatenated."""
    restricted = mo_occ.ndim == 1
    parts = [make_orbital_grad(c, n, f) for c, n, f in zip(per_spin(mo_coeff, restricted), per_spin(mo_occ),
                                                           per_spin(fock, restricted))]
    return get_xp(mo_coeff).concatenate(parts)


def wrap(mf, c_ref=None, occ_ref=None, tracking: str = "imom", correction=None):
    """A new object of ``mf``'s class with the ``_DeltaSCF`` hooks (``mf`` is not modified)."""
    return lib.set_class(_DeltaSCF(mf, c_ref, occ_ref, tracking, correction), (_DeltaSCF, mf.__class__))


def make_final_fock(mf):
    """F[D] of the final orbitals, computed explicitly after the SCF.

    The potential of the last Fock build is reused when its density is the final one (PySCF builds V[D] for
    the final density before it tests convergence); otherwise V[D] is built again.
    """
    dm = mf.make_rdm1(mf.mo_coeff, mf.mo_occ)
    last = mf.veff_last
    if last is not None and last[0].shape == dm.shape and bool((get_xp(dm).asarray(last[0]) == dm).all()):
        vhf = last[1]
    else:
        vhf = mf.get_veff(mf.mol, dm)
    return mf.get_fock(h1e=mf.get_hcore(), vhf=vhf, dm=dm)


def make_final_grad(mo_coeff, mo_occ, fock) -> float:
    """max |g_pq| of (1.3) for the final orbitals."""
    g = make_full_grad(mo_coeff, mo_occ, fock)
    return float(abs(g).max()) if g.size else 0.0


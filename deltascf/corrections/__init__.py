"""Delocalization corrections behind one interface; theory §5 (LOSC) and §6 (GSC2).

A correction is one module, registered in :data:`REGISTRY` by one line.  It provides:

* ``NAME``, ``LABEL``: registry name (``"losc"``) and display name (``"LOSC"``).
* ``MODES`` (optional): the modes it has, ("post", "scf") unless it says otherwise.
* ``Settings``: its frozen settings record; the defaults are the published ones.
* ``Result``: its result record (the ``CorrectionResult`` protocol of :mod:`deltascf.records`); study files keep it
  under ``/NAME/``.
* ``OPTIONS``, ``make_settings(**values)``: the settings a user sets ({name: OptionInfo}, offered as
  ``--NAME-OPTION`` flags and ``[NAME]`` TOML keys), and the ``Settings`` they make.
* ``check(mol, method)``: refuse an unsupported functional, reference or input before any SCF (raises
  :class:`CorrectionUnsupported` or ``ValueError``).
* ``make_post(mol, state, settings)``: the post-SCF correction of a converged state of any occupations; one that
  corrects orbital by orbital (GSC2) also takes ``orbitals=[(spin, p), ...]``, the orbitals its caller will read.
* ``make_frozen(mol, state, settings)`` (only with an "scf" mode): the ingredients frozen from a parent state; the
  returned object's ``terms(dm, s1e)`` gives (H_corr, ΔE) at ``dm``.
* ``make_scf_result(mol, parent, state, frozen, settings)`` (only with an "scf" mode): the record of an SCF-mode
  correction.

Scans, theorem tables, the CLI, reports, plots and study files reach a correction only through the
functions below, so a new correction needs no edits anywhere else.
"""
from __future__ import annotations

import importlib
import inspect

from ..gpu import check_device
from ..records import Method, ScfResult
from .xc import CorrectionUnsupported

__all__ = ["REGISTRY", "CorrectionUnsupported", "get_correction", "correction_names", "modes_of", "check_correction",
           "run_correction", "make_corrected_orbital_energy", "result_types", "name_of", "label_of"]

#: registry name -> module implementing the interface above
REGISTRY = {
    "losc": "deltascf.corrections.losc",
    "gsc2": "deltascf.corrections.gsc2",
    "lrlosc": "deltascf.corrections.lrlosc",
}


def correction_names() -> tuple:
    """The names of the registered corrections (``losc``, ``gsc2``, ``lrlosc``)."""
    return tuple(REGISTRY)


def modes_of(name: str) -> tuple:
    """The modes correction ``name`` has: ("post", "scf") unless its module says otherwise (``MODES``)."""
    return tuple(getattr(get_correction(name), "MODES", ("post", "scf")))


def get_correction(name: str):
    """The module implementing correction ``name``."""
    key = str(name).strip().lower()
    if key not in REGISTRY:
        raise ValueError(f"unknown correction {name!r}; choose one of {', '.join(REGISTRY)}")
    return importlib.import_module(REGISTRY[key])


def result_types() -> dict:
    """{result record type name: (registry name, type)} of every registered correction."""
    out = {}
    for name in REGISTRY:
        impl = get_correction(name)
        out[impl.Result.__name__] = (impl.NAME, impl.Result)
    return out


def name_of(result) -> str:
    """The registry name of the correction a result record belongs to."""
    return result_types()[type(result).__name__][0]


def label_of(name: str) -> str:
    """The display name of a correction ("LOSC")."""
    return get_correction(name).LABEL


def check_correction(mol, method: Method) -> None:
    """Refuse, before any SCF, a correction its functional, reference or inputs do not allow."""
    if method.correction is not None:
        get_correction(method.correction.name).check(mol, method)


def run_correction(mol, state: ScfResult, method: Method, verbose: int = 0, frozen=None, orbitals=()):
    """The correction of ``method`` applied to one converged state, or None when the method has none.

    Post mode corrects energies and orbital energies of the state as it is; SCF mode freezes the correction's
    ingredients at the state (or takes them as ``frozen``) and converges it again with them (theory §5.8),
    tracking its occupations.  ``orbitals`` [(spin, p), ...] names the orbitals the caller will read, for a
    correction that corrects orbital by orbital (its ``make_post`` takes ``orbitals``).  It runs on the device the
    state was converged on (``state.method.device``, which ``method`` must name too).
    """
    corr = method.correction
    if corr is None:
        return None
    if method.device != state.method.device:
        raise ValueError(f"device: the state was converged on the {state.method.device.upper()} and its correction "
                         f"runs there too, but the method says device {method.device}")
    check_device(state.method.device)  # a GPU state's correction runs on the GPU: refused here without one
    impl = get_correction(corr.name)
    if corr.mode == "post":
        if orbitals and "orbitals" in inspect.signature(impl.make_post).parameters:
            return impl.make_post(mol, state, corr.settings, orbitals=tuple(orbitals))
        return impl.make_post(mol, state, corr.settings)
    from ..scf import run_scf_with_correction

    if frozen is None:
        frozen = impl.make_frozen(mol, state, corr.settings)
    new = run_scf_with_correction(mol, state, method, frozen, verbose)
    return impl.make_scf_result(mol, state, new, frozen, corr.settings)


def make_corrected_orbital_energy(result, parent: ScfResult, spin: int, k: int, s1e) -> float:
    """Corrected energy of orbital ``k`` (spin ``spin``) of ``parent``.

    Post mode keeps the orbitals, so it is entry k; SCF mode relaxes and re-sorts them, so the orbital of the
    same occupation that overlaps most with the parent orbital is taken.
    """
    from ..tracking import make_matched_orbital

    if result.state is None:
        return float(result.mo_energy[k] if parent.restricted else result.mo_energy[spin, k])
    st = result.state

    def pick(a):
        return a if st.restricted else a[spin]

    occ_old = pick(parent.mo_occ)
    q = make_matched_orbital(pick(st.mo_coeff), pick(st.mo_occ), pick(parent.mo_coeff)[:, k], s1e, occ_old[k])
    return float(pick(st.mo_energy)[q])

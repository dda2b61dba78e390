"""Text tables and JSON summaries of records.  eV appears only here and in cli.py."""
from __future__ import annotations

from pyscf.data.nist import HARTREE2EV

from .results import ScfResult

__all__ = ["make_states_summary", "format_states"]


def _per_spin_lists(arr) -> list:
    """Per-spin lists; a restricted record gives one list."""
    return [arr.tolist()] if arr.ndim == 1 else [row.tolist() for row in arr]


def make_states_summary(labels, results, ground: ScfResult) -> dict:
    """The ``deltascf run --json`` object: energies in Hartree, ΔE in eV."""
    states = []
    for label, r in zip(labels, results):
        states.append({
            "label": label,
            "spec": r.spec,
            "resolved": r.resolved,
            "e_tot": r.e_tot,
            "excitation_energy_ev": (r.e_tot - ground.e_tot) * HARTREE2EV,
            "converged": r.converged,
            "collapsed": r.collapsed,
            "nelec": list(r.nelec),
            "s2": r.s2,
            "cycles": r.cycles,
            "max_grad": r.max_grad,
            "target_overlap": r.target_overlap.tolist(),
            "mo_energy": _per_spin_lists(r.mo_energy),
            "mo_occ": _per_spin_lists(r.mo_occ),
        })
    return {
        "states": states,
        "method": ground.method.to_dict(),
        "versions": dict(ground.versions),
        "units": {"e_tot": "hartree", "mo_energy": "hartree", "max_grad": "hartree",
                  "excitation_energy_ev": "eV", "hartree_to_ev": HARTREE2EV},
    }


def format_states(labels, results, ground: ScfResult) -> str:
    """A readable table of states with excitation energies in eV."""
    head = f"{'state':<10} {'spec = 0-based':<32} {'E / Eh':>18} {'dE / eV':>10} {'<S^2>':>7} {'conv':>5} {'collapsed':>9}"
    lines = [head, "-" * len(head)]
    for label, r in zip(labels, results):
        spec = r.resolved if r.resolved == r.spec else f"{r.spec} = {r.resolved}"
        if len(spec) > 32:
            spec = r.resolved
        lines.append(
            f"{label:<10} {spec:<32} {r.e_tot:>18.10f} {(r.e_tot - ground.e_tot) * HARTREE2EV:>10.4f} "
            f"{r.s2:>7.3f} {'yes' if r.converged else 'NO':>5} {'YES' if r.collapsed else 'no':>9}"
        )
    m = ground.method
    lines.append(f"xc = {m.xc}, reference = {m.reference}, tracking = {m.tracking}, "
                 f"density fit = {m.density_fit or 'none'}; 1 Eh = {HARTREE2EV:.8f} eV")
    return "\n".join(lines)

"""Text tables, JSON summaries and warnings of records.  eV appears only here, in plot.py and in the CLI.

:func:`make_report` and :func:`make_warnings` take any result record (``StateSet``, ``ChargeScan``,
``TheoremTable``); corrections are reported under their registry name (``"losc"``), whatever they are.
"""
from __future__ import annotations

import json
import math
import re

from pyscf.data.nist import HARTREE2EV

from .corrections import label_of, name_of
from .occupations import DEGENERACY_TOL
from .records import ChargeScan, ScfResult, StateSet, TheoremTable

__all__ = ["to_json", "make_states_summary", "format_states", "make_scan_summary", "format_scan", "make_theorem_summary",
           "format_theorem", "make_study_report", "split_study", "make_report", "make_warnings", "make_rows",
           "make_batch_report", "is_core_ionization", "make_optimization_summary", "format_optimization",
           "make_adiabatic_summary", "format_adiabatic"]


def _finite(obj):
    """``obj`` with every non-finite float (NaN, ±inf) replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def to_json(obj, indent: int | None = 2) -> str:
    """Strict JSON of a summary: a value that is not a finite number (an orbital GSC2 did not correct, a
    curvature a two-point scan cannot give) is written null, never NaN."""
    return json.dumps(_finite(obj), indent=indent, allow_nan=False)


def _per_spin_lists(arr) -> list:
    """Per-spin lists; a restricted record gives one list."""
    return [arr.tolist()] if arr.ndim == 1 else [row.tolist() for row in arr]


def _correction_summary(c, e_ref: float | None = None) -> dict:
    """The per-state correction object: the correction and the corrected energies (Hartree)."""
    out = {"mode": c.mode, "delta_e": c.de, "e_tot": c.e_tot, "e_dfa": c.e_dfa,
           "mo_energy": _per_spin_lists(c.mo_energy)}
    if e_ref is not None:
        out["excitation_energy_ev"] = (c.e_tot - e_ref) * HARTREE2EV
    if c.state is not None:
        out["converged"] = c.state.converged
    return out


def _correction_settings(corrections) -> dict:
    """{name: settings and mode} of the correction of a set of records ({} without one)."""
    if not corrections:
        return {}
    c = corrections[0]
    return {name_of(c): {**c.settings.to_dict(), "mode": c.mode}}


def _correction_title(corrections, what: str) -> str:
    return f", {label_of(name_of(corrections[0]))} {corrections[0].mode} ({what} corrected)" if corrections else ""


# -- states --------------------------------------------------------------------------------------------
def make_states_summary(labels, results, ground: ScfResult, corrections=None) -> dict:
    """The ``deltascf run --json`` object: energies in Hartree, ΔE in eV.

    With ``corrections`` (one correction record per state) every state gains an object under the correction's
    name (``"losc"``) with the corrected energies, and the top level holds its settings under that name.
    """
    name = name_of(corrections[0]) if corrections else None
    states = []
    for k, (label, r) in enumerate(zip(labels, results)):
        states.append({
            "label": label,
            "spec": r.spec,
            "resolved": r.resolved,
            "e_tot": r.e_tot,
            "excitation_energy_ev": (r.e_tot - ground.e_tot) * HARTREE2EV,
            "converged": r.converged,
            "collapsed": r.collapsed,
            "collapse_reason": r.collapse_reason,
            "degenerate": r.degenerate,
            "nelec": list(r.nelec),
            "s2": r.s2,
            "cycles": r.cycles,
            "max_grad": r.max_grad,
            "target_overlap": r.target_overlap.tolist(),
            "mo_energy": _per_spin_lists(r.mo_energy),
            "mo_occ": _per_spin_lists(r.mo_occ),
        })
        if is_core_ionization(r, ground):
            states[-1]["binding_energy_ev"] = (r.e_tot - ground.e_tot) * HARTREE2EV
        if corrections:
            states[-1][name] = _correction_summary(corrections[k], corrections[0].e_tot)
    return {
        "states": states,
        **{key: value for key, value in _correction_settings(corrections).items()},
        "method": ground.method.to_dict(),
        "versions": dict(ground.versions),
        "units": {"e_tot": "hartree", "mo_energy": "hartree", "max_grad": "hartree",
                  "excitation_energy_ev": "eV", "hartree_to_ev": HARTREE2EV},
    }


def is_core_ionization(state: ScfResult, ground: ScfResult) -> bool:
    """True for a state whose spec names a core orbital and that has one electron fewer than the ground state:
    its ΔE is the ΔSCF core-electron binding energy (theory §1.7)."""
    return "core:" in state.spec and abs(ground.nelectron - state.nelectron - 1.0) < 1e-8


def format_states(labels, results, ground: ScfResult, corrections=None) -> str:
    """A readable table of states with excitation energies in eV (and their corrections)."""
    head = (f"{'state':<10} {'spec = 0-based':<32} {'E / Eh':>18} {'dE / eV':>10} {'<S^2>':>7} {'conv':>5} "
            f"{'collapsed':>9}")
    lines = [head, "-" * len(head)]
    for label, r in zip(labels, results):
        spec = r.resolved if r.resolved == r.spec else f"{r.spec} = {r.resolved}"
        if len(spec) > 32:
            spec = r.resolved
        lines.append(
            f"{label:<10} {spec:<32} {r.e_tot:>18.10f} {(r.e_tot - ground.e_tot) * HARTREE2EV:>10.4f} "
            f"{r.s2:>7.3f} {'yes' if r.converged else 'NO':>5} {'YES' if r.collapsed else 'no':>9}"
        )
    if corrections:
        tag = f"{label_of(name_of(corrections[0]))} ({corrections[0].mode}):"
        lines.append("")
        lines.append(f"{tag} {'state':<10} {'dE_corr / Eh':>14} {'E_corr / Eh':>18} {'dE / eV':>10}")
        for label, c in zip(labels, corrections):
            lines.append(f"{'':<{len(tag) + 1}}{label:<10} {c.de:>14.8f} {c.e_tot:>18.10f} "
                         f"{(c.e_tot - corrections[0].e_tot) * HARTREE2EV:>10.4f}")
    core = [(label, r) for label, r in zip(labels, results) if is_core_ionization(r, ground)]
    if core:
        lines.append("")
        for label, r in core:
            lines.append(f"{label}: ΔSCF core-electron binding energy of {r.spec} = "
                         f"{(r.e_tot - ground.e_tot) * HARTREE2EV:.4f} eV")
    m = ground.method
    device = ", device = gpu" if m.device == "gpu" else ""
    lines.append(f"xc = {m.xc}, reference = {m.reference}, tracking = {m.tracking}, "
                 f"density fit = {m.density_fit or 'none'}{device}; 1 Eh = {HARTREE2EV:.8f} eV")
    return "\n".join(lines)


# -- scans ----------------------------------------------------------------------------------------------
def _nan_to_none(x):
    x = float(x)
    return None if x != x else x


def make_scan_summary(scan) -> dict:
    """The ``deltascf scan --json`` object (Hartree)."""
    points = [{"delta": float(d), "n_electrons": float(n), "e_tot": float(e), "eps": float(eps), "e_dfa": float(ed),
               "e_dev": float(dev), "converged": bool(c), "collapsed": bool(x), "n_fock": int(nf),
               "orbital": int(o)}
              for d, n, e, eps, ed, dev, c, x, nf, o in zip(scan.delta, scan.n_electrons, scan.e_tot, scan.eps,
                                                             scan.e_dfa, scan.e_dev, scan.converged, scan.collapsed,
                                                             scan.n_fock, scan.orbitals)]
    for point, c in zip(points, scan.corrections):
        point[name_of(c)] = _correction_summary(c)
    return {
        "state": scan.state,
        "channel": scan.channel,
        "orbital": {"spin": "ab"[scan.spin], "index": scan.orbital},
        "degenerate": scan.degenerate,
        "mode": scan.mode,
        "points": points,
        "linearity": {"max_abs_deviation": scan.max_abs_deviation, "deviation_half": scan.deviation_half,
                      "curvature": scan.curvature_fit, "curvature_janak": scan.curvature_janak,
                      "curvature_half": scan.curvature_half},
        "chemical_potential": {"slope": scan.slope, "eps_low": scan.eps_low, "eps_high": scan.eps_high,
                               "janak_residual": _nan_to_none(scan.janak_residual)},
        "method": scan.method.to_dict(),
        **_correction_settings(scan.corrections),
        "units": {"energies": "hartree", "hartree_to_ev": HARTREE2EV},
    }


def format_scan(scan) -> str:
    """Points of a charge scan and the derived numbers in eV."""
    ev = HARTREE2EV
    head = f"{'delta':>6} {'N':>8} {'E / Eh':>18} {'D / eV':>10} {'eps / eV':>10} {'conv':>5} {'Fock':>5}"
    lines = [f"state {scan.state}, channel {scan.channel} (orbital {'ab'[scan.spin]}:{scan.orbital}), "
             f"mode {scan.mode}{_correction_title(scan.corrections, 'E and eps')}", head, "-" * len(head)]
    for d, n, e, dev, eps, c, x, nf in zip(scan.delta, scan.n_electrons, scan.e_tot, scan.e_dev, scan.eps,
                                           scan.converged, scan.collapsed, scan.n_fock):
        flag = ("yes" if c else "NO") + ("!" if x else "")
        lines.append(f"{d:>6.3f} {n:>8.3f} {e:>18.10f} {dev * ev:>10.5f} {eps * ev:>10.4f} {flag:>5} {nf:>5d}")
    shape = "convex: delocalization error" if scan.deviation_half < 0 else "concave: localization error"
    lines += [
        f"D(1/2) = {scan.deviation_half * ev:.5f} eV ({shape}); max |D| = {scan.max_abs_deviation * ev:.5f} eV",
        f"curvature: fit {scan.curvature_fit * ev:.4f} eV, Janak eps(1)-eps(0) {scan.curvature_janak * ev:.4f} eV, "
        f"-8 D(1/2) {scan.curvature_half * ev:.4f} eV",
        f"slope E(1)-E(0) = {scan.slope * ev:.4f} eV; eps(0) = {scan.eps_low * ev:.4f} eV, "
        f"eps(1) = {scan.eps_high * ev:.4f} eV",
    ]
    if scan.janak_residual == scan.janak_residual:
        lines.append(f"Janak residual max |dE/d delta - eps| = {scan.janak_residual:.2e} Eh")
    if scan.collapsed.any():
        lines.append("! = the point lost its target configuration")
    return "\n".join(lines)


# -- theorem tables ---------------------------------------------------------------------------------
def make_theorem_summary(table) -> dict:
    """The ``deltascf chempot --json`` object: Hartree, plus eV for ΔSCF and errors."""
    rows = [{"channel": r.channel, "kind": r.kind, "spin": "ab"[r.spin], "orbital": r.orbital, "label": r.label,
             "eps": r.eps, "eps_neighbour": r.eps_neighbour, "mu": r.mu, "delta_scf": r.delta_scf,
             "delta_scf_ev": r.delta_scf * HARTREE2EV, "error_ev": r.error * HARTREE2EV,
             "error_neighbour_ev": r.error_neighbour * HARTREE2EV, "e_neighbour": r.e_neighbour,
             "converged": r.converged, "collapsed": r.collapsed, "degenerate": r.degenerate}
            for r in table.rows]
    return {"state": table.state, "resolved": table.resolved, "e_tot": table.e_tot, "rows": rows,
            "method": table.method.to_dict(), **_correction_settings(table.corrections),
            "units": {"eps": "hartree", "mu": "hartree", "delta_scf": "hartree", "delta_scf_ev": "eV",
                      "error_ev": "eV", "hartree_to_ev": HARTREE2EV}}


def format_theorem(table) -> str:
    """The theorem table in eV: ε of I (T1/T3) and of the neighbour (T2/T4) against μ."""
    head = (f"{'channel':<12} {'orbital':<9} {'eps(I)':>9} {'eps(nb)':>9} {'mu':>9} {'IP/EA':>9} "
            f"{'eps-mu':>8} {'nb-mu':>8} {'conv':>5}")
    lines = [f"state {table.state} ({table.resolved}), E = {table.e_tot:.10f} Eh"
             f"{_correction_title(table.corrections, 'E, eps and mu')}; energies in eV", head, "-" * len(head)]
    for r in table.rows:
        kind = "IP" if r.kind == "remove" else "EA"
        flag = ("yes" if r.converged else "NO") + ("!" if r.collapsed else "")
        lines.append(f"{r.channel:<12} {'ab'[r.spin] + ':' + r.label:<9} {_ev(r.eps, 9)} "
                     f"{_ev(r.eps_neighbour, 9)} {_ev(r.mu, 9)} {_ev(r.delta_scf, 7)}{kind} "
                     f"{_ev(r.error, 8)} {_ev(r.error_neighbour, 8)} {flag:>5}")
    lines.append("mu = slope of E between I and its N-1 (remove) or N+1 (add) neighbour; IP = -mu(remove), "
                 "EA = -mu(add).")
    lines.append("A convex (delocalizing) functional puts occupied eps above mu (eps-mu > 0 on removals) and "
                 "empty eps below mu (eps-mu < 0 on additions).")
    if any(r.collapsed for r in table.rows):
        lines.append("! = the state or its neighbour lost its target configuration")
    if any(not math.isfinite(v) for r in table.rows for v in (r.eps, r.eps_neighbour, r.mu)):
        lines.append("- = a corrected value the correction does not give (its notes say why)")
    return "\n".join(lines)


def _ev(value: float, width: int) -> str:
    """A Hartree value in eV, right-aligned in ``width``; '-' for a value that is not given (NaN)."""
    return f"{value * HARTREE2EV:>{width}.3f}" if math.isfinite(value) else f"{'-':>{width}}"


# -- any record -------------------------------------------------------------------------------------
def make_report(record):
    """(JSON object, text) of a StateSet, ChargeScan or TheoremTable: what the CLI prints."""
    if isinstance(record, StateSet):
        args = (record.labels, record.states, record.ground, record.corrections or None)
        return make_states_summary(*args), format_states(*args)
    if isinstance(record, ChargeScan):
        return make_scan_summary(record), format_scan(record)
    if isinstance(record, TheoremTable):
        return make_theorem_summary(record), format_theorem(record)
    raise TypeError(f"no report for a {type(record).__name__}")


def _degenerate(what: str, degenerate: str) -> list:
    if not degenerate:
        return []
    return [(f"{what}: orbitals {degenerate} are degenerate (within {DEGENERACY_TOL:g} Eh) and treated unequally; "
             "which of them moves is arbitrary", False)]


def _flags(what: str, converged: bool, collapsed: bool, reason: str = "") -> list:
    out = [] if converged else [(f"{what} did not converge", True)]
    why = f" ({reason})" if reason else ""
    return out + ([(f"{what} lost its target configuration{why}", False)] if collapsed else [])


def _notes(what: str, corrections) -> list:
    """The notes of correction records (an empty window, ...), each once."""
    notes = dict.fromkeys(n for c in corrections for n in getattr(c, "notes", ()))
    return [(f"{what}: {n}", False) for n in notes]


def make_warnings(record) -> list:
    """The warnings of a result, as (message, failed) pairs; ``failed`` marks a calculation that did not
    converge (the CLI's exit code 3)."""
    out = []
    if isinstance(record, StateSet):
        n0 = sum(record.ground.nelec)
        for label, r in zip(record.labels, record.states):
            out += _flags(f"{label} ({r.spec})", r.converged, r.collapsed, r.collapse_reason)
            if abs(sum(r.nelec) - n0) > 1e-8 and not is_core_ionization(r, record.ground):
                out.append((f"{label} ({r.spec}) has {sum(r.nelec):g} electrons and the ground state {n0:g}: its "
                             "dE is an energy difference at another N, not an excitation energy", False))
        for label, r in zip(record.labels, record.states):
            out += _degenerate(f"{label} ({r.spec})", r.degenerate)
        for label, c in zip(record.labels, record.corrections):
            if c.state is not None:
                out += _flags(f"{label} SCF-{label_of(name_of(c))}", c.state.converged, c.state.collapsed,
                              c.state.collapse_reason)
    elif isinstance(record, ChargeScan):
        for d, c, x in zip(record.delta, record.converged, record.collapsed):
            out += _flags(f"point delta = {d:g}", c, x)
        out += _degenerate(f"channel {record.channel}", record.degenerate)
    elif isinstance(record, TheoremTable):
        for r in record.rows:
            out += _flags(f"channel {r.channel}", r.converged, r.collapsed)
        for r in record.rows:
            out += _degenerate(f"channel {r.channel}", r.degenerate)
    what = {StateSet: "run", ChargeScan: "scan", TheoremTable: "theorem table"}[type(record)]
    return out + _notes(what, getattr(record, "corrections", ()))


#: labels of the records a scan or table saves point by point in its study (deltascf.study)
_POINT = re.compile(r"^(scan|theorem)-([0-9a-f]{12})-(.+)$")


def split_study(records: dict):
    """(records to show, unfinished jobs) of a study file's {(kind, label): record}.

    The points of a finished scan or table are shown through it and left out; those of a job that was
    interrupted are returned as {"scan-<key>" or "theorem-<key>": {(kind, name): record}}.
    """
    jobs, shown = {}, {}
    for (kind, label), r in records.items():
        m = _POINT.match(label)
        if m is None or m.group(3) == "result":
            shown[(kind, label)] = r
        if m is not None:
            jobs.setdefault(f"{m.group(1)}-{m.group(2)}", {})[(kind, m.group(3))] = r
    partial = {job: points for job, points in jobs.items() if not any(name == "result" for _, name in points)}
    return shown, partial


def _partial_summary(job: str, points: dict):
    """(JSON object, text) of the finished states of an interrupted scan or table."""
    states = sorted(((name, r) for (kind, name), r in points.items() if kind == "states"),
                    key=lambda item: (item[1].nelectron, item[0]))
    rows = [{"name": name, "n_electrons": r.nelectron, "e_tot": r.e_tot, "converged": r.converged,
             "collapsed": r.collapsed} for name, r in states]
    head = f"{'point':<16} {'N':>8} {'E / Eh':>18} {'conv':>5}"
    lines = [f"{job}: interrupted, {len(rows)} finished state(s); run the same command again to finish it", head,
             "-" * len(head)]
    lines += [f"{row['name']:<16} {row['n_electrons']:>8.3f} {row['e_tot']:>18.10f} "
              f"{('yes' if row['converged'] else 'NO') + ('!' if row['collapsed'] else ''):>5}" for row in rows]
    return {"interrupted": True, "states": rows}, "\n".join(lines)


def make_study_report(records: dict):
    """(JSON object, text) for the records of a study file, {(kind, label): record}.

    States are reported against the one labelled "ground" (else the lowest energy), with their corrections
    when the file holds them; scans and theorem tables as by ``deltascf scan`` and ``deltascf chempot``; the
    finished states of an interrupted scan or table as a table of their own.
    """
    records, partial = split_study(records)
    states = {label: r for (kind, label), r in records.items() if kind == "states"}
    corrections = {}
    for (kind, label), r in records.items():
        if kind not in ("states", "scans", "theorem"):
            corrections.setdefault(kind, {})[label] = r
    summary, text = {}, []
    if states:
        labels = sorted(states, key=lambda k: (k != "ground", states[k].e_tot))
        ground = states[labels[0]]
        results = [states[k] for k in labels]
        per_state = next((c for c in corrections.values() if all(k in c for k in labels)), None)
        corr = [per_state[k] for k in labels] if per_state else None
        summary["states"] = make_states_summary(labels, results, ground, corr)
        text.append(format_states(labels, results, ground, corr))
    for (kind, label), r in sorted(records.items()):
        if kind == "scans":
            summary.setdefault("scans", {})[label] = make_scan_summary(r)
            text.append(f"scan {label!r}\n" + format_scan(r))
        elif kind == "theorem":
            summary.setdefault("theorem", {})[label] = make_theorem_summary(r)
            text.append(f"theorem table {label!r}\n" + format_theorem(r))
        elif kind in corrections and label not in states:
            summary.setdefault(kind, {})[label] = _correction_summary(r)
            text.append(f"{label_of(kind)} {label!r}: dE = {r.de:.8f} Eh, E = {r.e_tot:.10f} Eh ({r.mode})")
    for job, points in sorted(partial.items()):
        part, lines = _partial_summary(job, points)
        summary.setdefault("interrupted", {})[job] = part
        text.append(lines)
    return summary, "\n\n".join(text) if text else "(no records)"


# -- batches: one tidy row per molecule, method, state and channel --------------------------------------
def make_rows(record) -> list:
    """Rows of a tidy table (energies in eV): one per channel of a table, one per scan, one per state of a run.

    Columns: ``job``, ``state``, ``channel``, ``label``, ``eps_ev`` (ε of I), ``eps_neighbour_ev``, ``mu_ev``,
    ``error_ev`` (ε − μ at I), ``error_neighbour_ev``, ``deviation_half_ev`` (scans), ``excitation_ev`` (runs),
    ``converged``, ``collapsed``, ``degenerate``; a column a row has no value for is left out of it.
    """
    ev = HARTREE2EV
    if isinstance(record, TheoremTable):
        return [{"job": "chempot", "state": record.state, "channel": r.channel, "label": f"{'ab'[r.spin]}:{r.label}",
                 "eps_ev": r.eps * ev, "eps_neighbour_ev": r.eps_neighbour * ev, "mu_ev": r.mu * ev,
                 "error_ev": r.error * ev, "error_neighbour_ev": r.error_neighbour * ev, "converged": r.converged,
                 "collapsed": r.collapsed, "degenerate": r.degenerate} for r in record.rows]
    if isinstance(record, ChargeScan):
        at_i = record.eps_low if record.channel.startswith("add") else record.eps_high  # ε of the channel in I
        return [{"job": "scan", "state": record.state, "channel": record.channel, "mu_ev": record.slope * ev,
                 "eps_ev": at_i * ev, "error_ev": (at_i - record.slope) * ev,
                 "deviation_half_ev": record.deviation_half * ev, "converged": bool(record.all_converged),
                 "collapsed": bool(record.collapsed.any()), "degenerate": record.degenerate}]
    if isinstance(record, StateSet):
        e0 = record.corrections[0].e_tot if record.corrections else record.ground.e_tot
        energies = [c.e_tot for c in record.corrections] if record.corrections else [s.e_tot for s in record.states]
        return [{"job": "run", "state": s.spec, "label": label, "excitation_ev": (e - e0) * ev,
                 "converged": s.converged, "collapsed": s.collapsed, "degenerate": s.degenerate}
                for label, s, e in zip(record.labels, record.states, energies)]
    raise TypeError(f"no rows for a {type(record).__name__}")


def make_batch_report(rows, failures: dict):
    """(JSON object, text) of a batch's summary rows: |ε − μ| statistics per method and state, and failures."""
    groups = {}
    for row in rows:
        if "error_ev" in row and row.get("job") == "chempot":
            method = f"{row['xc']}/{row['basis']}" + ("" if row["correction"] == "none" else f"+{row['correction']}")
            groups.setdefault((method, "ground" if row["state"] == "ground" else "excited"), []).append(
                row["error_ev"])
    stats = []
    for (m, kind), v in sorted(groups.items()):
        # a corrected orbital energy may be missing (a near-singular or grid-unstable curvature): counted apart
        ok = [abs(float(x)) for x in v if x is not None and math.isfinite(float(x))]
        stats.append({"method": m, "states": kind, "rows": len(v), "rows_without_value": len(v) - len(ok),
                      "max_abs_error_ev": max(ok) if ok else None,
                      "mean_abs_error_ev": sum(ok) / len(ok) if ok else None})
    head = (f"{'method':<28} {'states':<8} {'rows':>5} {'no value':>8} {'max |eps-mu| / eV':>18} "
            f"{'mean |eps-mu| / eV':>19}")
    lines = [f"{len(rows)} rows from {len({r['key'] for r in rows})} finished tasks", "", head, "-" * len(head)]

    def num(x, width):
        return f"{x:>{width}.3f}" if x is not None else f"{'-':>{width}}"

    lines += [f"{s['method']:<28} {s['states']:<8} {s['rows']:>5} {s['rows_without_value']:>8} "
              f"{num(s['max_abs_error_ev'], 18)} {num(s['mean_abs_error_ev'], 19)}" for s in stats]
    if any(s["rows_without_value"] for s in stats):
        lines.append("no value: rows whose corrected orbital energy is not given (see the task's notes)")
    if failures:
        lines += ["", f"{len(failures)} failed task(s):"]
        lines += [f"  {v['task']}: {v['reason']}" for _, v in sorted(failures.items())]
    return {"statistics": stats, "failures": failures, "rows": len(rows)}, "\n".join(lines)


# -- geometry optimizations (deltascf.optimize) --------------------------------------------------------------
def make_optimization_summary(result) -> dict:
    """The ``deltascf opt --json`` object of one optimization: every step (energies in Hartree, gradients in
    Eh/bohr, coordinates in Angstrom) and the final geometry."""
    return {
        "spec": result.spec,
        "converged": result.converged,
        "lost": result.lost,
        "symbols": list(result.symbols),
        "steps": [{"e_tot": s.e_tot, "max_grad": float(abs(s.grad).max()), "overlap": s.overlap.tolist(),
                   "s2": s.state.s2, "collapsed": s.state.collapsed, "coords": s.coords.tolist()}
                  for s in result.steps],
        "final_coords": result.final.coords.tolist(),
        "method": result.method.to_dict(),
        "versions": dict(result.final.state.versions),
        "units": {"e_tot": "hartree", "max_grad": "hartree/bohr", "coords": "angstrom"},
    }


def format_optimization(result) -> str:
    """Steps and final geometry of one optimization."""
    lines = [f"{'step':>4} {'E / Eh':>18} {'max|g| / Eh/bohr':>17} {'overlap':>8} {'<S^2>':>7}"]
    lines += [f"{k:>4} {s.e_tot:>18.10f} {abs(s.grad).max():>17.2e} {s.overlap.min():>8.4f} {s.state.s2:>7.3f}"
              for k, s in enumerate(result.steps)]
    status = "converged" if result.converged else ("state lost: " + result.lost if result.lost else "not converged")
    lines += ["", f"{result.spec}: {status}; final geometry (Angstrom):", result.to_xyz().rstrip()]
    m = result.method
    lines.append(f"xc = {m.xc}, reference = {m.reference}, tracking = {m.tracking}; "
                 "the overlap is that of each step's density with the previous step's")
    return "\n".join(lines)


def make_adiabatic_summary(result) -> dict:
    """The ``deltascf opt --adiabatic --json`` object: both optimizations and the energies between them (eV)."""
    return {
        "adiabatic_ev": result.adiabatic * HARTREE2EV,
        "vertical_absorption_ev": result.vertical_absorption * HARTREE2EV,
        "vertical_emission_ev": result.vertical_emission * HARTREE2EV,
        "ground": make_optimization_summary(result.ground),
        "excited": make_optimization_summary(result.excited),
        "units": {"adiabatic_ev": "eV", "hartree_to_ev": HARTREE2EV},
    }


def format_adiabatic(result) -> str:
    """Adiabatic and vertical energies, then the excited state's optimization."""
    return "\n".join([
        f"ground-state minimum: E = {result.ground.final.e_tot:.10f} Eh ({len(result.ground.steps)} steps)",
        f"{result.excited.spec} minimum: E = {result.excited.final.e_tot:.10f} Eh ({len(result.excited.steps)} steps)",
        f"vertical absorption (at the ground minimum) = {result.vertical_absorption * HARTREE2EV:.4f} eV",
        f"adiabatic (minimum to minimum, no zero-point energy) = {result.adiabatic * HARTREE2EV:.4f} eV",
        f"vertical emission (at the excited minimum) = {result.vertical_emission * HARTREE2EV:.4f} eV",
        "", format_optimization(result.excited)])

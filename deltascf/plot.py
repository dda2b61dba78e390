"""Matplotlib figures from records; eV appears only here, in report.py and in cli.py (design §10).

Every ``make_*`` function reads a record and returns a new
:class:`matplotlib.figure.Figure`; none of them runs an SCF.  Figures are
built without pyplot and carry an Agg canvas, so no display is needed and no
global matplotlib state (backend, rcParams, the pyplot figure list) changes.
matplotlib itself is imported on first use, not with this module.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
from pyscf.data.nist import HARTREE2EV

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .records import ChargeScan, ScfResult, TheoremTable

__all__ = ["make_energy_curve", "make_deviation_curve", "make_eps_curve", "make_scan_figure",
           "make_theorem_parity", "make_states_figure", "make_points_figure", "make_set_parity",
           "make_error_distribution", "save_figure", "FORMATS"]

#: file suffix -> matplotlib format accepted by :func:`save_figure`
FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}

# axis labels (units only where the quantity has one)
LABEL_N = "N"
LABEL_DELTA = "δ"
LABEL_E_REL = "E − E(δ=0) / eV"
LABEL_DEV = "D(δ) / eV"
LABEL_EPS = "ε / eV"
LABEL_MU = "μ / eV"
LABEL_EXCITATION = "ΔE / eV"


def _new_figure(figsize) -> "Figure":
    """A pyplot-free Figure with its own Agg canvas (nothing global changes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _correction_tag(method) -> str:
    """"LOSC post" for a method with a correction, "" without."""
    corr = method.correction
    if corr is None:
        return ""
    from .corrections import label_of

    return f"{label_of(corr.name)} {corr.mode}"


def _scan_title(scan: "ChargeScan") -> str:
    title = f"{scan.state} · {scan.channel} · {scan.mode}"
    tag = _correction_tag(scan.method)
    return title + (f" · {tag}" if tag else "")


# -- charge scans (ChargeScan, Hartree -> eV) ---------------------------------------------
def _draw_energy(ax: "Axes", scan: "ChargeScan") -> None:
    """E(N) − E(δ=0) with the straight line through the integer ends; theory (2.3).

    A ChargeScan always holds both integer ends, δ = 0 first and δ = 1 last.
    """
    ev = HARTREE2EV
    n = np.asarray(scan.n_electrons, dtype=float)
    e = np.asarray(scan.e_tot, dtype=float)
    tag = _correction_tag(scan.method)
    ax.plot(n, (e - e[0]) * ev, marker="o", linestyle="-", label=f"E(N), {tag}" if tag else "E(N)")
    if tag:  # the parent functional, for comparison with the corrected curve
        e_dfa = np.asarray(scan.e_dfa, dtype=float)
        ax.plot(n, (e_dfa - e_dfa[0]) * ev, marker=".", linestyle=":", color="0.45",
                label=f"E(N), {scan.method.xc}")
    ax.plot([n[0], n[-1]], [0.0, (e[-1] - e[0]) * ev], linestyle="--", color="k", linewidth=1.0,
            label="straight line")
    ax.set_xlabel(LABEL_N)
    ax.set_ylabel(LABEL_E_REL)
    ax.legend()


def _draw_deviation(ax: "Axes", scan: "ChargeScan") -> None:
    """D(δ) with the zero line and D(½) annotated; theory (2.3), (2.4)."""
    ev = HARTREE2EV
    ax.plot(scan.delta, np.asarray(scan.e_dev, dtype=float) * ev, marker="o", linestyle="-", label="D(δ)")
    ax.axhline(0.0, color="k", linewidth=0.8)
    d_half = float(scan.deviation_half)
    if np.isfinite(d_half):
        shape = "convex" if d_half < 0 else "concave"
        ax.annotate(f"D(½) = {d_half * ev:.4f} eV ({shape})", xy=(0.5, d_half * ev),
                    xytext=(0.0, 0.6 if d_half < 0 else 0.4), textcoords=("offset points", "axes fraction"),
                    ha="center", va="center", arrowprops={"arrowstyle": "->", "color": "0.3"})
    ax.set_xlabel(LABEL_DELTA)
    ax.set_ylabel(LABEL_DEV)


def _draw_eps(ax: "Axes", scan: "ChargeScan") -> None:
    """ε(δ) of the channel orbital against the slope E(1) − E(0), the chemical potential; theory (3.1)."""
    ev = HARTREE2EV
    ax.plot(scan.delta, np.asarray(scan.eps, dtype=float) * ev, marker="o", linestyle="-", label="ε(δ)")
    ax.axhline(float(scan.slope) * ev, color="k", linestyle="--", linewidth=1.0, label="μ = E(1) − E(0)")
    ax.set_xlabel(LABEL_DELTA)
    ax.set_ylabel(LABEL_EPS)
    ax.legend()


def _scan_panel(draw, scan) -> "Figure":
    """One panel of a scan, titled with the scan."""
    fig = _new_figure((6.0, 4.5))
    ax = fig.add_subplot()
    draw(ax, scan)
    ax.set_title(_scan_title(scan))
    return fig


def make_energy_curve(scan: "ChargeScan") -> "Figure":
    """E(N) in eV relative to E(δ=0) against N, with the dashed straight line through the ends.

    With a correction the corrected curve is drawn and the parent functional's
    ``e_dfa`` curve is added (dotted, grey) for comparison.
    """
    return _scan_panel(_draw_energy, scan)


def make_deviation_curve(scan: "ChargeScan") -> "Figure":
    """D(δ) = E(δ) − line in eV against δ, with a zero line and D(½) annotated."""
    return _scan_panel(_draw_deviation, scan)


def make_eps_curve(scan: "ChargeScan") -> "Figure":
    """ε(δ) of the channel orbital in eV with the chemical potential E(1) − E(0) as a horizontal line."""
    return _scan_panel(_draw_eps, scan)


def make_scan_figure(scan: "ChargeScan") -> "Figure":
    """The energy, deviation and ε panels of one scan side by side (1 × 3)."""
    fig = _new_figure((16.0, 4.8))
    axes = fig.subplots(1, 3)
    for ax, draw, title in zip(axes, (_draw_energy, _draw_deviation, _draw_eps),
                               ("energy", "deviation from the line", "orbital energy")):
        draw(ax, scan)
        ax.set_title(title)
    fig.suptitle(_scan_title(scan))
    return fig


# -- theorem table (TheoremTable, Hartree -> eV) ------------------------------------------
def _coincident_labels(x: np.ndarray, y: np.ndarray, names, atol: float = 1e-3) -> list:
    """[((x, y), [names...])]: points within ``atol`` of an earlier one share one label
    (α and β channels of a closed shell lie on top of each other)."""
    groups = []
    for xi, yi, name in zip(x, y, names):
        for (xg, yg), members in groups:
            if abs(xi - xg) <= atol and abs(yi - yg) <= atol:
                members.append(name)
                break
        else:
            groups.append(((float(xi), float(yi)), [name]))
    return groups


def make_theorem_parity(table: "TheoremTable") -> "Figure":
    """ε of state I (T1/T3, circles) and of the neighbour (T2/T4, squares) against μ, with y = x.

    Each channel is labelled beside its circle (channels whose circles
    coincide share one label).  A point on the diagonal
    obeys the theorem exactly; its vertical distance is ``error`` (circle)
    or ``error_neighbour`` (square).
    """
    rows = tuple(table.rows)
    if not rows:
        raise ValueError("the theorem table has no rows to plot")
    ev = HARTREE2EV
    mu = np.array([r.mu for r in rows]) * ev
    eps = np.array([r.eps for r in rows]) * ev
    eps_nb = np.array([r.eps_neighbour for r in rows]) * ev
    fig = _new_figure((6.0, 5.5))
    ax = fig.add_subplot()
    ax.plot(mu, eps, marker="o", linestyle="none", label="ε of I (T1/T3)")
    ax.plot(mu, eps_nb, marker="s", linestyle="none", markerfacecolor="none", label="ε of neighbour (T2/T4)")
    values = np.concatenate([mu, eps, eps_nb])
    lo, hi = float(values.min()), float(values.max())
    pad = max(0.05 * (hi - lo), 0.5)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], linestyle="--", color="k", linewidth=1.0, label="ε = μ")
    middle = 0.5 * (mu.min() + mu.max())
    for (x, y), names in _coincident_labels(mu, eps, [f"{r.channel} ({r.label})" for r in rows]):
        right = x > middle  # labels of the right half point inwards, so they stay inside the axes
        note = ax.annotate(", ".join(names), xy=(x, y), xytext=(-6 if right else 6, 6), textcoords="offset points",
                           ha="right" if right else "left", fontsize="small")
        note.set_in_layout(False)
    ax.set_xlabel(LABEL_MU)
    ax.set_ylabel(LABEL_EPS)
    tag = _correction_tag(table.method)
    ax.set_title(f"{table.state} · {table.method.xc}" + (f" · {tag}" if tag else ""))
    ax.legend()
    return fig


# -- states of a run (ScfResult, Hartree -> eV) -------------------------------------------
def make_states_figure(labels, results, ground: "ScfResult") -> "Figure":
    """Bar chart of E(state) − E(ground) in eV, one bar per label.

    Bars are annotated with their value; a state that did not converge or
    lost its target configuration says so in its annotation.
    """
    labels, results = list(labels), list(results)
    if len(labels) != len(results):
        raise ValueError(f"{len(labels)} labels for {len(results)} states")
    if not results:
        raise ValueError("no states to plot")
    ev = HARTREE2EV
    de = np.array([(r.e_tot - ground.e_tot) * ev for r in results])
    fig = _new_figure((max(4.0, 1.2 * len(labels) + 2.0), 4.5))
    ax = fig.add_subplot()
    bars = ax.bar(np.arange(len(labels)), de, tick_label=[str(x) for x in labels])
    notes = []
    for r, value in zip(results, de):
        flags = [word for word, bad in (("not converged", not r.converged), ("collapsed", r.collapsed)) if bad]
        notes.append(f"{value:.3f}" + (f" ({', '.join(flags)})" if flags else ""))
    ax.bar_label(bars, labels=notes, padding=2, fontsize="small")
    ax.axhline(0.0, color="k", linewidth=0.8)
    ax.set_ylabel(LABEL_EXCITATION)
    m = ground.method
    ax.set_title(f"excitation energies · {m.xc}/{m.reference}")
    return fig


# -- the finished states of an interrupted scan or table ------------------------------------------
def make_points_figure(states, title: str) -> "Figure":
    """E against N (eV, relative to the lowest N) of the states an interrupted job finished."""
    if not states:
        raise ValueError("no finished states to plot")
    ev = HARTREE2EV
    states = sorted(states, key=lambda r: r.nelectron)
    n = np.array([r.nelectron for r in states])
    e = np.array([r.e_tot for r in states])
    fig = _new_figure((6.0, 4.5))
    ax = fig.add_subplot()
    ax.plot(n, (e - e[0]) * ev, marker="o", linestyle="none", label="finished states")
    ax.set_xlabel(LABEL_N)
    ax.set_ylabel("E − E(lowest N) / eV")
    ax.set_title(title)
    ax.legend()
    return fig


# -- batches: the set-level parity and the distribution of |ε − μ| ----------------------------------------------
def _finite(x) -> bool:
    return x is not None and np.isfinite(float(x))


def _by_method(rows) -> dict:
    """{method label: [rows]} of the theorem-table rows of a batch summary (eV).  Rows may lack a value (a
    corrected ε that a correction does not give: None or NaN); the figures leave those out and count them."""
    out = {}
    for row in rows:
        if row.get("job") == "chempot" and "error_ev" in row:
            method = f"{row['xc']}/{row['basis']}" + ("" if row["correction"] == "none" else f" + {row['correction']}")
            out.setdefault(method, []).append(row)
    return out


def make_set_parity(rows) -> "Figure":
    """ε against μ for every channel of every molecule, one panel per method, ground and excited states apart."""
    groups = _by_method(rows)
    if not groups:
        raise ValueError("the batch holds no theorem-table rows to plot")
    fig = _new_figure((4.2 * len(groups) + 0.6, 4.6))
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, (method, group) in zip(axes, sorted(groups.items())):
        for excited, marker, label in ((False, "o", "ground state"), (True, "^", "ΔSCF state")):
            pts = [r for r in group if (r["state"] != "ground") == excited and _finite(r["eps_ev"])
                   and _finite(r["mu_ev"])]
            if pts:
                ax.plot([r["mu_ev"] for r in pts], [r["eps_ev"] for r in pts], marker=marker, linestyle="none",
                        label=f"{label} ({len(pts)})", alpha=0.8)
        values = [float(v) for r in group for v in (r["mu_ev"], r["eps_ev"]) if _finite(v)] or [0.0]
        lo, hi = min(values), max(values)
        pad = max(0.05 * (hi - lo), 0.5)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], linestyle="--", color="k", linewidth=1.0, label="ε = μ")
        missing = sum(1 for r in group if not (_finite(r["eps_ev"]) and _finite(r["mu_ev"])))
        ax.set_title(method + (f"\n({missing} rows without a value)" if missing else ""), fontsize="medium")
        ax.set_xlabel(LABEL_MU)
        ax.set_ylabel(LABEL_EPS)
        ax.legend(fontsize="small")
    fig.suptitle("orbital energies against chemical potentials, all molecules")
    return fig


def make_error_distribution(rows) -> "Figure":
    """Histograms of |ε − μ| (eV) per method, all molecules and channels together."""
    groups = _by_method(rows)
    if not groups:
        raise ValueError("the batch holds no theorem-table rows to plot")
    fig = _new_figure((6.5, 4.5))
    ax = fig.add_subplot()
    errors = {m: [abs(float(r["error_ev"])) for r in g if _finite(r["error_ev"])] for m, g in sorted(groups.items())}
    missing = {m: sum(1 for r in g if not _finite(r["error_ev"])) for m, g in groups.items()}
    top = max((max(v) for v in errors.values() if v), default=1.0)
    bins = np.linspace(0.0, top if top > 0 else 1.0, 21)
    for method, values in errors.items():
        if not values:
            continue
        extra = f", {missing[method]} without value" if missing[method] else ""
        ax.hist(values, bins=bins, histtype="step", linewidth=1.5,
                label=f"{method}: mean {np.mean(values):.2f}, max {np.max(values):.2f} eV{extra}")
    ax.set_xlabel("|ε − μ| / eV")
    ax.set_ylabel("channels")
    ax.set_title("distribution of |ε − μ|")
    ax.legend(fontsize="small")
    return fig


# -- files --------------------------------------------------------------------------------
def save_figure(fig: "Figure", path) -> str:
    """Write ``fig`` as PNG, PDF or SVG, chosen by the suffix of ``path``; returns the path written.

    The file is written to a temporary file in the same directory and renamed
    over ``path``, so a failed save leaves any previous file unchanged.

    Raises
    ------
    ValueError
        For any other suffix (the message names the allowed ones).
    """
    path = os.path.realpath(os.fspath(path))  # through a symlink: replace its target, not the link
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot save a figure as {suffix or 'a file without suffix'!r}; "
                         f"use one of {', '.join(FORMATS)}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a directory")
    from .io import write_atomically

    def write(tmp):
        with open(tmp, "wb") as fh:
            fig.savefig(fh, format=FORMATS[suffix])

    write_atomically(path, write, mode_from=path if os.path.exists(path) else None)
    return path

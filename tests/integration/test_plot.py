"""Figures from real records, checked through matplotlib's object model (module: plot)."""
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf.data.nist import HARTREE2EV as EV
from tolerances import IDENTICAL

from deltascf import plot, run_state
from deltascf.chempot import chemical_potentials
from deltascf.fractional import scan_charge

#: plotted values are the record values times HARTREE2EV, up to float rounding
PLOT_ATOL = 1e-12
MAGIC = {".png": (b"\x89PNG\r\n\x1a\n",), ".pdf": (b"%PDF",), ".svg": (b"<?xml", b"<svg")}


@pytest.fixture(scope="module")
def h_atom(make_mol):
    return make_mol("H 0 0 0", "3-21g", spin=1)


@pytest.fixture(scope="module")
def scan(h_atom):
    """H atom, B3LYP: E(N) from 0 to 1 electron (convex, delocalization error)."""
    return scan_charge(h_atom, "b3lyp", "ground", "remove:a:HOMO", deltas=[0, 0.25, 0.5, 0.75, 1])


@pytest.fixture(scope="module")
def table(h_atom):
    return chemical_potentials(h_atom, "hf", "ground", ["remove:a:HOMO"], reference="uhf")


@pytest.fixture(scope="module")
def water_states(make_mol):
    mol = make_mol()  # water, STO-3G
    ground = run_state(mol, "hf")
    excited = run_state(mol, "hf", "a:HOMO->LUMO", ground=ground)
    return ["ground", "state1"], [ground, excited], ground


def _legend_texts(ax):
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


# -- charge scan ----------------------------------------------------------------------------
def test_energy_curve(scan):
    fig = plot.make_energy_curve(scan)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "N" and ax.get_ylabel() == "E − E(δ=0) / eV"
    data, line = ax.get_lines()
    e_rel = (scan.e_tot - scan.e_tot[0]) * EV
    assert_allclose(data.get_xydata(), np.column_stack([scan.n_electrons, e_rel]), rtol=0, atol=PLOT_ATOL)
    assert data.get_marker() == "o" and data.get_linestyle() == "-"
    # the straight line joins the two integer ends; its rise is the slope
    assert_allclose(line.get_xydata(), [[0.0, 0.0], [1.0, scan.slope * EV]], rtol=0, atol=PLOT_ATOL)
    assert_allclose(line.get_xydata()[-1], data.get_xydata()[-1], rtol=0, atol=PLOT_ATOL)
    assert line.get_linestyle() == "--"
    assert _legend_texts(ax) == ["E(N)", "straight line"]
    title = ax.get_title()
    assert all(part in title for part in ("ground", "remove:a:HOMO", "scf")) and "LOSC" not in title


def test_energy_curve_with_losc_adds_parent_curve(scan):
    # a relabelled record (no LOSC run): only the drawing is under test here
    losc_scan = dataclasses.replace(scan, method=dataclasses.replace(scan.method, correction="losc:post"),
                                    e_dfa=scan.e_tot + 0.01 * scan.delta**2)
    (ax,) = plot.make_energy_curve(losc_scan).axes
    assert "LOSC post" in ax.get_title()
    data, parent, line = ax.get_lines()
    assert_allclose(parent.get_ydata(), (losc_scan.e_dfa - losc_scan.e_dfa[0]) * EV, rtol=0, atol=PLOT_ATOL)
    assert_allclose(data.get_ydata(), (scan.e_tot - scan.e_tot[0]) * EV, rtol=0, atol=PLOT_ATOL)
    assert _legend_texts(ax) == ["E(N), LOSC post", "E(N), b3lyp", "straight line"]


def test_deviation_curve(scan):
    (ax,) = plot.make_deviation_curve(scan).axes
    assert ax.get_xlabel() == "δ" and ax.get_ylabel() == "D(δ) / eV"
    data, zero = ax.get_lines()
    assert_allclose(data.get_xydata(), np.column_stack([scan.delta, scan.e_dev * EV]), rtol=0, atol=PLOT_ATOL)
    assert_allclose(zero.get_ydata(), [0.0, 0.0], rtol=0, atol=IDENTICAL)
    (note,) = ax.texts
    d_half = scan.deviation_half * EV
    assert d_half < 0  # B3LYP H atom: convex
    assert f"{d_half:.4f} eV" in note.get_text() and "convex" in note.get_text()
    assert_allclose(note.xy, (0.5, d_half), rtol=0, atol=PLOT_ATOL)
    # δ = ½ is a grid point, so the annotated value is the plotted one
    assert_allclose(d_half, data.get_ydata()[2], rtol=0, atol=PLOT_ATOL)


def test_eps_curve(scan):
    (ax,) = plot.make_eps_curve(scan).axes
    assert ax.get_xlabel() == "δ" and ax.get_ylabel() == "ε / eV"
    data, mu = ax.get_lines()
    assert_allclose(data.get_xydata(), np.column_stack([scan.delta, scan.eps * EV]), rtol=0, atol=PLOT_ATOL)
    assert_allclose(mu.get_ydata(), [scan.slope * EV] * 2, rtol=0, atol=PLOT_ATOL)
    assert _legend_texts(ax) == ["ε(δ)", "μ = E(1) − E(0)"]


def test_scan_figure_has_three_panels(scan):
    fig = plot.make_scan_figure(scan)
    assert len(fig.axes) == 3
    assert [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes] == [
        ("N", "E − E(δ=0) / eV"), ("δ", "D(δ) / eV"), ("δ", "ε / eV")]
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 2, 2]
    assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), scan.e_dev * EV, rtol=0, atol=PLOT_ATOL)
    assert "remove:a:HOMO" in fig.get_suptitle()


# -- theorem table --------------------------------------------------------------------------
def test_theorem_parity(table):
    (ax,) = plot.make_theorem_parity(table).axes
    assert ax.get_xlabel() == "μ / eV" and ax.get_ylabel() == "ε / eV"
    circles, squares, diagonal = ax.get_lines()
    (row,) = table.rows
    assert circles.get_marker() == "o" and squares.get_marker() == "s"
    assert circles.get_linestyle() == "None" and squares.get_linestyle() == "None"
    assert_allclose(circles.get_xydata(), [[row.mu * EV, row.eps * EV]], rtol=0, atol=PLOT_ATOL)
    assert_allclose(squares.get_xydata(), [[row.mu * EV, row.eps_neighbour * EV]], rtol=0, atol=PLOT_ATOL)
    # the diagonal is y = x and spans every point
    xy = diagonal.get_xydata()
    assert_allclose(xy[:, 0], xy[:, 1], rtol=0, atol=IDENTICAL)
    values = np.array([row.mu, row.eps, row.eps_neighbour]) * EV
    assert xy[:, 0].min() < values.min() and xy[:, 0].max() > values.max()
    assert [t.get_text() for t in ax.texts] == [f"{row.channel} ({row.label})"]
    assert len(_legend_texts(ax)) == 3


def test_theorem_parity_coincident_channels_share_a_label(table):
    (row,) = table.rows
    beta = dataclasses.replace(row, channel="remove:b:0", spin=1)
    other = dataclasses.replace(row, channel="remove:a:7", mu=row.mu - 0.1, eps=row.eps - 0.2)
    (ax,) = plot.make_theorem_parity(dataclasses.replace(table, rows=(row, beta, other))).axes
    assert len(ax.get_lines()[0].get_xydata()) == 3
    assert sorted(t.get_text() for t in ax.texts) == sorted(
        [f"{row.channel} (HOMO), remove:b:0 (HOMO)", "remove:a:7 (HOMO)"])
    with pytest.raises(ValueError, match="no rows"):
        plot.make_theorem_parity(dataclasses.replace(table, rows=()))


# -- states of a run --------------------------------------------------------------------------
def test_states_figure(water_states):
    labels, results, ground = water_states
    (ax,) = plot.make_states_figure(labels, results, ground).axes
    assert ax.get_ylabel() == "ΔE / eV"
    heights = [p.get_height() for p in ax.patches]
    assert_allclose(heights, [(r.e_tot - ground.e_tot) * EV for r in results], rtol=0, atol=PLOT_ATOL)
    assert heights[0] == 0.0 and heights[1] > 0.0
    assert [t.get_text() for t in ax.get_xticklabels()] == labels
    assert [t.get_text() for t in ax.texts] == [f"{h:.3f}" for h in heights]


def test_states_figure_flags_and_refusals(water_states):
    labels, results, ground = water_states
    bad = dataclasses.replace(results[1], converged=False, collapsed=True)
    (ax,) = plot.make_states_figure(labels, [results[0], bad], ground).axes
    assert ax.texts[1].get_text().endswith("(not converged, collapsed)")
    with pytest.raises(ValueError, match="2 labels for 1 states"):
        plot.make_states_figure(labels, results[:1], ground)


# -- files ------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg"])
def test_save_figure_formats(scan, tmp_path, suffix):
    fig = plot.make_eps_curve(scan)
    path = tmp_path / f"eps{suffix}"
    assert plot.save_figure(fig, path) == os.path.realpath(path)
    first = path.read_bytes()
    assert len(first) > 100 and first.lstrip().startswith(MAGIC[suffix])
    plot.save_figure(fig, str(path))  # replaces the file
    assert path.read_bytes().lstrip().startswith(MAGIC[suffix])
    assert sorted(os.listdir(tmp_path)) == [path.name]  # no temporary files left


@pytest.mark.parametrize("name", ["eps.jpg", "eps", "eps.png.txt"])
def test_save_figure_refuses_other_suffixes(scan, tmp_path, name):
    with pytest.raises(ValueError, match=r"\.png, \.pdf, \.svg"):
        plot.save_figure(plot.make_eps_curve(scan), tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_save_figure_is_atomic(scan, tmp_path):
    fig = plot.make_eps_curve(scan)
    path = tmp_path / "eps.png"
    plot.save_figure(fig, path)
    before = path.read_bytes()

    def broken_savefig(fh, **kw):
        fh.write(b"half a file")
        raise RuntimeError("disk full")

    fig.savefig = broken_savefig
    with pytest.raises(RuntimeError, match="disk full"):
        plot.save_figure(fig, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["eps.png"]
    with pytest.raises(FileNotFoundError):
        plot.save_figure(plot.make_eps_curve(scan), tmp_path / "missing" / "eps.png")


def test_figures_need_no_pyplot_or_display(scan):
    """Figures carry their own Agg canvas; importing deltascf (or deltascf.plot) loads no matplotlib."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    had_pyplot = "matplotlib.pyplot" in sys.modules
    fig = plot.make_scan_figure(scan)
    assert isinstance(fig.canvas, FigureCanvasAgg)
    if not had_pyplot:
        assert "matplotlib.pyplot" not in sys.modules
    code = ("import sys, deltascf, deltascf.plot; "
            "sys.exit(1 if any(m.split('.')[0] == 'matplotlib' for m in sys.modules) else 0)")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=Path(__file__).parent, timeout=60)
    assert done.returncode == 0


def test_set_figures_leave_out_and_count_rows_without_a_value():
    """Batch rows whose corrected ε is missing (null in JSON, NaN in memory) are not drawn; they are counted."""

    def row(corr, eps, mu, state="ground"):
        err = None if eps is None or mu is None else eps - mu
        return {"job": "chempot", "xc": "b3lyp", "basis": "6-31g", "correction": corr, "state": state,
                "eps_ev": eps, "mu_ev": mu, "error_ev": err}

    rows = [row("none", -8.0, -12.0), row("gsc2:post", -12.1, -12.0), row("gsc2:post", None, -3.0),
            row("gsc2:post", float("nan"), 4.0, "a:HOMO->LUMO")]
    parity = plot.make_set_parity(rows)
    panel = next(ax for ax in parity.axes if "gsc2" in ax.get_title())
    assert "2 rows without a value" in panel.get_title()
    drawn = [line for line in panel.get_lines() if line.get_linestyle() == "None"]
    assert sum(len(line.get_xdata()) for line in drawn) == 1
    hist = plot.make_error_distribution(rows)
    labels = [t.get_text() for t in hist.axes[0].get_legend().get_texts()]
    assert any("gsc2" in t and "2 without value" in t and "nan" not in t for t in labels)

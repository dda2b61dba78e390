"""GSC2 (theory §6): the correction's laws, theorem tables checked by finite differences, and every route.

The theorem-table rows are asserted against values computed here by an independent route: κ from finite
differences of fractional SCFs (theory (6.2)) put into (6.1), and μ from the uncorrected table (GSC2 does not
change integer-state energies).
"""
import dataclasses
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf import gto
from tolerances import E_ATOL, EXACT_ATOL, FD_ATOL, PARITY_ATOL

from compare import assert_same
from deltascf import Correction, Method, run_state
from deltascf.chempot import chemical_potentials
from deltascf.cli import main
from deltascf.corrections import run_correction
from deltascf.corrections.gsc2 import Gsc2Settings, select_orbitals
from deltascf.fractional import scan_charge
from deltascf.io import load_all
from deltascf.report import format_theorem
from fdkappa import TIGHT, fd_kappa

WATER = "O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587"


@pytest.fixture(scope="module")
def water():
    return gto.M(atom=WATER, basis="6-31g", verbose=0)


def test_default_orbitals_are_each_spins_frontier_and_fractional_ones():
    e = np.array([-1.0, -0.6, -0.5, -0.3, 0.2, 0.4])
    assert select_orbitals(e, np.array([1, 1, 1, 0, 0, 0.0])).tolist() == [2, 3]
    assert select_orbitals(e, np.array([1, 1, 0, 1, 0, 0.0])).tolist() == [2, 3]  # hole 2, electron 3
    assert select_orbitals(e, np.array([1, 1, 0.5, 0, 0, 0.0])).tolist() == [2]  # fractional: both frontiers
    assert select_orbitals(e, np.array([1, 0.5, 1, 0.25, 0, 0.0])).tolist() == [1, 3]  # a full one between
    assert select_orbitals(e, np.array([1, 1, 1, 0, 0, 0.0]), window=(-20, -9), extra=(5,)).tolist() == [1, 2, 3, 5]


@pytest.mark.slow
@pytest.mark.parametrize("state", ["ground", "a:HOMO->LUMO"])
def test_theorem_table_rows_equal_finite_difference_gsc2(water, state):
    """Each row: ε_p + κ_pp(½ − n_p) in I and in the neighbour, with κ by finite differences; μ as uncorrected."""
    table = chemical_potentials(water, "b3lyp", state=state, correction="gsc2", **TIGHT)
    plain = chemical_potentials(water, "b3lyp", state=state, **TIGHT)
    start = run_state(water, "b3lyp", **TIGHT)
    if state != "ground":
        start = run_state(water, "b3lyp", state=state, ground=start, **TIGHT)
    assert all(c.de == 0.0 for c in table.corrections)  # integer states: (6.1) changes no energy
    for row, ref, nb in zip(table.rows, plain.rows, table.neighbours):
        s, p, q = row.spin, row.orbital, row.neighbour_orbital
        n_p, n_q = start.mo_occ[s, p], nb.mo_occ[s, q]
        eps = start.mo_energy[s, p] + fd_kappa(water, start, s, p, p) * (0.5 - n_p)
        eps_nb = nb.mo_energy[s, q] + fd_kappa(water, nb, s, q, q) * (0.5 - n_q)
        assert_allclose([row.eps, row.eps_neighbour], [eps, eps_nb], rtol=0, atol=FD_ATOL, err_msg=row.channel)
        assert_allclose(row.mu, ref.mu, rtol=0, atol=E_ATOL)


def test_a_scan_of_one_electron_hf_stays_linear_and_uncorrected():
    mol = gto.M(atom="H 0 0 0", basis="6-31g", spin=1, verbose=0)
    scan = scan_charge(mol, "hf", channel="remove:a:HOMO", points=5, correction="gsc2", **TIGHT)
    assert_allclose(scan.e_dev, 0.0, rtol=0, atol=E_ATOL)
    assert_allclose([c.de for c in scan.corrections], 0.0, rtol=0, atol=EXACT_ATOL)
    assert_allclose(scan.eps, scan_charge(mol, "hf", channel="remove:a:HOMO", points=5, **TIGHT).eps,
                    rtol=0, atol=E_ATOL)


def test_a_scan_corrects_each_point_by_its_own_curvature():
    """E_GSC2(δ) = E(δ) + ½ κ(δ) n(1 − n), ε = ε(δ) + κ(δ)(½ − n) at every point (theory (6.1))."""
    mol = gto.M(atom="H 0 0 0", basis="3-21g", spin=1, verbose=0)
    scan = scan_charge(mol, "b3lyp", channel="remove:a:HOMO", points=5, correction="gsc2", **TIGHT)
    n = scan.n_electrons  # the atom's one electron is the channel orbital's
    kappa = np.array([c.kappa[0, k] for c, k in zip(scan.corrections, scan.orbitals)])
    assert np.all(np.isfinite(kappa)) and np.all(kappa > 0)
    assert_allclose(scan.e_tot, scan.e_dfa + 0.5 * kappa * n * (1 - n), rtol=0, atol=EXACT_ATOL)
    eps_dfa = np.array([p.mo_energy[0, k] for p, k in zip(scan.points, scan.orbitals)])
    assert_allclose(scan.eps, eps_dfa + kappa * (0.5 - n), rtol=0, atol=EXACT_ATOL)
    plain = scan_charge(mol, "b3lyp", channel="remove:a:HOMO", points=5, **TIGHT)
    assert abs(scan.deviation_half) < abs(plain.deviation_half)


def test_frozen_curvature_and_window(water):
    g = run_state(water, "b3lyp")
    relaxed = run_correction(water, g, Method(xc="b3lyp", correction="gsc2"))
    frozen = run_correction(water, g, Method(xc="b3lyp", correction=Correction("gsc2", "post",
                                                                               Gsc2Settings(curvature="frozen"))))
    assert relaxed.orbitals == frozen.orbitals == ((4, 5), (4, 5))
    assert_allclose(frozen.kappa[:, 4:6], relaxed.kappa_frozen[:, 4:6], rtol=0, atol=FD_ATOL)
    assert np.all(relaxed.kappa[:, 4:6] < frozen.kappa[:, 4:6])
    assert np.isnan(relaxed.mo_energy[:, :4]).all() and np.isnan(relaxed.mo_energy[:, 6:]).all()
    wide = run_correction(water, g, Method(xc="b3lyp", correction=Correction("gsc2", "post",
                                                                             Gsc2Settings(window=(-40, 0)))))
    assert wide.orbitals == ((1, 2, 3, 4, 5), (1, 2, 3, 4, 5))  # O 1s lies at -520 eV
    assert_allclose(wide.mo_energy[:, 4:6], relaxed.mo_energy[:, 4:6], rtol=0, atol=FD_ATOL)


def test_a_restricted_state_gets_the_spin_orbital_curvature(water):
    rks = run_state(water, "b3lyp", reference="rks")
    uks = run_state(water, "b3lyp")
    r = run_correction(water, rks, Method(xc="b3lyp", reference="rks", correction="gsc2"))
    u = run_correction(water, uks, Method(xc="b3lyp", correction="gsc2"))
    assert r.mo_energy.shape == rks.mo_energy.shape and r.orbitals == ((4, 5),)
    assert_allclose(r.kappa[4:6], u.kappa[0, 4:6], rtol=0, atol=FD_ATOL)


@pytest.mark.parametrize("name", ["gsc2", "lrlosc"])  # the two screened corrections share these routes
def test_study_round_trip_and_command_line_equal_the_api(water, tmp_path, capsys, name):
    table = chemical_potentials(water, "b3lyp", state="ground", correction=name, study=tmp_path / "t.h5")
    loaded = load_all(tmp_path / "t.h5")
    start = next(v for (kind, label), v in loaded.items() if kind == name and label.endswith("-start"))
    assert_same(table.corrections[0], start)
    (tmp_path / "w.xyz").write_text("3\nwater\n" + WATER.replace("; ", "\n") + "\n")
    code = main(["chempot", str(tmp_path / "w.xyz"), "--basis", "6-31g", "--xc", "b3lyp", "--state", "ground",
                 "--correction", name, "--json", "-", "-q"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert_allclose([r["eps"] for r in rows], [r.eps for r in table.rows], rtol=0, atol=PARITY_ATOL)
    # a value the correction does not give (NaN) is '-' in the text table, with a line that says so
    gap = dataclasses.replace(table, rows=(dataclasses.replace(table.rows[0], eps=float("nan")), *table.rows[1:]))
    text = format_theorem(gap).splitlines()
    assert text[3].split()[2] == "-" and "nan" not in "\n".join(text) and text[-1].startswith("- = ")


@pytest.mark.parametrize("name", ["gsc2", "lrlosc"])
def test_scf_mode_is_refused_before_any_scf(tmp_path, capsys, name):
    (tmp_path / "w.xyz").write_text("3\nwater\n" + WATER.replace("; ", "\n") + "\n")
    assert main(["run", str(tmp_path / "w.xyz"), "--basis", "6-31g", "--xc", "b3lyp",
                 "--correction", f"{name}:scf"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{name} has no scf mode" in err[0]
    with pytest.raises(ValueError, match="no scf mode"):
        Method(xc="b3lyp", correction=f"{name}:scf")


def test_json_is_strict_with_orbitals_left_uncorrected(tmp_path, capsys):
    """Orbitals outside GSC2's set have NaN energies in the record and null in the JSON, never NaN."""
    (tmp_path / "w.xyz").write_text("3\nwater\n" + WATER.replace("; ", "\n") + "\n")
    assert main(["run", str(tmp_path / "w.xyz"), "--basis", "sto-3g", "--xc", "b3lyp", "--correction", "gsc2",
                 "--json", "-", "-q"]) == 0

    def refuse(name):
        raise AssertionError(f"{name} in JSON")

    out = json.loads(capsys.readouterr().out, parse_constant=refuse)
    eps = out["states"][0]["gsc2"]["mo_energy"][0]
    assert eps[0] is None and isinstance(eps[4], float) and isinstance(eps[5], float)

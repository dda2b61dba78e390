"""Analytic gradients of ΔSCF states (theory §1.8) and geometry optimization with the state followed."""
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf import gto
from tolerances import E_ATOL, PARITY_ATOL

from deltascf import Occupation, run_state
from deltascf.cli import main
from deltascf.gradients import make_gradient
from deltascf.optimize import _reference, geometric_available, project_orbitals

#: Eh/bohr: analytic against central differences (h = 1e-3 bohr, truncation ~1e-8) of SCFs at conv_tol 1e-12
FD_GRAD_ATOL = 1e-6
H_BOHR = 1e-3
WATER = [["O", [0.0, 0.0, 0.1173]], ["H", [0.0, 0.7572, -0.4692]], ["H", [0.0, -0.7572, -0.4692]]]
TIGHT = dict(conv_tol=1e-12)

needs_geometric = pytest.mark.skipif(not geometric_available(), reason='needs geomeTRIC (pip install ".[opt]")')


def _water(basis="6-31g", shift=None):
    atoms = [[a, list(c)] for a, c in WATER]
    if shift is not None:
        (i, j), h = shift
        atoms[i][1][j] += h * 0.52917721092
    return gto.M(atom=atoms, basis=basis, verbose=0)


def _fd(xc, state, basis, reference, component):
    """Central difference of E along one coordinate, the state tracked from the central state's orbitals."""
    mol = _water(basis)
    g = run_state(mol, xc, "ground", reference=reference, **TIGHT)
    st = run_state(mol, xc, state, ground=g, reference=reference, **TIGHT)
    e = []
    for h in (H_BOHR, -H_BOHR):
        m = _water(basis, (component, h))
        r = run_state(m, xc, Occupation.from_occ(st.mo_occ), ground=_reference(m, st, mol), reference=reference,
                      **TIGHT)
        assert r.converged and not r.collapsed and r.target_overlap.min() > 0.99
        e.append(r.e_tot)
    return mol, st, (e[0] - e[1]) / (2 * H_BOHR)


CASES = [  # (xc, state, basis, reference)
    ("b3lyp", "a:HOMO->LUMO", "6-31g", "uks"),       # singlet-mixed ΔSCF state
    ("b3lyp", "b:HOMO->a:LUMO", "6-31g", "uks"),     # spin-flip triplet
    ("b3lyp", "a:HOMO=0.5", "6-31g", "uks"),         # fractional
    ("b3lyp", "core:O1s", "6-31g", "uks"),           # core hole
    ("pbe", "HOMO=1", "6-31g", "rks"),               # restricted, fractional pair
    ("hf", "a:HOMO-1->LUMO", "6-31g", "uhf"),        # HF, a deeper hole
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}-{c[3]}" for c in CASES])
def test_gradient_equals_finite_differences(case):
    xc, state, basis, reference = case
    for component in ((0, 2), (1, 1)):
        mol, st, fd = _fd(xc, state, basis, reference, component)
        an = make_gradient(mol, st, grid_response=True)
        assert_allclose(an[component], fd, rtol=0, atol=FD_GRAD_ATOL)


def test_gradient_is_translation_invariant_and_ground_equals_pyscf():
    """Σ_A dE/dR_A = 0 (HF: no grid); the ground state's gradient is PySCF's own for the same SCF."""
    from pyscf import scf

    mol = _water()
    g = run_state(mol, "hf", "ground", reference="uhf", **TIGHT)
    st = run_state(mol, "hf", "a:HOMO->LUMO", ground=g, reference="uhf", **TIGHT)
    assert_allclose(make_gradient(mol, st).sum(axis=0), 0.0, rtol=0, atol=1e-9)
    mf = scf.UHF(mol)
    mf.conv_tol = 1e-12
    mf.kernel()
    assert_allclose(make_gradient(mol, g), mf.nuc_grad_method().kernel(), rtol=0, atol=1e-7)


def test_gradient_refuses_other_molecules_and_unconverged_states():
    import dataclasses

    mol = _water()
    g = run_state(mol, "hf", "ground", reference="uhf")
    with pytest.raises(ValueError, match="state: .*geometry|state: .*differ|state:"):
        make_gradient(_water(shift=((0, 2), 0.1)), g)
    with pytest.raises(ValueError, match="not converged"):
        make_gradient(mol, dataclasses.replace(g, converged=False))


def test_projected_orbitals_are_orthonormal_and_exact_at_the_same_geometry():
    mol = _water()
    g = run_state(mol, "hf", "ground", reference="uhf")
    assert_allclose(project_orbitals(mol, g.mo_coeff, mol), g.mo_coeff, rtol=0, atol=PARITY_ATOL * 100)
    moved = _water(shift=((1, 1), 0.05))
    c = project_orbitals(mol, g.mo_coeff, moved)
    s = moved.intor("int1e_ovlp")
    for k in range(2):
        assert_allclose(c[k].T @ s @ c[k], np.eye(c.shape[-1]), rtol=0, atol=1e-10)


# -- optimization -----------------------------------------------------------------------------------------------
@needs_geometric
def test_optimize_co_excited_state():
    """CO's 5σ → 2π* state (B3LYP/6-31G): the bond lengthens from the ground state's, the final gradient is
    below geomeTRIC's gmax, and every step keeps the state (overlap with the previous step ≥ 0.9)."""
    from deltascf.optimize import optimize_state

    mol = gto.M(atom="C 0 0 0; O 0 0 1.13", basis="6-31g", verbose=0)
    seen = []
    ground = optimize_state(mol, "b3lyp", "ground", conv_tol=1e-10)
    res = optimize_state(mol, "b3lyp", "a:HOMO->LUMO", callback=seen.append, conv_tol=1e-10)
    assert ground.converged and res.converged and not res.lost
    assert len(seen) == len(res.steps) and seen[-1] is res.final
    bond = lambda r: np.linalg.norm(r.final.coords[1] - r.final.coords[0])  # noqa: E731
    assert 1.10 < bond(ground) < 1.16 and 1.22 < bond(res) < 1.28
    assert np.abs(res.final.grad).max() < 4.5e-4
    assert all(s.overlap.min() >= 0.9 and not s.state.collapsed for s in res.steps)
    assert res.final.e_tot < res.steps[0].e_tot
    # the last step's state is a converged ΔSCF state of that geometry: an SCF restarted from it stays there
    # (a fresh SCF from the ground state may land 1e-6 Eh away: the π* pair is degenerate and the UKS state
    # breaks its symmetry one way or another)
    m = mol.set_geom_(res.final.coords, unit="Angstrom", inplace=False)
    again = run_state(m, "b3lyp", Occupation.from_occ(res.final.state.mo_occ), ground=res.final.state, conv_tol=1e-10)
    assert again.converged and not again.collapsed
    assert_allclose(again.e_tot, res.final.e_tot, rtol=0, atol=E_ATOL)


@needs_geometric
def test_a_step_that_loses_the_state_stops_the_optimization(monkeypatch):
    import deltascf.optimize as opt

    monkeypatch.setattr(opt, "STEP_OVERLAP", 1.01)  # no step can follow: the first move loses the state
    mol = gto.M(atom="C 0 0 0; O 0 0 1.13", basis="sto-3g", verbose=0)
    res = opt.optimize_state(mol, "hf", "a:HOMO->LUMO", reference="uhf")
    assert res.lost.startswith("step 1: the density overlaps the previous step's") and not res.converged
    assert len(res.steps) == 1


@needs_geometric
def test_opt_cli_equals_api(tmp_path, capsys):
    from deltascf.optimize import optimize_state

    xyz = tmp_path / "co.xyz"
    xyz.write_text("2\nCO\nC 0 0 0\nO 0 0 1.13\n")
    out = tmp_path / "co-opt.xyz"
    rc = main(["opt", str(xyz), "--basis", "sto-3g", "--xc", "hf", "--reference", "uhf", "--state", "a:HOMO->LUMO",
               "--json", "-", "--xyz-out", str(out)])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    mol = gto.M(atom="C 0 0 0; O 0 0 1.13", basis="sto-3g", verbose=0)
    api = optimize_state(mol, "hf", "a:HOMO->LUMO", reference="uhf")
    assert summary["converged"] and len(summary["steps"]) == len(api.steps)
    assert_allclose(summary["steps"][-1]["e_tot"], api.final.e_tot, rtol=0, atol=1e-8)
    # the xyz file holds the run's final geometry (its JSON); the API run agrees in energy, while its path may
    # differ within geomeTRIC's criteria (threaded sums differ in the last bits from run to run)
    lines = out.read_text().splitlines()
    assert lines[0] == "2"
    assert np.allclose([float(x) for x in lines[3].split()[1:]], summary["final_coords"][1], rtol=0, atol=1e-9)


@pytest.mark.parametrize("args, message", [
    (["--state", "ground", "--adiabatic"], "--adiabatic needs an excited --state"),
    (["--state", "a:HOMO->LUMO+99"], "does not exist"),
    (["--maxsteps", "0"], "--maxsteps must be at least 1"),
])
def test_opt_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    xyz = tmp_path / "co.xyz"
    xyz.write_text("2\nCO\nC 0 0 0\nO 0 0 1.13\n")
    assert main(["opt", str(xyz), "--basis", "sto-3g", "--xc", "hf"] + args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1

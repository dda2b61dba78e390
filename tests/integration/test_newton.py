"""The saddle-point solver (theory §1.9): the same states as DIIS where both converge, and states DIIS cannot
converge."""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf import gto
from tolerances import E_ATOL, LOOSE_EXACT_ATOL

from deltascf import run_state
from deltascf.cli import main
from deltascf.records import Method
from deltascf.scf.build import make_mf
from deltascf.scf.newton import _rotate
from deltascf.response import make_pairs
from deltascf.spin import make_spin_dms

WATER = "O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692"
TIGHT = dict(conv_tol=1e-11)

AGREE = [  # (xc, reference, spec): every kind of state the solver must handle
    ("b3lyp", "uks", "a:HOMO->LUMO"),
    ("hf", "uhf", "a:HOMO->LUMO"),
    ("b3lyp", "rks", "HOMO->LUMO"),
    ("b3lyp", "uks", "a:HOMO=0.5"),
    ("b3lyp", "uks", "core:O1s"),
    ("b3lyp", "uks", "b:HOMO->a:LUMO"),
    ("pbe", "rks", "HOMO=1.5"),
]


@pytest.fixture(scope="module")
def water():
    return gto.M(atom=WATER, basis="6-31g", verbose=0)


@pytest.mark.parametrize("case", AGREE, ids=["-".join(c) for c in AGREE])
def test_newton_and_diis_find_the_same_state(water, case):
    """Law: two solvers of one stationarity condition (1.3) agree to 1e-8 Eh where both converge."""
    xc, ref, spec = case
    g = run_state(water, xc, "ground", reference=ref, **TIGHT)
    d = run_state(water, xc, spec, ground=g, reference=ref, **TIGHT)
    n = run_state(water, xc, spec, ground=g, reference=ref, solver="newton", **TIGHT)
    assert d.converged and n.converged and not n.collapsed
    assert n.method.solver == "newton" and n.restricted == d.restricted
    assert_allclose(n.e_tot, d.e_tot, rtol=0, atol=E_ATOL)
    assert_allclose(n.mo_occ, d.mo_occ, rtol=0, atol=0)
    assert n.max_grad < 1e-6


def test_newton_alone_converges_quadratically(water):
    """From the unrelaxed target (no DIIS warm-up), Newton–Krylov reaches max|g| < 1e-9 in at most six steps and
    the state DIIS finds."""
    from deltascf.occupations import Occupation
    from deltascf.scf.newton import run_newton

    g = run_state(water, "b3lyp", "ground", **TIGHT)
    d = run_state(water, "b3lyp", "a:HOMO->LUMO", ground=g, **TIGHT)
    target = Occupation.parse("a:HOMO->LUMO").resolve(water.nelec, water.nao_nr(), False).mo_occ
    res = run_newton(make_mf(water, Method(xc="b3lyp")), np.array(g.mo_coeff), target, conv_tol=1e-11,
                     conv_tol_grad=1e-9)
    assert res.converged and res.cycles <= 6 and res.max_grad < 1e-9
    assert_allclose(res.e_tot, d.e_tot, rtol=0, atol=E_ATOL)


#: states of ethylene–tetrafluoroethylene (HF) that DIIS + IMOM does not converge in 100 cycles
def _etf(d):
    return (f"C 0 0.6695 0; C 0 -0.6695 0; H 0.9289 1.2321 0; H -0.9289 1.2321 0; H 0.9289 -1.2321 0; "
            f"H -0.9289 -1.2321 0; C 0 0.665 {d}; C 0 -0.665 {d}; F 1.09 1.35 {d}; F -1.09 1.35 {d}; "
            f"F 1.09 -1.35 {d}; F -1.09 -1.35 {d}")


def _alpha_on_ethylene(mol, r) -> float:
    """α electrons on the ethylene atoms (Mulliken): 8 in the ground state, 7 after a full charge transfer."""
    s = mol.intor("int1e_ovlp")
    ps = (make_spin_dms(r.mo_coeff, r.mo_occ)[0] @ s).diagonal()
    return float(sum(ps[p0:p1].sum() for _, _, p0, p1 in mol.aoslice_by_atom()[:6]))


#: two of the four such states of benchmarks/solvers.py (the other two: 6-31+G at 5.0 and 6.0 Å)
DIIS_FAILS = [("ETF 5.0 A 6-31G", _etf(5.0), "6-31g"), ("ETF 5.5 A 6-31+G", _etf(5.5), "6-31+g")]


@pytest.mark.slow
@pytest.mark.parametrize("case", DIIS_FAILS, ids=[c[0] for c in DIIS_FAILS])
def test_newton_converges_where_diis_does_not(case):
    """The target's configuration is kept: overlap with the target > 0.95 in each spin, ⟨S²⟩ of a mixed state.
    In 6-31G at 5 Å the state is the full charge transfer (one α electron leaves ethylene)."""
    name, atom, basis = case
    mol = gto.M(atom=atom, basis=basis, verbose=0)
    g = run_state(mol, "hf", "ground", reference="uhf")
    d = run_state(mol, "hf", "a:HOMO->LUMO", ground=g, reference="uhf", max_cycle=100)
    n = run_state(mol, "hf", "a:HOMO->LUMO", ground=g, reference="uhf", solver="newton")
    assert not d.converged
    assert n.converged and not n.collapsed and n.max_grad < 1e-4
    assert n.target_overlap.min() > 0.95 and abs(n.s2 - 1.0) < 0.05
    if basis == "6-31g":
        assert abs(_alpha_on_ethylene(mol, n) - 7.0) < 0.05


def test_rotation_keeps_orthonormality(water):
    g = run_state(water, "hf", "ground", reference="uhf")
    c, n = np.array(g.mo_coeff), np.array(g.mo_occ)
    n[0, 4], n[0, 5] = 0.0, 1.0
    pairs = make_pairs(n)
    s = water.intor("int1e_ovlp")
    kappa = np.random.default_rng(1).normal(scale=0.3, size=sum(len(r) for r, _ in pairs))
    rotated = _rotate(c, pairs, kappa)
    for k in range(2):
        assert_allclose(rotated[k].T @ s @ rotated[k], np.eye(c.shape[-1]), rtol=0, atol=LOOSE_EXACT_ATOL)
    assert_allclose(_rotate(c, pairs, 0 * kappa), c, rtol=0, atol=0)


def test_cli_solver_newton_equals_api(tmp_path, capsys):
    import json

    xyz = tmp_path / "water.xyz"
    xyz.write_text("3\nwater\n" + "\n".join(WATER.split("; ")) + "\n")
    rc = main(["run", str(xyz), "--basis", "6-31g", "--xc", "hf", "--reference", "uhf", "--state", "a:HOMO->LUMO",
               "--solver", "newton", "--json", "-"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    mol = gto.M(atom=WATER, basis="6-31g", verbose=0)
    api = run_state(mol, "hf", "a:HOMO->LUMO", reference="uhf", solver="newton")
    assert out["method"]["solver"] == "newton"
    assert_allclose(out["states"][1]["e_tot"], api.e_tot, rtol=0, atol=E_ATOL)


def test_solver_is_left_out_of_method_dicts_at_its_default():
    """Studies written before the solver existed keep their keys: the default is not in the method's dict."""
    assert "solver" not in Method().to_dict()
    assert Method(solver="newton").to_dict()["solver"] == "newton"
    assert Method.from_dict(Method().to_dict()) == Method()
    with pytest.raises(ValueError, match="solver"):
        Method(solver="bfgs")

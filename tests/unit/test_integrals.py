"""Shared in-core ERIs (deltascf.integrals): one evaluation per molecule, s8 contraction parity."""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf import gto
from tolerances import IDENTICAL

from deltascf import integrals, run_state
from deltascf.corrections.losc import make_losc_correction

#: s8 block contraction against the dense s4 product (round-off of a sum over npair terms)
SANDWICH_ATOL = 1e-11


def _water(basis="6-31g"):
    return gto.M(atom="O 0 0 0; H 0 0.757 0.587; H 0 -0.757 0.587", basis=basis, verbose=0)


@pytest.mark.parametrize("block_rows", [1, 6, 10, 10_000])  # npair = 91: ragged last blocks too
def test_pair_sandwich_s8_equals_s4(monkeypatch, block_rows):
    mol = _water()
    eri4 = mol.intor("int2e", aosym="s4")
    eri8 = mol.intor("int2e", aosym="s8")
    npair = eri4.shape[0]
    monkeypatch.setattr(integrals, "SANDWICH_BLOCK_BYTES", 8 * npair * block_rows)
    d = np.random.default_rng(4).standard_normal((5, npair))
    ref = d @ eri4 @ d.T
    assert_allclose(integrals.make_pair_sandwich(eri8, d), ref, rtol=0, atol=SANDWICH_ATOL)
    assert_allclose(integrals.make_pair_sandwich(eri4, d), ref, rtol=0, atol=IDENTICAL)
    with pytest.raises(ValueError, match="do not match"):
        integrals.make_pair_sandwich(eri8[:-1], d)


def test_eri_computed_once_per_molecule_and_read_only():
    mol = _water("sto-3g")
    eri = integrals.get_eri(mol)
    assert integrals.get_eri(mol) is eri and not eri.flags.writeable
    assert_allclose(eri, mol.intor("int2e", aosym="s8"), rtol=0, atol=IDENTICAL)
    mol.basis = "6-31g"  # a rebuilt molecule gets new integrals
    mol.build()
    assert integrals.get_eri(mol).size == mol.intor("int2e", aosym="s8").size != eri.size


def test_eri_follow_a_new_geometry():
    mol = _water("sto-3g")
    eri = integrals.get_eri(mol)
    mol.set_geom_("O 0 0 0; H 0 0.8 0.6; H 0 -0.8 0.6")
    new = integrals.get_eri(mol)
    assert new is not eri and new.size == eri.size
    assert_allclose(new, mol.intor("int2e", aosym="s8"), rtol=0, atol=IDENTICAL)


def test_only_the_latest_molecule_is_kept():
    a, b = _water("sto-3g"), _water("sto-3g")
    eri_a = integrals.get_eri(a)
    integrals.get_eri(b)
    assert integrals.get_eri(a) is not eri_a  # evaluated again: b had replaced it
    integrals.release_eri()
    assert integrals.kept_molecule() is None
    integrals.get_eri(a)
    del a  # the ERIs go with their molecule
    assert integrals.kept_molecule() is None


def test_eri_not_kept_when_it_does_not_fit():
    mol = _water()
    mol.max_memory = 1  # MB
    assert integrals.get_eri(mol) is None


@pytest.fixture
def int2e_calls(monkeypatch):
    """The names of the two-electron integrals evaluated from now on."""
    calls = []
    intor = gto.Mole.intor

    def counting(self, name, *args, **kwargs):
        if name.startswith("int2e"):
            calls.append(name)
        return intor(self, name, *args, **kwargs)

    monkeypatch.setattr(gto.Mole, "intor", counting)
    return calls


def test_states_and_losc_share_one_eri_evaluation(int2e_calls):
    """Ground state, ΔSCF state and the exact-J LOSC curvature evaluate int2e once."""
    mol = _water()
    g = run_state(mol, "b3lyp")
    x = run_state(mol, "b3lyp", "a:HOMO->LUMO", ground=g)
    make_losc_correction(mol, x)
    assert int2e_calls == ["int2e"]
    assert x.converged and g.converged


def test_refused_request_evaluates_no_eri(int2e_calls):
    with pytest.raises(ValueError, match="closed-shell"):
        run_state(gto.M(atom="H 0 0 0; H 0 0 0.74", basis="sto-3g", charge=1, spin=1, verbose=0), "hf",
                  reference="rhf")
    assert int2e_calls == []


def test_density_fitted_scf_does_not_evaluate_eri(int2e_calls):
    assert run_state(_water(), "hf", density_fit="def2-universal-jkfit").converged
    assert int2e_calls == []

"""Collapse caught every time (theory §1.3): overlap, density and spectrum-plus-energy evidence.

The three cases of the spectrum-plus-energy test are electrons moved into an orbital degenerate with the one
they left.  The SCF rotates them back onto a component of the ground state: the density is not the aufbau one
on the reference orbitals, so the overlap tests pass, yet the state is aufbau in its own orbital energies and
has the ground-state energy.
"""
import numpy as np
import pytest
from pyscf import gto

from deltascf import run_state
from deltascf.records import Method
from deltascf.tracking import COLLAPSE_ENERGY_TOL, LOST_OVERLAP, is_aufbau_spectrum, make_collapse_reasons

#: (name, atoms, basis, spin, xc, reference, spec, tracking): states that converge onto the ground state
DEGENERATE_COLLAPSES = [
    # issue 12's case: boron 2p -> 3p; MOM lets the 2p electron rotate into another 2p orbital
    ("boron 2p->3p, MOM", "B 0 0 0", "aug-cc-pvtz", 1, "hf", "uhf", "a:2->7", "mom"),
    # OH radical: the beta pi electron moved into the other, degenerate pi orbital
    ("OH beta pi->pi'", "O 0 0 0; H 0 0 0.97", "6-31g", 1, "b3lyp", "uks", "b:HOMO->LUMO", "imom"),
    # carbon 3P: alpha 2p -> the empty 2p is the same term
    ("carbon 2p->2p'", "C 0 0 0", "aug-cc-pvdz", 2, "hf", "uhf", "a:HOMO->LUMO", "imom"),
]


@pytest.mark.parametrize("case", DEGENERATE_COLLAPSES, ids=[c[0] for c in DEGENERATE_COLLAPSES])
def test_collapse_onto_degenerate_ground_is_flagged(case):
    _, atom, basis, spin, xc, ref, spec, tracking = case
    mol = gto.M(atom=atom, basis=basis, spin=spin, verbose=0)
    g = run_state(mol, xc, "ground", reference=ref, tracking=tracking)
    r = run_state(mol, xc, spec, reference=ref, tracking=tracking, ground=g)
    assert r.converged
    # the old evidence alone misses it: the overlap with the target stays above the threshold
    assert r.target_overlap.min() > LOST_OVERLAP
    assert abs(r.e_tot - g.e_tot) < COLLAPSE_ENERGY_TOL
    assert r.collapsed
    assert "aufbau in its own orbital energies and at the energy of the ground state" in r.collapse_reason


def test_boron_imom_holds_the_excited_state():
    """The same boron state with IMOM stays excited (0.2195 Eh up) and is not flagged."""
    mol = gto.M(atom="B 0 0 0", basis="aug-cc-pvtz", spin=1, verbose=0)
    g = run_state(mol, "hf", "ground", reference="uhf")
    r = run_state(mol, "hf", "a:2->7", reference="uhf", tracking="imom", ground=g)
    assert r.converged and not r.collapsed and r.collapse_reason == ""
    assert r.e_tot - g.e_tot > 0.2
    assert not is_aufbau_spectrum(r.mo_energy, r.mo_occ)


def test_aufbau_spectrum_alone_is_not_a_collapse():
    """An excited state may be aufbau in its own orbital energies (aluminium's 3p -> Rydberg state): without
    the ground-state energy it is not flagged."""
    mol = gto.M(atom="Al 0 0 0", basis="aug-cc-pvdz", spin=1, verbose=0)
    g = run_state(mol, "hf", "ground", reference="uhf")
    r = run_state(mol, "hf", "a:HOMO->LUMO+3", reference="uhf", ground=g)
    assert r.converged and is_aufbau_spectrum(r.mo_energy, r.mo_occ)
    assert r.e_tot - g.e_tot > 0.1 and not r.collapsed


def test_ground_of_another_functional_is_no_energy_reference():
    """The energy evidence compares states of one functional: a HF ground state used as tracking reference of
    a B3LYP state gives no energy comparison."""
    from deltascf.scf.driver import _lower_states

    mol = gto.M(atom="O 0 0 0; H 0 0 0.97", basis="6-31g", spin=1, verbose=0)
    g = run_state(mol, "hf", "ground", reference="uhf")
    assert _lower_states(g, Method(xc="b3lyp")) == ()
    assert _lower_states(g, Method(xc="hf", tracking="mom"))[0][0] == "the ground state"


# -- the pure functions ---------------------------------------------------------------------------------------
def test_is_aufbau_spectrum():
    e = np.array([[-1.0, -0.5, 0.1, 0.3], [-1.0, -0.5, 0.1, 0.3]])
    assert is_aufbau_spectrum(e, np.array([[1, 1, 0, 0], [1, 0, 0, 0.0]]))
    assert not is_aufbau_spectrum(e, np.array([[1, 0, 1, 0], [1, 0, 0, 0.0]]))
    # fractional: occupations must not grow with energy; ties in energy may go either way
    assert is_aufbau_spectrum(e, np.array([[1, 0.5, 0.2, 0], [1, 0, 0, 0.0]]))
    assert not is_aufbau_spectrum(e, np.array([[1, 0.2, 0.5, 0], [1, 0, 0, 0.0]]))
    tie = np.array([-1.0, 0.2, 0.2, 0.5])
    assert is_aufbau_spectrum(tie, np.array([2, 0, 2, 0.0]))
    assert is_aufbau_spectrum(tie, np.array([2, 2, 0, 0.0]))  # restricted layout


def test_collapse_reasons():
    e, occ = np.array([[-1.0, 0.1], [-1.0, 0.1]]), np.array([[1.0, 0], [0.0, 0]])
    target = np.array([[0.0, 1], [0.0, 0]])
    lower = [("the ground state", -1.0, (1.0, 0.0))]
    assert make_collapse_reasons([0.9, 1.0], [0.5, 1.0], target, e, occ, -1.0 + 1e-7, (1.0, 0.0), lower)
    assert make_collapse_reasons([0.9, 1.0], [0.5, 1.0], target, e, occ, -0.9, (1.0, 0.0), lower) == ()
    # other electron counts: no comparison
    assert make_collapse_reasons([0.9, 1.0], [0.5, 1.0], target, e, occ, -1.0, (0.5, 0.0), lower) == ()
    # an aufbau target has no aufbau evidence at all
    assert make_collapse_reasons([0.9, 1.0], None, occ, e, occ, -1.0, (1.0, 0.0), lower) == ()
    (why,) = make_collapse_reasons([0.3, 1.0], None, occ, e, occ, -1.0, (1.0, 0.0), lower)
    assert why.startswith("overlap with the target 0.300")
    (why,) = make_collapse_reasons([0.9, 1.0], [0.95, 1.0], target, e, occ[::-1], -0.5, (1.0, 0.0), lower)
    assert why.startswith("closer to the aufbau density")

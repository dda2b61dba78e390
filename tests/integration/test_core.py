"""Core holes (theory §1.7): specs by atom and shell, the localized core block, binding energies, collapse."""
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from pyscf import gto
from tolerances import E_ATOL, LOOSE_EXACT_ATOL, ORB_ATOL

from deltascf import run_state
from deltascf.cli import main
from deltascf.core import core_shells, localize_core, make_nominal_core_map, resolve_on
from deltascf.occupations import Occupation, SpecError
from deltascf.spin import make_spin_dms

ACETYLENE = "C 0 0 0.6013; C 0 0 -0.6013; H 0 0 1.6644; H 0 0 -1.6644"
WATER = "O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692"
HARTREE2EV = 27.211386245988


@pytest.fixture(scope="module")
def acetylene():
    mol = gto.M(atom=ACETYLENE, basis={"C": "cc-pcvdz", "H": "cc-pvdz"}, verbose=0)
    return mol, run_state(mol, "b3lyp", "ground")


# -- specs ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, canonical", [
    ("core:O1s", "core:O1:1s"), ("core:C2:1s", "core:C2:1s"), ("b:core:O1s", "b:core:O1:1s"),
    ("CORE:o1S->LUMO", "core:O1:1s->LUMO"), ("core:Cl2p", "core:Cl1:2p"), ("core:O1s=0.5", "core:O1:1s=0.5"),
])
def test_core_spec_canonical_form_round_trips(spec, canonical):
    occ = Occupation.parse(spec)
    assert str(occ) == canonical and occ.has_core
    assert Occupation.parse(str(occ)) == occ


@pytest.mark.parametrize("spec, message", [
    ("core:", "expected a core orbital"), ("core:O", "expected a core orbital"), ("core:O0:1s", "count from 1"),
])
def test_bad_core_spec_syntax(spec, message):
    with pytest.raises(SpecError, match=message):
        Occupation.parse(spec)


def test_core_spec_resolution_and_refusals():
    mol = gto.M(atom="C 0 0 0; Cl 0 0 1.77; H 1 0 -0.4", basis="sto-3g", spin=0, charge=0, verbose=0)
    nominal = make_nominal_core_map(mol)
    assert list(nominal) == [("C", 1, "1s"), ("Cl", 1, "1s"), ("Cl", 1, "2s"), ("Cl", 1, "2p")]
    assert nominal[("Cl", 1, "2p")] == (3, 3)
    r = resolve_on(mol, Occupation.parse("core:Cl2s"), False)
    assert r.text == "a:2=0" and r.mo_occ[0, 2] == 0 and r.nelec[0] == r.nelec[1] - 1
    with pytest.raises(SpecError, match="no such core shell.*it has core:C1:1s, core:Cl1:1s"):
        resolve_on(mol, Occupation.parse("core:C2:1s"), False)
    with pytest.raises(SpecError, match="use reference uks/uhf"):
        resolve_on(mol, Occupation.parse("core:C1s"), True)
    with pytest.raises(SpecError, match="give the core map"):
        Occupation.parse("core:C1s").resolve(mol.nelec, mol.nao_nr(), False)
    assert core_shells(1) == [] and core_shells(8) == [(1, 0)] and core_shells(17) == [(1, 0), (2, 0), (2, 1)]


# -- the localized core block -------------------------------------------------------------------------------------
def test_localized_core_block_is_a_rotation_of_the_canonical_one(acetylene):
    """Same space, same ground density, orthonormal, each orbital on its named atom."""
    mol, g = acetylene
    c, e, core = localize_core(mol, np.array(g.mo_coeff), np.array(g.mo_energy), np.array(g.mo_occ))
    s1e = mol.intor("int1e_ovlp")
    assert core == {("C", 1, "1s"): (0, 0), ("C", 2, "1s"): (1, 1)}
    assert_allclose(make_spin_dms(c, g.mo_occ), make_spin_dms(np.array(g.mo_coeff), g.mo_occ), rtol=0,
                    atol=LOOSE_EXACT_ATOL)
    for s in range(2):
        assert_allclose(c[s].T @ s1e @ c[s], np.eye(c.shape[-1]), rtol=0, atol=LOOSE_EXACT_ATOL)
        for k, atom in enumerate((0, 1)):
            p0, p1 = mol.aoslice_by_atom()[atom][2:]
            assert c[s][p0:p1, k] @ (s1e @ c[s][:, k])[p0:p1] > 0.99  # Mulliken population on its atom
        # equivalent atoms: equal diagonal Fock energies (up to the DFT grid's broken symmetry, 7e-7 Eh), the
        # canonical ones outside the block untouched
        assert_allclose(e[s, 0], e[s, 1], rtol=0, atol=ORB_ATOL)
        assert_allclose(e[s, 2:], g.mo_energy[s, 2:], rtol=0, atol=0)


def test_equivalent_atoms_give_equal_localized_holes_below_the_delocalized_one():
    """Law (HF): by symmetry, a hole on either carbon has one energy, and it lies far below the hole in the
    delocalized σg core orbital, because the other electrons relax around a localized hole (Bagus & Schaefer).
    The hole sits on the named atom."""
    mol = gto.M(atom=ACETYLENE, basis="6-31g", verbose=0)
    g = run_state(mol, "hf", "ground")
    h1 = run_state(mol, "hf", "core:C1s", ground=g, conv_tol=1e-10)
    h2 = run_state(mol, "hf", "core:C2:1s", ground=g, conv_tol=1e-10)
    deloc = run_state(mol, "hf", "a:0=0", ground=g, conv_tol=1e-10)
    for r in (h1, h2, deloc):
        assert r.converged and not r.collapsed and r.degenerate == ""
    assert_allclose(h1.e_tot, h2.e_tot, rtol=0, atol=E_ATOL)
    assert (deloc.e_tot - h1.e_tot) * HARTREE2EV > 5.0
    s1e = mol.intor("int1e_ovlp")
    c_loc = localize_core(mol, np.array(g.mo_coeff), np.array(g.mo_energy), np.array(g.mo_occ))[0][0][:, :2]
    for r, empty in ((h1, 0), (h2, 1)):
        pops = np.einsum("mi,mn,nk,kl,li->i", c_loc, s1e, make_spin_dms(r.mo_coeff, r.mo_occ)[0], s1e, c_loc)
        assert pops[empty] < 0.1 and pops[1 - empty] > 0.9


def test_b3lyp_delocalization_error_favours_the_delocalized_hole(acetylene):
    """B3LYP reverses the HF order: half a hole on each carbon lies below the localized hole (4.5 eV here), the
    fractional-charge error of theory §2 acting on the core.  This is why core holes are localized before the
    SCF, not left to it."""
    mol, g = acetylene
    loc = run_state(mol, "b3lyp", "core:C1s", ground=g)
    deloc = run_state(mol, "b3lyp", "a:0=0", ground=g)
    assert loc.converged and deloc.converged and not loc.collapsed
    assert (loc.e_tot - deloc.e_tot) * HARTREE2EV > 2.0


def test_mom_loses_the_core_hole_and_the_record_says_so(acetylene):
    """MOM follows the previous iteration and lets the carbon 1s hole be filled from the valence; the orbital
    populations catch it.  IMOM keeps it (previous test)."""
    mol, g = acetylene
    r = run_state(mol, "b3lyp", "core:C1s", ground=g, tracking="mom")
    assert r.collapsed
    assert "emptied orbitals have regained" in r.collapse_reason or "kept by the target" in r.collapse_reason


# -- binding energies ---------------------------------------------------------------------------------------------
def test_binding_energy_cli_equals_api(tmp_path, capsys):
    xyz = tmp_path / "water.xyz"
    xyz.write_text("3\nwater\n" + "\n".join(WATER.split("; ")) + "\n")
    assert main(["run", str(xyz), "--basis", "6-31g", "--xc", "b3lyp", "--state", "core:O1s", "--json", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    mol = gto.M(atom=WATER, basis="6-31g", verbose=0)
    g = run_state(mol, "b3lyp", "ground")
    h = run_state(mol, "b3lyp", "core:O1s", ground=g)
    state = out["states"][1]
    assert state["spec"] == "core:O1:1s" and not state["collapsed"]
    assert_allclose(state["binding_energy_ev"], (h.e_tot - g.e_tot) * 27.21138602, rtol=0, atol=1e-6)
    assert "binding_energy_ev" not in out["states"][0]


@pytest.mark.parametrize("args, message", [
    (["--state", "core:N1s"], "no such core shell"),
    (["--state", "core:O1s", "--reference", "rks"], "use reference uks/uhf"),
    (["--state", "core:Ox"], "expected a core orbital"),
    (["--basis", "6-31g,O:"], "write one name per element"),
])
def test_bad_core_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    xyz = tmp_path / "water.xyz"
    xyz.write_text("3\nwater\n" + "\n".join(WATER.split("; ")) + "\n")
    base = ["run", str(xyz), "--xc", "b3lyp"] + ([] if "--basis" in args else ["--basis", "6-31g"])
    assert main(base + args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1

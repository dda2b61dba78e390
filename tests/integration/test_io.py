"""HDF5 study files: every record round-trips bit for bit; files are replaced atomically (design §8, §11)."""
import dataclasses
import hashlib
import os
from datetime import datetime

import h5py
import numpy as np
import pytest
from compare import assert_same
from pyscf import lib

import deltascf.io as dio
from deltascf import run_state
from deltascf.chempot import chemical_potentials
from deltascf.fractional import scan_charge
from deltascf.corrections.losc import LoscSettings, make_losc_correction, run_scf_losc
from deltascf.io import load, load_all, save

H_ATOM = "H 0 0 0"


def roundtrip(tmp_path, record, mol=None, **kw):
    path = tmp_path / "study.h5"
    save(path, record, mol=mol, **kw)
    loaded = load(path)
    assert_same(record, loaded)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.e_tot = 0.0
    return loaded


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def h_atom(make_mol):
    return make_mol(H_ATOM, "3-21g", spin=1)


@pytest.fixture(scope="module")
def water_excited(water_631g, water_b3lyp_ground):
    return run_state(water_631g, "b3lyp", "a:HOMO->LUMO", ground=water_b3lyp_ground)


@pytest.fixture(scope="module")
def h_scan(h_atom):
    return scan_charge(h_atom, "b3lyp", "ground", "remove:a:HOMO", deltas=[0, 0.5, 1])


@pytest.fixture(scope="module")
def h_table(h_atom):
    return chemical_potentials(h_atom, "hf", channels=["remove:a:HOMO"], reference="uhf")


# -- round trips ------------------------------------------------------------------------------
def test_roundtrip_unrestricted_excited_state(tmp_path, water_631g, water_excited):
    loaded = roundtrip(tmp_path, water_excited, water_631g)
    assert loaded.mo_coeff.shape[0] == 2 and loaded.spec == "a:HOMO->LUMO"


def test_roundtrip_restricted_state(tmp_path, water_631g):
    state = run_state(water_631g, "hf", "HOMO->LUMO", reference="rhf")
    loaded = roundtrip(tmp_path, state, water_631g)
    assert loaded.restricted and loaded.method.reference == "rhf"


def test_roundtrip_fractional_state(tmp_path, h_atom):
    state = run_state(h_atom, "b3lyp", "a:HOMO=0.5")
    loaded = roundtrip(tmp_path, state, h_atom)
    assert loaded.nelec == (0.5, 0.0)


def test_roundtrip_scan_scf(tmp_path, h_atom, h_scan):
    loaded = roundtrip(tmp_path, h_scan, h_atom)
    assert len(loaded.points) == 3 and loaded.corrections == () and loaded.method.correction is None
    assert loaded.converged.dtype == bool and loaded.orbitals.dtype == h_scan.orbitals.dtype


def test_roundtrip_scan_ensemble(tmp_path, h_atom):
    scan = scan_charge(h_atom, "b3lyp", "ground", "remove:a:HOMO", deltas=[0, 0.5, 1], mode="ensemble")
    loaded = roundtrip(tmp_path, scan, h_atom)
    assert len(loaded.points) == 2 and np.isnan(loaded.janak_residual)


def test_roundtrip_scan_losc(tmp_path, h_atom):
    scan = scan_charge(h_atom, "b3lyp", "ground", "remove:a:HOMO", deltas=[0, 0.5, 1], losc="post")
    loaded = roundtrip(tmp_path, scan, h_atom)
    assert len(loaded.corrections) == 3 and str(loaded.method.correction) == "losc:post"


def test_roundtrip_theorem_table(tmp_path, h_atom, h_table):
    loaded = roundtrip(tmp_path, h_table, h_atom)
    assert len(loaded.rows) == 1 and len(loaded.neighbours) == 1
    assert loaded.rows[0] == h_table.rows[0]  # TheoremRow keeps dataclass equality


def test_roundtrip_theorem_table_losc(tmp_path, h_atom):
    table = chemical_potentials(h_atom, "b3lyp", channels=["remove:a:HOMO"], losc="post")
    loaded = roundtrip(tmp_path, table, h_atom)
    assert len(loaded.corrections) == 2 and all(c.state is None for c in loaded.corrections)


@pytest.mark.parametrize("settings", [None, LoscSettings(window=(-40, 10), weights=(0.8, 0.2), kappa_coulomb="df",
                                                        auxbasis="6-31g", seed=3)], ids=["default", "window"])
def test_roundtrip_losc_post(tmp_path, water_631g, water_b3lyp_ground, settings):
    corr = make_losc_correction(water_631g, water_b3lyp_ground, settings)
    loaded = roundtrip(tmp_path, corr, water_631g)
    assert loaded.state is None and len(loaded.c_lo) == 2
    if settings is not None:  # the window drops the O 1s orbital: co_index starts at 1
        assert loaded.settings == settings and loaded.co_index[0][0] == 1


def test_roundtrip_losc_scf(tmp_path, water_631g, water_b3lyp_ground):
    corr = run_scf_losc(water_631g, water_b3lyp_ground)
    loaded = roundtrip(tmp_path, corr, water_631g)
    assert loaded.mode == "scf" and loaded.state is not None and not loaded.state.mo_coeff.flags.writeable


# -- the file ---------------------------------------------------------------------------------
def test_chkfile_load_mol_reads_the_molecule(tmp_path, water_631g, water_excited):
    path = tmp_path / "study.h5"
    save(path, water_excited, mol=water_631g)
    assert lib.chkfile.load_mol(str(path)).dumps() == water_631g.dumps()


def test_root_attributes_and_method(tmp_path, water_631g, water_excited):
    path = tmp_path / "study.h5"
    save(path, water_excited, mol=water_631g)
    with h5py.File(path, "r") as fh:
        attrs = dict(fh.attrs)
        method = fh["method"][()]
    assert attrs["schema_version"] == 1 and attrs["units"] == "hartree"
    assert attrs["deltascf_version"] == water_excited.versions["deltascf"]
    assert attrs["pyscf_version"] == water_excited.versions["pyscf"]
    assert datetime.fromisoformat(attrs["created"]).tzinfo is not None
    assert dio.json.loads(method) == water_excited.method.to_dict()


def test_several_records_in_one_file(tmp_path, h_atom, h_scan, h_table):
    path = tmp_path / "study.h5"
    ground = h_scan.points[-1]
    save(path, ground, mol=h_atom, label="ground")
    save(path, h_scan, mol=h_atom, label="ip")
    save(path, h_table, label="ip")  # same label, other kind; no mol: the stored one stays
    assert_same(ground, load(path, label="ground"))
    assert_same(h_scan, load(path, label="ip", kind="scans"))
    assert_same(h_table, load(path, "ip", kind="TheoremTable"))
    assert_same(h_table, load(path, kind="theorem"))
    with pytest.raises(ValueError, match="several records match"):
        load(path, label="ip")
    with pytest.raises(ValueError, match="several records match"):
        load(path)
    with pytest.raises(ValueError, match="no record matches"):
        load(path, label="excited")
    with pytest.raises(ValueError, match="unknown kind"):
        load(path, kind="spectra")
    everything = load_all(path)
    assert sorted(everything) == [("scans", "ip"), ("states", "ground"), ("theorem", "ip")]
    assert_same(h_table, everything["theorem", "ip"])
    assert lib.chkfile.load_mol(str(path)).dumps() == h_atom.dumps()


def test_existing_label_refused_unless_overwrite(tmp_path, h_atom, h_scan):
    path = tmp_path / "study.h5"
    first, last = h_scan.points[0], h_scan.points[-1]
    save(path, first, mol=h_atom, label="state")
    save(path, h_scan, mol=h_atom, label="state")  # another kind: allowed
    before = digest(path)
    with pytest.raises(ValueError, match="already holds states/state"):
        save(path, last, mol=h_atom, label="state")
    assert digest(path) == before
    save(path, last, mol=h_atom, label="state", overwrite=True)
    assert_same(last, load(path, "state", "states"))
    assert_same(h_scan, load(path, "state", "scans"))


def test_different_molecule_refused(tmp_path, h_atom, water_631g, h_scan):
    path = tmp_path / "study.h5"
    save(path, h_scan, mol=h_atom)
    with pytest.raises(ValueError, match="different molecule"):
        save(path, h_scan.points[0], mol=water_631g, label="other")


def test_newer_schema_refused(tmp_path, h_atom, h_scan):
    path = tmp_path / "study.h5"
    save(path, h_scan, mol=h_atom)
    with h5py.File(path, "r+") as fh:
        fh.attrs["schema_version"] = 2
    with pytest.raises(ValueError, match="schema_version 2, newer"):
        load(path)
    with pytest.raises(ValueError, match="schema_version 2, newer"):
        save(path, h_scan.points[0], label="other")


def test_missing_and_foreign_files(tmp_path, h_scan):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load(tmp_path / "absent.h5")
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5\n")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        load(text)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as fh:
        fh["x"] = np.arange(3)
    with pytest.raises(ValueError, match="not a deltascf file"):
        load(foreign)
    with pytest.raises(ValueError, match="not a deltascf file"):
        save(foreign, h_scan)
    with pytest.raises(TypeError, match="not dict"):
        save(tmp_path / "new.h5", {"e_tot": 1.0})
    with pytest.raises(ValueError, match="label"):
        save(tmp_path / "new.h5", h_scan, label="a/b")
    assert not (tmp_path / "new.h5").exists()


def _fail_after(monkeypatch, n):
    """Make HDF5 raise after ``n`` datasets and attributes have been written (a crash mid-write)."""
    calls = []

    def flaky(real):
        def write(obj, name, *args, **kwargs):
            if len(calls) >= n:
                raise RuntimeError("simulated crash")
            calls.append(name)
            return real(obj, name, *args, **kwargs)
        return write

    monkeypatch.setattr(h5py.Group, "create_dataset", flaky(h5py.Group.create_dataset))
    monkeypatch.setattr(h5py.AttributeManager, "__setitem__", flaky(h5py.AttributeManager.__setitem__))
    return calls


def test_interrupted_save_leaves_file_intact(tmp_path, monkeypatch, h_atom, h_scan):
    path = tmp_path / "study.h5"
    save(path, h_scan.points[0], mol=h_atom, label="first")
    before, listing = digest(path), sorted(os.listdir(tmp_path))
    calls = _fail_after(monkeypatch, 40)  # inside the nested points of the scan
    with pytest.raises(RuntimeError, match="simulated crash"):
        save(path, h_scan, mol=h_atom, label="scan")
    assert len(calls) == 40 and "mo_coeff" in calls
    with pytest.raises(RuntimeError, match="simulated crash"):
        save(path, h_scan.points[1], label="first", overwrite=True)
    assert digest(path) == before and sorted(os.listdir(tmp_path)) == listing
    monkeypatch.undo()
    assert list(load_all(path)) == [("states", "first")]
    assert_same(h_scan.points[0], load(path))


def test_interrupted_save_of_new_file_leaves_nothing(tmp_path, monkeypatch, h_scan):
    _fail_after(monkeypatch, 3)
    with pytest.raises(RuntimeError, match="simulated crash"):
        save(tmp_path / "study.h5", h_scan)
    assert os.listdir(tmp_path) == []

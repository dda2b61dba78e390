"""Records: pickling, the inputs of a task and their key, Method's defaults and checks, the keyword shim,
provenance (design §4, §11 "two routes, one number").

Tiny systems only: the H atom in 3-21G, H2+ and water in STO-3G; about 3 s on an idle machine.
"""
import copy
import dataclasses
import inspect
import json
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
from compare import assert_same
import pytest
import pyscf
from pyscf import gto

import deltascf
from deltascf import (ChargeScan, Correction, Method, Molecule, Provenance, ScanJob, ScfResult, StatesJob, StateSet,
                      Task, TheoremJob, TheoremTable, run_state, run_states)
from deltascf.chempot import chemical_potentials
from deltascf.corrections.losc import LoscResult, LoscSettings, run_scf_losc
from deltascf.fractional import scan_charge
from deltascf.records import DEFAULT_POINTS, N_VIRTUAL, REFERENCES, TRACKINGS
from deltascf.settings import option_info
from deltascf.scf import make_method
from tolerances import E_ATOL, GEOM_ATOL

REPO = Path(__file__).resolve().parents[2]
H_ATOM = "H 0 0 0"
WATER = "O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587"
#: non-default LOSC settings (window in eV, density-fitted Coulomb part of κ)
LOSC_WINDOW = LoscSettings(window=(-30, 10), kappa_coulomb="df", auxbasis="6-31g")


def assert_frozen(record, where="record"):
    """Every record in the tree refuses field assignment; every array in it is read-only."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        fields = dataclasses.fields(record)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, fields[0].name, getattr(record, fields[0].name))
        for f in fields:
            assert_frozen(getattr(record, f.name), f"{where}.{f.name}")
    elif isinstance(record, np.ndarray):
        assert not record.flags.writeable, f"{where} is writeable"
        with pytest.raises(ValueError, match="read-only"):
            record.flat[0] = 0
    elif isinstance(record, (tuple, list)):
        for k, item in enumerate(record):
            assert_frozen(item, f"{where}[{k}]")


def pickled(obj):
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def walk_states(record):
    """Every ScfResult inside a result record (itself included)."""
    if isinstance(record, ScfResult):
        yield record
    elif dataclasses.is_dataclass(record) and not isinstance(record, type):
        for f in dataclasses.fields(record):
            yield from walk_states(getattr(record, f.name))
    elif isinstance(record, (tuple, list)):
        for item in record:
            yield from walk_states(item)


# -- fixtures: one record of each kind -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def h_atom(make_mol):
    return make_mol(H_ATOM, "3-21g", spin=1)


@pytest.fixture(scope="module")
def water(make_mol):
    return make_mol(WATER, "sto-3g")


@pytest.fixture(scope="module")
def records(h_atom, water):
    """The records of every driver, built once: {name: (record, molecule)}."""
    state_set = run_states(water, "b3lyp", ["a:HOMO->LUMO"], losc="post")
    return {
        "restricted_state": (run_state(water, "hf", "HOMO->LUMO", reference="rhf"), water),
        "fractional_state": (run_state(h_atom, "b3lyp", "a:HOMO=0.5"), h_atom),
        "scan_losc": (scan_charge(h_atom, "b3lyp", "ground", "remove:a:HOMO", deltas=[0, 0.5, 1], losc="post"),
                      h_atom),
        "theorem_table": (chemical_potentials(h_atom, "hf", channels=["remove:a:HOMO"], reference="uhf"), h_atom),
        "state_set": (state_set, water),
        "losc_scf": (run_scf_losc(water, state_set.ground), water),
    }


RECORD_NAMES = ["restricted_state", "fractional_state", "scan_losc", "theorem_table", "state_set", "losc_scf"]


# -- 1. result records pickle and deep-copy through their constructor --------------------------------------------
def test_records_are_what_the_round_trips_need(records):
    """The fixtures cover every result kind: restricted and fractional states, LOSC post (scan) and scf."""
    r, frac = records["restricted_state"][0], records["fractional_state"][0]
    assert isinstance(r, ScfResult) and r.restricted and r.mo_coeff.ndim == 2 and r.converged
    assert isinstance(frac, ScfResult) and not frac.restricted and frac.nelec == (0.5, 0.0) and frac.converged
    scan = records["scan_losc"][0]
    assert isinstance(scan, ChargeScan) and len(scan.points) == 3 and scan.delta.tolist() == [0.0, 0.5, 1.0]
    assert len(scan.corrections) == 3 and all(isinstance(c, LoscResult) and c.mode == "post"
                                              for c in scan.corrections)
    assert isinstance(records["theorem_table"][0], TheoremTable) and len(records["theorem_table"][0].rows) == 1
    ss = records["state_set"][0]
    assert isinstance(ss, StateSet) and ss.labels == ("ground", "state1") and len(ss.corrections) == 2
    losc = records["losc_scf"][0]
    assert isinstance(losc, LoscResult) and losc.mode == "scf" and isinstance(losc.state, ScfResult)


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_result_records_pickle_bit_for_bit_and_frozen(records, name):
    record = records[name][0]
    blob = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
    loaded = pickle.loads(blob)
    assert_same(record, loaded)
    assert_frozen(loaded)
    assert_frozen(record)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(loaded, dataclasses.fields(loaded)[-1].name, None)
    assert_same(record, pickled(loaded))  # a second trip changes nothing


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_result_records_deepcopy_bit_for_bit_and_frozen(records, name):
    record = records[name][0]
    copied = copy.deepcopy(record)
    assert copied is not record
    assert_same(record, copied)
    assert_frozen(copied)


def test_unpickled_record_arrays_are_read_only_even_when_built_from_writeable_ones(records):
    """Pickling goes through the constructor: NumPy alone would hand back writeable arrays (design §4)."""
    state = records["fractional_state"][0]
    raw = pickle.loads(pickle.dumps(np.array(state.mo_coeff), protocol=pickle.HIGHEST_PROTOCOL))
    assert raw.flags.writeable  # what a plain array does
    fields = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    fields["mo_coeff"] = np.array(state.mo_coeff)  # writeable input
    rebuilt = ScfResult(**fields)
    assert not rebuilt.mo_coeff.flags.writeable and not pickled(rebuilt).mo_coeff.flags.writeable


# -- 2. the inputs of a task -----------------------------------------------------------------------------------
#: run here and in a fresh interpreter: the tasks whose keys must agree between processes
TASK_SOURCE = '''
from deltascf import Correction, Method, Molecule, ScanJob, StatesJob, Task, TheoremJob
from deltascf.corrections.losc import LoscSettings

water = Molecule(atom=[("O", (0, 0, 0)), ("H", (0, -0.757, 0.587)), ("H", (0, 0.757, 0.587))], basis="sto-3g")
h_atom = Molecule(atom=[("H", (0.0, 0.0, 0.0))], basis="3-21g", spin=1)
methods = {
    "default": Method(),
    "losc": Method(xc="pbe0", reference="uks", correction="losc"),
    "losc_window": Method(xc="b3lyp", reference="rks", grid_level=2, conv_tol=1e-10,
                          correction=Correction("losc", "scf", LoscSettings(window=(-30, 10), kappa_coulomb="df",
                                                                            auxbasis="6-31g"))),
}
jobs = {
    "states": StatesJob(["a:HOMO->LUMO", "a:HOMO=0.5"]),
    "scan": ScanJob("remove:a:HOMO", deltas=[0, 0.25, 0.5, 1], mode="scf"),
    "theorem": TheoremJob(channels=["remove:a:HOMO", "add:b:LUMO"], n_virtual=2),
}
tasks = {f"{m}/{j}": Task(water if j != "scan" else h_atom, methods[m], jobs[j]) for m in methods for j in jobs}
keys = {name: task.key for name, task in tasks.items()}
'''


def make_tasks() -> dict:
    namespace = {}
    exec(TASK_SOURCE, namespace)
    return namespace


@pytest.fixture(scope="module")
def task_inputs():
    return make_tasks()


def test_task_inputs_pickle_and_deepcopy_equal(task_inputs):
    ns = task_inputs
    objects = [ns["water"], ns["h_atom"], *ns["methods"].values(), *ns["jobs"].values(), *ns["tasks"].values(),
               ns["methods"]["losc_window"].correction, LOSC_WINDOW]
    for obj in objects:
        for loaded in (pickled(obj), copy.deepcopy(obj)):
            assert type(loaded) is type(obj) and loaded == obj and hash(loaded) == hash(obj), obj
            assert_same(obj, loaded)
            assert_frozen(loaded)
    method = pickled(ns["methods"]["losc_window"])
    assert method.correction.settings == LOSC_WINDOW and method.correction.settings.window == (-30.0, 10.0)
    assert method.correction.mode == "scf" and method.reference == "rks"


def test_task_inputs_are_normalized(task_inputs):
    ns = task_inputs
    assert ns["water"].atom[1] == ("H", (0.0, -0.757, 0.587)) and isinstance(ns["water"].atom[0][1][0], float)
    assert ns["jobs"]["scan"].deltas == (0.0, 0.25, 0.5, 1.0)
    assert ns["jobs"]["theorem"].channels == ("remove:a:HOMO", "add:b:LUMO")
    assert StatesJob("a:HOMO->LUMO").specs == ("a:HOMO->LUMO",)
    assert ScanJob("add:a:LUMO").points == DEFAULT_POINTS and TheoremJob().n_virtual == N_VIRTUAL
    assert [t.command for t in ns["tasks"].values()][:3] == ["run", "scan", "chempot"]


def test_task_key_equal_for_equal_inputs(task_inputs):
    ns = task_inputs
    keys = ns["keys"]
    assert all(len(k) == 12 and int(k, 16) >= 0 for k in keys.values())
    assert len(set(keys.values())) == len(keys)  # nine different tasks, nine keys
    again = make_tasks()["keys"]
    assert again == keys
    for name, task in ns["tasks"].items():
        assert pickled(task).key == keys[name] and copy.deepcopy(task).key == keys[name]
    # the same inputs written differently: ints for floats, lists for tuples, upper case, whitespace
    water = Molecule(atom=(("O", [0.0, 0.0, 0.0]), ("H", [0, -0.757, 0.587]), ("H", [0, 0.757, 0.587])),
                     basis=" sto-3g ")
    method = Method(xc=" B3LYP", reference="RKS", tracking="IMOM", grid_level=2, conv_tol=1e-10, correction=Correction(
        "LOSC", "SCF", {"window": [-30.0, 10.0], "kappa_coulomb": "df", "auxbasis": "6-31g"}))
    job = TheoremJob("ground", ("remove:a:HOMO", "add:b:LUMO"), 2)
    assert Task(water, method, job) == ns["tasks"]["losc_window/theorem"]
    assert Task(water, method, job).key == keys["losc_window/theorem"]
    h_atom = Molecule(atom=[["H", [0, 0, 0]]], basis="3-21g", charge=0, spin=1)
    scan = Task(h_atom, Method(xc="pbe0", correction="losc:post"), ScanJob("remove:a:HOMO", "ground",
                                                                           np.array([0, 0.25, 0.5, 1])))
    assert scan.key == keys["losc/scan"]


def test_task_key_changes_with_every_input(task_inputs):
    base = task_inputs["tasks"]["losc_window/scan"]
    mol, method, job = base.molecule, base.method, base.job
    moved = ((mol.atom[0][0], (0.0, 0.0, 1e-6)),)
    variants = {
        "xc": Task(mol, dataclasses.replace(method, xc="pbe0"), job),
        "reference": Task(mol, dataclasses.replace(method, reference="uks"), job),
        "grid_level": Task(mol, dataclasses.replace(method, grid_level=3), job),
        "conv_tol": Task(mol, dataclasses.replace(method, conv_tol=1e-9), job),
        "no correction": Task(mol, method.base, job),
        "correction mode": Task(mol, dataclasses.replace(method, correction=Correction(
            "losc", "post", method.correction.settings)), job),
        "losc window": Task(mol, dataclasses.replace(method, correction=Correction(
            "losc", "scf", dataclasses.replace(method.correction.settings, window=(-30.0, 11.0)))), job),
        "basis": Task(dataclasses.replace(mol, basis="sto-3g"), method, job),
        "coordinate": Task(dataclasses.replace(mol, atom=moved), method, job),
        "charge": Task(dataclasses.replace(mol, charge=1, spin=0), method, job),
        "channel": Task(mol, method, dataclasses.replace(job, channel="add:b:LUMO")),
        "state": Task(mol, method, dataclasses.replace(job, state="a:HOMO=0.5")),
        "deltas": Task(mol, method, dataclasses.replace(job, deltas=(0.0, 0.5, 1.0))),
        "points": Task(mol, method, ScanJob("remove:a:HOMO", points=5)),
        "mode": Task(mol, method, dataclasses.replace(job, mode="ensemble")),
        "command": Task(mol, method, TheoremJob()),
    }
    keys = {name: task.key for name, task in variants.items()}
    for name, key in keys.items():
        assert key != base.key, name
    assert len(set(keys.values())) == len(keys)
    # specs of a run
    run = task_inputs["tasks"]["default/states"]
    assert Task(run.molecule, run.method, StatesJob(["a:HOMO->LUMO"])).key != run.key
    assert Task(run.molecule, run.method, StatesJob(["a:HOMO->LUMO", "a:HOMO=0.4"])).key != run.key


def test_task_key_is_the_same_in_a_fresh_process(task_inputs):
    code = TASK_SOURCE + "\nimport json\nprint(json.dumps(keys, sort_keys=True))\n"
    env = dict(os.environ, PYTHONHASHSEED="12345", OMP_NUM_THREADS="1")  # another str hash seed than ours
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                         timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == task_inputs["keys"]


def test_task_key_same_for_negative_zero_coordinate():
    plus = Molecule(atom=[("H", (0.0, 0.0, 0.0)), ("H", (0.0, 0.0, 0.74))], basis="sto-3g")
    minus = Molecule(atom=[("H", (0.0, 0.0, -0.0)), ("H", (0.0, 0.0, 0.74))], basis="sto-3g")
    assert plus == minus
    assert Task(plus, Method(), StatesJob()).key == Task(minus, Method(), StatesJob()).key


# -- 3. Method: defaults, normalization, checks --------------------------------------------------------------
def test_method_defaults():
    m = Method()
    assert m.to_dict() == {"xc": "b3lyp", "reference": "uks", "tracking": "imom", "density_fit": None,
                           "grid_level": None, "conv_tol": 1e-9, "conv_tol_grad": None, "max_cycle": 100,
                           "correction": None}
    assert type(m.conv_tol) is float and type(m.max_cycle) is int
    assert not m.restricted and not m.is_hf
    assert option_info(Method, "reference").choices == REFERENCES
    assert option_info(Method, "tracking").choices == TRACKINGS
    # solver and device are left out of to_dict at their defaults, so keys of studies written before they existed
    # stay valid
    assert {f.name: f.default for f in dataclasses.fields(Method)} == {**Method().to_dict(), "solver": "diis",
                                                                         "device": "cpu"}


def test_drivers_take_their_defaults_from_method_and_the_jobs(h_atom):
    """No driver keeps a default of its own for a Method field; δ points and n_virtual come from the jobs."""
    method_fields = {f.name for f in dataclasses.fields(Method)}
    drivers = [run_state, run_states, scan_charge, chemical_potentials]
    for driver in drivers:
        params = inspect.signature(driver).parameters
        assert params["xc"].default is None and params["method"].default is None, driver.__name__
        assert not (method_fields - {"xc"}) & set(params), driver.__name__
        assert any(p.kind is p.VAR_KEYWORD for p in params.values()), driver.__name__
    assert inspect.signature(scan_charge).parameters["points"].default == ScanJob.__dataclass_fields__[
        "points"].default == DEFAULT_POINTS
    assert inspect.signature(chemical_potentials).parameters["n_virtual"].default == TheoremJob.__dataclass_fields__[
        "n_virtual"].default == N_VIRTUAL
    assert make_method() == Method()
    state = run_state(h_atom, reference="uhf", max_cycle=50)  # xc not given: Method's default
    assert state.method == Method(reference="uhf", max_cycle=50) and state.method.xc == "b3lyp"


def test_method_normalization():
    m = Method(xc="  B3LYP ", reference="UKS", tracking=" MOM", conv_tol=np.float32(0.5) / 1024,
               max_cycle=np.int64(7), grid_level=2)
    assert (m.xc, m.reference, m.tracking) == ("b3lyp", "uks", "mom")
    assert type(m.conv_tol) is float and m.conv_tol == 0.5 / 1024 and type(m.max_cycle) is int and m.max_cycle == 7
    assert type(Method(grid_level=2, max_cycle=3).max_cycle) is int
    explicit = Method(correction=Correction("losc", "scf", LoscSettings()))
    short = Method(correction="losc:scf")
    assert short.correction == Correction("losc", "scf", LoscSettings()) and short == explicit
    assert Method(correction=" LOSC : SCF ") == explicit
    assert Method(correction="losc").correction == Correction("losc", "post", LoscSettings())
    assert Method(correction={"name": "losc", "mode": "scf"}) == explicit
    assert str(short.correction) == "losc:scf"
    assert Method(xc="HF", reference="RHF").is_hf and Method(xc="hf", reference="rhf").restricted


@pytest.mark.parametrize("kw, field", [
    ({"grid_level": 10}, "grid_level"),
    ({"grid_level": -1}, "grid_level"),
    ({"grid_level": 2.0}, "grid_level"),
    ({"conv_tol": -1}, "conv_tol"),
    ({"conv_tol": 1}, "conv_tol"),  # looser than 1 mEh is not a converged SCF
    ({"conv_tol_grad": 0.5}, "conv_tol_grad"),
    ({"conv_tol": 0}, "conv_tol"),
    ({"conv_tol": float("nan")}, "conv_tol"),
    ({"conv_tol": float("inf")}, "conv_tol"),
    ({"conv_tol": "1e-9"}, "conv_tol"),
    ({"conv_tol": True}, "conv_tol"),
    ({"conv_tol_grad": -1e-5}, "conv_tol_grad"),
    ({"max_cycle": 0}, "max_cycle"),
    ({"max_cycle": 1.5}, "max_cycle"),
    ({"max_cycle": True}, "max_cycle"),
    ({"reference": "ghf"}, "reference"),
    ({"reference": ""}, "reference"),
    ({"tracking": "x"}, "tracking"),
    ({"xc": ""}, "xc"),
    ({"xc": 3}, "xc"),
    ({"density_fit": "  "}, "density_fit"),
    ({"correction": "gsc9"}, "correction"),
    ({"correction": "losc:both"}, "correction mode"),
    ({"correction": {"name": "losc", "mode": "both"}}, "correction mode"),
])
def test_method_refuses_bad_values_naming_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        Method(**kw)


def test_correction_refuses_bad_values():
    with pytest.raises(ValueError, match="correction mode"):
        Correction("losc", "both")
    with pytest.raises(ValueError, match="unknown correction 'gsc9'"):
        Correction("gsc9")
    with pytest.raises(ValueError, match="unknown correction"):
        Correction.parse("gsc9:scf")
    with pytest.raises(TypeError, match="LoscSettings"):
        Correction("losc", "post", {"window": (-30, 10)}.items())
    with pytest.raises(TypeError, match="correction must be a string"):
        Method(correction=3)
    with pytest.raises(ValueError, match="LOSC window"):
        LoscSettings(window=(10, -30))
    with pytest.raises(ValueError, match="auxbasis"):
        LoscSettings(kappa_coulomb="df")


@pytest.mark.parametrize("field", ["xc", "reference", "tracking", "conv_tol", "max_cycle"])
def test_method_refuses_none_for_required_fields(field):
    with pytest.raises(ValueError, match=field):
        Method(**{field: None})


@pytest.mark.parametrize("method", [
    Method(),
    Method(xc="pbe0", reference="rks", tracking="mom", density_fit="def2-universal-jkfit", grid_level=4,
           conv_tol=1e-11, conv_tol_grad=1e-6, max_cycle=7),
    Method(correction="losc"),
    Method(correction=Correction("losc", "scf", LOSC_WINDOW)),
    Method(correction=Correction("losc", "post", LoscSettings(window=(-40, 10), weights=(0.8, 0.2), seed=3,
                                                              curvature=1, grid_level=1))),
], ids=["default", "all fields", "losc", "losc scf window df", "losc weights"])
def test_method_dict_round_trip(method):
    d = method.to_dict()
    assert Method.from_dict(d) == method
    through_json = json.loads(json.dumps(d))  # tuples become lists on the way
    back = Method.from_dict(through_json)
    assert back == method and hash(back) == hash(method)
    assert_same(method, back)
    if method.correction is not None:
        assert d["correction"]["name"] == "losc" and isinstance(back.correction.settings, LoscSettings)
        assert back.correction.settings == method.correction.settings


def test_method_base_drops_the_correction():
    m = Method(xc="pbe0", reference="rks", grid_level=2, correction=Correction("losc", "scf", LOSC_WINDOW))
    assert m.base == Method(xc="pbe0", reference="rks", grid_level=2)
    assert m.base.correction is None and m.correction is not None  # m itself unchanged
    assert m.base.base == m.base and Method().base == Method()


# -- 4. the keyword shim ---------------------------------------------------------------------------------------
def test_make_method_builds_a_method_from_keywords():
    assert make_method(None, "hf", reference="uhf", conv_tol=1e-8) == Method(xc="hf", reference="uhf",
                                                                            conv_tol=1e-8)
    assert make_method(xc="PBE0", tracking="mom") == Method(xc="pbe0", tracking="mom")
    given = Method(xc="hf")
    assert make_method(given) is given and make_method(method=given) is given
    with pytest.raises(ValueError, match="reference"):
        make_method(reference="ghf")


def test_make_method_turns_losc_keywords_into_a_correction():
    m = make_method(None, "b3lyp", losc="post", losc_settings=LOSC_WINDOW)
    assert m.correction == Correction("losc", "post", LOSC_WINDOW)
    assert m == Method(xc="b3lyp", correction=Correction("losc", "post", LOSC_WINDOW))
    assert make_method(losc="scf") == Method(correction="losc:scf")
    assert make_method(losc="SCF") == Method(correction="losc:scf")
    assert make_method(correction="losc:scf") == Method(correction="losc:scf")


def test_make_method_refusals():
    m = Method()
    with pytest.raises(TypeError, match="either method= or"):
        make_method(m, "hf")
    with pytest.raises(TypeError, match="either method= or"):
        make_method(method=m, reference="uhf")
    with pytest.raises(TypeError, match="either method= or"):
        make_method(method=m, losc="post")
    with pytest.raises(TypeError, match="bogus, frobnicate"):
        make_method(xc="hf", frobnicate=1, bogus=2)
    with pytest.raises(TypeError, match="unexpected keyword argument.*losc_window"):
        make_method(losc_window=(-30, 10))
    with pytest.raises(ValueError, match="losc_settings needs losc"):
        make_method(losc_settings=LoscSettings())
    with pytest.raises(TypeError, match="correction= or the older losc="):
        make_method(losc="post", correction="losc:scf")
    with pytest.raises(TypeError, match="deltascf.Method"):
        make_method(method="b3lyp")


def test_drivers_refuse_mixed_or_unknown_settings_before_any_scf(h_atom):
    with pytest.raises(TypeError, match="either method= or"):
        run_state(h_atom, "hf", method=Method(xc="hf"))
    with pytest.raises(TypeError, match="bogus"):
        run_state(h_atom, "hf", bogus=1)
    with pytest.raises(TypeError, match="either method= or"):
        scan_charge(h_atom, channel="remove:a:HOMO", method=Method(xc="hf"), reference="uhf")
    with pytest.raises(TypeError, match="either method= or"):
        chemical_potentials(h_atom, method=Method(xc="hf"), losc="post")
    with pytest.raises(TypeError, match="bogus"):
        run_states(h_atom, "hf", bogus=1)


def test_run_state_keywords_and_method_give_the_same_state(water):
    by_keywords = run_state(water, "hf", reference="uhf")
    by_method = run_state(water, method=Method(xc="hf", reference="uhf"))
    assert by_keywords.method == by_method.method == Method(xc="hf", reference="uhf")
    assert by_keywords.converged and by_method.converged
    np.testing.assert_allclose(by_keywords.e_tot, by_method.e_tot, rtol=0, atol=E_ATOL)


def test_run_state_with_a_corrected_method_returns_the_parent_functional(h_atom):
    corrected = Method(xc="hf", reference="uhf", correction=Correction("losc", "scf", LOSC_WINDOW))
    state = run_state(h_atom, method=corrected)
    assert state.method == corrected.base
    plain = run_state(h_atom, "hf", reference="uhf", losc="scf", losc_settings=LOSC_WINDOW)
    assert plain.method == corrected.base
    np.testing.assert_allclose(state.e_tot, plain.e_tot, rtol=0, atol=E_ATOL)


def test_chemical_potentials_keywords_and_method_agree(h_atom, records):
    by_keywords = records["theorem_table"][0]
    by_method = chemical_potentials(h_atom, method=Method(xc="hf", reference="uhf"), channels=["remove:a:HOMO"])
    assert by_method.method == by_keywords.method == Method(xc="hf", reference="uhf")
    np.testing.assert_allclose(by_method.e_tot, by_keywords.e_tot, rtol=0, atol=E_ATOL)
    np.testing.assert_allclose([r.mu for r in by_method.rows], [r.mu for r in by_keywords.rows], rtol=0,
                               atol=E_ATOL)


def test_scan_losc_keywords_and_method_agree(h_atom, records):
    by_keywords = records["scan_losc"][0]
    by_method = scan_charge(h_atom, state="ground", channel="remove:a:HOMO", deltas=[0, 0.5, 1],
                            method=Method(correction="losc:post"))
    assert by_method.method == by_keywords.method == Method(correction=Correction("losc", "post"))
    np.testing.assert_allclose(by_method.e_tot, by_keywords.e_tot, rtol=0, atol=E_ATOL)
    np.testing.assert_allclose(by_method.e_dfa, by_keywords.e_dfa, rtol=0, atol=E_ATOL)


# -- 5. provenance ---------------------------------------------------------------------------------------------
def assert_provenance_of(provenance, mol, where):
    assert isinstance(provenance, Provenance), where
    assert provenance.deltascf == deltascf.__version__, where
    assert provenance.pyscf == pyscf.__version__, where
    assert provenance.versions == {"deltascf": deltascf.__version__, "pyscf": pyscf.__version__}, where
    inputs = json.loads(provenance.molecule)
    assert [a[0] for a in inputs["atom"]] == [mol.atom_symbol(i) for i in range(mol.natm)], where
    np.testing.assert_allclose([a[1] for a in inputs["atom"]], mol.atom_coords(unit="Angstrom"), rtol=0,
                               atol=GEOM_ATOL, err_msg=where)
    assert inputs["unit"] == "Angstrom", where
    assert inputs["basis"] == mol.basis and inputs["charge"] == mol.charge and inputs["spin"] == mol.spin, where
    return inputs


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_driver_records_carry_provenance(records, name):
    record, mol = records[name]
    if not isinstance(record, LoscResult):  # a correction record has no provenance; its scf state does
        assert_provenance_of(record.provenance, mol, name)
    states = list(walk_states(record))
    assert states, name
    for k, state in enumerate(states):
        assert_provenance_of(state.provenance, mol, f"{name} state {k}")
        assert state.versions == {"deltascf": deltascf.__version__, "pyscf": pyscf.__version__}
        assert isinstance(state.versions, dict)
    assert_same(record, pickled(record))  # provenance round-trips with the rest


def test_provenance_of_a_charged_molecule_given_in_bohr(make_mol):
    mol = make_mol("H 0 0 0; H 0 0 1.4", "sto-3g", charge=1, spin=1, unit="Bohr")
    state = run_state(mol, "hf", reference="uhf")
    inputs = assert_provenance_of(state.provenance, mol, "H2+")
    assert inputs["charge"] == 1 and inputs["spin"] == 1
    assert math.isclose(inputs["atom"][1][1][2], 1.4 * pyscf.lib.param.BOHR, abs_tol=GEOM_ATOL)
    rebuilt = gto.M(**inputs, verbose=0)  # enough to build the molecule again
    np.testing.assert_allclose(rebuilt.atom_coords(), mol.atom_coords(), rtol=0, atol=GEOM_ATOL)
    assert (rebuilt.charge, rebuilt.spin, rebuilt.nao_nr()) == (mol.charge, mol.spin, mol.nao_nr())


def test_versions_without_provenance_is_empty(records):
    state = records["fractional_state"][0]
    bare = dataclasses.replace(state, provenance=None)
    assert bare.versions == {} and pickled(bare).provenance is None

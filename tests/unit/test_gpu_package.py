"""deltascf.gpu on a machine without a GPU: availability, refusal, the device setting, and where CuPy may be
imported.  The device itself is tested in tests/integration/test_gpu.py (marked gpu, skipped here)."""
import ast
import dataclasses
import importlib.abc
import importlib.machinery
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import deltascf
from deltascf import gpu
from deltascf.records import GPU_AUXBASIS, Method

PACKAGE = Path(deltascf.__file__).resolve().parent
DEVICE_MODULES = ("cupy", "gpu4pyscf", "cupyx")


@pytest.fixture
def fresh_check():
    """why_unavailable asked again, before and after the test (its answer is cached per process)."""
    gpu.why_unavailable.cache_clear()
    yield
    gpu.why_unavailable.cache_clear()


def fake_cupy(count=None, error=None):
    mod = types.ModuleType("cupy")

    def get_device_count():
        if error is not None:
            raise error
        return count

    mod.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=get_device_count))
    return mod


class FailingImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes ``import name`` raise ``error`` (a CUDA library that does not load)."""

    def __init__(self, name, error):
        self.name, self.error = name, error

    def find_spec(self, fullname, path=None, target=None):
        return importlib.machinery.ModuleSpec(fullname, self) if fullname == self.name else None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise self.error


LIBCUSOLVER = OSError("Unable to load libcusolver")


@pytest.mark.parametrize("case,modules,fragment", [
    ("no cupy", {"cupy": None}, "CuPy is not installed"),
    ("cupy fails", {"cupy": OSError("libcudart.so.12: cannot open shared object file")}, "CuPy does not load"),
    ("no driver", {"cupy": fake_cupy(error=RuntimeError("cudaErrorInsufficientDriver"))}, "no CUDA device"),
    ("no device", {"cupy": fake_cupy(count=0)}, "no CUDA device"),
    ("no gpu4pyscf", {"cupy": fake_cupy(count=1), "gpu4pyscf": None}, "gpu4pyscf is not installed"),
    ("gpu4pyscf fails", {"cupy": fake_cupy(count=1), "gpu4pyscf": LIBCUSOLVER},
     "gpu4pyscf does not load (OSError: Unable to load libcusolver)"),
])
def test_available_says_why_without_raising(monkeypatch, fresh_check, case, modules, fragment):
    for name, mod in modules.items():
        if isinstance(mod, Exception):
            monkeypatch.delitem(sys.modules, name, raising=False)
            monkeypatch.setattr(sys, "meta_path", [FailingImport(name, mod), *sys.meta_path])
        else:
            monkeypatch.setitem(sys.modules, name, mod)  # None: import raises ImportError
    assert gpu.available() is False
    reason = gpu.why_unavailable()
    assert fragment in reason and "\n" not in reason
    with pytest.raises(ValueError, match="^device gpu: " + re.escape(fragment)):
        gpu.check_device("gpu")
    gpu.check_device("cpu")
    assert gpu.get_namespace("cpu") is np


def test_available_with_a_device(monkeypatch, fresh_check):
    """CuPy with one device and gpu4pyscf importable: available, and the namespace is CuPy's."""
    cupy = fake_cupy(count=1)
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setitem(sys.modules, "gpu4pyscf", types.ModuleType("gpu4pyscf"))
    assert gpu.why_unavailable() is None and gpu.available() is True
    gpu.check_device("gpu")
    assert gpu.get_namespace("gpu") is cupy


def test_device_refused_before_any_scf(monkeypatch, fresh_check, make_mol, tmp_path):
    """Every driver refuses device="gpu" where there is none, before an SCF or a study file."""
    from deltascf.chempot import chemical_potentials
    from deltascf.fractional import scan_charge

    monkeypatch.setitem(sys.modules, "cupy", None)
    mol = make_mol()
    method = Method(device="gpu")
    study = tmp_path / "s.h5"
    calls = [lambda: deltascf.run_state(mol, method=method),
             lambda: deltascf.run_states(mol, specs=["a:HOMO->LUMO"], method=method, study=study),
             lambda: scan_charge(mol, method=method, channel="add:a:LUMO", study=study),
             lambda: chemical_potentials(mol, method=method, study=study)]
    for call in calls:
        with pytest.raises(ValueError, match="^device gpu: CuPy is not installed"):
            call()
    assert not study.exists()


def test_cli_refuses_device_gpu_with_one_line(tmp_path):
    """deltascf run --device gpu on a machine without a GPU: one line, exit code 2, no file written."""
    if gpu.available():  # pragma: no cover - a GPU machine runs it
        pytest.skip("this machine has a GPU")
    out = tmp_path / "out.json"
    p = subprocess.run([sys.executable, "-m", "deltascf", "run", "--atom", "H 0 0 0; H 0 0 0.74", "--basis",
                        "sto-3g", "--xc", "b3lyp", "--device", "gpu", "--json", str(out)],
                       capture_output=True, text=True)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and lines[0].startswith("deltascf: error: device gpu:"), p.stderr
    assert not out.exists() and not p.stdout


def test_method_device_setting():
    m = Method(device="GPU")
    assert m.device == "gpu" and m.density_fit == GPU_AUXBASIS  # the GPU runs density fitted
    assert Method(device="gpu", density_fit="weigend").density_fit == "weigend"
    assert Method().device == "cpu" and Method().density_fit is None
    with pytest.raises(ValueError, match="Newton"):
        Method(device="gpu", solver="newton")
    with pytest.raises(ValueError, match="roks"):
        Method(device="gpu", reference="roks")
    with pytest.raises(ValueError, match="device must be one of cpu, gpu"):
        Method(device="tpu")
    # studies made before the setting keep their keys: device is left out at its default
    assert "device" not in Method().to_dict() and Method(device="gpu").to_dict()["device"] == "gpu"
    assert Method.from_dict(Method(device="gpu").to_dict()) == Method(device="gpu")
    cpu_twin = dataclasses.replace(Method(device="gpu"), device="cpu")
    assert cpu_twin == Method(density_fit=GPU_AUXBASIS)  # a GPU method differs from its CPU twin in device only


def test_a_gpu_record_survives_save_and_load(tmp_path, water_631g):
    """The device is part of the record's method, and the HDF5 layout keeps it (the arrays are host arrays)."""
    state = deltascf.run_state(water_631g, method=Method(density_fit=GPU_AUXBASIS, conv_tol=1e-8))
    as_gpu = dataclasses.replace(state, method=dataclasses.replace(state.method, device="gpu"))
    deltascf.save(tmp_path / "g.h5", as_gpu, mol=water_631g, label="ground")
    back = deltascf.load(tmp_path / "g.h5", "ground")
    assert back.method == as_gpu.method and back.method.device == "gpu"
    np.testing.assert_array_equal(back.mo_coeff, as_gpu.mo_coeff)
    assert back.e_tot == as_gpu.e_tot
    from deltascf.report import format_states

    assert format_states(["ground"], [back], back).splitlines()[-1].endswith("device = gpu; 1 Eh = 27.21138602 eV")
    assert "device" not in format_states(["ground"], [state], state).splitlines()[-1]


def test_no_device_import_outside_deltascf_gpu():
    """Only deltascf/gpu imports CuPy or gpu4pyscf, and only inside functions."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        in_gpu = path.parent.name == "gpu"
        top_level = set(map(id, tree.body))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.partition(".")[0] in DEVICE_MODULES for n in names):
                if not in_gpu or id(node) in top_level:
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not offenders, offenders


def test_importing_deltascf_imports_no_device_library():
    code = ("import sys, deltascf, deltascf.gpu, deltascf.gpu.build, deltascf.gpu.kernels, deltascf.cli.commands; "
            f"print(sorted(m for m in {DEVICE_MODULES!r} if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "[]"

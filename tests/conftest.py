"""Shared fixtures: factories and cached ground states (design §11)."""
import json
import os
import sys
from pathlib import Path

import pytest
from pyscf import gto

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))  # tolerances.py

#: the team's reference file (shared/ beside the checkout); tests/data holds a copy
SHARED_CASES = TESTS.parent.parent / "shared" / "reference" / "cases.json"
VENDORED_CASES = TESTS / "data" / "cases.json"

WATER = "O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587"


def load_cases() -> dict:
    path = Path(os.environ.get("DELTASCF_CASES", SHARED_CASES))
    if not path.exists():
        path = VENDORED_CASES
    with open(path) as fh:
        return {c["id"]: c for c in json.load(fh)["cases"]}


@pytest.fixture(scope="session")
def cases():
    return load_cases()


@pytest.fixture(scope="session")
def make_mol():
    def _make(atom=WATER, basis="sto-3g", charge=0, spin=0, **kw):
        return gto.M(atom=atom, basis=basis, charge=charge, spin=spin, verbose=0, **kw)

    return _make


@pytest.fixture(scope="session")
def water_631g(make_mol):
    return make_mol(WATER, "6-31g")


@pytest.fixture(scope="session")
def water_b3lyp_ground(water_631g):
    from deltascf import run_state

    return run_state(water_631g, "b3lyp", conv_tol=1e-10)


def pytest_collection_modifyitems(config, items):
    """GPU tests skip themselves when CuPy or a device is missing."""
    try:
        from deltascf.gpu import available
        have_gpu = available()
    except ImportError:
        have_gpu = False
    if have_gpu:
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA device")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)

"""The device routes of the drivers, driven through the CuPy-like array shim (tests/devshim.py), without a GPU.

``deltascf.gpu.get_namespace`` and ``deltascf.gpu.build.to_device`` are replaced for one test: the namespace by
the shim, the gpu4pyscf object by a stand-in whose response function takes and returns shim arrays around
PySCF's own.  What is checked is deltascf's side of the device boundary (what it hands to the device object and
how it takes the results back); gpu4pyscf itself is tested in test_gpu.py on a GPU.
"""
import dataclasses

import numpy as np
import pytest
from devshim import ShimArray, installed, shim
from tolerances import PARITY_ATOL

from deltascf.records import GPU_AUXBASIS
from deltascf.response import OccupationResponse, make_orbital_dms


class ShimDevice:
    """A stand-in for the gpu4pyscf twin of a host mean-field object: its response function runs PySCF's on the
    host data of shim arrays, refuses host arrays, and records the shapes it was given."""

    def __init__(self, mf, xp):
        self.mf, self.xp, self.calls = mf, xp, []

    def gen_response(self, mo_coeff, mo_occ, hermi):
        assert isinstance(mo_coeff, ShimArray) and isinstance(mo_occ, ShimArray)
        vind = self.mf.gen_response(mo_coeff=self.xp.asnumpy(mo_coeff), mo_occ=self.xp.asnumpy(mo_occ), hermi=hermi)

        def device_vind(dms):
            assert isinstance(dms, ShimArray), type(dms)
            self.calls.append(dms.shape)
            return shim(vind(self.xp.asnumpy(dms)))

        return device_vind


@pytest.fixture
def shim_device(monkeypatch):
    with installed() as xp:
        made = []

        def to_device(mf):
            made.append(ShimDevice(mf, xp))
            return made[-1]

        monkeypatch.setattr("deltascf.gpu.get_namespace", lambda device: xp)
        monkeypatch.setattr("deltascf.gpu.build.to_device", to_device)
        yield made


def test_response_kernel_runs_in_the_device_namespace(shim_device, water_631g, water_b3lyp_ground):
    """A GPU state's response engine applies its kernel to device arrays, all densities of a call at once, and
    gives the host engine's κ (same method but the device)."""
    state = water_b3lyp_ground
    host_method = dataclasses.replace(state.method, density_fit=GPU_AUXBASIS)
    host_state = dataclasses.replace(state, method=host_method)
    device_state = dataclasses.replace(state, method=dataclasses.replace(host_method, device="gpu"))
    homo = int(np.flatnonzero(state.mo_occ[0] > 0.5)[-1])
    dms = make_orbital_dms(np.asarray(state.mo_coeff), [(0, homo), (0, homo + 1), (1, homo)])
    want = OccupationResponse(water_631g, host_state).solve(dms)
    engine = OccupationResponse(water_631g, device_state)
    got = engine.solve(dms)
    assert len(shim_device) == 1 and shim_device[0].calls
    assert all(shape[0] == 2 and len(shape) == 4 for shape in shim_device[0].calls)
    assert shim_device[0].calls[0][1] == 3  # the three perturbations in one call
    assert isinstance(got.kappa, np.ndarray)
    np.testing.assert_allclose(got.kappa, want.kappa, rtol=0, atol=PARITY_ATOL)
    np.testing.assert_allclose(got.dm1, want.dm1, rtol=0, atol=PARITY_ATOL)

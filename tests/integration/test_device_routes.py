"""The device routes of the drivers, driven through the CuPy-like array shim (tests/devshim.py), without a GPU.

``deltascf.gpu.get_namespace`` and ``deltascf.gpu.build.to_device`` are replaced for one test: the namespace by
the shim, the gpu4pyscf object by a stand-in whose response function takes and returns shim arrays around
PySCF's own.  What is checked is deltascf's side of the device boundary (what it hands to the device object and
how it takes the results back); gpu4pyscf itself is tested in test_gpu.py on a GPU.
"""
import dataclasses
import sys

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


# -- LOSC's grid integrals on the device ---------------------------------------------------------------------
def test_grid_integrals_on_device_arrays(monkeypatch, water_631g):
    """make_grid_integrals(device="gpu") contracts device AO values with the device twin of grid_gram and
    returns host arrays equal to the host route's."""
    from pyscf import dft

    from deltascf.corrections.losc import make_grid_integrals

    with installed() as xp:
        blocks = []

        def make_ao_evaluator(mol):
            def eval_ao(mol_, coords):
                blocks.append(len(coords))
                return shim(dft.numint.eval_ao(mol_, coords))
            return eval_ao

        monkeypatch.setattr("deltascf.corrections.losc.get_namespace",
                            lambda device: xp if device == "gpu" else np)
        monkeypatch.setattr("deltascf.gpu.integrals.make_ao_evaluator", make_ao_evaluator)
        rng = np.random.default_rng(31)
        c_los = [rng.standard_normal((water_631g.nao_nr(), 5)) * 0.3 for _ in range(2)]
        got = make_grid_integrals(water_631g, c_los, device="gpu")
        want = make_grid_integrals(water_631g, c_los)
    assert blocks
    for (x, s_abs), (x_ref, s_ref) in zip(got, want):
        assert isinstance(x, np.ndarray) and isinstance(s_abs, np.ndarray)
        np.testing.assert_allclose(x, x_ref, rtol=0, atol=PARITY_ATOL)
        np.testing.assert_allclose(s_abs, s_ref, rtol=0, atol=PARITY_ATOL)


# -- building and reading on the host for the device -------------------------------------------------------------
def test_make_mf_hands_the_object_to_the_device_without_a_host_grid(monkeypatch, water_631g):
    from deltascf import Method
    from deltascf.scf.build import make_mf

    handed = []
    monkeypatch.setattr("deltascf.gpu.build.to_device", lambda mf: handed.append(mf) or mf)
    for reference in ("uks", "rks"):
        mf = make_mf(water_631g, Method(reference=reference, device="gpu"))
        assert handed[-1] is mf and mf.grids.coords is None  # gpu4pyscf builds its own grid
        assert mf.with_df.auxbasis == GPU_AUXBASIS and mf.chkfile is None
    cpu = make_mf(water_631g, Method(density_fit=GPU_AUXBASIS))
    assert len(handed) == 2 and cpu.grids.coords is not None


def test_a_ground_state_with_device_arrays_is_taken_to_the_host(water_b3lyp_ground):
    """A gpu4pyscf ground state passed as ``ground=`` holds device arrays: its orbitals are copied to the host."""
    import types

    from deltascf.scf.driver import _ground_orbitals

    g = water_b3lyp_ground
    with installed():
        device_ground = types.SimpleNamespace(mo_coeff=shim(g.mo_coeff), mo_occ=shim(g.mo_occ),
                                              mo_energy=shim(g.mo_energy))
        got = _ground_orbitals(device_ground, restricted=False)
    for a, b in zip(got, (g.mo_coeff, g.mo_occ, g.mo_energy)):
        assert isinstance(a, np.ndarray)
        np.testing.assert_array_equal(a, b)


# -- what a GPU record gets on a machine without a GPU ------------------------------------------------------------
@pytest.fixture
def no_gpu(monkeypatch):
    from deltascf import gpu

    gpu.why_unavailable.cache_clear()
    monkeypatch.setitem(sys.modules, "cupy", None)
    yield
    gpu.why_unavailable.cache_clear()


@pytest.fixture
def gpu_record(water_631g):
    """A state converged on the CPU with the GPU's method, relabelled as a GPU record (as loaded from a file)."""
    from deltascf import Method, run_state

    state = run_state(water_631g, method=Method(density_fit=GPU_AUXBASIS, conv_tol=1e-10))
    return state, dataclasses.replace(state, method=dataclasses.replace(state.method, device="gpu"))


def test_a_gpu_record_gets_its_gradient_on_the_cpu(no_gpu, water_631g, gpu_record):
    from deltascf import make_gradient

    cpu, gpu = gpu_record
    np.testing.assert_array_equal(make_gradient(water_631g, gpu), make_gradient(water_631g, cpu))


def test_corrections_of_a_gpu_record_are_refused_without_a_gpu(no_gpu, water_631g, gpu_record):
    from deltascf.corrections import run_correction

    cpu, gpu = gpu_record
    for name in ("losc", "gsc2", "lrlosc:post"):
        with pytest.raises(ValueError, match="^device gpu: CuPy is not installed"):
            run_correction(water_631g, gpu, dataclasses.replace(gpu.method, correction=name))
    with pytest.raises(ValueError, match="^device gpu: CuPy is not installed"):
        OccupationResponse(water_631g, gpu)
    with pytest.raises(ValueError, match="converged on the CPU and its correction runs there too"):
        run_correction(water_631g, cpu, dataclasses.replace(cpu.method, device="gpu", correction="losc"))

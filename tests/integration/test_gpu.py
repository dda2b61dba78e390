"""deltascf on the GPU against deltascf on the CPU (marked gpu: skipped without CuPy, gpu4pyscf and a device).

Every comparison uses the same method on both devices (functional, grid level, auxiliary basis), so the two
records of one state differ in their method's ``device`` only; energies agree to GPU_E_ATOL and orbital
energies to GPU_ORB_ATOL.  The CuPy twins of the kernels match the NumPy twins to PARITY_ATOL.
"""
import dataclasses
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from tolerances import GPU_DE_ATOL, GPU_E_ATOL, GPU_INTEGRAL_ATOL, GPU_ORB_ATOL, PARITY_ATOL

import deltascf
from deltascf.records import GPU_AUXBASIS, Method

pytestmark = pytest.mark.gpu

CONV = dict(conv_tol=1e-10, density_fit=GPU_AUXBASIS)
STATES = ["ground", "a:HOMO->LUMO", "a:HOMO=0.5"]


@pytest.fixture(scope="module")
def cupy():
    import cupy

    return cupy


@pytest.fixture(scope="module")
def pair(water_631g):
    """(CPU, GPU) methods that differ in device only."""
    cpu = Method(xc="b3lyp", **CONV)
    return cpu, dataclasses.replace(cpu, device="gpu")


@pytest.fixture(scope="module")
def grounds(water_631g, pair):
    return tuple(deltascf.run_state(water_631g, method=m) for m in pair)


def assert_same_state(cpu, gpu):
    assert gpu.method == dataclasses.replace(cpu.method, device="gpu")
    assert gpu.converged and not gpu.collapsed and isinstance(gpu.mo_coeff, np.ndarray)
    assert gpu.e_tot == pytest.approx(cpu.e_tot, abs=GPU_E_ATOL)
    assert_allclose(gpu.mo_energy, cpu.mo_energy, rtol=0, atol=GPU_ORB_ATOL)
    assert_allclose(gpu.mo_occ, cpu.mo_occ, rtol=0, atol=0)
    assert gpu.s2 == pytest.approx(cpu.s2, abs=GPU_ORB_ATOL)


def test_the_device_is_there(cupy):
    from deltascf import gpu

    assert gpu.available() and gpu.why_unavailable() is None and gpu.get_namespace("gpu") is cupy


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("reference", ["uks", "rks"])
def test_gpu_state_equals_cpu_state(water_631g, pair, state, reference):
    if reference == "rks" and state != "ground" and "->" not in state:
        pytest.skip("a fractional spin orbital needs an unrestricted reference")
    cpu, gpu = (dataclasses.replace(m, reference=reference) for m in pair)
    spec = state.replace("a:", "") if reference == "rks" else state
    assert_same_state(deltascf.run_state(water_631g, method=cpu, state=spec),
                      deltascf.run_state(water_631g, method=gpu, state=spec))


def test_gpu_hf_state(water_631g):
    cpu = Method(xc="hf", **CONV)
    gpu = dataclasses.replace(cpu, device="gpu")
    assert_same_state(deltascf.run_state(water_631g, method=cpu, state="b:HOMO->LUMO"),
                      deltascf.run_state(water_631g, method=gpu, state="b:HOMO->LUMO"))


def test_a_gpu4pyscf_ground_state_is_accepted(water_631g, pair, grounds):
    from gpu4pyscf import dft

    mf = dft.UKS(water_631g, xc="b3lyp").density_fit(auxbasis=GPU_AUXBASIS)
    mf.conv_tol = 1e-10
    mf.kernel()
    state = deltascf.run_state(water_631g, method=pair[1], state="a:HOMO->LUMO", ground=mf)
    assert_same_state(deltascf.run_state(water_631g, method=pair[0], state="a:HOMO->LUMO", ground=grounds[0]), state)


def test_a_gpu_state_survives_save_and_load(tmp_path, water_631g, pair, grounds):
    state = deltascf.run_state(water_631g, method=pair[1], state="a:HOMO->LUMO", ground=grounds[1])
    deltascf.save(tmp_path / "g.h5", state, mol=water_631g, label="s")
    back = deltascf.load(tmp_path / "g.h5", "s")
    assert back.method.device == "gpu" and back.e_tot == state.e_tot
    np.testing.assert_array_equal(back.mo_coeff, state.mo_coeff)


def test_no_matrix_crosses_to_the_host_during_the_scf(cupy, water_631g, pair, grounds):
    """The SCF loop of a ΔSCF state copies no n_ao²-sized array to the host (cupy.asnumpy and .get patched)."""
    from deltascf.gpu.build import count_host_copies
    from deltascf.occupations import Occupation
    from deltascf.scf.build import make_mf
    from deltascf.scf.mixin import wrap

    nao = water_631g.nao_nr()
    ground = grounds[1]
    target = Occupation.parse("a:HOMO->LUMO").resolve(water_631g.nelec, nao, False).mo_occ
    mf = wrap(make_mf(water_631g, pair[1]), cupy.asarray(ground.mo_coeff), target)
    dm0 = mf.make_rdm1(cupy.asarray(ground.mo_coeff), cupy.asarray(target))
    with count_host_copies() as sizes:
        mf.kernel(dm0=dm0)
    assert mf.converged and mf.cycles > 3
    assert not [s for s in sizes if s >= nao * nao], sorted(sizes)[-5:]


def test_cupy_twins_match_numpy_twins(cupy):
    from deltascf import kernels
    from deltascf.gpu import kernels as device_kernels

    rng = np.random.default_rng(3)
    m = 40
    a = rng.standard_normal((m, m, 4)) / np.sqrt(m)
    mats = np.ascontiguousarray(a + a.transpose(1, 0, 2))
    weights = np.array([0.293, 0.293, 0.293, 707.0])
    mats_d, ut_d, ut = cupy.asarray(mats), cupy.eye(m), np.eye(m)
    for _ in range(3):
        pairs = device_kernels.make_round_robin_pairs(m, rng)
        g = kernels.jacobi_sweep_ref(mats, weights, ut, pairs, 1e-6)
        g_d = device_kernels.jacobi_sweep(mats_d, cupy.asarray(weights), ut_d, pairs, 1e-6)
        scale = max(1.0, float(np.sum(weights * np.einsum("iiq->iq", mats) ** 2)))  # gains on G's scale
        assert g_d == pytest.approx(g, abs=PARITY_ATOL * scale)
    assert_allclose(cupy.asnumpy(mats_d), mats, rtol=0, atol=PARITY_ATOL)
    assert_allclose(cupy.asnumpy(ut_d), ut, rtol=0, atol=PARITY_ATOL)
    phi, w = rng.standard_normal((3000, 20)), rng.uniform(0, 1, 3000)
    for got, want in zip(device_kernels.grid_gram(cupy.asarray(phi), cupy.asarray(w)), kernels.grid_gram(phi, w)):
        assert_allclose(cupy.asnumpy(got), want, rtol=0, atol=PARITY_ATOL)


def test_device_losc_integrals_match_the_host(water_631g, cupy):
    from deltascf.corrections.losc import make_coulomb_diag, make_grid_integrals

    rng = np.random.default_rng(4)
    c_los = [rng.standard_normal((water_631g.nao_nr(), 6)) * 0.3]
    for got, want in zip(make_coulomb_diag(water_631g, c_los, device="gpu"), make_coulomb_diag(water_631g, c_los)):
        assert_allclose(got, want, rtol=0, atol=GPU_INTEGRAL_ATOL)
    for got, want in zip(make_grid_integrals(water_631g, c_los, device="gpu")[0],
                         make_grid_integrals(water_631g, c_los)[0]):
        assert_allclose(got, want, rtol=0, atol=GPU_INTEGRAL_ATOL)


@pytest.mark.parametrize("mode", ["post", "scf"])
def test_losc_on_the_gpu(water_631g, pair, mode):
    from deltascf.corrections import run_correction

    records = []
    for m in pair:
        state = deltascf.run_state(water_631g, method=m, state="a:HOMO->LUMO")
        records.append(run_correction(water_631g, state, dataclasses.replace(m, correction=f"losc:{mode}")))
    cpu, gpu = records
    assert gpu.e_tot == pytest.approx(cpu.e_tot, abs=GPU_DE_ATOL)
    assert_allclose(gpu.mo_energy, cpu.mo_energy, rtol=0, atol=GPU_ORB_ATOL)


@pytest.mark.parametrize("name", ["gsc2", "lrlosc"])
def test_screened_corrections_with_the_response_kernel_on_the_gpu(water_631g, pair, name):
    from deltascf.corrections import run_correction

    records = []
    for m in pair:
        state = deltascf.run_state(water_631g, method=m, state="a:HOMO->LUMO")
        records.append(run_correction(water_631g, state, dataclasses.replace(m, correction=name)))
    cpu, gpu = records
    assert_allclose(gpu.kappa, cpu.kappa, rtol=0, atol=GPU_ORB_ATOL)
    assert gpu.e_tot == pytest.approx(cpu.e_tot, abs=GPU_DE_ATOL)
    assert_allclose(gpu.mo_energy, cpu.mo_energy, rtol=0, atol=GPU_ORB_ATOL)


@pytest.mark.parametrize("mode", ["scf", "ensemble"])
def test_scans_on_the_gpu(water_631g, pair, mode):
    from deltascf.fractional import scan_charge

    cpu, gpu = (scan_charge(water_631g, method=m, channel="remove:a:HOMO", points=3, mode=mode) for m in pair)
    assert_allclose(gpu.e_tot, cpu.e_tot, rtol=0, atol=GPU_E_ATOL)
    assert_allclose(gpu.eps, cpu.eps, rtol=0, atol=GPU_ORB_ATOL)


def test_theorem_table_on_the_gpu(water_631g, pair):
    from deltascf.chempot import chemical_potentials

    cpu, gpu = (chemical_potentials(water_631g, method=m) for m in pair)
    assert [r.channel for r in gpu.rows] == [r.channel for r in cpu.rows]
    for rc, rg in zip(cpu.rows, gpu.rows):
        assert rg.mu == pytest.approx(rc.mu, abs=GPU_DE_ATOL)
        assert rg.eps == pytest.approx(rc.eps, abs=GPU_ORB_ATOL)


def test_cli_device_gpu_equals_the_api(tmp_path, water_631g, pair):
    from deltascf.cli import main

    xyz = tmp_path / "w.xyz"
    xyz.write_text("3\n\nO 0 0 0\nH 0 -0.757 0.587\nH 0 0.757 0.587\n")
    out = tmp_path / "w.json"
    code = main(["run", str(xyz), "--basis", "6-31g", "--xc", "b3lyp", "--device", "gpu", "--conv-tol", "1e-10",
                 "--state", "a:HOMO->LUMO", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["method"]["device"] == "gpu"
    api = deltascf.run_state(water_631g, method=pair[1], state="a:HOMO->LUMO")
    assert data["states"][1]["e_tot"] == pytest.approx(api.e_tot, abs=GPU_E_ATOL)

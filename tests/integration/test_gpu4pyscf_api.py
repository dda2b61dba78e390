"""The gpu4pyscf API that deltascf.gpu relies on, checked on a machine that has CuPy and gpu4pyscf but no GPU.

gpu4pyscf reads the device's properties when it is imported; a subprocess fakes them (a device count of one, an
H100-like property table, a memory pool that sets no limit) so that the package imports, and then checks what
deltascf uses without allocating device memory: the classes PySCF's ``to_gpu`` maps deltascf's objects to, the
settings that carry over, the order in which the DeltaSCF hooks and gpu4pyscf's density-fitting mixin compose,
the calls of gpu4pyscf's SCF loop, and the helpers deltascf imports.  Skipped where CuPy or gpu4pyscf is not
installed (CI), and where a real device is visible (test_gpu.py runs there instead).
"""
import json
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent('''
    import inspect, json
    import cupy, cupy.cuda.runtime as rt
    rt.getDeviceCount = lambda: 1
    props = {"totalGlobalMem": 80 * 2**30, "sharedMemPerBlockOptin": 232448, "sharedMemPerBlock": 49152,
             "name": b"none", "major": 9, "minor": 0, "multiProcessorCount": 132}
    rt.getDeviceProperties = lambda i: props
    class Pool:
        def set_limit(self, **kw): pass
        def __getattr__(self, k): return lambda *a, **kw: 0
    cupy.get_default_memory_pool = lambda: Pool()
    import warnings; warnings.simplefilter("ignore")
    import gpu4pyscf
    from gpu4pyscf.dft import numint
    from gpu4pyscf.lib.cupy_helper import tag_array  # noqa: F401
    from gpu4pyscf.scf import hf as ghf
    from pyscf import gto
    from deltascf import Method
    from deltascf.gpu.build import is_device_mf
    from deltascf.scf.build import make_mf
    from deltascf.scf.mixin import wrap
    mol = gto.M(atom="O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587", basis="6-31g", verbose=0)
    out = {"version": gpu4pyscf.__version__, "objects": {}}
    for ref, xc in (("uks", "b3lyp"), ("rks", "b3lyp"), ("uhf", "hf"), ("rhf", "hf")):
        mf = make_mf(mol, Method(xc=xc, reference=ref, device="gpu", conv_tol=1e-10, max_cycle=77, grid_level=4))
        type(mf).get_ovlp = lambda self, mol=None: None  # the one device allocation of wrap()
        w = wrap(mf)
        mro = type(w).__mro__
        out["objects"][ref] = {
            "classes": [c.__module__ + "." + c.__name__ for c in mro[2:5]],  # after the mixin and _DeltaSCF
            "hooks": {h: next(c for c in mro if h in c.__dict__).__module__
                      for h in ("get_occ", "get_grad", "get_veff", "energy_elec", "make_rdm1", "gen_response")},
            "auxbasis": mf.with_df.auxbasis, "xc": getattr(mf, "xc", None), "conv_tol": mf.conv_tol,
            "max_cycle": mf.max_cycle, "chkfile": mf.chkfile, "device_mf": is_device_mf(w),
            "grid_level": getattr(getattr(mf, "grids", None), "level", None)}
    src = inspect.getsource(ghf._kernel)
    out["loop"] = {call: call in src for call in ("mf.get_occ(mo_energy, mo_coeff)", "mf.make_rdm1(mo_coeff, mo_occ)",
                                                  "mf.get_veff(mol, dm, dm_last, vhf)",
                                                  "mf.get_grad(mo_coeff, mo_occ, fock)")}
    out["eval_ao"] = hasattr(numint, "_GDFTOpt") and "gdftopt" in inspect.signature(numint.eval_ao).parameters
    out["get_j"] = list(inspect.signature(ghf.RHF.get_j).parameters)
    print(json.dumps(out))
''')


@pytest.fixture(scope="module")
def probe():
    pytest.importorskip("cupy")
    import cupy

    try:
        if cupy.cuda.runtime.getDeviceCount() > 0:
            pytest.skip("a device is visible: tests/integration/test_gpu.py checks the real thing")
    except Exception:
        pass
    p = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    if "No module named 'gpu4pyscf'" in p.stderr:
        pytest.skip("gpu4pyscf is not installed")
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("ref", ["uks", "rks", "uhf", "rhf"])
def test_to_gpu_keeps_the_method(probe, ref):
    obj = probe["objects"][ref]
    assert obj["device_mf"] and all(c.startswith("gpu4pyscf.") for c in obj["classes"])
    assert obj["classes"][0].startswith("gpu4pyscf.df.df_jk.")  # density fitted on the device
    assert obj["auxbasis"] == "def2-universal-jkfit" and obj["conv_tol"] == 1e-10 and obj["max_cycle"] == 77
    assert obj["chkfile"] is None  # no per-cycle write of the orbitals to the host
    if ref in ("uks", "rks"):
        assert obj["xc"] == "b3lyp" and obj["grid_level"] == 4


@pytest.mark.parametrize("ref", ["uks", "rks", "uhf", "rhf"])
def test_the_hooks_sit_on_top_of_gpu4pyscf(probe, ref):
    hooks = probe["objects"][ref]["hooks"]
    assert {h: hooks[h] for h in ("get_occ", "get_grad", "get_veff", "energy_elec")} == \
        dict.fromkeys(("get_occ", "get_grad", "get_veff", "energy_elec"), "deltascf.scf.mixin")
    assert hooks["make_rdm1"].startswith("gpu4pyscf.") and hooks["gen_response"].startswith("gpu4pyscf.")


def test_the_scf_loop_calls_the_hooks_as_deltascf_defines_them(probe):
    assert all(probe["loop"].values()), probe["loop"]
    assert probe["eval_ao"] and probe["get_j"][:4] == ["self", "mol", "dm", "hermi"]

#!/usr/bin/env python
"""The device check: every GPU test and GPU timing of deltascf in one call (design §17).

On a machine with an NVIDIA GPU, in one process and one run:

1. **Packages.**  CuPy, gpu4pyscf and pytest are imported; when one is missing and an NVIDIA driver is present,
   ``pip install ".[gpu,test]"`` is tried once (``--no-install`` skips it; a machine without a package index
   reports the failure and goes on).  When gpu4pyscf fails with "Unable to load libcusolver" and the CUDA wheels
   ship ``libcusolver.so.11``, the link ``libcusolver.so`` is made beside it (design §17) and reported.
2. **Tests.**  ``pytest -m gpu`` (tests/integration/test_gpu.py and every other test marked gpu); the summary
   line and exit code are recorded.
3. **Timings**, on the GPU and on all CPU cores of the same machine, same method (B3LYP, UKS, density fitted
   with def2-universal-jkfit, default grid), benzene/def2-TZVP:

   * the ground state, then the ΔSCF state ``a:HOMO->LUMO`` from it (target GPU/CPU <= 0.1);
   * an 11-point scan E(N − δ) of the ground state along ``remove:a:HOMO`` (target GPU/CPU <= 0.1);
   * post-SCF LOSC of the ΔSCF state (target, on the GPU: LOSC / ΔSCF SCF <= 0.25);
   * the host copies of n_ao² size or more made while the GPU SCF loop runs (``cupy.asnumpy`` and
     ``ndarray.get`` counted; target: none), and the SCF cycles;
   * GPU − CPU differences of the energies and orbital energies.

   The CPU scan is cut to fewer points when the whole check would otherwise pass ``--budget`` seconds (8 min
   by default); its time is then compared per point, and the table says so.

Without a GPU it says why, runs step 2 (every test skips) and the CPU timings, and still writes its JSON:
``--quick`` (water/6-31G, a 5-point scan) keeps the script running on any machine.  The JSON is written after
every step, so a run stopped by a time limit still leaves what it measured.

Usage::

    python benchmarks/gpu_check.py                 # on the GPU machine -> benchmarks/results/gpu_check.json
    python benchmarks/gpu_check.py --quick --out /tmp/g.json
"""
from __future__ import annotations

import argparse
import glob
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
for _v in THREAD_VARS:  # all CPU cores, before anything imports NumPy (run.py keeps a value already set)
    os.environ.setdefault(_v, str(len(os.sched_getaffinity(0))))

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUT = HERE / "results" / "gpu_check.json"
XC, AUXBASIS, STATE, CHANNEL = "b3lyp", "def2-universal-jkfit", "a:HOMO->LUMO", "remove:a:HOMO"
TARGET_DEVICE_RATIO, TARGET_LOSC_RATIO = 0.1, 0.25
BUDGET_S = 480.0


def _parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="water/6-31G and a 5-point scan instead of benzene/def2-TZVP")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output")
    p.add_argument("--points", type=int, default=None, help="scan points (default 11; 5 with --quick)")
    p.add_argument("--budget", type=float, default=BUDGET_S, help="seconds the whole check should take (default 480)")
    p.add_argument("--no-install", action="store_true", help="do not try pip install for missing packages")
    p.add_argument("--no-tests", action="store_true", help="skip pytest -m gpu")
    args = p.parse_args(argv)
    if args.points is None:
        args.points = 5 if args.quick else 11
    if args.points < 2:
        p.error("--points must be >= 2")
    return args


T_START = time.perf_counter()
ARGS = _parse_args() if __name__ == "__main__" else None


def _elapsed() -> float:
    return time.perf_counter() - T_START


# -- 1. packages ------------------------------------------------------------------------------------
def _missing() -> list:
    out = []
    for name in ("cupy", "gpu4pyscf", "pytest"):
        try:
            importlib.import_module(name)
        except Exception:  # a CUDA library that does not load counts as missing
            out.append(name)
    return out


def _link_libcusolver() -> str | None:
    """gpu4pyscf 1.9 loads cuSOLVER by the unversioned name, which the CUDA wheels do not ship: link it."""
    for folder in sys.path:
        lib = os.path.join(folder, "nvidia", "cusolver", "lib")
        found = sorted(glob.glob(os.path.join(lib, "libcusolver.so.*")))
        if found and not os.path.exists(os.path.join(lib, "libcusolver.so")):
            os.symlink(os.path.basename(found[0]), os.path.join(lib, "libcusolver.so"))
            return f"linked {lib}/libcusolver.so -> {os.path.basename(found[0])}"
    return None


def ensure_packages(no_install: bool) -> dict:
    missing = _missing()
    record = {"missing_before": missing, "install": None, "fixups": []}
    driver = os.path.exists("/proc/driver/nvidia/version")
    if missing and not no_install and driver:
        try:
            p = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--retries", "0", "--timeout", "15",
                                ".[gpu,test]"], cwd=ROOT, capture_output=True, text=True, timeout=300)
            tail = (p.stderr or p.stdout).strip().splitlines()
            record["install"] = {"returncode": p.returncode, "last_line": tail[-1] if tail else ""}
        except subprocess.TimeoutExpired:
            record["install"] = {"returncode": None, "last_line": "pip install timed out after 300 s"}
        importlib.invalidate_caches()
    elif missing and not driver:
        record["install"] = {"returncode": None, "last_line": "no NVIDIA driver (/proc/driver/nvidia/version): not tried"}
    try:
        importlib.import_module("gpu4pyscf")
    except OSError as err:
        if "libcusolver" in str(err):
            fix = _link_libcusolver()
            if fix:
                record["fixups"].append(fix)
    except Exception:
        pass
    record["missing_after"] = _missing()
    return record


# -- 2. tests -------------------------------------------------------------------------------------------
def run_gpu_tests(timeout: float) -> dict:
    t0 = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "tests"],
                           cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        return {"returncode": None, "summary": f"timed out after {timeout:.0f} s", "failures": [],
                "output_tail": out[-2000:], "wall_s": time.perf_counter() - t0}
    lines = [ln for ln in p.stdout.strip().splitlines() if ln.strip()]
    failures = [ln for ln in lines if ln.startswith(("FAILED", "ERROR"))]
    return {"returncode": p.returncode, "summary": lines[-1] if lines else "", "failures": failures,
            "wall_s": time.perf_counter() - t0}


# -- 3. timings -------------------------------------------------------------------------------------------
def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def build_molecule(quick: bool):
    from pyscf import gto
    from run import MOLECULES, build_mol

    if quick:
        return build_mol("water"), "water/6-31G"
    return gto.M(atom=MOLECULES["benzene"]["atom"], basis="def2-tzvp", unit="Angstrom", verbose=0,
                 output=None), "benzene/def2-TZVP"


def count_scf_copies(mol, method, ground) -> dict:
    """Host copies of n_ao² size or more while the GPU SCF loop of the ΔSCF state runs, and its cycles."""
    import cupy

    from deltascf.gpu.build import count_host_copies
    from deltascf.occupations import Occupation
    from deltascf.scf.build import make_mf
    from deltascf.scf.mixin import wrap

    nao = mol.nao_nr()
    target = Occupation.parse(STATE).resolve(mol.nelec, nao, False).mo_occ
    c0 = cupy.asarray(ground.mo_coeff)
    mf = wrap(make_mf(mol, method), c0, target)
    dm0 = mf.make_rdm1(c0, cupy.asarray(target))
    with count_host_copies() as sizes:
        mf.kernel(dm0=dm0)
    return {"cycles": int(getattr(mf, "cycles", -1)), "copies": len(sizes),
            "large_copies": sum(s >= nao * nao for s in sizes), "largest_copy": max(sizes, default=0)}


def time_device(mol, device: str, points: int, cpu_deadline: float | None = None) -> dict:
    """Ground state, ΔSCF state, scan and post-SCF LOSC on one device."""
    import numpy as np

    from deltascf import Method, run_state
    from deltascf.corrections.losc import make_losc_correction
    from deltascf.fractional import make_deltas, scan_charge

    method = Method(xc=XC, density_fit=AUXBASIS, device=device)
    ground, t_ground = _timed(run_state, mol, method=method)
    state, t_state = _timed(run_state, mol, method=method, state=STATE, ground=ground)
    deltas = make_deltas(points=points)
    if cpu_deadline is not None:  # cut the CPU scan to what the budget leaves, at the per-point cost of the state
        left = cpu_deadline - _elapsed() - 2.0 * t_state
        keep = int(max(2, min(points, left // max(t_state, 1e-3))))
        deltas = deltas[:keep - 1].tolist() + [1.0]
    scan, t_scan = _timed(scan_charge, mol, method=method, channel=CHANNEL, deltas=deltas, start=ground)
    losc, t_losc = _timed(make_losc_correction, mol, state)
    n_points = int(np.count_nonzero(scan.n_fock > 0)) or len(scan.delta)
    return {"device": device, "ground": {"wall_s": t_ground, "e_tot": ground.e_tot, "cycles": ground.cycles},
            "state": {"wall_s": t_state, "e_tot": state.e_tot, "cycles": state.cycles, "n_fock": state.n_fock,
                      "converged": state.converged, "collapsed": state.collapsed,
                      "mo_energy": np.asarray(state.mo_energy).tolist()},
            "scan": {"wall_s": t_scan, "points": len(scan.delta), "points_computed": n_points,
                     "wall_s_per_point": t_scan / max(n_points, 1), "e_tot": scan.e_tot.tolist(),
                     "converged": bool(np.all(scan.converged))},
            "losc": {"wall_s": t_losc, "de_losc": losc.de_losc, "ratio_to_state_scf": t_losc / t_state},
            "_records": (ground, state)}


def warm_up(device: str) -> float:
    """One small SCF on ``device`` (CUDA contexts, gpu4pyscf's kernels, Numba): not part of any timing."""
    from pyscf import gto

    from deltascf import Method, run_state

    mol = gto.M(atom="O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587", basis="sto-3g", verbose=0)
    _, dt = _timed(run_state, mol, method=Method(xc=XC, density_fit=AUXBASIS, device=device), state=STATE)
    return dt


def compare(gpu: dict, cpu: dict) -> dict:
    import numpy as np

    out = {"d_e_ground": gpu["ground"]["e_tot"] - cpu["ground"]["e_tot"],
           "d_e_state": gpu["state"]["e_tot"] - cpu["state"]["e_tot"],
           "max_d_mo_energy_state": float(np.max(np.abs(np.subtract(gpu["state"]["mo_energy"],
                                                                    cpu["state"]["mo_energy"])))),
           "d_de_losc": gpu["losc"]["de_losc"] - cpu["losc"]["de_losc"]}
    n = min(len(gpu["scan"]["e_tot"]), len(cpu["scan"]["e_tot"]))
    if gpu["scan"]["points"] == cpu["scan"]["points"]:
        out["max_d_e_scan"] = float(np.max(np.abs(np.subtract(gpu["scan"]["e_tot"][:n], cpu["scan"]["e_tot"][:n]))))
    return out


def print_table(res: dict) -> None:
    cpu, gpu = res["cpu"], res.get("gpu")
    print(f"\ndeltascf device check: {res['molecule']} ({res['nao']} AO), {XC}/{AUXBASIS}, "
          f"{res['environment']['n_cpus']} CPU threads")
    print(f"GPU: {res['gpu_reason'] or res['environment'].get('gpu_name', 'yes')}")
    if res.get("tests"):
        print(f"pytest -m gpu: {res['tests']['summary']} (exit {res['tests']['returncode']})")
    print(f"{'quantity':34s} {'GPU s':>9s} {'CPU s':>9s} {'GPU/CPU':>8s} {'target':>8s}")
    rows = [("ground state", "ground"), (f"ΔSCF state {STATE}", "state"), ("post-SCF LOSC", "losc")]
    for label, key in rows:
        g = gpu[key]["wall_s"] if gpu else float("nan")
        c = cpu[key]["wall_s"]
        target = f"<= {TARGET_DEVICE_RATIO}" if key == "state" else ""
        print(f"{label:34s} {g:9.2f} {c:9.2f} {g / c:8.3f} {target:>8s}")
    g_pp = gpu["scan"]["wall_s_per_point"] if gpu else float("nan")
    c_pp = cpu["scan"]["wall_s_per_point"]
    print(f"{'scan, per point':34s} {g_pp:9.2f} {c_pp:9.2f} {g_pp / c_pp:8.3f} {'<= 0.1':>8s}")
    print(f"  scan points: GPU {gpu['scan']['points_computed'] if gpu else '-'}, CPU {cpu['scan']['points_computed']}"
          f" of {res['points']} requested")
    if gpu:
        print(f"LOSC / ΔSCF SCF on the GPU: {gpu['losc']['ratio_to_state_scf']:.3f} (target <= {TARGET_LOSC_RATIO})")
        cp = res["copies"]
        print(f"host copies >= n_ao² during the GPU SCF loop: {cp['large_copies']} in {cp['cycles']} cycles "
              f"(largest {cp['largest_copy']} elements; target none)")
        print("GPU − CPU: " + ", ".join(f"{k} {v:.1e}" for k, v in res["differences"].items()))
    print(f"whole check: {res['wall_s']:.0f} s (budget {res['budget_s']:.0f} s)")


def main(args) -> dict:
    sys.path.insert(0, str(HERE))
    packages = ensure_packages(args.no_install)
    from run import environment  # PySCF threads: the thread variables set at the top (every visible CPU)

    from deltascf import gpu as dgpu

    dgpu.why_unavailable.cache_clear()
    reason = dgpu.why_unavailable()
    env = environment()
    env["n_cpus"] = env.get("pyscf_num_threads")
    if reason is None:
        import cupy

        env["gpu_name"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        env["cupy"] = cupy.__version__
        env["gpu4pyscf"] = importlib.import_module("gpu4pyscf").__version__
    res = {"packages": packages, "gpu_reason": reason, "points": args.points, "budget_s": args.budget,
           "environment": env}
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def checkpoint(step: str) -> None:  # what is measured so far, in case a time limit stops the run
        res["last_step"], res["wall_s"] = step, _elapsed()
        args.out.write_text(json.dumps({k: v for k, v in res.items() if k not in ("gpu", "cpu")} |
                                       {d: _public(res[d]) for d in ("gpu", "cpu") if d in res},
                                       indent=2, default=float) + "\n")

    checkpoint("packages")
    if not args.no_tests:
        res["tests"] = run_gpu_tests(timeout=max(60.0, 0.4 * args.budget))
        checkpoint("tests")
    mol, label = build_molecule(args.quick)
    res.update(molecule=label, nao=mol.nao_nr())
    if reason is None:
        res["warm_up_s"] = {"gpu": warm_up("gpu")}
        res["gpu"] = time_device(mol, "gpu", args.points)
        checkpoint("gpu timings")
        from deltascf import Method

        res["copies"] = count_scf_copies(mol, Method(xc=XC, density_fit=AUXBASIS, device="gpu"),
                                         res["gpu"]["_records"][0])
        checkpoint("copies")
    res.setdefault("warm_up_s", {})["cpu"] = warm_up("cpu")
    res["cpu"] = time_device(mol, "cpu", args.points, cpu_deadline=args.budget)
    checkpoint("cpu timings")
    if reason is None:
        res["differences"] = compare(res["gpu"], res["cpu"])
        for key in ("state", "losc"):
            res[f"ratio_{key}"] = res["gpu"][key]["wall_s"] / res["cpu"][key]["wall_s"]
        res["ratio_scan_per_point"] = res["gpu"]["scan"]["wall_s_per_point"] / res["cpu"]["scan"]["wall_s_per_point"]
    res["wall_s"] = _elapsed()
    print_table(res)
    checkpoint("done")
    print(f"written {args.out}")
    return res


def _public(timing: dict) -> dict:
    """A device's timings without the records kept for later steps."""
    return {k: v for k, v in timing.items() if k != "_records"}


if __name__ == "__main__":
    os.chdir(ROOT)
    main(ARGS)

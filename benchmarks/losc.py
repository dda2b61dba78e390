#!/usr/bin/env python
"""Benchmark: post-SCF LOSC against its parent ground-state SCF, and the Numba Jacobi kernel.

(a) For benzene/def2-SVP (``--quick``: water/6-31G), B3LYP, UKS, in one process
and one run:

* wall time of the parent ground state ``deltascf.run_state(mol, "b3lyp", reference="uks")``;
* wall time of ``make_losc_correction(mol, ground)`` (default ``LoscSettings()``:
  LOSC2, all orbitals, exact Coulomb J_ij = (ii|jj));
* the ratio LOSC / SCF (target <= 0.25);
* the LOSC time broken down the way ``make_losc_inputs`` does it, per spin:
  dipole matrices, ``make_orbitalets`` (Jacobi localization), ``make_coulomb_diag``,
  ``make_grid_integrals``, ``make_kappa``, and the remaining energy / eigenvalue
  part (``make_losc_correction(..., frozen=...)``);
* the same for the density-fitted variant
  ``LoscSettings(kappa_coulomb="df", auxbasis="def2-universal-jkfit")``.

(b) Numba ``jacobi_sweep`` against its NumPy twin ``jacobi_sweep_ref`` on one full
sweep (all 19900 pairs) of a random symmetric (200, 200, 4) problem with the LOSC
weights, after a JIT warm-up call; min of 3 each; target speed-up >= 20.
(``grid_gram`` has no Numba twin: Numba computed its element-wise |φ|^{4/3}
2.5x slower than NumPy, see deltascf/kernels.py.)

Usage::

    python benchmarks/losc.py               # benzene -> benchmarks/results/losc.json
    python benchmarks/losc.py --quick       # water/6-31G (seconds)
    python benchmarks/losc.py --repeat 3 --threads 2 --profile

A script, not a test: timings on a shared machine are noisy; read the ratios
measured within one run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "losc.json"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")

XC = "b3lyp"
DF_AUXBASIS = "def2-universal-jkfit"
TARGET_RATIO = 0.25
TARGET_SPEEDUP = 20.0
JACOBI_M = 200


def _parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="water/6-31G instead of benzene/def2-SVP")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"JSON output (default {DEFAULT_OUT.relative_to(HERE.parent)})")
    p.add_argument("--threads", type=int, default=None,
                   help="OpenMP/BLAS/Numba threads (default: $OMP_NUM_THREADS, else all visible CPUs)")
    p.add_argument("--repeat", type=int, default=1,
                   help="timed (SCF, LOSC, LOSC-DF) repetitions; the minimum is reported (default 1)")
    p.add_argument("--no-df", action="store_true", help="skip the density-fitted LOSC variant")
    p.add_argument("--no-kernel", action="store_true", help="skip part (b), the Jacobi kernel speed-up")
    p.add_argument("--profile", action="store_true",
                   help="additionally cProfile one LOSC call (not timed); top entries next to --out")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    return args


ARGS = _parse_args() if __name__ == "__main__" else None
if ARGS is not None and ARGS.threads is not None:  # before numpy / numba / run.py are imported
    for _v in THREAD_VARS:
        os.environ[_v] = str(ARGS.threads)

sys.path.insert(0, str(HERE))
from run import _git_rev, build_mol  # noqa: E402
from run import environment as run_environment  # noqa: E402  (run.py keeps an already set OMP_NUM_THREADS)

import numba  # noqa: E402
import numpy as np  # noqa: E402
from pyscf import gto, lib  # noqa: E402

from deltascf import kernels, run_state  # noqa: E402
from deltascf.corrections.losc import (  # noqa: E402
    LoscInputs,
    LoscSettings,
    make_coulomb_diag,
    make_grid_integrals,
    make_kappa,
    make_losc_correction,
    make_orbitalets,
)
from deltascf.corrections.xc import make_dfa_weights  # noqa: E402

LABELS = {"water": "water/6-31G", "benzene": "benzene/def2-SVP"}
STEPS = ("dipole", "localization", "coulomb", "grid", "kappa", "energy")
STEP_LABELS = {"dipole": "dipole matrices (int1e_r, C_wᵀ r C_w)", "localization": "make_orbitalets (Jacobi)",
               "coulomb": "make_coulomb_diag (J_ij)", "grid": "make_grid_integrals (X, S)",
               "kappa": "make_kappa", "energy": "λ, ΔE, ε (frozen inputs)"}


def environment() -> dict:
    """run.py's environment record plus git, Numba and the load average."""
    return run_environment() | {
        "numba": numba.__version__,
        "git": _git_rev(),
        "n_cpus_visible": len(os.sched_getaffinity(0)),
        "numba_num_threads": numba.get_num_threads(),
        "numba_threading_layer": _numba_layer(),
        "thread_env": {v: os.environ.get(v) for v in THREAD_VARS},
        "load_average": list(os.getloadavg()),
    }


def _numba_layer() -> str | None:
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        return None


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


# -- (a) LOSC on a ground state -----------------------------------------------------------------
def losc_breakdown(mol, result, settings: LoscSettings) -> dict:
    """``make_losc_correction`` split into the steps of ``make_losc_inputs`` (no window), timed each."""
    t = dict.fromkeys(STEPS, 0.0)
    a_x, a_hf = make_dfa_weights(result.method.xc, settings.weights)
    grid_level = settings.grid_level if settings.grid_level is not None else result.method.grid_level
    spins = [(result.mo_coeff, result.mo_energy)] if result.restricted else \
        [(result.mo_coeff[s], result.mo_energy[s]) for s in range(2)]
    t0 = time.perf_counter()
    dip = mol.intor_symmetric("int1e_r", comp=3)
    t["dipole"] += time.perf_counter() - t0
    # as make_losc_inputs: a closed-shell UKS state is localized and integrated once
    same = len(spins) == 2 and np.allclose(spins[0][0], spins[1][0], rtol=0, atol=1e-10) and \
        np.allclose(spins[0][1], spins[1][1], rtol=0, atol=1e-10)
    c_los, idxs, convs, sweeps = [], [], [], []
    for c, e in (spins[:1] if same else spins):
        assert settings.window is None
        idx = np.arange(e.size)
        t0 = time.perf_counter()
        dip_w = np.einsum("mi,xmn,nj->xij", c, dip, c, optimize=True)
        t["dipole"] += time.perf_counter() - t0
        (u, conv, nsw), dt = _timed(make_orbitalets, np.diag(e), dip_w, settings.loc_gamma, settings.loc_c,
                                    settings.seed, settings.loc_tol, settings.loc_max_sweeps)
        t["localization"] += dt
        for lst, v in zip((c_los, idxs, convs, sweeps), (c @ u, idx, conv, nsw)):
            lst.append(v)
    js, t["coulomb"] = _timed(make_coulomb_diag, mol, c_los, settings.kappa_coulomb, settings.auxbasis)
    xs, t["grid"] = _timed(make_grid_integrals, mol, c_los, grid_level)
    kappas = []
    for j, (x, s_abs) in zip(js, xs):
        kappa, dt = _timed(make_kappa, j, x, s_abs, a_x, a_hf, settings.tau, settings.zeta, settings.curvature)
        t["kappa"] += dt
        kappas.append(kappa)
    if same:
        c_los, kappas, idxs, convs, sweeps = (v * 2 for v in (c_los, kappas, idxs, convs, sweeps))
    frozen = LoscInputs(c_lo=tuple(c_los), kappa=tuple(kappas), co_index=tuple(idxs), localization_converged=tuple(convs),
                        sweeps=tuple(sweeps), a_x=a_x, a_hf=a_hf)
    res, t["energy"] = _timed(make_losc_correction, mol, result, settings, frozen=frozen)
    return {"times": t, "total_s": sum(t.values()), "result": res}


def bench_losc(name: str, repeat: int, do_df: bool, profile_path: Path | None) -> dict:
    mol = build_mol(name)
    variants = {"exact": LoscSettings()}
    if do_df:
        variants["df"] = LoscSettings(kappa_coulomb="df", auxbasis=DF_AUXBASIS)
    scf_times, losc_times, losc_res = [], {k: [] for k in variants}, {}
    ground = None
    for _ in range(repeat):
        ground, dt = _timed(run_state, mol, XC, reference="uks")
        scf_times.append(dt)
        for k, st in variants.items():
            res, dt = _timed(make_losc_correction, mol, ground, st)
            losc_times[k].append(dt)
            losc_res[k] = res
    t_scf = min(scf_times)
    out = {
        "molecule": name, "label": LABELS[name], "nao": mol.nao_nr(), "nelec": list(mol.nelec),
        "scf": {"wall_s": t_scf, "wall_s_all": scf_times, "e_tot": ground.e_tot, "cycles": ground.cycles,
                "n_fock": ground.n_fock, "converged": ground.converged},
        "losc": {},
    }
    for k, st in variants.items():
        res = losc_res[k]
        br = losc_breakdown(mol, ground, st)  # one more, split into steps (not part of the min)
        d_de = abs(br["result"].de_losc - res.de_losc)
        eps = np.asarray(res.mo_energy)
        homo = [float(eps[s][mol.nelec[s] - 1]) for s in range(2)]
        lumo = [float(eps[s][mol.nelec[s]]) for s in range(2)]
        t_l = min(losc_times[k])
        out["losc"][k] = {
            "settings": st.to_dict(),
            "wall_s": t_l, "wall_s_all": losc_times[k], "ratio": t_l / t_scf, "meets": t_l / t_scf <= TARGET_RATIO,
            "breakdown_s": br["times"], "breakdown_total_s": br["total_s"],
            "breakdown_abs_diff_de": d_de,
            "de_losc": res.de_losc, "e_tot": res.e_tot, "sweeps": list(res.sweeps),
            "localization_converged": list(res.localization_converged),
            "homo_eh": homo, "lumo_eh": lumo,
            "homo_dfa_eh": [float(ground.mo_energy[s][mol.nelec[s] - 1]) for s in range(2)],
            "lumo_dfa_eh": [float(ground.mo_energy[s][mol.nelec[s]]) for s in range(2)],
        }
        if d_de > 1e-8:
            print(f"WARNING: {k}: breakdown ΔE differs from make_losc_correction by {d_de:.2e} Eh", flush=True)
    if profile_path is not None:
        import cProfile
        import io
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        make_losc_correction(mol, ground, variants["exact"])
        pr.disable()
        buf = io.StringIO()
        pstats.Stats(pr, stream=buf).sort_stats("cumulative").print_stats(40)
        profile_path.write_text(buf.getvalue())
        out["profile_file"] = str(profile_path)
    return out


# -- (b) Numba vs NumPy kernels -------------------------------------------------------------------
def bench_jacobi(m: int = JACOBI_M, repeat: int = 3) -> dict:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, m, m)) / np.sqrt(m)
    mats0 = np.ascontiguousarray((a + a.transpose(0, 2, 1)).transpose(1, 2, 0))  # the kernels' (m, m, 4) layout
    weights = np.array([1 - 0.707] * 3 + [0.707 * 1000.0])
    pairs = np.array([(i, j) for i in range(m) for j in range(i + 1, m)], dtype=np.int64)
    pairs = np.ascontiguousarray(pairs[rng.permutation(len(pairs))])
    kernels.jacobi_sweep(mats0.copy(), weights, np.eye(m), pairs[:10].copy())  # JIT / cache load
    res = {}
    for name, fn in (("numba", kernels.jacobi_sweep), ("numpy", kernels.jacobi_sweep_ref)):
        times = []
        for _ in range(repeat):
            mats, ut = mats0.copy(), np.eye(m)
            t0 = time.perf_counter()
            gain = fn(mats, weights, ut, pairs)
            times.append(time.perf_counter() - t0)
        res[name] = {"wall_s": min(times), "wall_s_all": times, "gain": gain, "mats": mats, "ut": ut}
    diff = max(float(np.max(np.abs(res["numba"]["mats"] - res["numpy"]["mats"]))),
               float(np.max(np.abs(res["numba"]["ut"] - res["numpy"]["ut"]))))
    speedup = res["numpy"]["wall_s"] / res["numba"]["wall_s"]
    return {"m": m, "pairs": int(len(pairs)), "repeat": repeat,
            "numba_s": res["numba"]["wall_s"], "numba_s_all": res["numba"]["wall_s_all"],
            "numpy_s": res["numpy"]["wall_s"], "numpy_s_all": res["numpy"]["wall_s_all"],
            "speedup": speedup, "meets": speedup >= TARGET_SPEEDUP,
            "rel_diff_gain": abs(res["numba"]["gain"] - res["numpy"]["gain"]) / abs(res["numpy"]["gain"]),
            "max_abs_diff_mats_ut": diff}


def warm_up() -> None:
    """libxc/libcint loading, Numba cache loading, first-call overheads: outside the timings."""
    mol = gto.M(atom="O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587", basis="sto-3g", verbose=0, output=None)
    g = run_state(mol, XC, reference="uks")
    make_losc_correction(mol, g)
    make_losc_correction(mol, g, LoscSettings(kappa_coulomb="df", auxbasis=DF_AUXBASIS))


# -- report -----------------------------------------------------------------------------------------
def _yn(ok: bool) -> str:
    return "yes" if ok else "NO"


def format_table(result: dict) -> str:
    env = result["environment"]
    lines = [
        "deltascf LOSC benchmark: post-SCF LOSC2 on a UKS/B3LYP ground state vs the ground-state SCF",
        f"date {env['date']} | cpu {env['cpu']} ({env['n_cpus_visible']} visible) | python {env['python']} | "
        f"numpy {env['numpy']} | numba {env['numba']} | pyscf {env['pyscf']} | deltascf {env['deltascf']} "
        f"({env['git'] or '?'})",
        f"threads: pyscf {env['pyscf_num_threads']}, numba {env['numba_num_threads']} "
        f"({env['numba_threading_layer']}), OMP_NUM_THREADS={env['thread_env']['OMP_NUM_THREADS']} | "
        f"repeat={result['repeat']} (min) | load average at start {env['load_average'][0]:.2f}",
        "",
    ]
    r = result["losc_run"]
    s = r["scf"]
    head = (f"{'molecule':18s} {'nao':>4s} | {'SCF [s]':>8s} {'cyc':>4s} | {'J':>5s} {'LOSC [s]':>9s} "
            f"{'LOSC/SCF':>8s} {'<=0.25':>6s} | {'sweeps a,b':>10s} {'loc conv':>8s} {'ΔE [Eh]':>10s}")
    lines += [head, "-" * len(head)]
    for k, v in r["losc"].items():
        lines.append(f"{r['label']:18s} {r['nao']:4d} | {s['wall_s']:8.2f} {s['cycles']:4d} | {k:>5s} "
                     f"{v['wall_s']:9.2f} {v['ratio']:8.3f} {_yn(v['meets']):>6s} | "
                     f"{','.join(str(x) for x in v['sweeps']):>10s} {_yn(all(v['localization_converged'])):>8s} "
                     f"{v['de_losc']:10.3e}")
    lines += ["", "LOSC breakdown (one extra call each, both spins, seconds):"]
    keys = list(r["losc"])
    lines.append(f"  {'step':40s} " + " ".join(f"{k:>8s}" for k in keys))
    for st in STEPS:
        lines.append(f"  {STEP_LABELS[st]:40s} " + " ".join(f"{r['losc'][k]['breakdown_s'][st]:8.3f}" for k in keys))
    lines.append(f"  {'sum':40s} " + " ".join(f"{r['losc'][k]['breakdown_total_s']:8.3f}" for k in keys))
    for k, v in r["losc"].items():
        ev = 27.211386245988
        lines.append(f"  {k}: HOMO {v['homo_dfa_eh'][0] * ev:.3f} -> {v['homo_eh'][0] * ev:.3f} eV, "
                     f"LUMO {v['lumo_dfa_eh'][0] * ev:.3f} -> {v['lumo_eh'][0] * ev:.3f} eV (alpha)")
    if "jacobi" in result:
        j = result["jacobi"]
        lines += [
            "",
            f"jacobi_sweep, one full sweep, m={j['m']} ({j['pairs']} pairs), min of {j['repeat']}: "
            f"numba {j['numba_s'] * 1e3:.1f} ms, numpy {j['numpy_s'] * 1e3:.0f} ms, speed-up "
            f"{j['speedup']:.1f}x (>= {TARGET_SPEEDUP:g}: {_yn(j['meets'])}); "
            f"max |Δ| mats,ut {j['max_abs_diff_mats_ut']:.1e}",
        ]
    return "\n".join(lines)


def main(args) -> int:
    name = "water" if args.quick else "benzene"
    out_path = args.out.resolve()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if args.threads is not None:
        lib.num_threads(args.threads)
    env = environment()
    print(f"python {env['python']}, numpy {env['numpy']}, numba {env['numba']}, pyscf {env['pyscf']}, "
          f"deltascf {env['deltascf']}; cpu {env['cpu']}; threads pyscf={env['pyscf_num_threads']} "
          f"numba={env['numba_num_threads']} OMP_NUM_THREADS={env['thread_env']['OMP_NUM_THREADS']}", flush=True)
    warm_up()
    result = {
        "benchmark": "post-SCF LOSC vs parent ground-state SCF; Numba vs NumPy jacobi_sweep",
        "targets": {"losc_over_scf": TARGET_RATIO, "jacobi_speedup": TARGET_SPEEDUP},
        "environment": env, "repeat": args.repeat, "quick": args.quick,
    }
    prof = out_path.with_name(f"{out_path.stem}.{name}.profile.txt") if args.profile else None
    result["losc_run"] = bench_losc(name, args.repeat, not args.no_df, prof)
    if not args.no_kernel:
        result["jacobi"] = bench_jacobi()
    result["environment"]["numba_threading_layer"] = _numba_layer()
    result["environment"]["load_average_end"] = list(os.getloadavg())
    table = format_table(result)
    result["table"] = table
    out_path.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print()
    print(table)
    print(f"\nwritten {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS))

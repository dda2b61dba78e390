#!/usr/bin/env python
"""Benchmark: deltascf excited-state SCF against PySCF's own ground-state UKS.

For each molecule (water/6-31G, benzene/def2-SVP; B3LYP, UKS) this measures, in
one process and one run:

* wall time and Fock builds (``get_veff`` calls) of PySCF's ground-state UKS,
  started from PySCF's default guess;
* wall time and Fock builds of ``deltascf.run_state(..., "a:HOMO->LUMO",
  reference="uks", ground=<that converged PySCF ground state>)``;
* their ratios (targets: <= 1.3 for both);

and, each in a fresh subprocess (``--child``, hidden), the peak resident set
size (``getrusage(RUSAGE_SELF).ru_maxrss``) of

* a baseline child that only imports pyscf + deltascf and builds the molecule,
* a child that runs PySCF's ground-state UKS,
* a child that loads the ground-state orbitals (.npz written by the parent)
  and runs only the deltascf excited-state SCF,

and the ratio excited/ground (target for benzene: <= 1.2), both of the totals
and of the increments over the baseline.

Usage::

    python benchmarks/run.py                 # water + benzene -> benchmarks/results/run.json
    python benchmarks/run.py --quick         # water only
    python benchmarks/run.py --out x.json --threads 2 --repeat 3 --profile

This is a script, not a test: timings on a shared machine are noisy.  With
``--repeat N`` each (PySCF ground, deltascf excited) pair is run N times,
interleaved, and the minimum wall time of each is reported.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "run.json"

XC = "b3lyp"
STATE = "a:HOMO->LUMO"
CONV_TOL = 1e-9          # deltascf's default; used for PySCF too
TARGET_TIME = 1.3
TARGET_FOCK = 1.3
TARGET_MEM = 1.2         # applies to benzene

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


# -- thread setup: must happen before numpy / pyscf are imported ------------------
def _default_threads() -> int:
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return int(os.environ["OMP_NUM_THREADS"])
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"JSON output (default {DEFAULT_OUT.relative_to(HERE.parent)})")
    p.add_argument("--quick", action="store_true", help="water only")
    p.add_argument("--threads", type=int, default=_default_threads(),
                   help="OpenMP/BLAS threads for this process and the children (default: $OMP_NUM_THREADS or all CPUs)")
    p.add_argument("--repeat", type=int, default=1,
                   help="timed repetitions per molecule; the minimum is reported (default 1)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--profile", action="store_true",
                   help="additionally cProfile one PySCF ground and one deltascf excited run per molecule "
                        "(not timed); write the top entries next to --out and a summary into the JSON")
    # hidden child mode
    p.add_argument("--child", choices=("baseline", "ground", "excited"), help=argparse.SUPPRESS)
    p.add_argument("--molecule", help=argparse.SUPPRESS)
    p.add_argument("--npz", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    return args


ARGS = _parse_args() if __name__ == "__main__" else None
_THREADS = ARGS.threads if ARGS is not None else _default_threads()
for _v in THREAD_VARS:
    os.environ[_v] = str(_THREADS)

# Linux carries a process's peak RSS across fork and execve (exec_mmap folds the
# old mm's high-water mark into signal->maxrss), so a child started from this
# process after it has grown would report *our* peak as its ru_maxrss.  The
# memory children are therefore started by a tiny launcher that is spawned now,
# before numpy/pyscf are imported, while this process is still small.
LAUNCHER_SRC = r"""
import json, subprocess, sys
for line in sys.stdin:
    req = json.loads(line)
    p = subprocess.run(req["cmd"], env=req["env"], capture_output=True, text=True)
    sys.stdout.write(json.dumps({"returncode": p.returncode, "stdout": p.stdout, "stderr": p.stderr}) + "\n")
    sys.stdout.flush()
"""
_LAUNCHER = None
if ARGS is not None and not ARGS.child and not ARGS.no_memory:
    _LAUNCHER = subprocess.Popen([sys.executable, "-c", LAUNCHER_SRC], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)

import numpy as np  # noqa: E402
import pyscf  # noqa: E402
from pyscf import dft, gto, lib  # noqa: E402

import deltascf  # noqa: E402
from deltascf import run_state  # noqa: E402

lib.num_threads(_THREADS)


# -- molecules ---------------------------------------------------------------------
def _benzene_atoms(r_cc: float = 1.39, r_ch: float = 1.09):
    """D6h benzene in the xy plane (Angstrom): C on a hexagon of radius r_cc."""
    atoms = []
    for k in range(6):
        phi = np.pi / 3 * k
        c, s = np.cos(phi), np.sin(phi)
        atoms.append(("C", (r_cc * c, r_cc * s, 0.0)))
    for k in range(6):
        phi = np.pi / 3 * k
        c, s = np.cos(phi), np.sin(phi)
        atoms.append(("H", ((r_cc + r_ch) * c, (r_cc + r_ch) * s, 0.0)))
    return atoms


MOLECULES = {
    "water": dict(atom=[("O", (0.0, 0.0, 0.0)), ("H", (0.0, -0.757, 0.587)), ("H", (0.0, 0.757, 0.587))],
                  basis="6-31g", label="water/6-31G"),
    "benzene": dict(atom=_benzene_atoms(), basis="def2-svp", label="benzene/def2-SVP"),
}


def build_mol(name: str):
    spec = MOLECULES[name]
    return gto.M(atom=spec["atom"], basis=spec["basis"], unit="Angstrom", charge=0, spin=0,
                 verbose=0, output=None)


# -- PySCF ground state with a Fock-build counter (benchmark only) -------------------
class _CountVeff:
    """Mixin counting get_veff calls (= Fock builds) of any PySCF SCF object."""

    __name_mixin__ = "CountVeff"
    _keys = {"n_veff"}

    def __init__(self, mf):
        self.__dict__.update(mf.__dict__)
        self.n_veff = 0

    def get_veff(self, *args, **kwargs):
        self.n_veff += 1
        return super().get_veff(*args, **kwargs)


def pyscf_ground(mol):
    """PySCF's own UKS/B3LYP ground state (default guess), counting Fock builds."""
    mf = dft.UKS(mol)
    mf.xc = XC
    mf.conv_tol = CONV_TOL
    mf.verbose = 0
    mf.chkfile = None
    mf = lib.set_class(_CountVeff(mf), (_CountVeff, mf.__class__))
    mf.kernel()
    return mf


class _ClassVeffCounter:
    """Context manager counting every UKS.get_veff call (cross-check of ScfResult.n_fock)."""

    def __enter__(self):
        self.count = 0
        self._orig = dft.uks.UKS.get_veff
        orig = self._orig

        def counted(mf, *args, **kwargs):
            self.count += 1
            return orig(mf, *args, **kwargs)

        dft.uks.UKS.get_veff = counted
        return self

    def __exit__(self, *exc):
        dft.uks.UKS.get_veff = self._orig
        return False


def deltascf_excited(mol, ground):
    return run_state(mol, XC, STATE, reference="uks", ground=ground, conv_tol=CONV_TOL)


# -- environment ---------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment() -> dict:
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pyscf": pyscf.__version__,
        "deltascf": deltascf.__version__,
        "cpu": _cpu_model(),
        "n_cpus_visible": os.cpu_count(),
        "hostname": platform.node(),
        "platform": platform.platform(),
        "pyscf_num_threads": lib.num_threads(),
        "thread_env": {v: os.environ.get(v) for v in THREAD_VARS},
        "pyscf_max_memory_mb": int(lib.param.MAX_MEMORY),
    }


def write_results(path, res: dict) -> None:
    """Write a benchmark's results, with the environment they were measured in, as JSON at path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"environment": environment(), **res}, indent=2) + "\n")
    print(f"written {path}")


def _git_rev() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        rev = out.stdout.strip() or None
        dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain", "--", "deltascf"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"{rev}{'+dirty' if dirty else ''}" if rev else None
    except (OSError, subprocess.SubprocessError):
        return None


# -- child processes (peak memory) ---------------------------------------------------
def _maxrss_mib() -> float:
    import resource
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024.0


def _vmhwm_mib() -> float | None:
    """Peak RSS of this process's current address space (/proc/self/status VmHWM), a cross-check."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def child_main(args) -> None:
    mol = build_mol(args.molecule)
    info = {"mode": args.child, "molecule": args.molecule, "nao": mol.nao_nr(), "threads": lib.num_threads()}
    if args.child == "ground":
        mf = pyscf_ground(mol)
        info.update(converged=bool(mf.converged), e_tot=float(mf.e_tot), n_fock=mf.n_veff)
    elif args.child == "excited":
        with np.load(args.npz) as z:
            holder = dft.UKS(mol)   # plain container for the converged ground orbitals (no SCF run)
            holder.mo_coeff = z["mo_coeff"]
            holder.mo_occ = z["mo_occ"]
        res = deltascf_excited(mol, holder)
        info.update(converged=res.converged, e_tot=res.e_tot, n_fock=res.n_fock, collapsed=res.collapsed)
    info["maxrss_mib"] = _maxrss_mib()
    info["vmhwm_mib"] = _vmhwm_mib()
    print("CHILD-RESULT " + json.dumps(info), flush=True)


def run_child(mode: str, molecule: str, threads: int, npz: str | None = None) -> dict:
    env = dict(os.environ)
    for v in THREAD_VARS:
        env[v] = str(threads)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--molecule", molecule,
           "--threads", str(threads)]
    if npz is not None:
        cmd += ["--npz", npz]
    if _LAUNCHER is None:
        raise RuntimeError("memory children need the launcher (started at import time unless --no-memory)")
    _LAUNCHER.stdin.write(json.dumps({"cmd": cmd, "env": env}) + "\n")
    _LAUNCHER.stdin.flush()
    reply = _LAUNCHER.stdout.readline()
    if not reply:
        raise RuntimeError("the child launcher died")
    proc = subprocess.CompletedProcess(cmd, **json.loads(reply))
    if proc.returncode != 0:
        raise RuntimeError(f"child {mode}/{molecule} failed (rc={proc.returncode}):\n{proc.stderr[-4000:]}")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("CHILD-RESULT "):
            return json.loads(line[len("CHILD-RESULT "):])
    raise RuntimeError(f"child {mode}/{molecule} printed no result:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


# -- main benchmark ------------------------------------------------------------------
def warm_up() -> None:
    """Pay one-time costs (libxc/libcint loading, first-call overheads) outside the timings."""
    mol = gto.M(atom=MOLECULES["water"]["atom"], basis="sto-3g", verbose=0, output=None)
    mf = pyscf_ground(mol)
    deltascf_excited(mol, mf)


#: (file name, function name) -> label; cumulative times reported by --profile
PROFILE_KEYS = {
    ("hf.py", "kernel"): "scf kernel",
    ("uks.py", "get_veff"): "UKS.get_veff",
    ("rks.py", "initialize_grids"): "grid setup",
    ("hf.py", "get_init_guess"): "initial guess",
    ("build.py", "make_mf"): "deltascf make_mf",
    ("mixin.py", "get_occ"): "deltascf get_occ (tracking)",
    ("mixin.py", "get_grad"): "deltascf get_grad",
    ("driver.py", "make_record"): "deltascf make_record",
    ("mixin.py", "make_final_fock"): "deltascf make_final_fock",
    ("tracking.py", "make_target_check"): "deltascf make_target_check",
    ("tracking.py", "make_dm_similarity"): "deltascf make_dm_similarity",
    ("tracking.py", "make_spin_square"): "deltascf make_spin_square",
}


def _profile_summary(stats) -> dict:
    found = {}
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        key = (os.path.basename(filename), func)
        if key in PROFILE_KEYS:
            label = PROFILE_KEYS[key]
            found[label] = max(found.get(label, 0.0), ct)
    total = max(st[3] for st in stats.stats.values())
    return {"total": total, **{label: found[label] for label in PROFILE_KEYS.values() if label in found}}


def profile_runs(mol, ground_mf, path: Path) -> dict:
    """cProfile one PySCF ground state and one deltascf excited state (not part of the timings)."""
    import cProfile
    import io
    import pstats
    buf = io.StringIO()
    summary = {}
    for code, fn in (("pyscf_ground", lambda: pyscf_ground(mol)),
                     ("deltascf_excited", lambda: deltascf_excited(mol, ground_mf))):
        prof = cProfile.Profile()
        prof.enable()
        fn()
        prof.disable()
        st = pstats.Stats(prof, stream=buf)
        summary[code] = _profile_summary(st)
        buf.write(f"\n===== {code}: sorted by cumulative time =====\n")
        st.sort_stats("cumulative").print_stats(40)
        buf.write(f"\n===== {code}: sorted by internal time =====\n")
        st.sort_stats("tottime").print_stats(20)
    path.write_text(buf.getvalue())
    return {"file": str(path), "summary": summary}


def bench_molecule(name: str, repeat: int, tmpdir: Path, do_memory: bool, threads: int,
                   profile_path: Path | None) -> dict:
    mol = build_mol(name)
    label = MOLECULES[name]["label"]
    print(f"[{time.strftime('%H:%M:%S')}] {label}: nao={mol.nao_nr()}, nelec={mol.nelec}", flush=True)
    g_times, x_times = [], []
    mf = res = None
    for i in range(repeat):
        t0 = time.perf_counter()
        mf = pyscf_ground(mol)
        g_times.append(time.perf_counter() - t0)
        print(f"    run {i + 1}/{repeat}: PySCF ground  {g_times[-1]:8.2f} s  cycles={mf.cycles} "
              f"fock={mf.n_veff} converged={mf.converged}", flush=True)
        with _ClassVeffCounter() as counter:
            t0 = time.perf_counter()
            res = deltascf_excited(mol, mf)
            x_times.append(time.perf_counter() - t0)
        print(f"    run {i + 1}/{repeat}: deltascf exc. {x_times[-1]:8.2f} s  cycles={res.cycles} "
              f"fock={res.n_fock} (observed {counter.count}) converged={res.converged} "
              f"collapsed={res.collapsed}", flush=True)
    if not mf.converged or not res.converged or res.collapsed:
        print(f"    WARNING: {label}: ground converged={mf.converged}, excited converged={res.converged}, "
              f"collapsed={res.collapsed}", flush=True)
    t_g, t_x = min(g_times), min(x_times)
    out = {
        "label": label,
        "basis": MOLECULES[name]["basis"],
        "nao": mol.nao_nr(),
        "nelec": list(mol.nelec),
        "ground": {
            "code": "pyscf.dft.UKS", "wall_s": t_g, "wall_s_all": g_times, "n_fock": int(mf.n_veff),
            "cycles": int(mf.cycles), "converged": bool(mf.converged), "e_tot": float(mf.e_tot),
        },
        "excited": {
            "code": f"deltascf.run_state(state={STATE!r}, reference='uks', ground=<pyscf mf>)",
            "wall_s": t_x, "wall_s_all": x_times, "n_fock": int(res.n_fock),
            "n_fock_observed": int(counter.count), "cycles": int(res.cycles),
            "converged": bool(res.converged), "collapsed": bool(res.collapsed), "e_tot": float(res.e_tot),
            "s2": float(res.s2), "max_grad": float(res.max_grad),
            "excitation_ev": float((res.e_tot - mf.e_tot) * 27.211386245988),
        },
        "ratio_time": t_x / t_g,
        "ratio_fock": res.n_fock / mf.n_veff,
    }
    out["meets_time"] = out["ratio_time"] <= TARGET_TIME
    out["meets_fock"] = out["ratio_fock"] <= TARGET_FOCK

    if profile_path is not None:
        out["profile"] = profile_runs(mol, mf, profile_path)
        print(f"    profile written to {profile_path}", flush=True)
        for code, summary in out["profile"]["summary"].items():
            parts = ", ".join(f"{k} {v:.2f}" for k, v in summary.items())
            print(f"    profile {code}: {parts} [s]", flush=True)

    if do_memory:
        npz = tmpdir / f"{name}_ground.npz"
        np.savez(npz, mo_coeff=np.asarray(mf.mo_coeff), mo_occ=np.asarray(mf.mo_occ))
        mem = {}
        for mode in ("baseline", "ground", "excited"):
            t0 = time.perf_counter()
            mem[mode] = run_child(mode, name, threads, str(npz) if mode == "excited" else None)
            m = mem[mode]
            print(f"    memory child {mode:8s}: peak RSS {m['maxrss_mib']:8.1f} MiB (VmHWM {m['vmhwm_mib']:.1f} MiB, "
                  f"{time.perf_counter() - t0:.1f} s)", flush=True)
            if m["vmhwm_mib"] is not None and abs(m["maxrss_mib"] - m["vmhwm_mib"]) > 5.0:
                print("    WARNING: ru_maxrss and VmHWM disagree; ru_maxrss may include an inherited peak", flush=True)
        base = mem["baseline"]["maxrss_mib"]
        inc_g = mem["ground"]["maxrss_mib"] - base
        inc_x = mem["excited"]["maxrss_mib"] - base
        out["memory"] = {
            "children": mem,
            "baseline_mib": base,
            "ground_mib": mem["ground"]["maxrss_mib"],
            "excited_mib": mem["excited"]["maxrss_mib"],
            "ratio": mem["excited"]["maxrss_mib"] / mem["ground"]["maxrss_mib"],
            "ground_increment_mib": inc_g,
            "excited_increment_mib": inc_x,
            "ratio_increment": inc_x / inc_g if inc_g > 0 else None,
        }
        out["memory"]["meets"] = out["memory"]["ratio"] <= TARGET_MEM
    return out


def _yn(ok) -> str:
    return "n/a" if ok is None else ("yes" if ok else "NO")


def format_table(result: dict) -> str:
    env = result["environment"]
    lines = [
        "deltascf benchmark: ΔSCF excited state (a:HOMO->LUMO, UKS/B3LYP, IMOM, from converged ground) "
        "vs PySCF ground-state UKS",
        f"date {env['date']} | cpu {env['cpu']} | python {env['python']} | numpy {env['numpy']} | "
        f"pyscf {env['pyscf']} | deltascf {env['deltascf']} ({result.get('git') or '?'})",
        f"threads: pyscf.lib.num_threads()={env['pyscf_num_threads']}, "
        f"OMP_NUM_THREADS={env['thread_env']['OMP_NUM_THREADS']} "
        f"| conv_tol={CONV_TOL:g} | repeat={result['repeat']} (min wall time)",
        "",
        f"{'molecule':18s} {'nao':>4s} | {'PySCF gs [s]':>12s} {'cyc':>4s} {'Fock':>5s} | "
        f"{'ΔSCF exc [s]':>12s} {'cyc':>4s} {'Fock':>5s} | {'t ratio':>7s} {'F ratio':>7s} | "
        f"{'t<=1.3':>6s} {'F<=1.3':>6s}",
    ]
    lines.append("-" * len(lines[-1]))
    for r in result["molecules"].values():
        g, x = r["ground"], r["excited"]
        lines.append(
            f"{r['label']:18s} {r['nao']:4d} | {g['wall_s']:12.2f} {g['cycles']:4d} {g['n_fock']:5d} | "
            f"{x['wall_s']:12.2f} {x['cycles']:4d} {x['n_fock']:5d} | {r['ratio_time']:7.2f} {r['ratio_fock']:7.2f} | "
            f"{_yn(r['meets_time']):>6s} {_yn(r['meets_fock']):>6s}")
    for r in result["molecules"].values():
        x = r["excited"]
        lines.append(f"  {r['label']}: excitation {x['excitation_ev']:.3f} eV, <S^2>={x['s2']:.3f}, "
                     f"converged={x['converged']}, collapsed={x['collapsed']}")
    mems = [r for r in result["molecules"].values() if "memory" in r]
    if mems:
        lines += [
            "",
            "peak RSS (ru_maxrss, fresh subprocess each; baseline = import pyscf+deltascf and build mol)",
            f"{'molecule':18s} | {'base MiB':>8s} {'gs MiB':>8s} {'exc MiB':>8s} {'ratio':>6s} | "
            f"{'+gs MiB':>8s} {'+exc MiB':>8s} {'ratio':>6s} | {'<=1.2':>5s}",
        ]
        lines.append("-" * len(lines[-1]))
        for r in mems:
            m = r["memory"]
            ri = "n/a" if m["ratio_increment"] is None else f"{m['ratio_increment']:6.2f}"
            target = _yn(m["meets"]) if r["label"].startswith("benzene") else f"({_yn(m['meets'])})"
            lines.append(
                f"{r['label']:18s} | {m['baseline_mib']:8.1f} {m['ground_mib']:8.1f} {m['excited_mib']:8.1f} "
                f"{m['ratio']:6.2f} | {m['ground_increment_mib']:8.1f} {m['excited_increment_mib']:8.1f} {ri:>6s} | "
                f"{target:>5s}")
        lines.append("(memory target applies to benzene; water shown in parentheses for information)")
    return "\n".join(lines)


def main(args) -> int:
    names = ["water"] if args.quick else ["water", "benzene"]
    env = environment()
    print(f"python {env['python']}, numpy {env['numpy']}, pyscf {env['pyscf']}, deltascf {env['deltascf']}; "
          f"cpu {env['cpu']}; threads pyscf={env['pyscf_num_threads']} "
          f"OMP_NUM_THREADS={env['thread_env']['OMP_NUM_THREADS']}",
          flush=True)
    warm_up()
    out_path = args.out.resolve()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "deltascf excited-state SCF vs PySCF ground-state UKS",
        "settings": {"xc": XC, "state": STATE, "reference": "uks", "tracking": "imom", "conv_tol": CONV_TOL,
                     "targets": {"time_ratio": TARGET_TIME, "fock_ratio": TARGET_FOCK,
                                 "memory_ratio_benzene": TARGET_MEM}},
        "environment": env,
        "git": _git_rev(),
        "repeat": args.repeat,
        "quick": args.quick,
        "molecules": {},
    }
    with tempfile.TemporaryDirectory(prefix="deltascf-bench-") as tmp:
        for name in names:
            prof = out_path.with_name(f"{out_path.stem}.{name}.profile.txt") if args.profile else None
            result["molecules"][name] = bench_molecule(name, args.repeat, Path(tmp), not args.no_memory,
                                                       args.threads, prof)
    table = format_table(result)
    result["table"] = table
    out_path.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(table)
    print(f"\nwritten {out_path}")
    return 0


if __name__ == "__main__":
    if ARGS.child:
        child_main(ARGS)
    else:
        try:
            rc = main(ARGS)
        finally:
            if _LAUNCHER is not None:
                _LAUNCHER.stdin.close()
                _LAUNCHER.wait()
        sys.exit(rc)

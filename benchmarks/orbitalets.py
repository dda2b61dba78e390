#!/usr/bin/env python
"""Benchmark: LOSC orbitalets and post-SCF LOSC at growing size, against the ΔSCF state they correct.

For three linear acenes in def2-SVP (naphthalene, tetracene, hexacene: 180, 312 and
444 AO; ``--quick``: benzene, naphthalene, anthracene in STO-3G), B3LYP, UKS, density
fitting with def2-universal-jkfit, one process, one run:

* wall time of the ΔSCF state ``run_state(mol, "b3lyp", "a:HOMO->LUMO", ground=...)``
  from the converged ground state (the "SCF" of the ratios);
* wall time of ``make_orbitalet_sets`` (both spins; this is where LOSC and lrLOSC take
  their orbitalets, ``deltascf.corrections.lrlosc`` calls it too) with the default
  Jacobi sweeps, and with ``skip=0`` (every pair rotated: the sweeps before issue 15);
* wall time of the whole post-SCF LOSC (``make_losc_correction`` with the Coulomb
  curvature fitted in the same auxiliary basis as the SCF) and its steps;
* with ``skip=0``, LOSC's α HOMO and LUMO energies on both sets of orbitalets;
* ratios to the SCF (target: orbitalets ≤ 0.25 up to 500 AO), and the scaling
  exponents d log t / d log n_AO between sizes.

Usage::

    python benchmarks/orbitalets.py                # -> benchmarks/results/orbitalets.json (about 15 min, 2 cores)
    python benchmarks/orbitalets.py --quick        # STO-3G (under a minute)
    python benchmarks/orbitalets.py --sizes 2,4 --no-full-sweeps

A script, not a test: read the ratios within one run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "orbitalets.json"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")

XC = "b3lyp"
STATE = "a:HOMO->LUMO"
AUXBASIS = "def2-universal-jkfit"
TARGET_RATIO = 0.25
NAMES = {1: "benzene", 2: "naphthalene", 3: "anthracene", 4: "tetracene", 5: "pentacene", 6: "hexacene"}


def _parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="STO-3G, rings 1,2,3")
    p.add_argument("--sizes", default=None, help="ring counts, comma-separated (default 2,4,6; --quick 1,2,3)")
    p.add_argument("--basis", default=None, help="basis (default def2-svp; --quick sto-3g)")
    p.add_argument("--no-full-sweeps", action="store_true", help="skip the skip=0 localization (the old sweeps)")
    p.add_argument("--threads", type=int, default=None, help="OpenMP/BLAS/Numba threads (default: all)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"JSON output (default {DEFAULT_OUT.relative_to(HERE.parent)})")
    args = p.parse_args(argv)
    try:
        args.sizes = [int(x) for x in (args.sizes or ("1,2,3" if args.quick else "2,4,6")).split(",")]
    except ValueError:
        p.error("--sizes takes ring counts such as 2,4,6")
    if not all(1 <= n <= 6 for n in args.sizes):
        p.error("--sizes: ring counts from 1 to 6")
    args.basis = args.basis or ("sto-3g" if args.quick else "def2-svp")
    return args


ARGS = _parse_args() if __name__ == "__main__" else None
if ARGS is not None and ARGS.threads is not None:  # before numpy / numba are imported
    for _v in THREAD_VARS:
        os.environ[_v] = str(ARGS.threads)

sys.path.insert(0, str(HERE))
from losc import environment  # noqa: E402

import numpy as np  # noqa: E402
from pyscf import gto, lib  # noqa: E402
from pyscf.data.nist import HARTREE2EV  # noqa: E402

from deltascf import run_state  # noqa: E402
from deltascf.corrections.losc import (  # noqa: E402
    LoscSettings,
    make_coulomb_diag,
    make_grid_integrals,
    make_losc_correction,
    make_orbitalet_sets,
)


def acene(n: int, r_cc: float = 1.40, r_ch: float = 1.09) -> list:
    """Linear acene with ``n`` rings in the xy plane: regular hexagons of side r_cc sharing their vertical edges."""
    half = r_cc * np.sqrt(3.0) / 2.0
    carbons = sorted({(round(2.0 * half * i + r_cc * np.cos(a), 6), round(r_cc * np.sin(a), 6))
                      for i in range(n) for a in np.pi / 2 + np.arange(6) * np.pi / 3})
    xy = np.array(carbons)
    atoms = [("C", (x, y, 0.0)) for x, y in carbons]
    for p in xy:  # an H on each carbon with two carbon neighbours, along the bisector
        d = np.linalg.norm(xy - p, axis=1)
        nb = xy[(d > 0.1) & (d < 1.1 * r_cc)]
        if len(nb) == 2:
            v = p - nb.mean(axis=0)
            h = p + r_ch * v / np.linalg.norm(v)
            atoms.append(("H", (h[0], h[1], 0.0)))
    return atoms


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def bench_size(n: int, basis: str, full_sweeps: bool) -> dict:
    mol = gto.M(atom=acene(n), basis=basis, verbose=0, output=None)
    ground, t_ground = _timed(run_state, mol, XC, reference="uks", density_fit=AUXBASIS)
    state, t_scf = _timed(run_state, mol, XC, STATE, reference="uks", density_fit=AUXBASIS, ground=ground)
    settings = LoscSettings(kappa_coulomb="df", auxbasis=AUXBASIS)
    sets, t_orb = _timed(make_orbitalet_sets, mol, state, settings)
    c_lo, _, conv, sweeps, _ = sets
    out = {"molecule": NAMES[n], "basis": basis, "nao": mol.nao, "natm": mol.natm,
           "ground_s": t_ground, "scf_s": t_scf, "scf_cycles": state.cycles, "converged": state.converged,
           "orbitalets_s": t_orb, "sweeps": list(sweeps), "localization_converged": list(conv),
           "orbitalets_ratio": t_orb / t_scf}
    _, out["coulomb_s"] = _timed(make_coulomb_diag, mol, c_lo, "df", AUXBASIS)
    _, out["grid_s"] = _timed(make_grid_integrals, mol, c_lo, state.method.grid_level)
    losc, out["losc_s"] = _timed(make_losc_correction, mol, state, settings)
    out["losc_ratio"] = out["losc_s"] / t_scf
    out["de_losc"] = losc.de_losc
    if full_sweeps:
        full, out["orbitalets_full_s"] = _timed(make_orbitalet_sets, mol, state,
                                                LoscSettings(kappa_coulomb="df", auxbasis=AUXBASIS, loc_skip=0.0))
        out["sweeps_full"] = list(full[3])
        out["orbitalets_full_ratio"] = out["orbitalets_full_s"] / t_scf
        out["speedup_skip"] = out["orbitalets_full_s"] / t_orb
        # the same orbitalets up to the precision of the stopping test (theory §5.3), and what LOSC makes of them
        full_losc = make_losc_correction(mol, state, LoscSettings(kappa_coulomb="df", auxbasis=AUXBASIS, loc_skip=0.0))
        homo, lumo = _frontier(state)
        out["de_losc_full"] = full_losc.de_losc
        out["frontier_ev_skip"] = [float(losc.mo_energy[0][i] * HARTREE2EV) for i in (homo, lumo)]
        out["frontier_ev_full"] = [float(full_losc.mo_energy[0][i] * HARTREE2EV) for i in (homo, lumo)]
        out["max_frontier_diff_ev"] = float(np.max(np.abs(np.subtract(out["frontier_ev_skip"],
                                                                      out["frontier_ev_full"]))))
        s1e = mol.intor_symmetric("int1e_ovlp")
        out["min_overlap_full_vs_skip"] = float(min(np.abs(a.T @ s1e @ b).max(axis=0).min()
                                                    for a, b in zip(full[0], c_lo)))
    return out


def _frontier(state) -> tuple:
    """α HOMO and LUMO of the state: highest occupied and lowest empty by orbital energy."""
    occ, e = state.mo_occ[0], state.mo_energy[0]
    filled, empty = np.flatnonzero(occ > 0.5), np.flatnonzero(occ < 0.5)
    return int(filled[np.argmax(e[filled])]), int(empty[np.argmin(e[empty])])


def exponents(rows: list, key: str) -> list:
    """d log t / d log n_AO between consecutive sizes."""
    return [float(np.log(b[key] / a[key]) / np.log(b["nao"] / a["nao"])) for a, b in zip(rows, rows[1:])]


def format_table(result: dict) -> str:
    env, rows = result["environment"], result["sizes"]
    full = "orbitalets_full_s" in rows[0]
    lines = [f"deltascf orbitalet cost at size: {XC} UKS, DF {AUXBASIS}, state {STATE}",
             f"date {env['date']} | cpu {env['cpu']} ({env['n_cpus_visible']} visible) | numba {env['numba']} | "
             f"pyscf {env['pyscf']} | git {env['git'] or '?'} | threads pyscf {env['pyscf_num_threads']}", ""]
    head = (f"{'molecule':12s} {'nao':>4s} | {'SCF [s]':>8s} {'cyc':>3s} | {'orb [s]':>8s} {'sweeps a,b':>10s} "
            f"{'orb/SCF':>7s} {'<=0.25':>6s} | {'J [s]':>6s} {'grid [s]':>8s} {'LOSC [s]':>8s} {'LOSC/SCF':>8s}")
    if full:
        head += f" | {'full [s]':>8s} {'sweeps':>9s} {'speed-up':>8s} {'1-overlap':>9s} {'Δε [eV]':>8s}"
    lines += [head, "-" * len(head)]
    for r in rows:
        line = (f"{r['molecule']:12s} {r['nao']:4d} | {r['scf_s']:8.1f} {r['scf_cycles']:3d} | "
                f"{r['orbitalets_s']:8.2f} "
                f"{','.join(map(str, r['sweeps'])):>10s} {r['orbitalets_ratio']:7.3f} "
                f"{'yes' if r['orbitalets_ratio'] <= TARGET_RATIO else 'NO':>6s} | {r['coulomb_s']:6.2f} "
                f"{r['grid_s']:8.2f} {r['losc_s']:8.2f} {r['losc_ratio']:8.3f}")
        if full:
            line += (f" | {r['orbitalets_full_s']:8.2f} {','.join(map(str, r['sweeps_full'])):>9s} "
                     f"{r['speedup_skip']:7.2f}x {1 - r['min_overlap_full_vs_skip']:9.1e} "
                     f"{r['max_frontier_diff_ev']:8.1e}")
        lines.append(line)
    if len(rows) > 1:
        lines.append("")
        for key, label in (("scf_s", "SCF"), ("orbitalets_s", "orbitalets"), ("losc_s", "LOSC")):
            lines.append(f"scaling exponent d log t / d log nao, {label:10s}: "
                         + ", ".join(f"{x:.2f}" for x in result["exponents"][key]))
    return "\n".join(lines)


def main(args) -> int:
    out_path = args.out.resolve()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if args.threads is not None:
        lib.num_threads(args.threads)
    env = environment()
    bench_size(1, "sto-3g", False)  # warm-up: libxc, Numba cache, DF code paths
    rows = []
    for n in args.sizes:
        rows.append(bench_size(n, args.basis, not args.no_full_sweeps))
        print(f"  {rows[-1]['molecule']}: nao {rows[-1]['nao']}, SCF {rows[-1]['scf_s']:.1f} s, "
              f"orbitalets {rows[-1]['orbitalets_s']:.2f} s", flush=True)
    result = {"benchmark": "LOSC orbitalets and post-SCF LOSC at size vs the ΔSCF state",
              "target_orbitalets_over_scf": TARGET_RATIO, "environment": env, "sizes": rows,
              "exponents": {k: exponents(rows, k) for k in ("scf_s", "orbitalets_s", "losc_s")}}
    result["environment"]["load_average_end"] = list(os.getloadavg())
    print(format_table(result))
    out_path.write_text(json.dumps(result, indent=2))
    print(f"\nwritten {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS))

#!/usr/bin/env python
"""Benchmark: post-SCF GSC2 and lrLOSC (curvatures from linear response) against the SCF of the same state.

For each molecule (water/6-31G, benzene/def2-SVP; UKS B3LYP) and state (the ground state and its α HOMO→LUMO
ΔSCF state) the script times, in one run:

* the SCF of the state (the ground state from PySCF's guess; the ΔSCF state from the converged ground state,
  as ``deltascf run`` does), with its Fock builds (``ScfResult.n_fock``);
* ``run_correction`` with ``correction="gsc2"``: the frontier orbitals of each spin (identical spins are solved
  once), relaxed κ, with its response-kernel calls (each about one Fock build: its grid part costs the same
  for one density or several), the densities passed through them, and its Krylov iterations;
* ``run_correction`` with ``correction="lrlosc"``: LOSC2's orbitalets and the relaxed κ of the active ones,
  measured the same way;
* each correction with and without its grid check (theory §6.4), which evaluates the xc kernel again on a
  grid two levels finer.

Targets (issue 15): GSC2 frontier κ costs ≤ 0.5× one SCF of the same state, in wall time and in Fock-equivalent
builds; lrLOSC on benzene/def2-SVP ≤ 2× the SCF.  Timings are the minimum of ``--repeat`` runs.

Usage::

    python benchmarks/screened.py              # water and benzene -> benchmarks/results/screened.json
    python benchmarks/screened.py --quick      # water only
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import build_mol, write_results  # noqa: E402

from deltascf import Correction, Method, run_state  # noqa: E402
from deltascf.corrections import get_correction, run_correction  # noqa: E402

TARGETS = {"gsc2": 0.5, "lrlosc": 2.0}
STATES = ("ground", "a:HOMO->LUMO")


def measure(name: str, repeat: int) -> list:
    mol = build_mol(name)
    method = Method(xc="b3lyp")
    rows = []
    ground = None
    for spec in STATES:
        best_scf = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            state = run_state(mol, method=method) if spec == "ground" else \
                run_state(mol, method=method, state=spec, ground=ground)
            best_scf = min(best_scf, time.perf_counter() - t0)
        if spec == "ground":
            ground = state
        for kind, grid_check in ((k, g) for k in TARGETS for g in (True, False)):
            best = float("inf")
            impl = get_correction(kind)
            method = Method(xc="b3lyp", correction=Correction(kind, "post", impl.Settings(grid_check=grid_check)))
            for _ in range(repeat):
                t0 = time.perf_counter()
                corr = run_correction(mol, state, method)
                best = min(best, time.perf_counter() - t0)
            nlo = [c.shape[1] for c in corr.c_lo] if kind == "lrlosc" else None
            rows.append({"molecule": name, "nao": mol.nao, "state": spec, "correction": kind,
                         "grid_check": grid_check, "scf_s": best_scf,
                         "scf_fock": state.n_fock, "scf_cycles": state.cycles, "corr_s": best,
                         "calls": corr.kernel_calls, "applications": corr.applications,
                         "iterations": corr.iterations, "orbitals": [list(o) for o in corr.orbitals],
                         "active_orbitalets": nlo, "time_ratio": best / best_scf,
                         "fock_ratio": corr.kernel_calls / state.n_fock, "converged": corr.converged,
                         "target": TARGETS[kind]})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="water only")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--out", type=Path, default=HERE / "results" / "screened.json")
    args = p.parse_args(argv)
    names = ["water"] if args.quick else ["water", "benzene"]
    rows = [r for name in names for r in measure(name, args.repeat)]
    print("deltascf screened-curvature benchmark: GSC2 and lrLOSC (relaxed κ) against the SCF of the same state, "
          "UKS B3LYP")
    head = (f"{'molecule':8} {'nao':>4} {'state':14} {'corr':6} {'grid':4} | {'SCF s':>6} {'Fock':>4} | {'corr s':>6} "
            f"{'calls':>5} {'iter':>4} {'dens':>5} | {'t ratio':>7} {'F ratio':>7} | target")
    print(head)
    print("-" * len(head))
    for r in rows:
        ok = "yes" if max(r["time_ratio"], r["fock_ratio"]) <= r["target"] else "no"
        print(f"{r['molecule']:8} {r['nao']:4d} {r['state']:14} {r['correction']:6} "
              f"{'yes' if r['grid_check'] else 'no':4} | {r['scf_s']:6.2f} "
              f"{r['scf_fock']:4d} | {r['corr_s']:6.2f} {r['calls']:5d} {r['iterations']:4d} "
              f"{r['applications']:5d} | {r['time_ratio']:7.2f} {r['fock_ratio']:7.2f} | <= {r['target']:g} {ok}")
    write_results(args.out, {"targets": TARGETS, "repeat": args.repeat, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())

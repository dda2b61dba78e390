#!/usr/bin/env python
"""Benchmark: analytic gradient of a ΔSCF state against PySCF's gradient of its own ground state.

For each molecule (water/6-31G, benzene/def2-SVP; UKS B3LYP) this times, in one run:

* PySCF's ``nuc_grad_method().kernel()`` on PySCF's converged UKS ground state;
* ``deltascf.gradients.make_gradient`` on the α HOMO→LUMO ΔSCF state (theory (1.9));

both without and with the DFT grid's response, and their ratio (target, issue 12: ≤ 1.2).  Timings are the
minimum of ``--repeat`` runs.

Usage::

    python benchmarks/gradients.py            # water and benzene -> benchmarks/results/gradients.json
    python benchmarks/gradients.py --quick    # water only
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import build_mol, write_results  # noqa: E402

from pyscf import dft  # noqa: E402

from deltascf import run_state  # noqa: E402
from deltascf.gradients import make_gradient  # noqa: E402

TARGET = 1.2


def _best(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def measure(name: str, repeat: int) -> list:
    mol = build_mol(name)
    mf = dft.UKS(mol)
    mf.xc = "b3lyp"
    mf.conv_tol = 1e-9
    mf.kernel()
    ground = run_state(mol, "b3lyp")
    state = run_state(mol, "b3lyp", "a:HOMO->LUMO", ground=ground)
    rows = []
    for grid_response in (False, True):
        def pyscf_grad():
            g = mf.nuc_grad_method()
            g.grid_response = grid_response
            return g.kernel()

        t_pyscf, _ = _best(pyscf_grad, repeat)
        t_ours, _ = _best(lambda: make_gradient(mol, state, grid_response=grid_response), repeat)
        rows.append({"molecule": name, "nao": mol.nao_nr(), "grid_response": grid_response, "pyscf_ground_s": t_pyscf,
                     "deltascf_state_s": t_ours, "ratio": t_ours / t_pyscf, "target": TARGET})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="water only")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=Path, default=HERE / "results" / "gradients.json")
    args = p.parse_args(argv)
    names = ["water"] if args.quick else ["water", "benzene"]
    rows = [r for name in names for r in measure(name, args.repeat)]
    print("deltascf gradient benchmark: ΔSCF state (a:HOMO->LUMO) against PySCF's ground-state gradient, UKS B3LYP")
    head = f"{'molecule':8} {'nao':>4} {'grid resp':>9} | {'PySCF ground s':>14} {'ΔSCF state s':>12} | {'ratio':>6} | target"
    print(head)
    print("-" * len(head))
    for r in rows:
        ok = "yes" if r["ratio"] <= r["target"] else "no"
        print(f"{r['molecule']:8} {r['nao']:4d} {'yes' if r['grid_response'] else 'no':>9} | "
              f"{r['pyscf_ground_s']:14.2f} {r['deltascf_state_s']:12.2f} | {r['ratio']:6.2f} | <= {r['target']:g} {ok}")
    write_results(args.out, {"target": TARGET, "repeat": args.repeat, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())

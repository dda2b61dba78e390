#!/usr/bin/env python
"""Benchmark: the saddle-point solver (``solver="newton"``, theory §1.9) against DIIS + IMOM, state by state.

Every state tried while the solver was built, solved both ways from the same converged ground state, in one
run: converged or not, collapsed or not (with the reason), Fock-equivalent builds (``ScfResult.n_fock``:
Fock builds, plus response-kernel calls for Newton), wall time, the excitation energy, the overlap with the
target and ⟨S²⟩, and the Newton/DIIS ratios of time and builds.  ``max_cycle`` is 100 for both.

Usage::

    python benchmarks/solvers.py            # every state -> benchmarks/results/solvers.json
    python benchmarks/solvers.py --quick    # the water states and one charge-transfer state
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import write_results  # noqa: E402

from pyscf import gto  # noqa: E402

from deltascf import run_state  # noqa: E402

HARTREE2EV = 27.21138602
WATER = "O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692"
NH3_F2 = "N 0 0 0; H 0 0.94 0.38; H 0.81 -0.47 0.38; H -0.81 -0.47 0.38; F 0 0 -3.5; F 0 0 -4.92"
OZONE = "O 0 0 0; O 0 1.0885 0.6697; O 0 -1.0885 0.6697"


def etf(d: float) -> str:
    """Ethylene stacked over tetrafluoroethylene at ``d`` Angstrom."""
    return (f"C 0 0.6695 0; C 0 -0.6695 0; H 0.9289 1.2321 0; H -0.9289 1.2321 0; H 0.9289 -1.2321 0; "
            f"H -0.9289 -1.2321 0; C 0 0.665 {d}; C 0 -0.665 {d}; F 1.09 1.35 {d}; F -1.09 1.35 {d}; "
            f"F 1.09 -1.35 {d}; F -1.09 -1.35 {d}")


#: (name, atoms, basis, spin, xc, reference, spec); the first five are --quick
CASES = [
    ("water", WATER, "6-31g", 0, "b3lyp", "uks", "a:HOMO->LUMO"),
    ("water RKS", WATER, "6-31g", 0, "b3lyp", "rks", "HOMO->LUMO"),
    ("water fractional", WATER, "6-31g", 0, "b3lyp", "uks", "a:HOMO=0.5"),
    ("water O1s hole", WATER, "6-31g", 0, "b3lyp", "uks", "core:O1s"),
    ("ETF 5.5 A CT", etf(5.5), "6-31+g", 0, "hf", "uhf", "a:HOMO->LUMO"),
    ("ETF 5.0 A CT", etf(5.0), "6-31g", 0, "hf", "uhf", "a:HOMO->LUMO"),
    ("ETF 5.0 A CT", etf(5.0), "6-31+g", 0, "hf", "uhf", "a:HOMO->LUMO"),
    ("ETF 6.0 A", etf(6.0), "6-31+g", 0, "hf", "uhf", "a:HOMO->LUMO"),
    ("ETF 4.0 A", etf(4.0), "6-31g", 0, "hf", "uhf", "a:HOMO->LUMO"),
    ("ETF 6.0 A", etf(6.0), "6-31g", 0, "hf", "uhf", "a:HOMO->LUMO"),
    ("ETF 5.0 A", etf(5.0), "6-31g", 0, "b3lyp", "uks", "a:HOMO->LUMO"),
    ("NH3-F2 CT", NH3_F2, "6-31g", 0, "hf", "uhf", "a:HOMO->LUMO"),
    ("NH3-F2 CT", NH3_F2, "6-31+g", 0, "b3lyp", "uks", "a:HOMO->LUMO"),
    ("water double", WATER, "aug-cc-pvtz", 0, "hf", "uhf", "a:HOMO->LUMO,b:HOMO->LUMO"),
    ("water double", WATER, "aug-cc-pvdz", 0, "b3lyp", "uks", "a:HOMO->LUMO+1,b:HOMO->LUMO+1"),
    ("NH3 Rydberg", "N 0 0 0.1173; H 0 0.9377 -0.2737; H 0.8121 -0.4689 -0.2737; H -0.8121 -0.4689 -0.2737",
     "aug-cc-pvtz", 0, "hf", "uhf", "a:HOMO->LUMO+1"),
    ("ozone", OZONE, "6-31g", 0, "hf", "uhf", "a:HOMO->LUMO"),
    ("ozone double", OZONE, "6-31g", 0, "hf", "uhf", "a:HOMO->LUMO,b:HOMO->LUMO"),
    ("CN radical", "C 0 0 0; N 0 0 1.172", "6-31g", 1, "hf", "uhf", "a:HOMO-1->LUMO"),
    ("N2 N1s hole", "N 0 0 0; N 0 0 1.098", "cc-pcvdz", 0, "hf", "uhf", "core:N1s"),
    ("CO O1s->LUMO", "C 0 0 0; O 0 0 1.128", "aug-cc-pvdz", 0, "b3lyp", "uks", "core:O1s->LUMO"),
]


def measure(case) -> dict:
    name, atom, basis, spin, xc, ref, spec = case
    mol = gto.M(atom=atom, basis=basis, spin=spin, verbose=0)
    ground = run_state(mol, xc, "ground", reference=ref)
    row = {"name": name, "basis": basis, "xc": xc, "reference": ref, "spec": spec, "nao": mol.nao_nr()}
    for solver in ("diis", "newton"):
        t0 = time.perf_counter()
        r = run_state(mol, xc, spec, ground=ground, reference=ref, solver=solver, max_cycle=100)
        row[solver] = {"seconds": time.perf_counter() - t0, "converged": r.converged, "collapsed": r.collapsed,
                       "reason": r.collapse_reason, "fock": r.n_fock, "cycles": r.cycles,
                       "de_ev": (r.e_tot - ground.e_tot) * HARTREE2EV, "overlap": r.target_overlap.min(),
                       "s2": r.s2}
    d, n = row["diis"], row["newton"]
    row["time_ratio"] = n["seconds"] / d["seconds"]
    row["fock_ratio"] = n["fock"] / d["fock"]
    row["same_state"] = bool(d["converged"] and n["converged"] and abs(d["de_ev"] - n["de_ev"]) < 1e-5)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="the first five states")
    p.add_argument("--out", type=Path, default=HERE / "results" / "solvers.json")
    args = p.parse_args(argv)
    cases = CASES[:5] if args.quick else CASES
    print("deltascf saddle-point solver: Newton (theory §1.9) against DIIS + IMOM, max_cycle 100")
    head = (f"{'state':18} {'basis':12} {'xc':5} {'spec':27} | {'DIIS':^30} | {'Newton':^30} | {'t ratio':>7} "
            f"{'F ratio':>7}")
    sub = f"{'conv':>4} {'coll':>4} {'Fock':>5} {'s':>6} {'dE/eV':>8}"
    print(head)
    print(f"{'':66} | {sub} | {sub} |")
    print("-" * len(head))
    rows = []
    for case in cases:
        row = measure(case)
        rows.append(row)
        cells = [f"{'yes' if x['converged'] else 'NO':>4} {'YES' if x['collapsed'] else 'no':>4} {x['fock']:5d} "
                 f"{x['seconds']:6.1f} {x['de_ev']:8.3f}" for x in (row["diis"], row["newton"])]
        print(f"{row['name']:18} {row['basis']:12} {row['xc']:5} {row['spec']:27} | {cells[0]} | {cells[1]} | "
              f"{row['time_ratio']:7.2f} {row['fock_ratio']:7.2f}", flush=True)
    fails = [r for r in rows if not r["diis"]["converged"] or r["diis"]["collapsed"]]
    rescued = [r for r in fails if r["newton"]["converged"] and not r["newton"]["collapsed"]]
    agree = [r for r in rows if r["same_state"]]
    print(f"\nDIIS failed or collapsed on {len(fails)} states; Newton converged without collapse on {len(rescued)} of "
          f"them.  Both converged to the same energy (1e-5 eV) on {len(agree)} of {len(rows)} states.")
    write_results(args.out, {"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())

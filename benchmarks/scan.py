#!/usr/bin/env python
"""Benchmark: an 11-point scf charge scan against 11 cold single-point SCFs.

For water/6-31G and benzene/def2-SVP with B3LYP (UKS), in one process and one run:

* the scan: ``scan_charge(mol, "b3lyp", "a:HOMO->LUMO", "add:a:LUMO+1", ground=g)``
  (11 points δ = 0, 0.1, …, 1, converging the excited state I from the ground
  state ``g`` and then walking, each point warm-started from its neighbour);
* the cold reference: for each of the same δ, an independent
  ``run_state(mol, "b3lyp", "a:HOMO->LUMO,a:LUMO+1=δ", ground=g)``, i.e. an SCF
  started from the ground-state orbitals;

and reports wall(scan) / wall(cold), the mean number of Fock builds per interior
point, and the scan's Janak residual.  Targets: ratio <= 0.5, builds <= 6 (issue 15:
ratio <= 0.4, builds <= 3).  Each scan runs with both density predictors
(``predictor="history"`` and ``"response"``, theory §6.7), the second also counting
the response engine's kernel calls (about one Fock build each).

Usage::

    python benchmarks/scan.py              # water + benzene -> benchmarks/results/scan.json
    python benchmarks/scan.py --quick      # water only

A script, not a test: timings on a shared machine are noisy; compare ratios
measured in one run.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import build_mol, environment  # noqa: E402  (sets nothing at import)

TARGET_RATIO = 0.5
TARGET_BUILDS = 6.0
CONV_TOL = 1e-9


class _CountKernel:
    """Counts the response engine's kernel calls (each about one Fock build) during a scan (benchmark only)."""

    def __enter__(self):
        from deltascf.response import OccupationResponse

        self.calls, self._orig, counter = 0, OccupationResponse.apply_kernel, self

        def counted(engine, dms):
            counter.calls += 1
            return counter._orig(engine, dms)

        OccupationResponse.apply_kernel = counted
        return self

    def __exit__(self, *exc):
        from deltascf.response import OccupationResponse

        OccupationResponse.apply_kernel = self._orig


def bench(name: str, predictors) -> list:
    import numpy as np

    from deltascf import run_state
    from deltascf.fractional import scan_charge

    mol = build_mol(name)
    ground = run_state(mol, "b3lyp", conv_tol=CONV_TOL)
    deltas = np.linspace(0.0, 1.0, 11)

    t0 = time.perf_counter()
    cold = [run_state(mol, "b3lyp", f"a:HOMO->LUMO,a:LUMO+1={d:.12g}", ground=ground, conv_tol=CONV_TOL)
            for d in deltas]
    t_cold = time.perf_counter() - t0
    rows = []
    for predictor in predictors:
        with _CountKernel() as counter:
            t0 = time.perf_counter()
            scan = scan_charge(mol, "b3lyp", "a:HOMO->LUMO", "add:a:LUMO+1", deltas=deltas, ground=ground,
                               conv_tol=CONV_TOL, predictor=predictor)
            t_scan = time.perf_counter() - t0
        rows.append(_row(name, mol, deltas, scan, cold, t_scan, t_cold, predictor, counter.calls))
    return rows


def _row(name, mol, deltas, scan, cold, t_scan, t_cold, predictor, kernel_calls) -> dict:
    import numpy as np

    scan_start_builds = scan.points[0].n_fock  # the excited state I, converged from the ground state
    e_diff = float(np.max(np.abs(scan.e_tot - np.array([r.e_tot for r in cold]))))
    interior = scan.n_fock[1:-1]
    return {
        "molecule": name,
        "predictor": predictor,
        "response_kernel_calls": kernel_calls,
        "nao": mol.nao_nr(),
        "points": int(deltas.size),
        "wall_scan_s": t_scan,
        "wall_cold_s": t_cold,
        "ratio": t_scan / t_cold,
        "fock_builds_scan": int(scan.n_fock.sum() + scan_start_builds),
        "fock_builds_cold": int(sum(r.n_fock for r in cold)),
        "mean_builds_interior": float(interior.mean()),
        "builds_per_point": [int(x) for x in scan.n_fock],
        "cold_builds_per_point": [int(r.n_fock) for r in cold],
        "all_converged": bool(scan.all_converged and all(r.converged for r in cold)),
        "max_abs_e_scan_minus_cold": e_diff,
        "janak_residual": scan.janak_residual,
        "deviation_half": scan.deviation_half,
    }


def format_table(rows: list) -> str:
    head = (f"{'molecule':<10} {'predictor':<9} {'nao':>4} {'scan/s':>8} {'cold/s':>8} {'ratio':>6} {'<=0.5':>5} "
            f"{'builds/pt':>9} {'<=6':>4} {'kernel':>6} {'|dE| scan-cold':>15} {'Janak/Eh':>9}")
    out = [head, "-" * len(head)]
    for r in rows:
        out.append(f"{r['molecule']:<10} {r['predictor']:<9} {r['nao']:>4} {r['wall_scan_s']:>8.2f} "
                   f"{r['wall_cold_s']:>8.2f} "
                   f"{r['ratio']:>6.3f} {'yes' if r['ratio'] <= TARGET_RATIO else 'NO':>5} "
                   f"{r['mean_builds_interior']:>9.2f} {'yes' if r['mean_builds_interior'] <= TARGET_BUILDS else 'NO':>4} "
                   f"{r['response_kernel_calls']:>6d} {r['max_abs_e_scan_minus_cold']:>15.2e} {r['janak_residual']:>9.1e}")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="water only")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scan.json")
    parser.add_argument("--predictor", choices=("history", "response", "both"), default="both",
                        help="the scan's density guess (default: both, each against the same cold SCFs)")
    args = parser.parse_args(argv)
    names = ["water"] if args.quick else ["water", "benzene"]
    predictors = ("history", "response") if args.predictor == "both" else (args.predictor,)
    rows = [row for n in names for row in bench(n, predictors)]
    env = environment()
    print(f"deltascf scan benchmark  {env.get('date', '')}  {env.get('cpu', '')}")
    print(format_table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"environment": env, "targets": {"ratio": TARGET_RATIO,
                                                                    "mean_builds_interior": TARGET_BUILDS},
                                    "results": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

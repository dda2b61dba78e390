#!/usr/bin/env python
"""Benchmark: the cost of saving one finished SCF into a study, against how many are stored already.

A study (deltascf.study) appends each record to its journal and merges the journal into the HDF5 file once,
when the job ends.  The target is a flat cost per saved point.  For comparison the same records are saved the
way studies did before, one ``deltascf.save`` per point, which rewrites the whole file each time.

The record is a real one: the α HOMO→LUMO state of water/6-31G (UKS B3LYP), saved under a new label each time
(a scan's points differ only in their numbers, not in their size).  No SCF is timed.

Usage::

    python benchmarks/study.py            # 1000 points; the rewrite route up to 300 -> benchmarks/results/study.json
    python benchmarks/study.py --quick    # 100 points
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import write_results  # noqa: E402

from pyscf import gto  # noqa: E402

import deltascf  # noqa: E402
from deltascf.study import open_study  # noqa: E402

WATER = "O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587"
CHECKPOINTS = (10, 100, 300, 1000)
WINDOW = 10  # saves averaged around each checkpoint


def _timed_saves(n: int, save) -> list:
    times = []
    for k in range(n):
        t0 = time.perf_counter()
        save(k)
        times.append(time.perf_counter() - t0)
    return times


def _at(times: list, n: int) -> float | None:
    """Mean time of the WINDOW saves ending at the n-th (stored points before them: about n)."""
    if n > len(times):
        return None
    window = times[max(0, n - WINDOW):n]
    return sum(window) / len(window)


def bench(n_study: int, n_rewrite: int) -> dict:
    mol = gto.M(atom=WATER, basis="6-31g", verbose=0)
    state = deltascf.run_state(mol, "b3lyp", "a:HOMO->LUMO")
    method = state.method
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "study.h5")
        with open_study(path, mol, method, "scan", {"points": n_study}, prefix="scan") as study:
            journal_times = _timed_saves(n_study, lambda k: study.put(f"{k / n_study:.12g}", state))
            t0 = time.perf_counter()
            study.merge()
            merge = time.perf_counter() - t0
        size = os.path.getsize(path)
        old = os.path.join(tmp, "old.h5")
        rewrite_times = _timed_saves(n_rewrite, lambda k: deltascf.save(old, state, mol=mol, label=f"p{k}"))
        loaded = deltascf.load_all(path)
    assert len(loaded) == n_study
    return {
        "record": "water/6-31G UKS B3LYP a:HOMO->LUMO ScfResult", "points": n_study,
        "journal_s": {str(n): _at(journal_times, n) for n in CHECKPOINTS},
        "rewrite_s": {str(n): _at(rewrite_times, n) for n in CHECKPOINTS},
        "merge_s": merge, "merge_points": n_study, "study_bytes": size,
        "journal_total_s": sum(journal_times), "rewrite_total_s": sum(rewrite_times), "rewrite_points": n_rewrite,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="100 points")
    p.add_argument("--out", type=Path, default=HERE / "results" / "study.json")
    args = p.parse_args(argv)
    n_study, n_rewrite = (100, 100) if args.quick else (1000, 300)
    res = bench(n_study, n_rewrite)
    print(f"deltascf study benchmark: one saved point, {res['record']}")
    print(f"{'stored points':>14} | {'journal (study) / ms':>20} | {'rewrite (save) / ms':>20}")
    print("-" * 62)
    for n in CHECKPOINTS:
        j, r = res["journal_s"][str(n)], res["rewrite_s"][str(n)]
        fmt = (lambda x: f"{x * 1e3:20.2f}" if x is not None else f"{'-':>20}")
        print(f"{n:>14} | {fmt(j)} | {fmt(r)}")
    print(f"merge of {res['merge_points']} points into the study file: {res['merge_s']:.2f} s "
          f"({res['study_bytes'] / 2**20:.1f} MiB); all {res['points']} journal saves: {res['journal_total_s']:.2f} s; "
          f"{res['rewrite_points']} rewriting saves: {res['rewrite_total_s']:.2f} s")
    write_results(args.out, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())

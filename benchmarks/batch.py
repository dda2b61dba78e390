#!/usr/bin/env python
"""Benchmark: a batch of tasks on a LocalCluster against the same tasks run one by one, in one run.

* throughput: 16 tasks (frontier theorem tables of 4 small molecules × 2 functionals × 2 states, 6-31G) on a
  LocalCluster of 2 worker processes × 1 thread, against the same 16 tasks serially in this process with 1
  thread (target ≥ 1.8× on 2 cores).  Both sides are warmed up first with the same task (imports, libxc);
  the batch side's time includes everything ``run_batch`` does (status, studies, failures, summary);
* scheduler overhead per task: 64 tasks that do nothing but return (target < 0.1 s);
* peak memory per worker after the throughput run (ru_maxrss of each worker process);
* with ``--set``: the shipped manifest (examples/sets/small.toml) run whole, and the molecules × methods this
  machine finishes in one hour at that rate.

Usage::

    python benchmarks/batch.py             # -> benchmarks/results/batch.json
    python benchmarks/batch.py --quick     # 4 tasks
    python benchmarks/batch.py --set       # also the shipped set (a few minutes)
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # the serial side runs with 1 thread, like one worker
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from run import write_results  # noqa: E402

MOLECULES = {"h2o": "O 0 0 0\nH 0 -0.757 0.587\nH 0 0.757 0.587", "nh3": "N 0 0 0.1\nH 0 0.94 -0.27\n"
             "H 0.81 -0.47 -0.27\nH -0.81 -0.47 -0.27", "hf": "F 0 0 0\nH 0 0 0.917", "co": "C 0 0 0\nO 0 0 1.128"}
MANIFEST = """
[molecules]
dir = "mols"
[methods]
xc = ["hf", "b3lyp"]
basis = "6-31g"
[[jobs]]
kind = "chempot"
state = "ground"
[[jobs]]
kind = "chempot"
state = "a:HOMO->LUMO"
[output]
dir = "out"
"""


def _noop(i):
    return i


def _warm_up(task):
    """What the serial side paid before its timing: imports, libxc and grid set-up, in each worker."""
    from deltascf.tasks import run_task

    run_task(task)
    return True


def _maxrss_mib():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_tasks(tmp: str, quick: bool):
    from deltascf.manifest import expand, read_manifest

    os.makedirs(os.path.join(tmp, "mols"))
    for name, atoms in MOLECULES.items():
        with open(os.path.join(tmp, "mols", f"{name}.xyz"), "w") as fh:
            fh.write(f"{len(atoms.splitlines())}\n{name}\n{atoms}\n")
    with open(os.path.join(tmp, "m.toml"), "w") as fh:
        fh.write(MANIFEST)
    tasks = expand(read_manifest(os.path.join(tmp, "m.toml")))
    return tasks[:4] if quick else tasks


def _local_cluster():
    """The cluster run_batch makes itself (2 workers x 1 thread), kept open to measure it afterwards."""
    from deltascf.batch import _client

    return _client(None, 2, 1)


def bench(quick: bool, with_set: bool) -> dict:
    from deltascf.batch import run_batch
    from deltascf.tasks import run_task

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tasks = make_tasks(tmp, quick)
        run_task(tasks[0].task)  # warm-up: libxc, numba, imports
        t0 = time.perf_counter()
        for nt in tasks:
            run_task(nt.task)
        serial = time.perf_counter() - t0
        client, cluster = _local_cluster()
        try:
            client.run(_warm_up, tasks[0].task)
            cpu0, t0 = time.process_time(), time.perf_counter()
            result = run_batch(tasks, os.path.join(tmp, "out"), scheduler=cluster.scheduler_address)
            parallel, main_cpu = time.perf_counter() - t0, time.process_time() - cpu0
            rss = client.run(_maxrss_mib)
            n_noop = 64
            t0 = time.perf_counter()
            client.gather([client.submit(_noop, i, pure=False) for i in range(n_noop)])
            overhead = (time.perf_counter() - t0) / n_noop
        finally:
            client.close()
            cluster.close()
        out.update({"tasks": len(tasks), "serial_s": serial, "batch_s": parallel, "speedup": serial / parallel,
                    "main_process_cpu_s": main_cpu,
                    "failed": len(result.failed), "overhead_per_task_s": overhead,
                    "worker_peak_rss_mib": sorted(rss.values())})
    if with_set:
        from deltascf.manifest import expand, read_manifest

        manifest = read_manifest(ROOT / "examples" / "sets" / "small.toml")
        tasks = expand(manifest)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            result = run_batch(tasks, tmp, n_workers=2, threads_per_worker=1)
            wall = time.perf_counter() - t0
        pairs = len(manifest.molecules) * len(manifest.methods) * len(manifest.bases)
        out["set"] = {"manifest": "examples/sets/small.toml", "tasks": len(tasks), "wall_s": wall,
                      "failed": len(result.failed), "molecule_method_pairs": pairs,
                      "pairs_per_hour": pairs / wall * 3600.0}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="4 tasks")
    p.add_argument("--set", action="store_true", help="also run the shipped manifest examples/sets/small.toml")
    p.add_argument("--out", type=Path, default=HERE / "results" / "batch.json")
    args = p.parse_args(argv)
    res = bench(args.quick, args.set)
    print(f"deltascf batch benchmark: {res['tasks']} tasks (frontier theorem tables, 6-31G)")
    print(f"  serial, 1 thread          {res['serial_s']:8.1f} s")
    print(f"  LocalCluster 2 x 1 thread {res['batch_s']:8.1f} s   speed-up {res['speedup']:.2f}x (target >= 1.8)")
    print(f"  scheduler overhead        {res['overhead_per_task_s'] * 1e3:8.1f} ms per task (target < 100 ms); "
          f"the batch process itself used {res['main_process_cpu_s']:.1f} s of CPU (scheduler, client, summary)")
    print(f"  worker peak RSS           {', '.join(f'{m:.0f}' for m in res['worker_peak_rss_mib'])} MiB")
    if "set" in res:
        s = res["set"]
        print(f"  shipped set: {s['tasks']} tasks in {s['wall_s']:.0f} s ({s['failed']} failed); "
              f"{s['molecule_method_pairs']} molecule x method pairs -> {s['pairs_per_hour']:.0f} per hour")
    write_results(args.out, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Batches of tasks on Dask: a LocalCluster by default, any ``dask.distributed`` scheduler beyond one machine.

Every task runs in its own study, ``<out_dir>/<task key>.h5`` (:mod:`deltascf.study`): a worker rebuilds the
molecule from the task's plain inputs, runs it there, and hands the record back.  So a batch resumes at two
levels: a rerun skips every task whose study is complete, and a task interrupted in the middle (a killed
worker, a killed batch) resumes point by point.  A task that fails (an error, a killed worker, an SCF that did
not converge or a state that collapsed) is recorded in ``<out_dir>/failures.json`` with its one-line reason;
the batch goes on, and ``retry_failed=True`` runs the failed tasks again.  At the end ``summary.csv`` and
``summary.json`` hold one row per molecule, method, state and channel (:func:`deltascf.report.make_rows`).

Dask is an extra (``pip install "deltascf[dask]"``) imported only here, inside the functions that need it.
"""
from __future__ import annotations

import csv
import io as _text_io
import json
import os
import time
from dataclasses import dataclass, field

from . import io
from .study import load_result

__all__ = ["run_batch", "BatchResult", "SchedulerError", "status", "summary_rows", "DASK_HINT", "FAILURES", "SUMMARY"]

FAILURES, SUMMARY = "failures.json", "summary"
DASK_HINT = 'deltascf batch needs Dask: pip install "deltascf[dask]"'


class SchedulerError(RuntimeError):
    """The Dask scheduler given by address could not be reached (a one-line reason)."""
#: times a task is resubmitted after its worker died, before it counts as failed
RETRIES = 1
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@dataclass
class BatchResult:
    """What a batch did: tasks in all, finished now, skipped (finished before), and failed (key -> reason)."""

    total: int
    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    wall_s: float = 0.0


def study_path(out_dir, task) -> str:
    return os.path.join(os.fspath(out_dir), f"{task.key}.h5")


def _read_failures(out_dir) -> dict:
    try:
        with open(os.path.join(out_dir, FAILURES), encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {}


def _write_text(path, text: str) -> None:
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    io.write_atomically(path, write)


def status(tasks, out_dir) -> dict:
    """{task key: "complete" | "failed" | "partial" | "new"} of a batch's output directory."""
    failures = _read_failures(out_dir)
    out = {}
    for nt in tasks:
        path = study_path(out_dir, nt.task)
        if io.study_complete(path) and nt.task.key not in failures:
            out[nt.task.key] = "complete"
        elif nt.task.key in failures:
            out[nt.task.key] = "failed"
        else:
            out[nt.task.key] = "partial" if os.path.exists(path) else "new"
    return out


def run_in_worker(task, path: str, threads: int):
    """Run one task in its study; ("done", record) or ("failed", one-line reason).  Runs in a worker."""
    from pyscf import lib

    from .tasks import run_task

    lib.num_threads(threads)
    try:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except (ImportError, ValueError):
        pass
    try:
        return "done", run_task(task, study=path)
    except Exception as exc:  # a task's failure is data for the batch, not the end of it
        return "failed", f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _client(scheduler, n_workers, threads):
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise RuntimeError(DASK_HINT) from None
    if scheduler:
        try:  # waits up to Dask's distributed.comm.timeouts.connect (30 s by default)
            return Client(scheduler), None
        except (OSError, ValueError, TypeError) as exc:
            raise SchedulerError(f"cannot connect to the Dask scheduler at {scheduler!r}: "
                                 f"{' '.join(str(exc).split())}") from None
    n_workers = n_workers or max(1, (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                     else os.cpu_count() or 1) // threads)
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in its workers, which makes glibc hand every freed block
    # back to the kernel: PySCF's DFT, which allocates and frees large grid blocks, ran 1.5-1.8x slower so
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               env={v: str(threads) for v in _THREAD_VARS})
    return Client(cluster), cluster


def _problem(record) -> str | None:
    """Why a finished task counts as failed: a state that did not converge or lost its target, or None."""
    from .records import ChargeScan, StateSet

    if isinstance(record, StateSet):
        items = [(label, s.converged, s.collapsed) for label, s in zip(record.labels, record.states)]
        items += [(f"{label} SCF-{c.mode}", c.state.converged, c.state.collapsed)
                  for label, c in zip(record.labels, record.corrections) if c.state is not None]
    elif isinstance(record, ChargeScan):
        items = [(f"delta {d:g}", bool(c), bool(x)) for d, c, x in zip(record.delta, record.converged,
                                                                        record.collapsed)]
    else:
        items = [(r.channel, r.converged, r.collapsed) for r in record.rows]
    bad = [f"{name} {'did not converge' if not ok else 'lost its target'}" for name, ok, lost in items
           if not ok or lost]
    return None if not bad else "; ".join(bad[:3]) + (f" (and {len(bad) - 3} more)" if len(bad) > 3 else "")


def run_batch(tasks, out_dir, *, scheduler: str | None = None, n_workers: int | None = None,
              threads_per_worker: int = 1, retry_failed: bool = False, progress=None) -> BatchResult:
    """Run named tasks (:func:`deltascf.manifest.expand`) on Dask; every task in its own study in ``out_dir``.

    Parameters
    ----------
    tasks : sequence of NamedTask
    out_dir : str or os.PathLike
        Created if needed, once the cluster is up.  Holds ``<key>.h5`` per task, ``failures.json`` and
        ``summary.csv|json``.
    scheduler : str, optional
        The address of a running ``dask.distributed`` scheduler (left running; :class:`SchedulerError` if it
        cannot be reached within Dask's connect timeout); without it an embedded
        ``LocalCluster`` of worker processes is started and closed at the end.
    n_workers, threads_per_worker : int
        The LocalCluster's size: ``n_workers`` processes (default: CPUs // threads) with ``threads_per_worker``
        threads each for PySCF, BLAS and Numba (set in each worker before any import, and again per task).
    retry_failed : bool
        Run the tasks that failed in an earlier run again; otherwise they stay failed and are skipped.
    progress : callable, optional
        ``progress(done, failed, running, total, eta_s)`` after every finished task.
    """
    t0 = time.perf_counter()
    out_dir = os.fspath(out_dir)
    state = status(tasks, out_dir)
    failures = _read_failures(out_dir)
    if retry_failed:
        failures = {k: v for k, v in failures.items() if k not in {nt.task.key for nt in tasks}}
    result = BatchResult(total=len(tasks))
    todo = []
    for nt in tasks:
        key = nt.task.key
        if state[key] == "complete":
            result.skipped.append(key)
        elif state[key] == "failed" and not retry_failed:
            result.failed[key] = failures[key]["reason"]
        else:
            todo.append(nt)
    records = {}
    if todo:  # makes out_dir once the cluster is there: a scheduler that cannot be reached leaves nothing behind
        _run(todo, out_dir, scheduler, n_workers, threads_per_worker, failures, result, progress, t0, records)
    os.makedirs(out_dir, exist_ok=True)
    _write_text(os.path.join(out_dir, FAILURES), json.dumps(failures, indent=2, sort_keys=True) + "\n")
    result.rows = summary_rows(tasks, out_dir, records)
    write_summary(result.rows, out_dir)
    result.wall_s = time.perf_counter() - t0
    return result


def _cost(nt) -> tuple:
    """A rough size of a task, to start the largest first (fewer workers idle at the end of a batch)."""
    from pyscf.data.elements import charge

    electrons = sum(charge(symbol) for symbol, _ in nt.task.molecule.atom)
    states = len(getattr(nt.task.job, "specs", ())) + 1
    return (not nt.task.method.is_hf, nt.task.method.correction is not None, electrons, states)


def _run(todo, out_dir, scheduler, n_workers, threads, failures, result, progress, t0, records) -> None:
    from distributed import as_completed

    client, cluster = _client(scheduler, n_workers, threads)
    try:
        os.makedirs(out_dir, exist_ok=True)
        futures = {client.submit(run_in_worker, nt.task, study_path(out_dir, nt.task), threads,
                                 key=f"deltascf-{nt.task.key}", pure=False, retries=RETRIES): nt
                   for nt in sorted(todo, key=_cost, reverse=True)}
        finished = 0
        for fut in as_completed(futures):
            nt = futures[fut]
            key = nt.task.key
            try:
                outcome, value = fut.result()
            except Exception as exc:  # the worker died (KilledWorker) or the task could not be unpickled
                outcome, value = "failed", f"{type(exc).__name__}: {' '.join(str(exc).split())}"
            reason = value if outcome == "failed" else _problem(value)
            if outcome == "done":
                records[key] = value
            if reason is None:
                result.done.append(key)
                failures.pop(key, None)
            else:
                result.failed[key] = reason
                failures[key] = {"task": nt.name, "reason": reason}
                _write_text(os.path.join(out_dir, FAILURES), json.dumps(failures, indent=2, sort_keys=True) + "\n")
            finished += 1
            if progress is not None:
                elapsed = time.perf_counter() - t0
                eta = elapsed / finished * (len(todo) - finished)
                progress(len(result.done), len(result.failed), len(todo) - finished, len(todo), eta)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def summary_rows(tasks, out_dir, records=None) -> list:
    """One row per molecule, method, state and channel of every complete task: its record when ``records``
    ({key: record}) has it, else the one in its study file."""
    from .report import make_rows

    records = records or {}
    rows = []
    for nt in tasks:
        task = nt.task
        record = records.get(task.key)
        if record is None:
            path = study_path(out_dir, task)
            if not io.study_complete(path):
                continue
            record = load_result(path)
        meta = {"task": nt.name, "key": task.key, "molecule": nt.name.split()[0], "xc": task.method.xc,
                "basis": task.molecule.basis, "correction": str(task.method.correction or "none")}
        rows += [{**meta, **row} for row in make_rows(record)]
    return rows


def write_summary(rows, out_dir) -> None:
    """``summary.json`` and ``summary.csv`` (one tidy table) in ``out_dir``, written atomically."""
    from .report import to_json

    _write_text(os.path.join(out_dir, SUMMARY + ".json"), to_json({"rows": rows}, indent=1) + "\n")
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = _text_io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _write_text(os.path.join(out_dir, SUMMARY + ".csv"), buf.getvalue())


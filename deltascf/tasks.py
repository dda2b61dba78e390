"""Running a :class:`~deltascf.records.Task`: the one entry point of the command line (and of batch workers).

A task is plain inputs (molecule, method, job); :func:`run_task` builds the molecule, runs the job's driver
in a study when one is given, and returns the driver's record.
"""
from __future__ import annotations

from .records import ScanJob, StatesJob, Task, TheoremJob

__all__ = ["run_task"]


def run_task(task: Task, *, mol=None, study=None, callback=None, verbose: int = 0):
    """The record of ``task``: a StateSet (run), a ChargeScan (scan) or a TheoremTable (chempot).

    ``mol`` is the built molecule when the caller has it already (it must be ``task.molecule.build()``).
    """
    if mol is None:
        mol = task.molecule.build()
    job, common = task.job, {"method": task.method, "callback": callback, "study": study, "verbose": verbose}
    if isinstance(job, StatesJob):
        from .states import run_states

        return run_states(mol, specs=job.specs, **common)
    if isinstance(job, ScanJob):
        from .fractional import scan_charge

        return scan_charge(mol, state=job.state, channel=job.channel, deltas=job.deltas, points=job.points,
                           mode=job.mode, predictor=job.predictor, **common)
    if isinstance(job, TheoremJob):
        from .chempot import chemical_potentials

        return chemical_potentials(mol, state=job.state, channels=job.channels, n_virtual=job.n_virtual, **common)
    raise TypeError(f"a task's job is a StatesJob, ScanJob or TheoremJob, not {type(job).__name__}")

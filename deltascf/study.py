"""Studies: the records of one computation in one HDF5 file, saved as each SCF finishes and resumed later.

A study file holds the records of one task — a molecule, a method and a job — named by the task's key, a
stable hash of those inputs (:func:`make_study_key`, root attribute ``study_key``).  While a job runs in it:

* the study is locked for the whole job (``flock`` on its journal, taken before anything is read or cleaned),
  so a second writer is refused at once with :class:`StudyBusy`;
* every finished record is appended to the journal ``.<name>.journal.tmp`` beside the file, one checksummed
  frame each (:mod:`deltascf.journal`): a save costs the same however many records are stored already, and a
  kill can only tear the frame being written;
* when the job ends, or is interrupted, the journal is merged into the file in one atomic rewrite and removed.

Readers (:func:`deltascf.io.load_all`, ``deltascf report``, ``deltascf plot``) see the file and the complete
frames of its journal, so the finished points of a running or killed job are visible.  Opening the study again
with the same inputs takes every finished record back; a file of other inputs is refused (:class:`StudyMismatch`).

Drivers (``run_states``, ``scan_charge``, ``chemical_potentials``) take ``study=PATH`` and use :func:`open_study`;
with ``study=None`` they get a :class:`Study` that keeps nothing, so the code path is the same.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os

from . import io, journal
from .records import Method, make_key, molecule_inputs

try:  # POSIX; elsewhere a study is not locked (run one writer per study yourself)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["Study", "StudyBusy", "StudyMismatch", "open_study", "make_study_key", "load_result", "RESULT"]

#: label suffix of the finished record of a scan or table
RESULT = "result"


class StudyBusy(RuntimeError):
    """Another process holds the study."""


class StudyMismatch(ValueError):
    """The study file holds results of other inputs (or is not a study)."""


def make_study_key(mol, method: Method, command: str, job: dict) -> str:
    """The key of a study: a hash of the molecule's inputs, the method, the command and the job's inputs."""
    return make_key({"molecule": molecule_inputs(mol), "method": method.to_dict(), "command": command, "job": job})


class Study:
    """The finished records of one job, and where new ones go.

    ``prefix`` names the records of scans and tables (``scan-<key>-<point>``, ``theorem-<key>-<name>``, the
    finished record ``<prefix>-<key>-result``); a ``run`` uses the plain names (``ground``, ``state1``).
    A Study without a path keeps nothing (no file, no resume).
    """

    def __init__(self, path=None, mol=None, key: str = "", prefix: str | None = None):
        self.path = None if path is None else os.path.realpath(os.fspath(path))
        self.mol, self.key, self.prefix = mol, key, prefix
        self.records = {}  # (kind, label) -> record: finished, on disk or in the journal
        self._fd = None
        self._pending = 0  # frames in the journal not merged yet

    def label(self, name: str) -> str:
        """The label under which point ``name`` of this job is stored in the study file."""
        return name if self.prefix is None else f"{self.prefix}-{self.key}-{name}"

    # -- reading ---------------------------------------------------------------------------------------
    def get(self, name: str, kind: str = "states"):
        """The finished record ``name`` of ``kind`` (a correction's name for its results), or None."""
        return self.records.get((kind, self.label(name)))

    @property
    def final(self):
        """The finished record of the job (scan or table), or None."""
        return None if self.prefix is None else next(
            (r for (kind, label), r in self.records.items() if label == self.label(RESULT)), None)

    # -- writing ---------------------------------------------------------------------------------------
    def put(self, name: str, record):
        """Keep ``record`` as ``name`` (journal append; nothing already stored is rewritten); returns it."""
        kind = io.record_kinds()[type(record).__name__]
        label = self.label(name)
        self.records[(kind, label)] = record
        if self._fd is not None:
            journal.append(self._fd, io.encode_records([(label, record)], {io.STUDY_KEY: self.key}))
            self._pending += 1
        return record

    def finish(self, record=None):
        """Keep the job's finished record (if any), merge the journal into the file and mark the study complete;
        returns the record."""
        if record is not None:
            self.put(RESULT, record)
        self.merge(complete=True)
        return record

    def merge(self, complete: bool = False) -> None:
        """Write the journal's records into the file (one atomic rewrite) and empty the journal; ``complete``
        also marks the job finished (root attribute ``complete``)."""
        if self._fd is None or not (self._pending or (complete and not io.study_complete(self.path))):
            return
        on_disk = io.stored_entries(self.path)
        items = [(label, r) for (kind, label), r in self.records.items() if (kind, label) not in on_disk]
        io.save_many(self.path, items, mol=self.mol, overwrite=True, attrs={io.COMPLETE: True} if complete else None)
        os.ftruncate(self._fd, 0)
        self._pending = 0

    # -- opening and closing ---------------------------------------------------------------------------
    def _open(self, inputs: dict) -> None:
        self._fd = _lock(self.path)
        try:
            if os.path.exists(self.path):
                try:
                    key = io.study_key(self.path)
                except (OSError, ValueError, KeyError) as exc:
                    raise StudyMismatch(f"{self.path}: {' '.join(str(exc).split())}") from None
                if key != self.key:
                    raise StudyMismatch(f"{self.path}: exists and holds results of other inputs; choose a new "
                                        "study file (a re-run resumes only with identical inputs)")
                _clear_stale_temporaries(self.path)
                self.records = io.load_all(self.path)  # the file and what an interrupted job left in the journal
                self._pending = len(journal.read(journal.journal_path(self.path)))
                # a job stopped after its result was kept, before the study was marked complete, is complete:
                # its rerun returns the result without finishing the study again
                self.merge(complete=self.final is not None)
            else:
                _clear_stale_temporaries(self.path)
                os.ftruncate(self._fd, 0)  # frames without their file cannot be checked: start afresh
                io.save_many(self.path, [], mol=self.mol,
                             attrs={io.STUDY_KEY: self.key, io.STUDY_INPUTS: json.dumps(inputs, sort_keys=True,
                                                                                       default=str)})
        except BaseException:
            # refused: leave the directory as it was (an empty journal is only our lock)
            self._release(remove_journal=os.fstat(self._fd).st_size == 0)
            raise

    def close(self) -> None:
        """Merge what is pending and release the study (also after an error or an interruption)."""
        if self._fd is None:
            return
        try:
            self.merge()
        finally:
            self._release(remove_journal=self._pending == 0)

    def _release(self, remove_journal: bool = False) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if remove_journal:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(journal.journal_path(self.path))
        os.close(fd)  # releases the lock


def _lock(path) -> int | None:
    """An open descriptor of the study's journal holding an exclusive lock on it; StudyBusy when taken."""
    name = journal.journal_path(path)
    if not os.path.isdir(os.path.dirname(name)):
        raise FileNotFoundError(f"no such directory: {os.path.dirname(name)}")
    while True:
        fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
        if fcntl is None:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StudyBusy(f"{path}: in use by another deltascf process; wait for it to finish, "
                            "or choose another study file") from None
        # the previous holder may have removed the journal after we opened it: lock the file at the path
        try:
            same = os.stat(name).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _clear_stale_temporaries(path) -> None:
    """Remove what a writer killed in the middle of an atomic save left (``.<name>.<hex>.tmp``)."""
    directory, base = os.path.split(path)
    keep = journal.journal_path(path)
    for stale in glob.glob(os.path.join(directory, f".{glob.escape(base)}.*.tmp")):
        if stale != keep:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)


def load_result(path):
    """The finished record of a complete study: a ChargeScan, a TheoremTable, or the StateSet of a run."""
    from .records import StateSet

    if not io.study_complete(path):
        raise ValueError(f"{path}: the study is not complete; run its job again to finish it")
    records = io.load_all(path)
    for (kind, label), record in records.items():
        if kind in ("scans", "theorem") and label.endswith(f"-{RESULT}"):
            return record
    states = {label: r for (kind, label), r in records.items() if kind == "states"}
    if "ground" not in states:
        raise ValueError(f"{path}: holds no finished scan, table or run")
    labels = ["ground"] + sorted((k for k in states if k.startswith("state")), key=lambda k: int(k[5:]))
    method = Method.from_dict(json.loads(io.study_inputs(path))["method"])
    corrections = ()
    if method.correction is not None:
        kind = method.correction.name
        corrections = tuple(records[(kind, label)] for label in labels)
    return StateSet(labels=labels, states=[states[k] for k in labels], method=method, corrections=corrections,
                    provenance=states["ground"].provenance)


@contextlib.contextmanager
def open_study(path, mol, method: Method, command: str, job: dict, prefix: str | None = None):
    """The study of one job at ``path`` (or a study that keeps nothing when ``path`` is None), locked and
    loaded; merged and released on leaving, also after an error or an interruption.

    ``job`` holds the job's inputs (JSON-ready); with the molecule, the method and the command it makes the key.
    """
    key = make_study_key(mol, method, command, job)
    if path is None:
        yield Study(None, mol, key, prefix)
        return
    study = Study(path, mol, key, prefix)
    study._open({"command": command, "method": method.to_dict(), "job": job})
    try:
        yield study
    finally:
        study.close()

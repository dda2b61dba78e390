"""deltascf.study through the Python API: resume, the journal, the lock, and refusals (design §15)."""
import os

import numpy as np
import pytest
from numpy.testing import assert_allclose
from tolerances import E_ATOL

import deltascf
from deltascf import io, journal
from deltascf.chempot import chemical_potentials
from deltascf.fractional import scan_charge
from deltascf.study import RESULT, Study, StudyBusy, StudyMismatch, open_study

SCAN = dict(state="ground", channel="remove:a:HOMO", deltas=[0, 0.25, 0.5, 0.75, 1])


@pytest.fixture(scope="module")
def h_atom(make_mol):
    return make_mol("H 0 0 0", "3-21g", spin=1)


@pytest.fixture(scope="module")
def method():
    return deltascf.Method(xc="b3lyp", conv_tol=1e-10)


class Stop(Exception):
    pass


def test_an_interrupted_scan_resumes_with_only_the_missing_points(h_atom, method, tmp_path):
    straight = scan_charge(h_atom, method=method, **SCAN)
    study, seen = tmp_path / "scan.h5", []

    def stop_after_three(d, r):
        seen.append(d)
        if len(seen) == 3:
            raise Stop

    with pytest.raises(Stop):
        scan_charge(h_atom, method=method, study=study, callback=stop_after_three, **SCAN)
    assert os.listdir(tmp_path) == ["scan.h5"]  # the journal was merged when the job stopped
    assert sum(kind == "states" for kind, _ in io.load_all(study)) == 3
    again = []
    resumed = scan_charge(h_atom, method=method, study=study, callback=lambda d, r: again.append(d), **SCAN)
    assert sorted(again + seen) == sorted(straight.delta.tolist())  # nothing computed twice
    assert_allclose(resumed.e_tot, straight.e_tot, rtol=0, atol=E_ATOL)
    assert np.array_equal(io.load(study, kind="scans").e_tot, resumed.e_tot)
    assert os.listdir(tmp_path) == ["scan.h5"]


def test_points_go_to_the_journal_and_leave_the_file_alone(h_atom, method, tmp_path):
    """A save appends one frame; the study file itself is rewritten only when the job ends."""
    study = tmp_path / "scan.h5"
    stats, frames = [], []

    def look(d, r):
        stats.append(os.stat(study))
        frames.append(len(journal.read(journal.journal_path(study))))

    scan_charge(h_atom, method=method, study=study, callback=look, **SCAN)
    assert len({(s.st_ino, s.st_mtime_ns, s.st_size) for s in stats}) == 1
    assert frames == list(range(1, len(frames) + 1))
    assert not os.path.exists(journal.journal_path(study))


def test_a_job_stopped_after_keeping_its_result_is_complete_on_rerun(h_atom, method, tmp_path, monkeypatch):
    """Stopped between keeping its result and marking the study complete (a kill inside ``finish``): the rerun
    computes nothing, returns the result, and marks the study complete."""
    study = tmp_path / "scan.h5"

    def stop_before_marking(self, record=None):
        self.put(RESULT, record)  # the result reaches the journal...
        raise Stop  # ...and the job stops before the file is marked complete

    monkeypatch.setattr(Study, "finish", stop_before_marking)
    with pytest.raises(Stop):
        scan_charge(h_atom, method=method, study=study, **SCAN)
    monkeypatch.undo()
    assert not io.study_complete(study) and io.load(study, kind="scans") is not None
    again = []
    resumed = scan_charge(h_atom, method=method, study=study, callback=lambda d, r: again.append(d), **SCAN)
    assert again == [] and io.study_complete(study)
    assert np.array_equal(io.load(study, kind="scans").e_tot, resumed.e_tot)


def test_a_torn_last_frame_is_dropped(h_atom, method, tmp_path):
    study = tmp_path / "scan.h5"
    scan_charge(h_atom, method=method, study=study, **{**SCAN, "deltas": [0, 1]})
    records = io.load_all(study)
    state = next(r for (kind, _), r in records.items() if kind == "states")
    fd = os.open(journal.journal_path(study), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    journal.append(fd, io.encode_records([("extra", state)], {io.STUDY_KEY: io.study_key(study)}))
    os.write(fd, journal.MAGIC + b"\x00" * 7)  # a frame whose writer was killed
    os.close(fd)
    assert set(io.load_all(study)) == set(records) | {("states", "extra")}


def test_a_second_writer_is_refused_and_other_files_are_independent(h_atom, method, tmp_path):
    job = {"deltas": [0, 1]}
    with open_study(tmp_path / "a.h5", h_atom, method, "scan", job, "scan"):
        with pytest.raises(StudyBusy, match="in use"):
            with open_study(tmp_path / "a.h5", h_atom, method, "scan", job, "scan"):
                pass
        with open_study(tmp_path / "b.h5", h_atom, method, "scan", job, "scan"):
            pass
    with open_study(tmp_path / "a.h5", h_atom, method, "scan", job, "scan"):  # released on leaving
        pass


def test_other_inputs_and_plain_files_are_refused(h_atom, method, tmp_path):
    study = tmp_path / "scan.h5"
    scan_charge(h_atom, method=method, study=study, **{**SCAN, "deltas": [0, 1]})
    before = io.load_all(study)
    with pytest.raises(StudyMismatch, match="other inputs"):
        scan_charge(h_atom, method=method, study=study, **{**SCAN, "deltas": [0, 0.5, 1]})
    assert set(io.load_all(study)) == set(before)
    plain = tmp_path / "plain.h5"
    io.save(plain, next(iter(before.values())), mol=h_atom)
    with pytest.raises(StudyMismatch, match="other inputs"):
        scan_charge(h_atom, method=method, study=plain, **SCAN)


def test_tables_and_state_sets_resume_too(h_atom, method, make_mol, tmp_path):
    first = chemical_potentials(h_atom, method=method, study=tmp_path / "t.h5")
    calls = []
    again = chemical_potentials(h_atom, method=method, study=tmp_path / "t.h5",
                                callback=lambda name, r: calls.append(name))
    assert calls == [] and [r.mu for r in again.rows] == [r.mu for r in first.rows]
    water = make_mol()
    run = deltascf.run_states(water, "hf", ["a:HOMO->LUMO"], study=tmp_path / "r.h5")
    assert set(io.load_all(tmp_path / "r.h5")) == {("states", "ground"), ("states", "state1")}
    rerun = deltascf.run_states(water, "hf", ["a:HOMO->LUMO"], study=tmp_path / "r.h5",
                                callback=lambda label, r: calls.append(label))
    assert calls == [] and [s.e_tot for s in rerun.states] == [s.e_tot for s in run.states]

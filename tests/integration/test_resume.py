"""Study files of scans and tables: point-by-point saving, resume after SIGKILL, refusal of other inputs."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from tolerances import E_ATOL

from deltascf import load_all

WATER_ATOM = "O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587"
SCAN = ["scan", "--atom", WATER_ATOM, "--basis", "6-31g", "--xc", "b3lyp", "--state", "a:HOMO->LUMO",
        "--channel", "add:a:LUMO+1", "--points", "11"]
#: PySCF's closing line of every SCF at -v (the count of SCFs a command ran)
SCF_LINE = "converged SCF energy"


def cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "deltascf", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONWARNINGS="ignore"), **kw)


def finished_points(path) -> int:
    try:
        return sum(1 for kind, _ in load_all(path) if kind == "states")
    except (OSError, ValueError):
        return 0  # not written yet


def interrupt_after(argv, study, points: int, sig=signal.SIGKILL):
    """Start ``argv --output study``, send ``sig`` once ``points`` SCFs are saved; returns the process."""
    proc = cli(*argv, "--output", study)
    deadline = time.time() + 300
    while finished_points(study) < points and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(sig)
    return proc


@pytest.mark.slow
def test_scan_resumes_after_sigkill(tmp_path):
    reference = cli(*SCAN, "--json", "-")
    ref_out, ref_err = reference.communicate(timeout=600)
    assert reference.returncode == 0, ref_err
    study = tmp_path / "study.h5"
    interrupt_after(SCAN, study, 4).wait(timeout=60)
    saved = finished_points(study)  # the file is readable after the kill
    assert 4 <= saved < 11, saved
    # a kill during a save can leave only io's temporary (.study.h5.<hex>.tmp), never a broken study
    assert all(f == "study.h5" or (f.startswith(".study.h5.") and f.endswith(".tmp")) for f in os.listdir(tmp_path))
    second = cli(*SCAN, "--output", study, "--json", "-", "-v")
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    assert os.listdir(tmp_path) == ["study.h5"]  # the resumed run cleared any stale temporary
    assert err.count(SCF_LINE) == 11 - saved  # nothing finished is recomputed
    resumed, straight = json.loads(out)["points"], json.loads(ref_out)["points"]
    assert [p["delta"] for p in resumed] == [p["delta"] for p in straight]
    assert max(abs(a["e_tot"] - b["e_tot"]) for a, b in zip(resumed, straight)) <= E_ATOL
    # a complete study is not recomputed at all, and other inputs are refused
    third = cli(*SCAN, "--output", study, "--json", "-", "-v")
    out3, err3 = third.communicate(timeout=600)
    assert third.returncode == 0 and err3.count(SCF_LINE) == 0
    assert json.loads(out3)["points"] == resumed
    other = cli(*SCAN[:-1], "5", "--output", study)
    _, err4 = other.communicate(timeout=600)
    assert other.returncode == 2 and "other inputs" in err4 and len(err4.strip().splitlines()) == 1


def test_theorem_table_study_is_reused(tmp_path):
    argv = ["chempot", "--atom", "H 0 0 0", "--basis", "3-21g", "--spin", "1", "--xc", "hf", "--reference", "uhf",
            "--channels", "frontier", "--output", tmp_path / "table.h5", "--json", "-", "-v"]
    first = cli(*argv)
    out1, err1 = first.communicate(timeout=600)
    assert first.returncode == 0, err1
    assert err1.count(SCF_LINE) == 1 + 3  # the ground state is I; three neighbours (no beta electron to remove)
    second = cli(*argv)
    out2, err2 = second.communicate(timeout=600)
    assert second.returncode == 0 and err2.count(SCF_LINE) == 0
    assert json.loads(out2)["rows"] == json.loads(out1)["rows"]


@pytest.mark.slow
def test_sigint_leaves_a_resumable_study(tmp_path):
    study = tmp_path / "study.h5"
    first = interrupt_after(SCAN, study, 3, signal.SIGINT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 130, err
    assert err.strip().splitlines() == [f"deltascf: interrupted; finished points are in {study}, "
                                        "re-run the same command to resume"]
    saved = finished_points(study)
    second = cli(*SCAN, "--output", study, "-v")
    _, err2 = second.communicate(timeout=600)
    assert second.returncode == 0 and err2.count(SCF_LINE) == 11 - saved


@pytest.mark.slow
def test_theorem_table_resumes_after_sigkill(tmp_path):
    argv = ["chempot", "--atom", WATER_ATOM, "--basis", "6-31g", "--xc", "b3lyp", "--channels", "valence"]
    reference = cli(*argv, "--json", "-")
    ref_out, ref_err = reference.communicate(timeout=600)
    assert reference.returncode == 0, ref_err
    total = 1 + len(json.loads(ref_out)["rows"])  # I and one neighbour per channel
    study = tmp_path / "table.h5"
    interrupt_after(argv, study, 4).wait(timeout=60)
    saved = finished_points(study)
    assert 4 <= saved < total, (saved, total)
    second = cli(*argv, "--output", study, "--json", "-", "-v")
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    assert err.count(SCF_LINE) == total - saved
    rows, ref_rows = json.loads(out)["rows"], json.loads(ref_out)["rows"]
    assert [r["channel"] for r in rows] == [r["channel"] for r in ref_rows]
    assert max(abs(a["mu"] - b["mu"]) for a, b in zip(rows, ref_rows)) <= E_ATOL

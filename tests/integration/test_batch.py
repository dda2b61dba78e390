"""deltascf batch: manifests, a LocalCluster against serial runs, killed workers, a killed batch, bad manifests."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from tolerances import PARITY_ATOL

pytest.importorskip("distributed")

from deltascf import io  # noqa: E402
from deltascf.batch import run_batch, study_path  # noqa: E402
from deltascf.manifest import ManifestError, expand, read_manifest  # noqa: E402
from deltascf.study import load_result  # noqa: E402
from deltascf.tasks import run_task  # noqa: E402

XYZ = {"h2o": "3\nwater\nO 0 0 0\nH 0 -0.757 0.587\nH 0 0.757 0.587\n",
       "h2": "2\nhydrogen\nH 0 0 0\nH 0 0 0.74\n",
       "lih": "2\nlithium hydride charge=0 spin=0\nLi 0 0 0\nH 0 0 1.6\n"}
SIX = """
[molecules]
dir = "mols"
[methods]
xc = ["hf", "b3lyp"]
basis = "sto-3g"
[[jobs]]
kind = "chempot"
state = "ground"
[output]
dir = "out"
"""


@pytest.fixture
def batch_dir(tmp_path):
    (tmp_path / "mols").mkdir()
    for name, text in XYZ.items():
        (tmp_path / "mols" / f"{name}.xyz").write_text(text)
    (tmp_path / "m.toml").write_text(SIX)
    return tmp_path


def records_equal(a, b):
    """The same theorem table to PARITY_ATOL (one task run in two processes)."""
    assert [r.channel for r in a.rows] == [r.channel for r in b.rows]
    for ra, rb in zip(a.rows, b.rows):
        assert_allclose([ra.eps, ra.mu, ra.eps_neighbour], [rb.eps, rb.mu, rb.eps_neighbour], rtol=0,
                        atol=PARITY_ATOL)


def test_a_local_cluster_gives_the_serial_records(batch_dir):
    """Six tasks on 2 worker processes equal the same tasks run one by one in this process."""
    tasks = expand(read_manifest(batch_dir / "m.toml"))
    assert len(tasks) == 6 and len({nt.task.key for nt in tasks}) == 6
    result = run_batch(tasks, batch_dir / "out", n_workers=2, threads_per_worker=1)
    assert sorted(result.done) == sorted(nt.task.key for nt in tasks) and not result.failed
    for nt in tasks:
        records_equal(load_result(study_path(batch_dir / "out", nt.task)), run_task(nt.task))
    summary = json.loads((batch_dir / "out" / "summary.json").read_text())["rows"]
    assert {r["molecule"] for r in summary} == set(XYZ) and {r["xc"] for r in summary} == {"hf", "b3lyp"}
    assert (batch_dir / "out" / "summary.csv").read_text().splitlines()[0].startswith("task,key,molecule")
    # a rerun skips everything finished and leaves its studies untouched
    stamps = {f: os.stat(batch_dir / "out" / f).st_mtime_ns for f in os.listdir(batch_dir / "out") if f.endswith(".h5")}
    again = run_batch(tasks, batch_dir / "out", n_workers=2)
    assert sorted(again.skipped) == sorted(result.done) and not again.done
    assert {f: os.stat(batch_dir / "out" / f).st_mtime_ns for f in stamps} == stamps


def test_a_failed_task_is_recorded_and_retried_on_request(batch_dir):
    (batch_dir / "m.toml").write_text(SIX.replace('xc = ["hf", "b3lyp"]', 'xc = "b3lyp"\nmax_cycle = 2'))
    tasks = expand(read_manifest(batch_dir / "m.toml"))
    result = run_batch(tasks, batch_dir / "out", n_workers=2)
    assert result.failed and set(result.failed) | set(result.done) == {nt.task.key for nt in tasks}
    assert all("did not converge" in reason for reason in result.failed.values())
    failures = json.loads((batch_dir / "out" / "failures.json").read_text())
    assert set(failures) == set(result.failed) and all(v["task"] for v in failures.values())
    again = run_batch(tasks, batch_dir / "out", n_workers=2)  # failed tasks stay failed without retry
    assert set(again.failed) == set(result.failed) and not again.done
    retried = run_batch(tasks, batch_dir / "out", n_workers=2, retry_failed=True)
    assert set(retried.failed) == set(result.failed)  # the same inputs fail the same way


def test_a_running_scheduler_is_used_and_left_running(batch_dir):
    from distributed import Client, LocalCluster

    tasks = expand(read_manifest(batch_dir / "m.toml"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = run_batch(tasks, batch_dir / "out", scheduler=cluster.scheduler_address)
        assert sorted(result.done) == sorted(nt.task.key for nt in tasks) and not result.failed
        with Client(cluster.scheduler_address) as client:  # still there, with both its workers
            assert len(client.scheduler_info()["workers"]) == 2
    for nt in tasks[:2]:
        records_equal(load_result(study_path(batch_dir / "out", nt.task)), run_task(nt.task))


@pytest.mark.parametrize("address", ["notanaddress", "tcp://"])
def test_a_bad_scheduler_address_is_one_line_and_leaves_nothing(batch_dir, address):
    p = subprocess.run([sys.executable, "-m", "deltascf", "batch", str(batch_dir / "m.toml"), "--scheduler", address],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "cannot connect to the Dask scheduler" in p.stderr
    assert not (batch_dir / "out").exists()


def _workers():
    """The worker processes of a LocalCluster started by this process."""
    import psutil

    return [p for p in psutil.Process().children(recursive=True)
            if "spawn_main" in " ".join(p.cmdline()) or "forkserver" in " ".join(p.cmdline())]


def test_a_killed_worker_does_not_stop_the_batch(batch_dir):
    (batch_dir / "m.toml").write_text(SIX.replace('basis = "sto-3g"', 'basis = "6-31g"'))
    tasks = expand(read_manifest(batch_dir / "m.toml"))
    killed = []

    def kill_one(done, failed, running, total, eta):
        if not killed and running:
            victims = _workers()
            if victims:
                victims[0].kill()
                killed.append(victims[0].pid)

    result = run_batch(tasks, batch_dir / "out", n_workers=2, progress=kill_one)
    assert killed
    assert len(result.done) + len(result.failed) == len(tasks)  # every task ended, retried or recorded
    for key in result.done:  # nothing finished is lost
        assert io.study_complete(os.path.join(batch_dir / "out", f"{key}.h5"))
    for reason in result.failed.values():
        assert "KilledWorker" in reason or "died" in reason.lower()


# Loaded by every process of a batch through PYTHONPATH: logs each PySCF SCF as "<elements> <xc>" to a file.
COUNT_SCFS = """
import os
import pyscf.scf.hf as _hf
_kernel = _hf.kernel
def _logged(mf, *args, **kwargs):
    with open(os.environ["SCF_LOG"], "a") as f:
        f.write("".join(sorted(mf.mol.elements)) + " " + str(getattr(mf, "xc", "hf")).lower() + "\\n")
    return _kernel(mf, *args, **kwargs)
_hf.kernel = _logged
"""


def _scfs(log):
    """The SCFs a batch ran, counted by (elements, xc)."""
    from collections import Counter

    return Counter(tuple(line.split()) for line in log.read_text().splitlines()) if log.exists() else Counter()


@pytest.mark.slow
def test_a_killed_batch_resumes_without_recomputing(batch_dir):
    (batch_dir / "m.toml").write_text(SIX.replace('basis = "sto-3g"', 'basis = "6-31g"'))
    (batch_dir / "site").mkdir()
    (batch_dir / "site" / "sitecustomize.py").write_text(COUNT_SCFS)
    tasks = {f"{nt.task.key}.h5": ("".join(sorted(e for e, _ in nt.task.molecule.atom)), nt.task.method.xc)
             for nt in expand(read_manifest(batch_dir / "m.toml"))}
    env = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONPATH=str(batch_dir / "site"),
               SCF_LOG=str(batch_dir / "first.log"))
    cmd = [sys.executable, "-m", "deltascf", "batch", str(batch_dir / "m.toml"), "--workers", "2", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    out = batch_dir / "out"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if out.is_dir() and sum(io.study_complete(out / f) for f in os.listdir(out) if f.endswith(".h5")) >= 2:
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers
    proc.wait(timeout=60)
    complete = {f: os.stat(out / f).st_mtime_ns for f in os.listdir(out)
                if f.endswith(".h5") and io.study_complete(out / f)}
    assert 2 <= len(complete) < 6
    first = _scfs(batch_dir / "first.log")
    assert all(first[tasks[f]] > 0 for f in complete)  # the log sees the SCFs of the finished tasks
    second = subprocess.run(cmd, capture_output=True, text=True, env=dict(env, SCF_LOG=str(batch_dir / "second.log")),
                            timeout=600)
    assert second.returncode == 0, second.stderr
    assert f"{len(complete)} finished before" in second.stdout
    assert {f: os.stat(out / f).st_mtime_ns for f in complete} == complete  # not recomputed, not rewritten
    assert len([f for f in os.listdir(out) if f.endswith(".h5") and io.study_complete(out / f)]) == 6
    rerun = _scfs(batch_dir / "second.log")
    assert not any(rerun[tasks[f]] for f in complete)  # no SCF of a finished task ran again
    assert all(rerun[tasks[f]] > 0 or first[tasks[f]] > 0 for f in set(tasks) - set(complete))


# -- manifests ----------------------------------------------------------------------------------------------
def test_dry_run_lists_the_tasks(batch_dir):
    p = subprocess.run([sys.executable, "-m", "deltascf", "batch", str(batch_dir / "m.toml"), "--dry-run"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1].startswith("6 tasks (6 new)")
    assert not (batch_dir / "out").exists()


def test_expansion(batch_dir):
    (batch_dir / "m.toml").write_text("""
[molecules]
xyz = ["mols/h2o.xyz"]
[methods]
xc = ["hf", "b3lyp"]
basis = ["sto-3g", "3-21g"]
correction = ["none", "losc"]
[[jobs]]
kind = "scan"
state = "a:HOMO->LUMO"
channels = ["add:a:LUMO+1", "remove:a:HOMO"]
points = 3
[[jobs]]
kind = "run"
specs = ["a:HOMO->LUMO", "b:HOMO->a:LUMO"]
""")
    tasks = expand(read_manifest(batch_dir / "m.toml"))
    assert len(tasks) == 2 * 2 * 2 * (2 + 1)  # xc × basis × correction × (2 scan channels + 1 run)
    assert len({nt.task.key for nt in tasks}) == len(tasks)
    assert {nt.task.method.correction and nt.task.method.correction.name for nt in tasks} == {None, "losc"}


def test_charge_and_spin_from_comments_and_overrides(batch_dir):
    (batch_dir / "mols" / "oh.xyz").write_text("2\nhydroxyl radical spin=1\nO 0 0 0\nH 0 0 0.97\n")
    (batch_dir / "m.toml").write_text(SIX.replace("[methods]", "[molecules.override]\nlih = { charge = 1, spin = 1 }\n"
                                                               "[methods]"))
    tasks = expand(read_manifest(batch_dir / "m.toml"))
    mols = {nt.name.split()[0]: nt.task.molecule for nt in tasks}
    assert (mols["oh"].spin, mols["lih"].charge, mols["lih"].spin, mols["h2o"].spin) == (1, 1, 1, 0)


BAD = [
    ("[molecules]\nxyz = ['mols/h2o.xyz']\n[methods]\nxc = 'hf'\nbasis = 'sto-3g'\n", "[[jobs]]"),
    ("[molecules]\nxyz = ['none.xyz']\n[methods]\nxc = 'hf'\nbasis = 'sto-3g'\n[[jobs]]\nkind = 'run'\n",
     "no such file"),
    ("[molecules]\ndir = 'mols'\n[methods]\nxc = ['hf', 'b3lpy']\nbasis = 'sto-3g'\n[[jobs]]\nkind = 'run'\n",
     "line 4"),
    ("[molecules]\ndir = 'mols'\n[methods]\nxc = 'hf'\nbasis = 'sto-3g'\n[[jobs]]\nkind = 'run'\n[[jobs]]\n"
     "kind = 'scan'\nchannels = 'add:a:HOMO'\n", "line 10: [[jobs]] #2 channels"),
    ("[molecules]\ndir = 'mols'\n[methods]\nxc = 'hf'\nbasis = 'sto-3g'\nreference = 'rhf'\n[[jobs]]\n"
     "kind = 'chempot'\n", "unrestricted"),
    ("[molecules]\ndir = 'mols'\n[methods]\nxc = 'hf'\nbasis = 'sto-3g'\ngrid = 3\n[[jobs]]\nkind = 'run'\n",
     "line 6: [methods] grid is not a key"),
    ("[molecules]\ndir = 'mols'\n[methods]\nxc = 'hf'\nbasis = 'sto-3g'\n[[jobs]]\nkind = 'relax'\n",
     "must be one of run, scan, chempot"),
    ("[molecules]\ndir = 'mols'\n[molecules.override]\nch4 = {spin = 2}\n[methods]\nxc = 'hf'\nbasis = 'sto-3g'\n"
     "[[jobs]]\nkind = 'run'\n", "names no molecule"),
    ("[molecules]\ndir = 'mols'\n[methods]\nxc = 'hf'\nbasis = sto-3g\n", "line 5, column 9"),
    ("[molecules]\ndir = 'mols'\ncharge = 1.5\n[methods]\nxc = 'hf'\nbasis = 'sto-3g'\n[[jobs]]\nkind = 'run'\n",
     "line 3: [molecules] charge must be an integer"),
    ("[molecules]\ndir = 'mols'\nspin = 1\n[methods]\nxc = 'hf'\nbasis = 'sto-3g'\n[[jobs]]\nkind = 'run'\n",
     "line 3: [molecules] h2: spin 2S = 1 is impossible"),
    ("[molecules]\ndir = 'mols'\n[molecules.override]\nlih = {charge = 1}\n[methods]\nxc = 'hf'\nbasis = 'sto-3g'\n"
     "[[jobs]]\nkind = 'run'\n", "line 4: [molecules.override] lih: spin 2S = 0 is impossible with 3 electrons"),
]


@pytest.mark.parametrize("text, fragment", BAD)
def test_bad_manifests_are_one_line_before_any_task(batch_dir, text, fragment):
    (batch_dir / "bad.toml").write_text(text)
    with pytest.raises(ManifestError) as info:
        read_manifest(batch_dir / "bad.toml")
    assert fragment in str(info.value) and "\n" not in str(info.value), str(info.value)
    p = subprocess.run([sys.executable, "-m", "deltascf", "batch", str(batch_dir / "bad.toml")], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and fragment in p.stderr
    assert not (batch_dir / "results").exists()


KEYS = st.sampled_from(["xyz", "dir", "multi", "charge", "spin", "basis", "xc", "reference", "kind", "specs",
                        "state", "channels", "points", "deltas", "mode", "n_virtual", "bogus"])
VALUES = st.one_of(st.sampled_from(["hf", "b3lyp", "sto-3g", "mols", "mols/h2.xyz", "run", "scan", "chempot",
                                    "ground", "a:HOMO->LUMO", "frontier", "add:a:LUMO", "uks", "rhf", ""]),
                   st.integers(-2, 12), st.floats(-1, 2), st.booleans(),
                   st.lists(st.sampled_from(["hf", "sto-3g", "a:HOMO->LUMO", "add:a:LUMO", "mols/h2.xyz"]),
                            max_size=2))


def _toml(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return str(v)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables=st.fixed_dictionaries({
    "molecules": st.dictionaries(KEYS, VALUES, max_size=3), "methods": st.dictionaries(KEYS, VALUES, max_size=3),
    "jobs": st.dictionaries(KEYS, VALUES, max_size=3)}))
def test_any_manifest_reads_or_is_one_line(batch_dir, tables):
    text = ""
    for name, t in tables.items():
        text += f"[[{name}]]\n" if name == "jobs" else f"[{name}]\n"
        text += "".join(f"{k} = {_toml(v)}\n" for k, v in t.items())
    (batch_dir / "any.toml").write_text(text)
    try:
        manifest = read_manifest(batch_dir / "any.toml")
    except ManifestError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(batch_dir / "any.toml"))
        return
    assert all(np.isfinite(nt.task.method.conv_tol) for nt in expand(manifest))


def test_without_dask_one_line_says_how_to_install_it(batch_dir, monkeypatch, capsys):
    from deltascf.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if Dask were not installed
    assert main(["batch", str(batch_dir / "m.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['deltascf: error: deltascf batch needs Dask: pip install "deltascf[dask]"']
    assert not (batch_dir / "out").exists()
    assert main(["batch", str(batch_dir / "m.toml"), "--dry-run"]) == 0  # listing needs no Dask


def test_the_report_counts_rows_without_a_value_apart():
    """A row whose corrected ε is missing (null in JSON, NaN in memory) is counted, not averaged in."""
    from deltascf.report import make_batch_report

    def row(err, key):
        return {"job": "chempot", "xc": "b3lyp", "basis": "6-31g", "correction": "gsc2", "state": "ground",
                "key": key, "error_ev": err}

    summary, text = make_batch_report([row(0.1, "a"), row(-0.3, "a"), row(None, "b"), row(float("nan"), "b")], {})
    (stats,) = summary["statistics"]
    assert stats["rows"] == 4 and stats["rows_without_value"] == 2
    assert stats["max_abs_error_ev"] == pytest.approx(0.3) and stats["mean_abs_error_ev"] == pytest.approx(0.2)
    assert "nan" not in text
    (empty,) = make_batch_report([row(None, "c")], {})[0]["statistics"]
    assert empty["max_abs_error_ev"] is None and empty["rows_without_value"] == 1

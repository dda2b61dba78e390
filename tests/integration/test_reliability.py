"""A hostile user's command lines: one writer per study, bad input refused before the first SCF with no file left,
SIGTERM like Ctrl-C, and the decisions on questionable input.  Run by subprocess, as a user would."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from deltascf import io, journal

WATER = ["--atom", "O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587", "--basis", "6-31g", "--xc", "b3lyp"]
SLOW_SCAN = ["scan", *WATER, "--state", "a:HOMO->LUMO", "--channel", "add:a:LUMO+1", "--points", "11"]
H = ["--atom", "H 0 0 0", "--basis", "3-21g", "--spin", "1", "--xc", "hf", "--reference", "uhf"]


def start(*args, cwd=None):
    return subprocess.Popen([sys.executable, "-m", "deltascf", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env=dict(os.environ, PYTHONWARNINGS="ignore"))


def run(*args, cwd=None):
    p = start(*args, cwd=cwd)
    out, err = p.communicate(timeout=600)
    return p.returncode, out, err


def one_line_error(code, err, fragment):
    lines = err.strip().splitlines()
    return code == 2 and len(lines) == 1 and lines[0].startswith("deltascf: error:") and fragment in lines[0] \
        and "Traceback" not in err


def wait_for_points(study, n, proc, limit=300):
    deadline = time.time() + limit
    while time.time() < deadline and proc.poll() is None:
        try:
            if sum(kind == "states" for kind, _ in io.load_all(study)) >= n:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError("the first writer saved no point in time")


# -- one writer per study -----------------------------------------------------------------------------
@pytest.mark.slow
def test_a_second_writer_is_refused_while_the_first_finishes(tmp_path):
    study = tmp_path / "s.h5"
    first = start(*SLOW_SCAN, "--output", study)
    wait_for_points(study, 2, first)
    same = run(*SLOW_SCAN, "--output", study)  # the same inputs, started while the first runs
    other = run(*SLOW_SCAN[:-4], "--channel", "remove:a:HOMO", "--points", "11", "--output", study)
    reader = run("report", study)  # readers take no lock and see the finished points
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    for code, out, err in (same, other):
        assert one_line_error(code, err, "in use by another deltascf process"), err
    assert reader[0] == 0 and ("interrupted" in reader[1] or "scan 'scan-" in reader[1]), reader
    assert os.listdir(tmp_path) == ["s.h5"]  # nothing deleted under the writer, nothing left behind
    assert io.load(study, kind="scans").channel == "add:a:LUMO+1"  # the first writer's scan, whole
    code, _, err = run(*SLOW_SCAN[:-4], "--channel", "remove:a:HOMO", "--points", "11", "--output", study)
    assert one_line_error(code, err, "other inputs")


def test_two_files_do_not_interfere(tmp_path):
    a = start("scan", *H, "--channel", "remove:a:HOMO", "--deltas", "0,0.5,1", "--output", tmp_path / "a.h5")
    b = start("scan", *H, "--channel", "add:b:LUMO", "--deltas", "0,0.5,1", "--output", tmp_path / "b.h5")
    assert a.wait(timeout=300) == 0 and b.wait(timeout=300) == 0
    assert sorted(os.listdir(tmp_path)) == ["a.h5", "b.h5"]


def test_output_and_json_on_one_path_refused(tmp_path):
    code, _, err = run("run", *H, "--output", tmp_path / "x", "--json", tmp_path / "x")
    assert one_line_error(code, err, "same file") and os.listdir(tmp_path) == []


# -- refused before the first SCF, no file left --------------------------------------------------------
@pytest.mark.parametrize("argv, fragment", [
    (["run", "--atom", "H 0 0 1e200; H 0 0 0", "--basis", "sto-3g", "--xc", "hf"], "beyond"),
    (["chempot", *H, "--channels", "remove:a:HOMO,remove:a:0"], "same channel"),
    (["scan", *H, "--channel", "remove:a:HOMO", "--points", "99999999999"], "at most 10000"),
    (["scan", *H, "--channel", "remove:a:HOMO", "--deltas", "0,1e-300,1"], "apart"),
    (["run", *H, "--conv-tol", "1e300"], "conv_tol"),
    (["run", *H, "--state", "a:HOMO=0.2,a:HOMO=0.7"], "again"),
    (["run", *H[:-4], "--xc", "b3lpy"], "unknown xc"),
    (["run", *H[:-4], "--xc", "b3lyp-d3bj"], "dispersion"),
    (["run", "--atom", "H 0 0 0; H 0 0 0.74", "--basis", "sto-3g", "--xc", "hf", "--charge", "-3", "--spin", "1"],
     "do not fit"),
    (["run", *H, "--correction", ""], "--correction is empty"),
])
def test_bad_input_is_refused_before_any_scf(tmp_path, argv, fragment):
    code, out, err = run(*argv, "--output", tmp_path / "study.h5", "-v")
    assert one_line_error(code, err, fragment), err
    assert "converged SCF energy" not in err and not out and os.listdir(tmp_path) == []


def test_plot_refuses_what_cannot_take_a_figure(tmp_path):
    code, _, err = run("scan", *H, "--channel", "remove:a:HOMO", "--deltas", "0,1", "--output", tmp_path / "s.h5")
    assert code == 0, err
    os.symlink("/dev/null", tmp_path / "null.png")
    code, _, err = run("plot", tmp_path / "s.h5", "-o", tmp_path / "null.png")
    assert one_line_error(code, err, "not a regular file")
    assert os.path.islink(tmp_path / "null.png") and os.path.realpath(tmp_path / "null.png") == "/dev/null"
    code, _, err = run("plot", tmp_path / "s.h5", "-o", tmp_path / "figure.jpg")
    assert one_line_error(code, err, ".png") and not (tmp_path / "figure.jpg").exists()


# -- values that look like options, and the decisions on questionable input ------------------------------
def test_a_negative_window_is_a_value():
    code, out, err = run("run", "--atom", "H 0 0 0; H 0 0 0.74", "--basis", "sto-3g", "--xc", "b3lyp",
                         "--losc", "post", "--losc-window", "-30,10", "--json", "-")
    assert code == 0, err
    assert json.loads(out)["losc"]["window"] == [-30.0, 10.0]


def test_an_empty_window_corrects_nothing_and_says_so():
    code, out, err = run("run", "--atom", "H 0 0 0; H 0 0 0.74", "--basis", "sto-3g", "--xc", "b3lyp",
                         "--losc", "post", "--losc-window", "500,600", "--json", "-")
    assert code == 0, err
    assert all(s["losc"]["delta_e"] == 0.0 for s in json.loads(out)["states"])
    assert "holds no canonical orbital" in err and "Traceback" not in err


def test_atomic_numbers_in_xyz_files(tmp_path):
    (tmp_path / "h2.xyz").write_text("2\nH2 by atomic numbers\n1 0 0 0\n1 0 0 0.74\n")
    (tmp_path / "h2s.xyz").write_text("2\nH2\nH 0 0 0\nH 0 0 0.74\n")
    by_number = json.loads(run("run", tmp_path / "h2.xyz", "--basis", "sto-3g", "--xc", "hf", "--json", "-")[1])
    by_symbol = json.loads(run("run", tmp_path / "h2s.xyz", "--basis", "sto-3g", "--xc", "hf", "--json", "-")[1])
    assert by_number["states"][0]["e_tot"] == by_symbol["states"][0]["e_tot"]


def test_a_spec_that_changes_n_is_named():
    code, out, err = run("run", *H, "--state", "a:HOMO=0")
    assert code == 0 and "has 0 electrons and the ground state 1" in err


def test_report_and_plot_show_an_interrupted_scan(tmp_path):
    study = tmp_path / "s.h5"
    first = start(*SLOW_SCAN, "--output", study)
    wait_for_points(study, 2, first)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    code, out, err = run("report", study)
    assert code == 0 and "interrupted" in out and "finished state" in out, err
    code, out, err = run("plot", study, "-o", tmp_path / "p.png")
    assert code == 0 and out.strip().endswith("p.png") and (tmp_path / "p.png").stat().st_size > 0, err


@pytest.mark.slow
def test_sigterm_leaves_a_resumable_study(tmp_path):
    study = tmp_path / "s.h5"
    first = start(*SLOW_SCAN, "--output", study)
    wait_for_points(study, 3, first)
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 143, err
    assert err.strip().splitlines() == [f"deltascf: terminated; finished points are in {study}, "
                                        "re-run the same command to resume"]
    assert os.listdir(tmp_path) == ["s.h5"] and not os.path.exists(journal.journal_path(study))
    saved = sum(kind == "states" for kind, _ in io.load_all(study))
    code, _, err = run(*SLOW_SCAN, "--output", study, "-v")
    assert code == 0 and err.count("converged SCF energy") == 11 - saved


def test_a_refused_study_is_left_as_it_was(tmp_path):
    """A study of other inputs (or a plain file) is refused before anything in the directory changes."""
    code, _, err = run("scan", *H, "--channel", "remove:a:HOMO", "--deltas", "0,1", "--output", tmp_path / "s.h5")
    assert code == 0, err
    (tmp_path / ".s.h5.0123abcd4567.tmp").write_text("a temporary of a killed writer")
    (tmp_path / "plain.txt").write_text("not a study")
    before = sorted(os.listdir(tmp_path))
    for target in ("s.h5", "plain.txt"):
        code, _, err = run("scan", *H, "--channel", "add:b:LUMO", "--deltas", "0,1", "--output", tmp_path / target)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("name, fragment", [("a" * 250 + ".json", "too long"), ("/proc/deltascf.json", "cannot write")])
def test_outputs_that_cannot_be_written_are_refused(tmp_path, name, fragment):
    target = name if name.startswith("/") else tmp_path / name
    code, out, err = run("run", *H, "--json", target)
    assert one_line_error(code, err, fragment) and os.listdir(tmp_path) == []


def test_a_flag_also_wins_over_a_file_key_that_would_be_refused(tmp_path):
    (tmp_path / "in.toml").write_text('[molecule]\nxyz = "missing.xyz"\nbasis = "sto-3g"\nspin = 1\n'
                                      '[method]\nxc = "hf"\n')
    code, out, err = run("run", tmp_path / "in.toml", "--atom", "H 0 0 0", "--json", "-")
    assert code == 0 and json.loads(out)["states"][0]["converged"], err


def test_plot_checks_every_target_before_drawing(tmp_path, make_mol):
    import deltascf
    from deltascf.fractional import scan_charge

    h = make_mol("H 0 0 0", "3-21g", spin=1)
    scan = scan_charge(h, "hf", "ground", "remove:a:HOMO", deltas=[0, 1], reference="uhf")
    deltascf.save(tmp_path / "s.h5", scan.points[0], mol=h, label="ground")
    deltascf.save(tmp_path / "s.h5", scan, mol=h, label="ip")
    (tmp_path / "fig-scans-ip.png").mkdir()  # the second figure's name is taken by a directory
    code, out, err = run("plot", tmp_path / "s.h5", "-o", tmp_path / "fig.png")
    assert one_line_error(code, err, "is a directory") and not out
    assert sorted(os.listdir(tmp_path)) == ["fig-scans-ip.png", "s.h5"]  # not even the first figure


def test_an_input_file_is_never_overwritten(tmp_path):
    xyz = tmp_path / "h2.xyz"
    xyz.write_text("2\nH2\nH 0 0 0\nH 0 0 0.74\n")
    toml = tmp_path / "in.toml"
    toml.write_text('[molecule]\nxyz = "h2.xyz"\nbasis = "sto-3g"\n[method]\nxc = "hf"\n')
    for argv in (["run", xyz, "--basis", "sto-3g", "--xc", "hf", "--json", xyz],
                 ["run", toml, "--output", toml], ["run", toml, "--json", xyz]):
        before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
        code, _, err = run(*argv)
        assert one_line_error(code, err, "is an input of this command")
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before

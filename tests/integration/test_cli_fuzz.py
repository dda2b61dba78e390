"""Property test over command lines: a user error is one line and exit code 2, never a traceback."""
import contextlib
import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deltascf.cli import main

#: per flag: (valid values, invalid values); valid ones are drawn most of the time
OPTIONS = {
    "--reference": (["uks", "uhf"], ["gks", "rks"]),
    "--state": (["ground", "a:HOMO->LUMO", "a:HOMO=0.5"], ["HOMO->LUMO", "b:LUMO+9->a:1", "a:", "="]),
    "--channel": (["remove:a:HOMO", "add:a:LUMO"], ["add:a:HOMO", "nope", ""]),
    "--channels": (["frontier", "remove:a:HOMO"], ["bad", ""]),
    "--deltas": (["0,0.5,1", "0.25,0.75"], ["1,0", "0", "0,2", "a"]),
    "--points": (["3"], ["1", "0", "x"]),
    "--mode": (["scf", "ensemble"], ["linear"]),
    "--losc": (["post"], ["none"]),
    "--losc-window": (["-30,10"], ["10", "a,b"]),
    "--grid-level": (["1", "2"], ["12", "x"]),
    "--conv-tol": (["1e-6"], ["0", "-1", "nan", "x"]),
    "--charge": (["0"], ["9", "x"]),
}
MOLECULES = [("H 0 0 0", "1"), ("H 0 0 0; H 0 0 0.74", "0")]
COMMANDS = ["run", "scan", "chempot"]


@st.composite
def command_lines(draw):
    """Mostly sensible command lines, with an occasional bad value, molecule or missing flag."""
    command = draw(st.sampled_from(COMMANDS))
    atom, spin = draw(st.sampled_from(MOLECULES))
    if draw(st.integers(0, 9)) == 0:
        atom = draw(st.sampled_from(["Xx 0 0 0", "H 0 0", "H 0 0 0; H 0 0 0"]))
    argv = [command, "--atom", atom, "--spin", spin, "--basis", draw(st.sampled_from(["sto-3g", "3-21g"])),
            "--xc", draw(st.sampled_from(["hf", "b3lyp"])), "--max-cycle", "30"]
    if command == "scan":
        argv += ["--channel", draw(st.sampled_from(OPTIONS["--channel"][0]))]
    for flag in draw(st.lists(st.sampled_from(sorted(OPTIONS)), max_size=3, unique=True)):
        good, bad = OPTIONS[flag]
        argv += [flag, draw(st.sampled_from(bad if draw(st.integers(0, 4)) == 0 else good))]
    if draw(st.integers(0, 9)) == 0:  # drop a required flag
        i = argv.index(draw(st.sampled_from(["--basis", "--xc"])))
        del argv[i:i + 2]
    return argv


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=command_lines())
def test_any_command_line_is_a_clean_exit(tmp_path, argv):
    before = set(os.listdir(tmp_path))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv + ["--output", str(tmp_path / "study.h5")])
    assert code in (0, 2, 3), (argv, code, err.getvalue())
    if code == 2:
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("deltascf: error:"), (argv, err.getvalue())
        assert set(os.listdir(tmp_path)) == before  # never a partial output file
    for name in set(os.listdir(tmp_path)) - before:
        os.remove(tmp_path / name)

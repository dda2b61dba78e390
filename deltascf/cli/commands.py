"""The ``deltascf`` command line.  ``main(argv) -> int``.

``run``, ``scan`` and ``chempot`` share one pipeline: the options (flags over an input file) become a validated
:class:`~deltascf.records.Task` before any SCF (:func:`make_task`), :func:`deltascf.run_task` runs it in the
``--output`` study, and :mod:`deltascf.report` prints the record and its warnings.

Exit codes: 0 ok, 2 bad input (one line on stderr, no traceback), 3 some state did not converge (results
still printed, flagged), 130 interrupted by Ctrl-C and 143 by SIGTERM (the study stays resumable).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys

from ..core import resolve_on
from .molecule import build_mol, check_xc, parse_atom_string, read_xyz
from .options import COMMANDS as COMPUTE, InputError, build_parser, correction_dests, options, parse_cli_value

__all__ = ["main", "console", "make_task", "build_parser", "InputError"]

EXIT_OK, EXIT_INPUT, EXIT_NOT_CONVERGED, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 2, 3, 130, 143


# -- output files ------------------------------------------------------------------------------------
def _check_output(path: str | None) -> None:
    """An output path deltascf can replace atomically: a regular file (or none yet) in a writable directory.

    A link is followed, so its target is checked: a link to /dev/null or to a directory is refused rather than
    replaced.
    """
    if path in (None, "-"):
        return
    real = os.path.realpath(path)
    parent = os.path.dirname(real)
    if os.path.isdir(real):
        raise InputError(f"{path}: is a directory")
    if os.path.lexists(real) and not os.path.isfile(real):
        raise InputError(f"{path}: is not a regular file ({real}); choose a file path")
    if not os.path.isdir(parent):
        raise InputError(f"{path}: directory {parent} does not exist")
    try:  # the temporaries beside it (.<name>.<hex>.tmp, .<name>.journal.tmp) need a longer name
        limit = os.pathconf(parent, "PC_NAME_MAX") - len("..0123456789ab.tmp")
    except (OSError, ValueError):
        limit = 200
    if len(os.path.basename(real)) > limit:
        raise InputError(f"{path}: the file name is too long (at most {limit} characters here)")
    import tempfile

    try:  # the real test of a writable directory (permissions, read-only mounts, /proc)
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".deltascf-", suffix=".tmp"):
            pass
    except OSError as exc:
        raise InputError(f"{path}: cannot write in {parent} ({exc.strerror or exc})") from None


def _write_json(path: str, obj) -> None:
    from ..report import to_json

    text = to_json(obj) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    from ..io import write_atomically

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    write_atomically(path, write)  # never a half-written file


# -- options -> a validated task ---------------------------------------------------------------------------
def _molecule(args):
    if (args.molecule is None) == (args.atom is None):
        raise InputError("give exactly one molecule: an XYZ file or --atom")
    atoms = read_xyz(args.molecule) if args.molecule is not None else parse_atom_string(args.atom)
    mol = build_mol(atoms, args.basis, args.charge, args.spin)
    from ..records import Molecule

    return Molecule(atom=atoms, basis=args.basis, charge=args.charge, spin=args.spin), mol


def _correction(args):
    """The Correction the flags ask for (``--correction NAME[:MODE]`` or ``--NAME MODE``), or None."""
    from ..corrections import REGISTRY, get_correction
    from ..records import Correction

    chosen = [(name, getattr(args, name)) for name in REGISTRY if getattr(args, name, None)]
    if args.correction is not None and not args.correction.strip():
        raise InputError(f"--correction is empty; name one: {', '.join(REGISTRY)} (with :post or :scf)")
    if args.correction:
        try:
            c = Correction.parse(args.correction)
        except (ValueError, TypeError) as exc:
            raise InputError(f"--correction {args.correction!r}: {exc}") from None
        chosen.append((c.name, c.mode))
    if len({c for c in chosen}) > 1:
        raise InputError("give one correction (--correction or --NAME MODE), not " +
                         " and ".join(f"{n}:{m}" for n, m in chosen))
    for name in REGISTRY:
        given = [d for d in correction_dests(name) if getattr(args, d, None) is not None]
        if given and (not chosen or chosen[0][0] != name):
            flags = " and ".join("--" + d.replace("_", "-") for d in given)
            raise InputError(f"{flags} need --{name} post|scf (or --correction {name})")
    if not chosen:
        return None
    name, mode = chosen[0]
    impl = get_correction(name)
    values = {}
    try:
        for key, dest in zip(impl.OPTIONS, correction_dests(name)):
            values[key] = parse_cli_value(impl.OPTIONS[key], getattr(args, dest, None),
                                          "--" + dest.replace("_", "-"))
        return Correction(name, mode, impl.make_settings(**values))
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _method(args, mol):
    from ..corrections import CorrectionUnsupported, check_correction
    from ..gpu import check_device
    from ..records import Method
    from ..scf.build import check_auxbasis

    check_xc(args.xc)
    fields = {o.dest: getattr(args, o.dest) for o in options() if o.target == "method"}
    try:
        method = Method(**fields, correction=_correction(args))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if method.restricted and mol.spin != 0:
        raise InputError(f"reference {method.reference} needs spin 0 (got {mol.spin}); use uks or uhf")
    if method.reference in ("roks", "rohf") and args.command != "run":
        raise InputError(f"reference {method.reference}: ROKS states are computed by deltascf run and opt only")
    try:
        if not getattr(args, "print_python", False):  # a script may be meant for another machine
            check_device(method.device)
        if method.density_fit:
            check_auxbasis(mol, method.density_fit)
        check_correction(mol, method)
    except CorrectionUnsupported as exc:
        raise InputError(f"--{method.correction.name}: {exc}") from None
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return method


def _occupation(spec: str, mol, method):
    """Parsed Occupation and its target occupations on the aufbau orbitals."""
    from ..occupations import Occupation, SpecError

    try:
        from ..scf.driver import check_roks_spec

        occ = Occupation.parse(spec)
        check_roks_spec(mol, method, occ)
        return occ, resolve_on(mol, occ, method.restricted).mo_occ
    except SpecError as exc:
        raise InputError(f"--state {spec!r}: {exc}") from None


def _need_unrestricted(method, what: str) -> None:
    if method.restricted:
        raise InputError(f"{what} needs an unrestricted reference (uks or uhf), not {method.reference}: "
                         "a fractional or added electron lives in one spin orbital")


def _scan_job(args, mol, method):
    from ..fractional import make_deltas
    from ..occupations import Channel, SpecError
    from ..records import ScanJob

    _need_unrestricted(method, "a charge scan")
    if method.correction is not None and args.mode != "scf":
        raise InputError(f"--{method.correction.name} needs --mode scf (the ensemble route has no orbitals per "
                         "point)")
    occ, target = _occupation(args.state, mol, method)
    try:
        channel = Channel.parse(args.channel)
        channel.resolve(target)
    except SpecError as exc:
        raise InputError(f"--channel {args.channel!r}: {exc}") from None
    if args.deltas is not None:
        try:
            deltas = make_deltas([float(v) for v in args.deltas.split(",") if v.strip()])
        except ValueError as exc:
            raise InputError(f"--deltas {args.deltas!r}: {exc}") from None
    else:
        try:
            deltas = make_deltas(None, args.points)
        except ValueError as exc:
            raise InputError(f"--points: {exc}") from None
    return ScanJob(channel=str(channel), state=str(occ), deltas=tuple(deltas), mode=args.mode, predictor=args.predictor)


def _theorem_job(args, mol, method):
    from pyscf.data.elements import chemcore

    from ..chempot import make_channels, resolve_channels
    from ..occupations import SpecError
    from ..records import TheoremJob

    _need_unrestricted(method, "a chemical potential")
    occ, target = _occupation(args.state, mol, method)
    try:
        channels = make_channels(target, args.channels, chemcore(mol), args.n_virtual)
        if not channels:
            raise SpecError("no channels")
        resolve_channels(channels, target)
    except SpecError as exc:
        raise InputError(f"--channels {args.channels!r}: {exc}") from None
    try:
        return TheoremJob(state=str(occ), channels=args.channels, n_virtual=args.n_virtual)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def make_task(args):
    """(Task, built Mole) from the options of run/scan/chempot, every input checked before any SCF."""
    from ..records import StatesJob, Task

    molecule, mol = _molecule(args)
    method = _method(args, mol)
    if args.command == "run":
        job = StatesJob(specs=tuple(str(_occupation(spec, mol, method)[0]) for spec in args.state))
    elif args.command == "scan":
        job = _scan_job(args, mol, method)
    else:
        job = _theorem_job(args, mol, method)
    _check_output(args.json)
    _check_output(args.output)
    if args.output and args.json and args.json != "-" and \
            os.path.realpath(args.output) == os.path.realpath(args.json):
        raise InputError(f"--output and --json name the same file {args.output}; give two paths")
    inputs = [p for p in (args.molecule, getattr(args, "input_file", None)) if p]
    for flag, path in (("--json", args.json), ("--output", args.output)):
        if path not in (None, "-") and any(os.path.realpath(path) == os.path.realpath(i) for i in inputs):
            raise InputError(f"{flag} {path} is an input of this command; write the results elsewhere")
    return Task(molecule, method, job), mol


# -- running -----------------------------------------------------------------------------------------------
def _verbose(args) -> int:
    """PySCF log level from -v (its log goes to stderr, see build_mol)."""
    return {0: 0, 1: 4}.get(args.verbose, 5)


class _Progress:
    """Progress of a job on stderr (tqdm), only on a terminal and without --quiet/--json -."""

    def __init__(self, args, total: int, unit: str):
        self.bar = None
        if args.quiet or getattr(args, "json", None) == "-" or not sys.stderr.isatty():
            return
        import shutil

        from tqdm import tqdm

        width = shutil.get_terminal_size((80, 20)).columns or 80
        # points take seconds each: redraw at every one (mininterval 0)
        self.bar = tqdm(total=total, unit=unit, file=sys.stderr, ncols=width, leave=False, mininterval=0)

    def __call__(self, what, result) -> None:
        if self.bar is None:
            return
        name = f"delta {what:g}" if isinstance(what, float) else str(what)
        flag = "" if result.converged else " NOT CONVERGED"
        self.bar.set_postfix_str(f"{name}: E = {result.e_tot:.8f} Eh{flag}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _progress(args, task, mol):
    """The progress display of a task: one step per SCF."""
    job = task.job
    if args.command == "run":
        return _Progress(args, 1 + sum(1 for s in job.specs if s != "ground"), "state")
    if args.command == "scan":
        return _Progress(args, len(set(job.deltas) | {0.0, 1.0}), "point")
    from pyscf.data.elements import chemcore

    from ..chempot import make_channels

    target = _occupation(job.state, mol, task.method)[1]
    return _Progress(args, 1 + len(make_channels(target, job.channels, chemcore(mol), job.n_virtual)), "state")


def _cmd_compute(args) -> int:
    """run, scan and chempot: one pipeline."""
    from ..report import make_report, make_warnings
    from ..study import StudyBusy, StudyMismatch
    from ..tasks import run_task

    task, mol = make_task(args)
    if args.print_python:
        from .script import make_python_script

        sys.stdout.write(make_python_script(args))
        return EXIT_OK
    progress = _progress(args, task, mol)
    try:
        record = run_task(task, mol=mol, study=args.output, callback=progress, verbose=_verbose(args))
    except (StudyBusy, StudyMismatch) as exc:
        raise InputError(str(exc)) from None
    finally:
        progress.close()
    summary, text = make_report(record)
    if args.json:
        _write_json(args.json, summary)
    if args.json != "-":
        print(text)
    failed = False
    for message, not_converged in make_warnings(record):
        print(f"deltascf: warning: {message}", file=sys.stderr)
        failed = failed or not_converged
    return EXIT_NOT_CONVERGED if failed else EXIT_OK


# -- report and plot ---------------------------------------------------------------------------------------
def _load_study(path) -> dict:
    from ..io import load_all

    try:
        return load_all(path)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path}: {' '.join(str(exc).split())}") from None


def _batch_rows(directory: str):
    """(rows, failures) of a batch's output directory."""
    from ..batch import FAILURES, SUMMARY

    try:
        with open(os.path.join(directory, SUMMARY + ".json"), encoding="utf-8") as fh:
            rows = json.load(fh)["rows"]
        failures = {}
        if os.path.exists(os.path.join(directory, FAILURES)):
            with open(os.path.join(directory, FAILURES), encoding="utf-8") as fh:
                failures = json.load(fh)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{directory}: not a batch output directory ({exc.__class__.__name__}: "
                         f"{' '.join(str(exc).split())})") from None
    return rows, failures


def _cmd_report(args) -> int:
    from ..report import make_batch_report, make_study_report

    if os.path.isdir(args.study):
        summary, text = make_batch_report(*_batch_rows(args.study))
    else:
        summary, text = make_study_report(_load_study(args.study))
    if args.json:
        from ..report import to_json

        sys.stdout.write(to_json(summary) + "\n")
    else:
        print(text)
    return EXIT_OK


def _cmd_plot(args) -> int:
    from ..plot import (FORMATS, make_error_distribution, make_points_figure, make_scan_figure, make_set_parity,
                        make_states_figure, make_theorem_parity, save_figure)
    from ..report import split_study

    root, suffix = os.path.splitext(args.out)
    if suffix.lower() not in FORMATS:
        raise InputError(f"{args.out}: choose a figure file ending in {', '.join(FORMATS)}")
    _check_output(args.out)
    figures = []
    if os.path.isdir(args.study):
        rows, _ = _batch_rows(args.study)
        try:
            figures += [("batch", "parity", make_set_parity(rows)), ("batch", "errors", make_error_distribution(rows))]
        except ValueError as exc:
            raise InputError(f"{args.study}: {exc}") from None
        records, partial = {}, {}
    else:
        records, partial = split_study(_load_study(args.study))
    states = {label: r for (kind, label), r in records.items() if kind == "states"}
    if states:
        labels = sorted(states, key=lambda k: (k != "ground", states[k].e_tot))
        figures.append(("states", "all", make_states_figure(labels, [states[k] for k in labels], states[labels[0]])))
    for (kind, label), r in sorted(records.items()):
        if kind == "scans":
            figures.append((kind, label, make_scan_figure(r)))
        elif kind == "theorem":
            figures.append((kind, label, make_theorem_parity(r)))
    for job, points in sorted(partial.items()):
        done = [r for (kind, _), r in points.items() if kind == "states"]
        figures.append(("interrupted", job, make_points_figure(done, f"{job} (interrupted)")))
    if not figures:
        raise InputError(f"{args.study}: no states, scans or theorem tables to draw")
    paths = [args.out] if len(figures) == 1 else [f"{root}-{kind}-{label}{suffix}" for kind, label, _ in figures]
    for path in paths:  # every target checked before the first figure is written
        _check_output(path)
    for (_, _, fig), path in zip(figures, paths):
        print(save_figure(fig, path))
    return EXIT_OK


def _cmd_batch(args) -> int:
    """Expand a manifest into tasks and run them on Dask (or list them with --dry-run)."""
    from ..batch import DASK_HINT, FAILURES, SchedulerError, run_batch, status
    from ..manifest import ManifestError, expand, read_manifest
    from ..report import make_batch_report

    try:
        manifest = read_manifest(args.manifest)
    except ManifestError as exc:
        raise InputError(str(exc)) from None
    tasks = expand(manifest)
    for flag, value in (("--workers", args.workers), ("--threads-per-worker", args.threads_per_worker)):
        if value is not None and value < 1:
            raise InputError(f"{flag} must be at least 1, got {value}")
    state = status(tasks, manifest.output) if os.path.isdir(manifest.output) else {nt.task.key: "new" for nt in tasks}
    if args.dry_run:
        width = max(len(nt.name) for nt in tasks)
        print(f"{'#':>4}  {'task':<{width}}  {'key':<12}  status")
        for k, nt in enumerate(tasks, 1):
            print(f"{k:>4}  {nt.name:<{width}}  {nt.task.key:<12}  {state[nt.task.key]}")
        counts = {s: list(state.values()).count(s) for s in ("complete", "failed", "partial", "new")}
        print(f"{len(tasks)} tasks ({', '.join(f'{n} {s}' for s, n in counts.items() if n)}); results in "
              f"{manifest.output}")
        return EXIT_OK
    try:
        import distributed  # noqa: F401  (the extra)
    except ImportError:
        raise InputError(DASK_HINT) from None
    created = not os.path.isdir(manifest.output)
    try:
        os.makedirs(manifest.output, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{manifest.output}: cannot make the output directory ({exc.strerror or exc})") from None
    bar = _Progress(args, sum(1 for s in state.values() if s != "complete"), "task")

    def progress(done, failed, running, total, eta):
        if bar.bar is not None:
            bar.bar.set_postfix_str(f"done {done}, failed {failed}, running {running}, about {eta:.0f} s left",
                                    refresh=False)
            bar.bar.update(1)

    try:
        result = run_batch(tasks, manifest.output, scheduler=args.scheduler, n_workers=args.workers,
                           threads_per_worker=args.threads_per_worker, retry_failed=args.retry_failed,
                           progress=progress)
    except SchedulerError as exc:
        if created:  # nothing was written: leave no empty output directory behind
            with contextlib.suppress(OSError):
                os.rmdir(manifest.output)
        raise InputError(str(exc)) from None
    except RuntimeError as exc:
        if str(exc) == DASK_HINT:
            raise InputError(DASK_HINT) from None
        raise
    finally:
        bar.close()
    with open(os.path.join(manifest.output, FAILURES), encoding="utf-8") as fh:
        failures = json.load(fh)
    _, text = make_batch_report(result.rows, {k: v for k, v in failures.items() if k in result.failed})
    print(text)
    print(f"\n{len(result.done)} task(s) run, {len(result.skipped)} finished before, {len(result.failed)} failed, "
          f"in {result.wall_s:.1f} s; results in {manifest.output} (summary.csv, summary.json)")
    return EXIT_NOT_CONVERGED if result.failed else EXIT_OK


def _cmd_opt(args) -> int:
    """deltascf opt: a state's geometry by geomeTRIC, the state followed step by step (deltascf.optimize)."""
    from ..optimize import StateLost, adiabatic_energies, geometric_available, optimize_state
    from ..records import Method
    from ..report import format_adiabatic, format_optimization, make_adiabatic_summary, make_optimization_summary

    if args.molecule is not None and args.molecule.lower().endswith(".toml"):
        raise InputError("deltascf opt takes an XYZ file or --atom (no input file)")
    if not args.xc:
        raise InputError("--xc is required")
    if not args.basis:
        raise InputError("--basis is required")
    if args.maxsteps < 1:
        raise InputError(f"--maxsteps must be at least 1, got {args.maxsteps}")
    _, mol = _molecule(args)
    check_xc(args.xc)
    try:
        method = Method(**{o.dest: getattr(args, o.dest) for o in options() if o.target == "method"})
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if method.restricted and mol.spin != 0:
        raise InputError(f"reference {method.reference} needs spin 0 (got {mol.spin}); use uks or uhf")
    occ = _occupation(args.state, mol, method)[0]
    if args.adiabatic and occ.is_ground:
        raise InputError("--adiabatic needs an excited --state")
    _check_output(args.json)
    _check_output(args.xyz_out)
    if not geometric_available():
        raise InputError('deltascf opt needs geomeTRIC: pip install ".[opt]"')
    verbose = _verbose(args)
    shown, err = [0], sys.stderr  # the optimizer hides geomeTRIC's log by redirecting stderr: keep our own

    def show(step):
        shown[0] += 1
        if not args.quiet and args.json != "-":
            print(f"step {shown[0] - 1:>3}  E = {step.e_tot:.10f} Eh  max|g| = {abs(step.grad).max():.2e} Eh/bohr"
                  f"  overlap = {step.overlap.min():.4f}", file=err, flush=True)

    kw = dict(method=method, maxsteps=args.maxsteps, grid_response=args.grid_response, callback=show,
              verbose=verbose)
    try:
        if args.adiabatic:
            result = adiabatic_energies(mol, state=occ, **kw)
            final, summary, text = result.excited, make_adiabatic_summary(result), format_adiabatic(result)
        else:
            result = final = optimize_state(mol, state=occ, **kw)
            summary, text = make_optimization_summary(result), format_optimization(result)
    except StateLost as exc:
        print(f"deltascf: error: the state was lost: {exc}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    if args.json:
        _write_json(args.json, summary)
    if args.xyz_out:
        from ..io import write_atomically

        def write(tmp):
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(final.to_xyz())

        write_atomically(args.xyz_out, write)
    if args.json != "-":
        print(text)
    if final.lost or not final.converged:
        why = final.lost or f"not converged in {args.maxsteps} steps"
        print(f"deltascf: warning: the optimization stopped: {why}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    return EXIT_OK


COMMANDS = {"run": _cmd_compute, "scan": _cmd_compute, "chempot": _cmd_compute, "batch": _cmd_batch,
            "report": _cmd_report, "plot": _cmd_plot, "opt": _cmd_opt}


# -- input files -------------------------------------------------------------------------------------------
def _apply_input_file(args, argv) -> None:
    """Lay a TOML input file under the command line: an option given on the command line wins, over its whole
    group (``--points`` replaces a file's ``delta``, ``--atom`` a file's ``xyz``)."""
    from .toml import InputFileError, read_input

    explicit = set(vars(build_parser(suppress_defaults=True).parse_args(argv))) - {"molecule", "command"}
    groups = {o.group for o in options() if o.dest in explicit and o.group}
    covered = explicit | {o.dest for o in options() if o.group in groups}
    try:
        opts = read_input(args.molecule, command=args.command, skip=covered)
    except InputFileError as exc:
        raise InputError(str(exc)) from None
    args.input_file, args.molecule = args.molecule, None
    for key, value in opts.items():
        if key != "command" and key not in covered:
            setattr(args, key, value)


def _check_required(args) -> None:
    for o in options():
        if o.required and args.command in o.commands and not getattr(args, o.dest, None):
            raise InputError(f"{o.flags[0]} is required (on the command line or in the input file)")


class _Terminated(KeyboardInterrupt):
    """SIGTERM (batch schedulers, ``timeout``), handled like Ctrl-C."""


def _on_sigterm(signum, frame):
    raise _Terminated


#: a value that starts like a negative number ("-30,10"), which argparse would take for an option
_NEGATIVE = re.compile(r"^-(\.?\d|inf|nan)", re.IGNORECASE)


def _join_negative_values(argv: list) -> list:
    """``--flag -30,10`` as ``--flag=-30,10``, for the flags that take a value."""
    takes_value = {flag for o in options() for flag in o.flags if o.action is None}
    out, i = [], 0
    while i < len(argv):
        if argv[i] in takes_value and i + 1 < len(argv) and _NEGATIVE.match(argv[i + 1]):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv=None) -> int:
    """Run the ``deltascf`` command line on ``argv`` (default ``sys.argv[1:]``) and return its exit code:
    0 ok, 2 bad input, 3 a state or point did not converge."""
    parser = build_parser()
    argv = _join_negative_values(sys.argv[1:] if argv is None else list(argv))
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if _main_thread() else None
    try:
        args = parser.parse_args(argv)
        if args.version:
            from .. import __version__

            print(__version__)
            return EXIT_OK
        if args.command is None:
            raise InputError("choose a command: " + ", ".join(COMMANDS))
        if args.command in COMPUTE:
            if args.molecule is not None and args.molecule.lower().endswith(".toml"):
                _apply_input_file(args, argv)
            _check_required(args)
        return COMMANDS[args.command](args)
    except InputError as exc:
        print(f"deltascf: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt as exc:
        saved = getattr(args, "output", None) if "args" in locals() else None
        where = f"; finished points are in {saved}, re-run the same command to resume" if saved else ""
        word = "terminated" if isinstance(exc, _Terminated) else "interrupted"
        print(f"deltascf: {word}{where}", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, _Terminated) else EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def console() -> None:
    """The installed ``deltascf`` entry point: :func:`main`, then exit with its code."""  # pragma: no cover - the installed entry point
    sys.exit(main())


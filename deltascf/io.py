"""HDF5 study files: one writer (``save``), one reader (``load``, ``load_all``); design §8.

Pure I/O: no numerics, no printing.  A study file holds one molecule
(``/mol``, readable by ``pyscf.lib.chkfile.load_mol``) and any number of
records, each under ``/<kind>/<label>``:

================ ==========
record           kind group
================ ==========
``ScfResult``    ``states``
``ChargeScan``   ``scans``
``TheoremTable`` ``theorem``
``LoscResult``   ``losc``
================ ==========

Every dataclass field of a record is stored: arrays as datasets (bit for
bit, dtype and shape kept), scalars as attributes, small tuples and dicts as
JSON attributes, nested records as subgroups.  Each record group names its
type (attribute ``record_type``) and how each field is stored
(``field_kinds``), and ``load`` rebuilds the record through its constructor,
so loaded records are frozen and their arrays read-only.  The layout is
documented in ``docs/io.md``.

Files are replaced atomically: ``save`` writes a temporary file in the same
directory and renames it over the target, so an interrupted save leaves the
previous file as it was.  A study (:mod:`deltascf.study`) appends records to a
journal beside the file instead (:func:`encode_records`, :mod:`deltascf.journal`)
and merges them in one rewrite at the end; :func:`load_all` reads both.
"""
from __future__ import annotations

import dataclasses
import functools
import io as _bytes_io
import json
import os
import secrets
import shutil
from datetime import datetime, timezone

import h5py
import numpy as np

__all__ = ["save", "save_many", "load", "load_all", "study_key", "study_inputs", "study_complete",
           "write_atomically", "encode_records",
           "decode_records", "SCHEMA_VERSION", "record_kinds"]

#: major version of the layout; readers refuse files with a larger one
SCHEMA_VERSION = 1
#: record type -> top-level group, for the core records (each correction's result adds its own: /losc, ...)
CORE_KINDS = {"ScfResult": "states", "ChargeScan": "scans", "TheoremTable": "theorem"}
#: records stored as rows of a compound dataset (all fields str/bool/int/float)
_ROW_RECORDS = ("TheoremRow",)
#: attributes of a record group that are not fields
_RECORD_TYPE, _FIELD_KINDS = "record_type", "field_kinds"
#: root attributes of a study file (deltascf.study): the task's key, its inputs, and whether its job finished
STUDY_KEY, STUDY_INPUTS, COMPLETE = "study_key", "study_inputs", "complete"
DEFAULT_LABEL = "result"


def _corrections() -> tuple:
    """The registered correction modules (the registry may grow at run time, so its items key the caches)."""
    from .corrections import REGISTRY

    return _correction_modules(tuple(REGISTRY.items()))


@functools.lru_cache(maxsize=None)
def _correction_modules(items: tuple) -> tuple:
    from .corrections import get_correction

    return tuple(get_correction(name) for name, _ in items)


def _registry() -> dict:
    """Record classes by name (imported here: io must not import the solvers at module load)."""
    return _registry_of(_corrections())


@functools.lru_cache(maxsize=None)
def _registry_of(corrections: tuple) -> dict:
    from .records import ChargeScan, Method, Provenance, ScfResult, TheoremRow, TheoremTable

    return {c.__name__: c for c in (ScfResult, ChargeScan, TheoremTable, Method, Provenance, TheoremRow,
                                    *(impl.Result for impl in corrections), *(impl.Settings for impl in corrections))}


def record_kinds() -> dict:
    """Record type name -> top-level group: the core records, then each correction's result (its name)."""
    return {**CORE_KINDS, **{impl.Result.__name__: impl.NAME for impl in _corrections()}}


def _json_records() -> tuple:
    """Flat settings records stored as JSON attributes (Method, Provenance, every correction's Settings)."""
    return ("Method", "Provenance", *(impl.Settings.__name__ for impl in _corrections()))


def _kind_aliases() -> dict:
    """Other names accepted for ``kind`` by ``load``."""
    return {"state": "states", "scan": "scans", "theorems": "theorem", **record_kinds()}


def _type_name(value) -> str | None:
    """Registry name of a record instance, or None."""
    name = type(value).__name__
    reg = _registry()
    return name if name in reg and isinstance(value, reg[name]) else None


# -- plain values <-> JSON ------------------------------------------------------------
def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"cannot store a {type(x).__name__} in a JSON attribute")


def _dumps(value) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _tuplify(x):
    """JSON lists back to the tuples they were saved from (recursively)."""
    if isinstance(x, list):
        return tuple(_tuplify(v) for v in x)
    if isinstance(x, dict):
        return {k: _tuplify(v) for k, v in x.items()}
    return x


def _scalar(kind: str, v):
    """A stored scalar back to its Python type."""
    if kind == "str":
        return v.decode("utf-8") if isinstance(v, bytes) else str(v)
    return {"bool": bool, "int": int, "float": float}[kind](v)


def _scalar_kind(v) -> str | None:
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, (int, np.integer)):
        return "int"
    if isinstance(v, (float, np.floating)):
        return "float"
    if isinstance(v, str):
        return "str"
    return None


# -- writing one record -----------------------------------------------------------------
def _value_kind(value) -> str:
    """How a field value is stored (see docs/io.md, "field kinds")."""
    if value is None:
        return "none"
    if isinstance(value, np.ndarray):
        return "array"
    scalar = _scalar_kind(value)
    if scalar:
        return scalar
    name = _type_name(value)
    if name in _json_records():
        return f"json_record:{name}"
    if name in record_kinds():
        return "record"
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("a dict field needs string keys")
        return "dict"
    if isinstance(value, tuple) and value:
        if all(isinstance(v, np.ndarray) for v in value):
            return "arrays"
        names = {_type_name(v) for v in value}
        if len(names) == 1 and names <= set(record_kinds()):
            return "records"
        if len(names) == 1 and names <= set(_ROW_RECORDS):
            return "rows"
    if isinstance(value, tuple):
        return "tuple"
    raise TypeError(f"cannot store a value of type {type(value).__name__}")


def _write_record(group, record) -> None:
    """All dataclass fields of ``record`` into ``group``."""
    kinds = {}
    for f in dataclasses.fields(record):
        if f.name in (_RECORD_TYPE, _FIELD_KINDS):
            raise TypeError(f"field name {f.name!r} clashes with a reserved attribute")
        try:
            kinds[f.name] = _write_value(group, f.name, getattr(record, f.name))
        except TypeError as e:
            raise TypeError(f"{type(record).__name__}.{f.name}: {e}") from None
    group.attrs[_RECORD_TYPE] = type(record).__name__
    group.attrs[_FIELD_KINDS] = _dumps(kinds)


def _write_value(group, name: str, value) -> str:
    """Store one field value under ``name``; returns its kind."""
    kind = _value_kind(value)
    if kind == "array":
        group.create_dataset(name, data=value)
    elif kind == "none":
        group.attrs[name] = h5py.Empty("f8")
    elif kind == "str":
        group.attrs[name] = value
    elif kind in ("bool", "int", "float"):
        group.attrs[name] = {"bool": np.bool_, "int": np.int64, "float": np.float64}[kind](value)
    elif kind.startswith("json_record:"):
        group.attrs[name] = _dumps(dataclasses.asdict(value))
    elif kind in ("dict", "tuple"):
        group.attrs[name] = _dumps(value)
    elif kind == "arrays":
        sub = group.create_group(name)
        sub.attrs["length"] = len(value)
        for k, arr in enumerate(value):
            sub.create_dataset(str(k), data=arr)
    elif kind == "record":
        _write_record(group.create_group(name), value)
    elif kind == "records":
        sub = group.create_group(name)
        sub.attrs["length"] = len(value)
        width = max(3, len(str(len(value) - 1)))
        for k, rec in enumerate(value):
            _write_record(sub.create_group(f"{k:0{width}d}"), rec)
    else:  # rows
        _write_rows(group, name, value)
    return kind


def _write_rows(group, name: str, rows: tuple) -> None:
    """Flat records of one type as a compound dataset, one row each."""
    fields = [f.name for f in dataclasses.fields(rows[0])]
    kinds = {}
    for fname in fields:
        found = {_scalar_kind(getattr(r, fname)) for r in rows}
        if len(found) != 1 or None in found:
            raise TypeError(f"{type(rows[0]).__name__}.{fname} is not one scalar type in every row")
        kinds[fname] = found.pop()
    np_types = {"str": h5py.string_dtype(), "bool": np.bool_, "int": np.int64, "float": np.float64}
    dtype = np.dtype([(fname, np_types[kinds[fname]]) for fname in fields])
    table = np.array([tuple(getattr(r, fname) for fname in fields) for r in rows], dtype=dtype)
    ds = group.create_dataset(name, data=table)
    ds.attrs[_RECORD_TYPE] = type(rows[0]).__name__
    ds.attrs[_FIELD_KINDS] = _dumps(kinds)


# -- reading one record -------------------------------------------------------------------
def _read_record(group):
    """Rebuild a record from its group through the record's constructor."""
    reg = _registry()
    type_name = _attr_str(group.attrs.get(_RECORD_TYPE))
    if type_name not in reg:
        raise ValueError(f"{group.name}: unknown record type {type_name!r}")
    cls = reg[type_name]
    kinds = json.loads(_attr_str(group.attrs[_FIELD_KINDS]))
    kw = {}
    for f in dataclasses.fields(cls):
        if f.name not in kinds:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{group.name}: {type_name}.{f.name} is missing from the file")
            continue
        kw[f.name] = _read_value(group, f.name, kinds[f.name])
    return cls(**kw)


def _attr_str(v) -> str | None:
    return v.decode("utf-8") if isinstance(v, bytes) else v


def _read_value(group, name: str, kind: str):
    if kind == "array":
        return group[name][()]
    if kind == "none":
        return None
    if kind in ("str", "bool", "int", "float"):
        return _scalar(kind, group.attrs[name])
    if kind.startswith("json_record:"):
        return _read_json_record(group, name, kind.split(":", 1)[1])
    if kind in ("dict", "tuple"):
        return _tuplify(json.loads(_attr_str(group.attrs[name])))
    if kind == "arrays":
        sub = group[name]
        return tuple(sub[str(k)][()] for k in range(int(sub.attrs["length"])))
    if kind == "record":
        return _read_record(group[name])
    if kind == "records":
        sub = group[name]
        keys = sorted(sub, key=int)
        if len(keys) != int(sub.attrs["length"]):
            raise ValueError(f"{sub.name}: holds {len(keys)} records, expected {int(sub.attrs['length'])}")
        return tuple(_read_record(sub[k]) for k in keys)
    if kind == "rows":
        return _read_rows(group[name])
    raise ValueError(f"{group.name}/{name}: unknown field kind {kind!r}")


def _read_json_record(group, name: str, type_name: str):
    if type_name not in _json_records():
        raise ValueError(f"{group.name}/{name}: unknown record type {type_name!r}")
    d = json.loads(_attr_str(group.attrs[name]))
    return _registry()[type_name](**{k: _tuplify(v) for k, v in d.items()})


def _read_rows(ds) -> tuple:
    cls = _registry()[_attr_str(ds.attrs[_RECORD_TYPE])]
    kinds = json.loads(_attr_str(ds.attrs[_FIELD_KINDS]))
    table = ds[()]
    return tuple(cls(**{f: _scalar(k, row[f]) for f, k in kinds.items()}) for row in table)


# -- files -------------------------------------------------------------------------------------
def _check_schema(fh, path) -> None:
    if "schema_version" not in fh.attrs:
        raise ValueError(f"{path} is not a deltascf file (no schema_version attribute)")
    version = fh.attrs["schema_version"]
    try:
        major = int(str(_attr_str(version)).split(".")[0])
    except ValueError:
        raise ValueError(f"{path}: unreadable schema_version {version!r}") from None
    if major > SCHEMA_VERSION:
        raise ValueError(f"{path} has schema_version {version}, newer than this deltascf reads "
                         f"({SCHEMA_VERSION}); upgrade deltascf to read it")


def _open(path):
    """An open, checked deltascf file (read-only)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if not h5py.is_hdf5(path):
        raise ValueError(f"{path} is not an HDF5 file")
    fh = h5py.File(path, "r")
    try:
        _check_schema(fh, path)
    except BaseException:
        fh.close()
        raise
    return fh


def _entries(fh) -> list:
    """(kind, label) of every record in an open file."""
    return [(kind, label) for kind in dict.fromkeys(record_kinds().values()) if kind in fh for label in fh[kind]]


def _check_label(label) -> str:
    label = DEFAULT_LABEL if label is None else label
    if not isinstance(label, str) or not label or "/" in label or label in (".", ".."):
        raise ValueError(f"label must be a non-empty string without '/', got {label!r}")
    return label


def _mol_key(text) -> dict:
    """The parts of mol.dumps() that define the molecule: the user-level inputs (atoms,
    basis, charge, spin, ...), not verbose/output/memory and not the private integral
    tables (_atm, _bas, _env), whose order PySCF may build differently from run to run."""
    d = json.loads(text)
    return {k: v for k, v in d.items()
            if k not in ("verbose", "output", "max_memory", "stdout") and not k.startswith("_")}


def _method_of(record):
    method = getattr(record, "method", None)
    if method is None and getattr(record, "state", None) is not None:
        method = record.state.method
    return method


def _kind_of(record) -> str:
    type_name = _type_name(record)
    if type_name not in record_kinds():
        raise TypeError(f"save stores {', '.join(record_kinds())}, not {type(record).__name__}")
    return record_kinds()[type_name]


def save(path, result, *, mol=None, label: str | None = None, overwrite: bool = False) -> None:
    """Write one record into a study file (created or added to); design §8.

    Parameters
    ----------
    path : str or os.PathLike
        The HDF5 file.  It is created, or the record is added to it.
    result : ScfResult, ChargeScan, TheoremTable or a correction's result (LoscResult, ...)
    mol : pyscf.gto.Mole, optional
        Stored as ``/mol`` (``mol.dumps()``, as PySCF's chkfile does).  A file
        holds one molecule: a different one is refused.
    label : str, optional
        Name of the record inside its kind group (default ``"result"``).
    overwrite : bool
        Replace an existing record of the same kind and label (refused otherwise).

    The file is written to a temporary file in the same directory and renamed
    over ``path``; an interrupted save leaves the previous file unchanged.
    """
    save_many(path, [(label, result)], mol=mol, overwrite=overwrite)


def save_many(path, items, *, mol=None, overwrite: bool = False, attrs: dict | None = None) -> None:
    """Write several ``(label, record)`` items (and root ``attrs``) into a study file in one atomic rewrite."""
    entries = []
    for label, record in items:
        kind = _kind_of(record)
        entries.append((kind, _check_label(label), record))
    path = os.path.realpath(os.fspath(path))  # through a symlink: replace its target, not the link
    mol_json = mol.dumps() if mol is not None else None
    existing = os.path.exists(path)
    if existing:
        with _open(path) as fh:
            for kind, label, _ in entries:
                if f"{kind}/{label}" in fh and not overwrite:
                    raise ValueError(f"{path} already holds {kind}/{label}; pass overwrite=True or another label")
            if mol_json is not None and "mol" in fh and _mol_key(fh["mol"][()]) != _mol_key(mol_json):
                raise ValueError(f"{path} holds a different molecule; save this record in another file")

    def fill(dst):
        if existing:
            with h5py.File(path, "r") as src:
                _copy_except(src, dst, {(kind, label) for kind, label, _ in entries})
        else:
            _write_root_attrs(dst)
        for key, value in (attrs or {}).items():
            dst.attrs[key] = value
        if mol_json is not None and "mol" not in dst:
            dst["mol"] = mol_json  # a scalar string dataset, like pyscf.lib.chkfile.save_mol
        for kind, label, record in entries:
            method = _method_of(record)
            if method is not None and "method" not in dst:
                dst["method"] = _dumps(method.to_dict())
            _write_record(dst.require_group(kind).create_group(label), record)

    _replace_atomically(path, fill, mode_from=path if existing else None)


def _write_root_attrs(dst) -> None:
    import pyscf

    from . import __version__

    dst.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
    dst.attrs["deltascf_version"] = __version__
    dst.attrs["pyscf_version"] = pyscf.__version__
    dst.attrs["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    dst.attrs["units"] = "hartree"


def _copy_except(src, dst, skip: set) -> None:
    """Everything of ``src`` into ``dst`` except the records ``/<kind>/<label>`` named in ``skip``."""
    for key, value in src.attrs.items():
        dst.attrs[key] = value
    kinds_skipped = {kind for kind, _ in skip}
    for name in src:
        if name not in kinds_skipped:
            src.copy(src[name], dst, name=name)
            continue
        group = dst.create_group(name)
        for key, value in src[name].attrs.items():
            group.attrs[key] = value
        for child in src[name]:
            if (name, child) not in skip:
                src.copy(src[name][child], group, name=child)


def _new_temp(path: str) -> str:
    """A new empty file beside ``path`` (permissions from the umask, like any new file)."""
    directory, base = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"no such directory: {directory}")
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def write_atomically(path, write, mode_from: str | None = None) -> None:
    """Create ``path`` through ``write(tmp)`` on a temporary file beside it, then rename.

    ``write`` receives the temporary path and fills it.  An interruption
    leaves any previous ``path`` as it was and removes the temporary; the
    new file gets the permissions of ``mode_from`` when given.  Used for study
    files, figures and JSON.
    """
    path = os.fspath(path)
    tmp = _new_temp(path)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if mode_from is not None:
            shutil.copymode(mode_from, tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _replace_atomically(path: str, fill, mode_from: str | None = None) -> None:
    """Run ``fill(h5py.File)`` on a temporary file, then rename it over ``path``."""
    def write(tmp):
        with h5py.File(tmp, "w") as dst:
            fill(dst)

    write_atomically(path, write, mode_from)


# -- records as bytes: the frames of a study's journal ------------------------------------------------
def encode_records(items, attrs: dict | None = None) -> bytes:
    """An in-memory HDF5 image holding ``(label, record)`` items in the file layout, plus root ``attrs``."""
    buf = _bytes_io.BytesIO()
    with h5py.File(buf, "w") as dst:
        for key, value in (attrs or {}).items():
            dst.attrs[key] = value
        for label, record in items:
            _write_record(dst.require_group(_kind_of(record)).create_group(_check_label(label)), record)
    return buf.getvalue()


def decode_records(payload: bytes):
    """(root attrs, {(kind, label): record}) of an image made by :func:`encode_records`."""
    with h5py.File(_bytes_io.BytesIO(payload), "r") as fh:
        attrs = {k: _attr_str(v) for k, v in fh.attrs.items()}
        return attrs, {(k, lab): _load_entry(fh, k, lab) for k, lab in _entries(fh)}


def _journal_records(path, fh) -> dict:
    """The records in the journal of the study at ``path`` that belong to it (same ``study_key``)."""
    from . import journal

    key = _attr_str(fh.attrs.get(STUDY_KEY))
    out = {}
    if key is None:
        return out
    for payload in journal.read(journal.journal_path(path)):
        attrs, records = decode_records(payload)
        if attrs.get(STUDY_KEY) == key:
            out.update(records)
    return out


def _normalize_kind(kind) -> str | None:
    if kind is None:
        return None
    if kind in record_kinds().values():
        return kind
    aliases = _kind_aliases()
    if kind in aliases:
        return aliases[kind]
    raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(dict.fromkeys(record_kinds().values()))}")


def load(path, label: str | None = None, kind: str | None = None):
    """The record of a study file: the only one, or the one with ``label`` (and ``kind``).

    Parameters
    ----------
    path : str or os.PathLike
    label : str, optional
        Record label; needed when the file holds several records.
    kind : {"states", "scans", "theorem", "losc", ...}, optional
        Kind group (record type names such as ``"ScfResult"`` are accepted);
        needed when one label is used in several kinds.

    Returns
    -------
    ScfResult, ChargeScan, TheoremTable or a correction's result
        Frozen, with read-only arrays.
    """
    kind = _normalize_kind(kind)
    records = load_all(path)
    match = [key for key in records if (kind is None or key[0] == kind) and (label is None or key[1] == label)]
    if len(match) != 1:
        held = ", ".join(f"{k}/{lab}" for k, lab in records) or "no records"
        what = "no record matches" if not match else "several records match"
        raise ValueError(f"{os.fspath(path)}: {what} (label={label!r}, kind={kind!r}); it holds {held}")
    return records[match[0]]


def load_all(path) -> dict:
    """Every record of a study file, as {(kind, label): record}.

    A study that is running, or was interrupted, also holds records in its journal that are not merged into
    the file yet (:mod:`deltascf.study`); they are included.
    """
    with _open(path) as fh:
        records = _journal_records(path, fh)
        records.update({(k, lab): _load_entry(fh, k, lab) for k, lab in _entries(fh)})
    return records


def stored_entries(path) -> set:
    """{(kind, label)} of the records in the file itself (not its journal)."""
    with _open(path) as fh:
        return set(_entries(fh))


def study_key(path) -> str | None:
    """The ``study_key`` root attribute of a deltascf file (None for files written by :func:`save`)."""
    with _open(path) as fh:
        return _attr_str(fh.attrs.get(STUDY_KEY))


def study_inputs(path) -> str | None:
    """The ``study_inputs`` root attribute (JSON) of a study file."""
    with _open(path) as fh:
        return _attr_str(fh.attrs.get(STUDY_INPUTS))


def study_complete(path) -> bool:
    """Whether a study file's job finished (root attribute ``complete``); False for a missing file."""
    if not os.path.exists(path):
        return False
    with _open(path) as fh:
        return bool(fh.attrs.get(COMPLETE, False))


def _load_entry(fh, kind: str, label: str):
    group = fh[kind][label]
    if not isinstance(group, h5py.Group):
        raise ValueError(f"{group.name} is not a record group")
    type_name = _attr_str(group.attrs.get(_RECORD_TYPE))
    if record_kinds().get(type_name) != kind:
        raise ValueError(f"{group.name} holds a {type_name!r}, not a record of kind {kind!r}")
    return _read_record(group)

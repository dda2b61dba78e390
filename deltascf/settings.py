"""What a settings field accepts, and the one check of a value: used by the records, the CLI and input files.

A settings record (``Method``, ``Molecule``, a job, a correction's options) declares each user-facing field with
:func:`option`, whose :class:`OptionInfo` holds the help, the type, the allowed values and the bounds.
:func:`check_value` checks a value against it, strictly (a boolean is not an integer, a string is not a number),
so the API, the command line and TOML files accept the same values and say the same thing about the others.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["OptionInfo", "option", "option_info", "check_value", "check_fields", "show_value"]


@dataclass(frozen=True, slots=True)
class OptionInfo:
    """What a settings field accepts.  ``kind`` is str, int or float; the checks are those of :func:`check_value`."""

    help: str
    kind: type = str
    choices: tuple | None = None
    lo: float | None = None
    hi: float | None = None
    positive: bool = False
    metavar: str | None = None
    cli: bool = True  # offered as a flag (and a TOML key) by the command line


def option(default, help: str, kind: type | None = None, **kw):
    """A dataclass field whose metadata (:class:`OptionInfo`) describes the option.

    ``default`` may be ``dataclasses.MISSING`` for a required field.
    """
    if kind is None:
        kind = type(default) if default not in (None, dataclasses.MISSING) else str
    return field(default=default, metadata={"option": OptionInfo(help=help, kind=kind, **kw)})


def option_info(record_type, name: str) -> OptionInfo | None:
    """The :class:`OptionInfo` of field ``name`` of a settings record type, or None."""
    for f in dataclasses.fields(record_type):
        if f.name == name:
            return f.metadata.get("option")
    raise KeyError(name)


def show_value(value, limit: int = 48) -> str:
    """A value as a user would write it (TOML style for booleans and non-finite floats), one line."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "a table {" + ", ".join(str(k) for k in value) + "}"
    elif isinstance(value, float) and not math.isfinite(value):
        text = "nan" if value != value else ("inf" if value > 0 else "-inf")
    elif isinstance(value, (str, int, float, list, tuple)) or value is None:
        text = repr(value)
    else:  # TOML dates and times
        text = f"{type(value).__name__} {value}"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_value(value, info: OptionInfo, where: str):
    """``value`` checked against ``info``; returns it normalized, or raises ValueError naming ``where``.

    Strict about types (a boolean is not an integer, a string is not a number), so that the API, the CLI and
    TOML files accept exactly the same values and say the same thing about the others.
    """
    if info.kind is int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{where} must be an integer, got {show_value(value)}")
        value = int(value)
        if (info.lo is not None and value < info.lo) or (info.hi is not None and value > info.hi):
            if info.hi is None:
                raise ValueError(f"{where} must be an integer >= {info.lo:g}, got {value}")
            raise ValueError(f"{where} must be an integer in {info.lo:g}..{info.hi:g}, got {value}")
        return value
    if info.kind is float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"{where} must be a number, got {show_value(value)}")
        try:
            value = float(value)
        except OverflowError:
            raise ValueError(f"{where} is too large") from None
        if not math.isfinite(value):
            raise ValueError(f"{where} must be a finite number, got {show_value(value)}")
        if info.positive and value <= 0:
            raise ValueError(f"{where} must be positive, got {show_value(value)}")
        if info.lo is not None and value < info.lo:
            raise ValueError(f"{where} must be at least {info.lo:g}, got {show_value(value)}")
        if info.hi is not None and value > info.hi:
            raise ValueError(f"{where} must be at most {info.hi:g}, got {show_value(value)}")
        return value
    if info.kind is tuple:  # a pair of numbers (lo, hi) with lo < hi, e.g. an energy window
        if isinstance(value, str) or not isinstance(value, (list, tuple, np.ndarray)) or len(value) != 2:
            raise ValueError(f"{where} must be two numbers [lo, hi], got {show_value(value)}")
        lo, hi = (check_value(v, _NUMBER, f"{where}[{k}]") for k, v in enumerate(value))
        if not lo < hi:
            raise ValueError(f"{where} needs lo < hi (low < high), got {show_value([lo, hi])}")
        return (lo, hi)
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string, got {show_value(value)}")
    if not value.strip():
        raise ValueError(f"{where} must not be empty")
    if info.choices is not None:
        key = value.strip().lower()
        if key not in info.choices:
            raise ValueError(f"{where} must be one of {', '.join(info.choices)}, got {show_value(value)}")
        return key
    return value.strip()


_NUMBER = OptionInfo(help="a number", kind=float)


def check_fields(record) -> None:
    """Check and normalize every option field of a frozen settings record in place (from ``__post_init__``).

    None is accepted only where it is the field's default (an optional setting such as ``grid_level``).
    """
    for f in dataclasses.fields(record):
        info = f.metadata.get("option")
        value = getattr(record, f.name)
        if info is None:
            continue
        if value is None:
            if f.default is not None:
                raise ValueError(f"{f.name} must be given, got None")
            continue
        object.__setattr__(record, f.name, check_value(value, info, f.name))

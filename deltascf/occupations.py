"""Occupation specs and channels, and their resolution to ``mo_occ``; theory §1.1, §2.1.

Everything here is pure: functions take arrays and return new arrays.

Grammar of a spec (whitespace is ignored, labels are case-insensitive)::

    spec    := "ground" | item ("," item)*
    item    := move | setting | hole
    move    := [spin ":"] label "->" [spin ":"] label
    setting := [spin ":"] label "=" number
    hole    := [spin ":"] core                               (remove one electron: a core hole)
    spin    := "a" | "b" | "alpha" | "beta"
    label   := ("HOMO" | "LUMO") [("+" | "-") int] | int | core      (int: 0-based index)
    core    := "core:" element [int ":"] shell              (core:O1s, core:C2:1s; atoms of one element count from 1)

A move shifts one electron (a pair, in a restricted reference without spin
prefixes) from one orbital to another; a move between spins is a spin flip.
A setting fixes the occupation of one orbital.  Labels resolve against the
aufbau orbitals of the ground state: ``HOMO`` of spin s is orbital
``nelec[s] - 1``.  Core labels resolve against the localized core orbitals
(:mod:`deltascf.core`); they need an unrestricted reference, and without a spin
prefix they name an alpha orbital.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "SpecError",
    "Label",
    "Move",
    "Setting",
    "Occupation",
    "ResolvedOccupation",
    "parse_label",
    "make_degenerate_groups",
    "format_degenerate_groups",
    "make_channel_degeneracy",
    "Channel",
]

#: tolerance on sums and bounds of occupations
OCC_TOL = 1e-10
#: orbitals of one spin and occupation whose energies lie closer than this (Eh) are degenerate;
#: a DFT grid splits benzene's e1g pair by about 6e-7 Eh, rounded coordinates by more
DEGENERACY_TOL = 1e-4


class SpecError(ValueError):
    """An occupation spec that cannot be parsed or does not fit the molecule."""


@dataclass(frozen=True, slots=True)
class Label:
    """An orbital label: ``base`` is "HOMO", "LUMO", "" (plain index) or "CORE" (``offset`` then counts the
    atoms of ``element`` from 1, and ``shell`` is "1s", "2p", ...)."""

    base: str
    offset: int
    pos: int = field(default=0, compare=False)
    element: str = ""
    shell: str = ""

    @property
    def is_core(self) -> bool:
        """True for a core label (``core:O1s``, theory §1.7)."""
        return self.base == "CORE"

    @property
    def core_key(self) -> tuple:
        """(element, atom offset, shell) of a core label: which core orbital it names."""
        return (self.element, self.offset, self.shell)

    def __str__(self) -> str:
        if self.is_core:
            return f"core:{self.element}{self.offset}:{self.shell}"
        if not self.base:
            return str(self.offset)
        if self.offset == 0:
            return self.base
        return f"{self.base}{self.offset:+d}"

    def index(self, nocc: int) -> int:
        """0-based index for a spin channel holding ``nocc`` aufbau electrons."""
        if self.base == "HOMO":
            return nocc - 1 + self.offset
        if self.base == "LUMO":
            return nocc + self.offset
        return self.offset


@dataclass(frozen=True, slots=True)
class Move:
    """Move one electron (or a restricted pair) from ``src`` to ``dst``."""

    src_spin: str | None
    src: Label
    dst_spin: str | None
    dst: Label

    def __str__(self) -> str:
        dst = self.dst_spin if self.dst_spin != self.src_spin else None
        return f"{_spin_prefix(self.src_spin)}{self.src}->{_spin_prefix(dst)}{self.dst}"


@dataclass(frozen=True, slots=True)
class Setting:
    """Set the occupation of one orbital to ``value``."""

    spin: str | None
    label: Label
    value: float

    def __str__(self) -> str:
        if self.label.is_core and self.value == 0.0:  # a core hole
            return f"{_spin_prefix(self.spin)}{self.label}"
        return f"{_spin_prefix(self.spin)}{self.label}={self.value!r}"


def _spin_prefix(spin: str | None) -> str:
    return "" if spin is None else f"{spin}:"


@dataclass(frozen=True, slots=True)
class ResolvedOccupation:
    """Target occupations in the basis of the ground-state (aufbau) orbitals.

    ``mo_occ`` has shape (2, nmo) for unrestricted and (nmo,) for restricted
    references; ``text`` echoes the spec with 0-based indices.
    """

    mo_occ: np.ndarray
    nelec: tuple[float, float]
    text: str

    def __post_init__(self):
        arr = np.array(self.mo_occ, dtype=float)
        arr.setflags(write=False)
        object.__setattr__(self, "mo_occ", arr)


@dataclass(frozen=True, slots=True)
class Occupation:
    """Which electrons go where.  Build with :meth:`parse` or :meth:`from_occ`.

    ``items`` is empty for the ground state; ``explicit`` holds per-spin
    occupation vectors (already 0-based) when given directly.
    """

    items: tuple = ()
    explicit: tuple | None = None

    # -- construction -----------------------------------------------------
    @classmethod
    def parse(cls, spec: str) -> "Occupation":
        """An Occupation from a spec string such as ``"a:HOMO->LUMO"`` (an Occupation is returned as it is);
        raises SpecError naming the offending part."""
        if isinstance(spec, Occupation):
            return spec
        if not isinstance(spec, str):
            raise SpecError(f"state spec must be a string, got {type(spec).__name__}")
        return cls(items=_parse_items(spec))

    @classmethod
    def from_occ(cls, mo_occ) -> "Occupation":
        """Explicit occupations: shape (2, nmo) (per spin) or (nmo,) (restricted)."""
        try:
            arr = np.asarray(mo_occ, dtype=float)
        except (TypeError, ValueError):
            raise SpecError("explicit occupations must be a rectangular array of numbers") from None
        if arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.shape[0] != 2):
            raise SpecError(f"explicit occupations must have shape (nmo,) or (2, nmo), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise SpecError("explicit occupations must be finite numbers")
        rows = tuple(tuple(float(x) for x in r) for r in arr) if arr.ndim == 2 else (tuple(float(x) for x in arr),)
        return cls(explicit=rows)

    # -- queries ------------------------------------------------------------
    @property
    def is_ground(self) -> bool:
        """True when the spec changes nothing: the aufbau ground state."""
        return not self.items and self.explicit is None

    @property
    def has_core(self) -> bool:
        """True when some item names a core orbital (``core:O1s``)."""
        return any(lab.is_core for it in self.items
                   for lab in ((it.src, it.dst) if isinstance(it, Move) else (it.label,)))

    def __str__(self) -> str:
        if self.explicit is not None:
            return "explicit:" + "|".join(",".join(repr(x) for x in r) for r in self.explicit)
        if not self.items:
            return "ground"
        return ",".join(str(it) for it in self.items)

    def resolve(self, nelec, nmo: int, restricted: bool, core=None) -> ResolvedOccupation:
        """Target occupations on the aufbau orbitals of the ground state.

        Parameters
        ----------
        nelec : (int, int)
            Ground-state electrons per spin; labels resolve against them.
        nmo : int
            Number of molecular orbitals.
        restricted : bool
            RKS/RHF reference: occupations per spatial orbital in [0, 2].
        core : dict, optional
            ``{(element, k, shell): (index alpha, index beta)}`` for core labels (:mod:`deltascf.core`); a spec
            with core labels needs it.
        """
        na, nb = (int(x) for x in nelec)
        if max(na, nb) > nmo:
            raise SpecError(f"{max(na, nb)} electrons of one spin do not fit in {nmo} orbitals")
        if restricted and na != nb:
            raise SpecError("a restricted reference needs a closed-shell ground state (spin 0); use reference uks/uhf")
        if self.explicit is not None:
            return _resolve_explicit(self.explicit, nmo, restricted)
        occ = _aufbau((na, nb), nmo, restricted)
        if self.has_core and restricted:
            raise SpecError("a core label moves one electron of one spin: use reference uks/uhf")
        if self.has_core and core is None:
            raise SpecError("core labels resolve against the molecule's core orbitals; give the core map")
        echo, settings = [], {}
        for it in self.items:
            echo.append(_apply(it, occ, (na, nb), nmo, restricted, core))
            if isinstance(it, Setting):  # two settings of one orbital contradict each other
                slot = echo[-1].split("=")[0]
                if slot in settings:
                    raise SpecError(f"{_where(it.label, it.spin)}: sets orbital {slot} again (first set by "
                                    f"{settings[slot]}); give each orbital one occupation")
                settings[slot] = str(it)
        if restricted:
            ne = float(occ.sum())
            nel = (ne / 2, ne / 2)
        else:
            nel = (float(occ[0].sum()), float(occ[1].sum()))
        return ResolvedOccupation(occ, nel, ",".join(echo) if echo else "ground")


# -- parsing ----------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<spin>alpha|beta|a|b)\s*:)?\s*(?P<label>homo|lumo|\d+)(?:\s*(?P<sign>[+-])\s*(?P<off>\d+))?",
    re.IGNORECASE,
)
_CORE = re.compile(
    r"\s*(?:(?P<spin>alpha|beta|a|b)\s*:)?\s*core\s*:\s*(?P<elem>[a-z]{1,2}?)\s*(?:(?P<idx>\d+)\s*:)?\s*"
    r"(?P<shell>\d+[spdf])",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\s*(?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def _spin_name(s: str | None) -> str | None:
    return None if s is None else s[0].lower()


def _int(text: str, spec: str, pos: int) -> int:
    try:
        return int(text)
    except ValueError:  # more digits than sys.get_int_max_str_digits()
        raise SpecError(f"at position {pos} of {spec!r}: number too large") from None


def _parse_orbital(spec: str, pos: int) -> tuple[str | None, Label, int]:
    m = _CORE.match(spec, pos)
    if m is not None:
        k = _int(m.group("idx"), spec, m.start("idx")) if m.group("idx") else 1
        if k < 1:
            raise SpecError(f"at position {m.start('idx')} of {spec!r}: atoms of one element count from 1")
        label = Label("CORE", k, m.start("elem"), m.group("elem").capitalize(), m.group("shell").lower())
        return _spin_name(m.group("spin")), label, m.end()
    if re.match(r"\s*(?:(?:alpha|beta|a|b)\s*:)?\s*core\b", spec[pos:], re.IGNORECASE):
        raise SpecError(f"at position {pos} of {spec!r}: expected a core orbital as core:<element>[<k>:]<shell>, "
                        "e.g. core:O1s or core:C2:1s")
    m = _TOKEN.match(spec, pos)
    if m is None:
        raise SpecError(f"at position {pos} of {spec!r}: expected an orbital label (HOMO, LUMO+1, HOMO-2 or a 0-based index)")
    word = m.group("label")
    lpos = m.start("label")
    if word.isdigit():
        if m.group("sign"):
            raise SpecError(f"at position {m.start('sign')} of {spec!r}: an index cannot carry an offset")
        label = Label("", _int(word, spec, lpos), lpos)
    else:
        off = _int(m.group("off"), spec, m.start("off")) if m.group("off") else 0
        if m.group("sign") == "-":
            off = -off
        label = Label(word.upper(), off, lpos)
    return _spin_name(m.group("spin")), label, m.end()


def parse_label(text: str) -> tuple[str | None, Label]:
    """Parse ``[spin:]label`` alone; used for channels and by the CLI."""
    spin, label, end = _parse_orbital(text, 0)
    if text[end:].strip():
        raise SpecError(f"at position {end} of {text!r}: unexpected {text[end:].strip()!r}")
    return spin, label


def _parse_items(spec: str) -> tuple:
    if spec.strip().lower() == "ground":
        return ()
    if not spec.strip():
        raise SpecError("empty state spec (use 'ground' for the ground state)")
    items = []
    pos = 0
    n = len(spec)
    while True:
        spin, label, pos = _parse_orbital(spec, pos)
        rest = spec[pos:]
        stripped = rest.lstrip()
        pos += len(rest) - len(stripped)
        if stripped.startswith("->"):
            dspin, dlabel, pos = _parse_orbital(spec, pos + 2)
            if dspin is None:
                dspin = spin
            elif spin is None:
                raise SpecError(f"at position {label.pos} of {spec!r}: a spin flip needs the spin of both orbitals")
            items.append(Move(spin, label, dspin, dlabel))
        elif stripped.startswith("="):
            m = _NUMBER.match(spec, pos + 1)
            if m is None:
                raise SpecError(f"at position {pos + 1} of {spec!r}: expected a number after '='")
            value = float(m.group("num"))
            if not np.isfinite(value):
                raise SpecError(f"at position {m.start('num')} of {spec!r}: occupation must be a finite number")
            items.append(Setting(spin, label, value))
            pos = m.end()
        elif label.is_core:  # a bare core label: a core hole
            items.append(Setting(spin, label, 0.0))
        else:
            raise SpecError(f"at position {pos} of {spec!r}: expected '->' or '=' after the orbital label")
        rest = spec[pos:]
        stripped = rest.lstrip()
        pos += len(rest) - len(stripped)
        if pos >= n:
            break
        if spec[pos] != ",":
            raise SpecError(f"at position {pos} of {spec!r}: expected ',' between items, got {spec[pos]!r}")
        pos += 1
    return tuple(items)


# -- resolution -------------------------------------------------------------
def _aufbau(nelec, nmo: int, restricted: bool) -> np.ndarray:
    na, nb = nelec
    if restricted:
        occ = np.zeros(nmo)
        occ[:na] = 2.0
        return occ
    occ = np.zeros((2, nmo))
    occ[0, :na] = 1.0
    occ[1, :nb] = 1.0
    return occ


def _where(label: Label, spin: str | None) -> str:
    return f"{_spin_prefix(spin)}{label} (position {label.pos})"


def _index(label: Label, spin: str | None, nelec, nmo: int, core=None) -> int:
    s = 1 if spin == "b" else 0
    if label.is_core:
        from .core import check_core_key

        check_core_key(label.core_key, core)
        return int(core[label.core_key][s])
    idx = label.index(nelec[s])
    if not 0 <= idx < nmo:
        raise SpecError(f"{_where(label, spin)} does not exist: it resolves to orbital {idx}, valid 0..{nmo - 1} (nmo = {nmo})")
    return idx


def _slot(occ: np.ndarray, spin: str | None, idx: int, restricted: bool):
    return idx if restricted else (1 if spin == "b" else 0, idx)


def _apply(item, occ: np.ndarray, nelec, nmo: int, restricted: bool, core=None) -> str:
    """Apply one item to ``occ`` (a private working array) and echo it 0-based."""
    full = 2.0 if restricted else 1.0
    item = _core_spin(item)
    if isinstance(item, Move):
        if restricted and (item.src_spin is not None or item.dst_spin is not None):
            raise SpecError(
                f"{_where(item.src, item.src_spin)}: a restricted reference moves electron pairs; "
                "drop the spin prefix or use reference uks/uhf for a single-spin move"
            )
        if not restricted and item.src_spin is None:
            raise SpecError(f"{_where(item.src, None)}: name the spin of the move (a: or b:) in an unrestricted reference")
        i = _index(item.src, item.src_spin, nelec, nmo, core)
        j = _index(item.dst, item.dst_spin, nelec, nmo, core)
        si, sj = _slot(occ, item.src_spin, i, restricted), _slot(occ, item.dst_spin, j, restricted)
        amount = full
        if si == sj:
            raise SpecError(f"{_where(item.src, item.src_spin)}: moves an electron onto the same orbital")
        if occ[si] < amount - OCC_TOL:
            raise SpecError(f"{_where(item.src, item.src_spin)}: cannot move {amount:g} electron(s) out of orbital {i} holding {occ[si]:g}")
        if occ[sj] + amount > full + OCC_TOL:
            raise SpecError(f"{_where(item.dst, item.dst_spin)}: cannot move {amount:g} electron(s) into orbital {j} holding {occ[sj]:g} (max {full:g})")
        occ[si] -= amount
        occ[sj] += amount
        dst = item.dst_spin if item.dst_spin != item.src_spin else None
        return f"{_spin_prefix(item.src_spin)}{i}->{_spin_prefix(dst)}{j}"
    # Setting
    if restricted and item.spin is not None:
        raise SpecError(f"{_where(item.label, item.spin)}: a restricted reference sets spatial occupations in [0, 2]; drop the spin prefix")
    if not restricted and item.spin is None:
        raise SpecError(f"{_where(item.label, None)}: name the spin of the setting (a: or b:) in an unrestricted reference")
    i = _index(item.label, item.spin, nelec, nmo, core)
    if not (-OCC_TOL <= item.value <= full + OCC_TOL) or not np.isfinite(item.value):
        raise SpecError(f"{_where(item.label, item.spin)}: occupation {item.value:g} outside [0, {full:g}]")
    occ[_slot(occ, item.spin, i, restricted)] = min(max(item.value, 0.0), full)
    return f"{_spin_prefix(item.spin)}{i}={item.value:g}"


def _core_spin(item):
    """Core items without a spin prefix name alpha orbitals."""
    if isinstance(item, Move) and item.src_spin is None and (item.src.is_core or item.dst.is_core):
        return Move("a", item.src, "a", item.dst)
    if isinstance(item, Setting) and item.spin is None and item.label.is_core:
        return Setting("a", item.label, item.value)
    return item


def _resolve_explicit(rows, nmo: int, restricted: bool) -> ResolvedOccupation:
    arr = np.array(rows, dtype=float)
    full = 2.0 if restricted else 1.0
    if restricted:
        if arr.shape != (1, nmo):
            raise SpecError(f"explicit occupations for a restricted reference need shape ({nmo},), got {arr.shape[1:] if arr.shape[0] == 1 else arr.shape}")
        arr = arr[0]
    elif arr.shape != (2, nmo):
        raise SpecError(f"explicit occupations for an unrestricted reference need shape (2, {nmo}), got {arr.shape}")
    if np.any(arr < -OCC_TOL) or np.any(arr > full + OCC_TOL):
        raise SpecError(f"explicit occupations outside [0, {full:g}]")
    arr = np.clip(arr, 0.0, full)
    if restricted:
        nel = (arr.sum() / 2, arr.sum() / 2)
    else:
        nel = (arr[0].sum(), arr[1].sum())
    return ResolvedOccupation(arr, (float(nel[0]), float(nel[1])), "explicit")


# -- degenerate labels (theory §4, "Cautions") -------------------------------
def make_degenerate_groups(mo_energy, occ_from, occ_to, tol: float = DEGENERACY_TOL) -> tuple:
    """Degenerate orbitals that a change of occupations ``occ_from`` → ``occ_to`` treats unequally.

    Orbitals of one spin that hold the same occupation in ``occ_from`` and
    whose energies chain together within ``tol`` form a group.  A group whose
    orbitals do not all end with the same occupation in ``occ_to`` makes the
    choice among them arbitrary (benzene's e1g HOMO in ``a:HOMO->LUMO``).

    Parameters
    ----------
    mo_energy, occ_from, occ_to : ndarray, shape (2, nmo) or (nmo,)

    Returns
    -------
    tuple of (spin, (index, ...))
        0-based orbital indices in ascending order; spin 0 for a restricted reference.
    """
    e2, f2, t2 = (np.atleast_2d(np.asarray(x, dtype=float)) for x in (mo_energy, occ_from, occ_to))
    groups = []
    for s in range(e2.shape[0]):
        order = np.lexsort((e2[s], np.round(f2[s] / OCC_TOL)))  # by occupation, then energy
        run = [order[0]]
        for i, j in zip(order[:-1], order[1:]):
            if abs(f2[s, j] - f2[s, i]) < OCC_TOL and e2[s, j] - e2[s, i] <= tol:
                run.append(j)
                continue
            groups.extend(_unequal(s, run, t2[s]))
            run = [j]
        groups.extend(_unequal(s, run, t2[s]))
    return tuple(sorted(groups))


def _unequal(spin: int, run: list, occ_to: np.ndarray) -> list:
    ends = occ_to[run]
    if len(run) > 1 and np.ptp(ends) > OCC_TOL:
        return [(spin, tuple(sorted(int(i) for i in run)))]
    return []


def format_degenerate_groups(groups: tuple, restricted: bool) -> str:
    """``"a:19,20; a:21,22"`` (restricted: ``"19,20; 21,22"``); empty when there are none."""
    return "; ".join(("" if restricted else "ab"[s] + ":") + ",".join(map(str, idx)) for s, idx in groups)


def make_channel_degeneracy(mo_energy, mo_occ, spin: int, p: int, tol: float = DEGENERACY_TOL) -> str:
    """The degenerate group of a channel's orbital ``p`` in state I (unrestricted arrays), or ``""``."""
    occ_to = np.array(mo_occ, dtype=float, copy=True)
    occ_to[spin, p] += 0.5  # any change of p alone
    groups = make_degenerate_groups(mo_energy, mo_occ, occ_to, tol)
    return format_degenerate_groups(tuple(g for g in groups if g[0] == spin and p in g[1]), False)


# -- channels (theory §2.1) ---------------------------------------------------------
CHANNEL_KINDS = ("add", "remove")


@dataclass(frozen=True, slots=True)
class Channel:
    """Add an electron to, or remove one from, one spin orbital of a state.

    Written ``add:<spin>:<orbital>`` or ``remove:<spin>:<orbital>``.  The
    orbital label resolves against the state it acts on (:meth:`resolve`).
    """

    kind: str
    spin: str
    label: Label

    @classmethod
    def parse(cls, text: str) -> "Channel":
        """A Channel from ``add:<spin>:<orbital>`` or ``remove:<spin>:<orbital>`` (a Channel is returned as it is);
        raises SpecError naming the offending part."""
        if isinstance(text, Channel):
            return text
        if not isinstance(text, str):
            raise SpecError(f"channel must be a string, got {type(text).__name__}")
        kind, sep, rest = text.strip().partition(":")
        if not sep or kind.lower() not in CHANNEL_KINDS:
            raise SpecError(f"channel {text!r}: expected add:<spin>:<orbital> or remove:<spin>:<orbital>")
        try:
            spin, label = parse_label(rest.strip())
        except SpecError as exc:
            raise SpecError(f"channel {text!r}: {exc}") from None
        if spin is None:
            raise SpecError(f"channel {text!r}: name the spin (add:a:LUMO, remove:b:HOMO)")
        return cls(kind.lower(), spin, label)

    def __str__(self) -> str:
        return f"{self.kind}:{self.spin}:{self.label}"

    @property
    def spin_index(self) -> int:
        """0 for α, 1 for β."""
        return 0 if self.spin == "a" else 1

    def resolve(self, mo_occ: np.ndarray) -> int:
        """0-based orbital index of this channel in a state with ``mo_occ`` (2, nmo).

        Labels resolve against the state's own occupations, in its energy
        order: ``HOMO-k`` is the k-th occupied orbital below the highest
        occupied one of that spin, and ``LUMO+k`` the k-th empty orbital above
        the lowest empty one.  The labels so keep their meaning for non-aufbau
        states whatever the orbital order: for ``a:HOMO->LUMO``,
        ``add:a:LUMO`` refills the hole when the hole is the lowest empty α
        orbital.  Plain indices address orbitals directly.  An addition needs
        an empty orbital, a removal a singly occupied one.
        """
        mo_occ = np.asarray(mo_occ)
        if mo_occ.ndim != 2:
            raise SpecError("a fractional electron needs an unrestricted reference (uks or uhf); "
                            "channels act on one spin orbital")
        occ = mo_occ[self.spin_index]
        base, offset = self.label.base, self.label.offset
        if (base == "HOMO" and offset > 0) or (base == "LUMO" and offset < 0):
            raise SpecError(f"channel {self}: use HOMO-k for occupied and LUMO+k for empty orbitals")
        if base == "HOMO":
            pool = np.flatnonzero(occ > OCC_TOL)
            idx = pool.size - 1 + offset
        elif base == "LUMO":
            pool, idx = np.flatnonzero(occ <= OCC_TOL), offset
        else:
            pool, idx = np.arange(occ.size), offset
        if not 0 <= idx < pool.size:
            raise SpecError(f"channel {self}: no such orbital in this state (nmo = {occ.size})")
        p = int(pool[idx])
        if self.kind == "add" and occ[p] > OCC_TOL:
            raise SpecError(f"channel {self}: orbital {self.spin}:{p} holds {occ[p]:g} electrons; "
                            "an addition needs an empty orbital")
        if self.kind == "remove" and abs(occ[p] - 1.0) > OCC_TOL:
            raise SpecError(f"channel {self}: orbital {self.spin}:{p} holds {occ[p]:g} electrons; "
                            "a removal needs a singly occupied spin orbital")
        return p

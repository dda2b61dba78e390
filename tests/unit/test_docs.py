"""Citations of docs/theory.md and docs/design.md point at sections and equations that exist.

One citation style is used everywhere:

* a section is written ``theory §N`` or ``theory §N.M``; it must be a heading
  ``## N.`` or ``### N.M`` of docs/theory.md;
* an equation is written ``theory (N.M)``; it must be an equation tag ``(N.M)``
  at the end of a line inside a code block of docs/theory.md.

A citation key may come first (``[Su2020] Eq. 8; theory (5.4)``), and several
numbers may follow one ``theory``: lists and ranges such as ``theory (5.3),
(5.4)``, ``theory (2.1)–(2.4)`` or ``theory §2-§3, §5``; the ends of a range are
checked.  The bare form, the word followed directly by a number, is refused: it
cannot tell a section from an equation of the same number.  ``design §N`` is
checked the same way against the headings of docs/design.md.

Every failure lists the offending citations as ``path:line``.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THEORY = ROOT / "docs" / "theory.md"
DESIGN = ROOT / "docs" / "design.md"

#: where citations are collected (relative to the repository root)
SOURCES = (
    "deltascf/**/*.py",
    "docs/*.md",
    "README.md",
    "benchmarks/*.py",
    "benchmarks/*.md",
    "examples/*.py",
    "examples/*.toml",
    "tests/**/*.py",
)

# -- citation grammar ------------------------------------------------------------------------------
#: between the document word and its first number: spaces, or a line break (with a comment marker)
_GAP = r"(?:[ \t]+|[ \t]*\n[ \t]*(?:\#[ \t]*)?)"
_SECTION = r"§(?P<sec>\d+(?:\.\d+)?)"
_EQUATION = r"\((?P<eq>\d+\.\d+)\)"
_REF = r"(?:§\d+(?:\.\d+)?|\(\d+\.\d+\))"  # one number, unnamed (repeated in lists)
#: list and range separators between the numbers that follow one document word
_SEP = r"[ \t]*(?:,|;|-|–|—|\band\b|\bto\b)[ \t]*"
#: optional words between the document word and a bare number ("theory table 5.4", "theory Eq. 5.4")
_BARE_WORDS = r"(?:(?:table|tables|eq\.?|eqs\.?|equation|equations|section|sections|sec\.)[ \t]+)?"


def _cited(word: str) -> re.Pattern:
    """``<word> REF (SEP REF)*``; the whole list is group ``refs``."""
    return re.compile(rf"\b{word}{_GAP}(?P<refs>{_REF}(?:{_SEP}{_REF})*)", re.IGNORECASE)


def _bare(word: str) -> re.Pattern:
    """``<word> N`` or ``<word> N.M`` without § or parentheses, also after table/Eq./section
    and after well-formed numbers of the same list (``theory §5.3-5.5``)."""
    number = r"\d+(?:\.\d+)?"
    return re.compile(rf"\b{word}{_GAP}(?:{_REF}{_SEP})*{_BARE_WORDS}(?P<num>{number})(?:{_SEP}(?:{_REF}|{number}))*",
                      re.IGNORECASE)


_ONE_REF = re.compile(rf"{_SECTION}|{_EQUATION}")


def _source_files(exclude: Path) -> list[Path]:
    """Every file of SOURCES except ``exclude`` (the cited document) and this test file."""
    me = Path(__file__).resolve()
    out = set()
    for pattern in SOURCES:
        for path in ROOT.glob(pattern):
            path = path.resolve()
            if path.is_file() and path not in (me, exclude.resolve()):
                out.add(path)
    return sorted(out)


def _where(path: Path, text: str, pos: int) -> str:
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, pos) + 1}"


def collect_citations(word: str, exclude: Path) -> list[tuple[str, str, str, str]]:
    """(path:line, kind "section" or "equation", number, the citation as written) for every cited number."""
    pattern = _cited(word)
    found = []
    for path in _source_files(exclude):
        text = path.read_text(encoding="utf-8")
        for m in pattern.finditer(text):
            written = " ".join(m.group(0).split())
            for ref in _ONE_REF.finditer(m.group("refs")):
                kind, number = ("section", ref.group("sec")) if ref.group("sec") else ("equation", ref.group("eq"))
                found.append((_where(path, text, m.start()), kind, number, written))
    return found


def collect_bare(word: str, exclude: Path) -> list[tuple[str, str]]:
    """(path:line, the citation as written) for every bare ``<word> N[.M]``."""
    pattern = _bare(word)
    found = []
    for path in _source_files(exclude):
        text = path.read_text(encoding="utf-8")
        for m in pattern.finditer(text):
            found.append((_where(path, text, m.start()), " ".join(m.group(0).split())))
    return found


# -- what a document defines ---------------------------------------------------------------------
_HEADING = re.compile(r"^(?:##[ \t]+(?P<chapter>\d+)\.(?:[ \t]|$)|###[ \t]+(?P<sub>\d+\.\d+)(?:[ \t]|$))", re.MULTILINE)
_TAG = re.compile(r"\((?P<eq>\d+\.\d+)\)[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


def headings(path: Path) -> list[str]:
    """Section numbers in document order: "5" for ``## 5. ...``, "5.3" for ``### 5.3 ...``."""
    text = path.read_text(encoding="utf-8")
    return [m.group("chapter") or m.group("sub") for m in _HEADING.finditer(_without_code(text))]


def _without_code(text: str) -> str:
    """The text with the lines of fenced code blocks blanked (line numbers kept)."""
    out, fence = [], None
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
            out.append("")
        elif fence is not None:
            if m and m.group(1) == fence:
                fence = None
            out.append("")
        else:
            out.append(line)
    return "\n".join(out)


def equation_tags(path: Path) -> list[tuple[str, int]]:
    """(N.M, line) of every ``(N.M)`` tag at a line end inside a fenced code block."""
    tags, fence = [], None
    for lineno, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        m = _FENCE.match(line)
        if fence is None:
            if m:
                fence = m.group(1)
            continue
        if m and m.group(1) == fence:
            fence = None
            continue
        tag = _TAG.search(line)
        if tag:
            tags.append((tag.group("eq"), lineno))
    return tags


def _report(title: str, lines: list[str]) -> str:
    return f"{title} ({len(lines)}):\n  " + "\n  ".join(lines)


def _check_citations(word: str, document: Path) -> list[str]:
    sections = set(headings(document))
    equations = {eq for eq, _ in equation_tags(document)} if word == "theory" else set()
    bad = []
    for where, kind, number, written in collect_citations(word, document):
        if kind == "section" and number not in sections:
            bad.append(f"{where}: {written!r}: no section §{number} in {document.relative_to(ROOT)}")
        elif kind == "equation" and number not in equations:
            bad.append(f"{where}: {written!r}: no equation ({number}) in {document.relative_to(ROOT)}")
    return bad


# -- the tests ------------------------------------------------------------------------------------------
def test_theory_sections_and_equation_tags_are_unique():
    """Every heading number and every equation tag of theory.md occurs once."""
    secs = headings(THEORY)
    tags = equation_tags(THEORY)
    dup_secs = sorted({s for s in secs if secs.count(s) > 1})
    names = [eq for eq, _ in tags]
    dup_eqs = [f"({eq}) at lines {', '.join(str(n) for e, n in tags if e == eq)}" for eq in sorted(set(names))
               if names.count(eq) > 1]
    assert secs and tags, "docs/theory.md has no numbered headings or no equation tags"
    assert not dup_secs and not dup_eqs, f"repeated sections {dup_secs}, repeated equations {dup_eqs}"


def test_theory_refers_only_to_its_own_sections_and_equations():
    """§N[.M] and (N.M) inside theory.md itself (outside the equation tags) exist."""
    sections = set(headings(THEORY))
    equations = {eq for eq, _ in equation_tags(THEORY)}
    bad = []
    for lineno, line in enumerate(THEORY.read_text(encoding="utf-8").split("\n"), 1):
        body = _TAG.sub("", line)  # a tag defines its equation; everything else refers
        for m in re.finditer(r"§(\d+(?:\.\d+)?)", body):
            if m.group(1) not in sections:
                bad.append(f"docs/theory.md:{lineno}: §{m.group(1)}")
        # (N.M) with N ≥ 1, not right after a name: E(0.5) is a value, not an equation
        for m in re.finditer(r"(?<![\w)])\(([1-9]\d*\.\d+)\)", body):
            if m.group(1) not in equations:
                bad.append(f"docs/theory.md:{lineno}: ({m.group(1)})")
    assert not bad, _report("references to missing sections or equations in docs/theory.md", bad)


def test_theory_citations_exist():
    """(a) every ``theory §N[.M]`` and ``theory (N.M)`` in code and docs names a section or equation of theory.md."""
    bad = _check_citations("theory", THEORY)
    assert not bad, _report("theory citations that theory.md does not define", bad)


def test_no_bare_theory_citations():
    """(b) no ``theory N.M`` without § (a section) or parentheses (an equation)."""
    bare = collect_bare("theory", THEORY)
    lines = [f"{where}: {written!r}: write theory §N.M for a section or theory (N.M) for an equation"
             for where, written in bare]
    assert not lines, _report("bare theory citations", lines)


def test_design_citations_exist():
    """(c) every ``design §N`` names a heading of docs/design.md, and none is bare."""
    if not DESIGN.exists():
        pytest.skip("docs/design.md does not exist yet")
    bad = _check_citations("design", DESIGN)
    bad += [f"{where}: {written!r}: write design §N" for where, written in collect_bare("design", DESIGN)]
    assert not bad, _report("design citations that design.md does not define, or bare ones", bad)


# -- the grammar itself ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("see theory §5.12", [("section", "5.12")]),
    ("[Su2020] Eq. 8; theory (5.4)", [("equation", "5.4")]),
    ("theory (5.3), (5.4)", [("equation", "5.3"), ("equation", "5.4")]),
    ("theory (2.1)–(2.4).", [("equation", "2.1"), ("equation", "2.4")]),
    ("Theory §2-§3, §5", [("section", "2"), ("section", "3"), ("section", "5")]),
    ("(post-SCF, theory\n    # (5.8))", [("equation", "5.8")]),
    ("the theory notes (`theory.md`)", []),
])
def test_citation_grammar(text, expected):
    found = []
    for m in _cited("theory").finditer(text):
        for ref in _ONE_REF.finditer(m.group("refs")):
            found.append(("section", ref.group("sec")) if ref.group("sec") else ("equation", ref.group("eq")))
    assert found == expected


@pytest.mark.parametrize("text, bare", [
    ("theory 5.8", True),
    ("(theory 1.3, 1.4)", True),
    ("theory table 5.4", True),
    ("post-SCF, theory\n    5.7-5.8", True),
    ("Theory 5.3 uses", True),
    ("theory §5.8", False),
    ("theory (5.8)", False),
    ("theory.md", False),
    ("theory §5.3-5.5", True),
    ("theory (2.1)–(2.4).", False),
])
def test_bare_grammar(text, bare):
    assert bool(list(_bare("theory").finditer(text))) is bare

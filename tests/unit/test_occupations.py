"""Unit tests for deltascf.occupations: spec grammar, resolution, explicit vectors, tracking.

Pure and fast: no SCF.  Water-like counts throughout: nelec=(5, 5), nmo=13.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm
from scipy.stats import ortho_group
from tolerances import ACCUM_ATOL, EXACT_ATOL, LOOSE_EXACT_ATOL, ROUNDOFF_ATOL

from deltascf.occupations import (
    OCC_TOL,
    Occupation,
    ResolvedOccupation,
    SpecError,
)
from deltascf.tracking import make_tracked_occ

NELEC, NMO = (5, 5), 13


def res(spec, nelec=NELEC, nmo=NMO, restricted=False):
    return Occupation.parse(spec).resolve(nelec, nmo, restricted)


def aufbau(restricted=False):
    occ = np.zeros(NMO if restricted else (2, NMO))
    occ[..., :5] = 2.0 if restricted else 1.0
    return occ


def check_sums(r, restricted=False):
    total = r.mo_occ.sum()
    assert total == pytest.approx(sum(r.nelec), abs=OCC_TOL)
    if not restricted:
        assert r.mo_occ[0].sum() == pytest.approx(r.nelec[0], abs=OCC_TOL)
        assert r.mo_occ[1].sum() == pytest.approx(r.nelec[1], abs=OCC_TOL)


# -- 1. grammar acceptance and resolution ----------------------------------
def test_ground():
    occ = Occupation.parse("ground")
    assert occ.is_ground and str(occ) == "ground"
    assert Occupation.parse("  GROUND ") == occ
    r = occ.resolve(NELEC, NMO, False)
    assert isinstance(r, ResolvedOccupation)
    np.testing.assert_array_equal(r.mo_occ, aufbau())
    assert r.nelec == (5.0, 5.0) and r.text == "ground"
    np.testing.assert_array_equal(occ.resolve(NELEC, NMO, True).mo_occ, aufbau(True))


# spec -> (changes {(spin, orbital): value}, echo text, resolved nelec)
UNRESTRICTED_CASES = {
    "a:HOMO->LUMO": ({(0, 4): 0, (0, 5): 1}, "a:4->5", (5, 5)),
    "b:HOMO-1->LUMO+2": ({(1, 3): 0, (1, 7): 1}, "b:3->7", (5, 5)),
    "a:3->7": ({(0, 3): 0, (0, 7): 1}, "a:3->7", (5, 5)),
    "a:HOMO->LUMO,b:HOMO->LUMO": ({(0, 4): 0, (0, 5): 1, (1, 4): 0, (1, 5): 1}, "a:4->5,b:4->5", (5, 5)),
    "b:HOMO->a:LUMO": ({(1, 4): 0, (0, 5): 1}, "b:4->a:5", (6, 4)),
    "a:LUMO=0.5": ({(0, 5): 0.5}, "a:5=0.5", (5.5, 5)),
    "b:HOMO=0.25": ({(1, 4): 0.25}, "b:4=0.25", (5, 4.25)),
    "a:HOMO->LUMO,a:LUMO+1=0.3": ({(0, 4): 0, (0, 5): 1, (0, 6): 0.3}, "a:4->5,a:6=0.3", (5.3, 5)),
    "alpha:homo->lumo": ({(0, 4): 0, (0, 5): 1}, "a:4->5", (5, 5)),
    "BETA:Homo-1->lumo+2": ({(1, 3): 0, (1, 7): 1}, "b:3->7", (5, 5)),
    "  a : HOMO - 1 ->  LUMO ,\tb:HOMO = 0.5  ": ({(0, 3): 0, (0, 5): 1, (1, 4): 0.5}, "a:3->5,b:4=0.5", (5, 4.5)),
}


@pytest.mark.parametrize("spec", list(UNRESTRICTED_CASES))
def test_resolve_unrestricted(spec):
    changes, text, nelec = UNRESTRICTED_CASES[spec]
    expected = aufbau()
    for (s, i), v in changes.items():
        expected[s, i] = v
    r = res(spec)
    assert r.mo_occ.shape == (2, NMO)
    np.testing.assert_allclose(r.mo_occ, expected, rtol=0, atol=ROUNDOFF_ATOL)
    assert r.text == text
    assert r.nelec == pytest.approx(nelec, abs=EXACT_ATOL)
    check_sums(r)
    assert not r.mo_occ.flags.writeable


def test_resolve_restricted_pair_move():
    r = res("HOMO->LUMO", restricted=True)
    assert r.mo_occ.shape == (NMO,)
    assert r.mo_occ[4] == 0.0 and r.mo_occ[5] == 2.0
    assert r.mo_occ.sum() == 10.0 and r.nelec == (5.0, 5.0) and r.text == "4->5"
    r = res("homo-1->lumo+1, LUMO=1.5", restricted=True)
    assert (r.mo_occ[3], r.mo_occ[6], r.mo_occ[5]) == (0.0, 2.0, 1.5)
    check_sums(r, restricted=True)


@pytest.mark.parametrize("variant", ["alpha:HOMO->LUMO", "A:homo->Lumo", " a : HOMO -> LUMO ", "a:4->5",
                                     "a:HOMO->a:LUMO", "a:HOMO->5", "a:LUMO-1->HOMO+1"])
def test_equivalent_spellings(variant):
    np.testing.assert_array_equal(res(variant).mo_occ, res("a:HOMO->LUMO").mo_occ)


def test_parse_is_idempotent_on_occupation():
    occ = Occupation.parse("a:HOMO->LUMO")
    assert Occupation.parse(occ) is occ
    assert Occupation.parse("a : homo -> lumo") == occ
    assert str(occ) == "a:HOMO->LUMO"


# -- 2. errors ------------------------------------------------------------------
RESOLVE_ERRORS = [
    ("HOMO->LUMO", False, "name the spin", 0),
    ("a:HOMO->LUMO", True, "restricted", 2),
    ("b:HOMO->a:LUMO", True, "restricted", 2),
    ("a:HOMO=0.5", True, "drop the spin prefix", 2),
    ("HOMO=0.5", False, "name the spin", 0),
    ("a:HOMO-40->LUMO", False, "does not exist", 2),
    ("a:HOMO->LUMO+500", False, "does not exist", 8),
    ("a:13->LUMO", False, "does not exist", 2),
    ("HOMO-5->LUMO", True, "does not exist", 0),
    ("a:LUMO->LUMO+1", False, "out of orbital 5", 2),
    ("a:HOMO-1->HOMO", False, "into orbital 4", 10),
    ("a:HOMO->HOMO", False, "same orbital", 2),
    ("a:HOMO->LUMO,a:HOMO->LUMO+1", False, "out of orbital 4", 15),
    ("HOMO->LUMO,HOMO-1->LUMO", True, "into orbital 5", 19),
    ("a:HOMO=1.5", False, "outside [0, 1]", 2), ("a:HOMO=-0.1", False, "outside [0, 1]", 2),
    ("HOMO=2.5", True, "outside [0, 2]", 0), ("LUMO=-1", True, "outside [0, 2]", 0),
]


@pytest.mark.parametrize("spec,restricted,fragment,pos", RESOLVE_ERRORS)
def test_resolve_errors(spec, restricted, fragment, pos):
    occ = Occupation.parse(spec)  # grammatical; the molecule rejects it
    with pytest.raises(SpecError) as exc:
        occ.resolve(NELEC, NMO, restricted)
    msg = str(exc.value)
    assert fragment in msg
    assert f"position {pos}" in msg


SYNTAX_ERRORS = [
    ("a:HOMO->", 8), ("a:HOMO", 6), ("x:HOMO->LUMO", 0), ("c:HOMO->LUMO", 0),
    ("a:HOMO->LUMO,,", 13), ("a:HOMO->LUMO,", 13), ("a:HOMO->LUMO b:HOMO->LUMO", 13),
    ("a:HOMO=", 7), ("a:HOMO=abc", 7), ("a:HOMO=0.5x", 10), ("HOMO->a:LUMO", 0),
    ("a:3+1->5", 3), ("a:HOMO- >LUMO", 6), ("ground,a:HOMO->LUMO", 0), ("b:LUMO=1e999", 7),
]


@pytest.mark.parametrize("spec,pos", SYNTAX_ERRORS)
def test_syntax_errors_name_position(spec, pos):
    with pytest.raises(SpecError) as exc:
        Occupation.parse(spec)
    assert f"position {pos}" in str(exc.value)


@pytest.mark.parametrize("spec", ["", "   ", "\t\n"])
def test_empty_spec(spec):
    # no position to name: the message points at 'ground' instead
    with pytest.raises(SpecError, match="empty state spec"):
        Occupation.parse(spec)


@pytest.mark.parametrize("spec", ["a:" + "9" * 5000 + "->LUMO", "a:HOMO+" + "1" * 5000 + "->LUMO"])
def test_huge_integer_is_spec_error(spec):
    # int() refuses > 4300 digits with a bare ValueError; the parser must wrap it
    with pytest.raises(SpecError, match="position"):
        Occupation.parse(spec)


@pytest.mark.parametrize("bad", [None, 3, b"a:HOMO->LUMO", ["a:HOMO->LUMO"]])
def test_non_string_spec(bad):
    with pytest.raises(SpecError, match="must be a string"):
        Occupation.parse(bad)


def test_specerror_is_valueerror_and_open_shell_restricted_raises():
    assert issubclass(SpecError, ValueError)
    for spec in ("ground", "HOMO->LUMO"):
        with pytest.raises(SpecError, match="closed-shell"):
            res(spec, nelec=(6, 4), restricted=True)
    with pytest.raises(SpecError, match="closed-shell"):
        Occupation.from_occ(np.ones(NMO)).resolve((6, 4), NMO, True)


# -- 3. explicit occupation vectors ----------------------------------------------
def test_from_occ_unrestricted_roundtrip():
    target = aufbau()
    target[0, 4], target[0, 5], target[1, 6] = 0.0, 1.0, 0.25
    occ = Occupation.from_occ(target)
    assert not occ.is_ground and str(occ).startswith("explicit:")
    r = occ.resolve(NELEC, NMO, False)
    np.testing.assert_array_equal(r.mo_occ, target)
    assert r.nelec == (5.0, 5.25) and r.text == "explicit"
    check_sums(r)


def test_from_occ_restricted_roundtrip():
    target = aufbau(True)
    target[4], target[5] = 1.0, 1.0
    occ = Occupation.from_occ(list(target))
    assert str(occ).startswith("explicit:")
    r = occ.resolve(NELEC, NMO, True)
    np.testing.assert_array_equal(r.mo_occ, target)
    assert r.nelec == (5.0, 5.0)
    check_sums(r, restricted=True)
    assert Occupation.from_occ(np.full(NMO, 1.5)).resolve(NELEC, NMO, True).mo_occ.max() == 1.5


@pytest.mark.parametrize("arr", [np.ones((3, NMO)), np.ones((2, 2, NMO)), np.float64(1.0),
                                 np.full(NMO, np.nan), np.r_[np.ones(NMO - 1), np.inf]])
def test_from_occ_rejects_shape_and_nonfinite(arr):
    with pytest.raises(SpecError):
        Occupation.from_occ(arr)


@pytest.mark.parametrize("arr,restricted,fragment", [
    (np.ones(NMO), False, "shape (2, 13)"),
    (np.ones((2, NMO - 1)), False, "shape (2, 13)"),
    (np.ones((2, NMO)), True, "shape (13,)"),
    (np.ones(NMO + 1), True, "shape (13,)"),
    (np.r_[[np.full(NMO, 1.5)], [np.zeros(NMO)]], False, "outside [0, 1]"),
    (np.r_[[np.full(NMO, -0.1)], [np.zeros(NMO)]], False, "outside [0, 1]"),
    (np.full(NMO, 2.5), True, "outside [0, 2]"),
])
def test_from_occ_resolve_errors(arr, restricted, fragment):
    with pytest.raises(SpecError) as exc:
        Occupation.from_occ(arr).resolve(NELEC, NMO, restricted)
    assert fragment in str(exc.value)


# -- 4. property tests on the grammar -------------------------------------------
ws = st.sampled_from(["", " ", "  ", "\t"])
spin_word = st.sampled_from(["a", "b", "alpha", "beta", "A", "Beta"])
label_text = st.one_of(
    st.builds(lambda b, k, w: b + (f"{w}{k:+d}" if k else ""),
              st.sampled_from(["HOMO", "LUMO", "homo", "Lumo"]), st.integers(-6, 6), ws),
    st.integers(0, 40).map(str),
)
number_text = st.floats(0, 1).flatmap(
    lambda x: st.sampled_from([repr(x), f"{x:.3f}", f"{x:e}", f"{x:.17g}"]))


@st.composite
def item_text(draw):
    src_spin = draw(st.none() | spin_word)
    head = f"{draw(ws)}{'' if src_spin is None else src_spin + draw(ws) + ':'}{draw(ws)}{draw(label_text)}{draw(ws)}"
    if draw(st.booleans()):
        dst_spin = None if src_spin is None else draw(st.none() | spin_word)
        dst = f"{'' if dst_spin is None else dst_spin + ':'}{draw(ws)}{draw(label_text)}"
        return f"{head}->{draw(ws)}{dst}{draw(ws)}"
    return f"{head}={draw(number_text)}{draw(ws)}"


spec_text = st.one_of(st.just("ground"), st.lists(item_text(), min_size=1, max_size=5).map(",".join))


@settings(max_examples=300, deadline=None)
@given(spec_text)
def test_valid_specs_roundtrip(spec):
    occ = Occupation.parse(spec)
    assert Occupation.parse(str(occ)) == occ
    assert Occupation.parse(spec) == Occupation.parse(str(Occupation.parse(spec)))
    assert str(Occupation.parse(str(occ))) == str(occ)


def check_resolve_or_spec_error(spec, restricted):
    try:
        r = Occupation.parse(spec).resolve(NELEC, NMO, restricted)
    except SpecError:
        return
    full = 2.0 if restricted else 1.0
    assert isinstance(r, ResolvedOccupation)
    assert r.mo_occ.shape == ((NMO,) if restricted else (2, NMO))
    assert np.all(np.isfinite(r.mo_occ))
    assert np.all(r.mo_occ >= 0.0) and np.all(r.mo_occ <= full)
    check_sums(r, restricted)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_is_success_or_spec_error(text):
    check_resolve_or_spec_error(text, restricted=False)


TOKENS = ["a:", "b:", "alpha:", "HOMO", "LUMO", "homo", "+1", "-1", "->", "=", "0.5", "1", ",", "3", " ", "e", ".", "-"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=14).map("".join), st.booleans())
def test_token_soup_is_success_or_spec_error(spec, restricted):
    check_resolve_or_spec_error(spec, restricted)


# -- 5. make_tracked_occ ------------------------------------------------------------
def perm_overlap(perm, signs=None):
    """ovlp[i, perm[i]] = ±1: new orbital perm[i] is reference orbital i."""
    n = len(perm)
    ovlp = np.zeros((n, n))
    ovlp[np.arange(n), perm] = 1.0 if signs is None else signs
    return ovlp


def permuted(occ_ref, perm):
    out = np.empty_like(occ_ref)
    out[perm] = occ_ref
    return out


@pytest.mark.parametrize("occ_ref", [[1, 1, 0, 0, 0], [1, 1, 0.5, 0, 0], [2, 2, 0, 0], [1, 0, 1, 0.3, 0.7]])
def test_tracked_identity(occ_ref):
    n = len(occ_ref)
    np.testing.assert_array_equal(make_tracked_occ(np.eye(n), np.array(occ_ref, float)), occ_ref)


@pytest.mark.parametrize("occ_ref,perm", [
    ([1, 1, 0, 0, 0], [0, 3, 1, 2, 4]),
    ([1, 1, 0.5, 0, 0], [4, 2, 0, 1, 3]),
    ([1, 1, 0.5, 0, 0], [1, 0, 3, 2, 4]),
    ([2, 2, 0, 0], [2, 0, 3, 1]),
    ([2, 1, 0.25, 0], [3, 2, 1, 0]),
])
def test_tracked_follows_permutation(occ_ref, perm):
    occ_ref = np.array(occ_ref, float)
    expected = permuted(occ_ref, perm)
    signs = np.where(np.arange(len(perm)) % 2, -1.0, 1.0)  # phases do not matter
    np.testing.assert_array_equal(make_tracked_occ(perm_overlap(perm), occ_ref), expected)
    np.testing.assert_array_equal(make_tracked_occ(perm_overlap(perm, signs), occ_ref), expected)


@pytest.mark.parametrize("seed", range(5))
def test_tracked_small_rotation_keeps_reference(seed):
    rng = np.random.default_rng(seed)
    n = 8
    a = rng.normal(size=(n, n)) * 0.05
    rot = expm(a - a.T)
    occ_ref = np.array([1, 1, 1, 0.5, 0.3, 0, 0, 0]) if seed % 2 else np.array([2, 2, 2, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(make_tracked_occ(rot, occ_ref), occ_ref)
    # a small rotation composed with a reordering still follows the reordering
    perm = rng.permutation(n)
    np.testing.assert_array_equal(make_tracked_occ(rot @ perm_overlap(perm), occ_ref), permuted(occ_ref, perm))


def test_tracked_near_duplicate_values_not_double_counted():
    # two values within 1e-12 that round to different 12-decimal keys
    occ_ref = np.array([0.3 + 4.9e-13, 0.3 + 5.1e-13, 0.0, 0.0])
    out = make_tracked_occ(np.eye(4), occ_ref)
    assert out.sum() == pytest.approx(occ_ref.sum(), abs=ACCUM_ATOL)
    assert np.count_nonzero(out) == 2


occ_value = st.one_of(st.sampled_from([0.0, 1.0, 2.0, 0.5, 0.3, 0.3 + 4.9e-13, 0.3 + 5.1e-13, 1e-11]),
                      st.floats(0, 2))


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 9).flatmap(lambda n: st.tuples(st.lists(occ_value, min_size=n, max_size=n),
                                                      st.integers(0, 2**32 - 1))))
def test_tracked_preserves_occupations(args):
    values, seed = args
    occ_ref = np.array(values)
    n = len(occ_ref)
    ovlp = ortho_group.rvs(n, random_state=seed)
    out = make_tracked_occ(ovlp, occ_ref)
    assert out.shape == (n,)
    assert out.sum() == pytest.approx(occ_ref.sum(), abs=LOOSE_EXACT_ATOL)
    # the new orbitals carry the same multiset of occupations
    np.testing.assert_allclose(np.sort(out), np.sort(occ_ref), rtol=0, atol=LOOSE_EXACT_ATOL)
    # and a pure reordering is followed exactly (up to 12-decimal rounding)
    perm = np.random.default_rng(seed).permutation(n)
    np.testing.assert_allclose(make_tracked_occ(perm_overlap(perm), occ_ref), permuted(occ_ref, perm), rtol=0, atol=LOOSE_EXACT_ATOL)


# -- degenerate labels (theory §4) -------------------------------------------------------------
def test_degenerate_groups_flag_unequal_treatment_only():
    from deltascf.occupations import DEGENERACY_TOL, format_degenerate_groups, make_degenerate_groups

    e = np.array([-1.0, -0.5, -0.5 + 1e-6, 0.1, 0.1 + 0.5 * DEGENERACY_TOL, 0.1 + DEGENERACY_TOL, 0.5])
    aufbau = np.array([1, 1, 1, 0, 0, 0, 0.0])
    homo_lumo = np.array([1, 1, 0, 1, 0, 0, 0.0])
    groups = make_degenerate_groups(np.array([e, e]), np.array([aufbau, aufbau]), np.array([homo_lumo, aufbau]))
    # the LUMO group chains 3, 4, 5 (neighbours within the tolerance); beta is untouched
    assert groups == ((0, (1, 2)), (0, (3, 4, 5)))
    assert format_degenerate_groups(groups, restricted=False) == "a:1,2; a:3,4,5"
    assert format_degenerate_groups(groups, restricted=True) == "1,2; 3,4,5"
    # emptying both members of a pair and filling three of three is not arbitrary
    both = np.array([1, 0, 0, 1, 1, 1, 0.0])
    assert make_degenerate_groups(e, aufbau, both) == ()
    # a fractional setting of one member is; below the spacing there is no group
    half = aufbau.copy()
    half[3] = 0.5
    assert make_degenerate_groups(e, aufbau, half) == ((0, (3, 4, 5)),)
    assert make_degenerate_groups(e, aufbau, half, tol=0.4 * DEGENERACY_TOL) == ()
    # degenerate orbitals of different occupation never form a group
    assert make_degenerate_groups(np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0])) == ()


def test_channel_degeneracy_names_the_channel_group():
    from deltascf.occupations import make_channel_degeneracy

    e = np.array([[-0.5, -0.5, 0.1, 0.1], [-0.5, -0.5, 0.1, 0.1]])
    occ = np.array([[1, 1, 0, 0], [1, 0, 0, 0.0]])
    assert make_channel_degeneracy(e, occ, 0, 2) == "a:2,3"
    assert make_channel_degeneracy(e, occ, 0, 1) == "a:0,1"
    assert make_channel_degeneracy(e, occ, 1, 0) == ""  # beta 0 and 1 differ in occupation

"""The tracking and spin helpers on a non-NumPy array namespace, without a GPU.

``shimxp`` is a test double of CuPy's calling conventions: its arrays wrap NumPy arrays, refuse implicit
conversion (``np.asarray(x)`` raises TypeError, as for a CuPy array), refuse NumPy arrays mixed into their
arithmetic and functions, send NumPy functions called on them back through the namespace
(``__array_ufunc__`` / ``__array_function__``, results wrapped), give 0-d arrays from reductions and scalar
indexing, and reach the host only through ``shimxp.asnumpy``.  Each helper must return shim arrays where it
returns arrays and agree with its NumPy call to ``PARITY_ATOL``.
"""
import sys
import types

import numpy as np
import pytest
import scipy.linalg
from tolerances import PARITY_ATOL

from deltascf import spin, tracking

SHIM = "shimxp"


# -- the shim ------------------------------------------------------------------------------------------
def _unwrap(x):
    """NumPy data of shim arrays (also inside lists, tuples, dicts); a NumPy array here is an error."""
    if isinstance(x, ShimArray):
        return x.data
    if isinstance(x, np.ndarray):
        raise TypeError(f"{SHIM}: a NumPy array mixed into a {SHIM} operation (CuPy refuses these too)")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x):
    """Shim arrays for NumPy results (NumPy scalars become 0-d arrays, as CuPy returns them)."""
    if isinstance(x, (np.ndarray, np.generic)):
        return ShimArray(np.asarray(x))
    if isinstance(x, tuple):  # triu_indices, eigh
        return tuple(_wrap(v) for v in x)
    return x


def _key(k):
    """An index: shim or NumPy index arrays, slices, None, ints (CuPy takes NumPy index arrays too)."""
    if isinstance(k, tuple):
        return tuple(_key(v) for v in k)
    return k.data if isinstance(k, ShimArray) else k


def _ufunc_op(ufunc, reflected=False):
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: ufunc(self, other)  # NumPy dispatches to ShimArray.__array_ufunc__


class ShimArray:
    """A NumPy array behind CuPy's calling conventions."""

    __module__ = SHIM  # deltascf.spin.get_xp takes the namespace from the type's module
    __hash__ = None

    def __init__(self, data):
        assert isinstance(data, np.ndarray)
        self.data = data

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"Implicit conversion to a NumPy array is not allowed; use {SHIM}.asnumpy")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _wrap(getattr(ufunc, method)(*_unwrap(inputs), **_unwrap(kwargs)))

    def __array_function__(self, func, types, args, kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    __matmul__, __rmatmul__ = _ufunc_op(np.matmul), _ufunc_op(np.matmul, True)
    __add__, __radd__ = _ufunc_op(np.add), _ufunc_op(np.add, True)
    __sub__, __rsub__ = _ufunc_op(np.subtract), _ufunc_op(np.subtract, True)
    __mul__, __rmul__ = _ufunc_op(np.multiply), _ufunc_op(np.multiply, True)
    __truediv__, __rtruediv__ = _ufunc_op(np.true_divide), _ufunc_op(np.true_divide, True)
    __pow__ = _ufunc_op(np.power)
    __lt__, __le__ = _ufunc_op(np.less), _ufunc_op(np.less_equal)
    __gt__, __ge__ = _ufunc_op(np.greater), _ufunc_op(np.greater_equal)
    __eq__, __ne__ = _ufunc_op(np.equal), _ufunc_op(np.not_equal)

    def __neg__(self):
        return np.negative(self)

    def __abs__(self):
        return np.absolute(self)

    def __getitem__(self, k):
        return _wrap(self.data[_key(k)])

    def __setitem__(self, k, value):
        self.data[_key(k)] = _unwrap(value)

    def __len__(self):
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __float__(self):
        return float(self.data)

    def __int__(self):
        return int(self.data)

    def __bool__(self):
        return bool(self.data)

    def __repr__(self):
        return f"{SHIM}.array({self.data!r})"

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    dtype = property(lambda self: self.data.dtype)
    T = property(lambda self: ShimArray(self.data.T))

    def conj(self):
        return ShimArray(self.data.conj())

    def copy(self):
        return ShimArray(self.data.copy())

    def astype(self, dtype, copy=True):
        return ShimArray(self.data.astype(dtype, copy=copy))

    def reshape(self, *shape):
        return ShimArray(self.data.reshape(*shape))

    def sum(self, axis=None):
        return _wrap(self.data.sum(axis=axis))

    def max(self, axis=None):
        return _wrap(self.data.max(axis=axis))

    def min(self, axis=None):
        return _wrap(self.data.min(axis=axis))


def _make_shim_module() -> types.ModuleType:
    xp = types.ModuleType(SHIM, "CuPy-like array namespace over NumPy (tests only)")

    def delegate(f):
        return lambda *args, **kwargs: _wrap(f(*_unwrap(args), **_unwrap(kwargs)))

    def asarray(a, dtype=None):  # like cupy.asarray: takes shim arrays and host data alike
        host = a.data if isinstance(a, ShimArray) else a
        return ShimArray(np.asarray(host, dtype=dtype))

    def array(a, dtype=None):  # like cupy.array: always a copy
        return ShimArray(np.array(a.data if isinstance(a, ShimArray) else a, dtype=dtype))

    def asnumpy(a):
        return a.data.copy() if isinstance(a, ShimArray) else np.asarray(a)

    def argsort(a, axis=-1, kind=None):  # CuPy's sort is always stable and takes no other kind
        if kind not in (None, "stable"):
            raise ValueError(f"{SHIM}.argsort: kind={kind!r} not supported")
        return _wrap(np.argsort(_unwrap(a), axis=axis, kind="stable"))

    xp.ndarray, xp.float64 = ShimArray, np.float64
    xp.asarray, xp.array, xp.asnumpy, xp.argsort = asarray, array, asnumpy, argsort
    for name in ("zeros", "empty", "zeros_like", "stack", "concatenate", "abs", "where", "argmax", "sum",
                 "sqrt", "triu_indices", "allclose", "any"):
        setattr(xp, name, delegate(getattr(np, name)))
    xp.linalg = types.SimpleNamespace(eigh=delegate(np.linalg.eigh))
    return xp


@pytest.fixture(autouse=True)
def shimxp():
    """The shim registered in ``sys.modules`` for one test (get_xp looks it up there)."""
    assert SHIM not in sys.modules
    sys.modules[SHIM] = xp = _make_shim_module()
    yield xp
    del sys.modules[SHIM]


def shim(a):
    return ShimArray(np.array(a, dtype=float))


def check(got, want, host=False):
    """``got`` (shim call) matches ``want`` (NumPy call): shim arrays for arrays (NumPy where ``host``)."""
    if isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            check(g, w, host)
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray if host else ShimArray), type(got)
        host_got = got if host else sys.modules[SHIM].asnumpy(got)
        assert host_got.shape == want.shape and host_got.dtype == want.dtype
        np.testing.assert_allclose(host_got, want, rtol=0, atol=PARITY_ATOL)
    else:
        assert type(got) is type(want), (type(got), type(want))  # float, int, bool: host scalars
        assert got == pytest.approx(want, rel=0, abs=PARITY_ATOL)


# -- inputs: seeded orthonormal orbitals (Cᵀ S C = 1), symmetric Fock matrices, occupations ------------
NAO = NMO = 7
OCC_R = {  # restricted (nmo,), in [0, 2]
    "aufbau": [2, 2, 2, 0, 0, 0, 0],
    "non_aufbau": [2, 2, 0, 2, 0, 0, 0],
    "open_shell": [2, 2, 1, 1, 0, 0, 0],
    "fractional": [2, 2, 1.5, 0, 0.5, 0, 0],
}
OCC_U = {  # unrestricted (2, nmo), in [0, 1]
    "aufbau": [[1, 1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0]],
    "non_aufbau": [[1, 1, 0, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0]],
    "fractional": [[1, 1, 0.3, 0, 0.7, 0, 0], [1, 0.5, 0, 0, 0, 0.5, 0]],
}
OCCS = [(k, np.array(v, float)) for k, v in OCC_R.items()] + [(k + "_u", np.array(v, float)) for k, v in
                                                              OCC_U.items()]
OCC_IDS = [k for k, _ in OCCS]


def sym(rng, n):
    a = rng.standard_normal((n, n))
    return (a + a.T) / 2


def make_system(seed=0):
    """s1e (SPD), two Fock matrices, their orbitals (2, nao, nmo), orthonormal in the metric s1e."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((NAO, NAO))
    s1e = a @ a.T / NAO + np.eye(NAO)
    fock = np.stack([sym(rng, NAO) for _ in range(2)])
    c = np.stack([scipy.linalg.eigh(f, s1e)[1] for f in fock])
    return s1e, fock, c


def rotated(c, s1e, seed, angle=0.3):
    """Orbitals c mixed by a random rotation (still orthonormal in s1e)."""
    k = np.random.default_rng(seed).standard_normal((c.shape[-1],) * 2) * angle
    return c @ scipy.linalg.expm(k - k.T)


def both(f, *args, **kwargs):
    """(f on shim copies of the NumPy array arguments, f on the NumPy arrays); other arguments pass as given."""
    to_shim = [shim(a) if isinstance(a, np.ndarray) else a for a in args]
    return f(*to_shim, **kwargs), f(*args, **kwargs)


def layout(occ, c, fock):
    """(mo_coeff, fock) in the layout of ``occ``."""
    return (c[0], fock[0]) if occ.ndim == 1 else (c, fock)


# -- the shim catches misuse ---------------------------------------------------------------------------
def test_shim_refuses_implicit_conversion():
    x = shim(np.eye(3))
    with pytest.raises(TypeError):
        np.asarray(x)
    with pytest.raises(TypeError):
        np.array([x[0, 0], x[1, 1]])
    with pytest.raises(TypeError):
        x + np.ones(3)  # NumPy arrays mixed into shim arithmetic, either side
    with pytest.raises(TypeError):
        np.ones(3) * x


def test_shim_dispatches_numpy_calls_and_gets_its_namespace(shimxp):
    x = shim([[2.0, 1.0], [1.0, 3.0]])
    assert spin.get_xp(x) is shimxp and spin.get_xp(None, np.ones(2), x) is shimxp
    assert spin.get_xp(np.ones(2)) is np
    assert isinstance(np.sum(x), ShimArray) and isinstance(np.exp(x), ShimArray)  # back through the shim
    assert isinstance(spin.to_host(x), np.ndarray)
    assert float(x.sum()) == 7.0 and int(shimxp.argmax(x)) == 3 and isinstance(x[0, 0], ShimArray)


# -- deltascf.tracking ---------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_make_overlap(seed):
    s1e, _, c = make_system(seed)
    check(*both(tracking.make_overlap, c[0], rotated(c[0], s1e, seed), s1e))


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_make_tracked_occ(name, occ):
    s1e, _, c = make_system(3)
    for s, occ_ref in enumerate(spin.per_spin(occ)):
        ovlp = tracking.make_overlap(c[s], rotated(c[s], s1e, 10 + s), s1e)
        got, want = both(tracking.make_tracked_occ, ovlp, occ_ref)
        check(got, want)
        assert sorted(want) == sorted(occ_ref)
        check(tracking.make_tracked_occ(shim(ovlp), occ_ref), want)  # host occupations with device overlap
        occupied = np.flatnonzero(occ_ref)  # reference = the occupied orbitals only (no empty group)
        got, want = both(tracking.make_tracked_occ, ovlp[occupied], occ_ref[occupied])
        check(got, want)
        assert sorted(want[want > 0]) == sorted(occ_ref[occupied])


@pytest.mark.parametrize("value", [2.0, 1.5, 1.0, 0.5, 0.0])
def test_make_matched_orbital(value):
    s1e, _, c = make_system(4)
    occ = np.array(OCC_R["fractional"] if value != 1.0 else OCC_R["open_shell"])
    c_new = rotated(c[0], s1e, 5)
    for p in range(NMO):
        got, want = both(tracking.make_matched_orbital, c_new, occ, c[0][:, p], s1e, value)
        check(got, want)
        assert abs(occ[want] - value) < tracking.OCC_TOL


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_make_orbital_grad(name, occ):
    _, fock, c = make_system(6)
    restricted = occ.ndim == 1
    c_l, f_l = layout(occ, c, fock)
    for c_s, n_s, f_s in zip(spin.per_spin(c_l, restricted), spin.per_spin(occ), spin.per_spin(f_l, restricted)):
        got, want = both(tracking.make_orbital_grad, c_s, n_s, f_s)
        check(got, want)
        assert want.shape == (NMO * (NMO - 1) // 2,)


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_make_canonical_orbitals(name, occ):
    s1e, fock, c = make_system(7)
    for s, n_s in enumerate(spin.per_spin(occ)):
        c_s = rotated(c[s], s1e, 20 + s)
        check(*both(tracking.make_canonical_orbitals, fock[s], c_s, n_s))


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_make_spin_square_and_similarity(name, occ):
    s1e, fock, c = make_system(8)
    c_l = layout(occ, c, fock)[0]
    dm = spin.make_spin_dms(c_l, occ)
    dm_other = spin.make_spin_dms(rotated(c_l, s1e, 9), occ)
    check(*both(tracking.make_spin_square, dm, s1e))
    for s in range(2):
        check(*both(tracking.make_dm_similarity, dm[s], dm_other[s], s1e))
        check(*both(tracking.make_dm_similarity, dm[s], dm[s], s1e))
    zero = np.zeros_like(dm[0])
    check(*both(tracking.make_dm_similarity, zero, zero, s1e))
    check(*both(tracking.make_dm_similarity, dm[0], zero, s1e))


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_make_aufbau_like(name, occ):
    check(*both(tracking.make_aufbau_like, occ))


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
@pytest.mark.parametrize("final", ["target", "rotated", "aufbau"])
def test_make_target_check(name, occ, final):
    s1e, fock, c = make_system(11)
    c_ref = layout(occ, c, fock)[0]
    final_occ = tracking.make_aufbau_like(occ) if final == "aufbau" else occ
    c_final = rotated(c_ref, s1e, 12, angle=0.1) if final == "rotated" else c_ref
    dm = spin.make_spin_dms(c_final, final_occ)
    got, want = both(tracking.make_target_check, dm, c_ref, occ, s1e)
    check(got, want, host=True)  # overlap (2,) is returned on the host
    if final == "aufbau" and not np.allclose(final_occ, occ):
        assert want[1] is True  # collapsed onto the aufbau state


# -- deltascf.spin -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_make_spin_dms_and_to_unrestricted(name, occ):
    _, fock, c = make_system(13)
    c_l = layout(occ, c, fock)[0]
    check(*both(spin.make_spin_dms, c_l, occ))
    got, want = both(spin.to_unrestricted, c_l, occ)
    check(got, want)
    check(*both(spin.nelec_of, occ))


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_per_spin_stack_map(name, occ):
    _, fock, c = make_system(14)
    restricted = occ.ndim == 1
    c_l, f_l = layout(occ, c, fock)
    check(*both(spin.per_spin, occ))
    check(*both(spin.per_spin, c_l, restricted))
    blocks = spin.per_spin(c_l, restricted)
    got = spin.stack_spins([shim(b) for b in blocks], restricted)
    check(got, spin.stack_spins(blocks, restricted))

    def f_mo(c_s, n_s, f_s):  # an occupation-weighted MO Fock matrix per spin
        return (c_s * n_s).conj().T @ f_s @ c_s

    check(*both(spin.map_spins, f_mo, c_l, occ, f_l, restricted=restricted))

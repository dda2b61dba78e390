"""A CuPy-like array namespace over NumPy, for testing device code paths without a GPU.

``shimxp`` is a test double of CuPy's calling conventions: its arrays wrap NumPy arrays, refuse implicit
conversion (``np.asarray(x)`` raises TypeError, as for a CuPy array), refuse NumPy arrays mixed into their
arithmetic and functions, send NumPy functions called on them back through the namespace
(``__array_ufunc__`` / ``__array_function__``, results wrapped), give 0-d arrays from reductions and scalar
indexing, and reach the host only through ``shimxp.asnumpy``, which records the size of every copy it makes
(``COPIES``), as a patched ``cupy.asnumpy`` would.
"""
import contextlib
import sys
import types

import numpy as np

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
    __slots__ = ("data",)  # no __dict__, as a CuPy array has none (a tagged subclass has one, for its tags)
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
    __and__, __or__ = _ufunc_op(np.bitwise_and), _ufunc_op(np.bitwise_or)
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

    def all(self, axis=None):
        return _wrap(self.data.all(axis=axis))

    def any(self, axis=None):
        return _wrap(self.data.any(axis=axis))

    def ravel(self):
        return ShimArray(self.data.ravel())

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
        if isinstance(a, ShimArray):
            COPIES.append(a.data.size)
            return a.data.copy()
        return np.asarray(a)

    def argsort(a, axis=-1, kind=None):  # CuPy's sort is always stable and takes no other kind
        if kind not in (None, "stable"):
            raise ValueError(f"{SHIM}.argsort: kind={kind!r} not supported")
        return _wrap(np.argsort(_unwrap(a), axis=axis, kind="stable"))

    xp.ndarray, xp.float64 = ShimArray, np.float64
    xp.asarray, xp.array, xp.asnumpy, xp.argsort = asarray, array, asnumpy, argsort
    for name in ("zeros", "empty", "zeros_like", "stack", "concatenate", "abs", "where", "argmax", "sum",
                 "sqrt", "triu_indices", "allclose", "any", "hypot", "arctan2", "cos", "sin", "cbrt", "eye",
                 "einsum", "diag", "ones"):
        setattr(xp, name, delegate(getattr(np, name)))
    xp.linalg = types.SimpleNamespace(eigh=delegate(np.linalg.eigh))
    return xp


#: sizes (elements) of the arrays copied to the host by ``shimxp.asnumpy`` since the last :func:`installed`
COPIES = []


@contextlib.contextmanager
def installed():
    """The shim registered in ``sys.modules`` (get_xp looks it up there) for the ``with`` block."""
    assert SHIM not in sys.modules
    sys.modules[SHIM] = xp = _make_shim_module()
    COPIES.clear()
    try:
        yield xp
    finally:
        del sys.modules[SHIM]


def shim(a):
    """A shim copy of ``a`` (float)."""
    return ShimArray(np.array(a, dtype=float))

"""Kernel dispatch (design §6): a hot loop's device twin, its Numba kernel, or its NumPy twin.

``kernel(name, *arrays)`` returns, in order of precedence:

* ``deltascf.gpu.kernels.<name>`` when one of ``arrays`` is a device array (CuPy, or any namespace other than
  NumPy; :func:`deltascf.spin.get_xp`);
* the NumPy reference twin ``deltascf.kernels.<name>_ref`` when ``DELTASCF_KERNELS=numpy`` is set;
* ``deltascf.kernels.<name>`` (Numba where it pays).

All three have the same signature and agree to 1e-10 on seeded inputs (tests/unit/test_kernels.py).
"""
from __future__ import annotations

import os

import numpy as np

from .spin import get_xp

__all__ = ["kernel"]


def kernel(name: str, *arrays):
    """The implementation of kernel ``name`` for arguments like ``arrays`` (none: a host kernel)."""
    if arrays and get_xp(*arrays) is not np:
        from .gpu import kernels as device_kernels

        return getattr(device_kernels, name)
    from . import kernels

    if os.environ.get("DELTASCF_KERNELS", "").lower() == "numpy" and hasattr(kernels, name + "_ref"):
        return getattr(kernels, name + "_ref")
    return getattr(kernels, name)

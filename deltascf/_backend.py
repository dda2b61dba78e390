"""Kernel dispatch (design §6): a hot loop's Numba kernel, or its NumPy twin.

``kernel(name)`` returns ``deltascf.kernels.<name>`` (Numba where it pays), or
the NumPy reference twin ``<name>_ref`` when ``DELTASCF_KERNELS=numpy`` is set.  A CuPy
twin with the same name and signature will be chosen here first once
``deltascf.gpu`` exists.
"""
from __future__ import annotations

import os

__all__ = ["kernel"]


def kernel(name: str):
    """The implementation of kernel ``name``."""
    from . import kernels

    if os.environ.get("DELTASCF_KERNELS", "").lower() == "numpy" and hasattr(kernels, name + "_ref"):
        return getattr(kernels, name + "_ref")
    return getattr(kernels, name)

"""deltascf on an NVIDIA GPU: gpu4pyscf's mean-field objects and CuPy kernels (design §17).

This package is the only place that imports ``cupy`` or ``gpu4pyscf``, and only inside functions, so that
``import deltascf`` works without them.  A computation goes to the device with ``Method(device="gpu")``
(``deltascf run --device gpu``); the same tracking hooks, collapse checks and records serve both devices,
because they are written against the array namespace of their input (:func:`deltascf.spin.get_xp`).

* :func:`available` / :func:`why_unavailable`: is there a device deltascf can use?
* :func:`check_device`: the one refusal, a ValueError naming what is missing, before any SCF.
* :func:`get_namespace`: NumPy for ``"cpu"``, CuPy for ``"gpu"``.
* :mod:`deltascf.gpu.build`: gpu4pyscf mean-field objects from a PySCF one, and the host copies they make.
* :mod:`deltascf.gpu.integrals`: AO values on grid points and exact orbitalet J on the device (LOSC).
* :mod:`deltascf.gpu.kernels`: the CuPy twins of ``deltascf.kernels`` (same names and signatures).
"""
from __future__ import annotations

import functools

__all__ = ["available", "why_unavailable", "check_device", "get_namespace", "INSTALL_HINT"]

#: how to get the GPU dependencies (CUDA 12 wheels)
INSTALL_HINT = 'pip install ".[gpu]" in a deltascf checkout'


@functools.lru_cache(maxsize=1)
def why_unavailable() -> str | None:
    """None when CuPy, gpu4pyscf and a CUDA device are all there; otherwise what is missing, in one line.

    Never raises: a missing package, a missing driver and a machine without a device all give a reason.
    The answer is cached for the process (``why_unavailable.cache_clear()`` asks again).
    """
    try:
        import cupy
    except ImportError as err:
        return f"CuPy is not installed ({_short(err)}); {INSTALL_HINT}"
    except Exception as err:  # a CUDA library that fails to load
        return f"CuPy does not load ({_short(err)})"
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as err:  # no driver: cudaErrorInsufficientDriver, cudaErrorNoDevice, ...
        return f"no CUDA device is visible ({_short(err)})"
    if count < 1:
        return "no CUDA device is visible"
    try:
        import gpu4pyscf  # noqa: F401
    except ImportError as err:
        return f"gpu4pyscf is not installed ({_short(err)}); {INSTALL_HINT}"
    except Exception as err:  # e.g. OSError: its loader finds no unversioned libcusolver.so (design §17)
        return f"gpu4pyscf does not load ({_short(err)})"
    return None


def _short(err: BaseException, limit: int = 120) -> str:
    """``Type: message`` of an exception on one line, cut to ``limit`` characters."""
    text = " ".join(f"{type(err).__name__}: {err}".split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def available() -> bool:
    """True when states can be converged on a GPU (CuPy, gpu4pyscf and a CUDA device); never raises."""
    return why_unavailable() is None


def check_device(device: str) -> None:
    """Raise ValueError (one line, naming what is missing) unless ``device`` can be used here."""
    if device == "gpu":
        reason = why_unavailable()
        if reason is not None:
            raise ValueError(f"device gpu: {reason}")
    elif device != "cpu":
        raise ValueError(f"device must be cpu or gpu, got {device!r}")


def get_namespace(device: str):
    """The array namespace of ``device``: NumPy for ``"cpu"``, CuPy for ``"gpu"`` (after :func:`check_device`)."""
    if device == "cpu":
        import numpy

        return numpy
    check_device(device)
    import cupy

    return cupy

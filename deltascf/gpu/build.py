"""gpu4pyscf mean-field objects for deltascf, and the copies they make to the host (design §17).

:func:`to_device` hands a PySCF mean-field object made by :func:`deltascf.scf.build.make_mf` to gpu4pyscf with
PySCF's own ``to_gpu``: functional, grid settings, convergence settings, electron counts and the density-fitting
basis carry over.  deltascf's hooks (``deltascf.scf.mixin``) go on *after* the conversion, on the gpu4pyscf
class, whose SCF loop then calls them with CuPy arrays.  Everything here imports CuPy or gpu4pyscf inside the
function that needs it.
"""
from __future__ import annotations

import contextlib

__all__ = ["to_device", "is_device_mf", "tag_array", "count_host_copies"]


def is_device_mf(mf) -> bool:
    """True for a gpu4pyscf mean-field object (its class comes from the ``gpu4pyscf`` package)."""
    return any(cls.__module__.partition(".")[0] == "gpu4pyscf" for cls in type(mf).__mro__)


def to_device(mf):
    """The gpu4pyscf twin of a PySCF mean-field object, with the same settings and no SCF run.

    PySCF's ``to_gpu`` keeps ``xc``, the grid settings, ``conv_tol``, ``conv_tol_grad``, ``max_cycle`` and the
    auxiliary basis of a density-fitted object.  PySCF gives every object a temporary chkfile, which gpu4pyscf
    would write (copying the orbitals to the host) every cycle: it is dropped.
    """
    if is_device_mf(mf):
        return mf
    out = mf.to_gpu()
    out.chkfile = None
    out.verbose = mf.verbose
    return out


def tag_array(a, **tags):
    """A CuPy array with attributes (gpu4pyscf's ``tag_array``, the device twin of ``pyscf.lib.tag_array``)."""
    from gpu4pyscf.lib.cupy_helper import tag_array as gpu_tag_array

    return gpu_tag_array(a, **tags)


@contextlib.contextmanager
def count_host_copies():
    """Record the size (elements) of every device-to-host copy made inside the ``with`` block.

    A diagnostic for the device check and the GPU tests: ``cupy.asnumpy`` and ``cupy.ndarray.get``, the two ways
    gpu4pyscf and deltascf copy arrays to the host, are wrapped for the block and restored after it (scalar reads
    such as ``float(x)`` are not counted).  Yields the list the sizes are appended to.
    """
    import cupy

    sizes, inside = [], [False]  # inside: within a counted asnumpy, whose own .get() is the same copy
    asnumpy, get = cupy.asnumpy, cupy.ndarray.get

    def counting_asnumpy(a, *args, **kwargs):
        sizes.append(int(getattr(a, "size", 1)))
        inside[0] = True
        try:
            return asnumpy(a, *args, **kwargs)
        finally:
            inside[0] = False

    def counting_get(self, *args, **kwargs):
        if not inside[0]:
            sizes.append(int(self.size))
        return get(self, *args, **kwargs)

    cupy.asnumpy, cupy.ndarray.get = counting_asnumpy, counting_get
    try:
        yield sizes
    finally:
        cupy.asnumpy, cupy.ndarray.get = asnumpy, get

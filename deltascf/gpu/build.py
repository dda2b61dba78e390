"""gpu4pyscf mean-field objects and device integrals for deltascf (design §17).

:func:`to_device` hands a PySCF mean-field object made by :func:`deltascf.scf.build.make_mf` to gpu4pyscf with
PySCF's own ``to_gpu``: functional, grid settings, convergence settings, electron counts and the density-fitting
basis carry over.  deltascf's hooks (``deltascf.scf.mixin``) go on *after* the conversion, on the gpu4pyscf
class, whose SCF loop then calls them with CuPy arrays.  Everything here imports CuPy or gpu4pyscf inside the
function that needs it.
"""
from __future__ import annotations

import contextlib

__all__ = ["to_device", "is_device_mf", "tag_array", "make_ao_evaluator", "make_coulomb_diag", "count_host_copies",
           "COULOMB_BATCH_BYTES"]

#: device memory for one batch of orbitalet densities and their J matrices in :func:`make_coulomb_diag` (bytes)
COULOMB_BATCH_BYTES = 2e9


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


def make_ao_evaluator(mol):
    """``eval_ao(mol, coords)``: AO values (ngrid, nao) on the device in the AO order of ``mol`` (gpu4pyscf's
    ``eval_ao``), with gpu4pyscf's sorted-basis helper built once for all blocks of a grid."""
    import cupy
    from gpu4pyscf.dft.numint import _GDFTOpt
    from gpu4pyscf.dft.numint import eval_ao as gpu_eval_ao

    opt = _GDFTOpt.from_mol(mol)

    def eval_ao(mol_, coords):
        return gpu_eval_ao(mol_, cupy.asarray(coords), deriv=0, gdftopt=opt)

    return eval_ao


def make_coulomb_diag(mol, c_los) -> list:
    """J_ij = (ii|jj) of orbitalet densities, exact, from gpu4pyscf's J builds; theory §5.10.

    The densities D_i = c_i c_iᵀ of each orbitalet set go through batched direct J builds (each batch of
    densities and their J matrices within :data:`COULOMB_BATCH_BYTES`), and J_ij = tr(J[D_i] D_j).
    ``c_los``: host (nao, nlo) arrays, one per spin; returns host (nlo, nlo) arrays.
    """
    import cupy
    from gpu4pyscf.scf import hf as gpu_hf

    mf = gpu_hf.RHF(mol)  # the class, not the factory: a direct J builder of the molecule
    mf.chkfile = None
    nao = mol.nao_nr()
    batch = max(1, int(COULOMB_BATCH_BYTES // (16 * nao * nao)))
    out = []
    for c in c_los:
        c = cupy.asarray(c)
        nlo = c.shape[1]
        j = cupy.empty((nlo, nlo))
        for p0 in range(0, nlo, batch):
            dms = cupy.einsum("mi,ni->imn", c[:, p0:p0 + batch], c[:, p0:p0 + batch])
            vj = mf.get_j(mol, dms, hermi=1)
            j[p0:p0 + batch] = ((vj @ c) * c).sum(axis=1)  # tr(J[D_i] D_j) = c_jᵀ J[D_i] c_j
        out.append(cupy.asnumpy((j + j.T) / 2))
    return out


@contextlib.contextmanager
def count_host_copies():
    """Record the size (elements) of every device-to-host copy made inside the ``with`` block.

    A diagnostic for the device check and the GPU tests: ``cupy.asnumpy`` and ``cupy.ndarray.get`` are wrapped
    for the block and restored after it.  Yields the list the sizes are appended to.
    """
    import cupy

    sizes = []
    asnumpy, get = cupy.asnumpy, cupy.ndarray.get

    def counting_asnumpy(a, *args, **kwargs):
        sizes.append(int(getattr(a, "size", 1)))
        return asnumpy(a, *args, **kwargs)

    def counting_get(self, *args, **kwargs):
        sizes.append(int(self.size))
        return get(self, *args, **kwargs)

    cupy.asnumpy, cupy.ndarray.get = counting_asnumpy, counting_get
    try:
        yield sizes
    finally:
        cupy.asnumpy, cupy.ndarray.get = asnumpy, get

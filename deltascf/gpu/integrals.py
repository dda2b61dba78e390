"""Integrals on the device for LOSC's curvature: AO values on grid points and exact orbitalet J (design §17).

Each function imports CuPy and gpu4pyscf inside itself; the callers are in :mod:`deltascf.corrections.losc`.
"""
from __future__ import annotations

__all__ = ["make_ao_evaluator", "make_coulomb_diag", "COULOMB_BATCH_BYTES"]

#: device memory for one batch of orbitalet densities and their J matrices in :func:`make_coulomb_diag` (bytes)
COULOMB_BATCH_BYTES = 2e9


def make_ao_evaluator(mol):
    """``eval_ao(mol, coords)``: AO values (ngrid, nao) on the device in the AO order of ``mol`` (gpu4pyscf's
    ``eval_ao``), with gpu4pyscf's sorted-basis helper built once for all blocks of a grid."""
    import cupy
    from gpu4pyscf.dft import numint

    # gpu4pyscf's eval_ao builds this helper on every call when none is given; it is private API, so without it
    # the evaluation still works, only slower
    opt_class = getattr(numint, "_GDFTOpt", None)
    opt = opt_class.from_mol(mol) if opt_class is not None else None

    def eval_ao(mol_, coords):
        return numint.eval_ao(mol_, cupy.asarray(coords), deriv=0, gdftopt=opt)

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

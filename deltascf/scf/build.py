"""Fresh PySCF mean-field objects for a :class:`~deltascf.records.Method` (no SCF run here)."""
from __future__ import annotations

from pyscf import dft, scf

from ..integrals import get_eri
from ..records import Method

__all__ = ["make_mf", "shared_eri", "check_auxbasis", "check_mol"]


def check_mol(mol) -> None:
    """Refuse what is not a built PySCF molecule with a clear ValueError naming ``mol``."""
    from pyscf import gto

    if not isinstance(mol, gto.Mole):
        raise ValueError(f"mol: expected a pyscf.gto.Mole, got {type(mol).__name__}")
    if not getattr(mol, "_built", False) or mol.natm == 0:
        raise ValueError("mol: the molecule is not built; call mol.build() (or make it with pyscf.gto.M)")


def check_auxbasis(mol, auxbasis: str) -> None:
    """Raise ValueError unless basis ``auxbasis`` is defined for every element of ``mol``."""
    import warnings

    from pyscf import gto

    for elem in sorted({mol.atom_pure_symbol(i) for i in range(mol.natm)}):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if not gto.basis.load(auxbasis, elem):
                    raise ValueError("empty")
        except Exception:
            raise ValueError(f"auxiliary basis {auxbasis!r} is not defined for {elem}") from None


def shared_eri(mol, method: Method):
    """The molecule's shared in-core ERIs (None with density fitting or when they do not fit in memory)."""
    return None if method.density_fit else get_eri(mol)


def make_mf(mol, method: Method, verbose: int = 0, eri=None, grids=None):
    """A fresh PySCF mean-field object for ``method`` (no SCF run).

    ``eri`` (s8, from :func:`deltascf.integrals.get_eri`) is handed to PySCF as ``mf._eri`` so that the
    integrals are not evaluated again for each state.  ``grids`` (a built ``dft.Grids``) is used instead of
    building the method's own, e.g. the grid of a restricted state for its unrestricted twin.  Every setting
    is passed explicitly, none is read from PySCF's configuration file (design §5).
    """
    restricted = method.restricted
    if method.is_hf:
        # the classes themselves: scf.UHF(mol) swaps in HF1e for one electron, whose shortcut ignores
        # fractional occupations
        mf = scf.hf.RHF(mol) if restricted else scf.uhf.UHF(mol)
    else:
        mf = dft.RKS(mol) if restricted else dft.UKS(mol)
        mf.xc = method.xc
        if method.grid_level is not None:
            mf.grids.level = int(method.grid_level)
    if method.density_fit:
        mf = mf.density_fit(auxbasis=method.density_fit)
    elif eri is not None:
        mf._eri = eri
    mf.verbose = verbose
    mf.chkfile = None
    mf.conv_tol = method.conv_tol
    if method.conv_tol_grad is not None:
        mf.conv_tol_grad = method.conv_tol_grad
    mf.max_cycle = int(method.max_cycle)
    if not method.is_hf and grids is not None:
        mf.grids = grids
    elif not method.is_hf and method.device == "cpu":
        # One grid per molecule and method: built (and, for RKS, pruned as PySCF does) from the atomic
        # initial guess, so every state of the molecule sees the same grid.  gpu4pyscf builds its own from the
        # same settings (to_gpu resets the grid), so none is built here for the GPU.
        mf.initialize_grids(mol, mf.get_init_guess(mol, "minao") if restricted else None)
    if method.device == "gpu":
        from ..gpu.build import to_device

        mf = to_device(mf)
    return mf

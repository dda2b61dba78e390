"""Converging states on PySCF: the ``_DeltaSCF`` mixin (:mod:`.mixin`), fresh mean-field objects
(:mod:`.build`) and the drivers (:mod:`.driver`); design §5."""
from .build import check_auxbasis, check_mol, make_mf, shared_eri
from .driver import (make_ensemble_energies, make_method, make_record, purify_singlet, run_scf_with_correction,
                     run_state)
from .mixin import make_final_fock, make_full_grad, wrap

__all__ = ["run_state", "run_scf_with_correction", "make_method", "make_record", "purify_singlet",
           "make_ensemble_energies", "make_mf", "shared_eri", "check_mol", "check_auxbasis", "wrap", "make_final_fock", "make_full_grad"]

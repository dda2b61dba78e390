"""deltascf: ΔSCF excited states, fractional charges and chemical potentials on PySCF."""
__version__ = "0.1.0"

from .occupations import Occupation, SpecError
from .results import Method, ScfResult, State
from .io import load, load_all, save
from .scf import purify_singlet, run_state

__all__ = ["__version__", "Occupation", "SpecError", "Method", "ScfResult", "State", "run_state", "purify_singlet",
           "save", "load", "load_all"]

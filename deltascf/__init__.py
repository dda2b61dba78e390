"""deltascf: ΔSCF excited states, fractional charges and chemical potentials on PySCF."""
__version__ = "0.1.0"

from .occupations import Occupation, SpecError
from .records import (ChargeScan, Correction, Method, Molecule, Provenance, ScanJob, ScfResult, State, StateSet,
                      StatesJob, Task, TheoremJob, TheoremTable)
from .io import load, load_all, save
from .scf import purify_singlet, run_state
from .states import run_states
from .tasks import run_task
from .gradients import make_gradient
from .optimize import adiabatic_energies, optimize_state

__all__ = ["__version__", "Occupation", "SpecError", "Method", "Correction", "ScfResult", "State", "StateSet",
           "ChargeScan", "TheoremTable", "Provenance", "Molecule", "StatesJob", "ScanJob", "TheoremJob", "Task",
           "run_state", "run_states", "run_task", "purify_singlet", "save", "load", "load_all", "make_gradient",
           "optimize_state", "adiabatic_energies"]

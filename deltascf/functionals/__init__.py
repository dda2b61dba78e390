"""Delocalization corrections of density functionals: LOSC (theory §5)."""
from .losc import LoscResult, LoscSettings, make_losc_correction, make_losc_inputs
from .xc import LoscUnsupported, make_dfa_weights

__all__ = ["LoscResult", "LoscSettings", "LoscUnsupported", "make_losc_correction", "make_losc_inputs",
           "make_dfa_weights"]

"""Excited-state chemical potentials and the orbital-energy theorem table (theory §3)."""
from .theorem import TheoremRow, TheoremTable, chemical_potentials, make_channels

__all__ = ["TheoremRow", "TheoremTable", "chemical_potentials", "make_channels"]

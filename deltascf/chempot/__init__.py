"""Excited-state chemical potentials and the orbital-energy theorem table (theory §3)."""
from ..records import TheoremRow, TheoremTable
from .theorem import N_VIRTUAL, chemical_potentials, make_channels, make_relative_label

__all__ = ["TheoremRow", "TheoremTable", "chemical_potentials", "make_channels", "make_relative_label", "N_VIRTUAL"]

"""Excited-state chemical potentials and the orbital-energy theorem table (theory §3)."""
from ..records import TheoremRow, TheoremTable
from .theorem import N_VIRTUAL, chemical_potentials, make_channels, make_relative_label, resolve_channels

__all__ = ["TheoremRow", "TheoremTable", "chemical_potentials", "make_channels", "make_relative_label", "resolve_channels",
           "N_VIRTUAL"]

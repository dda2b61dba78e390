"""Fractional-charge curves E(N ± δ) of ground and ΔSCF states (theory §2)."""
from ..records import ChargeScan
from .scan import (DEFAULT_POINTS, MAX_POINTS, make_curvatures, make_deltas, make_janak_residual,
                   make_line_deviation, scan_charge)

__all__ = ["ChargeScan", "scan_charge", "make_deltas", "make_line_deviation", "make_curvatures",
           "make_janak_residual", "DEFAULT_POINTS", "MAX_POINTS"]

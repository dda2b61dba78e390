"""DFA facts the corrections need: exchange weights a_x (semilocal) and a_HF (exact); theory §5.4, §5.11.

PySCF gives a_HF (``dft.libxc.hybrid_coeff``) but not a_x in general (B3LYP
is one libxc functional), so the supported DFAs are listed here; any other
GGA or global hybrid is accepted with explicit (a_x, a_HF).
"""
from __future__ import annotations

__all__ = ["CorrectionUnsupported", "LoscUnsupported", "DFA_WEIGHTS", "make_dfa_weights"]

#: (a_x, a_HF) of the reference presets [Li2018]; the table of theory §5.4
DFA_WEIGHTS = {
    "b3lyp": (0.80, 0.20),
    "b3lyp5": (0.80, 0.20),
    "b3lypg": (0.80, 0.20),
    "pbe0": (0.75, 0.25),
    "pbeh": (0.75, 0.25),
    "blyp": (1.00, 0.0),
    "pbe": (1.00, 0.0),
    "svwn": (1.00, 0.0),
    "svwn5": (1.00, 0.0),
    "lda": (1.00, 0.0),
    "lda,vwn": (1.00, 0.0),
    "lda,vwn5": (1.00, 0.0),
    "hf": (0.0, 1.0),
}


class CorrectionUnsupported(ValueError):
    """A functional, reference or input that a correction does not support (yet)."""


#: the name LOSC's API used first
LoscUnsupported = CorrectionUnsupported


def make_dfa_weights(xc: str, weights: tuple[float, float] | None = None) -> tuple[float, float]:
    """(a_x, a_HF) for ``xc``; refuse range-separated, meta-GGA and double-hybrid DFAs.

    Parameters
    ----------
    xc : str
        PySCF xc string or "hf".
    weights : (float, float), optional
        Explicit (a_x, a_HF) for a GGA or global hybrid not in ``DFA_WEIGHTS``.
    """
    key = xc.strip().lower().replace(" ", "")
    if key == "hf":
        return DFA_WEIGHTS["hf"]
    from pyscf.dft import libxc

    try:
        kind = libxc.xc_type(key)
        omega, _, _ = libxc.rsh_coeff(key)
        a_hf = float(libxc.hybrid_coeff(key))
    except Exception:
        raise CorrectionUnsupported(f"unknown xc functional {xc!r}") from None
    if kind == "MGGA":
        raise CorrectionUnsupported(f"{xc}: meta-GGA functionals are not supported by LOSC yet")
    if kind not in ("LDA", "GGA", "HF"):
        raise CorrectionUnsupported(f"{xc}: functional type {kind} is not supported by LOSC yet")
    if abs(omega) > 0:
        raise CorrectionUnsupported(f"{xc}: range-separated hybrids are not supported by LOSC yet")
    if weights is not None:
        a_x, a_hf_given = (float(w) for w in weights)
        if abs(a_hf_given - a_hf) > 1e-12:
            raise CorrectionUnsupported(f"{xc}: given a_HF = {a_hf_given} but PySCF says {a_hf}")
        return a_x, a_hf_given
    if key not in DFA_WEIGHTS:
        raise CorrectionUnsupported(f"{xc}: LOSC needs its semilocal exchange weight a_x; "
                              "pass weights=(a_x, a_HF) for this functional")
    a_x, a_hf_table = DFA_WEIGHTS[key]
    if abs(a_hf_table - a_hf) > 1e-12:  # the table and libxc disagree: refuse rather than guess
        raise CorrectionUnsupported(f"{xc}: a_HF {a_hf} from PySCF differs from the LOSC table ({a_hf_table})")
    return a_x, a_hf_table

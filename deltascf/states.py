"""The states of one run: the ground state and any ΔSCF or fractional states, with their corrections."""
from __future__ import annotations

from .core import resolve_on
from .corrections import check_correction, run_correction
from .occupations import Occupation
from .records import Method, StateSet, make_provenance
from .scf import check_mol, make_method, run_state
from .scf.driver import check_roks_spec
from .study import open_study

__all__ = ["run_states"]


def run_states(mol, xc: str | None = None, specs=(), *, method: Method | None = None, callback=None, study=None,
               verbose: int = 0, **settings) -> StateSet:
    """The ground state and one state per spec, labelled ``ground``, ``state1``, …; theory §1.

    Every spec is validated before the first SCF.  The ground state is the tracking reference of every other
    state.  With a correction in the method, each state gets its correction record (theory §5.9).

    Parameters
    ----------
    specs : sequence of str or Occupation
        Occupation specs (``"ground"`` entries add nothing: the ground state is always computed).
    callback : callable, optional
        ``callback(label, state)`` after each newly converged state (progress display).
    study : str or os.PathLike, optional
        A study file (:mod:`deltascf.study`): states and corrections are saved as they finish, under their
        labels, and a call with the same inputs computes only what is missing.
    """
    check_mol(mol)
    method = make_method(method, xc, **settings)
    if method.restricted and mol.spin != 0:
        raise ValueError(f"reference {method.reference} needs a closed-shell molecule (spin 0, got {mol.spin}); "
                         "use uks/uhf")
    specs = [specs] if isinstance(specs, (str, Occupation)) else list(specs)
    occupations = [Occupation.parse(spec) for spec in specs]
    for occ in occupations:
        resolve_on(mol, occ, method.restricted)
        check_roks_spec(mol, method, occ)
    check_correction(mol, method)
    excited = [occ for occ in occupations if not occ.is_ground]
    labels = ["ground"] + [f"state{k + 1}" for k in range(len(excited))]
    with open_study(study, mol, method, "run", {"specs": [str(o) for o in occupations]}) as st:
        states = []
        for label, occ in zip(labels, [Occupation()] + excited):
            r = st.get(label)
            if r is None:
                r = st.put(label, run_state(mol, method=method, state=occ, ground=states[0] if states else None,
                                            verbose=verbose))
                if callback is not None:
                    callback(label, r)
            states.append(r)
        corrections = ()
        if method.correction is not None:
            kind = method.correction.name
            corrections = tuple(st.get(label, kind) or st.put(label, run_correction(mol, r, method, verbose))
                                for label, r in zip(labels, states))
        st.finish()
    return StateSet(labels=labels, states=states, method=method, corrections=corrections,
                    provenance=make_provenance(mol))

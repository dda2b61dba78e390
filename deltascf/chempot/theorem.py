"""Excited-state chemical potentials and the orbital-energy theorem table; theory §3.

For state I and a channel (remove iσ → K = I − e, or add aσ → J = I + e), the
integer neighbour is converged with overlap tracking from I.  Its energy gives
the chemical potential, the slope of the straight line between the two states:

    μ⁻ = E_I − E_K = −IP_I(iσ)        μ⁺ = E_J − E_I = −EA_I(aσ)      theory §3.1

and the theorem compares it with the orbital energies at both ends of the
line (rows T1–T4 of theory §3.3): ε_p of I, and ε of the same orbital,
matched by overlap, in the neighbour.
"""
from __future__ import annotations

import numpy as np
from pyscf.data.elements import chemcore

from ..core import resolve_on
from ..corrections import check_correction, make_corrected_orbital_energy, run_correction
from ..occupations import Channel, Label, Occupation, SpecError, make_channel_degeneracy
from ..records import N_VIRTUAL, Method, ScfResult, TheoremRow, TheoremTable, make_provenance
from ..scf import check_mol, make_method, run_state
from ..study import open_study
from ..tracking import make_matched_orbital

__all__ = ["TheoremRow", "TheoremTable", "chemical_potentials", "make_channels", "resolve_channels",
           "make_relative_label", "N_VIRTUAL"]

def make_relative_label(occ: np.ndarray, p: int) -> str:
    """HOMO-k / LUMO+k name of orbital p within one spin's occupations (energy order)."""
    if occ[p] > 1e-10:
        k = int(np.count_nonzero(occ[p + 1:] > 1e-10))
        return "HOMO" if k == 0 else f"HOMO-{k}"
    k = int(np.count_nonzero(occ[:p] <= 1e-10))
    return "LUMO" if k == 0 else f"LUMO+{k}"


def make_channels(mo_occ: np.ndarray, which, ncore: int = 0, n_virtual: int = N_VIRTUAL) -> list:
    """Channels for ``which`` = "frontier", "valence" or a list of channel strings.

    frontier: remove from the HOMO and add to the LUMO of each spin (those
    that exist).  valence: remove from every singly occupied orbital above the
    ``ncore`` core orbitals, and add to the ``n_virtual`` lowest empty orbitals,
    of each spin.
    """
    if not isinstance(which, str):
        return [Channel.parse(c) for c in which]
    key = which.strip().lower()
    if key not in ("frontier", "valence"):
        return [Channel.parse(c) for c in which.split(",") if c.strip()]
    out = []
    for s, spin in enumerate("ab"):
        occ = mo_occ[s]
        occupied = [p for p in np.flatnonzero(np.abs(occ - 1.0) < 1e-10) if p >= ncore]
        empty = list(np.flatnonzero(occ < 1e-10))
        if key == "frontier":
            occupied, empty = occupied[-1:], empty[:1]
        else:
            empty = empty[:n_virtual]
        out += [Channel("remove", spin, Label("", int(p))) for p in occupied]
        out += [Channel("add", spin, Label("", int(p))) for p in empty]
    return out


def resolve_channels(channels, mo_occ) -> list:
    """The orbital index of each channel in a state with ``mo_occ`` (2, nmo); SpecError for a channel that cannot
    act on it, or for two channels that are one (``remove:a:HOMO`` and ``remove:a:4``)."""
    seen, out = {}, []
    for ch in channels:
        p = ch.resolve(mo_occ)
        key = (ch.kind, ch.spin, p)
        if key in seen:
            raise SpecError(f"{seen[key]} and {ch} are the same channel ({ch.kind}:{ch.spin}:{p}); give it once")
        seen[key] = ch
        out.append(p)
    return out


def chemical_potentials(mol, xc: str | None = None, state="ground", channels="frontier", *,
                        method: Method | None = None, start: ScfResult | None = None, ground=None,
                        n_virtual: int = N_VIRTUAL, callback=None, study=None, verbose: int = 0,
                        **settings) -> TheoremTable:
    """The theorem table of state I: μ against ε for each channel; theory §3.

    Parameters
    ----------
    xc, method, **settings
        The method, as for :func:`deltascf.run_state`.  With a correction (``method.correction``, or the older
        ``losc="post"|"scf"``), I and every neighbour are corrected, so μ comes from corrected ΔSCF energies
        and ε are the corrected orbital energies.
    state : str or Occupation
        State I (ground or ΔSCF spec).
    channels : "frontier", "valence", or a list (or comma-separated string) of channels
        such as ``["remove:a:HOMO", "add:b:LUMO+1"]``; labels resolve against I.
    start : ScfResult, optional
        Converged state I (computed when omitted, from ``ground`` if given).
    callback : callable, optional
        ``callback(name, state)`` after each newly converged state: "start" for I, then the channel (e.g.
        "remove:a:4") for each neighbour.
    study : str or os.PathLike, optional
        A study file (:mod:`deltascf.study`): every converged state is saved as it finishes, and a call with the
        same inputs computes only what is missing.
    """
    check_mol(mol)
    method = make_method(method, xc, **settings)
    if method.reference in ("roks", "rohf"):
        raise ValueError(f"reference {method.reference}: fractional and neighbour states need uks/uhf (or rks/rhf)")
    if method.restricted:
        raise ValueError("chemical potentials need an unrestricted reference (uks or uhf): the N±1 "
                         f"neighbours are open-shell, not {method.reference}")
    occupation = Occupation.parse(state)
    ncore = chemcore(mol)
    chans = None
    if start is None:  # validate before any SCF
        target = resolve_on(mol, occupation, False).mo_occ
        chans = make_channels(target, channels, ncore, n_virtual)
        if not chans:
            raise SpecError("no channels to compute")
        resolve_channels(chans, target)
    check_correction(mol, method)
    job = {"state": str(occupation), "n_virtual": n_virtual,
           "channels": [str(c) for c in chans] if chans is not None else str(channels)}
    with open_study(study, mol, method, "chempot", job, prefix="theorem") as st:
        if st.final is not None:
            return st.final
        return st.finish(_table(mol, method, occupation, channels, ncore, n_virtual, start, ground, st, callback,
                                verbose))


def _table(mol, method, occupation, channels, ncore, n_virtual, start, ground, study, callback, verbose):
    if start is None:
        start = study.get("start")
        if start is None:
            start = study.put("start", run_state(mol, method=method, state=occupation, ground=ground,
                                                 verbose=verbose))
            if callback is not None:
                callback("start", start)
    chans = make_channels(start.mo_occ, channels, ncore, n_virtual)
    if not chans:
        raise SpecError("no channels to compute")
    resolve_channels(chans, start.mo_occ)
    s1e = mol.intor_symmetric("int1e_ovlp")
    kind = method.correction.name if method.correction is not None else None
    wanted = [(ch.spin_index, ch.resolve(start.mo_occ)) for ch in chans]  # the orbitals the rows read
    start_corr = None if kind is None else \
        study.get("start", kind) or study.put("start", run_correction(mol, start, method, verbose,
                                                                      orbitals=wanted))
    e_start = start.e_tot if kind is None else start_corr.e_tot
    rows, neighbours, corrections = [], [], []
    for ch in chans:
        s, p = ch.spin_index, ch.resolve(start.mo_occ)
        occ = np.array(start.mo_occ, copy=True)
        occ[s, p] = 1.0 if ch.kind == "add" else 0.0
        name = str(Channel(ch.kind, ch.spin, Label("", p)))
        nb = study.get(name)
        fresh = nb is None
        if fresh:
            nb = study.put(name, run_state(mol, method=method, state=Occupation.from_occ(occ), ground=start,
                                           verbose=verbose))
        q = make_matched_orbital(nb.mo_coeff[s], nb.mo_occ[s], start.mo_coeff[s][:, p], s1e, occ[s, p])
        if kind is None:
            e_nb, eps, eps_nb = nb.e_tot, float(start.mo_energy[s, p]), float(nb.mo_energy[s, q])
        else:
            nb_corr = study.get(name, kind) or study.put(name, run_correction(mol, nb, method, verbose,
                                                                              orbitals=[(s, q)]))
            corrections.append(nb_corr)
            e_nb = nb_corr.e_tot
            eps = make_corrected_orbital_energy(start_corr, start, s, p, s1e)
            eps_nb = make_corrected_orbital_energy(nb_corr, nb, s, q, s1e)
        mu = e_nb - e_start if ch.kind == "add" else e_start - e_nb
        rows.append(TheoremRow(
            channel=name, kind=ch.kind, spin=s, orbital=p,
            label=make_relative_label(start.mo_occ[s], p), eps=float(eps),
            eps_neighbour=float(eps_nb), mu=float(mu), delta_scf=float(-mu),
            e_state=e_start, e_neighbour=e_nb, neighbour_orbital=q,
            converged=bool(start.converged and nb.converged), collapsed=bool(start.collapsed or nb.collapsed),
            degenerate=make_channel_degeneracy(start.mo_energy, start.mo_occ, s, p),
        ))
        neighbours.append(nb)
        if fresh and callback is not None:
            callback(name, nb)
    return TheoremTable(state=str(occupation), resolved=start.resolved, e_tot=e_start, rows=tuple(rows),
                        method=method, neighbours=tuple(neighbours),
                        corrections=((start_corr, *corrections) if kind is not None else ()),
                        provenance=make_provenance(mol))

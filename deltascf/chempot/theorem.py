"""Excited-state chemical potentials and the orbital-energy theorem table; theory §3.

For state I and a channel (remove iσ → K = I − e, or add aσ → J = I + e), the
integer neighbour is converged with overlap tracking from I.  Its energy gives
the chemical potential, the slope of the straight line between the two states:

    μ⁻ = E_I − E_K = −IP_I(iσ)        μ⁺ = E_J − E_I = −EA_I(aσ)      theory 3.1

and the theorem compares it with the orbital energies at both ends of the
line (rows T1–T4 of theory 3.3): ε_p of I, and ε of the same orbital,
matched by overlap, in the neighbour.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyscf.data.elements import chemcore

from ..occupations import Channel, Label, Occupation, SpecError, make_channel_degeneracy, make_matched_orbital
from ..results import Method, ScfResult
from ..scf import make_losc_orbital_energy, run_losc, run_state_method

__all__ = ["TheoremRow", "TheoremTable", "chemical_potentials", "make_channels", "N_VIRTUAL"]

#: lowest empty orbitals per spin given an addition channel by ``channels="valence"``
N_VIRTUAL = 3


@dataclass(frozen=True, slots=True)
class TheoremRow:
    """One channel of the theorem table (Hartree).

    ``eps`` is ε_p of state I (T1 for a removal, T3 for an addition);
    ``eps_neighbour`` is ε of the same orbital in the neighbour state (T2,
    T4).  ``mu`` is the slope of the line between the two states and
    ``delta_scf`` the ΔSCF IP (removal, E_K − E_I) or EA (addition, E_I − E_J).
    """

    channel: str
    kind: str
    spin: int
    orbital: int
    label: str
    eps: float
    eps_neighbour: float
    mu: float
    delta_scf: float
    e_state: float
    e_neighbour: float
    neighbour_orbital: int
    converged: bool
    collapsed: bool
    degenerate: str = ""  # the channel orbital's degenerate group in I (theory §4), e.g. "a:19,20"

    @property
    def error(self) -> float:
        """ε − μ at state I (T1/T3)."""
        return self.eps - self.mu

    @property
    def error_neighbour(self) -> float:
        """ε − μ at the neighbour state (T2/T4)."""
        return self.eps_neighbour - self.mu


@dataclass(frozen=True, slots=True, eq=False)
class TheoremTable:
    """Chemical potentials of state I against its orbital energies."""

    state: str
    resolved: str
    e_tot: float
    rows: tuple
    method: Method
    neighbours: tuple
    losc_mode: str | None = None
    losc: tuple = ()  # LoscResult of I, then of each neighbour

    @property
    def all_converged(self) -> bool:
        return all(r.converged for r in self.rows)


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


def chemical_potentials(mol, xc: str, state="ground", channels="frontier", *, reference: str = "uks",
                        tracking: str = "imom", start: ScfResult | None = None, ground=None,
                        n_virtual: int = N_VIRTUAL, density_fit: str | None = None, grid_level: int | None = None,
                        conv_tol: float = 1e-9, conv_tol_grad: float | None = None, max_cycle: int = 100,
                        losc: str | None = None, losc_settings=None, callback=None, done=None,
                        verbose: int = 0) -> TheoremTable:
    """The theorem table of state I: μ against ε for each channel; theory §3.

    Parameters
    ----------
    state : str or Occupation
        State I (ground or ΔSCF spec).
    channels : "frontier", "valence", or a list (or comma-separated string) of channels
        such as ``["remove:a:HOMO", "add:b:LUMO+1"]``; labels resolve against I.
    start : ScfResult, optional
        Converged state I (computed when omitted, from ``ground`` if given).
    losc : {None, "post", "scf"}
        Use LOSC-corrected energies for I and every neighbour (so μ comes from
        corrected ΔSCF energies) and LOSC-corrected orbital energies.
    callback : callable, optional
        ``callback(name, state)`` after each newly converged state: "start" for
        I, then the channel (e.g. "remove:a:4") for each neighbour.
    done : dict, optional
        The same {name: ScfResult} from an earlier, interrupted run with the same
        inputs (resume): those states are not recomputed.
    """
    done = dict(done or {})
    method = Method(xc=xc, reference=reference, tracking=tracking, density_fit=density_fit, grid_level=grid_level,
                    conv_tol=conv_tol, conv_tol_grad=conv_tol_grad, max_cycle=max_cycle)
    if losc not in (None, "post", "scf"):
        raise ValueError(f"unknown LOSC mode {losc!r}; choose post or scf")
    if method.restricted:
        raise ValueError("chemical potentials need an unrestricted reference (uks or uhf): the N±1 "
                         f"neighbours are open-shell, not {method.reference}")
    occupation = Occupation.parse(state)
    ncore = chemcore(mol)
    if start is None:
        target = occupation.resolve(mol.nelec, mol.nao_nr(), False).mo_occ
        chans = make_channels(target, channels, ncore, n_virtual)
        for ch in chans:  # validate before any SCF
            ch.resolve(target)
        start = done.get("start")
        if start is None:
            start = run_state_method(mol, method, occupation, ground=ground, verbose=verbose)
            if callback is not None:
                callback("start", start)
    chans = make_channels(start.mo_occ, channels, ncore, n_virtual)
    if not chans:
        raise SpecError("no channels to compute")
    s1e = mol.intor_symmetric("int1e_ovlp")
    start_losc = run_losc(mol, start, losc, losc_settings, verbose) if losc else None
    e_start = start_losc.e_tot if losc else start.e_tot
    rows, neighbours, corrections = [], [], []
    for ch in chans:
        s, p = ch.spin_index, ch.resolve(start.mo_occ)
        occ = np.array(start.mo_occ, copy=True)
        occ[s, p] = 1.0 if ch.kind == "add" else 0.0
        name = str(Channel(ch.kind, ch.spin, Label("", p)))
        nb = done.get(name)
        fresh = nb is None
        if fresh:
            nb = run_state_method(mol, method, Occupation.from_occ(occ), ground=start, verbose=verbose)
        q = make_matched_orbital(nb.mo_coeff[s], nb.mo_occ[s], start.mo_coeff[s][:, p], s1e, occ[s, p])
        if losc:
            nb_losc = run_losc(mol, nb, losc, losc_settings, verbose)
            corrections.append(nb_losc)
            e_nb = nb_losc.e_tot
            eps = make_losc_orbital_energy(start_losc, start, s, p, s1e)
            eps_nb = make_losc_orbital_energy(nb_losc, nb, s, q, s1e)
        else:
            e_nb, eps, eps_nb = nb.e_tot, float(start.mo_energy[s, p]), float(nb.mo_energy[s, q])
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
                        method=method, neighbours=tuple(neighbours), losc_mode=losc,
                        losc=((start_losc, *corrections) if losc else ()))

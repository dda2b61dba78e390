"""The finite-difference oracle of theory (6.2) for κ_pq = dε_p/dn_q, shared by the response and GSC2 tests."""
import numpy as np

from deltascf import Occupation, run_state
from deltascf.occupations import OCC_TOL
from deltascf.spin import per_spin
from deltascf.tracking import make_matched_orbital

#: SCF settings for finite differences (theory §6.1): the stencils amplify noise by about 1/h
TIGHT = {"conv_tol": 1e-12, "conv_tol_grad": 1e-8}
FD_STEP = 1e-3  # the smaller of the two steps; the larger is 2 FD_STEP


def fd_kappa(mol, state, s, q, p):
    """dε_p/dn_q (spin s) over explicit-occupation SCFs: the second-order stencils of theory §6.1 at steps 2h and
    h, Richardson-extrapolated, (4 f(h) − f(2h))/3, so that their O(h²) error goes too (theory §6.1)."""
    eps = _Eps(mol, state, s, q, p)
    return (4 * _stencil(eps, FD_STEP) - _stencil(eps, 2 * FD_STEP)) / 3


class _Eps:
    """ε_p of ``state`` with n_q moved by dn (spin s), each SCF run once."""

    def __init__(self, mol, state, s, q, p):
        self.mol, self.state, self.s, self.q, self.p = mol, state, s, q, p
        self.n = float(per_spin(state.mo_occ)[s][q])
        self.full = 2.0 if state.restricted else 1.0
        self.c_p = per_spin(state.mo_coeff, state.restricted)[s][:, p]
        self.s1e = mol.intor_symmetric("int1e_ovlp")
        self.done = {0.0: float(per_spin(state.mo_energy)[s][p])}

    def __call__(self, dn: float) -> float:
        if dn not in self.done:
            st, s = self.state, self.s
            occ = np.array(st.mo_occ, copy=True)
            if st.restricted:
                occ[self.q] += dn
            else:
                occ[s, self.q] += dn
            new = run_state(self.mol, method=st.method, state=Occupation.from_occ(occ), ground=st)
            assert new.converged and not new.collapsed
            k = make_matched_orbital(per_spin(new.mo_coeff, new.restricted)[s], per_spin(new.mo_occ)[s], self.c_p,
                                     self.s1e, per_spin(occ)[s][self.p])
            self.done[dn] = float(per_spin(new.mo_energy)[s][k])
        return self.done[dn]


def _stencil(eps: _Eps, h: float) -> float:
    """(3ε(n) − 4ε(n−h) + ε(n−2h))/2h at a full orbital, its mirror at an empty one, central otherwise."""
    if eps.n > eps.full - OCC_TOL:
        return (3 * eps(0.0) - 4 * eps(-h) + eps(-2 * h)) / (2 * h)
    if eps.n < OCC_TOL:
        return (-3 * eps(0.0) + 4 * eps(h) - eps(2 * h)) / (2 * h)
    return (eps(h) - eps(-h)) / (2 * h)

"""The finite-difference oracle of theory (6.2) for κ_pq = dε_p/dn_q, shared by the response and GSC2 tests."""
import numpy as np

from deltascf import Occupation, run_state
from deltascf.occupations import OCC_TOL
from deltascf.spin import per_spin
from deltascf.tracking import make_matched_orbital

#: SCF settings for finite differences (theory §6.1): the stencils amplify noise by about 1/h
TIGHT = {"conv_tol": 1e-12, "conv_tol_grad": 1e-8}
FD_STEP = 1e-3  # the smaller of the two steps; the larger is 2 FD_STEP
#: the step of the central orbitalet stencils (h and 2h, Richardson-extrapolated).  Larger steps fail: the β LUMO
#: orbitalet of water's α HOMO→LUMO state gives central-difference errors 4.7e-2, 3.7e-3 and 3.1e-4 Eh at
#: h = 1e-2, 5e-3 and 2.5e-3, as the perturbed state nears an instability; the α orbitalet 5 of its cation still
#: misses by 3.6e-5 Eh at h = 1e-3 (Richardson) and by 5e-6 at 5e-4, where SCF noise (≈ 4e-6) takes over
ORBITALET_STEP = 5e-4


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


def fd_orbitalet_kappa(mol, state, s, phis, phi_j, h=ORBITALET_STEP):
    """κ_ij = d⟨φ_i|F_s|φ_i⟩/dδ for every column of ``phis`` (nao, m), with the fixed density δ|φ_j⟩⟨φ_j| added
    to spin s and the orbitals relaxed at fixed occupations (theory (6.6)): central differences over SCFs of
    F[D] + v[D0 + δP_j] − v[D0] (deltascf's frozen-correction SCF, D0 the state's density) at δ = ±h and ±2h,
    Richardson-extrapolated.  δ may take either
    sign here, so the stencil is central at every occupation."""
    from deltascf.scf.build import make_mf
    from deltascf.scf.driver import run_scf_with_correction

    mf = make_mf(mol, state.method)
    s1e = mol.intor_symmetric("int1e_ovlp")

    dm0 = np.asarray(mf.make_rdm1(np.asarray(state.mo_coeff), np.asarray(state.mo_occ)))
    v0 = np.asarray(mf.get_veff(mol, dm0))

    class Shift:  # the correction interface's frozen object: (H, ΔE) at dm
        def __init__(self, delta):
            extra = np.zeros((2,) + s1e.shape)
            extra[s] = delta * np.outer(phi_j, phi_j)
            self.h = np.asarray(mf.get_veff(mol, dm0 + extra)) - v0

        def terms(self, dm, s1e):
            # v[D0 + δP] − v[D0] in place of v[D + δP] − v[D]: they differ by f′·(D − D0)·δP = O(δ²), even in δ,
            # which the central difference cancels
            return self.h, 0.0

    def g(delta):
        new = run_scf_with_correction(mol, state, state.method, Shift(delta))
        assert new.converged
        c, e = new.mo_coeff[s], new.mo_energy[s]
        proj = c.T @ s1e @ phis  # complete basis: ⟨φ|F|φ⟩ = Σ_p ε_p ⟨ψ_p|φ⟩²
        return np.einsum("p,pi->i", e, proj ** 2)

    vals = {d: g(d) for d in (-2 * h, -h, h, 2 * h)}
    c1, c2 = (vals[h] - vals[-h]) / (2 * h), (vals[2 * h] - vals[-2 * h]) / (4 * h)
    return (4 * c1 - c2) / 3  # Richardson: the O(h²) error goes too

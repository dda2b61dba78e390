"""The tracking and spin helpers on a non-NumPy array namespace, without a GPU.

``shimxp`` is a test double of CuPy's calling conventions: its arrays wrap NumPy arrays, refuse implicit
conversion (``np.asarray(x)`` raises TypeError, as for a CuPy array), refuse NumPy arrays mixed into their
arithmetic and functions, send NumPy functions called on them back through the namespace
(``__array_ufunc__`` / ``__array_function__``, results wrapped), give 0-d arrays from reductions and scalar
indexing, and reach the host only through ``shimxp.asnumpy`` (tests/devshim.py).  Each helper must return shim
arrays where it returns arrays and agree with its NumPy call to ``PARITY_ATOL``.
"""
import sys
import types

import numpy as np
import pytest
import scipy.linalg
from devshim import SHIM, ShimArray, installed, shim
from tolerances import PARITY_ATOL

from deltascf import spin, tracking


@pytest.fixture(autouse=True)
def shimxp():
    """The shim, registered for one test."""
    with installed() as xp:
        yield xp


def check(got, want, host=False):
    """``got`` (shim call) matches ``want`` (NumPy call): shim arrays for arrays (NumPy where ``host``)."""
    if isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            check(g, w, host)
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray if host else ShimArray), type(got)
        host_got = got if host else sys.modules[SHIM].asnumpy(got)
        assert host_got.shape == want.shape and host_got.dtype == want.dtype
        np.testing.assert_allclose(host_got, want, rtol=0, atol=PARITY_ATOL)
    else:
        assert type(got) is type(want), (type(got), type(want))  # float, int, bool: host scalars
        assert got == pytest.approx(want, rel=0, abs=PARITY_ATOL)


# -- inputs: seeded orthonormal orbitals (Cᵀ S C = 1), symmetric Fock matrices, occupations ------------
NAO = NMO = 7
OCC_R = {  # restricted (nmo,), in [0, 2]
    "aufbau": [2, 2, 2, 0, 0, 0, 0],
    "non_aufbau": [2, 2, 0, 2, 0, 0, 0],
    "open_shell": [2, 2, 1, 1, 0, 0, 0],
    "fractional": [2, 2, 1.5, 0, 0.5, 0, 0],
}
OCC_U = {  # unrestricted (2, nmo), in [0, 1]
    "aufbau": [[1, 1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0]],
    "non_aufbau": [[1, 1, 0, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0]],
    "fractional": [[1, 1, 0.3, 0, 0.7, 0, 0], [1, 0.5, 0, 0, 0, 0.5, 0]],
}
OCCS = [(k, np.array(v, float)) for k, v in OCC_R.items()] + [(k + "_u", np.array(v, float)) for k, v in
                                                              OCC_U.items()]
OCC_IDS = [k for k, _ in OCCS]


def sym(rng, n):
    a = rng.standard_normal((n, n))
    return (a + a.T) / 2


def make_system(seed=0):
    """s1e (SPD), two Fock matrices, their orbitals (2, nao, nmo), orthonormal in the metric s1e."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((NAO, NAO))
    s1e = a @ a.T / NAO + np.eye(NAO)
    fock = np.stack([sym(rng, NAO) for _ in range(2)])
    c = np.stack([scipy.linalg.eigh(f, s1e)[1] for f in fock])
    return s1e, fock, c


def rotated(c, s1e, seed, angle=0.3):
    """Orbitals c mixed by a random rotation (still orthonormal in s1e)."""
    k = np.random.default_rng(seed).standard_normal((c.shape[-1],) * 2) * angle
    return c @ scipy.linalg.expm(k - k.T)


def both(f, *args, **kwargs):
    """(f on shim copies of the NumPy array arguments, f on the NumPy arrays); other arguments pass as given."""
    to_shim = [shim(a) if isinstance(a, np.ndarray) else a for a in args]
    return f(*to_shim, **kwargs), f(*args, **kwargs)


def layout(occ, c, fock):
    """(mo_coeff, fock) in the layout of ``occ``."""
    return (c[0], fock[0]) if occ.ndim == 1 else (c, fock)


# -- the shim catches misuse ---------------------------------------------------------------------------
def test_shim_refuses_implicit_conversion():
    x = shim(np.eye(3))
    with pytest.raises(TypeError):
        np.asarray(x)
    with pytest.raises(TypeError):
        np.array([x[0, 0], x[1, 1]])
    with pytest.raises(TypeError):
        x + np.ones(3)  # NumPy arrays mixed into shim arithmetic, either side
    with pytest.raises(TypeError):
        np.ones(3) * x


def test_shim_dispatches_numpy_calls_and_gets_its_namespace(shimxp):
    x = shim([[2.0, 1.0], [1.0, 3.0]])
    assert spin.get_xp(x) is shimxp and spin.get_xp(None, np.ones(2), x) is shimxp
    assert spin.get_xp(np.ones(2)) is np
    assert isinstance(np.sum(x), ShimArray) and isinstance(np.exp(x), ShimArray)  # back through the shim
    assert isinstance(spin.to_host(x), np.ndarray)
    assert float(x.sum()) == 7.0 and int(shimxp.argmax(x)) == 3 and isinstance(x[0, 0], ShimArray)


# -- deltascf.tracking ---------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_make_overlap(seed):
    s1e, _, c = make_system(seed)
    check(*both(tracking.make_overlap, c[0], rotated(c[0], s1e, seed), s1e))


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_make_tracked_occ(name, occ):
    s1e, _, c = make_system(3)
    for s, occ_ref in enumerate(spin.per_spin(occ)):
        ovlp = tracking.make_overlap(c[s], rotated(c[s], s1e, 10 + s), s1e)
        got, want = both(tracking.make_tracked_occ, ovlp, occ_ref)
        check(got, want)
        assert sorted(want) == sorted(occ_ref)
        check(tracking.make_tracked_occ(shim(ovlp), occ_ref), want)  # host occupations with device overlap
        occupied = np.flatnonzero(occ_ref)  # reference = the occupied orbitals only (no empty group)
        got, want = both(tracking.make_tracked_occ, ovlp[occupied], occ_ref[occupied])
        check(got, want)
        assert sorted(want[want > 0]) == sorted(occ_ref[occupied])


@pytest.mark.parametrize("value", [2.0, 1.5, 1.0, 0.5, 0.0])
def test_make_matched_orbital(value):
    s1e, _, c = make_system(4)
    occ = np.array(OCC_R["fractional"] if value != 1.0 else OCC_R["open_shell"])
    c_new = rotated(c[0], s1e, 5)
    for p in range(NMO):
        got, want = both(tracking.make_matched_orbital, c_new, occ, c[0][:, p], s1e, value)
        check(got, want)
        assert abs(occ[want] - value) < tracking.OCC_TOL


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_make_orbital_grad(name, occ):
    _, fock, c = make_system(6)
    restricted = occ.ndim == 1
    c_l, f_l = layout(occ, c, fock)
    for c_s, n_s, f_s in zip(spin.per_spin(c_l, restricted), spin.per_spin(occ), spin.per_spin(f_l, restricted)):
        got, want = both(tracking.make_orbital_grad, c_s, n_s, f_s)
        check(got, want)
        assert want.shape == (NMO * (NMO - 1) // 2,)


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_make_canonical_orbitals(name, occ):
    s1e, fock, c = make_system(7)
    for s, n_s in enumerate(spin.per_spin(occ)):
        c_s = rotated(c[s], s1e, 20 + s)
        check(*both(tracking.make_canonical_orbitals, fock[s], c_s, n_s))


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_make_spin_square_and_similarity(name, occ):
    s1e, fock, c = make_system(8)
    c_l = layout(occ, c, fock)[0]
    dm = spin.make_spin_dms(c_l, occ)
    dm_other = spin.make_spin_dms(rotated(c_l, s1e, 9), occ)
    check(*both(tracking.make_spin_square, dm, s1e))
    for s in range(2):
        check(*both(tracking.make_dm_similarity, dm[s], dm_other[s], s1e))
        check(*both(tracking.make_dm_similarity, dm[s], dm[s], s1e))
    zero = np.zeros_like(dm[0])
    check(*both(tracking.make_dm_similarity, zero, zero, s1e))
    check(*both(tracking.make_dm_similarity, dm[0], zero, s1e))


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_make_aufbau_like(name, occ):
    check(*both(tracking.make_aufbau_like, occ))


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
@pytest.mark.parametrize("final", ["target", "rotated", "aufbau"])
def test_make_target_check(name, occ, final):
    s1e, fock, c = make_system(11)
    c_ref = layout(occ, c, fock)[0]
    final_occ = tracking.make_aufbau_like(occ) if final == "aufbau" else occ
    c_final = rotated(c_ref, s1e, 12, angle=0.1) if final == "rotated" else c_ref
    dm = spin.make_spin_dms(c_final, final_occ)
    got, want = both(tracking.make_target_check, dm, c_ref, occ, s1e)
    check(got, want, host=True)  # overlap (2,) is returned on the host
    if final == "aufbau" and not np.allclose(final_occ, occ):
        assert want[1] is True  # collapsed onto the aufbau state


# -- deltascf.spin -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_make_spin_dms_and_to_unrestricted(name, occ):
    _, fock, c = make_system(13)
    c_l = layout(occ, c, fock)[0]
    check(*both(spin.make_spin_dms, c_l, occ))
    got, want = both(spin.to_unrestricted, c_l, occ)
    check(got, want)
    check(*both(spin.nelec_of, occ))


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_per_spin_stack_map(name, occ):
    _, fock, c = make_system(14)
    restricted = occ.ndim == 1
    c_l, f_l = layout(occ, c, fock)
    check(*both(spin.per_spin, occ))
    check(*both(spin.per_spin, c_l, restricted))
    blocks = spin.per_spin(c_l, restricted)
    got = spin.stack_spins([shim(b) for b in blocks], restricted)
    check(got, spin.stack_spins(blocks, restricted))

    def f_mo(c_s, n_s, f_s):  # an occupation-weighted MO Fock matrix per spin
        return (c_s * n_s).conj().T @ f_s @ c_s

    check(*both(spin.map_spins, f_mo, c_l, occ, f_l, restricted=restricted))


# -- the collapse evidence ------------------------------------------------------------------------------
@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_collapse_helpers(name, occ):
    s1e, fock, c = make_system(15)
    c_ref = layout(occ, c, fock)[0]
    dm = spin.make_spin_dms(rotated(c_ref, s1e, 16, angle=0.2), occ)
    got, want = both(tracking.make_orbital_populations, dm, c_ref, occ, s1e)
    assert [r[:4] for r in got] == [r[:4] for r in want] and all(isinstance(r[4], float) for r in got)
    assert [r[4] for r in got] == pytest.approx([r[4] for r in want], abs=PARITY_ATOL)
    restricted = occ.ndim == 1
    mo_energy = spin.stack_spins([np.linalg.eigvalsh(f) for f in spin.per_spin(fock, restricted)], restricted)
    assert tracking.is_aufbau_spectrum(shim(mo_energy), shim(occ)) == tracking.is_aufbau_spectrum(mo_energy, occ)
    args = ([0.4, 0.9], [0.95, 0.3], occ, mo_energy, occ, -1.0, spin.nelec_of(occ),
            (("the ground state", -1.0, spin.nelec_of(occ)),), want)
    device_args = list(args)
    device_args[2:5] = [shim(occ), shim(mo_energy), shim(occ)]
    assert tracking.make_collapse_reasons(*device_args) == tracking.make_collapse_reasons(*args)


# -- arrays of a subclass from another package (gpu4pyscf's tagged CuPy arrays) ------------------------------
class TaggedShim(ShimArray):
    """Like gpu4pyscf's ``CPArrayWithTag``: a subclass of the device array type defined in a package that is not
    an array namespace (no ``asarray``), carrying attributes."""

    __module__ = "tagpkg.lib.cupy_helper"


@pytest.fixture
def tagpkg(monkeypatch):
    monkeypatch.setitem(sys.modules, "tagpkg", types.ModuleType("tagpkg"))


def tagged(a, **tags):
    t = TaggedShim(a.data)
    t.__dict__.update(tags)
    return t


def test_get_xp_sees_through_subclasses_from_other_packages(shimxp, tagpkg):
    x = tagged(shim(np.eye(2)), ecoul=1.0)
    assert spin.get_xp(x) is shimxp and spin.get_xp(np.ones(2), x) is shimxp
    assert isinstance(spin.to_host(x), np.ndarray)


# -- the SCF hooks and the record of a finished SCF, on device arrays ----------------------------------------
class ModelSCF:
    """The parts of a (gpu4pyscf) mean-field object that the deltascf hooks and make_record read, with a model
    potential V[D] = J-like − ½ K-like in the namespace of the orbitals; enough to run them without PySCF's
    loop."""

    def __init__(self, mol, s1e, h, mo_coeff, mo_occ):
        self.mol, self._s1e, self._h = mol, s1e, h
        self.mo_coeff, self.mo_occ = mo_coeff, mo_occ
        self.e_tot, self.converged, self.cycles, self.n_fock, self.veff_last = -1.5, True, 7, 7, None
        self.s1e_ref, self.tracking = s1e, "imom"

    def get_ovlp(self):
        return self._s1e

    def get_hcore(self, mol=None):
        return self._h

    def make_rdm1(self, mo_coeff, mo_occ):
        dms = spin.make_spin_dms(mo_coeff, mo_occ)
        return self._tag(dms[0] + dms[1] if mo_occ.ndim == 1 else dms, mo_occ=mo_occ)

    def get_veff(self, mol=None, dm=None):
        if dm.ndim == 2:
            v = self._tag(0.075 * dm, ecoul=0.0)
        else:
            v = self._tag(spin.get_xp(dm).stack([0.1 * (dm[0] + dm[1]) - 0.05 * dm[s] for s in range(2)]), ecoul=0.0)
        self.veff_last = (dm, v)  # as the DeltaSCF hook keeps it: make_final_fock reuses it
        return v

    def energy_elec(self, dm=None, h1e=None, vhf=None):
        """E = tr(h D) + ½ tr(V D), summed over spins."""
        dm_tot = dm if dm.ndim == 2 else dm[0] + dm[1]
        e2 = 0.5 * float((vhf * dm).sum())
        return float((h1e * dm_tot).sum()) + e2, e2

    @staticmethod
    def _tag(a, **tags):
        """Device results come tagged, as gpu4pyscf's make_rdm1 and get_veff give them."""
        return tagged(a, **tags) if isinstance(a, ShimArray) else a

    def get_fock(self, h1e=None, vhf=None, dm=None, **kwargs):
        return h1e + vhf


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_scf_hooks_on_device_arrays_copy_no_matrix_to_the_host(name, occ, shimxp):
    """get_occ and get_grad of the DeltaSCF hooks return device arrays, agree with the host, and copy nothing of
    n_ao² size to the host: only occupation-sized vectors (the assignment is solved there)."""
    import devshim

    from deltascf.scf.mixin import _DeltaSCF

    s1e, fock, c = make_system(17)
    c_ref, f_l = layout(occ, c, fock)
    c_new = rotated(c_ref, s1e, 18, angle=0.2)
    results = []
    for to in (lambda a: a, shim):
        mf = ModelSCF(None, to(s1e), None, None, None)
        mf.c_ref, mf.occ_ref = to(c_ref), occ
        devshim.COPIES.clear()
        n = _DeltaSCF.get_occ(mf, None, to(c_new))
        g = _DeltaSCF.get_grad(mf, to(c_new), n, to(f_l))
        results.append((n, g, list(devshim.COPIES)))
    (n_host, g_host, _), (n_dev, g_dev, copies) = results
    check(n_dev, n_host)
    check(g_dev, g_host)
    assert copies and max(copies) <= NMO, copies


@pytest.mark.parametrize("name,occ", OCCS, ids=OCC_IDS)
def test_make_record_on_device_arrays(name, occ, shimxp, tagpkg):
    """make_record runs in the namespace of the mean-field object and returns a host record equal to the host
    route's."""
    from pyscf import gto

    from deltascf.occupations import ResolvedOccupation
    from deltascf.records import Method
    from deltascf.scf.driver import make_record

    mol = gto.M(atom="O 0 0 0; H 0 0.76 0.59; H 0 -0.76 0.59", basis="sto-3g", verbose=0)
    assert mol.nao_nr() == NAO
    s1e, fock, c = make_system(19)
    c_ref = layout(occ, c, fock)[0]
    c_final = rotated(c_ref, s1e, 20, angle=0.05)
    records = []
    for to in (lambda a: a, shim):
        mf = ModelSCF(mol, to(s1e), to(fock[0]), to(c_final), to(occ))
        mf.get_veff(mol, mf.make_rdm1(mf.mo_coeff, mf.mo_occ))  # the loop's last build, at the final density
        resolved = ResolvedOccupation(occ, spin.nelec_of(occ), "model")
        records.append(make_record(mf, Method(), "model", resolved, to(c_ref), mol=mol,
                                   lower=(("the ground state", -2.0, spin.nelec_of(occ)),)))
    host_rec, dev_rec = records
    for field in ("mo_energy", "mo_coeff", "mo_occ", "target_occ", "target_overlap"):
        got, want = getattr(dev_rec, field), getattr(host_rec, field)
        assert isinstance(got, np.ndarray) and not got.flags.writeable
        np.testing.assert_allclose(got, want, rtol=0, atol=PARITY_ATOL)
    for field in ("e_tot", "s2", "max_grad"):
        assert getattr(dev_rec, field) == pytest.approx(getattr(host_rec, field), abs=PARITY_ATOL)
    assert (dev_rec.collapsed, dev_rec.collapse_reason, dev_rec.converged) == \
        (host_rec.collapsed, host_rec.collapse_reason, host_rec.converged)


@pytest.mark.parametrize("restricted", [True, False], ids=["restricted", "unrestricted"])
def test_scf_correction_hooks_on_device_arrays(restricted, shimxp, tagpkg, monkeypatch):
    """SCF-LOSC's hooks on device arrays: the frozen terms copied once to the device, the potential and energy
    tagged in the namespace of the density (gpu4pyscf's tag_array replaced by the shim's), equal to the host."""
    from pyscf import lib

    from deltascf.corrections.losc import LoscInputs
    from deltascf.scf.mixin import _DeltaSCF

    monkeypatch.setattr("deltascf.gpu.build.tag_array", tagged)
    rng = np.random.default_rng(22)
    s1e, fock, c = make_system(21)
    occ = np.array(OCC_R["non_aufbau"] if restricted else OCC_U["non_aufbau"], float)
    c_l = c[0] if restricted else c
    inputs = LoscInputs(c_lo=(c[0][:, :4], c[1][:, :4]), kappa=(sym(rng, 4), sym(rng, 4)),
                        co_index=(range(4),) * 2, localization_converged=(True,) * 2, sweeps=(1, 1), a_x=0.8,
                        a_hf=0.2)
    results = []
    for to, correction in ((lambda a: a, inputs), (shim, inputs.to_namespace(shimxp))):
        model = ModelSCF(None, to(s1e), to(fock[0]), None, None)
        mf = lib.set_class(_DeltaSCF(model, correction=correction), (_DeltaSCF, ModelSCF))
        dm = model.make_rdm1(to(c_l), to(occ))
        vhf = mf.get_veff(None, dm)
        results.append((vhf, vhf.e_corr, mf.energy_elec(dm, to(fock[0]), vhf)))
    (v_host, de_host, e_host), (v_dev, de_dev, e_dev) = results
    assert isinstance(v_dev, ShimArray) and v_dev.ecoul == 0.0  # the parent's tags are kept
    np.testing.assert_allclose(shimxp.asnumpy(v_dev), np.asarray(v_host), rtol=0, atol=PARITY_ATOL)
    np.testing.assert_allclose(shimxp.asnumpy(v_dev.h_corr), np.asarray(v_host.h_corr), rtol=0, atol=PARITY_ATOL)
    assert de_dev == pytest.approx(de_host, abs=PARITY_ATOL) and de_host != 0.0
    assert e_dev == pytest.approx(e_host, abs=PARITY_ATOL)

"""Water B3LYP/6-31G: ground state, the alpha HOMO->LUMO mixed determinant,
the spin-flip triplet and the spin-purified open-shell singlet (theory (1.5)).

Ends with its own checks, so it doubles as a test.
"""
from pyscf import gto
from pyscf.data.nist import HARTREE2EV

import deltascf

mol = gto.M(atom="O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587", basis="6-31g", verbose=0)
ground = deltascf.run_state(mol, "b3lyp", conv_tol=1e-10)
mixed = deltascf.run_state(mol, "b3lyp", "a:HOMO->LUMO", ground=ground, conv_tol=1e-10)
triplet = deltascf.run_state(mol, "b3lyp", "b:HOMO->a:LUMO", ground=ground, conv_tol=1e-10)
singlet = deltascf.purify_singlet(mixed, triplet)

for name, r in (("ground", ground), ("mixed", mixed), ("triplet", triplet)):
    print(f"{name:8s} {r.resolved:10s} E = {r.e_tot:.10f} Eh  dE = {(r.e_tot - ground.e_tot) * HARTREE2EV:7.4f} eV"
          f"  <S^2> = {r.s2:.3f}")
print(f"singlet  2E_mixed - E_T            dE = {(singlet - ground.e_tot) * HARTREE2EV:7.4f} eV")

# self-check: converged, on target, and the expected ordering T < mixed < S
assert all(r.converged and not r.collapsed for r in (ground, mixed, triplet))
assert abs(mixed.s2 - 1.0) < 0.05 and abs(triplet.s2 - 2.0) < 0.05
assert triplet.e_tot < mixed.e_tot < singlet
# the spin-flip triplet is the aufbau triplet (theory §1.4)
aufbau_triplet = deltascf.run_state(gto.M(atom=mol.atom, basis="6-31g", spin=2, verbose=0), "b3lyp", conv_tol=1e-10)
assert abs(aufbau_triplet.e_tot - triplet.e_tot) < 1e-8
print("checks passed")

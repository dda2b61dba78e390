"""Excited-state chemical potentials of water, B3LYP/6-31G (theory §2-§3, §5).

1. E(N + δ) along add:a:LUMO+1 of the α HOMO->LUMO ΔSCF state: convex (delocalization
   error) and Janak-consistent (dE/dδ = ε at every point).
2. The theorem table of that state: orbital energies against chemical potentials, with
   and without the LOSC correction.

Ends with its own checks, so it doubles as a test.
"""
from pyscf import gto
from pyscf.data.nist import HARTREE2EV

from deltascf.chempot import chemical_potentials
from deltascf.fractional import scan_charge
from deltascf.report import format_scan, format_theorem

mol = gto.M(atom="O 0 0 0; H 0 -0.757 0.587; H 0 0.757 0.587", basis="6-31g", verbose=0)

scan = scan_charge(mol, "b3lyp", "a:HOMO->LUMO", "add:a:LUMO+1", points=6)
print(format_scan(scan), "\n")

plain = chemical_potentials(mol, "b3lyp", "a:HOMO->LUMO", "frontier")
losc = chemical_potentials(mol, "b3lyp", "a:HOMO->LUMO", "frontier", losc="post")
print(format_theorem(plain), "\n")
print(format_theorem(losc), "\n")

# self-check
assert scan.all_converged and scan.deviation_half < 0 and scan.janak_residual < 1e-4
for a, b in zip(plain.rows, losc.rows):
    print(f"{a.channel:12s} eps - mu: B3LYP {a.error * HARTREE2EV:7.3f} eV, LOSC-B3LYP {b.error * HARTREE2EV:7.3f} eV")
    if a.kind == "remove":
        assert abs(b.error) < abs(a.error)
print("checks passed")

"""The optimized part of examples/sets/small: B3LYP/6-31G(d) minima found with PySCF and geomeTRIC.

The experimental geometries of the set (see small/SOURCES.md) cover six molecules; the others are optimized
here from rough starting structures, so that their source is this script.  Run it to regenerate them
(needs ``pip install geometric``; about two minutes on 2 cores):

    python examples/sets/optimize_geometries.py
"""
import os

from pyscf import dft, gto
from pyscf.geomopt.geometric_solver import optimize

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "small")
#: name: (title, starting structure in Angstrom); the optimizer moves the atoms, not these numbers
START = {
    "ch4": ("Methane", "C 0 0 0; H 0.63 0.63 0.63; H -0.63 -0.63 0.63; H -0.63 0.63 -0.63; H 0.63 -0.63 -0.63"),
    "hf": ("Hydrogen fluoride", "F 0 0 0; H 0 0 0.92"),
    "n2": ("Dinitrogen", "N 0 0 0; N 0 0 1.10"),
    "co": ("Carbon monoxide", "C 0 0 0; O 0 0 1.13"),
    "hcn": ("Hydrogen cyanide", "H 0 0 -1.07; C 0 0 0; N 0 0 1.16"),
    "c2h2": ("Acetylene", "H 0 0 -1.67; C 0 0 -0.60; C 0 0 0.60; H 0 0 1.67"),
    "c2h4": ("Ethylene", "C 0 0 0.67; C 0 0 -0.67; H 0 0.92 1.24; H 0 -0.92 1.24; H 0 0.92 -1.24; H 0 -0.92 -1.24"),
    "co2": ("Carbon dioxide", "O 0 0 -1.16; C 0 0 0; O 0 0 1.16"),
}

if __name__ == "__main__":
    for name, (title, atoms) in START.items():
        mol = gto.M(atom=atoms, basis="6-31g*", verbose=0)
        mf = dft.RKS(mol, xc="b3lyp")
        opt = optimize(mf, maxsteps=100)
        coords = opt.atom_coords(unit="Angstrom")
        with open(os.path.join(HERE, f"{name}.xyz"), "w", encoding="utf-8") as fh:
            fh.write(f"{opt.natm}\n{title}, RKS B3LYP/6-31G(d) minimum (PySCF + geomeTRIC, "
                     f"examples/sets/optimize_geometries.py) charge=0 spin=0\n")
            for i in range(opt.natm):
                x, y, z = coords[i].round(6) + 0.0  # no -0.000000
                fh.write(f"{opt.atom_pure_symbol(i):<2} {x:13.6f} {y:13.6f} {z:13.6f}\n")
        print(f"{name}: {opt.natm} atoms written")

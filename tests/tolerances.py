"""Named absolute tolerances (design §11).  Compare with assert_allclose(rtol=0, atol=...)."""
E_ATOL = 1e-8  # Eh, at conv_tol=1e-10
ORB_ATOL = 1e-6  # Eh
FD_ATOL = 1e-5  # Eh, finite differences (Janak)
PARITY_ATOL = 1e-10  # two implementations of one kernel
GPU_ATOL = 1e-8
EXACT_ATOL = 1e-12  # exact algebraic laws on O(1) inputs (polynomials, closed forms): only round-off remains
ROT_FD_ATOL = 1e-7  # Eh/rad, central difference of E(κ) at h=1e-4: truncation h²|E'''|/6 ≲ 1e-8, round-off ≈ 1e-12
GEOM_ATOL = 1e-9  # Angstrom, coordinates in Provenance.molecule (rounded to 1e-10 Å)

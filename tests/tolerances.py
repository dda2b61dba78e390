"""Named absolute tolerances (design §11).  Compare with assert_allclose(rtol=0, atol=...)."""
# -- SCF, finite differences, devices, geometry ------------------------------------------------------------
E_ATOL = 1e-8  # Eh, at conv_tol=1e-10; also quantities that converge like E (second order in the orbital error)
ORB_ATOL = 1e-6  # Eh; also quantities first order in the orbital error (⟨S²⟩ of open shells)
FD_ATOL = 1e-5  # Eh, finite differences (Janak)
PARITY_ATOL = 1e-10  # two implementations of one kernel, or one computation done twice (threads, a rebuilt F)
GPU_E_ATOL = 1e-7  # Eh, one state converged on the GPU and on the CPU (same grid settings and auxiliary basis)
GPU_ORB_ATOL = 1e-6  # Eh, orbital energies (and first-order quantities) of the same GPU and CPU states
GPU_DE_ATOL = 2 * GPU_E_ATOL  # Eh, a difference of two such energies (μ, a ΔSCF energy, a correction's ΔE)
GPU_INTEGRAL_ATOL = 1e-9  # Eh, one integral (orbitalet J, grid X and S) by gpu4pyscf's engine and grid blocks
EXACT_ATOL = 1e-12  # exact algebraic laws on O(1) inputs (polynomials, closed forms): only round-off remains
ROT_FD_ATOL = 1e-7  # Eh/rad, central difference of E(κ) at h=1e-4: truncation h²|E'''|/6 ≲ 1e-8, round-off ≈ 1e-12
GEOM_ATOL = 1e-9  # Angstrom, coordinates in Provenance.molecule (rounded to 1e-10 Å)
FOCK_ATOL = 1e-7  # Eh, elements of a Fock matrix rebuilt from a converged record's density (MO basis)
GRAD_ATOL = 1e-5  # Eh, orbital gradient or [F, D] commutator of a converged SCF (conv_tol_grad ≈ √conv_tol)

# -- round-off only, from bit-identical to a wide margin ----------------------------------------------------
IDENTICAL = 0.0  # bit-identical: the same code path, a copy, a permutation or a stored-and-loaded value
ROUNDOFF_ATOL = 1e-14  # a few floating-point operations (one sum or difference, a formula evaluated again)
REORDER_ATOL = 1e-13  # one long sum of O(1) terms (a grid contraction) evaluated in another order
ACCUM_ATOL = 1e-11  # exact laws after many chained operations (Jacobi sweeps, re-summed values): accumulated round-off
LOOSE_EXACT_ATOL = 1e-9  # exact laws checked with a wide margin over round-off (random property-based inputs)

# -- published numbers without a cases.json tolerance -------------------------------------------------------
QUOTED_6DP_ATOL = 5e-7  # a constant the docs quote to 6 decimals: half a unit of the last digit
KAPPA_QUOTED_ATOL = 1e-3  # Eh, theory §6.1's H-atom κ = 0.39900 Eh came from an O(h) stencil at h = 1e-3
QUOTED_4DP_ATOL = 1e-4  # Eh, a value quoted to 4 decimals (theory §5.12: D(½) = −0.0440 Eh): one unit of the last digit

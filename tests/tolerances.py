"""Named absolute tolerances (design §11).  Compare with assert_allclose(rtol=0, atol=...)."""
E_ATOL = 1e-8  # Eh, at conv_tol=1e-10
ORB_ATOL = 1e-6  # Eh
FD_ATOL = 1e-5  # Eh, finite differences (Janak)
PARITY_ATOL = 1e-10  # two implementations of one kernel
GPU_ATOL = 1e-8

"""Hand-written CuPy kernels and their float64 array twins.

* :mod:`sparsesim.kernels.philox` — Philox4x32-10 counter-based generator:
  the CUDA device code and a bit-exact vectorised NumPy/CuPy twin, with the
  Box–Muller normal stream the kernels use.
* :mod:`sparsesim.kernels.support_count` — fused kernel: Gaussian weights ->
  magnitude threshold -> support-recovery counts, weights never stored.
* :mod:`sparsesim.kernels.trainer` — the batched trainer's step kernels: a
  layer's bias + ReLU + residual in one launch, masked Adam over every tensor
  in one launch (bit-identical to their array twins), and the TF32 switch.

Nothing here imports CuPy at import time; kernels compile on first use.
"""

from .philox import philox4x32, philox4x32_10, philox_key, philox_normals, philox_signs

__all__ = ["philox4x32", "philox4x32_10", "philox_key", "philox_normals", "philox_signs"]

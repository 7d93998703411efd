"""Bit-exact, batched emulator of the IR's Loihi fixed-point dynamics (Lava's PyLifModelBitAcc,
Dense and Conv).

    kinds.py  one handler per IR layer kind (exact accumulation, then the LIF update)
    dense.py  exact integer synaptic accumulation (W @ s, weight exponent) on float BLAS
    conv.py   exact integer convolution (im2col + float BLAS within the exact-integer bound)
    events.py event-driven exact convolution fused with the LIF update, for spiking input
    intmm.py  exact integer products on ONNX Runtime's MatMulInteger, after a self-test (inputs up
              to 255, or up to 127 on CPUs whose kernel saturates int16 pairs: 8-bit inputs split)
    lif.py    the integer LIF update over all time steps (and the recurrent variant), numba kernels
    vectors.py  explicit int32 / int16 SIMD steps (LIF updates, table sums, spike writer) as llvmlite
              intrinsics, and the numba-cache check for the kernels that inline them
    buffers.py  the kernels' output arrays: pages populated up front, memory of dead arrays reused
    run.py    whole-network simulation in clip chunks -> SimResult; `Emulator.stream`: blocks of a
              stream, neuron state carried from one block to the next
"""

from toolchain.emulator.run import Emulator, run_encoded, simulate

__all__ = ["Emulator", "run_encoded", "simulate"]

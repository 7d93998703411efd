"""Bit-exact, batched emulator of the IR's Loihi fixed-point dynamics (Lava's PyLifModelBitAcc,
Dense and Conv).

    kinds.py  one handler per IR layer kind (exact accumulation, then the LIF update)
    dense.py  exact integer synaptic accumulation (W @ s, weight exponent) on float BLAS
    conv.py   exact integer convolution (im2col + float BLAS within the exact-integer bound)
    events.py event-driven exact convolution fused with the LIF update, for spiking input
    intmm.py  exact integer products on ONNX Runtime's MatMulInteger, after a self-test
    lif.py    the integer LIF update over all time steps (and the recurrent variant), numba kernels
    buffers.py  the kernels' output arrays: pages populated up front, memory of dead arrays reused
    run.py    whole-network simulation in clip chunks -> SimResult; `Emulator.stream`: blocks of a
              stream, neuron state carried from one block to the next
"""

from toolchain.emulator.run import Emulator, run_encoded, simulate

__all__ = ["Emulator", "run_encoded", "simulate"]

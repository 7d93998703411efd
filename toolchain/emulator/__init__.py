"""Bit-exact, batched emulator of the IR's Loihi fixed-point dynamics (Lava's PyLifModelBitAcc + Dense).

    dense.py  exact integer synaptic accumulation (W @ s, weight exponent) on float BLAS
    lif.py    the integer LIF update over all time steps, vectorised over clips and neurons
    run.py    whole-network simulation in clip chunks -> SimResult
"""

from toolchain.emulator.run import Emulator, run_encoded, simulate

__all__ = ["Emulator", "run_encoded", "simulate"]

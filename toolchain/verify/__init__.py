"""Verification: the same clips through the float model, the emulator and Lava (compare.py)."""

from toolchain.verify.compare import compare_float, layer_agreement, verify

__all__ = ["compare_float", "layer_agreement", "verify"]

"""Post-training quantisation of a FloatNetwork to the Loihi fixed-point IR (and its report)."""

from toolchain.quantize.ptq import QuantConfig, quantize

__all__ = ["QuantConfig", "quantize"]

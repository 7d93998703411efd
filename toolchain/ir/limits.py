"""Numeric limits of Loihi's neuron core as modelled by Lava's bit-accurate LIF and Dense.

Read from lava-nc 0.10.0 (`lava/proc/lif/models.py` AbstractPyLifModelFixed / PyLifModelBitAcc,
`lava/proc/dense/models.py`, `lava/utils/weightutils.py`). Lava's Python models do NOT enforce
most of these ranges (they silently wrap, clip or truncate), so the IR checks them itself.
"""

STATE_BITS = 24  # u and v are 24-bit signed registers
STATE_MAX = 2 ** (STATE_BITS - 1)  # u wraps when > STATE_MAX (or <= -STATE_MAX); v saturates at +-(STATE_MAX - 1)
V_LIMIT = STATE_MAX - 1
DECAY_BITS = 12  # du, dv are 12-bit unsigned: 0..4095
DECAY_UNITY = 2 ** DECAY_BITS  # 4096
DECAY_MAX = DECAY_UNITY - 1
VTH_MAX = 2 ** 17 - 1  # vth: 17-bit unsigned mantissa (0..131071)
VTH_SHIFT = 6  # effective threshold = vth << 6
ACT_SHIFT = 6  # synaptic input is added to u as a << 6
BIAS_MANT_BITS = 13
BIAS_MANT_MIN, BIAS_MANT_MAX = -(2 ** 12), 2 ** 12 - 1  # 13-bit signed
BIAS_EXP_MIN, BIAS_EXP_MAX = 0, 7  # 3-bit unsigned
WEIGHT_BITS_MIN, WEIGHT_BITS_MAX = 2, 9  # signed mantissa bits incl. sign; Lava's Dense clips to [-256, 255]
WEIGHT_EXP_MIN, WEIGHT_EXP_MAX = -8, 7  # Loihi weight exponent range
INPUT_BITS_MIN, INPUT_BITS_MAX = 1, 24  # graded-spike payload bits (Loihi 2 graded spikes carry up to 24 bits)
ACCUM_MAX = 2 ** 31 - 1  # Lava's Dense accumulates graded input in int32
# Lava's fixed-point Conv (lava/proc/conv/models.py PyConvModelFixed) convolves with torch float32
# and then wraps the sum to 24-bit signed (utils.signed_clamp): exact, unwrapped sums need
# |sum| < 2**23 (which is also inside float32's exact integers, 2**24).
CONV_ACCUM_MAX = 2 ** 23 - 1


def weight_range(weight_bits: int) -> tuple[int, int]:
    """Inclusive integer range of a signed weight mantissa of `weight_bits` bits."""
    return -(2 ** (weight_bits - 1)), 2 ** (weight_bits - 1) - 1

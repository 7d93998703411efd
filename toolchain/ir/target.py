"""The deployment target: every numeric limit of the neuron core in one object.

A `Target` is what validation (`toolchain.ir.checks`), the quantiser and the exporters consult
instead of reading constants. Its fields are the ranges of the fixed-point neuron core that Lava's
bit-accurate models implement (lava-nc 0.10.0 `PyLifModelBitAcc`, `Dense`, `Conv`: read from the
installed source, see `toolchain.ir.limits`), narrowed by the chip's published resources in its
hardware profile (`hardware_profiles/<chip>.toml`, `[resources]`), so adding a chip is a TOML file.

A back end that can express less than the core narrows it further with a named constraint set
(`Target.constrained("netx")`): lava-dl netx's `.net` format fixes bias_exp = 6, derives its own
weight exponent from the stored weights (so no right-shifted sum, effective weights in [-256, 254])
and builds only stock LIF neurons (reset to zero). "netx-compatible" is exactly that set.

Weight bits count the sign: a mixed-sign weight needs at least 2 bits (one sign, one magnitude);
a 1-bit weight exists only in single-sign mode (every weight of the layer >= 0 or <= 0).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from toolchain.ir import limits as L


@dataclass(frozen=True)
class Target:
    """Numeric limits of one deployment target (all ranges inclusive)."""

    name: str = "loihi2"
    state_bits: int = L.STATE_BITS  # u and v registers (u wraps, v saturates)
    decay_max: int = L.DECAY_MAX  # du, dv in 0..decay_max (12-bit)
    vth_max: int = L.VTH_MAX  # threshold mantissa, 17-bit unsigned
    bias_mant: tuple[int, int] = (L.BIAS_MANT_MIN, L.BIAS_MANT_MAX)  # 13-bit signed
    bias_exp: tuple[int, int] = (L.BIAS_EXP_MIN, L.BIAS_EXP_MAX)
    weight_bits: tuple[int, int] = (1, L.WEIGHT_BITS_MAX)  # incl. sign; mixed sign needs >= 2
    weight_exp: tuple[int, int] = (L.WEIGHT_EXP_MIN, L.WEIGHT_EXP_MAX)
    effective_weight: tuple[int, int] | None = None  # bound on W << weight_exp (netx: -256..254)
    input_bits: tuple[int, int] = (L.INPUT_BITS_MIN, L.INPUT_BITS_MAX)  # graded payload bits
    accum_max: int = L.ACCUM_MAX  # |sum| a Dense accumulates (int32)
    conv_accum_max: int = L.CONV_ACCUM_MAX  # |sum| Lava's Conv forms exactly (float32, then 24-bit)
    conv_weight_exp: tuple[int, int] = (0, 0)  # Lava 0.10's fixed-point Conv ignores weight_exp
    resets: tuple[str, ...] = ("zero", "subtract")  # "subtract": custom model, CPU simulator only
    kinds: tuple[str, ...] = ("input", "dense", "conv", "dense_rec", "flatten")
    constraints: tuple[str, ...] = ()  # names of the constraint sets applied

    def constrained(self, name: str) -> "Target":
        """This target narrowed by a named constraint set (see CONSTRAINT_SETS)."""
        if name in self.constraints:
            return self
        try:
            narrow = CONSTRAINT_SETS[name]
        except KeyError:
            raise ValueError(f"unknown constraint set {name!r} (known: {', '.join(CONSTRAINT_SETS)})") from None
        return replace(self, **narrow, constraints=self.constraints + (name,))

    def weight_range(self, bits: int) -> tuple[int, int]:
        """Inclusive range of a signed (mixed-sign) weight mantissa of `bits` bits."""
        return L.weight_range(bits)


# lava-dl 0.6.0 netx (lava/lib/dl/netx/hdf5.py): bias_exp fixed to 6, weights re-optimised by
# optimize_weight_bits (exact for integers in [-256, 254]), weight exponent derived (never < 0),
# CUBA/LOIHI neurons built as stock LIF / LIFReset (reset to zero).
CONSTRAINT_SETS: dict[str, dict] = {
    "netx": {"bias_exp": (6, 6), "weight_exp": (0, L.WEIGHT_EXP_MAX), "effective_weight": (-256, 254),
             "resets": ("zero",)},
}


def _resource(profile, key: str) -> int | None:
    const = profile.known(f"resources.{key}") if profile is not None else None
    return None if const is None else int(const.lo)


def target_for(profile_name: str = "loihi2") -> Target:
    """The target of a chip: the core's ranges narrowed by its hardware profile's resources."""
    try:
        from hardware_profiles import load_profile

        profile = load_profile(profile_name)
    except Exception:  # noqa: BLE001  (a missing or broken profile falls back to the core's ranges)
        profile = None
    lo, hi = _resource(profile, "weight_bits_min"), _resource(profile, "weight_bits_max")
    base = Target(name=profile_name)
    return replace(base, weight_bits=(lo if lo is not None else base.weight_bits[0],
                                      min(hi, L.WEIGHT_BITS_MAX) if hi is not None else base.weight_bits[1]))


DEFAULT = Target()
NETX = DEFAULT.constrained("netx")

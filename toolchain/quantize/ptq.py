"""Post-training quantisation: FloatNetwork + calibration features -> NetworkIR.

Per layer l, with float weights W, bias b, decay beta, threshold theta (see `toolchain.ir.graph`
for the fixed-point meaning):

- weight scale  sw = (2**(weight_bits-1) - 1) / max|W|     (W_int = round(W * sw): full range)
- input scale   xs = 2**input_bits - 1 for the graded layer 1 (x_int = round(x * xs)), 1 for spikes
- layer scale   S  = sw * xs * 2**weight_exp: one float current unit = S activation units, and a
  float membrane value m is v = 64 * S * m.
- S is the largest that keeps, on the calibration data (float model ranges),
  the current inside the 24-bit u register with headroom (S * max|I| * 64 < u_headroom * 2**23),
  and the threshold inside its 17-bit field (round(theta * S) <= 131071). The membrane's
  24-bit saturation is checked and reported (a deeply negative v saturating changes nothing about
  spikes in practice; it is reported, not prevented).
  Reducing S uses a negative weight_exp (the sum is shifted right, keeping the products exact),
  or, with netx_compatible=True (netx chooses its own weight exponent from the stored weights and
  cannot shift a sum right), fewer weight levels (any count, not only powers of two) and, for the
  graded layer 1, possibly fewer input bits: the split with the smallest current error on the
  calibration data wins. When that would leave fewer than min_weight_bits / min_input_bits, the
  layer falls back to a weight exponent and the report warns that the IR is not netx-exportable.
- vth = round(theta * S);  dv = round((1 - beta) * 4096);  du = 0 for layer 1 under "graded_once",
  else round-trip of the synaptic decay alpha (du = 4095 - round(alpha * 4096); alpha = 0 -> 4095).
- bias: b * S activation units = 64 * b * S in v units = bias_mant << bias_exp, with the smallest
  bias_exp (>= 6 when netx_compatible, because netx fixes bias_exp = 6) that fits bias_mant in 13 bits.

The DC input of the seed's models ("dc" encoding) reaches layer 1 as graded spikes:
- "graded_once" (default): x_int is sent once per classification into a current with du = 0.
  Cost: one layer of synaptic operations per classification. Lava's current decay has an offset
  of one (4096 - (du + 1)), so the held current loses 1/4096 per step (about 1.2 % over 50 steps);
  the quantisation report's float-vs-quantised agreement includes this effect.
- "graded_every_step": x_int is sent every step into a memoryless current (du = 4095), exactly the
  float model's constant input, at num_steps times the synaptic operations.
The "frames" encoding (a sequence, one spectrogram frame per step) becomes the IR's "frames": frame
t quantised as x_int[t] = round(x[t] * (2**input_bits - 1)), sent at step t into a memoryless
current (du from the synaptic decay: 4095 without one).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from toolchain.core.errors import ConfigError
from toolchain.frontends.float_net import FloatNetwork
from toolchain.frontends.reference import simulate_float
from toolchain.ir import Conv, DenseRec, Flatten, InputSpec, LayerIR, NetworkIR
from toolchain.ir import limits as L
from toolchain.ir.checks import validate


@dataclass
class QuantConfig:
    """Choices of the post-training quantiser (all ranges are Loihi's, see toolchain.ir.limits)."""

    weight_bits: int = 8
    input_bits: int = 8
    dc_input: str = "graded_once"  # or "graded_every_step" (only for the "dc" encoding)
    netx_compatible: bool = False  # True: only what netx .net files express (less input precision)
    u_headroom: float = 0.5  # the calibrated current may use this fraction of the 24-bit range
    weight_clip_percentile: float = 100.0  # < 100 clips the largest |W| (reported)
    min_input_bits: int = 4
    min_weight_bits: int = 4

    def validate(self) -> "QuantConfig":
        if not L.WEIGHT_BITS_MIN <= self.weight_bits <= L.WEIGHT_BITS_MAX:
            raise ConfigError(f"quantize option 'weight_bits': {self.weight_bits} outside "
                              f"{L.WEIGHT_BITS_MIN}..{L.WEIGHT_BITS_MAX}")
        if not L.INPUT_BITS_MIN <= self.input_bits <= L.INPUT_BITS_MAX:
            raise ConfigError(f"quantize option 'input_bits': {self.input_bits} outside "
                              f"{L.INPUT_BITS_MIN}..{L.INPUT_BITS_MAX}")
        if self.dc_input not in ("graded_once", "graded_every_step"):
            raise ConfigError(f"quantize option 'dc_input': {self.dc_input!r} is not 'graded_once' or "
                              "'graded_every_step'")
        if not 0 < self.u_headroom <= 1:
            raise ConfigError(f"quantize option 'u_headroom': {self.u_headroom} must be in (0, 1]")
        if not 50 <= self.weight_clip_percentile <= 100:
            raise ConfigError(f"quantize option 'weight_clip_percentile': {self.weight_clip_percentile} "
                              "must be in [50, 100]")
        return self


def input_encoding(net: FloatNetwork, cfg: QuantConfig) -> str:
    """The IR input encoding for the float network's encoding."""
    if net.encoding in ("rate", "latency"):
        return "spikes"
    if net.encoding == "frames":
        return "frames"  # one graded frame per step into a memoryless current
    if cfg.dc_input == "graded_once" and net.spiking[0].alpha:
        return "graded_every_step"  # a synaptic decay in layer 1 would not hold a once-sent current
    return cfg.dc_input


def _bits_for(levels: float) -> int:
    """Signed bits that hold integers in [-round(levels), round(levels)]."""
    return max(2, int(math.ceil(math.log2(round(levels) + 1))) + 1)


def _netx_scales(w: np.ndarray, x: np.ndarray, s_max: float, w_ref: float, max_bits: int,
                 cfg: "QuantConfig") -> tuple[float, int, int] | None:
    """(weight scale, input bits, weight bits) of a graded layer 1 without a weight exponent.

    The layer scale S = sw * (2**bits - 1) may not exceed s_max; every input precision from the
    configured bits down to min_input_bits is tried with the weight scale that fills the rest of
    S (any number of weight levels, not only powers of two), and the pair with the smallest mean
    squared error of the layer's current on calibration data wins (inputs of mostly small values,
    like linear-power spectrograms, favour input bits; others favour weight bits).
    """
    xc = np.clip(np.asarray(x[:64], dtype=np.float64), 0.0, 1.0)
    exact = xc @ w.T
    best = None
    for bits in range(max_bits, cfg.min_input_bits - 1, -1):
        xs = 2 ** bits - 1
        sw = min(s_max / xs, (2 ** (cfg.weight_bits - 1) - 1) / w_ref)
        if sw * w_ref < 2 ** (cfg.min_weight_bits - 1) - 1:
            continue
        approx = (np.rint(xc * xs) @ np.rint(w * sw).T) / (xs * sw)
        err = float(np.mean((approx - exact) ** 2))
        if best is None or err < best[0]:
            best = (err, sw, bits, _bits_for(sw * w_ref))
    return None if best is None else best[1:]


def _bias(b: np.ndarray | None, S: float, n: int, min_exp: int) -> tuple[np.ndarray, int, float]:
    """(bias_mant, bias_exp, clipped fraction) for float bias b at layer scale S."""
    if b is None:
        return np.zeros(n, dtype=np.int32), max(min_exp, 0), 0.0
    target = 64.0 * np.asarray(b, dtype=np.float64) * S  # v units
    peak = float(np.abs(target).max(initial=0.0))
    exp = min_exp
    while exp < L.BIAS_EXP_MAX and peak / 2 ** exp > L.BIAS_MANT_MAX + 0.5:
        exp += 1
    mant = np.rint(target / 2 ** exp)
    clipped = float(np.mean((mant < L.BIAS_MANT_MIN) | (mant > L.BIAS_MANT_MAX)))
    return np.clip(mant, L.BIAS_MANT_MIN, L.BIAS_MANT_MAX).astype(np.int32), exp, clipped


def _conv_worst(w_int: np.ndarray, max_in: int) -> int:
    return int(np.abs(w_int.astype(np.int64)).reshape(w_int.shape[0], -1).sum(axis=1).max(initial=0)) * int(max_in)


def quantize(net: FloatNetwork, calib_x: np.ndarray, cfg: QuantConfig | None = None,
             name: str = "network", seed: int = 0) -> tuple[NetworkIR, dict]:
    """Quantise `net` using calibration features `calib_x` [N, n_in] in [0, 1].

    Every layer kind shares the scale rules of the module docstring; the kinds differ in what may
    absorb a too-large scale: dense layers a negative weight exponent (or, netx-compatible, fewer
    weight levels / input bits), conv layers only fewer weight levels (Lava's Conv applies no
    weight exponent; its sums must also stay below 2**23), and a recurrent layer scales its input
    weights W and recurrent weights V together (one membrane, one scale: V's integers are V * S,
    shifted by their own exponent weight_exp_rec when the layer's would clip them).
    Returns the validated IR and a per-layer record of every choice (the quantisation report's core).
    """
    cfg = (cfg or QuantConfig()).validate()
    encoding = input_encoding(net, cfg)
    ref = simulate_float(net, calib_x, seed=seed)
    cur_max, mem_max, mem_min = ref.meta["current_absmax"], ref.meta["mem_max"], ref.meta["mem_min"]
    input_bits = cfg.input_bits if encoding != "spikes" else 1
    layers, records, warnings = [], [], []
    k = -1  # index of the population
    for fl in net.layers:
        if not fl.has_neurons:
            layers.append(Flatten(name=fl.name or "flatten", shape=tuple(fl.shape)))
            continue
        k += 1
        i = k
        graded = i == 0 and encoding != "spikes"
        conv = fl.kind == "conv"
        wb = cfg.weight_bits
        w = np.asarray(fl.weight, dtype=np.float64)
        w_rec = np.asarray(fl.weight_rec, dtype=np.float64) if fl.kind == "dense_rec" else None
        mags = np.abs(w).ravel() if w_rec is None else np.concatenate([np.abs(w).ravel(), np.abs(w_rec).ravel()])
        w_ref = float(np.percentile(mags, cfg.weight_clip_percentile)) or 1.0
        xs_bits = input_bits if graded else 0
        # Largest admissible layer scale S (activation units per float current unit).
        i_max = cur_max[i] / max(1.0 - fl.alpha, 1e-6)
        limits = {"u_range": cfg.u_headroom * L.STATE_MAX / 64.0 / max(i_max, 1e-12),
                  "vth_field": L.VTH_MAX / max(fl.threshold, 1e-12)}
        s_max = min(limits.values())
        sw = (2 ** (wb - 1) - 1) / w_ref
        xs = (2 ** xs_bits - 1) if graded else 1
        wexp = 0
        if s_max < sw * xs:
            steps = math.ceil(math.log2(sw * xs / s_max))
            min_levels = 2 ** (cfg.min_weight_bits - 1) - 1
            netx_like = cfg.netx_compatible or conv  # no weight exponent available
            choice = _netx_scales(w.reshape(w.shape[0], -1), calib_x, s_max, w_ref, xs_bits, cfg) \
                if netx_like and graded and not conv else None
            if netx_like and not graded and s_max * w_ref >= min_levels:
                sw, wb = s_max, _bits_for(s_max * w_ref)  # binary input: fewer weight levels
            elif conv and graded and s_max / xs * w_ref >= min_levels:
                sw, wb = s_max / xs, _bits_for(s_max / xs * w_ref)  # keep the input bits, fewer weight levels
            elif choice is not None:
                sw, input_bits, wb = choice
                xs_bits, xs = input_bits, 2 ** input_bits - 1
            elif conv:
                sw, wb = s_max / xs, 2
                warnings.append(f"layer {i} ('{fl.name}'): its current needs a {2 ** steps}x smaller scale than "
                                f"{cfg.min_weight_bits}-bit conv weights allow (Lava's Conv has no weight exponent): "
                                "weights reduced to 2 bits")
            else:
                if cfg.netx_compatible:
                    warnings.append(
                        f"layer {i} ('{fl.name}'): keeping its current inside Loihi's 24-bit register needs a "
                        f"{2 ** steps}x smaller scale than {wb}-bit weights and {cfg.min_input_bits}+ input bits "
                        f"allow; used weight_exp={max(-steps, L.WEIGHT_EXP_MIN)} instead, which netx's .net cannot "
                        "express (export it with --format lava)")
                wexp = max(-steps, L.WEIGHT_EXP_MIN)
        lo, hi = L.weight_range(wb)
        w_int = np.clip(np.rint(w * sw), lo, hi).astype(np.int32)
        if conv:  # Lava's Conv sums exactly only below 2**23: fewer levels until the worst case fits
            while _conv_worst(w_int, xs) > L.CONV_ACCUM_MAX and sw * w_ref > 1:
                sw *= 0.5
                w_int = np.clip(np.rint(w * sw), lo, hi).astype(np.int32)
        S = sw * xs * 2.0 ** wexp
        w_scaled = w * sw
        # V acts on binary spikes: its integers carry the whole scale S (V_int << weight_exp_rec = V * S).
        # At the layer's weight exponent when they fit; else (a graded input makes S 2**bits - 1 times
        # W's scale) the recurrent Dense gets its own exponent, the smallest that fits max|V| * S.
        v_int, rexp = None, wexp
        if w_rec is not None:
            v_ref = float(np.percentile(np.abs(w_rec), cfg.weight_clip_percentile)) or 1.0
            if v_ref * S / 2.0 ** wexp > hi + 0.5:
                rexp = int(np.clip(math.ceil(math.log2(v_ref * S / hi)), L.WEIGHT_EXP_MIN, L.WEIGHT_EXP_MAX))
                if cfg.netx_compatible and rexp < 0:
                    rexp = 0
            v_int = np.clip(np.rint(w_rec * S / 2.0 ** rexp), lo, hi).astype(np.int32)
        n_out = fl.n_out
        bias = fl.bias
        if conv and bias is not None:  # one bias per channel -> one per neuron (channels first)
            bias = np.repeat(np.asarray(bias, dtype=np.float64), n_out // int(fl.weight.shape[0]))
        bias_mant, bias_exp, bias_clipped = _bias(bias, S, n_out, 6 if cfg.netx_compatible else 0)
        dv = int(np.clip(round((1.0 - fl.beta) * L.DECAY_UNITY), 0, L.DECAY_MAX))
        if i == 0 and encoding == "graded_once":
            du = 0
        else:
            du = int(np.clip(L.DECAY_MAX - round(fl.alpha * L.DECAY_UNITY), 0, L.DECAY_MAX))
        vth = int(np.clip(round(fl.threshold * S), 0, L.VTH_MAX))
        if vth < 32:
            warnings.append(f"layer {i} ('{fl.name}'): threshold {fl.threshold:g} becomes vth={vth}, a coarse "
                            f"threshold (up to {0.5 / max(vth, 1):.0%} rounding error): its currents are large "
                            "against its threshold")
        neuron = dict(name=fl.name or f"fc{i}", bias_mant=bias_mant, weight_exp=wexp, weight_bits=wb,
                      bias_exp=bias_exp, du=du, dv=dv, vth=vth, reset=fl.reset, scale=S)
        if conv:
            layers.append(Conv(weight=w_int, input_shape=tuple(fl.in_shape), stride=tuple(fl.stride),
                               padding=tuple(fl.padding), dilation=tuple(fl.dilation), groups=int(fl.groups),
                               **neuron))
        elif w_rec is not None:
            layers.append(DenseRec(weight=w_int, weight_rec=v_int, weight_exp_rec=rexp, **neuron))
        else:
            layers.append(LayerIR(weight=w_int, **neuron))
        records.append({
            "layer": fl.name or f"fc{i}", "kind": fl.kind, "weight_scale": sw, "input_scale": xs, "weight_exp": wexp,
            "weight_bits": wb, "scale": S, "weight_clipped_fraction": float(np.mean(np.abs(w_scaled) > hi + 0.5)),
            "bias_clipped_fraction": bias_clipped, "beta": fl.beta, "beta_quantised": (L.DECAY_UNITY - dv) / L.DECAY_UNITY,
            "threshold": fl.threshold, "vth": vth, "threshold_quantised": vth / S,
            "float_current_absmax": cur_max[i], "float_mem_range": [mem_min[i], mem_max[i]],
            "expected_v_absmax": 64 * S * max(abs(mem_min[i]), abs(mem_max[i])),
            "scale_limits": limits,
        })
        if v_int is not None:
            records[-1]["weight_rec_clipped_fraction"] = float(np.mean(np.abs(w_rec * S / 2.0 ** rexp) > hi + 0.5))
            records[-1]["weight_exp_rec"] = rexp
    spec = InputSpec(n_in=net.n_in, encoding=encoding, bits=input_bits,
                     scale=float(2 ** input_bits - 1) if encoding != "spikes" else 1.0,
                     shape=(net.n_in,) if encoding == "frames" else (tuple(net.input_shape) or (net.n_in,)),
                     spike_encoder=net.encoding if encoding == "spikes" else None)
    ir = NetworkIR(name=name, num_steps=net.num_steps, input=spec, layers=layers,
                   metadata={"quantizer": {"method": "post-training", **asdict(cfg)},
                             "float_encoding": net.encoding, **net.metadata})
    return validate(ir, source="quantised network"), {"layers": records, "config": asdict(cfg), "warnings": warnings,
                                                       "input_encoding": encoding, "input_bits": input_bits}

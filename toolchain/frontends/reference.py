"""The float reference: run a FloatNetwork with snntorch's own `Leaky` neurons.

This is "the float snntorch model" that verification compares the deployment against. Layers with
alpha = 0 use `snntorch.Leaky(beta, threshold, reset_mechanism, reset_delay=True)` exactly; layers
with a synaptic current (alpha > 0, from NIR CubaLIF) use `CubaLeaky` below, because snntorch's
`Synaptic` zero reset also discards the input of the step after a spike, which Loihi does not.
Each layer runs over all time steps before the next (the network is feed-forward), and with the
"dc" encoding layer 1's current W @ x + b, identical at every step, is computed once.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from toolchain.core.result import SimResult
from toolchain.frontends.float_net import FloatLayer, FloatNetwork
from toolchain.represent.encoding import spike_trains


class CubaLeaky(nn.Module):
    """Current-based LIF in float: cur = alpha*cur + I; then Leaky's update on cur (see float_net)."""

    def __init__(self, alpha: float, beta: float, threshold: float, reset_mechanism: str):
        super().__init__()
        self.alpha, self.beta, self.threshold, self.reset_mechanism = alpha, beta, threshold, reset_mechanism

    def forward(self, input_: torch.Tensor, state):
        cur, mem, spk = state if state is not None else (torch.zeros_like(input_),) * 3
        cur = self.alpha * cur + input_
        if self.reset_mechanism == "zero":
            mem = self.beta * mem * (1 - spk) + cur
        else:
            mem = self.beta * mem + cur - spk * self.threshold
        spk = (mem > self.threshold).to(mem.dtype)
        return spk, mem, (cur, mem, spk)


def _neuron(layer: FloatLayer) -> nn.Module:
    if layer.alpha:
        return CubaLeaky(layer.alpha, layer.beta, layer.threshold, layer.reset)
    import snntorch as snn

    return snn.Leaky(beta=float(layer.beta), threshold=float(layer.threshold),
                     reset_mechanism=layer.reset, reset_delay=True)


class _Synapses(nn.Module):
    """The current of one float layer from its input x [M, *in_shape] (flattened as needed)."""

    def __init__(self, layer, dtype):
        super().__init__()
        self.layer = layer
        t = lambda a: None if a is None else torch.from_numpy(np.asarray(a, dtype=np.float64)).to(dtype)  # noqa: E731
        self.weight, self.bias = t(layer.weight), t(layer.bias)
        self.weight_rec = t(getattr(layer, "weight_rec", None))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layer = self.layer
        if layer.kind == "conv":
            nd = self.weight.dim() - 2
            conv = {1: F.conv1d, 2: F.conv2d}[nd]
            y = conv(x.reshape(x.shape[0], *layer.in_shape), self.weight, self.bias, stride=tuple(layer.stride),
                     padding=tuple(layer.padding), dilation=tuple(layer.dilation), groups=int(layer.groups))
            return y.reshape(x.shape[0], -1)
        y = x.reshape(x.shape[0], -1) @ self.weight.T
        return y if self.bias is None else y + self.bias


def to_snntorch(net: FloatNetwork, dtype=torch.float64) -> nn.ModuleList:
    """[synapses, neuron, synapses, neuron, ...] per population, holding the float weights (float64 by
    default: a sharp reference); flatten layers need no module (inputs are kept flattened)."""
    mods = []
    for layer in net.spiking:
        mods += [_Synapses(layer, dtype), _neuron(layer)]
    return nn.ModuleList(mods)


def _step(neuron: nn.Module, cur: torch.Tensor, state):
    if isinstance(neuron, CubaLeaky):
        return neuron(cur, state)
    if state is None:
        state = neuron.init_leaky() if hasattr(neuron, "init_leaky") else torch.zeros_like(cur)
    spk, mem = neuron(cur, state)
    return spk, mem, mem


@torch.no_grad()
def simulate_float(net: FloatNetwork, x: np.ndarray, seed: int = 0, chunk: int = 128,
                   dtype=torch.float64) -> SimResult:
    """Run the float network on features x [B, n_in] in [0, 1]; returns spikes per layer [B, T, n].

    meta["current_absmax"] / meta["mem_max"] / meta["mem_min"] hold, per layer, the largest |W x + b|
    and the extreme membrane values reached (before reset): the quantiser's calibration ranges.
    """
    from toolchain.core.budget import check_simulation

    check_simulation("the float model", net.num_steps, int(np.shape(x)[0]), net.sizes, chunk,
                     keys="num_steps, the number of clips")
    t0 = time.perf_counter()
    mods = to_snntorch(net, dtype)
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    T, L = net.num_steps, len(net.spiking)
    spikes_out = [[] for _ in range(L)]
    cur_absmax, mem_max, mem_min = np.zeros(L), np.full(L, -np.inf), np.full(L, np.inf)
    x = np.clip(np.asarray(x, dtype=np_dtype).reshape(len(x), -1), 0.0, 1.0)
    for start in range(0, x.shape[0], chunk):
        xb = x[start:start + chunk]
        B = xb.shape[0]
        if net.encoding == "dc":
            src = None
        elif net.encoding == "frames":  # row t of each clip's [T, n_in] sequence at step t
            src = torch.from_numpy(np.ascontiguousarray(xb.reshape(B, T, net.n_in).transpose(1, 0, 2)))
        else:
            src = torch.from_numpy(spike_trains(xb, net.encoding, T, seed, net.n_in, first_index=start).astype(np_dtype))
            src = src.transpose(0, 1)  # [T, B, n]
        for i in range(L):
            syn, neuron = mods[2 * i], mods[2 * i + 1]
            if i == 0 and src is None:
                cur_once = syn(torch.from_numpy(xb))
                currents = cur_once.expand(T, *cur_once.shape)
            else:
                currents = syn(src.reshape(T * B, -1)).reshape(T, B, -1)  # one product over all steps
            rec = syn.weight_rec
            state, spk_t, mem_t, peak = None, [], [], float(currents.abs().max())
            spk = torch.zeros_like(currents[0])
            for t in range(T):
                cur = currents[t] if rec is None else currents[t] + spk.to(rec.dtype) @ rec.T  # RLeaky: V s[t-1]
                if rec is not None:
                    peak = max(peak, float(cur.abs().max()))
                spk, mem, state = _step(neuron, cur, state)
                spk_t.append(spk)
                mem_t.append(mem)
            spk = torch.stack(spk_t).to(dtype)
            mem = torch.stack(mem_t)
            cur_absmax[i] = max(cur_absmax[i], peak)
            mem_max[i] = max(mem_max[i], float(mem.max()))
            mem_min[i] = min(mem_min[i], float(mem.min()))
            spikes_out[i].append(spk.transpose(0, 1).numpy() > 0)
            src = spk
    meta = {"encoding": net.encoding, "num_steps": T, "seconds": time.perf_counter() - t0,
            "current_absmax": cur_absmax.tolist(), "mem_max": mem_max.tolist(), "mem_min": mem_min.tolist()}
    return SimResult(backend="float", input=x, layer_spikes=[np.concatenate(s) for s in spikes_out], meta=meta)

"""`neurodeploy bench simulate`: clips/s of the bit-exact emulator vs Lava on the seed-size 2D network.

Network: 14175 (105 x 135 spectrogram) -> 4096 -> 512 -> 64 -> 2, num_steps 50, beta 0.9, graded
input sent once, random float weights (seeded) scaled so the hidden layers fire at rates like a
trained network's (about 5-20 %), quantised by the real quantiser on random spectrogram-like inputs.
Lava is measured as the marginal cost of a classification (run of 1 clip vs run of 1 + k clips, so
process start-up and compilation are not charged to it) and all-in; the emulator with its weights
prepared once (preparation timed separately). The emulator's spikes on the Lava clips are checked
equal to Lava's in the same run.
"""

from __future__ import annotations

import time

import numpy as np

from toolchain.bench.machine import machine_info

SIZES = (14175, 4096, 512, 64, 2)


def seed_size_network(num_steps: int = 50, seed: int = 0, sizes=SIZES):
    """The benchmark's float network and typical inputs (see module docstring)."""
    from toolchain.frontends.float_net import FloatLayer, FloatNetwork

    rng = np.random.default_rng(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        g = 1.0 / np.sqrt(n_in)
        w = rng.normal(0.02 * g if i else 0.0, g, (n_out, n_in)).astype(np.float32)
        layers.append(FloatLayer(w, None, 0.9, 0.05 if i == 0 else 1.0, "zero", f"fc{i}"))
    net = FloatNetwork(layers, num_steps, "dc", (105, 135) if sizes[0] == 14175 else (sizes[0],))
    x = (rng.random((512, sizes[0])) * rng.random((512, sizes[0]))).astype(np.float32)
    return net, x


def bench_simulate(emulator_clips: int = 256, lava_extra_clips: int = 2, num_steps: int = 50,
                   sizes=SIZES, progress=print) -> dict:
    """Measure and return the emulator/Lava throughput and their ratio."""
    from export.lava_graph import run_lava
    from toolchain.emulator import Emulator
    from toolchain.quantize import quantize
    from toolchain.represent.encoding import encode_for_ir

    net, x = seed_size_network(num_steps, sizes=sizes)
    ir, _ = quantize(net, x[:32], name="bench")
    inp = encode_for_ir(ir, x)
    t0 = time.perf_counter()
    emu = Emulator(ir)
    prep = time.perf_counter() - t0
    emu.run(inp[:8])  # warm-up: numba kernel load
    n = min(emulator_clips, len(inp))
    t0 = time.perf_counter()
    res = emu.run(inp[:n])
    t_emu = time.perf_counter() - t0
    rates = [float(s.mean()) for s in res.layer_spikes]
    progress(f"emulator: {n} clips in {t_emu:.2f} s ({n / t_emu:.1f} clips/s); firing rates {rates}")

    from toolchain.cli.doctor import lava_smoke_test

    lava_smoke_test()  # warm-up: Lava's imports and process machinery, not charged to the network
    t0 = time.perf_counter()
    lava_1 = run_lava(ir, inp[:1])
    t_one = time.perf_counter() - t0
    progress(f"lava: 1 clip in {t_one:.1f} s")
    k = lava_extra_clips
    t0 = time.perf_counter()
    lava_k = run_lava(ir, inp[:1 + k])
    t_more = time.perf_counter() - t0
    marginal = max((t_more - t_one) / k, 1e-9)
    progress(f"lava: {1 + k} clips in {t_more:.1f} s -> {marginal:.2f} s per additional clip")
    agree = all(np.array_equal(a, b[:1 + k]) for a, b in zip(lava_k.layer_spikes, res.layer_spikes)) and \
        all(np.array_equal(a, b[:1]) for a, b in zip(lava_1.layer_spikes, res.layer_spikes))
    emu_rate = n / t_emu
    return {
        "benchmark": "simulate",
        "network": list(sizes), "num_steps": num_steps, "input_encoding": ir.input.encoding,
        "firing_rates": rates,
        "emulator_clips": n, "emulator_seconds": t_emu, "emulator_prepare_seconds": prep,
        "emulator_clips_per_s": emu_rate,
        "lava_seconds_1_clip": t_one, f"lava_seconds_{1 + k}_clips": t_more,
        "lava_seconds_per_clip_marginal": marginal,
        "lava_clips_per_s_marginal": 1.0 / marginal, "lava_clips_per_s_all_in": 1.0 / t_one,
        "ratio": emu_rate * marginal, "ratio_all_in": emu_rate * t_one,
        "target_ratio": 1000.0, "spikes_equal": bool(agree),
        "naive": "Lava CPU simulator (Loihi2SimCfg fixed_pt), one process per layer and per Dense",
        "machine": machine_info(),
    }

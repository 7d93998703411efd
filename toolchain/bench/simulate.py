"""`neurodeploy bench simulate`: clips/s of the bit-exact emulator vs Lava on the seed-size 2D network,
or (`--network pilotnet`) on lava-dl's trained PilotNet LIF (input layer, 5 conv, flatten, 4 dense).

Network: 14175 (105 x 135 spectrogram) -> 4096 -> 512 -> 64 -> 2, num_steps 50, beta 0.9, graded
input sent once, random float weights (seeded) scaled so the hidden layers fire at rates like a
trained network's (about 5-20 %), quantised by the real quantiser on random spectrogram-like inputs.
Lava is measured as the marginal cost of a classification (run of 1 clip vs run of 1 + k clips, so
process start-up and compilation are not charged to it) and all-in; the emulator with its weights
prepared once (preparation timed separately) and warmed up by one run of the same size (kernel load,
its reusable scratch buffers, and memory: on this project's VMs the first touch of memory the guest
has never used cost about 2 ns/byte, against 0.2 ns/byte later, a cost of the VM, not of the run);
the result arrays of the timed run are allocated inside it. The
emulator's spikes on the Lava clips are checked equal to Lava's in the same run. `exact_products`
in the result says which exact product the emulator used (int8 ONNX Runtime kernels after their
self-test, or float BLAS).
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


def pilotnet_network(frames: int, seed: int = 0):
    """lava-dl's trained PilotNet LIF (../shared/data/lava-dl) imported as an IR, and `frames`
    input frames: lava-dl's test frame and copies of it with seeded +-2 perturbations (biases)."""
    from export.lava_runtime import from_lava_layout
    from export.netx import read_netx
    from toolchain.core.shared import shared_data

    data = shared_data("lava-dl")
    net_path = data / "pilotnet_lif.net"
    ir = read_netx(net_path, num_steps=16)
    image = from_lava_layout(np.load(data / "pilotnet_lif_image.npy")[None], (3, 66, 200))[0].astype(np.int64)
    rng = np.random.default_rng(seed)
    x = np.stack([image] + [np.clip(image + rng.integers(-2, 3, image.shape), 0, 4095) for _ in range(frames - 1)])
    return ir, x.astype(np.int32)


def bench_network(ir, inp: np.ndarray, emulator_clips: int, lava_extra_clips: int, progress=print,
                  repeats: int = 5) -> dict:
    """Emulator vs Lava on encoded input `inp`: clips/s each (the emulator's as the median of
    `repeats` timed runs, each after the last run's results are gone: on a shared VM one run
    varies up to 2x; Lava as the marginal cost of a clip: a run of 1 + k clips minus a run of 1,
    so start-up is not charged to it; and all-in), their ratio, and whether the spikes of every
    clip Lava ran equal the emulator's."""
    from export.lava_graph import run_lava
    from toolchain.emulator import Emulator
    from toolchain.emulator.intmm import kernels_status

    t0 = time.perf_counter()
    emu = Emulator(ir)
    prep = time.perf_counter() - t0
    n = min(emulator_clips, len(inp))
    emu.run(inp[:n])  # warm-up of the same size: kernel load, scratch buffers, memory the VM has backed once
    times = []
    for _ in range(max(1, repeats)):
        res = None  # the last run's arrays go back to the buffer pool first, as between a user's runs
        t0 = time.perf_counter()
        res = emu.run(inp[:n])
        times.append(time.perf_counter() - t0)
    t_emu = float(np.median(times))
    rates = [float(s.mean()) for s in res.layer_spikes]
    progress(f"emulator: {n} clips in {t_emu:.2f} s ({n / t_emu:.1f} clips/s, median of {len(times)} runs: "
             f"{', '.join(f'{t:.2f}' for t in times)} s); firing rates {[round(r, 4) for r in rates]}")

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
        "num_steps": ir.num_steps, "input_encoding": ir.input.encoding, "kinds": ir.kinds, "firing_rates": rates,
        "emulator_clips": n, "emulator_seconds": t_emu, "emulator_seconds_runs": times,
        "emulator_prepare_seconds": prep,
        "emulator_clips_per_s": emu_rate, "exact_products": kernels_status(),
        "lava_seconds_1_clip": t_one, f"lava_seconds_{1 + k}_clips": t_more,
        "lava_seconds_per_clip_marginal": marginal,
        "lava_clips_per_s_marginal": 1.0 / marginal, "lava_clips_per_s_all_in": 1.0 / t_one,
        "ratio": emu_rate * marginal, "ratio_all_in": emu_rate * t_one, "spikes_equal": bool(agree),
        "naive": "Lava CPU simulator (Loihi2SimCfg fixed_pt), one process per layer and per synapse",
        "machine": machine_info(),
    }


def bench_simulate(emulator_clips: int = 256, lava_extra_clips: int = 2, num_steps: int = 50,
                   sizes=SIZES, progress=print, network: str = "seed", repeats: int = 5) -> dict:
    """Measure and return the emulator/Lava throughput and their ratio on the seed-size 2D MLP
    (network="seed") or on lava-dl's PilotNet LIF (network="pilotnet", 16 steps, conv layers)."""
    from toolchain.quantize import quantize
    from toolchain.represent.encoding import encode_for_ir

    if network == "pilotnet":
        ir, inp = pilotnet_network(max(emulator_clips, 1 + lava_extra_clips))
        out = bench_network(ir, inp, emulator_clips, lava_extra_clips, progress, repeats)
        return {"benchmark": "simulate", "network": "pilotnet_lif (lava-dl)", **out, "target_ratio": 1000.0}
    net, x = seed_size_network(num_steps, sizes=sizes)
    ir, _ = quantize(net, x[:32], name="bench")
    out = bench_network(ir, encode_for_ir(ir, x), emulator_clips, lava_extra_clips, progress, repeats)
    return {"benchmark": "simulate", "network": list(sizes), **out, "target_ratio": 3000.0}

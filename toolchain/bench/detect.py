"""`neurodeploy bench detect`: hours of audio per second through `detect`, on the emulator vs on Lava.

Network: the demo-size 2D SNN (14175 (105 x 135 linear spectrogram) -> 1024 -> 64 -> 2, num_steps
10, beta 0.9, graded input sent once; `toolchain.bench.simulate.seed_size_network` with these sizes),
quantised by the real quantiser on spectrogram windows of the benchmark recording, so its activity
is that of real input. Recording: `minutes` of the synthetic long recording (toolchain.data.recording),
read from disk as `detect` reads it, windows of 2 s every 1 s.

Emulator: the whole detector (read + spectrogram + encode + emulator) over the recording, timed, with
its stages timed separately. Lava: as `bench simulate`, the marginal cost of one window (a run of 1
window vs one of 1 + k, so process start-up and compilation are not charged), and all-in (the
1-window run). Like for like, Lava's detect throughput charges it the emulator run's measured host
time per window for reading and features (Lava needs the same features), and the network-only
ratio compares the emulator's network stage with Lava alone. The emulator's spikes on the Lava
windows are checked equal to Lava's in the same run.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from toolchain.bench.machine import machine_info

SIZES = (14175, 1024, 64, 2)


def bench_detect(minutes: float = 20.0, lava_extra: int = 2, num_steps: int = 10, progress=print) -> dict:
    """Measure and return emulator / Lava hours of audio per second through detect, and their ratio."""
    import soundfile as sf

    from export.lava_graph import run_lava
    from toolchain.bench.simulate import seed_size_network
    from toolchain.cli.doctor import lava_smoke_test
    from toolchain.data.audio import N_SAMPLES
    from toolchain.data.recording import synth_recording
    from toolchain.detect.detectors import WindowedDetector
    from toolchain.detect.source import open_recording
    from toolchain.quantize import quantize
    from toolchain.represent import SpectrogramConfig, features_from_audio, to_dict

    rep = SpectrogramConfig(scale="linear")
    with tempfile.TemporaryDirectory(prefix="bench-detect-") as tmp:
        path = Path(tmp) / "bench.wav"
        synth_recording(path, minutes / 60, seed=0, progress=False)
        net, _ = seed_size_network(num_steps, sizes=SIZES)
        net.metadata["representation"] = to_dict(rep)
        rec, _ = open_recording(path, rep.sample_rate)
        audio = sf.read(str(path), frames=70 * N_SAMPLES, dtype="int16")[0] / 32768.0
        calib = np.lib.stride_tricks.sliding_window_view(audio, N_SAMPLES)[::N_SAMPLES // 2][:64]
        calib = features_from_audio(calib.astype(np.float32), rep).reshape(calib.shape[0], -1)
        ir, _ = quantize(net, calib.astype(np.float64), name="bench-detect")
        det = WindowedDetector(ir)
        det.run(rec, check_units=1)  # warm-up: numba kernels, BLAS threads
        t0 = time.perf_counter()
        run = det.run(rec, check_units=1 + lava_extra)
        t_emu = time.perf_counter() - t0
    hours, n = run.duration_s / 3600, int(run.scores.size)
    emu = hours / t_emu
    progress(f"emulator: {hours:.3f} h of audio ({n} windows) in {t_emu:.1f} s = {emu:.4g} h/s "
             f"(read {run.seconds['read']:.1f} s, features {run.seconds['features']:.1f} s, network {run.seconds['network']:.1f} s)")
    lava_smoke_test()  # warm-up: Lava's imports and process machinery
    inp, spikes = run.check["input"], run.check["spikes"]
    t0 = time.perf_counter()
    one = run_lava(ir, inp[:1])
    t_one = time.perf_counter() - t0
    t0 = time.perf_counter()
    more = run_lava(ir, inp[:1 + lava_extra])
    t_more = time.perf_counter() - t0
    marginal = max((t_more - t_one) / lava_extra, 1e-9)
    progress(f"lava: 1 window in {t_one:.1f} s, {1 + lava_extra} in {t_more:.1f} s -> {marginal:.2f} s per extra window")
    equal = all(np.array_equal(a, b[:1]) for a, b in zip(one.layer_spikes, spikes)) and \
        all(np.array_equal(a, b[:1 + lava_extra]) for a, b in zip(more.layer_spikes, spikes))
    hop_h = det.spec.hop_s / 3600
    host = (run.seconds["read"] + run.seconds["features"]) / n  # s per window outside the network
    lava_marginal, lava_all_in = hop_h / (marginal + host), hop_h / (t_one + host)
    emu_net = hours / run.seconds["network"]
    return {
        "benchmark": "detect", "network": list(SIZES), "num_steps": num_steps, "input_encoding": ir.input.encoding,
        "window_s": det.spec.window_s, "hop_s": det.spec.hop_s, "windows": n,
        "firing_rates_note": "quantised on the recording's own windows",
        "emulator_hours": hours, "emulator_seconds": t_emu, "emulator_hours_per_s": emu,
        "emulator_breakdown": dict(run.seconds), "emulator_network_hours_per_s": emu_net,
        "lava_seconds_1_window": t_one, f"lava_seconds_{1 + lava_extra}_windows": t_more,
        "lava_seconds_per_window_marginal": marginal, "host_seconds_per_window": host,
        "lava_hours_per_s_marginal": lava_marginal, "lava_hours_per_s_all_in": lava_all_in,
        "lava_network_hours_per_s": hop_h / marginal,
        "ratio": emu / lava_marginal, "ratio_all_in": emu / lava_all_in,
        "ratio_network_only": emu_net / (hop_h / marginal), "spikes_equal": bool(equal),
        "naive": "Lava CPU simulator (Loihi2SimCfg fixed_pt) for the network, the same host reading and features",
        "machine": machine_info(),
    }


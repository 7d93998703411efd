"""`neurodeploy bench data`: decode + spectrogram of a whole data set, cold and warm, vs naive.

Measured in one run on the same clips:
- cold: neurodeploy's cache emptied (a fresh cache folder), then `load_clips` (parallel decode +
  cache write) and `make_features(..., "spectrogram")` (vectorised STFT + cache write);
- warm: the same two calls again, both answered from the cache (checked via their cache-hit
  flags);
- naive: a per-clip Python loop, soundfile.read of each clip (by path; from zip bytes for a zip)
  + scipy.signal.spectrogram per clip
  (+ the same log / top_db / per-clip min-max), timed on `naive_clips` clips spread over the data
  set and extrapolated linearly to all clips (stated in the result). Its output is compared with
  ours on those clips (max_abs_diff), so the comparison is between equal results.

"cold" means neurodeploy's cache is empty; the operating system's file cache is not dropped (that
needs root), so freshly synthesised AIFFs are read from memory. Times are wall-clock seconds;
cpu_s (this process + its worker processes) and the load averages before/after are recorded too,
since on a shared machine other work changes wall time. Targets on a 2-core machine for 30,000
clips: cold <= 60 s, warm <= 5 s.
"""

from __future__ import annotations

import io
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

COLD_TARGET_S = 60.0
WARM_TARGET_S = 5.0


def default_data_dir(n_clips: int, seed: int) -> Path:
    """Where the benchmark's synthetic data set lives (reused between runs)."""
    base = os.environ.get("NEURODEPLOY_CACHE") or Path.home() / ".cache" / "neurodeploy"
    return Path(base) / "bench" / f"synth-{n_clips}-seed{seed}"


def _cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process and its finished children."""
    import resource

    return sum(getattr(resource.getrusage(who), f) for who in
               (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))


def _naive(files: list[str], spec, cfg) -> tuple[np.ndarray, float, float]:
    """Per-clip loop over `files`: (spectrograms [m, rows, frames], decode s, spectrogram s)."""
    import soundfile as sf
    from scipy.signal import spectrogram as scipy_spectrogram

    from toolchain.data.layouts import Reader

    k0, k1 = cfg.bins
    out, t_decode, t_spec = [], 0.0, 0.0
    with Reader(spec) as reader:
        for file in files:
            t0 = time.perf_counter()
            src = os.path.join(spec.path, file) if spec.kind == "dir" else io.BytesIO(reader.read(file))
            x, fs = sf.read(src, dtype="float32")
            t1 = time.perf_counter()
            _, _, p = scipy_spectrogram(x, fs, window=cfg.window, nperseg=cfg.nfft,
                                        noverlap=cfg.nfft - cfg.hop, detrend=False, scaling="density")
            db = 10 * np.log10(np.maximum(p[k0:k1 + 1], 1e-20))
            db = np.maximum(db, db.max() - cfg.top_db)
            out.append((db - db.min()) / (db.max() - db.min()))
            t_spec += time.perf_counter() - t1
            t_decode += t1 - t0
    return np.stack(out).astype(np.float32), t_decode, t_spec


def bench_data(n_clips: int = 30000, *, data: str | None = None, seed: int = 0,
               naive_clips: int = 500, workers: int | None = None, progress: bool = True) -> dict:
    """Run the benchmark (see the module docstring); returns a JSON-able dict of seconds and ratios.

    `data`: an existing data set to measure (default: a synthetic set of n_clips clips, made once
    under `default_data_dir` and reused).
    """
    from toolchain.data import cache, load_clips, synthesize
    from toolchain.data.layouts import open_layout
    from toolchain.data.parallel import default_workers
    from toolchain.represent import SpectrogramConfig, make_features

    result: dict = {"machine": platform.machine(), "cpu_count": os.cpu_count(),
                    "workers": workers or default_workers(),
                    "load_average_before": [round(v, 2) for v in os.getloadavg()]}
    if data is None:
        path = default_data_dir(n_clips, seed)
        t0 = time.perf_counter()
        synthesize(path, n_clips, seed, progress=progress, workers=workers)
        result["synth_s"] = round(time.perf_counter() - t0, 2)
    else:
        path = Path(data)
    cfg = SpectrogramConfig()
    root = Path(tempfile.mkdtemp(prefix=".bench-cache-", dir=path.parent))
    try:
        with cache.using_root(root):
            timings = {}
            for phase in ("cold", "warm"):
                t0, c0 = time.perf_counter(), _cpu_s()
                clips = load_clips(path, progress=progress, workers=workers)
                t1 = time.perf_counter()
                info: dict = {}
                feats = make_features(clips, "spectrogram", None, info=info, progress=progress)
                t2 = time.perf_counter()
                timings[phase] = {"decode_s": round(t1 - t0, 3), "spectrogram_s": round(t2 - t1, 3),
                                  "total_s": round(t2 - t0, 3), "cpu_s": round(_cpu_s() - c0, 3),
                                  "cache_hit": bool(clips.cache_hit and info["cache_hit"])}
                if phase == "cold":
                    del feats  # keep one copy in memory at a time
    finally:
        shutil.rmtree(root, ignore_errors=True)
    n = len(clips)
    with open_layout(path) as layout:
        spec = layout.reader
        by_name = {e.name: e.file for e in layout.entries}
    pick = np.unique(np.linspace(0, n - 1, min(naive_clips, n)).round().astype(int))
    c0 = _cpu_s()
    naive, t_dec, t_spec = _naive([by_name[clips.names[i]] for i in pick], spec, cfg)
    naive_cpu = _cpu_s() - c0
    scale = n / pick.size
    result.update({
        "data": str(path), "clips": n, "skipped": len(clips.skipped),
        "feature_shape": list(feats.shape[1:]),
        "cold": timings["cold"], "warm": timings["warm"],
        "naive": {"clips_measured": int(pick.size), "extrapolated_to": n,
                  "decode_s": round(t_dec * scale, 2), "spectrogram_s": round(t_spec * scale, 2),
                  "total_s": round((t_dec + t_spec) * scale, 2),
                  "cpu_s": round(naive_cpu * scale, 2),
                  "per_clip_ms": round((t_dec + t_spec) / pick.size * 1e3, 3),
                  "max_abs_diff": float(np.abs(naive - feats[pick]).max())},
    })
    naive_total = result["naive"]["total_s"]
    result["ratios"] = {
        "naive_over_cold": round(naive_total / timings["cold"]["total_s"], 2),
        "naive_over_warm": round(naive_total / timings["warm"]["total_s"], 2),
        "cold_over_warm": round(timings["cold"]["total_s"] / timings["warm"]["total_s"], 2),
        "naive_over_cold_cpu": round(naive_cpu * scale / timings["cold"]["cpu_s"], 2)}
    result["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    result["targets"] = {"cold_s": COLD_TARGET_S, "warm_s": WARM_TARGET_S,
                         "cold_ok": timings["cold"]["total_s"] <= COLD_TARGET_S * n / 30000,
                         "warm_ok": timings["warm"]["total_s"] <= WARM_TARGET_S * n / 30000}
    result["note"] = ("cold = neurodeploy cache empty (OS file cache not dropped); naive timed on "
                      f"{pick.size} clips and extrapolated x{scale:.1f}; targets scaled to {n} clips")
    return result

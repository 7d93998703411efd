"""Input representations of 2 s whale clips for the SNNs: 1-D waveform and 2-D spectrogram.

Both map to float32 values in [0, 1] (an SNN input current must not be negative).

waveform: the raw clip, min-max normalised per clip ((x - min) / (max - min); a constant clip
    gives zeros), as in the seed study; `normalise="fixed"` instead maps the PCM range [-1, 1)
    linearly to [0, 1) ((x + 1) / 2), keeping absolute level.

spectrogram: short-time power spectral density, vectorised over the whole data set (numpy
    stride tricks + scipy.fft.rfft on blocks of BLOCK clips, small enough to stay in the CPU
    cache, run by a few threads; memory beyond the output stays bounded):
    - frames of `nfft` samples every `hop` samples, no padding: 1 + (4000 - 512) // 26 = 135
      frames for a 4000-sample clip (overlap 486, as in the seed study); frame t covers samples
      [t * hop, t * hop + nfft) and its centre time is (t * hop + nfft / 2) / sample_rate s;
    - window `window` (scipy.signal.get_window, periodic; default Hamming);
    - one-sided PSD exactly as scipy.signal.spectrogram(scaling="density", detrend=False):
      |rfft|^2 / (fs * sum(w^2)), doubled except at DC and Nyquist (units 1/Hz re full scale);
    - bins k = round(fmin_hz * nfft / fs) .. round(fmax_hz * nfft / fs) kept, bin k being
      k * fs / nfft Hz: with fs 2000 Hz, NFFT 512, fmax 406 Hz that is bins 0..104 (0-406.25 Hz),
      so the output is [N, 105, 135] (frequency rows ascending, time columns);
    - scale: "linear" (PSD), "log" (10 log10 PSD, dB, clamped at top_db below the maximum) or
      "mel" (n_mels triangular HTK-mel bands between fmin_hz and fmax_hz, then dB like "log"):
      mel output is [N, n_mels, 135];
    - normalise: "per_clip" (default): min-max of each clip's values -> [0, 1]; nothing is fitted,
      so deployment applies exactly the same transform to a new clip. "dataset": min-max with
      constants fitted over the whole data set (norm_min / norm_max, recorded in the
      representation dict so deployment re-applies them; new values are clipped to [0, 1]).
      "fixed": nothing depends on the clip at all, so each frame's values depend only on its own
      nfft samples (what a stream needs: a frame of a long recording equals that frame of any clip
      cut from it at a multiple of hop): no top_db clamp (dB values floored at MIN_POWER only),
      then (value - norm_min) / (norm_max - norm_min) clipped to [0, 1], the constants fitted on
      the data set as the FIXED_PERCENTILES (50th, 99.9th) of its values (so the median level,
      mostly background noise, maps to 0 and the input is sparse) unless given.

spectrogram_frames: the same spectrogram (same parameters, same values), time-major: [N, frames,
    rows] = [N, 135, 105], frame t being row t. It is the streaming representation: an SNN with
    the "frames" encoding (models.encoding) receives frame t (105 bins) at step t, so the number
    of steps is the number of frames and a recurrent network keeps its state across frames.

Default: log scale, per-clip normalisation. Per-clip min-max of *linear* power lets one click or
tonal set the maximum and pushes a call towards 0; the log scale keeps calls 10-30 dB below such
peaks visible. Measured on 3000 synthetic clips at the generator defaults (logistic regression,
80/20 split, validation AUC): log per-clip 0.944, log dataset 0.946, linear per-clip 0.925,
linear dataset 0.897. Per-clip is as good as dataset for log and needs nothing fitted.

`make_features(clips, kind, params)` computes a representation for a ClipSet and caches it on
disk beside the decoded clips (key: the clips' cache key + the representation dict).
`representation_from_dict` / `to_dict` record a representation in a model config and re-create it
exactly; `features_from_audio(audio, rep)` applies it to new clips.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from typing import Callable, Union

import numpy as np

from toolchain.core.errors import ConfigError

FEATURE_VERSION = 1  # bump when a representation's output changes, to invalidate caches
BLOCK = 16  # clips per FFT batch: its working set (16 x 135 x 512 float32, 4.4 MB) stays in cache
TASK = 256  # clips per thread task
MIN_POWER = 1e-20  # PSD floor before the log (-200 dB)
FIXED_PERCENTILES = (50.0, 99.9)  # percentiles of the data set's values that "fixed" maps to 0 and 1
FIXED_SAMPLE = 97  # "fixed" fits its percentiles on every 97th value (a prime: no alignment with rows)


__all__ = ["FEATURE_VERSION", "BLOCK", "TASK", "MIN_POWER", "WaveformConfig", "SpectrogramConfig",
           "SpectrogramFramesConfig", "Representation", "FIXED_PERCENTILES", "to_dict", "representation_from_dict", "waveform", "mel_filterbank", "spectrogram", "fit_normalisation", "features_from_audio", "make_features", "stream_frames"]

@dataclass(frozen=True)
class WaveformConfig:
    """1-D representation: the clip itself, normalised to [0, 1] ("per_clip" or "fixed")."""

    normalise: str = "per_clip"

    def __post_init__(self) -> None:
        if self.normalise not in ("per_clip", "fixed"):
            raise ConfigError(f"waveform normalise must be 'per_clip' or 'fixed', not {self.normalise!r}")


@dataclass(frozen=True)
class SpectrogramConfig:
    """2-D representation parameters (see the module docstring for their exact meaning)."""

    nfft: int = 512
    hop: int = 26
    window: str = "hamming"
    fmin_hz: float = 0.0
    fmax_hz: float = 406.0
    scale: str = "log"
    n_mels: int = 64
    top_db: float = 80.0
    normalise: str = "per_clip"
    norm_min: float | None = None
    norm_max: float | None = None
    sample_rate: int = 2000

    def __post_init__(self) -> None:
        if self.scale not in ("linear", "log", "mel"):
            raise ConfigError(f"spectrogram scale must be 'linear', 'log' or 'mel', not {self.scale!r}")
        if self.normalise not in ("per_clip", "dataset", "fixed"):
            raise ConfigError(f"spectrogram normalise must be 'per_clip', 'dataset' or 'fixed', not {self.normalise!r}")
        if self.nfft < 8 or self.hop < 1:
            raise ConfigError(f"spectrogram nfft ({self.nfft}) must be >= 8 and hop ({self.hop}) >= 1")
        if not 0 <= self.fmin_hz < self.fmax_hz <= self.sample_rate / 2:
            raise ConfigError(f"spectrogram needs 0 <= fmin_hz ({self.fmin_hz}) < fmax_hz "
                              f"({self.fmax_hz}) <= sample_rate / 2 ({self.sample_rate / 2})")
        if self.scale == "mel" and self.n_mels < 1:
            raise ConfigError(f"spectrogram n_mels must be >= 1, not {self.n_mels}")
        if self.top_db <= 0:
            raise ConfigError(f"spectrogram top_db must be > 0, not {self.top_db}")
        from scipy.signal import get_window

        try:
            get_window(self.window, 8)
        except ValueError as exc:
            raise ConfigError(f"spectrogram window {self.window!r}: {exc}") from None

    @property
    def bins(self) -> tuple[int, int]:
        """First and last (inclusive) FFT bin kept."""
        return (round(self.fmin_hz * self.nfft / self.sample_rate),
                round(self.fmax_hz * self.nfft / self.sample_rate))

    def frames(self, n_samples: int) -> int:
        """Frames for a clip of n_samples samples: 1 + (n_samples - nfft) // hop."""
        if n_samples < self.nfft:
            raise ConfigError(f"clips of {n_samples} samples are shorter than nfft={self.nfft}")
        return 1 + (n_samples - self.nfft) // self.hop

    def shape(self, n_samples: int = 4000) -> tuple[int, int]:
        """(frequency rows, time frames) of one clip's spectrogram."""
        k0, k1 = self.bins
        rows = self.n_mels if self.scale == "mel" else k1 - k0 + 1
        return rows, self.frames(n_samples)


@dataclass(frozen=True)
class SpectrogramFramesConfig(SpectrogramConfig):
    """The spectrogram as a sequence of frames: [frames, rows] per clip (time-major)."""

    def shape(self, n_samples: int = 4000) -> tuple[int, int]:
        """(time frames, frequency rows) of one clip."""
        rows, frames = super().shape(n_samples)
        return frames, rows


Representation = Union[WaveformConfig, SpectrogramConfig, SpectrogramFramesConfig]
_KINDS = {"waveform": WaveformConfig, "spectrogram": SpectrogramConfig,
          "spectrogram_frames": SpectrogramFramesConfig}


def to_dict(rep: Representation) -> dict:
    """{"kind": "waveform" | "spectrogram" | "spectrogram_frames", **parameters}: JSON-able, exact."""
    kind = next(k for k, cls in _KINDS.items() if type(rep) is cls)
    return {"kind": kind, **asdict(rep)}


def representation_from_dict(d: dict) -> Representation:
    """Re-create a representation from `to_dict` output (unknown keys are an error)."""
    d = dict(d)
    kind = d.pop("kind", None)
    if kind not in _KINDS:
        raise ConfigError(f"representation kind must be one of {sorted(_KINDS)}, not {kind!r}")
    cls = _KINDS[kind]
    types = {f.name: f.type for f in fields(cls)}
    unknown = sorted(set(d) - set(types))
    if unknown:
        raise ConfigError(f"unknown {kind} parameter(s): {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(types))})")
    return cls(**{k: _coerce(kind, k, v, types[k]) for k, v in d.items()})


def _coerce(kind: str, key: str, value, type_name: str):
    """`value` as the field's type ("int", "float", "str", "float | None"), or ConfigError."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if value is None and "None" in type_name:
        return None
    if type_name == "int" and number and float(value).is_integer():
        return int(value)
    if type_name.startswith("float") and number:
        return float(value)
    if type_name == "str" and isinstance(value, str):
        return value
    raise ConfigError(f"{kind} parameter {key} must be {type_name.replace(' | None', ' or none')}, "
                      f"not {value!r}")


def _as_2d(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.ndim not in (1, 2):
        raise ConfigError(f"audio must be [n_samples] or [N, n_samples], got shape {audio.shape}")
    return audio[None] if audio.ndim == 1 else audio


def _minmax_rows(x: np.ndarray) -> np.ndarray:
    """In place: each row of x [n, ...] min-max scaled to [0, 1] (constant rows -> 0)."""
    flat = x.reshape(x.shape[0], -1)
    lo = flat.min(axis=1, keepdims=True)
    span = flat.max(axis=1, keepdims=True) - lo
    flat -= lo
    np.divide(flat, span, out=flat, where=span > 0)
    flat[(span == 0)[:, 0]] = 0.0
    return x


def waveform(audio: np.ndarray, cfg: WaveformConfig = WaveformConfig()) -> np.ndarray:
    """float32 [N, n_samples] in [0, 1]: per-clip min-max (default) or (x + 1) / 2 ("fixed")."""
    x = _as_2d(audio).astype(np.float32, copy=True)
    if cfg.normalise == "fixed":
        return np.clip((x + 1.0) / 2.0, 0.0, 1.0)
    return _minmax_rows(x)


def mel_filterbank(cfg: SpectrogramConfig) -> np.ndarray:
    """float32 [n_mels, k1 + 1]: triangular HTK-mel filters over FFT bins 0..k1 (k1 = fmax bin)."""
    k1 = cfg.bins[1]
    freqs = np.arange(k1 + 1) * cfg.sample_rate / cfg.nfft
    mel = lambda f: 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)  # noqa: E731
    edges = 700.0 * (10 ** (np.linspace(mel(cfg.fmin_hz), mel(cfg.fmax_hz), cfg.n_mels + 2) / 2595.0) - 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs - lo) / np.maximum(mid - lo, 1e-9)
    down = (hi - freqs) / np.maximum(hi - mid, 1e-9)
    return np.clip(np.minimum(up, down), 0.0, None).astype(np.float32)


def _default_workers(workers: int | None) -> int:
    return workers or max(1, min(4, os.cpu_count() or 1))


class _Plan:
    """What every block of clips shares for one configuration: window, PSD scale, kept bins,
    mel bands."""

    def __init__(self, cfg: SpectrogramConfig, n_samples: int):
        from scipy.signal import get_window

        self.cfg = cfg
        self.frames = cfg.frames(n_samples)
        self.window = get_window(cfg.window, cfg.nfft).astype(np.float32)
        self.density = np.float32(2.0 / (cfg.sample_rate * float(np.sum(self.window.astype(np.float64) ** 2))))
        self.fb = mel_filterbank(cfg).T if cfg.scale == "mel" else None  # [k1 + 1, n_mels]
        k0, k1 = cfg.bins
        self.lo, self.hi = (0 if self.fb is not None else k0), k1 + 1  # mel uses all bins to fmax
        edges = (0, cfg.nfft // 2) if cfg.nfft % 2 == 0 else (0,)  # DC / Nyquist: not doubled
        self.unpaired = [e - self.lo for e in edges if self.lo <= e < self.hi]

    def scaled(self, x: np.ndarray, buf: np.ndarray) -> np.ndarray:
        """Clips x [n, S] (n <= BLOCK) -> float32 [n, frames, rows], time-major: linear PSD, or dB
        clamped at top_db below each clip's maximum (before normalisation)."""
        import scipy.fft

        cfg, n = self.cfg, x.shape[0]
        frames = np.lib.stride_tricks.sliding_window_view(x, cfg.nfft, axis=-1)[:, ::cfg.hop]
        np.multiply(frames, self.window, out=buf[:n])
        spec = scipy.fft.rfft(buf[:n], axis=-1)[..., self.lo:self.hi]
        power = np.square(spec.real)
        power += np.square(spec.imag)
        power *= self.density
        for edge in self.unpaired:
            power[..., edge] *= np.float32(0.5)
        if self.fb is not None:
            power = power @ self.fb
        if cfg.scale != "linear":
            np.maximum(power, np.float32(MIN_POWER), out=power)
            np.log10(power, out=power)
            power *= np.float32(10.0)
            if cfg.normalise != "fixed":  # "fixed": nothing relative to the clip
                flat = power.reshape(n, -1)
                np.maximum(flat, flat.max(axis=1, keepdims=True) - np.float32(cfg.top_db), out=flat)
        return power


def _each_block(x: np.ndarray, cfg: SpectrogramConfig, use: Callable[[int, np.ndarray], None],
                workers: int | None, progress: bool = False) -> None:
    """Call use(first clip index, Plan.scaled block) for every block of BLOCK clips of x [N, S].

    Blocks are grouped in tasks of TASK clips run by `workers` threads (numpy and pocketfft release
    the GIL); `use` must only touch its own clips' data.
    """
    from concurrent.futures import ThreadPoolExecutor

    from toolchain.data.parallel import progress_bar

    plan = _Plan(cfg, x.shape[1])

    def task(start: int) -> int:
        buf = np.empty((BLOCK, plan.frames, cfg.nfft), dtype=np.float32)
        stop = min(start + TASK, x.shape[0])
        for i in range(start, stop, BLOCK):
            use(i, plan.scaled(np.ascontiguousarray(x[i:min(i + BLOCK, stop)], dtype=np.float32), buf))
        return stop - start

    starts = range(0, x.shape[0], TASK)
    with progress_bar(x.shape[0], f"spectrograms of {x.shape[0]} clips", progress) as advance, \
            ThreadPoolExecutor(_default_workers(workers)) as pool:
        for done in pool.map(task, starts):
            advance(done)


def spectrogram(audio: np.ndarray, cfg: SpectrogramConfig = SpectrogramConfig(), *,
                progress: bool = False, workers: int | None = None) -> np.ndarray:
    """float32 [N, rows, frames] in [0, 1] for clips audio [N, n_samples] (see module docstring);
    [N, frames, rows] for a SpectrogramFramesConfig.

    A 1-D clip gives [rows, frames] ([frames, rows]). "dataset" normalisation needs norm_min / norm_max set (use
    `fit_normalisation` or `make_features`). `workers`: threads (default: CPU count, at most 4).
    """
    single = np.asarray(audio).ndim == 1
    x = _as_2d(audio)
    if cfg.normalise != "per_clip" and (cfg.norm_min is None or cfg.norm_max is None):
        raise ConfigError(f"spectrogram normalise={cfg.normalise!r} needs norm_min/norm_max: fit them with "
                          "fit_normalisation() or make_features()")
    out = np.empty((x.shape[0], *cfg.shape(x.shape[1])), dtype=np.float32)
    time_major = isinstance(cfg, SpectrogramFramesConfig)

    def store(i: int, part: np.ndarray) -> None:
        if cfg.normalise == "per_clip":
            _minmax_rows(part)
        else:
            _apply_constants(part, cfg)
        out[i:i + part.shape[0]] = part if time_major else part.transpose(0, 2, 1)

    _each_block(x, cfg, store, workers, progress)
    return out[0] if single else out


def stream_frames(samples: np.ndarray, cfg: SpectrogramConfig) -> np.ndarray:
    """float32 [frames, rows] in [0, 1] of one stretch of audio, frame t over samples
    [t * hop, t * hop + nfft): the values `spectrogram` gives those frames in any clip, for a
    representation whose frames depend on nothing but their own samples (normalise "fixed")."""
    if cfg.normalise != "fixed":
        raise ConfigError(f"spectrogram normalise={cfg.normalise!r} depends on the whole clip; a stream of frames "
                          "needs normalise='fixed'")
    x = np.ascontiguousarray(np.asarray(samples, dtype=np.float32)[None])
    if x.shape[1] < cfg.nfft:
        return np.zeros((0, SpectrogramConfig.shape(cfg, cfg.nfft)[0]), dtype=np.float32)
    plan = _Plan(cfg, x.shape[1])
    part = plan.scaled(x, np.empty((1, plan.frames, cfg.nfft), dtype=np.float32))[0]
    return _apply_constants(part, cfg)


def _apply_constants(part: np.ndarray, cfg: SpectrogramConfig) -> np.ndarray:
    """`part` (float32, scaled power) mapped in place to [0, 1] by the fitted constants:
    (x - norm_min) / (norm_max - norm_min), clipped. A division, not a product with the reciprocal:
    x = norm_max then gives exactly 1.0 (the product can give 0.99999994, machine-dependent)."""
    span = np.float32(cfg.norm_max - cfg.norm_min)
    part -= np.float32(cfg.norm_min)
    if span > 0:
        part /= span
    else:
        part[...] = 0.0
    return np.clip(part, 0.0, 1.0, out=part)


def fit_normalisation(audio: np.ndarray, cfg: SpectrogramConfig, *,
                      workers: int | None = None) -> SpectrogramConfig:
    """`cfg` with norm_min / norm_max set to the data set's minimum and maximum scaled value
    (after the top_db clamp for log/mel; "fixed": its FIXED_PERCENTILES, unless both are given);
    unchanged for per-clip normalisation."""
    if cfg.normalise == "fixed":
        if cfg.norm_min is not None and cfg.norm_max is not None:
            return cfg
        parts: list[np.ndarray] = []
        _each_block(_as_2d(audio), cfg, lambda i, part: parts.append(part.ravel()[::FIXED_SAMPLE].copy()), workers)
        lo, hi = np.percentile(np.concatenate(parts), FIXED_PERCENTILES)
        return replace(cfg, norm_min=float(lo), norm_max=float(hi) if hi > lo else float(lo) + 1.0)
    if cfg.normalise != "dataset":
        return cfg
    ranges: list[tuple[float, float]] = []
    _each_block(_as_2d(audio), cfg, lambda i, part: ranges.append((part.min(), part.max())), workers)
    return replace(cfg, norm_min=float(min(r[0] for r in ranges)), norm_max=float(max(r[1] for r in ranges)))


def features_from_audio(audio: np.ndarray, rep: Representation, *, progress: bool = False) -> np.ndarray:
    """Apply a fully specified representation to clips [N, n_samples] (deployment's entry point)."""
    if isinstance(rep, WaveformConfig):
        return waveform(audio, rep)
    return spectrogram(audio, rep, progress=progress)


def make_features(clips, kind: str, params: dict | None = None, cache: bool = True,
                  info: dict | None = None, progress: bool = True) -> np.ndarray:
    """Features of a ClipSet: kind "waveform" -> [N, 4000], "spectrogram" -> [N, rows, frames],
    "spectrogram_frames" -> [N, frames, rows].

    `params` are the representation's parameters (defaults otherwise). Results are cached on disk
    (see toolchain.data.cache) when the ClipSet has a cache key. If `info` is a dict it receives
    "representation" (the exact dict to record, with fitted constants), "cache_hit" and "path".
    """
    from toolchain.data import cache as _cache

    rep = representation_from_dict({"kind": kind, **(params or {})})
    key = _cache.make_key({"v": FEATURE_VERSION, "clips": clips.cache_key, "rep": to_dict(rep)})
    root = _cache.cache_root(clips.source)
    folder = _cache.entry_dir(root, "features", key)
    hit = _cache.load(folder) if cache and clips.cache_key else None
    if hit is not None:
        feats, fitted = hit[0]["features"], representation_from_dict(hit[1]["representation"])
    else:
        fitted = fit_normalisation(clips.audio, rep) if isinstance(rep, SpectrogramConfig) else rep
        feats = features_from_audio(clips.audio, fitted, progress=progress)
        if cache and clips.cache_key:
            ident = _cache.dataset_id(clips.source, clips.split, clips.sample_rate, clips.audio.shape[1])
            _cache.save(folder, {"features": feats},
                        {**ident, "clips_key": clips.cache_key, "representation": to_dict(fitted)})
    if info is not None:
        info.update({"representation": to_dict(fitted), "cache_hit": hit is not None,
                     "path": str(folder) if cache and clips.cache_key else None})
    return feats

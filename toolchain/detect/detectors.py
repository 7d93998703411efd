"""Detectors: how a deployed network turns a recording into scored decision units.

A detector takes one opened recording and returns a `DetectorRun`: for every decision unit (a
window here; a frame for a streaming network) its span [begin_s, end_s) and its score, plus a
sample of the network's input for the energy analysis and for the Lava check. Everything after that
(events, Raven tables, scores against the truth, energy per day) works on units and does not care
which detector made them.

Detectors are registered by name in `DETECTORS` (`@register`); `detector_for(ir)` picks the first
whose `accepts(ir)` is true, or the one named. The streaming detector (a recurrent SNN fed one
spectrogram frame per time step, never reset: `toolchain.detect.streaming`) is such a subclass, with
`unit = "frame"`; it accepts the "spectrogram_frames" representation, which "windowed" does not.
`energy_rate` says how often the energy report's one classification recurs (a window per window;
for the stream a block of num_steps frames).

The score of a unit is the network's spike-count score (`toolchain.core.metrics.class_score`,
`SimResult.scores()`): output spikes of the call neuron minus those of the no-call neuron over the
classification, an integer in -num_steps..num_steps; the unit is positive when it is above the
threshold (default 0: exactly the network's own decision, argmax with ties to "no call").

The emulator is imported with this module, not inside a function: it imports Lava's runtime, which
must fix multiprocessing's start method before numba or joblib (scikit-learn) read it.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, ClassVar

import numpy as np

from toolchain.core.errors import ConfigError
from toolchain.data.problems import Problem
from toolchain.detect.source import Recording, truncation_problem
from toolchain.detect.windows import WindowSpec, WindowStream
from toolchain.emulator import Emulator
from toolchain.ir.graph import NetworkIR

CLIP_KINDS = ("waveform", "spectrogram")  # representations of a whole clip, classified window by window


@dataclass
class DetectorRun:
    """One recording through a detector.

    begin_s / end_s / scores: float64 [units]; duration_s: audio processed (s); energy_x: network
    inputs (features in [0, 1], [k, n_in]) of units spread evenly over the recording; check: the
    encoded input and the emulator's spikes of a few units (for the Lava comparison); seconds:
    wall time by stage; memory: the most samples the reader and the window buffer ever held.
    """

    begin_s: np.ndarray
    end_s: np.ndarray
    scores: np.ndarray
    duration_s: float
    energy_x: np.ndarray
    check: dict
    seconds: dict
    memory: dict
    problems: list[Problem] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # detector-specific figures for the result (e.g. stream counts)


class Detector(ABC):
    """A way of running a deployed network over a recording (see the module docstring)."""

    name: ClassVar[str]
    unit: ClassVar[str]
    representations: ClassVar[tuple[str, ...]]  # the representation kinds it runs

    def __init__(self, ir: NetworkIR, *, seed: int = 0):
        self.ir, self.seed = ir, seed

    @classmethod
    def accepts(cls, ir: NetworkIR) -> bool:
        """Whether this detector can run `ir` (by the representation it records)."""
        return _rep_kind(ir) in cls.representations

    @property
    @abstractmethod
    def sample_rate(self) -> int:
        """Hz the network's input audio must have."""

    @property
    @abstractmethod
    def units_per_second(self) -> float:
        """Decision units (classifications) per second of audio: what energy per day multiplies."""

    @property
    def energy_rate(self) -> tuple[float, str]:
        """(classifications per second of audio, their name): how often the energy report's one
        classification (priced on `DetectorRun.energy_x`) recurs; a window detector's units."""
        return self.units_per_second, self.unit

    @abstractmethod
    def describe(self) -> dict:
        """What the detector does, for reports (window, hop, ...)."""

    @property
    @abstractmethod
    def band_hz(self) -> tuple[float, float]:
        """The frequency band the network's input covers (Low / High Freq of its detections)."""

    @abstractmethod
    def units(self, n_samples: int) -> int:
        """Decision units of an n-sample recording (for progress bars and samples)."""

    @abstractmethod
    def run(self, rec: Recording, progress: Callable[[float], None] | None = None, *,
            energy_units: int = 32, check_units: int = 4, block_frames: int | None = None) -> DetectorRun:
        """Score every unit of `rec`; progress(seconds of audio done) is called as it goes."""


DETECTORS: dict[str, type[Detector]] = {}


def register(cls: type[Detector]) -> type[Detector]:
    DETECTORS[cls.name] = cls
    return cls


def detector_for(ir: NetworkIR, name: str | None = None, **options) -> Detector:
    """The detector named, or the first registered one that accepts `ir`."""
    if name is not None:
        if name not in DETECTORS:
            raise ConfigError(f"unknown detector {name!r} (known: {', '.join(DETECTORS)})")
        cls = DETECTORS[name]
        if not cls.accepts(ir):
            raise ConfigError(f"detector {name!r} cannot run network {ir.name!r} "
                              f"(representation {_rep_kind(ir)!r})")
        return cls(ir, **options)
    for cls in DETECTORS.values():
        if cls.accepts(ir):
            return cls(ir, **options)
    raise ConfigError(f"network {ir.name!r} records representation {_rep_kind(ir)!r}; no detector runs it "
                      f"(detectors: {', '.join(f'{n} ({c.unit}s)' for n, c in DETECTORS.items())}); "
                      "detect needs a network trained by neurodeploy on clips")


def _rep_kind(ir: NetworkIR):
    return (ir.metadata.get("representation") or {}).get("kind")


def reader_problems(rec: Recording, reader) -> list[Problem]:
    """What reading `rec` to its end found: truncation, NaN / inf samples (each naming the file)."""
    problems = []
    trunc = truncation_problem(rec, reader.frames_read, reader.error)
    if trunc is not None:
        problems.append(trunc)
    if reader.nonfinite:
        problems.append(Problem(str(rec.path), "nan", f"{rec.path}: {reader.nonfinite} NaN/inf sample(s)",
                                action="set to 0"))
    return problems


def timed(items, seconds: dict, key: str):
    """The items of `items` in order, the time spent producing each added to seconds[key] (s)."""
    it = iter(items)
    while True:
        t0 = time.perf_counter()
        try:
            item = next(it)
        except StopIteration:
            return
        finally:
            seconds[key] += time.perf_counter() - t0
        yield item


def spread(n: int, k: int) -> np.ndarray:
    """k (or n if fewer) unit indices spread evenly over 0..n-1, ascending, distinct."""
    if n <= 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, n - 1, min(k, n))).astype(np.int64))


@register
class WindowedDetector(Detector):
    """A clip classifier slid over the recording: window = its clip, hop default half a window.

    Window length: a waveform network's n_in samples; a spectrogram network's clip length, which the
    IR does not store but its frame count fixes: the loader's 4000 samples (2 s) when
    `SpectrogramConfig.frames(4000)` gives the IR's frame count, else the shortest length giving it
    (nfft + (frames - 1) * hop). Each window becomes the features the network was trained on
    (`features_from_audio` with the recorded representation: per-window normalisation as per-clip),
    is encoded per the IR (`encode_for_ir`, window k being clip number k of the recording for rate
    codes) and classified by the bit-exact emulator, `batch` windows at a time.
    """

    name = "windowed"
    unit = "window"
    representations = CLIP_KINDS

    def __init__(self, ir: NetworkIR, *, hop_s: float | None = None, seed: int = 0, batch: int = 256):
        from toolchain.data.audio import N_SAMPLES, SAMPLE_RATE
        from toolchain.represent import SpectrogramConfig, representation_from_dict

        super().__init__(ir, seed=seed)
        self.rep = representation_from_dict(ir.metadata["representation"])
        n_in = ir.input.n_in
        if isinstance(self.rep, SpectrogramConfig):
            rows = self.rep.shape(self.rep.nfft)[0]
            if n_in % rows:
                raise ConfigError(f"network {ir.name!r}: {n_in} inputs are not a whole number of {rows}-row "
                                  "spectrogram frames; its recorded representation does not match it")
            frames = n_in // rows
            rate = self.rep.sample_rate
            clip = int(ir.metadata.get("clip_samples") or 0)
            if not clip:
                clip = N_SAMPLES if self.rep.frames(N_SAMPLES) == frames else self.rep.nfft + (frames - 1) * self.rep.hop
        else:
            rate, clip = SAMPLE_RATE, n_in
        hop = clip // 2 if hop_s is None else int(round(hop_s * rate))
        if hop < 1 or hop > clip:
            raise ConfigError(f"--hop {hop_s:g} s: must be at least one sample (1/{rate} s) and at most the window "
                              f"({clip / rate:g} s), or audio between windows would never be classified")
        self.spec = WindowSpec(rate, clip, hop)
        self.batch = batch
        self.emulator = Emulator(ir)

    @property
    def sample_rate(self) -> int:
        return self.spec.sample_rate

    @property
    def units_per_second(self) -> float:
        return 1.0 / self.spec.hop_s

    def units(self, n_samples: int) -> int:
        return self.spec.count(n_samples)

    @property
    def band_hz(self) -> tuple[float, float]:
        from toolchain.represent import SpectrogramConfig

        if isinstance(self.rep, SpectrogramConfig):
            return float(self.rep.fmin_hz), float(self.rep.fmax_hz)
        return 0.0, self.sample_rate / 2

    def describe(self) -> dict:
        return {"detector": self.name, "unit": self.unit, "window_s": self.spec.window_s, "hop_s": self.spec.hop_s,
                "window_samples": self.spec.window, "hop_samples": self.spec.hop, "sample_rate": self.sample_rate,
                "representation": self.ir.metadata["representation"]["kind"], "num_steps": self.ir.num_steps,
                "band_hz": list(self.band_hz),
                "score": f"output spike count (call) - output spike count (no call), -{self.ir.num_steps}.."
                         f"{self.ir.num_steps}"}

    def features(self, windows: np.ndarray) -> np.ndarray:
        """Network inputs float32 [b, n_in] in [0, 1] of audio windows [b, window]."""
        from toolchain.represent import features_from_audio

        return features_from_audio(windows, self.rep).reshape(windows.shape[0], -1)

    def run(self, rec: Recording, progress: Callable[[float], None] | None = None, *,
            energy_units: int = 32, check_units: int = 4, block_frames: int | None = None) -> DetectorRun:
        from toolchain.represent.encoding import encode_for_ir

        n_est = self.units(rec.samples_at_rate())
        want_e, want_c = spread(n_est, energy_units), spread(n_est, check_units)
        reader = rec.reader(block_frames) if block_frames else rec.reader()
        stream = WindowStream(self.spec, self.batch)
        scores, energy_x, check_in, check_spikes, check_idx = [], [], [], [], []
        t = {"read": 0.0, "features": 0.0, "network": 0.0}
        for first, windows in timed(stream(reader), t, "read"):
            t1 = time.perf_counter()
            x = self.features(windows)
            t2 = time.perf_counter()
            inp = encode_for_ir(self.ir, x, self.seed, first)
            res = self.emulator.run(inp)
            t["features"] += t2 - t1
            t["network"] += time.perf_counter() - t2
            scores.append(res.scores())
            idx = np.arange(first, first + windows.shape[0])
            e_sel = np.isin(idx, want_e)
            energy_x.append(x[e_sel])
            c_sel = np.flatnonzero(np.isin(idx, want_c))
            if c_sel.size:
                check_in.append(inp[c_sel])
                check_spikes.append([s[c_sel] for s in res.layer_spikes])
                check_idx += (first + c_sel).tolist()
            if progress:
                progress(min((first + windows.shape[0] - 1) * self.spec.hop + self.spec.window,
                             stream.samples) / self.sample_rate)
        s = np.concatenate(scores) if scores else np.zeros(0)
        begin = np.arange(s.size) * self.spec.hop_s
        problems = reader_problems(rec, reader)
        check = {"units": check_idx,
                 "input": np.concatenate(check_in) if check_in else None,
                 "spikes": [np.concatenate([c[i] for c in check_spikes]) for i in range(len(self.ir.layers))]
                 if check_spikes else None}
        return DetectorRun(begin, begin + self.spec.window_s, s, stream.samples / self.sample_rate,
                           np.concatenate(energy_x) if energy_x else np.zeros((0, self.ir.input.n_in)),
                           check, t, {"max_read_frames": reader.max_read_frames, "reader_max_held": reader.max_held,
                                      "block_frames": reader.block, "resampler_pad": reader.pad if
                                      reader.up != reader.down else 0, "window_max_held": stream.max_held}, problems)


def lava_check(ir: NetworkIR, check: dict) -> dict:
    """Run Lava on the checked units' encoded input and compare every layer's spikes with the
    emulator's: {"units", "ok", "layers": [{"layer", "exact", "mismatches", "spikes_emulator", "spikes_lava"}]}."""
    from export.lava_graph import run_lava

    if check.get("input") is None:
        return {"units": [], "ok": False, "layers": [], "seconds": 0.0, "note": "no unit to check"}
    lava = run_lava(ir, check["input"])
    layers = [{"layer": i + 1, "exact": bool(np.array_equal(a, b)), "mismatches": int(np.count_nonzero(a != b)),
               "spikes_emulator": int(a.sum()), "spikes_lava": int(b.sum())}
              for i, (a, b) in enumerate(zip(check["spikes"], lava.layer_spikes))]
    return {"units": list(check["units"]), "ok": all(la["exact"] for la in layers), "layers": layers,
            "seconds": lava.meta["seconds"]}

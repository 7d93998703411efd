"""Read, validate and normalise one audio clip (bytes in, float32 [n_samples] out).

Clips are read with soundfile (libsndfile) from bytes, so folder and zip inputs share one path.
The expected clip is the Kaggle one: AIFF, 16-bit signed PCM, mono, 2000 Hz, 4000 samples (2 s).
16-bit PCM is returned as int16 / 32768 (exactly, in [-1, 1)); other subtypes (24/32-bit PCM,
float) are read as libsndfile's float values and reported as "subtype" (converted to float).

What happens to a clip that differs (each case is reported as a `Problem` naming the file):

- empty (0 bytes or 0 frames), unreadable/corrupt (libsndfile cannot open it), truncated (the
  AIFF COMM chunk declares more frames than the file holds), NaN/inf samples: skipped.
- stereo / multi-channel: mixed to mono by averaging the channels (never refused: the mean keeps
  a call present on either channel; its level drops by at most 6 dB).
- another sample rate: resampled with `scipy.signal.resample_poly(x, up, down)` where
  up/down = target/rate reduced by their gcd (polyphase FIR, Kaiser window, zero phase).
- another length (after resampling): zero-padded at the end, or the end cropped, to n_samples.
"""

from __future__ import annotations

import io
import math
import struct
from collections import Counter
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from toolchain.data.problems import Problem

SAMPLE_RATE = 2000
N_SAMPLES = 4000
PCM16_SCALE = 32768.0


@dataclass
class ClipInfo:
    """What the file held before any repair: rate (Hz), channels, frames, libsndfile subtype."""

    sample_rate: int
    channels: int
    frames: int
    subtype: str


def aiff_declared_frames(data: bytes) -> int | None:
    """numSampleFrames from the COMM chunk of AIFF/AIFC bytes, or None if not AIFF / no COMM."""
    if len(data) < 12 or data[:4] != b"FORM" or data[8:12] not in (b"AIFF", b"AIFC"):
        return None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos:pos + 4]
        (size,) = struct.unpack(">I", data[pos + 4:pos + 8])
        if chunk_id == b"COMM":
            if pos + 14 > len(data):
                return None
            return struct.unpack(">I", data[pos + 10:pos + 14])[0]
        pos += 8 + size + (size & 1)
    return None


def decode_clip(data: bytes, file: str, *, sample_rate: int = SAMPLE_RATE,
                n_samples: int = N_SAMPLES) -> tuple[np.ndarray | None, ClipInfo | None, list[Problem]]:
    """Decode one clip's bytes into float32 [n_samples] at `sample_rate` Hz.

    Returns (samples or None when the clip is skipped, what the file held or None when it could
    not be opened, problems). `file` is the name used in problem messages.
    """
    problems: list[Problem] = []

    def skip(kind: str, message: str, info: ClipInfo | None = None):
        problems.append(Problem(file, kind, f"{file}: {message}"))
        return None, info, problems

    if len(data) == 0:
        return skip("empty", "file is empty (0 bytes)")
    try:
        with sf.SoundFile(io.BytesIO(data)) as fh:
            info = ClipInfo(int(fh.samplerate), int(fh.channels), int(fh.frames), str(fh.subtype))
            dtype = "int16" if info.subtype == "PCM_16" else "float64"
            raw = fh.read(dtype=dtype, always_2d=True)
    except (sf.SoundFileError, RuntimeError) as exc:
        return skip("corrupt", f"unreadable audio ({exc.__class__.__name__}: "
                               f"{str(exc).split(': ', 1)[-1]})")
    if raw.shape[0] == 0:
        return skip("empty", "no audio frames", info)
    declared = aiff_declared_frames(data)
    if declared is not None and declared > raw.shape[0]:
        return skip("truncated", f"truncated: header declares {declared} frames, "
                                 f"file holds {raw.shape[0]}", info)
    if dtype == "int16":
        x = raw.astype(np.float64) / PCM16_SCALE
    else:
        x = raw
        if not np.all(np.isfinite(x)):
            bad = int(np.count_nonzero(~np.isfinite(x)))
            return skip("nan", f"{bad} NaN/inf sample(s)", info)
        problems.append(Problem(file, "subtype", f"{file}: sample format {info.subtype}, "
                                f"expected PCM_16", action="converted to float"))
    if info.channels > 1:
        x = x.mean(axis=1, keepdims=True)
        problems.append(Problem(file, "stereo", f"{file}: {info.channels} channels, expected 1",
                                action="mixed to mono"))
    x = x[:, 0]
    if info.sample_rate != sample_rate:
        x = resample(x, info.sample_rate, sample_rate)
        problems.append(Problem(file, "sample_rate",
                                f"{file}: sample rate {info.sample_rate} Hz, expected {sample_rate} Hz",
                                action=f"resampled {info.sample_rate}->{sample_rate} Hz"))
    if x.shape[0] != n_samples:
        verb = "padded" if x.shape[0] < n_samples else "cropped"
        problems.append(Problem(file, "length", f"{file}: {x.shape[0]} samples "
                                f"({x.shape[0] / sample_rate:.3f} s), expected {n_samples}",
                                action=f"{verb} {x.shape[0]}->{n_samples}"))
        x = fit_length(x, n_samples)
    return x.astype(np.float32), info, problems


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Resample 1-D `x` from `rate` to `target` Hz with scipy.signal.resample_poly."""
    from scipy.signal import resample_poly

    g = math.gcd(int(rate), int(target))
    return resample_poly(x, target // g, rate // g)


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Zero-pad at the end or crop the end of 1-D `x` to exactly n samples."""
    if x.shape[0] >= n:
        return x[:n]
    return np.concatenate([x, np.zeros(n - x.shape[0], dtype=x.dtype)])


def tally(infos: list[ClipInfo]) -> dict:
    """Counts of what the decoded files held: rates, channels, subtypes, durations (s, 3 dp)."""
    return {
        "sample_rates": dict(Counter(str(i.sample_rate) for i in infos)),
        "channels": dict(Counter(str(i.channels) for i in infos)),
        "subtypes": dict(Counter(i.subtype for i in infos)),
        "durations_s": dict(Counter(f"{i.frames / i.sample_rate:.3f}" for i in infos)),
    }

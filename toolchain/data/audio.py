"""Read, validate and normalise one audio clip (bytes or a file descriptor in, float32 [n_samples] out).

Clips are read with soundfile (libsndfile): zip members from their bytes, folder files from a file
descriptor (so libsndfile reads only what it needs). The expected clip is the Kaggle one: AIFF,
16-bit signed PCM, mono, 2000 Hz, 4000 samples (2 s). 16-bit PCM is returned as int16 / 32768
(exactly, in [-1, 1)); other subtypes (24/32-bit PCM, float) are read as libsndfile's float values
and reported as "subtype" (converted to float).

What happens to a clip that differs (each case is reported as a `Problem` naming the file):

- empty (0 bytes or 0 frames), unreadable/corrupt (libsndfile cannot open it), truncated (the
  AIFF COMM chunk declares more frames than the file holds), NaN/inf samples: skipped.
- a sample rate outside [MIN_RATE, MAX_RATE] = [100 Hz, 1 MHz] ("rate_out_of_range"): skipped
  without reading its samples. 100 Hz is below any rate that can hold the 50-250 Hz up-call band
  (and below every rate real recorders use); 1 MHz is above any hydro-acoustic recorder's rate.
  A header saying 1 Hz or 0 Hz is damage, not a recording.
- stereo / multi-channel: mixed to mono by averaging the channels (never refused: the mean keeps
  a call present on either channel; its level drops by at most 6 dB).
- another sample rate: resampled with `scipy.signal.resample_poly(x, up, down)` where
  up/down = target/rate reduced by their gcd (polyphase FIR, Kaiser window, zero phase); when the
  reduced `down` exceeds MAX_RESAMPLE_TERM (a prime-ish rate such as 999,983 Hz, whose filter
  would need 20 M taps), up/down is the closest fraction with down <= MAX_RESAMPLE_TERM and the
  action says by how many ppm the output rate is off.
- another length (after resampling): zero-padded at the end, or the end cropped, to n_samples.
- samples that, as the float32 values the features use, are not finite or exceed
  MAX_ABS_SAMPLE = 65536 in magnitude (full scale is 1.0; 65536 still admits float files written
  in int16 units): skipped ("nan" / "amplitude"). A finite 1e30 would make the spectrogram's
  float32 power (|x|^2 summed over the FFT window) overflow to inf, and the features NaN.

Memory per clip is bounded by the target length, not by the file: only the source frames the
n_samples output needs are read (ceil(n_samples * rate / target) plus the resampler's filter
half-length, `frames_needed`), in blocks of at most BLOCK_BYTES, mixed to mono block by block.
The first n_samples output samples are bit-identical to resampling the whole clip and cropping.
"""

from __future__ import annotations

import io
import os
import struct
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import soundfile as sf

from toolchain.data.problems import Problem

SAMPLE_RATE = 2000
N_SAMPLES = 4000
PCM16_SCALE = 32768.0
MIN_RATE = 100  # Hz; lower header rates are refused (see the module docstring)
MAX_RATE = 1_000_000  # Hz
MAX_RESAMPLE_TERM = 20_000  # largest `down` of the polyphase resampler (filter = 20 * it + 1 taps)
MAX_ABS_SAMPLE = 65536.0  # largest |sample| accepted after conversion to float32 (full scale 1.0)
BLOCK_BYTES = 8 << 20  # largest block of interleaved float64 frames read at once
_HEADER_CHUNKS = 64  # AIFF chunks walked looking for COMM


@dataclass
class ClipInfo:
    """What the file held before any repair: rate (Hz), channels, frames, libsndfile subtype."""

    sample_rate: int
    channels: int
    frames: int
    subtype: str


class _Bytes(io.BytesIO):
    """BytesIO whose seek to a negative position stays put instead of raising: libsndfile seeks
    wherever a damaged header points, and an exception inside its (cffi) callback would be
    printed as a traceback."""

    def seek(self, pos: int, whence: int = 0) -> int:
        try:
            return super().seek(pos, whence)
        except (ValueError, OverflowError):
            return self.tell()


def _pread(src: bytes | int, offset: int, n: int) -> bytes:
    if isinstance(src, int):
        return os.pread(src, n, offset)
    return bytes(src[offset:offset + n])


def aiff_declared_frames(src: bytes | int) -> int | None:
    """numSampleFrames from the COMM chunk of AIFF/AIFC bytes (or an open file descriptor), or None
    if not AIFF / no COMM within the first 64 chunks."""
    head = _pread(src, 0, 12)
    if len(head) < 12 or head[:4] != b"FORM" or head[8:12] not in (b"AIFF", b"AIFC"):
        return None
    pos = 12
    for _ in range(_HEADER_CHUNKS):
        chunk = _pread(src, pos, 14)
        if len(chunk) < 8:
            return None
        (size,) = struct.unpack(">I", chunk[4:8])
        if chunk[:4] == b"COMM":
            return struct.unpack(">I", chunk[10:14])[0] if len(chunk) == 14 else None
        pos += 8 + size + (size & 1)
    return None


def resample_ratio(rate: int, target: int) -> tuple[int, int]:
    """(up, down) with target/rate ~= up/down, down <= MAX_RESAMPLE_TERM (exact when it fits)."""
    frac = Fraction(int(target), int(rate)).limit_denominator(MAX_RESAMPLE_TERM)
    return frac.numerator, frac.denominator


def frames_needed(rate: int, target: int, n_samples: int) -> int:
    """Source frames that determine the first n_samples outputs of resample_poly(x, up, down):
    the span n_samples * down / up plus the filter half-length (10 * max(up, down) output-rate
    taps, i.e. that / up source frames), plus 2 for rounding."""
    if rate == target:
        return n_samples
    up, down = resample_ratio(rate, target)
    return -(-(n_samples * down + 10 * max(up, down)) // up) + 2


def _mono(raw: np.ndarray) -> tuple[np.ndarray, int]:
    """float64 mono of a [frames, channels] block (int16 scaled by 2^-15, exactly as / 32768;
    channels averaged) and how many of its samples are NaN/inf."""
    if raw.dtype == np.int16:
        x, bad = raw * (1.0 / PCM16_SCALE), 0
    else:
        x, bad = raw, int(np.count_nonzero(~np.isfinite(raw)))
    return (x[:, 0] if x.shape[1] == 1 else x.mean(axis=1)), bad


def _read_mono(fh: sf.SoundFile, frames: int, dtype: str, channels: int) -> tuple[np.ndarray, int]:
    """The first `frames` frames as float64 mono (see `_mono`), read in blocks of at most
    BLOCK_BYTES of float64 frames; and how many read samples were NaN/inf."""
    block = max(1, BLOCK_BYTES // (8 * channels))
    if frames <= block:  # the common case: one read, no copy
        return _mono(fh.read(frames, dtype=dtype, always_2d=True))
    out = np.empty(frames, dtype=np.float64)
    pos, bad = 0, 0
    for raw in fh.blocks(blocksize=block, frames=frames, dtype=dtype, always_2d=True):
        x, n_bad = _mono(raw)
        out[pos:pos + x.shape[0]] = x
        pos, bad = pos + x.shape[0], bad + n_bad
    return out[:pos], bad


def _length(source: bytes | int) -> int:
    return os.fstat(source).st_size if isinstance(source, int) else len(source)


def decode_clip(source: bytes | int, file: str, *, sample_rate: int = SAMPLE_RATE,
                n_samples: int = N_SAMPLES) -> tuple[np.ndarray | None, ClipInfo | None, list[Problem]]:
    """Decode one clip into float32 [n_samples] at `sample_rate` Hz.

    `source`: the file's bytes, or a file descriptor open for reading at offset 0 (left open).
    Returns (samples or None when the clip is skipped, what the file held or None when it could
    not be opened, problems). `file` is the name used in problem messages.
    """
    problems: list[Problem] = []

    def skip(kind: str, message: str, info: ClipInfo | None = None):
        problems.append(Problem(file, kind, f"{file}: {message}"))
        return None, info, problems

    if _length(source) == 0:
        return skip("empty", "file is empty (0 bytes)")
    try:
        with sf.SoundFile(source if isinstance(source, int) else _Bytes(source),
                          closefd=False) as fh:
            info = ClipInfo(int(fh.samplerate), int(fh.channels), int(fh.frames), str(fh.subtype))
            if not MIN_RATE <= info.sample_rate <= MAX_RATE:
                return skip("rate_out_of_range", f"header says sample rate {info.sample_rate} Hz, "
                            f"outside {MIN_RATE}-{MAX_RATE} Hz (damaged header?)", info)
            dtype = "int16" if info.subtype == "PCM_16" else "float64"
            wanted = max(0, min(info.frames, frames_needed(info.sample_rate, sample_rate, n_samples)))
            x, n_bad = _read_mono(fh, wanted, dtype, info.channels)
    except (sf.SoundFileError, RuntimeError, OverflowError, ValueError) as exc:
        return skip("corrupt", f"unreadable audio ({exc.__class__.__name__}: "
                               f"{str(exc).split(': ', 1)[-1]})")
    if x.shape[0] == 0:
        return skip("empty", "no audio frames", info)
    declared = aiff_declared_frames(source)
    if declared is not None and declared > info.frames:
        return skip("truncated", f"truncated: header declares {declared} frames, "
                                 f"file holds {info.frames}", info)
    if x.shape[0] < wanted:
        return skip("truncated", f"truncated: only {x.shape[0]} of the first {wanted} frames "
                                 "could be read", info)
    if n_bad:
        return skip("nan", f"{n_bad} NaN/inf sample(s)", info)
    if dtype != "int16":
        problems.append(Problem(file, "subtype", f"{file}: sample format {info.subtype}, "
                                f"expected PCM_16", action="converted to float"))
    if info.channels > 1:
        problems.append(Problem(file, "stereo", f"{file}: {info.channels} channels, expected 1",
                                action="mixed to mono"))
    length = info.frames
    if info.sample_rate != sample_rate:
        up, down = resample_ratio(info.sample_rate, sample_rate)
        x = resample(x, info.sample_rate, sample_rate)
        length = -(-info.frames * up // down)  # what resampling the whole clip gives
        off = (info.sample_rate * up / down / sample_rate - 1) * 1e6
        approx = f" (ratio approximated as {up}/{down}: {off:+.2f} ppm)" if abs(off) > 1e-9 else ""
        problems.append(Problem(file, "sample_rate",
                                f"{file}: sample rate {info.sample_rate} Hz, expected {sample_rate} Hz",
                                action=f"resampled {info.sample_rate}->{sample_rate} Hz{approx}"))
    if length != n_samples:
        verb = "padded" if length < n_samples else "cropped"
        problems.append(Problem(file, "length", f"{file}: {length} samples "
                                f"({length / sample_rate:.3f} s), expected {n_samples}",
                                action=f"{verb} {length}->{n_samples}"))
    x = fit_length(x, n_samples)
    bad = amplitude_fault(x)
    if bad:
        return skip(*bad, info)
    return x.astype(np.float32), info, problems


FLOAT32_MAX = float(np.finfo(np.float32).max)


def amplitude_fault(x: np.ndarray) -> tuple[str, str] | None:
    """(kind, message) if samples `x`, as the float32 values the features use, are not all
    finite and within +-MAX_ABS_SAMPLE, else None. Checked on the float64 values before the
    cast: |x| <= MAX_ABS_SAMPLE (a power of two) holds before the cast exactly when it holds
    after, and a value beyond FLOAT32_MAX is one the cast turns into inf."""
    magnitude = np.abs(x)
    if magnitude.size == 0 or magnitude.max() <= MAX_ABS_SAMPLE:  # False for NaN too
        return None
    beyond = ~(magnitude <= FLOAT32_MAX)
    if beyond.any():
        return "nan", (f"{int(np.count_nonzero(beyond))} sample(s) not finite as float32 "
                       f"(beyond +-{FLOAT32_MAX:.3g}) after decoding")
    peak = int(np.argmax(magnitude))
    return "amplitude", (f"sample {peak} is {float(x[peak]):.3g}, beyond +-{MAX_ABS_SAMPLE:g} "
                         "(full scale is 1.0; damaged or mis-scaled float data)")


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Resample 1-D `x` from `rate` to `target` Hz with scipy.signal.resample_poly, up/down from
    `resample_ratio`."""
    from scipy.signal import resample_poly

    up, down = resample_ratio(rate, target)
    return resample_poly(x, up, down)


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
        "durations_s": dict(Counter(f"{i.frames / i.sample_rate:.3f}" if i.sample_rate > 0
                                    else "unknown" for i in infos)),
    }

"""Long recordings read from disk in blocks: first channel, resampled as the data loader does.

`open_recording(path, rate)` checks a recording (WAV, AIFF, FLAC or anything else libsndfile
reads) and returns a `Recording` plus the problems found, each a `toolchain.data.Problem` naming
the file; `Recording.blocks()` then yields its samples as consecutive float64 blocks at `rate` Hz.

- Samples: 16-bit PCM as int16 / 32768 (exactly, in [-1, 1)), other formats as libsndfile's float
  values, as `toolchain.data.audio.decode_clip` reads clips. NaN / inf samples are set to 0 (said).
- Several channels: the first one is used (said); the loader's clips are mixed to mono instead, but
  a hydrophone array's channels are separate sensors, and mixing them would blur a call.
- Another sample rate: resampled to `rate` with scipy.signal.resample_poly (as the loader), block
  by block with overlap, so the result is the whole-file resample_poly's (see `BlockReader`).
- Truncated (the header of a WAV / AIFF declares more frames than the file holds, or decoding stops
  early, as in a cut FLAC): the frames present are processed and the shortfall is said.
- Missing, unreadable, empty (0 bytes or 0 frames): the recording is skipped (its Problem is fatal).

Memory: one block (`BLOCK_FRAMES` source frames, all channels) plus the resampler's overlap, whatever
the recording's length; `BlockReader.max_read_frames` / `max_held` record the most ever held.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from toolchain.data.problems import Problem

BLOCK_FRAMES = 1 << 18  # source frames per read (131 s at 2 kHz, 5.9 s at 44.1 kHz)
PCM16_SCALE = 32768.0


def declared_frames(path: Path) -> int | None:
    """Frames a WAV (RIFF data chunk) or AIFF (COMM chunk) header declares, or None (other formats,
    no such chunk, or a streaming writer's placeholder size)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12:
                return None
            little = head[:4] == b"RIFF" and head[8:12] == b"WAVE"
            if not little and not (head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC")):
                return None
            order = "<" if little else ">"
            block_align = None
            for _ in range(64):  # chunks before the audio are few (fmt, LIST, COMM, FVER, ...)
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return None
                cid, (size,) = chunk[:4], struct.unpack(order + "I", chunk[4:])
                if little and cid == b"fmt ":
                    block_align = struct.unpack("<H", fh.read(14)[12:14])[0]
                    fh.seek(size - 14 + (size & 1), os.SEEK_CUR)
                elif little and cid == b"data":
                    if size in (0, 0xFFFFFFFF) or not block_align:
                        return None
                    return size // block_align
                elif not little and cid == b"COMM":
                    return struct.unpack(">I", fh.read(6)[2:6])[0]
                else:
                    fh.seek(size + (size & 1), os.SEEK_CUR)
    except (OSError, struct.error):
        return None
    return None


@dataclass
class Recording:
    """A recording that opened: what the file holds, and the rate its blocks come at."""

    path: Path
    sample_rate: int  # Hz, as stored
    channels: int
    frames: int  # frames libsndfile can see (at sample_rate)
    declared: int  # frames the header declares (>= frames when truncated)
    subtype: str
    rate: int  # Hz of the blocks yielded
    problems: list[Problem] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Seconds of audio libsndfile sees (before any decoding failure)."""
        return self.frames / self.sample_rate

    def samples_at_rate(self) -> int:
        """Samples the blocks will hold in all (when decoding does not stop early)."""
        return math.ceil(self.frames * self.rate / self.sample_rate)

    def reader(self, block_frames: int = BLOCK_FRAMES) -> BlockReader:
        return BlockReader(self, block_frames)


def open_recording(path: str | os.PathLike, rate: int) -> tuple[Recording | None, list[Problem]]:
    """(the recording or None when it cannot be used, the problems found, each naming the file)."""
    import soundfile as sf

    path = Path(path)
    name = str(path)

    def fatal(kind: str, message: str):
        return None, [Problem(name, kind, f"{name}: {message}", fatal=True)]

    if not path.is_file():
        return fatal("missing_file", "no such file")
    if path.stat().st_size == 0:
        return fatal("empty", "file is empty (0 bytes)")
    try:
        info = sf.info(name)
    except (sf.SoundFileError, RuntimeError, OSError) as exc:
        return fatal("corrupt", f"unreadable audio ({exc.__class__.__name__}: {str(exc).split(': ', 1)[-1]})")
    if info.frames <= 0:
        return fatal("empty", "no audio frames")
    declared = declared_frames(path)
    rec = Recording(path, int(info.samplerate), int(info.channels), int(info.frames),
                    max(int(info.frames), declared or 0), str(info.subtype), int(rate))
    if rec.channels > 1:
        rec.problems.append(Problem(name, "stereo", f"{name}: {rec.channels} channels", action="first channel used"))
    if rec.sample_rate != rate:
        rec.problems.append(Problem(name, "sample_rate", f"{name}: sample rate {rec.sample_rate} Hz, the network "
                                    f"takes {rate} Hz", action=f"resampled {rec.sample_rate}->{rate} Hz"))
    return rec, list(rec.problems)


def truncation_problem(rec: Recording, frames_read: int, error: str | None) -> Problem | None:
    """The Problem of a recording that held fewer frames than its header declares (None if complete)."""
    if frames_read >= rec.declared and error is None:
        return None
    name = str(rec.path)
    why = f"decoding stopped after {frames_read} frames ({error})" if error is not None else f"the file holds {frames_read}"
    return Problem(name, "truncated", f"{name}: truncated: header declares {rec.declared} frames "
                   f"({rec.declared / rec.sample_rate:.1f} s), {why}",
                   action=f"processed the {frames_read} frames present ({frames_read / rec.sample_rate:.1f} s)")


RETRY_FRAMES = 1024  # read size after a failed large read


class BlockReader:
    """Consecutive float64 blocks of a recording's first channel at `rec.rate` Hz.

    Resampling (rate up/down reduced by their gcd): output sample m sits at input time m * down / up
    and resample_poly's filter (Kaiser, half length 10 * max(up, down) at the upsampled rate) reaches
    `reach` = ceil(10 * max(up, down) / up) input samples either side. Each step resamples the
    input span [s - P, e + P) (P = `reach` rounded up to a multiple of `down`; s, e multiples of
    `down`, so the span's outputs fall on the global output grid) and keeps outputs s*up/down ..
    e*up/down, whose filters lie wholly inside the span: the file's ends are resample_poly's own
    zero padding, so the blocks join into the whole-file resample_poly output (to rounding).
    """

    def __init__(self, rec: Recording, block_frames: int = BLOCK_FRAMES):
        from math import gcd

        self.rec = rec
        g = gcd(rec.sample_rate, rec.rate)
        self.up, self.down = rec.rate // g, rec.sample_rate // g
        reach = math.ceil(10 * max(self.up, self.down) / self.up) + 1
        self.pad = -(-reach // self.down) * self.down
        self.block = block_frames if self.up == self.down else max(block_frames, 2 * self.pad)
        self.frames_read = 0
        self.error: str | None = None
        self.max_read_frames = 0  # most frames ever asked of libsndfile in one read
        self.max_held = 0  # most source samples ever held (block + resampler overlap)
        self.nonfinite = 0

    def _raw_blocks(self) -> Iterator[np.ndarray]:
        """The first channel in blocks; when decoding fails (a truncated FLAC fails a whole large read),
        the rest is retried from where it stopped in small reads, so every decodable frame is kept."""
        import soundfile as sf

        pcm16 = self.rec.subtype == "PCM_16"
        for block in (self.block, RETRY_FRAMES) if self.block > RETRY_FRAMES else (self.block,):
            self.error = None
            try:
                with sf.SoundFile(str(self.rec.path)) as fh:
                    if self.frames_read:
                        fh.seek(self.frames_read)
                    while True:
                        self.max_read_frames = max(self.max_read_frames, block)
                        raw = fh.read(block, dtype="int16" if pcm16 else "float64", always_2d=True)
                        if raw.shape[0] == 0:
                            return
                        x = raw[:, 0].astype(np.float64) / PCM16_SCALE if pcm16 else np.array(raw[:, 0], dtype=np.float64)
                        if not pcm16:
                            bad = ~np.isfinite(x)
                            if bad.any():
                                self.nonfinite += int(bad.sum())
                                x[bad] = 0.0
                        self.frames_read += x.shape[0]
                        yield x
            except (sf.SoundFileError, RuntimeError) as exc:
                self.error = f"{exc.__class__.__name__}: {str(exc).split(': ', 1)[-1] or 'decoding failed'}"

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.up == self.down:
            for x in self._raw_blocks():
                self.max_held = max(self.max_held, x.shape[0])
                yield x
            return
        from scipy.signal import resample_poly

        down, pad = self.down, self.pad
        buf, buf_start, done = np.zeros(0), 0, 0  # buf holds input samples [buf_start, buf_start + len)
        for x in self._raw_blocks():
            buf = np.concatenate([buf, x])
            self.max_held = max(self.max_held, buf.shape[0])
            have = buf_start + buf.shape[0]
            end = (have - pad) // down * down
            if end > done:
                yield self._span(resample_poly, buf, buf_start, done, end, have)
                done = end
                keep = max(0, done - pad) - buf_start
                buf, buf_start = buf[keep:], buf_start + keep
        have = buf_start + buf.shape[0]
        if have > done:
            yield self._span(resample_poly, buf, buf_start, done, have, have)

    def _span(self, resample_poly, buf: np.ndarray, buf_start: int, s: int, e: int, have: int) -> np.ndarray:
        """Outputs for input samples [s, e) (e = have at the file's end)."""
        lo = max(0, s - self.pad)
        hi = min(have, e + self.pad)
        y = resample_poly(buf[lo - buf_start:hi - buf_start], self.up, self.down)
        first = lo * self.up // self.down
        m0 = s * self.up // self.down
        m1 = -(-e * self.up // self.down)
        return y[m0 - first:m1 - first]

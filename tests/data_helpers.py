"""Real audio files for the data-layer tests: clean clips and a deliberately broken data set."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """Point neurodeploy's cache at a fresh folder for one test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("NEURODEPLOY_CACHE", str(folder))
    return folder


def pcm(seed: int, n: int = 4000, channels: int = 1) -> np.ndarray:
    """Random int16 samples [n] (or [n, channels]) covering the full range."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-32768, 32768, size=(n, channels) if channels > 1 else n)
    return x.astype(np.int16)


def aiff(samples: np.ndarray, rate: int = 2000, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="AIFF", subtype=subtype)
    return buf.getvalue()


def kaggle_folder(root: Path, clips: dict[str, bytes], rows: list[tuple[str, str]]) -> Path:
    """root/data/train.csv with `rows` and root/data/train/<name> for each clip; returns root."""
    train = root / "data" / "train"
    train.mkdir(parents=True)
    for name, data in clips.items():
        (train / name).write_bytes(data)
    (root / "data" / "train.csv").write_text(
        "clip_name,label\n" + "".join(f"{n},{lab}\n" for n, lab in rows))
    return root


def broken_set(root: Path) -> dict:
    """A Kaggle folder with one clip of each kind of problem; returns what each file is."""
    good = {f"train{i}.aiff": aiff(pcm(i)) for i in range(1, 5)}
    truncated = aiff(pcm(11))[:4000]
    nan = np.linspace(-0.5, 0.5, 4000).astype(np.float32)
    nan[100] = np.nan
    clips = {
        **good,
        "train5.aiff": b"this is not an AIFF file at all" * 10,          # corrupt
        "train6.aiff": b"",                                               # empty
        "train7.aiff": aiff(pcm(7, 88200), rate=44100),                   # 44.1 kHz, 2 s
        "train8.aiff": aiff(pcm(8, channels=2)),                          # stereo
        "train9.aiff": truncated,                                         # truncated
        "train10.aiff": aiff(pcm(10, 3500)),                              # short
        "train11.aiff": aiff(nan, subtype="FLOAT"),                       # NaN sample
        "train13.aiff": aiff(pcm(13)),                                    # no CSV row
        "train14.aiff": aiff(pcm(14)),                                    # label 2
        "train15.aiff": aiff(pcm(15)),                                    # label x
    }
    rows = [(f"train{i}.aiff", str(i % 2)) for i in range(1, 12)]
    rows += [("train12.aiff", "1"), ("train14.aiff", "2"), ("train15.aiff", "x")]
    kaggle_folder(root, clips, rows)
    return {
        "loaded": ["train1.aiff", "train2.aiff", "train3.aiff", "train4.aiff", "train7.aiff",
                   "train8.aiff", "train10.aiff"],
        "skipped": {"data/train/train5.aiff": "corrupt", "data/train/train6.aiff": "empty",
                    "data/train/train9.aiff": "truncated", "data/train/train11.aiff": "nan",
                    "data/train/train12.aiff": "missing_file", "data/train/train13.aiff": "no_csv_row",
                    "data/train/train14.aiff": "bad_label", "data/train/train15.aiff": "bad_label"},
        "repaired": {"data/train/train7.aiff": "sample_rate", "data/train/train8.aiff": "stereo",
                     "data/train/train10.aiff": "length"},
    }

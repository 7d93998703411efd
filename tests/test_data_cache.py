"""Decode and feature caches: hits, invalidation by a changed file, location, no pickles."""

import json
import os

import numpy as np

from tests.data_helpers import aiff, pcm
from toolchain.data import load_clips, synthesize
from toolchain.represent import make_features


def test_second_load_is_a_cache_hit_and_a_changed_file_invalidates_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURODEPLOY_CACHE", str(tmp_path / "cache"))
    data = synthesize(tmp_path / "s", 10, seed=1, progress=False)
    first = load_clips(data, progress=False)
    second = load_clips(data, progress=False)
    assert not first.cache_hit and second.cache_hit and first.cache_key == second.cache_key
    assert np.array_equal(first.audio, second.audio) and second.names == first.names
    info: dict = {}
    feats = make_features(second, "spectrogram", info=info)
    again = make_features(load_clips(data, progress=False), "spectrogram", info=info)
    assert info["cache_hit"] and np.array_equal(feats, again)

    clip = data / "data" / "train" / "train3.aiff"
    st = clip.stat()
    os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched, same bytes
    touched = load_clips(data, progress=False)
    assert not touched.cache_hit and touched.cache_key != first.cache_key
    assert np.array_equal(touched.audio, first.audio)

    clip.write_bytes(aiff(pcm(99)))  # new content
    changed = load_clips(data, progress=False)
    assert not changed.cache_hit
    assert np.array_equal(changed.audio[2], pcm(99) / np.float32(32768))
    make_features(changed, "spectrogram", info=info)
    assert not info["cache_hit"]
    # only the entries of the current version of the data set are kept
    entries = sorted(p.name.split("-")[0] for p in (tmp_path / "cache").iterdir())
    assert entries == ["clips", "features"]


def test_cache_lives_beside_the_data_set_and_holds_no_pickles(tmp_path, monkeypatch):
    monkeypatch.delenv("NEURODEPLOY_CACHE", raising=False)
    data = synthesize(tmp_path / "s", 6, seed=2, progress=False)
    clips = load_clips(data, progress=False)
    make_features(clips, "waveform")
    root = tmp_path / ".neurodeploy-cache"
    entries = sorted(root.iterdir())
    assert [e.name.split("-")[0] for e in entries] == ["clips", "features"]
    for entry in entries:
        json.loads((entry / "meta.json").read_text())
        for npy in entry.glob("*.npy"):
            np.load(npy, allow_pickle=False)
    assert not list(root.rglob("*.tmp*"))  # atomic writes left no temporaries


def test_an_incomplete_entry_is_ignored_and_cache_false_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURODEPLOY_CACHE", str(tmp_path / "cache"))
    data = synthesize(tmp_path / "s", 6, seed=3, progress=False)
    load_clips(data, progress=False)
    (entry,) = (tmp_path / "cache").iterdir()
    (entry / "meta.json").unlink()  # as if interrupted before the last write
    assert not load_clips(data, progress=False).cache_hit
    assert load_clips(data, progress=False).cache_hit
    other = synthesize(tmp_path / "o", 6, seed=4, progress=False)
    assert not load_clips(other, cache=False, progress=False).cache_hit
    assert len(list((tmp_path / "cache").iterdir())) == 1

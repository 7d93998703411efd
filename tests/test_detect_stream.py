"""`neurodeploy detect` with the streaming detector (a "frames" network run over the whole
recording frame by frame, never reset) and `neurodeploy detect-compare` against the windowed one."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.detect_helpers import short_recording, tiny_detector, tiny_stream_detector
from toolchain.core.errors import ConfigError
from toolchain.data.recording import table_path
from toolchain.detect import DetectOptions, detect
from toolchain.detect.compare import compare
from toolchain.detect.raven import COLUMNS


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """Three minutes of synthetic audio with up-calls at known times (table beside it)."""
    return short_recording(tmp_path_factory.mktemp("rec") / "buoy.wav")


@pytest.fixture(scope="module")
def stream_q(tmp_path_factory) -> Path:
    return tiny_stream_detector().save(tmp_path_factory.mktemp("sq") / "q")


@pytest.fixture(scope="module")
def stream_run(stream_q, recording, tmp_path_factory):
    out = tmp_path_factory.mktemp("sd") / "out"
    # small blocks: the recording is read in 36 blocks, so the state crosses many block boundaries
    r = detect(stream_q, [recording], out, truth=[table_path(recording)], progress=False,
               options=DetectOptions(block_frames=10_000, backend="lava", tolerance_s=2.0, energy_units=4))
    return out, r


def _whole_run_scores(q: Path, recording: Path):
    """Scores of one emulator run over all frames of the recording at once (no blocks)."""
    from toolchain.core.result import SimResult
    from toolchain.counts import topology_from_ir
    from toolchain.counts.synops import effective_synops
    from toolchain.emulator import Emulator
    from toolchain.ir import load_ir
    from toolchain.represent import representation_from_dict, stream_frames
    from toolchain.represent.encoding import encode_for_ir

    ir = load_ir(q / "network.ndir")
    rep = representation_from_dict(ir.metadata["representation"])
    audio = sf.read(str(recording), dtype="int16")[0].astype(np.float64) / 32768.0
    frames = stream_frames(audio, rep)
    covered = (frames.shape[0] - 1) * rep.hop + rep.nfft
    if covered < audio.size:  # the zero-padded frame over the rest
        tail = np.zeros(rep.nfft)
        rest = audio[frames.shape[0] * rep.hop:]
        tail[:rest.size] = rest
        frames = np.concatenate([frames, stream_frames(tail, rep)])
    inp = encode_for_ir(ir, frames[None])
    res = Emulator(ir).run(inp)
    out = res.layer_spikes[-1][0].astype(np.int64)
    c = np.concatenate([[0], np.cumsum(out[:, 1] - out[:, 0])])
    i = np.arange(out.shape[0])
    W = ir.num_steps
    topo = topology_from_ir(ir)
    topo.num_steps = inp.shape[1]
    ops = sum(int(o.sum()) for o in effective_synops(topo, SimResult("emulator", inp, res.layer_spikes))[0])
    return c[i + 1] - c[np.maximum(i + 1 - W, 0)], ops


def test_streamed_detection_equals_one_run_over_the_recording_and_lava(stream_q, recording, stream_run):
    out, r = stream_run
    rec = r["recordings"][0]
    assert r["detector"]["detector"] == "streaming" and r["detector"]["unit"] == "frame"
    units = list(csv.DictReader(open(out / "buoy.frames.csv")))
    scores = np.array([float(u["score"]) for u in units])
    whole, ops = _whole_run_scores(stream_q, recording)
    assert scores.size == rec["units"] == whole.size
    assert np.array_equal(scores, whole), "block-streamed scores differ from one run over the whole recording"
    assert rec["memory"]["block_frames"] == 10_000 and rec["memory"]["frame_buffer_max_held"] < 11_000
    # synaptic operations counted block by block == counted on the one long run
    assert rec["stream_counts"]["effective_synops"] == ops > 0
    # Lava ran the stream's first frames without reset: every layer's spikes equal the emulator's
    assert r["lava"]["ok"] and all(la["mismatches"] == 0 and la["spikes_emulator"] > 0 for la in r["lava"]["layers"])
    # the Raven table holds the events, inside the recording
    duration = sf.info(str(recording)).duration
    with open(out / "buoy.detections.selections.txt", newline="") as fh:
        header = next(csv.reader(fh, dialect="excel-tab"))
        fh.seek(0)
        rows = list(csv.DictReader(fh, dialect="excel-tab"))
    assert header == [*COLUMNS, "Score"] and len(rows) == r["events"]
    assert all(0 <= float(x["Begin Time (s)"]) < float(x["End Time (s)"]) <= duration + 1e-9 for x in rows)
    # latency figures are those of the matched calls; energy priced per 135-frame block
    s = rec["scores"]
    assert s["latency_calls"] == s["true_positives"]
    assert r["energy_per_day"]["unit"] == "135-frame block"
    assert r["energy_per_day"]["units_per_second"] == pytest.approx(2000 / 26 / 135)


def test_streaming_detector_refuses_a_hop(stream_q, recording, tmp_path):
    with pytest.raises(ConfigError, match="streaming network; it scores every"):
        detect(stream_q, [recording], tmp_path / "o", options=DetectOptions(hop_s=1.0), progress=False)


def test_detect_compare_same_recording_table_and_verdicts(stream_run, recording, tmp_path):
    s_out, s_r = stream_run
    w_out = tmp_path / "windowed"
    q = tiny_detector().save(tmp_path / "wq")
    w_r = detect(q, [recording], w_out, truth=[table_path(recording)], progress=False,
                 options=DetectOptions(tolerance_s=2.0, energy_units=4))
    c = compare(w_out, s_out)
    a, b = c["a"], c["b"]
    assert (a["detector"], b["detector"]) == ("windowed", "streaming")
    assert a["f1"] == w_r["f1"] and b["f1"] == s_r["f1"]
    assert b["latency_median_s"] == s_r["latency_median_s"]
    day = s_r["energy_per_day"]
    assert b["synops_per_hour"] == pytest.approx(day["synops_per_classification"]["effective_synops"]
                                                 * day["units_per_second"] * 3600)
    assert b["synops_per_hour_counted"] == pytest.approx(s_r["recordings"][0]["stream_counts"]["effective_synops_per_hour"])
    assert set(b["energy_per_hour"]) == set(a["energy_per_hour"]) and "loihi2" in b["energy_per_hour"]
    f1_sentence = c["verdicts"][0]
    assert f"{b['f1']:.3f}" in f1_sentence and f"{a['f1']:.3f}" in f1_sentence
    assert ("the streaming model is worse here" in f1_sentence) == (b["f1"] < a["f1"])
    proc = subprocess.run([sys.executable, "-m", "toolchain", "detect-compare", str(w_out), str(s_out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "latency to detection, median s" in proc.stdout and "loihi2: total with static / h" in proc.stdout
    # not like for like: another tolerance is refused, naming both
    other = tmp_path / "tol"
    detect(q, [recording], other, truth=[table_path(recording)], progress=False,
           options=DetectOptions(tolerance_s=1.0, energy=False))
    with pytest.raises(ConfigError, match="onset tolerance of 2 s.*1 s"):
        compare(other.parent / "windowed", other)
    with pytest.raises(ConfigError, match="nothing: no detect.json"):
        compare(w_out, tmp_path / "nothing")

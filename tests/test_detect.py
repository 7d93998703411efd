"""neurodeploy detect: long recordings streamed from disk through a deployed SNN, Raven selection
tables written and read, event-level scores, bad recordings, energy per day, and the synthetic
long recording with known call times."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.detect_helpers import KNOBS, short_recording, tiny_detector
from toolchain.data import synth
from toolchain.data.recording import synth_recording, table_path
from toolchain.detect import DetectOptions, Event, detect, merge_events, read_table
from toolchain.detect.raven import COLUMNS
from toolchain.detect.score import counts, pr_curve
from toolchain.detect.source import open_recording
from toolchain.detect.windows import WindowSpec, WindowStream


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolchain", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def q(tmp_path_factory) -> Path:
    """The tiny trained call detector, saved as a quantise folder."""
    return tiny_detector().save(tmp_path_factory.mktemp("q") / "q")


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """Three minutes of synthetic audio with 10 up-calls at known times (table beside it)."""
    return short_recording(tmp_path_factory.mktemp("rec") / "buoy.wav")


def test_detect_writes_a_raven_table_inside_the_recording_and_json_scores(q, recording, tmp_path):
    out = tmp_path / "out"
    truth = table_path(recording)
    proc = _cli("detect", str(q), str(recording), "--out", str(out), "--truth", str(truth), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    duration = sf.info(str(recording)).duration

    with open(out / "buoy.detections.selections.txt", newline="") as fh:
        rows = list(csv.DictReader(fh, dialect="excel-tab"))
        fh.seek(0)
        header = next(csv.reader(fh, dialect="excel-tab"))
    assert header == [*COLUMNS, "Score"]
    assert len(rows) == result["events"] > 0
    for i, row in enumerate(rows, 1):
        assert int(row["Selection"]) == i and row["View"] == "Spectrogram 1" and row["Channel"] == "1"
        begin, end = float(row["Begin Time (s)"]), float(row["End Time (s)"])
        assert 0.0 <= begin < end <= duration + 1e-9
        assert float(row["Low Freq (Hz)"]) < float(row["High Freq (Hz)"])
        assert float(row["Score"]) > 0  # positive: above the default threshold 0

    # the figures on stdout are the pooled counts recomputed from the written events and the truth
    events = json.loads((out / "buoy.events.json").read_text())["events"]
    onsets = sorted(s.begin_s for s in read_table(truth))
    hand = counts([Event(**e) for e in events], np.array(onsets), result["tolerance_s"], duration / 3600)
    for key in ("precision", "recall", "f1", "false_alarms_per_hour"):
        assert result[key] == pytest.approx(hand.figures()[key])
    # the network reacts to calls: it finds most of them while most windows stay negative
    assert result["recall"] >= 0.6
    assert result["recordings"][0]["positive_units"] < result["recordings"][0]["units"] / 2
    # energy per day covers every shipped profile, SNN and ANN rows, with a dominant term each
    from hardware_profiles import list_profiles

    rows_e = result["energy_per_day"]["rows"]
    assert {r["profile"] for r in rows_e} == set(list_profiles())
    assert all(r["dominant"] and r["total_J_per_day"][0] > 0 for r in rows_e)
    assert (out / "pr_curve.png").stat().st_size > 0 and (out / "pr_curve.csv").is_file()


def test_raven_tables_from_other_tools_are_read(tmp_path):
    # Raven's own export: a Waveform and a Spectrogram row per selection, extra columns, CRLF, BOM
    raven = tmp_path / "raven.txt"
    raven.write_bytes(("\ufeffSelection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"
                       "\tAnnotation\r\n"
                       "1\tWaveform 1\t1\t1.5\t2.5\t\t\tupcall\r\n"
                       "1\tSpectrogram 1\t1\t1.5\t2.5\t90\t210\tupcall\r\n"
                       "2\tWaveform 1\t1\t10.25\t11\t\t\t\r\n"
                       "2\tSpectrogram 1\t1\t10.25\t11\t80.5\t190\t\r\n").encode("utf-8"))
    sel = read_table(raven)
    assert [(s.begin_s, s.end_s, s.low_hz, s.high_hz) for s in sel] == [(1.5, 2.5, 90.0, 210.0),
                                                                       (10.25, 11.0, 80.5, 190.0)]
    assert sel[0].extra == {"Annotation": "upcall"}
    # another tool: other column order, other case and spacing, a file column, no Selection numbers
    other = tmp_path / "other.txt"
    other.write_text("end time (s)\tconfidence\tbegin  time (S)\tBegin File\n"
                     "4.0\t0.9\t3.0\ta.wav\n"
                     "9.5\t0.4\t8.0\tb.wav\n")
    sel = read_table(other)
    assert [(s.begin_s, s.end_s, s.file, s.extra["confidence"]) for s in sel] == [(3.0, 4.0, "a.wav", "0.9"),
                                                                                (8.0, 9.5, "b.wav", "0.4")]
    assert sel[0].low_hz is None
    # one table for several recordings: rows go to the recording their Begin File names
    from toolchain.detect.run import _truth_for

    per_rec, notes = _truth_for([Path("x/a.wav"), Path("y/b.wav")], [other])
    assert [[s.begin_s for s in rows] for rows in per_rec] == [[3.0], [8.0]] and not notes
    # bad tables name the file, the line and the column
    bad = tmp_path / "bad.txt"
    bad.write_text("Begin Time (s)\tEnd Time (s)\n1.0\tsoon\n")
    with pytest.raises(Exception, match=r"bad.txt: line 2: End Time \(s\) = 'soon' is not a number"):
        read_table(bad)
    comma = tmp_path / "comma.csv"
    comma.write_text("Begin Time (s),End Time (s)\n1,2\n")
    with pytest.raises(Exception, match=r"comma.csv: no 'Begin Time \(s\)' column \(is it tab-separated\?\)"):
        read_table(comma)


def test_precision_recall_f1_and_false_alarms_match_a_hand_count():
    # 10 one-second windows of 2 s; positive (> 0) at windows 1-2 (one event, 1-4 s), 6 (6-8 s), 9 (9-11 s)
    begin = np.arange(10.0)
    scores = np.array([0, 3, 5, 0, -2, 0, 4, 0, -1, 2], dtype=float)
    events = merge_events(begin, begin + 2, scores, 0.0, duration_s=10.5)
    assert [(e.begin_s, e.end_s, e.score, e.units) for e in events] == [(1, 4, 5, 2), (6, 8, 4, 1), (9, 10.5, 2, 1)]
    # truth onsets: 2.5 (matches the event at 1 s within 2 s), 6.2 (matches 6 s), 20 (missed)
    c = counts(events, np.array([2.5, 6.2, 20.0]), 2.0, hours=0.5).figures()
    assert (c["true_positives"], c["false_alarms"], c["misses"]) == (2, 1, 1)
    assert c["precision"] == pytest.approx(2 / 3) and c["recall"] == pytest.approx(2 / 3)
    assert c["f1"] == pytest.approx(2 / 3) and c["false_alarms_per_hour"] == pytest.approx(2.0)
    # one to one: two calls near one event give one hit and one miss
    c = counts(events[:1], np.array([1.0, 2.0]), 2.0, hours=1.0).figures()
    assert (c["true_positives"], c["false_alarms"], c["misses"]) == (1, 0, 1)
    # the PR curve re-merges at each threshold: at 4 only the 1-4 s event (score 5) is left
    curve = {p["threshold"]: p for p in pr_curve([{"begin_s": begin, "end_s": begin + 2, "scores": scores,
                                                   "duration_s": 10.5, "truth_begin_s": np.array([2.5, 6.2, 20.0])}],
                                                 2.0)}
    assert (curve[4.0]["events"], curve[4.0]["true_positives"], curve[4.0]["precision"]) == (1, 1, 1.0)
    assert curve[5.0]["events"] == 0 and curve[5.0]["precision"] is None and curve[5.0]["recall"] == 0.0


def test_bad_recordings_are_named_and_the_rest_is_processed(q, recording, tmp_path):
    x, fs = sf.read(str(recording), dtype="int16")
    x = x[:fs * 30]
    rec = tmp_path / "recs"
    rec.mkdir()
    from scipy.signal import resample_poly

    sf.write(str(rec / "good.wav"), x, fs, subtype="PCM_16")
    sf.write(str(rec / "fast.wav"), np.round(resample_poly(x / 32768.0, 4, 1) * 32767).astype(np.int16), 8000,
             subtype="PCM_16")
    noise = np.random.default_rng(0).integers(-3000, 3000, x.size).astype(np.int16)
    sf.write(str(rec / "stereo.wav"), np.stack([x, noise], axis=1), fs, subtype="PCM_16")
    data = (rec / "good.wav").read_bytes()
    (rec / "cut.wav").write_bytes(data[:len(data) // 2])
    sf.write(str(rec / "cutflac.flac"), x, fs, subtype="PCM_16")
    flac = (rec / "cutflac.flac").read_bytes()
    (rec / "cutflac.flac").write_bytes(flac[:len(flac) // 2])
    (rec / "empty.wav").write_bytes(b"")
    names = ["good.wav", "fast.wav", "stereo.wav", "cut.wav", "cutflac.flac", "empty.wav"]
    out = tmp_path / "out"
    proc = _cli("detect", str(q), *(str(rec / n) for n in names), "--out", str(out), "--no-energy")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = " ".join(proc.stderr.split())
    assert f"{rec / 'fast.wav'}: sample rate 8000 Hz, the network takes 2000 Hz -> resampled 8000->2000 Hz" in err
    assert f"{rec / 'stereo.wav'}: 2 channels -> first channel used" in err
    assert f"{rec / 'cut.wav'}: truncated: header declares 60000 frames (30.0 s), the file holds" in err
    assert f"{rec / 'cutflac.flac'}: truncated: header declares 60000 frames (30.0 s), decoding stopped" in err
    assert f"skipped: {rec / 'empty.wav'}: file is empty (0 bytes)" in err
    assert "Traceback" not in proc.stderr
    summary = json.loads((out / "detect.json").read_text())
    status = {Path(r["recording"]).name: r["status"] for r in summary["recordings"]}
    assert status == {**{n: "ok" for n in names[:-1]}, "empty.wav": "skipped"}
    for n in names[:-1]:
        assert (out / f"{Path(n).stem}.detections.selections.txt").is_file()
    assert not (out / "empty.detections.selections.txt").exists()
    events = {n: json.loads((out / f"{n}.events.json").read_text())["events"] for n in ("good", "stereo")}
    assert events["stereo"] == events["good"]  # the first channel, not a mix with the noise channel
    by_name = {Path(r["recording"]).name: r for r in summary["recordings"]}
    assert by_name["cut.wav"]["duration_s"] < 16 and by_name["fast.wav"]["duration_s"] == pytest.approx(30.0)


def test_blocks_from_disk_stay_bounded_and_join_to_the_whole_file(tmp_path):
    from scipy.signal import resample_poly

    rng = np.random.default_rng(1)
    x = rng.integers(-20000, 20000, 44100 * 20).astype(np.int16)
    for rate, path in ((2000, tmp_path / "a.wav"), (44100, tmp_path / "b.flac")):
        sf.write(str(path), x[:rate * 20], rate, subtype="PCM_16")
        rec, _ = open_recording(path, 2000)
        reader = rec.reader(block_frames=4096)
        stream = WindowStream(WindowSpec(2000, 4000, 1000), batch=8)
        got = list(reader)
        n_windows = sum(w.shape[0] for _, w in stream(iter(got)))
        whole = x[:rate * 20] / 32768.0
        if rate != 2000:
            whole = resample_poly(whole, 20, 441)
        joined = np.concatenate(got)
        assert joined.shape == whole.shape and np.allclose(joined, whole, atol=1e-12)
        assert n_windows == WindowSpec(2000, 4000, 1000).count(whole.size) == 37
        # never more than one block read at once, plus the resampler's overlap and a window
        assert reader.max_read_frames == reader.block == 4096
        assert reader.max_held <= reader.block + 2 * reader.pad + reader.down
        out_block = -(-reader.block * reader.up // reader.down) + reader.up
        assert stream.max_held <= out_block + 2 * reader.pad * reader.up // reader.down + 4000
    # a rest after the last whole window, or a recording shorter than a window, gets one zero-padded window
    short = [w for _, w in WindowStream(WindowSpec(2000, 4000, 1000), batch=8)(iter([np.ones(5500)]))]
    assert [w.shape[0] for w in short] == [3] and short[0][2, :3500].all() and not short[0][2, 3500:].any()
    tiny = [w for _, w in WindowStream(WindowSpec(2000, 4000, 1000))(iter([np.ones(3000)]))]
    assert len(tiny) == 1 and tiny[0].shape == (1, 4000) and tiny[0][0, :3000].all() and not tiny[0][0, 3000:].any()


def test_synthetic_recording_is_reproducible_and_calls_are_where_its_table_says(tmp_path):
    cfg = synth.SynthConfig(**KNOBS)
    a, b = tmp_path / "a.flac", tmp_path / "b.flac"
    for path in (a, b):
        synth_recording(path, 0.02, seed=7, calls_per_hour=300, config=cfg, progress=False, workers=1)
    assert sf.read(str(a), dtype="int16")[0].tobytes() == sf.read(str(b), dtype="int16")[0].tobytes()
    x, fs = sf.read(str(a))
    calls = read_table(table_path(a))
    assert len(calls) >= 3 and all(80 <= c.low_hz < c.high_hz <= 240 for c in calls)
    # the call band carries more power inside each call's span than it typically does
    spec = np.abs(np.fft.rfft(x[:len(x) // 500 * 500].reshape(-1, 500), axis=1)) ** 2  # 0.25 s frames, 4 Hz bins
    band = spec[:, 20:58].sum(axis=1)  # 80-232 Hz
    typical = np.median(band)
    for c in calls:
        lo = int(c.begin_s * 4) + 1
        assert band[lo:max(lo + 1, int(c.end_s * 4))].mean() > 2 * typical
    # the SNR reference is each slot's own ambient noise: generate_clip draws it first from its generator
    quiet = synth.SynthConfig(tonal_prob=0.0, click_prob=0.0, confounder_prob=0.0)
    amb = synth._ambient(np.random.default_rng([7, 5]), quiet)
    assert np.array_equal(synth.generate_clip(7, 5, 0, quiet), np.clip(np.round(amb * 32768), -32768, 32767))


def test_energy_per_day_is_hand_computable():
    from hardware_profiles import load_profile
    from toolchain.detect.energy_day import energy_per_day

    profiles = [load_profile("loihi2"), load_profile("cpu")]
    snn_priced = {"profile": "loihi2", "side": "snn", "model": "snn_deployed", "total_J": [1.1e-5, 2.1e-5],
                  "components": {"static": {"J": [1e-6, 1e-6]}}, "chips": 1, "latency_s": [1e-3, 2e-3]}
    ann_priced = {"profile": "cpu", "side": "ann", "model": "ann_mlp", "total_J": [3e-5, 3e-5],
                  "components": {"static": {"J": None}}}

    def report_with(snn):
        return {"input_policy": "zeros_skipped",
                "energy": {"zeros_skipped": {"snn_deployed": {"loihi2": snn}, "ann_mlp": {"cpu": ann_priced}}}}

    report = report_with(snn_priced)
    day = energy_per_day(report, profiles, units_per_second=1.0, duty_cycle=0.5, battery_wh=100.0)
    snn, ann = day["rows"]
    assert snn["classifications_per_day"] == 43200
    assert snn["classification_J_per_day"] == pytest.approx([1e-5 * 43200, 2e-5 * 43200])
    static_w = profiles[0].get("power.static_per_chip").lo  # 0.232078 W, lava-dl's pilotnet_snn benchmark
    assert snn["static_J_per_day"] == pytest.approx([static_w * 43200, static_w * 43200])
    assert snn["dominant"] == "static" and not snn["lower_bound"] and snn["real_time"]
    total = [static_w * 43200 + 0.432, static_w * 43200 + 0.864]
    assert snn["battery_days"] == pytest.approx([360000 / total[1], 360000 / total[0]])
    assert ann["lower_bound"] and ann["static_J_per_day"] is None
    sw = day["swamping"][0]
    assert sw["saving_J_per_day"] == pytest.approx([(3e-5 - 2e-5) * 43200, (3e-5 - 1e-5) * 43200])
    assert sw["verdict"].startswith("swamped")
    assert any("loihi2: static power alone" in s and "swamps" in s for s in day["statements"])
    slow = energy_per_day(report_with({**snn_priced, "latency_s": [0.5, 1.5]}), profiles, units_per_second=1.0)
    assert slow["rows"][0]["real_time"] is False and any("cannot keep up" in s for s in slow["statements"])


@pytest.mark.lava
def test_lava_backend_checks_windows_against_the_emulator(q, recording, tmp_path):
    result = detect(q, [recording], tmp_path / "out", options=DetectOptions(backend="lava", lava_units=2, energy=False),
                    progress=False)
    lava = result["lava"]
    assert lava["ok"] and len(lava["units"]) == 2
    assert all(la["exact"] and la["mismatches"] == 0 for la in lava["layers"])
    assert sum(la["spikes_emulator"] for la in lava["layers"]) > 0


def test_no_progress_turns_the_detect_bar_off(q, recording, tmp_path):
    """Without --json, detect draws a progress bar over the hours of audio on stderr; --no-progress
    removes it and nothing else (the same events are written)."""
    shown = _cli("detect", str(q), str(recording), "--out", str(tmp_path / "a"))
    quiet = _cli("detect", str(q), str(recording), "--out", str(tmp_path / "b"), "--no-progress")
    assert shown.returncode == 0 and quiet.returncode == 0, shown.stderr + quiet.stderr
    assert "h of audio" in shown.stderr and "h of audio" not in quiet.stderr
    assert (json.loads((tmp_path / "a" / "buoy.events.json").read_text())["events"]
            == json.loads((tmp_path / "b" / "buoy.events.json").read_text())["events"])

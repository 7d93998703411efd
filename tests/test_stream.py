"""The streaming path (issue 13): the IR's "frames" encoding, `Emulator.stream` carrying neuron
state across blocks, Lava fed one graded frame per step without a reset, a quantised snntorch
RLeaky network, and frames of a recording equal to those of clips cut from it."""

import numpy as np
import pytest
import torch

from tests.ir_factory import calibrate_thresholds, random_rec_ir
from toolchain.emulator import Emulator
from toolchain.ir.checks import validate


def _blocks(emu: Emulator, inp: np.ndarray, cuts: list[int], record_v: bool = True):
    """Stream `inp` [B, T, n] in blocks split at `cuts`; spikes / v / u joined along time."""
    state, parts = None, []
    for a, b in zip([0] + cuts, cuts + [inp.shape[1]]):
        res, state = emu.stream(inp[:, a:b], state, record_v=record_v)
        parts.append(res)
    spikes = [np.concatenate([p.layer_spikes[i] for p in parts], axis=1) for i in range(len(parts[0].layer_spikes))]
    v = [np.concatenate([p.meta["v"][i] for p in parts], axis=1) for i in range(len(spikes))] if record_v else None
    u = [np.concatenate([p.meta["u"][i] for p in parts], axis=1) for i in range(len(spikes))] if record_v else None
    return spikes, v, u, state


def _assert_layers_equal(a_spikes, b_spikes, what: str):
    for i, (a, b) in enumerate(zip(a_spikes, b_spikes)):
        assert a.shape == b.shape, f"{what}: layer {i} shapes {a.shape} != {b.shape}"
        bad = np.argwhere(a != b)
        assert bad.size == 0, f"{what}: layer {i} first mismatch at (clip, step, neuron) {bad[0]}"


@pytest.mark.lava
@pytest.mark.parametrize("reset,seed", [("zero", 0), ("subtract", 1)])
def test_streamed_blocks_equal_one_long_run_equal_lava(reset, seed):
    """dense -> dense_rec -> dense with "frames" input: 3 blocks with state carried == one 45-step
    run == Lava (one stream of 45 graded frames, no reset), every neuron's spike, v and u every step."""
    from export.lava_graph import run_lava

    rng = np.random.default_rng(4100 + seed)
    ir = random_rec_ir(rng, [9, 8, 7, 3], "frames", reset=reset, num_steps=6)
    inp = rng.integers(0, 64, size=(1, 45, 9)).astype(np.int32)
    calibrate_thresholds(ir, inp)
    validate(ir)
    emu = Emulator(ir)
    whole = emu.run(inp, record_v=True)
    for i, s in enumerate(whole.layer_spikes):
        assert s.any() and not s.all(), f"population {i} is silent or saturated: the test exercises nothing"
    spikes, v, u, state = _blocks(emu, inp, [7, 20])
    _assert_layers_equal(spikes, whole.layer_spikes, "blocks vs one run")
    for i in range(len(spikes)):
        assert np.array_equal(v[i].astype(np.int64), whole.meta["v"][i].astype(np.int64)), f"v of layer {i}"
        assert np.array_equal(u[i].astype(np.int64), whole.meta["u"][i].astype(np.int64)), f"u of layer {i}"
    assert np.array_equal(state[-1].s[0], whole.layer_spikes[-1][0, -1]), "carried spikes are the last step's"
    lava = run_lava(ir, inp, record_v=True)
    assert lava.meta["num_steps"] == 45
    _assert_layers_equal(spikes, lava.layer_spikes, "emulator stream vs Lava")
    for i in range(len(spikes)):
        assert np.array_equal(v[i].astype(np.int64), lava.meta["v"][i].astype(np.int64)), f"Lava v of layer {i}"
    # the carried state matters: restarting every block at rest gives other spikes
    restarted = [emu.stream(inp[:, a:b])[0].layer_spikes for a, b in ((0, 7), (7, 20), (20, 45))]
    joined = [np.concatenate([r[i] for r in restarted], axis=1) for i in range(len(spikes))]
    assert any(not np.array_equal(a, b) for a, b in zip(joined, spikes))


def _tiny_rec_net(seed: int = 0, n: int = 12, hidden: int = 10, T: int = 8):
    from models.snn_rec import SNNRec

    torch.manual_seed(seed)
    model = SNNRec([n, hidden, 2], encoding="frames", num_steps=T, input_shape=(T, n), bias=True)
    with torch.no_grad():
        model.layers[0].synapse.weight.mul_(3.0)
        model.layers[0].recurrent.weight.mul_(2.0)
        model.layers[1].weight.mul_(4.0)
        model.layers[0].synapse.bias.add_(0.3)
        model.layers[1].bias.add_(0.3)
    return model.to_float_network()


@pytest.mark.lava
def test_quantised_rleaky_frames_network_streams_like_lava():
    """An snntorch RLeaky network (snn_rec, "frames") quantises to the IR's "frames" encoding (layer 1
    memoryless, 8-bit graded frames) and its emulator stream over blocks equals Lava's run."""
    from export.lava_graph import run_lava
    from toolchain.quantize.ptq import quantize
    from toolchain.represent.encoding import encode_for_ir

    net = _tiny_rec_net()
    rng = np.random.default_rng(7)
    calib = rng.random((32, 8 * 12)).astype(np.float32)
    ir, report = quantize(net, calib, name="tiny-stream")
    assert ir.input.encoding == "frames" and ir.input.n_in == 12 and ir.kinds == ["dense_rec", "dense"]
    assert ir.layers[0].du == 4095 and ir.input.bits == 8
    # the binary feedback gets its own exponent: at W's (shifted for 8-bit frames) V would clip
    rec = next(la for la in report["layers"] if la["kind"] == "dense_rec")
    assert ir.layers[0].rec_exp > ir.layers[0].weight_exp and rec["weight_rec_clipped_fraction"] == 0.0
    x = rng.random((1, 50, 12))  # a 50-frame stream (the clip has 8)
    inp = encode_for_ir(ir, x)
    assert inp.shape == (1, 50, 12) and inp.dtype == np.int32 and inp.max() <= 255
    emu = Emulator(ir)
    spikes, _, _, _ = _blocks(emu, inp, [13, 31], record_v=False)
    assert all(s.any() for s in spikes), "a population never spikes: the test exercises nothing"
    _assert_layers_equal(spikes, run_lava(ir, inp).layer_spikes, "quantised stream vs Lava")
    # a clip of num_steps frames flattened [B, T * n] encodes as the same frames
    clip = rng.random((2, 8 * 12))
    assert np.array_equal(encode_for_ir(ir, clip), encode_for_ir(ir, clip.reshape(2, 8, 12)))


def test_stream_frames_equal_clip_frames():
    """With normalise "fixed", frames computed over a long stretch of audio equal the frames of a
    clip cut from it at a multiple of hop (what lets a stream reuse the training representation);
    per-clip normalisation is refused for a stream."""
    from toolchain.core.errors import ConfigError
    from toolchain.represent import (
        SpectrogramFramesConfig,
        fit_normalisation,
        spectrogram,
        stream_frames,
    )

    rng = np.random.default_rng(3)
    audio = (rng.standard_normal(12000) * 0.05).astype(np.float32)
    audio[5000:6000] += 0.3 * np.sin(2 * np.pi * 150 * np.arange(1000) / 2000).astype(np.float32)
    cfg = fit_normalisation(audio[None, :4000], SpectrogramFramesConfig(scale="log", normalise="fixed"))
    assert cfg.norm_min is not None and cfg.norm_max > cfg.norm_min
    long = stream_frames(audio, cfg)
    assert long.shape == (1 + (12000 - 512) // 26, 105)
    k = 150  # clip starting at frame 150 (sample 3900)
    clip = spectrogram(audio[None, k * 26:k * 26 + 4000], cfg)[0]
    assert clip.shape == (135, 105)
    np.testing.assert_allclose(long[k:k + 135], clip, rtol=0, atol=1e-6)
    assert 0.0 <= long.min() and long.max() <= 1.0 and (long == 0).mean() > 0.3  # the median level maps to 0
    with pytest.raises(ConfigError, match="needs normalise='fixed'"):
        stream_frames(audio, SpectrogramFramesConfig(scale="log"))


def test_recurrent_exponent_survives_the_ir_file_and_defaults_to_the_layer_exponent(tmp_path):
    """weight_exp_rec is stored and read back; a layer without it (older files) uses weight_exp, and the
    emulator shifts the feedback by it (a different exponent changes the spikes)."""
    from toolchain.ir import load_ir, save_ir

    rng = np.random.default_rng(12)
    ir = random_rec_ir(rng, [9, 8, 7, 3], "frames", num_steps=6)
    inp = rng.integers(0, 64, size=(1, 30, 9)).astype(np.int32)
    calibrate_thresholds(ir, inp)
    rec = ir.layers[1]
    assert rec.weight_exp_rec is None and rec.rec_exp == rec.weight_exp and rec.params()["weight_exp_rec"] == rec.weight_exp
    before = Emulator(ir).run(inp).layer_spikes[1]
    rec.weight_exp_rec = rec.weight_exp + 2
    save_ir(ir, tmp_path / "n.ndir")
    back = load_ir(tmp_path / "n.ndir")
    assert back.layers[1].rec_exp == rec.weight_exp + 2
    assert not np.array_equal(Emulator(back).run(inp).layer_spikes[1], before)

"""Config files: validation errors name the key; presets load; overrides; model vs data sizes."""

import pytest

from tests.test_train_helpers import blobs, config
from toolchain.core.errors import ConfigError
from toolchain.train.config import load_config, parse_override, read_config, validate
from toolchain.train.sweep import expand

BASE = '[data]\npath = "whales"\n'


def _load(tmp_path, text, **kw):
    path = tmp_path / "run.toml"
    path.write_text(BASE + text)
    return load_config(path, **kw)


@pytest.mark.parametrize("text, message", [
    ("[model]\nbetta = 0.9\n", "unknown key model.betta"),
    ("[model]\nbeta = 1.5\n", "model.beta = 1.5 is outside (0, 1]"),
    ("[model]\nbeta = 0\n", "model.beta = 0 is outside (0, 1]"),
    ("[model]\nnum_steps = 0\n", "model.num_steps = 0 must be >= 1"),
    ("[model]\nreset = \"none\"\n", "model.reset = 'none' must be one of 'zero', 'subtract'"),
    ("[model]\nhidden = [64, 0]\n", "model.hidden = [64, 0] must be a non-empty list of positive integers"),
    ("[train]\nlr = -1\n", "train.lr = -1 is outside (0, inf)"),
    ("[train]\nepochs = 2.5\n", "train.epochs = 2.5 must be an integer"),
    ("[train]\ncolour = 1\n", "unknown key train.colour"),
    ("[representation]\nkind = \"waveform\"\nnfft = 256\n", "unknown waveform parameter(s): nfft"),
    ("[representation]\nkind = \"waveform\"\n[model]\nkind = \"cnn\"\n",
     "model.kind = 'cnn' needs representation.kind = 'spectrogram'"),
    ("[sweep]\nfolds = 3\n", "[sweep] belongs in a sweep config"),
    ("[model\n", "not valid TOML"),
])
def test_invalid_configs_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    assert message in str(err.value)
    assert "run.toml" in str(err.value)


def test_defaults_and_relative_data_path(tmp_path):
    cfg = _load(tmp_path, "")
    assert cfg["name"] == "run"
    assert cfg["data"]["path"] == str((tmp_path / "whales").resolve())
    assert cfg["model"]["reset"] == "zero" and cfg["model"]["bias"] is False
    assert cfg["representation"]["kind"] == "spectrogram" and cfg["representation"]["nfft"] == 512
    ann = _load(tmp_path, "[model]\nkind = \"ann_mlp\"\n")
    assert ann["model"]["bias"] is True


def test_overrides_and_missing_data_path(tmp_path):
    cfg = _load(tmp_path, "", overrides=["model.num_steps=7", "model.beta=\"learnable\"",
                                         "model.encoding=rate"])
    assert (cfg["model"]["num_steps"], cfg["model"]["beta"], cfg["model"]["encoding"]) == (7, "learnable", "rate")
    assert parse_override("train.lr = 1e-4") == ("train.lr", 1e-4)
    with pytest.raises(ConfigError, match="data.path is not set"):
        load_config(preset="snn-2d")


def test_layer_size_that_does_not_match_the_data_is_refused():
    x, y = blobs()
    with pytest.raises(ConfigError, match=r"model.n_in = 8000 does not match the data: the "
                                          r"spectrogram representation gives 80 inputs"):
        config(x, y, model={"n_in": 8000})
    assert config(x, y, model={"n_in": 80})["resolved"]["sizes"] == [80, 24, 2]
    assert config(x, y, model={"hidden": "seed"})["resolved"]["sizes"] == [80, 4096, 512, 64, 2]


@pytest.mark.parametrize("preset", ["snn-2d", "snn-1d", "ann-mlp", "cnn"])
def test_run_presets_validate(preset):
    cfg = load_config(preset=preset, data="somewhere")
    assert cfg["name"] == preset


def test_caid2025_preset_is_the_seed_grid():
    raw, where = read_config(preset="caid2025", data="somewhere")
    cfg = validate(raw, where, sweep=True)
    assert cfg["sweep"]["grid"] == {"representation.kind": ["waveform", "spectrogram"],
                                    "model.beta": [0.7, 0.8, 0.9, 0.95, "learnable"],
                                    "model.num_steps": [1, 10, 20, 30, 40, 50]}
    trials = expand(raw, where)
    assert len(trials) == 2 * 5 * 6 * 5 and len({t.id for t in trials}) == len(trials)
    assert {t.config["representation"]["kind"] for t in trials} == {"waveform", "spectrogram"}


def test_sweep_grid_values_are_validated(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(BASE + '[sweep]\nfolds = 2\n[sweep.grid]\n"model.beta" = [0.9, 1.2]\n')
    raw, where = read_config(path)
    with pytest.raises(ConfigError, match=r"sweep.grid cell model.beta = 1.2\): model.beta = 1.2 is outside"):
        expand(raw, where)


def test_data_subset_is_stratified_sorted_and_seeded():
    import numpy as np

    from toolchain.train.inputs import subset_indices

    labels = np.array([1] * 234 + [0] * 766)
    idx = subset_indices(labels, 300, seed=0)
    assert len(idx) == 300 and int(labels[idx].sum()) == round(300 * 0.234)
    assert np.all(np.diff(idx) > 0) and np.array_equal(idx, subset_indices(labels, 300, seed=0))
    assert not np.array_equal(idx, subset_indices(labels, 300, seed=1))
    assert subset_indices(labels, 0, 0) is None and subset_indices(labels, 5000, 0) is None

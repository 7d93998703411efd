"""Property tests (Hypothesis) for the validators and loaders that take outside input: random edits of
a valid train config, pipeline config, IR file or netx .net file (run by netx, imported by read_netx)
give either a valid object or a named refusal (a NeurodeployError naming the file or field), never
any other exception."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from toolchain.core.errors import NeurodeployError

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# values of every TOML / JSON type, including the awkward ones (huge, negative, NaN, empty, nested)
SCALARS = st.one_of(
    st.booleans(), st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1),
    st.sampled_from([0, 1, -1, 2, 10 ** 9, 10 ** 18]), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["", "seed", "learnable", "snn", "cnn", "dc", "rate", "log", "..", "/x"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=8)


def _paths(obj, prefix=()):
    """Every key path into nested dicts/lists of `obj` (the places an edit can hit)."""
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def edited(draw, base: dict, extra_keys: tuple[str, ...] = ()):
    """`base` with 1-3 random edits: a value replaced, a key deleted, or a key added."""
    obj = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(obj)
        op = draw(st.sampled_from(["replace", "delete", "add"]))
        if op == "add" or not paths:
            table = obj
            target = draw(st.sampled_from([p for p in paths if isinstance(_get(obj, p), dict)] + [()]))
            table = _get(obj, target)
            table[draw(st.one_of(st.sampled_from(extra_keys or ("x",)), st.text(max_size=6)))] = draw(VALUES)
            continue
        path = draw(st.sampled_from(paths))
        parent, key = _get(obj, path[:-1]), path[-1]
        if op == "delete" and isinstance(parent, dict):
            del parent[key]
        else:
            parent[key] = draw(VALUES)
    return obj


def _get(obj, path):
    for k in path:
        obj = obj[k]
    return obj


def _named(exc: NeurodeployError, *names: str) -> bool:
    return any(n in str(exc) for n in names)


# ---- training config -------------------------------------------------------------------------

TRAIN = {"name": "r", "seed": 0, "data": {"path": "/data", "val_fraction": 0.2},
         "representation": {"kind": "spectrogram", "scale": "linear"},
         "model": {"kind": "snn", "hidden": [16], "num_steps": 10, "beta": 0.9, "threshold": 1.0},
         "train": {"epochs": 3, "batch_size": 16, "lr": 1e-3}}


@SETTINGS
@given(edited(TRAIN, extra_keys=("sweep", "resolved", "kernel", "channels", "nfft", "hop", "n_mels")))
def test_train_config_edits_validate_or_are_refused_by_name(raw):
    from toolchain.train.config import validate

    try:
        cfg = validate(raw, "edited.toml")
    except NeurodeployError as exc:
        assert _named(exc, "edited.toml"), str(exc)
        return
    assert cfg["model"]["num_steps"] >= 1 and cfg["name"] in (None, raw.get("name"))


# ---- pipeline config -------------------------------------------------------------------------

PIPE = {"data": {"synth_clips": 120, "synth_seed": 3},
        "runs": {"snn_2d": {"preset": "snn-2d", "set": ["model.hidden=[24]", "model.num_steps=6"]},
                 "ann_mlp": {"preset": "ann-mlp", "set": ["model.hidden=[24]"]}},
        "quantize": {"calib": 32}, "verify": {"clips": 2}, "energy": {"profiles": ["loihi"], "clips": 8},
        "report": {"bootstrap": 50}}


@SETTINGS
@given(edited(PIPE, extra_keys=("deploy", "path", "preset", "config", "set", "weight_bits", "dc_input")))
@example(raw={**PIPE, "quantize": {"calib": 32, "weight_bits": 0}})  # once refused without naming the file
def test_pipeline_config_edits_validate_or_are_refused_by_name(raw):
    from toolchain.pipeline.config import check_runs, validate_pipeline

    try:
        cfg = validate_pipeline(raw, "pipe.toml", base=Path("/nonexistent-base"))
        check_runs(cfg, "/data")
    except NeurodeployError as exc:
        assert _named(exc, "pipe.toml", "runs.", "preset", "config file", "profile", "--set", "deploy"), str(exc)


# ---- IR files --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ir_parts():
    from tests.float_factory import float_net
    from toolchain.quantize import QuantConfig, quantize

    rng = np.random.default_rng(0)
    ir, _ = quantize(float_net(rng, sizes=(6, 5, 2), num_steps=4), rng.random((8, 6)), QuantConfig())
    tensors = {f"layers.{i}.{name}": np.asarray(arr, dtype=np.int32)
               for i, layer in enumerate(ir.layers) for name, arr in layer.tensors().items()}
    return ir.header(), tensors


TENSOR_EDITS = st.sampled_from(["none", "drop", "float", "shape", "huge"])


@SETTINGS
@given(data=st.data())
def test_ir_file_edits_load_or_are_refused_naming_the_file(tmp_path, ir_parts, data):
    from toolchain.core import tensorfile
    from toolchain.ir import NetworkIR, load_ir
    from toolchain.ir.io import FILE_KIND as KIND

    header, tensors = ir_parts
    head = data.draw(edited(header, extra_keys=("num_steps", "encoding", "bits", "scale", "reset", "vth")))
    tensors = dict(tensors)
    edit, key = data.draw(TENSOR_EDITS), data.draw(st.sampled_from(sorted(tensors)))
    if edit == "drop":
        del tensors[key]
    elif edit == "float":
        tensors[key] = tensors[key].astype(np.float32) + 0.5
    elif edit == "shape":
        tensors[key] = tensors[key].reshape(-1)[:-1].copy() if tensors[key].size > 1 else np.zeros((2, 2), np.int32)
    elif edit == "huge":
        tensors[key] = tensors[key] + np.int32(2 ** 30)
    path = tmp_path / "edited.ndir"
    path.unlink(missing_ok=True)
    try:
        tensorfile.save(path, KIND, head, tensors)  # a well-formed file with a valid digest: the content is checked
    except (TypeError, ValueError):
        return  # not JSON-writable (e.g. NaN keys): no such file can exist
    try:
        ir = load_ir(path)
    except NeurodeployError as exc:
        assert _named(exc, str(path)), str(exc)
        return
    assert isinstance(ir, NetworkIR) and ir.num_steps >= 1


# ---- netx .net files -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def net_file(tmp_path_factory, ir_parts):
    from export.netx import write_netx
    from tests.float_factory import float_net
    from toolchain.quantize import QuantConfig, quantize

    rng = np.random.default_rng(1)
    ir, _ = quantize(float_net(rng, sizes=(6, 5, 2), num_steps=4), rng.random((8, 6)), QuantConfig(netx_compatible=True))
    return write_netx(ir, tmp_path_factory.mktemp("netx") / "n.net"), ir


NET_EDITS = st.sampled_from(["value", "delete", "dtype", "attr", "truncate", "garbage"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edit=NET_EDITS, redigest=st.booleans(), where=st.integers(0, 10 ** 6), value=st.floats(-1e6, 1e6))
def test_net_file_edits_load_or_are_refused_naming_the_file(tmp_path, net_file, edit, redigest, where, value):
    import uuid

    import h5py

    from export.netx import load_netx, read_netx
    from export.netx.files import _datasets_digest

    original, ir = net_file
    path = tmp_path / f"edited-{uuid.uuid4().hex[:8]}.net"  # netx may keep an earlier example's file open
    data = original.read_bytes()
    if edit == "truncate":
        path.write_bytes(data[: where % len(data)])
    elif edit == "garbage":
        cut = where % len(data)
        path.write_bytes(data[:cut] + b"\xff" * 64 + data[cut + 64:])
    else:
        path.write_bytes(data)
        with h5py.File(path, "r+") as f:
            names = []
            f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
            name = sorted(names)[where % len(names)]
            if edit == "value":
                arr = np.array(f[name][()])
                if arr.dtype.kind in "fiub" and arr.size:
                    arr = arr.astype(np.float64)
                    arr.flat[where % arr.size] = value
                    del f[name]
                    f[name] = arr
            elif edit == "delete":
                del f[name]
            elif edit == "dtype":
                del f[name]
                f[name] = np.bytes_("not a number")
            else:
                f.attrs["num_steps"] = value
            if redigest:  # an edit that keeps the digest consistent: the content itself is checked
                f.attrs["neurodeploy_digest"] = _datasets_digest(f)
    for load in (lambda: load_netx(path, ir), lambda: read_netx(path, num_steps=4), lambda: read_netx(path)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                load()
        except NeurodeployError as exc:
            assert _named(exc, str(path)), str(exc)


def test_the_unedited_inputs_are_valid(tmp_path, ir_parts, net_file):
    """The properties start from valid objects (so an edit, not the base, is what gets refused)."""
    from export.netx import load_netx
    from toolchain.core import tensorfile
    from toolchain.ir import load_ir
    from toolchain.ir.io import FILE_KIND as KIND
    from toolchain.pipeline.config import check_runs, validate_pipeline
    from toolchain.train.config import validate

    assert validate(copy.deepcopy(TRAIN), "base.toml")["model"]["hidden"] == [16]
    check_runs(validate_pipeline(copy.deepcopy(PIPE), "pipe.toml"), "/data")
    header, tensors = ir_parts
    assert load_ir(tensorfile.save(tmp_path / "base.ndir", KIND, header, tensors)).num_steps == 4
    from export.netx import read_netx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert load_netx(*net_file) is not None
        assert read_netx(net_file[0], num_steps=4).sizes == net_file[1].sizes

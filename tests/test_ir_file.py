"""The IR file: round trip, and refusal of out-of-range, inconsistent, unknown-schema or tampered files."""

import numpy as np
import pytest

from toolchain.core.errors import ArtifactError
from toolchain.ir import InputSpec, LayerIR, NetworkIR, load_ir, save_ir
from toolchain.ir.checks import IRError, problems, validate


def small_ir() -> NetworkIR:
    rng = np.random.default_rng(0)
    return NetworkIR("t", 5, InputSpec(n_in=4, encoding="graded_once", bits=8, scale=255.0, shape=(2, 2)), [
        LayerIR(name="fc0", weight=rng.integers(-128, 128, (3, 4)).astype(np.int32), bias_mant=np.zeros(3, np.int32), du=0, dv=100, vth=500),
        LayerIR(name="fc1", weight=rng.integers(-128, 128, (2, 3)).astype(np.int32), bias_mant=np.array([5, -5], np.int32), dv=10, vth=50),
    ])


def test_round_trip_is_exact(tmp_path):
    ir = small_ir()
    path = save_ir(ir, tmp_path / "n.ndir")
    back = load_ir(path)
    assert back.header() == ir.header()
    for a, b in zip(ir.layers, back.layers):
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias_mant, b.bias_mant)


@pytest.mark.parametrize("mutate,expected", [
    (lambda ir: ir.layers[1].weight.__setitem__((0, 0), 300), "layer 1 ('fc1') field 'weight': values"),
    (lambda ir: setattr(ir.layers[0], "vth", 131072), "layer 0 ('fc0') field 'vth': 131072 outside 0..131071"),
    (lambda ir: setattr(ir.layers[0], "dv", 4096), "field 'dv': 4096 outside 0..4095"),
    (lambda ir: setattr(ir.layers[1], "bias_mant", np.array([5000, 0], np.int32)), "field 'bias_mant': values 0..5000"),
    (lambda ir: setattr(ir.layers[1], "weight", np.ones((2, 5), np.int32)), "expects 5 inputs but the previous stage has 3"),
    (lambda ir: setattr(ir.layers[0], "du", 4095), "'graded_once' needs du=0"),
    (lambda ir: setattr(ir.layers[0], "weight_bits", 12), "field 'weight_bits': 12 outside 1..9"),
    (lambda ir: setattr(ir, "schema_version", 99), "schema_version 99 is not supported"),
])
def test_bad_ir_is_refused_naming_layer_and_field(tmp_path, mutate, expected):
    ir = small_ir()
    mutate(ir)
    path = save_ir(ir, tmp_path / "bad.ndir", check=False)  # as a buggy or foreign tool might write it
    with pytest.raises(IRError) as err:
        load_ir(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_valid_ir_has_no_problems():
    assert problems(small_ir()) == []
    validate(small_ir())


def test_tampered_and_truncated_files_are_refused(tmp_path):
    path = save_ir(small_ir(), tmp_path / "n.ndir")
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01  # flip one bit inside the last tensor
    (tmp_path / "tampered.ndir").write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="corrupt or was modified"):
        load_ir(tmp_path / "tampered.ndir")
    (tmp_path / "cut.ndir").write_bytes(path.read_bytes()[: len(data) // 2])
    with pytest.raises(ArtifactError, match="truncated or unreadable"):
        load_ir(tmp_path / "cut.ndir")
    with pytest.raises(ArtifactError, match="does not exist"):
        load_ir(tmp_path / "missing.ndir")

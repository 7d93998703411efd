"""Artifacts survive failed writes, and truncated or tampered artifacts give one clear error."""

import errno
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.float_factory import float_net
from toolchain.core.errors import ArtifactError, OutputError
from toolchain.ir import load_ir, save_ir
from toolchain.pipeline.stage import Stage, execute, read_manifest, verify_artifacts
from toolchain.quantize import QuantConfig, quantize


@pytest.fixture()
def ir():
    rng = np.random.default_rng(0)
    return quantize(float_net(rng, sizes=(12, 8, 2), num_steps=5), rng.random((20, 12)), QuantConfig(netx_compatible=True))[0]


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if ".tmp" in p.name]


def test_disk_full_while_writing_leaves_the_previous_artifact_intact(tmp_path, ir, monkeypatch):
    import safetensors.numpy

    path = save_ir(ir, tmp_path / "network.ndir")
    before = path.read_bytes()

    def full_disk(tensors, filename, metadata=None):
        with open(filename, "wb") as fh:
            fh.write(b"\x00" * 100)  # a partial write, then the device is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors.numpy, "save_file", full_disk)
    ir.layers[0].vth += 1
    with pytest.raises(OutputError, match=f"cannot write {path}: No space left on device; nothing there was replaced"):
        save_ir(ir, path)
    assert path.read_bytes() == before and load_ir(path).layers[0].vth == ir.layers[0].vth - 1
    assert _leftovers(tmp_path) == []


def test_permission_error_on_rename_leaves_the_previous_artifact_intact(tmp_path, ir, monkeypatch):
    path = save_ir(ir, tmp_path / "network.ndir")
    before = path.read_bytes()

    def denied(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", denied)
    ir.layers[0].vth += 1
    with pytest.raises(OutputError, match=f"cannot write {path}: Permission denied; nothing there was replaced"):
        save_ir(ir, path)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_a_failing_stage_leaves_the_previous_stage_folder_intact(tmp_path):
    def good(work, inputs):
        (work / "result.txt").write_text("first")
        return {"n": 1}

    def broken(work, inputs):
        (work / "result.txt").write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    execute(Stage("s", good), tmp_path, {})
    with pytest.raises(OSError):
        execute(Stage("s", broken), tmp_path, {})
    assert (tmp_path / "s" / "result.txt").read_text() == "first"
    assert verify_artifacts(tmp_path / "s", read_manifest(tmp_path / "s")) == []
    assert [p.name for p in tmp_path.iterdir()] == ["s"]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "toolchain", *args], capture_output=True, text=True)


def test_cli_reports_a_truncated_ir_in_one_line(tmp_path, ir):
    path = save_ir(ir, tmp_path / "q" / "network.ndir")
    path.write_bytes(path.read_bytes()[:300])
    proc = _cli("export", str(tmp_path / "q"), "--format", "netx", "--out", str(tmp_path / "x.net"))
    assert proc.returncode == 2
    assert "IR file" in proc.stderr and "truncated" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.net").exists()


@pytest.mark.lava
def test_truncated_and_tampered_netx_files_are_refused_clearly(tmp_path, ir):
    from export.netx import load_netx, write_netx

    path = write_netx(ir, tmp_path / "n.net")
    data = path.read_bytes()
    (tmp_path / "cut.net").write_bytes(data[: len(data) // 3])
    with pytest.raises(ArtifactError, match="cut.net could not be loaded by netx"):
        load_netx(tmp_path / "cut.net", ir)
    import h5py

    tampered = tmp_path / "tampered.net"
    tampered.write_bytes(data)
    with h5py.File(tampered, "r+") as f:
        f["layer/0/weight"][0, 0] += 2  # a valid file whose weights were edited
    with pytest.raises(ArtifactError, match="tampered.net is corrupt or was modified"):
        load_netx(tampered, ir)
    load_netx(path, ir)  # the original still loads

"""The distributed engine on a real two-node Ray cluster on the loopback address: a worker node is
killed mid-sweep and the sweep still completes, every trial's row written once, no finished trial
run again; and a bad --address is one clear line."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SWEEP = """
seed = 0
[data]
path = "{data}"
[representation]
kind = "spectrogram"
[model]
hidden = [16]
threshold = 0.5
[train]
epochs = {epochs}
patience = {epochs}
batch_size = 16
lr = 5e-3
[sweep]
folds = 3
cpus_per_trial = 1
[sweep.grid]
"model.beta" = [0.8, 0.9, "learnable"]
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from toolchain.data import synthesize

    return synthesize(tmp_path_factory.mktemp("whales") / "synth", 48, seed=1, progress=False)


def _sweep(tmp_path, data, *args, env=None, epochs=30, out="out", **kw):
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(SWEEP.format(data=data, epochs=epochs))
    cmd = [sys.executable, "-m", "toolchain", "sweep", "--config", str(cfg), "--out", str(tmp_path / out),
           "--no-progress", "--json", *args]
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _rows(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (out / "trials").glob("[!.]*.json")} if (out / "trials").is_dir() else {}


def test_a_sweep_survives_losing_a_worker_node(tmp_path, data):
    import secrets

    token = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}  # shared by cluster and sweep only
    helper = subprocess.Popen([sys.executable, "-m", "tests.ray_cluster"], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              env={**os.environ, **token})
    try:
        info = json.loads(helper.stdout.readline())
        assert info["address"].startswith("127.0.0.1:") and info["ips"] == ["127.0.0.1", "127.0.0.1"]
        # a sweep with another token is refused in one line (it runs while the real one starts)
        intruder = _sweep(tmp_path, data, "--address", info["address"], out="intruder",
                          env={**token, "RAY_AUTH_TOKEN": secrets.token_hex(16)})
        # trials long enough (60 epochs) that the worker is still inside its next one 0.5 s after it
        # finished one, on a fast machine too
        proc = _sweep(tmp_path, data, "--address", info["address"], env=token, epochs=60)
        out, seen, deadline, killed = tmp_path / "out", {}, time.time() + 240, False
        while proc.poll() is None:
            assert time.time() < deadline, "sweep did not finish"
            for name, body in _rows(out).items():
                seen.setdefault(name, body)
            # once the worker node has finished a trial it has taken the next one: kill it mid-trial
            if not killed and any(json.loads(b)["node"] == info["worker"] for b in seen.values()):
                time.sleep(0.5)
                helper.stdin.write("kill-worker\n")
                helper.stdin.flush()
                assert json.loads(helper.stdout.readline()) == {"killed": info["worker"]}
                killed = True
            time.sleep(0.1)
        stdout, stderr = proc.communicate()
        assert proc.returncode == 0, stderr[-3000:]
        assert killed, "the worker node never finished a trial"
        summary = json.loads(stdout)
        final = _rows(out)
        assert len(final) == summary["trials"] == 9 and summary["finished"] == 9
        assert all(final[name] == body for name, body in seen.items()), "a finished trial was run again"
        rows = [json.loads(b) for b in final.values()]
        assert len({r["trial_id"] for r in rows}) == 9
        assert {r["node"] for r in rows} == {info["worker"], info["head"]}
        assert summary["retried"], "no trial was lost with the killed node (it was idle)"
        for trial_id in summary["retried"]:  # a lost trial was run again, on the node that is left
            assert next(r for r in rows if r["trial_id"] == trial_id)["node"] == info["head"]

        i_out, i_err = intruder.communicate(timeout=120)
        assert intruder.returncode == 2, i_err[-3000:]
        assert "refused this machine's Ray authentication token" in i_err and "Traceback" not in i_err
        assert len(i_err.strip().splitlines()) == 1, i_err
        assert json.loads(i_out)["kind"] == "ConfigError" and not _rows(tmp_path / "intruder")
    finally:
        with contextlib.suppress(OSError, ValueError):
            helper.stdin.write("stop\n")
            helper.stdin.close()
        helper.wait(timeout=60)


def test_an_unreachable_address_is_one_clear_line(tmp_path, data):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _sweep(tmp_path, data, "--address", f"127.0.0.1:{port}")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    assert f"--address 127.0.0.1:{port}: no Ray cluster answers there" in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    assert json.loads(stdout)["kind"] == "ConfigError"


def test_a_local_ray_binds_every_address_to_the_loopback():
    """The local Ray a sweep starts (connect_ray(None)) has its node, object store and GCS on
    127.0.0.1, never the machine's external interface."""
    code = (
        "import json, ray\n"
        "from toolchain.train.sweep import connect_ray\n"
        "connect_ray(None, num_cpus=1)\n"
        "ctx = ray.get_runtime_context()\n"
        "nodes = ray.nodes()\n"
        "print(json.dumps({'gcs': ctx.gcs_address, 'nodes': [n['NodeManagerAddress'] for n in nodes]}))\n"
        "ray.shutdown()\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["gcs"].startswith("127.0.0.1:"), info
    assert info["nodes"] and set(info["nodes"]) == {"127.0.0.1"}, info

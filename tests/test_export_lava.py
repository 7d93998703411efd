"""`export --format lava` writes a folder that runs in a fresh Python without neurodeploy, spike-equal to the emulator."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.float_factory import float_net
from toolchain.emulator import run_encoded
from toolchain.quantize import quantize
from toolchain.represent.encoding import encode_for_ir

pytestmark = pytest.mark.lava

SCRIPT = """
import json, sys, numpy as np
sys.path.insert(0, ".")
import lava_runtime
spec = json.load(open("network.json"))
arrays = dict(np.load("network.npz"))
inp = np.load("inp.npy")
out = lava_runtime.run(spec, arrays, inp)
np.savez("spikes.npz", *out["spikes"])
assert not any(m.split(".")[0] in ("toolchain", "export", "models") for m in sys.modules), "used neurodeploy"
"""


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_exported_lava_folder_runs_standalone(tmp_path, reset):
    from export.lava_graph import export_lava

    rng = np.random.default_rng(12)
    net = float_net(rng, sizes=(30, 20, 2), num_steps=8, reset=reset)
    ir, _ = quantize(net, rng.random((50, 30)))
    out = export_lava(ir, tmp_path / "lava")
    assert json.loads((out / "network.json").read_text())["layers"][0]["reset"] == reset
    inp = encode_for_ir(ir, rng.random((3, 30)))
    np.save(out / "inp.npy", inp)
    env_py = sys.executable
    proc = subprocess.run([env_py, "-c", SCRIPT], cwd=out, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = np.load(out / "spikes.npz")
    emu = run_encoded(ir, inp)
    for i, expected in enumerate(emu.layer_spikes):
        assert expected.any()
        assert np.array_equal(got[f"arr_{i}"], expected)

"""The float reference equals a plain per-step snntorch loop on the same network."""

import numpy as np
import pytest
import torch

from tests.float_factory import sequential
from toolchain.frontends.from_snntorch import from_snntorch
from toolchain.frontends.reference import simulate_float
from toolchain.represent.encoding import spike_trains


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("encoding", ["dc", "rate", "latency"])
def test_reference_equals_plain_snntorch_loop(reset, encoding):
    import snntorch.utils as sutils

    rng = np.random.default_rng(3)
    model = sequential(rng, reset=reset)
    T, x = 15, rng.random((20, 24))
    net = from_snntorch(model, T, encoding)
    ref = simulate_float(net, x, seed=5, dtype=torch.float32, chunk=len(x))
    sutils.reset(model)
    inp = (np.repeat(x[:, None], T, axis=1) if encoding == "dc"
           else spike_trains(x, encoding, T, 5, 24)).astype(np.float32)
    outs = []
    with torch.no_grad():
        for t in range(T):
            spk, _mem = model(torch.from_numpy(inp[:, t]))
            outs.append(spk.numpy() > 0)
    plain = np.stack(outs, axis=1)
    assert plain.sum() > 0
    assert np.array_equal(plain, ref.layer_spikes[-1])

"""The torch devices a test runs on: the CPU always, CUDA where torch sees a GPU (skipped elsewhere,
with the reason shown by `-ra`; CI has no GPU, a lent GPU machine runs these too)."""

import pytest
import torch

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                  reason="torch sees no CUDA GPU"))]


def generator(device: str, seed: int) -> torch.Generator:
    """A seeded generator on `device` (rate-coded input draws must come from the input's device)."""
    return torch.Generator(device=device).manual_seed(seed)

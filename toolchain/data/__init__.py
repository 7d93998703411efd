"""Right-whale up-call data: load and check the Kaggle data set, or synthesise a stand-in.

- `load_clips(path)` -> `ClipSet` (float32 [N, 4000] audio in [-1, 1), int8 labels, names in
  data-set order, skipped clips and every problem found); decoded once, then cached on disk.
- `check_dataset(path)` -> the data-check report (dict) behind `neurodeploy data check`.
- `synthesize(out_dir, n_clips, seed)` writes a synthetic data set in the Kaggle layout.

Accepted layouts: see `toolchain.data.layouts`; per-clip validation and repairs: see
`toolchain.data.audio`; cache location and keys: see `toolchain.data.cache`.
"""

from toolchain.data.loader import ClipSet, check_dataset, load_clips
from toolchain.data.problems import Problem
from toolchain.data.synth import SynthConfig, synthesize

__all__ = ["ClipSet", "Problem", "SynthConfig", "check_dataset", "load_clips", "synthesize"]

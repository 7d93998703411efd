"""Training: configs, one run, run folders, learning-failure diagnostics, sweeps.

Public API (imported lazily, so `toolchain.train.config` / `.runtime` load without torch):
- `load_config(path | preset=..., data=..., overrides=[...])` -> validated config dict
  (schema and defaults: toolchain.train.config);
- `train_run(cfg, out)` -> metrics dict, writing a run folder (toolchain.train.checkpoint);
- `load_run(run_dir)` -> `LoadedRun` (model in eval mode, config, metrics, val_indices, kind);
- `train_model(cfg, features, labels, train_idx, val_idx)` -> `Outcome` (no files);
- `diagnose(history)` -> learning failure or None;
- `run_sweep(raw_cfg, out)` -> sweep summary (toolchain.train.sweep).
"""

import importlib

_EXPORTS = {
    "LoadedRun": "toolchain.train.checkpoint", "load_run": "toolchain.train.checkpoint",
    "load_config": "toolchain.train.config", "validate": "toolchain.train.config",
    "diagnose": "toolchain.train.diagnostics", "Outcome": "toolchain.train.loop",
    "train_model": "toolchain.train.loop", "train_run": "toolchain.train.run",
    "run_sweep": "toolchain.train.sweep",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'toolchain.train' has no attribute {name!r}")

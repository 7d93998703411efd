"""Run and sweep configuration files (TOML): schema, defaults, validation, presets, overrides.

A run config (`neurodeploy train --config RUN.toml`):

    name = "snn-2d"            # run name (default: the file's stem)
    seed = 0                   # torch / numpy / split seed
    device = "auto"            # "auto" (CUDA when present) | "cpu" | "cuda"
    retries = 0                # re-train with seed + k (k = 1..retries) after a learning failure

    [data]
    path = "whales"            # Kaggle-layout folder or zip (relative to this file)
    split = "stratified"       # validation split: "stratified" (random) | "blocked" (contiguous)
    val_fraction = 0.2         # share of clips held out for validation
    cache = true               # use the data layer's decode / feature cache
    subset = 0                 # > 0: train on a seeded, class-stratified subset of this many clips

    [representation]           # passed to toolchain.represent (its own keys are checked there)
    kind = "spectrogram"       # "waveform" [4000] | "spectrogram" [105, 135]
    scale = "linear"           # e.g. spectrogram power scale: "linear" | "log" (the default) | "mel"

    [model]
    kind = "snn"               # "snn" (Linear + Leaky MLP) | "snn_conv" (Conv + Leaky layers,
                               # flatten, Linear + Leaky) | "snn_rec" (Linear + RLeaky recurrent
                               # hidden layers, Linear + Leaky output) | "ann_mlp" (ReLU MLP) |
                               # "cnn" (spectrogram only)
    hidden = "seed"            # "seed" (snn / ann_mlp only: 1D 2048-512-64, 2D 4096-512-64) or a
                               # list of sizes (snn_conv: the Linear layers after the flatten;
                               # snn_rec: the recurrent layers)
    n_in = 14175               # optional: checked against the data's input size
    bias = false               # default false for the SNNs, true for "ann_mlp" and "cnn"
    beta = 0.9                 # decay per step in (0, 1], or "learnable" (per layer, in (0, 1))
    beta_init = 0.9            # initial beta when learnable, in (0, 1)
    threshold = 1.0            # > 0, membrane units (weight x input units)
    slope = 25.0               # fast-sigmoid surrogate slope, > 0
    reset = "zero"             # "zero" (Loihi) | "subtract" (snntorch's default)
    encoding = "dc"            # "dc" | "rate" | "latency" | "frames" (a [T, n] input, row t at
                               # step t: representation "spectrogram_frames", num_steps = T)
    num_steps = 25             # >= 1
    init_rate = 0.1            # SNNs: rescale each layer's initial weights so it fires at this
                               # rate (spikes/neuron/step) on training clips; 0: torch's init
    zero_sum_input = false     # snn: keep layer 1's weight rows at zero sum, so its current
                               # ignores the clip's mean input level (the waveform presets set it)
    channels = [8, 16, 32]     # cnn / snn_conv: conv channels per layer (block)
    kernel = 5                 # cnn: square kernel size (odd); snn_conv: an int or one per layer
    stride = 2                 # snn_conv: conv stride, an int or one per layer (no pooling)
    padding = 0                # snn_conv: conv zero padding, an int or one per layer
    cnn_hidden = 64            # cnn: units before the 2 logits

    [train]
    epochs = 20                # maximum epochs
    batch_size = 64
    lr = 1e-3                  # Adam learning rate
    weight_decay = 0.0
    loss = "ce"                # "ce": cross-entropy on output spike counts (logits);
                               # "bce": per-output-neuron BCE on the firing rate
                               # (count + 0.5) / (num_steps + 1) (sigmoid(logit) for ANNs)
    scheduler = "cosine"       # "cosine" | "step" | "plateau" | "none"
    step_size = 10             # "step": epochs per decay
    gamma = 0.5                # "step" / "plateau": lr factor
    scheduler_patience = 2     # "plateau": epochs without val AUC gain before decaying
    patience = 5               # early stopping: epochs without val AUC improvement
    eval_batch_size = 256

A sweep config is a run config plus `[sweep]` (see toolchain.train.sweep):

    [sweep]
    folds = 5                  # K-fold cross-validation (replaces data.val_fraction)
    fold_kind = "stratified"   # "stratified" | "blocked"
    rows = "model.beta"        # table rows / heatmap y axis
    cols = "model.num_steps"   # table columns / heatmap x axis
    cpus_per_trial = 1
    gpus_per_trial = 0.5       # default: 1 when CUDA is present and device is not "cpu", else 0
    max_concurrent = 0         # 0: as many trials as CPUs allow
    [sweep.grid]
    "model.beta" = [0.8, 0.9, "learnable"]
    "model.num_steps" = [10, 25]
    [sweep.when."representation.kind=waveform"]   # optional: keys set only in the grid cells
    "train.lr" = 1.5e-3                           # where a grid key has that value

Every error names the file and the key (`model.beta = 1.5 is outside (0, 1]`).
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from toolchain.core.errors import ConfigError
from toolchain.core.vocab import FLOAT_ENCODINGS, MODEL_KINDS, RESETS, SNN_KINDS

REQUIRED = object()
NAME_RE = re.compile(r"[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]{0,199}")
_NO_DEFAULT = object()


@dataclass(frozen=True)
class Key:
    """One config key: its default (REQUIRED: must be given) and a check that returns the
    normalised value or raises ValueError with what is wrong."""

    default: Any
    check: Callable[[Any], Any]


def _integer(lo: int | None = None) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"must be an integer, not {v!r}")
        if lo is not None and v < lo:
            raise ValueError(f"must be >= {lo}")
        return v
    return check


def _number(gt: float | None = None, lt: float | None = None, ge: float | None = None,
            le: float | None = None) -> Callable[[Any], float]:
    low = f"({gt:g}" if gt is not None else (f"[{ge:g}" if ge is not None else "(-inf")
    high = f"{lt:g})" if lt is not None else (f"{le:g}]" if le is not None else "inf)")

    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"must be a finite number, not {v!r}")
        v = float(v)
        if ((gt is not None and v <= gt) or (ge is not None and v < ge)
                or (lt is not None and v >= lt) or (le is not None and v > le)):
            raise ValueError(f"is outside {low}, {high}")
        return v
    return check


def _choice(*options: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in options:
            raise ValueError(f"must be one of {', '.join(repr(o) for o in options)}")
        return v
    return check


def _boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"must be true or false, not {v!r}")
    return v


def _string(v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise ValueError(f"must be a non-empty string, not {v!r}")
    return v


def _name(v: Any) -> str:
    """A run name: one folder name (runs/<name>), never a path that could leave runs/."""
    v = _string(v)
    if not NAME_RE.fullmatch(v) or v.strip(".") == "":
        raise ValueError("must be a plain folder name (no '/', '\\', leading '.' or control "
                         "characters), not a path")
    return v


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else check(v)


def _sizes(v: Any) -> list[int]:
    if not isinstance(v, list) or not v or not all(isinstance(s, int) and not isinstance(s, bool)
                                                    and s >= 1 for s in v):
        raise ValueError(f"must be a non-empty list of positive integers, not {v!r}")
    return list(v)


def _hidden(v: Any) -> str | list[int]:
    return v if v == "seed" else _sizes(v)


def _beta(v: Any) -> float | str:
    if v == "learnable":
        return v
    try:
        return _number(gt=0.0, le=1.0)(v)
    except ValueError:
        raise ValueError("is outside (0, 1] (give a number in (0, 1] or \"learnable\")") from None


def _per_layer(lo: int) -> Callable[[Any], int | list[int]]:
    """An integer >= lo, or a non-empty list of them (one per conv layer)."""
    one = _integer(lo)

    def check(v: Any) -> int | list[int]:
        if isinstance(v, list):
            if not v:
                raise ValueError("must be an integer or a non-empty list of integers")
            try:
                return [one(x) for x in v]
            except ValueError as exc:
                raise ValueError(f"has an entry that {exc}") from None
        return one(v)
    return check


RUN_SCHEMA: dict[str, Any] = {
    "name": Key(None, _optional(_name)),
    "seed": Key(0, _integer(0)),
    "device": Key("auto", _choice("auto", "cpu", "cuda")),
    "retries": Key(0, _integer(0)),
    "data": {
        "path": Key(REQUIRED, _string),
        "split": Key("stratified", _choice("stratified", "blocked")),
        "val_fraction": Key(0.2, _number(gt=0.0, lt=1.0)),
        "cache": Key(True, _boolean),
        "subset": Key(0, _integer(0)),
    },
    "model": {
        "kind": Key("snn", _choice(*MODEL_KINDS)),
        "hidden": Key("seed", _hidden),
        "n_in": Key(None, _optional(_integer(1))),
        "bias": Key(None, _optional(_boolean)),
        "beta": Key(0.9, _beta),
        "beta_init": Key(0.9, _number(gt=0.0, lt=1.0)),
        "threshold": Key(1.0, _number(gt=0.0)),
        "slope": Key(25.0, _number(gt=0.0)),
        "reset": Key("zero", _choice(*RESETS)),
        "encoding": Key("dc", _choice(*FLOAT_ENCODINGS)),
        "num_steps": Key(25, _integer(1)),
        "init_rate": Key(0.1, _number(ge=0.0, lt=1.0)),
        "zero_sum_input": Key(False, _boolean),
        "channels": Key([8, 16, 32], _sizes),
        "kernel": Key(5, _per_layer(1)),
        "stride": Key(2, _per_layer(1)),
        "padding": Key(0, _per_layer(0)),
        "cnn_hidden": Key(64, _integer(1)),
    },
    "train": {
        "epochs": Key(20, _integer(1)),
        "batch_size": Key(64, _integer(1)),
        "lr": Key(1e-3, _number(gt=0.0)),
        "weight_decay": Key(0.0, _number(ge=0.0)),
        "loss": Key("ce", _choice("ce", "bce")),
        "scheduler": Key("cosine", _choice("cosine", "step", "plateau", "none")),
        "step_size": Key(10, _integer(1)),
        "gamma": Key(0.5, _number(gt=0.0, le=1.0)),
        "scheduler_patience": Key(2, _integer(0)),
        "patience": Key(5, _integer(1)),
        "eval_batch_size": Key(256, _integer(1)),
    },
}

SWEEP_SCHEMA: dict[str, Any] = {
    "folds": Key(5, _integer(2)),
    "fold_kind": Key("stratified", _choice("stratified", "blocked")),
    "rows": Key("model.beta", _string),
    "cols": Key("model.num_steps", _string),
    "cpus_per_trial": Key(1, _number(gt=0.0)),
    "gpus_per_trial": Key(None, _optional(_number(ge=0.0))),
    "max_concurrent": Key(0, _integer(0)),
}

# Written by neurodeploy into a run folder's config.json once the data is known (not user keys).
RESOLVED_KEY = "resolved"


def _validate_table(raw: dict, schema: dict, prefix: str, where: str) -> dict:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [{prefix.rstrip('.')}] must be a table, not {raw!r}")
    unknown = sorted(set(raw) - set(schema))
    if unknown:
        raise ConfigError(f"{where}: unknown key {prefix}{unknown[0]!s} "
                          f"(known in this table: {', '.join(sorted(schema))})")
    out: dict[str, Any] = {}
    for name, spec in schema.items():
        path = f"{prefix}{name}"
        if isinstance(spec, dict):
            out[name] = _validate_table(raw.get(name, {}), spec, f"{path}.", where)
            continue
        if name not in raw:
            if spec.default is REQUIRED:
                raise ConfigError(f"{where}: {path} is required")
            out[name] = copy.deepcopy(spec.default)
            continue
        try:
            out[name] = spec.check(raw[name])
        except ValueError as exc:
            raise ConfigError(f"{where}: {path} = {raw[name]!r} {exc}") from None
    return out


def validate(raw: dict, where: str = "config", *, sweep: bool = False) -> dict:
    """A complete, checked config (defaults filled in) from a parsed TOML/JSON dict.

    `sweep`: the config must hold a [sweep] table (a sweep config); otherwise it must not.
    Raises ConfigError naming `where` and the key.
    """
    raw = dict(raw)
    representation = raw.pop("representation", None)
    sweep_raw = raw.pop("sweep", None)
    resolved = raw.pop(RESOLVED_KEY, None)
    cfg = _validate_table(raw, RUN_SCHEMA, "", where)
    cfg["representation"] = _validate_representation(representation, where)
    _check_model(cfg["model"], cfg["representation"]["kind"], where)
    if cfg["model"]["bias"] is None:
        cfg["model"]["bias"] = cfg["model"]["kind"] not in SNN_KINDS
    if sweep and sweep_raw is None:
        raise ConfigError(f"{where}: a sweep config needs a [sweep] table (with [sweep.grid])")
    if not sweep and sweep_raw is not None:
        raise ConfigError(f"{where}: [sweep] belongs in a sweep config: run it with `neurodeploy sweep`")
    if sweep:
        cfg["sweep"] = _validate_sweep(sweep_raw, where)
    if resolved is not None:
        cfg[RESOLVED_KEY] = resolved
    else:
        from toolchain.core.budget import check_training

        check_training(where, cfg)
    return cfg


def _check_model(model: dict, rep_kind: str, where: str) -> None:
    """The [model] keys that depend on each other or on the model kind / representation."""
    kind = model["kind"]
    if kind == "cnn":
        if rep_kind != "spectrogram":
            raise ConfigError(f"{where}: model.kind = 'cnn' needs representation.kind = 'spectrogram' "
                              f"(got {rep_kind!r})")
        if not isinstance(model["kernel"], int) or model["kernel"] % 2 == 0:
            raise ConfigError(f"{where}: model.kernel = {model['kernel']!r} must be one odd integer for "
                              "model.kind = 'cnn' (same-size padding)")
    if kind in ("snn_conv", "snn_rec") and model["hidden"] == "seed":
        example = "[64]" if kind == "snn_conv" else "[128]"
        raise ConfigError(f"{where}: model.hidden = 'seed' names the seed study's MLP sizes; model.kind = "
                          f"{kind!r} needs a list of sizes, e.g. hidden = {example}")
    if kind == "snn_conv":
        n_conv = len(model["channels"])
        for key in ("kernel", "stride", "padding"):
            value = model[key]
            if isinstance(value, list) and len(value) != n_conv:
                raise ConfigError(f"{where}: model.{key} = {value!r} has {len(value)} values but "
                                  f"model.channels = {model['channels']!r} has {n_conv} conv layers")
    if kind in SNN_KINDS and model["encoding"] == "frames" and rep_kind == "waveform":
        raise ConfigError(f"{where}: model.encoding = 'frames' feeds one row of a 2-D input per step; the "
                          "waveform representation is 1-D (use representation.kind = 'spectrogram_frames')")


def _validate_representation(raw: Any, where: str) -> dict:
    from toolchain.represent import representation_from_dict, to_dict

    if raw is None:
        raw = {"kind": "spectrogram"}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [representation] must be a table, not {raw!r}")
    try:
        return to_dict(representation_from_dict(raw))
    except ConfigError as exc:
        raise ConfigError(f"{where}: representation: {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"{where}: representation: {exc}") from None


def _validate_sweep(raw: Any, where: str) -> dict:
    raw = dict(raw) if isinstance(raw, dict) else raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [sweep] must be a table")
    grid = raw.pop("grid", None)
    when = raw.pop("when", {})
    out = _validate_table(raw, SWEEP_SCHEMA, "sweep.", where)
    if not isinstance(grid, dict) or not grid:
        raise ConfigError(f"{where}: sweep.grid must be a table of \"dotted.key\" = [values, ...]")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: sweep.grid.\"{key}\" must be a non-empty list of values")
        if key.startswith(("sweep.", RESOLVED_KEY)) or key.count(".") > 1:
            raise ConfigError(f"{where}: sweep.grid.\"{key}\" is not a key a sweep can vary")
    out["grid"] = dict(grid)
    out["when"] = _validate_when(when, grid, where)
    return out


def _validate_when(when: Any, grid: dict, where: str) -> dict:
    """[sweep.when."KEY=VALUE"] tables: {"KEY=VALUE": {dotted key: value}}; KEY must be a grid key
    and VALUE one of its values as tables show it ("waveform", "0.9", "learnable")."""
    from toolchain.train.sweep import label

    if not isinstance(when, dict):
        raise ConfigError(f"{where}: sweep.when must be a table of \"KEY=VALUE\" = {{key = value, ...}}")
    for cond, overrides in when.items():
        key, sep, value = cond.partition("=")
        if not sep or key not in grid or value not in [label(v) for v in grid[key]]:
            raise ConfigError(f"{where}: sweep.when.\"{cond}\" must be \"KEY=VALUE\" with KEY a "
                              f"sweep.grid key and VALUE one of its values")
        if not isinstance(overrides, dict) or not overrides:
            raise ConfigError(f"{where}: sweep.when.\"{cond}\" must be a table of \"dotted.key\" = value")
        clash = sorted(set(overrides) & set(grid))
        if clash:
            raise ConfigError(f"{where}: sweep.when.\"{cond}\" sets {clash[0]!r}, which the grid varies")
    return dict(when)


def set_key(cfg: dict, dotted: str, value: Any, where: str = "override") -> None:
    """Set `a.b` = value in a raw (unvalidated) config dict, creating tables as needed."""
    parts = dotted.split(".")
    if not all(parts):
        raise ConfigError(f"{where}: bad key {dotted!r}")
    table = cfg
    for part in parts[:-1]:
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: {dotted!r}: {part} is not a table")
    table[parts[-1]] = value


def get_key(cfg: dict, dotted: str, default: Any = _NO_DEFAULT) -> Any:
    """The value at `a.b` in a config dict."""
    value: Any = cfg
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            if default is _NO_DEFAULT:
                raise KeyError(dotted)
            return default
        value = value[part]
    return value


def parse_override(text: str) -> tuple[str, Any]:
    """`key=value` (value in TOML syntax; a bare word is a string) -> (key, value)."""
    import tomli

    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. model.num_steps=10")
    try:
        return key, tomli.loads(f"v = {value}")["v"]
    except tomli.TOMLDecodeError:
        return key, value


def preset_path(name: str) -> Path:
    """The packaged preset `toolchain/presets/<name>.toml`."""
    folder = resources.files("toolchain") / "presets"
    path = Path(str(folder / f"{name}.toml"))
    if not path.is_file():
        known = sorted(p.stem for p in Path(str(folder)).glob("*.toml"))
        raise ConfigError(f"no preset {name!r} (known: {', '.join(known)})")
    return path


def read_toml(path: str | Path) -> dict:
    """Parse a TOML file; a syntax error becomes a ConfigError naming the file."""
    import tomli

    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return tomli.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomli.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def read_config(path: str | Path | None = None, *, preset: str | None = None,
                data: str | None = None, overrides: list[str] = ()) -> tuple[dict, str]:
    """Read a config file or a preset and apply --data / --set; returns (raw dict, where).

    Relative data paths are resolved against the config file's folder (with --data or a preset:
    against the current folder); the raw dict carries data.path as an absolute path and `name`
    (default: the file's stem). `where` names the source in error messages.
    """
    if (path is None) == (preset is None):
        raise ConfigError("give either --config FILE or --preset NAME")
    source = Path(path) if path is not None else preset_path(preset)
    raw = read_toml(source)
    base = source.parent if path is not None else Path.cwd()
    where = str(path) if path is not None else f"preset {preset}"
    if data is not None:
        set_key(raw, "data.path", data, where)
        base = Path.cwd()
    for text in overrides:
        key, value = parse_override(text)
        set_key(raw, key, value, where)
    data_path = raw.get("data", {}).get("path")
    if data_path is None:
        raise ConfigError(f"{where}: data.path is not set: pass --data PATH or set [data] path")
    if isinstance(data_path, str):
        raw["data"]["path"] = str((base / Path(data_path).expanduser()).resolve())
    raw.setdefault("name", source.stem)
    return raw, where


def load_config(path: str | Path | None = None, *, preset: str | None = None,
                data: str | None = None, overrides: list[str] = (), sweep: bool = False) -> dict:
    """`read_config` then `validate`: the checked run (or sweep) config."""
    raw, where = read_config(path, preset=preset, data=data, overrides=overrides)
    return validate(raw, where, sweep=sweep)

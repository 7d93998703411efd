"""The pipeline configuration (PIPE.toml): schema, defaults, and validation before any work starts.

Every key is checked (unknown keys, types, ranges), and each training run's config is fully
validated by the training layer with the data path it will get, so an absurd configuration fails
in the first second with a message naming the key, not an hour into the run. The embedded default
is toolchain/presets/pipeline-demo.toml.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

from toolchain.core.errors import ConfigError

DEFAULT = "pipeline-demo.toml"

SCHEMA: dict[str, dict[str, tuple[type, Any]]] = {
    "data": {"path": (str, ""), "synth_clips": (int, 1200), "synth_seed": (int, 0)},
    "deploy": {"run": (str, "snn_2d"), "also": (list, [])},
    "quantize": {"weight_bits": (int, 8), "input_bits": (int, 8), "dc_input": (str, "graded_once"),
                 "netx_compatible": (bool, False), "calib": (int, 256), "qat_epochs": (int, 0)},
    "verify": {"clips": (int, 8)},
    "energy": {"profiles": (list, []), "clips": (int, 64)},
    "report": {"bootstrap": (int, 1000)},
}
RANGES = {("data", "synth_clips"): (50, 200_000), ("quantize", "calib"): (8, 100_000),
          ("quantize", "qat_epochs"): (0, 1000), ("verify", "clips"): (1, 10_000),
          ("energy", "clips"): (1, 100_000), ("report", "bootstrap"): (0, 100_000)}


def read_pipeline_config(path: str | Path | None) -> tuple[dict, str]:
    """Raw TOML of --config PATH, or of the embedded default; returns (raw, where)."""
    import tomli

    if path is None:
        text = resources.files("toolchain.presets").joinpath(DEFAULT).read_text()
        return tomli.loads(text), f"embedded {DEFAULT}"
    try:
        with open(path, "rb") as fh:
            return tomli.load(fh), str(path)
    except FileNotFoundError:
        raise ConfigError(f"pipeline config {path} does not exist") from None
    except tomli.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def validate_pipeline(raw: dict, where: str, data_override: str | None = None,
                      base: Path | None = None) -> dict:
    """The checked pipeline config with defaults filled in (see module docstring)."""
    raw = copy.deepcopy(raw)
    known = set(SCHEMA) | {"runs"}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{where}: unknown section [{key}] (expected one of {sorted(known)})")
    cfg: dict = {}
    for section, fields in SCHEMA.items():
        given = raw.get(section, {})
        if not isinstance(given, dict):
            raise ConfigError(f"{where}: [{section}] must be a table")
        for key in given:
            if key not in fields:
                raise ConfigError(f"{where}: unknown key {section}.{key} (expected one of {sorted(fields)})")
        cfg[section] = {}
        for key, (typ, default) in fields.items():
            value = given.get(key, default)
            if typ is int and isinstance(value, bool) or not isinstance(value, typ):
                raise ConfigError(f"{where}: {section}.{key} = {value!r} must be a {typ.__name__}")
            lo_hi = RANGES.get((section, key))
            if lo_hi and not lo_hi[0] <= value <= lo_hi[1]:
                raise ConfigError(f"{where}: {section}.{key} = {value} is outside {lo_hi[0]}..{lo_hi[1]}")
            cfg[section][key] = copy.deepcopy(value)
    if data_override is not None:
        cfg["data"]["path"] = data_override
    elif cfg["data"]["path"] and base is not None:
        cfg["data"]["path"] = str((base / cfg["data"]["path"]).resolve())
    if cfg["data"]["path"] and not Path(cfg["data"]["path"]).exists():
        raise ConfigError(f"{where}: data.path {cfg['data']['path']} does not exist")
    runs = raw.get("runs")
    if not isinstance(runs, dict) or not runs:
        raise ConfigError(f"{where}: [runs] must define at least one training run")
    cfg["runs"] = {}
    from toolchain.train.config import NAME_RE, parse_override

    for name, spec in runs.items():
        if not NAME_RE.fullmatch(name) or name.strip(".") == "":
            raise ConfigError(f"{where}: runs.{name!r}: a run name must be a plain folder name (no '/', "
                              "'\\', leading '.' or control characters); it names the stage folder train_<name>")
        if not isinstance(spec, dict) or set(spec) - {"preset", "config", "set"}:
            raise ConfigError(f"{where}: runs.{name} takes keys preset | config, and set (got {spec!r})")
        if ("preset" in spec) == ("config" in spec):
            raise ConfigError(f"{where}: runs.{name} needs exactly one of 'preset' or 'config'")
        sets = spec.get("set", [])
        if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
            raise ConfigError(f"{where}: runs.{name}.set must be a list of \"key=value\" strings")
        for text in sets:
            key = parse_override(text)[0]
            if key == "data" or key.startswith("data.path") or key == "name":
                raise ConfigError(f"{where}: runs.{name}.set = {text!r}: every run of a pipeline trains on the "
                                  "one data set of [data] path (or --data), so their results are comparable in "
                                  f"one report; '{key}' cannot be set per run")
        entry = {"set": list(sets)}
        if "preset" in spec:
            entry["preset"] = spec["preset"]
        else:
            entry["config"] = str((base or Path.cwd()) / spec["config"])
        cfg["runs"][name] = entry
    for key, names in (("run", [cfg["deploy"]["run"]]), ("also", cfg["deploy"]["also"])):
        for deploy in names:
            if deploy not in cfg["runs"]:
                raise ConfigError(f"{where}: deploy.{key} = {deploy!r} is not one of the runs {sorted(cfg['runs'])}")
    also = cfg["deploy"]["also"]
    if cfg["deploy"]["run"] in also or len(set(also)) != len(also):
        raise ConfigError(f"{where}: deploy.also = {also!r} names a run twice (or deploy.run again)")
    from toolchain.quantize import QuantConfig

    q = cfg["quantize"]
    try:
        QuantConfig(weight_bits=q["weight_bits"], input_bits=q["input_bits"], dc_input=q["dc_input"],
                    netx_compatible=q["netx_compatible"]).validate()
    except ConfigError as exc:  # name the file and section the option came from
        raise ConfigError(f"{where}: [quantize] {exc}") from None
    from hardware_profiles import load_profile

    for name in cfg["energy"]["profiles"]:
        load_profile(name)
    return cfg


def run_config(cfg: dict, name: str, data_path: str) -> dict:
    """The validated training config of run `name` with the pipeline's data path."""
    from toolchain.train import load_config

    spec = cfg["runs"][name]
    return load_config(spec.get("config"), preset=spec.get("preset"), data=data_path,
                       overrides=[f"name={name}", *spec["set"]])


def deployed_runs(cfg: dict) -> list[str]:
    """The runs quantised, verified on Lava, evaluated on the emulator and priced: deploy.run, then deploy.also."""
    return [cfg["deploy"]["run"], *cfg["deploy"]["also"]]


def check_runs(cfg: dict, data_path: str) -> dict[str, dict]:
    """Validate every run's config up front; every deployed run must be an SNN."""
    from toolchain.core.vocab import SNN_KINDS

    runs = {name: run_config(cfg, name, data_path) for name in cfg["runs"]}
    for name in deployed_runs(cfg):
        key = "run" if name == cfg["deploy"]["run"] else "also"
        if runs[name]["model"]["kind"] not in SNN_KINDS:
            raise ConfigError(f"deploy.{key}: {name!r} is a {runs[name]['model']['kind']} run; a deployed run must "
                              f"be an SNN (one of {', '.join(SNN_KINDS)})")
    return runs

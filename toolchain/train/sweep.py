"""`neurodeploy sweep`: grid x K folds on Ray Tune, resumable, with seed-style AUC tables.

Plan: every combination of the `[sweep.grid]` values is applied to the run config (plus the
keys of every `[sweep.when."KEY=VALUE"]` table whose grid key has that value in the cell; each
cell validated like a run config), then crossed with folds 1..K of `toolchain.data.folds.make_folds` on the
data's labels. A trial's id is a hash of its complete config (data path, representation, model,
train, seed), its fold and the fold scheme, so a changed setting is a new trial.

Resumable: the driver writes each finished trial's result row atomically to
`OUT/trials/<id>.json` as soon as Tune reports it; a restarted sweep (same command) skips every
id found there and runs only the rest. An interrupted trial (SIGINT / SIGTERM) is simply run
again. Rows are written by the driver, so this works the same on a Ray cluster (`--address`),
where the workers receive the features through Ray's object store.

Outputs in OUT: sweep.json (the plan), trials/*.json, results.csv and results.json (one row per
trial), tables.md (median validation AUC per (rows, cols) cell, one table per combination of
the other grid keys, failed trials listed with their reason) and one heatmap PNG per table.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import hashlib
import io
import itertools
import json
import os
import socket
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from toolchain.core.errors import ConfigError, NeurodeployError
from toolchain.core.fileio import _json_default, write_json, write_text
from toolchain.train.config import get_key, set_key, validate


@dataclass
class Trial:
    """One grid cell on one fold. params: the grid values ({"model.beta": 0.9, ...});
    fold: 0-based, of `folds` folds of kind `fold_kind`; config: the cell's validated run config."""

    id: str
    params: dict[str, Any]
    fold: int
    folds: int
    fold_kind: str
    config: dict

    @property
    def data_key(self) -> str:
        """Identifies the inputs (data + representation) this trial trains on."""
        return _canonical({"data": self.config["data"], "representation": self.config["representation"]})

    @property
    def folds_key(self) -> str:
        """Identifies the fold assignment (inputs, K, kind, seed)."""
        return _canonical({"data": self.data_key, "folds": self.folds, "kind": self.fold_kind,
                           "seed": self.config["seed"]})


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def label(value: Any) -> str:
    """How a grid value is shown in tables and rows ("0.9", "learnable", "spectrogram")."""
    return value if isinstance(value, str) else json.dumps(value)


def expand(raw: dict, where: str = "config") -> list[Trial]:
    """The trials of a raw (parsed, unvalidated) sweep config, in grid order then fold order."""
    cfg = validate(raw, where, sweep=True)
    sweep = cfg["sweep"]
    base = {k: v for k, v in raw.items() if k != "sweep"}
    keys = list(sweep["grid"])
    trials = []
    for values in itertools.product(*sweep["grid"].values()):
        params = dict(zip(keys, values))
        cell = copy.deepcopy(base)
        for key, value in params.items():
            if key == "representation.kind" and get_key(cell, "representation.kind", None) != value:
                cell["representation"] = {"kind": value}  # the other kind's parameters do not apply
            set_key(cell, key, value, where)
        for cond, overrides in sweep["when"].items():
            key, _, value = cond.partition("=")
            if label(params[key]) == value:
                for okey, ovalue in overrides.items():
                    set_key(cell, okey, ovalue, f"{where} sweep.when.{cond}")
        text = ", ".join(f"{k} = {label(v)}" for k, v in params.items())
        trial_cfg = validate(cell, f"{where} (sweep.grid cell {text})")
        ident = {k: v for k, v in trial_cfg.items() if k != "name"}
        for fold in range(sweep["folds"]):
            key = {**ident, "fold": fold, "folds": sweep["folds"], "fold_kind": sweep["fold_kind"]}
            digest = hashlib.sha256(_canonical(key).encode()).hexdigest()[:20]
            trials.append(Trial(id=digest, params=params, fold=fold, folds=sweep["folds"],
                                fold_kind=sweep["fold_kind"], config=trial_cfg))
    return trials


class TrialStore:
    """Finished trials' result rows, one JSON file per trial id in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def finished(self) -> dict[str, dict]:
        """{trial id: row} of every complete row file (unreadable files are ignored: rerun)."""
        rows = {}
        for path in sorted(self.folder.glob("[!.]*.json")):  # not atomic writes' temporary files
            try:
                row = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(row, dict) and row.get("trial_id") == path.stem:
                rows[path.stem] = row
        return rows

    def has(self, trial_id: str) -> bool:
        return (self.folder / f"{trial_id}.json").is_file()

    def write(self, row: dict) -> None:
        write_json(self.folder / f"{row['trial_id']}.json", row)


def run_trial(trial: Trial, features: np.ndarray, labels: np.ndarray, train_idx: np.ndarray,
              val_idx: np.ndarray) -> dict:
    """Train one trial (no run folder) and return its result row."""
    from toolchain.train.loop import summary, train_model

    outcome = train_model(trial.config, features, labels, train_idx, val_idx, progress=False)
    s = summary(outcome)
    return {"trial_id": trial.id, "params": trial.params, "fold": trial.fold,
            "status": "failed" if s["failure"] else "ok",
            **{k: s[k] for k in ("val_auc", "val_accuracy", "val_loss", "best_epoch", "epochs_run",
                                 "stopped_early", "firing_rates", "failure", "seed", "attempts",
                                 "seconds", "train_samples_per_s")},
            "history": [{k: h[k] for k in ("epoch", "train_loss", "train_accuracy", "val_loss", "val_auc",
                                           "val_accuracy", "firing_rates")}
                        for h in outcome.fit.history],
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": socket.gethostname(),
            "pid": os.getpid()}


def _ray_trainable(config: dict, payload: dict) -> None:
    """Ray Tune function trainable: run the trial named by config["trial_id"], report its row."""
    import torch
    from ray import tune

    torch.set_num_threads(payload["threads"])
    trial = payload["trials"][config["trial_id"]]
    features, labels = payload["inputs"][trial.data_key]
    train_idx, val_idx = payload["folds"][trial.folds_key][trial.fold]
    row = run_trial(trial, features, labels, train_idx, val_idx)
    import ray

    row["node"] = ray.get_runtime_context().get_node_id()  # the Ray node the trial ran on
    tune.report({"row_json": json.dumps(row, default=_json_default)})


def _prepare(pending: list[Trial], progress: bool, where: str) -> tuple[dict, dict]:
    """Load each distinct input once and resolve every pending trial's config against it.

    Returns ({data key: (features, labels)}, {folds key: [(train_idx, val_idx), ...]}).
    """
    from toolchain.data.folds import make_folds
    from toolchain.train.inputs import load_inputs, resolve

    loaded: dict = {}
    folds: dict[str, list] = {}
    for trial in pending:
        if trial.data_key not in loaded:
            loaded[trial.data_key] = load_inputs(trial.config, progress=progress)
        inputs = loaded[trial.data_key]
        trial.config = resolve(trial.config, inputs, where)
        if trial.folds_key not in folds:
            folds[trial.folds_key] = [
                (np.asarray(tr, dtype=np.int64), np.asarray(va, dtype=np.int64))
                for tr, va in make_folds(inputs.labels, trial.folds, trial.fold_kind, trial.config["seed"])]
    return {k: (v.features, v.labels) for k, v in loaded.items()}, folds


def _store_callback(store: TrialStore, on_row: Callable[[dict], None]):
    from ray import tune

    class StoreRows(tune.Callback):
        """Persist each trial's row on the driver the moment Tune reports it."""

        def __init__(self, store: TrialStore, on_row: Callable[[dict], None]) -> None:
            self.store, self.on_row = store, on_row
            self.retried: list[str] = []  # trial ids run again after a failure (e.g. their node was lost)

        def on_trial_recover(self, iteration, trials, trial, **info):
            self.retried.append(trial.config["trial_id"])

        def on_trial_result(self, iteration, trials, trial, result, **info):
            row = json.loads(result["row_json"])
            if self.store.has(row["trial_id"]):  # a retried trial that had reported: keep the first row
                return
            self.store.write(row)
            self.on_row(row)

        def __getstate__(self) -> dict:
            return {}  # Tune pickles its callbacks with its experiment state: nothing to keep

    return StoreRows(store, on_row)


LOOPBACK = "127.0.0.1"
# Trials lost with a node (or a worker crash) are run again this many times before the sweep gives up
# on them; a finished trial's row is on the driver already and is never run again.
TRIAL_RETRIES = 3


def lost_with_worker(error: BaseException | None) -> bool:
    """Whether a trial's error means its worker or node went away (the trial itself did not fail):
    a Ray actor error (died, or unavailable), a crashed worker or a dead node, also as the cause
    of another error."""
    from ray.exceptions import NodeDiedError, RayActorError, WorkerCrashedError

    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, (RayActorError, WorkerCrashedError, NodeDiedError)):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _address_host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of "host:port" or "ray://host:port" (None for "auto" or a malformed address)."""
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rstrip("/").rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def pin_ray_to_loopback() -> None:
    """Make Ray (this process and the workers it starts) use 127.0.0.1 as this node's address.

    Ray otherwise looks up the machine's external interface for every local node and even rewrites
    a 127.0.0.1 address to it (ray._private.services.resolve_ip_for_localhost), unless "clusters"
    are disabled (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, read at import; the constant is also set in
    case ray is imported already). Only used for local Ray and clusters on this machine's loopback.
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False


def _check_reachable(address: str) -> None:
    """Refuse an --address nothing answers on, in a second (Ray itself retries for minutes)."""
    hp = _address_host_port(address)
    if hp is None:
        raise ConfigError(f"--address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection(hp, timeout=5).close()
    except OSError as exc:
        raise ConfigError(f"--address {address}: no Ray cluster answers there ({exc.strerror or exc}); "
                          "start one (ray start --head --node-ip-address=127.0.0.1) or fix the address") from None


def connect_ray(address: str | None, num_cpus: int | None = None) -> None:
    """Start a local Ray on 127.0.0.1 (address None) or join the cluster at `address`; a failure to
    join is one ConfigError naming the address (unreachable, authentication token, version)."""
    import logging

    import ray

    hp = _address_host_port(address) if address else None
    if address is None or (hp is not None and is_loopback(hp[0])):
        pin_ray_to_loopback()
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address is None:
        ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, _node_ip_address=LOOPBACK, **quiet)
        return
    if address != "auto":
        _check_reachable(address)
    with _stderr_captured() as log:  # Ray's C++ client logs every failed retry there
        try:
            ray.init(address=address, _node_ip_address=LOOPBACK if hp and is_loopback(hp[0]) else None, **quiet)
            failure = None
        except Exception as exc:  # ConnectionError, AuthenticationError, RuntimeError (version), ValueError
            failure = exc
    text = log["text"]
    if failure is None:
        sys.stderr.write(text)
        return
    if "InvalidAuthToken" in text or "Unauthenticated" in text or type(failure).__name__ == "AuthenticationError":
        raise ConfigError(f"--address {address}: the cluster refused this machine's Ray authentication token "
                          "(set RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH to the cluster's token, see "
                          "`ray get-auth-token`)") from None
    first = (str(failure).strip().splitlines() or [type(failure).__name__])[0]
    raise ConfigError(f"--address {address}: cannot join the Ray cluster ({type(failure).__name__}: {first})") from None


@contextlib.contextmanager
def _stderr_captured():
    """File descriptor 2 (Python's and native code's stderr) goes to a temporary file; yields a dict
    whose "text" holds what was written, once the block has ended."""
    import tempfile

    out = {"text": ""}
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as fh:
            os.dup2(fh.fileno(), 2)
            try:
                yield out
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                fh.seek(0)
                out["text"] = fh.read().decode(errors="replace")
    finally:
        os.close(saved)


def trial_resources(cpus_per_trial: float, gpus_per_trial: float | None, devices: set[str],
                    cuda_available: bool) -> dict[str, float]:
    """Ray resources of one trial. gpus_per_trial None ("auto"): one GPU per trial when the
    driver sees CUDA and no trial asks for device = "cpu" -- Ray hides the GPUs from a trial that
    reserves none (CUDA_VISIBLE_DEVICES=""), so `device = "auto"` would silently train on the CPU."""
    gpus = gpus_per_trial
    if gpus is None:
        gpus = 1.0 if cuda_available and "cpu" not in devices else 0.0
    return {"cpu": cpus_per_trial, **({"gpu": gpus} if gpus else {})}


def _run_on_ray(pending: list[Trial], inputs: dict, folds: dict, store: TrialStore, out: Path, *,
                address: str | None, cpus_per_trial: float, max_concurrent: int,
                on_row: Callable[[dict], None],
                gpus_per_trial: float | None = None) -> tuple[list[str], list[str]]:
    """Run the pending trials as a Ray Tune grid; returns (errors of trials that raised, ids of
    trials run again after a failure).

    A local Ray on 127.0.0.1 is started (and shut down) unless one is running or `address` names a
    cluster. A trial lost with its node is run again (TRIAL_RETRIES: by Tune, and in a new grid for
    trials Tune gave up on with `lost_with_worker` errors). SIGINT/SIGTERM propagate as
    KeyboardInterrupt (Tune's own SIGINT handler is disabled, Ray's SIGTERM handler replaced), so
    the driver stops at once; rows already written stay.
    """
    import logging

    from toolchain.train.runtime import sigterm_as_interrupt

    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's console tables: our bar shows progress
    if address is None:
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # before ray is imported (see pin_ray_to_loopback)
    import ray
    import torch
    from ray import tune

    logging.getLogger("ray").setLevel(logging.ERROR)
    resources = trial_resources(cpus_per_trial, gpus_per_trial, {t.config["device"] for t in pending},
                                torch.cuda.is_available())
    started = not ray.is_initialized()
    if started:
        connect_ray(address)
        sigterm_as_interrupt()
    try:
        payload = {"trials": {t.id: t for t in pending}, "inputs": inputs, "folds": folds,
                   "threads": max(1, int(cpus_per_trial))}
        callback = _store_callback(store, on_row)
        trainable = tune.with_resources(tune.with_parameters(_ray_trainable, payload=payload),
                                        resources)
        ids, session = [t.id for t in pending], time.strftime("session-%Y%m%d-%H%M%S")
        for attempt in range(1 + TRIAL_RETRIES):
            tuner = tune.Tuner(
                trainable,
                param_space={"trial_id": tune.grid_search(ids)},
                tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent or None, reuse_actors=True,
                                            trial_name_creator=lambda t: t.config["trial_id"],
                                            trial_dirname_creator=lambda t: t.config["trial_id"]),
                run_config=tune.RunConfig(name=session if attempt == 0 else f"{session}-retry{attempt}",
                                          storage_path=str((out / "ray").resolve()), verbose=0,
                                          failure_config=tune.FailureConfig(max_failures=TRIAL_RETRIES),
                                          callbacks=[callback]))
            failed = [r for r in tuner.fit() if r.error is not None and not store.has(r.config["trial_id"])]
            # Tune gives up on a trial whose actor stays "temporarily unavailable" (its node was
            # killed but not yet declared dead) through all its quick retries: run those again
            ids = [r.config["trial_id"] for r in failed if lost_with_worker(r.error)]
            if not ids or attempt == TRIAL_RETRIES:
                return [f"trial {r.config['trial_id']}: {r.error}" for r in failed], callback.retried
            callback.retried.extend(ids)
    finally:
        if started:
            ray.shutdown()


def _matches(trial: Trial, key: str, value: Any) -> bool:
    return key not in trial.params or trial.params[key] == value


def seed_tables(cfg: dict, trials: list[Trial], rows: dict[str, dict]) -> list[dict]:
    """Median validation AUC per (rows key, cols key) cell, one table per combination of the
    other grid keys. A cell: median over its folds that finished without a learning failure,
    plus how many failed or are not finished; text is what the markdown table shows."""
    sweep = cfg["sweep"]
    grid = sweep["grid"]
    row_key, col_key = sweep["rows"], sweep["cols"]
    axis = {k: grid.get(k, [get_key(cfg, k, None)]) for k in (row_key, col_key)}
    others = [k for k in grid if k not in (row_key, col_key)]
    tables = []
    for combo in itertools.product(*(grid[k] for k in others)):
        fixed = dict(zip(others, combo))
        cells = []
        for rv in axis[row_key]:
            line = []
            for cv in axis[col_key]:
                sel = [t for t in trials if _matches(t, row_key, rv) and _matches(t, col_key, cv)
                       and all(_matches(t, k, v) for k, v in fixed.items())]
                done = [rows[t.id] for t in sel if t.id in rows]
                aucs = [r["val_auc"] for r in done if r["status"] == "ok"]
                n_failed = sum(r["status"] != "ok" for r in done)
                n_pending = len(sel) - len(done)
                median = statistics.median(aucs) if aucs else float("nan")
                notes = [f"{n_failed} failed" if aucs and n_failed else "",
                         f"{n_pending} pending" if n_pending else ""]
                note = ", ".join(n for n in notes if n)
                text = (f"{median:.3f}" if aucs else ("failed" if n_failed else "pending")) + \
                    (f" ({note})" if note and aucs else (f" ({n_pending} pending)" if n_failed and n_pending else ""))
                line.append({"median": median, "n_ok": len(aucs), "n_failed": n_failed,
                             "n_pending": n_pending, "text": text,
                             "note": note if aucs else ("failed" if n_failed else "pending")})
            cells.append(line)
        title = ", ".join(f"{k} = {label(v)}" for k, v in fixed.items()) or "all trials"
        tables.append({"title": title, "fixed": fixed, "rows_key": row_key, "cols_key": col_key,
                       "rows": [label(v) for v in axis[row_key]],
                       "cols": [label(v) for v in axis[col_key]], "cells": cells})
    return tables


def _markdown(cfg: dict, tables: list[dict], trials: list[Trial], rows: dict[str, dict]) -> str:
    out = io.StringIO()
    sweep = cfg["sweep"]
    out.write(f"# Sweep: median validation AUC over {sweep['folds']} {sweep['fold_kind']} folds\n\n"
              "A failed trial (learning failure) is not counted in its cell's median; a cell whose "
              "trials all failed says so.\n")
    for table in tables:
        out.write(f"\n## {table['title']}\n\n")
        out.write(f"| {table['rows_key']} \\ {table['cols_key']} | " + " | ".join(table["cols"]) + " |\n")
        out.write("|---" * (len(table["cols"]) + 1) + "|\n")
        for name, line in zip(table["rows"], table["cells"]):
            out.write(f"| {name} | " + " | ".join(c["text"] for c in line) + " |\n")
    failed = [(t, rows[t.id]) for t in trials if t.id in rows and rows[t.id]["status"] != "ok"]
    if failed:
        out.write("\n## Failed trials\n\n")
        for t, row in failed:
            params = ", ".join(f"{k} = {label(v)}" for k, v in t.params.items())
            out.write(f"- {params}, fold {t.fold + 1}: {row['failure']['reason']}\n")
    return out.getvalue()


def _csv(trials: list[Trial], rows: dict[str, dict], keys: list[str]) -> str:
    out = io.StringIO()
    fields = ["trial_id", "fold", *keys, "status", "val_auc", "val_accuracy", "best_epoch",
              "epochs_run", "failure", "seconds", "finished_at"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for t in trials:
        row = rows.get(t.id, {"status": "pending"})
        failure = row.get("failure")
        writer.writerow({"trial_id": t.id, "fold": t.fold + 1, **{k: label(t.params[k]) for k in keys},
                         "status": row["status"], "val_auc": row.get("val_auc"),
                         "val_accuracy": row.get("val_accuracy"), "best_epoch": row.get("best_epoch"),
                         "epochs_run": row.get("epochs_run"),
                         "failure": failure["reason"] if failure else "",
                         "seconds": row.get("seconds"), "finished_at": row.get("finished_at")})
    return out.getvalue()


def write_results(cfg: dict, trials: list[Trial], rows: dict[str, dict], out: Path) -> list[dict]:
    """results.csv, results.json, tables.md and heatmap_<i>.png in `out`; returns the tables."""
    from toolchain.train.plots import heatmap

    keys = list(cfg["sweep"]["grid"])
    tables = seed_tables(cfg, trials, rows)
    write_text(out / "results.csv", _csv(trials, rows, keys))
    write_json(out / "results.json", [rows.get(t.id, {"trial_id": t.id, "params": t.params,
                                                      "fold": t.fold, "status": "pending"})
                                      for t in trials])
    write_text(out / "tables.md", _markdown(cfg, tables, trials, rows))
    for i, table in enumerate(tables, start=1):
        table["heatmap"] = f"heatmap_{i}.png"
        heatmap([[c["median"] for c in line] for line in table["cells"]],
                [[c["note"] for c in line] for line in table["cells"]], table["rows"], table["cols"],
                out / table["heatmap"], table["title"], table["rows_key"], table["cols_key"])
    return tables


class SweepProgress:
    """A rich bar of finished trials on stderr (disabled: does nothing)."""

    def __init__(self, enabled: bool, total: int, done: int) -> None:
        self.enabled, self.total, self.done = enabled, total, done
        self._bar = None

    def __enter__(self) -> SweepProgress:
        if self.enabled:
            from rich.progress import TextColumn

            from toolchain.core.progress import stderr_progress

            self._bar = stderr_progress(TextColumn("{task.fields[last]}"), description="trials")
            self._bar.__enter__()
            self._task = self._bar.add_task("", total=self.total, completed=self.done, last="")
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def row(self, row: dict) -> None:
        if self._bar is None:
            return
        params = " ".join(f"{k.split('.')[-1]}={label(v)}" for k, v in row["params"].items())
        result = f"AUC {row['val_auc']:.3f}" if row["status"] == "ok" else row["failure"]["reason"]
        self._bar.update(self._task, advance=1, last=f"{params} fold {row['fold'] + 1}: {result}"[:70])


def run_sweep(raw: dict, out: str | Path, *, where: str = "config", address: str | None = None,
              progress: bool = True, dry_run: bool = False) -> dict:
    """Plan, run (skipping finished trials) and tabulate a sweep; returns a summary dict.

    `dry_run`: only plan and count (nothing is loaded or trained). Raises NeurodeployError if
    some trials raised an exception (they are not recorded, so a rerun retries them).
    """
    cfg = validate(raw, where, sweep=True)
    trials = expand(raw, where)
    out = Path(out)
    store = TrialStore(out / "trials")
    done = store.finished()
    pending = [t for t in trials if t.id not in done]
    summary = {"out": str(out), "trials": len(trials), "finished_before": len(trials) - len(pending),
               "pending": len(pending), "grid": cfg["sweep"]["grid"], "folds": cfg["sweep"]["folds"]}
    if dry_run:
        return summary
    write_json(out / "sweep.json", {"config": cfg, "trials": [{"id": t.id, "params": t.params,
                                                               "fold": t.fold} for t in trials]})
    errors: list[str] = []
    retried: list[str] = []
    if pending and address and address != "auto":
        _check_reachable(address)  # before loading any data
    if pending:
        inputs, folds = _prepare(pending, progress, where)
        with SweepProgress(progress, len(trials), len(trials) - len(pending)) as bar:
            errors, retried = _run_on_ray(pending, inputs, folds, store, out, address=address,
                                 cpus_per_trial=cfg["sweep"]["cpus_per_trial"],
                                 max_concurrent=cfg["sweep"]["max_concurrent"], on_row=bar.row,
                                 gpus_per_trial=cfg["sweep"]["gpus_per_trial"])
    rows = store.finished()
    tables = write_results(cfg, trials, rows, out)
    finished = [rows[t.id] for t in trials if t.id in rows]
    summary.update({"ran_now": len(finished) - summary["finished_before"], "finished": len(finished),
                    "failed": sum(r["status"] != "ok" for r in finished), "retried": sorted(set(retried)),
                    "tables": tables, "tables_md": str(out / "tables.md")})
    if errors:
        raise NeurodeployError(f"{len(errors)} trial(s) raised an error and were not recorded "
                               f"(rerun the same command to retry them); first: {errors[0]}")
    if len(finished) < len(trials):
        raise ConfigError(f"{len(trials) - len(finished)} trial(s) did not finish")
    return summary

"""Command registration: importing this package registers every `neurodeploy` command."""

from toolchain.cli import (  # noqa: F401  (each module registers its commands on import)
    bench_cmds,
    data_cmds,
    deploy_cmds,
    detect_cmds,
    doctor,
    energy_cmds,
    pipeline_cmds,
    train_cmds,
)
from toolchain.cli.app import app, main

__all__ = ["app", "main"]

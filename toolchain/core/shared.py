"""Where the workplace's shared, read-only reference data lives (`../shared/data/` beside a checkout).

The lava-dl networks in `shared/data/lava-dl/` (PilotNet LIF, a CUBA MNIST MLP, with Loihi 2
measurements) are read from there, never copied into the project. The folder is found as the first
`shared/data/<name>` in the folders above this file (a checkout, a worktree or a clone beside
`shared/`), else under $NEURODEPLOY_SHARED, else /work/shared.
"""

from __future__ import annotations

import os
from pathlib import Path


def shared_data(name: str) -> Path:
    """The folder shared/data/<name>; a DataError naming the places looked in when it is absent."""
    here = Path(__file__).resolve()
    candidates = [p / "shared" / "data" / name for p in here.parents]
    if os.environ.get("NEURODEPLOY_SHARED"):
        candidates.insert(0, Path(os.environ["NEURODEPLOY_SHARED"]) / "data" / name)
    candidates.append(Path("/work/shared/data") / name)
    for c in candidates:
        if c.is_dir():
            return c
    from toolchain.core.errors import DataError

    raise DataError(f"shared/data/{name} was not found (looked above {here.parent} and in /work/shared; "
                    "set NEURODEPLOY_SHARED to the shared folder)")

"""What machine a benchmark ran on (printed beside every ratio)."""

from __future__ import annotations

import os
import platform


def machine_info() -> dict:
    """CPU model, logical CPUs, torch threads, Python and OS."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import torch

        threads = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        threads = None
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover
        load = None
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "torch_threads": threads,
            "python": platform.python_version(), "os": platform.platform(), "load_average_1min": load}

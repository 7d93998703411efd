"""Shared pytest fixtures."""

import os

# Keep test runs predictable on the 2-core CI machines.
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

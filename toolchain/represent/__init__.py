"""Representations: clips -> feature vectors in [0, 1] (features.py), and how those features reach a
quantised network (encoding.py: graded integers or spike trains, identical on every back end)."""

from toolchain.represent.features import *  # noqa: F401,F403
from toolchain.represent.features import __all__ as _features_all

__all__ = list(_features_all)

"""Benchmarks behind `neurodeploy bench ...`: each returns a JSON-able dict and measures the naive
alternative in the same run, so the ratio is not skewed by a different machine or load."""

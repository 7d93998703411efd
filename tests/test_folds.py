"""Cross-validation folds: coverage, class ratios, contiguity, determinism."""

import numpy as np
import pytest

from toolchain.core.errors import ConfigError
from toolchain.data.folds import holdout_split, make_folds

LABELS = np.array([1] * 234 + [0] * 766)[np.random.default_rng(5).permutation(1000)]


@pytest.mark.parametrize("kind", ["stratified", "blocked"])
def test_every_index_is_validated_exactly_once(kind):
    folds = make_folds(LABELS, k=5, kind=kind, seed=3)
    assert len(folds) == 5
    vals = np.concatenate([v for _, v in folds])
    assert np.array_equal(np.sort(vals), np.arange(1000))
    for train, val in folds:
        assert np.intersect1d(train, val).size == 0 and train.size + val.size == 1000
        assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)


def test_stratified_folds_keep_the_class_ratio():
    for _, val in make_folds(LABELS, k=5, kind="stratified", seed=0):
        assert val.size == 200
        assert LABELS[val].sum() in (46, 47)  # 234 positives over 5 folds


def test_blocked_folds_are_contiguous_blocks_in_clip_order():
    folds = make_folds(LABELS, k=4, kind="blocked")
    for i, (_, val) in enumerate(folds):
        assert np.array_equal(val, np.arange(250 * i, 250 * (i + 1)))
    assert all(np.array_equal(a[1], b[1]) for a, b in
               zip(folds, make_folds(LABELS, k=4, kind="blocked", seed=99)))


def test_seeded_determinism():
    a = make_folds(LABELS, 5, "stratified", seed=1)
    b = make_folds(LABELS, 5, "stratified", seed=1)
    c = make_folds(LABELS, 5, "stratified", seed=2)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    assert not all(np.array_equal(x[1], y[1]) for x, y in zip(a, c))


def test_holdout_split():
    train, val = holdout_split(LABELS, 0.2, "stratified", seed=0)
    assert val.size == 200 and LABELS[val].sum() == round(0.2 * 234)
    assert np.array_equal(np.union1d(train, val), np.arange(1000))
    assert np.array_equal(val, holdout_split(LABELS, 0.2, "stratified", seed=0)[1])
    train, val = holdout_split(LABELS, 0.25, "blocked")
    assert np.array_equal(val, np.arange(750, 1000)) and np.array_equal(train, np.arange(750))


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="kind"):
        make_folds(LABELS, 5, "random")
    with pytest.raises(ConfigError, match="label 1 has 3"):
        make_folds(np.array([0] * 20 + [1] * 3), 5)
    with pytest.raises(ConfigError):
        make_folds(LABELS, 1)
    with pytest.raises(ConfigError):
        holdout_split(LABELS, 1.5)

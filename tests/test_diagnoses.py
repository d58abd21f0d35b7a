"""Honest diagnoses: non-finite data and broken one-hot rows are refused at the boundary; divergence names its likely cause."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import blobs

import xpnet
from xpnet import MultiLayerNet, TrainingDiverged, TwoLayerNet
from xpnet.training.diagnosis import divergence_message

(X, T), (X_TEST, T_TEST) = blobs(n=300, d=12, k=3, n_test=60)


def _net(backend, **kw) -> TwoLayerNet:
    kw = {"dtype": "float32", "seed": 0, **kw}
    return TwoLayerNet(12, 8, 3, backend=backend.name, device=backend.device, **kw)


def _floats(value: float, at: tuple[int, int]) -> np.ndarray:
    x = X.astype(np.float32) / 255
    x[at] = value
    return x


def _one_hot(row: int, values: list[float]) -> np.ndarray:
    t = np.eye(3, dtype=np.float32)[T]
    t[row] = values
    return t


BAD_DATA = [
    ("nan-pixel", lambda: ((_floats(np.nan, (7, 3)), T), None), r"training images contain nan at index \(7, 3\)"),
    ("inf-pixel", lambda: ((_floats(np.inf, (0, 11)), T), None), r"training images contain inf at index \(0, 11\)"),
    ("-inf-test-pixel", lambda: ((X, T), (_floats(-np.inf, (2, 0))[:60], T_TEST)), r"test images contain -inf at index \(2, 0\)"),
    ("one-hot-zero-row", lambda: ((X, _one_hot(5, [0, 0, 0])), None), r"training labels row 5 is not one-hot \(all zeros"),
    ("one-hot-two-ones", lambda: ((X, _one_hot(9, [1, 1, 0])), None), r"row 9 is not one-hot \(sums to 2"),
    ("one-hot-soft-row", lambda: ((X, _one_hot(1, [0.5, 0.5, 0])), None), r"row 1 is not one-hot \(holds 0\.5 at column 0"),
    ("one-hot-nan-row", lambda: ((X, _one_hot(3, [np.nan, 1, 0])), None), r"row 3 is not one-hot \(holds NaN or inf"),
]


@pytest.mark.parametrize(("make", "match"), [pytest.param(m, r, id=i) for i, m, r in BAD_DATA])
def test_bad_data_is_refused_at_the_boundary(backend, make, match):
    train_data, test_data = make()
    with pytest.raises(ValueError, match=match):
        xpnet.train(_net(backend), train_data, test_data, iters=5, seed=0)


def test_good_one_hot_rows_train_like_labels(numpy_backend):
    a = xpnet.train(_net(numpy_backend), (X, np.eye(3, dtype=np.float32)[T]), iters=20, seed=1)
    b = xpnet.train(_net(numpy_backend), (X, T), iters=20, seed=1)
    assert a.train_loss == b.train_loss


DIVERGENCE = [
    ("learning-rate", {"lr": 1e30}, {}, "the learning rate (lr 1e+30)", "--lr 0.1"),
    ("initial-weights", {}, {"weight_init_std": 1e30}, "the initial weight scale (weight_init_std 1e+30", "--weight-init-std 0.01"),
    ("data", {}, {}, "the data: training inputs reach |x| = 1e+30", "scale them to about [0, 1]"),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(("settings", "net_kw", "cause", "fix"), [pytest.param(*c[1:], id=c[0]) for c in DIVERGENCE])
def test_divergence_names_the_likely_cause(backend, settings, net_kw, cause, fix):
    x = np.full((300, 12), 1e30, np.float32) * (X > 128) if "data" in cause else X
    with pytest.raises(TrainingDiverged) as info:
        xpnet.train(_net(backend, **net_kw), (x, T), iters=200, seed=0, **settings)
    message = str(info.value)
    assert "training diverged" in message and f"likely cause: {cause}" in message and fix in message


DECAY_DIVERGENCE = [
    ("weight-decay", {"lr": 0.1}, 1e6, "the weight decay (lambda 1e+06, the book uses 0.1 at most)", "--weight-decay 0.1"),
    ("lr-times-decay", {"lr": 0.5}, 9.0, "the learning rate with the weight decay (lr 0.5 * lambda 9 = 4.5, above 2", "--weight-decay below 4"),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(("settings", "decay", "cause", "fix"), [pytest.param(*c[1:], id=c[0]) for c in DECAY_DIVERGENCE])
def test_divergence_from_weight_decay_names_it(backend, settings, decay, cause, fix):
    net = MultiLayerNet(12, [8], 3, weight_decay_lambda=decay, backend=backend.name, device=backend.device, dtype="float32", seed=0)
    with pytest.raises(TrainingDiverged) as info:
        xpnet.train(net, (X, T), iters=300, seed=0, **settings)
    message = str(info.value)
    assert f"likely cause: {cause}" in message and fix in message


def test_weight_decay_is_blamed_only_where_it_explains_the_divergence():
    def cause(first_loss: float, **kw) -> str:
        settings = {"lr": 0.1, "init_std": 0.01, "scale": 1.0, "n_classes": 10, **kw}
        return divergence_message(float("nan"), 7, first_loss, **settings).split("likely cause: ")[1]

    assert cause(1e5, weight_decay=0.1).startswith("the initial weight scale (weight_init_std 0.01, ")  # the book's lambdas
    assert cause(1e5, init_std="relu").startswith("the initial weight scale (weight_init_std relu, ")  # named as given
    assert cause(1e5, weight_decay=5.0).startswith("the weight decay (lambda 5")
    assert cause(2.3, weight_decay=30.0, optimizer="sgd").startswith("the learning rate with the weight decay (lr 0.1 * lambda 30")
    assert cause(2.3, weight_decay=30.0, optimizer="adam").startswith("the learning rate (lr 0.1)")  # Adam's step is not lr * gradient
    assert cause(2.3, weight_decay=10.0, optimizer="sgd").startswith("the learning rate (lr 0.1)")  # lr * lambda = 1: the weights shrink

"""Gradient check: backprop agrees with central differences for both activations, several shapes."""

import numpy as np
import pytest
from conftest import to_np

from xpnet import TwoLayerNet, gradient_check


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize(("sizes", "n"), [((784, 50, 10), 3), ((20, 7, 4), 5), ((3, 2, 2), 1)])
def test_gradient_check_agrees(backend, activation, sizes, n):
    std = 0.5 if sizes[0] < 100 else 0.01
    for seed in range(100):
        rng = np.random.default_rng(seed)
        net = TwoLayerNet(*sizes, std, activation=activation, backend=backend, seed=seed)
        x = backend.asarray(rng.random((n, sizes[0])), dtype="float64")
        t = backend.asarray(rng.integers(0, sizes[2], size=n))
        # keep the test point away from ReLU's kink (a step of 1e-4 must not cross it),
        # where finite differences are meaningless
        if activation != "relu" or np.min(np.abs(to_np(x) @ to_np(net.params["W1"]))) > 2e-4:
            break
    result = gradient_check(net, x, t)
    assert set(result.mean_abs_diff) == {"W1", "b1", "W2", "b2"}
    for key, diff in result.mean_abs_diff.items():
        assert diff < 1e-7, f"{key}: {diff}"


def test_gradient_check_runs_in_float64_for_float32_networks(backend):
    net = TwoLayerNet(8, 4, 3, 0.5, backend=backend, dtype="float32", seed=1)
    rng = np.random.default_rng(0)
    x = backend.asarray(rng.random((3, 8)), dtype="float32")
    result = gradient_check(net, x, backend.asarray(np.array([0, 1, 2])))
    assert result.worst() < 1e-7
    assert net.dtype == backend.xp.float32  # the network itself is untouched


def test_gradient_check_detects_a_wrong_gradient(monkeypatch):
    net = TwoLayerNet(5, 4, 3, 0.5, seed=1)
    x = np.random.default_rng(0).random((2, 5))
    t = np.array([0, 2])
    real = TwoLayerNet.gradient

    def broken(self, x, t):
        g = real(self, x, t)
        g["b2"] = g["b2"] * 1.01
        return g

    monkeypatch.setattr(TwoLayerNet, "gradient", broken)
    assert gradient_check(net, x, t).mean_abs_diff["b2"] > 1e-5

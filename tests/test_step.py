"""The training step: the layers' own forward/backward and the optimizer's update, the same on every backend."""

import numpy as np
import pytest
from conftest import blobs, read_only, to_np

from xpnet import SGD, Affine, Relu, SoftmaxWithLoss, TwoLayerNet
from xpnet.training import Trainer

TOL = {"float32": {"rtol": 2e-4, "atol": 2e-6}, "float64": {"rtol": 1e-12, "atol": 1e-14}}


def _data(n=400):
    (x, t), _ = blobs(n, n_test=0, spread=30.0)
    return (x, t), (x[:100], t[:100])


def _run(backend, dtype, activation="relu", iters=60, **kw):
    net = TwoLayerNet(12, 7, 3, 0.1, activation=activation, backend=backend, dtype=dtype, seed=0)
    train_data, test_data = _data()
    kw.setdefault("lr", None if "optimizer" in kw else 1.0)
    history = Trainer(net, train_data, test_data, batch_size=16, seed=5, eval_every=25, **kw).run(iters)
    return net, history


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_same_seed_same_parameters_on_every_backend(backend, dtype, activation):
    ref_net, ref = _run("numpy", dtype, activation)
    net, h = _run(backend, dtype, activation)
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(to_np(net.params[key]), to_np(ref_net.params[key]), **TOL[dtype], err_msg=key)
    np.testing.assert_allclose(h.train_loss, ref.train_loss, **TOL[dtype])
    assert h.eval_iters == ref.eval_iters == [25, 50, 60]
    assert abs(h.train_loss[-1] - h.train_loss[0]) > 0.05  # training moved the parameters


def test_step_equals_the_books_loop_at_the_books_sizes():
    """784-50-10, batch 100, uint8 pixels: 30 trainer steps equal the book's loop written by hand, in float64."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(1000, 784), dtype=np.uint8)
    t = rng.integers(0, 10, size=1000)
    net = TwoLayerNet(784, 50, 10, seed=3)
    book = net.to()  # the same weights
    trainer = Trainer(net, (x, t), batch_size=100, lr=0.1, seed=1)
    h = trainer.run(30)
    draws = np.random.default_rng([1, 1]).integers(0, 1000, size=(100, 100))  # the trainer's batch draws
    losses = []
    for i in range(30):
        xb, tb = x[draws[i]] / 255.0, t[draws[i]]
        losses.append(float(book.loss(xb, tb)))
        grads = book.gradient(xb, tb)
        for key in ("W1", "b1", "W2", "b2"):
            book.params[key] -= 0.1 * grads[key]
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(net.params[key], book.params[key], rtol=1e-10, atol=1e-14, err_msg=key)
    np.testing.assert_allclose(h.train_loss, losses, rtol=1e-12)


def test_a_training_step_runs_the_layers_backward_passes(monkeypatch):
    calls = []
    for cls in (Affine, Relu, SoftmaxWithLoss):
        original = cls.backward

        def spy(self, *args, _original=original, **kwargs):
            calls.append(type(self).__name__)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "backward", spy)
    _run("numpy", "float64", iters=3)
    assert calls == ["SoftmaxWithLoss", "Affine", "Relu", "Affine"] * 3


def test_a_changed_layer_changes_training(monkeypatch):
    """Training has no second implementation: a layer changed by a learner changes what the step computes."""
    _, ref = _run("numpy", "float64", iters=5)
    monkeypatch.setattr(Relu, "backward", lambda self, dout: dout * 0.0)  # cut the gradient to the first layer
    net, h = _run("numpy", "float64", iters=5)
    assert h.train_loss[0] == ref.train_loss[0] and h.train_loss[-1] != ref.train_loss[-1]
    np.testing.assert_array_equal(net.params["W1"], TwoLayerNet(12, 7, 3, 0.1, seed=0).params["W1"])


def test_lr_with_an_optimizer_object_is_refused_not_ignored():
    with pytest.raises(ValueError, match="lr applies to an optimizer given by name; SGD has its own"):
        Trainer(TwoLayerNet(12, 7, 3, seed=0), _data()[0], lr=0.5, optimizer=SGD(0.1))


def test_another_optimizer_is_used_as_given():
    class HalfSGD(SGD):
        def update(self, params, grads):
            super().update(params, {k: g * 0.5 for k, g in grads.items()})

    net_a, a = _run("numpy", "float64", iters=20, optimizer=HalfSGD(1.0))
    net_b, b = _run("numpy", "float64", iters=20, optimizer=SGD(0.5))
    np.testing.assert_allclose(net_a.params["W1"], net_b.params["W1"], rtol=1e-12)
    assert a.train_loss == pytest.approx(b.train_loss, rel=1e-12)


def test_training_never_writes_the_callers_arrays():
    params = {k: read_only(v) for k, v in TwoLayerNet(12, 7, 3, 0.1, seed=0).params.items()}
    before = {k: v.copy() for k, v in params.items()}
    net = TwoLayerNet(12, 7, 3, 0.1, params=params)
    (x, t), _ = _data()
    x, t = read_only(x), read_only(t)
    Trainer(net, (x, t), batch_size=16, lr=1.0, seed=5).run(30)
    for key, value in before.items():
        np.testing.assert_array_equal(params[key], value)
    assert not np.array_equal(net.params["W1"], before["W1"])


def test_a_callback_that_replaces_parameters_is_honoured():
    net = TwoLayerNet(12, 7, 3, 0.1, seed=0)
    (x, t), _ = _data()
    zeros = {k: np.zeros_like(v) for k, v in net.params.items()}

    def reset(done, loss):
        if done == 100:
            net.params = zeros

    h = Trainer(net, (x, t), batch_size=16, lr=1.0, seed=5, eval_every=1000).run(101, on_progress=reset)
    # with all-zero weights every score is 0: the loss of the step after the reset is log(3)
    assert h.train_loss[100] == pytest.approx(np.log(3), rel=1e-12)

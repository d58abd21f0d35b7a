"""Chapter 6 on every backend: Batch Normalization, Dropout, weight decay, MultiLayerNet(Extend), trained as one model."""

import numpy as np
import pytest
from conftest import assert_close, blobs, to_np

import xpnet
from xpnet.layers import BatchNormalization, Dropout
from xpnet.nets import MultiLayerNet, MultiLayerNetExtend


def _data(backend, n=6, d=20, k=4, seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    return backend.asarray(rng.normal(size=(n, d)), dtype=dtype), backend.asarray(rng.integers(0, k, size=n))


def _max_diff(a, b):
    return max(float(np.max(np.abs(to_np(a[k]) - to_np(b[k])))) for k in a)


@pytest.mark.parametrize("shape", [(5, 6), (4, 2, 3, 3)], ids=["2d", "4d"])
def test_batch_normalization_backward_matches_numerical_gradients(backend, shape):
    rng = np.random.default_rng(1)
    d = int(np.prod(shape[1:]))
    x = backend.asarray(rng.normal(size=shape), dtype="float64")
    gamma, beta = backend.asarray(rng.normal(size=d) + 1.0, dtype="float64"), backend.asarray(rng.normal(size=d), dtype="float64")
    w = backend.asarray(rng.normal(size=shape), dtype="float64")  # loss = sum(w * out): dout = w

    def loss(x_, g_, b_):
        return backend.xp.sum(w * BatchNormalization(g_, b_).forward(x_, train_flg=True))

    layer = BatchNormalization(gamma, beta)
    layer.forward(x, train_flg=True)
    dx = layer.backward(w)
    assert tuple(dx.shape) == shape
    assert_close(dx, to_np(xpnet.numerical_gradient(lambda v: loss(v, gamma, beta), x)), rtol=1e-6, atol=1e-8)
    assert_close(layer.dgamma, to_np(xpnet.numerical_gradient(lambda v: loss(x, v, beta), gamma)), rtol=1e-6, atol=1e-8)
    assert_close(layer.dbeta, to_np(xpnet.numerical_gradient(lambda v: loss(x, gamma, v), beta)), rtol=1e-6, atol=1e-8)


def test_batch_normalization_follows_the_book_in_both_modes(backend):
    x = np.random.default_rng(2).normal(size=(8, 3)) * 3 + 1
    layer = BatchNormalization(backend.asarray(np.ones(3)), backend.asarray(np.zeros(3)), momentum=0.9)
    out = layer.forward(backend.asarray(x), train_flg=True)
    mu, var = x.mean(axis=0), x.var(axis=0)
    assert_close(out, (x - mu) / np.sqrt(var + 10e-7))
    assert_close(layer.running_mean, 0.1 * mu)
    assert_close(layer.running_var, 0.1 * var)
    test = layer.forward(backend.asarray(x), train_flg=False)
    assert_close(test, (x - 0.1 * mu) / np.sqrt(0.1 * var + 10e-7))


def test_dropout_backward_is_the_forward_mask_and_test_mode_scales(backend):
    x = backend.asarray(np.random.default_rng(3).normal(size=(50, 40)), dtype="float64")
    layer = Dropout(0.3, seed=7)
    out = to_np(layer.forward(x, train_flg=True))
    keep = to_np(layer.mask)
    assert 0.6 < keep.mean() < 0.8
    np.testing.assert_array_equal(out, np.where(keep, to_np(x), 0.0))
    dout = backend.asarray(np.ones((50, 40)), dtype="float64")
    np.testing.assert_array_equal(to_np(layer.backward(dout)), keep.astype(float))
    assert_close(layer.forward(x, train_flg=False), to_np(x) * 0.7)
    assert not np.array_equal(to_np(layer.forward(x)), out)  # the next draw is another mask


def test_dropout_masks_are_bit_identical_on_every_backend(backend, numpy_backend):
    shape = (7, 33)
    ref, got = Dropout(0.5, seed=11), Dropout(0.5, seed=11)
    for _ in range(3):
        ref.forward(numpy_backend.asarray(np.ones(shape)))
        got.forward(backend.asarray(np.ones(shape), dtype="float64"))
        np.testing.assert_array_equal(to_np(got.mask), to_np(ref.mask))


def test_numerical_gradient_of_dropout_and_batch_norm_nets_uses_the_next_training_masks(backend):
    net = MultiLayerNetExtend(20, [8, 8], 4, use_batchnorm=True, use_dropout=True, dropout_ration=0.3, backend=backend, seed=0)
    x, t = _data(backend)
    before = {k: to_np(v) for k, v in net.buffers.items()}
    num = net.numerical_gradient(x, t)
    assert all(np.array_equal(to_np(net.buffers[k]), v) for k, v in before.items())  # nothing of the net changed
    grad = net.gradient(x, t)  # draws the same masks, from the same stream position
    assert _max_diff(num, grad) < 1e-6


def test_weight_decay_adds_lambda_w_to_loss_and_gradient(backend):
    lam = 0.3
    net = MultiLayerNet(20, [8], 4, weight_decay_lambda=lam, backend=backend, seed=0)
    plain = MultiLayerNet(20, [8], 4, params={k: to_np(v) for k, v in net.params.items()}, backend=backend)
    x, t = _data(backend)
    decay = 0.5 * lam * sum(float(np.sum(to_np(net.params[k]) ** 2)) for k in ("W1", "W2"))
    assert_close(net.loss(x, t), float(to_np(plain.loss(x, t))) + decay)
    g, g0 = net.gradient(x, t), plain.gradient(x, t)
    for key in g:
        extra = lam * to_np(net.params[key]) if key.startswith("W") else 0.0
        assert_close(g[key], to_np(g0[key]) + extra)
    assert _max_diff(net.numerical_gradient(x, t), g) < 1e-7


@pytest.mark.parametrize("init, scale", [("relu", np.sqrt(2 / 20)), ("he", np.sqrt(2 / 20)), ("xavier", np.sqrt(1 / 20)),
                                         ("sigmoid", np.sqrt(1 / 20)), (0.5, 0.5)])
def test_weight_init_follows_the_book(init, scale):
    net = MultiLayerNet(20, [30, 30], 4, weight_init_std=init, seed=5)
    expected = scale * np.random.default_rng(5).standard_normal((20, 30))
    np.testing.assert_array_equal(to_np(net.params["W1"]), expected)


def test_the_book_keys_layers_and_buffers():
    net = MultiLayerNetExtend(784, [100, 100], 10, use_batchnorm=True, use_dropout=True, seed=0)
    assert list(net.params) == ["W1", "b1", "W2", "b2", "W3", "b3", "gamma1", "beta1", "gamma2", "beta2"]
    assert list(net.layers) == ["Affine1", "BatchNorm1", "Activation_function1", "Dropout1",
                                "Affine2", "BatchNorm2", "Activation_function2", "Dropout2", "Affine3"]
    assert list(net.buffers) == ["running_mean1", "running_var1", "running_mean2", "running_var2", "rng"]
    assert list(MultiLayerNet(784, [50], 10, seed=0).layers) == ["Affine1", "Activation_function1", "Affine2"]


def _train_extend(backend, steps, *, compiled=None, seed=0):
    (x, t), test = blobs(n=400, d=24, k=4, n_test=100)
    net = MultiLayerNetExtend(24, [16] * 3, 4, use_batchnorm=True, use_dropout=True, dropout_ration=0.2,
                              backend=backend, dtype="float64", seed=seed)
    history = xpnet.train(net, (x, t), test, iters=steps, batch_size=32, optimizer="adam", seed=1, compiled=compiled,
                          eval_every=25)
    return net, history


def test_float64_parity_of_a_batch_norm_dropout_adam_run_across_backends(backend, numpy_backend):
    ref, ref_h = _train_extend(numpy_backend, 100)
    net, h = _train_extend(backend, 100)
    np.testing.assert_allclose(h.train_loss, ref_h.train_loss, rtol=1e-12)
    for kind in ("params", "buffers"):
        for key, value in getattr(ref, kind).items():
            # the biases before Batch Normalization have a zero gradient but for rounding, which Adam's normalised
            # step turns into moves of about 1e-12: compared in absolute terms
            np.testing.assert_allclose(to_np(getattr(net, kind)[key]), to_np(value), rtol=1e-12, atol=1e-11, err_msg=key)
    assert h.test_acc == ref_h.test_acc


def test_compiled_chapter6_step_equals_the_eager_one_and_draws_new_masks(compiled_backend):
    eager, eh = _train_extend(compiled_backend, 60, compiled=False)
    comp, ch = _train_extend(compiled_backend, 60, compiled=True)
    np.testing.assert_allclose(ch.train_loss, eh.train_loss, rtol=1e-12)
    assert _max_diff(comp.params, eager.params) < 1e-11
    assert int(to_np(comp.buffers["rng"])[1]) == 60 * 3  # three Dropout layers drew at every step
    assert ch.test_acc == eh.test_acc

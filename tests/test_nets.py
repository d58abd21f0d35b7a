"""SimpleNet and TwoLayerNet: book values, parity across backends, autograd oracle, one owner per parameter."""

import importlib.util
import warnings

import numpy as np
import pytest
from conftest import assert_close, read_only, to_np

from xpnet import SGD, SimpleNet, TwoLayerNet
from xpnet.backends import backend_of, get_backend

BOOK_W = [[0.47355232, 0.9977393, 0.84668094], [0.85557411, 0.03563661, 0.69422093]]


def test_simple_net_book_values(backend):
    net = SimpleNet(backend.asarray(BOOK_W, dtype="float64"))
    x = backend.asarray([0.6, 0.9], dtype="float64")
    t = backend.asarray([0.0, 0.0, 1.0], dtype="float64")
    p = net.predict(x)
    assert_close(p, [1.05414809, 0.63071653, 1.1328074], atol=1e-8)
    assert int(backend.xp.argmax(p)) == 2
    # the book printed W rounded to 8 digits; its loss used the unrounded draw
    assert_close(net.loss(x, t), 0.92806853663411326, atol=1e-6)
    dW = net.numerical_gradient(x, t)
    assert_close(dW, [[0.21924763, 0.14356247, -0.36281009], [0.32887144, 0.2153437, -0.54421514]], atol=1e-6)
    assert_close(net.W, BOOK_W)


def _data(backend, n=4, d=6, k=3, seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    x = backend.asarray(rng.normal(size=(n, d)), dtype=dtype)
    t = backend.asarray(rng.integers(0, k, size=n))
    return x, t


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_shapes_layers_and_device(backend, activation):
    net = TwoLayerNet(6, 5, 3, activation=activation, backend=backend, seed=0)
    assert list(net.layers) == ["Affine1", f"{activation.capitalize()}1", "Affine2"]
    assert {k: tuple(v.shape) for k, v in net.params.items()} == {"W1": (6, 5), "b1": (5,), "W2": (5, 3), "b2": (3,)}
    x, t = _data(backend)
    loss = net.loss(x, t)
    assert loss.ndim == 0
    for arr in [loss, net.predict(x), *net.gradient(x, t).values()]:
        assert backend_of(arr).name == backend.name
        assert backend_of(arr).device == backend.device


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_kept_end_to_end(backend, dtype):
    net = TwoLayerNet(6, 5, 3, backend=backend, dtype=dtype, seed=0)
    x, t = _data(backend, dtype="float64")
    assert net.loss(x, t).dtype == backend.dtype(dtype)
    assert all(g.dtype == backend.dtype(dtype) for g in net.gradient(x, t).values())


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_backend_parity_with_numpy(backend, numpy_backend, activation):
    ref = TwoLayerNet(6, 5, 3, 0.5, activation=activation, backend=numpy_backend, seed=3)
    net = TwoLayerNet(6, 5, 3, 0.5, activation=activation, backend=backend, seed=3)
    for key in ref.params:
        np.testing.assert_array_equal(to_np(net.params[key]), to_np(ref.params[key]))  # bit-identical
    xh = np.random.default_rng(1).normal(size=(4, 6))
    th = np.array([0, 2, 1, 2])
    loss_ref = to_np(ref.loss(numpy_backend.asarray(xh), numpy_backend.asarray(th)))
    loss = to_np(net.loss(backend.asarray(xh, dtype="float64"), backend.asarray(th)))
    np.testing.assert_allclose(loss, loss_ref, rtol=1e-12)
    g_ref = ref.gradient(numpy_backend.asarray(xh), numpy_backend.asarray(th))
    g = net.gradient(backend.asarray(xh, dtype="float64"), backend.asarray(th))
    for key in g_ref:
        np.testing.assert_allclose(to_np(g[key]), to_np(g_ref[key]), rtol=1e-12, atol=1e-15)


def test_one_hot_and_labels_agree(backend):
    net = TwoLayerNet(6, 5, 3, backend=backend, seed=0)
    x, t = _data(backend)
    onehot = backend.asarray(np.eye(3)[to_np(t)], dtype="float64")
    assert_close(net.loss(x, onehot), to_np(net.loss(x, t)))
    assert net.accuracy(x, onehot) == net.accuracy(x, t)


def test_accuracy_matches_numpy_count(backend):
    net = TwoLayerNet(6, 5, 3, 1.0, backend=backend, seed=0)
    x, t = _data(backend, n=25)
    expected = np.mean(np.argmax(to_np(net.predict(x)), axis=1) == to_np(t))
    assert net.accuracy(x, t) == pytest.approx(expected)
    assert net.accuracy(x, t, batch_size=7) == pytest.approx(expected)  # chunked evaluation


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_batched_numerical_gradient_equals_elementwise_loop(backend, activation):
    net = TwoLayerNet(6, 5, 3, 0.5, activation=activation, backend=backend, seed=2)
    x, t = _data(backend, seed=4)
    loop = net.numerical_gradient(x, t, method="loop")
    batched = net.numerical_gradient(x, t)
    for key in loop:
        np.testing.assert_allclose(to_np(batched[key]), to_np(loop[key]), rtol=0, atol=1e-9)


def test_sgd_step_is_seen_by_the_layers(backend):
    """Replacing params entries (no in-place write) changes the next forward pass: one owner."""
    net = TwoLayerNet(6, 5, 3, 0.5, backend=backend, seed=0)
    x, t = _data(backend)
    before = to_np(net.loss(x, t))
    opt = SGD(lr=0.5)
    for _ in range(5):
        opt.update(net.params, net.gradient(x, t))
    after = to_np(net.loss(x, t))
    assert after < before
    assert net.layers["Affine1"].W is net.params["W1"]


def test_params_assignment_is_checked():
    """Shapes are values (ValueError); dtypes and backends are types (TypeError); devices are values."""
    net = TwoLayerNet(6, 5, 3, seed=0)
    with pytest.raises(ValueError, match=r"params\['W1'\] must keep shape \(6, 5\)"):
        net.params["W1"] = np.zeros((5, 6))
    with pytest.raises(KeyError, match="no parameter 'W3'"):
        net.params["W3"] = np.zeros((6, 5))
    with pytest.raises(TypeError, match=r"params\['b1'\] must keep dtype float64, got dtype float32"):
        net.params["b1"] = np.zeros(5, dtype=np.float32)
    strict = get_backend("array_api_strict")
    with pytest.raises(TypeError, match=r"params\['b1'\]: arrays from different backends .*array_api_strict"):
        net.params["b1"] = strict.asarray(np.zeros(5), dtype="float64")
    on_device1 = TwoLayerNet(6, 5, 3, seed=0, backend="array_api_strict", device="device1")
    with pytest.raises(ValueError, match=r"params\['b1'\]: arrays on different devices .*device1"):
        on_device1.params["b1"] = strict.asarray(np.zeros(5), dtype="float64")
    net.params["b1"] = np.ones(5)  # a valid replacement is still accepted
    assert_close(net.params["b1"], np.ones(5))


def test_params_of_another_backend_are_rejected_without_warnings():
    """A strict array into a NumPy net: xpnet's own TypeError, and no cross-library dtype comparison warning."""
    net = TwoLayerNet(6, 5, 3, seed=0)
    value = get_backend("array_api_strict").asarray(np.zeros((6, 5)), dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match="different backends"):
            net.params["W1"] = value


def test_sizes_accept_numpy_integers_and_store_python_ints():
    net = TwoLayerNet(np.int64(4), np.int32(3), 2, seed=0)
    assert (net.input_size, net.hidden_size, net.output_size) == (4, 3, 2)
    assert all(type(v) is int for v in (net.input_size, net.hidden_size, net.output_size))
    assert tuple(net.params["W1"].shape) == (4, 3)


def test_params_argument_accepts_nested_lists(backend):
    params = {"W1": [[1.0, -1.0]], "b1": [0.0, 0.5], "W2": [[1.0], [2.0]], "b2": [0.25]}
    net = TwoLayerNet(1, 2, 1, backend=backend, params=params)
    for key, value in params.items():
        assert_close(net.params[key], value)
        assert backend_of(net.params[key]).name == backend.name
    assert net.params["W1"].dtype == backend.xp.float64


def test_accuracy_checks_labels_and_count_correct_can_skip_host_reads(backend):
    net = TwoLayerNet(6, 5, 3, backend=backend, seed=0)
    x, t = _data(backend)
    hits, finite = net.count_correct(x, t)
    assert hits.ndim == 0 and finite.ndim == 0 and bool(finite)
    assert net.accuracy(x, t, batch_size=3) == int(hits) / 4
    bad = backend.asarray(np.array([0, 1, 2, 7]))
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        net.accuracy(x, bad)
    net.count_correct(x, bad)  # no host read, no check: the caller validated once


def test_simple_net_converts_inputs_to_its_dtype(backend):
    net = SimpleNet(backend.asarray(BOOK_W, dtype="float64"))
    x32 = backend.asarray([0.6, 0.9], dtype="float32")
    p = net.predict(x32)
    assert p.dtype == backend.xp.float64
    assert_close(p, [1.05414809, 0.63071653, 1.1328074], atol=1e-6)


def test_network_never_writes_into_inputs():
    net = TwoLayerNet(6, 5, 3, seed=0)
    x = read_only(np.random.default_rng(0).normal(size=(4, 6)))
    t = read_only(np.array([0, 1, 2, 0]))
    net.gradient(x, t)
    net.numerical_gradient(x, t)
    net.accuracy(x, t)


def test_to_other_dtype_and_backend(backend, numpy_backend):
    net = TwoLayerNet(6, 5, 3, backend=numpy_backend, seed=0)
    moved = net.to(backend.name, backend.device, dtype="float32")
    assert moved.backend.name == backend.name and moved.dtype == backend.xp.float32
    assert_close(moved.params["W1"], to_np(net.params["W1"]).astype(np.float32), "float32")


def test_network_input_errors(backend):
    net = TwoLayerNet(6, 5, 3, backend=backend, seed=0)
    x, t = _data(backend)
    with pytest.raises(ValueError, match=r"TwoLayerNet.predict: x must have shape \(N, 6\).*\(4, 7\)"):
        net.predict(backend.asarray(np.zeros((4, 7)), dtype="float64"))
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.2"):
        net.loss(x, backend.asarray(np.array([0, 1, 2, 3])))
    with pytest.raises(ValueError, match="one-hot width 4 does not match the 3 outputs"):
        net.loss(x, backend.asarray(np.zeros((4, 4)), dtype="float64"))
    with pytest.raises(ValueError, match="batch sizes differ: 4 scores but 3"):
        net.loss(x, backend.asarray(np.array([0, 1, 2])))
    with pytest.raises(TypeError, match="floating dtype"):
        net.loss(backend.asarray(np.zeros((4, 6), dtype=np.int64)), t)
    with pytest.raises(ValueError, match="empty"):
        net.loss(backend.asarray(np.zeros((0, 6)), dtype="float64"), backend.asarray(np.zeros(0, dtype=np.int64)))


def test_mixed_backends_are_named(backend, numpy_backend):
    if backend.name == "numpy":
        pytest.skip("needs a second backend besides NumPy")
    net = TwoLayerNet(6, 5, 3, backend=backend, seed=0)
    with pytest.raises(TypeError, match="different backends"):
        net.predict(numpy_backend.asarray(np.zeros((2, 6))))


def test_constructor_errors():
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        TwoLayerNet(6, 0, 3)
    with pytest.raises(ValueError, match="activation must be one of"):
        TwoLayerNet(6, 5, 3, activation="tanh")
    with pytest.raises(TypeError, match="float32 or float64"):
        TwoLayerNet(6, 5, 3, dtype="int32")


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed: no autograd oracle")
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_gradient_equals_torch_autograd(activation):
    import torch

    net = TwoLayerNet(6, 5, 3, 0.5, activation=activation, seed=5)
    xh = np.random.default_rng(6).normal(size=(4, 6))
    th = np.array([2, 0, 1, 1])
    grads = net.gradient(xh, th)
    p = {k: torch.tensor(np.asarray(v), requires_grad=True) for k, v in net.params.items()}
    act = torch.relu if activation == "relu" else torch.sigmoid
    scores = act(torch.tensor(xh) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    torch.nn.functional.cross_entropy(scores, torch.tensor(th)).backward()
    for key in grads:
        np.testing.assert_allclose(np.asarray(grads[key]), p[key].grad.numpy(), rtol=1e-10, atol=1e-14)

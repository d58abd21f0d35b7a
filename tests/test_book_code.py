"""The book's chapter 4-5 code, written its way against xpnet's modules, on every backend.

``numerical_gradient(lambda w: net.loss(x, t), net.W)`` (an ``f`` that ignores its argument),
mini-batches picked with ``choice`` masks, ``params[key] -= lr * grad[key]``, and the
gradient check's ``np.average(np.abs(...))``. The apple-shopping graphs of chapter 5 are in
``test_layers.py`` (``test_buy_apple``, ``test_buy_apple_orange``), written the book's way.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close, read_only, to_np

from xpnet import SimpleNet, TwoLayerNet, load_mnist, numerical_gradient
from xpnet.gradient import central_differences
from xpnet.backends import backend_of

DELTA = 1e-7  # the book's cross_entropy_error adds it inside the log
IGNORES = "f does not read its argument"


def bits(x) -> bytes:
    """The raw bytes of ``x``'s values (a host copy)."""
    return np.ascontiguousarray(to_np(x)).tobytes()


def simple_net_gradient(W: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``dL/dW`` of ``cross_entropy_error(softmax(x @ W), t)`` for one-hot ``t``, the book's delta included.

    ``L = -mean(log(y_k + delta))`` gives ``dL/dz = y_k / (y_k + delta) * (y - t) / N`` per row.
    """
    x2, t2 = np.atleast_2d(x), np.atleast_2d(t)
    z = x2 @ W
    y = np.exp(z - z.max(axis=1, keepdims=True))
    y /= y.sum(axis=1, keepdims=True)
    y_k = np.sum(y * t2, axis=1, keepdims=True)
    return x2.T @ (y_k / (y_k + DELTA) * (y - t2)) / x2.shape[0]


@pytest.fixture(scope="module")
def mnist():
    """The book's ``load_mnist(normalize=True, one_hot_label=True)``."""
    return load_mnist(normalize=True, one_hot_label=True)


# --- chapter 4: gradient_simplenet -----------------------------------------------------------
@pytest.mark.parametrize("batch", [False, True], ids=["x-(2,)", "x-(3,2)"])
def test_simple_net_book_idiom_gives_the_gradient_and_leaves_w_alone(backend, batch):
    rng = np.random.default_rng(7)
    W_host = rng.standard_normal((2, 3))
    x_host = rng.standard_normal((3, 2)) if batch else np.array([0.6, 0.9])
    t_host = np.eye(3)[[2, 0, 1]] if batch else np.array([0.0, 0.0, 1.0])
    net = SimpleNet(backend.asarray(W_host, dtype="float64"))
    x, t = backend.asarray(x_host, dtype="float64"), backend.asarray(t_host, dtype="float64")
    before = bits(net.W)
    f = lambda w: net.loss(x, t)  # noqa: E731 - the book's idiom: w is ignored
    expected = simple_net_gradient(W_host, x_host, t_host)
    if backend.name == "jax":
        with pytest.raises(ValueError, match=IGNORES) as info:
            numerical_gradient(f, net.W)
        assert "lambda W: net.loss(x, t, W=W)" in str(info.value) and "NumPy" in str(info.value)
        dW = numerical_gradient(lambda W: net.loss(x, t, W=W), net.W)
    else:
        dW = numerical_gradient(f, net.W)
    assert_close(dW, expected, atol=1e-7, rtol=0)
    assert (dW.dtype, tuple(dW.shape)) == (net.W.dtype, (2, 3))
    assert (backend_of(dW).name, backend_of(dW).device) == (backend.name, backend.device)
    assert bits(net.W) == before


def test_simple_net_book_values_through_the_book_idiom(backend):
    W = [[0.47355232, 0.9977393, 0.84668094], [0.85557411, 0.03563661, 0.69422093]]
    net = SimpleNet(backend.asarray(W, dtype="float64"))
    x, t = backend.asarray([0.6, 0.9], dtype="float64"), backend.asarray(np.array([0, 0, 1]))
    if backend.name == "jax":  # immutable arrays: f must compute from its argument
        dW = numerical_gradient(lambda W: net.loss(x, t, W=W), net.W)
    else:
        dW = numerical_gradient(lambda w: net.loss(x, t), net.W)
    assert_close(dW, [[0.21924763, 0.14356247, -0.36281009], [0.32887144, 0.2153437, -0.54421514]], atol=1e-6)


def test_in_place_path_gives_the_whole_gradient_not_half(backend):
    # A straight port keeps a view of x[idx] as the saved value: on PyTorch that halves the result.
    host = np.array([[1.0, -2.0], [0.5, 3.0]])
    x = backend.asarray(host, dtype="float64")
    xp = backend.xp
    cube = lambda _: xp.sum(x * x * x)  # noqa: E731 - reads x through the closure only
    if backend.name == "jax":
        with pytest.raises(ValueError, match=IGNORES):
            numerical_gradient(cube, x)
    else:
        assert_close(numerical_gradient(cube, x), 3 * host**2, rtol=1e-7)
    # f's result may itself be a view of x (x[1] on PyTorch); it is taken before x changes again.
    assert_close(numerical_gradient(lambda v: v[1, 0], x), [[0.0, 0.0], [1.0, 0.0]], rtol=1e-9)
    assert_close(x, host)


def test_in_place_and_write_free_paths_agree(backend):
    host = np.random.default_rng(5).standard_normal((3, 4))
    x = backend.asarray(host, dtype="float64")
    xp = backend.xp
    f = lambda v: xp.sum(xp.exp(v) * xp.sin(v))  # noqa: E731
    in_place = numerical_gradient(f, x)
    write_free = xp.reshape(xp.stack(list(central_differences(f, x, range(12), 1e-4))), (3, 4))
    assert_close(in_place, to_np(write_free), rtol=1e-12, atol=1e-14)
    assert_close(in_place, np.exp(host) * (np.sin(host) + np.cos(host)), rtol=1e-7, atol=1e-8)


def test_f_raising_midway_leaves_x_bit_identical(backend):
    x = backend.asarray([0.1, -0.0, 1e150, 3.0, 2.0**-1074], dtype="float64")
    before = bits(x)
    xp = backend.xp
    for fail_at in (1, 2, 4, 7):
        calls = []

        def f(v):
            calls.append(1)
            if len(calls) == fail_at:
                raise RuntimeError("boom")
            return xp.sum(v * v)

        with pytest.raises(RuntimeError, match="boom"):
            numerical_gradient(f, x)
        assert bits(x) == before


def test_non_scalar_f_raises_and_restores_x(backend):
    x = backend.asarray([1.0, 2.0], dtype="float64")
    before = bits(x)
    with pytest.raises(ValueError, match="f must return a scalar"):
        numerical_gradient(lambda v: v * 2.0, x)
    assert bits(x) == before


def test_flat_f_that_reads_its_argument_keeps_its_zero_gradient(backend):
    # A dead ReLU is flat, not ignored: no error on any backend.
    x = backend.asarray([-1.0, -2.0], dtype="float64")
    grad = numerical_gradient(lambda v: backend.xp.sum(backend.xp.maximum(v, 0.0)), x)
    assert_close(grad, [0.0, 0.0])


def test_read_only_numpy_is_untouched_and_still_gets_the_gradient():
    rng = np.random.default_rng(3)
    W_host, x, t = rng.standard_normal((2, 3)), np.array([0.6, 0.9]), np.array([0.0, 1.0, 0.0])
    writable, frozen = SimpleNet(W_host.copy()), SimpleNet(read_only(W_host))
    before = bits(frozen.W)
    got = numerical_gradient(lambda W: frozen.loss(x, t, W=W), frozen.W)
    np.testing.assert_allclose(got, simple_net_gradient(W_host, x, t), atol=1e-7, rtol=0)
    # the write-free path and the in-place path agree
    in_place = numerical_gradient(lambda w: writable.loss(x, t), writable.W)
    np.testing.assert_allclose(got, in_place, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match=rf"{IGNORES}.*read-only"):
        numerical_gradient(lambda w: frozen.loss(x, t), frozen.W)
    assert bits(frozen.W) == before and not frozen.W.flags.writeable


@pytest.mark.filterwarnings("ignore:torch.asarray. unspecified requires_grad:UserWarning")
def test_torch_tensor_that_requires_grad_is_not_written():
    torch = pytest.importorskip("torch")
    host = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.5]])
    W = torch.tensor(host, requires_grad=True)
    net = SimpleNet(W)
    x, t = torch.tensor([0.6, 0.9], dtype=torch.float64), torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    with pytest.raises(ValueError, match=rf"{IGNORES}.*requires grad"):
        numerical_gradient(lambda w: net.loss(x, t), net.W)
    dW = numerical_gradient(lambda w: net.loss(x, t, W=w), net.W)
    assert_close(dW, simple_net_gradient(host, x.numpy(), t.numpy()), atol=1e-7, rtol=0)
    assert_close(W, host)


def test_plain_torch_tensor_gets_the_full_gradient_in_place():
    torch = pytest.importorskip("torch")
    x = torch.tensor([1.5, -0.5, 2.0], dtype=torch.float64)
    grad = numerical_gradient(lambda _: torch.sum(x**2), x)  # the book's idiom: x read from outside
    assert_close(grad, [3.0, -1.0, 4.0], rtol=1e-9)
    assert grad.dtype == torch.float64 and grad.device == x.device


# --- chapter 4/5 training and the gradient check, the book's way -----------------------------
def as_backend(backend, *arrays):
    """NumPy data as it is on NumPy (the book), on the backend otherwise."""
    return arrays if backend.name == "numpy" else tuple(backend.asarray(a) for a in arrays)


def pick(backend, a, batch_mask):
    """``a[batch_mask]``, the book's mini-batch; array_api_strict needs ``xp.take`` (and refuses the mask)."""
    if backend.name != "array_api_strict":
        return a[batch_mask]
    with pytest.raises(IndexError):
        a[batch_mask]
    return backend.xp.take(a, backend.asarray(batch_mask), axis=0)


def test_chapter4_loop_with_numerical_gradients(backend, mnist):
    (x_train, t_train), _ = mnist
    x_train, t_train = as_backend(backend, x_train[:1000], t_train[:1000])
    network = TwoLayerNet(input_size=784, hidden_size=3, output_size=10, activation="sigmoid", backend=backend, seed=0)
    rng = np.random.RandomState(0)  # np.random.choice, seeded
    train_size, batch_size, learning_rate = int(x_train.shape[0]), 3, 0.1
    for _ in range(2):
        batch_mask = rng.choice(train_size, batch_size)
        x_batch, t_batch = pick(backend, x_train, batch_mask), pick(backend, t_train, batch_mask)
        before = float(network.loss(x_batch, t_batch))
        grad = network.numerical_gradient(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= learning_rate * grad[key]
        assert float(network.loss(x_batch, t_batch)) < before
    assert 0.0 <= network.accuracy(x_train, t_train) <= 1.0


def test_chapter5_loop_trains(backend, mnist):
    (x_train, t_train), (x_test, t_test) = mnist
    x_train, t_train = as_backend(backend, x_train[:5000], t_train[:5000])
    x_test, t_test = as_backend(backend, x_test[:1000], t_test[:1000])
    network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, backend=backend, seed=0)
    rng = np.random.RandomState(0)
    train_size, batch_size, learning_rate = int(x_train.shape[0]), 100, 0.1
    start_acc = network.accuracy(x_test, t_test)
    train_loss_list = []
    for _ in range(300):
        batch_mask = rng.choice(train_size, batch_size)
        x_batch, t_batch = pick(backend, x_train, batch_mask), pick(backend, t_train, batch_mask)
        grad = network.gradient(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= learning_rate * grad[key]
        loss = network.loss(x_batch, t_batch)
        train_loss_list.append(loss)
    assert str(loss)  # print(loss) works (a float on NumPy and JAX, tensor(...) / Array(...) elsewhere)
    losses = [float(v) for v in train_loss_list]
    assert np.mean(losses[-30:]) < 0.5 * np.mean(losses[:30])
    test_acc = network.accuracy(x_test, t_test)
    assert test_acc > 0.8 > start_acc
    assert network.layers["Affine1"].W is network.params["W1"]  # the layers see the updated weights


def numpy_accepts(backend) -> bool:
    """Whether NumPy functions take the backend's arrays: CPU memory (not strict's device1, not CuPy)."""
    return backend.name != "cupy" and "device1" not in repr(backend.device)


@pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning")  # np.abs of a tensor
def test_gradient_check_the_books_way(backend, mnist):
    (x_train, t_train), _ = mnist
    x_train, t_train = as_backend(backend, x_train[:3], t_train[:3])
    network = TwoLayerNet(input_size=784, hidden_size=3, output_size=10, backend=backend, seed=0)
    x_batch, t_batch = x_train, t_train
    grad_numerical = network.numerical_gradient(x_batch, t_batch)
    grad_backprop = network.gradient(x_batch, t_batch)
    for key in grad_numerical.keys():
        if numpy_accepts(backend):
            diff = np.average(np.abs(grad_backprop[key] - grad_numerical[key]))
        else:  # device arrays go to the host first
            diff = np.average(np.abs(to_np(grad_backprop[key] - grad_numerical[key])))
        assert diff < 1e-9, key


def test_load_mnist_returns_the_books_shapes(mnist):
    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=False, one_hot_label=True)
    assert (x_train.shape, x_test.shape, t_train.shape, t_test.shape) == (
        (60000, 1, 28, 28), (10000, 1, 28, 28), (60000, 10), (10000, 10),
    )
    np.testing.assert_array_equal(x_train.reshape(60000, 784), mnist[0][0])
    (x_u8, labels), _ = load_mnist(normalize=False)
    assert (x_u8.dtype, x_u8.shape, labels.shape) == (np.uint8, (60000, 784), (60000,))
    np.testing.assert_array_equal(np.argmax(t_train, axis=1), labels)
    net = TwoLayerNet(784, 5, 10, seed=0)  # (N, 1, 28, 28) images go straight in
    assert float(net.loss(x_train[:4], t_train[:4])) == float(net.loss(x_train[:4].reshape(4, 784), t_train[:4]))

"""Property-based tests: gradients, softmax/loss identities, stability, no mutation, on every backend.

Data is drawn on the host as NumPy arrays (float64 unless a test says otherwise) and moved
onto the backend under test with ``backend.asarray``; results are compared on the host.
Every test runs once per case of the ``backend`` fixture (the matrix in ``conftest.py``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import assert_close, read_only, to_np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import xpnet
from xpnet import (
    SGD,
    AddLayer,
    Affine,
    MulLayer,
    Relu,
    Sigmoid,
    SimpleNet,
    SoftmaxWithLoss,
    TwoLayerNet,
    cross_entropy_error,
    gradient_descent,
    log_softmax,
    mean_squared_error,
    numerical_gradient,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    step_function,
)

# The ``backend`` fixture is shared by all examples of a test on purpose: it is immutable.
FIXTURE_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
QUICK = settings(max_examples=20, deadline=None, suppress_health_check=FIXTURE_OK)
GRAD = settings(max_examples=12, deadline=None, suppress_health_check=FIXTURE_OK)
FEW = settings(max_examples=6, deadline=None, suppress_health_check=FIXTURE_OK)

#: Numerical-vs-backprop tolerance in float64 (central differences, h = 1e-4).
GRAD_TOL = dict(rtol=1e-5, atol=1e-7)


# --- strategies ------------------------------------------------------------------------
def floats(lo: float, hi: float, width: int = 64) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=width)


def arrays(shape, lo: float = -3.0, hi: float = 3.0, dtype=np.float64) -> st.SearchStrategy[np.ndarray]:
    width = 32 if dtype == np.float32 else 64
    return hnp.arrays(dtype, shape, elements=floats(lo, hi, width))


def side(backend, lo: int, hi: int, jax: list[int] | None = None) -> st.SearchStrategy[int]:
    """An axis length in lo..hi.

    JAX compiles each operation once per new shape (about 0.1 s each, 1 ms after that), so
    on JAX lengths come from ``jax`` (default {lo, hi}) only: shapes repeat and the compile
    cache is reused, while the values stay random. Every other backend gets every length.
    """
    return st.sampled_from(jax or [lo, hi]) if backend.name == "jax" else st.integers(lo, hi)


def shapes(backend, min_dims: int = 1, max_dims: int = 3, lo: int = 1, hi: int = 4) -> st.SearchStrategy:
    return st.integers(min_dims, max_dims).flatmap(lambda nd: st.tuples(*[side(backend, lo, hi)] * nd))


@st.composite
def away_from_zero(draw, shape, lo: float = 1e-3, hi: float = 3.0) -> np.ndarray:
    """Values with lo <= |x| <= hi: ReLU is differentiable there and h = 1e-4 never crosses 0."""
    mag = draw(arrays(shape, lo, hi))
    sign = draw(hnp.arrays(np.bool_, shape))
    return np.where(sign, mag, -mag)


@st.composite
def logits_and_labels(draw, backend, max_n: int = 4, max_k: int = 5, lo: float = -5.0, hi: float = 5.0):
    """Scores (N, K) -- or (K,) with a 0-d label -- and integer labels in 0..K-1."""
    one_sample = draw(st.booleans())
    k = draw(side(backend, 1, max_k))
    n = draw(side(backend, 1, max_n))
    shape = (k,) if one_sample else (n, k)
    x = draw(arrays(shape, lo, hi))
    labels = draw(hnp.arrays(np.int64, shape[:-1], elements=st.integers(0, k - 1)))
    return x, labels


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[labels]


def total(backend, a):
    """``sum(a)`` on the backend, as a 0-d array."""
    return backend.xp.sum(a)


def check_close(actual, expected, **tol) -> None:
    np.testing.assert_allclose(to_np(actual), to_np(expected), **tol)


# --- (a) every layer's backward equals the numerical gradient -----------------------------
@GRAD
@given(data=st.data())
def test_relu_backward_is_numerical_gradient(backend, data):
    shape = data.draw(shapes(backend))
    x_h = data.draw(away_from_zero(shape))
    w_h = data.draw(arrays(shape))
    x, w = backend.asarray(x_h, dtype="float64"), backend.asarray(w_h, dtype="float64")
    layer = Relu()
    layer.forward(x)
    dx = layer.backward(w)
    num = numerical_gradient(lambda v: total(backend, Relu().forward(v) * w), x)
    check_close(dx, num, **GRAD_TOL)
    np.testing.assert_array_equal(to_np(dx), np.where(x_h > 0, w_h, 0.0))


@GRAD
@given(data=st.data())
def test_sigmoid_backward_is_numerical_gradient(backend, data):
    shape = data.draw(shapes(backend))
    x = backend.asarray(data.draw(arrays(shape, -6, 6)), dtype="float64")
    w = backend.asarray(data.draw(arrays(shape)), dtype="float64")
    layer = Sigmoid()
    layer.forward(x)
    dx = layer.backward(w)
    num = numerical_gradient(lambda v: total(backend, Sigmoid().forward(v) * w), x)
    check_close(dx, num, **GRAD_TOL)


@GRAD
@given(data=st.data())
def test_affine_nd_backward_is_numerical_gradient(backend, data):
    n = data.draw(side(backend, 1, 3))
    feature_shape = data.draw(shapes(backend, 1, 3, 1, 3))
    d, m = int(np.prod(feature_shape)), data.draw(side(backend, 1, 3))
    as_be = lambda a: backend.asarray(a, dtype="float64")  # noqa: E731
    x = as_be(data.draw(arrays((n, *feature_shape))))
    W = as_be(data.draw(arrays((d, m))))
    b = as_be(data.draw(arrays((m,))))
    w = as_be(data.draw(arrays((n, m))))
    layer = Affine(W, b)
    out = layer.forward(x)
    assert tuple(out.shape) == (n, m)
    dx = layer.backward(w)
    assert tuple(dx.shape) == (n, *feature_shape)
    check_close(dx, numerical_gradient(lambda v: total(backend, Affine(W, b).forward(v) * w), x), **GRAD_TOL)
    check_close(layer.dW, numerical_gradient(lambda v: total(backend, Affine(v, b).forward(x) * w), W), **GRAD_TOL)
    check_close(layer.db, numerical_gradient(lambda v: total(backend, Affine(W, v).forward(x) * w), b), **GRAD_TOL)


def _softmax_with_loss_gradient(backend, x_h, t_h, w, dout_as_array):
    x = backend.asarray(x_h, dtype="float64")
    t = backend.asarray(t_h, dtype="float64" if t_h.ndim == x_h.ndim else None)
    layer = SoftmaxWithLoss()
    layer.forward(x, t)
    dout = backend.asarray(w, dtype="float64") if dout_as_array else w
    dx = layer.backward(dout)
    assert tuple(dx.shape) == x_h.shape
    num = numerical_gradient(lambda v: SoftmaxWithLoss().forward(v, t) * w, x)
    check_close(dx, num, **GRAD_TOL)


@GRAD
@given(data=st.data(), w=floats(-3, 3), dout_as_array=st.booleans())
def test_softmax_with_loss_backward_is_numerical_gradient_labels(backend, data, w, dout_as_array):
    x_h, labels = data.draw(logits_and_labels(backend))
    _softmax_with_loss_gradient(backend, x_h, labels, w, dout_as_array)


@GRAD
@given(data=st.data(), w=floats(-3, 3), dout_as_array=st.booleans())
def test_softmax_with_loss_backward_is_numerical_gradient_one_hot(backend, data, w, dout_as_array):
    x_h, labels = data.draw(logits_and_labels(backend))
    _softmax_with_loss_gradient(backend, x_h, one_hot(labels, x_h.shape[-1]), w, dout_as_array)


# --- (b) softmax identities -----------------------------------------------------------------
SUM_TOL = {"float32": dict(rtol=0, atol=1e-5), "float64": dict(rtol=0, atol=1e-12)}


@QUICK
@given(data=st.data(), dtype=st.sampled_from(["float32", "float64"]))
def test_softmax_rows_are_distributions(backend, data, dtype):
    x_h = data.draw(arrays(data.draw(shapes(backend)), -80, 80))
    y = to_np(softmax(backend.asarray(x_h, dtype=dtype)))
    assert y.shape == x_h.shape
    assert y.dtype == np.dtype(dtype)
    assert np.all(y >= 0)
    assert np.all(y <= 1)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, **SUM_TOL[dtype])


@QUICK
@given(data=st.data())
def test_softmax_invariant_to_a_constant_per_row(backend, data):
    shape = data.draw(shapes(backend))
    x_h = data.draw(arrays(shape, -50, 50))
    c_h = data.draw(arrays((*shape[:-1], 1), -100, 100))
    y = softmax(backend.asarray(x_h, dtype="float64"))
    y_shifted = softmax(backend.asarray(x_h + c_h, dtype="float64"))
    check_close(y_shifted, y, rtol=1e-10, atol=1e-13)
    check_close(log_softmax(backend.asarray(x_h + c_h, dtype="float64")),
                log_softmax(backend.asarray(x_h, dtype="float64")), rtol=0, atol=1e-10)


@QUICK
@given(data=st.data())
def test_log_softmax_is_log_of_softmax_where_finite(backend, data):
    x_h = data.draw(arrays(data.draw(shapes(backend)), -1000, 1000))
    x = backend.asarray(x_h, dtype="float64")
    log_y, y = to_np(log_softmax(x)), to_np(softmax(x))
    assert np.all(np.isfinite(log_y))
    assert np.all(log_y <= 0)
    normal = y >= np.finfo(np.float64).tiny  # log of a subnormal has no precision left
    assert normal.any(axis=-1).all()  # the largest entry of every row is at least 1/K
    np.testing.assert_allclose(log_y[normal], np.log(y[normal]), rtol=0, atol=1e-10)


# --- (c) cross-entropy and SoftmaxWithLoss -------------------------------------------------
#: The book's ``log(y + 1e-7)`` is positive when y > 1 - 1e-7: a certain prediction scores
#: -log(1 + 1e-7) < 0, the lowest possible loss; (1 + 1e-12) allows for rounding in the batch mean.
CE_FLOOR = -np.log(1.0 + xpnet.functions.CROSS_ENTROPY_DELTA) * (1 + 1e-12)


@QUICK
@given(data=st.data())
def test_cross_entropy_nonnegative_and_one_hot_equals_labels(backend, data):
    x_h, labels = data.draw(logits_and_labels(backend, max_k=6, lo=-40, hi=40))
    k = x_h.shape[-1]
    y = softmax(backend.asarray(x_h, dtype="float64"))
    by_label = cross_entropy_error(y, backend.asarray(labels))
    by_one_hot = cross_entropy_error(y, backend.asarray(one_hot(labels, k), dtype="float64"))
    assert by_label.ndim == 0
    assert float(to_np(by_label)) >= CE_FLOOR
    check_close(by_one_hot, by_label, rtol=1e-15, atol=0)
    y_h = to_np(y).reshape(-1, k)
    expected = -np.mean(np.log(y_h[np.arange(y_h.shape[0]), labels.reshape(-1)] + 1e-7))
    assert_close(by_label, expected, rtol=1e-12, atol=1e-15)


def test_cross_entropy_floor_is_reached_for_a_certain_prediction(backend):
    """Documents the book's delta: a perfect prediction scores -log(1 + 1e-7), not 0."""
    y = backend.asarray([1.0, 0.0], dtype="float64")
    loss = float(to_np(cross_entropy_error(y, backend.asarray(np.int64(0)))))
    assert loss == pytest.approx(CE_FLOOR, rel=1e-9)
    assert loss < 0


@QUICK
@given(data=st.data())
def test_softmax_with_loss_is_mean_negative_log_softmax(backend, data):
    x_h, labels = data.draw(logits_and_labels(backend, max_k=6, lo=-40, hi=40))
    k = x_h.shape[-1]
    x = backend.asarray(x_h, dtype="float64")
    by_label_layer, by_one_hot_layer = SoftmaxWithLoss(), SoftmaxWithLoss()
    by_label = by_label_layer.forward(x, backend.asarray(labels))
    by_one_hot = by_one_hot_layer.forward(x, backend.asarray(one_hot(labels, k), dtype="float64"))
    assert by_label.ndim == 0
    assert float(to_np(by_label)) >= 0.0
    log_y = to_np(log_softmax(x)).reshape(-1, k)
    expected = -np.mean(log_y[np.arange(log_y.shape[0]), labels.reshape(-1)])
    assert_close(by_label, expected, rtol=1e-12, atol=1e-14)
    check_close(by_one_hot, by_label, rtol=1e-14, atol=0)
    check_close(by_one_hot_layer.backward(), by_label_layer.backward(), rtol=0, atol=1e-15)
    check_close(by_label_layer.y, np.exp(log_y), rtol=1e-12, atol=1e-300)


# --- (d) extreme logits: finite and warning-free --------------------------------------------
def extreme(width: int) -> st.SearchStrategy[float]:
    return st.one_of(st.sampled_from([-1e4, 1e4, 0.0]), floats(-1e4, 1e4, width))


@st.composite
def extreme_logits(draw, backend):
    dtype = draw(st.sampled_from(["float32", "float64"]))
    npdt = np.float32 if dtype == "float32" else np.float64
    n, k = draw(side(backend, 1, 4)), draw(side(backend, 1, 6))
    x = draw(hnp.arrays(npdt, (n, k), elements=extreme(32 if dtype == "float32" else 64)))
    labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    return dtype, x, labels


@QUICK
@given(data=st.data())
def test_extreme_logits_give_finite_results_without_warnings(backend, data):
    dtype, x_h, labels = data.draw(extreme_logits(backend))
    x = backend.asarray(x_h, dtype=dtype)
    t = backend.asarray(labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = softmax(x)
        outs = {
            "softmax": y,
            "log_softmax": log_softmax(x),
            "sigmoid": sigmoid(x),
            "sigmoid_grad": sigmoid_grad(x),
            "cross_entropy_error": cross_entropy_error(y, t),
        }
        layer = SoftmaxWithLoss()
        outs["SoftmaxWithLoss.forward"] = layer.forward(x, t)
        outs["SoftmaxWithLoss.backward"] = layer.backward()
        sig = Sigmoid()
        sig.forward(x)
        outs["Sigmoid.backward"] = sig.backward(x)
    for name, out in outs.items():
        host = to_np(out)
        assert np.all(np.isfinite(host)), f"{name} not finite for {dtype} logits {x_h!r}: {host!r}"
        assert host.dtype == np.dtype(dtype), name
    sig_h = to_np(outs["sigmoid"])
    assert np.all((sig_h >= 0) & (sig_h <= 1))
    # the loss is exact even when the softmax underflows: the (N, K) logits' log-sum-exp
    x64 = x_h.astype(np.float64)
    ref = np.mean(np.log(np.sum(np.exp(x64 - x64.max(axis=1, keepdims=True)), axis=1))
                  + x64.max(axis=1) - x64[np.arange(len(labels)), labels])
    assert_close(outs["SoftmaxWithLoss.forward"], ref, dtype, rtol=1e-5 if dtype == "float32" else 1e-12,
                 atol=1e-3 if dtype == "float32" else 1e-9)


@st.composite
def probabilities_with_zeros(draw, backend):
    """Rows of probabilities (N, K) where some targets have probability exactly 0."""
    n, k = draw(side(backend, 1, 4)), draw(side(backend, 2, 6))
    raw = draw(arrays((n, k), 0.0, 1.0))
    labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    zero_rows = draw(hnp.arrays(np.bool_, (n,)))
    for i in range(n):
        if zero_rows[i]:
            raw[i, labels[i]] = 0.0
        if raw[i].sum() == 0.0:
            raw[i, (labels[i] + 1) % k] = 1.0
    return raw / raw.sum(axis=1, keepdims=True), labels


@QUICK
@given(data=st.data(), dtype=st.sampled_from(["float32", "float64"]))
def test_cross_entropy_finite_when_a_probability_is_zero(backend, data, dtype):
    y_h, labels = data.draw(probabilities_with_zeros(backend))
    y = backend.asarray(y_h, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        by_label = cross_entropy_error(y, backend.asarray(labels))
        by_one_hot = cross_entropy_error(y, backend.asarray(one_hot(labels, y_h.shape[1]), dtype=dtype))
    y_cast = y_h.astype(dtype).astype(np.float64)
    expected = -np.mean(np.log(y_cast[np.arange(len(labels)), labels] + 1e-7))
    for loss in (by_label, by_one_hot):
        assert np.isfinite(to_np(loss))
        assert_close(loss, expected, dtype, rtol=1e-5 if dtype == "float32" else 1e-12)


# --- (e) no mutation --------------------------------------------------------------------
class Inputs:
    """Host data as read-only NumPy arrays, and the same data on the backend under test.

    On NumPy the read-only arrays themselves are passed (a write raises); elsewhere the
    backend copies are compared with the host data after every call.
    """

    def __init__(self, backend) -> None:
        self.backend = backend
        self.host: list[np.ndarray] = []
        self.arrays: list = []

    def __call__(self, a: np.ndarray, dtype=None):
        a = np.asarray(a, dtype=dtype)
        ro = read_only(a)
        arr = ro if self.backend.name == "numpy" else self.backend.asarray(ro)
        self.host.append(ro)
        self.arrays.append(arr)
        return arr

    def assert_untouched(self) -> None:
        for host, arr in zip(self.host, self.arrays):
            np.testing.assert_array_equal(to_np(arr), host)
            assert not host.flags.writeable


@FEW
@given(data=st.data())
def test_functions_and_layers_do_not_mutate_inputs(backend, data):
    n, k = data.draw(side(backend, 1, 3, jax=[2])), data.draw(side(backend, 2, 4, jax=[3]))
    feature_shape = data.draw(shapes(backend, 1, 2, 1, 3))
    d = int(np.prod(feature_shape))
    ro = Inputs(backend)
    x = ro(data.draw(arrays((n, *feature_shape))), np.float64)
    scores = ro(data.draw(arrays((n, k))), np.float64)
    labels_h = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    labels = ro(labels_h)
    onehot = ro(one_hot(labels_h, k))
    W, b = ro(data.draw(arrays((d, k))), np.float64), ro(data.draw(arrays((k,))), np.float64)
    dout_x = ro(data.draw(arrays((n, *feature_shape))), np.float64)
    dout_s = ro(data.draw(arrays((n, k))), np.float64)
    dout_0 = ro(np.float64(data.draw(floats(-2, 2))))
    probs = softmax(scores)

    for f in (sigmoid, sigmoid_grad, relu, relu_grad, softmax, log_softmax, step_function):
        f(x)
    mean_squared_error(scores, onehot)
    cross_entropy_error(probs, labels)
    cross_entropy_error(probs, onehot)
    for layer in (Relu(), Sigmoid()):
        layer.forward(x)
        layer.backward(dout_x)
    affine = Affine(W, b)
    affine.forward(x)
    affine.backward(dout_s)
    for t in (labels, onehot):
        swl = SoftmaxWithLoss()
        swl.forward(scores, t)
        swl.backward(dout_0)
    mul, add = MulLayer(), AddLayer()
    mul.forward(scores, dout_s)
    mul.backward(dout_s)
    add.forward(scores, dout_s)
    add.backward(dout_s)
    numerical_gradient(lambda v: backend.xp.sum(v * v), b)
    gradient_descent(lambda v: backend.xp.sum(v * v), b, lr=0.1, step_num=2)
    ro.assert_untouched()


@FEW
@given(seed=st.integers(0, 2**16), activation=st.sampled_from(["relu", "sigmoid"]))
def test_networks_and_optimizer_do_not_mutate_inputs(backend, seed, activation):
    rng = np.random.default_rng(seed)
    n, d, h, k = 3, 4, 3, 4
    ro = Inputs(backend)
    x = ro(rng.normal(size=(n, d)))
    labels = ro(rng.integers(0, k, size=n))
    onehot = ro(one_hot(to_np(labels), k))
    params = {key: ro(rng.normal(size=s)) for key, s in {"W1": (d, h), "b1": (h,), "W2": (h, k), "b2": (k,)}.items()}
    net = TwoLayerNet(d, h, k, activation=activation, backend=backend, params=params)
    for t in (labels, onehot):
        net.loss(x, t)
        grads = net.gradient(x, t)
        net.numerical_gradient(x, t)
        net.accuracy(x, t)
    SGD(0.1).update(net.params, grads)
    simple = SimpleNet(ro(rng.normal(size=(2, 3))))
    x2, labels3 = ro(rng.normal(size=(n, 2))), ro(rng.integers(0, 3, size=n))
    simple.loss(x2, labels3)
    simple.numerical_gradient(x2, labels3)
    ro.assert_untouched()


# --- (f) TwoLayerNet: backprop equals numerical gradient; loss finite -------------------------
@st.composite
def net_case(draw, backend):
    n, h = draw(side(backend, 1, 4, jax=[3])), draw(side(backend, 1, 4, jax=[3]))
    d, k = draw(side(backend, 1, 4)), draw(side(backend, 1, 4))
    x = draw(arrays((n, d), -1.0, 1.0))
    labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    return dict(
        sizes=(d, h, k), x=x, labels=labels, seed=draw(st.integers(0, 2**16)),
        std=draw(floats(0.3, 2.0)), activation=draw(st.sampled_from(["relu", "sigmoid"])),
        method=draw(st.sampled_from(["batched", "loop"])), one_hot=draw(st.booleans()),
    )


@GRAD
@given(data=st.data())
def test_two_layer_net_backprop_matches_numerical_gradient(backend, data):
    case = data.draw(net_case(backend))
    d, h, k = case["sizes"]
    rng = np.random.default_rng(case["seed"])  # non-zero biases too, so x = 0 still reaches the kink test
    shapes_ = {"W1": (d, h), "b1": (h,), "W2": (h, k), "b2": (k,)}
    p = {key: rng.normal(scale=case["std"], size=s) for key, s in shapes_.items()}
    if case["activation"] == "relu":  # keep every hidden pre-activation off ReLU's kink (h * |x| <= 1e-4)
        assume(np.min(np.abs(case["x"] @ p["W1"] + p["b1"])) > 1e-2)
    net = TwoLayerNet(d, h, k, activation=case["activation"], backend=backend, params=p)
    x = backend.asarray(case["x"], dtype="float64")
    labels = case["labels"]
    t = backend.asarray(one_hot(labels, k), dtype="float64") if case["one_hot"] else backend.asarray(labels)
    backprop = net.gradient(x, t)
    numerical = net.numerical_gradient(x, t, method=case["method"])
    assert set(backprop) == set(numerical) == {"W1", "b1", "W2", "b2"}
    for key in backprop:
        assert tuple(backprop[key].shape) == tuple(net.params[key].shape)
        check_close(backprop[key], numerical[key], **GRAD_TOL)


@QUICK
@given(data=st.data())
def test_two_layer_net_loss_and_gradient_finite_for_random_data(backend, data):
    d, h, k = (data.draw(side(backend, 1, 5, jax=[j])) for j in (3, 4, 5))
    n = data.draw(side(backend, 1, 5, jax=[1, 5]))
    dtype = data.draw(st.sampled_from(["float32", "float64"]))
    net = TwoLayerNet(
        d, h, k, data.draw(floats(1e-3, 10.0)), activation=data.draw(st.sampled_from(["relu", "sigmoid"])),
        backend=backend, dtype=dtype, seed=data.draw(st.integers(0, 2**16)),
    )
    x = backend.asarray(data.draw(arrays((n, d), -1e3, 1e3)), dtype=dtype)
    t = backend.asarray(data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grads = net.loss_and_gradient(x, t)
    assert loss.ndim == 0
    assert np.isfinite(to_np(loss)) and float(to_np(loss)) >= 0
    for key, g in grads.items():
        assert np.all(np.isfinite(to_np(g))), key

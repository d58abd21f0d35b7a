"""Activations and losses: the book's printed values on every backend, stability, no mutation."""

import warnings

import numpy as np
import pytest
from conftest import assert_close, read_only, to_np

from xpnet import functions as F
from xpnet._array import compat

Y1 = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]
Y2 = [0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0]
T = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    return request.param


def test_mean_squared_error_book_values(backend):
    t = backend.asarray(T, dtype="float64")
    assert_close(F.mean_squared_error(backend.asarray(Y1, dtype="float64"), t), 0.0975)
    assert_close(F.mean_squared_error(backend.asarray(Y2, dtype="float64"), t), 0.5975)


def test_cross_entropy_book_values_one_hot_and_labels(backend):
    t_onehot = backend.asarray(T, dtype="float64")
    t_label = backend.asarray(2, dtype=None)
    y1, y2 = backend.asarray(Y1, dtype="float64"), backend.asarray(Y2, dtype="float64")
    for t in (t_onehot, backend.xp.astype(t_label, backend.xp.int64)):
        assert_close(F.cross_entropy_error(y1, t), 0.510825457099338)
        assert_close(F.cross_entropy_error(y2, t), 2.302584092994546)


def test_cross_entropy_batch_is_the_mean(backend):
    y = backend.asarray([Y1, Y2], dtype="float64")
    labels = backend.asarray(np.array([2, 2]))
    onehot = backend.asarray([T, T], dtype="float64")
    expected = (0.510825457099338 + 2.302584092994546) / 2
    assert_close(F.cross_entropy_error(y, labels), expected)
    assert_close(F.cross_entropy_error(y, onehot), expected)


def test_cross_entropy_returns_array_on_device(backend):
    y = backend.asarray([Y1], dtype="float32")
    loss = F.cross_entropy_error(y, backend.asarray(np.array([2])))
    assert loss.ndim == 0 and loss.dtype == backend.xp.float32
    assert str(backend.device) == str(compat.device(loss))


def test_cross_entropy_finite_when_probability_is_zero(backend):
    y = backend.asarray([[0.0, 1.0]], dtype="float64")
    loss = F.cross_entropy_error(y, backend.asarray(np.array([0])))
    assert np.isfinite(to_np(loss))
    assert_close(loss, -np.log(1e-7))


def test_softmax_rows_sum_to_one_and_shift_invariant(backend, dtype):
    host = np.random.default_rng(0).normal(size=(2, 3, 5)) * 10
    x = backend.asarray(host, dtype=dtype)
    y = to_np(F.softmax(x))
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-5)
    shifted = to_np(F.softmax(backend.asarray(host + 1000.0, dtype=dtype)))
    np.testing.assert_allclose(shifted, y, rtol=1e-4, atol=1e-6)


def test_softmax_book_example(backend):
    y = F.softmax(backend.asarray([0.3, 2.9, 4.0], dtype="float64"))
    assert_close(y, [0.01821127, 0.24519181, 0.73659691], atol=1e-8)


def test_functions_finite_and_silent_for_huge_inputs(backend, dtype):
    x = backend.asarray([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in (F.sigmoid, F.softmax, F.log_softmax, F.sigmoid_grad):
            assert np.all(np.isfinite(to_np(f(x)))), f.__name__
        assert_close(F.sigmoid(x), [[0.0, 0.5, 1.0], [1.0, 1.0, 0.0]], dtype)


def test_sigmoid_relu_step_values(backend):
    x = backend.asarray([-1.0, 0.0, 2.0], dtype="float64")
    assert_close(F.sigmoid(x), 1 / (1 + np.exp(-np.array([-1.0, 0.0, 2.0]))))
    assert_close(F.relu(x), [0.0, 0.0, 2.0])
    assert_close(F.relu_grad(x), [0.0, 1.0, 1.0])
    s = 1 / (1 + np.exp(-np.array([-1.0, 0.0, 2.0])))
    assert_close(F.sigmoid_grad(x), (1 - s) * s)
    np.testing.assert_array_equal(to_np(F.step_function(x)), [0, 0, 1])
    assert F.identity_function(x) is x


def test_functions_do_not_write_into_inputs():
    x = read_only(np.array([[-1.0, 0.5, 3.0]]))
    t = read_only(np.array([2]))
    for f in (F.sigmoid, F.relu, F.softmax, F.log_softmax, F.step_function, F.sigmoid_grad, F.relu_grad):
        f(x)
    F.cross_entropy_error(F.softmax(x), t)
    F.mean_squared_error(x, x)


def test_bad_inputs_name_the_problem(backend):
    y = backend.asarray([Y1], dtype="float64")
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9"):
        F.cross_entropy_error(y, backend.asarray(np.array([10])))
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9"):
        F.cross_entropy_error(y, backend.asarray(np.array([-1])))
    with pytest.raises(TypeError, match="labels t must be integers"):
        F.cross_entropy_error(y, backend.asarray([2.0], dtype="float64"))
    with pytest.raises(ValueError, match="one-hot width 3 does not match the 10 outputs"):
        F.cross_entropy_error(y, backend.asarray([[0.0, 1.0, 0.0]], dtype="float64"))
    with pytest.raises(ValueError, match="batch sizes differ"):
        F.cross_entropy_error(y, backend.asarray(np.array([1, 2])))
    with pytest.raises(TypeError, match="floating dtype"):
        F.softmax(backend.asarray(np.array([1, 2])))
    with pytest.raises(ValueError, match="same shape"):
        F.mean_squared_error(y, backend.asarray([0.0], dtype="float64"))


def test_mixed_backends_name_both(backend, numpy_backend):
    if backend.name == "numpy":
        pytest.skip("needs a second backend besides NumPy")
    y = backend.asarray([Y1], dtype="float64")
    t = numpy_backend.asarray(np.array([2]))
    with pytest.raises(TypeError, match="different backends.*numpy"):
        F.cross_entropy_error(y, t)


def test_mixed_devices_are_refused():
    from xpnet import get_backend

    a = get_backend("array_api_strict").asarray([Y1], dtype="float64")
    b = get_backend("array_api_strict", "device1").asarray(np.array([2]))
    with pytest.raises(ValueError, match="different devices"):
        F.cross_entropy_error(a, b)

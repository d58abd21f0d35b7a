"""Numerical differentiation and gradient descent: the book's values, any shape, no mutation."""

import numpy as np
import pytest
from conftest import assert_close, read_only, to_np

from xpnet import gradient_descent, numerical_diff, numerical_gradient


def function_1(x):
    return 0.01 * x**2 + 0.1 * x


def function_2(x):
    return x[0] ** 2 + x[1] ** 2


def test_numerical_diff_book_values():
    assert numerical_diff(function_1, 5) == pytest.approx(0.1999999999990898, abs=1e-15)
    assert numerical_diff(function_1, 10) == pytest.approx(0.2999999999986347, abs=1e-15)


def test_numerical_diff_on_0d_arrays(backend):
    x = backend.asarray(5.0, dtype="float64")
    assert_close(numerical_diff(function_1, x), 0.1999999999990898, atol=1e-13)


@pytest.mark.parametrize(("point", "expected"), [([3.0, 4.0], [6, 8]), ([0.0, 2.0], [0, 4]), ([3.0, 0.0], [6, 0])])
def test_numerical_gradient_book_values(backend, point, expected):
    x = backend.asarray(point, dtype="float64")
    grad = numerical_gradient(function_2, x)
    assert_close(grad, expected, atol=1e-7)
    assert_close(x, point)  # untouched


def test_numerical_gradient_any_shape(backend):
    host = np.random.default_rng(0).normal(size=(2, 3, 2))
    x = backend.asarray(host, dtype="float64")
    xp = backend.xp
    grad = numerical_gradient(lambda a: xp.sum(a**3), x)
    assert tuple(grad.shape) == (2, 3, 2)
    assert_close(grad, 3 * host**2, rtol=1e-6, atol=1e-7)
    assert_close(x, host)


def test_numerical_gradient_matches_elementwise_definition(backend):
    # Not half the gradient (the PyTorch view trap), not zeros (the ignored-argument trap).
    x = backend.asarray([[1.0, -2.0], [0.5, 3.0]], dtype="float64")
    xp = backend.xp
    grad = numerical_gradient(lambda a: xp.sum(a * a * a), x)
    assert_close(grad, 3 * np.array([[1.0, -2.0], [0.5, 3.0]]) ** 2, rtol=1e-7)


def test_numerical_gradient_leaves_read_only_input_alone():
    x = read_only(np.array([3.0, 4.0]))
    numerical_gradient(function_2, x)
    np.testing.assert_array_equal(x, [3.0, 4.0])


def test_gradient_descent_book_results(backend):
    init = backend.asarray([-3.0, 4.0], dtype="float64")
    x, history = gradient_descent(function_2, init, lr=0.1, step_num=100)
    assert np.max(np.abs(to_np(x))) < 1e-8
    assert len(history) == 100
    assert_close(history[0], [-3.0, 4.0])
    assert_close(init, [-3.0, 4.0])
    big, _ = gradient_descent(function_2, init, lr=10.0, step_num=100)
    assert np.max(np.abs(to_np(big))) > 1e10
    small, _ = gradient_descent(function_2, init, lr=1e-10, step_num=100)
    assert_close(small, [-2.99999994, 3.99999992], rtol=1e-9)


def test_gradient_errors():
    with pytest.raises(TypeError, match="array of floats"):
        numerical_gradient(function_2, [3.0, 4.0])
    with pytest.raises(TypeError, match="floating dtype"):
        numerical_gradient(function_2, np.array([3, 4]))
    with pytest.raises(ValueError, match="h must be positive"):
        numerical_gradient(function_2, np.array([3.0, 4.0]), h=0)

"""The book's util helpers: conv_output_size, smooth_curve (host) and shuffle_dataset (every backend)."""

import math

import numpy as np
import pytest
from conftest import to_np

from xpnet._array import compat
from xpnet._array.registry import backend_name
from xpnet.util import conv_output_size, shuffle_dataset, smooth_curve


@pytest.mark.parametrize(("size", "filt", "stride", "pad", "expected"),
                         [(28, 5, 1, 0, 24), (7, 3, 2, 1, 4), (6, 2, 2, 0, 3), (5, 5, 1, 0, 1), (3, 5, 1, 1, 1), (8, 3, 3, 2, 4)])
def test_conv_output_size_counts_window_positions(size, filt, stride, pad, expected):
    assert conv_output_size(size, filt, stride, pad) == expected
    assert expected == len(range(0, size + 2 * pad - filt + 1, stride))


def test_conv_output_size_errors_say_what_to_change():
    with pytest.raises(ValueError, match=r"a filter of size 6 does not fit in an input of size 3 padded by 1 on each side \(5\)"):
        conv_output_size(3, 6, 1, 1)
    with pytest.raises(ValueError, match="stride must be a positive int"):
        conv_output_size(5, 3, 0)
    with pytest.raises(TypeError, match="pad must be a non-negative int"):
        conv_output_size(5, 3, 1, 0.5)


def _smooth_reference(x):
    """Kaiser(11, beta=2) weighted means; the ends mirrored as in the book: x[10..1] before, x[-1..-10] after."""
    n, beta = len(x), 2.0
    w = np.array([np.i0(beta * math.sqrt(1 - (2 * k / 10 - 1) ** 2)) for k in range(11)])
    w /= w.sum()

    def at(m):  # m = -10 .. n + 9
        return x[-m] if m < 0 else x[m] if m < n else x[2 * n - 1 - m]

    return np.array([sum(w[k] * at(i + k - 5) for k in range(11)) for i in range(n)])


def test_smooth_curve_is_the_books_kaiser_smoothing():
    x = np.random.default_rng(0).random(30)
    y = smooth_curve(x)
    assert y.shape == (30,) and y.dtype == np.float64
    np.testing.assert_allclose(y, _smooth_reference(x), rtol=1e-12)
    np.testing.assert_allclose(smooth_curve([2.5] * 11), np.full(11, 2.5), rtol=1e-12)
    np.testing.assert_allclose(smooth_curve(list(x)), y, rtol=0)


def test_smooth_curve_takes_arrays_of_any_backend(backend):
    x = np.linspace(0.0, 1.0, 12) ** 2
    np.testing.assert_allclose(smooth_curve(backend.asarray(x, dtype="float64")), _smooth_reference(x), rtol=1e-12)


def test_smooth_curve_needs_eleven_values():
    with pytest.raises(ValueError, match="at least 11 values"):
        smooth_curve([1.0] * 10)


@pytest.mark.parametrize("x_shape", [(7, 3), (7, 2, 3, 2)], ids=["2-D", "4-D"])
def test_shuffle_dataset_keeps_pairs_on_the_backend(backend, x_shape):
    ids = np.arange(7)
    x = np.broadcast_to(ids.reshape((7,) + (1,) * (len(x_shape) - 1)), x_shape).astype(np.float64)
    one_hot = np.eye(7)[ids]
    for t in (ids, one_hot):
        xs, ts = shuffle_dataset(backend.asarray(x, dtype="float64"), backend.asarray(t), seed=3)
        assert backend_name(xs) == backend_name(ts) == backend.name
        assert compat.device(xs) == compat.device(ts) == backend.device
        order = to_np(xs).reshape(7, -1)[:, 0].astype(int)
        assert sorted(order) == list(range(7)) and list(order) != list(range(7))
        np.testing.assert_array_equal(to_np(xs), x[order])
        np.testing.assert_array_equal(to_np(ts), t[order])


def test_shuffle_dataset_is_seeded_and_leaves_the_global_generator_alone():
    x, t = np.arange(40.0).reshape(20, 2), np.arange(20)
    state = np.random.get_state()[1].copy()
    first, again, other = (shuffle_dataset(x, t, seed=s)[1] for s in (1, 1, 2))
    np.testing.assert_array_equal(first, again)
    assert list(first) != list(other)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    np.testing.assert_array_equal(x, np.arange(40.0).reshape(20, 2))  # the inputs are not shuffled in place


def test_shuffle_dataset_errors():
    with pytest.raises(ValueError, match="x has 4 samples but t has 3"):
        shuffle_dataset(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(TypeError, match="t must be an array"):
        shuffle_dataset(np.zeros((4, 2)), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        shuffle_dataset(np.zeros((4, 2)), np.zeros(4), seed=-1)

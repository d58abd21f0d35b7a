"""The book's helpers (``common/util.py``): window arithmetic and ``im2col``/``col2im`` (chapter 7), curves and shuffling (chapter 6).

``from xpnet.util import *`` stands in for the book's ``from common.util import *``.
``im2col`` and ``col2im`` take the namespace of their input and call its operations
(:func:`xpnet._array.ops.ops_for`: NumPy's strided views, PyTorch's ``unfold``/``fold``, the
portable array-API version elsewhere), with the book's layouts: a row per window position
``(n, y, x)``, a column per ``(c, i, j)`` in the window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._array import compat
from ._array.checks import describe, float_input
from ._array.numbers import require_non_negative_int, require_positive_int
from ._array.ops import ops_for, window_output_size
from ._array.random import default_rng
from ._array.registry import to_numpy
from ._array.trust import is_trusted

__all__ = ["col2im", "conv_output_size", "im2col", "shuffle_dataset", "smooth_curve"]

Array = Any

_SMOOTH_WINDOW = 11  # the book's window length


def conv_output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0, *,
                     where: str = "conv_output_size", window: str = "filter") -> int:
    """Number of filter positions along one axis: ``(input_size + 2*pad - filter_size) // stride + 1``.

    Parameters
    ----------
    input_size, filter_size, stride : int, positive
    pad : int, non-negative
        Zeros added on each side of the axis.
    where, window : str
        Who asks and what slides (``"filter"``, ``"pooling window"``), for the error messages.

    Returns
    -------
    int
        The output size, as ``im2col`` produces it (the book's version divides with ``/`` and
        returns a float, equal to this one when ``stride`` divides ``input_size + 2*pad - filter_size``).

    Raises
    ------
    TypeError
        If a size is not an int.
    ValueError
        If the filter is larger than the padded input, or a size is out of range.
    """
    n = require_positive_int(input_size, where, "input_size")
    f = require_positive_int(filter_size, where, "filter_size")
    s = require_positive_int(stride, where, "stride")
    p = require_non_negative_int(pad, where, "pad")
    if f > n + 2 * p:
        raise ValueError(
            f"{where}: a {window} of size {f} does not fit in an input of size {n} padded by {p} on each side "
            f"({n + 2 * p}); use a smaller {window}, more padding or a larger input"
        )
    return window_output_size(n, f, s, p)


def _window_shape(shape: tuple[int, ...], fh: Any, fw: Any, stride: Any, pad: Any, where: str) -> tuple[int, int]:
    """``(out_h, out_w)`` of ``fh`` x ``fw`` filters over (N, C, H, W) inputs, after checking each number."""
    require_positive_int(fh, where, "filter_h")
    require_positive_int(fw, where, "filter_w")
    require_positive_int(stride, where, "stride")
    require_non_negative_int(pad, where, "pad")
    oh = conv_output_size(shape[2], fh, stride, pad, where=f"{where} (height)")
    ow = conv_output_size(shape[3], fw, stride, pad, where=f"{where} (width)")
    return oh, ow


def im2col(input_data: Array, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0) -> Array:
    """Unfold each filter window of ``input_data`` into a row (the book's ``im2col``).

    Parameters
    ----------
    input_data : array, shape (N, C, H, W), real floating
    filter_h, filter_w, stride : int, positive
    pad : int, non-negative
        Zeros added on each side of H and W.

    Returns
    -------
    col : array, shape (N*out_h*out_w, C*filter_h*filter_w), the input's dtype, backend and device
        Row ``(n*out_h + y)*out_w + x`` holds the window at output position ``(y, x)`` of sample
        ``n``; column ``(c*filter_h + i)*filter_w + j`` its value at channel ``c``, offset ``(i, j)``.
    """
    if not is_trusted():
        where = "im2col"
        float_input(input_data, where, "input_data")
        _require_4d(input_data, where)
        _window_shape(tuple(input_data.shape), filter_h, filter_w, stride, pad, where)
    xp = compat.namespace_of(input_data)
    return ops_for(xp).im2col(input_data, int(filter_h), int(filter_w), int(stride), int(pad))


def col2im(col: Array, input_shape: tuple[int, ...], filter_h: int, filter_w: int, stride: int = 1,
           pad: int = 0) -> Array:
    """Fold rows of windows back into images, adding where windows overlap (the book's ``col2im``).

    The adjoint of :func:`im2col`: ``sum(im2col(x) * col) == sum(x * col2im(col))``.

    Parameters
    ----------
    col : array, shape (N*out_h*out_w, C*filter_h*filter_w), real floating
        In :func:`im2col`'s layout.
    input_shape : tuple of 4 ints
        (N, C, H, W), the shape of the images.
    filter_h, filter_w, stride : int, positive
    pad : int, non-negative

    Returns
    -------
    array, shape (N, C, H, W), ``col``'s dtype, backend and device
        The padding is cropped.
    """
    if not is_trusted():
        _check_col(col, input_shape, filter_h, filter_w, stride, pad)
    xp = compat.namespace_of(col)
    shape = tuple(int(s) for s in input_shape)
    return ops_for(xp).col2im(col, shape, int(filter_h), int(filter_w), int(stride), int(pad))


def _require_4d(x: Array, where: str, name: str = "input_data") -> None:
    if x.ndim != 4:
        raise ValueError(f"{where}: {name} must have shape (N, C, H, W), got {tuple(x.shape)}")


def _check_col(col: Any, input_shape: Any, fh: Any, fw: Any, stride: Any, pad: Any) -> None:
    """``col2im``'s arguments: a 2-D floating ``col`` whose shape matches ``input_shape`` and the window."""
    where = "col2im"
    float_input(col, where, "col")
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 4:
        raise TypeError(f"{where}: input_shape must be a tuple (N, C, H, W), got {describe(input_shape)}")
    shape = tuple(require_positive_int(s, where, "each size of input_shape") for s in input_shape)
    oh, ow = _window_shape(shape, fh, fw, stride, pad, where)
    n, c = shape[:2]
    want = (n * oh * ow, c * int(fh) * int(fw))
    if tuple(col.shape) != want:
        raise ValueError(
            f"{where}: col must have shape (N*out_h*out_w, C*filter_h*filter_w) = {want} for input_shape {shape}, "
            f"a {fh}x{fw} filter, stride {stride} and pad {pad}; got {tuple(col.shape)}"
        )


def smooth_curve(x: Any) -> np.ndarray:
    """A loss curve smoothed for plotting (the book's ``smooth_curve``), on the host.

    Each value becomes the Kaiser-window (length 11, beta 2) weighted mean of its neighbourhood;
    the ends are extended by mirroring, as the book does (the first value is not repeated, the
    last one is).

    Parameters
    ----------
    x : sequence of numbers or 1-D array of any backend, at least 11 values

    Returns
    -------
    numpy.ndarray, shape (len(x),), float64
    """
    v = np.asarray(to_numpy(x), dtype=np.float64)
    k = _SMOOTH_WINDOW
    if v.ndim != 1 or v.shape[0] < k:
        raise ValueError(f"smooth_curve: x must be 1-D with at least {k} values, got shape {v.shape}")
    extended = np.concatenate([v[k - 1:0:-1], v, v[:-k:-1]])
    weights = np.kaiser(k, 2)
    weights /= weights.sum()
    smoothed = np.convolve(extended, weights, mode="valid")
    return smoothed[k // 2:k // 2 + v.shape[0]]


def shuffle_dataset(x: Array, t: Array, *, seed: int | np.random.Generator | None = None) -> tuple[Array, Array]:
    """``x`` and ``t`` in one random order of their samples (the book's ``shuffle_dataset``).

    The permutation is drawn on the host from ``numpy.random.default_rng(seed)``, never from the
    global generator, and gathered on each array's backend and device.

    Parameters
    ----------
    x : array, shape (N, ...)
        Samples (the book's 2-D (N, D) or 4-D (N, C, H, W)), of any backend.
    t : array, shape (N,) or (N, K)
        Labels or one-hot targets, of any backend.
    seed : int, numpy.random.Generator or None
        None draws fresh entropy.

    Returns
    -------
    x, t : arrays of the inputs' shapes, dtypes, backends and devices
    """
    where = "shuffle_dataset"
    for name, a in (("x", x), ("t", t)):
        if not compat.is_array(a) or a.ndim < 1:
            raise TypeError(f"{where}: {name} must be an array with a sample axis, got {describe(a)}")
    if int(x.shape[0]) != int(t.shape[0]):
        raise ValueError(f"{where}: x has {x.shape[0]} samples but t has {t.shape[0]}")
    perm = default_rng(seed).permutation(int(x.shape[0]))
    return ops_for(compat.namespace_of(x)).take_rows(x, perm), ops_for(compat.namespace_of(t)).take_rows(t, perm)

"""The trainer's device-resident sets: evaluation chunks equal the converted images on every backend."""

import itertools

import numpy as np
import pytest
from conftest import to_np

from xpnet.training.data import PIXEL_BLOCK, DeviceSet


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n, size", [(2_500, 10_000), (2_500, 700), (7, 3)])
def test_chunks_cover_the_set_in_order_with_the_scaled_pixels(backend, dtype, n, size):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(n, 5), dtype=np.uint8)
    s = DeviceSet(backend, dtype, x, rng.integers(0, 3, size=n), for_batches=True)
    expected = np.multiply(x, np.dtype(dtype).type(1 / 255), dtype=dtype)
    ends = []
    for lo, hi, block in s.chunks(size):
        assert hi - lo <= min(size, PIXEL_BLOCK) or backend.name != "numpy"
        assert block.dtype == getattr(backend.xp, dtype)
        np.testing.assert_array_equal(to_np(block), expected[lo:hi])
        ends.append((lo, hi))
    assert ends[0][0] == 0 and ends[-1][1] == n and all(a[1] == b[0] for a, b in itertools.pairwise(ends))
    np.testing.assert_array_equal(to_np(s.x), expected)  # the whole set, converted on request


def test_float_images_are_converted_once_and_sliced(backend):
    x = np.linspace(0, 1, 40).reshape(8, 5)
    s = DeviceSet(backend, "float32", x, np.zeros(8, dtype=np.int64))
    assert s.pixels is None
    blocks = [to_np(b) for _, _, b in s.chunks(3)]
    np.testing.assert_array_equal(np.concatenate(blocks), x.astype(np.float32))

"""The trainer's device-resident sets: evaluation chunks and batches equal the book's scaled images on every backend."""

import itertools

import numpy as np
import pytest
from conftest import to_np

from xpnet.training.data import PIXEL_BLOCK, Batches, DeviceSet


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n, size", [(2_500, 10_000), (2_500, 700), (7, 3)])
def test_chunks_cover_the_set_in_order_with_the_scaled_pixels(backend, dtype, n, size):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(n, 5), dtype=np.uint8)
    s = DeviceSet(backend, dtype, x, rng.integers(0, 3, size=n))
    expected = x.astype(dtype) / np.dtype(dtype).type(255)  # the book's load_mnist(normalize=True), in the network's dtype
    ends = []
    for lo, hi, block in s.chunks(size):
        assert hi - lo <= min(size, PIXEL_BLOCK)
        assert block.dtype == getattr(backend.xp, dtype)
        np.testing.assert_array_equal(to_np(block), expected[lo:hi])
        ends.append((lo, hi))
    assert ends[0][0] == 0 and ends[-1][1] == n and all(a[1] == b[0] for a, b in itertools.pairwise(ends))
    assert s.pixels and s.images.dtype != block.dtype  # no float copy of the set is kept


def test_float_images_are_converted_once_and_sliced(backend):
    x = np.linspace(0, 1, 40).reshape(8, 5)
    s = DeviceSet(backend, "float32", x, np.zeros(8, dtype=np.int64))
    assert not s.pixels and s.images.dtype == backend.xp.float32
    blocks = [to_np(b) for _, _, b in s.chunks(3)]
    np.testing.assert_array_equal(np.concatenate(blocks), x.astype(np.float32))


def test_batches_are_the_gathered_rows_scaled_like_load_mnist(backend):
    rng = np.random.default_rng(1)
    x, t = rng.integers(0, 256, size=(50, 6), dtype=np.uint8), rng.integers(0, 4, size=50)
    s = DeviceSet(backend, "float32", x, t)
    batches = Batches(s, s.onehot(4), 8, background=False)
    block = rng.integers(0, 50, size=(30, 8))
    for pos in (0, 1, 24, 25, 29):  # across the chunk of 25 steps gathered at once
        xb, tb = batches.batch(block, pos, None)
        np.testing.assert_array_equal(to_np(xb), x[block[pos]].astype(np.float32) / np.float32(255))
        np.testing.assert_array_equal(to_np(tb), np.eye(4, dtype=np.float32)[t[block[pos]]])
    batches.close()


def test_head_is_the_first_samples(backend):
    x = np.arange(40, dtype=np.uint8).reshape(10, 4)
    s = DeviceSet(backend, "float64", x, np.arange(10) % 3)
    part = s.head(4)
    assert part.n == 4 and s.head(None) is s and s.head(99) is s
    blocks = [np.array(to_np(b), copy=True) for _, _, b in part.chunks(3)]  # a block may be a reused buffer
    np.testing.assert_array_equal(np.concatenate(blocks), x[:4] / 255.0)
    np.testing.assert_array_equal(to_np(part.t), np.arange(4) % 3)

"""Tests for xpnet.datasets: the IDX reader, load_mnist and the vendored MNIST copy."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xpnet.datasets as ds
from xpnet.datasets import idx as idx_module
from xpnet.datasets import mnist as mnist_module
from xpnet.datasets.idx import IDX_DTYPES
from xpnet.errors import DataFileError

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_FIRST10 = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
TEST_FIRST10 = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = ds.MNIST_FILES
CODES = {np.dtype(dt): code for code, dt in IDX_DTYPES.items()}


# --------------------------------------------------------------------------- helpers


def idx_bytes(array: np.ndarray, *, code: int | None = None) -> bytes:
    """Encode ``array`` as an IDX file (header built with struct, big-endian payload)."""
    array = np.asarray(array)
    code = CODES[array.dtype] if code is None else code
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path: Path, data: bytes, *, gz: bool = False) -> Path:
    """Write ``data`` to ``path`` (gzip-compressed, with a ``.gz`` suffix, if ``gz``)."""
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def small_arrays() -> dict[str, np.ndarray]:
    """A tiny MNIST-format dataset: 6 train and 4 test images of 4x4 pixels."""
    rng = np.random.default_rng(0)
    return {
        TRAIN_IMAGES: rng.integers(0, 256, size=(6, 4, 4), dtype=np.uint8),
        TRAIN_LABELS: np.array([0, 1, 2, 3, 4, 9], dtype=np.uint8),
        TEST_IMAGES: rng.integers(0, 256, size=(4, 4, 4), dtype=np.uint8),
        TEST_LABELS: np.array([5, 6, 7, 8], dtype=np.uint8),
    }


def write_dataset(directory: Path, arrays: dict[str, np.ndarray], gz: frozenset[str] = frozenset()) -> Path:
    """Write the four files into ``directory``; names in ``gz`` are compressed."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write(directory / name, idx_bytes(array), gz=name in gz)
    return directory


@pytest.fixture(scope="module")
def mnist_u8():
    """The vendored MNIST as read-only uint8 views (decoded once per session through the cache)."""
    return ds.load_mnist(normalize=False, flatten=False)


# --------------------------------------------------------------------------- public API


def test_all_is_sorted_and_complete():
    assert ds.__all__ == sorted(ds.__all__)
    for name in ("load_mnist", "read_idx", "MNIST_FILES", "default_data_dir", "verify_checksums"):
        assert name in ds.__all__
    for name in ds.__all__:
        assert getattr(ds, name) is not None


def test_vendored_files_exist():
    directory = ds.default_data_dir()
    assert sorted(p.name for p in directory.glob("*.gz")) == sorted(f"{n}.gz" for n in ds.MNIST_FILES)


# --------------------------------------------------------------------------- MNIST facts


@pytest.mark.parametrize(("split", "counts"), [(0, TRAIN_COUNTS), (1, TEST_COUNTS)], ids=["train", "test"])
def test_label_counts_per_class(mnist_u8, split, counts):
    labels = mnist_u8[split][1]
    assert np.bincount(labels, minlength=10).tolist() == counts


@pytest.mark.parametrize(("split", "first"), [(0, TRAIN_FIRST10), (1, TEST_FIRST10)], ids=["train", "test"])
def test_first_ten_labels(mnist_u8, split, first):
    assert mnist_u8[split][1][:10].tolist() == first


@pytest.mark.parametrize("one_hot_label", [False, True])
@pytest.mark.parametrize("flatten", [True, False])
@pytest.mark.parametrize("normalize", [True, False])
def test_shapes_and_dtypes_of_every_option(normalize, flatten, one_hot_label):
    (x_train, t_train), (x_test, t_test) = ds.load_mnist(normalize, flatten, one_hot_label)
    for x, t, n in ((x_train, t_train, 60000), (x_test, t_test, 10000)):
        assert x.shape == ((n, 784) if flatten else (n, 1, 28, 28))
        assert x.dtype == (np.float32 if normalize else np.uint8)
        assert t.shape == ((n, 10) if one_hot_label else (n,))
        assert t.dtype == (np.float32 if one_hot_label else np.int64)
        assert isinstance(x, np.ndarray) and isinstance(t, np.ndarray)


def test_normalized_images_are_float32_in_unit_range(mnist_u8):
    (x_train, _), (x_test, _) = ds.load_mnist(normalize=True, flatten=False)
    for x, u8 in ((x_train, mnist_u8[0][0]), (x_test, mnist_u8[1][0])):
        assert x.dtype == np.float32
        assert x.min() == 0.0 and x.max() == 1.0
        assert np.array_equal(x, u8.astype(np.float32) / np.float32(255))


def test_one_hot_rows_sum_to_one_and_argmax_is_label(mnist_u8):
    (_, t_train), (_, t_test) = ds.load_mnist(one_hot_label=True)
    for t, labels in ((t_train, mnist_u8[0][1]), (t_test, mnist_u8[1][1])):
        assert set(np.unique(t).tolist()) == {0.0, 1.0}
        np.testing.assert_array_equal(t.sum(axis=1), np.ones(len(t), dtype=np.float32))
        np.testing.assert_array_equal(t.argmax(axis=1), labels)


def test_flatten_false_is_n_1_28_28_and_matches_flat(mnist_u8):
    (x_flat, _), _ = ds.load_mnist(normalize=False, flatten=True)
    assert mnist_u8[0][0].shape == (60000, 1, 28, 28)
    np.testing.assert_array_equal(x_flat.reshape(60000, 1, 28, 28), mnist_u8[0][0])


def test_load_mnist_uint8(mnist_u8):
    (x_train, t_train), (x_test, t_test) = ds.load_mnist_uint8()
    assert (x_train.shape, x_train.dtype, t_train.dtype) == ((60000, 784), np.uint8, np.int64)
    assert (x_test.shape, x_test.dtype, t_test.shape) == ((10000, 784), np.uint8, (10000,))
    np.testing.assert_array_equal(x_test.reshape(-1, 1, 28, 28), mnist_u8[1][0])


def test_flags_must_be_bool():
    with pytest.raises(TypeError, match="data_dir="):
        ds.load_mnist("some/dir")
    with pytest.raises(TypeError, match="data_dir must be"):
        ds.load_mnist(data_dir=123)


# --------------------------------------------------------------------------- cache


def test_cache_returns_same_values_and_shares_uint8_memory(mnist_u8):
    (x1, t1), _ = ds.load_mnist(normalize=False, flatten=False)
    np.testing.assert_array_equal(x1, mnist_u8[0][0])
    np.testing.assert_array_equal(t1, mnist_u8[0][1])
    assert np.shares_memory(x1, mnist_u8[0][0]), "second call decoded the file again"


def test_cache_is_not_corruptible_by_caller(mnist_u8):
    (x_u8, t), _ = ds.load_mnist(normalize=False)
    with pytest.raises(ValueError):
        x_u8[0, 0] = 255
    with pytest.raises(ValueError):
        x_u8.flags.writeable = True
    t[:] = 3  # labels are a fresh array: writing is allowed and harmless
    (x_f, _), _ = ds.load_mnist(normalize=True)
    x_f[:] = -1.0
    (x_again, t_again), _ = ds.load_mnist(normalize=True)
    assert x_again.min() == 0.0
    assert t_again[:10].tolist() == TRAIN_FIRST10
    assert mnist_u8[0][1][:10].tolist() == TRAIN_FIRST10


def test_cache_reloads_when_file_changes(tmp_path):
    arrays = small_arrays()
    write_dataset(tmp_path, arrays)
    (_, t1), _ = ds.load_mnist(data_dir=tmp_path)
    assert t1.tolist() == arrays[TRAIN_LABELS].tolist()
    labels_path = tmp_path / TRAIN_LABELS
    stat = labels_path.stat()
    write(labels_path, idx_bytes(np.array([9, 8, 7, 6, 5, 4], dtype=np.uint8)))  # same size
    os.utime(labels_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    (_, t2), _ = ds.load_mnist(data_dir=tmp_path)
    assert t2.tolist() == [9, 8, 7, 6, 5, 4]


def test_clear_cache_forces_a_new_decode(tmp_path):
    write_dataset(tmp_path, small_arrays())
    (x1, _), _ = ds.load_mnist_uint8(data_dir=tmp_path)
    (x2, _), _ = ds.load_mnist_uint8(data_dir=tmp_path)
    assert np.shares_memory(x1, x2)
    ds.clear_cache()
    (x3, _), _ = ds.load_mnist_uint8(data_dir=tmp_path)
    assert not np.shares_memory(x1, x3)
    np.testing.assert_array_equal(x1, x3)


def test_threads_loading_at_once_share_one_decoded_copy():
    ds.clear_cache()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: ds.load_mnist_uint8(), range(4)))
    first = results[0]
    for (x, _), (x_test, _) in results[1:]:  # one decode of each file: the images are views of the same memory
        assert np.shares_memory(x, first[0][0]) and np.shares_memory(x_test, first[1][0])
        np.testing.assert_array_equal(x, first[0][0])
    assert first[0][1][:10].tolist() == TRAIN_FIRST10 and first[1][1][:10].tolist() == TEST_FIRST10


def test_files_read_side_by_side_report_the_first_bad_file_in_order(tmp_path):
    """The four files are decoded on threads; with two bad ones, the error names the first, as a sequential read would."""
    arrays = small_arrays()
    data_dir = write_dataset(tmp_path / "data", arrays)
    write(data_dir / TEST_IMAGES, idx_bytes(arrays[TEST_IMAGES])[:-3])
    write(data_dir / TRAIN_LABELS, idx_bytes(arrays[TRAIN_LABELS])[:-2])
    for _ in range(5):  # whichever thread finishes first
        with pytest.raises(DataFileError, match=rf"^{re.escape(str(data_dir / TRAIN_LABELS))}: truncated"):
            ds.load_mnist(data_dir=data_dir)


def test_a_large_file_is_hashed_alongside_its_decompression(tmp_path):
    """Above four chunks the hash runs on a second thread, chunk after chunk: the digest is that of the content."""
    array = np.random.default_rng(1).integers(0, 256, size=(7000, 28, 28), dtype=np.uint8)  # 5.5 MB
    content = idx_bytes(array)
    path = write(tmp_path / "big-idx3-ubyte", content, gz=True)
    hasher = hashlib.sha256()
    np.testing.assert_array_equal(idx_module._read_idx(path, hasher), array)
    assert hasher.hexdigest() == hashlib.sha256(content).hexdigest()


# --------------------------------------------------------------------------- checksums and data_dir


def test_verify_checksums_passes_on_vendored_copy():
    ds.verify_checksums()
    ds.verify_checksums(ds.default_data_dir())


@pytest.fixture
def tampered_copy(tmp_path):
    """A copy of the vendored MNIST whose train labels differ in one (still valid) label."""
    src = ds.default_data_dir()
    for name in (TRAIN_IMAGES, TEST_IMAGES, TEST_LABELS):  # symlinks: decoded once, via the cache
        (tmp_path / f"{name}.gz").symlink_to(src / f"{name}.gz")
    labels = bytearray(gzip.decompress((src / f"{TRAIN_LABELS}.gz").read_bytes()))
    labels[8] = (labels[8] + 1) % 10  # first label: 5 -> 6
    write(tmp_path / TRAIN_LABELS, bytes(labels), gz=True)
    return tmp_path


def test_verify_checksums_fails_on_tampered_copy(tampered_copy):
    with pytest.raises(DataFileError, match="checksum mismatch") as info:
        ds.verify_checksums(tampered_copy)
    assert f"{TRAIN_LABELS}.gz" in str(info.value)
    # a data_dir load does not check sums (other datasets have other sums)
    (_, t_train), _ = ds.load_mnist(data_dir=tampered_copy)
    assert t_train[0] == 6


def test_tampered_vendored_copy_says_reinstall(tampered_copy, monkeypatch):
    monkeypatch.setattr(mnist_module, "default_data_dir", lambda: tampered_copy)
    with pytest.raises(DataFileError, match="reinstall xpnet") as info:
        ds.load_mnist()
    assert TRAIN_LABELS in str(info.value) and "checksum mismatch" in str(info.value)


def test_data_dir_loads_a_raw_and_gz_mix(tmp_path, mnist_u8):
    src = ds.default_data_dir()
    (tmp_path / f"{TRAIN_IMAGES}.gz").symlink_to(src / f"{TRAIN_IMAGES}.gz")
    shutil.copyfile(src / f"{TRAIN_LABELS}.gz", tmp_path / f"{TRAIN_LABELS}.gz")
    for name in (TEST_IMAGES, TEST_LABELS):
        (tmp_path / name).write_bytes(gzip.decompress((src / f"{name}.gz").read_bytes()))
    (x_train, t_train), (x_test, t_test) = ds.load_mnist(normalize=False, flatten=False, data_dir=str(tmp_path))
    np.testing.assert_array_equal(x_train, mnist_u8[0][0])
    np.testing.assert_array_equal(t_train, mnist_u8[0][1])
    np.testing.assert_array_equal(x_test, mnist_u8[1][0])
    np.testing.assert_array_equal(t_test, mnist_u8[1][1])


def test_data_dir_small_dataset_round_trips(tmp_path):
    arrays = small_arrays()
    write_dataset(tmp_path, arrays, gz=frozenset({TRAIN_IMAGES, TEST_LABELS}))
    (x_train, t_train), (x_test, t_test) = ds.load_mnist(flatten=False, one_hot_label=True, data_dir=tmp_path)
    assert x_train.shape == (6, 1, 4, 4) and x_test.shape == (4, 1, 4, 4)
    np.testing.assert_array_equal(x_train[:, 0], arrays[TRAIN_IMAGES] / np.float32(255))
    np.testing.assert_array_equal(t_train.argmax(axis=1), arrays[TRAIN_LABELS])
    np.testing.assert_array_equal(t_test.argmax(axis=1), arrays[TEST_LABELS])


# --------------------------------------------------------------------------- error table


def _replace(name: str, data: bytes, *, gz: bool = False):
    """Case builder: overwrite file ``name`` of the small dataset with ``data``."""

    def mutate(d: Path) -> Path:
        for old in (d / name, d / f"{name}.gz"):
            old.unlink(missing_ok=True)
        write(d / name, data, gz=gz)
        return d

    return mutate


def _with_array(name: str, array: np.ndarray, **kw):
    return _replace(name, idx_bytes(array), **kw)


def _gz_edit(name: str, edit):
    """Case builder: gzip file ``name`` and apply ``edit`` to the compressed bytes."""

    def mutate(d: Path) -> Path:
        data = gzip.compress((d / name).read_bytes(), mtime=0)
        (d / name).unlink()
        (d / f"{name}.gz").write_bytes(edit(data))
        return d

    return mutate


def _flip_crc(data: bytes) -> bytes:
    out = bytearray(data)
    out[-8] ^= 0xFF
    return bytes(out)


def _missing_dir(d: Path) -> Path:
    return d / "absent"


def _path_is_file(d: Path) -> Path:
    (d / "plain.txt").write_text("not a directory")
    return d / "plain.txt"


def _missing_file(d: Path) -> Path:
    (d / TEST_LABELS).unlink()
    return d


def _file_is_directory(d: Path) -> Path:
    (d / TRAIN_LABELS).unlink()
    (d / TRAIN_LABELS).mkdir()
    return d


_IMAGES = small_arrays()[TRAIN_IMAGES]
_IMAGES_RAW = idx_bytes(_IMAGES)

ERROR_CASES = [
    ("missing dir", _missing_dir, ["absent", "does not exist"]),
    ("path is a file", _path_is_file, ["plain.txt", "not a directory"]),
    ("missing one file", _missing_file, [f"missing {TEST_LABELS}", TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES]),
    ("file is a directory", _file_is_directory, [TRAIN_LABELS, "is a directory"]),
    ("empty file", _replace(TRAIN_IMAGES, b""), [TRAIN_IMAGES, "empty file"]),
    (
        "truncated gz",
        _gz_edit(TRAIN_IMAGES, lambda b: b[: len(b) // 2]),
        [f"{TRAIN_IMAGES}.gz", "corrupt gzip", "ends early"],
    ),
    ("corrupt gzip CRC", _gz_edit(TRAIN_IMAGES, _flip_crc), [f"{TRAIN_IMAGES}.gz", "corrupt gzip", "CRC check failed"]),
    ("gzip magic then junk", _replace(TEST_IMAGES, b"\x1f\x8b" + b"junk" * 8), [TEST_IMAGES, "corrupt gzip"]),
    (
        "truncated raw payload",
        _replace(TRAIN_IMAGES, _IMAGES_RAW[:-5]),
        [TRAIN_IMAGES, "truncated: header says 6x4x4 uint8 (96 bytes) but only 91 bytes follow"],
    ),
    (
        "truncated header",
        _replace(TRAIN_IMAGES, _IMAGES_RAW[:9]),
        [TRAIN_IMAGES, "truncated", "3 dimensions"],
    ),
    (
        "trailing bytes raw",
        _replace(TRAIN_IMAGES, _IMAGES_RAW + b"abc"),
        [TRAIN_IMAGES, "trailing bytes: header says 6x4x4 uint8 (96 bytes) but 99 bytes follow"],
    ),
    (
        "trailing bytes gz",
        _replace(TRAIN_IMAGES, _IMAGES_RAW + b"abc", gz=True),
        [f"{TRAIN_IMAGES}.gz", "trailing bytes", "but 99 bytes follow"],
    ),
    ("wrong magic", _replace(TRAIN_IMAGES, b"\x01" + _IMAGES_RAW[1:]), [TRAIN_IMAGES, "bad magic number 0x01000803"]),
    (
        "unknown type code",
        _replace(TRAIN_IMAGES, idx_bytes(_IMAGES, code=0x07)),
        [TRAIN_IMAGES, "unknown IDX type code 0x07"],
    ),
    ("zero dimensions", _replace(TRAIN_IMAGES, b"\x00\x00\x08\x00"), [TRAIN_IMAGES, "0 dimensions"]),
    (
        "mismatched image/label counts",
        _with_array(TRAIN_LABELS, np.array([0, 1, 2, 3, 4], dtype=np.uint8)),
        [TRAIN_IMAGES, "6 images", TRAIN_LABELS, "5 labels"],
    ),
    ("negative label", _with_array(TEST_LABELS, np.array([1, -1, 2, 3], dtype=np.int8)), ["label -1 at index 1"]),
    ("float labels", _with_array(TRAIN_LABELS, np.zeros(6, np.float32)), [TRAIN_LABELS, "1-D integer", "float32"]),
    ("images not 3-D", _with_array(TEST_IMAGES, np.zeros((4, 16), np.uint8)), [TEST_IMAGES, "3-D uint8", "2-D"]),
    ("images not uint8", _with_array(TEST_IMAGES, np.zeros((4, 4, 4), np.int16)), [TEST_IMAGES, "3-D uint8", "int16"]),
    (
        "train/test image sizes differ",
        _with_array(TEST_IMAGES, np.zeros((4, 5, 5), np.uint8)),
        [TRAIN_IMAGES, TEST_IMAGES, "image sizes differ", "4x4", "5x5"],
    ),
]


def test_the_number_of_classes_comes_from_the_labels(tmp_path):
    """EMNIST-style sets: labels above 9 are classes, and one-hot rows are as wide as the largest label + 1."""
    arrays = small_arrays()
    arrays[TRAIN_LABELS] = np.array([0, 46, 2, 3, 4, 9], dtype=np.uint8)  # EMNIST Balanced has 47 classes
    data_dir = write_dataset(tmp_path / "data", arrays)
    (_, t), (_, t_test) = ds.load_mnist(data_dir=data_dir, one_hot_label=True)
    assert t.shape == (6, 47) and t_test.shape == (4, 47)
    assert ds.count_classes(arrays[TRAIN_LABELS], arrays[TEST_LABELS]) == 47
    (_, labels), _ = ds.load_mnist(data_dir=data_dir)
    assert labels.max() == 46
    with pytest.raises(DataFileError, match=r"train-labels-idx1-ubyte: label 46 at index 1 is outside 0\.\.9 for num_classes=10"):
        ds.load_mnist(data_dir=data_dir, num_classes=10)
    assert ds.load_mnist(data_dir=data_dir, num_classes=50, one_hot_label=True)[0][1].shape == (6, 50)


@pytest.mark.parametrize(("mutate", "fragments"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_load_mnist_errors_name_the_problem(tmp_path, mutate, fragments):
    data_dir = mutate(write_dataset(tmp_path / "data", small_arrays()))
    with pytest.raises(DataFileError) as info:
        ds.load_mnist(data_dir=data_dir)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# --------------------------------------------------------------------------- read_idx


@pytest.mark.parametrize("dtype", list(IDX_DTYPES.values()), ids=str)
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_read_idx_round_trips_every_type(tmp_path, dtype, gz):
    array = (np.arange(24) - 7).astype(dtype).reshape(2, 3, 4) * (1 if dtype.kind == "u" else -3)
    out = ds.read_idx(write(tmp_path / "a.idx", idx_bytes(array), gz=gz))
    assert out.dtype == dtype and out.dtype.isnative and out.flags.writeable and out.flags.c_contiguous
    np.testing.assert_array_equal(out, array)


def test_read_idx_converts_big_endian(tmp_path):
    path = write(tmp_path / "a.idx", b"\x00\x00\x0b\x01\x00\x00\x00\x02\x01\x02\xff\xfe")
    assert ds.read_idx(path).tolist() == [258, -2]


def test_read_idx_detects_gzip_by_magic_not_suffix(tmp_path):
    data = idx_bytes(np.arange(5, dtype=np.uint8))
    gz_no_suffix = tmp_path / "compressed"
    gz_no_suffix.write_bytes(gzip.compress(data))
    raw_with_suffix = tmp_path / "raw.gz"
    raw_with_suffix.write_bytes(data)
    assert ds.read_idx(gz_no_suffix).tolist() == [0, 1, 2, 3, 4]
    assert ds.read_idx(raw_with_suffix).tolist() == [0, 1, 2, 3, 4]


def test_read_idx_rejects_non_paths():
    with pytest.raises(TypeError, match="path must be"):
        ds.read_idx(0)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataFileError, match="nope.idx: no such file"):
        ds.read_idx(tmp_path / "nope.idx")


@pytest.mark.parametrize(
    ("dims", "expected"),
    [
        ((2**32 - 1,) * 3, "invalid IDX header: 4294967295x4294967295x4294967295 float64 is too large"),
        ((0, 2**32 - 1, 2**32 - 1, 2**32 - 1), "is too large"),  # NumPy refuses even when empty
        ((2**32 - 1, 2**16), "truncated: header says 4294967295x65536 float64 (2251799813160960 bytes)"),
    ],
    ids=["overflows", "zero-times-overflow", "terabytes"],
)
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_read_idx_absurd_header_does_not_allocate(tmp_path, gz, dims, expected):
    huge = struct.pack(f">BBBB{len(dims)}I", 0, 0, 0x0E, len(dims), *dims) + b"\x00" * 64
    path = write(tmp_path / "huge.idx", huge, gz=gz)
    start = time.perf_counter()
    with pytest.raises(DataFileError, match=re.escape(expected)):
        ds.read_idx(path)
    assert time.perf_counter() - start < 1.0


def test_read_idx_empty_array(tmp_path):
    path = write(tmp_path / "empty.idx", struct.pack(">BBBB2I", 0, 0, 0x0C, 2, 0, 3))
    out = ds.read_idx(path)
    assert out.shape == (0, 3) and out.dtype == np.int32


def test_read_idx_too_many_dimensions(tmp_path):
    path = write(tmp_path / "deep.idx", b"\x00\x00\x08\x40" + b"\x00\x00\x00\x01" * 64 + b"\x07")
    with pytest.raises(DataFileError, match="64 dimensions"):
        ds.read_idx(path)


# --------------------------------------------------------------------------- fuzzing

_VALID = idx_bytes(np.arange(24, dtype=np.int16).reshape(2, 3, 4))
_VALID_GZ = gzip.compress(_VALID, mtime=0)


@st.composite
def mutated_idx(draw) -> bytes:
    """A valid small IDX file (raw or gz) with random byte edits, truncation or extra bytes."""
    data = bytearray(draw(st.sampled_from([_VALID, _VALID_GZ])))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "truncate", "append", "insert"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "append":
            data += draw(st.binary(min_size=1, max_size=16))
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


@st.composite
def random_header(draw) -> bytes:
    """A header with arbitrary type code, ndim and dims, followed by a short payload, maybe gzipped."""
    ndim = draw(st.integers(0, 6))
    dims = draw(st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 4), min_size=ndim, max_size=ndim))
    code = draw(st.sampled_from(sorted(IDX_DTYPES)) | st.integers(0, 255))
    data = struct.pack(f">BBBB{ndim}I", 0, 0, code, ndim, *dims) + draw(st.binary(max_size=64))
    return gzip.compress(data, mtime=0) if draw(st.booleans()) else data


@pytest.fixture(scope="module")
def fuzz_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "fuzz.idx"


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=128) | mutated_idx() | random_header())
def test_read_idx_fuzz_returns_array_or_raises_data_file_error(fuzz_path, data):
    fuzz_path.write_bytes(data)
    try:
        out = ds.read_idx(fuzz_path)
    except DataFileError as exc:  # anything else fails the test
        assert str(fuzz_path) in str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(out, np.ndarray) and out.dtype.isnative
        assert out.nbytes <= 1100 * len(data)


@settings(max_examples=50, deadline=None)
@given(
    dtype=st.sampled_from(list(IDX_DTYPES.values())),
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    gz=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_read_idx_round_trip_property(fuzz_path, dtype, shape, gz, seed):
    raw = np.random.default_rng(seed).bytes(int(np.prod(shape)) * dtype.itemsize)
    array = np.frombuffer(raw, dtype=dtype).reshape(shape)
    data = idx_bytes(array)
    fuzz_path.write_bytes(gzip.compress(data) if gz else data)
    out = ds.read_idx(fuzz_path)
    assert out.shape == tuple(shape) and out.dtype == dtype
    assert out.tobytes() == array.tobytes()  # bitwise, so NaN payloads compare too

"""``load_mnist`` with the book's semantics, from the vendored copy or any MNIST-format directory.

Decoded files are kept in an in-process cache of read-only uint8 arrays, keyed
by resolved path and (mtime, size), so repeated calls do not decompress again.
The vendored copy is checked against the published checksums (sha256 of the
uncompressed files) the first time each file is used in a process.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from math import prod
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from xpnet._array.compat import NUMPY
from xpnet._array.ops import ops_for
from xpnet.datasets.checks import check_classes, check_images, check_labels, check_num_classes, image_size, count_classes
from xpnet.datasets.idx import _read_idx
from xpnet.errors import DataFileError

__all__ = [
    "MNIST_FILES",
    "MNIST_SHA256",
    "clear_cache",
    "count_classes",
    "dataset_identity",
    "default_data_dir",
    "load_mnist",
    "load_mnist_uint8",
    "verify_checksums",
]

#: Standard file names, in the order train images, train labels, test images, test labels.
#: On disk each may be raw or carry a ``.gz`` suffix.
MNIST_FILES: tuple[str, str, str, str] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: Published sha256 of each *uncompressed* MNIST file.
MNIST_SHA256: Mapping[str, str] = MappingProxyType(
    {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    }
)

_REINSTALL = (
    "the vendored MNIST copy is damaged or modified: reinstall xpnet (pip install --force-reinstall xpnet)"
)

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class _Entry:
    """One decoded file: its (mtime_ns, size) stamp, read-only array and content sha256."""

    stamp: tuple[int, int]
    array: np.ndarray
    sha256: str


_CACHE: dict[Path, _Entry] = {}
_VERIFIED: dict[Path, tuple[int, int]] = {}  # resolved path -> stamp whose checksum passed
_LOCK = threading.Lock()  # guards _FILE_LOCKS
_FILE_LOCKS: dict[Path, threading.Lock] = {}  # resolved path -> the lock its reader holds


def default_data_dir() -> Path:
    """Return the directory of the MNIST copy vendored inside the package.

    Returns
    -------
    pathlib.Path
        ``.../xpnet/datasets/data/mnist``, holding the four ``.gz`` files.
    """
    return Path(__file__).resolve().parent / "data" / "mnist"


def clear_cache() -> None:
    """Forget every decoded file and checksum result held in memory (about 55 MB for MNIST)."""
    with _LOCK:
        _CACHE.clear()
        _VERIFIED.clear()


def verify_checksums(data_dir: str | os.PathLike[str] | None = None) -> None:
    """Check the four files against the published MNIST sha256 sums.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Directory holding the four files (raw or ``.gz``); the vendored copy
        when omitted. The sum is taken over the uncompressed content.

    Raises
    ------
    xpnet.errors.DataFileError
        A file is missing, unreadable, or its content differs from the
        original MNIST file; the message names the file.
    """
    vendored = data_dir is None
    directory = default_data_dir() if vendored else _check_dir(data_dir)
    for name in MNIST_FILES:
        path = _find_file(directory, name, vendored=vendored)
        _verify(path, name, _load_file(path, vendored=vendored), vendored=vendored)


def load_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    num_classes: int | None = None,
) -> tuple[Split, Split]:
    """Load MNIST (or any dataset in its format) as host NumPy arrays, as in the book.

    Parameters
    ----------
    normalize : bool, default True
        Scale images to float32 in [0, 1] (pixel / 255). When False, images
        are uint8 **read-only views** of the in-process cache (copy them with
        ``np.array(x)`` before writing).
    flatten : bool, default True
        Images of shape (N, H*W) (MNIST: (N, 784)); when False (N, 1, H, W).
    one_hot_label : bool, default False
        Labels as float32 one-hot rows of shape (N, K) (MNIST: K = 10); when
        False, int64 of shape (N,).
    data_dir : str or os.PathLike, optional, keyword-only
        Directory with ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each raw or
        ``.gz``), e.g. EMNIST in this format. Default: the vendored MNIST copy,
        which is verified against the published checksums once per process.
    num_classes : int, optional, keyword-only
        K, the number of classes: labels must lie in 0..K-1. Default: one more
        than the largest label of both files (10 for MNIST, 47 for EMNIST
        Balanced), so sets with more than 10 classes work.

    Returns
    -------
    ((x_train, t_train), (x_test, t_test)) : tuple of tuples of numpy.ndarray
        MNIST has 60000 training and 10000 test examples. Images: float32
        (normalize) or uint8; labels: int64 (N,) or float32 (N, 10).
        Everything except the uint8 views is a fresh, writable array.

    Raises
    ------
    TypeError
        A flag is not a bool (e.g. a path passed positionally), or
        ``data_dir`` is not a path.
    xpnet.errors.DataFileError
        The directory or a file is missing, a file is corrupt, the files
        disagree (image sizes, image/label counts), a label is negative or
        not below ``num_classes``, or the vendored copy fails its checksum.
        The message names the file.
    """
    for flag, value in (("normalize", normalize), ("flatten", flatten), ("one_hot_label", one_hot_label)):
        _check_flag(flag, value)
    (x_train, t_train), (x_test, t_test), k = _load_arrays(data_dir, num_classes=num_classes)
    return (
        (_images(x_train, normalize, flatten), _labels(t_train, one_hot_label, k)),
        (_images(x_test, normalize, flatten), _labels(t_test, one_hot_label, k)),
    )


def load_mnist_uint8(
    *, data_dir: str | os.PathLike[str] | None = None, num_classes: int | None = None
) -> tuple[Split, Split]:
    """Load MNIST with the images kept as uint8, for loops that normalise on the device.

    Parameters
    ----------
    data_dir, num_classes : optional, keyword-only
        As in :func:`load_mnist`.

    Returns
    -------
    ((x_train, t_train), (x_test, t_test)) : tuple of tuples of numpy.ndarray
        Images: uint8, shape (N, H*W) (MNIST: (N, 784)), **read-only views**
        of the cache. Labels: fresh int64, shape (N,).

    Raises
    ------
    xpnet.errors.DataFileError
        As in :func:`load_mnist`.
    """
    return load_mnist(normalize=False, flatten=True, one_hot_label=False, data_dir=data_dir, num_classes=num_classes)


def dataset_identity(data_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What identifies a data set: where it comes from, its sizes and fingerprints of its content.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        As in :func:`load_mnist`; the vendored MNIST when omitted.

    Returns
    -------
    dict
        ``source`` (``"embedded MNIST"`` or the resolved directory), ``dir`` (None for the
        embedded set, else the resolved directory), ``train_size``, ``test_size``,
        ``image_shape`` (list of int), and ``train_sha256`` / ``test_sha256``: sha256 over the
        sha256 sums of the uncompressed images and labels files (raw and ``.gz`` copies of
        one file give the same value). Files already loaded are not read again.

    Raises
    ------
    xpnet.errors.DataFileError
        As in :func:`load_mnist`.
    """
    (x_train, _), (x_test, _), _ = _load_arrays(data_dir)
    base = default_data_dir() if data_dir is None else _check_dir(data_dir).resolve()
    directory = None if data_dir is None else str(base)
    sums = [_load_file(_find_file(base, name, vendored=data_dir is None), vendored=data_dir is None).sha256 for name in MNIST_FILES]
    return {
        "source": "embedded MNIST" if directory is None else directory,
        "dir": directory,
        "train_size": int(x_train.shape[0]),
        "test_size": int(x_test.shape[0]),
        "image_shape": [int(d) for d in x_train.shape[1:]],
        "train_sha256": hashlib.sha256(f"{sums[0]}:{sums[1]}".encode()).hexdigest(),
        "test_sha256": hashlib.sha256(f"{sums[2]}:{sums[3]}".encode()).hexdigest(),
    }


def _check_flag(name: str, value: object) -> None:
    """Reject non-bool flags, e.g. a directory passed positionally as ``normalize``."""
    if isinstance(value, (bool, np.bool_)):
        return
    hint = "; pass a directory as data_dir=..." if isinstance(value, (str, os.PathLike)) else ""
    raise TypeError(f"load_mnist: {name} must be a bool, got {type(value).__name__} {value!r}{hint}")


def _check_dir(data_dir: object) -> Path:
    """Return ``data_dir`` as a Path after checking it is an existing directory."""
    if not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir must be a str or os.PathLike, got {type(data_dir).__name__}")
    directory = Path(data_dir)
    if not directory.exists():
        raise DataFileError(f"{directory}: data directory does not exist")
    if not directory.is_dir():
        raise DataFileError(f"{directory}: data_dir is not a directory")
    return directory


def _find_file(directory: Path, name: str, *, vendored: bool, compressed: bool = False) -> Path:
    """Return ``directory/name``, or ``directory/name.gz`` when only that exists (``compressed``: only the .gz).

    When both exist they must hold the same content (compared after decompression), or
    neither is used: which one is the data set would be a guess.
    """
    candidates = (directory / f"{name}.gz",) if compressed else (directory / name, directory / f"{name}.gz")
    found = [c for c in candidates if c.exists() or c.is_symlink()]
    if len(found) == 2:
        raw, packed = (_load_file(c, vendored=vendored) for c in found)
        if raw.sha256 != packed.sha256:
            raise DataFileError(
                f"{found[0]} and {found[1]} both exist with different content "
                f"({_describe_entry(raw)} vs {_describe_entry(packed)}); remove the one that is not your data set"
            )
    if found:
        return found[0]
    expected = ", ".join(MNIST_FILES)
    fix = f"; {_REINSTALL}" if vendored else ""
    raise DataFileError(
        f"{directory}: missing {name} (or {name}.gz); expected the four files {expected} "
        f"(each raw or .gz){fix}"
    )


def _describe_entry(entry: _Entry) -> str:
    """Shape and the start of the content hash, for messages."""
    return f"{'x'.join(map(str, entry.array.shape))}, sha256 {entry.sha256[:12]}"


def _load_file(path: Path, *, vendored: bool) -> _Entry:
    """Decode ``path`` through the cache; its array is read-only."""
    try:
        resolved = path.resolve()
        st = resolved.stat()
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file (a symbolic link to a missing file?)") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    stamp = (st.st_mtime_ns, st.st_size)
    with _LOCK:
        lock = _FILE_LOCKS.setdefault(resolved, threading.Lock())
    with lock:  # one reader per file; other files are read meanwhile
        entry = _CACHE.get(resolved)
        if entry is None or entry.stamp != stamp:
            hasher = hashlib.sha256()
            try:
                array = _read_idx(path, hasher)
            except DataFileError as exc:
                if not vendored:
                    raise
                raise DataFileError(f"{exc}; {_REINSTALL}") from exc
            array.flags.writeable = False
            entry = _CACHE[resolved] = _Entry(stamp, array, hasher.hexdigest())
    return entry


def _load_files(paths: list[Path], *, vendored: bool) -> list[_Entry]:
    """:func:`_load_file` for each path, side by side on threads (decompressing and hashing release the GIL).

    The entries come back in the order of ``paths``; so does the first error, as if read one after another. Files
    already decoded come from the cache at once.
    """
    with ThreadPoolExecutor(max_workers=len(paths), thread_name_prefix="xpnet-mnist") as pool:
        futures = [pool.submit(_load_file, path, vendored=vendored) for path in paths]
        return [future.result() for future in futures]


def _verify(path: Path, name: str, entry: _Entry, *, vendored: bool) -> None:
    """Compare the entry's sha256 with the published one, once per file version."""
    resolved = path.resolve()
    if _VERIFIED.get(resolved) == entry.stamp:
        return
    expected = MNIST_SHA256[name]
    if entry.sha256 != expected:
        fix = _REINSTALL if vendored else "replace it with the original MNIST file"
        raise DataFileError(
            f"{path}: checksum mismatch: sha256 of the uncompressed content is {entry.sha256}, "
            f"expected {expected} (published MNIST sum); {fix}"
        )
    _VERIFIED[resolved] = entry.stamp


def _load_arrays(
    data_dir: str | os.PathLike[str] | None, *, num_classes: int | None = None, compressed: bool = False
) -> tuple[Split, Split, int]:
    """Return the cached, validated read-only arrays (train, test) as stored in the files, and the number of classes.

    ``compressed`` reads only the ``.gz`` files (whose published checksums a caller verified).
    """
    vendored = data_dir is None
    directory = default_data_dir() if vendored else _check_dir(data_dir)
    paths = [_find_file(directory, name, vendored=vendored, compressed=compressed) for name in MNIST_FILES]
    entries = _load_files(paths, vendored=vendored)
    if vendored:
        for path, name, entry in zip(paths, MNIST_FILES, entries):
            _verify(path, name, entry, vendored=True)
    x_train, t_train, x_test, t_test = (entry.array for entry in entries)
    check_images(paths[0], x_train)
    check_images(paths[2], x_test)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataFileError(
            f"{paths[0]} and {paths[2]}: image sizes differ: "
            f"{image_size(x_train)} (train) vs {image_size(x_test)} (test)"
        )
    check_labels(paths[1], t_train, paths[0], x_train)
    check_labels(paths[3], t_test, paths[2], x_test)
    k = count_classes(t_train, t_test) if num_classes is None else check_num_classes(num_classes)
    check_classes(paths[1], t_train, k)
    check_classes(paths[3], t_test, k)
    return (x_train, t_train), (x_test, t_test), k


def _images(images: np.ndarray, normalize: bool, flatten: bool) -> np.ndarray:
    """Reshape (N, H, W) uint8 to (N, H*W) or (N, 1, H, W); float32 / 255 if normalize."""
    n = images.shape[0]
    shaped = images.reshape(n, prod(images.shape[1:])) if flatten else images.reshape(n, 1, *images.shape[1:])
    if not normalize:
        return shaped
    return ops_for(NUMPY).to_float(shaped, np.dtype(np.float32))  # the one pixel scaling: pixel / 255 in float32


def _labels(labels: np.ndarray, one_hot: bool, k: int) -> np.ndarray:
    """Fresh int64 labels (N,), or float32 one-hot rows (N, k)."""
    if one_hot:
        return np.eye(k, dtype=np.float32)[labels]
    return labels.astype(np.int64)

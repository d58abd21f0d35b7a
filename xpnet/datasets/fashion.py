"""``load_fashion_mnist``: Zalando's Fashion-MNIST from a directory the user points to, checked against the published sums.

Fashion-MNIST (https://github.com/zalandoresearch/fashion-mnist, MIT licence) has MNIST's
format and file names: 60,000 training and 10,000 test images of 28x28 uint8 pixels, ten
classes of clothing. It is not shipped with xpnet and nothing is downloaded: put the four
``.gz`` files of its ``data/fashion/`` folder in a directory and pass it as ``data_dir``.
Each file is checked against the MD5 sum the Fashion-MNIST README publishes for it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from xpnet.datasets.mnist import MNIST_FILES, Split, _check_dir, _check_flag, _images, _labels, _load_arrays
from xpnet.errors import DataFileError

__all__ = ["FASHION_MNIST_CLASSES", "FASHION_MNIST_MD5", "FASHION_MNIST_URL", "load_fashion_mnist", "verify_fashion_mnist"]

#: Where the files are published (the ``data/fashion`` folder of the repository).
FASHION_MNIST_URL = "https://github.com/zalandoresearch/fashion-mnist"

#: Published MD5 of each compressed file, from the Fashion-MNIST README.
FASHION_MNIST_MD5: Mapping[str, str] = MappingProxyType(
    {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }
)

#: Class names, by label.
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

_VERIFIED: dict[Path, tuple[int, int]] = {}  # resolved path -> (mtime_ns, size) whose sum matched
_LOCK = threading.Lock()


def load_fashion_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    data_dir: str | os.PathLike[str],
) -> tuple[Split, Split]:
    """Load Fashion-MNIST from ``data_dir`` as host NumPy arrays, like :func:`load_mnist`.

    Parameters
    ----------
    normalize, flatten, one_hot_label : bool
        As in :func:`load_mnist`.
    data_dir : str or os.PathLike, keyword-only
        Directory holding the four files as published: ``train-images-idx3-ubyte.gz``,
        ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
        ``t10k-labels-idx1-ubyte.gz`` (from the ``data/fashion`` folder of
        https://github.com/zalandoresearch/fashion-mnist).

    Returns
    -------
    ((x_train, t_train), (x_test, t_test)) : tuple of tuples of numpy.ndarray
        60000 training and 10000 test examples: images float32 (N, 784) in [0, 1] (uint8 with
        ``normalize=False``), labels int64 (N,) in 0..9 (or float32 one-hot (N, 10)).

    Raises
    ------
    xpnet.errors.DataFileError
        A file is missing, or its MD5 differs from the published one (the message names the
        file, both sums, and where to get the original).
    """
    for flag, value in (("normalize", normalize), ("flatten", flatten), ("one_hot_label", one_hot_label)):
        _check_flag(flag, value)
    verify_fashion_mnist(data_dir)
    (x_train, t_train), (x_test, t_test), k = _load_arrays(data_dir, num_classes=10, compressed=True)
    return (
        (_images(x_train, normalize, flatten), _labels(t_train, one_hot_label, k)),
        (_images(x_test, normalize, flatten), _labels(t_test, one_hot_label, k)),
    )


def verify_fashion_mnist(data_dir: str | os.PathLike[str]) -> None:
    """Check the four ``.gz`` files in ``data_dir`` against the published MD5 sums (once per file version).

    Raises
    ------
    xpnet.errors.DataFileError
        A file is missing or differs from the published one.
    """
    directory = _check_dir(data_dir)
    for name in (f"{n}.gz" for n in MNIST_FILES):
        path = directory / name
        if not path.is_file():
            raw = " (an uncompressed copy is there, but the published sums are of the .gz files)" if (directory / name[:-3]).exists() else ""
            raise DataFileError(
                f"{directory}: missing {name}{raw}; put the four .gz files of Fashion-MNIST's data/fashion "
                f"folder there ({FASHION_MNIST_URL})"
            )
        _verify(path, name)


def _verify(path: Path, name: str) -> None:
    resolved = path.resolve()
    st = resolved.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    with _LOCK:
        if _VERIFIED.get(resolved) == stamp:
            return
        digest = hashlib.md5(usedforsecurity=False)
        with open(resolved, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        expected = FASHION_MNIST_MD5[name]
        if digest.hexdigest() != expected:
            raise DataFileError(
                f"{path}: MD5 {digest.hexdigest()} differs from the published Fashion-MNIST sum {expected}: the file is "
                f"damaged or from another data set (MNIST uses the same names); download it again from {FASHION_MNIST_URL}"
            )
        _VERIFIED[resolved] = stamp

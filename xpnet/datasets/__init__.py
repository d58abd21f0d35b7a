"""Host-side datasets: a strict IDX reader, the book's ``load_mnist`` (MNIST vendored) and ``load_fashion_mnist``."""

from __future__ import annotations

from xpnet.datasets.fashion import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_MD5,
    FASHION_MNIST_URL,
    load_fashion_mnist,
    verify_fashion_mnist,
)
from xpnet.datasets.idx import read_idx
from xpnet.datasets.mnist import (
    MNIST_FILES,
    MNIST_SHA256,
    clear_cache,
    count_classes,
    dataset_identity,
    default_data_dir,
    load_mnist,
    load_mnist_uint8,
    verify_checksums,
)

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_MD5",
    "FASHION_MNIST_URL",
    "MNIST_FILES",
    "MNIST_SHA256",
    "clear_cache",
    "count_classes",
    "dataset_identity",
    "default_data_dir",
    "load_fashion_mnist",
    "load_mnist",
    "load_mnist_uint8",
    "read_idx",
    "verify_checksums",
    "verify_fashion_mnist",
]

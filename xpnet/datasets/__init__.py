"""Host-side datasets: a strict IDX reader and the book's ``load_mnist`` (MNIST vendored)."""

from __future__ import annotations

from xpnet.datasets.idx import read_idx
from xpnet.datasets.mnist import (
    MNIST_FILES,
    MNIST_SHA256,
    clear_cache,
    dataset_identity,
    default_data_dir,
    load_mnist,
    load_mnist_uint8,
    verify_checksums,
)

__all__ = [
    "MNIST_FILES",
    "MNIST_SHA256",
    "clear_cache",
    "dataset_identity",
    "default_data_dir",
    "load_mnist",
    "load_mnist_uint8",
    "read_idx",
    "verify_checksums",
]

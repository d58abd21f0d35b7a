"""Checks of a data set's arrays as read from its files: image and label shapes, classes, sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xpnet.errors import DataFileError

__all__ = ["check_classes", "check_images", "check_labels", "check_num_classes", "count_classes", "image_size"]


def count_classes(*labels: np.ndarray) -> int:
    """One more than the largest label in ``labels`` (arrays of non-negative integer labels): K for labels 0..K-1."""
    return max((int(t.max()) + 1 for t in labels if t.size), default=0)


def check_num_classes(num_classes: object) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    return int(num_classes)


def check_classes(path: Path, labels: np.ndarray, k: int) -> None:
    """Labels must lie in 0..k-1."""
    bad = np.flatnonzero(labels >= k)
    if bad.size:
        i = int(bad[0])
        raise DataFileError(
            f"{path}: label {int(labels[i])} at index {i} is outside 0..{k - 1} for num_classes={k} "
            f"({bad.size} labels out of range)"
        )


def image_size(images: np.ndarray) -> str:
    """Format the per-image size, e.g. ``28x28``."""
    return "x".join(map(str, images.shape[1:]))


def check_images(path: Path, images: np.ndarray) -> None:
    """Images must be a non-empty 3-D uint8 array (N, H, W)."""
    shape = "x".join(map(str, images.shape))
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataFileError(
            f"{path}: expected 3-D uint8 images (N, H, W), "
            f"got {images.ndim}-D {images.dtype} of shape {shape}"
        )
    if images.size == 0:
        raise DataFileError(f"{path}: holds no images (shape {shape}); a data set needs at least one image of at least one pixel")


def check_labels(path: Path, labels: np.ndarray, images_path: Path, images: np.ndarray) -> None:
    """Labels must be 1-D non-negative integers, one per image."""
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataFileError(f"{path}: expected 1-D integer labels, got {labels.ndim}-D {labels.dtype}")
    if labels.shape[0] != images.shape[0]:
        raise DataFileError(
            f"{images_path} has {images.shape[0]} images but {path} has {labels.shape[0]} labels"
        )
    bad = np.flatnonzero(labels < 0)
    if bad.size:
        i = int(bad[0])
        raise DataFileError(f"{path}: label {int(labels[i])} at index {i} is negative ({bad.size} negative labels)")

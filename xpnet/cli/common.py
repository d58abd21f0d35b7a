"""What every ``xpnet`` subcommand shares: exit statuses, usage errors, number types for options, the backend, the data."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..backends import Backend, get_backend

__all__ = [
    "EXIT_FAILURE", "EXIT_USAGE", "OneLineParser", "UsageError", "backend_for", "backend_from_args", "fraction", "load_data",
    "load_dataset", "non_negative_float", "non_negative_int", "positive_float", "positive_int",
]

#: A mistake of the user: the command line, a file or a directory it names.
EXIT_USAGE = 2
#: A failure of the run itself (divergence, an output that could not be written, no memory).
EXIT_FAILURE = 1


class UsageError(Exception):
    """A mistake in the command line or its inputs: reported in one line, exit status 2."""


def _number_type(convert: type, ok: Callable[[float], bool], expected: str) -> Callable[[str], Any]:
    """An argparse type: ``convert(text)``, refused with 'expected ...' unless ``ok(value)``."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = expected  # argparse names the type in some messages
    return parse


positive_int = _number_type(int, lambda v: v >= 1, "a positive integer")
non_negative_int = _number_type(int, lambda v: v >= 0, "a non-negative integer")
positive_float = _number_type(float, lambda v: 0 < v < float("inf"), "a positive finite number")
non_negative_float = _number_type(float, lambda v: 0 <= v < float("inf"), "a non-negative finite number")
fraction = _number_type(float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")
dropout_ratio = _number_type(float, lambda v: 0.0 < v < 1.0, "a number in (0, 1)")


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (and exit status 2), not the whole usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def backend_from_args(args: argparse.Namespace, dtype: str | None = None) -> Backend:
    """The backend and device named on the command line (see :func:`backend_for`)."""
    return backend_for(args.backend or "numpy", args.device, dtype)


def backend_for(name: str, device: str | None, dtype: str | None = None) -> Backend:
    """Backend ``name`` on ``device`` for a network of ``dtype`` (bad names become a UsageError).

    float64 switches on float64 where the library needs a switch (JAX's 64-bit mode) for this
    process, as the command owns it.
    """
    try:
        backend = get_backend(name, device)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from exc
    if dtype == "float64":
        backend.enable_float64()
    return backend


def load_dataset(args: argparse.Namespace, data_dir: str | None = None) -> tuple[Any, str]:
    """``(((x_train, t_train), (x_test, t_test)), name)`` of ``--dataset`` and ``data_dir`` (default ``--data-dir``):
    uint8 images, int64 labels.

    ``name`` is what titles and headers call it: ``MNIST``, ``Fashion-MNIST``, or the directory.
    """
    from ..datasets import FASHION_MNIST_URL, load_fashion_mnist, load_mnist_uint8

    data_dir = args.data_dir if data_dir is None else data_dir
    num_classes = getattr(args, "num_classes", None)
    if getattr(args, "dataset", None) == "fashion-mnist":
        if data_dir is None:
            raise UsageError(
                "--dataset fashion-mnist needs --data-dir DIR, a directory with its four .gz files "
                f"(the data/fashion folder of {FASHION_MNIST_URL}); nothing is downloaded"
            )
        if num_classes not in (None, 10):
            raise UsageError(f"--num-classes {num_classes} does not apply to Fashion-MNIST, which has 10 classes")
        return load_fashion_mnist(normalize=False, data_dir=data_dir), "Fashion-MNIST"
    data = load_mnist_uint8(data_dir=data_dir, num_classes=num_classes)
    return data, "MNIST" if data_dir is None else f"the IDX files in {data_dir}"


def load_data(args: argparse.Namespace, data_dir: str | None) -> tuple[tuple[Any, Any], tuple[Any, Any], dict[str, Any]]:
    """Training and test sets (uint8 images (N, D), int64 labels) of ``data_dir`` and the data set's identity
    (``name`` included), checked before anything is built.

    The loader refuses empty sets, mismatched files and labels outside the classes (DataFileError,
    naming the file), so nothing sized by the data is allocated for data that is not there.
    """
    from ..datasets import dataset_identity

    (train, test), name = load_dataset(args, data_dir)
    return train, test, {**dataset_identity(data_dir=data_dir), "name": name}

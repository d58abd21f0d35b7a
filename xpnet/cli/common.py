"""What every ``xpnet`` subcommand shares: usage errors, number types for options, the backend option."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..backends import Backend, get_backend

__all__ = [
    "EXIT_USAGE", "OneLineParser", "UsageError", "backend_from_args", "fraction", "load_dataset", "non_negative_int",
    "positive_float", "positive_int",
]

EXIT_USAGE = 2


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
fraction = _number_type(float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (and exit status 2), not the whole usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def backend_from_args(args: argparse.Namespace, dtype: str | None = None) -> Backend:
    """The backend and device named on the command line (bad names become a UsageError).

    float64 on JAX switches on JAX's 64-bit mode for this process, as the command owns it.
    """
    name = args.backend or "numpy"
    if name == "jax" and dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
    try:
        return get_backend(name, args.device)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def load_dataset(args: argparse.Namespace) -> tuple[Any, str]:
    """``(((x_train, t_train), (x_test, t_test)), name)`` of ``--dataset``/``--data-dir``: uint8 images, int64 labels.

    ``name`` is what titles and headers call it: ``MNIST``, ``Fashion-MNIST``, or the directory.
    """
    from ..datasets import FASHION_MNIST_URL, load_fashion_mnist, load_mnist_uint8

    num_classes = getattr(args, "num_classes", None)
    if args.dataset == "fashion-mnist":
        if args.data_dir is None:
            raise UsageError(
                "--dataset fashion-mnist needs --data-dir DIR, a directory with its four .gz files "
                f"(the data/fashion folder of {FASHION_MNIST_URL}); nothing is downloaded"
            )
        if num_classes not in (None, 10):
            raise UsageError(f"--num-classes {num_classes} does not apply to Fashion-MNIST, which has 10 classes")
        return load_fashion_mnist(normalize=False, data_dir=args.data_dir), "Fashion-MNIST"
    data = load_mnist_uint8(data_dir=args.data_dir, num_classes=num_classes)
    return data, "MNIST" if args.data_dir is None else f"the IDX files in {args.data_dir}"

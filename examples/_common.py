"""Shared helpers of the example scripts: command-line flags, backend set-up, printing, plotting.

Every example imports from here (``from _common import ...``); the scripts' own directory is
on ``sys.path`` when they run as ``python examples/NAME.py``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

import xpnet
from xpnet.backends import BACKEND_NAMES, Backend, backend_of

WIDE = 10**6  # no wrapping: every printed result is one ``label: value`` line


def make_parser(doc: str | None, *, dtype: str = "float64", plot: bool = False) -> argparse.ArgumentParser:
    """A parser with ``--backend``, ``--device``, ``--dtype`` and, when ``plot``, ``--plot PATH`` and ``--show``.

    ``doc`` is the script's module docstring; its first line becomes the description.
    """
    description = (doc or "").strip().splitlines()[0] if doc else None
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backend", default="numpy", help=f"array backend: {', '.join(BACKEND_NAMES)} (default numpy)")
    parser.add_argument("--device", default=None, help="device on the backend, e.g. cuda:0 or device1 (default: its default)")
    parser.add_argument("--dtype", default=dtype, choices=("float32", "float64"), help=f"floating dtype (default {dtype})")
    if plot:
        parser.add_argument("--plot", metavar="PATH", default=None, help="write the book's figure to PATH (PNG)")
        parser.add_argument("--show", action="store_true", help="open the book's figure in a window, as in the book (needs a display)")
    return parser


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> tuple[argparse.Namespace, Backend]:
    """Parse ``argv`` and create the backend it names; a bad backend or device is a usage error."""
    args = parser.parse_args(argv)
    if args.backend == "jax" and args.dtype == "float64":
        import jax  # float64 on JAX needs its 64-bit mode; a script may switch it on for its own process

        jax.config.update("jax_enable_x64", True)
    try:
        backend = xpnet.get_backend(args.backend, args.device)
    except (ValueError, xpnet.BackendError) as exc:
        parser.error(str(exc))
    print(f"backend: {backend}, dtype {args.dtype}")
    return args, backend


def to_host(x: Any) -> np.ndarray:
    """NumPy copy of an array of any backend (or of a Python number), for printing and plotting."""
    if isinstance(x, (bool, int, float, np.ndarray, np.generic)):
        return np.asarray(x)
    return backend_of(x).to_numpy(x)


def scalar(x: Any) -> float:
    """A 0-d array (any backend and device) or a number as a Python float."""
    return float(to_host(x))


def fmt(value: Any, *, digits: int | None = None) -> str:
    """Text of a number or array: full precision for a scalar (like ``print`` in the book), NumPy style for arrays.

    ``digits`` rounds to that many significant digits (the book prints ``220``, not ``220.00000000000003``).
    """
    a = to_host(value)
    if a.ndim == 0:
        if digits is not None and a.dtype.kind == "f":
            return f"{a.item():.{digits}g}"
        return str(a[()])  # shortest text that round-trips in the array's own dtype
    formatter = None if digits is None else {"float_kind": lambda v: f"{v:.{digits}g}"}
    text = np.array2string(a, separator=", ", max_line_width=WIDE, formatter=formatter)
    text = re.sub(r"\s+", " ", text)  # rows of a matrix on one line too, without column padding
    return text.replace("[ ", "[").replace(" ,", ",").replace(" ]", "]")


def show(label: str, value: Any, *, digits: int | None = None, note: str = "") -> None:
    """Print ``label: value`` (and ``  # note``), one result per line so tests can find it by label."""
    line = f"{label}: {fmt(value, digits=digits)}"
    print(f"{line}  # {note}" if note else line)


def pyplot(show: bool = False) -> Any:
    """``matplotlib.pyplot`` (on the headless Agg backend unless ``show``), or None (after a one-line hint) if
    matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        print("no plot: matplotlib is not installed (pip install matplotlib)")
        return None
    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | None, show: bool = False) -> None:
    """Write ``fig`` to ``path`` (PNG) if given and say where it went; with ``show``, open it in a window; then close it."""
    import matplotlib.pyplot as plt

    if path:
        fig.savefig(path, format="png", dpi=100)
        print(f"plot written to {path}")
    if show:
        if plt.get_backend().lower() == "agg":
            print("no window: matplotlib has no interactive backend here (no display?); use --plot PATH")
        else:
            plt.show()
    plt.close(fig)


def mnist_batch(backend: Backend, dtype: str, n: int, *, seed: int = 0) -> tuple[Any, Any, str]:
    """``n`` MNIST training images (N, 784) and labels (N,) on ``backend``, or seeded random data without MNIST.

    Returns ``(x, t, source)`` where ``source`` says which data it is.
    """
    try:
        from xpnet.datasets import load_mnist

        (x_train, t_train), _ = load_mnist(normalize=True)
        x_host, t_host, source = x_train[:n], t_train[:n], f"the first {n} MNIST training images"
    except (ImportError, OSError, xpnet.XpnetError) as exc:
        rng = np.random.default_rng(seed)
        x_host, t_host = rng.random((n, 784)), rng.integers(0, 10, size=n)
        source = f"{n} random images (MNIST unavailable: {exc})"
    return backend.asarray(x_host, dtype=dtype), backend.asarray(t_host), source

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
from xpnet.util import smooth_curve

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
    """A 0-d or one-element array (any backend and device) or a number as a Python float."""
    return float(to_host(x).reshape(()))


def fmt(value: Any, *, digits: int | None = None) -> str:
    """Text of a number or array: full precision for a scalar (like ``print`` in the book), NumPy style for arrays.

    ``digits`` rounds to that many significant digits (the book prints ``220``, not ``220.00000000000003``).
    """
    if isinstance(value, tuple):  # a shape, as Python writes it: (1, 1, 24, 24)
        return str(tuple(int(n) for n in value))
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


# --- chapters 6 and 7: data on the device, mini-batches, curves, filters ------------------------------------------


def mnist_on(backend: Backend, dtype: str, *, flatten: bool = True, train_size: int | None = None,
             test_size: int | None = None) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """The book's ``load_mnist(normalize=True, flatten=...)``, cut to the first ``train_size``/``test_size`` images
    (the book's ``x_train = x_train[:300]``), then moved once to ``backend``: images in ``dtype``, labels as integers."""
    from xpnet.datasets import load_mnist

    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, flatten=flatten)
    x_train, t_train, x_test, t_test = x_train[:train_size], t_train[:train_size], x_test[:test_size], t_test[:test_size]
    return ((backend.asarray(x_train, dtype=dtype), backend.asarray(t_train)),
            (backend.asarray(x_test, dtype=dtype), backend.asarray(t_test)))


def one_thread() -> Any:
    """A block in which NumPy's BLAS uses one thread, as xpnet's trainer does for its steps: the small matmuls of a
    training step gain nothing from a second thread and slow down badly on a busy machine."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def batch_of(backend: Backend, batch_mask: np.ndarray, *arrays: Any) -> tuple[Any, ...]:
    """The rows ``batch_mask`` (host indices, the book's ``np.random.choice(train_size, batch_size)``) of each array,
    gathered on its device: the book's ``x_train[batch_mask]``, which not every array library allows."""
    xp = backend.xp
    idx = xp.asarray(batch_mask, device=backend.device)
    return tuple(xp.take(a, idx, axis=0) for a in arrays)


def floats(values: Sequence[Any]) -> np.ndarray:
    """A list of 0-d arrays (losses kept on the device during a loop) as one host float64 array, read once at the end."""
    if not values:
        return np.zeros(0)
    if isinstance(values[0], (int, float, np.generic)):
        return np.asarray(values, dtype=np.float64)
    xp = backend_of(values[0]).xp
    return np.asarray(to_host(xp.stack(list(values))), dtype=np.float64)


def show_gap(label: str, train_acc_list: Sequence[float], test_acc_list: Sequence[float], last: int = 10) -> None:
    """The final training and test accuracy of a run, their gap, and the mean gap of the ``last`` epochs (less noisy)."""
    show(f"{label} final train acc", train_acc_list[-1], digits=4)
    show(f"{label} final test acc", test_acc_list[-1], digits=4)
    show(f"{label} gap", train_acc_list[-1] - test_acc_list[-1], digits=4)
    gaps = np.asarray(train_acc_list[-last:]) - np.asarray(test_acc_list[-last:])
    show(f"{label} mean gap of the last {len(gaps)} epochs", gaps.mean(), digits=4)


def show_smoothed_losses(train_loss: dict[str, Sequence[Any]], args: Any, *, ylim: tuple[float, float],
                         styles: dict[str, str]) -> None:
    """The book's last step of its loss comparisons: each run's losses smoothed (``smooth_curve``), the final
    smoothed loss printed per run, and the curves plotted against iterations with ``--plot``/``--show``."""
    curves = {key: smooth_curve(floats(losses)) for key, losses in train_loss.items()}
    for key, curve in curves.items():
        show(f"{key} final smoothed loss", curve[-1], digits=4)
    if args.plot or args.show:
        plot_curves(curves, args.plot, args.show, xlabel="iterations", ylabel="loss", ylim=ylim, markevery=100, styles=styles)


def plot_curves(curves: dict[str, Sequence[float]], path: str | None, window: bool, *, xlabel: str, ylabel: str,
                ylim: tuple[float, float], styles: dict[str, str] | None = None, title: str | None = None,
                markevery: int = 10) -> None:
    """One figure with a line per entry of ``curves`` (label -> values), as the book's ``plt.plot(x, y, marker=...)``;
    ``styles`` maps a label to a matplotlib format (``"o-"``, ``"s--"``). Written to ``path`` and/or shown."""
    plt = pyplot(window)
    if plt is None:
        return
    fig, ax = plt.subplots()
    for label, ys in curves.items():
        ax.plot(np.arange(len(ys)), ys, (styles or {}).get(label, "-"), label=label, markevery=markevery)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(*ylim)
    if title:
        ax.set_title(title)
    ax.legend(loc="best")
    save_figure(fig, path, window)


def filter_show(groups: dict[str, Any], path: str | None, window: bool, *, nx: int = 8) -> None:
    """The book's ``filter_show``: the first channel of each image of (FN, C, FH, FW) arrays as grey pictures, ``nx`` to
    a row; one titled block per entry of ``groups`` (title -> array), in one figure."""
    plt = pyplot(window)
    if plt is None:
        return
    blocks = {title: to_host(w) for title, w in groups.items()}
    rows = [-(-w.shape[0] // nx) for w in blocks.values()]
    fig = plt.figure(figsize=(nx, sum(rows) + 0.5 * len(rows)))
    for sub, (title, w), ny in zip(fig.subfigures(len(rows), 1, height_ratios=rows, squeeze=False)[:, 0], blocks.items(), rows):
        sub.suptitle(title)
        for i in range(w.shape[0]):
            ax = sub.add_subplot(ny, nx, i + 1, xticks=[], yticks=[])
            ax.imshow(w[i, 0], cmap=plt.cm.gray_r, interpolation="nearest")
    save_figure(fig, path, window)


def add_params_flag(parser: argparse.ArgumentParser) -> None:
    """``--params PATH``: a ``SimpleConvNet``'s learned parameters, by default the book's ``params.pkl`` here."""
    parser.add_argument("--params", metavar="PATH", default="params.pkl",
                        help="learned parameters: a file of train_convnet.py --save, or the book's ch07/params.pkl (default: params.pkl)")


def load_params(network: Any, path: str) -> bool:
    """The book's ``network.load_params(path)``; False, after saying how to get such a file, if it cannot be read."""
    try:
        network.load_params(path)
    except xpnet.CheckpointError as exc:
        print(f"no learned parameters: {exc}")
        print("write some with: python examples/train_convnet.py --save params.npz, then pass --params params.npz "
              "(or copy the book's ch07/params.pkl here)")
        return False
    print(f"learned parameters read from {path}")
    return True

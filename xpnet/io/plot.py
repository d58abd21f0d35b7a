"""Figures of a training run (the book's loss curve and accuracy curves), for files, notebooks and windows.

Needs matplotlib (``pip install 'xpnet[plot]'``), imported only when a figure is drawn: ``import
xpnet`` does not import it. Without ``ax`` the figure is made on matplotlib's object-oriented
Agg canvas, so it never opens a window, never needs a display and never changes matplotlib's
global backend; the returned ``Figure`` shows itself in a Jupyter notebook. Pass ``ax=`` (from
``plt.subplots``) to draw into a figure of your own, e.g. to show it in a window.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..training.history import History
from .._files.atomic import atomic_write_bytes

__all__ = ["matplotlib_available", "plot_format", "plot_history", "plot_path"]

_MISSING = "plotting needs matplotlib, which is not installed: pip install 'xpnet[plot]' (or pip install matplotlib)"


def matplotlib_available() -> bool:
    """True when matplotlib can be imported (check before a long run that will plot at the end)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot_path(path: str | os.PathLike[str]) -> Path:
    """Where a plot asked for as ``path`` is written: ``path`` itself, with ``.png`` added when it has no suffix."""
    path = Path(path)
    return path if path.suffix else path.with_name(path.name + ".png")


def plot_format(path: str | os.PathLike[str]) -> str:
    """The image format of ``path`` from its suffix (``png``, ``pdf``, ``svg`` ...), checked against matplotlib's formats.

    Raises
    ------
    ValueError
        The suffix names no format matplotlib can write (the message lists them).
    ImportError
        matplotlib is not installed.
    """
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    fmt = Path(path).suffix.lower().lstrip(".")
    known = FigureCanvasBase.get_supported_filetypes()
    if fmt not in known:
        raise ValueError(f"{os.fspath(path)}: unknown plot format {fmt!r}; use one of {', '.join('.' + k for k in sorted(known))}")
    return fmt


def _smooth(values: list[float], window: int) -> list[float]:
    """Running mean over ``window`` points (the raw mini-batch loss is noisy)."""
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def _axes(ax: Any) -> tuple[Any, Any, Any, bool]:
    """``(figure, loss axes, accuracy axes, twin)``: a new Agg figure, two Axes, or one Axes and its twin (``twin``)."""
    if ax is None:
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError as exc:
            raise ImportError(_MISSING) from exc
        fig = Figure(figsize=(11, 4.2))
        FigureCanvasAgg(fig)
        setattr(fig, "_repr_png_", functools.partial(_png, fig))  # a notebook shows it as the cell's value, pyplot or not
        ax_loss, ax_acc = fig.subplots(1, 2)
        return fig, ax_loss, ax_acc, False
    if isinstance(ax, Sequence) or hasattr(ax, "flat"):  # a pair from plt.subplots(1, 2)
        pair = list(getattr(ax, "flat", ax))
        if len(pair) != 2:
            raise ValueError(f"plot_history: ax must be one Axes or two (loss, accuracy), got {len(pair)}")
        return pair[0].figure, pair[0], pair[1], False
    if not hasattr(ax, "twinx"):
        raise TypeError(f"plot_history: ax must be a matplotlib Axes or a pair of them, got {type(ax).__name__}")
    return ax.figure, ax, ax.twinx(), True


def _png(fig: Any) -> bytes:
    """The figure as PNG bytes (what IPython displays)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def plot_history(
    history: History, ax: Any = None, path: str | os.PathLike[str] | None = None, *, title: str | None = None
) -> Any:
    """Draw the training loss per iteration and the accuracies per epoch; return the figure.

    Parameters
    ----------
    history : History
    ax : matplotlib Axes, or a pair of them, optional
        Two Axes get the loss and the accuracies; one Axes gets the loss, and the accuracies on
        a second y axis (``ax.twinx()``). Default: a new figure of two panels.
    path : str or PathLike, optional
        Also write the figure there, atomically; its suffix picks the format (``.png``, ``.pdf``,
        ``.svg`` ...), and none means PNG (``.png`` is added, see :func:`plot_path`).
    title : str, optional
        Default: ``"TwoLayerNet on <data set> (<backend>, <dtype>)"`` from ``history.config``.

    Returns
    -------
    matplotlib.figure.Figure
        In a notebook, the cell's value displays it.

    Raises
    ------
    ImportError
        matplotlib is not installed (the message says how to install it).
    ValueError
        ``path`` names an unknown format.
    OSError
        ``path`` cannot be written (the previous file, if any, is left as it was).
    """
    if isinstance(ax, (str, os.PathLike)):  # the older plot_history(history, path)
        ax, path = None, ax
    fig, ax_loss, ax_acc, twin = _axes(ax)
    steps = list(range(1, history.iterations + 1))
    ax_loss.plot(steps, history.train_loss, color="0.75", linewidth=0.6, label="mini-batch loss")
    window = max(1, min(100, history.iterations // 20 or 1))
    ax_loss.plot(steps, _smooth(history.train_loss, window), color="C0", label=f"running mean ({window})")
    ax_loss.set(xlabel="iteration", ylabel="loss", title="training loss")
    ax_loss.legend(loc="upper left" if twin else "best")
    _accuracy_curves(history, ax_acc, twin=twin)
    fig.suptitle(title if title is not None else _default_title(history))
    if ax is None:
        fig.tight_layout()
    if path is not None:
        _write(fig, path)
    return fig


def _write(fig: Any, path: str | os.PathLike[str]) -> None:
    """Write ``fig`` to :func:`plot_path` of ``path`` in the format its suffix names, atomically."""
    target = plot_path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=plot_format(target), dpi=100)
    atomic_write_bytes(target, buf.getvalue())


def _accuracy_curves(history: History, ax: Any, *, twin: bool) -> None:
    """Train, test and validation accuracy per epoch on ``ax``."""
    epochs = [history.epoch_of(it) for it in history.eval_iters]
    curves: list[tuple[str, list[float], dict[str, Any]]] = [
        ("train acc", history.train_acc, {"marker": "o"}),
        ("test acc", history.test_acc, {"marker": "s", "linestyle": "--"}),
        ("val acc", history.val_acc, {"marker": "^", "linestyle": ":"}),
    ]
    drawn = False
    for i, (label, values, style) in enumerate(curves):
        if values:
            drawn = True
            x = epochs[: len(values)]
            if twin:  # on the loss panel's iteration axis
                x = list(history.eval_iters[: len(values)])
            ax.plot(x, values, label=label, color=f"C{i + 1}", **style)
    ax.set(ylabel="accuracy", ylim=(0, 1.0))
    if not twin:
        ax.set(xlabel="epochs", title="accuracy")
    if drawn:
        ax.legend(loc="lower right")


def _default_title(history: History) -> str:
    config = history.config
    on = f" on {config['dataset']}" if config.get("dataset") else ""
    where = ", ".join(str(v) for v in (config.get("backend"), (config.get("network") or {}).get("dtype")) if v)
    return f"TwoLayerNet{on}" + (f" ({where})" if where else "")

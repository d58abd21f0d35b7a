"""Figures of a training run (the book's loss curve and accuracy curves), headless-safe.

Needs matplotlib (``pip install 'xpnet[plot]'``); uses the object-oriented Agg canvas, so it
never opens a window, never needs a display and never changes matplotlib's global backend.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from ..training.history import History
from .atomic import atomic_write_bytes

__all__ = ["matplotlib_available", "plot_format", "plot_history", "plot_path"]

_MISSING = "plotting needs matplotlib, which is not installed: pip install 'xpnet[plot]' (or pip install matplotlib)"


def matplotlib_available() -> bool:
    """True when matplotlib can be imported (check before a long run that will plot at the end)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot_path(path: str | os.PathLike) -> Path:
    """Where a plot asked for as ``path`` is written: ``path`` itself, with ``.png`` added when it has no suffix."""
    path = Path(path)
    return path if path.suffix else path.with_name(path.name + ".png")


def plot_format(path: str | os.PathLike) -> str:
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


def plot_history(history: History, path: str | os.PathLike, *, title: str | None = None) -> None:
    """Write a figure with the training loss per iteration and the accuracies per epoch, atomically.

    Parameters
    ----------
    history : History
    path : str or PathLike
        Output file; its suffix picks the format (``.png``, ``.pdf``, ``.svg`` ...); none means PNG
        (written to ``path`` with ``.png`` added, see :func:`plot_path`).

    Raises
    ------
    ImportError
        matplotlib is not installed (the message says how to install it).
    ValueError
        Unknown format.
    OSError
        The file cannot be written (the previous one, if any, is left as it was).
    """
    path = plot_path(path)
    fmt = plot_format(path)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    fig = Figure(figsize=(11, 4.2))
    FigureCanvasAgg(fig)
    ax_loss, ax_acc = fig.subplots(1, 2)
    steps = list(range(1, history.iterations + 1))
    ax_loss.plot(steps, history.train_loss, color="0.75", linewidth=0.6, label="mini-batch loss")
    window = max(1, min(100, history.iterations // 20 or 1))
    ax_loss.plot(steps, _smooth(history.train_loss, window), color="C0", label=f"running mean ({window})")
    ax_loss.set(xlabel="iteration", ylabel="loss", title="training loss")
    ax_loss.legend()
    every = history.config.get("eval_every") or 1
    epochs = [it / every for it in history.eval_iters]
    curves: list[tuple[str, list[float], dict[str, Any]]] = [
        ("train acc", history.train_acc, {"marker": "o"}),
        ("test acc", history.test_acc, {"marker": "s", "linestyle": "--"}),
        ("val acc", history.val_acc, {"marker": "^", "linestyle": ":"}),
    ]
    for label, values, style in curves:
        if values:
            ax_acc.plot(epochs[: len(values)], values, label=label, **style)
    ax_acc.set(xlabel="epochs", ylabel="accuracy", ylim=(0, 1.0), title="accuracy")
    ax_acc.legend(loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=100)
    atomic_write_bytes(path, buf.getvalue())

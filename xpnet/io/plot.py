"""Figures of a training run (the book's loss curve and accuracy curves), headless-safe.

Needs matplotlib (``pip install 'xpnet[plot]'``); uses the object-oriented Agg canvas, so it
never opens a window, never needs a display and never changes matplotlib's global backend.
"""

from __future__ import annotations

import os
from typing import Any

from ..training.history import History

__all__ = ["matplotlib_available", "plot_history"]

_MISSING = "plotting needs matplotlib, which is not installed: pip install 'xpnet[plot]' (or pip install matplotlib)"


def matplotlib_available() -> bool:
    """True when matplotlib can be imported (check before a long run that will plot at the end)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


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
    """Write a PNG with the training loss per iteration and the accuracies per epoch.

    Parameters
    ----------
    history : History
    path : str or PathLike
        Output file (PNG).

    Raises
    ------
    ImportError
        matplotlib is not installed (the message says how to install it).
    """
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
    fig.savefig(os.fspath(path), dpi=100)

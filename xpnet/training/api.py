"""``train()``: the book's loop in one call, a :class:`Trainer` built and run, with an optional progress bar."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .history import EvalRecord, History
from .progress import PROGRESS_SECONDS, ProgressBar
from .trainer import Trainer

__all__ = ["train"]


def train(
    network: Any,
    train_data: tuple[Any, Any],
    test_data: tuple[Any, Any] | None = None,
    *,
    iters: int = 10_000,
    batch_size: int = 100,
    lr: float | None = None,
    seed: int | None = None,
    eval_every: int | None = None,
    gradient: str = "backprop",
    optimizer: Any = None,
    val_split: float = 0.0,
    patience: int | None = None,
    eval_batch_size: int | None = None,
    eval_samples: int | None = None,
    train_threads: int | None = 1,
    eval_threads: int | None = None,
    eval_async: bool | None = None,
    compiled: bool | None = None,
    data_parallel: int | bool | None = None,
    progress: bool = False,
    on_progress: Callable[[int, float], None] | None = None,
    on_eval: Callable[[EvalRecord], None] | None = None,
) -> History:
    """Train ``network`` with mini-batch SGD or another optimizer (the book's loop); see :class:`Trainer` for every setting.

    The book's chapter 5 run is ``train(TwoLayerNet(784, 50, 10), (x_train, t_train), (x_test, t_test))``:
    10,000 steps of batch 100 at lr 0.1, accuracies once per epoch (600 steps). Chapter 7's:
    ``train(SimpleConvNet(), ..., optimizer="adam", iters=12_000, eval_samples=1000)``.

    ``train_data``/``test_data`` are host ``(x, t)`` pairs: images as uint8 pixels or floats, labels
    (N,) or one-hot (N, K). The settings from ``batch_size`` to ``data_parallel`` are the
    :class:`Trainer`'s; a seed drawn at random is kept in ``history.config["seed"]``.
    ``progress=True`` shows a progress bar (``tqdm.auto``: a widget in Jupyter) that moves every
    half second, with rate and ETA, and one line per evaluation point; ``on_progress`` and
    ``on_eval`` are as in :meth:`Trainer.run`. Returns the run's :class:`History`.
    """
    trainer = Trainer(
        network, train_data, test_data, batch_size=batch_size, lr=lr, seed=seed, eval_every=eval_every,
        gradient=gradient, optimizer=optimizer, val_split=val_split, patience=patience, eval_batch_size=eval_batch_size,
        eval_samples=eval_samples,
        train_threads=train_threads, eval_threads=eval_threads, eval_async=eval_async, compiled=compiled,
        data_parallel=data_parallel,
    )
    if not progress:
        return trainer.run(iters, on_progress=on_progress, on_eval=on_eval)
    with ProgressBar(iters, trainer.history.iterations, notebook=True) as bar:
        report, evaluation = bar.callbacks(on_progress, on_eval)
        return trainer.run(iters, on_progress=report, on_eval=evaluation, progress_seconds=PROGRESS_SECONDS)

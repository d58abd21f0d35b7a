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
    lr: float = 0.1,
    seed: int | None = None,
    eval_every: int | None = None,
    gradient: str = "backprop",
    optimizer: Any = None,
    val_split: float = 0.0,
    patience: int | None = None,
    eval_batch_size: int = 10_000,
    train_threads: int | None = 1,
    eval_threads: int | None = None,
    eval_async: bool | None = None,
    compiled: bool | None = None,
    data_parallel: int | bool | None = None,
    progress: bool = False,
    on_progress: Callable[[int, float], None] | None = None,
    on_eval: Callable[[EvalRecord], None] | None = None,
) -> History:
    """Train ``network`` with mini-batch SGD (the book's loop); see :class:`Trainer` for every setting.

    The book's run is ``train(TwoLayerNet(784, 50, 10), (x_train, t_train), (x_test, t_test))``:
    10,000 steps of batch 100 at lr 0.1, accuracies once per epoch (600 steps).

    Parameters
    ----------
    network : TwoLayerNet
        Trained in place.
    train_data, test_data : (x, t)
        Host images (N, D) as uint8 pixels or floats, and labels (N,) or one-hot (N, K).
    iters : int
        Total training steps.
    batch_size, lr, seed, eval_every, gradient, optimizer, val_split, patience, eval_batch_size, train_threads, eval_threads, eval_async, compiled, data_parallel
        As in :class:`Trainer`. A seed drawn at random is kept in ``history.config["seed"]``.
    progress : bool
        Show a progress bar (``tqdm.auto``: a widget in Jupyter) that moves every half second,
        with rate and ETA, and one line per evaluation point.
    on_progress, on_eval : callable, optional
        As in :meth:`Trainer.run`.

    Returns
    -------
    History
    """
    trainer = Trainer(
        network, train_data, test_data, batch_size=batch_size, lr=lr, seed=seed, eval_every=eval_every,
        gradient=gradient, optimizer=optimizer, val_split=val_split, patience=patience, eval_batch_size=eval_batch_size,
        train_threads=train_threads, eval_threads=eval_threads, eval_async=eval_async, compiled=compiled,
        data_parallel=data_parallel,
    )
    if not progress:
        return trainer.run(iters, on_progress=on_progress, on_eval=on_eval)
    with ProgressBar(iters, trainer.history.iterations, notebook=True) as bar:
        report, evaluation = bar.callbacks(on_progress, on_eval)
        return trainer.run(iters, on_progress=report, on_eval=evaluation, progress_seconds=PROGRESS_SECONDS)

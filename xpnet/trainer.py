"""The book's ``common.trainer.Trainer`` (chapter 6), as a front to xpnet's own trainer.

``from xpnet.trainer import *`` stands in for the book's ``from common.trainer import Trainer``:
the same constructor and lists, trained by :class:`xpnet.training.Trainer` (so with its
checks, progress bar, history, compiled steps on JAX, and checkpoints through :attr:`history`
and :meth:`state`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ._array.checks import describe
from ._array.numbers import require_positive_int
from .nets import LayerNet
from .optim import get_optimizer
from .training.history import EvalRecord, History
from .training.progress import PROGRESS_SECONDS, ProgressBar
from .training.trainer import Trainer as _Trainer

__all__ = ["Trainer"]


class Trainer:
    """Train a network on a data set for some epochs, as the book's ``Trainer``.

    Parameters
    ----------
    network : TwoLayerNet, MultiLayerNet, MultiLayerNetExtend or SimpleConvNet
        Trained in place.
    x_train, t_train, x_test, t_test : arrays
        Images (N, ...) as floats or uint8 pixels, labels (N,) or one-hot (N, K); NumPy arrays
        or arrays of the network's backend.
    epochs : int
        ``epochs * max(N / mini_batch_size, 1)`` steps (the book's ``max_iter``).
    mini_batch_size : int
    optimizer : str or optimizer
        ``"SGD"``, ``"Momentum"``, ``"Nesterov"``, ``"AdaGrad"``, ``"RMSprop"``, ``"Adam"`` (any case),
        built with ``optimizer_param``; or an optimizer object.
    optimizer_param : dict
        The optimizer's hyperparameters (``{"lr": 0.01}``).
    evaluate_sample_num_per_epoch : int, optional
        Measure each epoch's accuracies on the first this many samples of each set.
    verbose : bool
        Show a progress bar and one line per epoch, then the final test accuracy.
    seed : int, optional
        Seed of the batches (the book draws them from ``np.random``; here a seeded generator
        of the run, kept in ``history.config["seed"]``).

    Attributes
    ----------
    train_loss_list : list of float
        The loss of every step (Python floats; the book keeps 0-d arrays).
    train_acc_list, test_acc_list : list of float
        The accuracies once per epoch. The book measures them after the first step of each
        epoch; here after its last step (the same number of points, one epoch later each).
    history : History
        Everything xpnet's trainer recorded (times, the settings, notes).

    Notes
    -----
    The book prints ``train loss:`` at every step; with ``verbose`` this prints a line per epoch
    and a progress bar instead.
    """

    def __init__(self, network: Any, x_train: Any, t_train: Any, x_test: Any, t_test: Any, epochs: int = 20,
                 mini_batch_size: int = 100, optimizer: Any = "SGD", optimizer_param: Mapping[str, Any] | None = None,
                 evaluate_sample_num_per_epoch: int | None = None, verbose: bool = True, *, seed: int | None = None) -> None:
        if not isinstance(network, LayerNet):
            raise TypeError(f"Trainer: network must be one of xpnet's networks (xpnet.nets), got {describe(network)}; "
                            "a network of another kind trains with its own loop, as in the book's chapter 5")
        self.network = network
        self.x_train, self.t_train, self.x_test, self.t_test = x_train, t_train, x_test, t_test
        self.epochs = require_positive_int(epochs, "Trainer", "epochs")
        self.batch_size = require_positive_int(mini_batch_size, "Trainer", "mini_batch_size")
        param = dict({"lr": 0.01} if optimizer_param is None else optimizer_param)
        self.optimizer = get_optimizer(optimizer, **param) if isinstance(optimizer, str) else get_optimizer(optimizer)
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        self.verbose, self.seed = bool(verbose), seed
        self.train_size = int(x_train.shape[0])
        self.iter_per_epoch = max(self.train_size / self.batch_size, 1)
        self.max_iter = int(self.epochs * self.iter_per_epoch)
        self.train_loss_list: list[float] = []
        self.train_acc_list: list[float] = []
        self.test_acc_list: list[float] = []
        self.history: History | None = None

    def train(self) -> None:
        """Train for :attr:`max_iter` steps, measuring the accuracies once per epoch; fills the lists."""
        every = max(int(round(self.iter_per_epoch)), 1)
        trainer = _Trainer(self.network, (self.x_train, self.t_train), (self.x_test, self.t_test), batch_size=self.batch_size,
                           optimizer=self.optimizer, seed=self.seed, eval_every=every,
                           eval_samples=self.evaluate_sample_num_per_epoch)
        if self.verbose:
            with ProgressBar(self.max_iter, notebook=True) as bar:
                def line(r: EvalRecord) -> None:
                    bar.write(f"=== epoch:{math.ceil(r.iteration / every)}, train acc:{r.train_acc}, test acc:{r.test_acc} ===")

                self.history = trainer.run(self.max_iter, on_progress=bar.progress, on_eval=line,
                                           progress_seconds=PROGRESS_SECONDS)
        else:
            self.history = trainer.run(self.max_iter)
        self.train_loss_list = list(self.history.train_loss)
        self.train_acc_list, self.test_acc_list = list(self.history.train_acc), list(self.history.test_acc)
        if self.verbose:
            print("=============== Final Test Accuracy ===============")
            print(f"test acc:{self.history.final_test_acc}")

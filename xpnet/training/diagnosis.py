"""Why a run diverged, in words: the learning rate, the initial weight scale, the weight decay or the data.

The inputs are refused at the boundary when they hold NaN or inf, so a loss that becomes
non-finite has one of three usual causes, told apart by when and how it happened:

* the data: finite but huge inputs (floats far outside [0, 1]);
* the initial weights: the very first loss, computed before any update, is already
  non-finite or far above chance level (ln K);
* the learning rate: the loss started sensibly and blew up after some updates.

Weight decay (chapter 6) adds two more: a lambda so large that its term ``0.5 * lambda *
sum(W**2)`` alone makes the first loss absurd, and, for plain gradient steps, ``lr * lambda > 2``,
where each step multiplies the weights by ``1 - lr * lambda < -1`` and they grow.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["divergence_message"]

#: Inputs larger than this in magnitude are not scaled like images (uint8 pixels become [0, 1]).
DATA_SCALE_LIMIT = 1e3
#: A first loss this many times chance level means the initial weights are far too large.
FIRST_LOSS_FACTOR = 100
#: A weight decay from this lambda on dominates the first loss of an MNIST network (the book uses 0.1 at most).
LARGE_DECAY = 1.0
#: Optimizers whose step is ``lr`` times the gradient (plus momentum): with weight decay, ``lr * lambda > 2`` grows the weights.
PLAIN_STEPS = ("sgd", "momentum", "nesterov")


def divergence_message(value: float, iteration: int, first_loss: float, *, lr: float | None, init_std: float | str | None,
                       scale: float, n_classes: int, weight_decay: float = 0.0, optimizer: str = "") -> str:
    """The message of :class:`~xpnet.errors.TrainingDiverged`: what happened, and the likely cause with a fix.

    Parameters
    ----------
    value : float
        The first non-finite loss; ``iteration`` is its 1-based step.
    first_loss : float
        The loss of the run's first step (from the initial weights).
    lr, init_std : float or None
        The learning rate and the initial weights' standard deviation (or He's or Xavier's name), where known.
    scale : float
        Largest |x| of the training inputs (:meth:`~xpnet.training.data.DeviceSet.scale`).
    n_classes : int
    weight_decay : float
        The network's ``weight_decay_lambda`` (0 without weight decay).
    optimizer : str
        The optimizer's name (``"sgd"``, ``"adam"``, ...; empty where unknown).
    """
    head = f"training diverged: the loss became {value} at iteration {iteration}"
    chance = math.log(max(n_classes, 2))
    if not math.isfinite(scale) or scale > DATA_SCALE_LIMIT:
        return (f"{head}; likely cause: the data: training inputs reach |x| = {scale:.3g}; scale them to about [0, 1] "
                "(uint8 pixels are scaled by 1/255 for you)")
    absurd_start = not math.isfinite(first_loss) or first_loss > FIRST_LOSS_FACTOR * chance
    if weight_decay >= LARGE_DECAY and absurd_start:
        return (f"{head}; likely cause: the weight decay (lambda {weight_decay:g}, the book uses 0.1 at most): its term "
                f"0.5 * lambda * sum(W**2) made the first step's loss {first_loss:.4g}, against {chance:.2f} at chance level; "
                "try --weight-decay 0.1")
    if lr is not None and weight_decay > 0 and optimizer in PLAIN_STEPS and lr * weight_decay > 2 and not absurd_start:
        product = lr * weight_decay
        return (f"{head}; likely cause: the learning rate with the weight decay (lr {lr:g} * lambda {weight_decay:g} = "
                f"{product:.3g}, above 2: each step multiplies the weights by {1 - product:.3g}, so they grow); keep "
                f"lr * lambda below 2: a smaller --lr, or --weight-decay below {2 / lr:g}")
    if absurd_start:
        shown = init_std if isinstance(init_std, str) else f"{init_std:g}"  # He's or Xavier's name, or a number
        std = f"weight_init_std {shown}, " if init_std is not None else ""
        return (f"{head}; likely cause: the initial weight scale ({std}the book uses 0.01): the first step's loss was "
                f"already {first_loss:.4g}, against {chance:.2f} at chance level; try --weight-init-std 0.01")
    hint = f", e.g. --lr {0.1 if lr > 0.5 else lr / 10:g}" if lr is not None else ""  # the book's 0.1 for absurd rates
    return (f"{head}; likely cause: the learning rate{f' (lr {lr:g})' if lr is not None else ''}, after a first loss "
            f"of {first_loss:.4g}; try a smaller learning rate{hint}")

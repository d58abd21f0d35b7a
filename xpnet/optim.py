"""Parameter updates: replace each entry of ``params``, never write into arrays in place."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

__all__ = ["SGD"]


class SGD:
    """Stochastic gradient descent ``W <- W - lr * dW``.

    Parameters
    ----------
    lr : float
        Learning rate, positive and finite.
    """

    def __init__(self, lr: float = 0.01) -> None:
        lr = float(lr)
        if not (lr > 0 and lr != float("inf")):
            raise ValueError(f"SGD: lr must be a positive finite number, got {lr}")
        self.lr = lr

    def update(self, params: MutableMapping[str, Any], grads: Mapping[str, Any]) -> None:
        """Replace ``params[k]`` with ``params[k] - lr * grads[k]`` for every key of ``grads``."""
        for key, grad in grads.items():
            params[key] = params[key] - self.lr * grad

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr})"

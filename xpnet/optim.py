"""Parameter updates: replace each entry of ``params``, never write into arrays in place."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from ._array.checks import describe
from ._array.numbers import require_finite_number
from ._array.trust import is_trusted

__all__ = ["SGD", "get_optimizer"]


class SGD:
    """Stochastic gradient descent ``W <- W - lr * dW``.

    Parameters
    ----------
    lr : float
        Learning rate, positive and finite (TypeError for a non-number, ValueError otherwise).
    """

    def __init__(self, lr: float = 0.01) -> None:
        self.lr = require_finite_number(lr, "SGD", "lr", positive=True)

    def update(self, params: MutableMapping[str, Any], grads: Mapping[str, Any]) -> None:
        """Replace ``params[k]`` with ``params[k] - lr * grads[k]`` for every key of ``grads``.

        Each gradient must have its parameter's shape (no broadcasting); an unknown key
        raises KeyError naming it.
        """
        if not is_trusted():
            self._check(params, grads)
        for key, grad in grads.items():
            new = grad * -self.lr  # a fresh array of ours: adding in place saves allocating a second one
            new += params[key]  # == params[key] - lr * grad, bit for bit
            params[key] = new

    @classmethod
    def _check(cls, params: Mapping[str, Any], grads: Mapping[str, Any]) -> None:
        for key, grad in grads.items():
            try:
                param = params[key]
            except KeyError:
                raise KeyError(f"SGD.update: params has no parameter {key!r}; its keys are {list(params)}") from None
            if getattr(grad, "shape", None) != param.shape:
                cls._bad_gradient(key, grad, param)

    @staticmethod
    def _bad_gradient(key: str, grad: Any, param: Any) -> None:
        if getattr(grad, "shape", None) is None:
            raise TypeError(
                f"SGD.update: grads[{key!r}] must be an array of shape {tuple(param.shape)}, got {describe(grad)}"
            )
        if tuple(grad.shape) != tuple(param.shape):
            raise ValueError(
                f"SGD.update: grads[{key!r}] has shape {tuple(grad.shape)}, params[{key!r}] has {tuple(param.shape)}; "
                "a gradient must have its parameter's shape"
            )

    def state(self) -> dict[str, Any]:
        """SGD keeps no state."""
        return {}

    def load_state(self, state: Mapping[str, Any]) -> None:
        """SGD keeps no state."""

    @property
    def config(self) -> dict[str, Any]:
        """The hyperparameters, with the optimizer's name."""
        return {"name": "sgd", "lr": self.lr}

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr})"


def get_optimizer(optimizer: Any = "sgd", **kwargs: Any) -> Any:
    """An optimizer by name, or ``optimizer`` itself when it is one."""
    if isinstance(optimizer, str):
        if optimizer.lower() != "sgd":
            raise ValueError(f"unknown optimizer {optimizer!r}")
        return SGD(**kwargs)
    return optimizer

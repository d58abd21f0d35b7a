"""The book's six optimizers (chapter 6), each the book's formula in the book's order of operations."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, MutableMapping
from typing import Any

from .._array import compat
from .._array.checks import describe
from .base import Optimizer, add, is_number, math_of, scaled_step, subtract

__all__ = ["AdaGrad", "Adam", "Momentum", "Nesterov", "RMSprop", "SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (the book's ``SGD``): ``W -= lr * dW``.

    Parameters
    ----------
    lr : float
        Learning rate, positive and finite (TypeError for a non-number, ValueError otherwise).
    """

    name = "sgd"
    hyperparameters = {"lr": "positive"}

    def __init__(self, lr: float = 0.01) -> None:
        (self.lr,) = self._checked(lr=lr)

    def _update(self, params: MutableMapping[str, Any], grads: Mapping[str, Any]) -> None:
        for key in params.keys():
            add(params, key, grads[key] * -self.lr)  # params[key] -= lr * grad: p + -(lr g) is p - lr g, bit for bit


class Momentum(Optimizer):
    """Momentum SGD (the book's ``Momentum``): ``v = momentum*v - lr*dW; W += v``.

    Parameters
    ----------
    lr : float
        Learning rate, positive and finite.
    momentum : float
        The share of the velocity ``v`` kept from one step to the next, in [0, 1).
    """

    name = "momentum"
    hyperparameters = {"lr": "positive", "momentum": "fraction"}
    state_names = ("v",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        self.lr, self.momentum = self._checked(lr=lr, momentum=momentum)
        self.v: Any = None

    def _update(self, params: MutableMapping[str, Any], grads: Mapping[str, Any], v: dict[str, Any]) -> None:
        for key in params.keys():
            v[key] = self.momentum * v[key] - self.lr * grads[key]
            add(params, key, v[key], reuse=False)


class Nesterov(Momentum):
    """Nesterov's accelerated gradient (the book's ``Nesterov``, arXiv:1212.0901): Momentum that looks ahead.

    ``W += momentum*momentum*v; W -= (1+momentum)*lr*dW; v = momentum*v - lr*dW``; the
    parameters are those of :class:`Momentum`.
    """

    name = "nesterov"

    def _update(self, params: MutableMapping[str, Any], grads: Mapping[str, Any], v: dict[str, Any]) -> None:
        m = self.momentum
        for key in params.keys():
            add(params, key, m * m * v[key])
            subtract(params, key, (1 + m) * self.lr * grads[key])
            v[key] = v[key] * m
            v[key] = v[key] - self.lr * grads[key]


class AdaGrad(Optimizer):
    """AdaGrad (the book's ``AdaGrad``): ``h += dW*dW; W -= lr*dW / (sqrt(h) + 1e-7)``.

    Each weight's step shrinks as the squares of its gradients add up in ``h``.

    Parameters
    ----------
    lr : float
        Learning rate, positive and finite.
    """

    name = "adagrad"
    hyperparameters = {"lr": "positive"}
    state_names = ("h",)

    def __init__(self, lr: float = 0.01) -> None:
        (self.lr,) = self._checked(lr=lr)
        self.h: Any = None

    def _update(self, params: MutableMapping[str, Any], grads: Mapping[str, Any], h: dict[str, Any]) -> None:
        for key in params.keys():
            g = grads[key]
            h[key] = h[key] + g * g
            scaled_step(params, key, self.lr, g, h[key])


class RMSprop(Optimizer):
    """RMSprop (the book's ``RMSprop``): AdaGrad whose sum of squares ``h`` forgets old gradients.

    ``h = decay_rate*h + (1-decay_rate)*dW*dW; W -= lr*dW / (sqrt(h) + 1e-7)``.

    Parameters
    ----------
    lr : float
        Learning rate, positive and finite.
    decay_rate : float
        In [0, 1): how much of ``h`` each step keeps.
    """

    name = "rmsprop"
    hyperparameters = {"lr": "positive", "decay_rate": "fraction"}
    state_names = ("h",)

    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99) -> None:
        self.lr, self.decay_rate = self._checked(lr=lr, decay_rate=decay_rate)
        self.h: Any = None

    def _update(self, params: MutableMapping[str, Any], grads: Mapping[str, Any], h: dict[str, Any]) -> None:
        for key in params.keys():
            g = grads[key]
            h[key] = h[key] * self.decay_rate
            h[key] = h[key] + (1 - self.decay_rate) * g * g
            scaled_step(params, key, self.lr, g, h[key])


class Adam(Optimizer):
    """Adam (the book's ``Adam``, arXiv:1412.6980v8), with the book's bias-corrected step size.

    ``iter += 1; lr_t = lr * sqrt(1 - beta2**iter) / (1 - beta1**iter);
    m += (1-beta1)*(dW - m); v += (1-beta2)*(dW**2 - v); W -= lr_t*m / (sqrt(v) + 1e-7)``.
    ``lr_t`` is a Python float while ``iter`` is an int; in a traced step, where ``iter`` is a
    0-d integer array, it is computed with the namespace's functions and cast to each
    parameter's dtype.

    Parameters
    ----------
    lr : float
        Learning rate, positive and finite.
    beta1, beta2 : float
        Decay rates, in [0, 1), of the running means of the gradients (``m``) and of their
        squares (``v``).
    """

    name = "adam"
    hyperparameters = {"lr": "positive", "beta1": "fraction", "beta2": "fraction"}
    state_names = ("m", "v")

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.lr, self.beta1, self.beta2 = self._checked(lr=lr, beta1=beta1, beta2=beta2)
        self.iter: Any = 0
        self.m: Any = None
        self.v: Any = None

    def _update(self, params: MutableMapping[str, Any], grads: Mapping[str, Any], m: dict[str, Any], v: dict[str, Any]) -> None:
        self.iter += 1
        lr_t = self._step_size()
        for key in params.keys():
            g = grads[key]
            m[key] = m[key] + (1 - self.beta1) * (g - m[key])
            v[key] = v[key] + (1 - self.beta2) * (g**2 - v[key])
            step = lr_t if is_number(lr_t) or is_number(m[key]) else math_of(lr_t).astype(lr_t, m[key].dtype)
            scaled_step(params, key, step, m[key], v[key])

    def _step_size(self) -> Any:
        """``lr * sqrt(1 - beta2**iter) / (1 - beta1**iter)``: a Python float, or a 0-d array for an array ``iter``."""
        it = self.iter
        if isinstance(it, int):
            return self.lr * math.sqrt(1.0 - self.beta2**it) / (1.0 - self.beta1**it)
        xp = compat.namespace_of(it)
        floats = xp.__array_namespace_info__().dtypes(device=compat.device(it), kind="real floating")
        t = xp.astype(it, floats.get("float64", floats.get("float32")))
        return self.lr * xp.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)

    def state(self) -> dict[str, Any]:
        """As :meth:`Optimizer.state`, with ``"iter"``: the number of updates made."""
        out = super().state()
        return {"iter": self.iter, **out} if out else out

    def load_state(self, state: Mapping[str, Any]) -> None:
        """As :meth:`Optimizer.load_state`; ``state["iter"]`` is an int >= 1 or a 0-d integer array."""
        super().load_state(state)
        it = state["iter"] if state else 0
        self.iter = int(it) if isinstance(it, numbers.Integral) else it

    def _check_state(self, state: Any) -> None:
        """As the base class's, and ``iter`` an int >= 1 or a 0-d integer array."""
        super()._check_state(state)
        it = state.get("iter", 1)
        if isinstance(it, bool) or not (isinstance(it, numbers.Integral) and int(it) >= 1 or _is_integer_0d(it)):
            raise TypeError(f"Adam.load_state: state['iter'] must be an int >= 1 or a 0-d integer array, got {describe(it)}")

    def _fields(self) -> tuple[str, ...]:
        """The keys of a non-empty :meth:`state`: ``iter`` too."""
        return ("iter", *self.state_names)


def _is_integer_0d(x: Any) -> bool:
    """True for a 0-d array of an integer dtype (a traced step counter)."""
    return compat.is_array(x) and not is_number(x) and x.ndim == 0 and compat.namespace_of(x).isdtype(x.dtype, "integral")

"""Batch Normalization (chapter 6.3): normalise each feature over the batch, then scale by ``gamma`` and shift by ``beta``."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from .._array import compat
from .._array.checks import batch_input, floating_arrays, require_dout
from .._array.numbers import require_finite_number
from .._array.ops import ops_for
from ._contract import own_parameters, parameter, require_forward

__all__ = ["BatchNormalization"]

Array = Any

#: The book's constant inside the square root.
EPS = 10e-7


def _check_params(gamma: Any, beta: Any, where: str) -> None:
    """``gamma`` and ``beta``: floating 1-D arrays of one shape, backend and device."""
    floating_arrays(where, gamma=gamma, beta=beta)
    if gamma.ndim != 1 or tuple(beta.shape) != tuple(gamma.shape):
        raise ValueError(f"{where}: gamma and beta must be 1-D of one shape (D,), got {tuple(gamma.shape)} and {tuple(beta.shape)}")


class BatchNormalization:
    """The book's Batch Normalization layer.

    Parameters
    ----------
    gamma, beta : arrays, shape (D,), real floating
        Scale and shift (the network's ``gammaN`` and ``betaN``).
    momentum : float
        Weight of the old running statistics in their update, in [0, 1).
    running_mean, running_var : arrays, shape (D,), optional
        Statistics used at test time (``train_flg=False``); zeros of the input's dtype when None,
        made on the first ``forward``.
    params, keys, state, state_keys : optional
        Instead of the arrays: a network's ``params`` and ``state`` mappings with the keys to read
        ``gamma``/``beta`` and the running statistics from, so the network owns them.

    Attributes
    ----------
    dgamma, dbeta : arrays, shape (D,)
        The parameter gradients after ``backward``.
    xc, xn, std, batch_size, input_shape
        What the last training ``forward`` kept for ``backward`` (the book's names).

    Notes
    -----
    As in the book, a 4-D input (N, C, H, W) is normalised per feature of its flattened rows
    (C*H*W features), and the variance is the biased batch variance, with ``10e-7`` added.
    """

    _params: MutableMapping[str, Any]
    keys: tuple[str, ...]
    name: str

    takes_train_flg = True

    def __init__(
        self, gamma: Array | None = None, beta: Array | None = None, momentum: float = 0.9,
        running_mean: Array | None = None, running_var: Array | None = None, *,
        params: MutableMapping[str, Array] | None = None, keys: tuple[str, str] = ("gamma", "beta"),
        state: MutableMapping[str, Array] | None = None, state_keys: tuple[str, str] = ("running_mean", "running_var"),
        name: str | None = None,
    ) -> None:
        own_parameters(self, {"gamma": gamma, "beta": beta}, params, keys, name)
        if state is None:
            state = {state_keys[0]: running_mean, state_keys[1]: running_var}
        self._state, self.state_keys = state, tuple(state_keys)
        _check_params(self.gamma, self.beta, self.name)
        m = require_finite_number(momentum, self.name, "momentum", non_negative=True)
        if m >= 1.0:
            raise ValueError(f"{self.name}: momentum must be in [0, 1), got {momentum!r}")
        self.momentum = m
        self.input_shape: tuple[int, ...] | None = None
        self.batch_size: int | None = None
        self.xc: Array = None
        self.xn: Array = None
        self.std: Array = None
        self.dgamma: Array = None
        self.dbeta: Array = None

    gamma = parameter(0, "Scale, shape (D,).")
    beta = parameter(1, "Shift, shape (D,).")
    running_mean = property(lambda self: self._state[self.state_keys[0]],
                            lambda self, v: self._state.__setitem__(self.state_keys[0], v), doc="Test-time mean, shape (D,).")
    running_var = property(lambda self: self._state[self.state_keys[1]],
                           lambda self, v: self._state.__setitem__(self.state_keys[1], v), doc="Test-time variance, shape (D,).")

    @property
    def grads(self) -> dict[str, Array]:
        """The parameter gradients of the last ``backward`` by the keys of ``params``."""
        return {self.keys[0]: self.dgamma, self.keys[1]: self.dbeta}

    def forward(self, x: Array, train_flg: bool = True) -> Array:
        """Normalise ``x`` (N, D) or (N, C, H, W): over the batch when ``train_flg``, else with the running statistics."""
        xp = batch_input(x, (int(self.gamma.shape[0]),), f"{self.name}.forward", like=self.gamma)
        self.input_shape = tuple(x.shape)
        if x.ndim != 2:
            x = xp.reshape(x, (x.shape[0], -1))
        out = self._forward(xp, x, train_flg)
        return xp.reshape(out, self.input_shape) if len(self.input_shape) != 2 else out

    def _forward(self, xp: Any, x: Array, train_flg: bool) -> Array:
        if self.running_mean is None:
            zeros = xp.zeros((x.shape[1],), dtype=x.dtype, device=compat.device(x))
            self.running_mean, self.running_var = zeros, zeros
        if train_flg:
            mu = xp.mean(x, axis=0)
            xc = x - mu
            var = xp.mean(xc**2, axis=0)
            std = xp.sqrt(var + EPS)
            xn = xc / std
            self.batch_size, self.xc, self.xn, self.std = x.shape[0], xc, xn, std
            self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * mu
            self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var
        else:
            xc = x - self.running_mean
            xn = xc / xp.sqrt(self.running_var + EPS)
        return self.gamma * xn + self.beta

    def backward(self, dout: Array) -> Array:
        """``dout`` : floating array of the training input's shape. Returns ``dx``; sets ``dgamma`` and ``dbeta``."""
        require_forward(self, self.xn)
        shape = tuple(self.input_shape or ())
        xp = require_dout(dout, self.xn, shape, f"{self.name}.backward")
        if dout.ndim != 2:
            dout = xp.reshape(dout, (dout.shape[0], -1))
        # the book's graph, node by node (dxn, dxc, dstd, dvar, dmu): an operation NumPy computes in closed form
        dx, self.dgamma, self.dbeta = ops_for(xp).batch_norm_backward(
            dout, self.xn, self.xc, self.std, self.gamma, int(self.batch_size or 1))
        return xp.reshape(dx, shape) if len(shape) != 2 else dx

    def __repr__(self) -> str:
        return f"{self.name}(D={tuple(self.gamma.shape)[0]}, momentum={self.momentum})"

"""What the book's optimizers share: the base class with its checks, and the book's ``params[key] -= ...``."""

from __future__ import annotations

import math
import numbers
import operator
import types
from collections.abc import Mapping, MutableMapping
from typing import Any, ClassVar

import numpy as np

from .._array import compat
from .._array.checks import describe
from .._array.numbers import require_finite_number
from .._array.trust import is_trusted
from ..params import Params

__all__ = ["EPS", "Optimizer", "add", "is_number", "math_of", "scaled_step", "subtract"]

Array = Any
EPS = 1e-7  # the book's guard against dividing by zero
#: What the updates need of a namespace, for parameters that are Python numbers.
_PYTHON = types.SimpleNamespace(sqrt=math.sqrt, zeros_like=lambda x: 0.0)


#: Whether values of a type are real numbers (not bools), found once per type: an update asks it several times a parameter.
_IS_NUMBER: dict[type, bool] = {}


def is_number(x: Any) -> bool:
    """True for a real Python (or NumPy scalar) number, not a bool."""
    kind = type(x)
    found = _IS_NUMBER.get(kind)
    if found is None:
        found = _IS_NUMBER[kind] = isinstance(x, numbers.Real) and not isinstance(x, bool)
    return found


def math_of(x: Any) -> Any:
    """What the updates need of a namespace (``sqrt``, ``zeros_like``): the array's, or Python's math for a number."""
    return _PYTHON if is_number(x) else compat.namespace_of(x)


def _augment(params: MutableMapping[str, Any], key: str, delta: Any, sign: float, reuse: bool) -> None:
    """The book's ``params[key] -= delta`` (``sign`` -1) or ``+= delta`` (``sign`` 1).

    In place where the array can be written; else ``params[key]`` is replaced by a new array,
    built in ``delta`` itself when ``reuse`` says it is a temporary of the caller's (``-delta +
    p`` is ``p - delta`` bit for bit, and saves allocating a second array). A network's
    :class:`~xpnet.params.Params` always gets a replacement: its layers read it by key, and its
    arrays may be the caller's own or shared with snapshots and other networks.
    """
    p = params[key]
    if not is_number(p) and not isinstance(params, Params) and compat.is_writeable(p):
        params[key] = operator.isub(p, delta) if sign < 0 else operator.iadd(p, delta)  # the book's -= and +=
        return
    if reuse and not is_number(delta) and compat.is_writeable(delta) and delta.dtype == p.dtype and delta.shape == p.shape:
        if sign < 0:
            delta *= -1.0
        delta += p
        params[key] = delta
    else:
        params[key] = p - delta if sign < 0 else p + delta


def subtract(params: MutableMapping[str, Any], key: str, delta: Any) -> None:
    """The book's ``params[key] -= delta``, for a ``delta`` computed for it (its memory may hold the result)."""
    _augment(params, key, delta, -1.0, True)


def add(params: MutableMapping[str, Any], key: str, delta: Any, *, reuse: bool = True) -> None:
    """The book's ``params[key] += delta``; ``reuse=False`` for a ``delta`` that must stay as it is (state)."""
    _augment(params, key, delta, 1.0, reuse)


def scaled_step(params: MutableMapping[str, Any], key: str, lr: Any, g: Any, h: Any) -> None:
    """The adaptive methods' ``params[key] -= lr * g / (sqrt(h) + 1e-7)`` (AdaGrad, RMSprop; Adam with ``lr_t, m, v``)."""
    add(params, key, -lr * g / (math_of(h).sqrt(h) + EPS))  # p + -(x) is p - x bit for bit, one operation fewer


class Optimizer:
    """What the book's optimizers share: checked hyperparameters, lazily created state, checks of each update.

    A subclass names its hyperparameters (``hyperparameters``: name -> "positive" or "fraction",
    i.e. in [0, 1)) and its per-parameter state dicts (``state_names``, attributes that are
    None before the first update), sets them in its constructor as the book does, through
    ``_checked``, and writes ``_update(params, grads, *state)``: the book's loop over
    ``params``, given a fresh copy of each state dict to fill (the optimizer keeps them after).
    ``update`` checks its inputs once (skipped inside :func:`xpnet._array.trust.trusted`),
    creates the state from the first ``params`` it sees (``xp.zeros_like``: the parameter's
    namespace, dtype and device; ``0.0`` for a Python number), then runs ``_update``.
    """

    name: ClassVar[str] = ""
    hyperparameters: ClassVar[dict[str, str]] = {}
    state_names: ClassVar[tuple[str, ...]] = ()

    def _checked(self, **values: Any) -> list[float]:
        """The constructor's hyperparameters, in order, as Python floats checked against ``hyperparameters``."""
        where, out = type(self).__name__, []
        for key, value in values.items():
            kind = self.hyperparameters[key]
            number = require_finite_number(value, where, key, positive=kind == "positive", non_negative=kind == "fraction")
            if kind == "fraction" and not number < 1:
                raise ValueError(f"{where}: {key} must be in [0, 1), got {value!r}")
            out.append(number)
        return out

    @property
    def config(self) -> dict[str, Any]:
        """The constructor's hyperparameters and ``"name"`` (for :func:`get_optimizer`), JSON-able."""
        return {"name": self.name, **{key: getattr(self, key) for key in self.hyperparameters}}

    def update(self, params: MutableMapping[str, Any], grads: Mapping[str, Any]) -> None:
        """Update every entry of ``params`` by the book's formula; see the class docstring.

        Parameters
        ----------
        params : mapping of str to array (any shape, real floating dtype) or Python number
            A plain dict's writable arrays are updated in place (the book's ``-=``); otherwise
            (JAX, numbers, a network's ``Params``) its entries are replaced.
        grads : mapping of str to array or Python number
            One gradient per key of ``params``, of its parameter's shape (no broadcasting)
            and a dtype that does not promote it, on the same backend and device.

        Raises
        ------
        KeyError
            A key of ``params`` without a gradient, a gradient of no parameter, or a parameter
            the state was not made for.
        TypeError, ValueError
            A gradient that is not an array (or a number for a number), of another shape,
            dtype, backend or device.
        """
        if not is_trusted():
            self._check(params, grads)
        self.init_state(params)
        state = [dict(getattr(self, slot)) for slot in self.state_names]  # never written: state() gave them out
        self._update(params, grads, *state)
        for slot, value in zip(self.state_names, state):
            setattr(self, slot, value)

    def init_state(self, params: Mapping[str, Any]) -> None:
        """Create the state for ``params`` now (zeros of each parameter's namespace, dtype and device), unless it exists.

        The first :meth:`update` does it anyway; a compiled step calls it first, so the state has
        its structure before it is traced.
        """
        if self.state_names and getattr(self, self.state_names[0]) is None:
            for slot in self.state_names:
                setattr(self, slot, {key: math_of(val).zeros_like(val) for key, val in params.items()})

    def _update(self, *args: Any, **kwargs: Any) -> None:
        """``_update(params, grads, *state)``: the book's loop, for the subclass to write."""
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """The optimizer's state as plain containers, ``{}`` before the first update.

        Returns
        -------
        dict
            ``{slot: {key: array or float}}`` for each of the optimizer's state dicts (``"v"``,
            ``"h"``, ``"m"``), and Adam's ``"iter"`` (an int, or a 0-d integer array in a traced
            step). The arrays are the optimizer's own; later updates do not write into them.
        """
        if not self.state_names or getattr(self, self.state_names[0]) is None:
            return {}
        return {slot: dict(getattr(self, slot)) for slot in self.state_names}

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state`` (from :meth:`state`); its arrays are used as given, never written.

        Raises
        ------
        TypeError, ValueError
            ``state`` of another optimizer, or state dicts with different keys.
        """
        if not is_trusted():
            self._check_state(state)
        for slot in self.state_names:
            setattr(self, slot, dict(state[slot]) if state else None)

    def _check_state(self, state: Any) -> None:
        """The checks of :meth:`load_state`: a dict with this optimizer's keys, state dicts over one set of parameters."""
        where = f"{type(self).__name__}.load_state"
        if not isinstance(state, Mapping):
            raise TypeError(f"{where}: state must be a dict (from state()), got {describe(state)}")
        if state and set(state) != set(self._fields()):
            raise ValueError(f"{where}: state must have keys {sorted(self._fields())} (or be empty), got {sorted(state)}")
        slots = [state[slot] for slot in self.state_names] if state else []
        for slot, value in zip(self.state_names, slots):
            if not isinstance(value, Mapping):
                raise TypeError(f"{where}: state[{slot!r}] must be a dict of arrays by parameter, got {describe(value)}")
            if set(value) != set(slots[0]):
                raise ValueError(f"{where}: state[{slot!r}] has keys {list(value)}, state[{self.state_names[0]!r}] has {list(slots[0])}")

    def _fields(self) -> tuple[str, ...]:
        """The keys of a non-empty :meth:`state`."""
        return self.state_names

    def _check(self, params: Mapping[str, Any], grads: Mapping[str, Any]) -> None:
        """The checks of :meth:`update` at the public boundary."""
        where = f"{type(self).__name__}.update"
        for name, value in (("params", params), ("grads", grads)):
            if not isinstance(value, Mapping):
                raise TypeError(f"{where}: {name} must be a dict of arrays (or numbers) by name, got {describe(value)}")
        for key, grad in grads.items():
            if key not in params:
                raise KeyError(f"{where}: params has no parameter {key!r}; its keys are {list(params)}")
            _check_pair(where, key, params[key], grad)
        for key in params:
            if key not in grads:
                raise KeyError(f"{where}: grads has no gradient for params[{key!r}]; every parameter needs one, got {list(grads)}")
        arrays = [*params.values(), *grads.values()]
        if self.state_names and getattr(self, self.state_names[0]) is not None:
            for slot in self.state_names:
                own = getattr(self, slot)
                if set(own) != set(params):
                    raise KeyError(
                        f"{where}: the optimizer's state is for parameters {list(own)}, params has {list(params)}; "
                        "use one optimizer per set of parameters (or load_state a matching state)"
                    )
                for key, value in own.items():
                    _check_state_entry(where, f"{slot}[{key!r}]", value, params[key])
                arrays += own.values()
        arrays = [a for a in arrays if not is_number(a)]
        if arrays:
            _check_dtypes(where, compat.namespace(*arrays, where=where), params, grads)

    def __repr__(self) -> str:
        inner = ", ".join(f"{key}={getattr(self, key)!r}" for key in self.hyperparameters)
        return f"{type(self).__name__}({inner})"


def _check_pair(where: str, key: str, param: Any, grad: Any) -> None:
    """One parameter and its gradient: both numbers, or both arrays of one shape."""
    if is_number(param):
        if not is_number(grad):
            raise TypeError(f"{where}: grads[{key!r}] must be a number like params[{key!r}] ({param!r}), got {describe(grad)}")
        return
    if not compat.is_array(param):
        raise TypeError(f"{where}: params[{key!r}] must be an array or a number, got {describe(param)}")
    shape = tuple(param.shape)
    if shape == () and isinstance(grad, np.generic) and isinstance(param, np.ndarray):
        return  # NumPy's 0-d arithmetic (x / 10.0 for a 0-d x) gives scalars: one value, as the parameter holds
    if not compat.is_array(grad) or is_number(grad):
        raise TypeError(f"{where}: grads[{key!r}] must be an array of shape {shape}, got {describe(grad)}")
    if tuple(grad.shape) != shape:
        raise ValueError(
            f"{where}: grads[{key!r}] has shape {tuple(grad.shape)}, params[{key!r}] has {shape}; "
            "a gradient must have its parameter's shape"
        )


def _check_dtypes(where: str, xp: Any, params: Mapping[str, Any], grads: Mapping[str, Any]) -> None:
    """Parameters and gradients of real floating dtypes, no gradient promoting its parameter (one backend: ``xp``)."""
    for key, param in params.items():
        grad = grads[key]
        if is_number(param):
            continue
        for name, x in ((f"params[{key!r}]", param), (f"grads[{key!r}]", grad)):
            if not xp.isdtype(x.dtype, "real floating"):
                raise TypeError(f"{where}: {name} must have a real floating dtype, got {x.dtype}")
        if grad.dtype != param.dtype and xp.result_type(param.dtype, grad.dtype) != param.dtype:
            raise TypeError(
                f"{where}: grads[{key!r}] has dtype {grad.dtype}, which would promote params[{key!r}] of dtype "
                f"{param.dtype}; compute the gradient in {param.dtype}"
            )


def _check_state_entry(where: str, name: str, value: Any, param: Any) -> None:
    """A loaded state entry must look like its parameter: a number for a number, else the same shape and dtype."""
    if is_number(param) and is_number(value):
        return
    if isinstance(value, np.generic) and isinstance(param, np.ndarray) and param.ndim == 0:
        return  # NumPy's 0-d arithmetic gives scalars
    if not compat.is_array(value) or is_number(value) or is_number(param):
        raise TypeError(f"{where}: the optimizer's state {name} is {describe(value)}, but its parameter is {describe(param)}")
    if tuple(value.shape) != tuple(param.shape) or value.dtype != param.dtype:
        raise ValueError(
            f"{where}: the optimizer's state {name} has shape {tuple(value.shape)} and dtype {value.dtype}, "
            f"its parameter {tuple(param.shape)} and {param.dtype}; load the state of an optimizer of these parameters"
        )


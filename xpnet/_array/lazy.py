"""Lazy libraries: arrays that are graphs computed when read (dask, ndonnx), and how a loop keeps them small.

A training loop on a lazy library builds, step after step, one graph whose every new parameter
depends on all the steps before it: reading a value then computes the whole run again, and
the time of a run grows with the square of its steps. A row of such a library has a
``settle`` function (:func:`settle_for`): it computes a list of arrays now, in one go, and
gives them back as arrays of the library holding their values. :func:`settled` applies it to
every array of a nested structure (a network's parameters, an optimizer's state, pending losses).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from . import compat

__all__ = ["settle_for", "settled"]

T = TypeVar("T")
Settle = Callable[[list[Any]], list[Any]]


def _persist(arrays: list[Any]) -> list[Any]:
    """Arrays of the dask collection protocol computed in one graph (shared work once), kept as dask arrays."""
    dask = importlib.import_module("dask")
    return list(dask.persist(*arrays))


def settle_for(xp: Any, to_host: Callable[[Any], Any]) -> Settle | None:
    """The ``settle`` of namespace ``xp``'s row: None where its arrays hold values, else a function for lists of them.

    Laziness is asked of a small array of the namespace (array-api-compat's ``is_lazy_array``).
    An array of the dask collection protocol (``__dask_graph__``) is persisted; any other lazy
    array is read to the host and made an array of the namespace again, on its device.
    """
    try:
        probe = xp.asarray(0.0)
        lazy = compat.is_lazy(probe)
    except Exception:  # noqa: BLE001 - a namespace that cannot even make a 0-d array is refused elsewhere
        return None
    if not lazy:
        return None
    if hasattr(probe, "__dask_graph__"):
        return _persist

    def through_host(arrays: list[Any]) -> list[Any]:
        return [xp.asarray(to_host(a), device=compat.device(a)) for a in arrays]

    return through_host


def _leaves(tree: Any, out: list[Any]) -> None:
    if isinstance(tree, Mapping):
        for value in tree.values():
            _leaves(value, out)
    elif isinstance(tree, (list, tuple)):
        for value in tree:
            _leaves(value, out)
    elif compat.is_array(tree):
        out.append(tree)


def _rebuild(tree: Any, values: list[Any]) -> Any:
    if isinstance(tree, Mapping):
        return {k: _rebuild(v, values) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_rebuild(v, values) for v in tree)
    return values.pop() if compat.is_array(tree) else tree


def settled(settle: Settle | None, tree: T) -> T:
    """``tree`` (dicts, lists and tuples of arrays and other values) with its arrays settled in one call; as it is
    when ``settle`` is None."""
    if settle is None:
        return tree
    arrays: list[Any] = []
    _leaves(tree, arrays)
    if not arrays:
        return tree
    values = list(reversed(settle(arrays)))
    return _rebuild(tree, values)

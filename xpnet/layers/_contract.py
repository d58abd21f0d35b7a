"""What every layer shares: the check that ``backward`` follows ``forward``; parameters looked up in their owner."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

__all__ = ["own_parameters", "parameter", "require_forward"]


def require_forward(layer: object, state: object) -> None:
    """Raise RuntimeError when ``layer.backward`` is called before its ``forward`` (``state`` is still None)."""
    if state is None:
        raise RuntimeError(f"{type(layer).__name__}.backward called before forward")


def parameter(index: int, doc: str) -> Any:
    """A property for a layer's parameter ``index`` held by its owner: ``self._params[self.keys[index]]``.

    Reading looks the array up at each use, so a network that replaces ``params["W1"]`` (an
    optimizer step) is seen at once; assigning replaces it in the owner's mapping.
    """

    def get(self: Any) -> Any:
        return self._params[self.keys[index]]

    def put(self: Any, value: Any) -> None:
        self._params[self.keys[index]] = value

    return property(get, put, doc=doc)


def own_parameters(layer: Any, given: dict[str, Any], params: MutableMapping[str, Any] | None, keys: tuple[str, ...],
                   name: str | None) -> None:
    """Set ``layer._params``, ``layer.keys`` and ``layer.name`` from a layer's constructor arguments.

    ``given`` maps the book's argument names to their values (``{"W": W, "b": b}``): they become
    the layer's own mapping, unless the owner's ``params`` and ``keys`` are passed instead.
    """
    kind = type(layer).__name__
    if params is None:
        params = dict(zip(keys, given.values()))
    elif any(v is not None for v in given.values()):
        raise TypeError(f"{kind}: pass either {' and '.join(given)}, or params and keys, not both")
    layer._params, layer.keys = params, tuple(keys)
    layer.name = name or (kind if tuple(keys) == tuple(given) else f"{kind}({', '.join(keys)})")

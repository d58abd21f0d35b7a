"""A network's parameter dict: the single owner of every weight, checked on replacement."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from . import _compat

__all__ = ["Params"]


class Params(MutableMapping):
    """The book's ``params`` dict (``params["W1"]`` ...) with fixed keys, shapes and dtype.

    Layers read weights from it by key, so ``params["W1"] = new_W1`` is seen by every layer
    on every backend (there is no second copy to go stale). Assigning an array of another
    shape or dtype, or a key the network does not have, raises at once with a message
    naming the network, the key and both shapes/dtypes; keys cannot be deleted.
    """

    def __init__(self, owner: str, arrays: Mapping[str, Any]) -> None:
        self._owner = owner
        self._data: dict[str, Any] = dict(arrays)
        self._spec = {k: (tuple(v.shape), v.dtype) for k, v in self._data.items()}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        spec = self._spec.get(key)
        if spec is None:
            raise KeyError(f"{self._owner}.params has no parameter {key!r}; its keys are {list(self._spec)}")
        if not _compat.is_array(value):
            raise TypeError(f"{self._owner}.params[{key!r}] must be an array, got {type(value).__name__}")
        shape, dtype = spec
        if tuple(value.shape) != shape or value.dtype != dtype:
            raise ValueError(
                f"{self._owner}.params[{key!r}] must keep shape {shape} and dtype {dtype}, "
                f"got shape {tuple(value.shape)} and dtype {value.dtype}"
            )
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        raise TypeError(f"{self._owner}.params: parameters cannot be deleted (tried {key!r})")

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k!r}: {tuple(v.shape)} {v.dtype}" for k, v in self._data.items())
        return f"Params({inner})"

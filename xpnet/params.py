"""A network's parameter dict: the single owner of every weight, checked on replacement."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from ._array import compat
from ._array.trust import is_trusted
from ._array.registry import backend_name

__all__ = ["Params"]


class Params(MutableMapping):
    """The book's ``params`` dict (``params["W1"]`` ...) with fixed keys, shapes and dtype.

    Layers read weights from it by key, so ``params["W1"] = new_W1`` is seen by every layer
    on every backend (there is no second copy to go stale). Assigning an array of another
    backend or dtype (TypeError), of another shape or on another device (ValueError), or a
    key the network does not have (KeyError), raises at once with a message naming the
    network, the key and both values; keys cannot be deleted. Inside
    :func:`xpnet._array.checks.trusted` (a training step, maybe traced by a compiler) a
    replacement of an existing key is stored unchecked.
    """

    def __init__(self, owner: str, arrays: Mapping[str, Any]) -> None:
        self._owner = owner
        self._data: dict[str, Any] = dict(arrays)
        self._spec = {k: self._spec_of(v) for k, v in self._data.items()}

    @staticmethod
    def _spec_of(value: Any) -> tuple[tuple[int, ...], Any, type, str, Any]:
        """What a replacement must keep: shape, dtype, array type, backend name, device."""
        return tuple(value.shape), value.dtype, type(value), backend_name(value), compat.device(value)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if is_trusted() and key in self._data:  # a training step (maybe traced): its update keeps shapes and dtypes
            self._data[key] = value
            return
        spec = self._spec.get(key)
        if spec is None:
            raise KeyError(f"{self._owner}.params has no parameter {key!r}; its keys are {list(self._spec)}")
        shape, dtype, kind, backend, device = spec
        if type(value) is not kind:
            where = self._where(key)
            if not compat.is_array(value):
                raise TypeError(f"{where} must be an array, got {type(value).__name__}")
            other = backend_name(value)
            if other != backend:
                raise TypeError(
                    f"{where}: arrays from different backends cannot be mixed: got {other} for a network of "
                    f"{backend} arrays; convert it first, e.g. net.backend.asarray(x)"
                )
        if value.dtype != dtype:
            raise TypeError(
                f"{self._where(key)} must keep dtype {dtype}, got dtype {value.dtype}; "
                f"convert it first, e.g. xp.astype(x, {dtype})"
            )
        if value.shape != shape:
            raise ValueError(
                f"{self._where(key)} must keep shape {shape} and dtype {dtype}, "
                f"got shape {tuple(value.shape)} and dtype {value.dtype}"
            )
        if getattr(value, "device", None) != device:  # the standard attribute: fast
            got = compat.device(value)  # authoritative (JAX may report a sharding there)
            if got != device:
                raise ValueError(
                    f"{self._where(key)}: arrays on different devices cannot be combined: got {got!r}, "
                    f"the network's parameters live on {device!r}; move it first, e.g. net.backend.asarray(x)"
                )
        self._data[key] = value

    def rebound(self, arrays: Mapping[str, Any]) -> "Params":
        """A Params of the same owner, keys and rules holding ``arrays`` as given (unchecked: concrete or traced arrays).

        For a network bound to other parameters of its own architecture (a snapshot, a traced step).
        """
        new = Params.__new__(Params)
        new._owner, new._spec, new._data = self._owner, self._spec, {k: arrays[k] for k in self._data}
        return new

    def _where(self, key: str) -> str:
        """``Owner.params['key']`` for error messages."""
        return f"{self._owner}.params[{key!r}]"

    def __delitem__(self, key: str) -> None:
        raise TypeError(f"{self._owner}.params: parameters cannot be deleted (tried {key!r})")

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k!r}: {tuple(v.shape)} {v.dtype}" for k, v in self._data.items())
        return f"Params({inner})"

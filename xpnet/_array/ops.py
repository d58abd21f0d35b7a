"""Operations the layers and the trainer call, written once for any array-API namespace; a backend may override one.

Like thinc's ``Ops``: :class:`Ops` holds the portable versions, in array-API code that every
namespace runs; a backend's registry row may name a subclass that overrides single
operations with the library's own (NumPy's strided views, PyTorch's ``conv2d``, JAX's
``lax.conv_general_dilated``). The portable version stays the reference the tests compare
every override against. Never a whole layer or network per backend: only operations.

``ops_for(xp)`` gives the namespace's operations (one instance per namespace).
"""

from __future__ import annotations

import importlib
from typing import Any

from .ops_data import DataOps

__all__ = ["Ops", "ops_for"]

Array = Any


class Ops(DataOps):
    """The portable operations, for namespace ``xp``.

    Parameters
    ----------
    xp : module
        The array namespace (the compat wrapper where one is needed).
    """

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self.xp, '__name__', self.xp)!r})"


_OPS: dict[int, Ops] = {}


def ops_for(xp: Any) -> Ops:
    """The operations of namespace ``xp``: its row's subclass of :class:`Ops`, or the portable ones (one instance per namespace)."""
    ops = _OPS.get(id(xp))
    if ops is None:
        from .registry import row_for

        path = row_for(xp).ops
        cls: type[Ops] = Ops
        if path is not None:
            module, _, name = path.partition(":")
            cls = getattr(importlib.import_module(module, __package__), name)
        ops = _OPS[id(xp)] = cls(xp)
    return ops

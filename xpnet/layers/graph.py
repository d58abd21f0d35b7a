"""The naive computational-graph nodes of chapter 5.4 (the book's ``layer_naive.py``): ``MulLayer`` and ``AddLayer``."""

from __future__ import annotations

from typing import Any

from ._contract import require_forward

__all__ = ["AddLayer", "MulLayer"]


class MulLayer:
    """Multiplication node ``out = x * y`` (Python numbers or arrays)."""

    def __init__(self) -> None:
        self.x: Any = None
        self.y: Any = None

    def forward(self, x: Any, y: Any) -> Any:
        """Return ``x * y`` and remember both factors."""
        self.x, self.y = x, y
        return x * y

    def backward(self, dout: Any) -> tuple[Any, Any]:
        """Return ``(dout * y, dout * x)``: the factors swap."""
        require_forward(self, self.x)
        return dout * self.y, dout * self.x

    def __repr__(self) -> str:
        return "MulLayer()"


class AddLayer:
    """Addition node ``out = x + y`` (Python numbers or arrays)."""

    def __init__(self) -> None:
        self._called: bool | None = None

    def forward(self, x: Any, y: Any) -> Any:
        """Return ``x + y``."""
        self._called = True
        return x + y

    def backward(self, dout: Any) -> tuple[Any, Any]:
        """Return ``(dout, dout)``: addition passes the gradient through unchanged."""
        require_forward(self, self._called)
        return dout * 1, dout * 1

    def __repr__(self) -> str:
        return "AddLayer()"

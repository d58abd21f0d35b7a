"""What every layer shares: the check that ``backward`` follows ``forward``."""

from __future__ import annotations

__all__ = ["require_forward"]


def require_forward(layer: object, state: object) -> None:
    """Raise RuntimeError when ``layer.backward`` is called before its ``forward`` (``state`` is still None)."""
    if state is None:
        raise RuntimeError(f"{type(layer).__name__}.backward called before forward")

"""The one way into the unchecked path: :func:`trusted`.

Public functions, layers and networks check their inputs at every call. Callers that checked
their inputs once, at their own boundary (the training step, evaluation, the batched numerical
gradient), run inside :func:`trusted`, where those per-call checks are skipped and only the
namespace is looked up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["is_trusted", "trusted"]

_TRUSTED: ContextVar[bool] = ContextVar("xpnet_trusted", default=False)


@contextmanager
def trusted() -> Iterator[None]:
    """Run the block on inputs already validated at the boundary: per-call array checks are skipped.

    The setting belongs to the current thread (and context): another thread starts checked.
    Parameter replacements (``params[k] = v``) are not checked inside either, so a traced
    step (``jax.jit``) can assign tracers.
    """
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def is_trusted() -> bool:
    """True inside :func:`trusted`."""
    return _TRUSTED.get()

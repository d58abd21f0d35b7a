"""The book's optimizers (chapter 6): SGD, Momentum, Nesterov, AdaGrad, RMSprop and Adam, on every backend.

``from xpnet.optim import *`` stands in for the book's ``from common.optimizer import *``.

Each ``update(params, grads)`` is the book's formula in the book's order of operations, for
every key of ``params``, ending in the book's ``params[key] -= ...`` (or ``+=``): in a plain
dict, arrays that can be written (NumPy, PyTorch, CuPy, array_api_strict) are updated in
place, so the book's own networks, whose layers hold the very arrays of ``params``, see the
step; immutable arrays (JAX) and Python numbers are replaced in ``params``. A network's
:class:`~xpnet.params.Params` always gets replacements, checked by it: its layers read it by
key, and its arrays may be the caller's own or shared with snapshots and other networks,
which an in-place step would change behind their backs. The optimizer's own state (``v``, ``h``, ``m``, ``iter``) is never
written in place: each step stores fresh arrays, so ``state()`` is a snapshot that later steps
leave alone, and a ``copy.copy`` of an optimizer shares nothing that its updates change.
"""

from __future__ import annotations

from typing import Any

from .._array.checks import describe
from .base import Optimizer
from .updates import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop

__all__ = ["AdaGrad", "Adam", "Momentum", "Nesterov", "OPTIMIZER_NAMES", "Optimizer", "RMSprop", "SGD", "get_optimizer"]

_BY_NAME: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam)}
#: The names :func:`get_optimizer` takes (any case), in the book's order.
OPTIMIZER_NAMES = tuple(_BY_NAME)


def get_optimizer(name_or_optimizer: Any, **kwargs: Any) -> Any:
    """An optimizer built from its name (case-insensitive, as the book's ``Trainer``), or ``name_or_optimizer`` as is.

    Parameters
    ----------
    name_or_optimizer : str or optimizer
        ``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"`` or ``"adam"``; or
        any object with ``update(params, grads)``, returned unchanged.
    **kwargs
        The optimizer's hyperparameters (``lr=0.1``, ``momentum=0.9`` ...), only with a name.

    Raises
    ------
    ValueError
        An unknown name (the message lists them).
    TypeError
        Neither a name nor an optimizer; a hyperparameter the optimizer does not take; keyword
        arguments with an optimizer object.
    """
    names = ", ".join(repr(n) for n in _BY_NAME)
    if isinstance(name_or_optimizer, str):
        cls = _BY_NAME.get(name_or_optimizer.lower())
        if cls is None:
            raise ValueError(f"get_optimizer: unknown optimizer {name_or_optimizer!r}; choose one of {names} (any case)")
        unknown = sorted(set(kwargs) - set(cls.hyperparameters))
        if unknown:
            raise TypeError(f"get_optimizer: {cls.__name__} takes {', '.join(cls.hyperparameters)}; got unexpected {', '.join(unknown)}")
        return cls(**kwargs)
    if not callable(getattr(name_or_optimizer, "update", None)):
        raise TypeError(f"get_optimizer: expected an optimizer name ({names}) or an optimizer object, got {describe(name_or_optimizer)}")
    if kwargs:
        raise TypeError(
            f"get_optimizer: hyperparameters ({', '.join(kwargs)}) configure an optimizer built by name, "
            f"but {name_or_optimizer!r} was given ready-made"
        )
    return name_or_optimizer

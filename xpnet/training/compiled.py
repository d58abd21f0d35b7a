"""Which form of the training step a run uses: eager, or compiled by the backend's own compiler.

Every backend trains through :func:`xpnet.training.step.train_on_batch` (the network's layers
forward and backward, then the optimizer's update). A backend whose row names a compiler
(``row.compiler``) runs that same step traced and compiled by it, one module per compiler:

* ``"xla"`` (JAX): :mod:`xpnet.training.xla`, ``jax.jit`` of a loop over a chunk of steps,
  optionally data-parallel over a device mesh.

The others run the eager step. ``torch.compile`` on the CPU is slower than eager torch for the
book's small step (measured), so PyTorch's row names no compiler; CUDA graph capture for CuPy
and torch on CUDA is not written (it needs a GPU to be tested against the eager step).

Batch indices come from the host generator on every backend, so the same seed gives the same
batches everywhere and a resumed run stays bit-identical.
"""

from __future__ import annotations

import importlib
from typing import Any

from .._array.numbers import setting
from .data import Batches, DeviceSet
from .evaluations import EagerCounter
from .step import TrainStep

__all__ = ["compile_blocker", "make_counter", "make_step", "resolve"]

#: The module of each compiler a backend row may name.
COMPILERS = {"xla": ".xla"}


def _compiler(network: Any) -> Any:
    """The module that compiles steps for ``network``'s backend."""
    return importlib.import_module(COMPILERS[network.backend.row.compiler], __package__)


def compile_blocker(network: Any, optimizer: Any, gradient: str) -> str | None:
    """Why this run's step cannot be compiled (a sentence), or None when it can."""
    row = network.backend.row
    if row.compiler not in COMPILERS:
        return f"the {network.backend.name} backend has no compiler xpnet uses; it runs the eager step"
    if gradient != "backprop":
        return "numerical gradients are computed eagerly"
    for name in ("bind", "snapshot"):
        if not hasattr(network, name):
            return f"{type(network).__name__} has no {name}(), which the compiled step runs the network through"
    if not (hasattr(optimizer, "state") and hasattr(optimizer, "load_state")):
        return f"{type(optimizer).__name__} has no state()/load_state(), which the compiled step carries its state with"
    return None


def resolve(network: Any, optimizer: Any, gradient: str, batch_size: int, compiled: bool | None,
            data_parallel: int | bool | None) -> tuple[bool, list[Any] | None]:
    """Check the trainer's ``compiled`` and ``data_parallel`` settings; returns (compiled, mesh devices or None).

    Raises
    ------
    ValueError
        ``compiled=True`` where the step cannot be compiled; ``data_parallel`` without a compiler that
        splits batches, with ``compiled=False``, beyond the devices there are, or with a batch that
        does not split evenly.
    """
    if compiled is not None and not isinstance(compiled, bool):
        raise TypeError(f"train: {setting('compiled')} must be True, False or None, got {type(compiled).__name__} {compiled!r}")
    blocker = compile_blocker(network, optimizer, gradient)
    if compiled and blocker:
        raise ValueError(f"train: {setting('compiled')}=True, but {blocker}")
    use = blocker is None if compiled is None else compiled
    if data_parallel is True:
        wanted = None  # every device of the network's platform (True == 1 in Python: test it first)
    elif data_parallel is None or data_parallel is False or data_parallel == 1:
        return use, None
    elif isinstance(data_parallel, int) and data_parallel >= 1:
        wanted = data_parallel
    else:
        raise ValueError(f"train: {setting('data_parallel')} must be a positive number of devices or True, got {data_parallel!r}")
    if network.backend.row.compiler not in COMPILERS:
        raise ValueError(f"train: {setting('data_parallel')} needs a backend whose compiler splits the batch over devices "
                         f"(jax); got {network.backend.name}")
    if not use:
        raise ValueError(f"train: {setting('data_parallel')} runs the compiled step, but "
                         f"{blocker or setting('compiled=False', '--eager') + ' was asked for'}")
    devices = _compiler(network).mesh_devices(network.backend.device, wanted)
    if batch_size % len(devices):
        raise ValueError(
            f"train: {setting('batch_size')} {batch_size} does not split evenly over {len(devices)} devices; "
            f"use a multiple of {len(devices)} (e.g. {len(devices) * max(1, batch_size // len(devices))})"
        )
    return True, devices if len(devices) > 1 else None


def make_step(network: Any, optimizer: Any, train_set: DeviceSet, batch_size: int, *, gradient: str,
              compiled: bool, chunk: int, devices: list[Any] | None = None) -> Any:
    """The step a run trains with: a compiled chunk of steps, or the eager :class:`TrainStep`.

    Both have ``run(block, pos, n, upcoming, stopping) -> steps done``, ``pending``,
    ``losses()`` and ``close()``; after ``run`` the network and the optimizer hold their new,
    concrete, state.
    """
    if compiled:
        return _compiler(network).ChunkStep(network, optimizer, gradient, train_set, chunk, devices)
    return TrainStep(network, optimizer, Batches.for_run(train_set, network.output_size, batch_size), gradient)


def make_counter(network: Any, block: int, compiled: bool) -> Any:
    """``count(network, data) -> correct predictions`` over a whole set, ``block`` rows at a time.

    Compiled: one program per set; otherwise the eager :class:`~xpnet.training.evaluations.EagerCounter`.
    Both have a ``compile_time`` attribute.
    """
    if not compiled:
        return EagerCounter(block)
    return _compiler(network).Counter(network, block)

"""The one place that turns the training step into what runs fastest on each backend.

The portable step is :func:`xpnet.training.step.train_on_batch`: the network's layers
forward and backward, then the optimizer's update. :func:`functional_step` writes the same
step as a pure function ``params, x, t -> params, loss`` over a private copy of the network,
so a backend's compiler can trace the very same layers, and :func:`make_step` picks per run:

* **JAX**: ``jax.jit`` of a loop over a chunk of steps (:mod:`.compiled_jax`), optionally
  data-parallel over a device mesh. The data set is an argument of the compiled program,
  never a constant captured in it, and one compile serves the whole run.
* **NumPy, array_api_strict, torch on the CPU**: the eager step. ``torch.compile`` on the CPU
  is slower than eager torch for the book's small step (measured), so it is not used.
* **CuPy, torch on CUDA**: the eager step. Graph capture (``cupy.cuda.Graph``,
  ``torch.cuda.CUDAGraph``) is not written: it needs a GPU to be tested against the eager step.

Batch indices come from the host generator on every backend, so the same seed gives the
same batches everywhere and a resumed run stays bit-identical.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._array.trust import trusted
from ..optim import SGD
from .data import Batches, DeviceSet
from .evaluations import EagerCounter
from .step import TrainStep, train_on_batch

__all__ = ["compile_blocker", "functional_count", "functional_step", "make_counter", "make_step", "resolve"]

Array = Any


def bind(network: Any, params: Mapping[str, Array]) -> Any:
    """A private network of ``network``'s architecture computing with ``params`` (concrete or traced arrays).

    The copy is built from ``network``'s own, checked, parameters and then given ``params``
    inside :func:`trusted`, the one place where ``Params`` accepts traced arrays: ``network``
    itself never holds a tracer.
    """
    copy = network.with_params(network.params)
    with trusted():
        copy.params = params
    return copy


def functional_step(network: Any, optimizer: Any, gradient: str = "backprop") -> Callable[..., tuple[dict[str, Array], Array]]:
    """The training step as a pure function: ``step(params, x, t) -> (new params, loss)``.

    It runs :func:`~xpnet.training.step.train_on_batch`, the layers' ``forward``/``backward``
    and ``optimizer.update``, on a private copy of ``network`` bound to ``params``.

    Parameters
    ----------
    network : TwoLayerNet
    optimizer : SGD
        Stateless: its ``update`` only replaces ``params`` entries.
    gradient : {"backprop", "numerical"}

    Returns
    -------
    callable
        ``params`` (dict of arrays of the network's shapes and dtype), ``x`` (B, D) and one-hot
        ``t`` (B, K) in the network's dtype -> ``(dict of new arrays, 0-d loss)``.
    """

    def step(params: Mapping[str, Array], x: Array, t: Array) -> tuple[dict[str, Array], Array]:
        net = bind(network, params)
        loss = train_on_batch(net, optimizer, x, t, gradient)
        return dict(net.params), loss

    return step


def functional_count(network: Any) -> Callable[[Mapping[str, Array], Array, Array], Array]:
    """``count(params, x, labels) -> hits``: the network's ``count_correct`` as a pure function of the parameters.

    ``x`` (N, D) in the network's dtype, ``labels`` (N,) integers (a label of -1 never counts);
    ``hits`` is a 0-d integer array.
    """

    def count(params: Mapping[str, Array], x: Array, labels: Array) -> Array:
        with trusted():
            return bind(network, params).count_correct(x, labels)[0]

    return count


def compile_blocker(network: Any, optimizer: Any, gradient: str) -> str | None:
    """Why this run's step cannot be compiled (a sentence), or None when it can."""
    name = network.backend.name
    if name != "jax":
        return f"only JAX steps are compiled; the {name} backend runs the eager step"
    if gradient != "backprop":
        return "numerical gradients are computed eagerly"
    if type(optimizer) is not SGD:
        return f"only SGD updates are compiled ({type(optimizer).__name__} may keep state of its own, which tracing would fill with traced arrays)"
    if not hasattr(network, "with_params"):
        return f"{type(network).__name__} has no with_params(), which the compiled step binds its parameters through"
    return None


def resolve(network: Any, optimizer: Any, gradient: str, batch_size: int, compiled: bool | None,
            data_parallel: int | bool | None) -> tuple[bool, list[Any] | None]:
    """Check the trainer's ``compiled`` and ``data_parallel`` settings; returns (compiled, mesh devices or None).

    Raises
    ------
    ValueError
        ``compiled=True`` where the step cannot be compiled; ``data_parallel`` off JAX, with
        ``compiled=False``, beyond the devices there are, or with a batch that does not split evenly.
    """
    if compiled is not None and not isinstance(compiled, bool):
        raise TypeError(f"train: compiled must be True, False or None, got {type(compiled).__name__} {compiled!r}")
    blocker = compile_blocker(network, optimizer, gradient)
    if compiled and blocker:
        raise ValueError(f"train: compiled=True, but {blocker}")
    use = blocker is None if compiled is None else compiled
    if data_parallel is True:
        wanted = None  # every device of the network's platform (True == 1 in Python: test it first)
    elif data_parallel is None or data_parallel is False or data_parallel == 1:
        return use, None
    elif isinstance(data_parallel, int) and data_parallel >= 1:
        wanted = data_parallel
    else:
        raise ValueError(f"train: data_parallel must be a positive number of devices or True, got {data_parallel!r}")
    if network.backend.name != "jax":
        raise ValueError(f"train: data_parallel needs the jax backend (XLA splits the batch over devices); got {network.backend.name}")
    if not use:
        raise ValueError(f"train: data_parallel runs the compiled step, but {blocker or 'compiled=False (--eager) was asked for'}")
    from .compiled_jax import mesh_devices

    devices = mesh_devices(network.backend.device, wanted)
    if batch_size % len(devices):
        raise ValueError(
            f"train: batch_size {batch_size} does not split evenly over {len(devices)} devices; "
            f"use a multiple of {len(devices)} (e.g. {len(devices) * max(1, batch_size // len(devices))})"
        )
    return True, devices if len(devices) > 1 else None


def make_step(network: Any, optimizer: Any, train_set: DeviceSet, batch_size: int, *, gradient: str,
              compiled: bool, chunk: int, devices: list[Any] | None = None) -> Any:
    """The step a run trains with: a compiled chunk of steps, or the eager :class:`TrainStep`.

    Both have ``run(block, pos, n, upcoming, stopping) -> steps done``, ``pending``,
    ``losses()`` and ``close()``; after ``run`` the network holds the new, concrete, parameters.

    Parameters
    ----------
    compiled : bool
        From :func:`resolve`.
    chunk : int
        Most steps one ``run`` is asked for (the compiled loop's fixed length).
    devices : list of devices, optional
        Split each batch over these devices (JAX; from :func:`resolve`).
    """
    if compiled:
        from .compiled_jax import JaxChunkStep

        return JaxChunkStep(network, functional_step(network, optimizer, gradient), train_set, chunk, devices)
    batches = Batches.for_run(train_set, network.output_size, batch_size, network.backend.name)
    return TrainStep(network, optimizer, batches, gradient)


def make_counter(network: Any, block: int, compiled: bool) -> Any:
    """``count(network, data) -> correct predictions`` over a whole set, ``block`` rows at a time.

    Compiled (JAX): one ``jax.jit`` program per set; otherwise the eager
    :class:`~xpnet.training.evaluations.EagerCounter`. Both have a ``compile_time`` attribute.
    """
    if not compiled:
        return EagerCounter(block)
    from .compiled_jax import JaxCounter

    return JaxCounter(functional_count(network), block, network.backend.xp, network.dtype)

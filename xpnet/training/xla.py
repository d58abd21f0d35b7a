"""The step and the evaluation compiled by XLA (the ``"xla"`` compiler of JAX's row): the same layers, traced.

A chunk of training steps is one ``jax.jit``-compiled XLA loop over the portable step
(:func:`xpnet.training.step.train_on_batch`), run on ``network.bind(params, buffers)`` and a copy
of the optimizer holding the traced state: the whole state of a run (parameters, buffers such
as running statistics and the random stream, the optimizer's state) is the loop's carry. Its
arguments are that state, the data set (uint8 pixels and one-hot targets, on the device), the chunk's batch indices
(drawn on the host) and the number of steps to run: the data set is never a constant baked
into the program (188 MB of MNIST would take seconds to compile), and the loop's trip count
is an argument (an XLA while loop, what ``lax.scan`` lowers to), so one compile of the
fixed-length index block serves every chunk of the run, the short ones included, without
running padded steps.

With several devices the batch is split over a one-axis ``Mesh`` ("batch") and the
parameters are replicated: XLA's SPMD partitioner inserts the gradient all-reduce. The
network keeps its parameters on its own device; after every chunk it gets the replica on
that device (no copy), and the step reuses its replicated arrays while the network still
holds what it was given. Arrays for the mesh are built from host data with
``jax.make_array_from_callback``, each process filling its own devices, so the same code
serves a mesh that spans hosts (after ``jax.distributed.initialize``).

Evaluation is ``jax.jit`` of a loop over fixed blocks of a set (uint8 pixels converted inside),
each through the network's ``count_correct``; the last block overlaps the one before and
masks the rows already counted.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._array.numbers import setting
from .._array.ops import ops_for
from .._array.registry import to_numpy
from .._array.trust import trusted
from .data import DeviceSet, gather_rows
from .step import train_on_batch

__all__ = ["ChunkStep", "Counter", "functional_step", "mesh_devices"]

Array = Any
#: A run's state as the compiled program carries it: parameters, buffers, the optimizer's state.
State = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]


def functional_step(network: Any, optimizer: Any, gradient: str = "backprop") -> Callable[..., tuple[State, Any]]:
    """The training step as a pure function ``step(state, x, t) -> (new state, loss)`` for ``jax.jit`` to trace.

    It runs :func:`~xpnet.training.step.train_on_batch` (the layers' ``forward``/``backward``, then
    ``optimizer.update``) on ``network.bind(params, buffers)`` and on a copy of ``optimizer`` loaded
    with the state: ``network`` and ``optimizer`` themselves never hold a traced array.
    """

    def step(state: State, x: Any, t: Any) -> tuple[State, Any]:
        params, buffers, opt_state = state
        net = network.bind(params, buffers)
        opt = copy.copy(optimizer)
        opt.load_state(opt_state)
        loss = train_on_batch(net, opt, x, t, gradient)
        return (dict(net.params), dict(net.buffers), opt.state()), loss

    return step


def mesh_devices(device: Any, wanted: int | None) -> list[Any]:
    """``wanted`` devices of ``device``'s platform, ``device`` among them, in JAX's global order (None: all of them).

    The order is the same in every process of a multi-host run, as a mesh must be.

    Raises
    ------
    ValueError
        Fewer devices than ``wanted``; on the CPU the message says how to get more. With several
        JAX processes: a network on another process's device, or ``wanted`` short of every device.
    """
    import jax

    devices = jax.devices(device.platform)
    if device.process_index != jax.process_index():
        raise ValueError(f"train: the network is on {device}, a device of JAX process {device.process_index}, not of this one "
                         f"({jax.process_index()}); create it on one of jax.local_devices() (the default device is the first)")
    if wanted is None:
        return devices
    if wanted > len(devices):
        hint = ""
        if device.platform == "cpu":
            hint = (f"; for {wanted} CPU devices start Python with XLA_FLAGS=--xla_force_host_platform_device_count={wanted} "
                    "(JAX reads it once, before its first use)")
        raise ValueError(f"train: {setting('data_parallel')} {wanted} asks for {wanted} {device.platform} devices, but JAX sees {len(devices)}{hint}")
    if jax.process_count() > 1 and wanted != len(devices):
        raise ValueError(f"train: {setting('data_parallel')} {wanted} with {jax.process_count()} JAX processes: every process "
                         f"must build the same mesh; pass data_parallel=True (all {len(devices)} {device.platform} devices of every process)")
    chosen = {device, *[d for d in devices if d != device][: wanted - 1]}
    return [d for d in devices if d in chosen]


class _Placement:
    """Where a run's arrays live: the network's device, or replicated over a mesh with the batch split."""

    def __init__(self, device: Any, devices: list[Any] | None) -> None:
        import jax
        from jax.sharding import Mesh, NamedSharding, PartitionSpec, SingleDeviceSharding

        self.replicated: Any
        self.rows: Any
        if devices is None:
            self.replicated = self.rows = SingleDeviceSharding(device)
            self.batch = None
        else:
            mesh = Mesh(np.array(devices), ("batch",))
            self.replicated = NamedSharding(mesh, PartitionSpec())
            self.rows = NamedSharding(mesh, PartitionSpec(None, "batch"))  # (steps, batch) indices
            self.batch = NamedSharding(mesh, PartitionSpec("batch", None))  # (batch, features) arrays
        self._constrain = jax.lax.with_sharding_constraint

    def put(self, host: Any, sharding: Any) -> Array:
        """Host array(s) ``host`` (a dict of them, or one) as arrays of ``sharding``, each process filling its own devices."""
        import jax

        if isinstance(host, dict):
            return {k: self.put(v, sharding) for k, v in host.items()}
        if self.batch is None:
            return jax.device_put(host, sharding)
        host = np.asarray(host)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    def local(self, x: Array, device: Any) -> Array:
        """The replica of ``x`` on ``device`` (itself on one device)."""
        if self.batch is None:
            return x
        return next(shard.data for shard in x.addressable_shards if shard.device == device)

    def split(self, x: Array) -> Array:
        """Inside the traced step: ``x`` (B, ...) split over the mesh by rows (nothing on one device)."""
        return x if self.batch is None else self._constrain(x, self.batch)


class ChunkStep:
    """Chunks of training steps, each one call of a compiled XLA program.

    Parameters
    ----------
    network : LayerNet
        On the JAX backend; gets its new parameters and buffers after every :meth:`run`.
    optimizer : optimizer of :mod:`xpnet.optim`
        Gets its new state after every :meth:`run`.
    gradient : {"backprop"}
    train_set : DeviceSet
        The training set; batches are gathered from it inside the program.
    chunk : int
        Most steps of one call (the index block's fixed length).
    devices : list of jax devices, optional
        Split each batch over these (the network's device among them); None: the network's device alone.

    Attributes
    ----------
    compile_time : float
        Seconds spent compiling (once per run).
    compiles : int
        Programs compiled so far (one serves every chunk length).
    """

    def __init__(self, network: Any, optimizer: Any, gradient: str, train_set: DeviceSet, chunk: int,
                 devices: list[Any] | None = None) -> None:
        import jax

        self.network, self.optimizer, self._chunk = network, optimizer, chunk
        self._device = network.backend.device
        self._place = _Placement(self._device, devices)
        dtype, xp = network.dtype, network.backend.xp
        place = self._place
        images = train_set.images if devices is None else to_numpy(train_set.images)
        self._images = place.put(images, place.replicated)
        self._onehot = place.put(train_set.onehot(network.output_size), place.replicated)
        if hasattr(optimizer, "init_state"):
            optimizer.init_state(network.params)  # the state's structure is fixed before tracing
        step = functional_step(network, optimizer, gradient)

        def body(i: Array, carry: tuple[State, Array], images: Array, onehot: Array, idx: Array) -> Any:
            state, losses = carry
            rows = idx[i]
            x = place.split(gather_rows(xp, images, rows, dtype))
            t = place.split(xp.take(onehot, rows, axis=0))
            state, loss = step(state, x, t)
            return state, losses.at[i].set(loss)

        def run_chunk(state: State, images: Array, onehot: Array, idx: Array, n: Array) -> Any:
            losses = xp.zeros(idx.shape[0], dtype=dtype)
            return jax.lax.fori_loop(0, n, lambda i, c: body(i, c, images, onehot, idx), (state, losses))

        self._jit = jax.jit(run_chunk, out_shardings=self._place.replicated)
        self._program: Any = None
        self._given: list[Array] = []  # the leaves last handed to the network and the optimizer
        self._working: Any = None  # the same state as the program's outputs (replicated)
        self._pending: list[tuple[Array, int]] = []
        self.compile_time = 0.0
        self.compiles = 0

    def _current(self) -> State:
        return dict(self.network.params), dict(self.network.buffers), self.optimizer.state()

    def _state(self) -> Any:
        """The run's state as the program takes it (its own outputs while the network and optimizer still hold them)."""
        import jax

        current = self._current()
        leaves = jax.tree_util.tree_leaves(current)
        if self._working is not None and len(leaves) == len(self._given) and all(a is b for a, b in zip(leaves, self._given)):
            return self._working
        # a counter kept as a Python int (Adam's iter) becomes an int32 array: the program's signature stays the same
        current = jax.tree_util.tree_map(lambda v: np.int32(v) if isinstance(v, int) else v, current)
        if self._place.batch is None:
            return current
        return jax.tree_util.tree_map(lambda v: self._place.put(to_numpy(v), self._place.replicated), current)

    def _indices(self, block: np.ndarray, pos: int, n: int) -> Array:
        """The chunk's rows ``block[pos:pos + n]`` as a fixed (chunk, batch) int32 block on the device(s)."""
        idx = np.zeros((self._chunk, block.shape[1]), np.int32)
        idx[:n] = block[pos : pos + n]
        return self._place.put(idx, self._place.rows)

    def run(self, block: np.ndarray, pos: int, n: int, upcoming: np.ndarray | None, stopping: Callable[[], bool]) -> int:
        """Run the ``n`` steps on the rows ``block[pos:pos + n]`` as one compiled call; returns ``n``.

        The loop does not stop inside a chunk: ``stopping`` is read by the trainer between chunks.
        """
        import jax

        if not 0 < n <= self._chunk:
            raise ValueError(f"a compiled chunk runs 1 to {self._chunk} steps, asked for {n}")
        args = (self._state(), self._images, self._onehot, self._indices(block, pos, n), np.int32(n))
        if self._program is None:
            tic = time.perf_counter()
            self._program = self._jit.lower(*args).compile()
            self.compile_time += time.perf_counter() - tic
            self.compiles += 1
        state, losses = self._program(*args)
        self._working = state
        params, buffers, opt_state = jax.tree_util.tree_map(lambda v: self._place.local(v, self._device), state)
        self.network.params = params  # real arrays, checked by Params like any user assignment
        self.network.buffers.update(buffers)
        self.optimizer.load_state(opt_state)
        self._given = jax.tree_util.tree_leaves(self._current())
        self._pending.append((losses, n))
        return n

    @property
    def pending(self) -> int:
        """Steps whose losses have not been read yet."""
        return sum(n for _, n in self._pending)

    def losses(self) -> np.ndarray:
        """The pending losses as float64 host values, in step order; clears them."""
        values = [np.asarray(losses, dtype=np.float64)[:n] for losses, n in self._pending]
        self._pending.clear()
        return np.concatenate(values) if values else np.zeros(0)

    def close(self) -> None:
        """Nothing runs in the background."""


class Counter:
    """Correct predictions over a whole set as one compiled call per set (blocks of ``block`` rows, test mode).

    Parameters
    ----------
    network : LayerNet
        Its architecture; each call counts for the parameters and buffers of the network it is given.
    block : int
        Rows per forward pass (bounds the memory of the activations).
    """

    def __init__(self, network: Any, block: int) -> None:
        self._block, self._xp, self._dtype = block, network.backend.xp, network.dtype
        self._template = network
        self._programs: dict[Any, Any] = {}
        self.compile_time = 0.0
        self.compiles = 0

    def _program(self, args: tuple[Any, ...]) -> Any:
        import jax

        leaves = jax.tree_util.tree_leaves(args)
        key = tuple((tuple(v.shape), str(v.dtype), v.sharding) for v in leaves)
        program = self._programs.get(key)
        if program is None:
            tic = time.perf_counter()
            program = self._programs[key] = jax.jit(self._whole_set).lower(*args).compile()
            self.compile_time += time.perf_counter() - tic
            self.compiles += 1
        return program

    def _whole_set(self, params: Mapping[str, Array], buffers: Mapping[str, Array], x: Array, labels: Array) -> Array:
        import jax
        import jax.numpy as jnp

        n = x.shape[0]
        size = min(self._block, n)
        blocks = -(-n // size)
        ops = ops_for(self._xp)

        def body(i: Array, total: Array) -> Array:
            lo = i * size
            start = jnp.minimum(lo, n - size)  # the last block ends at n and overlaps the one before
            xb = ops.to_float(jax.lax.dynamic_slice_in_dim(x, start, size), self._dtype)
            lb = jax.lax.dynamic_slice_in_dim(labels, start, size)
            lb = jnp.where(start + jnp.arange(size) >= lo, lb, -1)  # rows counted by the block before
            with trusted():
                hits = self._template.bind(params, buffers).count_correct(xb, lb)[0]
            return total + hits.astype(jnp.int32)

        return jax.lax.fori_loop(0, blocks, body, jnp.zeros((), jnp.int32))

    def __call__(self, network: Any, data: DeviceSet) -> int:
        """Correct predictions of ``network`` on ``data`` (one read back to the host)."""
        args = (dict(network.params), dict(network.buffers), data.images, data.t)
        return int(self._program(args)(*args))

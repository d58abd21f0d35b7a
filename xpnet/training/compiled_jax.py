"""The JAX forms of the training step and of evaluation: the same layers, compiled by XLA.

A chunk of training steps is one ``jax.jit``-compiled XLA loop over the portable step
(:func:`xpnet.training.compiled.functional_step`). Its arguments are the parameters, the
data set (uint8 pixels and one-hot targets, on the device), the chunk's batch indices
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

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._array.registry import to_numpy
from .data import DeviceSet, gather_rows, scaled

__all__ = ["JaxChunkStep", "JaxCounter", "mesh_devices"]

Array = Any


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
        raise ValueError(f"train: data_parallel {wanted} asks for {wanted} {device.platform} devices, but JAX sees {len(devices)}{hint}")
    if jax.process_count() > 1 and wanted != len(devices):
        raise ValueError(f"train: data_parallel {wanted} with {jax.process_count()} JAX processes: every process must build "
                         f"the same mesh; pass data_parallel=True (all {len(devices)} {device.platform} devices of every process)")
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


class JaxChunkStep:
    """Chunks of training steps, each one call of a compiled XLA program.

    Parameters
    ----------
    network : TwoLayerNet
        On the JAX backend; gets its new parameters after every :meth:`run`.
    step : callable
        ``step(params, x, t) -> (params, loss)`` (:func:`~xpnet.training.compiled.functional_step`).
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

    def __init__(self, network: Any, step: Callable[..., Any], train_set: DeviceSet, chunk: int, devices: list[Any] | None = None) -> None:
        import jax

        self.network, self._chunk = network, chunk
        self._device = network.backend.device
        self._place = _Placement(self._device, devices)
        dtype, xp = network.dtype, network.backend.xp
        place = self._place
        images = train_set.images if devices is None else to_numpy(train_set.images)
        self._images = place.put(images, place.replicated)
        self._onehot = place.put(train_set.onehot(network.output_size), place.replicated)

        def body(i: Array, carry: tuple[dict[str, Array], Array], images: Array, onehot: Array, idx: Array) -> Any:
            params, losses = carry
            rows = idx[i]
            x = place.split(gather_rows(xp, images, rows, dtype))
            t = place.split(xp.take(onehot, rows, axis=0))
            params, loss = step(params, x, t)
            return params, losses.at[i].set(loss)

        def run_chunk(params: dict[str, Array], images: Array, onehot: Array, idx: Array, n: Array) -> Any:
            losses = xp.zeros(idx.shape[0], dtype=dtype)
            return jax.lax.fori_loop(0, n, lambda i, c: body(i, c, images, onehot, idx), (params, losses))

        self._jit = jax.jit(run_chunk, out_shardings=self._place.replicated)
        self._program: Any = None
        self._given: dict[str, Array] = {}  # the arrays last handed to the network
        self._working: dict[str, Array] = {}  # the same parameters as the program's outputs (replicated)
        self._pending: list[tuple[Array, int]] = []
        self.compile_time = 0.0
        self.compiles = 0

    def _params(self) -> dict[str, Array]:
        """The network's parameters as the program takes them (its own outputs while the network holds them)."""
        current = dict(self.network.params)
        if self._working and all(current[k] is self._given.get(k) for k in current):
            return self._working
        if self._place.batch is None:
            return current
        return self._place.put({k: to_numpy(v) for k, v in current.items()}, self._place.replicated)

    def _indices(self, block: np.ndarray, pos: int, n: int) -> Array:
        """The chunk's rows ``block[pos:pos + n]`` as a fixed (chunk, batch) int32 block on the device(s)."""
        idx = np.zeros((self._chunk, block.shape[1]), np.int32)
        idx[:n] = block[pos : pos + n]
        return self._place.put(idx, self._place.rows)

    def run(self, block: np.ndarray, pos: int, n: int, upcoming: np.ndarray | None, stopping: Callable[[], bool]) -> int:
        """Run the ``n`` steps on the rows ``block[pos:pos + n]`` as one compiled call; returns ``n``.

        The loop does not stop inside a chunk: ``stopping`` is read by the trainer between chunks.
        """
        if not 0 < n <= self._chunk:
            raise ValueError(f"a compiled chunk runs 1 to {self._chunk} steps, asked for {n}")
        args = (self._params(), self._images, self._onehot, self._indices(block, pos, n), np.int32(n))
        if self._program is None:
            tic = time.perf_counter()
            self._program = self._jit.lower(*args).compile()
            self.compile_time += time.perf_counter() - tic
            self.compiles += 1
        params, losses = self._program(*args)
        self._working = params
        self._given = {k: self._place.local(v, self._device) for k, v in params.items()}
        self.network.params = self._given  # real arrays, checked by Params like any user assignment
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


class JaxCounter:
    """Correct predictions over a whole set as one compiled call per set (blocks of ``block`` rows).

    Parameters
    ----------
    count : callable
        ``count(params, x, labels) -> hits`` (:func:`~xpnet.training.compiled.functional_count`).
    block : int
        Rows per forward pass (bounds the memory of the activations).
    """

    def __init__(self, count: Callable[[Mapping[str, Array], Array, Array], Array], block: int, xp: Any, dtype: Any) -> None:
        self._count, self._block, self._xp, self._dtype = count, block, xp, dtype
        self._programs: dict[Any, Any] = {}
        self.compile_time = 0.0
        self.compiles = 0

    def _program(self, args: tuple[Any, ...]) -> Any:
        import jax

        key = tuple((k, tuple(v.shape), str(v.dtype), v.sharding) for k, v in args[0].items())
        key += tuple(("", tuple(a.shape), str(a.dtype), a.sharding) for a in args[1:])
        program = self._programs.get(key)
        if program is None:
            tic = time.perf_counter()
            program = self._programs[key] = jax.jit(self._whole_set).lower(*args).compile()
            self.compile_time += time.perf_counter() - tic
            self.compiles += 1
        return program

    def _whole_set(self, params: Mapping[str, Array], x: Array, labels: Array) -> Array:
        import jax
        import jax.numpy as jnp

        n = x.shape[0]
        size = min(self._block, n)
        blocks = -(-n // size)

        def body(i: Array, total: Array) -> Array:
            lo = i * size
            start = jnp.minimum(lo, n - size)  # the last block ends at n and overlaps the one before
            xb = scaled(self._xp, jax.lax.dynamic_slice_in_dim(x, start, size), self._dtype)
            lb = jax.lax.dynamic_slice_in_dim(labels, start, size)
            lb = jnp.where(start + jnp.arange(size) >= lo, lb, -1)  # rows counted by the block before
            return total + self._count(params, xb, lb).astype(jnp.int32)

        return jax.lax.fori_loop(0, blocks, body, jnp.zeros((), jnp.int32))

    def __call__(self, network: Any, data: DeviceSet) -> int:
        """Correct predictions of ``network`` on ``data`` (one read back to the host)."""
        args = (dict(network.params), data.images, data.t)
        return int(self._program(args)(*args))

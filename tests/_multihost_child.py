"""One process of a multi-process JAX run, or the one-process runs it is compared with (run by test_multihost.py).

Usage::

    python _multihost_child.py multi PROCESS_ID NUM_PROCESSES PORT WORKDIR
    python _multihost_child.py single WORKDIR

``multi``: the README's recipe for several hosts. ``jax.distributed.initialize`` with the
coordinator on ``127.0.0.1:PORT``, then, per dtype, a ``TwoLayerNet`` trained with
``data_parallel=True`` over every device of every process, a checkpoint with the trainer's
state written by process 0 alone half-way, and the run finished.
``single``: per dtype, the same run uninterrupted on one device, then each checkpoint of the
``multi`` run resumed on this one process to the end.

The environment chooses the devices (``JAX_PLATFORMS=cpu``, ``JAX_NUM_CPU_DEVICES``) and the CPU
collectives (``JAX_CPU_COLLECTIVES_IMPLEMENTATION=gloo``). Prints one line ``RESULT {json}``;
parameters go to ``WORKDIR/{mode}-{process}-{dtype}.npz``. When JAX's distributed runtime or its
CPU collectives cannot start, prints ``UNAVAILABLE reason`` and exits with status 3.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import numpy as np

import jax

jax.config.update("jax_enable_x64", True)

import xpnet  # noqa: E402  (after JAX's 64-bit mode)
from xpnet.io.checkpoint import load_checkpoint  # noqa: E402

DTYPES = ("float64", "float32")
ITERS, SAVE_AT = 200, 100
UNAVAILABLE = 3


def data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The first 2,000 training and 1,000 test images of the embedded MNIST, as uint8 pixels."""
    (x, t), (x_test, t_test) = xpnet.load_mnist(normalize=False)
    return (x[:2000], t[:2000]), (x_test[:1000], t_test[:1000])


def trainer(net: xpnet.TwoLayerNet, data_parallel: bool | None) -> xpnet.Trainer:
    return xpnet.Trainer(net, *data(), batch_size=100, lr=0.1, seed=1, eval_every=50, data_parallel=data_parallel)  # the book's lr


def network(dtype: str) -> xpnet.TwoLayerNet:
    return xpnet.TwoLayerNet(784, 20, 10, backend="jax", dtype=dtype, seed=0)


def report(history: xpnet.History) -> dict:
    return {"loss": history.train_loss, "train_acc": history.train_acc, "test_acc": history.test_acc,
            "eval_iters": history.eval_iters, "stop_reason": history.stop_reason,
            "seconds": {k: round(getattr(history, k), 3) for k in ("elapsed", "compile_time", "train_time", "eval_time")}}


def keep(net: xpnet.TwoLayerNet, workdir: Path, name: str) -> None:
    np.savez(workdir / f"{name}.npz", **{k: np.asarray(v) for k, v in net.params.items()})


def refusals() -> list[str]:
    """Refused before any collective: a mesh that would differ between processes, a network on another process's device."""
    x, t = np.zeros((40, 4), np.uint8), np.arange(40) % 2
    others = [d for d in jax.devices() if d.process_index != jax.process_index()]
    messages = []
    for device, data_parallel in ((None, 2), (others[0], True)):
        net = xpnet.TwoLayerNet(4, 3, 2, backend="jax", dtype="float32", seed=0, device=device)
        try:
            xpnet.Trainer(net, (x, t), batch_size=20, data_parallel=data_parallel)
        except ValueError as exc:
            messages.append(str(exc))
        else:
            messages.append(f"accepted: device {device}, data_parallel {data_parallel}")
    return messages


def multi(pid: int, count: int, port: int, workdir: Path) -> dict:
    try:
        jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=count, process_id=pid, initialization_timeout=60)
        jax.devices()  # starts the CPU client and its collectives
    except Exception as exc:
        if not any(word in str(exc).lower() for word in ("gloo", "collective")):
            raise
        print(f"UNAVAILABLE JAX's CPU collectives: {type(exc).__name__}: {exc}", flush=True)  # not built into this jaxlib
        os._exit(UNAVAILABLE)
    out: dict = {"process": jax.process_index(), "processes": jax.process_count(),
                 "devices": len(jax.devices()), "local_devices": len(jax.local_devices()),
                 "collectives": jax.config.jax_cpu_collectives_implementation, "refused": refusals()}
    for dtype in DTYPES:
        net = network(dtype)
        run = trainer(net, data_parallel=True)
        out["data_parallel"] = run.data_parallel
        out["device"] = net.backend.device_name
        run.run(SAVE_AT)
        out["param_devices"] = sorted({str(d) for v in net.params.values() for d in v.sharding.device_set})
        out["first_local_device"] = str(jax.local_devices()[0])
        if jax.process_index() == 0:  # every process holds the same parameters and history: one writes
            xpnet.save(net, workdir / f"ckpt-{dtype}.npz", history=run.history, trainer_state=run.state())
        out[dtype] = report(run.run(ITERS))
        keep(net, workdir, f"multi-{pid}-{dtype}")
    return out


def single(workdir: Path) -> dict:
    out: dict = {"devices": len(jax.devices())}
    for dtype in DTYPES:
        net = network(dtype)
        run = trainer(net, data_parallel=None)
        out[dtype] = report(run.run(ITERS))
        keep(net, workdir, f"single-{dtype}")

        ckpt = load_checkpoint(workdir / f"ckpt-{dtype}.npz")
        resumed = trainer(ckpt.network, data_parallel=None)
        resumed.load_state(ckpt.trainer_state)
        out[f"resumed/{dtype}"] = {**report(resumed.run(ITERS)), "from": ckpt.history.iterations if ckpt.history else None,
                                   "saved_data_parallel": ckpt.history.config.get("data_parallel") if ckpt.history else None}
        keep(ckpt.network, workdir, f"resumed-{dtype}")
    return out


def main(argv: list[str]) -> None:
    if argv[0] == "multi":
        out = multi(int(argv[1]), int(argv[2]), int(argv[3]), Path(argv[4]))
    else:
        out = single(Path(argv[1]))
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Exception:  # exit at once: JAX's exit handler would wait for the peer, which waits for this process
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)

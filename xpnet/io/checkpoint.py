"""Checkpoints: a network's parameters, state, architecture, dtype, history and trainer state in one ``.npz``, without pickle.

Layout (version 3): one array per parameter (``param/W1`` ...) and per buffer (``buffer/running_mean1``,
``buffer/rng`` ...) in the network's dtypes; the arrays of the trainer state (the optimizer's
state, the best parameters of a validation split) as ``state/...`` members; and ``meta``, a 0-d
unicode array holding JSON: format, version, the network's class and configuration, the
history (stored once), the trainer state with references to its array members and their
declared shapes and dtypes, and, for ``xpnet train``, the run (backend, device, iterations,
settings and the data set's identity). Versions 1 and 2 (a TwoLayerNet; version 1 held the
history twice) are read as well. Files are written atomically (temporary file, fsync, rename),
so an interrupted save leaves the previous checkpoint intact.

Loading treats the file as untrusted: it must be a regular file; only the expected members,
stored uncompressed, are accepted; every ``.npy`` header is checked against the architecture
(or the declared shape) and the member's length before anything is allocated; the metadata is
checked field by field (:mod:`xpnet.io.schema`). Every failure is a
:class:`~xpnet.errors.CheckpointError` naming the file and the problem.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._array.registry import get_backend, to_numpy
from ..errors import BackendError, CheckpointBackendError, CheckpointError, XpnetError
from .._files.atomic import OutputError, atomic_write_bytes
from .._files.npz import NpzReader
from ..nets import MultiLayerNet, MultiLayerNetExtend, SimpleConvNet, TwoLayerNet
from ..training.history import History
from .schema import ARRAY, META, META_V1, META_V3, NETWORKS, SchemaError, validate
from .trees import join, refs, split

__all__ = ["Checkpoint", "load", "load_checkpoint", "save"]

FORMAT = "xpnet-checkpoint"
VERSION = 3
#: The versions this xpnet reads, and their metadata's shape (1: the history in two places; 1 and 2: a TwoLayerNet).
SCHEMAS = {1: META_V1, 2: META, 3: META_V3}
#: The networks a checkpoint may hold, by class name.
CLASSES = {cls.__name__: cls for cls in (TwoLayerNet, MultiLayerNet, MultiLayerNetExtend, SimpleConvNet)}


@dataclass
class Checkpoint:
    """Everything a checkpoint holds: the network, its training history, resumable trainer state and the run record."""

    network: Any
    history: History | None
    trainer_state: dict[str, Any] | None
    meta: dict[str, Any]

    @property
    def run(self) -> dict[str, Any] | None:
        """What ``xpnet train`` recorded about the run (backend, device, iterations, settings, data), or None."""
        return self.meta.get("run")


def save(network: Any, path: str | os.PathLike, *, history: History | None = None, trainer_state: dict | None = None,
         run: dict | None = None) -> None:
    """Write ``network`` to ``path`` as ``.npz``, atomically.

    Parameters
    ----------
    network : TwoLayerNet, MultiLayerNet, MultiLayerNetExtend or SimpleConvNet
        Its parameters and buffers (running statistics, the random stream of Dropout) are stored.
    path : str or PathLike
        Target file; its directory must exist. ``.npz`` is not appended. A symbolic link is
        followed; a directory, device, FIFO or socket is refused.
    history : History, optional
        Stored alongside (e.g. for plotting later). Default: the history in ``trainer_state``.
    trainer_state : dict, optional
        ``Trainer.state()``, to resume training exactly: its arrays (the optimizer's state, the
        best parameters so far) are stored as members, its ``"history"`` once, as the checkpoint's
        history (``history``, when given, must be the same run's: as many iterations).
    run : dict, optional
        What the run was (``xpnet train`` records backend, device, iterations, settings and data set).

    Raises
    ------
    ValueError
        A network xpnet cannot store; ``trainer_state`` without a history (neither its own nor
        ``history``), or with one of another length than ``history``; nothing is written.
    CheckpointError
        The file cannot be written; the previous file at ``path`` is then unchanged.
    """
    name = type(network).__name__
    if name not in CLASSES:
        raise ValueError(f"save: cannot store a {name}; checkpoints hold {', '.join(CLASSES)}")
    state = dict(trainer_state) if trainer_state is not None else None
    hist = _one_history(history, state)
    tree, state_arrays = split(state) if state is not None else (None, {})
    meta = {
        "format": FORMAT, "version": VERSION, "network": {"class": name, **network.config},
        "backend": network.backend.name, "device": network.backend.device_name, "history": hist,
        "trainer_state": tree, "run": run,
        "arrays": {k: {"shape": list(v.shape), "dtype": v.dtype.name} for k, v in state_arrays.items()},
    }
    arrays = {f"param/{k}": to_numpy(v) for k, v in network.params.items()}
    arrays.update({f"buffer/{k}": to_numpy(v) for k, v in network.buffers.items()})
    arrays.update(state_arrays)
    buf = io.BytesIO()
    np.savez(buf, meta=np.asarray(json.dumps(meta)), **arrays)  # type: ignore[arg-type]  # names, not allow_pickle
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OutputError as exc:  # names the path already
        raise CheckpointError(f"cannot write checkpoint: {exc}") from exc
    except OSError as exc:
        raise CheckpointError(f"{os.fspath(path)}: cannot write checkpoint: {exc.strerror or exc}") from exc


def _one_history(history: History | None, state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The history a checkpoint stores: ``history``, else the trainer state's, which leaves ``state`` either way."""
    inner = state.pop("history", None) if state is not None else None
    if history is None:
        if state is not None and inner is None:
            raise ValueError("save: trainer_state has no 'history' (Trainer.state() has one) and no history= was given; "
                             "a resumable checkpoint needs the run's history")
        return inner
    done = len(inner.get("train_loss", ())) if isinstance(inner, dict) else history.iterations
    if done != history.iterations:
        raise ValueError(f"save: history has {history.iterations} iterations but trainer_state['history'] has {done}; "
                         "pass the trainer's own history (the checkpoint stores one)")
    return history.to_dict()


def _meta(path: Path, reader: NpzReader) -> dict[str, Any]:
    """The metadata member, parsed and checked against the schema."""
    text = reader.text("meta")
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, too many digits, nesting beyond the stack
        raise CheckpointError(f"{path}: checkpoint metadata is not valid JSON: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{path}: not an xpnet checkpoint (format {str(found)[:40]!r})")
    version = meta.get("version")
    if type(version) is not int or version not in SCHEMAS:
        readable = " and ".join(map(str, SCHEMAS))
        raise CheckpointError(f"{path}: checkpoint version {str(version)[:20]} is not supported (this xpnet reads {readable})")
    try:
        validate(meta, SCHEMAS[version])
        if version > 1 and meta.get("trainer_state") is not None and meta.get("history") is None:
            raise SchemaError("metadata.trainer_state needs metadata.history, which is missing")
    except SchemaError as exc:
        raise CheckpointError(f"{path}: corrupt checkpoint metadata: {exc}") from None
    return meta


def _network_config(path: Path, meta: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The network's class and its configuration (the constructor's arguments, checked by the class's schema)."""
    network = dict(meta["network"])
    cls_name = network.pop("class")
    try:
        validate(network, NETWORKS[cls_name], "metadata.network")
    except SchemaError as exc:
        raise CheckpointError(f"{path}: corrupt checkpoint metadata: {exc}") from None
    return CLASSES[cls_name], network


def _state_specs(path: Path, meta: dict[str, Any]) -> dict[str, tuple[np.dtype, tuple[int, ...]]]:
    """The trainer state's array members: each referenced, declared with a shape and a dtype, named ``state/...``."""
    declared, used = meta.get("arrays") or {}, refs(meta.get("trainer_state"))
    if sorted(declared) != sorted(used) or not all(k.startswith("state/") for k in declared):
        raise CheckpointError(f"{path}: corrupt checkpoint metadata: the trainer state refers to arrays {sorted(used)[:5]} "
                              f"but declares {sorted(declared)[:5]}")
    out = {}
    for key, spec in declared.items():
        try:
            validate(spec, ARRAY, f"metadata.arrays[{key!r}]")
        except SchemaError as exc:
            raise CheckpointError(f"{path}: corrupt checkpoint metadata: {exc}") from None
        out[key] = (np.dtype(spec["dtype"]), tuple(spec["shape"]))
    return out


def _trainer_state(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any] | None:
    """``Trainer.state()`` as saved: the stored state with its arrays and the checkpoint's history (version 1 held its own)."""
    state = meta.get("trainer_state")
    if state is None or meta["version"] == 1:
        return state
    return {**join(state, arrays), "history": meta["history"]}


def _read(path: Path) -> tuple[dict[str, Any], Any, dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """Metadata, network class and configuration, and arrays (``params``, ``buffers``, ``state``: host arrays, checked
    against the architecture and the declared shapes) of the checkpoint at ``path``."""
    with NpzReader(path, CheckpointError, "checkpoint") as reader:
        if "meta" not in reader.names:
            raise CheckpointError(f"{path}: not an xpnet checkpoint: no 'meta' entry")
        meta = _meta(path, reader)
        cls, config = _network_config(path, meta)  # versions 1 and 2 hold a TwoLayerNet, named as such
        try:
            param_shapes, buffer_shapes = cls.shapes(config)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: corrupt checkpoint metadata: {exc}") from None
        specs = _state_specs(path, meta) if meta["version"] >= 3 else {}
        reader.expect_names({"meta", *(f"param/{k}" for k in param_shapes), *(f"buffer/{k}" for k in buffer_shapes), *specs})
        dtype = np.dtype(config["dtype"])
        out = {
            "params": {k: reader.array(f"param/{k}", [dtype], shape) for k, shape in param_shapes.items()},
            "buffers": {k: reader.array(f"buffer/{k}", [np.dtype(np.int64), np.dtype(np.uint32), np.dtype(np.int32)]
                                        if k == "rng" else [dtype], shape) for k, shape in buffer_shapes.items()},
            "state": {k: reader.array(k, [dt], shape) for k, (dt, shape) in specs.items()},
        }
    for kind in ("params", "buffers"):
        for key, arr in out[kind].items():
            if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                raise CheckpointError(f"{path}: {'parameter' if kind == 'params' else 'buffer'} {key} contains NaN or infinite values")
    return meta, cls, config, out


def load_checkpoint(path: str | os.PathLike, *, backend: Any = None, device: Any = None) -> Checkpoint:
    """Read a checkpoint written by :func:`save` onto a backend and device.

    Parameters
    ----------
    path : str or PathLike
        A regular file (a FIFO, device or directory is refused at once, never read).
    backend, device : optional
        Where to put the network. Default: the backend and device it was saved from, as
        ``torch.load`` does; ``device`` alone picks another device of the saved backend,
        ``backend`` alone that backend's default device.

    Raises
    ------
    BackendError
        The saved (or requested) backend or device is not usable here; the message says
        why and how to load the network elsewhere (e.g. ``backend="numpy"``).
    TypeError
        ``path`` is not a str or PathLike.
    CheckpointError
        Missing, unreadable, corrupt or hostile file; wrong format or version; members other than
        the expected ones; parameters whose shapes or dtypes do not match the stored architecture;
        a backend or device that cannot hold the network. The message names the file.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load: path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    meta, cls, config, arrays = _read(path)
    be = _saved_or_requested_backend(path, meta, backend, device)
    try:
        net = cls(**config, backend=be, params=arrays["params"], buffers=arrays["buffers"] or None)
        history = History.from_dict(meta["history"]) if meta.get("history") else None
    except (XpnetError, TypeError, ValueError) as exc:  # e.g. float64 on JAX without its 64-bit mode
        raise CheckpointError(f"{path}: cannot build the {config['dtype']} {cls.__name__} on {be}: {exc}") from exc
    return Checkpoint(net, history, _trainer_state(meta, arrays["state"]), meta)


def _saved_or_requested_backend(path: Path, meta: dict[str, Any], backend: Any, device: Any) -> Any:
    """The backend to load onto: the requested one, else the saved one (on the saved device unless ``device``)."""
    if backend is not None:
        return get_backend(backend, device)
    saved, saved_device = str(meta.get("backend", "numpy")), meta.get("device")
    device = saved_device if device is None else device
    try:
        return get_backend(saved, device)
    except (BackendError, ValueError) as exc:
        where = f"{saved} on {device}" if device is not None else saved
        raise CheckpointBackendError(
            f"{path}: the network was saved from {where}, which is not usable here: {exc}; load it elsewhere, "
            f"e.g. xpnet.load({str(path)!r}, backend='numpy') (or xpnet train --resume ... --backend numpy)"
        ) from exc


def load(path: str | os.PathLike, *, backend: Any = None, device: Any = None) -> Any:
    """Load the network of a checkpoint onto the backend and device it was saved from (see :func:`load_checkpoint`).

    ``backend=`` and ``device=`` load it elsewhere; its history is ``net.history``.
    """
    ckpt = load_checkpoint(path, backend=backend, device=device)
    ckpt.network.history = ckpt.history
    return ckpt.network

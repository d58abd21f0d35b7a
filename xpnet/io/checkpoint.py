"""Checkpoints: a network's parameters, architecture, dtype and history in one ``.npz``, without pickle.

Layout: one array per parameter (``param/W1`` ...) in the network's dtype, and ``meta``, a
0-d unicode array holding JSON (format, version, network config, history, trainer state and,
for ``xpnet train``, the run: backend, device, iterations, settings and the data set's
identity). The history is stored once, as ``history``; the trainer state holds the rest of
``Trainer.state()`` (version 2). Version 1 files, whose trainer state held a second copy of the
history, are read as well. Files are written atomically (temporary file, fsync, rename), so an
interrupted save leaves the previous checkpoint intact.

Loading treats the file as untrusted: it must be a regular file; only the expected members,
stored uncompressed, are accepted; every ``.npy`` header is checked against the architecture
and the member's length before anything is allocated; the metadata is checked field by field
(:mod:`xpnet.io.schema`). Every failure is a :class:`~xpnet.errors.CheckpointError` naming the
file and the problem.
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
from ..nets import TwoLayerNet
from ..training.history import History
from .._files.atomic import OutputError, atomic_write_bytes
from .._files.npz import NpzReader
from .schema import META, META_V1, SchemaError, validate

__all__ = ["Checkpoint", "load", "load_checkpoint", "save"]

FORMAT = "xpnet-checkpoint"
VERSION = 2
#: The versions this xpnet reads, and their metadata's shape (1: the history in two places).
SCHEMAS = {1: META_V1, 2: META}


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
    """Write ``network`` (a TwoLayerNet) to ``path`` as ``.npz``, atomically.

    Parameters
    ----------
    network : TwoLayerNet
    path : str or PathLike
        Target file; its directory must exist. ``.npz`` is not appended. A symbolic link is
        followed; a directory, device, FIFO or socket is refused.
    history : History, optional
        Stored alongside (e.g. for plotting later). Default: the history in ``trainer_state``.
    trainer_state : dict, optional
        ``Trainer.state()``, to resume training exactly. Its ``"history"`` is stored once, as the
        checkpoint's history: ``history``, when given, must be the same run's (as many iterations).
    run : dict, optional
        What the run was (``xpnet train`` records backend, device, iterations, settings and data set).

    Raises
    ------
    ValueError
        ``trainer_state`` without a history (neither its own nor ``history``), or with one of
        another length than ``history``; nothing is written.
    CheckpointError
        The file cannot be written; the previous file at ``path`` is then unchanged.
    """
    state = dict(trainer_state) if trainer_state is not None else None
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "network": {"class": type(network).__name__, **network.config},
        "backend": network.backend.name,
        "device": network.backend.device_name,
        "history": _one_history(history, state),
        "trainer_state": state,
        "run": run,
    }
    arrays = {f"param/{k}": to_numpy(v) for k, v in network.params.items()}
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


def _trainer_state(meta: dict[str, Any]) -> dict[str, Any] | None:
    """``Trainer.state()`` as saved: the stored state with the checkpoint's history (version 1 held its own copy)."""
    state = meta.get("trainer_state")
    if state is None or meta["version"] == 1:
        return state
    return {**state, "history": meta["history"]}


def _read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metadata and parameters (host arrays, checked against the architecture) of the checkpoint at ``path``."""
    with NpzReader(path, CheckpointError, "checkpoint") as reader:
        if "meta" not in reader.names:
            raise CheckpointError(f"{path}: not an xpnet checkpoint: no 'meta' entry")
        meta = _meta(path, reader)
        config = meta["network"]
        shapes = TwoLayerNet.param_shapes(config["input_size"], config["hidden_size"], config["output_size"])
        reader.expect_names({"meta", *(f"param/{k}" for k in shapes)})
        dtype = np.dtype(config["dtype"])
        params = {key: reader.array(f"param/{key}", [dtype], shape) for key, shape in shapes.items()}
    for key, arr in params.items():
        if not np.all(np.isfinite(arr)):
            raise CheckpointError(f"{path}: parameter {key} contains NaN or infinite values")
    return meta, params


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
    meta, params = _read(path)
    config = meta["network"]
    be = _saved_or_requested_backend(path, meta, backend, device)
    try:
        net = TwoLayerNet(
            config["input_size"], config["hidden_size"], config["output_size"], config["weight_init_std"],
            activation=config["activation"], backend=be, dtype=config["dtype"], params=params,
        )
        history = History.from_dict(meta["history"]) if meta.get("history") else None
    except (XpnetError, TypeError, ValueError) as exc:  # e.g. float64 on JAX without its 64-bit mode
        raise CheckpointError(f"{path}: cannot build the {config['dtype']} network on {be}: {exc}") from exc
    return Checkpoint(net, history, _trainer_state(meta), meta)


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

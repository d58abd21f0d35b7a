"""Checkpoints: a network's parameters, architecture, dtype and history in one ``.npz``, without pickle.

Layout: one array per parameter (``param/W1`` ...) in the network's dtype, and ``meta``, a
0-d unicode array holding JSON (format, version, network config, history, trainer state).
Files are written atomically (temporary file, fsync, rename), so an interrupted save leaves
the previous checkpoint intact, and read with ``allow_pickle=False``, so loading never runs
code from the file.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._array.registry import get_backend, to_numpy
from ..errors import BackendError, CheckpointError
from ..nets import TwoLayerNet
from ..training.history import History
from .atomic import atomic_write_bytes

__all__ = ["Checkpoint", "load", "load_checkpoint", "save"]

FORMAT = "xpnet-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    """Everything a checkpoint holds: the network, its training history and resumable trainer state."""

    network: Any
    history: History | None
    trainer_state: dict[str, Any] | None
    meta: dict[str, Any]


def save(network: Any, path: str | os.PathLike, *, history: History | None = None, trainer_state: dict | None = None) -> None:
    """Write ``network`` (a TwoLayerNet) to ``path`` as ``.npz``, atomically.

    Parameters
    ----------
    network : TwoLayerNet
    path : str or PathLike
        Target file; its directory must exist. ``.npz`` is not appended.
    history : History, optional
        Stored alongside (e.g. for plotting later).
    trainer_state : dict, optional
        ``Trainer.state()``, to resume training exactly.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise CheckpointError(f"{path}: cannot save a checkpoint: directory {path.parent} does not exist")
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "network": {"class": type(network).__name__, **network.config},
        "backend": network.backend.name,
        "device": network.backend.device_name,
        "history": history.to_dict() if history is not None else None,
        "trainer_state": trainer_state,
    }
    arrays = {f"param/{k}": to_numpy(v) for k, v in network.params.items()}
    buf = io.BytesIO()
    np.savez(buf, meta=np.asarray(json.dumps(meta)), **arrays)  # type: ignore[arg-type]  # names, not allow_pickle
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot write checkpoint: {exc.strerror or exc}") from exc


def _read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise CheckpointError(f"{path}: not a readable xpnet checkpoint (.npz): {exc}") from exc
    if "meta" not in contents:
        raise CheckpointError(f"{path}: not an xpnet checkpoint: no 'meta' entry")
    try:
        meta = json.loads(str(contents.pop("meta")))
    except (json.JSONDecodeError, TypeError) as exc:
        raise CheckpointError(f"{path}: checkpoint metadata is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an xpnet checkpoint (format {meta.get('format') if isinstance(meta, dict) else meta!r})")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {meta.get('version')} is not supported (this xpnet reads {VERSION})")
    return meta, contents


def _validated_params(path: Path, config: dict[str, Any], contents: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    expected = TwoLayerNet.param_shapes(config["input_size"], config["hidden_size"], config["output_size"])
    names = {k.removeprefix("param/") for k in contents}
    if names != set(expected):
        raise CheckpointError(f"{path}: parameters {sorted(names)} do not match the expected {sorted(expected)}")
    params = {}
    for key, shape in expected.items():
        arr = contents[f"param/{key}"]
        if arr.shape != shape:
            raise CheckpointError(f"{path}: parameter {key} has shape {arr.shape}, the architecture says {shape}")
        if arr.dtype != np.dtype(config["dtype"]):
            raise CheckpointError(f"{path}: parameter {key} has dtype {arr.dtype}, the checkpoint says {config['dtype']}")
        if not np.all(np.isfinite(arr)):
            raise CheckpointError(f"{path}: parameter {key} contains NaN or infinite values")
        params[key] = arr
    return params


def load_checkpoint(path: str | os.PathLike, *, backend: Any = None, device: Any = None) -> Checkpoint:
    """Read a checkpoint written by :func:`save` onto a backend and device.

    Parameters
    ----------
    backend, device : optional
        Where to put the network. Default: the backend and device it was saved from, as
        ``torch.load`` does; ``device`` alone picks another device of the saved backend,
        ``backend`` alone that backend's default device.

    Raises
    ------
    BackendError
        The saved (or requested) backend or device is not usable here; the message says
        why and how to load the network elsewhere (e.g. ``backend="numpy"``).
    CheckpointError
        Missing, unreadable or corrupt file; wrong format or version; parameters whose
        names, shapes or dtypes do not match the stored architecture.
    """
    path = Path(path)
    meta, contents = _read(path)
    config = meta.get("network") or {}
    required = ("class", "input_size", "hidden_size", "output_size", "activation", "dtype", "weight_init_std")
    missing = [k for k in required if k not in config]
    if missing or config["class"] != "TwoLayerNet":
        raise CheckpointError(f"{path}: network description is incomplete or unknown (missing {missing}, class {config.get('class')!r})")
    params = _validated_params(path, config, contents)
    be = _saved_or_requested_backend(path, meta, backend, device)
    net = TwoLayerNet(
        config["input_size"], config["hidden_size"], config["output_size"], config["weight_init_std"],
        activation=config["activation"], backend=be, dtype=config["dtype"], params=params,
    )
    history = History.from_dict(meta["history"]) if meta.get("history") else None
    return Checkpoint(net, history, meta.get("trainer_state"), meta)


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
        raise BackendError(
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

"""What a trainer checks and builds once, in its constructor: its settings, its optimizer and its data sets on the device."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._array.numbers import setting
from ..optim import get_optimizer
from .data import DeviceSet, host_images, host_labels

__all__ = ["check_settings", "eval_async_setting", "load_sets", "make_optimizer"]

#: The book's chapter 5 run: SGD at this learning rate when neither an optimizer nor ``lr`` is given.
BOOK_LR = 0.1


def _positive_int(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"train: {setting(name)} must be a positive int, got {value!r}")


def check_settings(batch_size: int, gradient: str, val_split: float, patience: int | None, eval_batch_size: int,
                   eval_every: int | None, eval_samples: int | None) -> None:
    """Refuse settings that cannot run, naming each (by its command-line flag inside ``flag_names()``)."""
    _positive_int(batch_size, "batch_size")
    if gradient not in ("backprop", "numerical"):
        raise ValueError(f"train: {setting('gradient')} must be 'backprop' or 'numerical', got {gradient!r}")
    if not 0.0 <= val_split < 1.0:
        raise ValueError(f"train: {setting('val_split')} must be in [0, 1), got {val_split}")
    if patience is not None:
        _positive_int(patience, "patience")
        if val_split <= 0:
            raise ValueError(f"train: {setting('patience')} needs a validation split ({setting('val_split')} > 0) "
                             "to judge the evaluations by")
    _positive_int(eval_batch_size, "eval_batch_size")
    for name, value in (("eval_every", eval_every), ("eval_samples", eval_samples)):
        if value is not None:
            _positive_int(value, name)


def make_optimizer(optimizer: Any, lr: float | None) -> Any:
    """The run's optimizer: ``optimizer`` itself, one built by name with ``lr`` (its own default when None), or the
    book's chapter 5 SGD at ``lr`` (0.1 when None)."""
    if optimizer is None:
        return get_optimizer("sgd", lr=BOOK_LR if lr is None else lr)
    if isinstance(optimizer, str):
        return get_optimizer(optimizer) if lr is None else get_optimizer(optimizer, lr=lr)
    if lr is not None:
        raise ValueError(f"train: {setting('lr')} applies to an optimizer given by name; "
                         f"{type(optimizer).__name__} has its own (lr={getattr(optimizer, 'lr', None)})")
    return get_optimizer(optimizer)


def eval_async_setting(eval_async: bool | None, network: Any, compiled: bool, patience: int | None) -> bool:
    """Whether evaluation points are measured on a worker thread while training goes on.

    Possible where the backend computes on the host's cores and releases the GIL, or where the
    step is compiled, with a network that can be bound to a snapshot, and without early stopping
    (whose decision must come before the next step). Default: where possible, with two cores or more.
    """
    possible = (network.backend.row.background_threads or compiled) and hasattr(network, "bind") and patience is None
    if eval_async is None:
        return possible and (os.cpu_count() or 1) >= 2
    if eval_async and not possible:
        raise ValueError(
            f"train: {setting('eval_async')} needs a network with bind() on a backend that computes on the host's cores, "
            f"or a compiled step, and no {setting('patience')} (early stopping decides at each evaluation); got "
            f"{type(network).__name__} on {network.backend.name}, {setting('patience')} {patience}"
        )
    return bool(eval_async)


def _pair(data: tuple[Any, Any], width: int, k: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    x = host_images(data[0], width, f"{what} images")
    t = host_labels(data[1], k, f"{what} labels")
    if len(x) != len(t):
        raise ValueError(f"train: {len(x)} {what} images but {len(t)} {what} labels")
    return x, t


def load_sets(network: Any, train_data: tuple[Any, Any], test_data: tuple[Any, Any] | None, val_split: float,
              seed: int) -> tuple[DeviceSet, DeviceSet | None, DeviceSet | None]:
    """Check the sets once and put them on the network's device: ``(train, validation split off it or None, test or None)``."""
    backend, dtype, k, width = network.backend, network.config["dtype"], network.output_size, network.input_size
    x_tr, t_tr = _pair(train_data, width, k, "training")
    val = None
    if val_split > 0:
        order = np.random.default_rng([seed, 2]).permutation(len(x_tr))
        n_val = max(1, int(round(len(x_tr) * val_split)))
        if n_val >= len(x_tr):
            raise ValueError(f"train: {setting('val_split')} {val_split} leaves no training data")
        val_idx, tr_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        val = DeviceSet(backend, dtype, x_tr[val_idx], t_tr[val_idx])
        x_tr, t_tr = x_tr[tr_idx], t_tr[tr_idx]
    test = None if test_data is None else DeviceSet(backend, dtype, *_pair(test_data, width, k, "test"))
    return DeviceSet(backend, dtype, x_tr, t_tr), val, test

"""What a run is, and how ``--resume`` continues the same run.

A checkpoint written by ``xpnet train`` records the run: backend, device, dtype, the
iterations asked for, the settings, the seed and the data set (its directory, or the embedded
MNIST, with sizes and content fingerprints). ``--resume`` continues that run: options not
given come from the record. Options that may safely change are ``--iters`` (not below the
iterations done), ``--backend``/``--device``, the output paths and the thread counts; any other
option that differs from the record, or a data set with other content, is refused with the
field, the recorded value and the new one.
"""

from __future__ import annotations

import argparse
from typing import Any

from .common import UsageError

__all__ = ["DEFAULTS", "FIXED", "check_data", "fresh_settings", "resumed_settings", "run_record"]

DEFAULTS: dict[str, Any] = {
    "iters": 10_000, "batch_size": 100, "lr": 0.1, "hidden_size": 50, "activation": "relu",
    "weight_init_std": 0.01, "eval_every": None, "val_split": 0.0, "patience": None,
    "gradient": "backprop", "seed": None, "dtype": "float32", "backend": "numpy", "device": None, "data_dir": None,
}
#: Settings a resumed run keeps: an explicit option that differs is refused.
FIXED = ("dtype", "batch_size", "lr", "hidden_size", "activation", "weight_init_std", "eval_every", "val_split",
         "patience", "gradient", "seed")
#: Fields of the data set's identity that must match when resuming (the directory may move).
DATA_FIELDS = ("train_size", "test_size", "image_shape", "train_sha256", "test_sha256")


def _option(key: str) -> str:
    return "--" + key.replace("_", "-")


def fresh_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Settings of a new run: the options given, else the defaults."""
    return {key: default if getattr(args, key) is None else getattr(args, key) for key, default in DEFAULTS.items()}


def resumed_settings(args: argparse.Namespace, run: dict[str, Any], path: str, done: int) -> dict[str, Any]:
    """Settings of a resumed run: the record's, with only the changes that keep it the same run.

    Raises
    ------
    UsageError
        An option differs from the recorded run (naming it, the old and the new value), or
        ``--iters`` is below the ``done`` iterations.
    """
    out = {}
    for key in FIXED:
        given, recorded = getattr(args, key), run[key]
        if given is not None and given != recorded:
            raise UsageError(
                f"--resume {path}: {_option(key)} {given} differs from the run's {key} {recorded}; a resumed run keeps "
                f"its settings (drop {_option(key)}, or start a new run without --resume)"
            )
        out[key] = recorded
    out["iters"] = run["iters"] if args.iters is None else args.iters
    if out["iters"] < done:
        raise UsageError(f"--iters {out['iters']} is below the {done} iterations the resumed run has done already ({path})")
    if args.backend is None:
        out["backend"], out["device"] = run["backend"], run["device"] if args.device is None else args.device
    else:
        out["backend"], out["device"] = args.backend, args.device
    out["data_dir"] = args.data_dir if args.data_dir is not None else run["data"]["dir"]
    return out


def check_data(run: dict[str, Any], identity: dict[str, Any], path: str) -> None:
    """Refuse to resume on a data set whose sizes or content differ from the recorded one (UsageError)."""
    recorded = run["data"]
    for key in DATA_FIELDS:
        if recorded[key] != identity[key]:
            old, new = recorded[key], identity[key]
            if key.endswith("sha256"):
                old, new = f"{old[:16]}...", f"{new[:16]}..."
            raise UsageError(
                f"--resume {path}: the data set differs from the run's: {key} was {old} ({recorded['source']}), "
                f"now {new} ({identity['source']}); resume on the run's data (--data-dir), or start a new run"
            )


def run_record(settings: dict[str, Any], backend: str, trainer: Any, identity: dict[str, Any]) -> dict[str, Any]:
    """What the run is, for its checkpoint (the shape :mod:`xpnet.io.schema` checks when it is read back)."""
    record = {key: settings[key] for key in FIXED}
    record.update(
        backend=backend, device=None if settings["device"] is None else str(settings["device"]), iters=settings["iters"],
        seed=trainer.seed, eval_every=trainer.eval_every, data=identity,
    )
    return record

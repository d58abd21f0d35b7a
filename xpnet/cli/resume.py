"""What a run is, and how ``--resume`` continues the same run.

A checkpoint written by ``xpnet train`` records the run: backend, device, dtype, the iterations
asked for (and the epochs, when ``--epochs`` gave them), the model and its options, the
optimizer and its learning rate, the other settings, the seed and the data set (its directory,
or the embedded MNIST, with sizes and content fingerprints). ``--resume`` continues that run:
options not given come from the record. Options that may safely change are ``--iters`` or
``--epochs`` (not below the iterations done), ``--backend``/``--device``, the output paths and the
thread counts; any other option that differs from the record, or a data set with other content,
is refused with the field, the recorded value and the new one. Records written before
``--model`` existed (a TwoLayerNet trained with SGD) read as such.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..io.schema import RUN_ADDED
from .common import UsageError
from .models import MODEL_DEFAULTS, check_applies, model_of

__all__ = ["ADDED", "DEFAULTS", "FIXED", "check_data", "fresh_settings", "given_options", "resumed_settings", "run_record",
           "settle_length", "upgraded"]

#: The settings of a run nothing was asked of: the book's chapter 5 run (``MODEL_DEFAULTS`` holds each model's).
DEFAULTS: dict[str, Any] = {
    "model": "two-layer", **MODEL_DEFAULTS["two-layer"], "weight_decay": 0.0, "batch_size": 100, "eval_every": None,
    "val_split": 0.0, "patience": None, "gradient": "backprop", "seed": None, "dtype": "float32", "backend": "numpy",
    "device": None, "data_dir": None,
}
#: Settings a resumed run keeps: an explicit option that differs is refused.
FIXED = ("model", "dtype", "batch_size", "optimizer", "lr", "hidden_size", "hidden_sizes", "activation", "weight_init_std",
         "batch_norm", "dropout", "weight_decay", "eval_every", "eval_samples", "val_split", "patience", "gradient", "seed")
#: Fields of the run record that records written before ``--model`` lack (their runs had :data:`DEFAULTS`' values).
ADDED = tuple(RUN_ADDED)
#: Fields of the data set's identity that must match when resuming (the directory may move).
DATA_FIELDS = ("train_size", "test_size", "image_shape", "train_sha256", "test_sha256")


def _option(key: str) -> str:
    return "--" + key.replace("_", "-")


def _show(value: Any) -> str:
    """A setting's value as the command line writes it (``100,100`` for a list)."""
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def given_options(args: argparse.Namespace) -> dict[str, tuple[str, Any]]:
    """The settings of :data:`FIXED` given on the command line: ``{setting: (flag, value)}``.

    ``--weight-init`` and ``--weight-init-std`` both give ``weight_init_std`` (UsageError when both
    are given), as do ``--iters`` and ``--epochs`` the run's length.
    """
    out = {key: (_option(key), getattr(args, key)) for key in FIXED
           if key != "weight_init_std" and getattr(args, key, None) is not None}
    init = [(flag, value) for flag, value in (("--weight-init", getattr(args, "weight_init", None)),
                                              ("--weight-init-std", getattr(args, "weight_init_std", None))) if value is not None]
    if len(init) == 2:
        raise UsageError("--weight-init and --weight-init-std both set the scale of the initial weights; give one "
                         "(--weight-init takes a number too)")
    if init:
        out["weight_init_std"] = init[0]
    if getattr(args, "iters", None) is not None and getattr(args, "epochs", None) is not None:
        raise UsageError(f"--iters {args.iters} and --epochs {args.epochs} both set the length of the run; give one")
    return out


def _length(args: argparse.Namespace, out: dict[str, Any]) -> None:
    """``iters`` and ``epochs`` of ``--iters`` or ``--epochs``, where given (``iters`` None: :func:`settle_length` counts)."""
    if args.iters is not None:
        out["iters"], out["epochs"] = args.iters, None
    elif args.epochs is not None:
        out["iters"], out["epochs"] = None, args.epochs


def fresh_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Settings of a new run: the options given, else the chosen model's defaults, else :data:`DEFAULTS`.

    Without ``--lr`` an optimizer other than the model's own runs at its own default rate (the
    book's: 0.01, Adam 0.001). Options of another model are refused (UsageError).
    """
    from ..optim import get_optimizer

    given = given_options(args)
    model = model_of(args)
    check_applies(given, model, f"--model {model}")
    out = {**DEFAULTS, **MODEL_DEFAULTS[model], "model": model}
    out.update({key: getattr(args, key) for key in ("backend", "device", "data_dir") if getattr(args, key) is not None})
    out.update({key: value for key, (_, value) in given.items()})
    if "lr" not in given and out["optimizer"] != MODEL_DEFAULTS[model]["optimizer"]:
        out["lr"] = get_optimizer(out["optimizer"]).lr
    _length(args, out)
    return out


def upgraded(run: dict[str, Any]) -> dict[str, Any]:
    """A run record with every field: one written before ``--model`` gets :data:`DEFAULTS`' values for :data:`ADDED`."""
    return {**{key: DEFAULTS[key] for key in ADDED}, **run}


def resumed_settings(args: argparse.Namespace, run: dict[str, Any], path: str) -> dict[str, Any]:
    """Settings of a resumed run: the record's, with only the changes that keep it the same run.

    Raises
    ------
    UsageError
        An option differs from the recorded run (naming it, the old and the new value), or
        does not apply to its model.
    """
    run = upgraded(run)
    given = given_options(args)
    model = run["model"]
    if "model" not in given or given["model"][1] == model:
        try:
            check_applies(given, model, f"the run's model {model}")
        except UsageError as exc:
            raise UsageError(f"--resume {path}: {exc}") from None
    for key, (flag, value) in given.items():
        if value != run[key]:
            shown = flag if isinstance(value, bool) else f"{flag} {_show(value)}"
            raise UsageError(
                f"--resume {path}: {shown} differs from the run's {key} {_show(run[key])}; a resumed run keeps "
                f"its settings (drop {flag}, or start a new run without --resume)"
            )
    out = {key: run[key] for key in FIXED}
    out["iters"], out["epochs"] = run["iters"], run["epochs"]
    _length(args, out)
    if args.backend is None:
        out["backend"], out["device"] = run["backend"], run["device"] if args.device is None else args.device
    else:
        out["backend"], out["device"] = args.backend, args.device
    out["data_dir"] = args.data_dir if args.data_dir is not None else run["data"]["dir"]
    return out


def settle_length(s: dict[str, Any], train_size: int, done: int, path: str | None) -> None:
    """Count the iterations of ``--epochs`` (the book's ``int(epochs * max(train_size / batch_size, 1))``) into
    ``s["iters"]``, and refuse a length below the ``done`` iterations of the resumed run at ``path`` (UsageError)."""
    if s["iters"] is None:
        s["iters"] = int(s["epochs"] * max(train_size / s["batch_size"], 1))
        asked = f"--epochs {s['epochs']} ({s['iters']} iterations of batch {s['batch_size']} on {train_size} images)"
    else:
        asked = f"--iters {s['iters']}"
    if s["iters"] < done:
        raise UsageError(f"{asked} is below the {done} iterations the resumed run has done already ({path})")


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
    """What the run is, for its checkpoint (the shape :data:`xpnet.io.schema.RUN_V3` checks when it is read back)."""
    record = {key: settings[key] for key in FIXED}
    record.update(
        backend=backend, device=None if settings["device"] is None else str(settings["device"]), iters=settings["iters"],
        epochs=settings["epochs"], seed=trainer.seed, eval_every=trainer.eval_every, data=identity,
    )
    return record

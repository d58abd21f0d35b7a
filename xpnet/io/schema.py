"""The shape of a checkpoint's metadata, checked field by field before anything is built from it.

A field that is missing, of the wrong type or out of range is reported with its dotted name
(``history.train_loss[3]``), so a corrupt or hostile file fails with one clear message instead
of an ``AttributeError`` deep inside the code that reads it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ARRAY", "META", "META_V1", "META_V3", "NETWORKS", "Obj", "RUN", "RUN_V3", "SchemaError", "validate"]

#: Nesting allowed inside free-form values (configs, generator states).
MAX_DEPTH = 8


class SchemaError(ValueError):
    """A metadata field does not have the expected form (the message names the field)."""


@dataclass(frozen=True)
class Check:
    """A leaf: a predicate and what it expects, in words."""

    test: Callable[[Any], bool]
    expected: str


@dataclass(frozen=True)
class Obj:
    """A JSON object with required and optional keys; other keys are allowed and ignored.

    ``together`` names optional keys that come all or none: the fields a newer writer adds.
    """

    required: dict[str, Any] = field(default_factory=dict)
    optional: dict[str, Any] = field(default_factory=dict)
    together: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListOf:
    """A JSON array whose items all match ``item``."""

    item: Any


@dataclass(frozen=True)
class Maybe:
    """``null`` or a value matching ``spec``."""

    spec: Any


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _depth(v: Any, limit: int) -> bool:
    """True when ``v`` nests no deeper than ``limit`` levels."""
    if isinstance(v, dict):
        return limit > 0 and all(_depth(x, limit - 1) for x in v.values())
    if isinstance(v, list):
        return limit > 0 and all(_depth(x, limit - 1) for x in v)
    return True


INT = Check(_int, "an integer")
COUNT = Check(lambda v: _int(v) and v >= 0, "a non-negative integer")
SIZE = Check(lambda v: _int(v) and v >= 1, "a positive integer")
NUMBER = Check(_number, "a number")
POSITIVE = Check(lambda v: _number(v) and math.isfinite(v) and v > 0, "a positive finite number")
LOSS = Check(lambda v: _number(v) or v in ("nan", "inf", "-inf"), "a number (or 'nan', 'inf')")
STR = Check(lambda v: isinstance(v, str), "a string")
JSON_OBJECT = Check(lambda v: isinstance(v, dict) and _depth(v, MAX_DEPTH), f"an object nested at most {MAX_DEPTH} deep")


def one_of(*values: Any) -> Check:
    """A leaf that accepts exactly these values."""
    return Check(lambda v: isinstance(v, type(values[0])) and v in values, " or ".join(repr(x) for x in values))


HISTORY = Obj(optional={
    "train_loss": ListOf(LOSS), "eval_iters": ListOf(COUNT), "train_acc": ListOf(NUMBER), "test_acc": ListOf(NUMBER),
    "val_acc": ListOf(NUMBER), "train_time": NUMBER, "eval_time": NUMBER, "elapsed": NUMBER, "compile_time": NUMBER,
    "best_iter": Maybe(COUNT), "stop_reason": STR, "notes": ListOf(STR), "config": JSON_OBJECT,
})

BOOL = Check(lambda v: isinstance(v, bool), "true or false")
DTYPE = one_of("float32", "float64")
ACTIVATION = one_of("relu", "sigmoid")
INIT = Check(lambda v: _number(v) or v in ("relu", "he", "sigmoid", "xavier"), "a number or 'relu', 'he', 'sigmoid', 'xavier'")

#: Version 1 and 2 checkpoints hold a TwoLayerNet.
NETWORK = Obj(required={
    "class": one_of("TwoLayerNet"), "input_size": SIZE, "hidden_size": SIZE, "output_size": SIZE,
    "weight_init_std": POSITIVE, "activation": ACTIVATION, "dtype": DTYPE,
})

_DECAY = {"weight_decay_lambda": NUMBER}
_MULTI = {"input_size": SIZE, "hidden_size_list": ListOf(SIZE), "output_size": SIZE, "activation": ACTIVATION,
          "weight_init_std": INIT, "dtype": DTYPE}
#: The configuration of each network a checkpoint may hold (its constructor's arguments), by class.
NETWORKS = {
    "TwoLayerNet": Obj(required={**{k: v for k, v in NETWORK.required.items() if k != "class"}, "weight_init_std": NUMBER},
                       optional=_DECAY),
    "MultiLayerNet": Obj(required=_MULTI, optional=_DECAY),
    "MultiLayerNetExtend": Obj(required={**_MULTI, "use_dropout": BOOL, "dropout_ration": NUMBER, "use_batchnorm": BOOL},
                               optional=_DECAY),
    "SimpleConvNet": Obj(required={
        "input_dim": ListOf(SIZE), "conv_param": Obj(required={"filter_num": SIZE, "filter_size": SIZE, "pad": COUNT,
                                                                "stride": SIZE}),
        "hidden_size": SIZE, "output_size": SIZE, "weight_init_std": NUMBER, "dtype": DTYPE}, optional=_DECAY),
}
NETWORK_V3 = Obj(required={"class": one_of(*NETWORKS)})
#: A stored array of the trainer state: its shape and dtype, checked against the member's header.
ARRAY = Obj(required={"shape": ListOf(COUNT), "dtype": one_of("float32", "float64", "int32", "int64", "uint32")})

#: ``Trainer.state()`` without its history, which the checkpoint stores once, as ``history``.
TRAINER_STATE = Obj(
    required={"rng": JSON_OBJECT},
    optional={"bad_evals": COUNT, "best": Maybe(Obj(required={"val_acc": NUMBER, "iteration": COUNT}))},
)

DATA = Obj(required={
    "source": STR, "dir": Maybe(STR), "train_size": SIZE, "test_size": COUNT, "image_shape": ListOf(SIZE),
    "train_sha256": STR, "test_sha256": STR,
})

RUN = Obj(required={
    "backend": STR, "device": Maybe(STR), "dtype": one_of("float32", "float64"), "iters": COUNT, "seed": COUNT,
    "batch_size": SIZE, "lr": POSITIVE, "hidden_size": SIZE, "activation": one_of("relu", "sigmoid"),
    "weight_init_std": POSITIVE, "eval_every": SIZE, "val_split": NUMBER, "patience": Maybe(SIZE),
    "gradient": one_of("backprop", "numerical"), "data": DATA,
})

FRACTION = Check(lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)")
DROPOUT = Check(lambda v: _number(v) and 0 < v < 1, "a number in (0, 1)")
NON_NEGATIVE = Check(lambda v: _number(v) and math.isfinite(v) and v >= 0, "a non-negative finite number")
INIT_SCALE = Check(lambda v: POSITIVE.test(v) or isinstance(v, str) and INIT.test(v),
                   "a positive finite number or 'relu', 'he', 'sigmoid', 'xavier'")
OPTIMIZER = one_of("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
#: The fields of the run record that ``xpnet train --model`` added: all of them, or none (an older record, of a
#: TwoLayerNet trained with SGD).
RUN_ADDED = {
    "model": one_of("two-layer", "multi-layer", "convnet"), "hidden_sizes": Maybe(ListOf(SIZE)), "batch_norm": BOOL,
    "dropout": Maybe(DROPOUT), "weight_decay": NON_NEGATIVE, "optimizer": OPTIMIZER, "epochs": Maybe(SIZE),
    "eval_samples": Maybe(SIZE),
}
#: The run record of version 3: every field typed. ``hidden_size`` is TwoLayerNet's width and ``activation`` null for
#: the convnet; ``weight_init_std`` a number or He's/Xavier's name; ``iters`` the total, counted from ``epochs`` if given.
RUN_V3 = Obj(
    required={**{k: v for k, v in RUN.required.items() if k not in ("hidden_size", "activation", "weight_init_std")},
              "val_split": FRACTION, "hidden_size": Maybe(SIZE), "activation": Maybe(ACTIVATION),
              "weight_init_std": INIT_SCALE},
    optional=RUN_ADDED, together=tuple(RUN_ADDED),
)

#: The whole metadata of a checkpoint of version 2 (format and version are checked before this). A trainer state
#: needs ``history`` (not null), which the checkpoint's reader checks besides.
META = Obj(
    required={"format": STR, "version": INT, "network": NETWORK},
    optional={"backend": STR, "device": STR, "history": Maybe(HISTORY), "trainer_state": Maybe(TRAINER_STATE),
              "run": Maybe(RUN)},
)

#: Version 1: the trainer state held a second copy of the history.
META_V1 = Obj(
    required=META.required,
    optional={**META.optional, "trainer_state": Maybe(Obj(required={**TRAINER_STATE.required, "history": HISTORY},
                                                          optional=TRAINER_STATE.optional))},
)


#: Version 3: any network of :data:`NETWORKS` (its configuration checked by its own entry), its buffers, and a trainer
#: state whose arrays (the optimizer's state, the best parameters) are members named in ``arrays``.
META_V3 = Obj(
    required={"format": STR, "version": INT, "network": NETWORK_V3},
    optional={"backend": STR, "device": STR, "history": Maybe(HISTORY), "trainer_state": Maybe(Obj(
        required={"rng": JSON_OBJECT},
        optional={"bad_evals": COUNT, "best": Maybe(JSON_OBJECT), "optimizer": JSON_OBJECT})),
        "arrays": Check(lambda v: isinstance(v, dict) and len(v) <= 10_000, "an object of at most 10000 arrays"),
        "run": Maybe(RUN_V3)},
)


def validate(value: Any, spec: Any, where: str = "metadata") -> None:
    """Raise :class:`SchemaError` naming the first field of ``value`` that does not match ``spec``."""
    if isinstance(spec, Maybe):
        if value is not None:
            validate(value, spec.spec, where)
    elif isinstance(spec, Obj):
        if not isinstance(value, dict):
            raise SchemaError(f"{where} must be an object, got {_show(value)}")
        for key, sub in spec.required.items():
            if key not in value:
                raise SchemaError(f"{where} has no field {key!r}")
            validate(value[key], sub, f"{where}.{key}")
        for key, sub in spec.optional.items():
            if key in value:
                validate(value[key], sub, f"{where}.{key}")
        present = [key for key in spec.together if key in value]
        if present and len(present) < len(spec.together):
            missing = next(key for key in spec.together if key not in value)
            raise SchemaError(f"{where} has field {present[0]!r} but no field {missing!r}")
    elif isinstance(spec, ListOf):
        if not isinstance(value, list):
            raise SchemaError(f"{where} must be a list, got {_show(value)}")
        test = spec.item.test if isinstance(spec.item, Check) else None
        for i, item in enumerate(value):
            if test is None or not test(item):  # the fast path for long lists of numbers
                validate(item, spec.item, f"{where}[{i}]")
    elif not spec.test(value):
        raise SchemaError(f"{where} must be {spec.expected}, got {_show(value)}")


def _show(value: Any) -> str:
    """A short description of a JSON value for messages."""
    if isinstance(value, (dict, list)):
        return f"{'an object' if isinstance(value, dict) else 'a list'} of {len(value)} item(s)"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

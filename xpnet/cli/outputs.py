"""``xpnet train``'s output files: checked before any work, written at the end with the checkpoint first.

Every output (``--save``, ``--history``, ``--plot``) is checked before training starts: a
non-empty path; a regular file or a new one, never a directory, device, FIFO or socket; a
directory where a file can be created; no two outputs (nor an output and ``--resume``, other
than ``--save``) naming one file; a plot format matplotlib writes. ``--resume PATH`` without
``--save`` saves back to PATH, checked the same way. At the end the checkpoint is
written first, so a failing history or plot never costs the trained parameters; a checkpoint
that cannot be written where asked is saved to the temporary directory instead.
"""

from __future__ import annotations

import argparse
import os
import shlex
import tempfile
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from .._files.atomic import OutputError, atomic_write_bytes, check_output
from ..training.history import History
from .common import UsageError

__all__ = ["check_not_inputs", "check_outputs", "resume_hint", "write_outputs"]

OUTPUTS = ("save", "history", "plot")


def _same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file (through links, or as hard links of one file)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before any work, every output path that could not be written at the end (UsageError, one line)."""
    targets: dict[str, Path] = {}
    for option in OUTPUTS:
        value = getattr(args, option)
        if value is None:
            continue
        if value == "":
            raise UsageError(f"--{option}: empty path; name a file, e.g. --{option} {_example(option)}")
        if option == "plot":
            value = args.plot = str(_plot_target(value))
        if option == "save" and getattr(args, "save_back", False):
            if os.path.isfile(value):  # otherwise the checkpoint's reader says what is wrong with it
                _check_save_back(value)
            continue
        try:
            targets[option] = check_output(value)
        except OutputError as exc:
            raise UsageError(f"--{option} {exc}") from None
    if args.resume is not None:
        targets["resume"] = Path(args.resume)
    names = list(targets)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if {a, b} != {"save", "resume"} and _same_file(targets[a], targets[b]):
                raise UsageError(f"--{a} and --{b} name the same file {getattr(args, a)}; each output needs its own file")


def _check_save_back(path: str) -> None:
    """Refuse a ``--resume`` checkpoint that cannot be written back (no ``--save`` given)."""
    try:
        check_output(path)
    except OutputError as exc:
        raise UsageError(f"--resume {exc}; without --save the continued run is written back to it: pass --save PATH "
                         "to write it elsewhere") from None


def check_not_inputs(args: argparse.Namespace, inputs: list[Path]) -> None:
    """Refuse an output that would overwrite one of the run's input files (UsageError, one line)."""
    for option in OUTPUTS:
        value = getattr(args, option)
        for path in inputs:
            if value and path.exists() and _same_file(Path(value), path):
                raise UsageError(f"--{option} {value} is the data file {path}; choose another path")


def _example(option: str) -> str:
    return {"save": "net.npz", "history": "history.json", "plot": "curves.png"}[option]


def _plot_target(value: str) -> Path:
    """The file ``--plot value`` writes (``.png`` added without a suffix), with its format checked."""
    try:
        from ..io.plot import plot_format, plot_path

        path = plot_path(value)
        plot_format(path)
    except ImportError:
        raise UsageError("--plot needs matplotlib, which is not installed: pip install 'xpnet[plot]'") from None
    except ValueError as exc:
        raise UsageError(f"--plot {exc}") from None
    return path


def _rescue(trainer: Any, history: History, run: dict[str, Any]) -> str | None:
    """Save the checkpoint in the temporary directory; its path, or None when that fails too."""
    from ..io.checkpoint import save

    fd, name = tempfile.mkstemp(prefix="xpnet-rescued-", suffix=".npz")
    os.close(fd)
    try:
        save(trainer.network, name, history=history, trainer_state=trainer.state(), run=run)
    except CheckpointError:
        os.unlink(name)
        return None
    return name


def write_outputs(args: argparse.Namespace, trainer: Any, history: History, run: dict[str, Any], *,
                  save: bool) -> tuple[list[str], list[str]]:
    """Write the outputs asked for, the checkpoint first (when ``save``); ``(written, failures)``, both in words."""
    from ..io.checkpoint import save as save_checkpoint
    from ..io.plot import plot_history

    written, failed = [], []
    if save and args.save:
        try:
            save_checkpoint(trainer.network, args.save, history=history, trainer_state=trainer.state(), run=run)
            written.append(f"checkpoint {args.save}")
        except CheckpointError as exc:
            rescued = _rescue(trainer, history, run)
            failed.append(f"{exc}" + (f" (saved it to {rescued} instead)" if rescued else ""))
    if args.history:
        try:
            atomic_write_bytes(args.history, history.to_json().encode())
            written.append(f"history {args.history}")
        except OSError as exc:
            failed.append(f"cannot write history {args.history}: {exc.strerror or exc}")
    if args.plot and history.iterations:
        try:
            plot_history(history, args.plot, title=f"{type(trainer.network).__name__} on {history.config.get('dataset', 'MNIST')} "
                                                   f"({trainer.backend}, {trainer.dtype_name})")
            written.append(f"plot {args.plot}")
        except Exception as exc:  # matplotlib's failures are its own; the run's results are written already
            failed.append(f"cannot write plot {args.plot}: {getattr(exc, 'strerror', None) or exc}")
    return written, failed


def resume_hint(args: argparse.Namespace) -> str:
    """The command that continues this run from its checkpoint (the checkpoint holds everything else, and is written back)."""
    parts = ["xpnet", "train", "--resume", args.save]
    for option in ("history", "plot", "threads", "eval_threads"):
        value = getattr(args, option)
        if value is not None:
            parts += ["--" + option.replace("_", "-"), str(value)]
    return " ".join(shlex.quote(str(p)) for p in parts)

"""A progress bar for a training run (tqdm): it moves by time, shows rate and ETA, and writes each evaluation line above itself.

The trainer prints nothing; this is a pair of callbacks for :meth:`Trainer.run`. With
``notebook=True`` (what ``train(..., progress=True)`` uses) it is ``tqdm.auto``'s bar: a widget
in Jupyter, text in a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any

from .history import EvalRecord

__all__ = ["PROGRESS_SECONDS", "ProgressBar"]

#: Seconds between two progress reports of a run with a bar: a slow run's bar still moves.
PROGRESS_SECONDS = 0.5


class ProgressBar:
    """A tqdm bar over a run's iterations, with the latest loss, and the evaluation lines written above it.

    Parameters
    ----------
    total : int
        Iterations of the whole run.
    initial : int
        Iterations done before (a resumed run).
    notebook : bool
        Use ``tqdm.auto`` (a widget in Jupyter) instead of the terminal bar.
    file : file object, optional
        Where the bar goes (default: stderr).
    lines : bool
        Write each evaluation point's line above the bar.
    """

    def __init__(self, total: int, initial: int = 0, *, notebook: bool = False, file: IO[str] | None = None,
                 lines: bool = True) -> None:
        if notebook:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        self._bar = tqdm(total=total, initial=initial, unit="it", desc="training", dynamic_ncols=True,
                         file=file if file is not None else sys.stderr, leave=notebook)
        self._done = initial
        self._lines = lines

    def progress(self, done: int, loss: float) -> None:
        """``on_progress`` callback: move to ``done`` iterations, show ``loss``."""
        self._bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        self._bar.update(done - self._done)
        self._done = done

    def evaluation(self, record: EvalRecord) -> None:
        """``on_eval`` callback: write the evaluation point's line above the bar."""
        if self._lines:
            self.write(record.line())

    def write(self, text: str) -> None:
        """Print ``text`` above the bar (on its stream)."""
        self._bar.write(text)

    def callbacks(
        self, on_progress: Callable[[int, float], None] | None = None, on_eval: Callable[[EvalRecord], None] | None = None
    ) -> tuple[Callable[[int, float], None], Callable[[EvalRecord], None]]:
        """``(on_progress, on_eval)`` that update this bar, then call the given callbacks."""

        def progress(done: int, loss: float) -> None:
            self.progress(done, loss)
            if on_progress is not None:
                on_progress(done, loss)

        def evaluation(record: EvalRecord) -> None:
            self.evaluation(record)
            if on_eval is not None:
                on_eval(record)

        return progress, evaluation

    def close(self) -> None:
        """Remove the bar."""
        self._bar.close()

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

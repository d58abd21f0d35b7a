"""Loss functions (book section 4.2): sum of squares and cross-entropy on the book's two predictions.

The correct class is 2. Prediction ``y1`` puts 0.6 on it, ``y2`` puts 0.6 on class 7: both
losses are small for ``y1`` and large for ``y2``. Cross-entropy takes one-hot targets or
labels, and a batch gives the mean over its rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import make_parser, parse, show

import xpnet

Y1 = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]  # most probability on class 2: right
Y2 = [0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0]  # most probability on class 7: wrong
T = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]  # one-hot target: class 2


def main(argv: Sequence[str] | None = None) -> int:
    args, be = parse(make_parser(__doc__), argv)
    y1, y2, t = (be.asarray(v, dtype=args.dtype) for v in (Y1, Y2, T))
    label = be.asarray(2)

    show("mean_squared_error(y1, t)", xpnet.mean_squared_error(y1, t), note="book: 0.0975")
    show("mean_squared_error(y2, t)", xpnet.mean_squared_error(y2, t), note="book: 0.5975")
    show("cross_entropy_error(y1, t)", xpnet.cross_entropy_error(y1, t), note="book: 0.510825457099338")
    show("cross_entropy_error(y2, t)", xpnet.cross_entropy_error(y2, t), note="book: 2.302584092994546")
    show("cross_entropy_error(y1, label 2)", xpnet.cross_entropy_error(y1, label), note="same as one-hot")
    show("cross_entropy_error(y2, label 2)", xpnet.cross_entropy_error(y2, label), note="same as one-hot")

    xp = be.xp
    y_batch = xp.stack([y1, y2])
    show("cross_entropy_error(batch, one-hot)", xpnet.cross_entropy_error(y_batch, xp.stack([t, t])), note="mean of the two rows")
    show("cross_entropy_error(batch, labels)", xpnet.cross_entropy_error(y_batch, be.asarray([2, 2])), note="mean of the two rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

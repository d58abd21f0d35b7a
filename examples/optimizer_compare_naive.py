"""SGD, Momentum, AdaGrad and Adam on f(x, y) = x²/20 + y² (book section 6.1, ``ch06/optimizer_compare_naive.py``).

Each optimizer starts at (-7, 2) and takes 30 steps with the book's learning rates (SGD 0.95,
Momentum 0.1, AdaGrad 1.5, Adam 0.3). The parameters are Python floats, as in the book; with
``--arrays`` they are one-element arrays of the chosen backend, and the positions agree.
Printed: each optimizer's position after the 30 steps, its distance to the minimum (0, 0) and
how often y changed sign: SGD zigzags across the valley at every step (30 times) while
crawling along x; Momentum rolls past the minimum like a ball and back; AdaGrad damps y at
once and never crosses; Adam swings gently. ``--plot``/``--show``: the four paths over the
contour lines (the book's figure 6-8).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from _common import make_parser, parse, pyplot, save_figure, scalar, show

from xpnet.optim import SGD, AdaGrad, Adam, Momentum


def f(x, y):
    return x**2 / 20.0 + y**2


def df(x, y):
    return x / 10.0, 2.0 * y


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__, plot=True)
    parser.add_argument("--arrays", action="store_true",
                        help="parameters as one-element arrays of --backend (default: Python floats, as the book)")
    parser.add_argument("--steps", type=int, default=30, help="updates per optimizer (book: 30)")
    args, be = parse(parser, argv)

    init_pos = (-7.0, 2.0)
    # Arrays of shape (1,), not 0-d: NumPy turns 0-d arithmetic (df's x / 10.0) into NumPy scalars.
    start = (lambda v: be.asarray([v], dtype=args.dtype)) if args.arrays else float
    params, grads = {}, {}

    optimizers = {"SGD": SGD(lr=0.95), "Momentum": Momentum(lr=0.1), "AdaGrad": AdaGrad(lr=1.5), "Adam": Adam(lr=0.3)}
    paths = {}
    for key, optimizer in optimizers.items():
        x_history, y_history = [], []
        params["x"], params["y"] = start(init_pos[0]), start(init_pos[1])

        for i in range(args.steps):
            x_history.append(scalar(params["x"]))  # a copy: an array parameter is updated in place
            y_history.append(scalar(params["y"]))

            grads["x"], grads["y"] = df(params["x"], params["y"])
            optimizer.update(params, grads)

        x, y = scalar(params["x"]), scalar(params["y"])
        show(f"{key} position after {args.steps} steps", np.array([x, y]))
        show(f"{key} distance to the minimum", math.hypot(x, y), digits=6)
        y_path = [*y_history, y]
        show(f"{key} sign changes of y", sum(a * b < 0 for a, b in zip(y_path, y_path[1:])))
        paths[key] = (x_history, y_history)

    if args.plot or args.show:
        plot_paths(paths, args.plot, args.show)
    return 0


def plot_paths(paths: dict[str, tuple[list[float], list[float]]], path: str | None, window: bool) -> None:
    """The book's figure 6-8: each optimizer's path over the contour lines of ``f`` (cut off above 7)."""
    plt = pyplot(window)
    if plt is None:
        return
    X, Y = np.meshgrid(np.arange(-10, 10, 0.01), np.arange(-5, 5, 0.01))
    Z = f(X, Y)
    Z = np.where(Z > 7, 0.0, Z)  # for simple contour lines, as in the book
    fig = plt.figure(figsize=(9, 8))
    for idx, (key, (x_history, y_history)) in enumerate(paths.items(), start=1):
        ax = fig.add_subplot(2, 2, idx)
        ax.plot(x_history, y_history, "o-", color="red")
        ax.contour(X, Y, Z)
        ax.set_ylim(-10, 10)
        ax.set_xlim(-10, 10)
        ax.plot(0, 0, "+")
        ax.set_title(key)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    fig.tight_layout()
    save_figure(fig, path, window)


if __name__ == "__main__":
    raise SystemExit(main())

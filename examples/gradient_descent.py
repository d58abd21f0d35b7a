"""Gradient descent (book section 4.4.1) on ``function_2(x) = x0² + x1²`` from (-3, 4).

With ``lr = 0.1`` and 100 steps it reaches about (-6.1e-10, 8.1e-10), the minimum (0, 0). A
learning rate of 10 diverges to about (-2.58e13, -1.29e12); one of 1e-10 hardly moves.
``--plot`` draws the path of the first 20 steps (the book's figure 4-10).
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import make_parser, parse, pyplot, save_figure, show, to_host

import xpnet

START = (-3.0, 4.0)
RUNS = (  # (label, lr, the book's result after 100 steps)
    ("lr=0.1", 0.1, "[-6.11110793e-10, 8.14814391e-10]"),
    ("lr=10 (too large)", 10.0, "[-2.58983747e+13, -1.29524862e+12]"),
    ("lr=1e-10 (too small)", 1e-10, "[-2.99999994, 3.99999992]"),
)


def function_2(x):
    """The book's ``x0² + x1²`` for a point ``x`` of shape (2,)."""
    return x[0] ** 2 + x[1] ** 2


def main(argv: Sequence[str] | None = None) -> int:
    args, be = parse(make_parser(__doc__, plot=True), argv)
    init_x = be.asarray(START, dtype=args.dtype)
    for label, lr, book in RUNS:
        x, _ = xpnet.gradient_descent(function_2, init_x, lr=lr, step_num=100)
        show(f"gradient_descent {label}, 100 steps", x, note=f"book: {book}")

    if args.plot or args.show:
        _, history = xpnet.gradient_descent(function_2, init_x, lr=0.1, step_num=20)
        plot_path(args.plot, [to_host(p) for p in history], window=args.show)
    return 0


def plot_path(path: str | None, history: list, *, window: bool = False) -> None:
    """The book's figure 4-10: the points visited, on axes through the minimum."""
    plt = pyplot(window)
    if plt is None:
        return
    fig, ax = plt.subplots()
    ax.axhline(0, color="b", linestyle="--")
    ax.axvline(0, color="b", linestyle="--")
    ax.plot([p[0] for p in history], [p[1] for p in history], "o")
    ax.set_xlim(-3.5, 3.5)
    ax.set_ylim(-4.5, 4.5)
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    save_figure(fig, path, window)


if __name__ == "__main__":
    raise SystemExit(main())

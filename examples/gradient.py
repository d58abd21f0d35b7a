"""Gradients (book section 4.4): partial derivatives and the gradient of ``function_2(x) = x0² + x1²``.

At (3, 4) the partial derivatives are 6 and 8, found once with one-variable functions
(the other coordinate held fixed) and once with ``numerical_gradient``. ``--plot`` draws the
book's figure 4-9: the arrows of ``-grad f`` on a grid, all pointing to the minimum at (0, 0).
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import make_parser, parse, pyplot, save_figure, show, to_host

import xpnet


def function_2(x):
    """The book's ``x0² + x1²`` for a point ``x`` of shape (2,)."""
    return x[0] ** 2 + x[1] ** 2


def main(argv: Sequence[str] | None = None) -> int:
    args, be = parse(make_parser(__doc__, plot=True), argv)
    xp = be.xp

    def function_tmp1(x0):  # x1 held at 4
        return x0 * x0 + 4.0**2

    def function_tmp2(x1):  # x0 held at 3
        return 3.0**2 + x1 * x1

    show("df/dx0 at (3, 4)", xpnet.numerical_diff(function_tmp1, be.asarray(3.0, dtype=args.dtype)), note="book: 6.00000000000378")
    show("df/dx1 at (3, 4)", xpnet.numerical_diff(function_tmp2, be.asarray(4.0, dtype=args.dtype)), note="book: 7.999999999999119")
    for point, book in (((3.0, 4.0), "[6, 8]"), ((0.0, 2.0), "[0, 4]"), ((3.0, 0.0), "[6, 0]")):
        grad = xpnet.numerical_gradient(function_2, be.asarray(point, dtype=args.dtype))
        show(f"numerical_gradient at ({point[0]:g}, {point[1]:g})", grad, digits=10, note=f"book: {book}")

    # The book's numerical_gradient on a 2-D array: one gradient per row (grid point).
    axis = xp.arange(-2.0, 2.5, 0.25, dtype=be.dtype(args.dtype), device=be.device)
    x0, x1 = xp.meshgrid(axis, axis)
    points = xp.stack([xp.reshape(x0, (-1,)), xp.reshape(x1, (-1,))], axis=1)  # (P, 2)
    grads = xp.stack([xpnet.numerical_gradient(function_2, points[i, :]) for i in range(points.shape[0])])
    tol = {"float64": 1e-6, "float32": 0.05}[args.dtype]  # central-difference rounding error at h = 1e-4
    agrees = bool(to_host(xp.all(xp.abs(grads - 2 * points) < tol)))
    show(f"gradient on the {axis.shape[0]}x{axis.shape[0]} grid equals 2x", agrees, note=f"{points.shape[0]} points")

    if args.plot or args.show:
        plot_field(args.plot, points, grads, window=args.show)
    return 0


def plot_field(path: str | None, points, grads, *, window: bool = False) -> None:
    """The book's figure 4-9: a quiver plot of ``-grad f``."""
    plt = pyplot(window)
    if plt is None:
        return
    p, g = to_host(points), to_host(grads)
    fig, ax = plt.subplots()
    ax.quiver(p[:, 0], p[:, 1], -g[:, 0], -g[:, 1], angles="xy", color="#666666")
    ax.set_xlim(-2, 2)
    ax.set_ylim(-2, 2)
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.grid()
    save_figure(fig, path, window)


if __name__ == "__main__":
    raise SystemExit(main())

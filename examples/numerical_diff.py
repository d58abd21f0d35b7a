"""Numerical differentiation (book section 4.3): ``function_1(x) = 0.01x² + 0.1x`` and its tangents.

The central difference with ``h = 1e-4`` matches the analytic derivative ``0.02x + 0.1`` to
about 1e-12. The "bad" forward difference with ``h = 1e-50`` gives 0: ``x + 1e-50`` rounds
back to ``x`` (and in float32, 1e-50 itself underflows to 0), so ``f(x + h) - f(x)`` is 0.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from _common import make_parser, parse, pyplot, save_figure, scalar, show, to_host

import xpnet


def function_1(x):
    """The book's ``0.01x² + 0.1x``, for a number or an array of any backend."""
    return 0.01 * x**2 + 0.1 * x


def bad_numerical_diff(f, x, h=1e-50):
    """The book's first attempt: forward difference with a step far too small to survive rounding."""
    with warnings.catch_warnings():  # float32: h rounds to 0 too, and 0/0 warns before giving nan
        warnings.simplefilter("ignore", RuntimeWarning)
        return (f(x + h) - f(x)) / h


BOOK = {5.0: 0.1999999999990898, 10.0: 0.2999999999986347}
BAD_NOTE = {"float64": "rounding error: 0 / 1e-50 = 0", "float32": "rounding error: h is 0 in float32 too, 0 / 0 = nan"}


def main(argv: Sequence[str] | None = None) -> int:
    args, be = parse(make_parser(__doc__, plot=True), argv)
    points = {x0: be.asarray(x0, dtype=args.dtype) for x0 in (5.0, 10.0)}
    slopes = {}
    for x0, x in points.items():
        slopes[x0] = xpnet.numerical_diff(function_1, x)
        show(f"numerical_diff(function_1, {x0:g})", slopes[x0], note=f"book: {BOOK[x0]}")
        show(f"analytic derivative at {x0:g}", 0.02 * x + 0.1, digits=12, note="0.02x + 0.1")
        show(f"bad forward diff h=1e-50 at {x0:g}", bad_numerical_diff(function_1, x), note=BAD_NOTE[args.dtype])
    x = points[5.0]
    show("x + 1e-50 == x", bool(to_host(x + 1e-50 == x)), note="the step is lost in the addition")
    show("f(x + 1e-50) - f(x)", function_1(x + 1e-50) - function_1(x), note="so the forward difference is 0 / h")
    show("1e-50 in float32", be.asarray(1e-50, dtype="float32"), note="underflows to 0 (the book's np.float32(1e-50))")

    if args.plot or args.show:
        plot_tangents(args.plot, be, args.dtype, slopes, window=args.show)
    return 0


def plot_tangents(path: str | None, be, dtype: str, slopes: dict, *, window: bool = False) -> None:
    """The book's figure 4-7: ``function_1`` on [0, 20) with its tangent lines at 5 and 10."""
    plt = pyplot(window)
    if plt is None:
        return
    xp = be.xp
    x = xp.arange(0.0, 20.0, 0.1, dtype=be.dtype(dtype), device=be.device)
    fig, ax = plt.subplots()
    ax.plot(to_host(x), to_host(function_1(x)), label="f(x)")
    for x0, d in slopes.items():
        tangent = d * (x - x0) + function_1(x0)  # the book's tangent_line(f, x0)
        ax.plot(to_host(x), to_host(tangent), "--", label=f"tangent at x={x0:g} (slope {scalar(d):.4f})")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.legend()
    save_figure(fig, path, window)


if __name__ == "__main__":
    raise SystemExit(main())

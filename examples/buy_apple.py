"""Backpropagation through a shopping bill (book section 5.4): ``MulLayer`` and ``AddLayer``.

Two apples at 100 with 10% tax cost 220; backward from 1 gives how the price changes with
each input. Adding three oranges at 150 makes 715. Values are 0-d arrays on the chosen
backend, printed rounded as in the book (715.0000000000001 -> 715).
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import make_parser, parse, show

from xpnet import AddLayer, MulLayer

DIGITS = 10  # significant digits printed: hides float rounding like 220.00000000000003


def buy_apple(num):
    """Forward and backward of ``apple * apple_num * tax``; ``num`` turns numbers into backend arrays."""
    apple, apple_num, tax = num(100.0), num(2.0), num(1.1)
    mul_apple, mul_tax = MulLayer(), MulLayer()
    price = mul_tax.forward(mul_apple.forward(apple, apple_num), tax)
    dapple_price, dtax = mul_tax.backward(num(1.0))
    dapple, dapple_num = mul_apple.backward(dapple_price)
    show("apple price", price, digits=DIGITS, note="book: 220")
    for name, value, book in (("dapple", dapple, 2.2), ("dapple_num", dapple_num, 110), ("dtax", dtax, 200)):
        show(f"apple {name}", value, digits=DIGITS, note=f"book: {book}")


def buy_apple_orange(num):
    """Forward and backward of ``(apple * apple_num + orange * orange_num) * tax``."""
    apple, apple_num, orange, orange_num, tax = num(100.0), num(2.0), num(150.0), num(3.0), num(1.1)
    mul_apple, mul_orange, add_apple_orange, mul_tax = MulLayer(), MulLayer(), AddLayer(), MulLayer()
    apple_price = mul_apple.forward(apple, apple_num)
    orange_price = mul_orange.forward(orange, orange_num)
    price = mul_tax.forward(add_apple_orange.forward(apple_price, orange_price), tax)

    dall_price, dtax = mul_tax.backward(num(1.0))
    dapple_price, dorange_price = add_apple_orange.backward(dall_price)
    dorange, dorange_num = mul_orange.backward(dorange_price)
    dapple, dapple_num = mul_apple.backward(dapple_price)
    show("apple+orange price", price, digits=DIGITS, note="book: 715")
    grads = (("dapple_num", dapple_num, 110), ("dapple", dapple, 2.2), ("dorange", dorange, 3.3),
             ("dorange_num", dorange_num, 165), ("dtax", dtax, 650))
    for name, value, book in grads:
        show(f"apple+orange {name}", value, digits=DIGITS, note=f"book: {book}")


def main(argv: Sequence[str] | None = None) -> int:
    args, be = parse(make_parser(__doc__), argv)

    def num(v):
        return be.asarray(v, dtype=args.dtype)

    buy_apple(num)
    buy_apple_orange(num)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

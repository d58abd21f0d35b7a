"""Chapter 7: im2col/col2im, Convolution and Pooling against loop references, numerical gradients, overrides against
the portable operations, JAX under jit, no writes into inputs, the book's layout, errors."""

import numpy as np
import pytest
from conftest import assert_close, read_only, to_np

from xpnet import numerical_gradient
from xpnet._array.ops import Ops, ops_for
from xpnet._array.trust import trusted
from xpnet.layers import Convolution, Pooling
from xpnet.util import col2im, im2col

#: (filter_h, filter_w, stride, pad): strides 1 and 2, pads 0, 1 and 2, square and not.
GEOMETRIES = [(2, 3, 2, 1), (3, 2, 1, 2), (2, 2, 2, 0), (3, 3, 2, 2), (1, 2, 1, 1)]
GEOMETRY_IDS = [f"{fh}x{fw}-s{s}-p{p}" for fh, fw, s, p in GEOMETRIES]
X_SHAPE = (2, 3, 7, 6)
EXACT = {"rtol": 1e-12, "atol": 1e-12}


# --- independent references: loops over window positions, in NumPy ---------------------------
def _positions(shape, fh, fw, stride, pad):
    """(y, x, rows, cols) of every window over the padded images of ``shape``."""
    h, w = shape[2] + 2 * pad, shape[3] + 2 * pad
    for y, top in enumerate(range(0, h - fh + 1, stride)):
        for x, left in enumerate(range(0, w - fw + 1, stride)):
            yield y, x, slice(top, top + fh), slice(left, left + fw)


def _out_hw(shape, fh, fw, stride, pad):
    return (shape[2] + 2 * pad - fh) // stride + 1, (shape[3] + 2 * pad - fw) // stride + 1


def _padded(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def im2col_ref(x, fh, fw, stride, pad):
    """Row (n, y, x): the window's values ordered (c, i, j)."""
    img, (oh, ow) = _padded(x, pad), _out_hw(x.shape, fh, fw, stride, pad)
    col = np.zeros((x.shape[0], oh, ow, x.shape[1] * fh * fw))
    for y, xx, rows, cols in _positions(x.shape, fh, fw, stride, pad):
        col[:, y, xx] = img[:, :, rows, cols].reshape(x.shape[0], -1)
    return col.reshape(-1, col.shape[-1])


def col2im_ref(col, shape, fh, fw, stride, pad):
    n, c, h, w = shape
    oh, ow = _out_hw(shape, fh, fw, stride, pad)
    win = col.reshape(n, oh, ow, c, fh, fw)
    img = np.zeros((n, c, h + 2 * pad, w + 2 * pad))
    for y, xx, rows, cols in _positions(shape, fh, fw, stride, pad):
        img[:, :, rows, cols] += win[:, y, xx]
    return img[:, :, pad:pad + h, pad:pad + w]


def conv_ref(x, W, b, stride, pad):
    img, (oh, ow) = _padded(x, pad), _out_hw(x.shape, W.shape[2], W.shape[3], stride, pad)
    out = np.zeros((x.shape[0], W.shape[0], oh, ow))
    for y, xx, rows, cols in _positions(x.shape, W.shape[2], W.shape[3], stride, pad):
        out[:, :, y, xx] = np.einsum("ncij,fcij->nf", img[:, :, rows, cols], W) + b
    return out


def conv_grads_ref(x, W, dout, stride, pad):
    """(dx, dW, db) of sum(conv(x, W, b) * dout)."""
    img = _padded(x, pad)
    dimg, dW = np.zeros_like(img), np.zeros_like(W)
    for y, xx, rows, cols in _positions(x.shape, W.shape[2], W.shape[3], stride, pad):
        d = dout[:, :, y, xx]
        dW += np.einsum("nf,ncij->fcij", d, img[:, :, rows, cols])
        dimg[:, :, rows, cols] += np.einsum("nf,fcij->ncij", d, W)
    h, w = x.shape[2:]
    return dimg[:, :, pad:pad + h, pad:pad + w], dW, dout.sum(axis=(0, 2, 3))


def pool_ref(x, ph, pw, stride, pad, dout=None):
    """Max of each zero-padded window; with ``dout``, also the gradient sent to each window's first maximum."""
    img, (oh, ow) = _padded(x, pad), _out_hw(x.shape, ph, pw, stride, pad)
    out, dimg = np.zeros(x.shape[:2] + (oh, ow)), np.zeros_like(img)
    for y, xx, rows, cols in _positions(x.shape, ph, pw, stride, pad):
        win = img[:, :, rows, cols].reshape(x.shape[0], x.shape[1], -1)
        out[:, :, y, xx] = win.max(axis=-1)
        if dout is not None:
            first = np.cumsum(win == win.max(axis=-1, keepdims=True), axis=-1) == 1
            first &= win == win.max(axis=-1, keepdims=True)
            dimg[:, :, rows, cols] += (first * dout[:, :, y, xx, None]).reshape(x.shape[0], x.shape[1], ph, pw)
    h, w = x.shape[2:]
    return out, dimg[:, :, pad:pad + h, pad:pad + w]


def _with_ties(rng, shape):
    """Small integers, half of them zero: windows with several equal maxima (as after ReLU)."""
    return np.round(rng.normal(size=shape) * 2) * (rng.random(shape) < 0.5)


# --- the public functions and the layers against the references ------------------------------
@pytest.mark.parametrize(("fh", "fw", "stride", "pad"), GEOMETRIES, ids=GEOMETRY_IDS)
def test_im2col_and_col2im_match_their_definitions(backend, fh, fw, stride, pad):
    rng = np.random.default_rng(0)
    x = rng.normal(size=X_SHAPE)
    col = im2col(backend.asarray(x, dtype="float64"), fh, fw, stride, pad)
    expected = im2col_ref(x, fh, fw, stride, pad)
    assert_close(col, expected, rtol=0, atol=0)
    c = rng.normal(size=expected.shape)
    back = col2im(backend.asarray(c, dtype="float64"), X_SHAPE, fh, fw, stride, pad)
    assert tuple(back.shape) == X_SHAPE
    assert_close(back, col2im_ref(c, X_SHAPE, fh, fw, stride, pad), **EXACT)
    # col2im is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)>
    assert np.sum(expected * c) == pytest.approx(np.sum(x * to_np(back)), rel=1e-12)


def test_im2col_gives_the_books_column_order(backend):
    x = backend.asarray(np.arange(18.0).reshape(1, 2, 3, 3), dtype="float64")  # channel 0: 0..8, channel 1: 9..17
    expected = [[0, 1, 3, 4, 9, 10, 12, 13], [1, 2, 4, 5, 10, 11, 13, 14],
                [3, 4, 6, 7, 12, 13, 15, 16], [4, 5, 7, 8, 13, 14, 16, 17]]
    assert_close(im2col(x, 2, 2), expected, rtol=0, atol=0)
    padded = to_np(im2col(x, 2, 2, stride=2, pad=1))  # rows (y, x) = (0, 0), (0, 1), (1, 0), (1, 1)
    np.testing.assert_array_equal(padded[0], [0, 0, 0, 0, 0, 0, 0, 9])
    np.testing.assert_array_equal(padded[3], [4, 5, 7, 8, 13, 14, 16, 17])


@pytest.mark.parametrize(("fh", "fw", "stride", "pad"), GEOMETRIES, ids=GEOMETRY_IDS)
def test_convolution_matches_the_loop_reference(backend, fh, fw, stride, pad):
    rng = np.random.default_rng(1)
    x, W, b = rng.normal(size=X_SHAPE), rng.normal(size=(4, 3, fh, fw)), rng.normal(size=4)
    layer = Convolution(backend.asarray(W, dtype="float64"), backend.asarray(b, dtype="float64"), stride, pad)
    out = layer.forward(backend.asarray(x, dtype="float64"))
    assert_close(out, conv_ref(x, W, b, stride, pad), **EXACT)
    dout = rng.normal(size=tuple(out.shape))
    dx = layer.backward(backend.asarray(dout, dtype="float64"))
    for got, want in zip((dx, layer.dW, layer.db), conv_grads_ref(x, W, dout, stride, pad)):
        assert_close(got, want, **EXACT)
    if layer.col is not None:
        assert_close(layer.col, im2col_ref(x, fh, fw, stride, pad), rtol=0, atol=0)
        assert_close(layer.col_W, W.reshape(4, -1).T, rtol=0, atol=0)


@pytest.mark.parametrize(("ph", "pw", "stride", "pad"), GEOMETRIES, ids=GEOMETRY_IDS)
def test_pooling_matches_the_loop_reference_with_ties(backend, ph, pw, stride, pad):
    rng = np.random.default_rng(2)
    x = _with_ties(rng, X_SHAPE)
    layer = Pooling(ph, pw, stride, pad)
    out = layer.forward(backend.asarray(x, dtype="float64"))
    dout = rng.normal(size=tuple(out.shape))
    want_out, want_dx = pool_ref(x, ph, pw, stride, pad, dout)
    assert_close(out, want_out, rtol=0, atol=0)
    assert_close(layer.backward(backend.asarray(dout, dtype="float64")), want_dx, **EXACT)
    if layer.arg_max is not None:  # the window position of the first maximum, as the book's argmax
        win = im2col_ref(x, ph, pw, stride, pad).reshape(-1, ph * pw)
        book_order = to_np(layer.arg_max).transpose(0, 2, 3, 1).reshape(-1)
        np.testing.assert_array_equal(book_order, np.argmax(win, axis=1))


def test_pooling_pads_with_zeros_that_take_part_in_the_maximum(backend):
    x = -1.0 - np.arange(16.0).reshape(1, 1, 4, 4)  # every value negative
    out = Pooling(2, 2, stride=2, pad=1).forward(backend.asarray(x, dtype="float64"))
    assert_close(out, [[[[0.0, 0.0, 0.0], [0.0, -6.0, 0.0], [0.0, 0.0, 0.0]]]], rtol=0, atol=0)


def _numerical_check(backend, fn, at, dout, analytic):
    """``analytic`` equals the numerical gradient of sum(fn(a) * dout) at ``at``."""
    xp = backend.xp
    w = backend.asarray(dout, dtype="float64")
    num = numerical_gradient(lambda a: xp.sum(fn(a) * w), backend.asarray(at, dtype="float64"))
    assert_close(analytic, to_np(num), rtol=1e-6, atol=1e-8)


def test_convolution_gradients_match_numerical(backend):
    rng = np.random.default_rng(3)
    x, W, b = rng.normal(size=(1, 2, 5, 4)), rng.normal(size=(2, 2, 3, 2)), rng.normal(size=2)
    A = lambda a: backend.asarray(a, dtype="float64")  # noqa: E731
    layer = Convolution(A(W), A(b), stride=2, pad=1)
    dout = rng.normal(size=tuple(layer.forward(A(x)).shape))
    dx = layer.backward(A(dout))
    _numerical_check(backend, lambda a: Convolution(A(W), A(b), 2, 1).forward(a), x, dout, dx)
    _numerical_check(backend, lambda w: Convolution(w, A(b), 2, 1).forward(A(x)), W, dout, layer.dW)
    _numerical_check(backend, lambda c: Convolution(A(W), c, 2, 1).forward(A(x)), b, dout, layer.db)


def test_pooling_gradient_matches_numerical(backend):
    rng = np.random.default_rng(4)
    x = rng.permutation(40).reshape(1, 2, 4, 5) / 10.0 - 1.55  # distinct values, none near zero (the padding)
    layer = Pooling(2, 3, stride=1, pad=1)
    out = layer.forward(backend.asarray(x, dtype="float64"))
    dout = rng.normal(size=tuple(out.shape))
    dx = layer.backward(backend.asarray(dout, dtype="float64"))
    _numerical_check(backend, lambda a: Pooling(2, 3, 1, 1).forward(a), x, dout, dx)


# --- overrides: each one equals the portable operations -----------------------------------
def _op_inputs(backend, fh, fw, stride, pad, seed=5):
    """float64 inputs for every operation on one geometry (pooling's with ties)."""
    rng = np.random.default_rng(seed)
    oh, ow = _out_hw(X_SHAPE, fh, fw, stride, pad)
    shapes = {"x": X_SHAPE, "W": (4, 3, fh, fw), "b": (4,), "col": (2 * oh * ow, 3 * fh * fw), "dout": (2, 4, oh, ow),
              "dpool": (2, 3, oh, ow)}
    inputs = {k: rng.normal(size=shape) for k, shape in shapes.items()}
    inputs["ties"] = _with_ties(rng, X_SHAPE)
    return {k: backend.asarray(v, dtype="float64") for k, v in inputs.items()}


def _all_ops(ops, a, fh, fw, stride, pad):
    """Every operation's results on the inputs ``a`` of :func:`_op_inputs`."""
    results = {"im2col": ops.im2col(a["x"], fh, fw, stride, pad),
               "col2im": ops.col2im(a["col"], X_SHAPE, fh, fw, stride, pad)}
    for bias_name, bias in (("array", a["b"]), ("number", 0.5)):
        out, cache = ops.conv2d(a["x"], a["W"], bias, stride, pad)
        dx, dW, db = ops.conv2d_backward(a["dout"], cache)
        none, dW2, _ = ops.conv2d_backward(a["dout"], cache, compute_dx=False)
        assert none is None
        results.update({f"conv {bias_name}": out, f"dx {bias_name}": dx, f"dW {bias_name}": dW,
                        f"db {bias_name}": db, f"dW no dx {bias_name}": dW2})
    out, cache = ops.max_pool(a["ties"], fh, fw, stride, pad)
    results.update({"pool": out, "pool dx": ops.max_pool_backward(a["dpool"], cache), "arg_max": cache.arg_max})
    return results


@pytest.mark.parametrize(("fh", "fw", "stride", "pad"), GEOMETRIES, ids=GEOMETRY_IDS)
def test_overrides_equal_the_portable_operations(backend, fh, fw, stride, pad):
    ops = ops_for(backend.xp)
    if type(ops) is Ops:
        pytest.skip(f"{backend.name} runs the portable operations: nothing overridden")
    inputs = _op_inputs(backend, fh, fw, stride, pad)
    run_portable = lambda a: _all_ops(Ops(backend.xp), a, fh, fw, stride, pad)  # noqa: E731
    if backend.name == "jax":  # one compile, not one per operation and shape (jit equals eager: tested below)
        import jax

        run_portable = jax.jit(run_portable)
    mine, portable = _all_ops(ops, inputs, fh, fw, stride, pad), run_portable(inputs)
    for key, want in portable.items():
        if key == "arg_max" and mine[key] is None:
            continue
        assert mine[key].dtype == want.dtype, key
        np.testing.assert_allclose(to_np(mine[key]), to_np(want), err_msg=key, **EXACT)


def test_jax_operations_under_jit_equal_eager(compiled_backend):
    import jax

    inputs, ops = _op_inputs(compiled_backend, 3, 2, 2, 1), ops_for(compiled_backend.xp)
    eager = _all_ops(ops, inputs, 3, 2, 2, 1)
    traced = jax.jit(lambda a: _all_ops(ops, a, 3, 2, 2, 1))(inputs)
    for key, want in eager.items():
        np.testing.assert_allclose(to_np(traced[key]), to_np(want), err_msg=key, **EXACT)


def test_layers_inside_jit_equal_eager(compiled_backend):
    import jax

    backend, rng = compiled_backend, np.random.default_rng(6)
    x, W, b = (backend.asarray(rng.normal(size=s), dtype="float64") for s in (X_SHAPE, (4, 3, 3, 3), (4,)))

    def step(x, W, b):
        conv, pool = Convolution(W, b, stride=1, pad=1), Pooling(2, 2)
        out = pool.forward(conv.forward(x))
        dx = conv.backward(pool.backward(out), compute_dx=True)
        return out, dx, conv.dW, conv.db

    with trusted():
        traced = jax.jit(step)(x, W, b)
    for got, want in zip(traced, step(x, W, b)):
        np.testing.assert_allclose(to_np(got), to_np(want), **EXACT)


# --- the layer contract -------------------------------------------------------------------
def test_layers_and_functions_never_write_into_inputs_or_dout(numpy_backend):
    rng = np.random.default_rng(7)
    x, W, b = read_only(rng.normal(size=X_SHAPE)), read_only(rng.normal(size=(4, 3, 3, 2))), read_only(rng.normal(size=4))
    for ops in (ops_for(numpy_backend.xp), Ops(numpy_backend.xp)):
        out, cache = ops.conv2d(x, W, b, 2, 1)
        ops.conv2d_backward(read_only(np.ones(out.shape)), cache)
        out, cache = ops.max_pool(x, 2, 2, 1, 1)
        ops.max_pool_backward(read_only(np.ones(out.shape)), cache)
    conv, pool = Convolution(W, b, stride=2, pad=1), Pooling(3, 2, stride=1, pad=2)
    conv.backward(read_only(np.ones(conv.forward(x).shape)))
    pool.backward(read_only(np.ones(pool.forward(x).shape)))
    col = im2col(x, 3, 2, 2, 1)
    col2im(read_only(col), X_SHAPE, 3, 2, 2, 1)
    for fh, fw in ((1, 1), (7, 6)):  # the layout of x itself: im2col still returns a fresh array
        col = im2col(x, fh, fw)
        assert col.flags.writeable and not np.shares_memory(col, x)


def test_convolution_takes_a_number_as_bias_and_skips_dx(backend):
    """The book's ch07/apply_filter.py passes ``b = 0``; a network's first layer asks for no dx."""
    rng = np.random.default_rng(8)
    x, W = rng.normal(size=(1, 1, 6, 5)), rng.normal(size=(1, 1, 3, 3))
    layer = Convolution(backend.asarray(W, dtype="float64"), 0)
    out = layer.forward(backend.asarray(x, dtype="float64"))
    assert_close(out, conv_ref(x, W, 0.0, 1, 0), **EXACT)
    dout = rng.normal(size=tuple(out.shape))
    assert layer.backward(backend.asarray(dout, dtype="float64"), compute_dx=False) is None
    _, dW, db = conv_grads_ref(x, W, dout, 1, 0)
    assert_close(layer.dW, dW, **EXACT)
    assert_close(layer.db, db, **EXACT)


def test_dtypes_promote_as_the_standard_says_and_float32_stays_float32(backend):
    rng = np.random.default_rng(9)
    x, W, b = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 2, 2)), rng.normal(size=3)
    x32 = backend.asarray(x, dtype="float32")
    mixed = Convolution(backend.asarray(W, dtype="float64"), backend.asarray(b, dtype="float64"))
    out = mixed.forward(x32)
    assert str(out.dtype).endswith("float64")
    assert_close(out, conv_ref(x.astype(np.float32).astype(np.float64), W, b, 1, 0), rtol=1e-6)
    single = Convolution(backend.asarray(W, dtype="float32"), backend.asarray(b, dtype="float32"))
    out = single.forward(x32)
    dx = single.backward(backend.asarray(np.ones(tuple(out.shape)), dtype="float32"))
    pool = Pooling(2, 2)
    pooled = pool.forward(out)
    grads = (out, dx, single.dW, single.db, pooled, pool.backward(backend.asarray(np.ones(tuple(pooled.shape)), dtype="float32")))
    assert all(str(a.dtype).endswith("float32") for a in grads), [a.dtype for a in grads]
    assert_close(out, conv_ref(x, W, b, 1, 0), "float32", rtol=1e-5, atol=1e-5)


def test_convolution_sees_replaced_parameters():
    params = {"W1": np.ones((1, 1, 2, 2)), "b1": np.zeros(1)}
    layer = Convolution(params=params, keys=("W1", "b1"), stride=1, pad=0, name="Conv1")
    params["W1"] = 2 * np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(layer.forward(np.ones((1, 1, 2, 2))), [[[[8.0]]]])
    assert repr(layer) == "Conv1(W=(1, 1, 2, 2), b=(1,), stride=1, pad=0)"


@pytest.mark.parametrize("make", [lambda: Convolution(np.zeros((2, 1, 2, 2)), np.zeros(2)), lambda: Pooling(2, 2)],
                         ids=["Convolution", "Pooling"])
def test_backward_before_forward_raises(make):
    with pytest.raises(RuntimeError, match="backward called before forward"):
        make().backward(np.ones((1, 2, 1, 1)))


def test_errors_name_the_layer_and_the_fix(backend):
    W = backend.asarray(np.zeros((2, 3, 3, 3)), dtype="float64")
    conv = Convolution(W, backend.asarray(np.zeros(2), dtype="float64"), name="Conv1")
    x = lambda *s: backend.asarray(np.zeros(s), dtype="float64")  # noqa: E731
    with pytest.raises(ValueError, match=r"Conv1.forward: x must have shape \(N, C, H, W\) with C = 3"):
        conv.forward(x(1, 2, 5, 5))
    with pytest.raises(ValueError, match=r"Conv1.forward \(width\): a filter of size 3 does not fit in an input of size 2"):
        conv.forward(x(1, 3, 5, 2))
    with pytest.raises(ValueError, match=r"Conv1.backward: dout has shape \(1, 2, 2, 2\), expected \(1, 2, 3, 3\)"):
        conv.forward(x(1, 3, 5, 5))
        conv.backward(x(1, 2, 2, 2))
    with pytest.raises(ValueError, match=r"b must have shape \(FN,\) = \(2,\)"):
        Convolution(W, backend.asarray(np.zeros(3), dtype="float64"))
    with pytest.raises(TypeError, match="stride must be a positive int"):
        Convolution(W, 0, stride=1.5)
    with pytest.raises(ValueError, match=r"Pool1.forward \(height\): a pooling window of size 3 does not fit"):
        Pooling(3, 3, name="Pool1").forward(x(1, 1, 2, 5))
    with pytest.raises(ValueError, match="pad must be a non-negative int"):
        Pooling(2, 2, pad=-1)
    with pytest.raises(ValueError, match=r"im2col: input_data must have shape \(N, C, H, W\)"):
        im2col(x(3, 5, 5), 2, 2)
    with pytest.raises(ValueError, match=r"col2im: col must have shape .* = \(25, 27\)"):
        col2im(x(16, 27), (1, 3, 5, 5), 3, 3, 1, 1)
    with pytest.raises(TypeError, match="floating dtype"):
        im2col(backend.asarray(np.zeros((1, 1, 3, 3), dtype=np.int64)), 2, 2)

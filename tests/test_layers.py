"""Layers: the book's worked examples, backward against numerical gradients, no mutation, errors."""

import numpy as np
import pytest
from conftest import assert_close, read_only, to_np

from xpnet import AddLayer, Affine, MulLayer, Relu, Sigmoid, SoftmaxWithLoss, numerical_gradient


def test_buy_apple():
    apple, apple_num, tax = 100, 2, 1.1
    mul_apple, mul_tax = MulLayer(), MulLayer()
    price = mul_tax.forward(mul_apple.forward(apple, apple_num), tax)
    dapple_price, dtax = mul_tax.backward(1)
    dapple, dapple_num = mul_apple.backward(dapple_price)
    assert price == pytest.approx(220)
    assert (dapple, dapple_num, dtax) == pytest.approx((2.2, 110, 200))


def test_buy_apple_orange():
    mul_apple, mul_orange, add, mul_tax = MulLayer(), MulLayer(), AddLayer(), MulLayer()
    apple_price = mul_apple.forward(100, 2)
    orange_price = mul_orange.forward(150, 3)
    price = mul_tax.forward(add.forward(apple_price, orange_price), 1.1)
    dall, dtax = mul_tax.backward(1)
    dapple_price, dorange_price = add.backward(dall)
    dorange, dorange_num = mul_orange.backward(dorange_price)
    dapple, dapple_num = mul_apple.backward(dapple_price)
    assert price == pytest.approx(715)
    assert (dapple_num, dapple, dorange, dorange_num, dtax) == pytest.approx((110, 2.2, 3.3, 165, 650))


def test_mul_add_on_arrays(backend):
    x, y = backend.asarray([1.0, 2.0], dtype="float64"), backend.asarray([3.0, 4.0], dtype="float64")
    mul, add = MulLayer(), AddLayer()
    assert_close(mul.forward(x, y), [3.0, 8.0])
    dx, dy = mul.backward(backend.asarray([1.0, 1.0], dtype="float64"))
    assert_close(dx, [3.0, 4.0])
    assert_close(dy, [1.0, 2.0])
    assert_close(add.forward(x, y), [4.0, 6.0])
    da, db = add.backward(backend.asarray([1.0, 2.0], dtype="float64"))
    assert_close(da, [1.0, 2.0])
    assert_close(db, [1.0, 2.0])


def test_relu_mask_book_example(backend):
    x = backend.asarray([[1.0, -0.5], [-2.0, 3.0]], dtype="float64")
    relu = Relu()
    assert_close(relu.forward(x), [[1.0, 0.0], [0.0, 3.0]])
    np.testing.assert_array_equal(to_np(relu.mask), [[False, True], [True, False]])
    dout = backend.asarray([[5.0, 6.0], [7.0, 8.0]], dtype="float64")
    assert_close(relu.backward(dout), [[5.0, 0.0], [0.0, 8.0]])
    assert_close(dout, [[5.0, 6.0], [7.0, 8.0]])


def test_affine_bias_gradient_book_example(backend):
    W = backend.asarray(np.zeros((2, 3)), dtype="float64")
    b = backend.asarray(np.zeros(3), dtype="float64")
    layer = Affine(W, b)
    layer.forward(backend.asarray([[1.0, 2.0], [3.0, 4.0]], dtype="float64"))
    layer.backward(backend.asarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype="float64"))
    assert_close(layer.db, [5.0, 7.0, 9.0])
    assert_close(layer.dW, [[13.0, 17.0, 21.0], [18.0, 24.0, 30.0]])


def test_softmax_with_loss_gradient_is_y_minus_t(backend):
    t = backend.asarray(np.array([1]))
    for probs in ([0.3, 0.2, 0.5], [0.01, 0.99, 0.0]):
        scores = backend.asarray(np.log(np.maximum(probs, 1e-300))[None, :], dtype="float64")
        layer = SoftmaxWithLoss()
        loss = layer.forward(scores, t)
        assert_close(loss, -np.log(probs[1]), rtol=1e-9)
        assert_close(layer.backward(), [np.array(probs) - [0, 1, 0]], atol=1e-12)


def test_softmax_with_loss_exact_for_huge_logits(backend):
    scores = backend.asarray([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], dtype="float32")
    layer = SoftmaxWithLoss()
    loss = layer.forward(scores, backend.asarray(np.array([1, 1])))
    assert_close(loss, 1e4, "float32")  # (2e4 + 0) / 2
    assert np.all(np.isfinite(to_np(layer.backward())))


def _check_layer_gradient(backend, make_layer, shape, seed=0):
    """Backward of sum(forward(x) * w) equals the numerical gradient of that scalar."""
    xp = backend.xp
    rng = np.random.default_rng(seed)
    x = backend.asarray(rng.normal(size=shape) + np.where(rng.random(shape) < 0.5, 0.5, -0.5), dtype="float64")
    layer = make_layer()
    out = layer.forward(x)
    w = backend.asarray(rng.normal(size=tuple(out.shape)), dtype="float64")
    dx = layer.backward(w)
    num = numerical_gradient(lambda a: xp.sum(make_layer().forward(a) * w), x)
    assert_close(dx, to_np(num), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("make", [Relu, Sigmoid], ids=["Relu", "Sigmoid"])
def test_activation_backward_matches_numerical(backend, make):
    _check_layer_gradient(backend, make, (3, 4))


def test_affine_backward_matches_numerical_with_nd_input(backend):
    rng = np.random.default_rng(1)
    W = backend.asarray(rng.normal(size=(6, 4)), dtype="float64")
    b = backend.asarray(rng.normal(size=4), dtype="float64")
    _check_layer_gradient(backend, lambda: Affine(W, b), (2, 3, 2))
    layer = Affine(W, b)
    x = backend.asarray(rng.normal(size=(2, 3, 2)), dtype="float64")
    out = layer.forward(x)
    assert tuple(out.shape) == (2, 4)
    dx = layer.backward(backend.asarray(np.ones((2, 4)), dtype="float64"))
    assert tuple(dx.shape) == (2, 3, 2)
    xp = backend.xp
    num_W = numerical_gradient(lambda w: xp.sum(xp.reshape(x, (2, 6)) @ w + b), W)
    assert_close(layer.dW, to_np(num_W), rtol=1e-6, atol=1e-8)


def test_softmax_with_loss_backward_matches_numerical(backend):
    rng = np.random.default_rng(2)
    x = backend.asarray(rng.normal(size=(4, 5)), dtype="float64")
    t = backend.asarray(np.array([0, 3, 4, 1]))
    layer = SoftmaxWithLoss()
    layer.forward(x, t)
    num = numerical_gradient(lambda a: SoftmaxWithLoss().forward(a, t), x)
    assert_close(layer.backward(), to_np(num), rtol=1e-6, atol=1e-9)


def test_layers_never_write_into_inputs_or_dout():
    rng = np.random.default_rng(3)
    x = read_only(rng.normal(size=(3, 4)))
    dout = read_only(rng.normal(size=(3, 4)))
    for layer in (Relu(), Sigmoid()):
        layer.forward(x)
        layer.backward(dout)
    W, b = read_only(rng.normal(size=(4, 2))), read_only(np.zeros(2))
    aff = Affine(W, b)
    aff.forward(x)
    aff.backward(read_only(np.ones((3, 2))))
    swl = SoftmaxWithLoss()
    swl.forward(x, read_only(np.array([0, 1, 2])))
    swl.backward(1)


@pytest.mark.parametrize("make", [MulLayer, AddLayer, Relu, Sigmoid, SoftmaxWithLoss], ids=lambda c: c.__name__)
def test_backward_before_forward_raises(make):
    with pytest.raises(RuntimeError, match="before forward"):
        make().backward(1.0)


def test_affine_backward_before_forward_raises():
    with pytest.raises(RuntimeError, match="Affine.backward called before forward"):
        Affine(np.zeros((2, 3)), np.zeros(3)).backward(np.ones((1, 3)))


def test_affine_shape_errors_name_layer_and_shapes(backend):
    W = backend.asarray(np.zeros((4, 3)), dtype="float64")
    b = backend.asarray(np.zeros(3), dtype="float64")
    layer = Affine(W, b, name="Affine1")
    with pytest.raises(ValueError, match=r"Affine1.forward: input of shape \(2, 5\) has 5 features.*\(4, 3\)"):
        layer.forward(backend.asarray(np.zeros((2, 5)), dtype="float64"))
    with pytest.raises(TypeError, match="floating dtype"):
        layer.forward(backend.asarray(np.zeros((2, 4), dtype=np.int64)))
    with pytest.raises(ValueError, match="W must be"):
        Affine(W, backend.asarray(np.zeros(4), dtype="float64"))


def test_affine_sees_replaced_parameters():
    params = {"W": np.eye(2), "b": np.zeros(2)}
    layer = Affine(params=params, keys=("W", "b"))
    params["W"] = 2 * np.eye(2)
    np.testing.assert_array_equal(layer.forward(np.ones((1, 2))), [[2.0, 2.0]])


def test_relu_blocks_dout_at_exactly_zero(backend):
    """The book's mask is ``x <= 0``: an input of exactly 0 passes no gradient (``x >= 0`` would pass it)."""
    x = backend.asarray([[0.0, -0.0, 1e-300, -1e-300]], dtype="float64")
    relu = Relu()
    assert_close(relu.forward(x), [[0.0, 0.0, 1e-300, 0.0]], rtol=0, atol=0)
    dx = relu.backward(backend.asarray([[2.0, 3.0, 4.0, 5.0]], dtype="float64"))
    np.testing.assert_array_equal(to_np(dx), [[0.0, 0.0, 4.0, 0.0]])
    np.testing.assert_array_equal(to_np(relu.mask), [[True, True, False, True]])


def test_layers_promote_mixed_float_dtypes_as_the_standard_says(backend):
    """The book feeds float32 images to float64 weights: outputs and gradients come out float64, as in NumPy."""
    rng = np.random.default_rng(5)
    W, b, x = rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(2, 4)).astype(np.float32)
    layer = Affine(backend.asarray(W, dtype="float64"), backend.asarray(b, dtype="float64"))
    out = layer.forward(backend.asarray(x, dtype="float32"))
    assert str(out.dtype).endswith("float64")
    assert_close(out, x.astype(np.float64) @ W + b)
    dout = rng.normal(size=(2, 3))  # the gradient flowing back from float64 layers
    dx = layer.backward(backend.asarray(dout, dtype="float64"))
    assert_close(layer.dW, x.astype(np.float64).T @ dout)
    assert_close(dx, dout @ W.T)
    sig = Sigmoid()
    y = sig.forward(backend.asarray(x, dtype="float32"))
    assert str(sig.backward(backend.asarray(np.ones((2, 4)), dtype="float64")).dtype).endswith("float64")
    assert str(y.dtype).endswith("float32")

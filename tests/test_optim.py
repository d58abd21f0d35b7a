"""The book's optimizers (chapter 6) on every backend: the book's numbers, dtypes, in-place steps, state and errors."""

from __future__ import annotations

import copy
import importlib.util
import json
import math

import numpy as np
import pytest
from conftest import TOL, to_np

from xpnet import Affine, TwoLayerNet
from xpnet._array import compat
from xpnet.backends import get_backend
from xpnet.optim import SGD, AdaGrad, Adam, Momentum, Nesterov, Optimizer, RMSprop, get_optimizer

#: Each optimizer with hyperparameters other than its defaults, so that each of them counts.
CASES = {
    "sgd": (SGD, dict(lr=0.1)),
    "momentum": (Momentum, dict(lr=0.1, momentum=0.8)),
    "nesterov": (Nesterov, dict(lr=0.1, momentum=0.7)),
    "adagrad": (AdaGrad, dict(lr=0.3)),
    "rmsprop": (RMSprop, dict(lr=0.05, decay_rate=0.9)),
    "adam": (Adam, dict(lr=0.2, beta1=0.8, beta2=0.95)),
}
SHAPES = {"W": (3, 4), "b": (4,)}
HAS_JAX = importlib.util.find_spec("jax") is not None


def reference(name, kw, params, grad_of, steps):
    """The formulas of the book's chapter 6 in NumPy float64, one step at a time; the params after each step."""
    p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    first = {k: np.zeros_like(v) for k, v in p.items()}  # v of Momentum/Nesterov, h of AdaGrad/RMSprop, m of Adam
    second = {k: np.zeros_like(v) for k, v in p.items()}  # v of Adam
    lr, out = kw["lr"], []
    for t in range(1, steps + 1):
        grads = grad_of(p, t - 1)
        for k in p:
            g, a, s = np.asarray(grads[k], dtype=np.float64), first[k], second[k]
            if name == "sgd":
                p[k] = p[k] - lr * g
            elif name == "momentum":
                a = kw["momentum"] * a - lr * g
                p[k] = p[k] + a
            elif name == "nesterov":  # the look-ahead form of arXiv:1212.0901
                mu = kw["momentum"]
                p[k] = p[k] + mu * mu * a - (1 + mu) * lr * g
                a = mu * a - lr * g
            elif name == "adagrad":
                a = a + np.square(g)
                p[k] = p[k] - lr * g / (np.sqrt(a) + 1e-7)
            elif name == "rmsprop":
                rho = kw["decay_rate"]
                a = rho * a + (1 - rho) * np.square(g)
                p[k] = p[k] - lr * g / (np.sqrt(a) + 1e-7)
            else:  # adam, with the book's bias-corrected step size
                b1, b2 = kw["beta1"], kw["beta2"]
                a, s = b1 * a + (1 - b1) * g, b2 * s + (1 - b2) * np.square(g)
                p[k] = p[k] - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * a / (np.sqrt(s) + 1e-7)
            first[k], second[k] = a, s
        out.append({k: v.copy() for k, v in p.items()})
    return out


def host_case(seed=0, steps=3):
    rng = np.random.default_rng(seed)
    params = {k: rng.normal(size=s) for k, s in SHAPES.items()}
    grads = [{k: rng.normal(size=s) for k, s in SHAPES.items()} for _ in range(steps)]
    return params, grads


def on(backend, host, dtype="float64"):
    return {k: backend.asarray(v, dtype=dtype) for k, v in host.items()}


@pytest.mark.parametrize("name", CASES)
def test_first_three_updates_equal_the_books_formulas(backend, name):
    cls, kw = CASES[name]
    host, grads = host_case()
    expected = reference(name, kw, host, lambda p, i: grads[i], 3)
    opt, params = cls(**kw), on(backend, host)
    for step in range(3):
        opt.update(params, on(backend, grads[step]))
        for k in SHAPES:
            np.testing.assert_allclose(to_np(params[k]), expected[step][k], rtol=1e-12, atol=1e-12, err_msg=f"{name} {k}")


@pytest.mark.parametrize("name", CASES)
def test_float32_parameters_stay_float32(backend, name):
    cls, kw = CASES[name]
    host, grads = host_case(1)
    expected = reference(name, kw, host, lambda p, i: grads[i], 3)
    opt, params = cls(**kw), on(backend, host, "float32")
    for step in range(3):
        opt.update(params, on(backend, grads[step], "float32"))
    state = [a for d in opt.state().values() if isinstance(d, dict) for a in d.values()]
    assert {str(a.dtype).rsplit(".", 1)[-1] for a in [*params.values(), *state]} == {"float32"}
    for k in SHAPES:
        np.testing.assert_allclose(to_np(params[k]), expected[-1][k], **TOL["float32"])


@pytest.mark.parametrize("name", CASES)
def test_dicts_of_python_floats_follow_the_books_numbers(name):
    """The book's optimizer_compare_naive: f(x, y) = x**2/20 + y**2 from (-7, 2), grads x/10 and 2y."""
    cls, kw = CASES[name]
    grad_of = lambda p, i: {"x": p["x"] / 10.0, "y": 2.0 * p["y"]}  # noqa: E731
    expected = reference(name, kw, {"x": -7.0, "y": 2.0}, grad_of, 30)
    opt, params = cls(**kw), {"x": -7.0, "y": 2.0}
    for step in range(30):
        opt.update(params, grad_of(params, step))
        assert params == pytest.approx({k: float(v) for k, v in expected[step].items()}, rel=1e-12, abs=1e-12)
    assert all(type(v) is float for v in params.values())
    assert all(type(v) is float for d in opt.state().values() if isinstance(d, dict) for v in d.values())


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam"])
def test_a_layer_holding_the_params_arrays_sees_the_step(backend, name):
    """Writable arrays are updated in place (the book's -=); immutable ones are replaced in params."""
    cls, kw = CASES[name]
    host, grads = host_case(2, steps=1)
    params = on(backend, host)
    W, b = params["W"], params["b"]
    layer = Affine(W, b)
    cls(**kw).update(params, on(backend, grads[0]))
    x = backend.asarray(np.ones((2, 3)), dtype="float64")
    moved = to_np(params["W"])
    assert not np.array_equal(moved, host["W"])
    if compat.is_writeable(W):
        assert params["W"] is W and params["b"] is b
        np.testing.assert_array_equal(to_np(layer.forward(x)), np.ones((2, 3)) @ moved + to_np(params["b"]))
    else:
        assert params["W"] is not W
        np.testing.assert_array_equal(to_np(W), host["W"])  # nothing written into the caller's array


def test_a_networks_params_get_replacements_and_its_given_arrays_are_kept(backend):
    host = {k: np.random.default_rng(3).normal(size=s) for k, s in {"W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,)}.items()}
    given = on(backend, host)
    net = TwoLayerNet(4, 3, 2, backend=backend, params=given)
    before = {k: v for k, v in net.params.items()}
    Momentum(lr=0.5).update(net.params, {k: backend.xp.ones_like(v) for k, v in net.params.items()})
    for k in host:
        np.testing.assert_array_equal(to_np(given[k]), host[k])
        np.testing.assert_array_equal(to_np(net.params[k]), host[k] - 0.5)
        assert net.params[k] is not before[k]
    assert net.layers["Affine1"].W is net.params["W1"]


@pytest.mark.parametrize("name", CASES)
def test_state_round_trip_continues_bit_identically(backend, name):
    cls, kw = CASES[name]
    host, grads = host_case(4)
    a, pa = cls(**kw), on(backend, host)
    assert a.state() == {}
    for step in range(2):
        a.update(pa, on(backend, grads[step]))
    saved = a.state()
    saved_host = {k: v if not isinstance(v, dict) else {p: to_np(x) for p, x in v.items()} for k, v in saved.items()}
    b, pb = cls(**kw), {k: backend.asarray(to_np(v), dtype="float64") for k, v in pa.items()}
    b.load_state(saved)
    g = on(backend, grads[2])
    a.update(pa, g)
    b.update(pb, g)
    for k in SHAPES:
        np.testing.assert_array_equal(to_np(pb[k]), to_np(pa[k]))
    for k, v in saved.items():  # later steps did not write into the snapshot
        if isinstance(v, dict):
            for p, x in v.items():
                np.testing.assert_array_equal(to_np(x), saved_host[k][p])
        else:
            assert v == saved_host[k] == 2


@pytest.mark.parametrize("name", ["momentum", "rmsprop", "adam"])
def test_state_lives_on_the_params_device(backend, name):
    cls, kw = CASES[name]
    host, grads = host_case(5, steps=1)
    params = on(backend, host)
    opt = cls(**kw)
    opt.update(params, on(backend, grads[0]))
    for slot in opt.state_names:
        for k, s in getattr(opt, slot).items():
            assert type(s) is type(params[k]) and s.dtype == params[k].dtype
            assert compat.device(s) == compat.device(params[k]) == backend.device


def test_a_shallow_copy_updates_without_touching_the_original():
    host, grads = host_case(6)
    opt = Adam()
    opt.update({k: v.copy() for k, v in host.items()}, grads[0])
    saved = {k: v if not isinstance(v, dict) else {p: x.copy() for p, x in v.items()} for k, v in opt.state().items()}
    twin = copy.copy(opt)
    twin.update({k: v.copy() for k, v in host.items()}, grads[1])
    assert opt.iter == 1 and twin.iter == 2
    for slot in ("m", "v"):
        for k in SHAPES:
            np.testing.assert_array_equal(getattr(opt, slot)[k], saved[slot][k])


@pytest.mark.skipif(not HAS_JAX, reason="jax: not installed")
@pytest.mark.parametrize("name", CASES)
def test_a_jitted_step_equals_the_eager_updates(name):
    import jax

    be = get_backend("jax")
    cls, kw = CASES[name]
    host, grads = host_case(7)
    eager, pe = cls(**kw), on(be, host)
    template = cls(**kw)

    @jax.jit
    def step(params, grads, state):
        opt = copy.copy(template)
        opt.load_state(state)
        params = dict(params)
        opt.update(params, grads)
        return params, opt.state()

    pj, state = on(be, host), template.state()
    for g in grads:
        eager.update(pe, on(be, g))
        pj, state = step(pj, on(be, g), state)
    for k in SHAPES:
        np.testing.assert_allclose(to_np(pj[k]), to_np(pe[k]), rtol=1e-12, atol=1e-12)
    if name == "adam":
        assert int(state["iter"]) == 3 and state["iter"].ndim == 0
    assert template.state() == {}


def test_names_config_and_repr():
    for name, (cls, kw) in CASES.items():
        opt = get_optimizer(name.upper(), **kw)
        assert type(opt) is cls and isinstance(opt, Optimizer)
        config = json.loads(json.dumps(opt.config))
        assert config == {"name": name, **kw}
        assert get_optimizer(config.pop("name"), **config).config == opt.config
    assert repr(Adam()) == "Adam(lr=0.001, beta1=0.9, beta2=0.999)"
    assert repr(RMSprop()) == "RMSprop(lr=0.01, decay_rate=0.99)"
    assert repr(Nesterov(lr=1)) == "Nesterov(lr=1.0, momentum=0.9)"
    mine = Momentum()
    assert get_optimizer(mine) is mine
    assert get_optimizer("Nesterov").config == {"name": "nesterov", "lr": 0.01, "momentum": 0.9}


HYPER_ERRORS = [
    (lambda: SGD(0), ValueError, r"SGD: lr must be positive and finite, got 0"),
    (lambda: Adam(lr=math.inf), ValueError, r"Adam: lr must be positive and finite, got inf"),
    (lambda: Momentum(momentum=1.0), ValueError, r"Momentum: momentum must be in \[0, 1\), got 1\.0"),
    (lambda: Nesterov(momentum=-0.1), ValueError, r"Nesterov: momentum must be non-negative and finite, got -0\.1"),
    (lambda: RMSprop(decay_rate=1), ValueError, r"RMSprop: decay_rate must be in \[0, 1\), got 1"),
    (lambda: Adam(beta1=math.nan), ValueError, r"Adam: beta1 must be non-negative and finite, got nan"),
    (lambda: Adam(beta2=1.5), ValueError, r"Adam: beta2 must be in \[0, 1\), got 1\.5"),
    (lambda: AdaGrad("fast"), TypeError, r"AdaGrad: lr must be a positive finite number, got str 'fast'"),
    (lambda: get_optimizer("adamw"), ValueError,
     r"unknown optimizer 'adamw'; choose one of 'sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'"),
    (lambda: get_optimizer("sgd", momentum=0.9), TypeError, r"get_optimizer: SGD takes lr; got unexpected momentum"),
    (lambda: get_optimizer(Adam(), lr=0.1), TypeError, r"hyperparameters \(lr\) configure an optimizer built by name"),
    (lambda: get_optimizer(3), TypeError, r"expected an optimizer name \('sgd', .*\) or an optimizer object, got int 3"),
]


@pytest.mark.parametrize("make,exc,match", HYPER_ERRORS)
def test_bad_hyperparameters_and_names_are_refused_clearly(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def _update_errors():
    strict = pytest.importorskip("array_api_strict")
    other = get_backend("array_api_strict", strict.Device("device1"))
    p = {"W": np.zeros((2, 3)), "b": np.zeros(3)}
    g = {"W": np.ones((2, 3)), "b": np.ones(3)}
    p_other = on(other, p)
    return [
        (lambda: Adam().update(p, {"W": g["W"]}), KeyError, r"Adam\.update: grads has no gradient for params\['b'\]"),
        (lambda: SGD().update(p, {**g, "c": g["b"]}), KeyError, r"SGD\.update: params has no parameter 'c'; its keys are \['W', 'b'\]"),
        (lambda: Momentum().update(p, {**g, "W": np.ones((3, 2))}), ValueError,
         r"Momentum\.update: grads\['W'\] has shape \(3, 2\), params\['W'\] has \(2, 3\)"),
        (lambda: AdaGrad().update({k: v.astype(np.float32) for k, v in p.items()}, g), TypeError,
         r"AdaGrad\.update: grads\['W'\] has dtype float64, which would promote params\['W'\] of dtype float32"),
        (lambda: RMSprop().update({"x": 1.0}, {"x": np.ones(())}), TypeError, r"grads\['x'\] must be a number like params\['x'\]"),
        (lambda: SGD().update(p, {**g, "b": on(get_backend("array_api_strict"), g)["b"]}), TypeError,
         r"SGD\.update: arrays from different backends cannot be mixed"),
        (lambda: Nesterov().update(p_other, {**on(get_backend("array_api_strict"), g)}), ValueError,
         r"Nesterov\.update: arrays on different devices cannot be combined"),
    ]


def test_bad_updates_say_which_key_and_why():
    for run, exc, match in _update_errors():
        with pytest.raises(exc, match=match):
            run()


def test_state_of_other_parameters_or_optimizers_is_refused():
    opt = Momentum()
    opt.update({"W": np.zeros(2)}, {"W": np.ones(2)})
    with pytest.raises(KeyError, match=r"Momentum\.update: the optimizer's state is for parameters \['W'\], params has \['V'\]"):
        opt.update({"V": np.zeros(2)}, {"V": np.ones(2)})
    with pytest.raises(ValueError, match=r"state v\['W'\] has shape \(2,\) and dtype float64, its parameter \(3,\)"):
        opt.update({"W": np.zeros(3)}, {"W": np.ones(3)})
    with pytest.raises(ValueError, match=r"Adam\.load_state: state must have keys \['iter', 'm', 'v'\] \(or be empty\), got \['v'\]"):
        Adam().load_state(opt.state())
    with pytest.raises(TypeError, match=r"state\['iter'\] must be an int >= 1 or a 0-d integer array, got float 2\.0"):
        Adam().load_state({"iter": 2.0, "m": {}, "v": {}})
    with pytest.raises(TypeError, match=r"AdaGrad\.load_state: state must be a dict \(from state\(\)\), got list"):
        AdaGrad().load_state([])


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_zero_d_numpy_parameters_take_numpy_scalar_gradients(name):
    """The book's ``df(x, y)`` on 0-d arrays returns NumPy scalars (``x / 10.0``): they are gradients of one value."""
    from xpnet.optim import get_optimizer

    arrays, floats = {"x": np.asarray(-7.0), "y": np.asarray(2.0)}, {"x": -7.0, "y": 2.0}
    opt_a, opt_f = get_optimizer(name), get_optimizer(name)
    for _ in range(3):
        opt_a.update(arrays, {"x": arrays["x"] / 10.0, "y": 2.0 * arrays["y"]})
        opt_f.update(floats, {"x": floats["x"] / 10.0, "y": 2.0 * floats["y"]})
    assert float(arrays["x"]) == floats["x"] and float(arrays["y"]) == floats["y"]

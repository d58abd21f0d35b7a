"""Compiled steps: the same layers compiled by the backend's compiler (JAX), against the eager step; the eager step elsewhere."""

import importlib.util

import numpy as np
import pytest
from conftest import TOL, blobs, to_np

from xpnet import TwoLayerNet
from xpnet.cli import main
from xpnet.training import Trainer

HAS_JAX = importlib.util.find_spec("jax") is not None
needs_jax = pytest.mark.skipif(not HAS_JAX, reason="jax is not installed")

#: float32 results of a compiled and an eager step differ by rounding only (XLA fuses the same operations
#: differently: about 3e-6 relative after 250 steps); float64 ones agree to 1e-12.
TOLERANCE = TOL


def _run(backend, dtype, compiled, iters=250, **kw):
    train_data, test_data = blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, backend=backend, dtype=dtype, seed=0)
    trainer = Trainer(net, train_data, test_data, batch_size=20, lr=0.5, seed=3, compiled=compiled, **kw)
    trainer.run(iters)
    return trainer


def test_other_backends_run_the_eager_step(backend):
    net = TwoLayerNet(12, 8, 3, backend=backend, dtype="float32", seed=0)
    trainer = Trainer(net, *blobs(), batch_size=20)
    assert trainer.compiled is (backend.row.compiler is not None)
    assert trainer.history.config["compiled"] is trainer.compiled
    if backend.row.compiler is None:
        with pytest.raises(ValueError, match=f"compiled=True, but the {backend.name} backend has no compiler"):
            Trainer(net, *blobs(), batch_size=20, compiled=True)
        with pytest.raises(ValueError, match="data_parallel needs a backend whose compiler splits the batch"):
            Trainer(net, *blobs(), batch_size=20, data_parallel=2)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_compiled_step_equals_eager_step(compiled_backend, dtype):
    """Chunks of 30, 30, 30, 10, 20, ... steps (evaluation every 30): one compile serves them all."""
    compiled, eager = _run(compiled_backend, dtype, True, eval_every=30), _run(compiled_backend, dtype, False, eval_every=30)
    assert compiled.compiled and not eager.compiled
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(compiled.history.train_loss, eager.history.train_loss, **tol)
    for key, value in eager.network.params.items():
        np.testing.assert_allclose(to_np(compiled.network.params[key]), to_np(value), err_msg=key, **tol)
    assert compiled.history.test_acc == eager.history.test_acc
    assert compiled.history.eval_iters == eager.history.eval_iters == list(range(30, 250, 30)) + [250]
    assert compiled.history.compile_time > 0 and eager.history.compile_time == 0


def test_one_compile_serves_every_chunk_length(compiled_backend):
    from xpnet.training import compiled as factory

    trainer = _run(compiled_backend, "float32", True, iters=0)
    step = factory.make_step(trainer.network, trainer.optimizer, trainer.train_set, 20, gradient="backprop",
                             compiled=True, chunk=100)
    block = np.random.default_rng(0).integers(0, trainer.train_set.n, size=(100, 20))
    done = [step.run(block, pos, n, None, lambda: False) for pos, n in ((0, 100), (0, 7), (7, 93), (50, 1))]
    assert done == [100, 7, 93, 1] and step.compiles == 1 and step.pending == 201
    assert step.losses().shape == (201,) and step.pending == 0
    with pytest.raises(ValueError, match="1 to 100 steps"):
        step.run(block, 0, 101, None, lambda: False)


def test_network_holds_concrete_checked_arrays_after_every_chunk(compiled_backend):
    import jax

    train_data, test_data = blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, backend=compiled_backend, dtype="float32", seed=0)
    trainer = Trainer(net, train_data, test_data, batch_size=20, lr=0.5, seed=1, eval_every=40)
    seen = []

    def check(done, loss):
        for key, value in net.params.items():
            assert isinstance(value, jax.Array) and not isinstance(value, jax.core.Tracer), key
            assert value.device == compiled_backend.device, key
        seen.append(float(to_np(net.params["b2"]).sum()))

    trainer.run(200, on_progress=check)
    assert len(seen) == 6  # flushes at 40, 80, 100, 120, 160, 200
    # the checks on a user's assignment still hold after a traced step
    with pytest.raises(ValueError, match=r"must keep shape \(12, 8\)"):
        net.params["W1"] = compiled_backend.asarray(np.zeros((8, 12), np.float32))
    with pytest.raises(TypeError, match="must keep dtype"):
        net.params["b1"] = compiled_backend.asarray(np.zeros(8), dtype="float64")


@pytest.mark.parametrize("stops", [(47,), (100,), (37, 150)], ids=str)
def test_resume_of_a_compiled_run_is_bit_identical(compiled_backend, stops):
    train_data, test_data = blobs()
    full_net = TwoLayerNet(12, 8, 3, 0.1, backend=compiled_backend, dtype="float32", seed=0)
    full = Trainer(full_net, train_data, test_data, batch_size=20, lr=0.5, seed=9)
    full.run(250)
    net, state = TwoLayerNet(12, 8, 3, 0.1, backend=compiled_backend, dtype="float32", seed=0), None
    for stop in (*stops, 250):
        net = TwoLayerNet(12, 8, 3, 0.1, backend=compiled_backend, dtype="float32", params={k: to_np(v) for k, v in net.params.items()})
        trainer = Trainer(net, train_data, test_data, batch_size=20, lr=0.5, seed=9)
        if state is not None:
            trainer.load_state(state)
        trainer.run(stop)
        state = trainer.state()
    assert trainer.compiled and trainer.history.train_loss == full.history.train_loss
    for key in full_net.params:
        np.testing.assert_array_equal(to_np(net.params[key]), to_np(full_net.params[key]))


@pytest.mark.parametrize("block", [64, 200, 10_000])
def test_compiled_evaluation_equals_the_eager_accuracy(compiled_backend, block):
    """Blocks of 64 rows over 200 test images: the last block overlaps the one before and counts each row once."""
    (x, t), (xt, tt) = blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, backend=compiled_backend, dtype="float32", seed=0)
    trainer = Trainer(net, (x, t), (xt, tt), batch_size=20, lr=0.5, seed=1, eval_batch_size=block)
    trainer.run(20)
    expected = net.accuracy(compiled_backend.asarray(xt, dtype="float32") / 255.0, compiled_backend.asarray(tt))
    assert 0.4 < expected < 1.0  # partly trained: a wrong count would show
    assert trainer.accuracy(trainer.test) == expected
    assert trainer.history.test_acc[-1] == expected


def test_the_data_set_is_an_argument_of_the_program_not_a_constant(compiled_backend):
    """A set captured by closure would be baked into the program: its text would hold every pixel."""
    from xpnet.training import compiled as factory

    rng = np.random.default_rng(0)
    x, t = rng.integers(0, 256, size=(20_000, 12), dtype=np.uint8), rng.integers(0, 3, size=20_000)
    trainer = Trainer(TwoLayerNet(12, 8, 3, backend=compiled_backend, seed=0, dtype="float32"), (x, t), batch_size=20)
    step = factory.make_step(trainer.network, trainer.optimizer, trainer.train_set, 20, gradient="backprop",
                             compiled=True, chunk=100)
    step.run(rng.integers(0, 20_000, size=(100, 20)), 0, 100, None, lambda: False)
    assert len(step._program.as_text()) < x.nbytes / 2


def test_compiled_true_needs_a_compilable_step(compiled_backend):
    net = TwoLayerNet(12, 8, 3, backend=compiled_backend, dtype="float32", seed=0)
    with pytest.raises(ValueError, match="numerical gradients are computed eagerly"):
        Trainer(net, *blobs(), batch_size=20, gradient="numerical", compiled=True)
    assert not Trainer(net, *blobs(), batch_size=20, gradient="numerical").compiled

    class Stateless:
        def update(self, params, grads):
            pass

    with pytest.raises(ValueError, match="Stateless has no state\\(\\)/load_state\\(\\)"):
        Trainer(net, *blobs(), batch_size=20, optimizer=Stateless(), compiled=True)
    with pytest.raises(ValueError, match="data_parallel runs the compiled step, but compiled=False"):
        Trainer(net, *blobs(), batch_size=20, compiled=False, data_parallel=2)
    with pytest.raises(ValueError, match="data_parallel must be a positive number"):
        Trainer(net, *blobs(), batch_size=20, data_parallel=0)


@needs_jax
def test_data_parallel_beyond_the_devices_says_how_to_get_more(capsys):
    import jax

    n = len(jax.devices("cpu")) + 1
    net = TwoLayerNet(12, 8, 3, backend="jax", device="cpu", dtype="float32", seed=0)
    with pytest.raises(ValueError, match=f"asks for {n} cpu devices.*xla_force_host_platform_device_count={n}"):
        Trainer(net, *blobs(), batch_size=20 * n, data_parallel=n)
    assert main(["train", "--backend", "jax", "--device", "cpu", "--iters", "10", "--data-parallel", str(n)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"asks for {n} cpu devices" in err


@pytest.mark.slow
@needs_jax
def test_book_run_compiled_on_jax_reaches_965_percent():
    """The book's chapter-5 run on JAX, float32, through the compiled step and evaluation."""
    import secrets

    from xpnet.datasets import load_mnist_uint8

    seed = secrets.randbelow(2**31)
    (x, t), (xt, tt) = load_mnist_uint8()
    net = TwoLayerNet(784, 50, 10, backend="jax", device="cpu", dtype="float32", seed=seed)
    trainer = Trainer(net, (x, t), (xt, tt), seed=seed)
    h = trainer.run(10_000)
    print(f"seed {seed}: test accuracy {h.final_test_acc:.4f}, {h.iters_per_sec:.0f} it/s, compiling {h.compile_time:.2f} s")
    assert trainer.compiled and len(h.eval_iters) == 17
    assert h.final_test_acc >= 0.965, f"seed {seed}: test accuracy {h.final_test_acc}"

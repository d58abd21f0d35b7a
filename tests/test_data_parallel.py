"""Data-parallel training through JAX's partitioner, on 2 and 4 CPU devices in a subprocess.

JAX reads ``XLA_FLAGS=--xla_force_host_platform_device_count=4`` once, before its first use,
so the runs happen in a fresh interpreter that reports back as JSON.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import TOL

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import contextlib, io, json, re, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from conftest import blobs
    from xpnet import TwoLayerNet
    from xpnet.cli import main
    from xpnet.training import Trainer, compiled as factory

    out = {"devices": len(jax.devices())}
    data = blobs(n=600, d=12, k=3)
    for dtype in ("float64", "float32"):
        for n in (1, 2, 4):
            net = TwoLayerNet(12, 8, 3, 0.1, backend="jax", dtype=dtype, seed=0)
            trainer = Trainer(net, *data, batch_size=20, lr=0.5, seed=2, eval_every=40, data_parallel=n)
            h = trainer.run(100)
            out[f"{dtype}/{n}"] = {
                "loss": h.train_loss, "test_acc": h.test_acc, "data_parallel": trainer.data_parallel,
                "params": {k: np.asarray(v).tolist() for k, v in net.params.items()},
                "on_net_device": all(v.sharding.device_set == {net.backend.device} for v in net.params.values()),
            }

    # what XLA compiled: each device gathers and multiplies 5 of the 20 rows, then one all-reduce of the gradients
    net = TwoLayerNet(12, 8, 3, 0.1, backend="jax", dtype="float32", seed=0)
    trainer = Trainer(net, *data, batch_size=20, data_parallel=4)
    _, devices = factory.resolve(net, trainer.optimizer, "backprop", 20, None, 4)
    step = factory.make_step(net, trainer.optimizer, trainer.train_set, 20, gradient="backprop", compiled=True,
                             chunk=100, devices=devices)
    step.run(np.zeros((100, 20), np.int64), 0, 100, None, lambda: False)
    hlo = step._program.as_text()
    out["all_reduce"] = "all-reduce" in hlo
    out["row_shapes"] = sorted(set(re.findall(r"f32\\[(\\d+),12\\]", hlo)))

    # the network may live on another device than the first: the mesh takes it in
    net = TwoLayerNet(12, 8, 3, 0.1, backend="jax", device="cpu:3", dtype="float32", seed=0)
    Trainer(net, *data, batch_size=20, data_parallel=2).run(30)
    out["other_device"] = [str(d) for v in net.params.values() for d in v.sharding.device_set]
    out["mesh"] = [str(d) for d in factory.resolve(net, trainer.optimizer, "backprop", 20, None, 2)[1]]

    try:
        Trainer(TwoLayerNet(12, 8, 3, backend="jax", dtype="float32"), *data, batch_size=30, data_parallel=4)
    except ValueError as exc:
        out["uneven"] = str(exc)
    for args in (["--data-parallel", "4"], ["--data-parallel", "3"]):
        err, std = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
            code = main(["train", "--backend", "jax", "--iters", "100", "--eval-every", "100", "--seed", "1", "--quiet", *args])
        out["cli" + args[1]] = {"code": code, "err": err.getvalue(), "out": std.getvalue()}
    print("RESULT " + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def four_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n", [2, 4])
def test_data_parallel_equals_one_device(four_devices, dtype, n):
    """float64 to 1e-12 over 100 steps, float32 to rounding: the all-reduce only changes the order of a sum."""
    assert four_devices["devices"] == 4
    one, split = four_devices[f"{dtype}/1"], four_devices[f"{dtype}/{n}"]
    assert split["data_parallel"] == n and one["data_parallel"] == 1
    assert len(split["loss"]) == 100
    np.testing.assert_allclose(split["loss"], one["loss"], **TOL[dtype])
    for key, value in one["params"].items():
        np.testing.assert_allclose(split["params"][key], value, err_msg=key, **TOL[dtype])
    assert split["test_acc"] == one["test_acc"] and one["test_acc"][-1] > 0.9
    assert split["on_net_device"], "the network must get its parameters back on its own device"


def test_xla_splits_the_batch_and_all_reduces_the_gradients(four_devices):
    assert four_devices["all_reduce"]
    assert four_devices["row_shapes"] == ["5"], "each of 4 devices should gather 5 of the 20 rows"


def test_the_mesh_takes_in_the_networks_device(four_devices):
    assert four_devices["mesh"] == ["cpu:0", "cpu:3"], "JAX's global order: the same in every process"
    assert set(four_devices["other_device"]) == {"cpu:3"}


def test_uneven_batches_are_refused_with_a_clear_error(four_devices):
    assert "batch_size 30 does not split evenly over 4 devices; use a multiple of 4" in four_devices["uneven"]
    bad = four_devices["cli3"]
    assert bad["code"] == 2 and bad["err"].count("\n") == 1
    assert bad["err"].startswith("xpnet train: error: train: --batch-size 100 does not split evenly over 3 devices")


def test_cli_trains_data_parallel(four_devices):
    good = four_devices["cli4"]
    assert good["code"] == 0, good["err"]
    assert "and 3 more devices, batch split" in good["out"] and "compiled" in good["out"]

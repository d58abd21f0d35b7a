"""The README's recipe for several hosts, run as two JAX processes on this machine.

Two children (``_multihost_child.py multi``) call ``jax.distributed.initialize`` with the
coordinator on a free localhost port, each with two CPU devices of its own and gloo as JAX's CPU
collectives, and train with ``data_parallel=True``: a mesh of the four devices, each process
holding half of every batch. Process 0 alone writes a checkpoint half-way. A third child
(``single``) trains the same runs on one device and resumes each checkpoint on one process.
Every child runs under a deadline and is killed when it passes or when its peer fails.
"""

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TOL

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")

HERE = Path(__file__).resolve().parent
CHILD = HERE / "_multihost_child.py"
DEADLINE = 120  # seconds for the children of one phase (about 10 s on two cores)
UNAVAILABLE = 3  # the child's exit status when JAX's distributed runtime or CPU collectives cannot start
DTYPES = ("float64", "float32")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(local_devices: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env.update(JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES=str(local_devices), JAX_CPU_COLLECTIVES_IMPLEMENTATION="gloo")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), str(HERE), env.get("PYTHONPATH", "")])
    return env


def run_children(argvs: list[list[str]], env: dict[str, str], workdir: Path) -> list[dict]:
    """Run the children together; their RESULT dicts, or a failure that carries each one's stderr."""
    logs = [(workdir / f"{argv[0]}-{i}.out", workdir / f"{argv[0]}-{i}.err") for i, argv in enumerate(argvs)]
    procs: list[subprocess.Popen] = []
    try:
        for argv, (out, err) in zip(argvs, logs):
            with open(out, "w") as stdout, open(err, "w") as stderr:
                procs.append(subprocess.Popen([sys.executable, str(CHILD), *argv], stdout=stdout, stderr=stderr, env=env, cwd=workdir))
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            codes = [p.poll() for p in procs]
            if None not in codes or any(code not in (None, 0) for code in codes):
                break  # all done, or one failed: a peer waiting on it in a collective would never return
            time.sleep(0.1)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
    texts = [(p.returncode, out.read_text(), err.read_text()) for p, (out, err) in zip(procs, logs)]
    for code, out, _ in texts:
        if code == UNAVAILABLE and out.startswith("UNAVAILABLE "):
            pytest.skip(out.strip()[len("UNAVAILABLE "):][:300])
    if any(code != 0 for code, _, _ in texts):
        killed = f" (killed: past the {DEADLINE} s deadline, or its peer failed)"
        report = "\n".join(f"--- {' '.join(argv)}: exit {code}{killed if code == -signal.SIGKILL else ''}\n{err[-3000:]}"
                           for argv, (code, _, err) in zip(argvs, texts))
        pytest.fail(f"a child process failed\n{report}")
    return [json.loads([ln for ln in out.splitlines() if ln.startswith("RESULT ")][-1][len("RESULT "):]) for _, out, _ in texts]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    import jax

    if not hasattr(jax.config, "jax_cpu_collectives_implementation"):
        pytest.skip(f"JAX {jax.__version__} has no CPU collectives (jax_cpu_collectives_implementation, JAX 0.4.23 and later)")
    workdir = tmp_path_factory.mktemp("multihost")
    port = str(free_port())
    multi = run_children([["multi", str(pid), "2", port, str(workdir)] for pid in (0, 1)], child_env(2), workdir)
    (single,) = run_children([["single", str(workdir)]], child_env(1), workdir)
    params = {f.stem: dict(np.load(f)) for f in workdir.glob("*.npz") if not f.stem.startswith("ckpt-")}
    return {"multi": multi, "single": single, "params": params, "checkpoints": sorted(f.name for f in workdir.glob("ckpt-*"))}


def assert_params_close(actual: dict, expected: dict, dtype: str) -> None:
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_allclose(actual[key], value, err_msg=key, **TOL[dtype])


def test_each_process_holds_half_of_every_batch(runs):
    for pid, r in enumerate(runs["multi"]):
        assert (r["process"], r["processes"], r["devices"], r["local_devices"]) == (pid, 2, 4, 2)
        assert r["collectives"] == "gloo"
        assert r["data_parallel"] == 4, "data_parallel=True must split the batch over every device of every process"
        assert r["param_devices"] == [r["first_local_device"]], "the network keeps its parameters on its own device"
    assert runs["multi"][0]["device"] != runs["multi"][1]["device"]
    assert runs["single"]["devices"] == 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_two_processes_train_as_one_device_does(runs, dtype):
    """float64 to 1e-12 over 200 steps, float32 to rounding: the all-reduce only changes the order of a sum."""
    first, second = ({k: v for k, v in r[dtype].items() if k != "seconds"} for r in runs["multi"])
    one = runs["single"][dtype]
    assert first == second, "both processes must read the same losses and accuracies"
    assert len(one["loss"]) == 200 and one["eval_iters"] == [50, 100, 150, 200]
    np.testing.assert_allclose(first["loss"], one["loss"], **TOL[dtype])
    assert first["train_acc"] == one["train_acc"] and first["test_acc"] == one["test_acc"]
    assert one["test_acc"][-1] > 0.7  # it learned: chance is 0.1
    for pid in (0, 1):
        assert_params_close(runs["params"][f"multi-{pid}-{dtype}"], runs["params"][f"single-{dtype}"], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_checkpoint_of_process_0_resumes_on_one_process(runs, dtype):
    assert runs["checkpoints"] == ["ckpt-float32.npz", "ckpt-float64.npz"]
    resumed, one, multi = runs["single"][f"resumed/{dtype}"], runs["single"][dtype], runs["multi"][0][dtype]
    assert resumed["from"] == 100 and resumed["saved_data_parallel"] == 4
    assert resumed["stop_reason"] == "completed" and resumed["eval_iters"] == one["eval_iters"]
    assert resumed["loss"][:100] == multi["loss"][:100], "the first half is the two processes' own history"
    np.testing.assert_allclose(resumed["loss"], one["loss"], **TOL[dtype])
    assert resumed["train_acc"] == one["train_acc"] and resumed["test_acc"] == one["test_acc"]
    assert_params_close(runs["params"][f"resumed-{dtype}"], runs["params"][f"single-{dtype}"], dtype)


def test_meshes_that_would_differ_between_processes_are_refused(runs):
    for r in runs["multi"]:
        subset, elsewhere = r["refused"]
        assert subset.startswith("train: data_parallel 2 with 2 JAX processes: every process must build the same mesh")
        assert "pass data_parallel=True (all 4 cpu devices of every process)" in subset
        assert f"a device of JAX process {1 - r['process']}, not of this one ({r['process']})" in elsewhere
        assert "create it on one of jax.local_devices()" in elsewhere

"""The ``xpnet`` command end to end: train with every output, resume, Ctrl-C, gradcheck, info, mistakes."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _files import train_command, write_mnist_dir
from conftest import to_np

import xpnet
from xpnet.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_train_end_to_end_with_every_output(tmp_path, capsys):
    ckpt, hist, plot = tmp_path / "net.npz", tmp_path / "h.json", tmp_path / "curves.png"
    code = main(["train", "--iters", "300", "--eval-every", "100", "--seed", "1",
                 "--save", str(ckpt), "--history", str(hist), "--plot", str(plot)])
    out = capsys.readouterr().out
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 3 and "train acc" in lines[0] and "test acc" in lines[0] and "loss" in lines[0]
    assert "done (completed): test acc" in out and "it/s" in out
    data = json.loads(hist.read_text())
    assert len(data["train_loss"]) == 300 and data["eval_iters"] == [100, 200, 300]
    assert data["test_acc"][-1] > 0.8 and data["config"]["seed"] == 1
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the checkpoint moves to another backend and predicts exactly the same
    from xpnet.datasets import load_mnist

    _, (x_test, _) = load_mnist()
    saved = xpnet.load(ckpt)
    moved = xpnet.load(ckpt, backend="array_api_strict", device="device1")
    x = x_test[:50]
    np.testing.assert_array_equal(to_np(moved.predict(moved.backend.asarray(x))), to_np(saved.predict(x)))
    assert saved.history.test_acc[-1] == data["test_acc"][-1]


def test_resume_continues_to_the_same_parameters(tmp_path, capsys):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    common = ["--eval-every", "100", "--seed", "5", "--quiet"]
    assert main(["train", "--iters", "250", "--save", str(a), *common]) == 0
    assert main(["train", "--iters", "130", "--save", str(b), *common]) == 0
    assert main(["train", "--resume", str(b), "--iters", "250", "--save", str(b), "--quiet"]) == 0
    na, nb = xpnet.load(a), xpnet.load(b)
    for key in na.params:
        np.testing.assert_array_equal(to_np(na.params[key]), to_np(nb.params[key]))
    assert main(["train", "--resume", str(b), "--lr", "0.5"]) == 2
    assert "--lr 0.5 differs from the run's lr 0.1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--backend", "tensorflow"], "unknown backend 'tensorflow'"),
        (["train", "--iters", "ten"], "expected a positive integer"),
        (["train", "--lr", "-0.1"], "expected a positive finite number"),
        (["train", "--batch-size", "0"], "expected a positive integer"),
        (["train", "--val-split", "1.5"], "expected a number in [0, 1)"),
        (["train", "--patience", "3"], "patience needs"),
        (["train", "--data-dir", "/no/such/dir"], "/no/such/dir"),
        (["train", "--save", "/no/such/dir/net.npz"], "does not exist"),
        (["train", "--resume", "/no/such/file.npz"], "no such checkpoint file"),
        (["train", "--device", "cuda:0"], "CPU only"),
        (["gradcheck", "--backend", "nope"], "unknown backend"),
        (["gradcheck", "--dtype", "float32"], "--dtype float32 does not apply"),
        (["train", "--num-classes", "5", "--dataset", "fashion-mnist", "--data-dir", "."], "does not apply to Fashion-MNIST"),
        (["train", "--num-classes", "5"], "outside 0..4 for num_classes=5"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse rejects bad option values itself
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_divergence_exits_nonzero_and_keeps_the_checkpoint(tmp_path, capsys):
    ckpt = tmp_path / "net.npz"
    assert main(["train", "--iters", "50", "--eval-every", "50", "--save", str(ckpt), "--quiet", "--seed", "2"]) == 0
    before = ckpt.read_bytes()
    code = main(["train", "--iters", "300", "--lr", "1e300", "--save", str(ckpt), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "diverged" in err and "iteration" in err and "smaller learning rate" in err and "not overwritten" in err
    assert ckpt.read_bytes() == before


def test_ctrl_c_saves_and_exits_130(tmp_path):
    ckpt, hist = tmp_path / "net.npz", tmp_path / "h.json"
    proc = subprocess.Popen(  # a child with Ctrl-C's default action, however the suite was started (a background job ignores it)
        train_command("--iters", "1000000", "--save", str(ckpt), "--history", str(hist)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until training has started
        line = proc.stdout.readline()
        if line.startswith("training"):
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted by SIGINT at iteration" in err and "--resume" in err
    assert xpnet.load(ckpt).history.stop_reason == "interrupted"
    assert json.loads(hist.read_text())["iterations"] > 0


def test_gradcheck_command(capsys, monkeypatch):
    """A line says what the slow part computes before it starts (seconds on some backends), then the results."""
    import xpnet.gradcheck

    printed_before = []

    def spy(*args, **kwargs):
        printed_before.append(capsys.readouterr().out)
        return check(*args, **kwargs)

    check = xpnet.gradcheck.gradient_check
    monkeypatch.setattr(xpnet.gradcheck, "gradient_check", spy)
    assert main(["gradcheck"]) == 0
    assert printed_before == ["computing numerical gradients of 39,760 parameters with numpy on cpu ...\n"]
    out = capsys.readouterr().out
    for key in ("W1", "b1", "W2", "b2"):
        assert f"  {key}: " in out and "book:" in out
    assert "OK" in out


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax: not installed")
def test_a_compiled_run_says_it_compiles_before_it_trains(tmp_path, capsys, monkeypatch):
    from xpnet.training import xla as compiled_jax

    data = write_mnist_dir(tmp_path / "data", 200, 50)
    printed_before = []
    compile_chunk = compiled_jax.ChunkStep.run

    def spy(self, *args):
        if self._program is None:  # the first chunk compiles
            printed_before.append(capsys.readouterr().out)
        return compile_chunk(self, *args)

    monkeypatch.setattr(compiled_jax.ChunkStep, "run", spy)
    argv = ["train", "--backend", "jax", "--data-dir", str(data), "--iters", "20", "--eval-every", "10", "--seed", "0"]
    assert main(argv) == 0
    lines = printed_before[0].splitlines()
    assert len(printed_before) == 1 and lines[0].startswith("training ") and lines[1:] == ["compiling the training step ..."]
    assert "epoch" in capsys.readouterr().out
    assert main([*argv, "--quiet"]) == 0 and capsys.readouterr().out.startswith("done (completed)")
    assert main([*argv, "--backend", "numpy"]) == 0 and "compiling" not in capsys.readouterr().out


def test_info_and_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "xpnet", "info"], capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 0
    assert f"xpnet {xpnet.__version__}" in proc.stdout
    for name in ("numpy", "array_api_strict", "torch", "jax", "cupy"):
        assert name in proc.stdout


def test_help_documents_every_train_option(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for option in ("--backend", "--device", "--dtype", "--iters", "--batch-size", "--lr", "--hidden-size", "--activation",
                   "--seed", "--data-dir", "--save", "--resume", "--plot", "--history", "--quiet", "--val-split", "--patience",
                   "--model", "--hidden-sizes", "--weight-init", "--batch-norm", "--dropout", "--weight-decay", "--optimizer",
                   "--epochs", "--eval-samples"):
        assert option in out


def test_a_network_that_does_not_learn_is_reported(tmp_path, capsys):
    hist = tmp_path / "h.json"
    code = main(["train", "--iters", "200", "--eval-every", "100", "--lr", "10", "--seed", "0", "--quiet", "--history", str(hist)])
    err = capsys.readouterr().err
    assert code == 0
    assert "not learning" in err and "learning rate" in err
    assert any("not learning" in note for note in json.loads(hist.read_text())["notes"])


def test_a_growing_loss_is_reported_before_a_whole_epoch(capsys):
    assert main(["train", "--lr", "1000", "--iters", "300", "--seed", "0", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "done (completed, 2 warnings below)" in captured.out
    assert "the loss grew from 2.30" in captured.err and "learning rate (1000.0) is probably too large" in captured.err
    assert "not learning" in captured.err


def test_more_than_ten_classes_come_from_the_labels(tmp_path, capsys):
    """An EMNIST-style directory: 12 classes, none of which is refused."""
    from test_datasets import idx_bytes

    rng = np.random.default_rng(0)
    data = tmp_path / "emnist"
    data.mkdir()
    for prefix, n in (("train", 240), ("t10k", 60)):
        labels = (np.arange(n) % 12).astype(np.uint8)
        images = (labels[:, None, None] * 20 + rng.integers(0, 8, size=(n, 4, 4))).astype(np.uint8)
        (data / f"{prefix}-images-idx3-ubyte").write_bytes(idx_bytes(images))
        (data / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    save = tmp_path / "net.npz"
    assert main(["train", "--data-dir", str(data), "--iters", "40", "--batch-size", "20", "--lr", "0.5", "--seed", "0",
                 "--save", str(save), "--quiet"]) == 0
    assert xpnet.load(save).output_size == 12
    assert xpnet.load(save).history.config["dataset"] == f"the IDX files in {data}"
    # a resumed run continues on its own data set, not the embedded MNIST
    assert main(["train", "--resume", str(save), "--save", str(save), "--iters", "60", "--quiet"]) == 0
    again = xpnet.load(save)
    assert again.output_size == 12 and again.history.iterations == 60


def test_info_lists_devices_and_why_a_gpu_is_missing(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "devices: CPU_DEVICE, device1" in out
    torch_info = {i.name: i for i in xpnet.available()}["torch"]
    for note in torch_info.notes:
        assert note in out


def _synopsis() -> dict[str, set[str]]:
    """The flags the README's synopsis lists, per command (``train``, ``gradcheck``, ``info``, ``bench``)."""
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- cli-synopsis -->\s*```\n(.*?)```", text, re.S).group(1)
    commands: dict[str, set[str]] = {}
    current = None
    for line in block.splitlines():
        head = re.match(r"(?:xpnet (\w+|--)|python benchmarks/(bench)\.py)", line)
        if head:
            current = "xpnet" if head.group(1) == "--" else head.group(1) or head.group(2)
            commands.setdefault(current, set())
        if current is not None:
            commands[current] |= set(re.findall(r"--[a-z0-9-]+", line))
    return commands


def _flags(parser) -> set[str]:
    import argparse

    return {opt for a in parser._actions if a.help is not argparse.SUPPRESS and not isinstance(a, argparse._SubParsersAction)
            for opt in a.option_strings if opt.startswith("--")} - {"--help"}


def test_readme_synopsis_lists_every_flag_of_every_command():
    import argparse
    import sys as _sys

    from xpnet.cli import build_parser

    listed = _synopsis()
    assert listed["xpnet"] == _flags(build_parser()), "README synopsis of `xpnet` itself"
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        assert listed.get(name) == _flags(parser), f"README synopsis of `xpnet {name}`"
    _sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench
    finally:
        _sys.path.remove(str(ROOT / "benchmarks"))
    assert listed["bench"] == _flags(bench._parser()), "README synopsis of benchmarks/bench.py"

"""No traceback reaches a user: every mistake is one line and exit 2, every failure of the run one line and exit 1.

Also: a closed pipe (``xpnet info | head -1``) ends quietly with the command's own status, and a
training run whose stdout reader has gone still trains and saves.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _files import ROOT, env, idx_bytes, one_line_error, write_mnist_dir, xpnet_command

import xpnet
from xpnet.cli import main


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_mnist_dir(tmp_path_factory.mktemp("data"), 300, 100)


def _garbage(tmp: Path) -> str:
    (tmp / "garbage.npz").write_bytes(b"not a checkpoint")
    return str(tmp / "garbage.npz")


MISTAKES = [
    ("iters-zero", lambda tmp, d: ["train", "--iters", "0"], r"--iters: expected a positive integer, got '0'"),
    ("iters-negative", lambda tmp, d: ["train", "--iters", "-5"], r"--iters: expected a positive integer"),
    ("hidden-size-zero", lambda tmp, d: ["train", "--hidden-size", "0"], r"--hidden-size: expected a positive integer"),
    ("weight-init-std-inf", lambda tmp, d: ["train", "--weight-init-std", "inf"], r"expected a positive finite number"),
    ("unknown-backend", lambda tmp, d: ["train", "--backend", "tensorflow"], r"unknown backend 'tensorflow'"),
    ("numpy-on-a-gpu", lambda tmp, d: ["train", "--device", "cuda:0"], r"NumPy arrays live on the CPU only"),
    ("patience-without-validation", lambda tmp, d: ["train", "--data-dir", str(d), "--patience", "2"], r"patience needs"),
    ("data-dir-missing", lambda tmp, d: ["train", "--data-dir", str(tmp / "none")], r"none: data directory does not exist"),
    ("data-dir-a-file", lambda tmp, d: ["train", "--data-dir", _garbage(tmp)], r"data_dir is not a directory"),
    ("resume-missing", lambda tmp, d: ["train", "--resume", str(tmp / "none.npz")], r"none\.npz: no such checkpoint file"),
    ("resume-a-directory", lambda tmp, d: ["train", "--resume", str(tmp)], r"is a directory, not a checkpoint file"),
    ("resume-garbage", lambda tmp, d: ["train", "--resume", _garbage(tmp)], r"not a readable xpnet checkpoint"),
    ("gradcheck-unknown-backend", lambda tmp, d: ["gradcheck", "--backend", "nope"], r"unknown backend 'nope'"),
    ("gradcheck-data-dir-missing", lambda tmp, d: ["gradcheck", "--data-dir", str(tmp / "none")], r"does not exist"),
    ("unknown-command", lambda tmp, d: ["fly"], r"invalid choice: 'fly'"),
]


@pytest.mark.parametrize(("make", "match"), [pytest.param(m, r, id=i) for i, m, r in MISTAKES])
def test_mistakes_are_one_line_and_exit_2(tmp_path, data, capsys, make, match):
    try:
        code = main(make(tmp_path, data))
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    assert code == 2
    assert re.search(match, one_line_error(capsys.readouterr().err))


def test_bench_mistakes_are_one_line_and_exit_2(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    for argv, match in ((["--backend", "nope"], "unknown backend 'nope'"),
                        (["--json", str(tmp_path / "missing" / "r.json")], "missing does not exist")):
        with pytest.raises(SystemExit) as exc:
            bench.main(["--short", *argv])
        assert exc.value.code == 2
        assert match in one_line_error(capsys.readouterr().err)


def test_gradcheck_on_images_of_another_size(tmp_path, capsys):
    """14x14 images (MNIST, every other pixel): the network is sized by the data."""
    from xpnet.datasets import load_mnist

    (x, t), (xt, tt) = load_mnist(normalize=False, flatten=False)
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    for name, array in zip(names, (x[:20, 0, ::2, ::2], t[:20], xt[:10, 0, ::2, ::2], tt[:10])):
        (tmp_path / name).write_bytes(idx_bytes(np.ascontiguousarray(array)))
    assert main(["gradcheck", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 images of 196 pixels" in out and "OK" in out


@pytest.mark.parametrize(("failure", "code", "match"), [
    (RuntimeError("boom"), 1, r"error: RuntimeError: boom \(XPNET_TRACEBACK=1 shows where\)"),
    (MemoryError(), 1, r"error: out of memory"),
    (KeyboardInterrupt(), 130, r"xpnet train: interrupted"),
])
def test_failures_of_the_run_are_one_line(data, capsys, monkeypatch, failure, code, match):
    from xpnet.training import Trainer

    def fail(self, *args, **kwargs):
        raise failure

    monkeypatch.setattr(Trainer, "run", fail)
    assert main(["train", "--data-dir", str(data), "--iters", "10"]) == code
    assert re.search(match, one_line_error(capsys.readouterr().err))


def _first_line_then_close(*argv: str, cwd: Path) -> tuple[str, int, str]:
    """Run ``xpnet ARGV``, read one line of stdout, close the pipe (as ``| head -1`` does), and wait."""
    proc = subprocess.Popen(xpnet_command(*argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=cwd)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    return first, proc.wait(timeout=300), err


def test_info_into_a_closed_pipe_ends_quietly(tmp_path):
    first, code, err = _first_line_then_close("info", cwd=tmp_path)
    assert first.startswith("xpnet ") and code == 0
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_training_into_a_closed_pipe_still_trains_and_saves(data, tmp_path):
    first, code, err = _first_line_then_close("train", "--data-dir", str(data), "--iters", "300", "--eval-every", "10",
                                              "--save", "net.npz", cwd=tmp_path)
    assert first.startswith("training") and code == 0
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert xpnet.load(tmp_path / "net.npz").history.iterations == 300

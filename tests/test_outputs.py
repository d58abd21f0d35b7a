"""Nothing lost: outputs are checked before training, written checkpoint first, atomically, and never over a non-file.

Covers ``xpnet train``'s output checks (a table of paths refused before any work), failures while
writing at the end, the atomic writer (regular files only, links followed, temporary files
cleaned), and a process killed with SIGKILL in the middle of saves.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _files import env, one_line_error, write_mnist_dir
from conftest import to_np

import xpnet
from xpnet.cli import main
from xpnet._files import atomic
from xpnet._files.atomic import OutputError, atomic_write_bytes, stale_temporaries

ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """A small MNIST-format data set (600 train, 200 test images): runs take a fraction of a second."""
    return write_mnist_dir(tmp_path_factory.mktemp("data"))


def _train(data: Path, *argv: str) -> int:
    return main(["train", "--data-dir", str(data), "--iters", "40", "--eval-every", "20", "--seed", "1", "--quiet", *argv])


def _fifo(tmp: Path) -> str:
    os.mkfifo(tmp / "fifo")
    return str(tmp / "fifo")


def _link(tmp: Path, target: str, name: str = "link") -> str:
    (tmp / name).symlink_to(target)
    return str(tmp / name)


def _read_only_dir(tmp: Path) -> str:
    (tmp / "ro").mkdir()
    os.chmod(tmp / "ro", 0o555)
    return str(tmp / "ro" / "out")


def _read_only_file(tmp: Path) -> str:
    (tmp / "ro.npz").write_bytes(b"keep me")
    os.chmod(tmp / "ro.npz", 0o444)
    return str(tmp / "ro.npz")


def _hard_link(tmp: Path) -> list[str]:
    (tmp / "a.json").write_text("{}")
    os.link(tmp / "a.json", tmp / "b.json")
    return ["--save", str(tmp / "a.json"), "--history", str(tmp / "b.json")]


NOT_ROOT = pytest.mark.skipif(ROOT_USER, reason="root writes into read-only directories and files")
def case(case_id: str, make, match: str, marks=()):
    return pytest.param(make, match, id=case_id, marks=marks)


OUTPUT_CASES = [
    case("save-empty", lambda tmp: ["--save", ""], r"--save: empty path"),
    case("history-empty", lambda tmp: ["--history", ""], r"--history: empty path"),
    case("plot-empty", lambda tmp: ["--plot", ""], r"--plot: empty path"),
    case("save-a-directory", lambda tmp: ["--save", str(tmp)], r"is a directory, not a regular file"),
    case("save-dev-null", lambda tmp: ["--save", "/dev/null"], r"/dev/null: is a character device, not a regular file"),
    case("history-dev-stdout", lambda tmp: ["--history", "/dev/stdout"], r"names an open file descriptor"),
    case("history-proc-fd", lambda tmp: ["--history", "/proc/self/fd/1"], r"names an open file descriptor"),
    case("history-link-to-stdout", lambda tmp: ["--history", _link(tmp, "/dev/stdout")], r"names an open file descriptor \(/dev/stdout\)"),
    case("save-link-to-device", lambda tmp: ["--save", _link(tmp, "/dev/null")], r"a link to /dev/null\): is a character device"),
    case("save-dangling-link", lambda tmp: ["--save", _link(tmp, str(tmp / "nowhere.npz"))], r"is a symbolic link to .*nowhere\.npz"),
    case("history-fifo", lambda tmp: ["--history", _fifo(tmp)], r"is a FIFO \(named pipe\), not a regular file"),
    case("save-missing-directory", lambda tmp: ["--save", str(tmp / "no" / "net.npz")], r"directory .*no does not exist"),
    case("save-and-history-same", lambda tmp: ["--save", str(tmp / "x"), "--history", str(tmp / "x")],
         r"--save and --history name the same file"),
    case("history-and-plot-same", lambda tmp: ["--history", str(tmp / "x.png"), "--plot", str(tmp / "x.png")],
         r"--history and --plot name the same file"),
    case("save-and-history-hard-links", _hard_link, r"--save and --history name the same file"),
    case("history-is-the-resumed-checkpoint", lambda tmp: ["--resume", str(tmp / "r.npz"), "--history", str(tmp / "r.npz")],
         r"--history and --resume name the same file"),
    case("plot-unknown-format", lambda tmp: ["--plot", str(tmp / "curves.json")], r"unknown plot format 'json'; use one of .*\.png"),
    case("save-read-only-directory", lambda tmp: ["--save", _read_only_dir(tmp)], r"cannot create files in", marks=NOT_ROOT),
    case("plot-read-only-directory", lambda tmp: ["--plot", _read_only_dir(tmp) + ".png"], r"cannot create files in",
         marks=NOT_ROOT),
    case("save-read-only-file", lambda tmp: ["--save", _read_only_file(tmp)], r"the file is read-only", marks=NOT_ROOT),
]


@pytest.mark.parametrize(("make", "match"), OUTPUT_CASES)
def test_bad_outputs_are_refused_before_training(data, tmp_path, capsys, make, match):
    argv = make(tmp_path)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()}
    assert _train(data, *argv) == 2
    captured = capsys.readouterr()
    assert "done" not in captured.out and "training" not in captured.out  # nothing was trained
    assert re.search(match, one_line_error(captured.err))
    assert {p: p.stat().st_mtime_ns for p in before} == before  # nothing was written either


def test_a_link_to_a_regular_file_is_followed_and_kept(data, tmp_path, capsys):
    (tmp_path / "run1.npz").write_bytes(b"old")
    link = _link(tmp_path, "run1.npz", "latest.npz")
    assert _train(data, "--save", link) == 0
    assert os.path.islink(link) and xpnet.load(link).input_size == 784
    assert xpnet.load(tmp_path / "run1.npz").input_size == 784


def test_plot_without_suffix_writes_and_reports_png(data, tmp_path, capsys):
    assert _train(data, "--plot", str(tmp_path / "curves")) == 0
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "curves").exists()
    assert f"plot {tmp_path / 'curves.png'}" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["pdf", "svg"])
def test_plot_format_follows_the_suffix(data, tmp_path, capsys, fmt):
    assert _train(data, "--plot", str(tmp_path / f"curves.{fmt}")) == 0
    head = (tmp_path / f"curves.{fmt}").read_bytes()[:100]
    assert head.startswith(b"%PDF") if fmt == "pdf" else b"<svg" in head or b"<?xml" in head


# --------------------------------------------------------------------------- failures at the end
def _fail(*args, **kwargs):
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("broken", ["history", "plot"])
def test_a_failing_history_or_plot_keeps_the_checkpoint_and_exits_1(data, tmp_path, capsys, monkeypatch, broken):
    from xpnet.cli import outputs
    from xpnet.io import plot

    if broken == "history":
        monkeypatch.setattr(outputs, "atomic_write_bytes", _fail)
    else:
        monkeypatch.setattr(plot, "plot_history", _fail)
    ckpt = tmp_path / "net.npz"
    code = _train(data, "--save", str(ckpt), "--history", str(tmp_path / "h.json"), "--plot", str(tmp_path / "p.png"))
    captured = capsys.readouterr()
    assert code == 1
    err = one_line_error(captured.err)
    assert f"cannot write {broken}" in err and "No space left on device" in err
    assert xpnet.load(ckpt).history.iterations == 40  # the trained parameters are safe
    assert f"checkpoint {ckpt}" in captured.out


def test_a_failing_checkpoint_is_rescued_to_the_temporary_directory(data, tmp_path, capsys, monkeypatch):
    from xpnet.io import checkpoint

    real = checkpoint.atomic_write_bytes
    target = tmp_path / "net.npz"
    monkeypatch.setattr(checkpoint, "atomic_write_bytes",
                        lambda path, blob: _fail() if Path(path) == target else real(path, blob))
    assert _train(data, "--save", str(target)) == 1
    err = one_line_error(capsys.readouterr().err)
    assert "cannot write checkpoint: No space left on device" in err
    rescued = Path(err.split("saved it to ")[1].split(" instead")[0])
    try:
        assert xpnet.load(rescued).history.iterations == 40
    finally:
        rescued.unlink()


# --------------------------------------------------------------------------- the atomic writer
def test_atomic_write_replaces_a_regular_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    assert atomic_write_bytes(path, b"new") == path
    assert path.read_bytes() == b"new" and sorted(os.listdir(tmp_path)) == ["f.bin"]


@pytest.mark.parametrize("target", ["/dev/null", "directory", "fifo"])
def test_atomic_write_never_replaces_a_non_file(tmp_path, target):
    if target == "directory":
        path = tmp_path
    elif target == "fifo":
        path = Path(_fifo(tmp_path))
    else:
        path = Path(target)
    with pytest.raises(OutputError, match="not a regular file"):
        atomic_write_bytes(path, b"x")
    assert path.exists() and not path.is_file()


def test_temporary_file_is_removed_when_writing_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "fsync", _fail)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_bytes(tmp_path / "f.bin", b"x" * 1000)
    assert os.listdir(tmp_path) == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_dead_processes_are_removed_live_ones_kept(tmp_path):
    target = tmp_path / "net.npz"
    dead = tmp_path / f".net.npz.{_dead_pid()}.0badc0de.xpnet-tmp"
    live = tmp_path / f".net.npz.{os.getppid()}.0badc0de.xpnet-tmp"
    other = tmp_path / f".other.npz.{_dead_pid()}.0badc0de.xpnet-tmp"
    for p in (dead, live, other):
        p.write_bytes(b"partial")
    assert stale_temporaries(target) == [dead]
    atomic_write_bytes(target, b"complete")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name, "net.npz"])


KILLER = """
import json, os, random, signal, sys, time
import xpnet
from xpnet._files.atomic import stale_temporaries

path, rounds = sys.argv[1], int(sys.argv[2])
net = xpnet.TwoLayerNet(784, 300, 10, seed=0, dtype="float64")  # checkpoints of 1.9 MB
xpnet.save(net, path)
rng, landed, loaded = random.Random(), 0, 0
for i in range(rounds):
    pid = os.fork()
    if pid == 0:  # the victim: saves another network, over and over
        other = xpnet.TwoLayerNet(784, 300, 10, seed=i + 1, dtype="float64")
        while True:
            xpnet.save(other, path)
    time.sleep(rng.uniform(0.0, 0.05))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    loaded += xpnet.load(path).hidden_size == 300  # the previous checkpoint or the new one: always whole
    landed += bool(stale_temporaries(path))  # killed inside a save
xpnet.save(net, path)
print(json.dumps({"rounds": rounds, "loaded": loaded, "landed": landed, "left": sorted(os.listdir(os.path.dirname(path)))}))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks the processes it kills")
def test_sigkill_during_saves_never_leaves_a_broken_checkpoint(tmp_path):
    """30 processes saving in a loop, each killed with SIGKILL after a random delay; then one more save cleans up."""
    path = tmp_path / "net.npz"
    proc = subprocess.run([sys.executable, "-c", KILLER, str(path), "30"], capture_output=True, text=True, env=env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["loaded"] == report["rounds"] == 30
    assert report["landed"] >= 1, f"no kill landed inside a save, so nothing was shown: {report}"
    assert report["left"] == ["net.npz"]  # no temporary file survives the next save

"""Every script in ``examples/`` runs in-process on NumPy and array_api_strict and prints the book's numbers."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CASES = [
    pytest.param(["--backend", "numpy"], id="numpy"),
    pytest.param(["--backend", "array_api_strict"], id="strict"),
    pytest.param(["--backend", "array_api_strict", "--device", "device1"], id="strict-device1"),
]
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf")


def load(name: str) -> ModuleType:
    """Import ``examples/NAME.py`` from its path, as ``python examples/NAME.py`` would find it."""
    if str(EXAMPLES) not in sys.path:
        sys.path.append(str(EXAMPLES))  # the scripts import their shared helpers as ``_common``
    spec = importlib.util.spec_from_file_location(f"xpnet_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def run(capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``run(name, *argv) -> (exit code, stdout)``; runs in an empty directory and checks nothing was written there."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)

    def _run(name: str, *argv: str, module: ModuleType | None = None) -> tuple[int, str]:
        code = (module or load(name)).main(list(argv))
        out = capsys.readouterr().out
        assert sorted(p.name for p in cwd.iterdir()) == [], f"{name} wrote files without --plot"
        return code, out

    return _run


def values(out: str, label: str) -> list[float]:
    """The numbers printed on the line ``label: ...`` (the ``# note`` excluded)."""
    for line in out.splitlines():
        if line.startswith(label + ":"):
            return [float(v) for v in NUMBER.findall(line[len(label) + 1 :].split("#")[0])]
    raise AssertionError(f"no line starting with {label!r} in the output:\n{out}")


def value(out: str, label: str) -> float:
    """The single number printed on the line ``label: ...``."""
    (v,) = values(out, label)
    return v


def text(out: str, label: str) -> str:
    """What follows ``label:`` on its line, the ``# note`` excluded."""
    for line in out.splitlines():
        if line.startswith(label + ":"):
            return line[len(label) + 1 :].split("#")[0].strip()
    raise AssertionError(f"no line starting with {label!r} in the output:\n{out}")


def assert_png(path: Path) -> None:
    """``path`` is a non-empty PNG file."""
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("case", CASES)
def test_loss_functions_prints_the_books_losses(run, case):
    code, out = run("loss_functions", *case)
    assert code == 0
    assert value(out, "mean_squared_error(y1, t)") == pytest.approx(0.0975, rel=1e-12)
    assert value(out, "mean_squared_error(y2, t)") == pytest.approx(0.5975, rel=1e-12)
    for form in ("t", "label 2"):
        assert value(out, f"cross_entropy_error(y1, {form})") == pytest.approx(0.510825457099338, rel=1e-12)
        assert value(out, f"cross_entropy_error(y2, {form})") == pytest.approx(2.302584092994546, rel=1e-12)
    mean = (0.510825457099338 + 2.302584092994546) / 2
    assert value(out, "cross_entropy_error(batch, one-hot)") == pytest.approx(mean, rel=1e-12)
    assert value(out, "cross_entropy_error(batch, labels)") == pytest.approx(mean, rel=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_numerical_diff_matches_the_book_and_the_bad_difference_is_zero(run, case):
    code, out = run("numerical_diff", *case)
    assert code == 0
    assert value(out, "numerical_diff(function_1, 5)") == pytest.approx(0.1999999999990898, rel=1e-13)
    assert value(out, "numerical_diff(function_1, 10)") == pytest.approx(0.2999999999986347, rel=1e-13)
    assert value(out, "analytic derivative at 5") == pytest.approx(0.2)
    assert value(out, "analytic derivative at 10") == pytest.approx(0.3)
    assert value(out, "bad forward diff h=1e-50 at 5") == 0.0
    assert text(out, "x + 1e-50 == x") == "True"
    assert value(out, "1e-50 in float32") == 0.0


def test_numerical_diff_in_float32_loses_the_step_entirely(run):
    code, out = run("numerical_diff", "--dtype", "float32")
    assert code == 0
    assert text(out, "bad forward diff h=1e-50 at 5") == "nan"  # h itself rounds to 0: 0 / 0
    assert value(out, "numerical_diff(function_1, 5)") == pytest.approx(0.2, abs=1e-2)


@pytest.mark.parametrize("case", CASES)
def test_gradient_prints_partials_and_gradients(run, case):
    code, out = run("gradient", *case)
    assert code == 0
    assert value(out, "df/dx0 at (3, 4)") == pytest.approx(6.00000000000378, rel=1e-12)
    assert value(out, "df/dx1 at (3, 4)") == pytest.approx(7.999999999999119, rel=1e-12)
    expected = {"(3, 4)": [6, 8], "(0, 2)": [0, 4], "(3, 0)": [6, 0]}
    for point, grad in expected.items():
        assert values(out, f"numerical_gradient at {point}") == pytest.approx(grad, abs=1e-9)
    assert text(out, "gradient on the 18x18 grid equals 2x") == "True"


@pytest.mark.parametrize("case", CASES)
def test_gradient_descent_converges_diverges_and_stalls(run, case):
    code, out = run("gradient_descent", *case)
    assert code == 0
    assert values(out, "gradient_descent lr=0.1, 100 steps") == pytest.approx([-6.11110793e-10, 8.14814391e-10], rel=1e-6)
    assert values(out, "gradient_descent lr=10 (too large), 100 steps") == pytest.approx([-2.58983747e13, -1.29524862e12], rel=1e-6)
    assert values(out, "gradient_descent lr=1e-10 (too small), 100 steps") == pytest.approx([-2.99999994, 3.99999992], rel=1e-8)


@pytest.mark.parametrize("case", CASES)
def test_simple_net_reproduces_the_books_prediction_loss_and_gradient(run, case):
    code, out = run("simple_net", *case)
    assert code == 0
    assert values(out, "predict(x)") == pytest.approx([1.05414809, 0.63071653, 1.1328074], abs=1e-8)
    assert value(out, "argmax") == 2
    assert value(out, "loss, exact") == pytest.approx(0.92806853663411326, abs=1e-8)
    book_dw = [0.21924763, 0.14356247, -0.36281009, 0.32887144, 0.2153437, -0.54421514]
    assert values(out, "dW, exact") == pytest.approx(book_dw, abs=1e-8)
    # The book's delta = 1e-7 inside the log: a little lower, by about 1e-7 / y[2].
    assert value(out, "loss, SimpleNet.loss") == pytest.approx(0.92806853663411326 - 2.53e-7, abs=1e-8)
    assert values(out, "dW, SimpleNet.numerical_gradient") == pytest.approx(book_dw, rel=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_buy_apple_prints_the_books_bill_and_derivatives(run, case):
    code, out = run("buy_apple", *case)
    assert code == 0
    expected = {
        "apple price": "220", "apple dapple": "2.2", "apple dapple_num": "110", "apple dtax": "200",
        "apple+orange price": "715", "apple+orange dapple_num": "110", "apple+orange dapple": "2.2",
        "apple+orange dorange": "3.3", "apple+orange dorange_num": "165", "apple+orange dtax": "650",
    }
    for label, printed in expected.items():
        assert text(out, label) == printed  # rounded as in the book, e.g. 715.0000000000001 -> 715


@pytest.mark.parametrize("case", CASES)
def test_layers_forward_and_backward(run, case):
    code, out = run("layers", *case)
    assert code == 0
    assert text(out, "Relu mask") == "[[False, True], [True, False]]"
    assert values(out, "Relu backward of ones") == [1, 0, 0, 1]
    assert values(out, "Sigmoid backward of ones") == pytest.approx([0.19661193, 0.25, 0.19661193], abs=1e-8)
    assert values(out, "Affine db for dY = [[1, 2, 3], [4, 5, 6]]") == [5, 7, 9]
    assert values(out, "SoftmaxWithLoss y - t, poor prediction") == pytest.approx([0.3, -0.8, 0.5], abs=1e-6)
    assert values(out, "SoftmaxWithLoss y - t, good prediction") == pytest.approx([0.01, -0.01, 0.0], abs=1e-6)
    assert value(out, "SoftmaxWithLoss loss, poor prediction") > 100 * value(out, "SoftmaxWithLoss loss, good prediction")


@pytest.mark.parametrize("case", CASES)
def test_two_layer_net_ch4_gradients_agree_and_backprop_is_faster(run, case):
    code, out = run("two_layer_net_ch4", *case, "--hidden-size", "10", "--batch-size", "2", "--small-hidden-size", "1")
    assert code == 0
    for key, shape in {"W1": "(784, 10)", "b1": "(10,)", "W2": "(10, 10)", "b2": "(10,)"}.items():
        assert text(out, f"{key} shape") == shape
    for net in ("small", "full"):
        for key in ("W1", "b1", "W2", "b2"):
            assert 0 <= value(out, f"{net} {key} mean |numerical - backprop|") < 1e-8
    assert "timing small net 784-1-10 (805 params): loop" in out
    assert re.search(r"timing full net 784-10-10 \(7,960 params\): batched .* loop \(estimated\)", out)
    assert re.search(r"backprop is about [\d,]+ times faster", out)


@pytest.mark.parametrize("case", CASES)
def test_two_layer_net_ch5_lists_layers_and_gradient_shapes(run, case):
    code, out = run("two_layer_net_ch5", *case, "--hidden-size", "8", "--batch-size", "5")
    assert code == 0
    names = re.findall(r"^layer \d: (\w+) =", out, flags=re.MULTILINE)
    assert names == ["Affine1", "Relu1", "Affine2", "last_layer"]
    assert text(out, "scores shape") == "(5, 10)"
    assert value(out, "loss") == pytest.approx(2.3026, abs=0.05)  # log(10): untrained
    for key, shape in {"W1": "(784, 8)", "b1": "(8,)", "W2": "(8, 10)", "b2": "(10,)"}.items():
        assert f"gradient {key} shape: {shape} (parameter {shape})" in out


@pytest.mark.parametrize("case", CASES)
def test_gradient_check_differences_are_far_below_the_books(run, case):
    code, out = run("gradient_check", *case)
    assert code == 0
    for key in ("W1", "b1", "W2", "b2"):
        assert 0 <= value(out, f"{key} mean |backprop - numerical|") < 1e-9
    assert "gradient check passed" in out


def test_gradient_check_exits_nonzero_above_the_tolerance(run):
    module = load("gradient_check")
    module.TOLERANCE = 1e-20  # any real difference exceeds this
    code, out = run("gradient_check", "--batch-size", "1", module=module)
    assert code == 1
    assert "gradient check FAILED" in out


@pytest.mark.parametrize("case", CASES)
def test_train_mnist_learns_in_a_few_hundred_steps(run, case):
    code, out = run("train_mnist", *case, "--iters", "200", "--eval-every", "100")
    assert code == 0
    lines = re.findall(r"^epoch ([\d.]+) \(iteration (\d+)\): train acc ([\d.]+), test acc ([\d.]+), loss ([\d.]+)$", out, re.M)
    assert [int(it) for _, it, *_ in lines] == [100, 200]
    assert float(lines[1][4]) < float(lines[0][4])  # the loss goes down
    assert value(out, "final test accuracy") == float(lines[-1][3]) > 0.8


def _usable(name: str) -> bool:
    from xpnet.testing import backend_cases

    return any(case.usable for case in backend_cases() if case.backend == name)


BOOK_LOOP_CASES = [
    pytest.param(["--backend", "numpy"], id="numpy"),
    pytest.param(["--backend", "array_api_strict", "--device", "device1"], id="strict-device1"),
    *(pytest.param(["--backend", name], id=name, marks=pytest.mark.skipif(not _usable(name), reason=f"{name} is not usable here"))
      for name in ("torch", "jax")),
]


@pytest.mark.parametrize("case", BOOK_LOOP_CASES)
def test_train_neuralnet_runs_the_books_loop_and_learns(run, case):
    """The book's loop, unchanged, on xpnet's TwoLayerNet: one 'train acc, test acc' line per epoch, as in the book."""
    code, out = run("train_neuralnet", *case, "--iters", "101", "--batch-size", "600", "--hidden-size", "10", "--lr", "0.5")
    assert code == 0
    lines = re.findall(r"^train acc, test acc \| ([\d.]+), ([\d.]+)$", out, re.M)
    assert len(lines) == 2  # iterations 0 and 100: one epoch is 60000 / 600 steps
    (train0, test0), (train1, test1) = [(float(a), float(b)) for a, b in lines]
    assert train1 > 0.8 and test1 > 0.8 and train1 > train0 + 0.5
    assert 0 < value(out, "mean loss of the last 100 iterations") < 2.0


@pytest.mark.parametrize(("name", "argv"), [("gradient_descent", []), ("train_mnist", ["--iters", "20"])])
def test_show_opens_a_window_and_writes_nothing(run, monkeypatch, name, argv):
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(plt, "get_backend", lambda: "TkAgg")  # as on a desktop
    monkeypatch.setattr(plt, "show", lambda *a, **kw: shown.append(plt.gcf()))
    code, out = run(name, *argv, "--show")  # run() checks that nothing was written
    assert code == 0 and len(shown) == 1 and "plot written" not in out


def test_show_without_a_display_says_so(run, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "get_backend", lambda: "agg")
    code, out = run("gradient_descent", "--show")
    assert code == 0 and "no window" in out and "--plot PATH" in out


@pytest.mark.parametrize(
    ("name", "argv"),
    [("numerical_diff", []), ("gradient", []), ("gradient_descent", []), ("train_mnist", ["--iters", "50"]),
     ("train_neuralnet", ["--iters", "2", "--batch-size", "30000"])],
)
def test_plot_writes_a_png(run, tmp_path, name, argv):
    check_plot(run, tmp_path, name, argv)


def check_plot(run, tmp_path: Path, name: str, argv: list[str]) -> None:
    """``name`` with ``argv`` and ``--plot``: exit 0, the line naming the file, and a PNG there."""
    path = tmp_path / f"{name}.png"
    code, out = run(name, *argv, "--plot", str(path))
    assert code == 0
    assert f"plot written to {path}" in out
    assert_png(path)


def test_plot_without_matplotlib_says_how_to_install_it_and_still_prints(run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    path = tmp_path / "path.png"
    code, out = run("gradient_descent", "--plot", str(path))
    assert code == 0
    assert "pip install matplotlib" in out
    assert values(out, "gradient_descent lr=0.1, 100 steps") == pytest.approx([-6.11110793e-10, 8.14814391e-10], rel=1e-6)
    assert not path.exists()


def test_unknown_backend_is_a_usage_error(run, capsys):
    with pytest.raises(SystemExit) as info:
        run("loss_functions", "--backend", "no_such_backend")
    assert info.value.code == 2
    assert "unknown backend" in capsys.readouterr().err

"""The public names: explicit, sorted, importable, documented."""

import importlib

import xpnet


def test_all_is_sorted_and_unique():
    assert xpnet.__all__ == sorted(set(xpnet.__all__))


def test_every_exported_name_exists_and_is_documented():
    for name in xpnet.__all__:
        obj = getattr(xpnet, name)
        if callable(obj):
            assert obj.__doc__, f"xpnet.{name} has no docstring"


def test_book_names_are_exported():
    book = {
        "identity_function", "step_function", "sigmoid", "sigmoid_grad", "relu", "relu_grad", "softmax",
        "mean_squared_error", "cross_entropy_error", "numerical_diff", "numerical_gradient",
        "gradient_descent", "MulLayer", "AddLayer", "Relu", "Sigmoid", "Affine", "SoftmaxWithLoss",
        "SimpleNet", "TwoLayerNet", "gradient_check",
    }
    assert book <= set(xpnet.__all__)


def test_submodules_declare_all():
    for mod in ("backends", "functions", "gradient", "layers", "nets", "gradcheck", "optim", "params", "nets.simple_net",
                "_array.compat", "_array.registry", "_array.random", "_array.devices", "training", "training.progress",
                "training.api", "io.checkpoint", "io.plot", "cli", "testing", "datasets", "datasets.fashion"):
        module = importlib.import_module(f"xpnet.{mod}")
        for name in module.__all__:
            assert hasattr(module, name), f"xpnet.{mod}.__all__ names missing {name}"


def test_only_compat_module_imports_array_api_compat():
    import pathlib

    root = pathlib.Path(xpnet.__file__).parent
    offenders = [
        p.name for p in root.rglob("*.py")
        if p.relative_to(root).as_posix() != "_array/compat.py" and "array_api_compat" in p.read_text()
    ]
    assert offenders == []

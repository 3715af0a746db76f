"""Every public name of the reference index exists at graphspec.<path>; the hub package and
hubconf.py expose every zoo function, as PyTorchVideo's do."""
from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path

import pytest

from conftest import REFERENCE


def _names() -> list[str]:
    path = REFERENCE / "api-names.txt"  # a missing reference fails collection loudly, never skips
    return [n.strip() for n in path.read_text().splitlines() if n.strip()]


@pytest.mark.parametrize("name", _names())
def test_public_name_exists(name):
    module, attr = name.rsplit(".", 1)
    obj = getattr(importlib.import_module(f"graphspec.{module}"), attr)
    if module.startswith("models.hub."):  # hub functions: PyTorchVideo's signature
        params = inspect.signature(obj).parameters
        assert params["pretrained"].default is False and params["progress"].default is True


def _hub_functions() -> dict[str, object]:
    """Every zoo function defined in a graphspec.models.hub submodule (one with `pretrained`)."""
    from graphspec.models import hub

    found = {}
    for path in sorted(Path(hub.__file__).parent.glob("*.py")):
        if path.stem in ("__init__", "utils"):
            continue
        module = importlib.import_module(f"graphspec.models.hub.{path.stem}")
        for name, obj in vars(module).items():
            if (inspect.isfunction(obj) and obj.__module__ == module.__name__ and not name.startswith("_")
                    and "pretrained" in inspect.signature(obj).parameters):
                found[name] = obj
    return found


def test_hub_package_re_exports_every_hub_function():
    """`from pytorchvideo.models.hub import slow_r50` works: so does ours, for every hub function."""
    from graphspec.models import hub

    functions = _hub_functions()
    assert all(fn.__name__ == name for name, fn in functions.items())  # each builds the zoo model it is named after
    reference = {n.rsplit(".", 1)[1] for n in _names() if n.startswith("models.hub.")}
    assert reference <= set(functions)
    assert {name: getattr(hub, name, None) for name in functions} == functions
    assert sorted(hub.__all__) == sorted(functions)


def test_torch_hub_loads_from_the_repository(monkeypatch):
    """hubconf.py at the repository root: torch.hub.load(REPO, NAME, source="local") as for PyTorchVideo."""
    import sys

    import torch

    from conftest import ROOT, reference_rows

    monkeypatch.setattr(sys, "path", list(sys.path))  # torch.hub puts the repository on sys.path
    spec = importlib.util.spec_from_file_location("hubconf", ROOT / "hubconf.py")
    hubconf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hubconf)
    entry_points = {n for n in dir(hubconf) if callable(getattr(hubconf, n)) and not n.startswith("_")}
    assert entry_points == set(_hub_functions())
    with torch.device("meta"):
        model = torch.hub.load(str(ROOT), "slow_r50", source="local", pretrained=False)
    layout = [(k, str(v.dtype).removeprefix("torch."), tuple(v.shape)) for k, v in model.state_dict().items()]
    assert layout == reference_rows("slow_r50")

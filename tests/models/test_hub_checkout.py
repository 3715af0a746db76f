"""torch.hub.load(REPO_DIR, ..., source="local") on a plain checkout: nothing pip-installed.

The repository's files are copied under tmp_path and loaded by a python in which any installed
graphspec (the editable finder or a wheel in site-packages) is invisible: a meta-path finder in front
of all others resolves ``graphspec`` only from the copy and refuses what the copy lacks (so the
editable install's ``graphspec.zoo`` mapping cannot answer for it)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, reference_zoo_table

CHECKOUT_ONLY = r"""
import importlib.util, json, sys
from importlib.machinery import PathFinder

ROOT = sys.argv[1]

class CheckoutOnly:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "graphspec" and not name.startswith("graphspec."):
            return None
        spec = PathFinder.find_spec(name, [ROOT] if name == "graphspec" else path)
        if spec is None:
            raise ModuleNotFoundError(f"No module named {name!r} in the checkout", name=name)
        return spec

sys.meta_path.insert(0, CheckoutOnly)
import torch

with torch.device("meta"):  # the layout without allocating weights
    model = torch.hub.load(ROOT, sys.argv[2], source="local", pretrained=False)
import graphspec
from graphspec.models.hub.utils import zoo_dir
print(json.dumps({"package": graphspec.__file__, "zoo": str(zoo_dir()),
                  "params": sum(p.numel() for p in model.parameters())}))
"""


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """The files torch.hub reads from a clone: hubconf.py, the package and the specs."""
    root = tmp_path_factory.mktemp("clone")
    shutil.copy(ROOT / "hubconf.py", root)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("graphspec", "specs"):
        shutil.copytree(ROOT / folder, root / folder, ignore=ignore)
    return root


@pytest.mark.parametrize("name", ["x3d_xs", "efficient_x3d_xs"])  # a zoo spec, and the Accelerator's build
def test_hub_load_from_a_plain_checkout(checkout, name):
    result = subprocess.run([sys.executable, "-I", "-c", CHECKOUT_ONLY, str(checkout), name],
                            cwd=checkout, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["package"].startswith(str(checkout))
    assert loaded["zoo"] == str(checkout / "specs" / "models")
    assert loaded["params"] == reference_zoo_table()[name][0]["params"]

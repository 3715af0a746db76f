"""Zoo models from their specs, with PyTorchVideo's published checkpoints."""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlparse

import torch
import torch.nn as nn

MODEL_ZOO_ROOT = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo"


# In a checkout (torch.hub's source="local", PYTHONPATH) the zoo specs are the repository's
# specs/models; a wheel ships the same folder as the package graphspec.zoo (pyproject's package-dir).
CHECKOUT_ZOO = Path(__file__).resolve().parents[3] / "specs" / "models"


def zoo_dir() -> Path:
    """Folder of the zoo specs: ``graphspec/zoo`` when installed, ``specs/models`` in a plain checkout."""
    try:
        return Path(str(resources.files("graphspec.zoo")))
    except ModuleNotFoundError:
        pass
    if CHECKOUT_ZOO.is_dir():
        return CHECKOUT_ZOO
    raise FileNotFoundError(f"the zoo specs are missing: graphspec.zoo is not installed and the checkout has no "
                            f"{CHECKOUT_ZOO}; reinstall graphspec or restore specs/models")


def zoo_names() -> list[str]:
    return sorted(p.stem for p in zoo_dir().glob("*.yaml"))


def zoo_spec(name: str) -> Path:
    path = zoo_dir() / f"{name}.yaml"
    if not path.is_file():
        from graphspec.spec.errors import did_you_mean

        hint = did_you_mean(name, zoo_names())
        raise ValueError(f"no zoo model {name!r}" + (f" ({hint})" if hint else ""))
    return path


def _override(key: str, value: Any) -> str:
    import json

    from graphspec.registry import as_spec_data

    try:
        return f"model.{key}={json.dumps(as_spec_data(value))}"
    except ValueError:
        raise TypeError(f"hub kwargs take plain values and registered ops only; got {key}={value!r} — "
                        "call the builder directly") from None


def cached_download(url: str, progress: bool = True) -> Path:
    """The local copy of ``url`` in torch.hub's cache (``torch.hub.get_dir()/checkpoints``, where
    ``torch.hub.load_state_dict_from_url`` keeps it), downloaded on the first call."""
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    path = folder / Path(urlparse(url).path).name
    if not path.is_file():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(url, str(path), progress=progress)  # to a temporary name first
        except OSError as err:  # URLError is an OSError: offline, DNS, HTTP errors
            raise RuntimeError(f"could not download the pretrained weights from {url} ({err}); check the network, "
                               "or download the file and load it with "
                               "graphspec.models.hub.utils.load_checkpoint") from err
    return path


def load_checkpoint(model: nn.Module, source: str | Path, progress: bool = True,
                    notes: Optional[list[str]] = None) -> nn.Module:
    """Load PyTorchVideo's checkpoint format (``{"model_state": state_dict}`` or a bare state_dict)
    from a URL (through torch.hub's cache) or a local file, as ``graphspec.checkpoints.load_weights``
    does: ``weights_only=True``, strict, ``WeightsError`` naming the keys that do not fit. How the
    state_dict was found goes to ``notes`` (``WeightsNote`` warnings without it)."""
    from graphspec.checkpoints import load_weights

    source = str(source)
    path = cached_download(source, progress) if source.startswith(("http://", "https://")) else source
    return load_weights(model, path, notes)


def hub_model(name: str, *, url: str | None, pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
    """Build zoo model ``name`` from its spec; ``kwargs`` override builder arguments; with
    ``pretrained`` load the published checkpoint from ``url``."""
    from graphspec.compiler.pipeline import build
    from graphspec.registry import require_bool

    require_bool(f"graphspec.models.hub.{name}", pretrained=pretrained, progress=progress)
    overrides = [_override(k, v) for k, v in kwargs.items()]
    model = build(zoo_spec(name), overrides)
    if pretrained:
        if url is None:
            raise ValueError(f"{name} has no published checkpoint")
        # the published checkpoints are all {"model_state": ...}: no note to show for that
        load_checkpoint(model, url, progress=progress, notes=[])
    return model

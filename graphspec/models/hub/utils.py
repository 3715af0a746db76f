"""Zoo models from their specs, with PyTorchVideo's published checkpoints."""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Callable, Optional
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


#: every zoo function, by PyTorchVideo's hub module (``hub.resnet``, ...): its published checkpoint
#: under ``MODEL_ZOO_ROOT`` and what it is
ZOO = {
    "resnet": {
        "slow_r50": ("kinetics/SLOW_8x8_R50.pyth", "Slow-only R50 (8x8), Kinetics-400 top-1 74.58."),
        "slow_r50_detection": ("ava/SLOW_4x16_R50_DETECTION.pyth",
                               "Slow R50 with a RoI head for AVA detection (mAP 19.5)."),
        "c2d_r50": ("kinetics/C2D_8x8_R50.pyth", "C2D R50 (8x8), Kinetics-400 top-1 71.46."),
        "i3d_r50": ("kinetics/I3D_8x8_R50.pyth", "I3D R50 (8x8), Kinetics-400 top-1 73.27."),
    },
    "slowfast": {
        "slowfast_r50": ("kinetics/SLOWFAST_8x8_R50.pyth", "SlowFast R50 (8x8), Kinetics-400 top-1 76.94."),
        "slowfast_r101": ("kinetics/SLOWFAST_8x8_R101.pyth", "SlowFast R101 (8x8), Kinetics-400 top-1 77.90."),
        "slowfast_16x8_r101_50_50": ("kinetics/SLOWFAST_16x8_R101_50_50.pyth",
                                     "SlowFast R101 (16x8), Kinetics-400 top-1 78.70."),
        "slowfast_r50_detection": ("ava/SLOWFAST_8x8_R50_DETECTION.pyth",
                                   "SlowFast R50 (8x8) with an RoI head for AVA detection (mAP 24.67); called as "
                                   "model([slow, fast], boxes)."),
    },
    "x3d": {
        "x3d_xs": ("kinetics/X3D_XS.pyth", "X3D-XS (4x12 clips, 160 crop), Kinetics-400 top-1 69.12."),
        "x3d_s": ("kinetics/X3D_S.pyth", "X3D-S (13x6 clips, 160 crop), Kinetics-400 top-1 73.33."),
        "x3d_m": ("kinetics/X3D_M.pyth", "X3D-M (16x5 clips, 224 crop), Kinetics-400 top-1 75.94."),
        "x3d_l": ("kinetics/X3D_L.pyth", "X3D-L (16x5 clips, 312 crop), Kinetics-400 top-1 77.44."),
    },
    "csn": {"csn_r101": ("kinetics/CSN_32x2_R101.pyth", "CSN R101 (32x2), Kinetics-400 top-1 77.00.")},
    "r2plus1d": {"r2plus1d_r50": ("kinetics/R2PLUS1D_16x4_R50.pyth", "R(2+1)D R50 (16x4), Kinetics-400 top-1 76.01.")},
    "efficient_x3d_mobile_cpu": {
        "efficient_x3d_xs": ("kinetics/efficient_x3d_xs_original_form.pyth",
                             'EfficientX3d "XS" (4 frames, 160 crop), Kinetics-400 top-1 68.5; ``kwargs`` override '
                             "the constructor's arguments (``num_classes``, ``dropout``, ``head_act``, "
                             "``enable_head``)."),
        "efficient_x3d_s": ("kinetics/efficient_x3d_s_original_form.pyth",
                            'EfficientX3d "S" (13 frames, 160 crop), Kinetics-400 top-1 73.0; ``kwargs`` as for '
                            "``efficient_x3d_xs``."),
    },
}


def zoo_functions(module: str) -> tuple:
    """The checkpoint URLs (``CHECKPOINT_PATHS``) of the hub module ``module`` (PyTorchVideo's
    ``...hub.<family>``), then its functions in ``ZOO``'s order: each PyTorchVideo's
    ``name(pretrained=False, progress=True, **kwargs)``, ``hub_model`` of the zoo spec ``name``."""
    family = ZOO[module.rsplit(".", 1)[1]]
    checkpoints = {name: f"{MODEL_ZOO_ROOT}/{file}" for name, (file, _) in family.items()}

    def zoo_function(name: str, doc: str) -> Callable[..., nn.Module]:
        def load(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> nn.Module:
            return hub_model(name, url=checkpoints[name], pretrained=pretrained, progress=progress, **kwargs)

        load.__module__, load.__name__, load.__qualname__, load.__doc__ = module, name, name, doc
        return load

    return (checkpoints, *(zoo_function(name, doc) for name, (_, doc) in family.items()))


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

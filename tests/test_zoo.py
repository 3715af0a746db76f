"""Every zoo spec against the reference: params, state_dict layout, MACs, meta-device shapes."""
from __future__ import annotations

import re

import pytest
import torch

from graphspec.compiler.infer import TensorType
from graphspec.compiler.pipeline import compile_spec

from conftest import REFERENCE, meta_tensor, reference_layout, reference_zoo_table, zoo_specs

ZOO = {p.stem: p for p in zoo_specs()}
TABLE = reference_zoo_table()


def _shape(value, batch=2):
    if isinstance(value, (list, tuple)):
        return [_shape(v, batch) for v in value]
    if isinstance(value, TensorType):
        return tuple(batch if isinstance(d, str) else d for d in value.shape)
    return tuple(value.shape)


@pytest.fixture(scope="module", params=sorted(ZOO))
def compiled(request):
    return compile_spec(ZOO[request.param])


def test_zoo_spec_is_clean(compiled):
    assert compiled.diagnostics == []


def test_params_and_layout_match_reference(compiled):
    name = compiled.spec.name
    layout = reference_layout(name)
    static = {key: (dtype, shape) for key, dtype, shape, _ in compiled.state}
    assert static == layout
    figures = TABLE[name][0] if name in TABLE else _layout_figures(name)
    assert compiled.params == figures["params"]
    assert len(compiled.state) == figures["entries"]


def _layout_figures(name: str) -> dict[str, int]:
    """params and entries from a layout file's header, for a model without a zoo-table row
    (acoustic_resnet: model-zoo.md lists it under 'Other reference layouts')."""
    text = (REFERENCE / "checkpoint-layouts" / f"{name}.txt").read_text()
    found = dict(re.findall(r"^# (parameters|entries): (\d+)$", text, re.M))
    return {"params": int(found["parameters"]), "entries": int(found["entries"])}


def test_lowered_module_matches_static_layout_and_shapes(compiled):
    with torch.device("meta"):
        module = compiled.lower()
    state = module.state_dict()
    assert {k: (str(v.dtype).removeprefix("torch."), tuple(v.shape)) for k, v in state.items()} == {
        key: (dtype, shape) for key, dtype, shape, _ in compiled.state
    }
    assert sum(p.numel() for p in module.parameters()) == compiled.params
    module.eval()
    out = module(*[meta_tensor(v) for v in compiled.inputs.values()])
    assert _shape(out) == _shape(list(compiled.outputs.values())[0])


def test_every_module_the_forward_runs_has_its_inferred_output(compiled):
    """Static inference covers each node the eval forward calls (the summary and graph show its
    shape), at the shape the meta-device run gives (an efficient X3D's dropout and head act too)."""
    with torch.device("meta"):
        module = compiled.lower().eval()
    ran = {}
    hooks = [m.register_forward_hook(lambda mod, i, out, name=name: ran.__setitem__(name, out))
             for name, m in module.named_modules()]
    with torch.device("meta"):
        module(*[meta_tensor(v) for v in compiled.inputs.values()])
    for hook in hooks:
        hook.remove()
    for node in compiled.nodes:
        if node.path in ran and isinstance(ran[node.path], torch.Tensor):
            assert "output" in node.meta, node.path
            assert _shape(node.meta["output"]) == tuple(ran[node.path].shape), node.path


@pytest.mark.parametrize("name", sorted(n for n in TABLE if n in ZOO and not n.startswith("efficient")))
def test_macs_match_reference_at_every_listed_input(name):
    for row in TABLE[name]:
        if row["gmacs"] is None:
            continue
        t, h, w = row["thw"]
        spec = compile_spec(ZOO[name])
        sets = []
        for key, value in spec.spec.inputs.items():
            if isinstance(value, dict):  # slowfast: the slow pathway takes T / alpha frames
                frames = {"slow": t // 4, "fast": t}
                sets += [f"inputs.{key}.{p}=[1, 3, {frames[p]}, {h}, {w}]" for p in value]
            else:
                sets.append(f"inputs.{key}=[1, 3, {t}, {h}, {w}]")
        got = compile_spec(ZOO[name], sets + ["expect=null"]).macs
        assert got == pytest.approx(row["gmacs"] * 1e9, rel=0.01), (name, row)


def test_pretrained_weights_load_from_a_local_checkpoint(tmp_path):
    """The hub's loading path: PyTorchVideo's {'model_state': ...} format, weights_only, strict,
    through graphspec.checkpoints: keys that do not fit are named, a pickled object is refused."""
    from graphspec.checkpoints import WeightsError, WeightsNote
    from graphspec.models.hub.resnet import slow_r50
    from graphspec.models.hub.utils import load_checkpoint

    torch.manual_seed(0)
    source = slow_r50()
    path = tmp_path / "SLOW_8x8_R50.pyth"
    torch.save({"model_state": source.state_dict()}, path)
    with pytest.warns(WeightsNote, match="nested under 'model_state'"):
        target = load_checkpoint(slow_r50(), path)
    for key, value in source.state_dict().items():
        assert torch.equal(value, target.state_dict()[key]), key
    bad = tmp_path / "bad.pyth"
    torch.save({"model_state": {"nope": torch.zeros(1)}}, bad)
    with pytest.raises(WeightsError, match=r"does not fit the model:\n\d+ missing in the checkpoint"):
        load_checkpoint(slow_r50(), bad, notes=[])
    pickled = tmp_path / "module.pyth"
    torch.save(torch.nn.Linear(1, 1), pickled)
    with pytest.raises(WeightsError, match="holds a pickled torch.nn.modules.linear.Linear object"):
        load_checkpoint(slow_r50(), pickled)


def test_pretrained_downloads_once_into_the_torch_hub_cache(tmp_path, monkeypatch):
    """pretrained=True fetches the published file into torch.hub.get_dir()/checkpoints (where
    load_state_dict_from_url keeps it) once, and loads it strictly with no note for its model_state."""
    import warnings

    from graphspec.models.hub import utils
    from graphspec.models.hub.x3d import x3d_xs

    torch.manual_seed(0)
    published = x3d_xs().state_dict()
    downloads = []

    def download(url, dst, hash_prefix=None, progress=True):
        downloads.append(url)
        torch.save({"model_state": published}, dst)

    monkeypatch.setattr(utils.torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(utils.torch.hub, "download_url_to_file", download)
    url = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/X3D_XS.pyth"  # PyTorchVideo's hub
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model = x3d_xs(pretrained=True)
        assert all(torch.equal(v, model.state_dict()[k]) for k, v in published.items())
    assert downloads == [url]
    assert (tmp_path / "hub" / "checkpoints" / "X3D_XS.pyth").is_file()


def test_pretrained_offline_gives_a_clear_error(tmp_path, monkeypatch):
    from graphspec.models.hub import resnet, utils

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(utils.torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(utils.torch.hub, "download_url_to_file", offline)
    with pytest.raises(RuntimeError, match="could not download the pretrained weights"):
        resnet.c2d_r50(pretrained=True)


def test_hub_kwargs_override_builder_arguments():
    from graphspec.models.hub.resnet import i3d_r50

    model = i3d_r50(model_num_class=7)
    assert model.blocks[-1].proj.out_features == 7

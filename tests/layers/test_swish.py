import numpy as np
import onnx
import onnxruntime as ort
import torch

from graphspec.layers.swish import Swish, SwishFunction


def _plain_swish(x):
    return x * torch.sigmoid(x)


def test_forward_and_gradient_match_autograd_of_plain_formula():
    x = torch.randn(4, 6, dtype=torch.float64) * 4
    grad_out = torch.randn_like(x)

    x1 = x.clone().requires_grad_()
    y1 = Swish()(x1)
    y1.backward(grad_out)
    assert y1.grad_fn.name() == "SwishFunctionBackward"  # the memory-saving path

    x2 = x.clone().requires_grad_()
    y2 = _plain_swish(x2)
    y2.backward(grad_out)

    torch.testing.assert_close(y1, y2)
    torch.testing.assert_close(x1.grad, x2.grad)


def test_swish_function_gradcheck():
    x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(SwishFunction.apply, (x,))


def test_torchscript_script_and_trace():
    x = torch.randn(2, 3, 4)
    scripted = torch.jit.script(Swish())
    torch.testing.assert_close(scripted(x), _plain_swish(x))
    traced = torch.jit.trace(Swish(), x)
    torch.testing.assert_close(traced(x * 2), _plain_swish(x * 2))


def test_fx_sees_plain_ops():
    graph_module = torch.fx.symbolic_trace(Swish())
    targets = [node.target for node in graph_module.graph.nodes if node.op == "call_function"]
    assert torch.sigmoid in targets
    x = torch.randn(5)
    torch.testing.assert_close(graph_module(x), _plain_swish(x))


def _export_and_check(tmp_path, **export_kwargs):
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), Swish()).eval()
    x = torch.randn(2, 4)
    path = tmp_path / "swish.onnx"
    torch.onnx.export(model, (x,), str(path), input_names=["x"], **export_kwargs)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"Sigmoid", "Mul"} <= ops
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": x.numpy()})
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_onnx_export_legacy_exporter(tmp_path):
    _export_and_check(tmp_path, dynamo=False)

# The torch.export-based exporter needs onnxscript, which is not a dependency: the legacy
# exporter above is the one graphspec's ONNX backend uses.

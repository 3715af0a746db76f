"""torch.hub entry points, as PyTorchVideo's repository has them:

    torch.hub.load("path/to/graphspec", "slow_r50", source="local", pretrained=False)
"""
dependencies = ["torch", "pydantic", "yaml", "networkx", "av"]  # what importing graphspec needs

from graphspec.models.hub import *  # noqa: E402,F401,F403  (every zoo model: slow_r50, x3d_s, ...)

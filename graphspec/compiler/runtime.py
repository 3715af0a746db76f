"""The module of an explicit graph (``nodes:``): ``ExplicitGraph`` runs its named steps in
dependency order (the name is ours: torch.fx's ``GraphModule`` is another thing)."""
from __future__ import annotations

from typing import Any

import torch.nn as nn


class ExplicitGraph(nn.Module):
    """Runs named sub-modules in dependency order; inputs by name or position."""

    def __init__(self, modules: dict[str, nn.Module], wiring: dict[str, list[str]], inputs: list[str],
                 outputs: dict[str, str], calls: dict[str, str]) -> None:
        super().__init__()
        for name, module in modules.items():
            self.add_module(name, module)
        # `wiring` is in dependency order: forward runs the steps in that order
        self.wiring, self.input_names, self.output_map, self.calls = dict(wiring), list(inputs), dict(outputs), dict(calls)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        env = dict(zip(self.input_names, args))
        env.update(kwargs)
        missing = [n for n in self.input_names if n not in env]
        if missing:
            raise TypeError(f"missing graph inputs: {missing}")
        for name, ins in self.wiring.items():
            values = [env[i] for i in ins]
            module = getattr(self, name)
            env[name] = module(values) if self.calls.get(name) == "list" else module(*values)
        outs = {k: env[v] for k, v in self.output_map.items()}
        return next(iter(outs.values())) if len(outs) == 1 else outs

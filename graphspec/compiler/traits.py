"""What a model op declares about itself to the passes that rewrite model graphs
(``register(..., traits=...)``, read from ``OpDef.traits`` by ``has_trait``), so that no pass
keeps a list of ops. Dataset ops declare theirs in ``graphspec.data.traits``."""
from __future__ import annotations

from graphspec import registry

#: it computes each element from that element alone, or from its channel's parameters with the
#: channels at dim 1: it runs in the 5-D and the folded 4-D layout alike, and channels padded
#: with zeros pass through it
ELEMENTWISE = "elementwise"
#: it computes in the layout it gets and returns that layout
KEEPS_LAYOUT = "keeps_layout"
#: its component arguments are internal parts (an activation, a gate), not steps the data flows
#: through one after the other: a pass sees the op as one leaf
INTERNAL_PARTS = "internal_parts"
#: what an element-wise op declares (it keeps its layout as a consequence)
ELEMENTWISE_OP = (ELEMENTWISE, KEEPS_LAYOUT)


def has_trait(op: str, trait: str) -> bool:
    """Whether the op ``op`` declares ``trait``; a node that is no registered op (a Python module
    passed in as it is, ``ir.PYTHON_OP``) declares none."""
    opdef = registry.find(op)
    return opdef is not None and trait in opdef.traits

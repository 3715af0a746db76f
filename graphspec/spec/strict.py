"""The base of every spec document's pydantic models."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    # strict: "yes" is no boolean and "8" no integer, in every kind of spec as in op arguments
    model_config = ConfigDict(extra="forbid", strict=True)

"""What every YAML schema of hpsearch shares: unknown keys are mistakes, aliases are accepted."""

from __future__ import annotations

from typing import Union

from pydantic import BaseModel, ConfigDict

#: A value a knob can be fixed to or choose from.
Scalar = Union[bool, int, float, str]


class Strict(BaseModel):
    """A YAML mapping: a key the schema does not know is reported, never ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

"""What a space file (``spaces/*.yaml``) says, as validated models: the parameters to search, the
fixed ones, the model and the dataset section (its schema is `hpsearch.data`'s, which reads it).

Cross-field rules a schema cannot express (knob names, conditions, derived values) are in
``_checks``; turning a space into Optuna distributions is ``_distributions``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from hpsearch.config import Scalar, Strict
from hpsearch.data import DatasetConfig


class ParamBase(Strict):
    when: dict[str, Union[Scalar, list[Scalar]]] | None = Field(
        default=None, description="active only when each named parameter takes one of these values"
    )

    def condition(self) -> dict[str, list[Any]]:
        return {k: (v if isinstance(v, list) else [v]) for k, v in (self.when or {}).items()}


class FloatParam(ParamBase):
    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> "FloatParam":
        if not self.low <= self.high:
            raise ValueError(f"low <= high must hold, got low={self.low}, high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-scale range needs low > 0, got low={self.low}")
        if self.log and self.step is not None:
            raise ValueError("step and log cannot both be set")
        return self


class IntParam(ParamBase):
    type: Literal["int"]
    low: int
    high: int
    step: int = 1
    log: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> "IntParam":
        if not self.low <= self.high:
            raise ValueError(f"low <= high must hold, got low={self.low}, high={self.high}")
        if self.step < 1:
            raise ValueError(f"step must be >= 1, got {self.step}")
        if self.log and (self.low < 1 or self.step != 1):
            raise ValueError("a log-scale int range needs low >= 1 and step 1")
        return self


class CategoricalParam(ParamBase):
    type: Literal["categorical"]
    choices: list[Scalar] = Field(min_length=1)

    @field_validator("choices")
    @classmethod
    def _unique(cls, choices: list[Scalar]) -> list[Scalar]:
        if len(set(map(repr, choices))) != len(choices):
            raise ValueError(f"choices must be distinct, got {choices}")
        return choices


class DerivedParam(ParamBase):
    """A value computed from another parameter: ``value = from * times`` (no code is evaluated)."""

    type: Literal["derived"]
    from_: str = Field(alias="from")
    times: float = 1.0


ParamSpec = Annotated[
    Union[FloatParam, IntParam, CategoricalParam, DerivedParam], Field(discriminator="type")
]


class WarmStartConfig(Strict):
    study: str = Field(min_length=1, description="an earlier study in the same database")
    top_k: int = Field(default=5, gt=0, description="how many of its front's configurations to run again")


class SpaceConfig(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    model: str = "minilm"
    model_revision: str | None = Field(
        default=None, min_length=1, description="a hub id's commit (or branch or tag), read from the local "
        "cache: every trial loads those files; without it a trial records the commit it loaded")
    dataset: DatasetConfig
    search: str | None = Field(default=None, description="path of a search/*.yaml, relative to this file")
    objectives: str | None = Field(default=None, description="path of an objectives/*.yaml")
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    fixed: dict[str, Scalar] = Field(default_factory=dict)
    baselines: list[Literal["linear_probe", "tfidf"]] = Field(
        default_factory=lambda: ["linear_probe", "tfidf"],
        description="baselines run once per study on the same splits and recorded in it beside the "
        "trials: linear_probe (the frozen base model with a logistic-regression probe) and tfidf (TF-IDF "
        "word and character n-grams with logistic regression); [] for none",
    )
    warm_start: WarmStartConfig | None = Field(
        default=None, description="start from the front of an earlier study in the same database: its "
        "configurations are enqueued and measured anew on this space's data",
    )
    baseline: Literal["none", "head"] = Field(
        default="none",
        description="head: the study's first trial trains only the classification head, so that "
        "reports show what fine-tuning gained",
    )

"""The ``dataset:`` section of a space: where the labelled examples are and which columns hold what."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from hpsearch.config import Strict

DEMO_DATASETS = ("legal", "healthcare", "engineering")


class DatasetConfig(Strict):
    demo: Literal["legal", "healthcare", "engineering"] | None = None
    path: str | None = Field(default=None, description="one JSONL or CSV file, split by seed")
    train: str | None = None
    validation: str | None = None
    test: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    group_columns: list[str] = Field(default_factory=list)
    validation_fraction: float = Field(default=0.25, gt=0, lt=1)
    max_train_examples: int | None = Field(default=None, gt=0)
    max_eval_examples: int | None = Field(default=None, gt=0)
    seed: int = 0

    @field_validator("group_columns", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> "DatasetConfig":
        given = [k for k in ("demo", "path", "train") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "exactly one of demo, path or train must be given, got "
                + (", ".join(given) if given else "none")
            )
        if self.train is None and (self.validation or self.test):
            raise ValueError("validation and test files need a train file")
        return self

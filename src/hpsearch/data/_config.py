"""The ``dataset:`` section of a space: where the labelled examples are, which columns hold what,
what is done to them on load, and what `hpsearch data check` holds them to."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from hpsearch.config import Strict

DEMO_DATASETS = ("legal", "healthcare", "engineering")

#: What `--fail-on` and `dataset.check.fail_on` can name, and the limit each has unless given.
FAIL_RULES: dict[str, str] = {
    "duplicates": "exact duplicate texts within a split, more than N (default 0)",
    "near_duplicates": "groups of near-duplicate texts (MinHash), more than N (default 0)",
    "leakage": "validation/test examples whose text (exactly or nearly) is in training, more than N (default 0)",
    "conflicts": "identical or near-identical texts with different labels, more than N groups (default 0)",
    "pii": "examples with personal data, more than N (default 0)",
    "small_classes": "classes below min_class_examples in a split, more than N (default 0)",
    "small_groups": "groups below min_group_examples in an evaluation split, more than N (default 0)",
    "agreement": "annotator agreement (kappa) below N (default min_agreement)",
}
_RULE = re.compile(r"^\s*([a-z_]+)\s*(?:([<>])\s*([0-9]*\.?[0-9]+))?\s*$")


def parse_rule(text: str) -> tuple[str, float | None]:
    """``NAME`` or ``NAME>N`` (``agreement<K``): the rule's name and its limit (None: the default).
    Raise ValueError saying what must hold."""
    match = _RULE.match(text)
    if match is None or match.group(1) not in FAIL_RULES:
        raise ValueError(f"a rule is one of {', '.join(FAIL_RULES)}, optionally with '>N' "
                         f"('agreement<K'); got {text!r}")
    name, op, number = match.groups()
    want = "<" if name == "agreement" else ">"
    if op is not None and op != want:
        raise ValueError(f"rule {name} takes '{want}', got {text!r}")
    return name, None if number is None else float(number)


class CheckConfig(Strict):
    """Thresholds of `hpsearch data check`: what it warns about and what fails it (exit 1)."""

    min_class_examples: int = Field(default=20, ge=1, description="warn for a class with fewer examples in a split")
    min_group_examples: int = Field(default=30, ge=1,
                                    description="warn for a group with fewer examples in an evaluation split")
    near_duplicate_threshold: float = Field(default=0.9, gt=0, le=1,
                                            description="Jaccard similarity of word 3-grams above which two texts "
                                            "are near duplicates")
    min_agreement: float = Field(default=0.6, ge=-1, le=1, description="kappa below which agreement is low")
    fail_on: list[str] = Field(default_factory=list, description="rules that make the check exit 1")

    @field_validator("fail_on", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("fail_on")
    @classmethod
    def _known_rules(cls, value: list[str]) -> list[str]:
        for rule in value:
            parse_rule(rule)
        return value


class DatasetConfig(Strict):
    demo: Literal["legal", "healthcare", "engineering"] | None = None
    path: str | None = Field(default=None, description="one JSONL, CSV or Parquet file, or a folder written by "
                             "datasets' save_to_disk; split by seed unless it has splits")
    hub: str | None = Field(default=None, description="a Hugging Face hub dataset id (needs network)")
    train: str | None = None
    validation: str | None = None
    test: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    group_columns: list[str] = Field(default_factory=list)
    annotator_column: str | None = Field(default=None, description="who labelled the row: rows of one text are "
                                         "one example, labelled by majority; agreement is measured")
    split_column: str | None = Field(default=None, description="a column holding train / validation / test")
    validation_fraction: float = Field(default=0.25, gt=0, lt=1)
    test_fraction: float | None = Field(default=None, gt=0, lt=1, description="share of the training file held "
                                        "out as a test split, where the data has none")
    max_train_examples: int | None = Field(default=None, gt=0)
    max_eval_examples: int | None = Field(default=None, gt=0)
    seed: int = 0
    drop_duplicates: bool = Field(default=False, description="keep the first of exact duplicate texts in a split")
    drop_leaked: bool = Field(default=False, description="drop training examples whose text is in validation/test")
    redact_pii: bool = Field(default=False, description="replace personal data with <ENTITY> on load")
    check: CheckConfig = Field(default_factory=CheckConfig)

    @field_validator("group_columns", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> "DatasetConfig":
        given = [k for k in ("demo", "path", "hub", "train") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "exactly one of demo, path, hub or train must be given, got "
                + (", ".join(given) if given else "none")
            )
        if self.train is None and (self.validation or self.test):
            raise ValueError("validation and test files need a train file")
        if self.split_column is not None and self.train is not None:
            raise ValueError("split_column splits one file (path); with train, the files are the splits")
        return self

    def options(self) -> dict[str, bool]:
        """What is done to the examples on load: part of the data's fingerprint."""
        return {"drop_duplicates": self.drop_duplicates, "drop_leaked": self.drop_leaked,
                "redact_pii": self.redact_pii}

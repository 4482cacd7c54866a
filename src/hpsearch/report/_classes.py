"""F1 per class of the models people choose between (the honest front, then the baselines), as data.

A macro average hides a class a model gave up: F1 below :data:`GAVE_UP` on it. The values come from
the test split where every shown trial measured one (the front was chosen on validation, so the
test split is the honest estimate), else from the validation split. ``_tables`` prints them,
``_html`` lays them out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from hpsearch.study import BASELINE_ATTR

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

#: A class whose F1 is below this, the model gave up: it (almost) never predicts it right.
GAVE_UP = 0.1
#: The study user attribute holding the label names in order.
LABELS_ATTR = "labels"


@dataclass
class ClassRow:
    """One trial's F1 per label (None where it recorded none)."""

    trial: "FrozenTrial"
    values: dict[str, float | None]

    @property
    def gave_up(self) -> list[str]:
        """The labels whose F1 is below :data:`GAVE_UP`, in label order."""
        return [label for label, v in self.values.items() if v is not None and v < GAVE_UP]

    @property
    def baseline(self) -> str | None:
        kind = self.trial.user_attrs.get(BASELINE_ATTR)
        return str(kind) if kind else None


@dataclass
class ClassF1:
    """F1 per class on one split, of the front's trials and of the baselines below them."""

    split: str
    labels: list[str]
    front: list[ClassRow]
    baselines: list[ClassRow]

    @property
    def rows(self) -> list[ClassRow]:
        return self.front + self.baselines

    def title(self) -> str:
        return f"F1 per class on the {self.split} split"

    def note(self) -> str:
        """Why this split: the test split is shown where there is one, the front being chosen on validation."""
        if self.split == "test":
            return "The front was chosen on the validation split; these are the held-out test split's F1."
        return "The validation split, the one the front was chosen on (the study has no test split)."


def study_labels(study: "optuna.Study", trials: Sequence["FrozenTrial"] = ()) -> list[str]:
    """The study's labels in order; from the trials' ``f1/<label>`` attributes where it recorded none."""
    labels = study.user_attrs.get(LABELS_ATTR)
    if isinstance(labels, (list, tuple)) and labels:
        return [str(label) for label in labels]
    found: dict[str, None] = {}
    for t in trials:
        found.update(dict.fromkeys(k[len("f1/"):] for k in t.user_attrs if k.startswith("f1/")))
    return list(found)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def class_f1(study: "optuna.Study", front: Sequence["FrozenTrial"],
             baselines: Sequence["FrozenTrial"]) -> ClassF1 | None:
    """F1 per class of `front` (in the order given) and `baselines`; None where none recorded it."""
    shown = [*front, *baselines]
    labels = study_labels(study, shown)

    def has(trial: "FrozenTrial", prefix: str) -> bool:
        return any(f"{prefix}f1/{label}" in trial.user_attrs for label in labels)

    recorded = [t for t in shown if has(t, "") or has(t, "test/")]
    if not labels or not recorded:
        return None
    split = "test" if all(has(t, "test/") for t in recorded) else "validation"
    prefix = "test/" if split == "test" else ""

    def row(trial: "FrozenTrial") -> ClassRow:
        return ClassRow(trial, {label: _number(trial.user_attrs.get(f"{prefix}f1/{label}")) for label in labels})

    return ClassF1(split, labels, [row(t) for t in front], [row(t) for t in baselines])
